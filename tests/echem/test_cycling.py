"""Cycling analysis against generated Squidstat files with known ground truth."""

import itertools

import numpy as np
import pytest
import xarray as xr

from charsuite.datasets.echem import write_squidstat_cycling
from charsuite.echem import c_rate, concat_runs, cycle_summary, segment
from charsuite.exceptions import DataError, ParameterError
from charsuite.io import read


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    truth = write_squidstat_cycling(
        tmp_path_factory.mktemp("win"),
        windows=((3.0, 4.3), (2.5, 4.5), (1.5, 4.7)),
        cycles_per_window=6,
        points_per_half=12,
    )
    return truth, read(truth["csv"])


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    loss = 1 - 0.8 ** (1 / 902.5)  # crosses 80 % at cycle 904
    truth = write_squidstat_cycling(
        tmp_path_factory.mktemp("long"),
        windows=((3.0, 4.3),),
        cycles_per_window=1000,
        c_rate=4.0,
        loss_per_cycle=loss,
        ce=0.9879,
        first_ce=0.9879,
        window_first_ce=0.9879,
        capacity_noise=2e-4,
        points_per_half=5,
        rest_points=1,
    )
    return truth, read(truth["csv"])


def test_capacities_ce_and_specific_values(windows):
    truth, ds = windows
    s = cycle_summary(ds, density_g_cm3=3.8, thickness_nm=600, one_c_uA_cm2=40.0)
    assert s.mass_g == pytest.approx(truth["mass_g"], rel=1e-12)
    assert [c["cycle"] for c in s.cycles] == [c["cycle"] for c in truth["cycles"]]
    for got, want in zip(s.cycles, truth["cycles"]):
        assert got["charge_mAh"] == pytest.approx(want["charge_mAh"], rel=1e-6)
        assert got["discharge_mAh"] == pytest.approx(want["discharge_mAh"], rel=1e-6)
        assert got["coulombic_efficiency_pct"] == pytest.approx(want["ce_pct"], abs=1e-4)
        assert got["discharge_mAh_g"] == pytest.approx(want["discharge_mAh"] / truth["mass_g"])
        area = truth["area_cm2"]
        assert got["discharge_uAh_cm2"] == pytest.approx(want["discharge_mAh"] * 1e3 / area)
        assert got["discharge_uAh_cm2_um"] == pytest.approx(
            want["discharge_mAh"] * 1e3 / area / 0.6
        )
        assert got["charge_c_rate"] == pytest.approx(1.0, rel=1e-6)
        assert got["voltage_window"] == want["window"].replace(".0–", ".00–").replace(
            " V", "0 V"
        ) or got["voltage_window"].startswith(want["window"][:3])
    assert "Q_discharge / Q_charge" in s.definitions["coulombic_efficiency"]
    ce = np.array([c["ce_pct"] for c in truth["cycles"]]) / 100
    np.testing.assert_allclose(
        s.column("cumulative_coulombic_efficiency_pct"), np.cumprod(ce) * 100, rtol=1e-6
    )
    first = truth["cycles"][0]
    assert s.retention["first_cycle_irreversible_mAh"] == pytest.approx(
        first["charge_mAh"] - first["discharge_mAh"], rel=1e-6
    )


def test_window_groups(windows):
    truth, ds = windows
    s = cycle_summary(ds, window_groups=True)
    assert [w["voltage_window"] for w in s.windows] == [
        "3.00–4.30 V",
        "2.50–4.50 V",
        "1.50–4.70 V",
    ]
    second = s.windows[1]
    assert second["reference_cycle"] == 7
    q = [c["discharge_mAh"] for c in truth["cycles"]]
    assert second["final_retention_pct"] == pytest.approx(q[11] / q[6] * 100, rel=1e-6)


def test_current_sign_segmentation_without_charge_column(windows):
    truth, ds = windows
    bare = ds.drop_vars(["charge"])
    s = cycle_summary(bare)
    assert "I_k" in s.definitions["charge_per_record"]
    for got, want in zip(s.cycles, truth["cycles"]):
        assert got["charge_mAh"] == pytest.approx(want["charge_mAh"], rel=1e-6)


def test_first_direction_discharge(windows):
    _, ds = windows
    s = cycle_summary(ds, first_direction="discharge")
    assert s.cycles[0]["cycle"] == 0  # the leading charge is its own cycle 0
    assert s.cycles[0]["discharge_mAh"] is None
    assert "Q_charge / Q_discharge" in s.definitions["coulombic_efficiency"]


def test_segment_labels(windows):
    truth, ds = windows
    seg = segment(ds)
    assert set(np.unique(seg["direction"].values)) == {-1, 0, 1}
    assert int(seg["cycle_number"].max()) == len(truth["cycles"])
    assert seg.attrs["history"][-1]["operation"] == "segment"


