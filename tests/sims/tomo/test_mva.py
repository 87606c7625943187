import json

import numpy as np
import pytest

from charsuite.datasets.tomogram import two_phase_cube
from charsuite.exceptions import ParameterError
from charsuite.sims.tomo import mva, nmf, pca


@pytest.fixture(scope="module")
def two_phase():
    return two_phase_cube(n_scans=16, shape_yx=(32, 32))


def _accuracy(pred, truth):
    acc = float((pred == truth).mean())
    return max(acc, 1 - acc)


def test_poisson_pca_separates_phases(two_phase):
    cube, truth = two_phase
    res = pca(cube, n_components=3)
    score = res.scores.isel(component=0).compute()
    assert _accuracy(score.mean("depth").values > 0, truth["phase_map"]) > 0.97
    assert _accuracy(score.values > 0, truth["phase_map"][None]) > 0.9
    assert res.explained_variance_ratio[0] > 2 * res.explained_variance_ratio[1]
    load = dict(zip(res.species, res.loadings[0]))
    assert np.sign(load["Mn"]) == -np.sign(load["Ni"])  # the phases differ in Mn vs Ni
    json.dumps(res.to_dict())
    rnd = pca(cube, n_components=3, solver="randomized")
    np.testing.assert_allclose(rnd.loadings[0], res.loadings[0], atol=1e-6)


def test_poisson_nmf_separates_phases(two_phase):
    cube, truth = two_phase
    res = nmf(cube, n_components=2, max_iter=150, score_iter=60, sample=5000)
    h = np.asarray(res.loadings)
    np.testing.assert_allclose(h.sum(1), 1.0)
    j = int(np.argmax(h[:, res.species.index("Mn")]))
    w = res.scores.compute().values.mean(0)
    frac = w[..., j] / w.sum(-1)
    assert _accuracy(frac > 0.5, truth["phase_map"]) > 0.97
    assert (res.scores.compute().values >= 0).all()


def test_bad_parameters(two_phase):
    cube, _ = two_phase
    with pytest.raises(ParameterError):
        pca(cube, n_components=0)
    with pytest.raises(ParameterError):
        mva(cube, method="ica")
    with pytest.raises(ParameterError):
        pca(cube, solver="exact")
