"""Novonix HPC (high-precision charger) CSV exports.

Layout: ``[Summary]`` ... ``[End Summary]`` (``Key: value`` lines: channel, cell,
protocol, ``Mass (g)``, ``Capacity (Ah)``, ``Area (cm2)``, ``Started``, version), a
``[Protocol]`` block, then ``[Data]`` and a CSV table. Some exports wrap every data line
in double quotes (the whole line is one quoted field); those quotes are removed.

============================== =====================================================
Novonix column                 charsuite
============================== =====================================================
``Run Time (h)``               ``time`` (s)
``Current (A)``                ``current`` (mA); if the file never signs it, step
                               types 2, 9, 10 (discharge) are made negative
``Potential (V)``              ``voltage`` (V)
``Capacity (Ah)``              unsigned, accumulating over consecutive steps and
                               restarting (a drop) → ``charge`` (cumulative signed
                               mAh, increments signed by the current);
                               ``step_capacity`` (mAh) kept
``Cycle Number``               ``cycle``
``Step Number``, ``Step Type`` ``step``; ``step_type`` (0 open circuit, 1 CC
                               charge, 2 CC discharge, 7/8 CC-CV charge CC/CV part,
                               9/10 CC-CV discharge CC/CV part)
``Temperature (°C)``           ``temperature`` (degC)
============================== =====================================================

``metadata``: ``channel``, ``sample`` (Cell), ``active_mass_mg`` and
``electrode_area_cm2`` (as entered in the Novonix software; a value of exactly 1.000 g or
1.000 cm², what files with the field left unedited carry, is listed in
``metadata["placeholder_values"]`` and not used, so capacities are never silently
divided by a placeholder gram), ``battery_capacity_mAh``, ``start_time``, ``software``. The
per-cycle summary ``<name>_metadata.csv`` that Novonix writes beside the data is read
into ``original_metadata["summary_file"]`` (list of per-cycle dicts).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import (
    check_time,
    companion_metadata,
    cycling_dataset,
    decode,
    head_text,
    numeric_column,
    read_bytes,
    split_label,
    unit_factor,
)

SPEC = FormatSpec(
    name="novonix-csv",
    technique="echem",
    extensions=(".csv",),
    description="Novonix HPC CSV export ([Summary], [Protocol], [Data] sections)",
    priority=65,
)
_DISCHARGE_TYPES = (2, 9, 10)
_TIME = {"h": 3600.0, "min": 60.0, "s": 1.0}
_CURRENT = {"a": 1e3, "ma": 1.0}
_VOLTAGE = {"v": 1.0, "mv": 1e-3}
_CAPACITY = {"ah": 1e3, "mah": 1.0}


def can_read(path: Path, head: bytes) -> bool:
    """A ``[Summary]`` section naming Novonix, or a ``[Data]`` section with Novonix columns."""
    text = head_text(head)
    if "\x00" in text:
        return False
    start = text.lstrip()[:400]
    if start.startswith("[Summary]") and "novonix" in start.lower():
        return True
    return "[Data]" in text and "Run Time (h)" in text and "Potential (V)" in text


def _summary(lines: list[str]) -> dict:
    out: dict = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith("["):
            out[key.strip()] = value.strip()
    return out


def _sections(lines: list[str]) -> tuple[list[str], list[str]]:
    """Lines of the ``[Summary]`` and ``[Protocol]`` sections above ``[Data]``."""
    summary_lines, protocol = [], []
    section = None
    for line in lines:
        s = line.strip().strip('"').strip()
        if s in ("[Summary]", "[Protocol]"):
            section = s
            continue
        if s in ("[End Summary]", "[End Protocol]"):
            section = None
            continue
        if section == "[Summary]":
            summary_lines.append(s)
        elif section == "[Protocol]":
            protocol.append(s)
    return summary_lines, protocol


def _table_lines(lines: list[str]) -> list[str]:
    table = []
    for line in lines:
        s = line.strip()
        if len(s) >= 2 and s[0] == '"' and s[-1] == '"' and s.count('"') == 2:
            s = s[1:-1]  # the whole line quoted as one field
        if s:
            table.append(s)
    return table


def _summary_metadata(summary: dict, meta: dict) -> dict:
    """Mass, area, capacity, channel, sample, software and start time from [Summary]."""
    import pandas as pd

    out: dict = {}

    def number(key: str) -> float | None:
        try:
            return float(summary[key])
        except (KeyError, ValueError):
            return None

    for key, name, factor in (
        ("Mass (g)", "active_mass_mg", 1e3),
        ("Area (cm2)", "electrode_area_cm2", 1.0),
        ("Capacity (Ah)", "battery_capacity_mAh", 1e3),
    ):
        value = number(key)
        if value is not None and value == 1.0 and key != "Capacity (Ah)":
            # exactly 1 g / 1 cm² is what files with the field left unedited carry; using
            # it would silently turn mAh into "mAh/g": recorded, not applied
            out.setdefault("placeholder_values", list(meta.get("placeholder_values", [])))
            out["placeholder_values"].append(f"{key}: {summary[key]}")
        elif value is not None and value > 0:
            out[name] = value * factor
    for key, name in (("Channel", "channel"), ("Cell", "sample"), ("Version", "software")):
        if summary.get(key):
            out[name] = summary[key]
    with contextlib.suppress(ValueError, TypeError):
        out["start_time"] = pd.to_datetime(
            summary.get("Started", ""), format="%Y-%m-%d %I:%M:%S %p"
        ).isoformat()
    return out


def read(path: Path, *, lazy: bool = False):
    """Read a Novonix CSV export (see the module docstring).

    Raises
    ------
    ReaderError
        No ``[Data]`` table, missing time/current/potential, unknown units, non-numeric
        values, time running backwards.
    """
    import pandas as pd

    path = Path(path)
    fmt = SPEC.name
    lines = decode(read_bytes(path, fmt)).splitlines()
    try:
        k_data = next(k for k, ln in enumerate(lines) if ln.strip().strip('"') == "[Data]")
    except StopIteration:
        raise ReaderError(
            "no [Data] section; export the full data file from the Novonix software",
            path=path,
            format=fmt,
        ) from None
    summary_lines, protocol = _sections(lines[:k_data])
    summary = _summary(summary_lines)
    table = _table_lines(lines[k_data + 1 :])
    if len(table) < 2:
        raise ReaderError("no data rows below [Data]", path=path, format=fmt)
    try:
        df = pd.read_csv(io.StringIO("\n".join(table)))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise ReaderError(
            f"the [Data] table is not readable ({err})", path=path, format=fmt
        ) from None
    labels: dict[str, str] = {}
    units: dict[str, str] = {}
    for col in df.columns:
        base, unit = split_label(str(col))
        labels.setdefault(base, str(col))
        units.setdefault(base, unit)

    def num(base: str) -> np.ndarray:
        return numeric_column(df[labels[base]], labels[base], path=path, fmt=fmt, first_line=1)

    def scale(base: str, table: dict, what: str) -> float:
        return unit_factor(units[base], table, column=labels[base], what=what, path=path, fmt=fmt)

    missing = [b for b in ("run time", "current", "potential") if b not in labels]
    if missing:
        raise ReaderError(
            f"missing column(s) {missing} in the [Data] table (found {list(df.columns)[:12]})",
            path=path,
            format=fmt,
        )
    t = num("run time") * scale("run time", _TIME, "time")
    check_time(path, fmt, t)
    current = num("current") * scale("current", _CURRENT, "current")
    voltage = num("potential") * scale("potential", _VOLTAGE, "voltage")
    meta: dict = {"instrument": "Novonix", "measurement": "cycling"}
    step_type = num("step type") if "step type" in labels else None
    if step_type is not None and not np.any(current < 0):
        dis = np.isin(step_type, _DISCHARGE_TYPES)
        current = np.where(dis, -np.abs(current), current)
        meta["current_sign_source"] = "Step Type 2, 9, 10 (discharge) made negative"
    extra: dict = {}
    if "capacity" in labels:
        cap = np.abs(num("capacity") * scale("capacity", _CAPACITY, "capacity"))
        d = np.diff(np.nan_to_num(cap), prepend=0.0)
        reset = d < 0  # the capacity restarted
        d[reset] = np.nan_to_num(cap)[reset]
        extra["charge"] = (
            np.cumsum(np.sign(current) * d),
            "mAh",
            "cumulative charge from the Novonix capacity (increments signed by the current)",
        )
        extra["step_capacity"] = (cap, "mAh", labels["capacity"])
    if "cycle number" in labels:
        extra["cycle"] = (num("cycle number"), "dimensionless", labels["cycle number"])
    if "step number" in labels:
        extra["step"] = (num("step number"), "dimensionless", labels["step number"])
    if step_type is not None:
        extra["step_type"] = (step_type, "dimensionless", labels["step type"])
    if "temperature" in labels and units["temperature"].endswith("C"):
        extra["temperature"] = (num("temperature"), "degC", labels["temperature"])

    meta.update(_summary_metadata(summary, meta))
    original: dict = {"summary": summary, "protocol": protocol, "columns": list(df.columns)}
    side = companion_metadata(path)
    if side is not None:
        original["summary_file"] = [side] if isinstance(side, dict) else side
    return cycling_dataset(
        time_s=t,
        voltage_V=voltage,
        current_mA=current,
        extra=extra,
        metadata=meta,
        original=original,
    )
