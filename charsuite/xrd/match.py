"""Search–match phase identification with a documented figure of merit.

For every reference phase the stick pattern (:mod:`charsuite.xrd.library`, optionally
weighted by the grazing-incidence absorption factor and shifted by refraction) is compared
with the fitted observed peaks over a grid of an isotropic cell scale s (d → s·d,
|s − 1| ≤ ``max_strain``) and a common zero offset z (|z| ≤ ``max_zero_offset_deg``).
A reference line is *matched* when an observed peak lies within ``tol_deg`` of it.

Figure of merit (0…1), for the best (s, z) of each phase::

    FoM = C · (0.5 + 0.5·P) · (0.7 + 0.3·R) · (1 − F) − 0.02·|s − 1|/max_strain

C  coverage: fraction of the phase's strong-line intensity (lines ≥ 5 % of its strongest
   line in the scanned range) that is matched;
P  position agreement: 1 − ⟨|Δ2θ|/tol⟩ over matched lines, intensity weighted;
R  intensity agreement: 1 − ½·Σ|f_obs − f_ref| over matched lines (f = normalised
   intensities; texture lowers R, which is why its weight is small);
O  (not in the FoM) observed coverage: fraction of the total observed peak intensity the
   phase explains; used to arbitrate between acceptable candidates that explain the same
   peaks (see below);
F  false-match probability: with p = min(1, 2·tol·n_obs/Δ2θ) the chance that one line
   falls near some observed peak (n_obs counts peaks ≥ 3 % of the strongest), F = min(1, N_trials · P[Binomial(n, p) ≥ k]) for k
   matched of n strong lines, N_trials the number of independent (s, z) trials. Phases
   with few lines in a crowded pattern (e.g. α-Fe with two lines) are therefore not
   reported on coincidences.

Several phases: greedy. The best phase is accepted if FoM ≥ ``threshold`` (default
:data:`ACCEPT_THRESHOLD`; ``expected`` phases, e.g. known substrates, use
``expected_threshold``) and if at least ``min_new_fraction`` of its matched strong-line
intensity falls on observed peaks no accepted phase explains yet (so isostructural
duplicates such as LiNiO2 after NMC811 are not reported twice). When another acceptable
candidate explains at least 70 % of the best candidate's matched peaks *and* more of the
observed intensity (O larger by > 0.05) or adds significant peaks the best one leaves
unexplained (≥ 5 % of the summed significance), it is taken instead (e.g. Li2MnO3, whose
superstructure lines a plain layered oxide cannot explain). The zero offset of the
first accepted phase is then held (± 0.05°) for the others. A phase with fewer than three
matched strong lines (e.g. α-Fe, Si in a short scan) is accepted only when one of its lines
is among the three strongest observed peaks (by intensity or by significance), or when it is declared ``expected``. Observed peaks no accepted
phase explains are returned as unidentified.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from charsuite.model import Result

#: Documented acceptance threshold of the figure of merit.
ACCEPT_THRESHOLD = 0.55
#: Threshold for phases the user declares as expected (substrates, standards).
EXPECTED_THRESHOLD = 0.35


@dataclasses.dataclass(frozen=True)
class PhaseMatch(Result):
    """Search–match outcome of one phase.

    Attributes
    ----------
    name, role : str
    score : float
        Figure of merit (see module docstring).
    coverage, position_agreement, intensity_agreement, observed_coverage : float
        The FoM terms C, P, R and O.
    chance_probability : float
        F, the probability that the match is a coincidence.
    scale, zero_offset_deg : float
        Best isotropic cell scale and zero offset.
    matched : list of (ref index, obs index, Δ2θ)
    n_strong_lines, n_matched_strong : int
    accepted : bool
    reason : str
        Why it was accepted or rejected.
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


