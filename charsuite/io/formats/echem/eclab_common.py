"""EC-Lab columns → charsuite Dataset, shared by the ``.mpt`` and ``.mpr`` readers.

Both readers turn a file into ``values`` (EC-Lab column name → float array) plus
metadata; this module decides what the data are and maps the columns:

* **impedance** — every row is an impedance point (``freq/Hz`` > 0): a spectrum Dataset on
  dim ``frequency``. Rows at f = 0 *before* the first impedance point (the technique's
  initial wait, recorded as E and I only) are not impedance points: they are left out of
  the spectrum and counted in ``metadata["non_impedance_rows"]``.
* **mixed** — impedance points and other rows interleaved (Modulo Bat, GCPL with PEIS/GEIS
  blocks, sequences with loops): a time series on dim ``record`` that keeps every row, with
  ``technique`` (per row: the ``ctrl_type`` of its ``Ns`` from the settings header, else
  ``"impedance"``/``"other"``), ``frequency`` (Hz, NaN off impedance), ``z_real``/``z_imag``
  (Ω, NaN off impedance) and ``sweep`` (−1 off impedance). ``charsuite.echem.split_sweeps``
  returns its spectra.
* **cycling** — no impedance point: a time series (see :mod:`.biologic_mpt`).

Sweep numbering is EC-Lab's: ``z cycle`` (Modulo Bat) or ``cycle number`` of the impedance
rows (PEIS/GEIS count from 1); without either, a new sweep starts where the frequency turns
back (counted from 0). ``metadata["sweep_numbering"]`` says which.

Impedance from ``Re(Z)/Ohm`` and ``-Im(Z)/Ohm``, or — when a file stores only the modulus
and phase (GCPL/Modulo Bat ``.mpr``) — Z = |Z|·exp(jφ) from ``|Z|/Ohm`` and
``Phase(Z)/deg`` (EC-Lab's phase is negative for capacitive behaviour).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io.formats.echem.common import (
    add_extra_columns,
    check_time,
    cycling_dataset,
    eis_dataset,
)

_IMPEDANCE_TECHNIQUES = ("impedance spectroscopy", "peis", "geis", "ir compensation")
_VOLTAGE = ("Ewe/V", "<Ewe>/V", "Ecell/V", "Ewe-Ece/V", "<Ecell>/V")
_CURRENT = ("I/mA", "<I>/mA")


def ctrl_types(header_lines: list[str]) -> list[str]:
    """Technique of each sequence ``Ns`` from the ``ctrl_type`` settings row (Modulo Bat)."""
    for line in header_lines:
        if line.startswith("ctrl_type"):
            return line[len("ctrl_type") :].split()
    return []


def _pick(values: dict, names) -> str | None:
    return next((n for n in names if n in values), None)


def impedance(values: dict, *, path: Path, fmt: str) -> tuple[np.ndarray, set] | None:
    """Complex Z (Ω, Z″ < 0 capacitive) and the columns used, or None without impedance."""
    re_col, im_col = _pick(values, ("Re(Z)/Ohm",)), _pick(values, ("-Im(Z)/Ohm", "Im(Z)/Ohm"))
    if re_col is not None and im_col is not None:
        sign = -1.0 if im_col.startswith("-") else 1.0
        return values[re_col] + 1j * sign * values[im_col], {re_col, im_col}
    if "|Z|/Ohm" in values and "Phase(Z)/deg" in values:
        z = values["|Z|/Ohm"] * np.exp(1j * np.deg2rad(values["Phase(Z)/deg"]))
        return z, {"|Z|/Ohm", "Phase(Z)/deg"}
    if "freq/Hz" in values:
        raise ReaderError(
            f"frequency column without Re(Z)/Ohm and -Im(Z)/Ohm, or |Z|/Ohm and Phase(Z)/deg "
            f"(found {sorted(values)}); re-export with the impedance columns",
            path=path,
            format=fmt,
        )
    return None


def _sweeps(values: dict, rows: np.ndarray, freq: np.ndarray) -> tuple[np.ndarray, str]:
    for col, text in (
        ("z cycle", "EC-Lab 'z cycle'"),
        ("cycle number", "EC-Lab 'cycle number'"),
    ):
        if col in values and np.all(np.isfinite(values[col][rows])):
            return values[col][rows].astype(int), text
    f = freq[rows]
    step = np.sign(np.diff(f))
    main = np.sign(np.nansum(step)) or -1.0
    sweep = np.concatenate([[0], np.cumsum(step == -main)]) if f.size > 1 else np.zeros(f.size)
    return sweep.astype(int), "a new sweep where the frequency turns back (from 0)"


def classify(values: dict, meta: dict) -> str:
    """``"impedance"``, ``"mixed"`` or ``"cycling"`` (see the module docstring)."""
    f = values.get("freq/Hz")
    if f is None:
        return "cycling"
    imp = np.isfinite(f) & (f > 0)
    if imp.all():
        return "impedance"
    if not imp.any():
        return "cycling"
    technique = str(meta.get("technique", "")).lower()
    leading_only = not np.any(~imp[int(np.argmax(imp)) :])
    single = any(k in technique for k in _IMPEDANCE_TECHNIQUES) or not technique
    if leading_only and single and "time/s" in values:
        return "impedance"
    return "mixed"


def spectrum_dataset(values: dict, *, meta: dict, original: dict, path: Path, fmt: str):
    """Impedance Dataset of the rows with f > 0 (leading f = 0 rows counted, left out)."""
    f = values["freq/Hz"]
    rows = np.flatnonzero(np.isfinite(f) & (f > 0))
    z, used = impedance(values, path=path, fmt=fmt)
    sweep, numbering = _sweeps(values, rows, f)
    if rows.size < f.size:
        meta["non_impedance_rows"] = int(f.size - rows.size)
        meta["non_impedance_rows_note"] = (
            "rows at f = 0 before the first impedance point (the technique's initial wait: "
            "E and I only) are not part of the spectrum"
        )
    used |= {"freq/Hz"}
    extra: dict = {}
    add_extra_columns({k: v[rows] for k, v in values.items()}, used, extra)
    extra.pop("sweep", None)
    meta["measurement"] = "impedance"
    meta["sweep_numbering"] = numbering
    return eis_dataset(
        frequency=f[rows], z=z[rows], extra=extra, metadata=meta, original=original, sweep=sweep
    )


def _row_techniques(values: dict, imp: np.ndarray, ctrl: list[str]) -> np.ndarray:
    out = np.where(imp, "impedance", "other").astype(object)
    ns = values.get("Ns")
    if ctrl and ns is not None and np.all(np.isfinite(ns)):
        idx = ns.astype(int)
        known = (idx >= 0) & (idx < len(ctrl))
        out[known] = np.asarray(ctrl, dtype=object)[idx[known]]
    return out.astype(str)


def time_series_columns(values: dict, meta: dict, *, path: Path, fmt: str) -> tuple[str, ...]:
    """(time, voltage, current) column names; the current may be derived (see readers)."""
    t_col = _pick(values, ("time/s",))
    v_col = _pick(values, _VOLTAGE)
    i_col = _pick(values, _CURRENT)
    if i_col is None and _pick(values, ("I/A", "<I>/A")) is not None:  # exports in amperes
        amp = _pick(values, ("I/A", "<I>/A"))
        values["I/mA"], i_col = values.pop(amp) * 1e3, "I/mA"
        meta["current_source"] = f"{amp} × 1000"
    dq_col = _pick(values, ("dq/mA.h", "dQ/mA.h"))
    if i_col is None and t_col is not None and dq_col is not None:
        # stored without a current column (GCPL .mpr): the charge step over its duration
        t = values[t_col]
        dt = np.diff(t, prepend=t[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            values["I/mA"] = np.where(dt > 0, values[dq_col] * 3600.0 / dt, 0.0)
        i_col = "I/mA"
        meta["current_source"] = f"{dq_col} ÷ Δt (no current column stored)"
    if i_col is None and t_col is not None and meta.get("open_circuit_ok", True):
        values["I/mA"], i_col = np.zeros_like(values[t_col]), "I/mA"
        meta["current_source"] = "none stored (open circuit): 0"
    missing = [n for n, c in (("time/s", t_col), ("Ewe/V", v_col), ("I/mA", i_col)) if c is None]
    if missing:
        raise ReaderError(
            f"missing column(s) {missing}; found {sorted(values)}. Export the data from EC-Lab "
            "with these columns (Export as text → select variables)",
            path=path,
            format=fmt,
        )
    meta.pop("open_circuit_ok", None)
    return t_col, v_col, i_col


def _counters(values: dict, extra: dict, used: set) -> None:
    for col, var, unit, long in (
        ("(Q-Qo)/mA.h", "charge", "mAh", "cumulative charge (Q-Qo)"),
        ("cycle number", "cycle", "dimensionless", "EC-Lab cycle number"),
        ("Ns", "step", "dimensionless", "EC-Lab sequence number Ns"),
        ("half cycle", "half_cycle", "dimensionless", "EC-Lab half cycle"),
        ("Q charge/discharge/mA.h", "q_charge_discharge", "mAh", "EC-Lab Q charge/discharge"),
    ):
        if col in values:
            extra[var] = (values[col], unit, long)
            used.add(col)
    if "charge" not in extra and "(Q-Qo)/C" in values:
        extra["charge"] = (values["(Q-Qo)/C"] / 3.6, "mAh", "cumulative charge (Q-Qo), from C")
        used.add("(Q-Qo)/C")
    dq_col = _pick(values, ("dq/mA.h", "dQ/mA.h"))
    if "charge" not in extra and dq_col is not None:
        q = np.cumsum(np.nan_to_num(values[dq_col]))
        extra["charge"] = (q, "mAh", f"cumulative charge, running sum of {dq_col}")
    if "cycle" not in extra and "half cycle" in values:
        extra["cycle"] = (
            np.floor(values["half cycle"] / 2),
            "dimensionless",
            "half cycle // 2 (EC-Lab cycle number)",
        )


def series_dataset(
    values: dict,
    *,
    meta: dict,
    original: dict,
    path: Path,
    fmt: str,
    ctrl: list[str] | None = None,
    line_no=None,
):
    """Time series of every row (cycling, or mixed with impedance blocks)."""
    t_col, v_col, i_col = time_series_columns(values, meta, path=path, fmt=fmt)
    check_time(path, fmt, values[t_col], line_no)
    used = {t_col, v_col, i_col}
    extra: dict = {}
    _counters(values, extra, used)
    if "freq/Hz" in values:
        f = values["freq/Hz"]
        imp = np.isfinite(f) & (f > 0)
        z, zcols = impedance(values, path=path, fmt=fmt)
        sweep = np.full(f.size, -1)
        rows = np.flatnonzero(imp)
        sweep[rows], numbering = _sweeps(values, rows, f)
        nan = np.full(f.size, np.nan)
        techniques = _row_techniques(values, imp, ctrl or [])
        extra["frequency"] = (np.where(imp, f, nan), "Hz", "frequency (impedance rows)")
        extra["z_real"] = (np.where(imp, z.real, nan), "ohm", "Z' (impedance rows)")
        extra["z_imag"] = (
            np.where(imp, z.imag, nan),
            "ohm",
            "Z'' (impedance rows; < 0 capacitive)",
        )
        extra["sweep"] = (sweep, "dimensionless", f"impedance sweep ({numbering}); -1 elsewhere")
        extra["technique"] = (techniques, "dimensionless", "EC-Lab technique of the row")
        used |= zcols | {"freq/Hz"}
        meta["measurement"] = "mixed"
        meta["techniques"] = list(dict.fromkeys(techniques.tolist()))
        meta["sweep_numbering"] = numbering
        meta["impedance_rows"] = int(imp.sum())
    else:
        meta["measurement"] = "cycling"
    add_extra_columns(values, used, extra)
    return cycling_dataset(
        time_s=values[t_col],
        voltage_V=values[v_col],
        current_mA=values[i_col],
        extra=extra,
        metadata=meta,
        original=original,
    )


def eclab_dataset(values: dict, *, meta: dict, original: dict, path: Path, fmt: str, **kw):
    """The Dataset for an EC-Lab file's columns (impedance, mixed or cycling)."""
    kind = classify(values, meta)
    if kind == "impedance":
        return spectrum_dataset(values, meta=meta, original=original, path=path, fmt=fmt)
    if kind == "cycling":
        values = {k: v for k, v in values.items() if k != "freq/Hz"}
    return series_dataset(values, meta=meta, original=original, path=path, fmt=fmt, **kw)
