"""The Pawley NNLS solved on the Gram matrix against scipy's NNLS on the full design."""

import numpy as np
import pytest
from scipy.optimize import nnls
from scipy.sparse import csc_matrix

from charsuite.xrd._analysis import _near_lines, _nnls, _pawley, _pawley_design
from charsuite.xrd._peaks import ka2_position

RAD = {"l1": 1.5405929, "l2": 1.5444274, "ratio": 0.5}


def _problem(seed, n_lines=40, duplicate=False):
    rng = np.random.default_rng(seed)
    x = np.arange(20.0, 60.0, 0.01)
    pos = np.sort(rng.uniform(21, 59, n_lines))
    if duplicate:  # two phases with a common line: an exactly singular Gram matrix
        pos2 = np.concatenate([pos[:5], rng.uniform(21, 59, 5)])
    else:
        pos2 = rng.uniform(21, 59, 10)
    phases = [("A", pos, 0.08), ("B", pos2, 0.08)]
    a, _ = _pawley_design(x, phases, **RAD)
    truth = rng.uniform(0, 1000, a.shape[1]) * (rng.random(a.shape[1]) > 0.3)
    mean = a @ truth + 5.0
    y = rng.poisson(mean) - 5.0
    return x, y, np.sqrt(mean), phases, a


@pytest.mark.parametrize("duplicate", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gram_nnls_same_fit_as_full_nnls(seed, duplicate):
    _, y, s, _, a = _problem(seed, duplicate=duplicate)
    aw = csc_matrix(a.multiply(1 / s[:, None]))
    coef = _nnls(aw, y / s, maxiter=50 * a.shape[1])
    ref, _ = nnls(aw.toarray(), y / s, maxiter=50 * a.shape[1])
    assert np.all(coef >= 0)
    chi_new = np.sum((y / s - aw @ coef) ** 2)
    chi_ref = np.sum((y / s - aw @ ref) ** 2)
    assert chi_new == pytest.approx(chi_ref, rel=1e-9)
    # the fitted pattern (the projection on the cone) is unique even when c is not
    np.testing.assert_allclose(a @ coef, a @ ref, atol=1e-6 * np.max(np.abs(a @ ref)))


def test_pawley_rwp_and_columns():
    x, y, s, phases, a = _problem(3)
    out = _pawley(x, y, s, phases, **RAD)
    w = 1 / s
    ref, _ = nnls(a.toarray() * w[:, None], y * w)
    rwp = np.sqrt(np.sum((w * (y - a @ ref)) ** 2) / np.sum((w * y) ** 2))
    assert out["rwp"] == pytest.approx(rwp, rel=1e-9)
    # every column is a unit-area Kα1 line plus its Kα2 partner × ratio, each windowed to
    # ±25 FWHM (2°) and renormalised: area 1 + ratio where both windows lie in the scan
    cent = np.concatenate([p[(p > x[0] - 1) & (p < x[-1] + 1)] for _, p, _ in phases])
    full = (cent - 2.0 > x[0]) & (ka2_position(cent, RAD["l1"], RAD["l2"]) + 2.0 < x[-1])
    area = np.asarray(a.sum(axis=0)).ravel() * 0.01
    assert full.sum() > 30
    np.testing.assert_allclose(area[full], 1 + RAD["ratio"], rtol=1e-3)


def test_near_lines_matches_loop():
    x = np.arange(10.0, 20.0, 0.013)
    pos = np.array([9.95, 12.3, 12.31, 19.99, 25.0])
    loop = np.zeros(x.size, bool)
    for c in pos:
        loop |= np.abs(x - c) < 3 * 0.05
    np.testing.assert_array_equal(_near_lines(x, pos, 0.05), loop)


def test_decide_fit_reuses_the_design_with_the_same_result():
    from charsuite.xrd._analysis import _PawleyCalc

    x, y, s, phases, _ = _problem(4)
    phases = [*phases, ("C", np.array([30.5, 44.4]), 0.1)]
    fit = _PawleyCalc(**RAD)
    # the Gram sub-block of the full design and the Gram of the subset's design are the same
    # sums, accumulated by BLAS in blocks of different shape: equal to rounding, not bitwise
    same = dict(rtol=1e-9, atol=1e-9 * float(np.abs(y).max()))
    for subset in (phases, phases[1:], phases[:1] + phases[2:], phases[:2], phases):
        np.testing.assert_allclose(
            fit(x, y, s, subset), _pawley(x, y, s, subset, **RAD)["calc"], **same
        )
    # another grid: a new design, not the cached one
    half = slice(0, x.size // 2)
    np.testing.assert_allclose(
        fit(x[half], y[half], s[half], phases),
        _pawley(x[half], y[half], s[half], phases, **RAD)["calc"],
        **same,
    )
