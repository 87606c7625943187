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
from charsuite.xrd._profile_tch import LineWindows, fcj_kernel, line_windows, tch_width


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
    _pcache: dict = dataclasses.field(default_factory=dict)
    _hkl: np.ndarray | None = None

    def strengths(self, cell, sp, r, geom, tth_hkl):
        """Σ|F|²·P per line and the allowed-line mask, cached on (cell, sites, r).

        Profile-only parameter steps (widths, zero) then reuse the structure factors.
        """
        key = (tuple(cell), sp, r, geom.energy_ev, geom.incidence_deg)
        if key not in self._scache:
            fmat, bound = _fmat(self, cell, geom.energy_ev)
            tex = _texture(self, cell, r, geom, tth_hkl)
            strength = st.line_strengths(
                self.structure, cell, sp, fmat, tex, phases=self._phases(sp)
            )
            if len(self._scache) > 64:
                self._scache.clear()
            allowed = st.allowed_lines(self.structure, strength, fmat, bound)
            self._scache[key] = (strength, allowed)
        return self._scache[key]

    def _phases(self, sp):
        """exp(2πi h·r) at the atom positions of ``sp`` (only O z moves atoms), cached."""
        if sp.o_z not in self._pcache:
            if len(self._pcache) > 8:
                self._pcache.clear()
            frac = st.atom_state(self.structure, sp)[1]
            self._pcache[sp.o_z] = st.phase_matrix(self.structure, frac)
        return self._pcache[sp.o_z]

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
    axial: tuple | None = None  # (S/L, H/L) of the FCJ axial-divergence asymmetry, or None


@dataclasses.dataclass(frozen=True)
class PhaseLines:
    """Lines of one phase at the current parameters (for ticks, Bragg R, plots).

    ``two_theta``, ``hkl``, ``intensity``: the Kα1 lines in range; ``windows``: the unit-area
    profiles of every row in range (Kα1 and Kα2) with ``area`` per profile; ``select``: their
    rows in ``table`` (the full :class:`LineTable`). With the FCJ asymmetry each row is a sum
    of shifted profiles (:func:`sublines`); ``sub_row`` maps each profile to its row in
    ``select``.
    """

    two_theta: np.ndarray
    hkl: np.ndarray
    intensity: np.ndarray
    windows: LineWindows
    area: np.ndarray
    select: np.ndarray
    table: LineTable
    sub_row: np.ndarray


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
    """Scattering factors at every hkl's q and the line bounds; refreshed when the cell moves by > 1e-4."""
    key = (
        tuple(np.round(np.log(np.asarray(cell[:3])) * 1e4).astype(int))
        + tuple(np.round(cell[3:], 2))
        + (energy_ev,)
    )
    if key not in ph._fcache:
        inv_d = np.linalg.norm(ph.structure.hkl @ st.reciprocal_matrix(cell), axis=1)
        ph._fcache.clear()
        fmat = st.scattering_factors(ph.structure.elements, 2 * np.pi * inv_d, energy_ev)
        ph._fcache[key] = (fmat, st.strength_bound(ph.structure, fmat))
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


@dataclasses.dataclass(frozen=True)
class LineTable:
    """Every line of one phase at one parameter state: Kα1 rows, then the Kα2 copies.

    ``bragg`` is the unshifted 2θ (NaN where λ/2d ≥ 1), ``valid`` marks allowed lines
    with a Bragg angle; ``center``, ``fwhm``, ``eta``, ``area`` are the profile inputs.
    """

    bragg: np.ndarray
    center: np.ndarray
    fwhm: np.ndarray
    eta: np.ndarray
    area: np.ndarray
    valid: np.ndarray


def line_table(ph: PhaseSetup, values: dict, geom: Geometry) -> LineTable:
    """Positions, widths, shapes and areas (unit scale) of all lines of a phase."""
    s = ph.structure
    cell = cell_of(ph, values)
    d = st.line_d(s, cell)
    tth1, ok = _bragg_angles(d, geom.wavelength)
    strength, allowed = ph.strengths(
        cell,
        site_params(ph, values),
        values.get(f"{s.name}.march_r"),
        geom,
        np.nan_to_num(tth1[s.group], nan=90),
    )
    emissions = [(tth1, 1.0)]
    if geom.wavelength2 is not None:
        emissions.append((_bragg_angles(d, geom.wavelength2)[0], values.get("ka2_ratio", 0.5)))
    bragg = np.concatenate([t for t, _ in emissions])
    ratio = np.concatenate([np.full(len(t), r) for t, r in emissions])
    valid = np.tile(ok & allowed, len(emissions)) & np.isfinite(bragg)
    tth = np.where(valid, bragg, 90.0)  # placeholder angle for rows that are never used
    area = ratio * np.tile(strength, len(emissions)) * _lp_abs(tth, ph, geom)
    return LineTable(bragg, *_line_shape(tth, ph, values, geom), area, valid)


#: Parameters that move or broaden the lines but leave the Bragg angles and areas alone.
SHAPE_ONLY = frozenset({"zero_deg", "displacement_um", "U", "V", "W", "X", "Y"})


def _shape_only(name: str) -> bool:
    return name in SHAPE_ONLY or name.endswith((".X", ".Y"))


def _line_shape(tth, ph: PhaseSetup, values: dict, geom: Geometry):
    """(center, fwhm, eta) of lines at Bragg angles ``tth``: shifts and TCH widths."""
    center = tth + _shift(tth, ph, values, geom)
    n = ph.name
    fwhm, eta = tch_width(
        center,
        u=values.get("U", 0.0),
        v=values.get("V", 0.0),
        w=values.get("W", 0.004),
        x=values.get("X", 0.0) + values.get(f"{n}.X", 0.0),
        y=values.get("Y", 0.0) + values.get(f"{n}.Y", 0.0),
    )
    return center, fwhm, eta


