import numpy as np
import pytest

from charsuite.datasets.sims import make_tofdaq_stack
from charsuite.exceptions import DataError, ParameterError
from charsuite.io import read
from charsuite.sims import dead_time_correct, depth_profile, smooth_profile


def test_profile_equals_direct_sum_and_input_unchanged(stack):
    path, _ = stack
    cube = read(path, lazy=True, chunk_mb=0.05)  # many small slabs
    assert len(cube.data.chunks[0]) > 3
    prof = depth_profile(cube, max_mb=0.05)
    eager = read(path).values
    np.testing.assert_allclose(
        prof.counts.values, eager.sum(axis=(1, 2), dtype=np.float64), rtol=1e-6
    )
    np.testing.assert_allclose(
        prof.tic.values, eager.sum(axis=(1, 2, 3), dtype=np.float64), rtol=1e-6
    )
    assert prof.attrs["history"][-1]["operation"] == "depth_profile"
    assert cube.attrs["history"][-1]["operation"] == "read"


def test_roi_rectangle_and_mask(stack):
    path, _ = stack
    eager = read(path).values
    rect = depth_profile(path, roi="2:10,3:7")
    np.testing.assert_allclose(rect.counts.values, eager[:, 3:7, 2:10].sum(axis=(1, 2)), rtol=1e-6)
    assert rect.attrs["n_pixels"] == 32
    mask = np.zeros((24, 24), dtype=bool)
    mask[::3, 1::2] = True
    m = depth_profile(path, roi=mask)
    np.testing.assert_allclose(m.counts.values, eager[:, mask].sum(axis=1), rtol=1e-6)
    with pytest.raises(ParameterError, match="outside"):
        depth_profile(path, roi="0:30,0:4")


