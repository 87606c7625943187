"""Maccor text exports (``.txt``, ``.0NN``), several layouts.

Maccor writes a free header (``Today's Date ...`` or ``Name: ... Channel: ...``), then a
column line starting with ``Rec`` and data rows: tab-separated (decimal point or comma),
or comma-separated in the ``.csv`` export (``Rec,Cycle C,Step,Test Time (sec),...``).
Columns are found by name:

========================================== =============================================
Maccor column (layouts seen)               charsuite
========================================== =============================================
``Test (Sec)``, ``Test Time (sec)``;      ``time`` (s). A bare numeric ``TestTime``
``TestTime`` as ``Nd hh:mm:ss.ff`` or      has no stated unit: ``DPt Time`` (date) is used
``hh:mm:ss``
``Amps``, ``mAmps``, ``Current [A]``,      ``current`` (mA); sign from ``State``/``Md``
``Current`` (no unit: A assumed)           (C = charge +, D = discharge −)
``Volts``, ``Voltage [V]``, ``Voltage``    ``voltage`` (V) (see note on mV)
``Amp-hr``, ``mAmp-hr``, ``Cap. [Ah]``,    capacity (unsigned, restarts when it drops) →
``Capacity`` (no unit: Ah assumed)         ``charge`` (cumulative signed mAh)
``Cyc#``, ``Cycle C``; ``Step``            ``cycle``; ``step``
========================================== =============================================

Note: in exports whose current and capacity columns are milli-prefixed, a ``Volts``
column with values above 100 is taken as millivolts (``metadata["voltage_unit"]``).
Columns without a unit in their name use Maccor's defaults (A, V, Ah); this assumption
is recorded in ``metadata["assumed_units"]``.
"""

from __future__ import annotations

import re
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
    read_bytes,
    timestamps_to_seconds,
)

SPEC = FormatSpec(
    name="maccor-text",
    technique="echem",
    extensions=(".txt", ".csv"),
    description="Maccor text export (Rec#, Cyc#, Step, TestTime, Amp-hr, Amps, Volts, State)",
    priority=55,
)
_TEST_TIME = re.compile(r"^test\s*time\s*\((sec|s|min|hr|h)\)$", re.IGNORECASE)
_TIME_SCALE = {"sec": 1.0, "s": 1.0, "min": 60.0, "hr": 3600.0, "h": 3600.0}


def _col_line(lines: list[str]) -> tuple[int, str] | None:
    """(index, separator) of the Maccor column line among the first lines."""
    for k, line in enumerate(lines[:60]):
        for sep in ("\t", ","):
            cells = [c.strip() for c in line.split(sep)]
            if len(cells) < 4 or not cells[0].startswith("Rec"):
                continue
            joined = " ".join(cells)
            if "Cyc" in joined and ("Amp" in joined or "Current" in joined) and "Volt" in joined:
                return k, sep
    return None


def can_read(path: Path, head: bytes) -> bool:
    """A Maccor column line (Rec…, Cyc…, Amps/Current, Volts) near the top."""
    text = head_text(head)
    if "\x00" in text:
        return False
    return _col_line(text.splitlines()) is not None


def _num(values: list[str], comma: bool) -> np.ndarray:
    arr = np.char.strip(np.asarray(values, dtype=str))
    if comma:
        arr = np.char.replace(arr, ",", ".")
    try:
        return arr.astype(float)
    except ValueError:
        pass
    out = np.empty(len(values))
    for k, s in enumerate(values):
        s = s.strip()
        if comma:
            s = s.replace(",", ".")
        try:
            out[k] = float(s) if s and s != "N/A" else np.nan
        except ValueError:
            out[k] = np.nan
    return out


def _rows(lines, k0: int, sep: str, names: list, meta: dict, *, path: Path, fmt: str):
    """Data rows cut to the column count (an incomplete last line is dropped, noted)."""
    rows = []
    body = [k for k in range(k0 + 1, len(lines)) if lines[k].strip()]
    for k in body:
        cells = lines[k].split(sep)
        if len(cells) < len(names) and k == body[-1] and len(body) > 1:
            meta["dropped_incomplete_last_line"] = k + 1  # export cut while writing
            break
        if len(cells) < len(names):
            raise ReaderError(
                f"line {k + 1} has {len(cells)} fields, the column line {len(names)}; truncated?",
                path=path,
                format=fmt,
            )
        rows.append(cells[: len(names)])
    if not rows:
        raise ReaderError("no data rows after the column line", path=path, format=fmt)
    return rows


