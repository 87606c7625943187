"""Search–match phase identification with a documented figure of merit.

Two stages: every reference phase is first scored on its own (is the phase *compatible*
with the observed peaks?), then the compatible phases are fitted jointly to the peak list
and only those that explain something no other phase explains are kept (is the phase
*needed*?).

Stage 1 — alignment and figure of merit (per phase)
---------------------------------------------------
The stick pattern (:mod:`charsuite.xrd._library`, optionally weighted by the
grazing-incidence absorption factor and shifted by refraction) is aligned with the fitted
observed peaks over a grid of an isotropic cell scale s (d → s·d, |s − 1| ≤ ``max_strain``)
and a common zero offset z (|z| ≤ ``max_zero_offset_deg``), using the phase's strong lines
(≥ 5 % of its strongest line in the scanned range). The alignment maximises coverage ×
(0.5 + 0.5·P) (terms below) with each hit weighted by min(1, significance/3) — a peak
counts fully from 3σ — minus the FoM's strain penalty: with few lines, a strained cell plus
a zero offset could otherwise land two lines on two noise-level bumps. A line is *matched* when an observed
peak lies within ``tol_deg`` of it (within clip(FWHM/2, tol, 2·tol) of a broad observed peak,
which is an unresolved blend of lines, when ``obs_fwhm`` is given). Phases listed in
``strain`` (solid solutions, e.g. Li_xMn2O4 ±3 %) get their own scale window. Non-cubic phases are then *cell-adjusted*: the
reciprocal metric allowed by the crystal system (e.g. a, c for hexagonal; a, b, c, β for
monoclinic) is fitted by linear least squares to the matched lines (z fixed) and accepted
if no d-spacing moves by more than 1.5·``max_strain``; the lines are then matched again.
Real samples deviate anisotropically from a literature cell (solid solutions, Li content,
strain); without this step a phase whose close line pairs merged (Li2MnO3 (20-2)/(131))
loses lines an isotropic scale cannot reach.

*Declared cell ranges* (``cell_range``; :func:`charsuite.xrd.phase_cell_range`): a layered
cathode on charge changes its cell by 2 % per axis in opposite directions (Li(1−x)NiO2-type: c
up, then collapsing; a down), beyond what an isotropic scale plus a 1.5 % adjustment reaches.
Such a phase is first scored as above; its result also pays STRAIN_PENALTY·(δ/t)² for a cell
δ outside the declared range widened by the decide stage's tolerance t = 0.5 %. If it stays
below ``threshold`` (the phase is not there as made), it is aligned again on a grid of one
scale per cell length (the lengths the reciprocal metric scales independently: a; a, c; a,
b, c for cubic to orthorhombic metrics) over the range ± ``max_strain`` — coarse (3 steps of
0.0005), then fine around the three best coarse points — and cell-adjusted as above. That
result replaces the first when its adjusted cell lies outside the isotropic window, inside
the widened range, and its FoM is higher; its strain prior is :data:`RANGE_PRIOR` (= the
isotropic prior at the window's edge) and the number of independent trials in F counts the
cell positions along every searched axis. A cell near the library cell is therefore judged
exactly as for a phase without a range, and isostructural siblings whose ranges overlap
(NMC811, LiNiO2, LiCoO2 along their charge curves) compete on equal priors there.

Figure of merit (0…1)::

    FoM = C · (0.5 + 0.5·P) · (0.7 + 0.3·R) · (1 − F) − 0.1·(|s − 1|/max_strain)²

C  coverage: fraction of the phase's strong-line intensity that is matched;
P  position agreement: 1 − ⟨|Δ2θ|/tol⟩ over matched lines, intensity weighted;
R  intensity agreement: 1 − ½·Σ|f_obs − f_ref| over matched lines (f = normalised
   intensities; texture lowers R, which is why its weight is small);
F  false-match probability: with p = min(1, Σ 2·tol_j/Δ2θ) the chance that one line
   falls near some observed peak (the sum runs over peaks ≥ 3 % of the strongest and,
   when significances are given, ≥ 3σ),
   F = min(1, N_trials · P[Binomial(n, p) ≥ k]) for k matched of n strong lines,
   N_trials the number of independent (s, z) trials. Phases with few lines in a crowded
   pattern (e.g. α-Fe with two lines) are therefore not reported on coincidences.

A phase is *compatible* if FoM ≥ ``threshold`` (default :data:`ACCEPT_THRESHOLD`; phases
declared ``expected``, e.g. a known substrate, use ``expected_threshold``), at least
two strong lines match (whether two lines are enough is decided on the whole pattern, by
:mod:`charsuite.xrd._decide`). All phases share one zero offset: the compatible phase explaining
most of the observed intensity fixes it, and the others are re-aligned within ± 0.05°.

Stage 2 — joint explanation (which compatible phases are needed)
----------------------------------------------------------------
Solid solutions may coexist at two cells (the Li-rich and Li-poor spinels of a charged
Li_xMn2O4 electrode): a phase with a ``strain`` window is aligned a second time at scales
whose lines are resolved from the first (|Δs| ≥ tol/tan θ_mid), as candidate
``"name (2)"``.

The compatible phases are fitted together to the peak list by non-negative least squares
in square-root intensity space (√ compresses texture errors: a factor 4 in intensity
becomes 2)::

    minimise Σ_j (√I_j − Σ_p k_p √I_pj)² + Σ_missing w_m (k_p √I_pl)²,   k_p ≥ 0

with I_j the observed peak areas (normalised so that Σ I_j = 1), I_pj the summed
reference intensity of phase p's lines matched to peak j, and one *absent-line* term for
every strong line of p without an observed peak (w_m = :data:`MISSING_WEIGHT` = 0.25:
an absent line is weaker evidence than an unexplained observed peak, since texture,
stacking faults or overlap can hide a line but nothing creates one). The explained
intensity of a phase set is E = Σ_j I_j·min(1, m_j/(f·√I_j))² − Σ_p P_p, with m_j the
fitted model at peak j, f = :data:`EXPLAIN_FRACTION` = 0.5 (a peak is fully explained
within a factor 4 in intensity) and P_p the absent-line penalty of p at its scale fitted
alone. The *unique contribution* U_p = E(set) − E(set without p, refitted).

Elimination: first the *superset rule* — a phase whose explained significant peaks
(≥ 3σ, ¼ ≤ model/√I ≤ 4 with the phase fitted alone: a model far above a peak contradicts
it) are, to within 5 % of their significance, also explained by another compatible phase
that explains additional such peaks no third phase explains, and which adds less than
``min_unique_fraction`` to the uncapped √I fit of that other phase, is removed (the
R-3m subcell LiCoO2 next to Li2MnO3, which also explains the superstructure lines;
Li2MnO3 next to NMC811 when its extra lines are substrate lines it does not own; Fe or
Al whose two lines LiF explains). Identical explained sets (isostructural duplicates,
LiNiO2 next to NMC811) lose the phase with the lower FoM. Then backward elimination
removes, one at a time, the phase with the smallest U_p (ties: a non-expected phase, then the lower FoM) while
U_p < ``min_unique_fraction`` (1 % of the pattern's peak intensity; optionally also
U_p < ``min_new_fraction`` × its own explained intensity) or the phase is the main
contributor to no explained significant (≥ 3σ) peak (a unique contribution made only of
topping up other phases' peaks does not demonstrate a phase). Expected phases are only
required to have U_p > 0.

Result: the *accepted* phases, ordered by the intensity they explain. An observed peak is
explained when the joint model reaches half its √intensity (a quarter of its area); all
other peaks are returned as unexplained (``analyze`` reports the ≥ 3σ ones as
unidentified) rather than forced into a phase. Acceptance: FoM ≥ ``ACCEPT_THRESHOLD`` =
0.55 *and* U_p ≥ 1 % (``min_unique_fraction``); both are reported per candidate
(``score``, ``unique_fraction``, ``reason``).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from charsuite.model import Result
from charsuite.xrd._lattice import FREE

#: Documented acceptance threshold of the figure of merit.
ACCEPT_THRESHOLD = 0.55
#: Threshold for phases the user declares as expected (substrates, standards).
EXPECTED_THRESHOLD = 0.35
#: Minimum unique contribution (fraction of the observed peak intensity) of a phase.
MIN_UNIQUE_FRACTION = 0.01
#: FoM penalty at the edge of the strain window (quadratic in |s − 1|/max_strain): an
#: alignment at the edge means the optimum lies outside the window (wrong phase or cell).
STRAIN_PENALTY = 0.1
#: A peak is fully explained when the model reaches this fraction of its √intensity (a
#: factor 4 in intensity: room for texture and imperfect reference intensities); below it
#: the explained part falls off as (model/(f·√I))².
EXPLAIN_FRACTION = 0.5
#: Weight of the absent-line penalty (absent lines may also be texture or stacking faults).
MISSING_WEIGHT = 0.25

_N_CELL_PARAMS = {
    "cubic": 1,
    "tetragonal": 2,
    "hexagonal": 2,
    "trigonal": 2,
    "orthorhombic": 3,
    "monoclinic": 4,
    "triclinic": 6,
}


@dataclasses.dataclass(frozen=True)
class PhaseMatch(Result):
    """Search–match outcome of one phase.

    Attributes
    ----------
    name, role : str
    score : float
        Figure of merit (see module docstring).
    coverage, position_agreement, intensity_agreement, observed_coverage : float
        The FoM terms C, P, R and the fraction of the observed peak area the phase's
        matched peaks carry.
    chance_probability : float
        F, the probability that the match is a coincidence.
    scale, zero_offset_deg : float
        Best isotropic cell scale and zero offset.
    matched : list of (ref index, obs index, Δ2θ)
    n_strong_lines, n_matched_strong : int
    accepted : bool
    reason : str
        Why it was accepted or rejected.
    unique_fraction : float or None
        U, the fraction of the observed peak intensity only this phase explains (joint
        fit, stage 2); None when the phase did not reach stage 2.
    explained_fraction : float or None
        Fraction of the observed peak intensity the phase explains in the joint fit.
    scale_factor : float or None
        Fitted k of the joint √-intensity fit.
    search_cell : tuple or None
        Cell (a, b, c, α, β, γ) after the search's cell adjustment.
    reference : str or None
        Library phase behind the match (differs from ``name`` for a second instance
        ``"name (2)"`` of a solid solution).
    owned : list or None
        Observed peaks (indices into the input) this accepted phase explains best in the
        joint fit; None for rejected candidates.
    alternatives : list or None
        For an accepted phase: ``(name, FoM)`` of compatible phases removed because they
        explain exactly the same significant peaks (isostructural siblings such as
        NMC811/LiNiO2, or a strained layered cell on spinel lines): peak positions alone
        do not exclude them; the higher FoM (intensity and position agreement) decided.
    search_two_theta : ndarray or None
        2θ (deg) of the phase's reflections in range at its search–match alignment (cell,
        zero offset and shifts).
    subsumed : list or None
        For an accepted phase: names of compatible phases the superset rule removed because
        it explains their peaks and more (the decide stage of
        :func:`charsuite.xrd.analyze` lets each challenge it on the whole pattern).
    """

    name: str
    role: str
    score: float
    coverage: float
    position_agreement: float
    intensity_agreement: float
    chance_probability: float
    observed_coverage: float
    scale: float
    zero_offset_deg: float
    matched: list
    n_strong_lines: int
    n_matched_strong: int
    accepted: bool = False
    reason: str = ""
    unique_fraction: float | None = None
    explained_fraction: float | None = None
    scale_factor: float | None = None
    search_cell: tuple | None = None
    reference: str | None = None
    owned: list | None = None
    alternatives: list | None = None
    subsumed: list | None = None
    search_two_theta: np.ndarray | None = None


@dataclasses.dataclass
class _Phase:
    """Reference lines of one phase prepared for the search (in-range, masked)."""

    name: str
    role: str
    index: np.ndarray  # indices into the ReferencePattern arrays
    x: np.ndarray  # 2θ incl. refraction shift (deg)
    shift: np.ndarray
    i: np.ndarray  # intensity incl. GI weight, max 100 in range
    strong: np.ndarray  # required strong lines (≥ 5 %, not optional)
    optional: np.ndarray  # fault-broadened superstructure lines: may be absent
    inrange: np.ndarray
    hkl: np.ndarray
    cell: tuple
    system: str
    wavelength: float
    sin_th: np.ndarray = None  # sin θ_Bragg at scale 1 (refraction removed)
    design: np.ndarray = None  # columns of Q = 1/d² for the crystal system
    coef1: np.ndarray | None = None  # reciprocal-metric coefficients at scale 1
    mid: float = 45.0

    def __post_init__(self):
        self.sin_th = np.sin(np.radians((self.x - self.shift) / 2))
        self.mid = 0.5 * float(self.x.min() + self.x.max())
        self.design = _design(self.hkl, self.system)
        q1 = (2 * self.sin_th / self.wavelength) ** 2
        coef, *_ = np.linalg.lstsq(self.design, q1, rcond=None)
        # None when the setting is not described by the design (e.g. rhombohedral axes)
        ok = np.max(np.abs(self.design @ coef - q1)) <= 1e-6 * np.max(q1)
        self.coef1 = coef if ok else None


#: Position given to lines that do not diffract at the current scale (never matched).
_OUT = -1e3


def _nearest(obs_x, pos):
    """Index of the nearest observed peak and |Δ| for every position (any shape).

    The nearest of sorted peaks changes at the midpoints between neighbours: one
    ``searchsorted`` on the midpoints (a tie goes to the left peak) instead of comparing
    both neighbours — the alignment grid calls this on S·Z·L positions.
    """
    mid = 0.5 * (obs_x[1:] + obs_x[:-1])
    nearest = np.searchsorted(mid, pos, side="left")
    return nearest, np.abs(pos - obs_x[nearest])


def _positions(ph: _Phase, scale, mask=None) -> np.ndarray:
    """Line positions (deg, refraction included, no zero) for cell scale(s) s: (S, L)."""
    sin_th = ph.sin_th if mask is None else ph.sin_th[mask]
    shift = ph.shift if mask is None else ph.shift[mask]
    s_th = sin_th[None, :] / np.atleast_1d(scale)[:, None]
    ok = s_th < 1
    pos = np.degrees(2 * np.arcsin(np.where(ok, s_th, 0.0))) + shift
    return np.where(ok, pos, _OUT)


def _grid_objective(ph, obs_x, obs_sig, tol, base, grid, zeros, lo, hi):
    """Alignment objective on the (S, Z) grid for line positions ``base`` (S, Ls)."""
    pos = base[:, None, :] + zeros[None, :, None]  # (S, Z, Ls)
    nearest, dev = _nearest(obs_x, pos)
    inr = (pos >= lo) & (pos <= hi)
    tj = tol[nearest]
    hit = (dev <= tj) & inr
    w = ph.i[ph.strong][None, None, :] * inr
    total = w.sum(-1)
    # a hit counts in proportion to the evidence that the peak is real (fully from 3σ):
    # with few lines, (s, z) can land them on noise-level bumps with perfect positions
    hit_w = w * hit * np.minimum(1.0, obs_sig[nearest] / 3.0)
    mw = hit_w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(total > 0, mw / total, 0.0)
        p_term = np.where(mw > 0, 1 - (hit_w * dev / tj).sum(-1) / mw, 0.0)
    obj = cov * (0.5 + 0.5 * p_term)
    # tie-break between (s, z) solutions: prefer the one landing on significant peaks, and
    # the smaller strain
    obj = obj + 0.05 * (hit * obs_sig[nearest]).sum(-1) / max(float(obs_sig.sum()), 1e-12)
    # the strain prior of the FoM (STRAIN_PENALTY) already here: with few lines a scale far
    # from 1 plus a zero offset can land any two lines on two unrelated peaks, and the
    # alignment must not prefer that to the unstrained cell at an equally good fit
    return obj - grid.penalty[:, None] - grid.tie[:, None]


def _grid_align(ph, obs_x, obs_sig, tol, grid, zeros, lo, hi):
    """Best (grid index, z) on the grid, using the strong lines only (vectorised)."""
    obj, zeros = _grid_scores(ph, obs_x, obs_sig, tol, grid, zeros, lo, hi)
    si, zi = np.unravel_index(np.argmax(obj), obj.shape)
    return int(si), float(zeros[zi])


def _range_align(ph, obs_x, obs_sig, tol, grid, zeros, lo, hi, max_strain):
    """(fine grid, index, z): per-axis search, coarse (``COARSE`` steps) then fine.

    The fine grid spans ± 2 steps around the three best coarse points: a coarse point lies
    within one step of the optimum, i.e. its lines within 0.05° of their place at 2θ = 80°.
    """
    obj, _ = _grid_scores(ph, obs_x, obs_sig, tol, grid, zeros, lo, hi)
    best = np.argsort(obj.max(axis=1))[::-1][:3]
    fine = grid.around(grid.axes[best], max(max_strain, 1e-9), half=COARSE)
    gi, z = _grid_align(ph, obs_x, obs_sig, tol, fine, zeros, lo, hi)
    return fine, gi, z


def _grid_scores(ph, obs_x, obs_sig, tol, grid, zeros, lo, hi):
    """Alignment objective (S, Z') on the grid and the zeros Z' it was evaluated at.

    Long zero grids are searched coarse-to-fine: every third zero first, then the full
    resolution around the two best coarse zeros (the grid cost is S·Z·L).
    """
    base = grid.positions(ph, ph.strong)  # (S, Ls)
    if zeros.size > 15:
        coarse = zeros[::3]
        obj = _grid_objective(ph, obs_x, obs_sig, tol, base, grid, coarse, lo, hi)
        best_z = coarse[np.argsort(obj.max(axis=0))[::-1][:2]]
        step = 3 * (zeros[1] - zeros[0])
        keep = np.zeros(zeros.size, bool)
        for zc in best_z:
            keep |= np.abs(zeros - zc) <= step + 1e-9
        zeros = zeros[keep]
    return _grid_objective(ph, obs_x, obs_sig, tol, base, grid, zeros, lo, hi), zeros


#: Cell lengths scaled by the columns of :func:`_design` (column k ∝ 1/L_k², no cross
#: term): the crystal systems whose free cell parameters (:data:`_lattice.FREE`) are
#: lengths only, in which a per-axis cell range can be searched.
_AXIS_COLUMNS = {system: free for system, free in FREE.items() if set(free) <= {"a", "b", "c"}}
#: Step of the cell-scale grid (fraction): 0.05° at 2θ = 80° (below the match tolerance).
SCALE_STEP = 0.0005
#: FoM prior of a cell inside a declared cell range but outside the isotropic window
#: |s − 1| ≤ max_strain (a charged or cycled state): the isotropic prior at the window's
#: edge, continued flat along the range. A phase with a range is scored isotropically (as
#: without one) and on its per-axis grid; the per-axis result replaces the isotropic one only
#: when its cell lies outside the isotropic window and its FoM is higher, so that a cell
#: near the library cell is judged exactly as without a range.
RANGE_PRIOR = STRAIN_PENALTY
#: Coarse step of the per-axis grid search (in SCALE_STEP), refined around the best points.
COARSE = 3


@dataclasses.dataclass(frozen=True)
class _ScaleGrid:
    """Cell scales searched for one phase: an isotropic s, or one scale per cell axis.

    Attributes
    ----------
    axes : ndarray, shape (S, K)
        Scale of each independent cell length (K = 1 and ``names`` None: isotropic s).
    names : tuple of str or None
        Cell lengths of the K columns (``_AXIS_COLUMNS``); None for the isotropic grid.
    penalty : ndarray, shape (S,)
        FoM strain prior. Isotropic: STRAIN_PENALTY·(|s − 1|/max_strain)². Per axis:
        min(STRAIN_PENALTY·(max_k |s_k − 1|/max_strain)², :data:`RANGE_PRIOR`) +
        STRAIN_PENALTY·(δ/t)², δ the largest distance of an axis scale outside ``bounds``
        (the declared range widened by the decide stage's cell tolerance t): the isotropic
        prior inside the isotropic window, continued flat along the declared range, rising
        beyond it on the scale of the tolerance (the decide stage rejects such a cell).
    tie : ndarray, shape (S,)
        Tie-break toward the library cell (subtracted from the alignment objective only).
    spans : tuple of float
        Width of the searched window along each axis (for the number of independent trials).
    bounds : ndarray or None, shape (K, 2)
        Declared range of each axis scale ± the tolerance (per-axis grids).
    tolerance : float
        The tolerance t (fraction).
    """

    axes: np.ndarray
    names: tuple | None
    penalty: np.ndarray
    tie: np.ndarray
    spans: tuple
    bounds: np.ndarray | None = None
    tolerance: float = 0.0
    #: (axis scales, ds) of a first instance whose unresolved neighbourhood is left out
    avoid: tuple | None = None

    @classmethod
    def isotropic(cls, max_strain, scales=None):
        """The isotropic grid |s − 1| ≤ max_strain (or the given scales)."""
        ms = float(max_strain)
        sc = (
            np.linspace(1 - ms, 1 + ms, round(2 * ms / SCALE_STEP) + 1)
            if scales is None
            else np.asarray(scales, float)
        )
        pen = STRAIN_PENALTY * (np.abs(sc - 1) / max(ms, 1e-9)) ** 2
        tie = 1e-3 * np.abs(sc - 1) / max(np.ptp(sc), 1e-9)
        # the trial count of the FoM's F uses the top of the grid (as before per-axis grids)
        return cls(sc[:, None], None, pen, tie, (2 * (float(sc[-1]) - 1),))

    @classmethod
    def per_axis(cls, ph, cell_range, max_strain, step=SCALE_STEP, *, tolerance=0.0):
        """Independent scales of the cell lengths over the declared range ± ``max_strain``.

        ``cell_range`` maps a cell length ('a', 'b', 'c') to its declared (lo, hi) in Å
        (:func:`charsuite.xrd._library.cell_length_bounds` for the undeclared ones); the
        prior's ``bounds`` are the range ± ``tolerance`` (the decide stage's cell
        tolerance). None when the phase's metric has cross terms or another setting (the
        caller then searches isotropically).
        """
        names = _AXIS_COLUMNS.get(ph.system)
        if names is None or ph.coef1 is None:
            return None
        ms = max(float(max_strain), 1e-9)
        rel = _relative_ranges(ph.cell, cell_range)
        bounds = np.array([rel["abc".index(n)] for n in names]) + np.array([-1, 1]) * tolerance
        lo_b = np.minimum(bounds[:, 0], 1.0) - ms
        hi_b = np.maximum(bounds[:, 1], 1.0) + ms
        axes1 = [np.linspace(lo, hi, round((hi - lo) / step) + 1) for lo, hi in zip(lo_b, hi_b)]
        axes = np.stack([g.ravel() for g in np.meshgrid(*axes1, indexing="ij")], axis=1)
        spans = tuple(float(hi - lo) for lo, hi in zip(lo_b, hi_b))
        return cls._at(axes, tuple(names), bounds, ms, spans, tolerance)

    @classmethod
    def _at(cls, axes, names, bounds, ms, spans, tolerance):
        """Per-axis grid at the given points (penalty and tie-break computed)."""
        zero = np.zeros(len(axes))
        grid = cls(axes, names, zero, zero, spans, bounds, tolerance)
        dev = np.abs(axes - 1).sum(axis=1)
        tie = 1e-3 * dev / max(float(np.sum(spans)), 1e-9)
        return dataclasses.replace(grid, penalty=grid.penalty_at(axes, ms), tie=tie)

    def penalty_at(self, axes, ms):
        """Per-axis prior at axis scales ``axes`` (S, K): see the class docstring."""
        iso = STRAIN_PENALTY * (np.abs(axes - 1).max(axis=1) / max(float(ms), 1e-9)) ** 2
        return np.minimum(iso, RANGE_PRIOR) + self.out_penalty(axes, ms)

    def out_penalty(self, axes, ms):
        """Out-of-range prior STRAIN_PENALTY·(δ/t)² (t = ``tolerance``, else ``ms``)."""
        b = self.bounds
        out = np.maximum(np.maximum(b[:, 0] - axes, axes - b[:, 1]), 0.0).max(axis=1)
        return STRAIN_PENALTY * (out / max(float(self.tolerance or ms), 1e-9)) ** 2

    def around(self, points, ms, step=SCALE_STEP, half=2):
        """Fine per-axis grid of ± ``half`` steps around each of ``points`` (K-vectors)."""
        off1 = np.arange(-half, half + 1) * step
        off = np.stack(
            [g.ravel() for g in np.meshgrid(*([off1] * len(self.names)), indexing="ij")], axis=1
        )
        pts = np.unique(
            np.round((np.asarray(points)[:, None, :] + off).reshape(-1, len(self.names)), 9), axis=0
        )
        if self.avoid is not None:
            pts = pts[self._resolved(pts)]
        fine = _ScaleGrid._at(pts, self.names, self.bounds, ms, self.spans, self.tolerance)
        return dataclasses.replace(fine, avoid=self.avoid)

    def _resolved(self, axes):
        """Points whose cell differs from ``avoid``'s by ≥ its ds along some axis."""
        point, ds = self.avoid
        return np.max(np.abs(axes - np.asarray(point)[None, :]), axis=1) >= ds

    def avoiding(self, point, ds, ms):
        """The grid without the points unresolved from ``point`` (None if none is left)."""
        grid = dataclasses.replace(self, avoid=(np.asarray(point, float), float(ds)))
        keep = grid._resolved(self.axes)
        if not keep.any():
            return None
        sub = _ScaleGrid._at(
            self.axes[keep], self.names, self.bounds, ms, self.spans, self.tolerance
        )
        return dataclasses.replace(sub, avoid=grid.avoid)

    def coef(self, ph, i):
        """Reciprocal-metric coefficients (``_design`` columns) at grid point i."""
        return ph.coef1 / self.axes[i] ** 2

    def positions(self, ph, mask=None):
        """Line positions (deg, refraction included, no zero) at every grid point: (S, L)."""
        if self.names is None:
            return _positions(ph, self.axes[:, 0], mask)
        design = ph.design if mask is None else ph.design[mask]
        shift = ph.shift if mask is None else ph.shift[mask]
        q = (ph.coef1[None, :] / self.axes**2) @ design.T  # (S, L) 1/d²
        s_th = np.sqrt(np.maximum(q, 0.0)) * ph.wavelength / 2
        ok = s_th < 1
        pos = np.degrees(2 * np.arcsin(np.where(ok, s_th, 0.0))) + shift
        return np.where(ok, pos, _OUT)

    def scale(self, i):
        """Isotropic-equivalent scale at grid point i (geometric mean of the axis scales)."""
        return float(np.exp(np.mean(np.log(self.axes[i]))))

    def cell(self, ph, i):
        """The cell (a, b, c, α, β, γ) at grid point i."""
        if self.names is None:
            s = self.axes[i, 0]
            return tuple(v * s if k < 3 else v for k, v in enumerate(ph.cell))
        f = dict(zip(self.names, self.axes[i]))
        f.setdefault("b", f["a"])
        f.setdefault("c", f["a"])
        return tuple(v * f["abc"[k]] if k < 3 else v for k, v in enumerate(ph.cell))


