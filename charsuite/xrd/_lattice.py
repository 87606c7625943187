"""Least-squares cell refinement from indexed peak positions (any crystal system).

Model: 2θ_calc(hkl) = 2·asin(λ / 2d(hkl; cell)) + z, with d from the metric tensor of the
cell and z a zero offset (deg) absorbing a constant shift (zero error, and the nearly
constant grazing-incidence refraction shift unless it was corrected beforehand). Free
cell parameters follow the crystal system (cubic: a; tetragonal/hexagonal/trigonal: a, c;
orthorhombic: a, b, c; monoclinic: a, b, c, β; triclinic: all six). Uncertainties are
√diag(cov) with cov = (JᵀWJ)⁻¹·χ²_red (scipy ``least_squares`` Jacobian).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result

FREE = {
    "cubic": ("a",),
    "tetragonal": ("a", "c"),
    "hexagonal": ("a", "c"),
    "trigonal": ("a", "c"),
    "orthorhombic": ("a", "b", "c"),
    "monoclinic": ("a", "b", "c", "beta"),
    "triclinic": ("a", "b", "c", "alpha", "beta", "gamma"),
}


def d_spacing(hkl, cell) -> np.ndarray:
    """D (Å) of reflections ``hkl`` (N×3) for ``cell`` = (a, b, c, α, β, γ) (Å, deg).

    Parameters
    ----------
    hkl : array_like, shape (N, 3) or (3,)
        Miller indices.
    cell : sequence of float
        Lattice parameters (a, b, c, α, β, γ) in Å and deg.

    Returns
    -------
    ndarray, shape (N,)
        Interplanar spacing d (Å) of each reflection.
    """
    a, b, c, al, be, ga = cell
    al, be, ga = np.radians([al, be, ga])
    g = np.array(
        [
            [a * a, a * b * np.cos(ga), a * c * np.cos(be)],
            [a * b * np.cos(ga), b * b, b * c * np.cos(al)],
            [a * c * np.cos(be), b * c * np.cos(al), c * c],
        ]
    )
    gstar = np.linalg.inv(g)
    h = np.atleast_2d(np.asarray(hkl, dtype=float))
    inv_d2 = np.einsum("ni,ij,nj->n", h, gstar, h)
    return 1.0 / np.sqrt(inv_d2)


def two_theta_of(hkl, cell, wavelength_angstrom: float) -> np.ndarray:
    """Bragg 2θ (deg) of ``hkl``; NaN where λ/2d > 1.

    Parameters
    ----------
    hkl : array_like, shape (N, 3) or (3,)
        Miller indices.
    cell : sequence of float
        Lattice parameters (a, b, c, α, β, γ) in Å and deg.
    wavelength_angstrom : float
        X-ray wavelength λ (Å).

    Returns
    -------
    ndarray, shape (N,)
        Bragg angle 2θ (deg) of each reflection; NaN when it cannot diffract.
    """
    s = wavelength_angstrom / (2 * d_spacing(hkl, cell))
    with np.errstate(invalid="ignore"):
        return np.degrees(2 * np.arcsin(np.where(s <= 1, s, np.nan)))


@dataclasses.dataclass(frozen=True)
class LatticeFit(Result):
    """Refined cell of one phase.

    Attributes
    ----------
    phase, crystal_system : str
    lattice : dict
        ``a``, ``a_err``, ``b``, ``b_err``, ``c``, ``c_err`` (Å), ``alpha``, ``alpha_err``,
        ``beta``, ``beta_err``, ``gamma``, ``gamma_err`` (deg), ``volume`` (Å³); ``*_err``
        is 0 for parameters fixed by symmetry and NaN when not determined.
    zero_offset_deg, zero_offset_err_deg : float
        Refined (or fixed, err 0) zero offset: measured = Bragg + zero.
    peaks_used : list of dict
        ``hkl``, ``two_theta_obs``, ``two_theta_calc``, ``residual_deg``.
    rms_residual_deg : float
    wavelength_angstrom : float
    history : list
    """

    phase: str
    crystal_system: str
    lattice: dict
    zero_offset_deg: float
    zero_offset_err_deg: float
    peaks_used: list
    rms_residual_deg: float
    wavelength_angstrom: float
    history: list = dataclasses.field(default_factory=list)


def _expand(params, names, start_cell, system):
    cell = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), start_cell))
    cell.update(dict(zip(names, params)))
    if system == "cubic":
        cell["b"] = cell["c"] = cell["a"]
        cell["alpha"] = cell["beta"] = cell["gamma"] = 90.0
    elif system == "tetragonal":
        cell["b"] = cell["a"]
        cell["alpha"] = cell["beta"] = cell["gamma"] = 90.0
    elif system in ("hexagonal", "trigonal"):
        cell["b"] = cell["a"]
        cell["alpha"] = cell["beta"] = 90.0
        cell["gamma"] = 120.0
    elif system == "orthorhombic":
        cell["alpha"] = cell["beta"] = cell["gamma"] = 90.0
    elif system == "monoclinic":
        cell["alpha"] = cell["gamma"] = 90.0
    return tuple(cell[k] for k in ("a", "b", "c", "alpha", "beta", "gamma"))


def _linear_start(tth, h, system, wavelength, w):
    """Cell from a weighted linear fit of Q = 1/d² in the reciprocal metric (no zero term).

    A starting point for the nonlinear fit (fewer Levenberg–Marquardt iterations); None
    when the system is triclinic or the fit is not a valid metric.
    """
    q = (2 * np.sin(np.radians(tth / 2)) / wavelength) ** 2
    hh, kk, ll = h[:, 0], h[:, 1], h[:, 2]
    cols = {
        "cubic": [hh * hh + kk * kk + ll * ll],
        "tetragonal": [hh * hh + kk * kk, ll * ll],
        "hexagonal": [hh * hh + hh * kk + kk * kk, ll * ll],
        "trigonal": [hh * hh + hh * kk + kk * kk, ll * ll],
        "orthorhombic": [hh * hh, kk * kk, ll * ll],
        "monoclinic": [hh * hh, kk * kk, ll * ll, hh * ll],
    }.get(system)
    if cols is None:
        return None
    a_mat = np.column_stack(cols)
    if q.size < a_mat.shape[1] or np.linalg.matrix_rank(a_mat) < a_mat.shape[1]:
        return None
    coef, *_ = np.linalg.lstsq(a_mat * w[:, None], q * w, rcond=None)
    if system != "monoclinic" and np.any(coef <= 0):
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        if system == "cubic":
            out = {"a": 1 / np.sqrt(coef[0])}
        elif system == "tetragonal":
            out = {"a": 1 / np.sqrt(coef[0]), "c": 1 / np.sqrt(coef[1])}
        elif system in ("hexagonal", "trigonal"):
            out = {"a": np.sqrt(4 / (3 * coef[0])), "c": 1 / np.sqrt(coef[1])}
        elif system == "orthorhombic":
            out = {"a": 1 / np.sqrt(coef[0]), "b": 1 / np.sqrt(coef[1]), "c": 1 / np.sqrt(coef[2])}
        else:  # monoclinic, b unique: a*², b*², c*², 2a*c*cosβ*
            ast, bst, cst, d = coef
            if min(ast, bst, cst) <= 0:
                return None
            cos_bs = d / (2 * np.sqrt(ast * cst))
            if not -1 < cos_bs < 1:
                return None
            beta = 180.0 - np.degrees(np.arccos(cos_bs))
            sb = np.sin(np.radians(beta))
            out = {
                "a": 1 / (np.sqrt(ast) * sb),
                "b": 1 / np.sqrt(bst),
                "c": 1 / (np.sqrt(cst) * sb),
                "beta": beta,
            }
    vals = np.array(list(out.values()), float)
    return out if np.all(np.isfinite(vals)) else None


def refine_lattice(
    two_theta,
    hkl,
    *,
    cell,
    crystal_system: str,
    wavelength_angstrom: float,
    sigma=None,
    refine_zero: bool = True,
    zero_offset_deg: float = 0.0,
    phase: str = "",
    input_file: str | None = None,
) -> LatticeFit:
    """Refine the cell (and zero offset) from observed peak positions.

    Parameters
    ----------
    two_theta : array_like
        Observed peak positions (deg), already corrected for anything not modelled.
    hkl : array_like, shape (N, 3)
        Indices of each observed peak.
    cell : tuple
        Starting (a, b, c, α, β, γ); symmetry-fixed values are kept.
    crystal_system : str
        One of ``cubic, tetragonal, hexagonal, trigonal, orthorhombic, monoclinic, triclinic``.
    wavelength_angstrom : float
        X-ray wavelength λ (Å).
    sigma : array_like, optional
        Position uncertainties (deg) used as weights.
    refine_zero : bool
        Refine the zero offset (starting from 0); otherwise ``zero_offset_deg`` is
        subtracted and fixed.
    zero_offset_deg : float
        Fixed zero offset (deg), used only when ``refine_zero`` is false.
    phase : str
        Phase name recorded in the result.
    input_file : str, optional
        Source file recorded in the history.

    Returns
    -------
    LatticeFit
        Refined cell with errors, zero offset (deg) and its error, per-peak residuals,
        RMS residual (deg), wavelength and history.

    Raises
    ------
    DataError
        Fewer peaks than free parameters + 1, or a singular fit.
    ParameterError
        Unknown crystal system.
    """
    from scipy.optimize import least_squares

    from charsuite.model import history_record

    if crystal_system not in FREE:
        raise ParameterError(
            f"crystal_system {crystal_system!r}; expected one of {', '.join(FREE)}"
        )
    tth = np.asarray(two_theta, dtype=float)
    h = np.atleast_2d(np.asarray(hkl, dtype=float))
    names = FREE[crystal_system]
    n_par = len(names) + (1 if refine_zero else 0)
    if tth.size < n_par + 1:
        raise DataError(
            f"{tth.size} indexed peaks for {n_par} free parameters ({', '.join(names)}"
            f"{', zero' if refine_zero else ''}); need at least {n_par + 1}. Widen the 2θ "
            "range, fix the zero offset (external standard) or lower the detection threshold"
        )
    w = np.ones_like(tth) if sigma is None else 1.0 / np.maximum(np.asarray(sigma, float), 1e-5)
    start_cell = tuple(float(v) for v in cell)
    key = {"a": 0, "b": 1, "c": 2, "alpha": 3, "beta": 4, "gamma": 5}
    p0 = [start_cell[key[n]] for n in names] + ([0.0] if refine_zero else [])
    lin = _linear_start(
        tth - zero_offset_deg * (not refine_zero), h, crystal_system, wavelength_angstrom, w
    )
    if lin is not None and all(
        abs(lin[n] / start_cell[key[n]] - 1) < 0.05 for n in names if n in ("a", "b", "c")
    ):
        # LM then converges in a few steps from the linear solution (zero refined from 0)
        p0 = [lin[n] for n in names] + ([0.0] if refine_zero else [])

    def model(p):
        c = _expand(p[: len(names)], names, start_cell, crystal_system)
        z = p[-1] if refine_zero else zero_offset_deg
        return two_theta_of(h, c, wavelength_angstrom) + z

    def resid(p):
        r = (model(p) - tth) * w
        return np.where(np.isfinite(r), r, 1e3)

    fit = least_squares(resid, p0, x_scale="jac", method="lm")
    dof = max(tth.size - n_par, 1)
    chi2 = float(np.sum(fit.fun**2) / dof)
    try:
        cov = np.linalg.inv(fit.jac.T @ fit.jac) * (chi2 if sigma is None else max(chi2, 1.0))
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError as e:
        raise DataError(
            "lattice refinement is singular: the peaks do not constrain every cell parameter "
            "(e.g. only 00l reflections); add reflections with other indices"
        ) from e
    if tth.size == n_par:
        err = np.full_like(err, np.nan)
    cellf = _expand(fit.x[: len(names)], names, start_cell, crystal_system)
    errs = dict.fromkeys(("a", "b", "c", "alpha", "beta", "gamma"), 0.0)
    for i, n in enumerate(names):
        errs[n] = float(err[i])
    if crystal_system in ("cubic", "tetragonal", "hexagonal", "trigonal"):
        errs["b"] = errs["a"]
    if crystal_system == "cubic":
        errs["c"] = errs["a"]
    lattice = {}
    for k, v in zip(("a", "b", "c", "alpha", "beta", "gamma"), cellf):
        lattice[k] = float(v)
        lattice[f"{k}_err"] = errs[k]
    a, b, c, al, be, ga = cellf
    ca, cb, cg = np.cos(np.radians([al, be, ga]))
    lattice["volume"] = float(a * b * c * np.sqrt(1 - ca**2 - cb**2 - cg**2 + 2 * ca * cb * cg))
    calc = model(fit.x)
    peaks = [
        {
            "hkl": [int(v) for v in hh],
            "two_theta_obs": float(o),
            "two_theta_calc": float(cc),
            "residual_deg": float(o - cc),
        }
        for hh, o, cc in zip(h, tth, calc)
    ]
    zero = float(fit.x[-1]) if refine_zero else float(zero_offset_deg)
    return LatticeFit(
        phase=phase,
        crystal_system=crystal_system,
        lattice=lattice,
        zero_offset_deg=zero,
        zero_offset_err_deg=float(err[-1]) if refine_zero else 0.0,
        peaks_used=peaks,
        rms_residual_deg=float(np.sqrt(np.mean((tth - calc) ** 2))),
        wavelength_angstrom=float(wavelength_angstrom),
        history=[
            history_record(
                "refine_lattice",
                function="charsuite.xrd.refine_lattice",
                parameters={
                    "phase": phase,
                    "crystal_system": crystal_system,
                    "refine_zero": refine_zero,
                    "zero_offset_deg": zero_offset_deg,
                    "n_peaks": int(tth.size),
                    "wavelength_angstrom": wavelength_angstrom,
                },
                input_file=input_file,
            )
        ],
    )