def _time(cols: dict, names: list, comma: bool, meta: dict, *, path: Path, fmt: str):
    """Seconds from ``Test (Sec)``, a ``Test Time (unit)`` column, a duration or stamps."""

    def find(*candidates):
        return next((n for n in candidates if n in cols), None)

    t_col = find("Test (Sec)", "TestTime", "Test Time")
    unit_col = next((n for n in names if _TEST_TIME.match(n)), None)
    if t_col == "Test (Sec)":
        return _num(list(cols[t_col]), comma)
    if unit_col is not None:  # "Test Time (sec)" (.csv export), "(min)", "(hr)"
        scale = _TIME_SCALE[_TEST_TIME.match(unit_col).group(1).lower()]
        return _num(list(cols[unit_col]), comma) * scale
    t = durations_to_seconds(list(cols[t_col])) if t_col is not None else None
    if t is not None:
        return t
    d_col = find("DPt Time", "DPT Time")
    if d_col is None:
        raise ReaderError(
            f"no time column with a known unit (found {names}); export 'Test (Sec)'",
            path=path,
            format=fmt,
        )
    parsed = timestamps_to_seconds(cols[d_col])
    if parsed is None:
        bad = next((v.strip() for v in cols[d_col] if v.strip()), "")
        raise ReaderError(
            f"time column {t_col!r} has no stated unit and {d_col!r} value {bad!r} is "
            "not a date this reader knows; export 'Test (Sec)'",
            path=path,
            format=fmt,
        )
    meta["time_source"] = f"{d_col} (date stamps, {parsed[1]})"
    return parsed[0]


def read(path: Path, *, lazy: bool = False):
    """Read a Maccor text export (see the module docstring).

    Raises
    ------
    ReaderError
        No column line; no time, current or voltage column; rows of the wrong width;
        time running backwards.
    """
    path = Path(path)
    fmt = SPEC.name
    lines = decode(read_bytes(path, fmt)).splitlines()
    found = _col_line(lines)
    if found is None:
        raise ReaderError(
            "no Maccor column line (Rec#, Cyc#, Amps, Volts...); export the data as text "
            "with these columns",
            path=path,
            format=fmt,
        )
    k0, sep = found
    names = [c.strip() for c in lines[k0].split(sep)]
    while names and not names[-1]:
        names.pop()
    meta: dict = {"instrument": "Maccor", "measurement": "cycling"}
    rows = _rows(lines, k0, sep, names, meta, path=path, fmt=fmt)
    cols = dict(zip(names, zip(*rows)))
    first = rows[0]
    comma = sep != "," and any(re.fullmatch(r"-?\d+,\d+", c.strip()) for c in first)

    def find(*candidates):
        return next((n for n in candidates if n in cols), None)

    meta["decimal_comma"] = comma
    assumed = []
    t = _time(cols, names, comma, meta, path=path, fmt=fmt)
    check_time(path, fmt, t)
    i_col = find("Amps", "Current [A]", "Current (A)", "mAmps", "Current [mA]", "Current")
    v_col = find("Volts", "Voltage [V]", "Voltage (V)", "Voltage")
    if i_col is None or v_col is None:
        raise ReaderError(
            f"missing current or voltage column (found {names})", path=path, format=fmt
        )
    assumed += [f"{c}: {u}" for c, u in ((i_col, "A"), (v_col, "V")) if c in ("Current", "Voltage")]
    milli = i_col.startswith("mA") or "[mA]" in i_col
    current = _num(list(cols[i_col]), comma) * (1.0 if milli else 1e3)
    voltage = _num(list(cols[v_col]), comma)
    meta["voltage_unit"] = "V"
    if milli and np.nanmedian(np.abs(voltage)) > 100:
        voltage = voltage * 1e-3
        meta["voltage_unit"] = "mV (inferred: milli-prefixed export with Volts > 100)"
    s_col = find("State", "Md")
    if s_col is not None:
        state = np.array([s.strip().upper()[:1] for s in cols[s_col]])
        current = np.where((state == "D") & (current > 0), -current, current)
        current = np.where((state == "C") & (current < 0), -current, current)
    extra = {}
    q_col = find("Amp-hr", "mAmp-hr", "Cap. [Ah]", "Capacity (Ah)", "Capacity")
    if q_col == "Capacity":
        assumed.append("Capacity: Ah")
    if assumed:
        meta["assumed_units"] = assumed  # Maccor defaults for columns named without a unit
    step_col = find("Step")
    step = _num(list(cols[step_col]), comma) if step_col else None
    if q_col is not None:
        cap = np.abs(_num(list(cols[q_col]), comma)) * (1.0 if q_col.startswith("mA") else 1e3)
        cap = np.nan_to_num(cap)
        # the capacity runs on through consecutive steps of one direction (CC → CV) and
        # restarts when the direction changes: a drop marks a restart
        d = np.diff(cap, prepend=0.0)
        reset = d < 0
        d[reset] = cap[reset]
        extra["charge"] = (
            np.cumsum(np.sign(current) * d),
            "mAh",
            "cumulative charge from the step capacity",
        )
        extra["step_capacity"] = (cap, "mAh", f"Maccor {q_col} (step capacity)")
    c_col = find("Cyc#", "Cycle C", "Cycle")
    if c_col is not None:
        extra["cycle"] = (_num(list(cols[c_col]), comma), "dimensionless", c_col)
    if step is not None:
        extra["step"] = (step, "dimensionless", "Maccor step")
    return cycling_dataset(
        time_s=t,
        voltage_V=voltage,
        current_mA=current,
        extra=extra,
        metadata=meta,
        original={"header": lines[:k0], "columns": names},
    )