def _relative_ranges(cell, cell_range):
    """[(lo, hi)] of a, b, c relative to the library cell (:func:`cell_length_bounds`)."""
    from charsuite.xrd._library import cell_length_bounds

    lens = np.asarray(cell[:3], float)
    return [tuple(b) for b in cell_length_bounds(cell, cell_range) / lens[:, None]]


def _design(hkl, system):
    """Columns of Q = 1/d² linear in the reciprocal metric allowed by the crystal system."""
    h, k, l_ = hkl[:, 0], hkl[:, 1], hkl[:, 2]
    if system == "cubic":
        return np.c_[h * h + k * k + l_ * l_]
    if system == "tetragonal":
        return np.c_[h * h + k * k, l_ * l_]
    if system in ("hexagonal", "trigonal"):
        return np.c_[h * h + h * k + k * k, l_ * l_]
    if system == "orthorhombic":
        return np.c_[h * h, k * k, l_ * l_]
    if system == "monoclinic":  # b unique
        return np.c_[h * h, k * k, l_ * l_, h * l_]
    return np.c_[h * h, k * k, l_ * l_, k * l_, h * l_, h * k]


def _adjust_cell(ph, grid, gi, z, matched_lines, obs_x_matched, max_dev):
    """Refit the reciprocal metric to matched lines (z fixed); new line positions or None.

    A linear least-squares fit in Q = 1/d² = (2 sinθ/λ)²: microseconds per phase, which
    keeps the search fast; the full refinement with uncertainties is
    :func:`charsuite.xrd._lattice.refine_lattice` after identification. The reference is
    grid point ``gi`` of ``grid``; no d-spacing may move by more than ``max_dev`` from it.
    """
    npar = _N_CELL_PARAMS.get(ph.system, 6)
    if npar < 2 or ph.coef1 is None or matched_lines.size < npar + 2:
        return None
    lam = ph.wavelength
    q_obs = (2 * np.sin(np.radians((obs_x_matched - z - ph.shift[matched_lines]) / 2)) / lam) ** 2
    if grid.names is None:
        scale = grid.axes[gi, 0]
        q_ref = (2 * ph.sin_th / (scale * lam)) ** 2  # at the grid scale
        coef_ref = ph.coef1 / scale**2
    else:
        coef_ref = grid.coef(ph, gi)
        q_ref = ph.design @ coef_ref
    a_m = ph.design[matched_lines]
    # fit the correction relative to the reference metric (well conditioned)
    corr, _, rank, _ = np.linalg.lstsq(a_m, q_obs - a_m @ coef_ref, rcond=None)
    if rank < npar:
        return None
    q_new = ph.design @ (coef_ref + corr)
    if np.any(q_new <= 0):
        return None
    ratio = np.sqrt(q_ref / q_new)  # d_new / d_ref
    if np.any(np.abs(ratio - 1) > max_dev):
        return None
    s_th = np.sqrt(q_new) * lam / 2
    ok = s_th < 1
    pos = np.degrees(2 * np.arcsin(np.where(ok, s_th, 0.0))) + ph.shift
    return np.where(ok, pos, _OUT), coef_ref + corr


