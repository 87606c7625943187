"""Decide-stage tests that use the phase's *structure*: cell plausibility and line intensities.

A Pawley (free-intensity) fit accepts any phase whose lattice fits the peak positions,
so a library phase on the right lattice but with the wrong atoms (Al for Au, NiO for MgO,
MnO for the bcc metals whose lines coincide with its even reflections) passes the
contribution test. Two tests against the library structure close that gap:

**Cell plausibility.** The refined cell lengths L_k (peak refinement) must lie within
``tol`` of the library cell L0_k once their esd is allowed for:
max_k (|L_k/L0_k − 1| − 3 σ_k/L0_k) ≤ tol. ``tol`` is the phase's declared solid-solution
range (``max_strain`` in ``phases.json``, e.g. 3 % for the LiMn2O4 spinel) or
:data:`CELL_TOLERANCE` = 0.5 % otherwise: thermal expansion over ±100 K (≈ 0.1–0.2 %) plus
the elastic strain of residual stress, which stays below ≈ 0.5 % because stresses beyond
≈ 1 GPa (E ≈ 100–300 GPa) relax plastically or crack the film. A larger apparent strain is
a different compound on a similar lattice, not the library phase.

The test has power only when the cell is known to better than the tolerance: a cell
whose 3σ exceeds ``tol`` (few or misassigned lines inflate the esd of the peak
refinement, whose covariance is scaled by its χ²_ν) passes it whatever the compound.
Such a phase is accepted with ``determined`` false, which the decide stage reports as an
ambiguity (a compound on a similar lattice cannot be excluded). A phase with a declared
range whose cell lies inside it but beyond the tolerance (and 3σ) from the as-made library
cell is accepted with ``off_as_made`` true, also reported: the library phase at another
lithium content and an isostructural compound of another composition (LiNi0.5Mn1.5O4 for
LiMn2O4, NCA for NMC811) have the same line positions.

**Intensity agreement.** Free line areas J (one per reflection of every shortlisted phase,
linear least squares over the points within 4 FWHM of a line, each line with the width
and shape of the fitted peak at it, a smooth background correction fitted alongside, the
profile-model error of the peak fit in the point variances, covariance C scaled by χ²_ν)
are compared with the structure-factor intensities of the library structure,
g_h = Σ_{hkl∈h} |F_hkl|² e^(−2B s²) P_hkl(r) × LP(2θ_h) [× GI absorption], computed with
:mod:`charsuite.xrd._structure` (the Rietveld engine's structure factors: f0 + f′ + i f″
of xrayutilities) at the refined cell. Lines whose areas correlate (|ρ| > 0.3) are
compared as a group sum; a group overlapped by another phase's line, or holding a line the
library declares fault-broadened, is left out. Per group, with a relative model error
ε = :data:`INTENSITY_MODEL_ERROR`,

    z_h² = (J_h − S g_h)² / (σ_h² + (ε max(S g_h, J_h))²),  Q = min_{r, B, S} Σ_h z_h²,

(a multiplicative model error, symmetric in ln J/S g), where a negative J counts as 0 and
an excess (J_h > S g_h) on a line whose peak the search did not assign to the phase adds
at most 1 (another phase may sit on it); on a line the phase claims it counts in full.
S is the median of J/g over the lines predicted ≥ 10 % of the strongest (robust), refined
within −30 %/+40 %. Under a correct structure
each term has expectation ≤ 1, so Q is compared with the 1 − α quantile of χ²(b),
b = groups − 3 (scale, texture, B), α = 0.001 (Hamilton 1965; the α of the other decide tests) — conservative,
since the capped terms are smaller than χ²(1). ε = 30 % is the per-line accuracy of an
ideal library structure on real lab scans: particle statistics of a lab powder
(1/√N_crystallites ≈ 2–10 %, Smith 2001), approximate CIF coordinates (Li2CO3), partly
resolved overlaps. It is set so that every labelled real scan in ``shared/data/xrd`` keeps
its phases (a first, stricter form with 15 % rejected true phases in five of them), not
from the absent-phase cases.
Texture is allowed honestly: March–Dollase r over the Rietveld engine's range
:data:`MARCH_R` along each low-index pole of :data:`TEXTURE_AXES` (in fixed incidence
averaged over the cone at ψ = θ − αᵢ, as :func:`charsuite.xrd._gi.texture_factor`), and a
smooth angle trend exp(−2 B s²) with B in :data:`B_GRID`: the displacement parameter
(0–2 Å², the room-temperature range of inorganic solids) together with what a flat lab
sample loses at low angles (beam overspill of a fixed divergence slit, surface roughness;
Suortti 1972, Pitschke et al. 1993), which reads as a negative B. Smooth trends cannot
turn one structure's line pattern into another's (the missing odd lines of MnO under a
bcc metal, the strong spinel (111) of LiMn2O4 under Co3O4), and the cell test handles
isostructural pairs whose intensities agree (Au/Ag and Al, CoO and NiO). A phase with
b < 1 (≤ 3 line groups) is not testable here and passes: two-line bcc Fe cannot be told
from a B2 alloy of the same cell whose superstructure lines are too weak to see (CoGa).

References
----------
W. C. Hamilton (1965) Acta Cryst. 18, 502–510; W. A. Dollase (1986) J. Appl. Cryst. 19,
267–272; D. K. Smith (2001) Powder Diffr. 16, 186 (particle statistics); G. S. Pawley
(1981) J. Appl. Cryst. 14, 357–361; P. Suortti (1972) J. Appl. Cryst. 5, 325–331;
W. Pitschke, H. Hermann, N. Mattern (1993) Powder Diffr. 8, 74–83 (surface roughness).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from charsuite.xrd import _structure as st

#: cell-length deviation (fraction) allowed beyond 3σ for a phase without a declared
#: solid-solution range (module docstring)
CELL_TOLERANCE = 0.005
#: relative standard deviation of one structure-factor line intensity of a correct phase
INTENSITY_MODEL_ERROR = 0.3
#: March–Dollase r searched (the bounds of ``march_r`` in :func:`charsuite.xrd.refine`)
MARCH_R = (0.2, 3.0)
#: overall intensity fall-off exp(−2 B s²) searched (Å²): B of 0–2 Å² plus the low-angle
#: intensity loss of a flat lab sample (fixed-slit overspill, surface roughness), which acts
#: like a negative B of up to ≈ −2 Å² over a 10–100° scan (module docstring)
B_GRID = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
#: texture poles tried (reciprocal-lattice directions)
TEXTURE_AXES = ((0, 0, 1), (1, 0, 0), (0, 1, 0), (1, 1, 0), (1, 1, 1))
#: significance level (as the other decide tests)
ALPHA = 1e-3
_N_R = 15
_FREE = 3  # scale, r, B


@dataclasses.dataclass(frozen=True)
class StructureInput:
    """What the structure tests need of one shortlisted phase.

    Attributes
    ----------
    cif : str
        Library CIF of the phase.
    cell, cell_err : tuple
        Refined (a, b, c, α, β, γ) and the esd of a, b, c (Å; None when not refined).
    reference_cell : tuple
        The library cell.
    d_lines : ndarray
        d (Å, at the library cell) of each line of the phase's Pawley columns, in the order
        of its positions in ``phase_input``.
    weights : ndarray or None
        Per-line geometry factor (fixed-incidence absorption) or None (Bragg–Brentano).
    max_strain : float or None
        Declared solid-solution range of the phase.
    optional : ndarray of bool or None
        Lines the library declares fault-broadened (may be weak or absent; not tested).
    cell_range : dict or None
        Declared range of the cell lengths, {'a': (lo, hi), ...} in Å
        (:func:`charsuite.xrd.phase_cell_range`).
    """

    cif: str
    cell: tuple
    cell_err: tuple | None
    reference_cell: tuple
    d_lines: np.ndarray
    weights: np.ndarray | None = None
    max_strain: float | None = None
    optional: np.ndarray | None = None
    cell_range: dict | None = None


def cell_test(inp: StructureInput) -> dict:
    """Cell plausibility (module docstring): passed, deviation, tolerance.

    With a declared ``cell_range`` the deviation of each length is its distance outside
    the declared interval (relative to the library length) and the tolerance is
    :data:`CELL_TOLERANCE`; the result then names the range (``compared_with``).
    """
    lens = np.asarray(inp.cell[:3], float)
    ref = np.asarray(inp.reference_cell[:3], float)
    err = np.asarray(inp.cell_err if inp.cell_err is not None else (0.0, 0.0, 0.0), float)
    if inp.cell_range:
        from charsuite.xrd._library import cell_length_bounds

        rel = cell_length_bounds(ref, inp.cell_range)
        dev = np.maximum(np.maximum(rel[:, 0] - lens, lens - rel[:, 1]), 0.0) / ref
        tol = CELL_TOLERANCE
        text = "the declared cell range " + ", ".join(
            f"{k} {lo:g}–{hi:g} Å" for k, (lo, hi) in inp.cell_range.items()
        )
    else:
        tol = max(inp.max_strain or 0.0, CELL_TOLERANCE)
        dev = np.abs(lens / ref - 1)
        text = "the library cell"
    rel_err = 3 * np.nan_to_num(err) / ref
    excess = float(np.max(dev - rel_err))
    # a ranged phase away from its as-made (library) cell: another lithium content, or an
    # isostructural compound of another composition — the positions cannot tell which
    nominal = float(np.max(np.abs(lens / ref - 1) - rel_err)) if inp.cell_range else 0.0
    return {
        "off_as_made": bool(nominal > CELL_TOLERANCE),
        "deviation_from_as_made": float(np.max(np.abs(lens / ref - 1))),
        "max_deviation": float(np.max(dev)),
        "deviation_beyond_3_sigma": excess,
        "tolerance": tol,
        "passed": bool(excess <= tol),
        # the test has power only when the cell is known better than the tolerance
        "three_sigma": float(np.max(rel_err)),
        "determined": bool(np.max(rel_err) <= tol),
        "compared_with": text,
    }


# --------------------------------------------------------------------------- Pawley LS


#: Chebyshev terms of the smooth background correction fitted with the Pawley areas
N_BACKGROUND = 6


def _weighted_ls(lines, cheb, y, w):
    """Ridge-stabilised weighted LS of sparse line columns + dense Chebyshev columns.

    The normal matrix is assembled from its blocks (LᵀL sparse, LᵀC, CᵀC): the line
    columns are windowed, so LᵀL costs the overlaps only, not points × lines².
    """
    from charsuite.xrd._profile_tch import local_gram

    lw = lines.multiply(w[:, None]).tocsc()
    cw = cheb * w[:, None]
    yw = y * w
    lc = np.asarray(lw.T @ cw)
    n = np.block([[local_gram(lw), lc], [lc.T, cw.T @ cw]])
    rhs = np.concatenate([lw.T @ yw, cw.T @ yw])
    d = np.sqrt(np.diag(n))
    d[d == 0] = 1.0
    inv = np.linalg.inv(n / d[:, None] / d[None, :] + 1e-9 * np.eye(len(d)))
    j = inv @ (rhs / d) / d
    return j, inv / d[:, None] / d[None, :]


def pawley_least_squares(x, y, sigma, lines, *, x_range=None):
    """Free line areas J and their covariance (χ²_ν-scaled; unconstrained linear LS).

    ``lines``: sparse (points × lines) unit-area line columns. A Chebyshev correction
    (:data:`N_BACKGROUND` terms over ``x_range``) is fitted with the areas: the SNIP
    background leaves a smooth offset that free areas of weak lines would otherwise absorb
    (a bias of the same sign on every weak line). The point variances add the
    profile-model error of the peak fit, (ε_p · model)² with
    ε_p = :data:`charsuite.xrd._peaks.PROFILE_MODEL_ERROR` (second pass): the fixed
    pseudo-Voigt misfits the tails of strong lines, and a weak line under such a tail
    must not count that misfit as its own intensity. A small ridge (10⁻⁹ of each
    normalised diagonal) keeps exactly overlapped columns solvable; their variances come
    out large, so they carry no weight in the test. Returns the areas and covariance of
    the line columns only.
    """
    from charsuite.xrd._peaks import PROFILE_MODEL_ERROR

    lo, hi = x_range or (float(x[0]), float(x[-1]))
    t = 2 * (x - lo) / max(hi - lo, 1e-12) - 1
    m = lines.shape[1]
    cheb = np.polynomial.chebyshev.chebvander(t, N_BACKGROUND - 1)
    j, _ = _weighted_ls(lines, cheb, y, 1.0 / sigma)
    model = np.abs(lines @ j[:m])
    w = 1.0 / np.sqrt(sigma**2 + (PROFILE_MODEL_ERROR * model) ** 2)
    j, cov = _weighted_ls(lines, cheb, y, w)
    chi2 = float(np.sum((w * (y - lines @ j[:m] - cheb @ j[m:])) ** 2))
    nu = max(x.size - m - N_BACKGROUND, 1)
    cov = cov * max(chi2 / nu, 1.0)
    return j[:m], cov[:m, :m]


# --------------------------------------------------------------------------- structure


@dataclasses.dataclass
class _HklTable:
    """Per-hkl |F|² (B = 0) at the refined cell, the line each hkl feeds, s², angles."""

    f2: np.ndarray
    line_of: np.ndarray
    s2_line: np.ndarray
    g_hkl: np.ndarray  # reciprocal vectors (for texture angles)
    lp: np.ndarray
    psi_line: np.ndarray | None


def _hkl_table(name, inp: StructureInput, positions, *, wavelength, incidence_deg, pol_k):
    import xrayutilities as xu

    from charsuite.xrd._library import load_structure

    tth_max = float(np.nanmax(positions)) + 3.0
    ph = st.build_phase(name, load_structure(inp.cif), two_theta_max=min(tth_max, 175.0),
                        wavelength=wavelength)  # fmt: skip
    cell = tuple(float(v) for v in inp.cell)
    bstar = st.reciprocal_matrix(cell)
    g = ph.hkl @ bstar
    q = 2 * np.pi * np.linalg.norm(g, axis=1)
    fmat = st.scattering_factors(ph.elements, q, float(xu.utilities.lam2en(wavelength)))
    per_hkl = dataclasses.replace(ph, group=np.arange(len(ph.hkl)), n_lines=len(ph.hkl))
    f2 = st.line_strengths(per_hkl, cell, st.SiteParams(), fmat)
    # each hkl feeds the Pawley line of equal d (library cell; relative 2·10⁻⁴)
    d0 = 1.0 / np.linalg.norm(ph.hkl @ st.reciprocal_matrix(inp.reference_cell), axis=1)
    dl = np.asarray(inp.d_lines, float)
    k = np.argmin(np.abs(d0[:, None] / dl[None, :] - 1), axis=1)
    line_of = np.where(np.abs(d0 / dl[k] - 1) < 2e-4, k, -1)
    keep = line_of >= 0
    tth = np.asarray(positions, float)
    th = np.radians(tth / 2)
    lp = (1 + pol_k * np.cos(2 * th) ** 2) / ((1 + pol_k) * np.sin(th) ** 2 * np.cos(th))
    if inp.weights is not None:
        lp = lp * np.asarray(inp.weights, float)
    s2_line = (np.sin(th) / wavelength) ** 2
    psi = None if incidence_deg is None else np.clip(tth / 2 - incidence_deg, 0, 90)
    return _HklTable(f2[keep], line_of[keep], s2_line, g[keep], lp, psi)


def _texture_weights(tab: _HklTable, axis_vec, r, incidence_deg):
    from charsuite.xrd._gi import march_dollase, texture_factor

    cosphi = tab.g_hkl @ axis_vec / (np.linalg.norm(tab.g_hkl, axis=1) * np.linalg.norm(axis_vec))
    phi = np.degrees(np.arccos(np.clip(np.abs(cosphi), 0, 1)))
    if incidence_deg is None:
        return march_dollase(r, phi)
    return texture_factor(r, phi, psi_deg=tab.psi_line[tab.line_of], n_chi=24)


#: scale factors tried around the weighted-median scale (log grid)
_S_GRID = np.geomspace(0.7, 1.4, 9)


def _row_nanmedian(a):
    """``np.nanmedian(a, axis=1)`` of a 2-D array without its warnings and masked-array path.

    numpy's small-array nanmedian goes through ``numpy.ma`` (≈ 0.3 ms a call; this test calls
    it some 80 times per scan); sorting puts NaN last, so the median of the n finite values
    of a row is the mean of its sorted elements (n − 1)//2 and n//2. NaN for an all-NaN row.
    """
    srt = np.sort(a, axis=1)
    n = np.sum(~np.isnan(a), axis=1)
    rows = np.arange(a.shape[0])
    lo, hi = np.maximum((n - 1) // 2, 0), np.maximum(n // 2, 0)
    med = 0.5 * (srt[rows, lo] + srt[rows, hi])
    return np.where(n > 0, med, np.nan)


def _deficit_q(j, var, g, eps, claimed):
    """Q of intensity models g (module docstring): (Q, S), one per row of a 2-D ``g``.

    The scale S is the median of J/g over the line groups the structure predicts strong
    (≥ 10 % of its strongest; robust: a line of another phase on one of the phase's lines
    does not move it, and the many weak lines below the detection limit do not pull it to
    0), refined on a −30 %/+40 % grid. Each
    group adds z² = (J − S g)²/(σ² + (ε max(S g, J))²): the model error is multiplicative
    and symmetric in ln(J/S g). A deficit (J < S g: intensity the structure predicts and
    the scan lacks) always counts, and so does an excess on a line whose peak the search
    assigned to the phase (the phase claims to explain it); an excess on another line
    adds at most 1 (its expectation): a line of an unidentified phase may sit on it.
    """
    g2 = np.atleast_2d(np.asarray(g, float))
    # the lines the structure predicts strong (≥ 10 % of its strongest) set the scale
    strong = g2 >= 0.1 * np.max(g2, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(strong & (g2 > 0), j[None, :] / g2, np.nan)
        s0 = _row_nanmedian(ratio) if np.any(g2 > 0) else np.zeros(len(g2))
    s0 = np.where(np.isfinite(s0) & (s0 > 0), s0, np.nan)
    sg = (s0[:, None] * _S_GRID[None, :])[:, :, None] * g2[:, None, :]  # (models, S, lines)
    res = j[None, None, :] - sg
    # multiplicative model error, symmetric in ln(J/Sg): ε times the larger of the two
    z2 = res**2 / (var[None, None, :] + (eps * np.maximum(sg, j[None, None, :])) ** 2)
    q = np.where((res < 0) | claimed[None, None, :], z2, np.minimum(z2, 1.0)).sum(axis=2)
    q = np.where(np.isfinite(q), q, np.inf)
    k = np.argmin(q, axis=1)
    rows = np.arange(len(g2))
    qbest, sbest = q[rows, k], np.nan_to_num(s0 * _S_GRID[k])
    if np.ndim(g) == 1:
        return float(qbest[0]), float(sbest[0])
    return qbest, sbest


def _texture_axes(system: str) -> tuple:
    """The poles of :data:`TEXTURE_AXES` that are distinct under the cell's metric symmetry."""
    if system == "cubic":
        return ((0, 0, 1), (1, 1, 0), (1, 1, 1))
    if system in ("tetragonal", "hexagonal"):
        return tuple(a for a in TEXTURE_AXES if a != (0, 1, 0))
    return TEXTURE_AXES


