"""The HDF5 streaming path of map_depth_slabs / depth_profile equals the dask path."""

import itertools

import h5py
import numpy as np
import pytest

from charsuite.datasets.sims import make_tofdaq_stack
from charsuite.io import read
from charsuite.io.hdf5 import SlabReader, lookup
from charsuite.sims import depth_profile, iter_depth_slabs
from charsuite.sims._cube import map_depth_slabs

# the reversed-export fixture is re-ordered by time with a warning (tested in test_tofdaq)
pytestmark = pytest.mark.filterwarnings("ignore:.*BufTimes decrease")


def _via_dask(cube):
    """The same values under a new dask name: not registered, so streamed through dask."""
    out = cube.copy(data=cube.data * np.float32(1))
    assert lookup(out.data) is None
    return out


@pytest.fixture(
    scope="module",
    params=[
        # (compression, chunk_scans, bipolar, reverse_writes, plan)
        (None, 3, False, False, "raw"),
        ("gzip", 2, False, False, "chunks"),
        (None, 4, True, False, "direct"),  # two datasets (PeakData + PeakData2)
        (None, 5, False, True, "raw"),  # reversed export, re-ordered by BufTimes
        ("gzip", 3, True, True, "chunks"),
    ],
    ids=["raw", "gzip", "bipolar", "reversed", "gzip-bipolar-reversed"],
)
def stack_file(request, tmp_path_factory):
    compression, chunk, bipolar, reverse, plan = request.param
    path = tmp_path_factory.mktemp("stream") / "s.h5"
    make_tofdaq_stack(
        path,
        n_scans=23,  # not a multiple of the chunk: a short last chunk
        shape=(12, 10),
        extra_peaks=3,
        n_extractions=12,  # low: some voxels saturate, exercising dead time
        bipolar=bipolar,
        reverse_writes=reverse,
        chunk_scans=chunk,
        compression=compression,
        seed=5,
    )
    return path, plan


def test_plan_and_slabs_equal_dask(stack_file):
    path, plan = stack_file
    cube = read(path, lazy=True)
    src = lookup(cube.data)
    assert src is not None
    reader = SlabReader(src, 0.001)  # tiny max_mb: one scan or one chunk row per slab
    assert reader.plan == plan
    reader.close()
    eager = read(path).values
    got = np.full(eager.shape, np.nan, dtype=np.float32)
    bounds = []
    for a, b, slab in iter_depth_slabs(cube, max_mb=0.001):
        got[a:b] = slab
        bounds.append((a, b))
    assert bounds[0][0] == 0 and bounds[-1][1] == eager.shape[0]
    assert all(b0[1] == b1[0] for b0, b1 in itertools.pairwise(bounds))
    assert len(bounds) > 3
    np.testing.assert_array_equal(got, eager)  # bit for bit, factor included
    # results that are views of the reused buffer are copied
    slabs = [s for _, _, s in map_depth_slabs(cube, lambda s: s[:, :2], max_mb=0.001)]
    np.testing.assert_array_equal(np.concatenate(slabs), eager[:, :2])
    nested = [r for _, _, r in map_depth_slabs(cube, lambda s: {"a": [s[:, 0]]}, max_mb=0.001)]
    np.testing.assert_array_equal(np.concatenate([r["a"][0] for r in nested]), eager[:, 0])


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"roi": "2:7,1:9"},
        {"roi": "mask"},
        {"normalize": "tic"},
        {"normalize": "matrix:Li+"},
        {"normalize": "current"},
        {"dead_time": True},
        {"dead_time": True, "roi": "mask"},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "plain",
)
def test_profile_equals_dask_path(stack_file, options):
    path, _ = stack_file
    cube = read(path, lazy=True)
    opts = dict(options)
    if opts.get("roi") == "mask":
        mask = np.zeros((12, 10), dtype=bool)
        mask[1::2, ::3] = True
        opts["roi"] = mask
    if opts.get("normalize") == "current":
        opts["current"] = np.linspace(1.0, 1.5, cube.sizes["depth"])
    fast = depth_profile(cube, max_mb=0.01, **opts)
    slow = depth_profile(_via_dask(cube), max_mb=0.01, **opts)
    for name in ("counts", "intensity", "tic", "saturated"):
        np.testing.assert_array_equal(fast[name].values, slow[name].values, err_msg=name)
    # from the path (as the CLI and the benchmark call it): same numbers
    by_path = depth_profile(path, **opts)
    np.testing.assert_array_equal(by_path.counts.values, fast.counts.values)


