"""Rigaku SmartLab / Ultima ``.ras`` text files.

Layout: ``*RAS_DATA_START``, then per scan a header between ``*RAS_HEADER_START`` and
``*RAS_HEADER_END`` of ``*KEY "value"`` lines (``*MEAS_SCAN_AXIS_X``, ``*MEAS_SCAN_MODE``,
``*MEAS_SCAN_SPEED`` (deg/min), ``*MEAS_SCAN_STEP``, ``*MEAS_SCAN_UNIT_Y``,
``*HW_XG_WAVE_LENGTH_ALPHA1``/``ALPHA2``, ``*MEAS_COND_AXIS_NAME-i``/``POSITION-i``), then
rows ``x intensity attenuation`` between ``*RAS_INT_START`` and ``*RAS_INT_END``.
Intensity = counts × attenuation factor. Counting time per point = step / speed.

Only the first scan is returned (``metadata["n_scans"]`` gives the count). The parsing of
the header and rows is shared with :mod:`charsuite.io.formats.xrd.rigaku_rasx`.
"""

from __future__ import annotations

from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="ras",
    technique="xrd",
    extensions=(".ras",),
    description="Rigaku RAS text scan",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """``*RAS_DATA_START`` or ``*RAS_HEADER_START`` near the top."""
    return b"*RAS_DATA_START" in head[:200] or b"*RAS_HEADER_START" in head[:400]


def _axis_position(h: dict, name: str):
    """Position of the optics/goniometer axis called ``name`` (``MEAS_COND_AXIS_NAME-i``)."""
    for key, value in h.items():
        if key.startswith("MEAS_COND_AXIS_NAME-") and value == name:
            return h.get("MEAS_COND_AXIS_POSITION-" + key.rsplit("-", 1)[-1])
    return None


def header_metadata(h: dict, tth_max: float) -> dict:
    """Curated metadata from a RAS header dict (``*KEY`` without star → value)."""
    from charsuite.io.formats.xrd.common import classify_scan, to_float

    axis = h.get("MEAS_SCAN_AXIS_X_INTERNAL") or h.get("MEAS_SCAN_AXIS_X", "")
    md = {
        "wavelength_angstrom": to_float(h.get("HW_XG_WAVE_LENGTH_ALPHA1")),
        "wavelength_ka2_angstrom": to_float(h.get("HW_XG_WAVE_LENGTH_ALPHA2")),
        "anode": h.get("HW_XG_TARGET_NAME"),
        "sample": h.get("FILE_SAMPLE"),
        "operator": h.get("FILE_OPERATOR"),
        "start_time": h.get("MEAS_SCAN_START_TIME"),
        "scan_axis": axis,
        "scan_type": classify_scan(axis, tth_max),
    }
    speed = to_float(h.get("MEAS_SCAN_SPEED"))
    step = to_float(h.get("MEAS_SCAN_STEP"))
    if speed and step and speed > 0:
        md["counting_time_s"] = abs(step) / speed * 60.0
    wave_type = h.get("MEAS_COND_XG_WAVE_TYPE")
    if wave_type:
        md["radiation_label"] = wave_type
        md["radiation_label_kind"] = "wave_type"
    mono = _axis_position(h, "IncidentMonochromator")
    md["incident_monochromator"] = None if mono in (None, "", "None", "IPS_adaptor") else mono
    if md["wavelength_angstrom"] and md["wavelength_ka2_angstrom"]:
        md["ka2_ratio"] = 0.5  # Rigaku files do not state it; the Cu/Co/Mo value
        md["ka2_ratio_source"] = "assumed 0.5 (not in file)"
    if md["scan_type"] == "2theta":
        names = {
            k.rsplit("-", 1)[-1]: v for k, v in h.items() if k.startswith("MEAS_COND_AXIS_NAME-")
        }
        for idx, name in names.items():
            if name in ("Omega", "ThetaS"):
                om = to_float(h.get(f"MEAS_COND_AXIS_POSITION-{idx}"))
                if om is not None:
                    md["incidence_angle_deg"] = om
                    break
    return {k: v for k, v in md.items() if v is not None}


