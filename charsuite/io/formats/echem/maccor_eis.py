"""Maccor AC impedance exports (``<test>.EDA<nnnn>.<channel>``, text).

Maccor writes each EIS (FRA) step of a cycling test as its own text file next to the
cycling data: a header (``MACCOR, INC.    AC Impedance Test``, ``Frequency Sweep:``,
method, file name, ``Start Date: ... Start Time: ...``, a line of FRA settings), then a
tab-separated table::

    Freq(Hz)  Polar(V)  time(sec)  Z'(a)  Z''(b)  Phase_Angle  Z-Mag  C(F)  Status ...

This is an impedance spectrum, not cycling data, so it is not read by ``maccor-text``
(whose records are cycler rows with Rec#/Cyc#/Amps/Volts); it returns the impedance
Dataset (dim ``frequency``). ``Z'(a)``/``Z''(b)`` are in Ω — the file's own ``C(F)``
column equals 1/(ω·Z″) with Z″ in Ω, and ``Z-Mag`` = |Z| — and Z″ < 0 is capacitive,
charsuite's convention, so values are kept as written. ``Phase_Angle`` (deg), ``Z-Mag``
(Ω), ``C(F)``, ``time(sec)`` and ``V-DC`` (V) are kept as extra variables. Rows that
stop before the trailing status columns are padded (Maccor leaves them empty).
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import decode, eis_dataset, head_text, read_bytes, to_float

SPEC = FormatSpec(
    name="maccor-eis",
    technique="echem",
    extensions=(".txt",),
    description="Maccor AC impedance text export (.EDAnnnn.nnn: Freq(Hz), Z'(a), Z''(b))",
    priority=60,
)
_EXTRA = {
    "Phase_Angle": ("phase", "deg", "phase angle"),
    "Z-Mag": ("z_mod", "ohm", "|Z|"),
    "C(F)": ("capacitance", "F", "C = 1/(ωZ'') as written by Maccor"),
    "time(sec)": ("elapsed_time", "s", "time of the point"),
    "V-DC": ("voltage_dc", "V", "DC cell voltage"),
}


def _column_line(lines: list[str]) -> int | None:
    for k, line in enumerate(lines[:60]):
        cells = [c.strip() for c in line.split("\t")]
        if cells and cells[0] == "Freq(Hz)" and "Z'(a)" in cells and "Z''(b)" in cells:
            return k
    return None


def can_read(path: Path, head: bytes) -> bool:
    """``MACCOR`` + ``AC Impedance`` on the first line, or the Freq(Hz)/Z'(a)/Z''(b) table."""
    text = head_text(head)
    if "\x00" in text:
        return False
    lines = text.splitlines()
    if lines and "MACCOR" in lines[0].upper() and "AC IMPEDANCE" in lines[0].upper():
        return True
    return _column_line(lines) is not None


def read(path: Path, *, lazy: bool = False):
    """Read a Maccor AC impedance export (see the module docstring).

    Raises
    ------
    ReaderError
        No Freq(Hz)/Z'(a)/Z''(b) table, no data rows, non-numeric values.
    """
    path = Path(path)
    fmt = SPEC.name
    lines = decode(read_bytes(path, fmt)).splitlines()
    k0 = _column_line(lines)
    if k0 is None:
        raise ReaderError(
            "no Freq(Hz) / Z'(a) / Z''(b) table; is this a Maccor EIS export?",
            path=path,
            format=fmt,
        )
    names = [c.strip() for c in lines[k0].split("\t")]
    rows, where = [], []
    for k in range(k0 + 1, len(lines)):
        if not lines[k].strip():
            continue
        cells = lines[k].split("\t")
        rows.append((cells + [""] * len(names))[: len(names)])
        where.append(k + 1)
    if not rows:
        raise ReaderError("no data rows below the Freq(Hz) line", path=path, format=fmt)
    cols = dict(zip(names, zip(*rows)))

    def num(name):
        return to_float(list(cols[name]), path=path, fmt=fmt, column=name, lines=where)

    f = num("Freq(Hz)")
    z = num("Z'(a)") + 1j * num("Z''(b)")
    extra = {}
    for name, (var, unit, label) in _EXTRA.items():
        if name in cols:
            values = num(name)
            if np.isfinite(values).any():
                extra[var] = (values, unit, f"Maccor {name}: {label}")
    header = [ln.strip() for ln in lines[:k0] if ln.strip()]
    meta: dict = {
        "instrument": "Maccor",
        "measurement": "EIS",
        "z_imag_in_file": "Z''(b), negative = capacitive (kept)",
    }
    for line in header:
        if line.startswith("Frequency Sweep:"):
            meta["frequency_sweep"] = line.split(":", 1)[1].strip()
        m = re.match(r"Start Date:\s*(.*?)\s*Start Time:\s*(\d{1,2}:\d{2})", line)
        if m:
            try:
                stamp = _dt.datetime.strptime(f"{m.group(1)} {m.group(2)}", "%A, %B %d, %Y %H:%M")
                meta["start_time"] = stamp.isoformat()
            except ValueError:
                pass
    return eis_dataset(
        frequency=f,
        z=z,
        extra=extra,
        metadata=meta,
        original={"header": header, "columns": names},
    )
