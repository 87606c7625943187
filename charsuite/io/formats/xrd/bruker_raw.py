"""Bruker/Siemens binary ``.raw``: DIFFRAC-plus ``RAW1.01`` (v3) and DIFFRAC.SUITE ``RAW4.00``.

Written by charsuite from the published byte layouts (Bruker "DIFFRAC^plus XCH, Appendix A"
for RAW1.01; the RAW4 layout as documented by the xylib project from file analysis),
because neither xrayutilities nor a maintained Python package reads both (the notes in
``shared/notes/xrd.md`` §2.4 list the failures of fairmat-readers-xrd on these files).
All values little-endian.

RAW1.01
    712-byte file header: magic ``RAW1.01`` (0), range count uint32 (12), sample id (326,
    60 chars), anode (608, 4 chars), Kα average/Kα1/Kα2/Kβ/Kα2:Kα1 ratio float64 (616..648).
    Each range: 304-byte header — length uint32 (0, must be 304), steps uint32 (4),
    θ start float64 (8), 2θ start float64 (16), step float64 (176), time per step float32
    (192), used λ float64 (240), supplementary header size uint32 (256) — then the
    supplementary headers, then ``steps`` float32 counts.
RAW4.00
    61-byte header (date at 12, time at 24), then global segments ``(type uint32, length
    uint32, ...)`` until a range starts (type 0 or 160). Type 30 (hardware) holds Kα
    average/Kα1/Kα2/Kβ/ratio float64 at +72..+104 and the anode at +116. Each range: a
    160-byte header — scan type (+32, 24 chars), start angle float64 (+72), step float64
    (+80), steps uint32 (+88), time per step float32 (+92), used λ float64 (+112), datum
    size uint32 (+136), extra-header size uint32 (+140) — then the extra headers (type-50
    segments give each drive's start: name at +12, start float64 at +56), then the counts.

Returned object: as :mod:`charsuite.io.formats.xrd.xrdml` (one range, ``range=i``, default 0
with a warning naming all ranges when there are several; ``n_ranges`` in
metadata). Counts are in ``counts``; ``rate=True`` divides by the time per step.
"""

from __future__ import annotations

import struct
from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.xrd.common import pick_range, range_label