def rows_to_scan(rows, h: dict, *, path: Path, format: str, n_scans: int = 1):
    """Build the scan DataArray from ``x I [att]`` rows and the header dict."""
    import numpy as np

    from charsuite.io.formats.xrd.common import scan_array

    if not rows:
        raise ReaderError("the scan holds no data rows", path=path, format=format)
    width = len(rows[0])
    if width < 2 or any(len(r) != width for r in rows):
        raise ReaderError("data rows have inconsistent column counts", path=path, format=format)
    arr = np.asarray(rows, dtype=float)
    att = arr[:, 2] if width >= 3 else np.ones(len(arr))
    att = np.where(att > 0, att, 1.0)
    counts = arr[:, 1]
    md = header_metadata(h, float(np.nanmax(arr[:, 0])))
    md["n_scans"] = n_scans
    md["attenuation_applied"] = bool(np.any(att != 1))
    unit = str(h.get("MEAS_SCAN_UNIT_Y", "counts")).lower()
    units = "counts/s" if unit in ("cps", "counts/s") else "counts"
    return scan_array(
        arr[:, 0],
        counts * att,
        sigma=np.sqrt(np.maximum(counts, 1.0)) * att,
        path=path,
        format=format,
        units=units,
        metadata=md,
        original={"header": h},
        sigma_source="poisson on counts (x attenuation)",
    )


def parse_rows(lines, *, path: Path, format: str, first_line: int = 1):
    """Parse numeric rows, raising ReaderError on garbage."""
    rows = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        try:
            rows.append([float(v) for v in s.replace(",", " ").split()])
        except ValueError as err:
            raise ReaderError(
                f"line {first_line + i} is not numeric ({s[:40]!r})", path=path, format=format
            ) from err
    return rows


def _blocks(lines, *, path: Path) -> list:
    """[(header dict, data rows)] of every ``*RAS_HEADER_START … *RAS_INT_END`` scan."""
    blocks, header, collected = [], {}, []
    in_int = in_head = False
    start_line = 0
    for i, line in enumerate(lines, start=1):
        s = line.strip()
        if s.startswith("*RAS_HEADER_START"):
            header, in_head = {}, True
        elif s.startswith("*RAS_HEADER_END"):
            in_head = False
        elif s.startswith("*RAS_INT_START"):
            in_int, collected, start_line = True, [], i + 1
        elif s.startswith("*RAS_INT_END"):
            if in_int:
                rows = parse_rows(collected, path=path, format=SPEC.name, first_line=start_line)
                blocks.append((header, rows))
            in_int = False
        elif in_head and s.startswith("*"):
            key, _, val = s[1:].partition(" ")
            header[key] = val.strip().strip('"')
        elif in_int:
            collected.append(s)
    if in_int and collected:
        raise ReaderError(
            "*RAS_INT_END missing: the file is truncated", path=path, format=SPEC.name
        )
    if not blocks:
        raise ReaderError(
            "no *RAS_INT_START ... *RAS_INT_END data block", path=path, format=SPEC.name
        )
    return blocks


def read(path: Path, *, lazy: bool = False, rate: bool = False):
    """Read a RAS file: one scan, or a 2D map ``("row", "two_theta")`` of several scans.

    Raises
    ------
    ReaderError
        Missing header/data markers, non-numeric rows, non-monotonic 2θ.
    """
    path = Path(path)
    raw = read_bytes_bounded(path, format=SPEC.name)
    if b"\x00" in raw:
        raise ReaderError("contains NUL bytes; not a RAS text file", path=path, format=SPEC.name)
    lines = raw.decode("latin-1").splitlines()
    blocks = _blocks(lines, path=path)
    scans = [
        rows_to_scan(rows, header, path=path, format=SPEC.name, n_scans=len(blocks))
        for header, rows in blocks
    ]
    if len(scans) > 1:
        from charsuite.io.formats.xrd.common import as_rate, stack_scans

        if rate:
            scans = [as_rate(s, path=path, format=SPEC.name) for s in scans]
        # several scans (area or reciprocal-space map): a map, never its first row
        return stack_scans(scans, path=path, format=SPEC.name)
    da = scans[0]
    if rate:
        from charsuite.io.formats.xrd.common import as_rate

        da = as_rate(da, path=path, format=SPEC.name)
    return da