def _evaluate(ph, obs_x, obs_i, tol, lo, hi, pos, p_chance, trials):
    """FoM terms of a phase whose line positions (zero included) are ``pos``."""
    from scipy.special import bdtrc

    nearest, dev = _nearest(obs_x, pos)
    inr = (pos >= lo) & (pos <= hi)
    tj = tol[nearest]
    hit = (dev <= tj) & inr
    w = ph.i * ph.strong * inr
    total = w.sum()
    mw = (w * hit).sum()
    cov = mw / total if total > 0 else 0.0
    p_term = 1 - (w * hit * dev / tj).sum() / mw if mw > 0 else 0.0
    k = int((hit & ph.strong).sum())
    n_lines = int((ph.strong & inr).sum())
    # P[Binomial(n, p) ≥ k] = bdtrc(k − 1, n, p)
    false_p = min(1.0, trials * float(bdtrc(max(k, 1) - 1, max(n_lines, 1), p_chance)))
    chance = 1 - false_p if k > 0 else 0.0
    idx = np.nonzero(hit)[0]
    obs_idx = nearest[idx]
    if idx.size:
        fr = ph.i[idx] / ph.i[idx].sum()
        oi = obs_i[obs_idx]
        fo = oi / oi.sum() if oi.sum() > 0 else fr
        r_term = 1 - 0.5 * float(np.abs(fo - fr).sum())
        o_term = float(obs_i[np.unique(obs_idx)].sum() / max(float(obs_i.sum()), 1e-300))
    else:
        r_term, o_term = 0.0, 0.0
    fom = cov * (0.5 + 0.5 * p_term) * (0.7 + 0.3 * r_term) * chance
    missing = np.nonzero(ph.strong & inr & ~hit)[0]
    return {
        "fom": float(fom),
        "coverage": float(cov),
        "position_agreement": float(p_term),
        "intensity_agreement": float(r_term),
        "chance_probability": float(false_p),
        "observed_coverage": o_term,
        "n_strong_lines": n_lines,
        "n_matched_strong": k,
        "hit_lines": idx,
        "hit_obs": obs_idx,
        "dev": pos[idx] - obs_x[obs_idx],
        "missing": missing,
    }