def _candidate_intensities(tab: _HklTable, n_lines, cell, incidence_deg):
    """Yield (axis, r, G) over the texture poles and the r grid; G = one row per B of B_GRID."""
    bstar = st.reciprocal_matrix(cell)
    rs = np.geomspace(*MARCH_R, _N_R)
    trend = np.exp(-2 * np.asarray(B_GRID)[:, None] * tab.s2_line[None, :]) * tab.lp[None, :]
    yield None, 1.0, np.bincount(tab.line_of, weights=tab.f2, minlength=n_lines) * trend
    for axis in _texture_axes(st.cell_system(cell)):
        for r in rs:
            if r == 1.0:
                continue
            t = _texture_weights(tab, np.asarray(axis, float) @ bstar, r, incidence_deg)
            yield (
                axis,
                float(r),
                np.bincount(tab.line_of, weights=tab.f2 * t, minlength=n_lines) * trend,
            )


#: two lines whose fitted areas correlate beyond this are one overlapped group
OVERLAP_CORRELATION = 0.3


def line_groups(positions, corr, cross, usable):
    """Groups of a phase's overlapped lines and whether each group can be tested.

    Lines of the phase whose areas correlate (|ρ| > :data:`OVERLAP_CORRELATION`) are one
    group: only their sum is determined, and it is compared with the summed structure
    intensity. A group is left out when one of its lines correlates that strongly with a
    line of another phase (its share of the intensity is not determined) or holds a line
    that is not ``usable`` (outside the range, declared fault-broadened).
    Returns (membership matrix groups × lines, testable mask).
    """
    n = len(positions)
    label = np.arange(n)
    for a in range(n):
        for b in np.flatnonzero(np.abs(corr[a]) > OVERLAP_CORRELATION):
            la, lb = label[a], label[b]
            if la != lb:
                label[label == lb] = la
    keys = np.unique(label)
    member = (label[None, :] == keys[:, None]).astype(float)
    bad = (cross > OVERLAP_CORRELATION) | ~usable
    testable = ~np.any(member.astype(bool) & bad[None, :], axis=1)
    return member, testable


