"""Neware BTSDA text exports (``.csv``, ``.txt``): record layer, or "regular export".

One header line, then one row per record. The BTSDA "regular export" nests three layers
(cycle rows, step rows after one empty field, record rows after two, each layer with its
own header row): it is flattened to the record layer with the cycle and step of each
record (:func:`flatten_regular_export`; ``metadata["layout"]`` says which). Columns are found by name (spellings of
BTSDA 7.x and 8.x; a unit in parentheses, ``A``/``mA``/``uA``, ``V``/``mV``,
``Ah``/``mAh``/``uAh``):

===================================== ===============================================
Neware column                         charsuite
===================================== ===============================================
``Cumulative Time``, ``Total Time``   ``time`` (s) from ``[d ]h:mm:ss[.ms]`` (hours may
(``h:min:s.ms``), else ``Date``,      exceed 24) or seconds; else date stamps relative
``Realtime``, ``Absolute Time``       to row 1 (``metadata["time_source"]``)
``Current(A)``, ``Current(mA)``       ``current`` (mA); if the file never signs it, the
                                      step type gives the sign (``DChg`` = discharge)
``Voltage(V)``                        ``voltage`` (V)
``Chg. Cap.``/``DChg. Cap.``          step capacities → ``charge`` (cumulative signed
(``Capacitance_Chg``/``_DChg``), else mAh); ``step_capacity`` (mAh) kept
``Capacity`` (signed by the current)
``Cycle Index``/``Cycle ID``/``Cycle`` ``cycle``
``Step Index``/``Step ID``/``Step``   ``step``; ``Step Type``/``Status`` → ``step_name``
===================================== ===============================================

Neware's capacities restart at every step; ``charge`` adds the increments within each
step (a restart is a new step index or a drop), so per-cycle capacities equal the sum of
Neware's step capacities. When the export has ``Spec. Cap.(mAh/g)`` next to
``Capacity``, the active mass entered in BTS is recovered as capacity / specific
capacity and set as ``metadata["active_mass_mg"]`` (``active_mass_source`` says so).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
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
)

SPEC = FormatSpec(
    name="neware-csv",
    technique="echem",
    extensions=(".csv", ".txt"),
    description="Neware BTSDA record export (Cycle Index, Step Type, Chg./DChg. Cap., ...)",
    priority=60,
)
_MARKERS = ("chg. cap.", "dchg. cap.", "capacitance_chg", "capacitance_dchg", "cumulative time")
_TIME_TOTAL = ("cumulative time", "total time")
_TIME_STAMP = ("date", "realtime", "absolute time", "system time", "real time")
_CURRENT = {"a": 1e3, "ma": 1.0, "ua": 1e-3, "µa": 1e-3}
_VOLTAGE = {"v": 1.0, "mv": 1e-3}
_CAPACITY = {"ah": 1e3, "mah": 1.0, "uah": 1e-3, "µah": 1e-3}


def _sep(line: str) -> str:
    return "\t" if line.count("\t") > line.count(",") else ","


def _is_header(line: str) -> bool:
    names = {split_label(c)[0] for c in line.split(_sep(line))}
    return (
        bool(names & {"current", "cur"})
        and "voltage" in names
        and bool(names & {"cycle index", "cycle id", "cycle"})
        and any(m in names for m in _MARKERS)
    )


def _is_regular_export(lines: list[str]) -> bool:
    """BTSDA "regular export": three header rows for the cycle, step and record layers."""
    if len(lines) < 3:
        return False
    heads = [ln.replace('"', "").replace(" ", "").lower() for ln in lines[:3]]
    return (
        heads[0].startswith("cycleid")
        and heads[1].startswith(",stepid")
        and heads[2].startswith(",,recordid")
    )


def flatten_regular_export(lines: list[str]) -> list[str]:
    """One table of the record layer from a BTSDA "regular export" (three layers nested).

    Cycle rows start in the first field, step rows after one empty field, record rows
    after two. Each record row gets the ``Cycle ID`` of the cycle row and the ``Step ID``
    and ``Step Name`` of the step row above it; the record layer's ``Time`` is the time in
    the step (renamed ``Step Time``), ``Capacity`` the step capacity.
    """
    cyc_cols = lines[0].split(",")
    step_cols = lines[1].split(",")[1:]
    rec_cols = lines[2].split(",")[2:]
    si = step_cols.index(next(c for c in step_cols if c.replace(" ", "").lower() == "stepid"))
    sn = next(
        (k for k, c in enumerate(step_cols) if "name" in c.lower() or "type" in c.lower()), None
    )
    rec_cols = [
        "Step Time" + c.strip()[4:] if c.strip().lower().startswith("time") else c for c in rec_cols
    ]
    out = [",".join([cyc_cols[0].strip(), "Step ID", "Step Name", *rec_cols])]
    cycle = step = name = ""
    for line in lines[3:]:
        if not line.strip():
            continue
        parts = line.split(",")
        if parts[0].strip():
            cycle = parts[0].strip()
        elif len(parts) > 1 and parts[1].strip():
            step = parts[1 + si].strip()
            name = parts[1 + sn].strip() if sn is not None and len(parts) > 1 + sn else ""
        else:
            out.append(",".join([cycle, step, name, *parts[2 : 2 + len(rec_cols)]]))
    return out


def _header_line(lines: list[str]) -> int | None:
    """Index of the column line: the first line, or after a short preamble (BTSDA .txt)."""
    return next((k for k, ln in enumerate(lines[:30]) if _is_header(ln)), None)


def can_read(path: Path, head: bytes) -> bool:
    """A line near the top names Neware capacity/time columns and current, voltage, cycle."""
    text = head_text(head)
    if "\x00" in text:
        return False
    lines = text.splitlines()
    if _is_regular_export(lines):
        return True
    return _header_line(lines[:-1] if len(lines) > 1 else lines) is not None


def _increments(cap: np.ndarray, step: np.ndarray | None) -> np.ndarray:
    """Per-record increments of a capacity that restarts at each step (or drops)."""
    cap = np.nan_to_num(cap)
    d = np.diff(cap, prepend=0.0)
    reset = d < 0
    if step is not None:
        reset |= np.diff(step, prepend=step[0] - 1) != 0
    d[reset] = cap[reset]
    return d


class _Table:
    """The record table with its columns looked up by base name (units split off)."""

    def __init__(self, df, *, path: Path, fmt: str, first_line: int):
        self.df, self.path, self.fmt, self.first_line = df, path, fmt, first_line
        self.labels: dict[str, str] = {}
        self.units: dict[str, str] = {}
        for col in df.columns:
            base, unit = split_label(str(col))
            if base not in self.labels:
                self.labels[base], self.units[base] = str(col), unit

    def first(self, *bases: str) -> str | None:
        return next((b for b in bases if b in self.labels), None)

    def num(self, base: str) -> np.ndarray:
        label = self.labels[base]
        return numeric_column(
            self.df[label], label, path=self.path, fmt=self.fmt, first_line=self.first_line
        )

    def strings(self, base: str) -> list[str]:
        return self.df[self.labels[base]].astype(object).fillna("").astype(str).str.strip().tolist()

    def scale(self, base: str, table: dict, what: str) -> float:
        unit = self.units[base].lower()
        if unit not in table:
            raise ReaderError(
                f"column {self.labels[base]!r}: unit {self.units[base]!r} is not a {what} "
                f"unit this reader knows ({', '.join(table)})",
                path=self.path,
                format=self.fmt,
            )
        return table[unit]


def _time(tab: _Table, meta: dict) -> np.ndarray:
    total = tab.first(*_TIME_TOTAL)
    if total is not None:
        t = durations_to_seconds(tab.strings(total))
        if t is None:
            t = tab.num(total) * (3600.0 if tab.units[total].lower() in ("h", "hr") else 1.0)
        meta["time_source"] = tab.labels[total]
        return t
    stamp = tab.first(*_TIME_STAMP)
    parsed = timestamps_to_seconds(tab.strings(stamp)) if stamp else None
    if parsed is None:
        raise ReaderError(
            f"no total-time or date column (found {list(tab.df.columns)[:12]}...); export "
            "'Cumulative Time' or 'Total Time'",
            path=tab.path,
            format=tab.fmt,
        )
    meta["time_source"] = f"{tab.labels[stamp]} (date stamps, {parsed[1]}), seconds since row 1"
    return parsed[0]


def _current_voltage(tab: _Table, meta: dict):
    """Current (mA, signed) and voltage (V); the step type signs an unsigned export."""
    i_base = tab.first("current", "cur")
    if i_base is None or "voltage" not in tab.labels:
        raise ReaderError(
            f"missing current or voltage column (found {list(tab.df.columns)[:12]}...)",
            path=tab.path,
            format=tab.fmt,
        )
    current = tab.num(i_base) * tab.scale(i_base, _CURRENT, "current")
    voltage = tab.num("voltage") * tab.scale("voltage", _VOLTAGE, "voltage")
    st_base = tab.first("step type", "status", "step name")
    if st_base is None:
        return current, voltage, None
    step_type = np.array(tab.strings(st_base), dtype=str)
    if not np.any(current < 0):
        # unsigned export: the step type names the discharge steps
        low = np.char.lower(step_type)
        dis = (np.char.find(low, "dchg") >= 0) | (np.char.find(low, "discharge") >= 0)
        current = np.where(dis, -np.abs(current), current)
        meta["current_sign_source"] = f"{tab.labels[st_base]} (discharge steps made negative)"
    return current, voltage, (step_type, tab.labels[st_base])


def _capacities(tab: _Table, current: np.ndarray, meta: dict) -> dict:
    """``charge`` (cumulative signed mAh) and ``step_capacity`` from Neware's capacities."""
    extra: dict = {}
    s_base = tab.first("step index", "step id", "step")
    step = tab.num(s_base) if s_base else None
    chg = tab.first("chg. cap.", "capacitance_chg")
    dchg = tab.first("dchg. cap.", "capacitance_dchg")
    cap_base = tab.first("capacity")
    if chg and dchg:
        qc = tab.num(chg) * tab.scale(chg, _CAPACITY, "capacity")
        qd = tab.num(dchg) * tab.scale(dchg, _CAPACITY, "capacity")
        q = np.cumsum(_increments(qc, step) - _increments(qd, step))
        extra["charge"] = (
            q,
            "mAh",
            f"cumulative charge from {tab.labels[chg]} and {tab.labels[dchg]}",
        )
    if not cap_base:
        return extra
    cap = tab.num(cap_base) * tab.scale(cap_base, _CAPACITY, "capacity")
    if "charge" not in extra:
        q = np.cumsum(np.sign(current) * _increments(np.abs(cap), step))
        extra["charge"] = (q, "mAh", f"cumulative charge from {tab.labels[cap_base]} (signed by I)")
    extra["step_capacity"] = (cap, "mAh", tab.labels[cap_base])
    _active_mass(tab, cap, cap_base, meta)
    return extra


