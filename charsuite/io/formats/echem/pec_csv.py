"""PEC (Peter Electronic Cycling, SBT/ACT testers) CSV exports.

A free header of ``Key:,value`` lines (``Test:``, ``TestRegime Name:``, ``Chemistry:``,
``Start Time:``, ...; ``#RESULTS CHECK`` blocks), then the column line starting with
``Test,Cell,...`` and one row per record. Units are read from the column names:

====================================== ============================================
PEC column                             charsuite
====================================== ============================================
``Total Time (Hours in hh:mm:ss.xxx)``, ``time`` (s); else ``Real Time`` stamps
``(Decimal Hours)``, ``(Minutes)``,
``(Seconds)``
``Current (A)`` / ``(mA)`` / ``(µA)``  ``current`` (mA); PEC signs it (discharge < 0)
``Voltage (V)`` / ``(mV)``             ``voltage`` (V)
``Charge Capacity (mAh)``,             per-cycle capacities → ``charge_capacity``,
``Discharge Capacity (mAh)`` (Ah, µAh) ``discharge_capacity`` and ``charge``
                                       (cumulative signed mAh)
``Cycle``, ``Step``                    ``cycle``, ``step``; ``Instruction Name`` →
                                       ``step_name``
====================================== ============================================

PEC accumulates each capacity within a cycle; a drop or a new cycle restarts it (as
Arbin's), so per-cycle capacities reproduce PEC's. A file holding several cells needs
``cell=`` (the ``Cell`` column value, or ``"<Test>/<Cell>"``).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.arbin_csv import _cumulative
from charsuite.io.formats.echem.common import (
    check_time,
    cycling_dataset,
    decode,
    durations_to_seconds,
    head_text,
    numeric_column,
    read_bytes,
    split_label,
    timestamps_to_seconds,
    unit_factor,
)

SPEC = FormatSpec(
    name="pec-csv",
    technique="echem",
    extensions=(".csv",),
    description="PEC cycler CSV export (Key:,value header; Test,Cell,...,Voltage (V),Current (A))",
    priority=60,
)
_TIME_SCALE = {"decimal hours": 3600.0, "minutes": 60.0, "seconds": 1.0}
_CURRENT = {"a": 1e3, "ma": 1.0, "µa": 1e-3, "ua": 1e-3}
_VOLTAGE = {"v": 1.0, "mv": 1e-3}
_CAPACITY = {"ah": 1e3, "mah": 1.0, "µah": 1e-3, "uah": 1e-3}


def _column_line(lines: list[str]) -> int | None:
    for k, line in enumerate(lines):
        cells = [c.strip().lower() for c in line.split(",")]
        if len(cells) > 4 and cells[0] == "test" and "cell" in cells[:3]:
            names = {split_label(c)[0] for c in cells}
            if {"voltage", "current"} <= names:
                return k
    return None


def can_read(path: Path, head: bytes) -> bool:
    """PEC header keys (``TestRegime Name:``) or the ``Test,Cell,...`` column line."""
    text = head_text(head)
    if "\x00" in text:
        return False
    lines = text.splitlines()
    if _column_line(lines[:-1] or lines) is not None:
        return True
    keys = {ln.split(",", 1)[0].strip() for ln in lines[:80]}
    return {"Test:", "TestRegime Name:"} <= keys


def _header(lines: list[str]) -> dict:
    """``Key:,value`` lines above the table (the ``#RESULTS CHECK`` block skipped)."""
    header: dict = {}
    in_check = False
    for line in lines:
        if line.startswith("#"):
            in_check = not in_check if "RESULTS CHECK" in line.upper() else in_check
            continue
        if in_check or ":" not in line:
            continue
        key, _, rest = line.partition(",")
        values = [v.strip() for v in rest.split(",")]
        values = [v for v in values if v]
        header[key.strip().rstrip(":").strip()] = values[0] if len(values) == 1 else (values or "")
    return header


def _header_metadata(header: dict) -> dict:
    import pandas as pd

    meta: dict = {}
    m = re.fullmatch(r"\s*([0-9.]+)\s*mAh\s*", str(header.get("TestRegime CellSize", "")))
    if m:
        meta["battery_capacity_mAh"] = float(m.group(1))
    start = str(header.get("Start Time") or "")
    # another date layout stays only in original_metadata["header"]
    with contextlib.suppress(ValueError, TypeError):
        meta["start_time"] = pd.to_datetime(start, format="%m/%d/%Y %H:%M:%S").isoformat()
    return meta


def _strings(df, labels: dict, base: str):
    return df[labels[base]].astype(object).fillna("").astype(str).str.strip()


def _select_cell(df, labels: dict, cell, meta: dict, *, path: Path, fmt: str):
    """The rows of one cell when the file holds several (``cell=``)."""
    if not ("test" in labels and "cell" in labels):
        return df
    ids = (_strings(df, labels, "test") + "/" + _strings(df, labels, "cell")).to_numpy()
    distinct = list(dict.fromkeys(ids))
    if len(distinct) > 1:
        if cell is None:
            raise ReaderError(
                f"the file holds {len(distinct)} cells ({', '.join(distinct[:8])}); pass "
                "cell= (a Cell value or 'Test/Cell')",
                path=path,
                format=fmt,
            )
        want = str(cell)
        sel = (ids == want) | (_strings(df, labels, "cell").to_numpy() == want)
        if not sel.any():
            raise ReaderError(
                f"cell={cell!r} not in the file ({', '.join(distinct[:8])})",
                path=path,
                format=fmt,
            )
        df = df.loc[sel].reset_index(drop=True)
    meta["channel"] = _strings(df, labels, "cell").iloc[0]
    return df


def _time(df, labels: dict, units: dict, meta: dict, num, *, path: Path, fmt: str):
    t = None
    if "total time" in labels:
        unit = units["total time"].lower()
        if unit.startswith("hours in"):
            t = durations_to_seconds(_strings(df, labels, "total time").tolist())
        elif unit in _TIME_SCALE:
            t = num("total time") * _TIME_SCALE[unit]
        if t is not None:
            meta["time_source"] = labels["total time"]
    if t is None and "real time" in labels:
        parsed = timestamps_to_seconds(_strings(df, labels, "real time").tolist())
        if parsed is not None:
            t = parsed[0]
            meta["time_source"] = f"{labels['real time']} ({parsed[1]}), seconds since row 1"
    if t is None:
        raise ReaderError(
            f"no readable time column (found {list(df.columns)[:12]}...); export 'Total Time'",
            path=path,
            format=fmt,
        )
    return t


def read(path: Path, *, lazy: bool = False, cell: str | int | None = None):
    """Read a PEC CSV export (see the module docstring).

    Parameters
    ----------
    cell : str or int, optional
        Which cell to read when the file holds several (``Cell`` column value or
        ``"<Test>/<Cell>"``).

    Raises
    ------
    ReaderError
        No column line, missing time/current/voltage, an unknown unit, non-numeric
        values, several cells without ``cell=``, time running backwards.
    """
    import pandas as pd

    path = Path(path)
    fmt = SPEC.name
    text = decode(read_bytes(path, fmt))
    lines = text.splitlines()
    k0 = _column_line(lines)
    if k0 is None:
        raise ReaderError(
            "no PEC column line (Test,Cell,...,Voltage (V),Current (A)); export the raw data "
            "with these columns",
            path=path,
            format=fmt,
        )
    header = _header(lines[:k0])
    try:
        df = pd.read_csv(io.StringIO("\n".join(lines[k0:])), index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise ReaderError(f"not a readable CSV table ({err})", path=path, format=fmt) from None
    df = df.loc[:, [c for c in df.columns if not str(c).startswith("Unnamed")]]
    if len(df) == 0:
        raise ReaderError("no data rows below the column line", path=path, format=fmt)
    labels: dict[str, str] = {}
    units: dict[str, str] = {}
    for col in df.columns:
        base, unit = split_label(str(col))
        labels.setdefault(base, str(col))
        units.setdefault(base, unit)
    meta: dict = {"instrument": "PEC", "measurement": "cycling"}

    def strings(base: str):
        return df[labels[base]].astype(object).fillna("").astype(str).str.strip()

    df = _select_cell(df, labels, cell, meta, path=path, fmt=fmt)

    def num(base: str) -> np.ndarray:
        return numeric_column(df[labels[base]], labels[base], path=path, fmt=fmt, first_line=k0 + 2)

    def scale(base: str, table: dict, what: str) -> float:
        return unit_factor(units[base], table, column=labels[base], what=what, path=path, fmt=fmt)

    t = _time(df, labels, units, meta, num, path=path, fmt=fmt)
    check_time(path, fmt, t)
    current = num("current") * scale("current", _CURRENT, "current")
    voltage = num("voltage") * scale("voltage", _VOLTAGE, "voltage")
    extra: dict = {}
    cycle = num("cycle") if "cycle" in labels else None
    if "charge capacity" in labels and "discharge capacity" in labels:
        cc = num("charge capacity") * scale("charge capacity", _CAPACITY, "capacity")
        dc = num("discharge capacity") * scale("discharge capacity", _CAPACITY, "capacity")
        extra["charge"] = (
            _cumulative(cc, dc, cycle),
            "mAh",
            "cumulative charge from PEC capacities",
        )
        extra["charge_capacity"] = (cc, "mAh", labels["charge capacity"])
        extra["discharge_capacity"] = (dc, "mAh", labels["discharge capacity"])
    if cycle is not None:
        extra["cycle"] = (cycle, "dimensionless", labels["cycle"])
    if "step" in labels:
        extra["step"] = (num("step"), "dimensionless", labels["step"])
    if "instruction name" in labels:
        extra["step_name"] = (
            strings("instruction name").to_numpy(dtype=str),
            "dimensionless",
            labels["instruction name"],
        )
    meta.update(_header_metadata(header))
    if "cell id" in labels:
        meta["sample"] = strings("cell id").iloc[0]
    return cycling_dataset(
        time_s=t,
        voltage_V=voltage,
        current_mA=current,
        extra=extra,
        metadata=meta,
        original={"header": header, "columns": [str(c) for c in df.columns]},
    )
