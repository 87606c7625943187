"""Batched, bounded Levenberg–Marquardt fit of many independent peak windows at once.

Why our own solver: a diffraction pattern splits into ~20–60 independent fit windows of
1–5 peaks and ~100 points each. ``scipy.optimize.least_squares`` solves them one by one and
its per-iteration Python overhead (~1 ms) dominated identification (≈ 0.9 s of 1.0 s per
7000-point scan). Here every window advances in the same vectorised numpy iteration:
model, analytic Jacobian and the damped normal equations of all unconverged windows are
evaluated together (padded to the largest window), so the cost per iteration is one pass over
the pattern.

Algorithm: Levenberg–Marquardt with Marquardt's diagonal scaling [1]_ (scale-invariant, so no
parameter scaling is needed), per-window damping λ (Nielsen's gain-ratio update [3]_), box
bounds by projection with an active set (a parameter on a bound whose gradient points
outwards is held fixed for that step) [2]_. Convergence per window: on an accepted step a relative
cost decrease < ``ftol``, or a decrease of χ² below 1e-6·χ²_red (the parameters then move by
≲ 0.001 of their standard errors), or a step < ``xtol`` relative to the parameters; or λ > 1e10.
Uncertainties: √diag((JᵀJ)⁺·χ²_red) at the solution, as from ``least_squares``.

References
----------
.. [1] D. W. Marquardt, J. Soc. Ind. Appl. Math. 11, 431 (1963).
.. [3] H. B. Nielsen, IMM-REP-1999-05, DTU (1999).
.. [2] C. Kanzow, N. Yamashita, M. Fukushima, J. Comput. Appl. Math. 172, 375 (2004).
"""

from __future__ import annotations

import numpy as np

LAMBDA0 = 0.1  # relative (Marquardt-scaled) initial damping: a cautious first step
_LN2x4 = 4 * np.log(2)
_G0 = np.sqrt(4 * np.log(2) / np.pi)


def _ka2(c, l1, l2):
    s = np.clip(np.sin(np.radians(c / 2)) * l2 / l1, -1, 1)
    c2 = np.degrees(2 * np.arcsin(s))
    dc2 = (l2 / l1) * np.cos(np.radians(c / 2)) / np.maximum(np.cos(np.radians(c2 / 2)), 1e-12)
    return c2, dc2


def _component(profile, x, c, w, sh):
    """Unit-area profile and its derivatives d/dc, d/dw, d/dshape; arrays (G, n, K)."""
    u = (x[:, None, :] - c[..., None]) / w[..., None]
    w_ = w[..., None]
    if profile == "pseudo_voigt":
        eta = sh[..., None]
        q = 1 + 4 * u * u
        lor = 2 / (np.pi * w_) / q
        gau = _G0 / w_ * np.exp(-_LN2x4 * u * u)
        prof = eta * lor + (1 - eta) * gau
        d_c = eta * lor * 8 * u / (w_ * q) + (1 - eta) * gau * 2 * _LN2x4 * u / w_
        d_w = eta * lor / w_ * (-1 + 8 * u * u / q) + (1 - eta) * gau / w_ * (
            -1 + 2 * _LN2x4 * u * u
        )
        d_s = lor - gau
        return prof, d_c, d_w, d_s
    # Pearson VII: P = N(m, w)·q^(−m), q = 1 + 4k u², k = 2^(1/m) − 1
    from scipy.special import digamma, gammaln

    m = sh[..., None]
    k = 2 ** (1 / m) - 1
    q = 1 + 4 * k * u * u
    lnn = gammaln(m) - gammaln(m - 0.5) - 0.5 * np.log(np.pi) + np.log(2 * np.sqrt(k) / w_)
    prof = np.exp(lnn - m * np.log(q))
    d_c = prof * 8 * m * k * u / (w_ * q)
    d_w = prof * (-1 / w_ + 8 * m * k * u * u / (w_ * q))
    dk = -(k + 1) * np.log(2) / (m * m)
    d_lnn = digamma(m) - digamma(m - 0.5) + 0.5 * dk / k
    d_s = prof * (d_lnn - np.log(q) - m * 4 * u * u * dk / q)
    return prof, d_c, d_w, d_s