def test_long_run_cycle_life_and_ce(long_run):
    truth, ds = long_run
    s = cycle_summary(ds, persistence=1)
    assert s.cycle_life_80["cycle"] == truth["cycle_life_80"]
    s3 = cycle_summary(ds, persistence=3)
    assert abs(s3.cycle_life_80["cycle"] - 904) <= 1
    ce = s.column("coulombic_efficiency_pct")
    np.testing.assert_allclose(ce, 98.79, atol=0.01)
    assert s.retention["average_loss_per_cycle_pct"] == pytest.approx(
        (1 - s.cycles[-1]["discharge_mAh"] / s.cycles[0]["discharge_mAh"]) / 999 * 100
    )
    assert s.retention["average_loss_per_cycle_pct"] < 0.03


def test_cycle_life_censored(windows):
    _, ds = windows
    s = cycle_summary(ds, reference_cycle=13)  # widest window only loses a few %
    assert s.cycle_life_80["censored"] is True
    assert s.cycle_life_80["cycle"] is None


def test_c_rate_from_nominal_capacity(windows):
    truth, ds = windows
    cap = truth["current_mA"] * 2  # current is C/2 of this capacity
    s = cycle_summary(ds, nominal_capacity_mAh=cap)
    assert s.cycles[3]["discharge_c_rate"] == pytest.approx(0.5, rel=1e-6)
    assert "mean |I|" in s.definitions["c_rate"]


def test_c_rate():
    assert c_rate(-0.024, capacity_mAh=0.006) == pytest.approx(4.0)
    with pytest.raises(ParameterError):
        c_rate(1.0, capacity_mAh=0.0)


def test_bad_input(windows):
    _, ds = windows
    with pytest.raises(ParameterError, match="mass"):
        cycle_summary(ds, mass_g=0.0)
    with pytest.raises(DataError, match="lack"):
        cycle_summary(ds.drop_vars("current"))
    nan = ds.copy(deep=True)
    nan["voltage"].values[50] = np.nan
    with pytest.raises(DataError, match="NaN"):
        cycle_summary(nan)
    back = ds.copy(deep=True)
    t = back["time"].values.copy()
    t[40], t[41] = t[41], t[40]
    back = back.assign_coords(time=("record", t, {"units": "s"}))
    with pytest.raises(DataError, match="not monotonic"):
        cycle_summary(back)
    amps = ds.copy(deep=True)
    amps["current"].attrs["units"] = "furlongs"
    with pytest.raises(DataError, match="units"):
        cycle_summary(amps)
    with pytest.raises(DataError):
        cycle_summary(xr.Dataset())


def test_json_shape(windows):
    import json

    _, ds = windows
    d = json.loads(cycle_summary(ds, mass_g=3.42e-5).to_json())
    for key in ("file", "mass_g", "cycles", "retention", "cycle_life_80", "definitions", "history"):
        assert key in d
    for key in ("cycle", "charge_mAh", "discharge_mAh", "charge_mAh_g", "discharge_mAh_g"):
        assert key in d["cycles"][0]
    assert "coulombic_efficiency_pct" in d["cycles"][0]
    assert "voltage_window" in d["cycles"][0]


def test_one_sample_current_glitch_is_not_a_half_cycle(tmp_path):
    truth = write_squidstat_cycling(
        tmp_path, windows=((3.0, 4.3),), cycles_per_window=3, points_per_half=100
    )
    ds = read(truth["csv"]).drop_vars("charge").copy(deep=True)
    i = ds["current"].values
    k = np.flatnonzero(i < 0)[40]
    i[k] = -i[k]  # one record of wrong sign inside the first discharge
    s = cycle_summary(ds)
    assert [c["cycle"] for c in s.cycles] == [1, 2, 3]
    assert "(1 found)" in s.definitions["half_cycle"]
    for got, want in zip(s.cycles, truth["cycles"]):
        assert got["charge_mAh"] == pytest.approx(want["charge_mAh"], rel=0.02)
        assert got["discharge_mAh"] == pytest.approx(want["discharge_mAh"], rel=0.03)


def test_energy_and_average_voltage(tmp_path):
    truth = write_squidstat_cycling(
        tmp_path, windows=((3.0, 4.3),), cycles_per_window=2, points_per_half=50
    )
    ds = read(truth["csv"])
    s = cycle_summary(ds, mass_g=truth["mass_g"])
    c = s.cycles[1]
    # direct sum over the discharge records of cycle 2
    seg = segment(ds)
    sel = (seg["cycle_number"].values == 2) & (seg["direction"].values == -1)
    e = float(np.sum(ds["voltage"].values[sel] * np.abs(seg["dq"].values[sel])))
    assert c["discharge_energy_mWh"] == pytest.approx(e, rel=1e-9)
    assert c["average_discharge_voltage_V"] == pytest.approx(e / c["discharge_mAh"])
    assert 3.0 < c["average_discharge_voltage_V"] < c["average_charge_voltage_V"] < 4.3
    assert c["voltage_hysteresis_V"] > 0
    assert 90 < c["energy_efficiency_pct"] < c["coulombic_efficiency_pct"]
    assert c["discharge_energy_Wh_kg"] == pytest.approx(e / truth["mass_g"] * 1e-3)


