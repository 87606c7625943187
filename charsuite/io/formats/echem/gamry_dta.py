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
* ``CURVE1``, ``CURVE2``, … (cyclic voltammetry and other multi-cycle techniques: one
  table per cycle) are joined in order with ``cycle`` = the table number; a curve whose
  ``T`` restarts is shifted to follow the previous one (``metadata["time_shifted_curves"]``).
  ``OCVCURVE`` (the open-circuit rest before the run) is not part of the data.
* A file with only a ``CAPACITYCURVE`` (Gamry's per-cycle capacity summary of a
  charge/discharge run) is refused: it holds no time series; read the per-step
  ``CHARGE``/``DISCHARGE`` files instead.

Numbers follow the Windows locale: a decimal comma (``1,00000E+000``) is recognised from
the header's QUANT/POTEN values or the first table row (``metadata["decimal_comma"]``).

An aborted run (``EXPERIMENTABORTED TOGGLE T``) leaves rows with ``......``
placeholders: the table ends at the first incomplete row and ``metadata["aborted"]`` is
True. Curated metadata: ``electrode_area_cm2`` (AREA), ``dc_voltage_V`` (VDC),
``instrument`` (PSTAT), ``start_time`` (DATE + TIME as written), ``technique`` (TAG).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import (
    check_time,
    cycling_dataset,
    decode,
    eis_dataset,
    head_text,
    read_bytes,
)

SPEC = FormatSpec(
    name="gamry-dta",
    technique="echem",
    extensions=(".dta",),
    description="Gamry Framework .DTA (ZCURVE impedance or CURVE time-domain table)",
    priority=60,
)


_CURVE = re.compile(r"^CURVE(\d*)$")
_COMMA_NUMBER = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")
_DOT_NUMBER = re.compile(r"^[-+]?\d+\.\d+(?:[eE][-+]?\d+)?$")


def can_read(path: Path, head: bytes) -> bool:
    """Gamry EXPLAIN banner with a TAG line."""
    text = head_text(head)
    return text.startswith("EXPLAIN") and "\nTAG\t" in text[:200]


def _decimal_comma(lines: list[str], tables: dict[str, int]) -> bool:
    """Gamry writes numbers in the Windows locale; decide from header values first."""
    for line in lines:
        parts = line.split("\t")
        if len(parts) > 2 and parts[1] in ("QUANT", "POTEN"):
            if _COMMA_NUMBER.match(parts[2].strip()):
                return True
            if _DOT_NUMBER.match(parts[2].strip()):
                return False
    for start in tables.values():
        if start + 3 < len(lines):
            return any(_COMMA_NUMBER.match(p.strip()) for p in lines[start + 3].split("\t"))
    return False


def _table(lines: list[str], start: int, comma: bool = False) -> tuple[list[str], np.ndarray]:
    names = [n.strip() for n in lines[start + 1].split("\t")][1:]
    while names and not names[-1]:
        names.pop()
    rows = []
    for line in lines[start + 3 :]:
        if not line.startswith("\t"):
            break
        parts = line.split("\t")[1:]
        if len(parts) > len(names) and not "".join(parts[len(names) :]).strip():
            parts = parts[: len(names)]  # trailing tab(s)
        if not names or len(parts) != len(names):
            break
        values = []
        for p in parts:
            try:
                values.append(float(p.replace(",", ".") if comma else p))
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
    tables: dict[str, int] = {}  # every TABLE by name, first occurrence, in file order
    for k, line in enumerate(lines):
        parts = line.split("\t")
        if len(parts) > 1 and parts[1] == "TABLE" and parts[0]:
            tables.setdefault(parts[0], k)
        elif len(parts) >= 3 and parts[0] and not tables:
            header[parts[0]] = parts[2]
    comma = _decimal_comma(lines, tables)
    meta: dict = {"instrument": f"Gamry {header.get('PSTAT', '')}".strip()}
    if header.get("TAG"):
        meta["technique"] = header["TAG"]
    meta["aborted"] = any(line.startswith("EXPERIMENTABORTED\tTOGGLE\tT") for line in lines)
    meta["decimal_comma"] = comma
    for key, name in (("AREA", "electrode_area_cm2"), ("VDC", "dc_voltage_V")):
        with contextlib.suppress(KeyError, ValueError):
            meta[name] = float(header[key].replace(",", ".") if comma else header[key])
    if "DATE" in header:
        meta["start_time"] = f"{header['DATE']} {header.get('TIME', '')}".strip()
    if "ZCURVE" in tables:
        names, arr = _table(lines, tables["ZCURVE"], comma)
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
    curves = [(name, k) for name, k in tables.items() if _CURVE.match(name)]
    if curves:
        return _curves(path, fmt, lines, curves, comma, meta, header)
    found = sorted(tables) or "none"
    hint = (
        " CAPACITYCURVE is Gamry's per-cycle capacity summary, not a time series: read the "
        "CHARGE/DISCHARGE step files of the run instead."
        if "CAPACITYCURVE" in tables
        else " Export the experiment as text/CSV."
    )
    raise ReaderError(
        f"no ZCURVE or CURVE table in this DTA (tables found: {found}); expected ZCURVE "
        f"(impedance) or CURVE/CURVE1… (time series).{hint}",
        path=path,
        format=fmt,
    )


def _curves(path, fmt, lines, curves, comma, meta, header):
    """Join the CURVE / CURVE1, CURVE2… tables into one cycling Dataset."""
    parts, first_names = [], None
    for name, start in curves:
        names, arr = _table(lines, start, comma)
        missing = [n for n in ("T", "Vf", "Im") if n not in names]
        if missing:
            raise ReaderError(
                f"{name} columns {missing} missing (found {names}); expected T (s), Vf (V), Im (A)",
                path=path,
                format=fmt,
            )
        first_names = first_names or names
        col = {n: arr[:, k] for k, n in enumerate(names)}
        number = int(_CURVE.match(name).group(1) or 1)
        parts.append((number, col))
    parts = [(n, c) for n, c in parts if c["T"].size]
    if not parts:
        raise ReaderError("CURVE table has no complete rows", path=path, format=fmt)
    t_all, shifted = [], []
    for number, col in parts:
        t = col["T"]
        if t_all and np.isfinite(t[0]) and t[0] < t_all[-1][-1]:
            # this curve's clock restarted: continue from the previous curve's last time
            t = t - t[0] + t_all[-1][-1]
            shifted.append(number)
        t_all.append(t)
    t = np.concatenate(t_all)
    check_time(path, fmt, t)
    meta["measurement"] = "cycling"
    extra = {}
    if len(parts) > 1 or curves[0][0] != "CURVE":
        meta["n_curves"] = len(parts)
        extra["cycle"] = (
            np.concatenate([np.full(c["T"].size, float(n)) for n, c in parts]),
            "dimensionless",
            "Gamry curve number (CURVEn table)",
        )
    if shifted:
        meta["time_shifted_curves"] = shifted
    return cycling_dataset(
        time_s=t,
        voltage_V=np.concatenate([c["Vf"] for _, c in parts]),
        current_mA=np.concatenate([c["Im"] for _, c in parts]) * 1e3,
        extra=extra,
        metadata=meta,
        original={"header": header, "columns": first_names, "tables": [n for n, _ in curves]},
    )