def test_profile_ions_per_extraction_cube(stack_file):
    path, _ = stack_file
    cube = read(path, lazy=True, units="ions/extraction")
    assert lookup(cube.data).factor is None
    fast = depth_profile(cube, normalize="tic")
    slow = depth_profile(_via_dask(cube), normalize="tic")
    np.testing.assert_array_equal(fast.counts.values, slow.counts.values)


def test_modified_cube_is_not_streamed_from_the_file(stack_file):
    path, _ = stack_file
    cube = read(path, lazy=True)
    sub = cube.isel(depth=slice(2, 9), species=[0, 2])
    assert lookup(sub.data) is None
    got = np.concatenate([s for _, _, s in iter_depth_slabs(sub)])
    np.testing.assert_array_equal(got, read(path).values[2:9][..., [0, 2]])


def _hdf5_cube(path, data, **kw):
    with h5py.File(path, "w", **kw.pop("file", {})) as f:
        d = f.create_dataset("cube", data=data, **kw)
        d.attrs["dims"] = "depth,y,x,species"
    return f"{path}::/cube"


@pytest.mark.parametrize(
    ("kw", "plan"),
    [
        ({}, "raw"),  # contiguous layout
        ({"file": {"userblock_size": 1024}}, "raw"),  # offsets include the user block
        ({"chunks": (2, 3, 7, 2)}, "direct"),  # a scan spans several chunks
        ({"chunks": (4, 9, 7, 2), "shuffle": True, "compression": "gzip"}, "chunks"),
        ({"chunks": (3, 4, 3, 1), "compression": "gzip"}, "chunks"),  # partial edge chunks
        ({"chunks": (4, 9, 7, 2), "compression": "gzip", "fletcher32": True}, "chunks"),
        (
            {"chunks": (2, 3, 7, 2), "compression": "gzip", "file": {"userblock_size": 512}},
            "chunks",
        ),
        ({"chunks": (4, 9, 7, 2), "scaleoffset": 2}, "direct"),  # a filter not decoded here
    ],
    ids=[
        "contiguous",
        "userblock",
        "small-chunks",
        "shuffle-gzip",
        "gzip-edges",
        "fletcher",
        "gzip-userblock",
        "scaleoffset",
    ],
)
def test_generic_hdf5_cube(tmp_path, kw, plan):
    rng = np.random.default_rng(3)
    data = rng.poisson(3.0, (11, 9, 7, 2)).astype(np.float32)
    spec = _hdf5_cube(tmp_path / "c.h5", data, **kw)
    cube = read(spec, lazy=True)
    src = lookup(cube.data)
    assert src is not None
    reader = SlabReader(src, 0.001)
    assert reader.plan == plan
    reader.close()
    got = np.concatenate([s for _, _, s in iter_depth_slabs(cube, max_mb=0.001)])
    np.testing.assert_array_equal(got, data)
    prof = depth_profile(cube, roi="1:6,2:8")
    np.testing.assert_allclose(
        prof.counts.values, data[:, 2:8, 1:6].sum(axis=(1, 2), dtype=np.float64), rtol=1e-12
    )


def test_unallocated_chunks_read_as_fill_value(tmp_path):
    path = tmp_path / "sparse.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("cube", shape=(9, 4, 3, 2), chunks=(3, 4, 3, 2), dtype="f4")
        d.attrs["dims"] = "depth,y,x,species"
        d[3:6] = 2.0  # chunks 0 and 2 never written
    cube = read(f"{path}::/cube", lazy=True)
    got = np.concatenate([s for _, _, s in iter_depth_slabs(cube, max_mb=0.001)])
    expect = np.zeros((9, 4, 3, 2), np.float32)
    expect[3:6] = 2.0
    np.testing.assert_array_equal(got, expect)