def intensity_test(name, inp: StructureInput, j, cov, positions, groups, *, wavelength,
                   incidence_deg=None, pol_k=1.0) -> dict:  # fmt: skip
    """Restrained-Pawley intensity test of one phase (module docstring).

    ``groups`` = (membership, testable) from :func:`line_groups` and the mask of lines
    whose peak the search assigned to the phase.
    """
    from scipy.stats import chi2 as chi2_dist

    member, testable, claimed = groups
    member = member[testable]
    claimed = (member @ claimed.astype(float)) > 0
    b = member.shape[0] - _FREE
    out = {
        "line_groups_tested": int(member.shape[0]),
        "degrees_of_freedom": b,
        "model_error": INTENSITY_MODEL_ERROR,
    }
    if b < 1:
        return out | {"passed": True, "testable": False}
    tab = _hkl_table(name, inp, positions, wavelength=wavelength, incidence_deg=incidence_deg,
                     pol_k=pol_k)  # fmt: skip
    # a significantly negative area is a background or tail misfit, not a measured
    # intensity: the line counts as absent (0), so its evidence is bounded by S g
    jj = np.maximum(member @ j, 0.0)
    var = np.maximum(np.einsum("gi,ij,gj->g", member, cov, member), 1e-300)
    best = (float("inf"), None)
    for axis, r, gmat in _candidate_intensities(tab, len(positions), inp.cell, incidence_deg):
        q, s = _deficit_q(jj, var, gmat @ member.T, INTENSITY_MODEL_ERROR, claimed)
        k = int(np.argmin(q))
        if q[k] < best[0]:
            best = (float(q[k]), {"texture_axis": axis, "march_r": r, "b_iso": B_GRID[k],
                                  "scale": float(s[k])})  # fmt: skip
    thr = float(chi2_dist.ppf(1 - ALPHA, b))
    return out | {
        "testable": True,
        "q": best[0],
        "threshold": thr,
        "best": best[1],
        "passed": bool(best[0] <= thr),
    }