def _evaluate(p, x, xc, wgt, y, *, profile, ka2_ratio, l1, l2, n):
    """Weighted residuals (G, K) and Jacobian (G, K, 4n + 2)."""
    g, kk = x.shape
    c, w, a, sh = (p[:, j : 4 * n : 4] for j in range(4))
    model = p[:, -2, None] + p[:, -1, None] * (x - xc[:, None])
    jac = np.empty((g, kk, 4 * n + 2))
    jac[:, :, -2] = 1.0
    jac[:, :, -1] = x - xc[:, None]
    comps = [(c, a, 1.0)]
    if ka2_ratio > 0:
        c2, dc2 = _ka2(c, l1, l2)
        comps.append((c2, a * ka2_ratio, dc2[..., None]))
    dc = dw = da = ds = 0.0
    for cc, aa, dcdc in comps:
        prof, d_c, d_w, d_s = _component(profile, x, cc, w, sh)
        scale = aa[..., None]
        model = model + (aa[:, None, :] @ prof)[:, 0, :]
        dc = dc + scale * d_c * dcdc
        dw = dw + scale * d_w
        da = da + prof * (1.0 if aa is a else ka2_ratio)
        ds = ds + scale * d_s
    for j, d in enumerate((dc, dw, da, ds)):
        jac[:, :, j : 4 * n : 4] = np.swapaxes(d, 1, 2)
    res = (model - y) * wgt
    jac *= wgt[..., None]
    return res, jac