def test_profile_non_integer_counts_within_float_tolerance(tmp_path):
    """Expected (non-integer) counts: the factor in the ROI weights vs a scaled slab."""
    path, _ = make_tofdaq_stack(
        tmp_path / "e.h5", n_scans=9, shape=(24, 24), noise="none", bipolar=False
    )
    cube = read(path, lazy=True)
    values = read(path).values
    assert not np.all(values == np.rint(values))
    for roi in (None, "3:20,1:23"):
        fast = depth_profile(cube, roi=roi)
        slow = depth_profile(_via_dask(cube), roi=roi)
        np.testing.assert_allclose(fast.counts.values, slow.counts.values, rtol=1e-6)
        ys, xs = (slice(None), slice(None)) if roi is None else (slice(1, 23), slice(3, 20))
        exact = values[:, ys, xs].sum(axis=(1, 2), dtype=np.float64)
        np.testing.assert_allclose(fast.counts.values, exact, rtol=1e-6)


@pytest.mark.parametrize("task_bytes", [1, 3000])
def test_task_grouping_keeps_order(stack_file, monkeypatch, task_bytes):
    """One piece per worker task, or a few: same slabs, same order, same profile."""
    import charsuite.sims._cube as cube_module

    monkeypatch.setattr(cube_module, "_TASK_BYTES", task_bytes)
    path, _ = stack_file
    cube = read(path, lazy=True)
    eager = read(path).values
    got = [(a, b, s) for a, b, s in map_depth_slabs(cube, lambda s: s, max_mb=0.001, workers=2)]
    assert [a for a, _, _ in got] == sorted(a for a, _, _ in got)
    np.testing.assert_array_equal(np.concatenate([s for _, _, s in got]), eager)
    prof = depth_profile(cube, max_mb=0.001, normalize="tic")
    slow = depth_profile(_via_dask(cube), normalize="tic")
    np.testing.assert_array_equal(prof.counts.values, slow.counts.values)


def test_gzip_unallocated_chunks_and_skipped_filters(tmp_path):
    """Decoded chunks: unstored chunks read as the fill value; a chunk whose filter-mask
    bit says deflate did not apply is taken as stored (as HDF5 reads it)."""
    import zlib

    path = tmp_path / "masked.h5"
    data = np.arange(9 * 4 * 3 * 2, dtype=np.float32).reshape(9, 4, 3, 2)
    with h5py.File(path, "w") as f:
        d = f.create_dataset(
            "cube",
            shape=data.shape,
            chunks=(3, 4, 3, 2),
            dtype="f4",
            compression="gzip",
            fillvalue=-1.0,
        )
        d.attrs["dims"] = "depth,y,x,species"
        d.id.write_direct_chunk((0, 0, 0, 0), zlib.compress(data[0:3].tobytes()))
        d.id.write_direct_chunk((3, 0, 0, 0), data[3:6].tobytes(), filter_mask=1)
    cube = read(f"{path}::/cube", lazy=True)
    reader = SlabReader(lookup(cube.data), 0.001)
    assert reader.plan == "chunks"
    reader.close()
    expect = data.copy()
    expect[6:] = -1.0
    np.testing.assert_array_equal(read(f"{path}::/cube").values, expect)  # HDF5's reading
    got = np.concatenate([s for _, _, s in map_depth_slabs(cube, lambda s: s, max_mb=0.001)])
    np.testing.assert_array_equal(got, expect)


def test_lz4_chunks_decode_like_hdf5plugin(tmp_path):
    """LZ4 (filter 32004) chunks written by hdf5plugin's own encoder are decoded here."""
    hdf5plugin = pytest.importorskip("hdf5plugin", reason="hdf5plugin writes the LZ4 filter")
    rng = np.random.default_rng(4)
    data = rng.poisson(2.0, (10, 6, 5, 3)).astype(np.float32)
    path = tmp_path / "lz4.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("cube", data=data, chunks=(4, 6, 5, 3), **hdf5plugin.LZ4(nbytes=64))
        d.attrs["dims"] = "depth,y,x,species"
    cube = read(f"{path}::/cube", lazy=True)
    reader = SlabReader(lookup(cube.data), 0.001)
    assert reader.plan == "chunks"
    reader.close()
    got = np.concatenate([s for _, _, s in map_depth_slabs(cube, lambda s: s, max_mb=0.001)])
    np.testing.assert_array_equal(got, data)
