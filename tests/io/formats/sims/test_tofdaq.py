"""TofDAQ HDF5 reader: contract, real files (mass axis, integration, mismatches), variants."""

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charsuite.datasets.sims import make_tofdaq_stack
from charsuite.exceptions import CharsuiteWarning, ReaderError
from charsuite.io import read
from charsuite.sims import MassCalibration, eventlist_cube, mass_axis, reintegrate
from charsuite.testing import ReaderContract


def _small(tmp_path, **kw):
    return make_tofdaq_stack(tmp_path / "stack.h5", n_scans=12, shape=(6, 5), **kw)


class TestTofdaq(ReaderContract):
    format_name = "tofdaq"
    fuzz_examples = 15

    def make_file(self, tmp_path):
        return _small(tmp_path)[0]

    def make_nan_file(self, tmp_path):
        path = _small(tmp_path)[0]
        with h5py.File(path, "r+") as f:
            f["PeakData/PeakData"][3, 2, 1, 0] = np.nan
        return path


def test_layout_axes_and_units(tmp_path):
    path, truth = _small(tmp_path)
    cube = read(path)
    assert cube.dims == ("depth", "y", "x", "species")
    assert cube.shape == (12, 6, 5, 6)  # y from NbrBufs, x from NbrSegments (non-square)
    assert list(cube.species.values) == truth["species"]  # PeakData then PeakData2
    assert cube.attrs["metadata"]["pixel_size_um"] == pytest.approx(truth["pixel_size_um"])
    assert cube.x.attrs["units"] == "um"
    assert cube.attrs["metadata"]["binning"] == 2
    # counts = ions/extraction × extractions, recorded in history
    raw = read(path, units="ions/extraction")
    np.testing.assert_allclose(cube.values, raw.values * truth["n_extractions"], rtol=1e-6)
    assert cube.attrs["history"][0]["parameters"]["factor"] == truth["n_extractions"]
    with h5py.File(path) as f:
        np.testing.assert_array_equal(raw.sel(species="Li+").values, f["PeakData/PeakData"][..., 0])
        np.testing.assert_array_equal(
            raw.sel(species="NiO-").values, f["PeakData/PeakData2"][..., 0]
        )
    assert list(read(path, tof=2).polarity.values) == ["negative"] * 5


def test_lazy_chunks_align_with_hdf5(tmp_path):
    path, _ = make_tofdaq_stack(
        tmp_path / "c.h5", n_scans=20, shape=(4, 4), chunk_scans=3, bipolar=False
    )
    cube = read(path, lazy=True, chunk_mb=0.0001)
    assert all(c % 3 == 0 for c in cube.data.chunks[0][:-1])


def test_reversed_writes_are_put_in_acquisition_order(tmp_path):
    fwd, _ = make_tofdaq_stack(tmp_path / "f.h5", n_scans=10, shape=(4, 4), seed=5)
    rev, _ = make_tofdaq_stack(
        tmp_path / "r.h5", n_scans=10, shape=(4, 4), seed=5, reverse_writes=True
    )
    with pytest.warns(CharsuiteWarning, match="reverse"):
        b = read(rev)
    a = read(fwd)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.buf_time.values, b.buf_time.values)


def test_missing_dataset_lists_contents(tmp_path):
    path, _ = _small(tmp_path)
    with h5py.File(path, "a") as f:
        del f["PeakData/PeakData"]
    with pytest.raises(ReaderError, match=r"PeakData/PeakData.*missing.*PeakTable"):
        read(path)


def test_shape_mismatch_peak_table(tmp_path):
    path, _ = _small(tmp_path)
    with h5py.File(path, "a") as f:
        table = f["PeakData/PeakTable"][()]
        del f["PeakData/PeakTable"]
        f["PeakData/PeakTable"] = np.concatenate([table, table])
    with pytest.raises(ReaderError, match="PeakTable lists 2 peaks"):
        read(path)


