"""Per-cycle capacities from the instrument's own counters.

Cyclers compute capacities themselves and write them next to V and I. Where a file carries
them, :func:`charsuite.echem.cycle_summary` reports these numbers (``capacity_source =
"instrument"``) and checks them against its own integration of the current.

Counters understood (charsuite reader variable ← vendor column):

* EC-Lab: ``half_cycle`` ← ``half cycle`` and ``q_charge_discharge`` ← ``Q charge/discharge``
  (mAh, signed, restarts at 0 in every half cycle). The half cycle's capacity is the
  magnitude of its last value; its sign says charge (> 0) or discharge (< 0); the cycle is
  the ``cycle`` (``cycle number``) of its records. A "half cycle" whose sign contradicts the
  current that flows in it is EC-Lab's counter jumping at a loop or technique change
  ((Q-Qo) restarts), not a half cycle, and is ignored (counted in ``ignored``).
* Arbin / PEC: ``charge_capacity`` ← ``Charge_Capacity`` and ``discharge_capacity`` ←
  ``Discharge_Capacity`` (unsigned, cumulative within a cycle; both grow in one cycle and
  are never netted) with ``cycle`` ← ``Cycle_Index``. Per cycle: last − first, with the
  counter taken from 0 when it restarted at the cycle change.
* Neware / Novonix: ``step_capacity`` (unsigned, restarts every step) with ``step`` and
  ``cycle``; each step's capacity (last value, from 0 or from the previous step's last value
  when the counter runs on across steps, as Novonix's does) counts as charge or discharge by the
  sign of the mean current in the step.
"""

from __future__ import annotations

import dataclasses

import numpy as np

_CHARGE_SCALE = {"mAh": 1.0, "mA.h": 1.0, "Ah": 1e3, "A.h": 1e3, "uAh": 1e-3, "µAh": 1e-3}


@dataclasses.dataclass(frozen=True)
class InstrumentCapacities:
    """Per-cycle capacities (mAh) read from the instrument's counters.

    Attributes
    ----------
    charge, discharge : dict
        Cycle number → capacity (mAh); a cycle without that direction is absent.
    columns : str
        Which variables the numbers come from.
    ignored : int
        Counter segments ignored (EC-Lab counter restarts at loop/technique changes).
    """

    charge: dict
    discharge: dict
    columns: str
    ignored: int = 0


def _values(ds, name: str, scale: dict | None = None) -> np.ndarray | None:
    if name not in ds.variables or ds[name].dtype.kind not in "fiub":
        return None
    out = np.asarray(ds[name].values, dtype=float)
    if scale is not None:
        unit = ds[name].attrs.get("units")
        if unit not in scale:
            return None
        out = out * scale[unit]
    return out


def _columns(ds, current: np.ndarray, *specs) -> list[np.ndarray] | None:
    """The named variables (scaled to mAh where a scale table is given) and the current,
    restricted to records where all are finite; None when one is absent or < 2 remain."""
    cols = [_values(ds, name, scale) for name, scale in specs]
    if any(c is None for c in cols):
        return None
    ok = np.logical_and.reduce([np.isfinite(c) for c in cols])
    if ok.sum() < 2:
        return None
    return [c[ok] for c in cols] + [current[ok]]


def _runs(*keys: np.ndarray) -> np.ndarray:
    """Index of the run of consecutive equal key tuples each record belongs to."""
    new = np.zeros(keys[0].size, dtype=bool)
    new[0] = True
    for key in keys:
        new[1:] |= key[1:] != key[:-1]
    return np.cumsum(new) - 1


