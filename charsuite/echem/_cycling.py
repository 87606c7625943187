"""Galvanostatic cycling: segmentation, per-cycle capacities, CE, retention, cycle life.

Input is the cycling Dataset every echem reader returns (dim ``record``; ``time`` in s,
``voltage`` in V, ``current`` in mA; optional ``charge`` (cumulative, mAh) and ``cycle``
(the instrument's cycle index)).

Conventions (recorded in every result's ``definitions``)
---------------------------------------------------------
* Current sign: positive current charges the working electrode (oxidation; for a cathode
  vs Li this is delithiation). ``charge_sign=-1`` flips it.
* Half cycles are maximal runs of points whose current has the same sign outside a dead
  band (|I| ≤ dead band = rest). Points of a CC and a following CV step in the same
  direction belong to one half cycle; records inside the dead band that follow a half
  cycle and still pass current in its direction (the decaying end of a CV hold) count
  towards its capacity and energy, so the dead band never drops charge.
* Cycle numbering: the instrument's cycle column when present (``cycles="auto"``), else
  a new cycle starts with each half cycle in ``first_direction`` (a leading half cycle of
  the other direction is cycle 0).
* Charge passed per point: differences of the instrument's cumulative charge column when
  present (reproduces the instrument), else I_k·(t_k − t_{k−1}) (the recorded current is
  the average over the preceding interval, as Squidstat and EC-Lab record it).
* Coulombic efficiency: output over input of one cycle,
  CE = Q_discharge / Q_charge × 100 % when charge comes first (cathode half cells),
  CE = Q_charge / Q_discharge × 100 % when ``first_direction="discharge"``.
* Retention_n = Q_dis,n / Q_dis,ref × 100 % with a stated reference cycle.
* Cycle life at 80 %: the first cycle after the reference whose retention is below the
  threshold and stays below it for ``persistence`` consecutive cycles; ``None`` with
  ``censored=True`` when not reached.
* Average loss per cycle: linear, (1 − Q_dis,last/Q_dis,ref) / (n_last − n_ref) × 100 %;
  the geometric rate 1 − (Q_dis,last/Q_dis,ref)^(1/(n_last − n_ref)) is also given.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from charsuite.composition import film_mass
from charsuite.echem._counters import instrument_capacities
from charsuite.exceptions import CharsuiteWarning, DataError, ParameterError
from charsuite.model import Result, add_history, provenance

__all__ = [
    "CycleSummary",
    "c_rate",
    "concat_runs",
    "cycle_summary",
    "segment",
    "voltage_curves",
]

_CURRENT_SCALE = {"mA": 1.0, "A": 1e3, "uA": 1e-3, "µA": 1e-3, "nA": 1e-6}
_CHARGE_SCALE = {"mAh": 1.0, "mA.h": 1.0, "Ah": 1e3, "A.h": 1e3, "uAh": 1e-3, "µAh": 1e-3}


def _scaled(ds, name: str, table: dict[str, float]) -> np.ndarray:
    var = ds[name]
    units = var.attrs.get("units")
    if units not in table:
        raise DataError(
            f"variable {name!r} has units {units!r}; expected one of {sorted(table)}. "
            "Convert it or re-read the file with a charsuite reader"
        )
    return np.asarray(var.values, dtype=float) * table[units]


def _arrays(ds) -> dict[str, Any]:
    """Extract time (s), voltage (V), current (mA), charge (mAh) and cycle arrays."""
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise DataError(f"expected a cycling Dataset, got {type(ds).__name__}")
    missing = [v for v in ("voltage", "current") if v not in ds.variables]
    if "time" not in ds.variables:
        missing.append("time")
    if missing:
        raise DataError(
            f"cycling data lack {', '.join(missing)}; expected variables time (s), "
            "voltage (V) and current (mA) on dim 'record' (found "
            f"{sorted(map(str, ds.variables))})"
        )
    t = _scaled(ds, "time", {"s": 1.0, "min": 60.0, "h": 3600.0})
    v = _scaled(ds, "voltage", {"V": 1.0, "mV": 1e-3})
    i = _scaled(ds, "current", _CURRENT_SCALE)
    out: dict[str, Any] = {"time": t, "voltage": v, "current": i, "charge": None, "cycle": None}
    if t.size < 2:
        raise DataError(f"only {t.size} records; need at least 2 to integrate the current")
    for name, arr in (("time", t), ("voltage", v), ("current", i)):
        bad = ~np.isfinite(arr)
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(
                f"{name} is NaN/inf at record {k} ({int(bad.sum())} records in all); "
                "remove those rows (e.g. ds.where(np.isfinite(ds.current), drop=True))"
            )
    if np.any(np.diff(t) < 0):
        k = int(np.argmax(np.diff(t) < 0)) + 1
        raise DataError(
            f"time is not monotonic: record {k} ({t[k]} s) comes after {t[k - 1]} s; "
            "sort the records or split the file where the clock was reset"
        )
    if "charge" in ds.variables:
        q = _scaled(ds, "charge", _CHARGE_SCALE)
        if np.all(np.isfinite(q)):
            out["charge"] = q
    if "cycle" in ds.variables:
        c = np.asarray(ds["cycle"].values, dtype=float)
        if np.all(np.isfinite(c)):
            out["cycle"] = c.astype(int)
    return out


def _dead_band(current: np.ndarray, dead_band_mA: float | None) -> float:
    if dead_band_mA is not None:
        if not dead_band_mA >= 0:
            raise ParameterError(f"dead_band_mA={dead_band_mA!r}: expected a number ≥ 0")
        return float(dead_band_mA)
    scale = float(np.percentile(np.abs(current), 95))
    return 0.01 * scale


def _check_choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ParameterError(f"{name}={value!r}: expected one of {allowed}")


def _charge_per_record(arr, integration: str, sign: np.ndarray) -> tuple[np.ndarray, str, int]:
    """Charge (mAh, signed) passed in the interval ending at each record.

    A cumulative charge column that restarts (EC-Lab ``(Q-Qo)`` at a loop or technique
    change, a counter reset by the cycler) falls back towards 0 against the current; such a
    record's charge is the column's new value (counted from the restart), not the jump.
    ``sign`` is the current's direction (+1, −1, 0) in charge terms × charge_sign.
    """
    t, i = arr["time"], arr["current"]
    if integration in ("auto", "charge_column") and arr["charge"] is not None:
        q = arr["charge"]
        dq = np.diff(q, prepend=q[0])
        prev = np.concatenate([[q[0]], q[:-1]])
        reset = (sign != 0) & (np.sign(dq) == -sign) & (np.abs(dq) > 0.5 * np.abs(prev))
        reset[0] = False
        dq[reset] = q[reset]
        used = "differences of the instrument's cumulative charge column"
        if reset.any():
            used += f" ({int(reset.sum())} counter restarts: the new value counts from 0)"
        return dq, used, int(reset.sum())
    if integration == "charge_column":
        raise DataError(
            "integration='charge_column' but the data have no cumulative 'charge' variable; "
            "use integration='rectangle' or 'trapezoid'"
        )
    if integration == "trapezoid":
        dq = np.concatenate([[0.0], 0.5 * (i[1:] + i[:-1]) * np.diff(t)]) / 3600.0
        return dq, "trapezoidal integral of the current over time", 0
    dq = np.concatenate([[0.0], i[1:] * np.diff(t)]) / 3600.0
    return dq, "I_k·(t_k − t_{k−1}) (current = average over the preceding interval)", 0


_VOLTAGE_WINDOW_V = (-10.0, 10.0)  # a single cell; outside it the column or its unit is wrong


def plausibility_warnings(arr: dict[str, Any], seg: dict[str, Any]) -> list[str]:
    """Loud checks of cycling data that would give plausible-looking wrong numbers.

    * voltages all zero, or outside ±10 V (a single cell; ×10³/×10⁶ unit slips);
    * the integrated current and the file's cumulative charge column disagree in sign or
      by more than a factor 2 in total charge passed (wrong current unit or sign).

    Returns the messages (each names the suspect column).
    """
    out = []
    v = arr["voltage"]
    if np.all(v == 0):
        out.append("column 'voltage' is 0 V in every record; the voltage was not recorded")
    elif np.nanmin(v) < _VOLTAGE_WINDOW_V[0] or np.nanmax(v) > _VOLTAGE_WINDOW_V[1]:
        out.append(
            f"column 'voltage' spans {np.nanmin(v):.4g}…{np.nanmax(v):.4g} V, outside the "
            f"physical window of one cell ({_VOLTAGE_WINDOW_V[0]:g}…{_VOLTAGE_WINDOW_V[1]:g} V); "
            "check its unit (mV, µV?)"
        )
    q = arr["charge"]
    if q is None:
        return out
    t, i = arr["time"], arr["current"]
    dt = np.diff(t, prepend=t[0])
    # records after a gap in the recording (a wait between loops) are left out: their
    # I·Δt is not charge the cell passed
    steady = dt <= 10 * max(float(np.median(dt[1:])), 0.0)
    dq_i = np.where(steady, i * dt, 0.0) / 3600.0
    dq_col = np.where(steady, seg["dq"], 0.0)
    a, b = float(np.sum(np.abs(dq_i))), float(np.sum(np.abs(dq_col)))
    if a > 0 and b > 0:
        ratio = b / a
        agree = float(np.sum(dq_i * dq_col))
        if agree < 0:
            out.append(
                "columns 'current' and 'charge' disagree in sign (the file's charge falls "
                "while the current is positive); check the current's sign convention"
            )
        elif not 0.5 < ratio < 2.0:
            out.append(
                f"the file's 'charge' column passes {ratio:.3g}× the charge of the integrated "
                "'current'; one of them is in the wrong unit"
            )
    return out


def _segment_arrays(
    arr: dict[str, Any],
    *,
    first_direction: str,
    charge_sign: int,
    dead_band_mA: float | None,
    cycles: str,
    integration: str,
    min_half_fraction: float = 0.02,
) -> dict[str, Any]:
    _check_choice("first_direction", first_direction, ("charge", "discharge"))
    _check_choice("charge_sign", charge_sign, (1, -1))
    _check_choice("cycles", cycles, ("auto", "instrument", "current"))
    _check_choice("integration", integration, ("auto", "charge_column", "rectangle", "trapezoid"))
    t, i = arr["time"], arr["current"]
    band = _dead_band(i, dead_band_mA)
    direction = np.where(i * charge_sign > band, 1, np.where(i * charge_sign < -band, -1, 0))
    dq, used, n_resets = _charge_per_record(arr, integration, direction * charge_sign)
    # half cycles: runs of equal non-zero direction (rests do not break a run)
    active = np.flatnonzero(direction != 0)
    half = np.full(t.size, -1, dtype=int)
    if active.size == 0:
        raise DataError(
            f"no record has |current| above the dead band ({band:.3g} mA); "
            "is this a rest/OCV file, or is the current column in the wrong unit?"
        )
    instrument = arr["cycle"]
    use_instrument = instrument is not None and cycles in ("auto", "instrument")
    if cycles == "instrument" and instrument is None:
        raise DataError("cycles='instrument' but the data have no 'cycle' variable")

    def runs(active):
        d_active = direction[active]
        new = np.ones(active.size, dtype=bool)
        new[1:] = d_active[1:] != d_active[:-1]
        if use_instrument:
            c_active = instrument[active]
            new[1:] |= c_active[1:] != c_active[:-1]
        return new, np.cumsum(new) - 1

    new, half_active = runs(active)
    # a run passing less than min_half_fraction of the median run's charge (a current
    # glitch at a step change, noise just outside the dead band) is rest, not a half cycle
    q_run = np.abs(np.bincount(half_active, weights=dq[active]))
    tiny = q_run < min_half_fraction * np.median(q_run)
    n_dropped = int(tiny.sum())
    if n_dropped and n_dropped < q_run.size:
        direction = direction.copy()
        direction[active[tiny[half_active]]] = 0
        active = np.flatnonzero(direction != 0)
        new, half_active = runs(active)
    half[active] = half_active
    n_half = int(half_active[-1]) + 1
    starts = active[new]
    half_dir = direction[starts]
    # cycle number of each half cycle
    first = 1 if first_direction == "charge" else -1
    if use_instrument:
        half_cycle_no = instrument[starts].astype(int)
        numbering = _INSTRUMENT_NUMBERING
    else:
        half_cycle_no = np.empty(n_half, dtype=int)
        cyc = 0 if half_dir[0] != first else 1
        for k in range(n_half):
            if k > 0 and half_dir[k] == first:
                cyc += 1
            half_cycle_no[k] = cyc
        numbering = (
            f"a new cycle starts with each {first_direction} half cycle "
            "(a leading half cycle of the other direction is cycle 0)"
        )
    # charge accounting: records inside the dead band that follow a half cycle and still
    # pass current in its direction (the decaying end of a CV hold) count towards its
    # capacity; true rests pass no charge, so nothing else changes
    last = np.maximum.accumulate(np.where(half >= 0, np.arange(t.size), -1))
    prev = np.where(last >= 0, half[np.maximum(last, 0)], -1)
    prev_dir = np.where(prev >= 0, half_dir[np.maximum(prev, 0)], 0)
    tail = (half < 0) & (prev >= 0) & (np.sign(i * charge_sign) == prev_dir)
    half_q = np.where(tail, prev, half)
    return {
        "direction": direction,
        "half": half,
        "half_q": half_q,
        "n_tail_records": int(tail.sum()),
        "dq": dq,
        "half_dir": half_dir,
        "half_cycle": half_cycle_no,
        "half_start": starts,
        "dead_band_mA": band,
        "dropped_runs": n_dropped,
        "integration": used,
        "counter_resets": n_resets,
        "numbering": numbering,
    }


def segment(
    ds,
    *,
    first_direction: str = "charge",
    charge_sign: int = 1,
    dead_band_mA: float | None = None,
    cycles: str = "auto",
    integration: str = "auto",
    min_half_cycle_fraction: float = 0.02,
):
    """Label every record with its half cycle, direction and cycle number.

    Parameters
    ----------
    ds : xarray.Dataset
        Cycling data (dim ``record``; ``time`` s, ``voltage`` V, ``current`` mA).
    first_direction : {"charge", "discharge"}
        Which half opens a cycle (cathode half cells: charge).
    charge_sign : {1, -1}
        Sign of the current while charging.
    dead_band_mA : float, optional
        |I| at or below this is rest. Default: 1 % of the 95th percentile of |I|.
    cycles : {"auto", "instrument", "current"}
        Use the instrument's cycle column when present (auto), always, or never.
    integration : {"auto", "charge_column", "rectangle", "trapezoid"}
        How the charge per record is obtained (see module notes).
    min_half_cycle_fraction : float
        Runs passing less than this fraction of the median run's charge (current glitches
        at step changes, noise just outside the dead band) are treated as rest.

    Returns
    -------
    xarray.Dataset
        ``ds`` plus ``direction`` (+1 charge, −1 discharge, 0 rest), ``half_cycle``
        (index, −1 for rest), ``cycle_number`` and ``dq`` (mAh, signed), with history.
    """
    arr = _arrays(ds)
    seg = _segment_arrays(
        arr,
        first_direction=first_direction,
        charge_sign=charge_sign,
        dead_band_mA=dead_band_mA,
        cycles=cycles,
        integration=integration,
        min_half_fraction=min_half_cycle_fraction,
    )
    cyc = np.where(seg["half"] >= 0, seg["half_cycle"][np.maximum(seg["half"], 0)], -1)
    out = ds.assign(
        direction=("record", seg["direction"], {"units": "dimensionless"}),
        half_cycle=("record", seg["half"], {"units": "dimensionless"}),
        cycle_number=("record", cyc, {"units": "dimensionless"}),
        dq=("record", seg["dq"], {"units": "mAh"}),
    )
    return add_history(
        out,
        "segment",
        function="charsuite.echem.segment",
        parameters={
            "first_direction": first_direction,
            "charge_sign": charge_sign,
            "dead_band_mA": seg["dead_band_mA"],
            "cycles": cycles,
            "integration": integration,
        },
    )


def c_rate(current_mA: float, *, capacity_mAh: float) -> float:
    """Return the C-rate |I| / C_ref (1/h) for a current and a stated reference capacity.

    Parameters
    ----------
    current_mA : float
        Current (mA); its sign is ignored.
    capacity_mAh : float
        Reference capacity (mAh) that defines 1C (theoretical or practical: state it).

    Returns
    -------
    float
        C-rate (1/h).

    Raises
    ------
    ParameterError
        If ``capacity_mAh`` is not positive.
    """
    if not capacity_mAh > 0:
        raise ParameterError(f"capacity_mAh={capacity_mAh!r}: expected a positive number")
    return abs(float(current_mA)) / float(capacity_mAh)


@dataclasses.dataclass(frozen=True)
class CycleSummary(Result):
    """Per-cycle capacities, efficiency, retention and cycle life.

    Attributes
    ----------
    file : str or None
        Source file of the data.
    mass_g, area_cm2, thickness_nm : float or None
        Normalisation inputs (mass given or density × thickness × area).
    cycles : list of dict
        One dict per cycle: ``cycle``, ``charge_mAh``, ``discharge_mAh``, ``charge_mAh_g``,
        ``discharge_mAh_g``, ``charge_uAh_cm2``, ``discharge_uAh_cm2``,
        ``discharge_uAh_cm2_um``, ``coulombic_efficiency_pct``, ``retention_pct``,
        ``cumulative_coulombic_efficiency_pct``, ``charge_energy_mWh``,
        ``discharge_energy_mWh``, ``charge_energy_Wh_kg``, ``discharge_energy_Wh_kg``,
        ``average_charge_voltage_V``, ``average_discharge_voltage_V``,
        ``voltage_hysteresis_V``, ``energy_efficiency_pct``,
        ``voltage_window``, ``v_min_V``, ``v_max_V``, ``charge_current_mA``,
        ``discharge_current_mA``, ``charge_c_rate``, ``discharge_c_rate``.
    retention : dict
        ``reference_cycle``, ``reference_discharge_mAh``, ``final_cycle``,
        ``final_retention_pct``, ``average_loss_per_cycle_pct``,
        ``geometric_loss_per_cycle_pct``, ``first_cycle_irreversible_mAh``.
    cycle_life_80 : dict
        ``cycle`` (None if not reached), ``censored``, ``threshold_pct``, ``persistence``.
    windows : list of dict
        With ``window_groups``: per voltage window the same retention/cycle-life keys.
    definitions : dict
        Every convention used, in words.
    history : list
    warnings : list of str
        Checks that failed (instrument vs integrated capacities above 0.5 %, implausible
        voltages, a charge column disagreeing with the current); also issued as warnings.
    """

    file: str | None
    mass_g: float | None
    area_cm2: float | None
    thickness_nm: float | None
    cycles: list
    retention: dict
    cycle_life_80: dict
    windows: list
    definitions: dict
    history: list
    warnings: list = dataclasses.field(default_factory=list)

    def column(self, key: str) -> np.ndarray:
        """Return one per-cycle quantity as a float array (NaN where undefined)."""
        return np.array(
            [np.nan if c.get(key) is None else c[key] for c in self.cycles], dtype=float
        )


def _window_label(lo: float, hi: float, resolution: float) -> str:
    lo_r = round(lo / resolution) * resolution
    hi_r = round(hi / resolution) * resolution
    digits = 1 if abs(resolution * 10 - round(resolution * 10)) < 1e-9 else 2
    return f"{lo_r:.{digits}f}–{hi_r:.{digits}f} V"


def _retention_block(
    cyc_no: np.ndarray,
    q_dis: np.ndarray,
    *,
    reference_cycle: int | None,
    threshold: float,
    persistence: int,
) -> tuple[dict, dict, np.ndarray]:
    valid = np.isfinite(q_dis) & (q_dis > 0)
    if not valid.any():
        empty = {
            "reference_cycle": None,
            "reference_discharge_mAh": None,
            "final_cycle": None,
            "final_retention_pct": None,
            "average_loss_per_cycle_pct": None,
            "geometric_loss_per_cycle_pct": None,
        }
        life = {
            "cycle": None,
            "censored": True,
            "threshold_pct": threshold * 100,
            "persistence": persistence,
        }
        return empty, life, np.full(q_dis.shape, np.nan)
    if reference_cycle is None:
        ref_idx = int(np.flatnonzero(valid)[0])
    else:
        hits = np.flatnonzero((cyc_no == reference_cycle) & valid)
        if hits.size == 0:
            raise ParameterError(
                f"reference_cycle={reference_cycle}: no such cycle with a discharge; cycles "
                f"with a discharge are {cyc_no[valid].tolist()[:10]}..."
            )
        ref_idx = int(hits[0])
    q_ref = q_dis[ref_idx]
    retention = q_dis / q_ref * 100.0
    after = np.flatnonzero(valid & (np.arange(q_dis.size) > ref_idx))
    life_cycle = None
    below = retention[after] < threshold * 100.0
    for k in range(after.size):
        window = below[k : k + persistence]
        if window.size == persistence and window.all():
            life_cycle = int(cyc_no[after[k]])
            break
    last_idx = int(after[-1]) if after.size else ref_idx
    n = cyc_no[last_idx] - cyc_no[ref_idx]
    ratio = q_dis[last_idx] / q_ref
    block = {
        "reference_cycle": int(cyc_no[ref_idx]),
        "reference_discharge_mAh": float(q_ref),
        "final_cycle": int(cyc_no[last_idx]),
        "final_retention_pct": float(ratio * 100),
        "average_loss_per_cycle_pct": float((1 - ratio) / n * 100) if n > 0 else None,
        "geometric_loss_per_cycle_pct": float((1 - ratio ** (1 / n)) * 100) if n > 0 else None,
    }
    life = {
        "cycle": life_cycle,
        "censored": life_cycle is None,
        "threshold_pct": threshold * 100,
        "persistence": persistence,
        "reference_cycle": int(cyc_no[ref_idx]),
        "last_cycle_observed": int(cyc_no[last_idx]),
    }
    return block, life, retention


@dataclasses.dataclass(frozen=True)
class _Normalisation:
    """Stage 1 of :func:`cycle_summary`: mass, area and 1C current, with their sources."""

    mass_g: float | None
    mass_source: str
    area_cm2: float | None
    one_c_mA: float | None


def _positive(name: str, value: float | None) -> None:
    if value is not None and not (np.isfinite(value) and value > 0):
        raise ParameterError(f"{name}={value!r}: expected a positive, finite number")


def _normalisation(
    meta: dict,
    *,
    mass_g,
    density_g_cm3,
    thickness_nm,
    area_cm2,
    one_c_mA,
    one_c_uA_cm2,
    nominal_capacity_mAh,
) -> _Normalisation:
    for name, value in (
        ("density_g_cm3", density_g_cm3),
        ("thickness_nm", thickness_nm),
        ("one_c_mA", one_c_mA),
        ("one_c_uA_cm2", one_c_uA_cm2),
        ("nominal_capacity_mAh", nominal_capacity_mAh),
    ):
        _positive(name, value)
    if area_cm2 is None and (meta.get("electrode_area_cm2") or 0) > 0:
        area_cm2 = float(meta["electrode_area_cm2"])
    if area_cm2 is not None and not (np.isfinite(area_cm2) and area_cm2 > 0):
        raise ParameterError(f"area_cm2={area_cm2!r}: expected a positive area (cm²)")
    mass_source = "given"
    if mass_g is None and density_g_cm3 is not None:
        if thickness_nm is None or area_cm2 is None:
            raise ParameterError(
                "density_g_cm3 given but thickness_nm or area_cm2 missing; the mass is "
                "density × thickness × area"
            )
        mass_g = float(
            film_mass(density_g_cm3=density_g_cm3, thickness_nm=thickness_nm, area_cm2=area_cm2)
        )
        mass_source = "density × thickness × area"
    elif mass_g is None and (meta.get("active_mass_mg") or 0) > 0:
        mass_g = float(meta["active_mass_mg"]) * 1e-3
        mass_source = "file metadata active_mass_mg"
    if mass_g is not None and not (np.isfinite(mass_g) and mass_g > 0):
        raise ParameterError(
            f"mass_g={mass_g!r}: expected a positive mass in g (0.790 mg = 0.00079 g); "
            "a zero mass cannot normalise capacities"
        )
    if one_c_mA is None and nominal_capacity_mAh is not None:
        one_c_mA = float(nominal_capacity_mAh)  # mAh delivered in 1 h
    if one_c_mA is None and one_c_uA_cm2 is not None:
        if area_cm2 is None:
            raise ParameterError("one_c_uA_cm2 needs area_cm2 (or the file's electrode area)")
        one_c_mA = one_c_uA_cm2 * 1e-3 * area_cm2
    return _Normalisation(mass_g, mass_source, area_cm2, one_c_mA)


@dataclasses.dataclass(frozen=True)
class _CycleTotals:
    """Stage 2 of :func:`cycle_summary`: integrated per-cycle sums (one entry per cycle)."""

    cycle: list
    n_ch: list
    n_di: list
    q_ch: list
    q_di: list
    e_ch: list
    e_di: list
    i_ch: list
    i_di: list
    v_lo: list
    v_hi: list


def _cycle_totals(arr: dict[str, Any], seg: dict[str, Any]) -> _CycleTotals:
    half, dq, v, i = seg["half"], seg["dq"], arr["voltage"], arr["current"]
    n_half = seg["half_dir"].size
    on = half >= 0
    hq = seg["half_q"]
    onq = hq >= 0
    q_half = np.abs(np.bincount(hq[onq], weights=dq[onq], minlength=n_half))
    # energy per half cycle: Σ V·|dq| (V × mAh = mWh)
    e_half = np.bincount(hq[onq], weights=v[onq] * np.abs(dq[onq]), minlength=n_half)
    cnt = np.bincount(half[on], minlength=n_half)
    i_half = np.bincount(half[on], weights=np.abs(i[on]), minlength=n_half) / np.maximum(cnt, 1)
    vmin = np.full(n_half, np.inf)
    vmax = np.full(n_half, -np.inf)
    np.minimum.at(vmin, half[on], v[on])
    np.maximum.at(vmax, half[on], v[on])
    cyc_ids, inv = np.unique(seg["half_cycle"], return_inverse=True)
    n_cyc = cyc_ids.size
    is_ch, is_di = seg["half_dir"] == 1, seg["half_dir"] == -1

    def per_cycle(values, mask):
        return np.bincount(inv[mask], weights=values[mask], minlength=n_cyc)

    w = cnt.astype(float)
    lo_all = np.full(n_cyc, np.inf)
    hi_all = np.full(n_cyc, -np.inf)
    np.minimum.at(lo_all, inv, vmin)
    np.maximum.at(hi_all, inv, vmax)
    # plain lists: the per-cycle rows are built in Python, and list indexing is ~10× faster
    # than numpy scalar access
    return _CycleTotals(
        cycle=cyc_ids.astype(int).tolist(),
        n_ch=np.bincount(inv[is_ch], minlength=n_cyc).tolist(),
        n_di=np.bincount(inv[is_di], minlength=n_cyc).tolist(),
        q_ch=per_cycle(q_half, is_ch).tolist(),
        q_di=per_cycle(q_half, is_di).tolist(),
        e_ch=per_cycle(e_half, is_ch).tolist(),
        e_di=per_cycle(e_half, is_di).tolist(),
        i_ch=(per_cycle(i_half * w, is_ch) / np.maximum(per_cycle(w, is_ch), 1)).tolist(),
        i_di=(per_cycle(i_half * w, is_di) / np.maximum(per_cycle(w, is_di), 1)).tolist(),
        v_lo=lo_all.tolist(),
        v_hi=hi_all.tolist(),
    )


def _base_row(tot: _CycleTotals, k: int, window_resolution_V: float) -> dict[str, Any]:
    """Integrated numbers of cycle ``k`` (capacities decided later)."""

    def opt(values, present):
        return values[k] if present[k] else None

    lo, hi = tot.v_lo[k], tot.v_hi[k]
    q_ch, q_di = opt(tot.q_ch, tot.n_ch), opt(tot.q_di, tot.n_di)
    return {
        "cycle": tot.cycle[k],
        "charge_mAh": q_ch,
        "discharge_mAh": q_di,
        "charge_mAh_integrated": q_ch,
        "discharge_mAh_integrated": q_di,
        "capacity_source": "integrated",
        "voltage_window": _window_label(lo, hi, window_resolution_V),
        "v_min_V": lo,
        "v_max_V": hi,
        "charge_energy_mWh": opt(tot.e_ch, tot.n_ch),
        "discharge_energy_mWh": opt(tot.e_di, tot.n_di),
        "charge_current_mA": opt(tot.i_ch, tot.n_ch),
        "discharge_current_mA": opt(tot.i_di, tot.n_di),
    }


def _g(x: float | None) -> str:
    return "none" if x is None else f"{x:.6g}"


def _rel_diff(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None if a is None and b is None else float("inf")
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def _apply_instrument(rows: list, inst, tolerance: float) -> list[str]:
    """Stage 3: replace capacities by the instrument's where it has them; return warnings."""
    if inst is None:
        return []
    notes = []
    known = {r["cycle"] for r in rows}
    for c in sorted((set(inst.charge) | set(inst.discharge)) - known):
        notes.append(
            f"cycle {c}: the instrument counts capacity ({inst.columns}) where the current "
            "shows no half cycle; not reported"
        )
    for r in rows:
        c = r["cycle"]
        if c not in inst.charge and c not in inst.discharge:
            continue
        r["charge_mAh"] = inst.charge.get(c)
        r["discharge_mAh"] = inst.discharge.get(c)
        r["capacity_source"] = "instrument"
        diffs = [
            d
            for d in (
                _rel_diff(r["charge_mAh"], r["charge_mAh_integrated"]),
                _rel_diff(r["discharge_mAh"], r["discharge_mAh_integrated"]),
            )
            if d is not None
        ]
        worst = max(diffs) if diffs else None
        r["instrument_vs_integrated_pct"] = (
            None if worst is None or not np.isfinite(worst) else worst * 100
        )
        if worst is not None and worst > tolerance:
            notes.append(
                f"cycle {c}: instrument capacities ({inst.columns}) charge "
                f"{_g(r['charge_mAh'])}, discharge {_g(r['discharge_mAh'])} mAh differ from "
                f"the integrated current ({_g(r['charge_mAh_integrated'])}, "
                f"{_g(r['discharge_mAh_integrated'])} mAh) by more than {tolerance * 100:g} %"
            )
    return notes


