"""Arbin cycler CSV exports (MITS Pro ``Channel`` sheet saved as CSV; BEEP-style files).

Columns are found by name, whatever the spelling of the MITS Pro version: underscores or
spaces (``Test_Time(s)``, ``Test Time (s)``), a unit in parentheses or brackets with or
without a space (``Current(A)``, ``Current (A)``, ``Current [mA]``) or no unit at all
(BEEP: ``Test_Time``, ``Current``; the Arbin defaults s, A, V, Ah are then assumed):

================================== ==================================================
Arbin column                       charsuite
================================== ==================================================
``Test_Time`` (s, min or h; also   ``time`` (s). Without it, ``Date_Time``/``DateTime``
``d.hh:mm:ss`` text)               (date strings or unix seconds) relative to row 1
``Current`` (A, mA, µA)            ``current`` (mA)
``Voltage`` (V, mV)                ``voltage`` (V)
``Charge_Capacity``,               per-cycle capacities (Ah, mAh, As, mAs, C) →
``Discharge_Capacity``             ``charge_capacity``/``discharge_capacity`` (mAh) and
                                   ``charge`` (cumulative signed mAh)
``Cycle_Index``, ``Step_Index``    ``cycle``, ``step``
================================== ==================================================

Arbin accumulates each capacity within a cycle and resets it when the cycle index
changes; ``charge`` is rebuilt from them, so capacities per cycle reproduce Arbin's own.
Positive current charges. A unit the reader does not know raises a ReaderError naming
the column (never a silent guess).

Separators: comma; semicolon with decimal comma (European Excel "CSV" saves); tab.
Text: UTF-8 (with or without BOM), UTF-16 with BOM, latin-1. A ``<name>_Metadata.csv``
beside the file (BEEP layout) is read into ``original_metadata``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._contain import companion
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import (
    check_time,
    cycling_dataset,
    decode,
    durations_to_seconds,
    head_text,
    read_bytes,
    timestamps_to_seconds,
)

SPEC = FormatSpec(
    name="arbin-csv",
    technique="echem",
    extensions=(".csv",),
    description="Arbin cycler CSV export (Data_Point, Test_Time, Current, Voltage, capacities)",
    priority=60,
)
_UNIT = re.compile(r"^(.*?)\s*[(\[]([^()\[\]]*)[)\]]\s*$")
# spelling-independent key (lower case, spaces/underscores folded) → Arbin's own name
_CANONICAL = {
    "data_point": "Data_Point",
    "test_time": "Test_Time",
    "date_time": "Date_Time",
    "datetime": "Date_Time",
    "step_time": "Step_Time",
    "cycle_index": "Cycle_Index",
    "step_index": "Step_Index",
    "current": "Current",
    "voltage": "Voltage",
    "charge_capacity": "Charge_Capacity",
    "discharge_capacity": "Discharge_Capacity",
}
_CURRENT_TO_MA = {"a": 1e3, "ma": 1.0, "ua": 1e-3, "µa": 1e-3, "μa": 1e-3, "": 1e3}
_CAPACITY_TO_MAH = {
    "ah": 1e3,
    "mah": 1.0,
    "uah": 1e-3,
    "µah": 1e-3,
    "as": 1e3 / 3600,
    "c": 1e3 / 3600,
    "mas": 1 / 3600,
    "mc": 1 / 3600,
    "": 1e3,
}
_VOLTAGE_TO_V = {"v": 1.0, "mv": 1e-3, "": 1.0}
_TIME_TO_S = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "": 1.0}


def _split_name(label: str) -> tuple[str, str]:
    """(canonical or stripped base name, unit) of a column label."""
    label = str(label).strip().strip('"').strip()
    m = _UNIT.match(label)
    base, unit = (m.group(1), m.group(2).strip()) if m else (label, "")
    key = re.sub(r"[\s_]+", "_", base.strip()).lower()
    return _CANONICAL.get(key, base.strip()), unit


def _separator(line: str) -> str:
    counts = {sep: line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=counts.get)


def can_read(path: Path, head: bytes) -> bool:
    """First line names Arbin columns (any MITS Pro spelling)."""
    text = head_text(head)
    if "\x00" in text:
        return False
    first = text.split("\n", 1)[0].strip("\r")
    names = {_split_name(c)[0] for c in first.split(_separator(first))}
    return {"Current", "Voltage", "Cycle_Index"} <= names and bool(
        names & {"Test_Time", "Data_Point"}
    )


def _cumulative(cc: np.ndarray, dc: np.ndarray, cycle: np.ndarray | None) -> np.ndarray:
    """Signed cumulative charge (same unit) from per-cycle charge/discharge capacities."""

    def inc(x):
        d = np.diff(x, prepend=0.0)
        reset = d < 0
        if cycle is not None:
            reset |= np.diff(cycle, prepend=cycle[0]) != 0
        d[reset] = x[reset]
        return d

    return np.cumsum(inc(np.nan_to_num(cc)) - inc(np.nan_to_num(dc)))


def _scale(table: dict, units: dict, name: str, *, path, fmt, what: str) -> float:
    unit = units.get(name, "")
    scale = table.get(unit.lower().replace(".", "").replace("·", "").replace("-", ""))
    if scale is None:
        known = ", ".join(k for k in table if k) or "none"
        raise ReaderError(
            f"column {name!r} has unit {unit!r}, which this reader does not know for "
            f"{what} (known: {known}); re-export with one of these units",
            path=path,
            format=fmt,
        )
    return scale


def arbin_dataset(cols: dict[str, np.ndarray], units: dict[str, str], *, path, fmt, meta, original):
    """Build the cycling Dataset from Arbin columns (names without unit suffix)."""
    missing = [c for c in ("Test_Time", "Current", "Voltage") if c not in cols]
    if missing:
        raise ReaderError(
            f"missing Arbin column(s) {missing}; found {sorted(cols)}. Export the channel "
            "data with these columns",
            path=path,
            format=fmt,
        )
    kw = {"path": path, "fmt": fmt}
    scale_i = _scale(_CURRENT_TO_MA, units, "Current", what="a current", **kw)
    scale_v = _scale(_VOLTAGE_TO_V, units, "Voltage", what="a voltage", **kw)
    scale_t = _scale(_TIME_TO_S, units, "Test_Time", what="a time", **kw)
    t = cols["Test_Time"] * scale_t
    check_time(path, fmt, t)
    cycle = cols.get("Cycle_Index")
    if cycle is not None and not np.all(np.isfinite(cycle)):
        cycle = None  # empty Cycle_Index (some exports): capacities reset is then seen by value
    extra = {}
    if "Charge_Capacity" in cols and "Discharge_Capacity" in cols:
        sq = _scale(_CAPACITY_TO_MAH, units, "Charge_Capacity", what="a capacity", **kw)
        sd = _scale(_CAPACITY_TO_MAH, units, "Discharge_Capacity", what="a capacity", **kw)
        cc, dc = cols["Charge_Capacity"] * sq, cols["Discharge_Capacity"] * sd
        q = _cumulative(cc, dc, cycle)
        extra["charge"] = (q, "mAh", "cumulative charge from Arbin charge/discharge capacities")
        extra["charge_capacity"] = (cc, "mAh", "Arbin Charge_Capacity")
        extra["discharge_capacity"] = (dc, "mAh", "Arbin Discharge_Capacity")
    if cycle is not None:
        extra["cycle"] = (cycle, "dimensionless", "Arbin Cycle_Index")
    if "Step_Index" in cols:
        extra["step"] = (cols["Step_Index"], "dimensionless", "Arbin Step_Index")
    meta = {"instrument": "Arbin", "measurement": "cycling", **meta}
    return cycling_dataset(
        time_s=t,
        voltage_V=cols["Voltage"] * scale_v,
        current_mA=cols["Current"] * scale_i,
        extra=extra,
        metadata=meta,
        original=original,
    )


def _time_from_text(raw, name: str, *, path, fmt) -> tuple[np.ndarray, str]:
    """Seconds from a text time column: durations, then date-time strings."""
    values = ["" if v != v else str(v) for v in raw]  # NaN → ''
    dur = durations_to_seconds(values)
    if dur is not None:
        return dur, f"{name} as [d.]hh:mm:ss text"
    stamps = timestamps_to_seconds(values)
    if stamps is not None:
        return stamps[0], f"{name} as date-time strings ({stamps[1]}), seconds since row 1"
    bad = next((v for v in values if v.strip()), "")
    raise ReaderError(
        f"column {name!r} holds {bad[:30]!r}: not seconds, a duration or a date-time this "
        "reader knows; re-export with the time in seconds",
        path=path,
        format=fmt,
    )


def read(path: Path, *, lazy: bool = False):
    """Read an Arbin CSV export (see the module docstring).

    Raises
    ------
    ReaderError
        Missing Test_Time/Current/Voltage, an unknown unit, non-numeric values, time
        running backwards.
    """
    import io

    import pandas as pd

    path = Path(path)
    fmt = SPEC.name
    text = decode(read_bytes(path, fmt))
    first = text.split("\n", 1)[0]
    sep = _separator(first)
    body = text.split("\n", 1)[1] if "\n" in text else ""
    # decimal comma only with ';' or tab separators (a ',' separator rules it out)
    decimal = "," if sep != "," and re.search(r"\d,\d", body[:20000]) else "."
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise ReaderError(f"not a readable CSV table ({err})", path=path, format=fmt) from None
    cols, units, labels = {}, {}, {}
    meta: dict = {"decimal_comma": decimal == ","}
    for name in df.columns:
        base, unit = _split_name(name)
        if base in cols:
            continue  # a repeated column (e.g. two Aux channels named alike): first wins
        labels[base], units[base] = str(name), unit
        col = df[name]
        if col.dtype.kind in "fiub":
            cols[base] = col.to_numpy(dtype=float)
            continue
        num = pd.to_numeric(col, errors="coerce")
        bad = col.notna() & num.isna() & (col.astype(str).str.strip() != "")
        if base in ("Current", "Voltage", "Test_Time") and bool(bad.any()):
            if base == "Test_Time":
                cols[base], meta["time_source"] = _time_from_text(
                    col, str(name), path=path, fmt=fmt
                )
                units[base] = "s"
                continue
            k = int(np.argmax(bad.to_numpy()))
            raise ReaderError(
                f"line {k + 2}: column {str(name)!r} holds {str(col.iloc[k])[:30]!r}, not a "
                "number; fix that row or re-export the data",
                path=path,
                format=fmt,
            )
        if not bool(bad.any()):
            cols[base] = num.to_numpy(dtype=float)
        elif base == "Date_Time":
            cols[base] = col.to_numpy()  # kept as text for the time fallback below
    if "Test_Time" not in cols and "Date_Time" in cols:
        raw = cols.pop("Date_Time")
        if np.asarray(raw).dtype.kind == "f":  # unix seconds (BEEP "DateTime")
            t = np.asarray(raw, dtype=float) - float(np.asarray(raw, dtype=float)[0])
            meta["time_source"] = f"{labels['Date_Time']} (unix seconds) relative to row 1"
        else:
            t, meta["time_source"] = _time_from_text(raw, labels["Date_Time"], path=path, fmt=fmt)
        cols["Test_Time"], units["Test_Time"] = t, "s"
    original: dict = {"columns": [str(c) for c in df.columns]}
    side = companion(path, path.with_name(path.stem + "_Metadata.csv"))
    if side is not None:
        try:
            m = pd.read_csv(side)
            original["metadata_file"] = {str(k): str(v) for k, v in m.iloc[0].items()}
        except Exception:  # a broken side file must not stop reading the data
            original["metadata_file"] = "unreadable"
    return arbin_dataset(cols, units, path=path, fmt=fmt, meta=meta, original=original)