def _score(
    obs_x,
    obs_i,
    ref_x,
    ref_i,
    strong,
    tol,
    lo,
    hi,
    scales,
    zeros,
    n_obs_total,
    max_strain,
    explained,
    *,
    obs_sig=None,
):
    """Vectorised grid search; returns the best PhaseMatch fields (without name/role)."""
    # ref positions for each scale: sinθ' = sinθ / s
    th = np.radians(ref_x / 2)
    s_th = np.sin(th)[None, :] / scales[:, None]
    valid = s_th < 1
    pos_s = np.degrees(2 * np.arcsin(np.clip(s_th, 0, 1)))  # (S, L)
    pos = pos_s[:, None, :] + zeros[None, :, None]  # (S, Z, L)
    # nearest observed peak
    j = np.clip(np.searchsorted(obs_x, pos), 1, obs_x.size - 1)
    left, right = obs_x[j - 1], obs_x[j]
    use_left = np.abs(pos - left) <= np.abs(pos - right)
    nearest = np.where(use_left, j - 1, j)
    dev = np.abs(pos - obs_x[nearest])
    inrange = (pos >= lo) & (pos <= hi) & valid[:, None, :]
    hit = (dev <= tol) & inrange
    w = ref_i[None, None, :] * strong[None, None, :] * inrange
    total = w.sum(-1)
    matched_w = (w * hit).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(total > 0, matched_w / total, 0.0)
        p_term = np.where(matched_w > 0, 1 - (w * hit * dev / tol).sum(-1) / matched_w, 0.0)
    from scipy.stats import binom

    k = (hit & strong[None, None, :]).sum(-1)
    n_lines = (strong[None, None, :] & inrange).sum(-1)
    p_chance = min(1.0, 2 * tol * n_obs_total / max(hi - lo, 1e-6))
    mid = float(np.median(ref_x))
    trials = (1 + (zeros[-1] - zeros[0]) / tol) * (1 + 2 * (scales[-1] - 1) * mid / tol)
    false_p = np.minimum(
        1.0, trials * binom.sf(np.maximum(k, 1) - 1, np.maximum(n_lines, 1), p_chance)
    )
    chance = np.where(k > 0, 1 - false_p, 0.0)
    # observed coverage: fraction of observed intensity explained by matched peaks
    tot_obs = float(obs_i.sum()) or 1.0
    strain_pen = 0.02 * np.abs(scales - 1)[:, None] / max(max_strain, 1e-9)
    fom0 = cov * (0.5 + 0.5 * p_term) * chance - strain_pen
    if obs_sig is not None:
        # tie-break between (s, z) solutions: prefer the one landing on significant peaks
        osig = np.asarray(obs_sig, float)
        fom0 = fom0 + 0.05 * (hit * osig[nearest]).sum(-1) / max(float(osig.sum()), 1e-12)
    si, zi = np.unravel_index(np.argmax(fom0), fom0.shape)
    h = hit[si, zi]
    idx = np.nonzero(h)[0]
    obs_idx = nearest[si, zi, idx]
    # intensity agreement on matched lines
    if idx.size:
        fr = ref_i[idx] / ref_i[idx].sum()
        oi = np.array([obs_i[o] for o in obs_idx], float)
        fo = oi / oi.sum() if oi.sum() > 0 else fr
        r_term = 1 - 0.5 * float(np.abs(fo - fr).sum())
    else:
        r_term = 0.0
    o_term = float(obs_i[np.unique(obs_idx)].sum() / tot_obs) if idx.size else 0.0
    fom = (
        cov[si, zi] * (0.5 + 0.5 * p_term[si, zi]) * (0.7 + 0.3 * r_term) * chance[si, zi]
        - strain_pen[si, 0]
    )
    matched = [
        (int(li), int(oi_), float(pos[si, zi, li] - obs_x[oi_])) for li, oi_ in zip(idx, obs_idx)
    ]
    strong_w = w[si, zi]
    new_w = sum(strong_w[li] for li, oi_, _ in matched if oi_ not in explained)
    tot_w = sum(strong_w[li] for li, _, _ in matched)
    return {
        "score": float(max(fom, 0.0)),
        "coverage": float(cov[si, zi]),
        "position_agreement": float(p_term[si, zi]),
        "intensity_agreement": float(r_term),
        "chance_probability": float(false_p[si, zi]),
        "observed_coverage": o_term,
        "scale": float(scales[si]),
        "zero_offset_deg": float(zeros[zi]),
        "matched": matched,
        "n_strong_lines": int((strong & inrange[si, zi]).sum()),
        "n_matched_strong": int(k[si, zi]),
        "new_fraction": float(new_w / tot_w) if tot_w > 0 else 0.0,
    }


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
    min_new_fraction: float = 0.3,
    max_phases: int = 6,
    weights: dict | None = None,
    shifts: dict | None = None,
    significance=None,
):
    """Identify phases among ``references`` from observed peaks.

    Parameters
    ----------
    obs_two_theta, obs_intensity : array_like
        Observed peak positions (deg) and net intensities (areas).
    references : dict
        name → :class:`~charsuite.xrd.library.ReferencePattern`.
    two_theta_range : (float, float)
        Scanned range (deg).
    tol_deg : float
        Match tolerance (deg).
    max_strain : float
        Allowed isotropic cell scale deviation (fraction).
    max_zero_offset_deg : float
        Allowed common zero offset (deg).
    threshold, expected, expected_threshold, min_new_fraction, max_phases
        See module docstring.
    weights : dict, optional
        name → per-line multiplicative intensity weights (e.g. GI absorption factors).
    shifts : dict, optional
        name → per-line 2θ shifts added to the reference positions (e.g. refraction).
    significance : array_like, optional
        Per observed peak significance (e.g. area/σ_area) used to rank the strongest peaks
        and to weigh superstructure lines (default: the intensities).

    Returns
    -------
    (list of PhaseMatch, list of PhaseMatch, ndarray)
        Accepted phases (in acceptance order), all candidates (sorted by score, with
        ``accepted`` and ``reason``), and the indices of unexplained observed peaks.
    """
    obs_x = np.asarray(obs_two_theta, float)
    obs_i = np.asarray(obs_intensity, float)
    order = np.argsort(obs_x)
    obs_x, obs_i = obs_x[order], obs_i[order]
    lo, hi = two_theta_range
    if obs_x.size < 2:
        return [], [], order
    scales = np.linspace(1 - max_strain, 1 + max_strain, round(2 * max_strain / 0.0005) + 1)
    zstep = zero_step_deg or max(tol_deg / 3, 0.01)
    zeros_all = np.arange(-max_zero_offset_deg, max_zero_offset_deg + 1e-9, zstep)
    expected_l = {e.lower() for e in expected}
    n_obs_strong = int(np.sum(obs_i >= 0.03 * obs_i.max())) if obs_i.size else 0
    sig = obs_i if significance is None else np.asarray(significance, float)[order]
    # the three strongest observed peaks by intensity and by significance
    top3 = {int(order[i]) for i in np.argsort(sig)[::-1][:3]} | {
        int(order[i]) for i in np.argsort(obs_i)[::-1][:3]
    }
    obs_sig_by_index = {int(order[i]): float(sig[i]) for i in range(sig.size)}
    total_sig = float(np.sum(sig)) or 1.0
    explained: set[int] = set()
    accepted: list[PhaseMatch] = []
    remaining = dict(references)
    zeros = zeros_all
    final: dict[str, PhaseMatch] = {}
    for _ in range(max_phases):
        cands = []
        for name, ref in remaining.items():
            m = ref.in_range(lo - 2, hi + 2)
            if not np.any(m):
                continue
            rx = ref.two_theta[m] + (
                np.asarray(shifts[name])[m] if shifts and name in shifts else 0.0
            )
            ri = ref.intensity[m] * (
                np.asarray(weights[name])[m] if weights and name in weights else 1.0
            )
            inr = (rx >= lo) & (rx <= hi)
            if not np.any(inr):
                continue
            strong = ri >= 0.05 * ri[inr].max()
            res = _score(
                obs_x,
                obs_i,
                rx,
                ri,
                strong,
                tol_deg,
                lo,
                hi,
                scales,
                zeros,
                n_obs_strong,
                max_strain,
                explained,
                obs_sig=sig,
            )
            # matched indices refer to the masked arrays: map back to pattern indices
            ref_idx = np.nonzero(m)[0]
            res["matched"] = [(int(ref_idx[a]), int(order[b]), d) for a, b, d in res["matched"]]
            cands.append((name, ref.role, res))
        if not cands:
            break

        def key(c):
            return c[2]["score"] * (0.25 + 0.75 * min(c[2]["new_fraction"], 1.0))

        cands.sort(key=key, reverse=True)
        chosen = None
        okset = {}
        for name, role, res in cands:
            thr = expected_threshold if name.lower() in expected_l else threshold
            ok = (
                res["score"] >= thr
                and res["new_fraction"] >= min_new_fraction
                and res["n_matched_strong"] >= min(2, res["n_strong_lines"])
            )
            if ok and res["n_matched_strong"] < 3 and name.lower() not in expected_l:
                # one or two coincident lines are no evidence unless they are among the
                # strongest observed peaks (or the phase was declared expected)
                ok = bool({o for _, o, _ in res["matched"]} & top3)
            okset[name] = ok
            pm = PhaseMatch(
                name=name,
                role=role,
                accepted=ok,
                reason=(
                    f"accepted: FoM {res['score']:.2f} ≥ {thr:.2f}"
                    if ok
                    else f"rejected: FoM {res['score']:.2f} (threshold {thr:.2f}), "
                    f"{res['new_fraction']:.0%} of its matched intensity on unexplained peaks "
                    f"(min {min_new_fraction:.0%}), {res['n_matched_strong']}/{res['n_strong_lines']} strong lines"
                ),
                **{k: v for k, v in res.items() if k != "new_fraction"},
            )
            final[name] = pm
            if ok and chosen is None:
                chosen = pm
        if chosen is None:
            break
        top_obs = {o for _, o, _ in chosen.matched}
        for name, _, res in cands:
            if name == chosen.name or not okset.get(name):
                continue
            other = {o for _, o, _ in res["matched"]}
            extra = sum(float(obs_sig_by_index.get(o, 0.0)) for o in other - top_obs)
            if (
                top_obs
                and len(top_obs & other) >= 0.7 * len(top_obs)
                and (
                    res["observed_coverage"] > chosen.observed_coverage + 0.05
                    or extra >= 0.05 * total_sig
                )
            ):
                final[chosen.name] = dataclasses.replace(
                    chosen,
                    accepted=False,
                    reason=f"superseded by {name}, which explains the same peaks and more of the pattern",
                )
                chosen = final[name]
                break
        accepted.append(chosen)
        remaining.pop(chosen.name)
        inv = {int(o): i for i, o in enumerate(order)}
        explained |= {inv[o] for _, o, _ in chosen.matched}
        if len(accepted) == 1:
            z = chosen.zero_offset_deg
            zeros = np.arange(z - 0.05, z + 0.05 + 1e-9, min(zstep, 0.01))
    unexplained = np.array(
        sorted(int(order[i]) for i in range(obs_x.size) if i not in explained), int
    )
    allc = sorted(final.values(), key=lambda p: p.score, reverse=True)
    return accepted, allc, unexplained
