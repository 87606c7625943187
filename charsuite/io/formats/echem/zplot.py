"""Scribner ZPlot/ZView ``.z`` files (text).

Two layouts: a comment block ending with ``End Comments`` followed by tab-separated rows,
or (no-comments variant) quoted header lines ending with the quoted column line
``"  Freq(Hz)    Ampl ... Z'(a)    Z''(b) ..."`` followed by comma-separated rows.
Columns are found by name: ``Freq(Hz)``, ``Z'(a)``, ``Z''(b)`` (Z″ signed, negative for
capacitive arcs); ``Time(Sec)``, ``Ampl``, ``Bias`` are kept.
"""

from __future__ import annotations

from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import (
    decode,
    eis_dataset,
    head_text,
    read_bytes,
    to_float,
)

SPEC = FormatSpec(
    name="zplot",
    technique="echem",
    extensions=(".z", ".txt"),
    description="Scribner ZPlot/ZView (.z) and Z60W-style impedance text (e.g. Autolab exports)",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """ZPlot banner in the first line."""
    first = head_text(head).split("\n", 1)[0]
    return first.startswith(("ZPLOT2 ASCII", '"ZPlotW Data File', '"Z60W Data File'))


def read(path: Path, *, lazy: bool = False):
    """Read a ZPlot ``.z`` file.

    Raises
    ------
    ReaderError
        No column line with Freq(Hz)/Z'(a)/Z''(b), ragged or non-numeric rows.
    """
    path = Path(path)
    fmt = SPEC.name
    lines = decode(read_bytes(path, fmt)).splitlines()
    col_idx = None
    for k, line in enumerate(lines):
        if ("Freq(Hz)" in line or "Freq (Hz)" in line) and "Z'(a)" in line:
            col_idx = k
    if col_idx is None:
        raise ReaderError(
            "no column line naming Freq(Hz), Z'(a) and Z''(b); not a ZPlot sweep file?",
            path=path,
            format=fmt,
        )
    names = lines[col_idx].strip().strip('"').replace("Freq (Hz)", "Freq(Hz)").split()
    start = col_idx + 1
    if start < len(lines) and lines[start].strip() == "End Comments":
        start += 1
    rows, line_no = [], []
    for k in range(start, len(lines)):
        s = lines[k].strip()
        if not s:
            continue
        parts = [p.strip() for p in (s.split(",") if "," in s else s.split())]
        if len(parts) != len(names):
            raise ReaderError(
                f"line {k + 1} has {len(parts)} fields, the column line {len(names)}",
                path=path,
                format=fmt,
            )
        rows.append(parts)
        line_no.append(k + 1)
    if not rows:
        raise ReaderError("no data rows after the column line", path=path, format=fmt)
    cols = {
        n: to_float(list(c), path=path, fmt=fmt, column=n, lines=line_no)
        for n, c in zip(names, zip(*rows))
    }
    for need in ("Freq(Hz)", "Z'(a)", "Z''(b)"):
        if need not in cols:
            raise ReaderError(f"column {need!r} missing (found {names})", path=path, format=fmt)
    extra = {}
    for n, var, unit in (
        ("Time(Sec)", "time", "s"),
        ("Ampl", "amplitude", "V"),
        ("Bias", "bias", "V"),
    ):
        if n in cols:
            extra[var] = (cols[n], unit, n)
    return eis_dataset(
        frequency=cols["Freq(Hz)"],
        z=cols["Z'(a)"] + 1j * cols["Z''(b)"],
        extra=extra,
        metadata={
            "measurement": "impedance",
            "instrument": "Scribner ZPlot",
            "z_imag_in_file": "Z''(b)",
        },
        original={"header": lines[:col_idx], "columns": names},
    )