def _derived(row: dict, norm: _Normalisation, thickness_nm, first_direction: str) -> None:
    """Stage 4: CE, average voltages, energy efficiency and specific quantities of a row."""
    q_ch, q_di = row["charge_mAh"], row["discharge_mAh"]
    ce = None
    if q_ch and q_di and q_ch > 0 and q_di > 0:
        ce = q_di / q_ch * 100 if first_direction == "charge" else q_ch / q_di * 100
    row["coulombic_efficiency_pct"] = ce
    q_ch_int, q_di_int = row["charge_mAh_integrated"], row["discharge_mAh_integrated"]
    e_ch, e_di = row["charge_energy_mWh"], row["discharge_energy_mWh"]
    row["average_charge_voltage_V"] = e_ch / q_ch_int if (e_ch is not None and q_ch_int) else None
    row["average_discharge_voltage_V"] = (
        e_di / q_di_int if (e_di is not None and q_di_int) else None
    )
    if row["average_charge_voltage_V"] and row["average_discharge_voltage_V"]:
        row["voltage_hysteresis_V"] = (
            row["average_charge_voltage_V"] - row["average_discharge_voltage_V"]
        )
        e_in, e_out = (e_ch, e_di) if first_direction == "charge" else (e_di, e_ch)
        row["energy_efficiency_pct"] = e_out / e_in * 100
    else:
        row["voltage_hysteresis_V"] = row["energy_efficiency_pct"] = None
    mass_g, area = norm.mass_g, norm.area_cm2
    for key in ("charge", "discharge"):
        e = row[f"{key}_energy_mWh"]
        row[f"{key}_energy_Wh_kg"] = e / mass_g * 1e-3 if (e is not None and mass_g) else None
        q = row[f"{key}_mAh"]
        row[f"{key}_mAh_g"] = q / mass_g if (q is not None and mass_g) else None
        row[f"{key}_uAh_cm2"] = q * 1e3 / area if (q is not None and area) else None
        per_area = row[f"{key}_uAh_cm2"]
        row[f"{key}_uAh_cm2_um"] = (
            per_area / (thickness_nm * 1e-3) if (per_area is not None and thickness_nm) else None
        )
        cur = row[f"{key}_current_mA"]
        row[f"{key}_c_rate"] = cur / norm.one_c_mA if (cur is not None and norm.one_c_mA) else None


