"""Incremental capacity dQ/dV of one half cycle: interpolate → smooth → differentiate.

Method (per half cycle, in time order):

1. Q(t) is the charge passed since the half cycle began (mAh, ≥ 0; 0 just before its
   first record).
2. Voltage is made monotonic along the half cycle by its running maximum (charge) or
   minimum (discharge): relaxation back-steps (e.g. just after the IR jump) add charge at
   the voltage already reached instead of creating a multivalued Q(V).
3. Q is interpolated onto a uniform voltage grid (``step_V``) and extended 4σ beyond
   both ends with 0 (before the start) and the total (after the end).
4. Q(V) is smoothed with a Gaussian whose width is set in volts (FWHM ``smooth_V``), so
   the result does not depend on the sampling rate; smoothing Q (not dQ/dV) keeps the
   total: ∫ dQ/dV dV = Q_end − Q_start = the half cycle's capacity.
5. dQ/dV = numerical derivative (central differences). Discharge curves are negative
   (dQ counted as charge leaving the electrode while V falls), as in most papers.

Peaks: :func:`scipy.signal.find_peaks` on |dQ/dV| with a prominence of
``peak_prominence`` × max |dQ/dV|.

References
----------
.. [1] cellpy ``ica`` (interpolate, smooth with a Gaussian given in volts, normalise to
   capacity) and navani ``dqdv_single_cycle``; see the charsuite echem notes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from charsuite.echem._cycling import _arrays, _segment_arrays
from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, history_record

__all__ = ["DqdvResult", "dqdv"]


@dataclasses.dataclass(frozen=True)
class DqdvResult(Result):
    """dQ/dV of one half cycle.

    Attributes
    ----------
    cycle : int
    direction : str
        ``"charge"`` or ``"discharge"``.
    voltage_V, dqdv_mAh_V : list of float
        The curve (discharge values negative).
    dqdv_mAh_g_V : list of float or None
        Per active mass when a mass was given.
    capacity_mAh : float
        The half cycle's capacity.
    integral_mAh : float
        ∫ |dQ/dV| dV over the grid (equals ``capacity_mAh`` by construction, to < 0.1 %).
    peaks : list of dict
        ``voltage_V``, ``dqdv_mAh_V``, ``prominence_mAh_V``.
    smooth_V, step_V : float
    history : list
    """

    cycle: int
    direction: str
    voltage_V: list
    dqdv_mAh_V: list
    dqdv_mAh_g_V: list | None
    capacity_mAh: float
    integral_mAh: float
    peaks: list
    smooth_V: float
    step_V: float
    history: list


MAX_GRID_POINTS = 10_000_000
"""Largest voltage grid :func:`dqdv` builds (points); a finer ``step_V`` is refused."""


def dqdv(
    ds,
    *,
    cycle: int,
    direction: str = "charge",
    smooth_V: float = 0.01,
    step_V: float = 0.001,
    mass_g: float | None = None,
    peak_prominence: float = 0.05,
    first_direction: str = "charge",
    charge_sign: int = 1,
    dead_band_mA: float | None = None,
    cycles: str = "auto",
) -> DqdvResult:
    """Compute dQ/dV of one half cycle with smoothing set in volts.

    Parameters
    ----------
    ds : xarray.Dataset
        Cycling data (see :func:`charsuite.echem.cycle_summary`).
    cycle : int
        Cycle number (as in :func:`charsuite.echem.cycle_summary`).
    direction : {"charge", "discharge"}
    smooth_V : float
        FWHM of the Gaussian smoothing (V); 0 disables smoothing.
    step_V : float
        Voltage grid spacing (V); keep it ≤ smooth_V / 5. The grid may hold at most
        ``MAX_GRID_POINTS`` (10⁷) points.
    mass_g : float, optional
        Active mass (g) for mAh g⁻¹ V⁻¹.
    peak_prominence : float
        Minimum peak prominence as a fraction of max |dQ/dV|.
    first_direction, charge_sign, dead_band_mA, cycles
        Segmentation options, see :func:`charsuite.echem.segment`.

    Returns
    -------
    DqdvResult

    Raises
    ------
    DataError
        The cycle/direction does not exist or spans less than 5 grid steps.
    ParameterError
        Non-finite or non-positive step/smoothing, or a grid above ``MAX_GRID_POINTS``.
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    if direction not in ("charge", "discharge"):
        raise ParameterError(f"direction={direction!r}: expected 'charge' or 'discharge'")
    if not (np.isfinite(step_V) and np.isfinite(smooth_V) and step_V > 0 and smooth_V >= 0):
        raise ParameterError(
            f"step_V={step_V!r} must be a finite number > 0 and smooth_V={smooth_V!r} a "
            "finite number ≥ 0 (V)"
        )
    if not (np.isfinite(peak_prominence) and 0 <= peak_prominence < 1):
        raise ParameterError(f"peak_prominence={peak_prominence!r}: expected a fraction in [0, 1)")
    arr = _arrays(ds)
    seg = _segment_arrays(
        arr,
        first_direction=first_direction,
        charge_sign=charge_sign,
        dead_band_mA=dead_band_mA,
        cycles=cycles,
        integration="auto",
    )
    want = 1 if direction == "charge" else -1
    halves = np.flatnonzero((seg["half_cycle"] == cycle) & (seg["half_dir"] == want))
    if halves.size == 0:
        have = sorted(set(seg["half_cycle"].tolist()))
        raise DataError(
            f"no {direction} half cycle in cycle {cycle}; cycles present: {have[:20]}"
            + ("..." if len(have) > 20 else "")
        )
    sel = np.isin(seg["half"], halves)
    v = arr["voltage"][sel]
    q = np.cumsum(np.abs(seg["dq"][sel]))  # charge passed up to each record (incl. its interval)
    v_mono = np.maximum.accumulate(v) if want == 1 else np.minimum.accumulate(v)
    # Q as a function of the (monotonic) voltage; on repeated voltages keep the last Q
    order = np.argsort(v_mono, kind="stable")
    v_sorted, q_sorted = v_mono[order], q[order]
    uniq, last = np.unique(v_sorted[::-1], return_index=True)
    q_u = q_sorted[::-1][last]
    span = uniq[-1] - uniq[0] if uniq.size else 0.0
    if uniq.size < 3 or span < 5 * step_V:
        raise DataError(
            f"{direction} of cycle {cycle} spans {span:.4g} V over {uniq.size} distinct "
            f"voltages; too little for dQ/dV with step_V={step_V}"
        )
    sigma_V = smooth_V / (2 * np.sqrt(2 * np.log(2)))
    pad = 4 * sigma_V + 2 * step_V
    n_grid = (span + 2 * pad) / step_V
    if n_grid > MAX_GRID_POINTS:
        raise ParameterError(
            f"step_V={step_V:g} V over {span + 2 * pad:.4g} V makes {n_grid:.3g} grid points, "
            f"more than the limit of {MAX_GRID_POINTS:.0e}; use a larger step_V (e.g. "
            f"{(span + 2 * pad) / 1e4:.2g} V) or a smaller smooth_V"
        )
    grid = np.arange(uniq[0] - pad, uniq[-1] + pad + step_V / 2, step_V)
    # beyond the swept range Q is 0 before the start and the total after the end
    ends = (0.0, float(q[-1])) if want == 1 else (float(q[-1]), 0.0)
    q_grid = np.interp(grid, uniq, q_u, left=ends[0], right=ends[1])
    if sigma_V > 0:
        q_grid = gaussian_filter1d(q_grid, sigma_V / step_V, mode="nearest")
    # Q grows with V on charge (dQ/dV > 0) and with falling V on discharge (dQ/dV < 0)
    curve = np.gradient(q_grid, grid)
    capacity = float(q[-1])
    integral = float(np.trapezoid(np.abs(curve), grid))
    prom = peak_prominence * float(np.max(np.abs(curve))) if curve.size else 0.0
    idx, props = find_peaks(np.abs(curve), prominence=prom)
    peaks = [
        {
            "voltage_V": float(grid[k]),
            "dqdv_mAh_V": float(curve[k]),
            "prominence_mAh_V": float(p),
        }
        for k, p in zip(idx, props["prominences"])
    ]
    if mass_g is not None and not mass_g > 0:
        raise ParameterError(f"mass_g={mass_g!r}: expected a positive mass (g)")
    params = {
        "cycle": cycle,
        "direction": direction,
        "smooth_V": smooth_V,
        "step_V": step_V,
        "mass_g": mass_g,
        "peak_prominence": peak_prominence,
        "first_direction": first_direction,
        "charge_sign": charge_sign,
        "dead_band_mA": seg["dead_band_mA"],
        "cycles": cycles,
    }
    return DqdvResult(
        cycle=int(cycle),
        direction=direction,
        voltage_V=grid.tolist(),
        dqdv_mAh_V=curve.tolist(),
        dqdv_mAh_g_V=(curve / mass_g).tolist() if mass_g else None,
        capacity_mAh=capacity,
        integral_mAh=integral,
        peaks=peaks,
        smooth_V=smooth_V,
        step_V=step_V,
        history=[
            *list(ds.attrs.get("history", [])),
            history_record(
                "dqdv",
                function="charsuite.echem.dqdv",
                parameters=params,
                input_file=ds.attrs.get("source_file"),
            ),
        ],
    )