def _score_phase(ph, obs_x, obs_i, obs_sig, tolj, lo, hi, grid, zeros, p_chance, max_strain):
    """Stage 1 for one phase: grid alignment, cell adjustment, FoM terms."""
    tol = float(np.min(tolj))
    if grid.names is None:
        gi, z = _grid_align(ph, obs_x, obs_sig, tolj, grid, zeros, lo, hi)
    else:
        grid, gi, z = _range_align(ph, obs_x, obs_sig, tolj, grid, zeros, lo, hi, max_strain)
    # independent trials: zero positions × cell positions along each searched axis
    trials = (1 + np.ptp(zeros) / tol) * np.prod([1 + sp * ph.mid / tol for sp in grid.spans])
    base = grid.positions(ph)[gi] if grid.names else _positions(ph, grid.axes[gi, 0])[0]
    ev = _evaluate(ph, obs_x, obs_i, tolj, lo, hi, base + z, p_chance, trials)
    cell = grid.cell(ph, gi)
    penalty = float(grid.penalty[gi])
    new = None
    if ev["hit_lines"].size:
        new = _adjust_cell(
            ph, grid, gi, z, ev["hit_lines"], obs_x[ev["hit_obs"]], max_dev=1.5 * max_strain
        )
        if new is not None:
            # second pass: lines within 2·tol of a peak after the first adjustment (close
            # line pairs that merged into one observed peak pull the cell together)
            near, dv = _nearest(obs_x, new[0] + z)
            sel = np.nonzero(
                (dv <= 2 * tolj[near]) & ph.strong & (new[0] + z >= lo) & (new[0] + z <= hi)
            )[0]
            new2 = _adjust_cell(ph, grid, gi, z, sel, obs_x[near[sel]], max_dev=1.5 * max_strain)
            new = new if new2 is None else new2
        if new is not None:
            npar = _N_CELL_PARAMS.get(ph.system, 6)
            ev2 = _evaluate(ph, obs_x, obs_i, tolj, lo, hi, new[0] + z, p_chance, trials * npar)
            if ev2["fom"] > ev["fom"]:
                ev = ev2
                base = new[0]
                cell = None  # anisotropic: reported by the lattice refinement, not here
                if grid.names is not None:
                    # per-axis search: the prior is that of the adjusted cell
                    penalty = float(
                        grid.penalty_at(np.sqrt(ph.coef1 / new[1])[None], max_strain)[0]
                    )
    ev["fom"] = max(ev["fom"] - penalty, 0.0)
    ev["scale"], ev["zero"], ev["cell"] = grid.scale(gi), z, cell
    ev["positions"] = base + z
    # the searched cell as reciprocal-metric coefficients (None: no axis description)
    ev["coef"] = (
        None
        if ph.coef1 is None
        else (new[1] if cell is None and new is not None else ph.coef1 / grid.axes[gi] ** 2)
    )
    return ev