def _line_shapes(centres, peaks, default_fwhm):
    """FWHM and η of each Pawley line.

    Those of the fitted peak at the line (within half its FWHM), else interpolated in 2θ
    between the fitted peaks: widths vary with angle, and a fixed width misfits the tails of
    strong lines under which weak lines sit.
    """
    centres = np.asarray(centres, float)
    if not peaks:
        return np.full(centres.size, default_fwhm), np.full(centres.size, 0.5)
    px = np.array([p.two_theta for p in peaks])
    order = np.argsort(px)
    px = px[order]
    pw = np.array([p.fwhm for p in peaks])[order]
    pe = np.clip(np.array([p.shape for p in peaks])[order], 0.0, 1.0)
    fw, eta = np.interp(centres, px, pw), np.interp(centres, px, pe)
    k = np.clip(np.searchsorted(px, centres), 1, max(len(px) - 1, 1))
    for cand in (k - 1, np.minimum(k, len(px) - 1)):
        hit = np.abs(px[cand] - centres) <= 0.5 * pw[cand]
        fw[hit], eta[hit] = pw[cand][hit], pe[cand][hit]
    return fw, eta


def _columns(x, phase_input, line_design, peaks):
    """Pawley design over the points within 4 FWHM of a line: (mask, sparse columns, owner k)."""
    lo, hi = x[0] - 1, x[-1] + 1
    near = np.zeros(x.size, bool)
    centres, owner = [], []
    for k, (_, positions, w) in enumerate(phase_input):
        for c in positions:
            if lo < c < hi:
                i, i2 = np.searchsorted(x, [c - 4 * w, c + 4 * w])
                near[i:i2] = True
                centres.append(c)
                owner.append(k)
    default = float(np.median([w for _, _, w in phase_input])) if phase_input else 0.1
    fw, eta = _line_shapes(centres, peaks, default)
    return near, line_design(x[near], centres, fw, eta), np.array(owner, int)


