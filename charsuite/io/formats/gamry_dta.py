"""Gamry Framework ``.DTA`` impedance files (``ZCURVE TABLE``).

Header lines are ``TAG<TAB>TYPE<TAB>VALUE<TAB>label``; the impedance table starts at
``ZCURVE<TAB>TABLE`` with a column-name line (``Pt Time Freq Zreal Zimag Zsig Zmod Zphz
Idc Vdc IERange``) and a unit line. Zimag is signed (negative for capacitive arcs). An
aborted run (``EXPERIMENTABORTED TOGGLE T``) leaves rows with ``......`` placeholders: the
table ends at the first row that is not complete, and ``metadata["aborted"]`` is True.
Curated metadata: ``electrode_area_cm2`` (AREA), ``dc_voltage_V`` (VDC), ``instrument``
(PSTAT), ``start_time`` (DATE + TIME as written).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats._echem_util import decode, eis_dataset, read_bytes

SPEC = FormatSpec(
    name="gamry-dta",
    technique="echem",
    extensions=(".dta",),
    description="Gamry Framework .DTA impedance (ZCURVE table)",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """Gamry EXPLAIN banner with a TAG line."""
    return head.startswith(b"EXPLAIN") and b"\nTAG\t" in head[:200]


def read(path: Path, *, lazy: bool = False):
    """Read the ZCURVE table of a Gamry ``.DTA``.

    Raises
    ------
    ReaderError
        No ZCURVE table (e.g. a cycling DTA: not supported yet — export CSV), missing
        Freq/Zreal/Zimag columns, no complete rows.
    """
    path = Path(path)
    fmt = SPEC.name
    lines = decode(read_bytes(path, fmt)).splitlines()
    header: dict[str, str] = {}
    start = None
    for k, line in enumerate(lines):
        parts = line.split("\t")
        if parts[0] == "ZCURVE" and len(parts) > 1 and parts[1] == "TABLE":
            start = k
            break
        if len(parts) >= 3 and parts[0]:
            header[parts[0]] = parts[2]
    if start is None or start + 2 >= len(lines):
        raise ReaderError(
            "no ZCURVE TABLE (impedance) in this DTA; only impedance DTA files are read — "
            "export other Gamry experiments as CSV/text",
            path=path,
            format=fmt,
        )
    names = [n.strip() for n in lines[start + 1].split("\t")][1:]
    for need in ("Freq", "Zreal", "Zimag"):
        if need not in names:
            raise ReaderError(
                f"ZCURVE column {need!r} missing (found {names})", path=path, format=fmt
            )
    rows = []
    for line in lines[start + 3 :]:
        if not line.startswith("\t"):
            break
        parts = line.split("\t")[1:]
        if len(parts) != len(names):
            break
        try:
            rows.append(
                [
                    float(p)
                    for p in parts[: names.index("IERange") if "IERange" in names else len(parts)]
                ]
            )
        except ValueError:
            break  # aborted run: '......' placeholders
    if not rows:
        raise ReaderError("ZCURVE table has no complete rows", path=path, format=fmt)
    width = min(len(r) for r in rows)
    arr = np.array([r[:width] for r in rows], dtype=float)
    col = {n: arr[:, k] for k, n in enumerate(names[:width])}
    meta: dict = {
        "measurement": "impedance",
        "instrument": f"Gamry {header.get('PSTAT', '')}".strip(),
    }
    meta["aborted"] = header.get("EXPERIMENTABORTED") == "T" or any(
        line.startswith("EXPERIMENTABORTED\tTOGGLE\tT") for line in lines
    )
    for key, name, conv in (("AREA", "electrode_area_cm2", float), ("VDC", "dc_voltage_V", float)):
        with contextlib.suppress(KeyError, ValueError):
            meta[name] = conv(header[key])
    if "DATE" in header:
        meta["start_time"] = f"{header['DATE']} {header.get('TIME', '')}".strip()
    extra = {}
    for n, var, unit in (
        ("Time", "time", "s"),
        ("Zmod", "z_modulus", "ohm"),
        ("Zphz", "phase", "deg"),
        ("Idc", "dc_current", "A"),
        ("Vdc", "dc_voltage", "V"),
    ):
        if n in col:
            extra[var] = (col[n], unit, n)
    return eis_dataset(
        frequency=col["Freq"],
        z=col["Zreal"] + 1j * col["Zimag"],
        extra=extra,
        metadata=meta,
        original={"header": header, "columns": names},
    )
