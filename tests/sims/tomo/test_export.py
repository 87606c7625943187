import dask.array as da
import numpy as np
import pytest
import tifffile

import charsuite
from charsuite.datasets.tomogram import tomogram
from charsuite.exceptions import OutputError, OutputExistsError, ParameterError
from charsuite.sims.tomo import export_tomogram, read_zarr


@pytest.fixture(scope="module")
def small():
    cube, _ = tomogram(n_scans=20, shape_yx=(16, 18), chunk_scans=6)
    return cube


@pytest.mark.parametrize("name", ["t.h5", "t.ome.tif", "t.tif", "t.zarr"])
def test_round_trip(small, tmp_path, name):
    path = export_tomogram(small, tmp_path / name)
    if name.endswith(".h5"):
        back = charsuite.read(path)
        np.testing.assert_array_equal(back.values, small.values)
        assert back["y"].attrs["units"] == "µm"
        assert back.attrs["history"][0]["operation"] == "generate"
    elif name.endswith(".zarr"):
        back = read_zarr(path)
        np.testing.assert_array_equal(back.values, small.values)
        assert list(back["species"].values) == list(small["species"].values)
    else:
        with tifffile.TiffFile(path) as tf:
            assert tf.series[0].axes == "ZCYX"
            arr = tf.asarray()
            assert tf.is_ome == name.endswith(".ome.tif")
        np.testing.assert_array_equal(arr.transpose(0, 2, 3, 1), small.values)
    with pytest.raises(OutputExistsError):
        export_tomogram(small, path)
    export_tomogram(small, path, force=True)


def _boom(block):
    raise RuntimeError("interrupted")


@pytest.mark.parametrize("name", ["t.h5", "t.ome.tif", "t.zarr"])
def test_interrupted_export_leaves_nothing(small, tmp_path, name):
    data = (
        small.data
        if isinstance(small.data, da.Array)
        else da.from_array(small.values, chunks=(6, -1, -1, -1))
    )
    bad = data.map_blocks(
        lambda b, block_info=None: _boom(b) if block_info[0]["chunk-location"][0] == 2 else b,
        dtype=data.dtype,
    )
    with pytest.raises(RuntimeError, match="interrupted"):
        export_tomogram(small.copy(data=bad), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_bad_outputs(small, tmp_path):
    with pytest.raises(ParameterError, match="unknown tomogram output"):
        export_tomogram(small, tmp_path / "t.xyz")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises((ParameterError, OutputExistsError, OutputError)):
        export_tomogram(small, blocker / "t.h5")


def test_reconstruct_shifts_every_block_once(tmp_path, monkeypatch):
    # apply_drift is lazy; interface detection and z-correction each read the registered
    # cube. It is now kept in memory after one pass: every block is shifted exactly once,
    # and the tomogram is identical to the streamed (recomputing) path.
    import charsuite.io
    from charsuite.sims.tomo import _register as reg
    from charsuite.sims.tomo import reconstruct

    path, _ = tomogram(path=tmp_path / "cube.h5", n_scans=150, shape_yx=(40, 40), chunk_scans=16)
    layers = "Li:160:Li,LiPON:60:PO2,NMC811:120:Ni,ITO:45:In,steel::Fe"
    kw = {"species": ["Li", "Ni", "Mn"], "register": True, "layers": layers}
    calls = []
    original = reg._apply_block

    def counting(block, *args, **kwargs):
        calls.append(block.shape)
        return original(block, *args, **kwargs)

    monkeypatch.setattr(reg, "_apply_block", counting)
    registered = []
    apply = reg.apply_drift
    monkeypatch.setattr(
        reg, "apply_drift", lambda *a, **k: registered.append(apply(*a, **k)) or registered[-1]
    )
    once, r1 = reconstruct(path, scheduler="synchronous", **kw)
    once = once.compute(scheduler="synchronous").values
    n_once = len([c for c in calls if c[0] > 0])
    calls.clear()
    monkeypatch.setattr(charsuite.io, "max_memory", lambda: 0)  # too big: stays lazy
    lazy, r2 = reconstruct(path, scheduler="synchronous", **kw)
    lazy = lazy.compute(scheduler="synchronous").values
    n_lazy = len([c for c in calls if c[0] > 0])
    n_blocks = registered[0].data.npartitions
    assert n_once == n_blocks and n_lazy >= 2 * n_blocks
    assert r1.zcorrection == r2.zcorrection
    np.testing.assert_array_equal(once, lazy)