def _twins_of(name, twins):
    """Every phase removed as an identical twin of ``name``, transitively."""
    out, todo = [], list(twins.get(name, []))
    while todo:
        t = todo.pop()
        if t not in out:
            out.append(t)
            todo += twins.get(t, [])
    return sorted(out)


def _joint(b, cols, miss):
    """NNLS of √intensities; returns (k, residual²)."""
    from scipy.optimize import nnls

    if not cols:
        return np.zeros(0), float(b @ b)
    a = np.vstack(
        [np.column_stack(cols)]
        + [
            np.column_stack([m if q == p else np.zeros_like(m) for q in range(len(cols))])
            for p, m in enumerate(miss)
            if m.size
        ]
    )
    bb = np.concatenate([b, np.zeros(a.shape[0] - b.size)])
    k, rnorm = nnls(a, bb)
    return k, float(rnorm**2)


def _build_phases(references, lo, hi, weights, shifts, optional) -> dict:
    """Phase tables: the reference lines near the scanned range, shifted, weighted, scaled."""
    phases: dict[str, _Phase] = {}
    for name, ref in references.items():
        m = ref.in_range(lo - 2, hi + 2)
        if not np.any(m):
            continue
        idx = np.nonzero(m)[0]
        sh = np.asarray(shifts[name])[m] if shifts and name in shifts else np.zeros(idx.size)
        ri = ref.intensity[m] * (
            np.asarray(weights[name])[m] if weights and name in weights else 1.0
        )
        rx = ref.two_theta[m] + sh
        inr = (rx >= lo) & (rx <= hi)
        if not np.any(inr) or ri[inr].max() <= 0:
            continue
        ri = 100.0 * ri / ri[inr].max()
        opt = (
            np.asarray(optional[name], bool)[m]
            if optional and name in optional
            else np.zeros(idx.size, bool)
        )
        phases[name] = _Phase(
            name=name,
            role=ref.role,
            index=idx,
            x=rx,
            shift=sh,
            i=ri,
            strong=(ri >= 5.0) & ~opt,
            optional=opt,
            inrange=inr,
            hkl=np.array([ref.hkl[i] for i in idx], float),
            cell=tuple(ref.cell),
            system=ref.crystal_system,
            wavelength=float(ref.wavelength_angstrom),
        )
    return phases


def _peak_tolerances(obs_x, obs_i, sig, order, lo, hi, tol_deg, obs_fwhm, significance):
    """Per-peak tolerance and the chance probability of a coincidence.

    A broad observed peak is an unresolved blend and covers lines within half its FWHM (at
    most 2·tol).
    """
    tolj = np.full(obs_x.size, float(tol_deg))
    if obs_fwhm is not None:
        fw = np.nan_to_num(np.asarray(obs_fwhm, float)[order], nan=0.0)
        tolj = np.clip(0.5 * fw, tol_deg, 2 * tol_deg)
    strong_obs = obs_i >= 0.03 * obs_i.max() if obs_i.max() > 0 else np.ones(obs_x.size, bool)
    if significance is not None:
        strong_obs &= sig >= 3.0  # fits below 3σ are not peaks a line could coincide with
    p_chance = min(1.0, float(np.sum(2 * tolj[strong_obs])) / max(hi - lo, 1e-6))
    return tolj, p_chance


