import meshio
import numpy as np
import pytest

from charsuite.datasets.tomogram import tomogram
from charsuite.exceptions import DataError, ParameterError
from charsuite.sims.tomo import (
    bin_cube,
    detect_interfaces,
    find_regions,
    gaussian,
    isosurface,
    nlmeans,
    orthoslices,
    projection,
    segment_layers,
    write_mesh,
    zcorrect,
)

LAYERS = "Li:160:Li,LiPON:60:PO2,NMC811:120:Ni,ITO:45:In,steel::Fe"


@pytest.fixture(scope="module")
def tomo():
    # no drift here (registration is tested elsewhere): the z-corrected volume only
    cube, truth = tomogram(
        shape_yx=(56, 56), seed=4, drift_step_px=0, drift_wander_px=0, drift_trend_px=(0, 0)
    )
    zc = detect_interfaces(cube, LAYERS)
    return zcorrect(cube, zc).compute(), truth


def test_inclusion_volume_within_10_percent(tomo):
    vol, truth = tomo
    labels = segment_layers(vol, ["Li", "PO2", "Ni", "In", "Fe"])
    host = (labels == 2).compute()
    assert 0.2 < float(host.mean()) < 0.45
    res = find_regions(vol, "Mn", mask=host)
    true = truth["inclusion"]["volume_nm3"]
    assert len(res.regions) == 1
    big = res.regions[0]
    assert abs(big.volume_nm3 / true - 1) < 0.10, big.volume_nm3 / true
    np.testing.assert_allclose(big.centroid_nm, truth["inclusion"]["center_nm"], atol=40)
    assert res.labels.shape == vol.shape[:3]
    d = res.to_dict()
    assert d["regions"][0]["volume_nm3"] == pytest.approx(big.volume_nm3)
    with pytest.raises(DataError, match="empty"):
        find_regions(vol, "Mn", mask=host & False)


def test_isosurface_and_meshes(tomo, tmp_path):
    vol, truth = tomo
    host = (segment_layers(vol, ["Li", "PO2", "Ni", "In", "Fe"]) == 2).compute()
    level = find_regions(vol, "Mn", mask=host).threshold
    mesh = isosurface(vol, "Mn", level=level)
    a, b, c = truth["inclusion"]["semi_axes_nm"]
    p = 1.6075  # Knud Thomsen's ellipsoid surface approximation
    area = 4 * np.pi * (((a * b) ** p + (a * c) ** p + (b * c) ** p) / 3) ** (1 / p)
    assert 0.7 < mesh.area_nm2 / area < 1.5
    for ext in ("ply", "obj", "vtk"):
        path = write_mesh(mesh, tmp_path / f"m.{ext}")
        back = meshio.read(path)
        assert len(back.points) == len(mesh.vertices)
    with pytest.raises(ParameterError):
        write_mesh(mesh, tmp_path / "m.stl")


def test_denoisers_keep_counts(tomo):
    _vol, _ = tomo
    cube, _ = tomogram(n_scans=12, shape_yx=(24, 24), inclusion=False)
    b = bin_cube(cube, depth=1, y=2, x=2)
    assert float(b.sum()) == float(cube.sum())
    assert b.sizes["y"] == 12
    g = gaussian(cube, sigma=(0, 1, 1)).compute()
    np.testing.assert_allclose(float(g.sum()), float(cube.sum()), rtol=2e-3)
    li = cube.sel(species="Li").values
    n = nlmeans(cube.sel(species=["Li"])).compute().values[..., 0]
    assert abs(n.mean() / li.mean() - 1) < 0.05  # mean counts kept
    assert n.std() < li.std()  # noise reduced
    with pytest.raises(ParameterError):
        bin_cube(cube, y=0)


def test_slices_and_projections(tomo):
    vol, _ = tomo
    sl = orthoslices(vol, depth=280.0)
    assert sl["depth"].dims == ("y", "x", "species")
    assert sl["y"].dims == ("depth", "x", "species")
    pr = projection(vol, "depth", method="max")
    assert pr.dims == ("y", "x", "species")
    with pytest.raises(ParameterError):
        projection(vol, "species")


def test_chunked_labels_equal_whole_volume_labels(tomo):
    """Slab labelling with boundary merges = scipy.ndimage.label on the whole volume."""
    from scipy import ndimage

    vol, _ = tomo
    v = gaussian(vol.sel(species=["Mn"]), sigma=(1, 1, 1)).isel(species=0).values
    thr = float(np.percentile(v, 70))  # many components crossing slab boundaries
    res = find_regions(vol, "Mn", threshold=thr, chunk_depth=3, min_voxels=1)
    ref, n = ndimage.label(ndimage.binary_fill_holes(v > thr))
    sizes = np.bincount(ref.ravel())[1:]
    assert n > 20 and len(res.regions) == n
    assert sorted(r.voxels for r in res.regions) == sorted(sizes.tolist())
    lab = res.labels.values
    assert ((lab > 0) == (ref > 0)).all()
    # the same partition, numbered in the same (raster) order
    np.testing.assert_array_equal(lab, ref)
    whole = find_regions(vol, "Mn", threshold=thr, min_voxels=1)
    assert [r.voxels for r in whole.regions] == [r.voxels for r in res.regions]


def test_isosurface_in_slabs_equals_whole_volume(tomo):
    vol, _ = tomo
    host = (segment_layers(vol, ["Li", "PO2", "Ni", "In", "Fe"]) == 2).compute()
    level = find_regions(vol, "Mn", mask=host).threshold
    whole = isosurface(vol, "Mn", level=level, chunk_depth=10_000)
    slabs = isosurface(vol, "Mn", level=level, chunk_depth=7)
    assert len(slabs.vertices) == len(whole.vertices) and len(slabs.faces) == len(whole.faces)
    assert slabs.area_nm2 == pytest.approx(whole.area_nm2, rel=1e-9)
    np.testing.assert_allclose(np.sort(slabs.vertices, 0), np.sort(whole.vertices, 0))