def _cumulative_ce(rows: list) -> None:
    # cumulative CE: product of the per-cycle efficiencies (fraction of charge kept so far)
    running = 1.0
    for r in rows:
        if r["coulombic_efficiency_pct"] is not None:
            running *= r["coulombic_efficiency_pct"] / 100
        r["cumulative_coulombic_efficiency_pct"] = running * 100


def _window_blocks(rows, cyc_no, q_dis, *, reference_cycle, threshold, persistence) -> list:
    labels = [r["voltage_window"] for r in rows]
    windows = []
    for label in dict.fromkeys(labels):
        idx = np.array([k for k, lab in enumerate(labels) if lab == label])
        ref = reference_cycle if reference_cycle in cyc_no[idx] else None
        block, wlife, wret = _retention_block(
            cyc_no[idx],
            q_dis[idx],
            reference_cycle=ref,
            threshold=threshold,
            persistence=persistence,
        )
        ces = np.array(
            [
                np.nan
                if rows[k]["coulombic_efficiency_pct"] is None
                else rows[k]["coulombic_efficiency_pct"]
                for k in idx
            ]
        )
        for k, value in zip(idx, wret):
            rows[k]["window_retention_pct"] = float(value) if np.isfinite(value) else None
        windows.append(
            {
                "voltage_window": label,
                "cycles": cyc_no[idx].tolist(),
                "mean_coulombic_efficiency_pct": float(np.nanmean(ces))
                if np.isfinite(ces).any()
                else None,
                **block,
                "cycle_life_80": wlife,
            }
        )
    return windows


