"""Arbin cycler CSV exports (MITS Pro ``Channel`` sheet saved as CSV; BEEP-style files).

Columns are found by name, with or without a unit suffix: ``Test_Time`` / ``Test_Time(s)``
(s), ``Current`` / ``Current(A)`` (A → mA), ``Voltage`` / ``Voltage(V)``,
``Charge_Capacity`` and ``Discharge_Capacity`` (Ah; Arbin accumulates each within a
cycle and resets them when the cycle index changes), ``Cycle_Index``, ``Step_Index``.
``charge`` (cumulative signed mAh) is rebuilt from the per-cycle capacity columns, so
capacities per cycle reproduce Arbin's own. Positive current charges.

A ``<name>_Metadata.csv`` beside the file (BEEP layout) is read into
``original_metadata``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats._echem_util import check_time, cycling_dataset, decode, read_bytes

SPEC = FormatSpec(
    name="arbin-csv",
    technique="echem",
    extensions=(".csv",),
    description="Arbin cycler CSV export (Data_Point, Test_Time, Current, Voltage, capacities)",
    priority=60,
)
_UNIT = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


def can_read(path: Path, head: bytes) -> bool:
    """First line names Arbin columns."""
    first = head.split(b"\n", 1)[0].decode("latin-1")
    names = {_UNIT.sub(r"\1", c.strip()) for c in first.split(",")}
    return {"Data_Point", "Test_Time", "Current", "Voltage", "Cycle_Index"} <= names


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
    scale_i = {"A": 1e3, "mA": 1.0, "": 1e3}.get(units.get("Current", ""))
    if scale_i is None:
        raise ReaderError(
            f"current unit {units['Current']!r} not understood", path=path, format=fmt
        )
    t = cols["Test_Time"]
    check_time(path, fmt, t)
    cycle = cols.get("Cycle_Index")
    if cycle is not None and not np.all(np.isfinite(cycle)):
        cycle = None  # empty Cycle_Index (some exports): capacities reset is then seen by value
    extra = {}
    if "Charge_Capacity" in cols and "Discharge_Capacity" in cols:
        sq = {"Ah": 1e3, "mAh": 1.0, "": 1e3}.get(units.get("Charge_Capacity", ""), 1e3)
        q = _cumulative(cols["Charge_Capacity"], cols["Discharge_Capacity"], cycle) * sq
        extra["charge"] = (q, "mAh", "cumulative charge from Arbin charge/discharge capacities")
        extra["charge_capacity"] = (cols["Charge_Capacity"] * sq, "mAh", "Arbin Charge_Capacity")
        extra["discharge_capacity"] = (
            cols["Discharge_Capacity"] * sq,
            "mAh",
            "Arbin Discharge_Capacity",
        )
    if cycle is not None:
        extra["cycle"] = (cycle, "dimensionless", "Arbin Cycle_Index")
    if "Step_Index" in cols:
        extra["step"] = (cols["Step_Index"], "dimensionless", "Arbin Step_Index")
    meta = {"instrument": "Arbin", "measurement": "cycling", **meta}
    return cycling_dataset(
        time_s=t,
        voltage_V=cols["Voltage"],
        current_mA=cols["Current"] * scale_i,
        extra=extra,
        metadata=meta,
        original=original,
    )


def read(path: Path, *, lazy: bool = False):
    """Read an Arbin CSV export (see the module docstring).

    Raises
    ------
    ReaderError
        Missing Test_Time/Current/Voltage, non-numeric values, time running backwards.
    """
    import io

    import pandas as pd

    path = Path(path)
    fmt = SPEC.name
    text = decode(read_bytes(path, fmt))
    try:
        df = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise ReaderError(f"not a readable CSV table ({err})", path=path, format=fmt) from None
    cols, units = {}, {}
    for name in df.columns:
        m = _UNIT.match(str(name).strip())
        base, unit = (m.group(1), m.group(2)) if m else (str(name).strip(), "")
        col = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)
        cols[base], units[base] = col, unit
    for need in ("Test_Time", "Current", "Voltage"):
        if (
            need in cols
            and df[next(c for c in df.columns if str(c).startswith(need))].dtype.kind not in "fiu"
        ):
            raise ReaderError(f"column {need!r} holds non-numeric values", path=path, format=fmt)
    original: dict = {"columns": [str(c) for c in df.columns]}
    side = path.with_name(path.stem + "_Metadata.csv")
    if side.is_file():
        try:
            m = pd.read_csv(side)
            original["metadata_file"] = {str(k): str(v) for k, v in m.iloc[0].items()}
        except Exception:  # a broken side file must not stop reading the data
            original["metadata_file"] = "unreadable"
    return arbin_dataset(cols, units, path=path, fmt=fmt, meta={}, original=original)
