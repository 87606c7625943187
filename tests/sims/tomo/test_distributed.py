"""The same API on a dask.distributed LocalCluster gives the in-memory results."""

import numpy as np
import pytest

from charsuite.datasets.tomogram import tomogram, two_phase_cube
from charsuite.sims.tomo import nmf, pca, reconstruct

LAYERS = "Li:160:Li,LiPON:60:PO2,NMC811:120:Ni,ITO:45:In,steel::Fe"


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cl,
        distributed.Client(cl, set_as_default=False) as client,
    ):
        yield cl, client


def test_reconstruct_identical_on_cluster(cluster, tmp_path):
    cl, client = cluster
    path, _ = tomogram(path=tmp_path / "cube.h5", n_scans=150, shape_yx=(40, 40), chunk_scans=16)
    kw = {"species": ["Li", "Ni", "Mn"], "register": True, "layers": LAYERS}
    local, rl = reconstruct(path, output=tmp_path / "a.h5", scheduler="threads", **kw)
    remote, rr = reconstruct(path, output=tmp_path / "b.h5", scheduler=client, **kw)
    _by_address, ra = reconstruct(path, scheduler=cl.scheduler_address, **kw)
    assert rl.registration["shifts_px"] == rr.registration["shifts_px"]
    assert rl.zcorrection == rr.zcorrection == ra.zcorrection
    a = local.compute(scheduler="threads").values
    np.testing.assert_array_equal(a, remote.compute(scheduler=client).values)
    import charsuite

    np.testing.assert_array_equal(
        charsuite.read(tmp_path / "a.h5").values, charsuite.read(tmp_path / "b.h5").values
    )


def test_pca_identical_on_cluster(cluster):
    _, client = cluster
    cube, _ = two_phase_cube(n_scans=8, shape_yx=(24, 24))
    a = pca(cube, n_components=2)
    b = pca(cube, n_components=2, scheduler=client)
    np.testing.assert_allclose(a.loadings, b.loadings, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        a.scores.values, b.scores.compute(scheduler=client).values, rtol=1e-5, atol=1e-6
    )


def test_nmf_identical_on_cluster(cluster):
    _, client = cluster
    cube, _ = two_phase_cube(n_scans=6, shape_yx=(20, 20))
    kw = {"n_components": 2, "max_iter": 40, "score_iter": 20, "sample": 1000}
    a = nmf(cube, **kw)
    b = nmf(cube, scheduler=client, **kw)
    np.testing.assert_allclose(a.loadings, b.loadings, rtol=1e-12)
    np.testing.assert_allclose(
        a.scores.values, b.scores.compute(scheduler=client).values, rtol=1e-6
    )