def _eclab(ds, current: np.ndarray, charge_sign: int) -> InstrumentCapacities | None:
    found = _columns(
        ds, current, ("half_cycle", None), ("q_charge_discharge", _CHARGE_SCALE), ("cycle", None)
    )
    if found is None:
        return None
    half, q, cycle, i = found
    run = _runs(half, cycle)
    last = np.flatnonzero(np.r_[run[1:] != run[:-1], True])
    q_end = q[last] * charge_sign
    mean_i = np.bincount(run, weights=i * charge_sign) / np.bincount(run)
    cyc = cycle[last].astype(int)
    charge: dict = {}
    discharge: dict = {}
    ignored = 0
    for k in range(last.size):
        if q_end[k] == 0:
            continue
        if np.sign(mean_i[k]) == -np.sign(q_end[k]):  # counter restart, not a half cycle
            ignored += 1
            continue
        target = charge if q_end[k] > 0 else discharge
        target[int(cyc[k])] = target.get(int(cyc[k]), 0.0) + abs(float(q_end[k]))
    return InstrumentCapacities(
        charge, discharge, "EC-Lab 'Q charge/discharge' per 'half cycle'", ignored
    )


def _run_gains(values: np.ndarray, run: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Increase of a counter over each run of records, and each run's first index.

    A counter that restarted at the run's start counts from 0; one that runs on from the
    previous run (its first value ≥ the previous run's last) counts from that last value.
    """
    first = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
    last = np.r_[first[1:] - 1, run.size - 1]
    prev_end = np.r_[0.0, values[last[:-1]]]
    runs_on = (np.arange(first.size) > 0) & (values[first] >= prev_end)
    base = np.where(runs_on, prev_end, 0.0)
    return values[last] - base, first


def _per_cycle_counter(values: np.ndarray, cycle: np.ndarray) -> dict:
    """Increase of a counter that is cumulative within a cycle, per cycle."""
    gains, first = _run_gains(values, _runs(cycle))
    out: dict = {}
    for gain, a in zip(gains, first):
        if gain > 0:
            out[int(cycle[a])] = out.get(int(cycle[a]), 0.0) + float(gain)
    return out


def _arbin(ds, current: np.ndarray) -> InstrumentCapacities | None:
    found = _columns(
        ds,
        current,
        ("charge_capacity", _CHARGE_SCALE),
        ("discharge_capacity", _CHARGE_SCALE),
        ("cycle", None),
    )
    if found is None:
        return None
    cc, dc, cycle, _ = found
    return InstrumentCapacities(
        _per_cycle_counter(cc, cycle),
        _per_cycle_counter(dc, cycle),
        "'charge_capacity'/'discharge_capacity' per 'cycle' (cumulative within a cycle)",
    )


def _step_counter(ds, current: np.ndarray, charge_sign: int, band: float):
    found = _columns(ds, current, ("step_capacity", _CHARGE_SCALE), ("step", None), ("cycle", None))
    if found is None:
        return None
    sc, step, cycle, i = found
    sc, i = np.abs(sc), i * charge_sign
    run = _runs(step, cycle)
    n = int(run[-1]) + 1
    q, first = _run_gains(sc, run)
    mean_i = np.bincount(run, weights=i, minlength=n) / np.bincount(run, minlength=n)
    cyc = cycle[first].astype(int)
    charge: dict = {}
    discharge: dict = {}
    for k in range(n):
        if abs(mean_i[k]) <= band or q[k] <= 0:
            continue  # rest step
        target = charge if mean_i[k] > 0 else discharge
        target[int(cyc[k])] = target.get(int(cyc[k]), 0.0) + float(q[k])
    return InstrumentCapacities(charge, discharge, "'step_capacity' per 'step' (sign of I)")


def instrument_capacities(
    ds, current_mA: np.ndarray, *, charge_sign: int, dead_band_mA: float
) -> InstrumentCapacities | None:
    """Per-cycle capacities from the instrument's counters, or None when the data have none.

    Parameters
    ----------
    ds : xarray.Dataset
        Cycling data from a charsuite reader (see the module docstring for the variables).
    current_mA : numpy.ndarray
        The current (mA) of every record (to tell charge from discharge steps).
    charge_sign : {1, -1}
        Sign of the current while charging.
    dead_band_mA : float
        |mean I| of a step at or below this is a rest step.

    Returns
    -------
    InstrumentCapacities or None
    """
    found = _eclab(ds, current_mA, charge_sign)
    if found is None:
        found = _arbin(ds, current_mA)
    if found is None:
        found = _step_counter(ds, current_mA, charge_sign, dead_band_mA)
    if found is None or not (found.charge or found.discharge):
        return None
    return found
