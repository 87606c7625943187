"""Batched Levenberg–Marquardt window fitter against scipy.optimize.least_squares."""

import numpy as np
import pytest
from scipy.optimize import least_squares

from charsuite.xrd import ka2_position, pearson7, pseudo_voigt
from charsuite.xrd._batchfit import _evaluate, fit_windows

L1, L2 = 1.540598, 1.544426


@pytest.mark.parametrize("profile", ["pseudo_voigt", "pearson7"])
def test_analytic_jacobian_matches_finite_differences(profile):
    x = np.linspace(39, 41, 200)[None, :]
    sh = 0.3 if profile == "pseudo_voigt" else 1.7
    p = np.array([[39.9, 0.19, 2.5, sh, 40.3, 0.2, 5.0, sh, 28.2, -1.9]])
    kw = dict(profile=profile, ka2_ratio=0.5, l1=L1, l2=L2, n=2)
    args = (x, np.array([40.0]), np.ones_like(x), np.zeros_like(x))
    _, jt = _evaluate(p, *args, **kw)
    for i in range(p.shape[1]):
        h = 1e-6 * max(abs(p[0, i]), 1)
        dp = np.zeros_like(p)
        dp[0, i] = h
        num = (_evaluate(p + dp, *args, **kw)[0] - _evaluate(p - dp, *args, **kw)[0]) / (2 * h)
        assert np.allclose(jt[0, i], num[0], rtol=1e-5, atol=1e-6 * np.abs(num).max())


def _windows(profile, rng):
    f, sh = (pseudo_voigt, 0.4) if profile == "pseudo_voigt" else (pearson7, 2.0)
    lo_sh, hi_sh = (0.0, 1.0) if profile == "pseudo_voigt" else (0.6, 50.0)
    wins, truth = [], []
    for k in range(12):
        n = 1 + k % 3
        c = 20.0 + 5 * k + np.arange(n) * 0.35
        w, a = rng.uniform(0.1, 0.3, n), rng.uniform(50, 500, n)
        x = np.arange(c[0] - 1.0, c[-1] + 1.2, 0.01)
        y = 20.0 + sum(
            f(x, ci, wi, ai, sh) + f(x, ka2_position(ci, L1, L2), wi, 0.5 * ai, sh)
            for ci, wi, ai in zip(c, w, a)
        )
        y = rng.poisson(y * 20) / 20
        p0, lb, ub = [], [], []
        for ci, _wi, ai in zip(c, w, a):
            g = ci + rng.uniform(-0.03, 0.03)
            p0 += [g, 0.2, ai * rng.uniform(0.5, 1.5), 0.5 if profile == "pseudo_voigt" else 2.0]
            lb += [g - 0.2, 0.005, 0.0, lo_sh]
            ub += [g + 0.2, 1.2, np.inf, hi_sh]
        p0 += [float(y.min()), 0.0]
        lb += [-np.inf, -np.inf]
        ub += [np.inf, np.inf]
        sig = np.sqrt(np.maximum(y, 1) / 20)
        wins.append(dict(x=x, y=y, sigma=sig, xc=float(x.mean()), p0=np.array(p0), lb=lb, ub=ub))
        truth.append((c, w, a))
    return wins, truth


@pytest.mark.parametrize("profile", ["pseudo_voigt", "pearson7"])
def test_batched_fit_reaches_the_scipy_minimum_and_the_truth(profile):
    rng = np.random.default_rng(3)
    wins, truth = _windows(profile, rng)
    fits = fit_windows(wins, profile=profile, ka2_ratio=0.5, wavelength_ka1=L1, wavelength_ka2=L2)
    for wd, (par, err, ok), (c, _w, a) in zip(wins, fits, truth):
        assert ok
        n = len(c)
        kw = dict(profile=profile, ka2_ratio=0.5, l1=L1, l2=L2, n=n)
        args = (wd["x"][None], np.array([wd["xc"]]), 1 / wd["sigma"][None], wd["y"][None])

        def fun(p, kw=kw, args=args):
            return _evaluate(p[None], *args, **kw)[0][0]

        ref = least_squares(fun, wd["p0"], bounds=(wd["lb"], wd["ub"]), x_scale="jac")
        cost, cost_ref = np.sum(fun(par) ** 2), np.sum(ref.fun**2)
        assert cost <= cost_ref * (1 + 1e-4) + 1e-6
        assert np.all(par >= np.array(wd["lb"])) and np.all(par <= np.array(wd["ub"]))
        centres = par[0 : 4 * n : 4]
        assert np.all(np.abs(centres - c) < 5 * err[0 : 4 * n : 4] + 1e-3)
        assert np.allclose(par[2 : 4 * n : 4], a, rtol=0.1)
        # error bars agree with the scipy Jacobian-based ones
        jac = ref.jac
        cov = np.linalg.pinv(jac.T @ jac) * cost_ref / (wd["x"].size - len(wd["p0"]))
        assert np.allclose(err[0 : 4 * n : 4], np.sqrt(np.diag(cov))[0 : 4 * n : 4], rtol=0.05)


def test_empty_and_degenerate_windows():
    assert (
        fit_windows([], profile="pseudo_voigt", ka2_ratio=0, wavelength_ka1=L1, wavelength_ka2=L2)
        == []
    )
    x = np.linspace(0, 1, 20)
    bad = dict(
        x=x,
        y=np.full(20, np.nan),
        sigma=np.ones(20),
        xc=0.5,
        p0=np.array([0.5, 0.1, 1.0, 0.5, 0.0, 0.0]),
        lb=[0.4, 0.01, 0, 0, -np.inf, -np.inf],
        ub=[0.6, 1, np.inf, 1, np.inf, np.inf],
    )
    ((_par, _err, ok),) = fit_windows(
        [bad], profile="pseudo_voigt", ka2_ratio=0, wavelength_ka1=L1, wavelength_ka2=L2
    )
    assert not ok