def _definitions(seg, inst, norm, opts: dict, reference) -> dict:
    first_direction = opts["first_direction"]
    threshold, persistence = opts["threshold"], opts["persistence"]
    return {
        "current_sign": f"current × {opts['charge_sign']} > 0 is charge (oxidation of the "
        "working electrode)",
        "dead_band_mA": seg["dead_band_mA"],
        "half_cycle": (
            "maximal run of records with the same current sign outside the dead band; runs "
            f"passing < {100 * opts['min_half_cycle_fraction']:g} % of the median run's "
            f"charge are rest ({seg['dropped_runs']} found)"
        ),
        "cycle_numbering": seg["numbering"],
        "charge_per_record": seg["integration"],
        "capacity_source": (
            f"instrument: {inst.columns}"
            + (f" ({inst.ignored} counter restarts ignored)" if inst.ignored else "")
            + "; checked against the integrated current (charge_mAh_integrated); "
            "'integrated' where the instrument has no number"
            if inst is not None
            else "integrated (the data carry no per-cycle capacity counters)"
        ),
        "low_current_tail": (
            "records inside the dead band after a half cycle, with current in its direction, "
            f"count towards its capacity ({seg['n_tail_records']} records)"
        ),
        "coulombic_efficiency": (
            "Q_discharge / Q_charge × 100 % of the same cycle (charge first)"
            if first_direction == "charge"
            else "Q_charge / Q_discharge × 100 % of the same cycle (discharge first)"
        ),
        "retention": "Q_discharge,n / Q_discharge,ref × 100 %",
        "reference_cycle": reference,
        "cycle_life": (
            f"first cycle after the reference with retention < {threshold * 100:g} % that "
            f"stays below for {persistence} consecutive cycle(s); null if not reached"
        ),
        "average_loss_per_cycle": "(1 − Q_dis,last/Q_dis,ref)/(n_last − n_ref) × 100 % (linear)",
        "cumulative_coulombic_efficiency": "product of the per-cycle CE up to and including the cycle",
        "first_cycle_irreversible": "|Q_charge − Q_discharge| of the first complete cycle",
        "energy": "Σ V_k·|dq_k| over the half cycle (mWh), integrated; average voltage = "
        "energy / integrated capacity; energy efficiency = output / input energy × 100 %; "
        "hysteresis = ⟨V_ch⟩ − ⟨V_dis⟩",
        "mass": norm.mass_source
        if norm.mass_g is not None
        else "not given (no specific capacities)",
        "voltage_window": f"cycle min/max voltage rounded to {opts['window_resolution_V']:g} V",
        "c_rate": (
            f"mean |I| of the half cycle / {norm.one_c_mA:.6g} mA (1C)"
            if norm.one_c_mA
            else "not computed (give one_c_mA or one_c_uA_cm2)"
        ),
        "specific_units": "mAh/g (per active mass), µAh/cm² (per electrode area), "
        "µAh/(cm²·µm) (per area and film thickness)",
    }


