import h5py
import numpy as np
import pytest

from charsuite.exceptions import CharsuiteError
from charsuite.io import read
from charsuite.testing import ReaderContract


def _write(path, dims_attr=None):
    data = np.arange(4 * 3 * 5, dtype=np.float32).reshape(5, 3, 4)  # (x, y, depth)
    with h5py.File(path, "w") as f:
        d = f.create_dataset("maps/NiO", data=data, chunks=(5, 3, 2))
        d.attrs["units"] = "counts"
        d.attrs["pixel_size_um"] = 0.04
        if dims_attr:
            d.attrs["dims"] = dims_attr
    return path


class TestHdf5Cube(ReaderContract):
    format_name = "hdf5-cube"
    fuzz_examples = 15

    def make_file(self, tmp_path):
        return _write(tmp_path / "cube.h5", "x,y,depth")

    def make_nan_file(self, tmp_path):
        path = _write(tmp_path / "nan.h5", "x,y,depth")
        with h5py.File(path, "r+") as f:
            f["maps/NiO"][2, 1, 3] = np.nan
        return path


def test_named_axes_and_node(tmp_path):
    path = _write(tmp_path / "c.h5")
    cube = read(f"{path}::/maps/NiO", dims=("x", "y", "depth"))
    assert cube.dims == ("depth", "y", "x", "species") and cube.shape == (4, 3, 5, 1)
    assert cube.species.values.tolist() == ["NiO"]
    assert cube.values[2, 1, 3, 0] == 3 * 12 + 1 * 4 + 2
    assert cube.y.attrs["units"] == "um"


def test_bad_dims_and_node(tmp_path):
    path = _write(tmp_path / "c.h5")
    with pytest.raises(CharsuiteError, match="name each axis once"):
        read(f"{path}::/maps/NiO", dims=("x", "x", "depth"))
    with pytest.raises(CharsuiteError, match="maps/NiO"):
        read(f"{path}::/nothing", format="hdf5-cube")


def test_dimension_scale_labels_and_species(tmp_path):
    path = tmp_path / "s.h5"
    data = (
        np.random.default_rng(0).poisson(3, (2, 4, 3, 6)).astype(np.float32)
    )  # species, x, y, depth
    with h5py.File(path, "w") as f:
        d = f.create_dataset("cube", data=data)
        for i, name in enumerate(("species", "x", "y", "depth")):
            d.dims[i].label = name
        d.attrs["species"] = "Li+,NiO-"
    cube = read(path)  # sniffed: the only >=3-D dataset
    assert cube.dims == ("depth", "y", "x", "species") and cube.shape == (6, 3, 4, 2)
    assert cube.species.values.tolist() == ["Li+", "NiO-"]
    np.testing.assert_array_equal(cube.sel(species="NiO-").values, data[1].transpose(2, 1, 0))
