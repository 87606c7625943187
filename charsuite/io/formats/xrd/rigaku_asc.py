"""Rigaku ASCII export (``.asc``, SmartLab / Ultima "ASCII CLASS").

Layout: ``*KEY = value`` header lines (``*TYPE = Raw``, ``*CLASS = ASCII CLASS``,
``*SAMPLE``, ``*SCAN_AXIS``, ``*TARGET`` (atomic number of the anode), ``*WAVE_LENGTH1`` /
``*WAVE_LENGTH2`` (Å), ``*XUNIT``, ``*YUNIT``, ``*SPEED_DIM``); then per scan a
``*BEGIN`` … ``*END`` block with ``*START``, ``*STOP``, ``*STEP`` (deg), ``*SPEED``,
``*COUNT`` (points) followed by the intensities, several per line separated by commas;
``*EOF`` closes the file. The angle of point k is START + k·STEP (the file stores no
angles).

Only the first scan is returned (``metadata["n_scans"]`` gives the count). A scan whose
number of values differs from ``*COUNT``, or whose STOP disagrees with START + (COUNT−1)·STEP
by more than half a step, is refused (truncated or edited file).
"""

from __future__ import annotations

import re
from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="rigaku-asc",
    technique="xrd",
    extensions=(".asc",),
    description="Rigaku ASCII export (.asc): *KEY = value header, *BEGIN…*END scans",
    priority=60,
)
_KEY = re.compile(r"^\*([A-Z0-9_]+)\s*=\s*(.*?)\s*$")
_ANODES = {24: "Cr", 26: "Fe", 27: "Co", 29: "Cu", 42: "Mo", 47: "Ag", 74: "W"}


def can_read(path: Path, head: bytes) -> bool:
    """``*TYPE`` / ``*CLASS`` header keys and a ``*BEGIN`` or ``*START`` (Rigaku ASCII)."""
    if b"\x00" in head:
        return False
    text = head.decode("latin-1")
    return (
        re.search(r"^\*TYPE\s*=", text, re.M) is not None
        and re.search(r"^\*(CLASS|SCAN_AXIS|GONIO)\s*=", text, re.M) is not None
    )


def _blocks(lines: list[str], path: Path) -> tuple[dict, list[tuple[dict, list[str], int]]]:
    """File header and the scans: (keys, value lines, first value line number)."""
    header: dict = {}
    scans: list[tuple[dict, list[str], int]] = []
    current = None
    for no, line in enumerate(lines, start=1):
        s = line.strip()
        if s.startswith("*BEGIN"):
            current = ({}, [], 0)
            continue
        if s.startswith("*END"):
            if current is not None:
                scans.append(current)
            current = None
            continue
        m = _KEY.match(s)
        if m:
            (current[0] if current is not None else header).setdefault(m.group(1), m.group(2))
        elif s and current is not None:
            if not current[1]:
                current = (current[0], current[1], no)
            current[1].append(s)
    if current is not None:
        raise ReaderError(
            "a *BEGIN block has no *END: the file is truncated", path=path, format=SPEC.name
        )
    return header, scans


def _number(keys: dict, key: str, path: Path) -> float:
    from charsuite.io.formats.xrd.common import to_float

    value = to_float(keys.get(key))
    if value is None:
        raise ReaderError(
            f"scan header lacks a numeric *{key} (found {keys.get(key)!r})",
            path=path,
            format=SPEC.name,
        )
    return value


def _intensities(values: list[str], first: int, path: Path):
    import numpy as np

    out = []
    for k, line in enumerate(values):
        try:
            out += [float(v) for v in line.replace(",", " ").split()]
        except ValueError:
            raise ReaderError(
                f"line {first + k} is not a list of intensities ({line[:40]!r})",
                path=path,
                format=SPEC.name,
            ) from None
    return np.asarray(out, dtype=float)


def _metadata(header: dict, keys: dict, tth_max: float, n_scans: int) -> dict:
    from charsuite.io.formats.xrd.common import classify_scan, to_float

    axis = header.get("SCAN_AXIS") or header.get("SCAN_MODE") or ""
    target = to_float(header.get("TARGET"))
    md = {
        "wavelength_angstrom": to_float(header.get("WAVE_LENGTH1")),
        "wavelength_ka2_angstrom": to_float(header.get("WAVE_LENGTH2")),
        "anode": _ANODES.get(int(target)) if target else None,
        "sample": header.get("SAMPLE"),
        "start_time": header.get("DATE"),
        "scan_axis": axis,
        "scan_type": classify_scan(axis, tth_max),
        "n_scans": n_scans,
        "tube_kV": to_float(keys.get("KV")),
        "tube_mA": to_float(keys.get("MA")),
    }
    speed = to_float(keys.get("SPEED"))
    step = to_float(keys.get("STEP"))
    dim = str(header.get("SPEED_DIM", "")).lower()
    if speed and step:
        md["counting_time_s"] = speed if "sec" in dim else abs(step) / speed * 60.0
    return {k: v for k, v in md.items() if v not in (None, "")}


def read(path: Path, *, lazy: bool = False):
    """Read the first scan of a Rigaku ``.asc`` file (see the module docstring).

    Raises
    ------
    ReaderError
        No ``*BEGIN``…``*END`` scan, missing START/STEP/COUNT, non-numeric values, a value
        count that differs from ``*COUNT``, or STOP inconsistent with START/STEP/COUNT.
    """
    import numpy as np

    from charsuite.io.formats.xrd.common import scan_array

    path = Path(path)
    raw = read_bytes_bounded(path, format=SPEC.name)  # size and line length within the budget
    if b"\x00" in raw:
        raise ReaderError(
            "contains NUL bytes; not a Rigaku ASCII file", path=path, format=SPEC.name
        )
    header, scans = _blocks(raw.decode("latin-1").splitlines(), path)
    if not scans:
        raise ReaderError("no *BEGIN … *END scan block", path=path, format=SPEC.name)
    keys, values, first = scans[0]
    start, step = _number(keys, "START", path), _number(keys, "STEP", path)
    count = int(_number(keys, "COUNT", path))
    y = _intensities(values, first, path)
    if y.size != count or count < 2 or step == 0:
        raise ReaderError(
            f"*COUNT = {count} but the scan holds {y.size} values (step {step:g}); the file "
            "is truncated or edited",
            path=path,
            format=SPEC.name,
        )
    tth = start + step * np.arange(count)
    stop = keys.get("STOP")
    if stop is not None and abs(_number(keys, "STOP", path) - tth[-1]) > abs(step) / 2:
        raise ReaderError(
            f"*STOP = {stop} but START + (COUNT−1)·STEP = {tth[-1]:g}; the header and the "
            "values disagree",
            path=path,
            format=SPEC.name,
        )
    unit = str(header.get("YUNIT", "counts")).lower()
    return scan_array(
        tth,
        y,
        sigma=np.sqrt(np.maximum(y, 1.0)),
        path=path,
        format=SPEC.name,
        units="counts/s" if unit in ("cps", "counts/s") else "counts",
        metadata=_metadata(header, keys, float(tth.max()), len(scans)),
        original={"header": header, "scan": keys},
        sigma_source="poisson on counts",
    )
