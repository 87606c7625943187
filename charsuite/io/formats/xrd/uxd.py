"""Bruker/Siemens UXD text export (``.uxd``), e.g. from DIFFRAC FileExchange / XCH.

Layout: ``; comment`` lines and ``_KEY=value`` header lines (file header, then one block
per range starting with ``_DRIVE``/``_STEPSIZE``/``_START``), followed either by
``_2THETACOUNTS``/``_2THETACPS`` (two columns: 2θ, intensity) or ``_COUNTS``/``_CPS``
(intensity only, several per line, 2θ from ``_START`` + i·``_STEPSIZE``). Wavelengths:
``_WL1`` (Kα1), ``_WL2`` (Kα2), ``_WLRATIO``.

Returned object: as :mod:`charsuite.io.formats.xrd.xrdml` (one range, ``range=i``). ``CPS`` data are
returned in ``counts/s``.
"""

from __future__ import annotations

from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="uxd",
    technique="xrd",
    extensions=(".uxd",),
    description="Bruker/Siemens UXD text export",
    priority=60,
)

_DATA_KEYS = {"_2THETACOUNTS", "_2THETACPS", "_COUNTS", "_CPS", "_2THETACOUNTS_", "_COUNT"}


def can_read(path: Path, head: bytes) -> bool:
    """Text with ``_FILEVERSION`` or several ``_KEY=`` lines and a UXD data keyword."""
    if b"\x00" in head:
        return False
    text = head.decode("latin-1").upper()
    return "_FILEVERSION" in text or (
        text.count("\n_") >= 5 and ("_STEPSIZE" in text or "_WL1" in text)
    )


def read(path: Path, *, lazy: bool = False, rate: bool = False, range: int | None = None):
    """Read one range of a UXD file (``range=i``, 0-based; default 0, with a warning naming
    every range when the file has several).

    Raises
    ------
    ReaderError
        No data block, non-numeric values, inconsistent columns; ``ParameterError`` for a
        ``range`` the file does not have.
    """
    import numpy as np

    from charsuite.io.formats.xrd.common import classify_scan, pick_range, scan_array, to_float

    path = Path(path)
    raw = read_bytes_bounded(path, format=SPEC.name)
    if b"\x00" in raw:
        raise ReaderError("contains NUL bytes; not a UXD text file", path=path, format=SPEC.name)
    lines = raw.decode("latin-1").splitlines()
    header: dict = {}
    ranges: list[dict] = []
    current = header
    data_key, values, ranges_data = None, [], []
    for lineno, line in enumerate(lines, start=1):
        s = line.strip()
        if not s or s.startswith(";"):
            continue
        if s.startswith("_"):
            if data_key is not None:
                ranges_data.append((data_key, values))
                data_key, values = None, []
            key, _, val = s.partition("=")
            key = key.strip().upper()
            if key in _DATA_KEYS:
                data_key = key
                continue
            if key == "_DRIVE" or (key == "_STEPSIZE" and "_STEPSIZE" in current):
                current = {}
                ranges.append(current)
            current[key] = val.strip().strip("'")
            continue
        if data_key is None:
            raise ReaderError(
                f"line {lineno}: numbers before any _COUNTS/_2THETACOUNTS keyword",
                path=path,
                format=SPEC.name,
            )
        try:
            values.append([float(v) for v in s.replace(",", " ").split()])
        except ValueError as err:
            raise ReaderError(
                f"line {lineno} is not numeric ({s[:40]!r})", path=path, format=SPEC.name
            ) from err
    if data_key is not None:
        ranges_data.append((data_key, values))
    if not ranges_data or not ranges_data[0][1]:
        raise ReaderError(
            "no _COUNTS/_CPS/_2THETACOUNTS data block; the scan is empty",
            path=path,
            format=SPEC.name,
        )
    labels = [
        f"start {(ranges[i] if i < len(ranges) else header).get('_START', '?')}°, "
        f"{len(v)} data lines"
        for i, (_, v) in enumerate(ranges_data)
    ]
    k = pick_range(labels, range, path=path, format=SPEC.name)
    key, rows = ranges_data[k]
    if not rows:
        raise ReaderError(f"range {k} holds no data", path=path, format=SPEC.name)
    rng = ranges[k] if k < len(ranges) else header
    allkeys = {**header, **rng}
    if key.startswith("_2THETA"):
        if any(len(r) != 2 for r in rows):
            raise ReaderError("2θ/intensity rows need 2 columns", path=path, format=SPEC.name)
        arr = np.asarray(rows)
        tth, y = arr[:, 0], arr[:, 1]
    else:
        y = np.asarray([v for r in rows for v in r])
        start, step = to_float(allkeys.get("_START")), to_float(allkeys.get("_STEPSIZE"))
        if start is None or step is None or step <= 0:
            raise ReaderError(
                "_COUNTS data need _START and a positive _STEPSIZE", path=path, format=SPEC.name
            )
        tth = start + step * np.arange(y.size)
    units = "counts/s" if "CPS" in key else "counts"
    md = {
        "wavelength_angstrom": to_float(header.get("_WL1")),
        "wavelength_ka2_angstrom": to_float(header.get("_WL2")),
        "ka2_ratio": to_float(header.get("_WLRATIO")),
        "anode": header.get("_ANODE"),
        "sample": header.get("_SAMPLE"),
        "operator": header.get("_USER"),
        "start_time": header.get("_DATEMEASURED"),
        "counting_time_s": to_float(allkeys.get("_STEPTIME")),
        "n_ranges": max(len(ranges_data), 1),
        "range_index": k,
        "drive": allkeys.get("_DRIVE"),
    }
    drive = str(allkeys.get("_DRIVE", "")).upper()
    md["scan_type"] = classify_scan(
        "coupled" if "COUPLED" in drive else drive or "coupled", float(np.max(tth))
    )
    if md["scan_type"] == "2theta":
        om = to_float(allkeys.get("_THETA"))
        if om is not None:
            md["incidence_angle_deg"] = om
    md = {k: v for k, v in md.items() if v is not None}
    sigma = None
    if units == "counts/s" and md.get("counting_time_s"):
        t = md["counting_time_s"]
        sigma = np.sqrt(np.maximum(y * t, 1.0)) / t
    da = scan_array(
        tth,
        y,
        sigma=sigma,
        path=path,
        format=SPEC.name,
        units=units,
        metadata=md,
        original={"header": header, "ranges": ranges},
        sigma_source="poisson on counts",
    )
    if rate:
        from charsuite.io.formats.xrd.common import as_rate

        da = as_rate(da, path=path, format=SPEC.name)
    return da