def test_normalisations(stack):
    path, _ = stack
    base = depth_profile(path)
    tic = depth_profile(path, normalize="tic")
    positive = tic.polarity.values == "positive"  # bipolar cube: fractions per polarity
    np.testing.assert_allclose(tic.intensity.values[:, ~positive].sum(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(tic.intensity.values[:, positive].sum(axis=1), 1.0, rtol=1e-9)
    mat = depth_profile(path, normalize="matrix:Li+", species=["NiO-"])
    expect = base.counts.sel(species="NiO-").values / base.counts.sel(species="Li+").values
    np.testing.assert_allclose(mat.intensity.values[:, 0], expect)
    np.testing.assert_allclose(mat.counts.values[:, 0], base.counts.sel(species="NiO-").values)
    current = np.linspace(1.0, 2.0, base.sizes["depth"])
    cur = depth_profile(path, normalize="current", current=current)
    np.testing.assert_allclose(
        cur.intensity.values * current[:, None] / current.mean(), base.counts.values
    )
    for bad in ("tac", "matrix:"):
        with pytest.raises(ParameterError, match="normalize"):
            depth_profile(path, normalize=bad)
    with pytest.raises(ParameterError, match=r"unknown species 'Zr-'.*Li\+"):
        depth_profile(path, species=["Zr-"])
    with pytest.raises(ParameterError, match="current"):
        depth_profile(path, normalize="current")


def test_dead_time_recovers_true_counts(tmp_path):
    path, truth = make_tofdaq_stack(
        tmp_path / "d.h5", n_scans=100, shape=(24, 24), n_extractions=40
    )
    li_true = np.asarray(truth["expected_profile"]["Li+"])
    raw = depth_profile(path).counts.sel(species="Li+").values
    corr = depth_profile(path, dead_time=True)
    li = corr.counts.sel(species="Li+").values
    top = np.asarray(truth["depth_nm"]) < 240  # Li metal: ~30 counts/pixel on 40 extractions
    assert top.sum() >= 3
    assert np.all(raw[top] < 0.85 * li_true[top])
    np.testing.assert_allclose(li[top], li_true[top], rtol=0.03)
    assert corr.saturated.values[top].all() and not corr.saturated.values[-10:].any()
    with pytest.raises(DataError, match="counts"):
        depth_profile(read(path, units="ions/extraction"), dead_time=True)


def test_dead_time_formula():
    n = 100
    true = np.array([1.0, 10.0, 50.0])
    measured = n * (1 - np.exp(-true / n))
    np.testing.assert_allclose(dead_time_correct(measured, n), true)


def test_smoothing_keeps_raw(stack):
    path, _ = stack
    prof = depth_profile(path, smooth=7)
    base = depth_profile(path)
    np.testing.assert_array_equal(prof.intensity.values, base.intensity.values)
    assert "smoothed" in prof and prof.smoothed.attrs["window_scans"] == 7
    noisy = np.diff(base.intensity.sel(species="NiO-").values[110:150]).std()
    smooth = np.diff(prof.smoothed.sel(species="NiO-").values[110:150]).std()
    assert smooth < noisy
    with pytest.raises(ParameterError, match="window"):
        smooth_profile(base, window=1)


def test_profile_from_text_export(tmp_path):
    from charsuite.datasets.sims import make_surfacelab_txt

    path, _ = make_surfacelab_txt(tmp_path / "p.txt")
    prof = depth_profile(path, normalize="tic", species=["Au-"])
    da = read(path)
    np.testing.assert_allclose(
        prof.intensity.values[:, 0], da.sel(species="Au-").values / da.sel(species="total").values
    )
    assert "sputter_time" in prof.coords


def _add_current(path, values, *, per_buf=False, label="FIB current [pA]"):
    """Add registered FIB telemetry (TwData/TwInfo) with a current element to a file."""
    import h5py

    with h5py.File(path, "a") as f:
        grp = f.require_group("FibParams").create_group("FibCurrent")
        data = np.column_stack([np.full(len(values), 3.0e-4), values])  # pressure, current
        if per_buf:
            ny = f["PeakData/PeakData"].shape[1]
            data = np.repeat(data[:, None, :], ny, axis=1)
            data[:, 0, 1] *= 0.9  # the mean over the scan lines is the scan's current
            data[:, 1, 1] *= 1.1
        grp.create_dataset("TwData", data=data)
        grp.create_dataset("TwInfo", data=np.array([b"Pressure (Pa)", label.encode()]))


@pytest.mark.filterwarnings("ignore:.*BufTimes decrease")  # the reversed export
@pytest.mark.parametrize("per_buf", [False, True])
def test_current_normalisation_reads_the_file(tmp_path, per_buf):
    path, _ = make_tofdaq_stack(
        tmp_path / "c.h5", n_scans=30, shape=(6, 6), bipolar=False, reverse_writes=per_buf
    )
    plain = depth_profile(path)
    with pytest.raises(ParameterError, match="primary current"):
        depth_profile(path, normalize="current")  # the file has no current yet
    cur = np.linspace(100.0, 150.0, 30)  # per write, in file order
    _add_current(path, cur, per_buf=per_buf)
    if per_buf:  # reversed export: depth 0 is the last write
        cur = cur[::-1]
    prof = depth_profile(path, normalize="current")
    assert prof["primary_current"].attrs["units"] == "pA"
    np.testing.assert_allclose(prof["primary_current"].values, cur)
    np.testing.assert_allclose(
        prof.intensity.values, plain.counts.values * (cur.mean() / cur)[:, None], rtol=1e-12
    )
    assert prof.attrs["history"][-1]["parameters"]["current_source"].endswith(
        "TwData[FIB current [pA]]"
    )


def test_current_limit_flags_are_not_a_current(tmp_path):
    path, _ = make_tofdaq_stack(tmp_path / "c.h5", n_scans=8, shape=(4, 4), bipolar=False)
    _add_current(path, np.ones(8), label="MCP current limit flag")
    assert "primary_current" not in read(path).coords