def fit_windows(
    windows,
    *,
    profile: str,
    ka2_ratio: float,
    wavelength_ka1: float,
    wavelength_ka2: float,
    ftol: float = 1e-8,
    xtol: float = 1e-8,
    max_iter: int = 300,
):
    """Fit independent windows jointly in vectorised LM iterations.

    Parameters
    ----------
    windows : list of dict
        Each with ``x``, ``y``, ``sigma`` (1-D, same length), ``xc`` (background centre,
        deg), ``p0``, ``lb``, ``ub`` (parameters ``[c, w, A, shape] × n + [b0, b1]``).
    profile : {"pseudo_voigt", "pearson7"}
    ka2_ratio, wavelength_ka1, wavelength_ka2 : float
        Kα2 satellite of area ratio × A at the Kα2 position (0 = none); Å.

    Returns
    -------
    list of (params, errors, success)
        Per window, parameters and 1σ errors in the layout of ``p0``.
    """
    opts = dict(
        profile=profile,
        ka2_ratio=ka2_ratio,
        wavelength_ka1=wavelength_ka1,
        wavelength_ka2=wavelength_ka2,
        ftol=ftol,
        xtol=xtol,
        max_iter=max_iter,
    )
    out: list = [None] * len(windows)
    # windows with the same number of peaks are solved together (little padding waste)
    sizes = [(len(wd["p0"]) - 2) // 4 for wd in windows]
    for n in sorted(set(sizes)):
        idx = [i for i, m in enumerate(sizes) if m == n]
        for i, r in zip(idx, _fit_bucket([windows[i] for i in idx], **opts)):
            out[i] = r
    return out


def _pack(windows, profile):
    """Pad the windows of one bucket to common arrays (points, parameters, bounds)."""
    nwin = len(windows)
    n = max((len(wd["p0"]) - 2) // 4 for wd in windows)
    kmax = max(len(wd["x"]) for wd in windows)
    npar = 4 * n + 2
    x = np.zeros((nwin, kmax))
    y = np.zeros((nwin, kmax))
    wgt = np.zeros((nwin, kmax))
    p = np.zeros((nwin, npar))
    lb = np.full((nwin, npar), -np.inf)
    ub = np.full((nwin, npar), np.inf)
    used = np.zeros((nwin, npar), bool)
    xc = np.array([wd["xc"] for wd in windows], float)
    dof = np.zeros(nwin)
    for i, wd in enumerate(windows):
        k = len(wd["x"])
        x[i, :k], y[i, :k], wgt[i, :k] = wd["x"], wd["y"], 1.0 / np.asarray(wd["sigma"])
        x[i, k:] = wd["x"][-1]
        m = (len(wd["p0"]) - 2) // 4
        idx = np.r_[np.arange(4 * m), npar - 2, npar - 1]
        p[i, idx], lb[i, idx], ub[i, idx] = wd["p0"], wd["lb"], wd["ub"]
        used[i, idx] = True
        # padded peaks: zero area, harmless width/shape, held fixed
        pad = np.setdiff1d(np.arange(npar), idx)
        p[i, pad] = np.tile([x[i, 0], 1.0, 0.0, 0.5 if profile == "pseudo_voigt" else 2.0], n - m)
        lb[i, pad] = ub[i, pad] = p[i, pad]
        dof[i] = max(k - len(wd["p0"]), 1)
    return nwin, n, npar, x, y, wgt, p, lb, ub, used, xc, dof


def _fit_bucket(
    windows, *, profile, ka2_ratio, wavelength_ka1, wavelength_ka2, ftol, xtol, max_iter
):
    nwin, n, npar, x, y, wgt, p, lb, ub, used, xc, dof = _pack(windows, profile)
    kw = dict(profile=profile, ka2_ratio=ka2_ratio, l1=wavelength_ka1, l2=wavelength_ka2, n=n)
    with np.errstate(all="ignore"):
        res, jac = _evaluate(p, x, xc, wgt, y, **kw)
        cost = np.sum(res * res, axis=1)
        lam = np.full(nwin, float(LAMBDA0))
        nu = np.full(nwin, 2.0)
        done = ~np.isfinite(cost)
        eye = np.eye(npar, dtype=bool)
        for _ in range(max_iter):
            act = np.flatnonzero(~done)
            if act.size == 0:
                break
            ja, ra, pa = jac[act], res[act], p[act]
            jt = np.swapaxes(ja, 1, 2)
            a_mat = jt @ ja
            grad = (jt @ ra[..., None])[..., 0]
            free = used[act] & ~(((pa <= lb[act]) & (grad > 0)) | ((pa >= ub[act]) & (grad < 0)))
            free &= lb[act] < ub[act]
            fm = free[:, :, None] & free[:, None, :]
            a_mat = np.where(fm, a_mat, 0.0)
            a_undamped = a_mat
            diag = np.einsum("gpp->gp", a_mat)
            diag = np.where(free, np.maximum(diag, 1e-12 * diag.max(axis=1, keepdims=True)), 1.0)
            a_mat = a_mat + eye * (lam[act, None] * diag)[:, :, None]
            a_mat = np.where(eye & ~free[:, :, None], 1.0, a_mat)
            rhs = np.where(free, -grad, 0.0)
            try:
                step = np.linalg.solve(a_mat, rhs[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.stack(
                    [np.linalg.lstsq(am, r, rcond=None)[0] for am, r in zip(a_mat, rhs)]
                )
            trial = np.clip(pa + step, lb[act], ub[act])
            r_t, j_t = _evaluate(trial, x[act], xc[act], wgt[act], y[act], **kw)
            c_t = np.sum(r_t * r_t, axis=1)
            # gain ratio ρ = actual / predicted decrease of Σr² (Nielsen's damping update)
            pred = -(
                2 * np.sum(grad * step, axis=1)
                + np.sum(step * (a_undamped @ step[..., None])[..., 0], axis=1)
            )
            rho = (cost[act] - c_t) / np.where(pred > 0, pred, np.inf)
            ok = np.isfinite(c_t) & (c_t <= cost[act])
            acc = act[ok]
            rel_drop = (cost[acc] - c_t[ok]) / np.maximum(cost[acc], 1e-300)
            small = np.all(np.abs(trial[ok] - pa[ok]) <= xtol * (np.abs(pa[ok]) + xtol), axis=1)
            # a χ² decrease below 1e-6·χ²_red moves the parameters by ≲ 0.001 σ
            tiny = (cost[acc] - c_t[ok]) < 1e-6 * np.maximum(c_t[ok] / dof[acc], 1e-300)
            p[acc], res[acc], jac[acc], cost[acc] = trial[ok], r_t[ok], j_t[ok], c_t[ok]
            lam[acc] = np.maximum(
                lam[acc] * np.maximum(1 / 3, 1 - (2 * np.clip(rho[ok], 0, 1) - 1) ** 3), 1e-12
            )
            nu[acc] = 2.0
            done[acc[(rel_drop < ftol) | small | tiny]] = True
            rej = act[~ok]
            lam[rej] *= nu[rej]
            nu[rej] *= 2
            done[rej[lam[rej] > 1e10]] = True
        chi2 = cost / dof
        jtj = np.swapaxes(jac, 1, 2) @ jac
        jtj = np.where(used[:, :, None] & used[:, None, :], jtj, 0.0)
        try:
            cov = np.linalg.pinv(jtj) * np.maximum(chi2, 1e-12)[:, None, None]
            err = np.sqrt(np.clip(np.einsum("gpp->gp", cov), 0, None))
        except np.linalg.LinAlgError:
            err = np.full_like(p, np.nan)
    out = []
    for i in range(nwin):
        sel = used[i]
        ok = bool(np.isfinite(cost[i]) and np.all(np.isfinite(p[i, sel])))
        out.append((p[i, sel], err[i, sel], ok))
    return out