class _Stage1:
    """Stage 1 of :func:`match_phases`: per-phase alignment, common zero, gates."""

    def __init__(
        self, phases, args, p_chance, *, max_strain, strain, cell_range, threshold, tol_deg,
        zstep, zeros_all,
    ):  # fmt: skip
        from charsuite.xrd._decide_structure import CELL_TOLERANCE

        self.phases, self.args, self.p_chance = phases, args, p_chance
        self.max_strain, self.strain, self.tol_deg = max_strain, strain, tol_deg
        self.zstep, self.zeros_all = zstep, zeros_all
        self.res: dict = {}
        self.grids: dict = {}
        self.threshold = threshold
        for n, ph in phases.items():
            rng = (cell_range or {}).get(n)
            if not rng:
                continue
            grid = _ScaleGrid.per_axis(
                ph, rng, max_strain, COARSE * SCALE_STEP, tolerance=CELL_TOLERANCE
            )
            if grid is None:
                # metric with cross terms: search isotropically over the widest declared range
                rel = _relative_ranges(ph.cell, rng)
                grid = _ScaleGrid.isotropic(max(abs(v - 1) for b in rel for v in b) + max_strain)
            self.grids[n] = grid

    def scales_of(self, n):
        """Allowed strain of phase n and its grid of isotropic cell scales."""
        ms = float((self.strain or {}).get(n, self.max_strain))
        return ms, np.linspace(1 - ms, 1 + ms, round(2 * ms / SCALE_STEP) + 1)

    def score(self, n, ph, zeros, scales=None):
        """Score phase table ph as candidate n on the zero grid (and optional scale grid).

        A phase with a declared cell range pays the range's out-of-range prior on its
        isotropic result. When that result stays below ``threshold`` (the phase is not there
        as made), the phase is also searched on its per-axis grid (prior
        :data:`RANGE_PRIOR`; the adjustment then allows d to move by 1.5·``max_strain`` from
        the grid point, as for any phase), and that result replaces the isotropic one if its
        cell lies outside the isotropic window, inside the declared range ± the decide
        stage's tolerance (the cell test would reject it otherwise), and its FoM is higher.
        """
        ms, sc = self.scales_of(n)
        grid = _ScaleGrid.isotropic(ms, sc if scales is None else scales)
        ev = _score_phase(ph, *self.args, grid, zeros, self.p_chance, ms)
        rng = self.grids.get(n) if scales is None else None
        if rng is None or rng.names is None or ev["coef"] is None:
            return ev
        ev["fom"] = max(ev["fom"] - float(rng.out_penalty(self._axes(ph, ev), ms)[0]), 0.0)
        if ev["fom"] >= self.threshold:
            return ev
        ev_r = _score_phase(ph, *self.args, rng, zeros, self.p_chance, self.max_strain)
        axes = self._axes(ph, ev_r)
        outside = float(np.max(np.abs(axes - 1))) > self.max_strain
        inside = float(rng.out_penalty(axes, self.max_strain)[0]) == 0.0
        return ev_r if outside and inside and ev_r["fom"] > ev["fom"] else ev

    @staticmethod
    def _axes(ph, ev):
        """Scales (1, K) of the cell lengths of a scored phase relative to the library."""
        return np.sqrt(ph.coef1 / ev["coef"])[None, :]

    def score_all(self):
        """Score and align every phase on the full zero grid."""
        for n, ph in self.phases.items():
            self.res[n] = self.score(n, ph, self.zeros_all)

    def common_zero(self, ok0, threshold, expected_l):
        """Common zero offset: fixed by the compatible phase explaining most observed intensity.

        Returns the zero grid around it (the full grid if no phase passes the gates).
        """
        res = self.res
        if not ok0:
            return self.zeros_all
        anchor = max(ok0, key=lambda n: res[n]["observed_coverage"] * res[n]["fom"])
        z0 = res[anchor]["zero"]
        zeros = np.arange(z0 - 0.05, z0 + 0.05 + 1e-9, min(self.zstep, 0.01))
        for n, ph in self.phases.items():
            hopeless = res[n]["fom"] < 0.6 * threshold and n.lower() not in expected_l
            if abs(res[n]["zero"] - z0) > 0.05 + 1e-9 and not hopeless:
                res[n] = self.score(n, ph, zeros)
        return zeros

    def second_instances(self, names, zeros_now):
        """Second instances "name (2)" of solid solutions, at scales resolved from the first."""
        res = self.res
        for n in names:
            ph = self.phases[n]
            _, sc = self.scales_of(n)
            ds = np.radians(self.tol_deg) / np.tan(np.radians(ph.mid / 2))
            sc2 = sc[np.abs(sc - res[n]["scale"]) >= ds]
            if sc2.size:
                res[f"{n} (2)"] = self.score(n, ph, zeros_now, sc2)
                self.phases[f"{n} (2)"] = ph

    def second_range_instances(self, names, zeros_now):
        """Second instances "name (2)" of phases with a declared cell range.

        A second cell anywhere in the range whose lines are resolved from the first
        instance's (some cell length differs by ≥ tol/tan θ_mid): the coexisting H1/H2/H3
        layered cells of a charged Ni-rich cathode (Ryu et al. 2018), searched on the
        per-axis grid as the first.
        """
        for n in names:
            rng, ph = self.grids.get(n), self.phases[n]
            if rng is None or rng.names is None or self.res[n]["coef"] is None:
                continue
            ds = np.radians(self.tol_deg) / np.tan(np.radians(ph.mid / 2))
            first = self._axes(ph, self.res[n])[0]
            sub = rng.avoiding(first, ds, self.max_strain)
            if sub is None:
                continue
            ev = _score_phase(ph, *self.args, sub, zeros_now, self.p_chance, self.max_strain)
            # the cell adjustment after the alignment may pull it back onto the first cell
            if ev["coef"] is not None and np.max(np.abs(self._axes(ph, ev)[0] - first)) >= ds:
                self.res[f"{n} (2)"] = ev
                self.phases[f"{n} (2)"] = ph


