"""Rietveld stage 3: the whole-pattern model, y = b + Σ_p S_p Σ_h I_h Φ(2θ − 2θ_h − Δ).

Per phase and line h: I_h = Σ|F|²·P_h (``_structure``) × LP(2θ) × A(2θ), one copy per
emission line (Kα1, and Kα2 × ratio); Φ is the TCH pseudo-Voigt (``_profile_tch``).
The scales S_p and the Chebyshev background are linear and solved in every evaluation
(variable projection); everything else is a named nonlinear parameter.

Peak shift Δ = Z (zero) − (2s/R) cos θ (Bragg–Brentano specimen displacement s) + the
grazing-incidence refraction shift of the phase (``_gi.refraction_shift``, fixed).
LP = (1 + K cos²2θ)/[(1 + K) sin²θ cos θ]; A = 1 (thick BB sample) or the fixed-incidence
film factor of ``_gi.absorption_factor``; March–Dollase texture along a chosen hkl,
averaged over the cone at tilt ψ = θ − αᵢ in fixed incidence (``_gi.texture_factor``).

References
----------
.. [1] H. M. Rietveld, J. Appl. Cryst. 2, 65 (1969).
.. [2] G. H. Golub, V. Pereyra, Inverse Problems 19, R1 (2003) (variable projection).
.. [3] W. A. Dollase, J. Appl. Cryst. 19, 267 (1986).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from charsuite.xrd import _structure as st
from charsuite.xrd._profile_tch import gather_lines, tch_width


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One nonlinear parameter: start value, bounds, typical step (for scaling)."""

    name: str
    value: float
    lower: float
    upper: float
    step: float


@dataclasses.dataclass
class PhaseSetup:
    """Fixed data of one phase for the model (structure, optics, texture axis)."""

    structure: st.PhaseStructure
    delta: float
    mu_per_um: float
    texture_axis: tuple | None
    _fcache: dict = dataclasses.field(default_factory=dict)
    _scache: dict = dataclasses.field(default_factory=dict)
    _hkl: np.ndarray | None = None

    def strengths(self, cell, sp, r, geom, tth_hkl):
        """Σ|F|²·P per line and the allowed-line mask, cached on (cell, sites, r).

        Profile-only parameter steps (widths, zero) then reuse the structure factors.
        """
        key = (tuple(cell), sp, r)
        if key not in self._scache:
            fmat = _fmat(self, cell, geom.energy_ev)
            tex = _texture(self, cell, r, geom, tth_hkl)
            strength = st.line_strengths(self.structure, cell, sp, fmat, tex)
            if len(self._scache) > 64:
                self._scache.clear()
            self._scache[key] = (strength, st.allowed_lines(self.structure, strength, fmat))
        return self._scache[key]

    def hkl(self) -> np.ndarray:
        if self._hkl is None:
            self._hkl = st.line_hkl(self.structure)
        return self._hkl

    @property
    def name(self) -> str:
        return self.structure.name


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Measurement geometry and radiation shared by all phases."""

    incidence_deg: float | None
    film_thickness_nm: float | None
    wavelength: float
    wavelength2: float | None
    polarisation_k: float
    goniometer_radius_mm: float
    energy_ev: float


@dataclasses.dataclass(frozen=True)
class PhaseLines:
    """Lines of one phase at the current parameters (for ticks, Bragg R, plots)."""

    two_theta: np.ndarray
    hkl: np.ndarray
    intensity: np.ndarray
    idx: np.ndarray
    val: np.ndarray


def phase_value(values: dict, phase: str, key: str, default=None):
    return values.get(f"{phase}.{key}", default)


def cell_of(ph: PhaseSetup, values: dict) -> tuple:
    """Current (a, b, c, α, β, γ) of a phase."""
    s = ph.structure
    start = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), s.cell0))
    free = {k: values.get(f"{s.name}.{k}", start[k]) for k in st.CELL_FREE[s.system]}
    return st.full_cell(s.system, free)


def site_params(ph: PhaseSetup, values: dict) -> st.SiteParams:
    n = ph.name
    return st.SiteParams(
        b_overall=values.get(f"{n}.B", 0.0),
        b_oxygen=values.get(f"{n}.B_O"),
        x_exchange=values.get(f"{n}.x_NiLi"),
        o_z=values.get(f"{n}.z_O"),
    )


def _fmat(ph: PhaseSetup, cell, energy_ev):
    """Scattering factors at every hkl's q; refreshed when the cell moves by > 1e-4."""
    key = tuple(np.round(np.log(np.asarray(cell[:3])) * 1e4).astype(int)) + tuple(
        np.round(cell[3:], 2)
    )
    if key not in ph._fcache:
        inv_d = np.linalg.norm(ph.structure.hkl @ st.reciprocal_matrix(cell), axis=1)
        ph._fcache.clear()
        ph._fcache[key] = st.scattering_factors(ph.structure.elements, 2 * np.pi * inv_d, energy_ev)
    return ph._fcache[key]


def _texture(ph: PhaseSetup, cell, r, geom: Geometry, tth_hkl):
    """March–Dollase weight per hkl (None when no texture axis or r = 1)."""
    from charsuite.xrd._gi import march_dollase, texture_factor

    if ph.texture_axis is None or r is None:
        return None
    bstar = st.reciprocal_matrix(cell)
    g = ph.structure.hkl @ bstar
    ax = np.asarray(ph.texture_axis, float) @ bstar
    cosphi = g @ ax / (np.linalg.norm(g, axis=1) * np.linalg.norm(ax))
    phi = np.degrees(np.arccos(np.clip(np.abs(cosphi), 0, 1)))
    if geom.incidence_deg is None:
        return march_dollase(r, phi)
    psi = np.clip(tth_hkl / 2 - geom.incidence_deg, 0, 90)
    return texture_factor(r, phi, psi_deg=psi, n_chi=24)