_INSTRUMENT_NUMBERING = "instrument cycle column"
_INSTRUMENT_TOLERANCE = 0.005  # relative; instrument vs integrated capacities


@provenance("cycle_summary")
def cycle_summary(
    ds,
    *,
    mass_g: float | None = None,
    density_g_cm3: float | None = None,
    thickness_nm: float | None = None,
    area_cm2: float | None = None,
    first_direction: str = "charge",
    charge_sign: int = 1,
    dead_band_mA: float | None = None,
    cycles: str = "auto",
    integration: str = "auto",
    reference_cycle: int | None = None,
    threshold: float = 0.8,
    persistence: int = 3,
    window_groups: bool = False,
    window_resolution_V: float = 0.05,
    min_half_cycle_fraction: float = 0.02,
    one_c_mA: float | None = None,
    one_c_uA_cm2: float | None = None,
    nominal_capacity_mAh: float | None = None,
    capacities: str = "auto",
) -> CycleSummary:
    """Per-cycle charge/discharge capacity, CE, retention and cycle life.

    Capacities come from the instrument's own counters where the file has them
    (EC-Lab ``Q charge/discharge`` per ``half cycle``, Arbin ``Charge_Capacity`` /
    ``Discharge_Capacity`` per ``Cycle_Index``, Neware/Novonix step capacities; see
    :mod:`charsuite.echem._counters`), else from the integrated current. Each cycle says
    which (``capacity_source``) and carries the integrated numbers too
    (``charge_mAh_integrated``); a difference above 0.5 % is a warning.

    Parameters
    ----------
    ds : xarray.Dataset
        Cycling data from :func:`charsuite.io.read`.
    mass_g : float, optional
        Active mass (g). Else computed as density × thickness × area when those are
        given, else taken from ``ds.attrs["metadata"]["active_mass_mg"]``.
    density_g_cm3, thickness_nm, area_cm2 : float, optional
        Film density (g/cm³), thickness (nm) and electrode area (cm²). The area defaults to
        ``metadata["electrode_area_cm2"]``.
    first_direction, charge_sign, dead_band_mA, cycles, integration, min_half_cycle_fraction
        See :func:`segment`.
    reference_cycle : int, optional
        Cycle whose discharge capacity is 100 % retention (default: first cycle with a
        discharge; per window with ``window_groups``).
    threshold : float
        End-of-life retention fraction (0.8 = 80 %).
    persistence : int
        Consecutive cycles that must stay below the threshold (≥ 1).
    window_groups : bool
        Also report retention and cycle life per voltage window.
    window_resolution_V : float
        Voltage windows are the cycle's min/max voltage rounded to this (V).
    one_c_mA, one_c_uA_cm2 : float, optional
        The current defining 1C (mA), or its density (µA/cm², needs the area); gives
        ``charge_c_rate``/``discharge_c_rate``.
    nominal_capacity_mAh : float, optional
        Stated reference capacity (mAh): 1C = this capacity in one hour (used when no 1C
        current is given).
    capacities : {"auto", "integrated"}
        ``"auto"``: the instrument's counters where present; ``"integrated"``: always the
        integrated current.

    Returns
    -------
    CycleSummary

    Raises
    ------
    DataError
        Missing columns, NaN, non-monotonic time, no current-carrying records.
    ParameterError
        Zero, negative or non-finite mass/geometry, bad options.

    Warns
    -----
    CharsuiteWarning
        Instrument and integrated capacities differ by more than 0.5 %; implausible
        voltages; a charge column that disagrees with the current in sign or scale.

    References
    ----------
    .. [1] BEEP ``get_cycle_life`` (TRI-AMDD) for the cycles-to-80 % idea (here with an
       explicit reference cycle and persistence rule instead of a median of 40 cycles).

    Examples
    --------
    >>> import tempfile
    >>> from charsuite.datasets.echem import write_squidstat_cycling
    >>> from charsuite.io import read
    >>> truth = write_squidstat_cycling(tempfile.mkdtemp(), windows=((3.0, 4.3),),
    ...     cycles_per_window=2)
    >>> s = cycle_summary(read(truth["csv"]), mass_g=truth["mass_g"])
    >>> len(s.cycles), s.cycles[0]["capacity_source"]  # Squidstat CSVs have no counters
    (2, 'integrated')
    """
    arr = _arrays(ds)
    meta = dict(ds.attrs.get("metadata", {}))
    if persistence < 1 or int(persistence) != persistence:
        raise ParameterError(f"persistence={persistence!r}: expected an integer ≥ 1")
    if not 0 < threshold < 1:
        raise ParameterError(f"threshold={threshold!r}: expected a fraction in (0, 1)")
    _check_choice("capacities", capacities, ("auto", "integrated"))
    _positive("window_resolution_V", window_resolution_V)
    norm = _normalisation(
        meta,
        mass_g=mass_g,
        density_g_cm3=density_g_cm3,
        thickness_nm=thickness_nm,
        area_cm2=area_cm2,
        one_c_mA=one_c_mA,
        one_c_uA_cm2=one_c_uA_cm2,
        nominal_capacity_mAh=nominal_capacity_mAh,
    )
    seg = _segment_arrays(
        arr,
        first_direction=first_direction,
        charge_sign=charge_sign,
        dead_band_mA=dead_band_mA,
        cycles=cycles,
        integration=integration,
        min_half_fraction=min_half_cycle_fraction,
    )
    tot = _cycle_totals(arr, seg)
    rows = [_base_row(tot, k, window_resolution_V) for k in range(len(tot.cycle))]
    inst = None
    # the counters are per instrument cycle: they apply when the cycles are numbered so
    if capacities == "auto" and seg["numbering"] == _INSTRUMENT_NUMBERING:
        inst = instrument_capacities(
            ds, arr["current"], charge_sign=charge_sign, dead_band_mA=seg["dead_band_mA"]
        )
    notes = [
        *plausibility_warnings(arr, seg),
        *_apply_instrument(rows, inst, _INSTRUMENT_TOLERANCE),
    ]
    for r in rows:
        _derived(r, norm, thickness_nm, first_direction)
    cyc_no = np.array([r["cycle"] for r in rows])
    q_dis = np.array([np.nan if r["discharge_mAh"] is None else r["discharge_mAh"] for r in rows])
    retention, life, ret = _retention_block(
        cyc_no, q_dis, reference_cycle=reference_cycle, threshold=threshold, persistence=persistence
    )
    for r, value in zip(rows, ret):
        r["retention_pct"] = float(value) if np.isfinite(value) else None
    _cumulative_ce(rows)
    first = next((r for r in rows if r["charge_mAh"] and r["discharge_mAh"]), None)
    if first is not None:
        retention["first_cycle_irreversible_mAh"] = abs(
            first["charge_mAh"] - first["discharge_mAh"]
        )
    windows = []
    if window_groups:
        windows = _window_blocks(
            rows,
            cyc_no,
            q_dis,
            reference_cycle=reference_cycle,
            threshold=threshold,
            persistence=persistence,
        )
    opts = {
        "first_direction": first_direction,
        "charge_sign": charge_sign,
        "threshold": threshold,
        "persistence": persistence,
        "min_half_cycle_fraction": min_half_cycle_fraction,
        "window_resolution_V": window_resolution_V,
    }
    for note in notes:
        warnings.warn(note, CharsuiteWarning, stacklevel=3)
    return CycleSummary(
        file=ds.attrs.get("source_file"),
        mass_g=norm.mass_g,
        area_cm2=norm.area_cm2,
        thickness_nm=thickness_nm,
        cycles=rows,
        retention=retention,
        cycle_life_80=life,
        windows=windows,
        definitions=_definitions(seg, inst, norm, opts, retention["reference_cycle"]),
        history=[],
        warnings=notes,
    )