def sublines(t: LineTable, sel, geom: Geometry):
    """(center, fwhm, eta, area, row) of the profiles that make up rows ``sel`` of ``t``.

    Without axial asymmetry one profile per row; with it (``geom.axial`` = (S/L, H/L)) each
    row is FCJ_NODES × 2 copies at the offsets and weights of :func:`fcj_kernel`.
    """
    c, w, e, a = t.center[sel], t.fwhm[sel], t.eta[sel], t.area[sel]
    if geom.axial is None:
        return c, w, e, a, np.arange(len(sel))
    off, wt = fcj_kernel(t.bragg[sel], *geom.axial)
    k = off.shape[1]
    rep = np.repeat(np.arange(len(sel)), k)
    return (c[:, None] + off).ravel(), w[rep], e[rep], (a[:, None] * wt).ravel(), rep


def phase_lines(x, ph: PhaseSetup, values: dict, geom: Geometry, *, derivatives=False):
    """Profile of one phase at unit scale: the lines in range as windows (``line_windows``)."""
    t = line_table(ph, values, geom)
    lo, hi = x[0] - 1.0, x[-1] + 1.0
    sel = np.flatnonzero(t.valid & (t.bragg > lo) & (t.bragg < hi))
    first = sel[sel < ph.structure.n_lines]  # Kα1 rows
    center, fwhm, eta, area, row = sublines(t, sel, geom)
    windows = line_windows(x, center, fwhm, eta, derivatives=derivatives)
    return PhaseLines(
        two_theta=t.center[first],
        hkl=ph.hkl()[first],
        intensity=t.area[first],
        windows=windows,
        area=area,
        select=sel,
        table=t,
        sub_row=row,
    )


def phase_profile(pl: PhaseLines, n_points: int) -> np.ndarray:
    """Unit-scale pattern of one phase on the grid."""
    return pl.windows.sum(pl.area, n_points)


def line_derivatives(ph, values, geom, pl: PhaseLines, names, steps) -> np.ndarray:
    """∂(A_h, A_h·2θ_h, A_h·Γ_h, A_h·η_h)/∂p for the rows in range: (4·rows, len(names)).

    Rows (one per profile of :func:`sublines`) are ordered as the blocks of
    ``LineWindows.jacobian_basis`` (area, then the area
    times the position, width and shape derivatives), by a forward difference of
    :func:`line_table` (cheap: no profile evaluation; the steps are 10⁻⁴ of the typical
    parameter step). A line that vanishes under the step contributes nothing.
    """
    t0, sel = pl.table, pl.select
    base = sublines(t0, sel, geom)
    n_sub = len(base[0])
    out = np.zeros((4 * n_sub, len(names)))
    for j, (name, h) in enumerate(zip(names, steps)):
        moved = dict(values)
        moved[name] = moved[name] + h
        if _shape_only(name):  # Bragg angles and areas unchanged: only re-shape the lines
            tth = np.where(t0.valid, t0.bragg, 90.0)
            shape = _line_shape(tth, ph, moved, geom)
            t1 = dataclasses.replace(t0, center=shape[0], fwhm=shape[1], eta=shape[2])
        else:
            t1 = line_table(ph, moved, geom)
        same = t1.valid[sel][base[4]]
        moved_sub = sublines(t1, sel, geom)
        # blocks: area, then area × (center, fwhm, eta) derivatives (LineWindows.jacobian_basis)
        for k, i in enumerate((3, 0, 1, 2)):
            d = np.where(same, (moved_sub[i] - base[i]) / h, 0.0)
            out[k * n_sub : (k + 1) * n_sub, j] = d if k == 0 else d * pl.area
    return out


def profile_derivatives(pl: PhaseLines, dlines: np.ndarray) -> np.ndarray:
    """∂(unit-scale phase profile)/∂p on the grid (n_points × n_par), chain rule.

    ∂y/∂p = Σ_h [Φ_h ∂A_h/∂p + A_h (∂Φ_h/∂2θ_h ∂2θ_h/∂p + ∂Φ_h/∂Γ_h ∂Γ_h/∂p + ∂Φ_h/∂η_h ∂η_h/∂p)]
    with the analytic profile derivatives as a sparse (points × 4·rows) matrix.
    """
    return (pl.windows.jacobian_basis() @ dlines.astype(np.float32)).astype(float)


def chebyshev_basis(x, n_terms: int) -> np.ndarray:
    """Chebyshev T_0…T_{n−1} of x mapped to [−1, 1] (columns)."""
    t = 2 * (x - x[0]) / max(x[-1] - x[0], 1e-12) - 1
    return np.polynomial.chebyshev.chebvander(t, max(n_terms - 1, 0))[:, :n_terms]


def design_matrix(x, phases, values, geom, n_bkg, *, derivatives=False):
    """Columns: unit-scale profile of each phase, then the background terms."""
    cols, lines = [], []
    for ph in phases:
        pl = phase_lines(x, ph, values, geom, derivatives=derivatives)
        cols.append(phase_profile(pl, len(x)))
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


def project_out(aw, m):
    """(I − P) m with P the orthogonal projector on the columns of ``aw`` (normal equations)."""
    if aw.shape[1] == 0:
        return m
    norm = np.linalg.norm(aw, axis=0)
    norm[norm == 0] = 1.0
    an = aw / norm
    coef, *_ = np.linalg.lstsq(an.T @ an, an.T @ m, rcond=1e-12)
    return m - an @ coef