SPEC = FormatSpec(
    name="bruker-raw",
    technique="xrd",
    extensions=(".raw",),
    description="Bruker/Siemens binary RAW (RAW1.01 and RAW4.00)",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """Magic ``RAW1.01`` or ``RAW4.00`` at offset 0."""
    return head[:7] in (b"RAW1.01", b"RAW4.00")


class _Buf:
    """Bounds-checked little-endian reads (a truncated file raises ReaderError)."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path = data, path

    def _get(self, fmt: str, off: int):
        size = struct.calcsize(fmt)
        if off < 0 or off + size > len(self.data):
            raise ReaderError(
                f"file ends at byte {len(self.data)} but the layout needs bytes "
                f"{off}..{off + size}; the file is truncated",
                path=self.path,
                format=SPEC.name,
            )
        return struct.unpack_from("<" + fmt, self.data, off)[0]

    def u32(self, off: int) -> int:
        return self._get("I", off)

    def f32(self, off: int) -> float:
        return self._get("f", off)

    def f64(self, off: int) -> float:
        return self._get("d", off)

    def text(self, off: int, n: int) -> str:
        if off + n > len(self.data):
            raise ReaderError("file truncated in a text field", path=self.path, format=SPEC.name)
        return self.data[off : off + n].split(b"\x00", 1)[0].decode("latin-1").strip()

    def floats(self, off: int, n: int):
        import numpy as np

        if n < 0 or off + 4 * n > len(self.data):
            raise ReaderError(
                f"{n} data points announced but the file ends before them; truncated",
                path=self.path,
                format=SPEC.name,
            )
        return np.frombuffer(self.data, dtype="<f4", count=n, offset=off).astype(float)


def _check_wavelength(value: float) -> float | None:
    return round(float(value), 6) if 0.1 < value < 5.0 else None


def _raw1(buf: _Buf, range_index=None) -> tuple:
    n_ranges = buf.u32(12)
    if not 1 <= n_ranges <= 1000:
        raise ReaderError(
            f"range count {n_ranges} is implausible; file damaged", path=buf.path, format=SPEC.name
        )
    md = {
        "raw_version": "RAW1.01",
        "sample": buf.text(326, 60),
        "operator": buf.text(36, 72),
        "start_time": f"{buf.text(16, 10)} {buf.text(26, 10)}".strip(),
        "anode": buf.text(608, 4),
        "wavelength_angstrom": _check_wavelength(buf.f64(624)),
        "wavelength_ka2_angstrom": _check_wavelength(buf.f64(632)),
        "ka2_ratio": buf.f64(648),
        "n_ranges": n_ranges,
    }
    off = 712
    ranges = []
    for _ in range(n_ranges):
        hlen = buf.u32(off)
        if hlen != 304:
            if ranges:  # trailing ranges unreadable: keep the complete ones
                break
            raise ReaderError(
                f"range header length {hlen}, expected 304; file damaged",
                path=buf.path,
                format=SPEC.name,
            )
        steps = buf.u32(off + 4)
        supp = buf.u32(off + 256)
        ranges.append(off)
        off += 304 + supp + 4 * steps
        if off > len(buf.data):
            break
    labels = [
        range_label(
            buf.f64(o + 16),
            buf.f64(o + 16) + buf.f64(o + 176) * (buf.u32(o + 4) - 1),
            buf.u32(o + 4),
        )
        for o in ranges
    ]
    i = pick_range(labels, range_index, path=buf.path, format=SPEC.name)
    off = ranges[i]
    md["range_index"], md["ranges"] = i, labels
    steps = buf.u32(off + 4)
    start_theta = buf.f64(off + 8)
    start = buf.f64(off + 16)
    step = buf.f64(off + 176)
    tps = buf.f32(off + 192)
    supp = buf.u32(off + 256)
    used = _check_wavelength(buf.f64(off + 240))
    if used:
        md["used_wavelength_angstrom"] = used
    md["counting_time_s"] = float(tps)
    md["theta_start_deg"] = start_theta
    md["drive"] = "coupled" if abs(2 * start_theta - start) < 1e-3 else "unknown"
    counts = buf.floats(off + 304 + supp, steps)
    return md, start, step, counts


def _raw4(buf: _Buf, range_index=None) -> tuple:
    md: dict = {
        "raw_version": "RAW4.00",
        "start_time": f"{buf.text(12, 12)} {buf.text(24, 10)}".strip(),
    }
    off = 61
    header: dict = {}
    for _ in range(10_000):
        seg = buf.u32(off)
        if seg in (0, 160):
            break
        length = buf.u32(off + 4)
        if length < 8:
            raise ReaderError(
                f"segment at byte {off} has length {length}; file damaged",
                path=buf.path,
                format=SPEC.name,
            )
        if seg == 10 and length >= 36:
            header[buf.text(off + 12, 24)] = buf.text(off + 36, length - 36)
        elif seg == 30 and length >= 120:
            md["wavelength_angstrom"] = _check_wavelength(buf.f64(off + 80))
            md["wavelength_ka2_angstrom"] = _check_wavelength(buf.f64(off + 88))
            md["ka2_ratio"] = buf.f64(off + 104)
            md["anode"] = buf.text(off + 116, 4)
        off += length
    else:
        raise ReaderError("no data range found", path=buf.path, format=SPEC.name)
    ranges = []
    while off < len(buf.data):
        seg = buf.u32(off)
        if seg not in (0, 160):
            break
        scan_type = buf.text(off + 32, 24)
        start = buf.f64(off + 72)
        step = buf.f64(off + 80)
        steps = buf.u32(off + 88)
        tps = buf.f32(off + 92)
        used = _check_wavelength(buf.f64(off + 112))
        datum = buf.u32(off + 136)
        hsize = buf.u32(off + 140)
        drives = {}
        p, end = off + 160, off + 160 + hsize
        while p + 8 <= end:
            stype, slen = buf.u32(p), buf.u32(p + 4)
            if slen < 8:
                break
            if stype == 50 and slen >= 64:
                drives[buf.text(p + 12, 24)] = buf.f64(p + 56)
            p += slen
        if datum < 4 or datum % 4 or datum > 64:
            raise ReaderError(
                f"datum size {datum} bytes; expected a multiple of 4 (float32 counts first)",
                path=buf.path,
                format=SPEC.name,
            )
        # each datum starts with the float32 count; longer data (8 bytes in newer
        # DIFFRAC.SUITE files) append per-step status words, skipped here
        words = datum // 4
        counts = buf.floats(end, steps * words)[::words]
        ranges.append((scan_type, start, step, tps, used, drives, counts))
        off = end + datum * steps
    if not ranges:
        raise ReaderError("no data range found", path=buf.path, format=SPEC.name)
    labels = [range_label(r[1], r[1] + r[2] * (r[6].size - 1), r[6].size) for r in ranges]
    i = pick_range(labels, range_index, path=buf.path, format=SPEC.name)
    scan_type, start, step, tps, used, drives, counts = ranges[i]
    md["n_ranges"] = len(ranges)
    md["range_index"], md["ranges"] = i, labels
    md["drive"] = scan_type
    md["counting_time_s"] = float(tps)
    if used:
        md["used_wavelength_angstrom"] = used
    md["drive_starts_deg"] = drives
    if "2Theta" in drives and abs(drives["2Theta"] - start) > 1e-3:
        # the range "start angle" belongs to the scanned drive; trust the 2θ drive start
        start = drives["2Theta"]
    md["vendor_header"] = header
    return md, start, step, counts


def read(path: Path, *, lazy: bool = False, rate: bool = False, range: int | None = None):
    """Read a Bruker RAW1.01 or RAW4.00 file (one data range).

    Parameters
    ----------
    path : Path
    lazy : bool
        Ignored (small files).
    rate : bool
        Return counts/s (divided by the time per step).
    range : int, optional
        Data range to return (0-based; ``metadata["ranges"]`` lists them). None: range 0,
        with a warning naming the ranges when the file has several.

    Raises
    ------
    ReaderError
        Unknown magic (RAW v1/v2 are not supported), truncated or inconsistent layout.
    """
    import numpy as np

    from charsuite.io.formats.xrd.common import classify_scan, scan_array

    path = Path(path)
    data = path.read_bytes()
    buf = _Buf(data, path)
    magic = data[:7]
    if magic == b"RAW1.01":
        md, start, step, counts = _raw1(buf, range)
    elif magic == b"RAW4.00":
        md, start, step, counts = _raw4(buf, range)
    else:
        raise ReaderError(
            f"magic {data[:7]!r}; supported are RAW1.01 and RAW4.00 (convert older RAW "
            "files to UXD or xy with Bruker FileExchange)",
            path=path,
            format=SPEC.name,
        )
    if not (np.isfinite(start) and np.isfinite(step) and 0 < step < 10 and -10 < start < 180):
        raise ReaderError(
            f"implausible 2θ start {start!r} / step {step!r}; file damaged",
            path=path,
            format=SPEC.name,
        )
    n = counts.size
    tth = start + step * np.arange(n)
    md["scan_type"] = classify_scan(
        "coupled" if "coupled" in str(md.get("drive", "")).lower() else str(md.get("drive", "")),
        float(tth[-1]) if n else 0.0,
    )
    if md["scan_type"] == "unknown":
        md["scan_type"] = "2theta-omega"
    sigma = np.sqrt(np.maximum(counts, 1.0))
    units = "counts"
    if rate:
        t = md.get("counting_time_s") or 0
        if t <= 0:
            raise ReaderError("no positive time per step for counts/s", path=path, format=SPEC.name)
        counts, sigma, units = counts / t, sigma / t, "counts/s"
    original = {k: v for k, v in md.items() if k in ("vendor_header", "drive_starts_deg")}
    md.pop("vendor_header", None)
    return scan_array(
        tth,
        counts,
        sigma=sigma,
        path=path,
        format=SPEC.name,
        units=units,
        metadata=md,
        original=original,
        sigma_source="poisson on counts",
    )
