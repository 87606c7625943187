"""Gamry Framework ``.DTA`` files: impedance (``ZCURVE``) and time-domain (``CURVE``) tables.

Header lines are ``TAG<TAB>TYPE<TAB>VALUE<TAB>label``; a table starts at
``ZCURVE<TAB>TABLE`` or ``CURVE<TAB>TABLE`` with a column-name line and a unit line.

* ``ZCURVE`` (EIS): ``Pt Time Freq Zreal Zimag Zsig Zmod Zphz Idc Vdc IERange``; Zimag is
  signed (negative for capacitive arcs).
* ``CURVE`` (chronopotentiometry, Gamry charge/discharge ``CHARGE_#n.DTA`` /
  ``DISCHARGE_#n.DTA``): ``T`` (s), ``Vf`` (V), ``Im`` (A → mA) become the cycling
  ``time``/``voltage``/``current``; Gamry's sign convention (anodic current positive)
  is kept. Each half-cycle file is one Dataset; join them with
  :func:`charsuite.echem.concat_runs`. Written from Gamry's documented table layout;
  no real Gamry cycling file was available to test against.

An aborted run (``EXPERIMENTABORTED TOGGLE T``) leaves rows with ``......``
placeholders: the table ends at the first incomplete row and ``metadata["aborted"]`` is
True. Curated metadata: ``electrode_area_cm2`` (AREA), ``dc_voltage_V`` (VDC),
``instrument`` (PSTAT), ``start_time`` (DATE + TIME as written), ``technique`` (TAG).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats._echem_util import (
    check_time,
    cycling_dataset,
    decode,
    eis_dataset,
    read_bytes,
)

SPEC = FormatSpec(
    name="gamry-dta",
    technique="echem",
    extensions=(".dta",),
    description="Gamry Framework .DTA (ZCURVE impedance or CURVE time-domain table)",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """Gamry EXPLAIN banner with a TAG line."""
    return head.startswith(b"EXPLAIN") and b"\nTAG\t" in head[:200]


def _table(lines: list[str], start: int) -> tuple[list[str], np.ndarray]:
    names = [n.strip() for n in lines[start + 1].split("\t")][1:]
    rows = []
    for line in lines[start + 3 :]:
        if not line.startswith("\t"):
            break
        parts = line.split("\t")[1:]
        if len(parts) != len(names):
            break
        values = []
        for p in parts:
            try:
                values.append(float(p))
            except ValueError:
                values.append(np.nan)  # flag columns like '..........a' or IERange text
        if np.isnan(values[0]):
            break  # aborted run: '......' placeholders
        rows.append(values)
    return names, np.asarray(rows, dtype=float).reshape(len(rows), len(names))


def read(path: Path, *, lazy: bool = False):
    """Read the ZCURVE (impedance) or else the CURVE (time-domain) table of a ``.DTA``.

    Raises
    ------
    ReaderError
        Neither table present; required columns missing; no complete rows.
    """
    path = Path(path)
    fmt = SPEC.name
    lines = decode(read_bytes(path, fmt)).splitlines()
    header: dict[str, str] = {}
    tables: dict[str, int] = {}
    for k, line in enumerate(lines):
        parts = line.split("\t")
        if len(parts) > 1 and parts[1] == "TABLE" and parts[0] in ("ZCURVE", "CURVE"):
            tables.setdefault(parts[0], k)
        elif len(parts) >= 3 and parts[0] and not tables:
            header[parts[0]] = parts[2]
    meta: dict = {"instrument": f"Gamry {header.get('PSTAT', '')}".strip()}
    if header.get("TAG"):
        meta["technique"] = header["TAG"]
    meta["aborted"] = any(line.startswith("EXPERIMENTABORTED\tTOGGLE\tT") for line in lines)
    for key, name in (("AREA", "electrode_area_cm2"), ("VDC", "dc_voltage_V")):
        with contextlib.suppress(KeyError, ValueError):
            meta[name] = float(header[key])
    if "DATE" in header:
        meta["start_time"] = f"{header['DATE']} {header.get('TIME', '')}".strip()
    if "ZCURVE" in tables:
        names, arr = _table(lines, tables["ZCURVE"])
        for need in ("Freq", "Zreal", "Zimag"):
            if need not in names:
                raise ReaderError(
                    f"ZCURVE column {need!r} missing (found {names})", path=path, format=fmt
                )
        if arr.shape[0] == 0:
            raise ReaderError("ZCURVE table has no complete rows", path=path, format=fmt)
        col = {n: arr[:, k] for k, n in enumerate(names)}
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
        meta["measurement"] = "impedance"
        return eis_dataset(
            frequency=col["Freq"],
            z=col["Zreal"] + 1j * col["Zimag"],
            extra=extra,
            metadata=meta,
            original={"header": header, "columns": names},
        )
    if "CURVE" in tables:
        names, arr = _table(lines, tables["CURVE"])
        missing = [n for n in ("T", "Vf", "Im") if n not in names]
        if missing:
            raise ReaderError(
                f"CURVE columns {missing} missing (found {names}); expected T (s), Vf (V), Im (A)",
                path=path,
                format=fmt,
            )
        if arr.shape[0] == 0:
            raise ReaderError("CURVE table has no complete rows", path=path, format=fmt)
        col = {n: arr[:, k] for k, n in enumerate(names)}
        check_time(path, fmt, col["T"])
        meta["measurement"] = "cycling"
        return cycling_dataset(
            time_s=col["T"],
            voltage_V=col["Vf"],
            current_mA=col["Im"] * 1e3,
            metadata=meta,
            original={"header": header, "columns": names},
        )
    raise ReaderError(
        "no ZCURVE or CURVE table in this DTA; export the experiment as text/CSV",
        path=path,
        format=fmt,
    )