def _promote_second_instances(out: dict, current: list):
    """An accepted "X (2)" whose first instance X was not accepted takes the plain name.

    The second search found the phase's cell and the first did not: the answer names it X
    (and the unused first instance "X (2)"), in every name and reason of the candidates.
    Returns (out, current).
    """
    swap = {}
    for n2 in [n for n in current if n.endswith(" (2)")]:
        n1 = n2[: -len(" (2)")]
        if n1 in out and n1 not in current:
            swap |= {n1: n2, n2: n1}
    if not swap:
        return out, current

    # one pass, longest name first: "X (2)" and "X" trade places wherever they are named
    names = "|".join(re.escape(k) for k in sorted(swap, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{names})(?![A-Za-z0-9])")

    def rename(text):
        return pattern.sub(lambda m: swap[m.group(0)], text)

    def fix(pm):
        return dataclasses.replace(
            pm, name=swap.get(pm.name, pm.name), reason=rename(pm.reason),
            reference=pm.reference or pm.name,
            alternatives=[(swap.get(a, a), f) for a, f in pm.alternatives]
            if pm.alternatives else pm.alternatives,
            subsumed=[swap.get(a, a) for a in pm.subsumed] if pm.subsumed else pm.subsumed,
        )  # fmt: skip

    return {swap.get(n, n): fix(pm) for n, pm in out.items()}, [swap.get(n, n) for n in current]


def _best_per_structure(names, res, references) -> list:
    """Of isostructural candidates (same space group), the one of highest FoM.

    One second cell is searched per structure type: the siblings' second instances would
    be copies of each other's (NMC811, LiNiO2 and LiCoO2 share the layered lattice).
    """
    best: dict = {}
    for n in names:
        sg = getattr(references[n], "space_group", None) or n
        if sg not in best or res[n]["fom"] > res[best[sg]]["fom"]:
            best[sg] = n
    return list(best.values())


def _gate(name, res, phases, sig, *, threshold, expected_l, expected_threshold):
    """(passes, reason): FoM threshold, two strong lines, own superstructure line."""
    r = res[name]
    exp = name.lower() in expected_l
    thr = expected_threshold if exp else threshold
    if r["fom"] < thr:
        return False, f"FoM {r['fom']:.2f} < {thr:.2f}"
    if r["n_matched_strong"] < min(2, r["n_strong_lines"]):
        return False, "fewer than two strong lines matched"
    ph = phases[name]
    if ph.optional.any():
        # a superstructure line must land on a significant peak that no other phase
        # passing the FoM threshold claims (a substrate line is no evidence of order)
        others = set().union(
            *(
                set(res[m]["hit_obs"].tolist())
                for m in res
                if m != name and res[m]["fom"] >= threshold
            )
        )
        own = [
            j
            for li, j in zip(r["hit_lines"], r["hit_obs"])
            if ph.optional[li] and sig[j] >= 3.0 and j not in others
        ]
        if not own:
            return False, (
                "no superstructure line on a ≥ 3σ peak of its own: without one the "
                "phase cannot be told from its subcell"
            )
    return True, ""


class _Stage2:
    """Stage 2 of :func:`match_phases`: joint √-intensity fit with backward elimination."""

    def __init__(self, pool, res, phases, obs_i, sig, real, expected_l, min_unique_fraction):
        self.res, self.sig, self.real = res, sig, real
        self.expected_l, self.min_unique_fraction = expected_l, min_unique_fraction
        self.n_obs = obs_i.size
        norm = float(obs_i.sum()) or 1.0
        b = self.b = np.sqrt(obs_i / norm)
        cols, miss = self.cols, self.miss = {}, {}
        for n in pool:
            r, ph = res[n], phases[n]
            acc = np.zeros(self.n_obs)
            np.add.at(acc, r["hit_obs"], ph.i[r["hit_lines"]])
            cols[n] = np.sqrt(acc)
            miss[n] = np.sqrt(MISSING_WEIGHT * ph.i[r["missing"]])
        # absent-line penalty of each phase, with its intensity scale fitted alone (fixed, so
        # that a phase cannot shed its penalty by sharing peaks with another phase)
        self.pen = {}
        for n in pool:
            k1, _ = _joint(b, [cols[n]], [miss[n]])
            self.pen[n] = float(k1[0] ** 2 * (miss[n] @ miss[n])) if k1.size else 0.0
        # peaks each phase explains on its own (¼ ≤ model/√I ≤ 4), for the superset rule
        self.alone = {}
        for n in pool:
            _, k1, m1 = self.explain([n])
            # two-sided (a model 16× above the peak contradicts it, it does not explain it)
            # and significant peaks only (a 1.4σ bump is no "more")
            okj = (m1 >= 0.5 * EXPLAIN_FRACTION * b) & (m1 <= b / (0.5 * EXPLAIN_FRACTION)) & real
            self.alone[n] = set(np.nonzero(okj)[0].tolist()) if k1.size else set()
        self.unique: dict[str, float] = {}
        self.dropped: dict[str, str] = {}
        self.twins: dict[str, list] = {}  # winner → phases with the identical explained peak set
        self.superseded: dict[str, list] = {}  # winner → phases whose peaks it explains, and more

    def explain(self, names):
        """(E, k, model): explained intensity minus absent-line penalties of a phase set."""
        b, cols = self.b, self.cols
        k, _ = _joint(b, [cols[n] for n in names], [self.miss[n] for n in names])
        model = np.zeros(self.n_obs)
        for n, kk in zip(names, k):
            model += kk * cols[n]
        with np.errstate(invalid="ignore", divide="ignore"):
            e = np.where(b > 0, np.minimum(1.0, model / (EXPLAIN_FRACTION * b)), 0.0)
        return float(np.sum(b**2 * e**2)) - sum(self.pen[n] for n in names), k, model

    def subsumed(self, n, current):
        """Another phase explains (almost) all peaks of n and more (superset rule)."""
        alone, sig, res, b, cols, miss = (
            self.alone,
            self.sig,
            self.res,
            self.b,
            self.cols,
            self.miss,
        )
        sb = alone[n]
        tot = float(sig[list(sb)].sum()) if sb else 0.0
        for m in current:
            if m == n:
                continue
            sa = alone[m]
            # "more": peaks of m that neither n nor any third phase explains
            rest = set().union(*(alone[q] for q in current if q not in (n, m)))
            only_b = float(sig[list(sb - sa)].sum()) if sb - sa else 0.0
            extra = sa - sb - rest
            only_a = float(sig[list(extra)].sum()) if extra else 0.0
            if only_b <= 0.05 * tot and (
                only_a > only_b or (only_a == only_b and res[m]["fom"] > res[n]["fom"])
            ):
                # ... and n adds nothing to the uncapped √I fit once m is there
                r_m = _joint(b, [cols[m]], [miss[m]])[1]
                r_nm = _joint(b, [cols[n], cols[m]], [miss[n], miss[m]])[1]
                if r_m - r_nm < self.min_unique_fraction:
                    return m
        return None

    def superset_rule(self, current):
        """Drop the phases whose peaks another phase explains, with more (smallest first)."""
        res, alone = self.res, self.alone
        while True:
            sup = {
                n: self.subsumed(n, current) for n in current if n.lower() not in self.expected_l
            }
            sup = {n: m for n, m in sup.items() if m is not None}
            if not sup:
                break
            victim = min(sup, key=lambda n: (len(alone[n]), res[n]["fom"]))
            if alone[victim] == alone[sup[victim]]:
                self.twins.setdefault(sup[victim], []).append(victim)
            else:
                self.superseded.setdefault(sup[victim], []).append(victim)
            self.dropped[victim] = (
                f"rejected: compatible (FoM {res[victim]['fom']:.2f}) but {sup[victim]} explains "
                "the same peaks and more (superset rule)"
            )
            current.remove(victim)
        return current

    def _below(self, current, min_new_fraction):
        """(u, no_peak, below): unique contributions and the phases that fall short."""
        expected_l, b = self.expected_l, self.b
        e_all, k, model_all = self.explain(current)
        u = {n: e_all - self.explain([m for m in current if m != n])[0] for n in current}
        self.unique.update(u)
        own = {n: self.explain([n])[0] for n in current} if min_new_fraction > 0 else {}
        # a phase must be the main contributor to at least one explained, significant
        # (≥ 3σ) peak: a unique contribution made only of topping up other phases' peaks
        # does not demonstrate it
        contrib = np.array([kk * self.cols[n] for n, kk in zip(current, k)])
        lead = np.argmax(contrib, axis=0)
        shown = (model_all >= EXPLAIN_FRACTION * b) & (model_all > 0) & self.real
        leads = {current[i] for i in set(lead[shown].tolist())}
        no_peak = {n for n in current if n not in leads and n.lower() not in expected_l}
        below = [
            n
            for n in current
            if (u[n] <= 0)
            or n in no_peak
            or (
                n.lower() not in expected_l
                and (u[n] < self.min_unique_fraction or u[n] < min_new_fraction * own.get(n, 0.0))
            )
        ]
        return u, no_peak, below

    def eliminate(self, current, min_new_fraction):
        """Backward elimination: drop the phase of least unique contribution while any falls short."""
        min_unique_fraction = self.min_unique_fraction
        while current:
            u, no_peak, below = self._below(current, min_new_fraction)
            if not below:
                break
            bin_u = 0.2 * min_unique_fraction or 1e-3
            # ties (isostructural twins explain the same peaks): an expected phase stays
            victim = min(
                below,
                key=lambda n: (
                    round(u[n] / bin_u),
                    n.lower() in self.expected_l,
                    self.res[n]["fom"],
                ),
            )
            others = [m for m in current if m != victim]
            self.dropped[victim] = (
                f"rejected: compatible (FoM {self.res[victim]['fom']:.2f}) but not needed — it "
                f"uniquely explains {max(u[victim], 0):.1%} of the observed peak intensity "
                f"(minimum {min_unique_fraction:.0%} and {min_new_fraction:.0%} of what it "
                "explains)"
                + (
                    " and is the main contributor to no significant (≥ 3σ) peak"
                    if victim in no_peak
                    else ""
                )
                + (f"; {', '.join(others)} explain its peaks" if others else "")
            )
            current = others
        return current

    def cap(self, current, max_phases):
        """At most max_phases phases, largest explained intensity first; (current, explained_by)."""
        cols = self.cols
        _, k, _ = self.explain(current)
        kmap = dict(zip(current, (float(v) for v in k)))
        explained_by = {n: float(kmap[n] ** 2 * cols[n] @ cols[n]) for n in current}
        current.sort(key=lambda n: explained_by[n], reverse=True)
        for n in current[max_phases:]:
            self.dropped[n] = f"rejected: more than max_phases={max_phases} phases"
        return current[:max_phases], explained_by

    def ownership(self, current, order):
        """(kmap, explained, owned): final scale factors, explained peaks, owner of each."""
        b, cols = self.b, self.cols
        _, k, model = self.explain(current)
        kmap = dict(zip(current, (float(v) for v in k)))
        explained = (model >= EXPLAIN_FRACTION * b) & (model > 0)
        # each explained peak is owned by the phase contributing most to the model there
        owned: dict[str, list] = {n: [] for n in current}
        if current:
            contrib = np.array([kmap[n] * cols[n] for n in current])
            top = np.argmax(contrib, axis=0)
            for j in np.nonzero(explained)[0]:
                owned[current[top[j]]].append(int(order[j]))
        return kmap, explained, owned


def _phase_match(n, r, ph, reason, ok, order, st2, kmap, explained_by, owned):
    """The :class:`PhaseMatch` of candidate n."""
    return PhaseMatch(
        name=n,
        role=ph.role,
        score=r["fom"],
        coverage=r["coverage"],
        position_agreement=r["position_agreement"],
        intensity_agreement=r["intensity_agreement"],
        chance_probability=r["chance_probability"],
        observed_coverage=r["observed_coverage"],
        scale=r["scale"],
        zero_offset_deg=r["zero"],
        matched=[
            (int(ph.index[li]), int(order[oi]), float(dv))
            for li, oi, dv in zip(r["hit_lines"], r["hit_obs"], r["dev"])
        ],
        n_strong_lines=r["n_strong_lines"],
        n_matched_strong=r["n_matched_strong"],
        accepted=ok,
        reason=reason,
        unique_fraction=st2.unique.get(n),
        explained_fraction=explained_by.get(n),
        scale_factor=float(kmap[n]) if n in kmap else None,
        search_cell=r["cell"],
        reference=n.removesuffix(" (2)"),
        owned=sorted(owned[n]) if n in owned else None,
        alternatives=[(t, st2.res[t]["fom"]) for t in _twins_of(n, st2.twins)] if ok else None,
        subsumed=list(st2.superseded.get(n, [])) if ok else None,
        search_two_theta=r.get("positions"),
    )


def match_phases(
    obs_two_theta,
    obs_intensity,
    references: dict,
    *,
    two_theta_range: tuple[float, float],
    tol_deg: float = 0.12,
    max_strain: float = 0.01,
    max_zero_offset_deg: float = 0.3,
    zero_step_deg: float | None = None,
    threshold: float = ACCEPT_THRESHOLD,
    expected: tuple = (),
    expected_threshold: float = EXPECTED_THRESHOLD,
    min_new_fraction: float = 0.0,
    min_unique_fraction: float = MIN_UNIQUE_FRACTION,
    max_phases: int = 6,
    weights: dict | None = None,
    shifts: dict | None = None,
    significance=None,
    obs_fwhm=None,
    strain: dict | None = None,
    optional: dict | None = None,
    cell_range: dict | None = None,
    exclude: dict | None = None,
):
    """Identify phases among ``references`` from observed peaks.

    Parameters
    ----------
    obs_two_theta, obs_intensity : array_like
        Observed peak positions (deg) and net intensities (areas).
    references : dict
        name → :class:`~charsuite.xrd._library.ReferencePattern`.
    two_theta_range : (float, float)
        Scanned range (deg).
    tol_deg : float
        Match tolerance (deg).
    max_strain : float
        Allowed isotropic cell scale deviation (fraction).
    max_zero_offset_deg : float
        Allowed common zero offset (deg).
    threshold, expected, expected_threshold : see module docstring
    min_new_fraction : float
        Minimum unique contribution of a phase relative to the intensity it explains.
    min_unique_fraction : float
        Minimum unique contribution relative to the total observed peak intensity.
    max_phases : int
        At most this many phases are accepted (largest explained intensity first).
    weights : dict, optional
        name → per-line multiplicative intensity weights (e.g. GI absorption factors).
    shifts : dict, optional
        name → per-line 2θ shifts added to the reference positions (e.g. refraction).
    significance : array_like, optional
        Per observed peak significance (e.g. area/σ_area) used to rank the strongest peaks
        and to break ties between alignments (default: the intensities).
    strain : dict, optional
        name → allowed isotropic strain replacing ``max_strain`` for that phase (solid
        solutions, e.g. Li_xMn2O4 whose cell shrinks by 2.7 % from x = 1 to 0).
    obs_fwhm : array_like, optional
        Fitted FWHM of the observed peaks (deg): a peak covers lines within
        clip(FWHM/2, tol, 2·tol) (unresolved blends).
    optional : dict, optional
        name → boolean mask over the reference lines that are *optional*: fault-broadened
        superstructure reflections (Li2MnO3 k ≠ 3n). They are matched and explain peaks
        when present, but count neither in the coverage nor as absent lines; a phase with
        optional lines needs at least one of them on a ≥ 3σ peak that no other phase above
        the threshold matches (without its superstructure reflections such a phase is
        indistinguishable from its subcell).

    cell_range : dict, optional
        name → {cell length ('a', 'b', 'c'): (lo, hi) in Å}: the declared range of a phase
        whose cell changes anisotropically (layered cathodes on charge,
        :func:`charsuite.xrd.phase_cell_range`). Such a phase is aligned on a grid of one
        scale per cell length (step :data:`SCALE_STEP`) over the range widened by
        ``max_strain``, with the FoM strain penalty on the distance outside the range
        (cubic, tetragonal, hexagonal/trigonal and orthorhombic metrics; other systems are
        searched isotropically over the widest declared deviation).
    exclude : dict, optional
        name → reason: phases scored and listed but kept out of the pool (a phase the
        decide stage of :func:`charsuite.xrd.analyze` replaced by the alternative the
        superset rule had removed). The reason becomes the candidate's ``reason``.

    Returns
    -------
    (list of PhaseMatch, list of PhaseMatch, ndarray)
        Accepted phases (largest explained intensity first), all candidates (sorted by
        score, with ``accepted`` and ``reason``), and the indices of unexplained observed
        peaks.
    """
    obs_x = np.asarray(obs_two_theta, float)
    obs_i = np.asarray(obs_intensity, float)
    order = np.argsort(obs_x)
    obs_x, obs_i = obs_x[order], obs_i[order]
    lo, hi = two_theta_range
    if obs_x.size < 2:
        return [], [], order
    obs_i = np.maximum(obs_i, 0.0)
    sig = obs_i if significance is None else np.asarray(significance, float)[order]
    sig = np.nan_to_num(np.maximum(sig, 0.0))

    zstep = zero_step_deg or max(tol_deg / 3, 0.01)
    zeros_all = np.arange(-max_zero_offset_deg, max_zero_offset_deg + 1e-9, zstep)
    if zeros_all.size == 0:
        zeros_all = np.zeros(1)
    expected_l = {e.lower() for e in expected}

    phases = _build_phases(references, lo, hi, weights, shifts, optional)
    tolj, p_chance = _peak_tolerances(
        obs_x, obs_i, sig, order, lo, hi, tol_deg, obs_fwhm, significance
    )
    st1 = _Stage1(
        phases,
        (obs_x, obs_i, sig, tolj, lo, hi),
        p_chance,
        max_strain=max_strain,
        strain=strain,
        cell_range=cell_range,
        threshold=threshold,
        tol_deg=tol_deg,
        zstep=zstep,
        zeros_all=zeros_all,
    )
    st1.score_all()
    res = st1.res

    def gate(name):
        return _gate(
            name,
            res,
            phases,
            sig,
            threshold=threshold,
            expected_l=expected_l,
            expected_threshold=expected_threshold,
        )

    # common zero offset: fixed by the compatible phase explaining most observed intensity
    # an excluded phase may still fix the zero: it lost to an alternative on the same
    # peaks, which its alignment fitted
    exclude = exclude or {}
    zeros_now = st1.common_zero([n for n in res if gate(n)[0]], threshold, expected_l)
    # solid solutions (phases given a strain window) may coexist at two cells, e.g. the
    # Li-rich and Li-poor spinels of a charged Li_xMn2O4 electrode: a second instance
    # "name (2)" is aligned at scales whose lines are resolved from the first (|Δs| ≥
    # tol/tan θ_mid) and competes in stage 2 like any other candidate
    st1.second_instances([m for m in res if m in (strain or {}) and gate(m)[0]], zeros_now)
    st1.second_range_instances(
        _best_per_structure(
            [m for m in res if m in st1.grids and m not in (strain or {}) and gate(m)[0]],
            res,
            references,
        ),
        zeros_now,
    )
    gates = {n: gate(n) for n in res}
    pool = [n for n in res if gates[n][0] and n not in exclude]

    # stage 2: joint √-intensity fit with backward elimination
    real = sig >= 3.0 if significance is not None else np.ones(obs_x.size, bool)
    st2 = _Stage2(pool, res, phases, obs_i, sig, real, expected_l, min_unique_fraction)
    current = st2.superset_rule(list(pool))
    current = st2.eliminate(current, min_new_fraction)
    current, explained_by = st2.cap(current, max_phases)
    kmap, explained, owned = st2.ownership(current, order)

    out = {}
    for n, r in res.items():
        ok = n in current
        if ok:
            thr = expected_threshold if n.lower() in expected_l else threshold
            reason = (
                f"accepted: FoM {r['fom']:.2f} ≥ {thr:.2f}; uniquely explains "
                f"{st2.unique.get(n, 0):.1%} of the observed peak intensity"
            )
        elif n in st2.dropped:
            reason = st2.dropped[n]
        elif n in exclude:
            reason = exclude[n]
        else:
            reason = f"rejected: {gates[n][1]}"
        out[n] = _phase_match(n, r, phases[n], reason, ok, order, st2, kmap, explained_by, owned)
    out, current = _promote_second_instances(out, current)
    accepted = [out[n] for n in current]
    allc = sorted(out.values(), key=lambda p: p.score, reverse=True)
    unexplained = np.array(sorted(int(order[i]) for i in np.nonzero(~explained)[0]), int)
    return accepted, allc, unexplained
