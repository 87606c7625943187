import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from charsuite.exceptions import OutputExistsError
from charsuite.io import read, write
from charsuite.testing import ReaderContract


def _cube():
    data = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    return xr.DataArray(
        data,
        dims=("depth", "y", "species"),
        coords={
            "depth": ("depth", np.arange(2), {"units": "scan"}),
            "y": ("y", np.arange(3) * 0.04, {"units": "um"}),
            "species": ("species", ["Li+", "NiO-", "MnO-", "CoO-"], {"units": "label"}),
        },
        name="counts",
        attrs={"units": "counts", "metadata": {"pixel_size_um": 0.04}, "history": []},
    )


class TestCharsuiteH5(ReaderContract):
    format_name = "charsuite-h5"
    fuzz_examples = 15

    def make_file(self, tmp_path):
        return write(_cube(), tmp_path / "cube.h5")

    def make_nan_file(self, tmp_path):
        cube = _cube()
        cube[0, 1, 2] = np.nan
        return write(cube, tmp_path / "nan.h5")


def test_round_trip_dataarray(tmp_path):
    cube = _cube()
    back = read(write(cube, tmp_path / "c.h5"))
    xr.testing.assert_identical(cube.drop_attrs(), back.drop_attrs())
    assert back.attrs["metadata"] == {"pixel_size_um": 0.04}
    assert back.attrs["history"][-1]["operation"] == "read"


def test_round_trip_dataset_lazy(tmp_path):
    ds = xr.Dataset(
        {
            "voltage": ("record", np.linspace(3, 4.3, 7), {"units": "V"}),
            "current": ("record", np.ones(7), {"units": "mA"}),
        },
        coords={"time": ("record", np.arange(7.0), {"units": "s"})},
    )
    write(ds.chunk({"record": 3}), tmp_path / "d.h5")
    back = read(tmp_path / "d.h5", lazy=True)
    xr.testing.assert_identical(ds.drop_attrs(), back.compute().drop_attrs())


def test_no_overwrite_without_force(tmp_path):
    path = write(_cube(), tmp_path / "c.h5")
    with pytest.raises(OutputExistsError, match="--force"):
        write(_cube(), path)
    write(_cube() * 2, path, force=True)
    assert float(read(path).sum()) == pytest.approx(2 * float(_cube().sum()))


@settings(max_examples=20, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int32, np.uint16]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    )
)
def test_round_trip_property(tmp_path_factory, arr):
    dims = tuple(f"d{i}" for i in range(arr.ndim))
    da = xr.DataArray(arr, dims=dims, name="v", attrs={"units": "counts"})
    path = tmp_path_factory.mktemp("rt") / "p.h5"
    back = read(write(da, path))
    np.testing.assert_array_equal(back.values, arr)
    assert back.dtype == arr.dtype