def voltage_curves(
    ds,
    *,
    cycles: Sequence[int] | None = None,
    first_direction: str = "charge",
    charge_sign: int = 1,
    dead_band_mA: float | None = None,
    cycles_from: str = "auto",
) -> list[dict[str, Any]]:
    """Voltage vs charge passed for each half cycle (for charge–discharge plots).

    Parameters
    ----------
    ds : xarray.Dataset
        Cycling data.
    cycles : sequence of int, optional
        Cycle numbers to return (default all).
    first_direction, charge_sign, dead_band_mA
        See :func:`segment`; ``cycles_from`` is its ``cycles`` option.

    Returns
    -------
    list of dict
        ``cycle``, ``direction`` ("charge"/"discharge"), ``capacity_mAh`` (array, from 0:
        the record before the half cycle opens it) and ``voltage_V`` (array), in time order.
    """
    arr = _arrays(ds)
    seg = _segment_arrays(
        arr,
        first_direction=first_direction,
        charge_sign=charge_sign,
        dead_band_mA=dead_band_mA,
        cycles=cycles_from,
        integration="auto",
    )
    wanted = None if cycles is None else {int(c) for c in cycles}
    order = np.argsort(seg["half"], kind="stable")
    half_sorted = seg["half"][order]
    out = []
    for h in range(seg["half_dir"].size):
        c = int(seg["half_cycle"][h])
        if wanted is not None and c not in wanted:
            continue
        lo, hi = np.searchsorted(half_sorted, [h, h + 1])
        idx = np.sort(order[lo:hi])
        q = np.cumsum(np.abs(seg["dq"][idx]))
        v = arr["voltage"][idx]
        if idx[0] > 0:  # start at zero capacity from the record before the half cycle
            q = np.concatenate([[0.0], q])
            v = np.concatenate([[arr["voltage"][idx[0] - 1]], v])
        out.append(
            {
                "cycle": c,
                "direction": "charge" if seg["half_dir"][h] == 1 else "discharge",
                "capacity_mAh": q,
                "voltage_V": v,
            }
        )
    return out


