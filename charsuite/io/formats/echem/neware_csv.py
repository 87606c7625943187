"""Neware BTSDA record-layer text exports (``.csv``, ``.txt``).

One header line, then one row per record. Columns are found by name (spellings of
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
_TIME_STAMP = ("date", "realtime", "absolute time", "system time")
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


def _header_line(lines: list[str]) -> int | None:
    """Index of the column line: the first line, or after a short preamble (BTSDA .txt)."""
    return next((k for k, ln in enumerate(lines[:30]) if _is_header(ln)), None)


def can_read(path: Path, head: bytes) -> bool:
    """A line near the top names Neware capacity/time columns and current, voltage, cycle."""
    text = head_text(head)
    if "\x00" in text:
        return False
    lines = text.splitlines()
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


def read(path: Path, *, lazy: bool = False):  # noqa: C901, PLR0915
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
    k0 = _header_line(lines)
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
    labels: dict[str, str] = {}
    units: dict[str, str] = {}
    for col in df.columns:
        base, unit = split_label(str(col))
        if base not in labels:
            labels[base], units[base] = str(col), unit

    def num(base: str) -> np.ndarray:
        return numeric_column(df[labels[base]], labels[base], path=path, fmt=fmt, first_line=k0 + 2)

    def strings(base: str) -> list[str]:
        return df[labels[base]].fillna("").astype(str).str.strip().tolist()

    def scale(base: str, table: dict, what: str) -> float:
        unit = units[base].lower()
        if unit not in table:
            raise ReaderError(
                f"column {labels[base]!r}: unit {units[base]!r} is not a {what} unit this "
                f"reader knows ({', '.join(table)})",
                path=path,
                format=fmt,
            )
        return table[unit]

    meta: dict = {"instrument": "Neware", "measurement": "cycling"}
    # time
    t = None
    total = next((b for b in _TIME_TOTAL if b in labels), None)
    if total is not None:
        t = durations_to_seconds(strings(total))
        if t is None:
            t = num(total) * (3600.0 if units[total].lower() in ("h", "hr") else 1.0)
        meta["time_source"] = labels[total]
    else:
        stamp = next((b for b in _TIME_STAMP if b in labels), None)
        parsed = timestamps_to_seconds(strings(stamp)) if stamp else None
        if parsed is None:
            raise ReaderError(
                f"no total-time or date column (found {list(df.columns)[:12]}...); export "
                "'Cumulative Time' or 'Total Time'",
                path=path,
                format=fmt,
            )
        t = parsed[0]
        meta["time_source"] = f"{labels[stamp]} (date stamps, {parsed[1]}), seconds since row 1"
    check_time(path, fmt, t)
    i_base = next((b for b in ("current", "cur") if b in labels), None)
    if i_base is None or "voltage" not in labels:
        raise ReaderError(
            f"missing current or voltage column (found {list(df.columns)[:12]}...)",
            path=path,
            format=fmt,
        )
    current = num(i_base) * scale(i_base, _CURRENT, "current")
    voltage = num("voltage") * scale("voltage", _VOLTAGE, "voltage")
    step_type = None
    st_base = next((b for b in ("step type", "status", "step name") if b in labels), None)
    if st_base is not None:
        step_type = np.array(strings(st_base), dtype=str)
    if step_type is not None and not np.any(current < 0):
        # unsigned export: the step type names the discharge steps
        dis = np.char.find(np.char.lower(step_type), "dchg") >= 0
        dis |= np.char.find(np.char.lower(step_type), "discharge") >= 0
        current = np.where(dis, -np.abs(current), current)
        meta["current_sign_source"] = f"{labels[st_base]} (discharge steps made negative)"
    extra: dict = {}
    c_base = next((b for b in ("cycle index", "cycle id", "cycle") if b in labels), None)
    s_base = next((b for b in ("step index", "step id", "step") if b in labels), None)
    step = num(s_base) if s_base else None
    chg = next((b for b in ("chg. cap.", "capacitance_chg") if b in labels), None)
    dchg = next((b for b in ("dchg. cap.", "capacitance_dchg") if b in labels), None)
    cap_base = "capacity" if "capacity" in labels else None
    if chg and dchg:
        qc = num(chg) * scale(chg, _CAPACITY, "capacity")
        qd = num(dchg) * scale(dchg, _CAPACITY, "capacity")
        q = np.cumsum(_increments(qc, step) - _increments(qd, step))
        extra["charge"] = (q, "mAh", f"cumulative charge from {labels[chg]} and {labels[dchg]}")
    elif cap_base:
        cap = np.abs(num(cap_base) * scale(cap_base, _CAPACITY, "capacity"))
        q = np.cumsum(np.sign(current) * _increments(cap, step))
        extra["charge"] = (q, "mAh", f"cumulative charge from {labels[cap_base]} (signed by I)")
    if cap_base:
        cap = num(cap_base) * scale(cap_base, _CAPACITY, "capacity")
        extra["step_capacity"] = (cap, "mAh", labels[cap_base])
        if "spec. cap." in labels and units["spec. cap."].lower() == "mah/g":
            spec = num("spec. cap.")
            ok = np.isfinite(spec) & (spec > 0) & np.isfinite(cap) & (np.abs(cap) > 0)
            if ok.any():
                k = np.flatnonzero(ok)[np.argmax(np.abs(cap[ok]))]
                meta["active_mass_mg"] = float(abs(cap[k]) / spec[k] * 1e3)
                meta["active_mass_source"] = (
                    f"{labels[cap_base]} / {labels['spec. cap.']} (the mass entered in BTS)"
                )
    if c_base:
        extra["cycle"] = (num(c_base), "dimensionless", labels[c_base])
    if step is not None:
        extra["step"] = (step, "dimensionless", labels[s_base])
    if step_type is not None:
        extra["step_name"] = (step_type, "dimensionless", labels[st_base])
    return cycling_dataset(
        time_s=t,
        voltage_V=voltage,
        current_mA=current,
        extra=extra,
        metadata=meta,
        original={"preamble": lines[:k0], "columns": [str(c) for c in df.columns]},
    )