def _lp_abs(tth, ph: PhaseSetup, geom: Geometry):
    from charsuite.xrd._gi import absorption_factor

    th = np.radians(tth / 2)
    k = geom.polarisation_k
    lp = (1 + k * np.cos(2 * th) ** 2) / ((1 + k) * np.sin(th) ** 2 * np.cos(th))
    if geom.incidence_deg is None:
        return lp
    a = absorption_factor(
        tth,
        incidence_angle_deg=geom.incidence_deg,
        mu_per_um=ph.mu_per_um,
        thickness_nm=geom.film_thickness_nm,
    )
    return lp * a * ph.mu_per_um  # A·μ: dimensionless, → 1/2 for a thick symmetric sample


def _shift(tth, ph: PhaseSetup, values: dict, geom: Geometry):
    from charsuite.xrd._gi import refraction_shift

    out = values.get("zero_deg", 0.0) + 0 * tth
    s_um = values.get("displacement_um", 0.0)
    if geom.incidence_deg is None:
        out = out - np.degrees(
            2 * s_um * 1e-3 / geom.goniometer_radius_mm * np.cos(np.radians(tth / 2))
        )
    else:
        out = out + refraction_shift(tth, incidence_angle_deg=geom.incidence_deg, delta=ph.delta)
    return out


def _bragg_angles(d, lam):
    s = lam / (2 * d)
    ok = s < 0.999
    return np.where(ok, 2 * np.degrees(np.arcsin(np.clip(s, 0, 0.999))), np.nan), ok


def phase_lines(x, ph: PhaseSetup, values: dict, geom: Geometry) -> PhaseLines:
    """Profile of one phase at unit scale, as gathered windows (see ``gather_lines``)."""
    s = ph.structure
    cell = cell_of(ph, values)
    d = st.line_d(s, cell)
    tth1, ok = _bragg_angles(d, geom.wavelength)
    tth_hkl = tth1[s.group]
    strength, allowed = ph.strengths(
        cell,
        site_params(ph, values),
        values.get(f"{s.name}.march_r"),
        geom,
        np.nan_to_num(tth_hkl, nan=90),
    )
    lines = [(tth1, 1.0)]
    if geom.wavelength2 is not None:
        lines.append((_bragg_angles(d, geom.wavelength2)[0], values.get("ka2_ratio", 0.5)))
    cen, area, keep = [], [], []
    lo, hi = x[0] - 1.0, x[-1] + 1.0
    for tth, ratio in lines:
        m = ok & np.isfinite(tth) & (tth > lo) & (tth < hi) & allowed
        cen.append(tth[m] + _shift(tth[m], ph, values, geom))
        area.append(ratio * strength[m] * _lp_abs(tth[m], ph, geom))
        keep.append(np.flatnonzero(m))
    n1 = len(keep[0])
    cen, area = np.concatenate(cen), np.concatenate(area)
    keep = np.concatenate(keep)
    fwhm, eta = tch_width(
        cen,
        u=values.get("U", 0.0),
        v=values.get("V", 0.0),
        w=values.get("W", 0.004),
        x=values.get("X", 0.0) + values.get(f"{s.name}.X", 0.0),
        y=values.get("Y", 0.0) + values.get(f"{s.name}.Y", 0.0),
    )
    idx, val = (
        gather_lines(x, cen, fwhm, eta) if len(cen) else (np.zeros((0, 1), int), np.zeros((0, 1)))
    )
    return PhaseLines(
        two_theta=cen[:n1],
        hkl=ph.hkl()[keep[:n1]],
        intensity=area[:n1],
        idx=idx,
        val=val * area[:, None],
    )


def chebyshev_basis(x, n_terms: int) -> np.ndarray:
    """Chebyshev T_0…T_{n−1} of x mapped to [−1, 1] (columns)."""
    t = 2 * (x - x[0]) / max(x[-1] - x[0], 1e-12) - 1
    return np.polynomial.chebyshev.chebvander(t, max(n_terms - 1, 0))[:, :n_terms]


def design_matrix(x, phases, values, geom, n_bkg):
    """Columns: unit-scale profile of each phase, then the background terms."""
    cols, lines = [], []
    for ph in phases:
        pl = phase_lines(x, ph, values, geom)
        cols.append(np.bincount(pl.idx.ravel(), weights=pl.val.ravel(), minlength=len(x)))
        lines.append(pl)
    return np.column_stack([*cols, chebyshev_basis(x, n_bkg)]), lines


def solve_linear(a, y, wt, n_phase):
    """Weighted least squares for the linear coefficients; phase scales kept ≥ 0.

    Normal equations with column scaling (fast for n ≫ columns); a phase whose scale
    comes out negative is removed and the system re-solved.
    """
    active = np.ones(a.shape[1], bool)
    coef = np.zeros(a.shape[1])
    aw = a * wt[:, None]
    yw = y * wt
    for _ in range(n_phase + 1):
        sub = aw[:, active]
        norm = np.linalg.norm(sub, axis=0)
        norm[norm == 0] = 1.0
        sn = sub / norm
        c, *_ = np.linalg.lstsq(sn.T @ sn, sn.T @ yw, rcond=1e-12)
        coef[:] = 0.0
        coef[active] = c / norm
        neg = np.flatnonzero(active[:n_phase] & (coef[:n_phase] < 0))
        if not len(neg):
            break
        active[neg] = False
    return coef