def _active_mass(tab: _Table, cap: np.ndarray, cap_base: str, meta: dict) -> None:
    if "spec. cap." not in tab.labels or tab.units["spec. cap."].lower() != "mah/g":
        return
    spec = tab.num("spec. cap.")
    ok = np.isfinite(spec) & (spec > 0) & np.isfinite(cap) & (np.abs(cap) > 0)
    if ok.any():
        k = np.flatnonzero(ok)[np.argmax(np.abs(cap[ok]))]
        meta["active_mass_mg"] = float(abs(cap[k]) / spec[k] * 1e3)
        meta["active_mass_source"] = (
            f"{tab.labels[cap_base]} / {tab.labels['spec. cap.']} (the mass entered in BTS)"
        )


def read(path: Path, *, lazy: bool = False):
    """Read a Neware record-layer export (see the module docstring).

    Raises
    ------
    ReaderError
        No time/current/voltage column, an unknown unit, non-numeric values, time
        running backwards.
    """
    import pandas as pd

    path = Path(path)
    fmt = SPEC.name
    text = decode(read_bytes(path, fmt))
    lines = text.splitlines()
    layout = "record export"
    k0 = None
    if _is_regular_export(lines):
        lines, layout = flatten_regular_export(lines), "regular export (cycle/step/record layers)"
        k0 = 0
    k0 = _header_line(lines) if k0 is None else k0
    if k0 is None:
        raise ReaderError(
            "no Neware column line (Cycle Index, Current, Voltage, Chg. Cap./Cumulative Time) "
            "in the first 30 lines; export the record layer with these columns",
            path=path,
            format=fmt,
        )
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(lines[k0:])), sep=_sep(lines[k0]), skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise ReaderError(f"not a readable CSV table ({err})", path=path, format=fmt) from None
    if len(df) == 0:
        raise ReaderError("no data rows below the header", path=path, format=fmt)
    tab = _Table(df, path=path, fmt=fmt, first_line=k0 + 2)
    meta: dict = {"instrument": "Neware", "measurement": "cycling", "layout": layout}
    t = _time(tab, meta)
    check_time(path, fmt, t)
    current, voltage, step_type = _current_voltage(tab, meta)
    extra = _capacities(tab, current, meta)
    c_base = tab.first("cycle index", "cycle id", "cycle")
    s_base = tab.first("step index", "step id", "step")
    if c_base:
        extra["cycle"] = (tab.num(c_base), "dimensionless", tab.labels[c_base])
    if s_base:
        extra["step"] = (tab.num(s_base), "dimensionless", tab.labels[s_base])
    if step_type is not None:
        extra["step_name"] = (step_type[0], "dimensionless", step_type[1])
    return cycling_dataset(
        time_s=t,
        voltage_V=voltage,
        current_mA=current,
        extra=extra,
        metadata=meta,
        original={"preamble": lines[:k0], "columns": [str(c) for c in df.columns]},
    )