def concat_runs(datasets: Sequence[Any], *, gap_s: float = 0.0):
    """Join cycling Datasets recorded one after the other (one file per step or half cycle).

    Gamry writes one file per half cycle and Squidstat one CSV per experiment element;
    this makes one continuous record for :func:`cycle_summary`.

    Parameters
    ----------
    datasets : sequence of xarray.Dataset
        In recording order.
    gap_s : float
        Time inserted between parts whose clocks restart (s).

    Returns
    -------
    xarray.Dataset
        Time continued across parts whose clock restarts (kept where it already runs on);
        the cumulative ``charge`` continued likewise (dropped unless every part has it);
        an instrument ``cycle`` column shifted when it restarts. Only variables present
        in every part are kept. ``metadata["joined_files"]`` lists the sources.

    Raises
    ------
    DataError
        Fewer than one part, or a part without time/voltage/current.
    """
    import xarray as xr

    parts = list(datasets)
    if not parts:
        raise DataError("concat_runs needs at least one Dataset")
    for k, ds in enumerate(parts):
        _arrays(ds)  # validates units, NaN and monotonic time of each part
        if "record" not in ds.dims:
            raise DataError(f"part {k} has no 'record' dimension; is it a cycling Dataset?")
    common = set.intersection(*(set(map(str, ds.data_vars)) for ds in parts))
    fixed = []
    t_end = q_end = c_end = None
    for ds in parts:
        ds = ds[sorted(common)].copy(deep=True)
        t = _scaled(ds, "time", {"s": 1.0, "min": 60.0, "h": 3600.0})
        if t_end is not None and t[0] <= t_end:
            t = t - t[0] + t_end + gap_s
        ds = ds.assign_coords(time=("record", t, {**ds["time"].attrs, "units": "s"}))
        if "charge" in common:
            q = _scaled(ds, "charge", _CHARGE_SCALE)
            if q_end is not None:
                q = q - q[0] + q_end
            ds["charge"] = ("record", q, {**ds["charge"].attrs, "units": "mAh"})
            q_end = q[-1]
        if "cycle" in common:
            c = np.asarray(ds["cycle"].values, dtype=float)
            if c_end is not None and np.nanmin(c) <= c_end:
                c = c - np.nanmin(c) + c_end + 1
            ds["cycle"] = ("record", c, ds["cycle"].attrs)
            c_end = np.nanmax(c)
        t_end = t[-1]
        fixed.append(ds)
    out = xr.concat(fixed, dim="record", combine_attrs="override")
    out.attrs = dict(parts[0].attrs)
    meta = dict(out.attrs.get("metadata", {}))
    meta["joined_files"] = [p.attrs.get("source_file") for p in parts]
    out.attrs["metadata"] = meta
    return add_history(
        out,
        "concat_runs",
        function="charsuite.echem.concat_runs",
        parameters={"n_parts": len(parts), "gap_s": gap_s},
    )
