import numpy as np
import pytest

import charsuite
from charsuite.datasets.tomogram import tomogram, two_phase_cube
from charsuite.exceptions import ParameterError
from charsuite.model import check_units


def test_in_memory_lazy_and_file_are_identical(tmp_path):
    kw = {"n_scans": 30, "shape_yx": (20, 24), "seed": 3, "chunk_scans": 7}
    cube, truth = tomogram(**kw)
    lazy, _ = tomogram(lazy=True, **kw)
    path, _ = tomogram(path=tmp_path / "c.h5", **kw)
    back = charsuite.read(path)
    assert cube.dims == ("depth", "y", "x", "species")
    check_units(cube)
    np.testing.assert_array_equal(cube.values, lazy.values)
    np.testing.assert_array_equal(cube.values, back.values)
    assert back.attrs["metadata"]["n_scans"] == 30
    assert truth["interface_scan"].shape == (4, 20, 24)
    np.testing.assert_allclose(truth["shift_px"], -truth["drift_px"])


def test_layers_show_in_mean_profile():
    cube, truth = tomogram(n_scans=150, shape_yx=(16, 16), inclusion=False)
    prof = cube.mean(("y", "x"))
    # the PO2 marker peaks inside LiPON, between the first two interfaces
    s0, s1 = truth["interface_scan"].mean((1, 2))[:2]
    assert s0 < int(prof.sel(species="PO2").argmax("depth")) < s1
    assert truth["interface_depth_nm"].mean((1, 2))[0] == pytest.approx(160.0)


def test_two_phase_truth():
    cube, truth = two_phase_cube(n_scans=4, shape_yx=(20, 20))
    mn = cube.sel(species="Mn").mean("depth").values
    assert mn[truth["phase_map"]].mean() > 3 * mn[~truth["phase_map"]].mean()


def test_bad_layers():
    with pytest.raises(ParameterError):
        tomogram(layers=(("Li", None, 1.0), ("NMC811", None, 1.0)))
    with pytest.raises(ParameterError):
        tomogram(layers=(("Unobtainium", 10.0, 1.0), ("NMC811", None, 1.0)))