def test_attribute_mismatch_warns_and_uses_shapes(tmp_path):
    path, _ = _small(tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["NbrWrites"] = np.array([99], dtype=np.int32)
    with pytest.warns(CharsuiteWarning, match="NbrWrites=99 but the dataset has 12"):
        assert read(path).sizes["depth"] == 12


@pytest.mark.parametrize(
    "mode,params",
    [
        (0, (1500.0, 20.0)),
        (1, (-1500.0, 9000.0)),
        (2, (1600.0, 50.0, 0.5)),
        (3, (1500.0, 20.0, 1e-3, 50.0)),
        (4, (1500.0, 20.0, 1e-4, 0.5, 3.0)),
        (5, (1e-6, 2e-3, 0.1)),
    ],
)
def test_mass_calibration_round_trip_all_modes(mode, params):
    cal = MassCalibration(mode, params)
    m = np.array([7.0, 46.97, 73.93, 114.9, 180.0])
    np.testing.assert_allclose(cal.mass(cal.index(m)), m, rtol=1e-9)


def test_real_tofdaq_mass_axis_and_mismatch(shared_data):
    root = shared_data("sims") / "djdt+spcal"
    for name in ("tofwerk_testdata.h5", "tofwerk_au_50nm.h5"):
        with h5py.File(root / name) as f:
            ref = f["FullSpectra/MassAxis"][()].astype(float)
        m = mass_axis(root / name)
        sel = ref > 0.5
        assert np.max(np.abs(m[sel] - ref[sel]) / ref[sel]) < 1e-6
    with pytest.warns(CharsuiteWarning, match="INI NbrSegments=1000 but the dataset has 5"):
        cube = read(root / "tofwerk_testdata.h5")
    assert cube.shape == (89, 11, 5, 315)
    assert cube.attrs["metadata"]["extractions_per_pixel"] == 2


def test_real_tofdata_reintegration_matches_peakdata(shared_data):
    path = shared_data("sims") / "djdt+spcal" / "tofwerk_au_50nm.h5"
    with pytest.warns(CharsuiteWarning, match="NbrWrites=214"):
        stored = read(path, units="ions/extraction").values
    ours = reintegrate(path).values
    big = np.abs(stored) > 1e-3
    assert np.max(np.abs(ours[big] - stored[big]) / np.abs(stored[big])) < 1e-5
    assert np.max(np.abs(ours - stored)) < 1e-4


def test_rosettasciio_fixtures(shared_data):
    root = shared_data("sims") / "hyperspy+rosettasciio"
    with pytest.warns(CharsuiteWarning) as record:
        cube = read(root / "fib_sims_opened.h5")
    messages = " ".join(str(r.message) for r in record)
    assert "ViewField" in messages and "not monotonic" in messages  # random BufTimes in fixture
    assert cube.shape == (5, 16, 16, 10)
    assert cube.attrs["metadata"]["field_of_view_um"] == pytest.approx(10.0)
    # this synthetic fixture's calibration (mode 0, p2 = 222 samples) gives 0.07-0.13 Th
    # over its 512 samples while MassAxis spans 0-200 Th: windows come from MassAxis
    with pytest.warns(CharsuiteWarning, match="MassAxis windows"):
        counts = eventlist_cube(root / "fib_sims_raw.h5")
    with h5py.File(root / "fib_sims_raw.h5") as f:
        ev = f["FullSpectra/EventList"][0, 0, 0]
        axis = f["FullSpectra/MassAxis"][()]
    # nominal_0 is m/z 0.5-1.5; with a 1:1 clock the u2 ticks are sample indices
    assert counts.values[0, 0, 0, 0] == np.count_nonzero((axis[ev] >= 0.5) & (axis[ev] < 1.5))
    assert counts.values.sum(axis=(0, 1, 2)).min() > 50  # every window gets events
    assert counts.attrs["history"][-1]["parameters"]["windows_from"] == "MassAxis"
    # a raw file (EventList, no PeakData) is integrated into its peak table by read()
    with pytest.warns(CharsuiteWarning) as record:
        lazy = read(root / "fib_sims_raw.h5", lazy=True)
    assert "ViewField" in " ".join(str(r.message) for r in record)
    assert lazy.attrs["metadata"]["data_source"] == "EventList"
    assert lazy.attrs["history"][-2]["operation"] == "integrate EventList into the peak table"
    assert lazy.attrs["history"][-2]["parameters"]["element_dtype"] == "uint16"
    np.testing.assert_array_equal(lazy.values, counts.values)
    assert lazy.attrs["metadata"]["field_of_view_um"] == pytest.approx(10.0)


@pytest.mark.parametrize("encoding", ["u4", "zlib", "lz4"])
def test_eventlist_encodings_match_peakdata(tmp_path, encoding):
    path, _ = make_tofdaq_stack(
        tmp_path / "e.h5", n_scans=6, shape=(3, 3), eventlist=encoding, recalibrate=True
    )
    cube = read(path)
    ev = eventlist_cube(path)
    np.testing.assert_allclose(ev.values, cube.sel(species=ev.species.values).values, atol=1e-3)
    assert ev.values.sum() > 100


def test_fib_images(tmp_path):
    from charsuite.sims import fib_images

    path, truth = _small(tmp_path)
    img = fib_images(path)
    assert img.shape == (3, 12, 10)  # FIB raster = 2×2 binning of the 6×5 SIMS pixels
    assert img.x_fib.attrs["units"] == "um"
    assert img.x_fib.values[1] - img.x_fib.values[0] == pytest.approx(truth["pixel_size_um"] / 2)


def test_real_tofdata_user_peak_table(shared_data):
    from charsuite.sims import peak_table

    path = shared_data("sims") / "djdt+spcal" / "tofwerk_au_50nm.h5"
    table = peak_table(path)
    k = int(np.argmin(np.abs(table.mass - 197.0)))  # Au
    user = {
        "Au": (table.lower[k], table.upper[k]),
        "wide": (table.lower[k] - 1, table.upper[k] + 1),
    }
    ours = reintegrate(path, peaks=user)
    full = reintegrate(path)
    np.testing.assert_allclose(ours.sel(species="Au").values, full.values[..., k], rtol=1e-6)
    assert (ours.sel(species="wide").values >= ours.sel(species="Au").values - 1e-6).all()
    assert list(ours.species.values) == ["Au", "wide"]


@settings(max_examples=60, deadline=None)
@given(
    mode=st.sampled_from([0, 2, 4]),
    p1=st.floats(500, 5000),
    p2=st.floats(-2000, 2000),
    mass=st.floats(1.0, 500.0),
)
def test_mass_calibration_round_trip_property(mode, p1, p2, mass):
    params = {0: (p1, p2), 2: (p1, p2, 0.5), 4: (p1, p2, 1e-5, 0.01, 1.0)}[mode]
    cal = MassCalibration(mode, params)
    assert float(cal.mass(cal.index(mass))) == pytest.approx(mass, rel=1e-8)


@pytest.mark.parametrize("tof", [1, 2])
def test_reintegrate_generated_tofdata_with_recalibration(tmp_path, tof):
    path, _ = make_tofdaq_stack(
        tmp_path / "t.h5", n_scans=4, shape=(3, 4), tofdata=True, recalibrate=True
    )
    stored = read(path, units="ions/extraction", tof=tof)
    ours = reintegrate(path, tof=tof)
    assert list(ours.species.values) == list(stored.species.values)
    np.testing.assert_allclose(ours.values, stored.values, rtol=1e-5, atol=1e-7)
    counts = reintegrate(path, tof=tof, units="counts")
    np.testing.assert_allclose(counts.values, ours.values * 60, rtol=1e-6)
    assert counts.attrs["history"][-1]["parameters"]["NbrWaveforms"] == 60


def test_decode_event_list_tdc_and_adc_words():
    from charsuite.sims import decode_event_list

    adc = np.array([1.5, 2.5, 0.5], dtype=np.float32).view(np.uint32)
    words = np.concatenate(
        [
            [np.uint32(400)],  # TDC event at timestamp 400
            [np.uint32((3 << 24) | 800)],  # ADC packet: 3 data words from timestamp 800
            adc,
            [np.uint32(1200)],
        ]
    ).astype(np.uint32)
    tdc, adc_s, adc_mv = decode_event_list(words, clock_ratio=0.25)
    np.testing.assert_array_equal(tdc, [100, 300])
    np.testing.assert_array_equal(adc_s, [200, 201, 202])
    np.testing.assert_allclose(adc_mv, [1.5, 2.5, 0.5])
    from charsuite.exceptions import DataError

    with pytest.raises(DataError, match="truncated"):
        decode_event_list(words[:3], clock_ratio=0.25)


def _raw_file(tmp_path, encoding="u4", **kw):
    """A "raw" fibTOF file: the generator's EventList, PeakData deleted."""
    path, truth = make_tofdaq_stack(
        tmp_path / f"raw_{encoding}.h5",
        n_scans=kw.pop("n_scans", 7),
        shape=kw.pop("shape", (4, 3)),
        eventlist=encoding,
        bipolar=False,
        **kw,
    )
    with h5py.File(path, "a") as f:
        stored = f["PeakData/PeakData"][()]
        del f["PeakData/PeakData"]
    return path, truth, stored


class TestTofdaqEventListOnly(ReaderContract):
    format_name = "tofdaq"
    fuzz_examples = 8

    nan_not_representable = "EventList events are integer words (timestamps/ticks): no NaN"

    def make_file(self, tmp_path):
        return _raw_file(tmp_path)[0]


@pytest.mark.parametrize("encoding", ["u4", "zlib"])
def test_eventlist_only_file_is_integrated_by_read(tmp_path, encoding):
    path, truth, stored = _raw_file(tmp_path, encoding, recalibrate=True)
    n = truth["n_extractions"]
    cube = read(path)
    assert cube.attrs["metadata"]["data_source"] == "EventList"
    assert cube.attrs["units"] == "counts"
    ops = [h["operation"] for h in cube.attrs["history"]]
    assert "integrate EventList into the peak table" in ops
    assert "convert ions/extraction to counts" not in ops  # events are counts already
    (integ,) = [h for h in cube.attrs["history"] if h["operation"].startswith("integrate")]
    assert integ["parameters"]["windows_from"] == "calibration"  # MassAxis agrees with it
    # the generator's events are the PeakData counts (each event inside its window)
    np.testing.assert_allclose(cube.values, stored * n, atol=1e-3)
    assert cube.values.sum() > 100
    lazy = read(path, lazy=True, chunk_mb=0.0001)  # one write per dask chunk
    assert len(lazy.data.chunks[0]) == cube.sizes["depth"]
    np.testing.assert_array_equal(lazy.values, cube.values)
    per_extr = read(path, units="ions/extraction")
    np.testing.assert_allclose(per_extr.values * n, cube.values, rtol=1e-6)
    # a streamed depth profile goes through the lazy integration
    from charsuite.sims import depth_profile

    prof = depth_profile(path)
    np.testing.assert_allclose(prof.counts.values, cube.values.sum(axis=(1, 2)), rtol=1e-9)


def test_eventlist_u2_ticks_divided_by_channels(tmp_path):
    path, _, _ = _raw_file(tmp_path)
    with h5py.File(path, "a") as f:
        fs = f["FullSpectra"]
        words = f["FullSpectra/EventList"][()]
        del f["FullSpectra/EventList"]
        ev = fs.create_dataset("EventList", words.shape, dtype=h5py.vlen_dtype(np.uint16))
        si = float(np.asarray(fs.attrs["SampleInterval"]).flat[0])
        to_sample = float(np.asarray(fs.attrs["ClockPeriod"]).flat[0]) / si
        ratio = 2  # two clock ticks per sample (u2 ticks reach 65535: ~32k samples)
        for idx in np.ndindex(words.shape):
            sample = np.rint(words[idx] * to_sample).astype(np.int64)
            assert sample.size == 0 or sample.max() * ratio + 1 < 2**16
            ev[idx] = (sample * ratio + 1).astype(np.uint16)  # +1: floor, not round
        fs.attrs["ClockPeriod"] = si / ratio
        ini = f.attrs["Configuration File Contents"]
        ini = ini.decode() if isinstance(ini, bytes) else str(ini)
        assert "Ch1Record=1" in ini
        f.attrs["Configuration File Contents"] = ini.replace("Ch2Record=0", "Ch2Record=1")
    (tmp_path / "ref").mkdir()
    u4 = _raw_file(tmp_path / "ref")[0]
    cube = read(path)
    expect = read(u4).values / 2  # two recorded channels see every ion
    np.testing.assert_allclose(cube.values, expect, atol=1e-6)
    (hist,) = [h for h in cube.attrs["history"] if h["operation"].startswith("integrate")]
    assert hist["parameters"]["tdc_channels"] == 2 and hist["parameters"]["ticks_per_sample"] == 2


def test_sparse_but_valid_tofdata_is_not_a_bomb(tmp_path):
    # pixel spectra of a FIB-SIMS run are ~0.1 % non-zero: gzip TofData compresses ~500x,
    # beyond the 200x archive default but within deflate's 1032:1 ceiling (io._budget)
    from charsuite.io._budget import DEFAULT_EXPANSION, DEFAULT_HDF5_EXPANSION
    from charsuite.sims import spectrum

    path, _ = make_tofdaq_stack(
        tmp_path / "sparse.h5", n_scans=20, shape=(8, 8), tofdata=True, compression="gzip"
    )
    with h5py.File(path) as f:
        d = f["FullSpectra/TofData"]
        ratio = d.size * d.dtype.itemsize / d.id.get_storage_size()
    assert DEFAULT_EXPANSION < ratio < DEFAULT_HDF5_EXPANSION
    assert spectrum(path).attrs["source"] == "TofData"
    # declared space the file does not hold (unallocated chunks) is still refused
    bomb = tmp_path / "bomb.h5"
    with h5py.File(bomb, "w") as f:
        f.create_dataset("x", shape=(2**16, 2**14), dtype="f4", chunks=(256, 2**14))
    from charsuite.exceptions import BudgetError
    from charsuite.io import check_hdf5

    with pytest.raises(BudgetError, match="CHARSUITE_MAX_EXPANSION"):
        check_hdf5(h5py.File(bomb, "r"), bomb)
