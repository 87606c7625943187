"""dQ/dV: area equals the half-cycle capacity; peaks at the model plateaus."""

import numpy as np
import pytest

from charsuite.datasets.echem import write_squidstat_cycling
from charsuite.echem import cycle_summary, dqdv
from charsuite.exceptions import DataError, ParameterError
from charsuite.io import read


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    truth = write_squidstat_cycling(
        tmp_path_factory.mktemp("dqdv"),
        windows=((3.0, 4.3),),
        cycles_per_window=2,
        points_per_half=400,
        c_rate=0.1,
    )
    return truth, read(truth["csv"])


@pytest.mark.parametrize("direction", ["charge", "discharge"])
def test_integral_equals_capacity(run, direction):
    truth, ds = run
    r = dqdv(ds, cycle=1, direction=direction, smooth_V=0.02)
    want = truth["cycles"][0][f"{direction}_mAh"]
    assert r.capacity_mAh == pytest.approx(want, rel=1e-6)
    assert r.integral_mAh == pytest.approx(want, rel=0.01)
    sign = 1 if direction == "charge" else -1
    assert sign * np.sum(r.dqdv_mAh_V) > 0


def test_peaks_at_plateaus(run):
    truth, ds = run
    eta = truth["polarisation_V"]
    ch = dqdv(ds, cycle=1, direction="charge", smooth_V=0.02)
    dis = dqdv(ds, cycle=1, direction="discharge", smooth_V=0.02)
    for v0 in (3.75, 4.0, 4.2):
        assert min(abs(p["voltage_V"] - (v0 + eta)) for p in ch.peaks) < 0.02
        assert min(abs(p["voltage_V"] - (v0 - eta)) for p in dis.peaks) < 0.02


def test_decimation_stable(run):
    _, ds = run
    full = dqdv(ds, cycle=1, smooth_V=0.03)
    half = dqdv(ds.isel(record=slice(None, None, 2)), cycle=1, smooth_V=0.03)
    main_full = max(full.peaks, key=lambda p: p["dqdv_mAh_V"])
    main_half = max(half.peaks, key=lambda p: p["dqdv_mAh_V"])
    assert main_half["voltage_V"] == pytest.approx(main_full["voltage_V"], abs=0.005)
    assert main_half["dqdv_mAh_V"] == pytest.approx(main_full["dqdv_mAh_V"], rel=0.05)


def test_specific_and_errors(run):
    truth, ds = run
    r = dqdv(ds, cycle=2, direction="discharge", mass_g=truth["mass_g"])
    assert r.dqdv_mAh_g_V[100] == pytest.approx(r.dqdv_mAh_V[100] / truth["mass_g"])
    with pytest.raises(DataError, match="no charge half cycle in cycle 9"):
        dqdv(ds, cycle=9)
    with pytest.raises(ParameterError):
        dqdv(ds, cycle=1, direction="sideways")
    assert cycle_summary(ds).cycles[1]["discharge_mAh"] == pytest.approx(r.capacity_mAh)