def test_concat_runs_restarting_clocks(windows):
    _, ds = windows
    n = ds.sizes["record"]
    cuts = [0, n // 3, 2 * n // 3, n]
    parts = []
    for a, b in itertools.pairwise(cuts):
        p = ds.isel(record=slice(a, b)).copy(deep=True)
        t = p["time"].values
        p = p.assign_coords(time=("record", t - t[0], {"units": "s"}))  # clock restarts
        p["charge"] = ("record", p["charge"].values - p["charge"].values[0], {"units": "mAh"})
        parts.append(p)
    joined = concat_runs(parts)
    assert joined.sizes["record"] == ds.sizes["record"]
    assert np.all(np.diff(joined["time"].values) >= 0)
    a, b = cycle_summary(ds), cycle_summary(joined)
    np.testing.assert_allclose(b.column("discharge_mAh"), a.column("discharge_mAh"), rtol=1e-9)
    assert joined.attrs["history"][-1]["operation"] == "concat_runs"
    with pytest.raises(DataError):
        concat_runs([])


def test_charsuite_h5_round_trip_keeps_the_analysis(windows, tmp_path):
    from charsuite.io import write

    _, ds = windows
    write(ds, tmp_path / "run.h5")
    back = read(tmp_path / "run.h5")
    np.testing.assert_array_equal(back["step"].values, ds["step"].values)
    a, b = cycle_summary(ds), cycle_summary(back)
    np.testing.assert_allclose(b.column("discharge_mAh"), a.column("discharge_mAh"))


def test_rate_test_c_rates_per_window(tmp_path):
    truth = write_squidstat_cycling(
        tmp_path, windows=((3.0, 4.3),) * 3, c_rate=(0.5, 1.0, 2.0), cycles_per_window=2
    )
    s = cycle_summary(read(truth["csv"]), one_c_uA_cm2=40.0)
    np.testing.assert_allclose(s.column("discharge_c_rate"), [0.5, 0.5, 1, 1, 2, 2], rtol=1e-6)


def test_cv_tail_below_the_dead_band_counts():
    """CC charge, CV hold whose current decays far below the default dead band, rest, CC
    discharge: the charge capacity is the whole integral (the default dead band of 1 % of
    the 95th-percentile |I| would otherwise call the end of the CV hold rest)."""
    t_cc = np.arange(0.0, 3600.0, 10.0)  # 1 h at 1 mA
    t_cv = np.arange(3600.0, 3600.0 + 36000.0, 10.0)  # 10 h CV, τ = 1 h
    i_cv = 1.0 * np.exp(-(t_cv - 3600.0) / 3600.0)
    t_rest = np.arange(t_cv[-1] + 10.0, t_cv[-1] + 1810.0, 10.0)
    t_dis = np.arange(t_rest[-1] + 10.0, t_rest[-1] + 3610.0, 10.0)
    t = np.concatenate([t_cc, t_cv, t_rest, t_dis])
    i = np.concatenate([np.ones_like(t_cc), i_cv, np.zeros_like(t_rest), -np.ones_like(t_dis)])
    v = np.concatenate(
        [
            np.linspace(3.5, 4.2, t_cc.size),
            np.full(t_cv.size, 4.2),
            np.full(t_rest.size, 4.1),
            np.linspace(4.0, 3.0, t_dis.size),
        ]
    )
    ds = xr.Dataset(
        {
            "voltage": ("record", v, {"units": "V"}),
            "current": ("record", i, {"units": "mA"}),
        },
        coords={"time": ("record", t, {"units": "s"})},
    )
    s = cycle_summary(ds, integration="rectangle")
    expected = float(np.sum(i[1:][i[1:] > 0] * np.diff(t)[i[1:] > 0])) / 3600.0
    assert s.cycles[0]["charge_mAh"] == pytest.approx(expected, rel=1e-9)
    assert s.cycles[0]["charge_mAh"] == pytest.approx(1.0 + 1.0 * (1 - np.exp(-10)), rel=2e-3)
    assert s.definitions["low_current_tail"].endswith("records)")
    no_tail = cycle_summary(ds, integration="rectangle", dead_band_mA=0.0)
    assert no_tail.cycles[0]["charge_mAh"] == pytest.approx(expected, rel=1e-9)
