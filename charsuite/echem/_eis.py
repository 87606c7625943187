"""Impedance spectra: equivalent-circuit fitting, CPE capacitance, lin-KK validation.

Fitting is complex non-linear least squares (CNLS) on the stacked vector
[Re Z, Im Z], like impedance.py (same circuit syntax, parameter names, default bounds
[0, ∞) with exponents ≤ 1); residuals are divided by σ = |Z| (``weighting="modulus"``,
the default, recommended by Orazem & Tribollet) or 1 (``"unit"``). Parameter standard
errors are √diag((JᵀJ)⁻¹)·s with s² = χ²/(2N − p) (as ``scipy.optimize.curve_fit``).
The fit is written with :func:`scipy.optimize.least_squares` (TRF) rather than by
importing impedance.py so that bounds per parameter, fixed parameters and the ordering
of time constants are handled in one place; its documented examples are reproduced in
the tests.

Sign convention: Z = Z′ + jZ″ with Z″ < 0 for capacitive behaviour (readers convert
files that store −Z″).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from charsuite.echem._circuits import Circuit, parse_circuit
from charsuite.exceptions import ConvergenceError, DataError, ParameterError
from charsuite.model import Result, provenance

__all__ = [
    "EisFit",
    "LinKKResult",
    "cpe_capacitance",
    "fit_circuit",
    "fit_spectra",
    "lin_kk",
    "select_sweep",
    "split_sweeps",
]


def _series_spectra(ds) -> list:
    """Spectra of the impedance rows of a time series (EC-Lab mixed-technique files)."""
    import xarray as xr

    sweep = np.asarray(ds["sweep"].values)
    out = []
    for k in np.unique(sweep[sweep >= 0]):
        rows = np.flatnonzero(sweep == k)
        part = ds.isel(record=rows)
        data_vars = {
            name: ("frequency", part[name].values, dict(part[name].attrs))
            for name in part.data_vars
            if name not in ("frequency", "technique") and part[name].dtype.kind in "fiub"
        }
        data_vars["time"] = ("frequency", part["time"].values, dict(part["time"].attrs))
        spec = xr.Dataset(
            data_vars,
            coords={"frequency": ("frequency", part["frequency"].values, {"units": "Hz"})},
            attrs={
                **ds.attrs,
                "metadata": {**ds.attrs.get("metadata", {}), "measurement": "impedance"},
            },
        )
        out.append(spec)
    return out


def split_sweeps(ds) -> list:
    """Split impedance data holding several frequency sweeps into one Dataset per sweep.

    Works on an impedance Dataset (dim ``frequency``; the readers store the sweep number in
    ``sweep``) and on a time series with impedance blocks (EC-Lab Modulo Bat, GCPL with
    PEIS: dim ``record`` with ``frequency``, ``z_real``, ``z_imag`` and ``sweep`` = −1 off
    impedance), whose rows that are not impedance points are never part of a spectrum.
    Parts are in sweep order; each keeps the attributes and gains a history record.

    Parameters
    ----------
    ds : xarray.Dataset
        Impedance Dataset or time series with impedance blocks, as read by
        :func:`charsuite.io.read`.

    Returns
    -------
    list of xarray.Dataset
        One Dataset per sweep; ``[ds]`` unchanged when there is no ``sweep`` variable.

    Raises
    ------
    DataError
        If a time series holds no impedance points.
    """
    from charsuite.model import add_history

    if "record" in ds.dims and "z_real" in ds.variables and "sweep" in ds.variables:
        parts = _series_spectra(ds)
        if not parts:
            raise DataError("the time series holds no impedance points (f > 0)")
    elif "sweep" not in ds.variables:
        return [ds]
    else:
        parts = [
            ds.isel(frequency=np.flatnonzero(ds["sweep"].values == k))
            for k in np.unique(ds["sweep"].values)
        ]
    return [
        add_history(
            part,
            "split_sweeps",
            function="charsuite.echem.split_sweeps",
            parameters={"sweep": int(part["sweep"].values[0])},
        )
        for part in parts
    ]


def select_sweep(ds, number: int):
    """The spectrum whose sweep number is ``number`` (the instrument's numbering).

    EC-Lab files number sweeps as EC-Lab does (``cycle number`` of PEIS/GEIS from 1,
    ``z cycle`` of Modulo Bat from 0); other files count from 0 where the frequency turns
    back (``metadata["sweep_numbering"]``).

    Parameters
    ----------
    ds : xarray.Dataset
        Impedance data, as accepted by :func:`split_sweeps`.
    number : int
        Sweep number in the instrument's numbering.

    Returns
    -------
    xarray.Dataset
        The spectrum of that sweep, with a history record.

    Raises
    ------
    ParameterError
        No sweep has that number; the message lists the numbers there are.
    """
    parts = split_sweeps(ds)
    numbers = [int(p["sweep"].values[0]) if "sweep" in p.variables else 0 for p in parts]
    if number not in numbers:
        how = ds.attrs.get("metadata", {}).get("sweep_numbering", "counted from 0")
        shown = ", ".join(map(str, numbers[:8])) + (" …" if len(numbers) > 8 else "")
        raise ParameterError(f"sweep {number}: the data hold sweeps {shown} (numbering: {how})")
    return parts[numbers.index(number)]


DEFAULT_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"


def _spectrum(data, z=None) -> tuple[np.ndarray, np.ndarray, Any]:
    """Return (frequency Hz, complex Z Ω, source Dataset or None)."""
    import xarray as xr

    if isinstance(data, xr.Dataset):
        if "record" in data.dims:
            raise DataError(
                "these are time-series data"
                + (" with impedance blocks" if "z_real" in data.variables else "")
                + ", not one impedance spectrum; pick a spectrum with "
                "charsuite.echem.select_sweep(ds, N) (CLI: --sweep N)"
            )
        missing = [v for v in ("frequency", "z_real", "z_imag") if v not in data.variables]
        if missing:
            raise DataError(
                f"impedance data lack {missing}; expected frequency (Hz), z_real and z_imag (ohm)"
            )
        for v in ("z_real", "z_imag"):
            if data[v].attrs.get("units") not in ("ohm", "Ohm", "Ω"):
                raise DataError(f"{v} has units {data[v].attrs.get('units')!r}; expected 'ohm'")
        if "sweep" in data.variables and np.unique(data["sweep"].values).size > 1:
            n = np.unique(data["sweep"].values).size
            raise DataError(
                f"the data hold {n} frequency sweeps (spectra); fit one at a time: "
                "charsuite.echem.split_sweeps(ds)[k] (CLI: --sweep K)"
            )
        f = np.asarray(data["frequency"].values, dtype=float)
        zz = np.asarray(data["z_real"].values, float) + 1j * np.asarray(
            data["z_imag"].values, float
        )
        src = data
    else:
        if z is None:
            raise ParameterError("give a Dataset, or frequency (Hz) and complex z (ohm)")
        f = np.asarray(data, dtype=float)
        zz = np.asarray(z, dtype=complex)
        src = None
    if f.shape != zz.shape or f.ndim != 1:
        raise DataError(f"frequency {f.shape} and impedance {zz.shape} must be 1-D, same length")
    bad = ~(np.isfinite(f) & np.isfinite(zz.real) & np.isfinite(zz.imag))
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} points have NaN/inf frequency or impedance (first at index "
            f"{int(np.argmax(bad))}); drop them before fitting"
        )
    if np.any(f <= 0):
        raise DataError("frequencies must be positive (Hz)")
    if f.size < 3:
        raise DataError(f"only {f.size} frequencies; need more points than parameters")
    return f, zz, src


def _parallel_blocks(circuit: Circuit) -> list[list[str]]:
    """Element names of each top-level parallel block (series children of the root)."""
    root = circuit.tree
    children = root.children if root.kind == "series" else (root,)
    blocks = []
    for node in children:
        if node.kind == "parallel" and all(c.kind == "element" for c in node.children):
            blocks.append([c.name for c in node.children])
    return blocks


def _block_tau(circuit: Circuit, block: list[str], values: dict[str, float]) -> float | None:
    kinds = {dict(circuit.elements)[n]: n for n in block}
    if set(kinds) == {"R", "CPE"} and len(block) == 2:
        r, q, a = values[kinds["R"]], values[kinds["CPE"] + "_0"], values[kinds["CPE"] + "_1"]
        return float((r * q) ** (1 / a)) if r > 0 and q > 0 and a > 0 else None
    if set(kinds) == {"R", "C"} and len(block) == 2:
        return float(values[kinds["R"]] * values[kinds["C"]])
    return None


def _initial_guess(circuit: Circuit, f: np.ndarray, z: np.ndarray) -> dict[str, float]:
    """Heuristic start values from the spectrum (arc apexes when they are visible)."""
    from scipy.signal import find_peaks

    order = np.argsort(f)[::-1]
    fs, zs = f[order], z[order]
    r_hf = max(float(np.min(zs.real)), 1e-12 * float(np.max(np.abs(zs))))
    r_lf = float(np.max(zs.real))
    blocks = _parallel_blocks(circuit)
    root = circuit.tree
    for node in root.children if root.kind == "series" else (root,):
        if node.kind == "element" and node.etype in ("Zarc", "K"):
            blocks.append([node.name])  # a ZARC/Voigt element is an arc of its own
    n_arc = max(len(blocks), 1)
    # apex frequencies of -Z'' maxima, high f first
    peaks, _ = find_peaks(-zs.imag, prominence=0.02 * float(np.ptp(zs.imag)) + 1e-300)
    if peaks.size >= n_arc:
        best = peaks[np.argsort(zs.imag[peaks])[:n_arc]]  # the n_arc highest -Z'' maxima
        f_apex = np.sort(fs[best])[::-1]
        r_apex = 2 * (-zs.imag[np.sort(best)])
        r_arc = np.maximum(r_apex, (r_lf - r_hf) / (2 * n_arc))
    else:
        lo, hi = np.log10(fs.min()), np.log10(fs.max())
        f_apex = 10 ** np.linspace(hi, lo, n_arc + 2)[1:-1]
        r_arc = np.full(n_arc, max(r_lf - r_hf, r_hf) / n_arc)
    guess: dict[str, float] = {}
    in_block = {n: k for k, b in enumerate(blocks) for n in b}
    for name, etype in circuit.elements:
        k = in_block.get(name)
        tau = 1 / (2 * np.pi * f_apex[k]) if k is not None else 1 / (2 * np.pi * fs.min())
        r = float(r_arc[k]) if k is not None else max(r_lf - r_hf, r_hf)
        if etype == "R":
            guess[name] = r if k is not None else r_hf
        elif etype == "C":
            guess[name] = tau / r
        elif etype == "L":
            guess[name] = 1e-7
        elif etype == "CPE":
            guess[name + "_0"] = tau**0.9 / r
            guess[name + "_1"] = 0.9
        elif etype == "W":
            guess[name] = max(abs(zs[-1]), 1e-12) * np.sqrt(2 * np.pi * fs[-1]) / 10
        elif etype in ("Wo", "Ws"):
            guess[name + "_0"] = r
            guess[name + "_1"] = 1 / (2 * np.pi * fs[-1])
        elif etype == "Zarc":
            guess[name + "_0"], guess[name + "_1"], guess[name + "_2"] = r, tau, 0.9
        elif etype == "K":
            guess[name + "_0"], guess[name + "_1"] = r, tau
    return guess


@dataclasses.dataclass(frozen=True)
class EisFit(Result):
    """Result of an equivalent-circuit fit.

    Attributes
    ----------
    file : str or None
    circuit : str
    parameters, parameters_err : dict
        Values and standard errors (fixed parameters have error 0) in ``units``.
    units : dict
        Unit of each parameter.
    fixed : list of str
    at_bounds : list of str
        Free parameters that ended on a bound (their errors are not meaningful; consider
        fixing them or changing the circuit).
    area_cm2 : float or None
    area_normalized : dict
        Resistances × area (``<name>_ohm_cm2``), capacitances and CPE Q ÷ area
        (``<name>_F_cm2``, ``<name>_0_F_s(a-1)_cm2``), Warburg Z0 × area.
    capacitances_F : dict
        Effective capacitance of each R‖CPE (Hsu–Mansfeld or Brug) or R‖C block.
    time_constants_s : dict
        τ of each parallel block, in circuit order (ascending when ordered).
    chi2, rmse_ohm : float
        Weighted χ² and unweighted RMS of |Z − Ẑ|.
    weighting : str
    lin_kk : dict or None
        Summary of :func:`lin_kk` on the same data when requested.
    definitions : dict
    history : list
    """

    file: str | None
    circuit: str
    parameters: dict
    parameters_err: dict
    units: dict
    fixed: list
    at_bounds: list
    area_cm2: float | None
    area_normalized: dict
    capacitances_F: dict
    time_constants_s: dict
    chi2: float
    rmse_ohm: float
    weighting: str
    lin_kk: dict | None
    definitions: dict
    history: list

    def predict(self, frequency) -> np.ndarray:
        """Model impedance (Ω) at ``frequency`` (Hz)."""
        return parse_circuit(self.circuit).impedance(frequency, self.parameters)


def cpe_capacitance(
    q: float, alpha: float, r: float, *, method: str = "hsu-mansfeld", r_series: float = 0.0
) -> float:
    """Effective capacitance (F) of a CPE in parallel with a resistance.

    Parameters
    ----------
    q : float
        CPE coefficient Q (F s^(α−1)).
    alpha : float
        CPE exponent (0 < α ≤ 1).
    r : float
        Parallel resistance (Ω).
    method : {"hsu-mansfeld", "brug"}
        ``hsu-mansfeld``: C = Q^(1/α) R^((1−α)/α) (normal, distributed time constants;
        from the apex frequency ω_max = (RQ)^(−1/α)). ``brug``: surface distribution,
        C = Q^(1/α) (1/R_s + 1/R)^((α−1)/α) with the series resistance ``r_series``.
    r_series : float
        Series resistance R_s (Ω); needed (> 0) for ``brug``.

    Returns
    -------
    float
        Effective capacitance C (F).

    Raises
    ------
    ParameterError
        If Q, α or R is out of range, ``r_series`` is not positive for ``brug``, or
        ``method`` is unknown.

    References
    ----------
    .. [1] C. H. Hsu, F. Mansfeld, Corrosion 57 (2001) 747.
    .. [2] G. J. Brug et al., J. Electroanal. Chem. 176 (1984) 275.
    .. [3] B. Hirschorn et al., Electrochim. Acta 55 (2010) 6218 (which to use when).
    """
    if not (q > 0 and 0 < alpha <= 1 and r > 0):
        raise ParameterError(f"need Q > 0, 0 < α ≤ 1 and R > 0 (got Q={q}, α={alpha}, R={r})")
    if method == "hsu-mansfeld":
        return float(q ** (1 / alpha) * r ** ((1 - alpha) / alpha))
    if method == "brug":
        if not r_series > 0:
            raise ParameterError("method='brug' needs r_series > 0 (the series resistance, Ω)")
        return float(q ** (1 / alpha) * (1 / r_series + 1 / r) ** ((alpha - 1) / alpha))
    raise ParameterError(f"method={method!r}: expected 'hsu-mansfeld' or 'brug'")


def _as_dict(value, names: Sequence[str], what: str) -> dict[str, float]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ParameterError(f"{what}: unknown parameter(s) {unknown}; circuit has {names}")
        return {k: float(v) for k, v in value.items()}
    raise ParameterError(f"{what}: expected a dict {{name: value}}")


def _select_points(f, zz, *, f_min, f_max, drop_inductive, kk_valid_only):
    """Stage 1 of :func:`fit_circuit`: the points fitted, and how many lin-KK dropped."""
    for name, value in (("f_min", f_min), ("f_max", f_max)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ParameterError(f"{name}={value!r}: expected a positive, finite frequency (Hz)")
    keep = np.ones(f.size, dtype=bool)
    if f_min is not None:
        keep &= f >= f_min
    if f_max is not None:
        keep &= f <= f_max
    if drop_inductive:
        keep &= zz.imag < 0
    f, zz = f[keep], zz[keep]
    if f.size < 3:
        raise DataError(
            f"only {f.size} points left after f_min/f_max/drop_inductive; widen the window"
        )
    n_kk_dropped = 0
    if kk_valid_only:
        kk_all = lin_kk(f, zz)
        ok = (np.abs(kk_all.residuals_real) < kk_all.residual_limit) & (
            np.abs(kk_all.residuals_imag) < kk_all.residual_limit
        )
        n_kk_dropped = int((~ok).sum())
        f, zz = f[ok], zz[ok]
    return f, zz, n_kk_dropped


@dataclasses.dataclass
class _Problem:
    """Stage 2 of :func:`fit_circuit`: the CNLS problem (free parameters, start, bounds)."""

    model: Circuit
    names: list
    free: list
    const: dict
    auto: dict
    p0: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    f: np.ndarray
    zz: np.ndarray
    sigma: np.ndarray

    def full(self, p) -> np.ndarray:
        values = dict(self.const)
        values.update(zip(self.free, p))
        return np.array([values[n] for n in self.names])

    def resid(self, p) -> np.ndarray:
        zm = self.model.impedance(self.f, self.full(p))
        r = np.concatenate(
            [(zm.real - self.zz.real) / self.sigma, (zm.imag - self.zz.imag) / self.sigma]
        )
        return np.where(np.isfinite(r), r, 1e10)

    def solve(self, start, max_nfev=100000):
        from scipy.optimize import least_squares

        return least_squares(
            self.resid,
            start,
            bounds=(self.lo, self.hi),
            method="trf",
            # parameters span 1e-9 F … 1e3 Ω: scale each by its start value; tolerances as
            # impedance.py (curve_fit ftol=1e-13, default xtol/gtol)
            x_scale=np.maximum(np.abs(start), 1e-300),
            ftol=1e-13,
            max_nfev=max_nfev,
        )


def _start_values(model, names, free, auto, initial_guess) -> np.ndarray:
    if initial_guess is None:
        return np.array([auto[n] for n in free])
    if isinstance(initial_guess, Mapping):
        g = _as_dict(initial_guess, names, "initial_guess")
        return np.array([g.get(n, auto[n]) for n in free])
    p0 = np.asarray(initial_guess, dtype=float)
    if p0.size != len(free):
        raise ParameterError(
            f"initial_guess has {p0.size} values; free parameters are {free} ({len(free)})"
        )
    return p0


def _problem(circuit, f, zz, *, constants, initial_guess, bounds, weighting) -> _Problem:
    model = parse_circuit(circuit)
    names = list(model.parameter_names)
    const = _as_dict(constants, names, "constants")
    free = [n for n in names if n not in const]
    if len(free) == 0:
        raise ParameterError("every parameter is fixed; nothing to fit")
    if 2 * f.size <= len(free):
        raise DataError(f"{f.size} frequencies cannot determine {len(free)} free parameters")
    auto = _initial_guess(model, f, zz)
    p0 = _start_values(model, names, free, auto, initial_guess)
    if not np.all(np.isfinite(p0)):
        raise ParameterError(f"initial_guess holds NaN/inf ({p0.tolist()})")
    lo_all, hi_all = model.default_bounds()
    lo = np.array([lo_all[names.index(n)] for n in free])
    hi = np.array([hi_all[names.index(n)] for n in free])
    for name, (a, b) in (bounds or {}).items():
        if name not in names:
            raise ParameterError(f"bounds: unknown parameter {name!r}; circuit has {names}")
        if np.isnan(a) or np.isnan(b):
            raise ParameterError(f"bounds of {name}: NaN is not a bound")
        if name in free:
            lo[free.index(name)], hi[free.index(name)] = float(a), float(b)
    if np.any(lo >= hi):
        raise ParameterError("a lower bound is not below its upper bound")
    p0 = np.clip(p0, lo + 1e-12 * np.abs(lo), hi)
    p0 = np.where((p0 <= lo) & np.isfinite(lo), lo + np.maximum(1e-12, np.abs(lo) * 1e-6), p0)
    sigma = np.abs(zz) if weighting == "modulus" else np.ones(f.size)
    return _Problem(model, names, free, const, auto, p0, lo, hi, f, zz, sigma)


def _multi_start(pr: _Problem, *, n_starts: int, user_start: bool):
    """Stage 3: the fit from the start values, then seeded multi-starts keeping the best.

    Multi-start: log-uniform perturbations (×0.1 … ×10, exponents ±0.1) of the start —
    a cheap guard against a poor initial guess.
    """
    sol = pr.solve(pr.p0)
    rng = np.random.default_rng(0)
    lo, hi, p0 = pr.lo, pr.hi, pr.p0
    auto_start = np.clip(np.array([pr.auto[n] for n in pr.free]), lo, hi)
    bases = [p0, auto_start] if user_start else [p0]
    exps = [k for k, n in enumerate(pr.free) if n.endswith("_1") and hi[k] == 1.0]
    for k in range(max(int(n_starts), 1) - 1):
        base = bases[k % len(bases)]
        if k == 0 and len(bases) == 2:
            start = auto_start.copy()  # the data-driven guess first
        else:
            start = np.clip(base * 10 ** rng.uniform(-1, 1, p0.size), lo, hi)
            start[exps] = np.clip(base[exps] + rng.uniform(-0.1, 0.1, len(exps)), lo[exps], 1.0)
        start = np.where(start <= lo, lo + np.maximum(np.abs(base), 1e-12) * 1e-3, start)
        trial = pr.solve(start, max_nfev=50 * p0.size)  # short exploratory run
        if np.all(np.isfinite(trial.x)) and trial.cost < sol.cost:
            polished = pr.solve(trial.x)
            if np.all(np.isfinite(polished.x)) and polished.cost < sol.cost:
                sol = polished
    return sol


def _errors(pr: _Problem, sol) -> tuple[np.ndarray, list]:
    """Stage 4: standard errors and the parameters at a bound."""
    dof = max(2 * pr.f.size - len(pr.free), 1)
    chi2 = float(np.sum(sol.fun**2))
    # covariance in parameters scaled by their values (the raw JᵀJ spans ~30 decades when
    # capacitances and resistances are fitted together, and pinv would truncate it)
    scale = np.maximum(np.abs(sol.x), 1e-300)
    js = sol.jac * scale[None, :]
    try:
        cov = np.linalg.pinv(js.T @ js) * chi2 / dof * np.outer(scale, scale)
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:  # pragma: no cover - pinv rarely fails
        err = np.full(len(pr.free), np.nan)
    at_bound = [
        n
        for n, x, x0, a, b in zip(pr.free, sol.x, pr.p0, pr.lo, pr.hi)
        if (np.isfinite(a) and x <= a + 1e-5 * max(abs(x0), abs(a)))
        or (np.isfinite(b) and x >= b - 1e-5 * max(abs(x0), abs(b)))
    ]
    return err, at_bound


def _block_quantities(model, blocks, values, capacitance_method) -> tuple[dict, dict]:
    """Effective capacitances and time constants of the parallel blocks."""
    top = model.tree.children if model.tree.kind == "series" else (model.tree,)
    # series resistance for Brug: resistors directly in the top-level series
    r_series = sum(values[c.name] for c in top if c.kind == "element" and c.etype == "R")
    caps, taus = {}, {}
    for k, block in enumerate(blocks, start=1):
        kinds = {dict(model.elements)[n]: n for n in block}
        tau = _block_tau(model, block, values)
        if tau is not None:
            taus[f"block{k}"] = tau
        if set(kinds) == {"R", "CPE"} and len(block) == 2:
            q, a = values[kinds["CPE"] + "_0"], values[kinds["CPE"] + "_1"]
            try:
                caps[kinds["CPE"]] = cpe_capacitance(
                    q, a, values[kinds["R"]], method=capacitance_method, r_series=r_series
                )
            except ParameterError:
                caps[kinds["CPE"]] = None
        elif set(kinds) == {"R", "C"} and len(block) == 2:
            caps[kinds["C"]] = values[kinds["C"]]
    return caps, taus


def _area_normalised(model, values, caps, area_cm2) -> dict:
    norm: dict = {}
    if not area_cm2:
        return norm
    for name, etype in model.elements:
        if etype == "R":
            norm[f"{name}_ohm_cm2"] = values[name] * area_cm2
        elif etype == "C":
            norm[f"{name}_F_cm2"] = values[name] / area_cm2
        elif etype == "CPE":
            norm[f"{name}_0_F_s(a-1)_cm2"] = values[name + "_0"] / area_cm2
        elif etype in ("Wo", "Ws", "Zarc"):
            norm[f"{name}_0_ohm_cm2"] = values[name + "_0"] * area_cm2
        elif etype == "W":
            norm[f"{name}_ohm_cm2_s-0.5"] = values[name] * area_cm2
    for name, c in caps.items():
        norm[f"{name}_C_eff_F_cm2"] = c / area_cm2 if c is not None else None
    return norm


def _fit_definitions(weighting, capacitance_method, order_time_constants, pr, n_kk) -> dict:
    return {
        "sign": "Z = Z' + jZ''; Z'' < 0 is capacitive",
        "residual": f"[ΔRe, ΔIm] / σ with σ = {'|Z|' if weighting == 'modulus' else '1'}",
        "errors": "sqrt(diag((JᵀJ)⁻¹) · χ²/(2N − p)); 0 for fixed parameters",
        "capacitance": (
            "Hsu–Mansfeld C = Q^(1/α) R^((1−α)/α)"
            if capacitance_method == "hsu-mansfeld"
            else "Brug C = Q^(1/α) (1/R_s + 1/R)^((α−1)/α), R_s = series resistors"
        ),
        "time_constant": "R‖CPE: (R·Q)^(1/α); R‖C: R·C",
        "ordering": "parallel blocks of the same structure relabelled by ascending τ"
        if order_time_constants
        else "as fitted",
        "points_fitted": int(pr.f.size),
        "kk_points_dropped": n_kk,
        "start_values": dict(zip(pr.free, pr.p0.tolist())),
    }


@provenance("fit_circuit", exclude=("z",))
def fit_circuit(
    data,
    z=None,
    *,
    circuit: str = DEFAULT_CIRCUIT,
    initial_guess: Mapping[str, float] | Sequence[float] | None = None,
    constants: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    weighting: str = "modulus",
    area_cm2: float | None = None,
    order_time_constants: bool = True,
    capacitance_method: str = "hsu-mansfeld",
    f_min: float | None = None,
    f_max: float | None = None,
    drop_inductive: bool = False,
    check_kk: bool = False,
    kk_valid_only: bool = False,
    n_starts: int = 1,
) -> EisFit:
    """Fit an equivalent circuit to an impedance spectrum (CNLS).

    Parameters
    ----------
    data : xarray.Dataset or array
        An EIS Dataset (``frequency`` Hz, ``z_real``/``z_imag`` Ω), or frequencies (Hz)
        with the complex impedance as ``z``.
    z : array of complex, optional
    circuit : str
        e.g. ``"R0-p(R1,CPE1)-p(R2,CPE2)"``, ``"R0-p(R1,C1)-p(R2-Wo1,C2)"``.
    initial_guess : dict or sequence, optional
        Start values of the free parameters (a sequence in circuit order, without the
        constants, as impedance.py). Default: heuristic from the arc apexes.
    constants : dict, optional
        Fixed parameters ``{"R0": 0.02, "Wo1_1": 200}``.
    bounds : dict, optional
        ``{name: (lower, upper)}`` overriding the defaults ([0, ∞), exponents ≤ 1).
    weighting : {"modulus", "unit"}
        σ = |Z| or 1 for both parts.
    area_cm2 : float, optional
        Electrode area for Ω·cm² values (default: the file's ``electrode_area_cm2``).
    order_time_constants : bool
        Relabel structurally identical parallel blocks so their τ ascend (block 1 = the
        fastest, high-frequency arc), making arcs comparable between spectra.
    capacitance_method : {"hsu-mansfeld", "brug"}
        CPE → capacitance conversion (Brug uses the sum of the series resistors).
    f_min, f_max : float, optional
        Fit only frequencies in this range (Hz).
    drop_inductive : bool
        Drop points with Z″ > 0 (impedance.py ``ignoreBelowX``).
    check_kk : bool
        Also run :func:`lin_kk` and store its summary.
    kk_valid_only : bool
        Fit only points whose lin-KK residuals (both parts) are below 1 % (implies
        ``check_kk``); the number dropped is recorded in the history.
    n_starts : int
        Number of starts: the initial guess, then (when a guess was given) the automatic
        guess from the arc apexes, then seeded log-uniform perturbations (×0.1 … ×10) of
        these; the lowest χ² wins.

    Returns
    -------
    EisFit

    Raises
    ------
    ParameterError, DataError, ConvergenceError
    """
    f, zz, src = _spectrum(data, z)
    if weighting not in ("modulus", "unit"):
        raise ParameterError(f"weighting={weighting!r}: expected 'modulus' or 'unit'")
    f, zz, n_kk_dropped = _select_points(
        f, zz, f_min=f_min, f_max=f_max, drop_inductive=drop_inductive, kk_valid_only=kk_valid_only
    )
    meta = dict(src.attrs.get("metadata", {})) if src is not None else {}
    if area_cm2 is None and meta.get("electrode_area_cm2") is not None:
        area_cm2 = float(meta["electrode_area_cm2"])
    if area_cm2 is not None and not (np.isfinite(area_cm2) and area_cm2 > 0):
        raise ParameterError(f"area_cm2={area_cm2!r}: expected a positive area (cm²)")
    pr = _problem(
        circuit,
        f,
        zz,
        constants=constants,
        initial_guess=initial_guess,
        bounds=bounds,
        weighting=weighting,
    )
    try:
        sol = _multi_start(pr, n_starts=n_starts, user_start=initial_guess is not None)
    except ValueError as err:
        raise ConvergenceError(f"circuit fit failed to start: {err}") from err
    if not np.all(np.isfinite(sol.x)) or sol.status < 0:
        raise ConvergenceError(
            f"circuit fit of {circuit!r} did not converge ({sol.message}); give an "
            "initial_guess, bounds or fewer free parameters"
        )
    err, at_bound = _errors(pr, sol)
    model, names = pr.model, pr.names
    values = dict(zip(names, pr.full(sol.x)))
    errors = {n: 0.0 for n in names}
    errors.update(zip(pr.free, err))
    blocks = _parallel_blocks(model)
    if order_time_constants:
        values, errors = _order_blocks(model, blocks, values, errors, pr.const)
    zfit = model.impedance(f, [values[n] for n in names])
    caps, taus = _block_quantities(model, blocks, values, capacitance_method)
    return EisFit(
        file=src.attrs.get("source_file") if src is not None else None,
        circuit=model.string,
        parameters=values,
        parameters_err=errors,
        units=dict(zip(names, model.parameter_units)),
        fixed=sorted(pr.const),
        at_bounds=at_bound,
        area_cm2=area_cm2,
        area_normalized=_area_normalised(model, values, caps, area_cm2),
        capacitances_F=caps,
        time_constants_s=taus,
        chi2=float(np.sum(sol.fun**2)),
        rmse_ohm=float(np.sqrt(np.mean(np.abs(zfit - zz) ** 2))),
        weighting=weighting,
        lin_kk=lin_kk(f, zz).summary() if (check_kk or kk_valid_only) else None,
        definitions=_fit_definitions(
            weighting, capacitance_method, order_time_constants, pr, n_kk_dropped
        ),
        history=[],
    )


def _order_blocks(model, blocks, values, errors, const):
    """Permute identical-structure parallel blocks so time constants ascend."""
    values, errors = dict(values), dict(errors)
    groups: dict[tuple, list[list[str]]] = {}
    for block in blocks:
        sig = tuple(dict(model.elements)[n] for n in block)
        groups.setdefault(sig, []).append(block)
    for members in groups.values():
        if len(members) < 2:
            continue
        if any(model.element_parameters(n)[0] in const for b in members for n in b):
            continue  # a fixed parameter pins its block; do not relabel
        taus = [_block_tau(model, b, values) for b in members]
        if any(t is None for t in taus):
            continue
        order = np.argsort(taus, kind="stable")
        old_v = {n: values[n] for b in members for e in b for n in model.element_parameters(e)}
        old_e = {n: errors[n] for n in old_v}
        for dst, src_idx in zip(members, order):
            src = members[src_idx]
            for e_dst, e_src in zip(dst, src):
                for p_dst, p_src in zip(
                    model.element_parameters(e_dst), model.element_parameters(e_src)
                ):
                    values[p_dst] = old_v[p_src]
                    errors[p_dst] = old_e[p_src]
    return values, errors


def fit_spectra(spectra: Sequence[Any], *, circuit: str = DEFAULT_CIRCUIT, **options) -> list:
    """Fit several spectra in order, each starting from the previous result.

    Time constants are ordered in every fit (``order_time_constants=True``), so
    ``R1``/``CPE1`` is always the fastest arc and values are comparable across the list.

    Parameters
    ----------
    spectra : sequence of xarray.Dataset
    circuit : str
    **options
        Passed to :func:`fit_circuit` (``initial_guess`` is used for the first only).

    Returns
    -------
    list of EisFit
    """
    out: list[EisFit] = []
    guess = options.pop("initial_guess", None)
    options.setdefault("order_time_constants", True)
    const = options.get("constants") or {}
    for ds in spectra:
        fit = fit_circuit(ds, circuit=circuit, initial_guess=guess, **options)
        out.append(fit)
        guess = {k: v for k, v in fit.parameters.items() if k not in const}
    return out


@dataclasses.dataclass(frozen=True)
class LinKKResult(Result):
    """Result of the linear Kramers–Kronig test.

    Attributes
    ----------
    M : int
        Number of RC (Voigt) elements at which μ fell below ``c``.
    mu : float
        1 − Σ|R_k<0| / Σ|R_k≥0|.
    frequency_Hz : list
    residuals_real, residuals_imag : list
        (Z − Ẑ)/|Z| per frequency.
    max_residual : float
        max over both parts of |residual|.
    pseudo_chi2 : float
        Σ (res_re² + res_im²).
    c, fit_type, add_cap : settings used
    valid : bool
        ``max_residual`` < ``residual_limit``.
    residual_limit : float
    history : list
    """

    M: int
    mu: float
    frequency_Hz: list
    residuals_real: list
    residuals_imag: list
    max_residual: float
    pseudo_chi2: float
    c: float
    fit_type: str
    add_cap: bool
    valid: bool
    residual_limit: float
    history: list = dataclasses.field(default_factory=list)

    def summary(self) -> dict:
        """Compact dict for JSON (without per-point arrays)."""
        return {
            "M": self.M,
            "mu": self.mu,
            "max_residual": self.max_residual,
            "pseudo_chi2": self.pseudo_chi2,
            "c": self.c,
            "fit_type": self.fit_type,
            "add_cap": self.add_cap,
            "valid": self.valid,
            "residual_limit": self.residual_limit,
        }


@provenance("lin_kk", exclude=("z",))
def lin_kk(
    data,
    z=None,
    *,
    c: float = 0.85,
    max_M: int = 50,
    fit_type: str = "complex",
    add_cap: bool = False,
    residual_limit: float = 0.01,
) -> LinKKResult:
    """Linear Kramers–Kronig validity test (Schönleber et al. 2014).

    Fits Ẑ = R₀ + Σ_{k=1..M} R_k/(1 + jωτ_k) + jωL (+ 1/(jωC) with ``add_cap``) with τ_k
    log-spaced between 1/(2π f_max) and 1/(2π f_min); only the linear parameters are
    fitted (rows weighted by 1/|Z|). M grows from 1 until μ = 1 − Σ|R_k<0|/Σ|R_k≥0| ≤ c.
    Same algorithm and defaults as impedance.py ``linKK``.

    Parameters
    ----------
    data, z
        As in :func:`fit_circuit`.
    c : float
        μ cutoff (0.85 default; impedance.py's validation example uses 0.5).
    max_M : int
        Largest number M of RC elements tried.
    fit_type : {"complex", "real", "imag"}
        Which part of the impedance the linear parameters are fitted to.
    add_cap : bool
        Add a series capacitance (blocking electrodes / low-frequency tails).
    residual_limit : float
        ``valid`` if all |residuals| are below this (default 1 %).

    Returns
    -------
    LinKKResult
        M and μ reached, frequencies (Hz), real and imaginary residuals relative to |Z|,
        the largest |residual|, pseudo-χ², the settings and ``valid``.

    Raises
    ------
    ParameterError
        If ``fit_type`` is unknown.

    References
    ----------
    .. [1] M. Schönleber, D. Klotz, E. Ivers-Tiffée, Electrochim. Acta 131 (2014) 20.
    """
    f, zz, _ = _spectrum(data, z)
    if fit_type not in ("complex", "real", "imag"):
        raise ParameterError(f"fit_type={fit_type!r}: expected 'complex', 'real' or 'imag'")
    w = 2 * np.pi * f
    zabs = np.abs(zz)
    t_min, t_max = 1 / (2 * np.pi * f.max()), 1 / (2 * np.pi * f.min())
    M, mu = 0, 1.0
    x = ts = None
    while mu > c and max_M > M:
        M += 1
        ts = np.geomspace(t_min, t_max, M) if M > 1 else np.array([t_min])
        x, ts = _fit_linkk(w, zz, zabs, ts, fit_type, add_cap)
        rk = x[1 : M + 1]
        pos = np.sum(np.abs(rk[rk >= 0]))
        neg = np.sum(np.abs(rk[rk < 0]))
        mu = float(1 - neg / pos) if pos > 0 else 1.0
    zhat = _eval_linkk(x, ts, w, add_cap)
    res_re = (zz.real - zhat.real) / zabs
    res_im = (zz.imag - zhat.imag) / zabs
    max_res = float(max(np.max(np.abs(res_re)), np.max(np.abs(res_im))))
    return LinKKResult(
        M=M,
        mu=mu,
        frequency_Hz=f.tolist(),
        residuals_real=res_re.tolist(),
        residuals_imag=res_im.tolist(),
        max_residual=max_res,
        pseudo_chi2=float(np.sum(res_re**2 + res_im**2)),
        c=c,
        fit_type=fit_type,
        add_cap=add_cap,
        valid=max_res < residual_limit,
        residual_limit=residual_limit,
        history=[],
    )


def _design(w, ts, zabs, add_cap):
    M = ts.size
    ncol = M + 2 + (1 if add_cap else 0)
    a_re = np.zeros((w.size, ncol))
    a_im = np.zeros((w.size, ncol))
    a_re[:, 0] = 1 / zabs
    k = 1 / (1 + 1j * np.outer(w, ts))
    a_re[:, 1 : M + 1] = k.real / zabs[:, None]
    a_im[:, 1 : M + 1] = k.imag / zabs[:, None]
    a_im[:, M + 1] = w / zabs  # inductance
    if add_cap:
        a_im[:, M + 2] = -1 / (w * zabs)  # 1/C
    return a_re, a_im


def _fit_linkk(w, zz, zabs, ts, fit_type, add_cap):
    a_re, a_im = _design(w, ts, zabs, add_cap)
    b_re, b_im = zz.real / zabs, zz.imag / zabs
    M = ts.size
    if fit_type == "complex":
        x = np.linalg.lstsq(np.vstack([a_re, a_im]), np.concatenate([b_re, b_im]), rcond=None)[0]
    elif fit_type == "real":
        x = np.linalg.pinv(a_re) @ b_re
        # recover the terms that only the imaginary part determines
        z_re_free = zz - _eval_linkk(x, ts, w, add_cap, real_only=True)
        cols = [M + 1] + ([M + 2] if add_cap else [])
        sub = np.linalg.lstsq(a_im[:, cols], z_re_free.imag / zabs, rcond=None)[0]
        x[cols] = sub
    else:
        x = np.linalg.pinv(a_im) @ b_im
        zhat = _eval_linkk(x, ts, w, add_cap)
        x[0] = float(np.sum((zz.real - zhat.real) / zabs**2) / np.sum(1 / zabs**2))
    return x, ts


def _eval_linkk(x, ts, w, add_cap, real_only=False):
    M = ts.size
    z = x[0] + np.sum(x[1 : M + 1][None, :] / (1 + 1j * np.outer(w, ts)), axis=1)
    if real_only:
        return z
    z = z + 1j * w * x[M + 1]
    if add_cap and x[M + 2] != 0:
        z = z - 1j * x[M + 2] / w
    return z
