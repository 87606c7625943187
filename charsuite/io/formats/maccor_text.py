"""Maccor text exports (``.txt``, ``.0NN``), several layouts.

Maccor writes a free header (``Today's Date ...`` or ``Name: ... Channel: ...``), then a
tab-separated column line starting with ``Rec`` and data rows (decimal point or comma).
Columns are found by name:

========================================== =============================================
Maccor column (layouts seen)               charsuite
========================================== =============================================
``Test (Sec)``; ``TestTime`` as            ``time`` (s). A bare numeric ``TestTime``
``Nd hh:mm:ss.ff``                         has no stated unit: ``DPt Time`` (date) is used
``Amps``, ``mAmps``, ``Current [A]``       ``current`` (mA); sign from ``State``/``Md``
                                           (C = charge +, D = discharge −)
``Volts``, ``Voltage [V]``                 ``voltage`` (V) (see note on mV)
``Amp-hr``, ``mAmp-hr``, ``Cap. [Ah]``     capacity (unsigned, restarts when it drops) →
                                           ``charge`` (cumulative signed mAh)
``Cyc#``, ``Cycle C``; ``Step``            ``cycle``; ``step``
========================================== =============================================

Note: in exports whose current and capacity columns are milli-prefixed, a ``Volts``
column with values above 100 is taken as millivolts (``metadata["voltage_unit"]``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats._echem_util import check_time, cycling_dataset, decode, read_bytes

SPEC = FormatSpec(
    name="maccor-text",
    technique="echem",
    extensions=(".txt", ".csv"),
    description="Maccor text export (Rec#, Cyc#, Step, TestTime, Amp-hr, Amps, Volts, State)",
    priority=55,
)
_DHMS = re.compile(r"^\s*(\d+)d\s+(\d+):(\d+):(\d+(?:[.,]\d*)?)\s*$")


def _col_line(lines: list[str]) -> int | None:
    for k, line in enumerate(lines[:60]):
        cells = [c.strip() for c in line.split("\t")]
        if not cells or not cells[0].startswith("Rec"):
            continue
        joined = " ".join(cells)
        if ("Cyc" in joined) and ("Amp" in joined or "Current" in joined) and "Volt" in joined:
            return k
    return None


def can_read(path: Path, head: bytes) -> bool:
    """A tab-separated Maccor column line (Rec…, Cyc…, Amps/Current, Volts) near the top."""
    if b"\x00" in head:
        return False
    return _col_line(head.decode("latin-1").splitlines()) is not None


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


def _dhms(values: list[str]) -> np.ndarray | None:
    out = np.empty(len(values))
    for k, s in enumerate(values):
        m = _DHMS.match(s)
        if not m:
            return None
        d, h, mi, sec = m.groups()
        out[k] = int(d) * 86400 + int(h) * 3600 + int(mi) * 60 + float(sec.replace(",", "."))
    return out


def read(path: Path, *, lazy: bool = False):
    """Read a Maccor text export (see the module docstring).

    Raises
    ------
    ReaderError
        No column line; no time, current or voltage column; rows of the wrong width;
        time running backwards.
    """
    from datetime import datetime

    path = Path(path)
    fmt = SPEC.name
    lines = decode(read_bytes(path, fmt)).splitlines()
    k0 = _col_line(lines)
    if k0 is None:
        raise ReaderError(
            "no Maccor column line (Rec#, Cyc#, Amps, Volts...); export the data as text "
            "with these columns",
            path=path,
            format=fmt,
        )
    names = [c.strip() for c in lines[k0].split("\t")]
    while names and not names[-1]:
        names.pop()
    rows = []
    body = [k for k in range(k0 + 1, len(lines)) if lines[k].strip()]
    meta: dict = {"instrument": "Maccor", "measurement": "cycling"}
    for k in body:
        cells = lines[k].split("\t")
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
    cols = dict(zip(names, zip(*rows)))
    first = rows[0]
    comma = any(re.fullmatch(r"-?\d+,\d+", c.strip()) for c in first)

    def find(*candidates):
        return next((n for n in candidates if n in cols), None)

    meta["decimal_comma"] = comma
    t_col = find("Test (Sec)", "TestTime", "Test Time")
    t = None
    if t_col == "Test (Sec)":
        t = _num(list(cols[t_col]), comma)
    elif t_col is not None:
        t = _dhms(list(cols[t_col]))
    if t is None:
        d_col = find("DPt Time", "DPT Time")
        if d_col is None:
            raise ReaderError(
                f"no time column with a known unit (found {names}); export 'Test (Sec)'",
                path=path,
                format=fmt,
            )
        stamps = []
        for s in cols[d_col]:
            s = s.strip()
            for pattern in ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S"):
                try:
                    stamps.append(datetime.strptime(s, pattern).timestamp())
                    break
                except ValueError:
                    continue
            else:
                raise ReaderError(
                    f"time column {t_col!r} has no stated unit and {d_col!r} value {s!r} is "
                    "not a date this reader knows; export 'Test (Sec)'",
                    path=path,
                    format=fmt,
                )
        t = np.asarray(stamps) - stamps[0]
        meta["time_source"] = f"{d_col} (date stamps)"
    check_time(path, fmt, t)
    i_col = find("Amps", "Current [A]", "Current (A)", "mAmps", "Current [mA]")
    v_col = find("Volts", "Voltage [V]", "Voltage (V)")
    if i_col is None or v_col is None:
        raise ReaderError(
            f"missing current or voltage column (found {names})", path=path, format=fmt
        )
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
    q_col = find("Amp-hr", "mAmp-hr", "Cap. [Ah]", "Capacity (Ah)")
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