def _claimed(pos, name, peaks, owner):
    """Lines within half a FWHM of a peak the search assigned to the phase."""
    mine = [peaks[i] for i, n in (owner or {}).items() if n == name and i < len(peaks)]
    if not mine:
        return np.zeros(len(pos), bool)
    px = np.array([p.two_theta for p in mine])
    pw = np.array([p.fwhm for p in mine])
    return np.any(np.abs(pos[:, None] - px[None, :]) <= 0.5 * pw[None, :], axis=1)


def structure_tests(x, y, sigma, phase_input, structures: dict, *, line_design: Callable,
                    wavelength, peaks=(), incidence_deg=None, pol_k=1.0,
                    owner=None) -> dict:  # fmt: skip
    """Cell and intensity tests of every phase with a :class:`StructureInput`: {name: dict}.

    ``line_design(x, centres, fwhm, eta)`` gives the sparse (points × lines) unit-area
    Pawley columns of the analysis (Kα2 included); ``peaks`` (fitted peaks) give each line
    its width and shape.
    """
    from threadpoolctl import threadpool_limits

    lo, hi = float(x[0]), float(x[-1])
    near, cols, col_phase = _columns(x, phase_input, line_design, list(peaks))
    out = {}
    if not cols.shape[1] or near.sum() <= cols.shape[1] + N_BACKGROUND:
        return out
    # tall-skinny products and a small inverse: a threaded BLAS only slows them down on a
    # busy machine (as in charsuite.xrd.refine)
    with threadpool_limits(limits=1):
        j, cov = pawley_least_squares(x[near], y[near], sigma[near], cols, x_range=(lo, hi))
    sd = np.sqrt(np.maximum(np.diag(cov), 1e-300))
    corr = cov / sd[:, None] / sd[None, :]
    for k, (name, positions, _) in enumerate(phase_input):
        inp = structures.get(name)
        sel = np.flatnonzero(col_phase == k)
        if inp is None or not sel.size:
            continue
        pos = np.asarray(positions, float)
        inside = (pos > x[0] - 1) & (pos < x[-1] + 1)
        pos = pos[inside]
        sub = dataclasses.replace(
            inp, d_lines=np.asarray(inp.d_lines)[inside],
            weights=None if inp.weights is None else np.asarray(inp.weights)[inside],
        )  # fmt: skip
        other = np.flatnonzero(col_phase != k)
        cross = np.abs(corr[np.ix_(sel, other)]).max(axis=1) if other.size else np.zeros(sel.size)
        usable = (pos > lo) & (pos < hi)
        if inp.optional is not None:
            usable &= ~np.asarray(inp.optional, bool)[inside]
        groups = (
            *line_groups(pos, corr[np.ix_(sel, sel)], cross, usable),
            _claimed(pos, name, list(peaks), owner),
        )
        out[name] = {
            "cell": cell_test(inp),
            "intensity": intensity_test(
                name, sub, j[sel], cov[np.ix_(sel, sel)], pos, groups,
                wavelength=wavelength, incidence_deg=incidence_deg, pol_k=pol_k,
            ),
        }  # fmt: skip
    return out
