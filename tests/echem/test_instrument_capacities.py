"""Per-cycle capacities equal the instrument's own per-cycle columns (issue 13, item 1).

The expected numbers are read from the files here with pandas, independently of the
charsuite readers, from the columns the instrument software wrote.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from charsuite.echem import cycle_summary
from charsuite.exceptions import CharsuiteWarning, ParameterError
from charsuite.io import read

YADG = "dgbowl_yadg/tests/test_x_eclab"
NAVANI = "the-grey-group_navani/Example_data"


def _mpt_table(path) -> pd.DataFrame:
    """EC-Lab text export as a DataFrame, parsed here without charsuite."""
    lines = path.read_text(encoding="latin-1").splitlines()
    n = int(lines[1].split(":")[1])
    cols = lines[n - 1].rstrip("\t").split("\t")
    rows = [line.rstrip("\t").split("\t") for line in lines[n:] if line.strip()]
    df = pd.DataFrame([(r + [""] * len(cols))[: len(cols)] for r in rows], columns=cols)
    return df.apply(lambda c: pd.to_numeric(c.str.replace(",", "."), errors="coerce"))


def _eclab_per_cycle(df: pd.DataFrame) -> tuple[dict, dict]:
    """EC-Lab's own per-cycle Q charge / Q discharge (their value at the end of a cycle)."""
    g = df.groupby("cycle number")
    return g["Q charge/mA.h"].max().to_dict(), g["Q discharge/mA.h"].max().to_dict()


def _summary(ds, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CharsuiteWarning)  # no disagreement on these files
        return cycle_summary(ds, **kw)


def _assert_cycles(summary, charge: dict, discharge: dict) -> None:
    for row in summary.cycles:
        c = row["cycle"]
        assert row["capacity_source"] == "instrument"
        for got, table in ((row["charge_mAh"], charge), (row["discharge_mAh"], discharge)):
            want = table.get(c, 0.0)
            if want == 0:
                assert got is None, c
            else:
                assert got == pytest.approx(want, rel=1e-6), c


@pytest.mark.shared_data
@pytest.mark.parametrize("stem", ["gcpl.issue_211", "gcpl.issue_149", "mb.issue_95"])
@pytest.mark.parametrize("ext", [".mpt", ".mpr"])
def test_eclab_per_cycle_equals_eclab_columns(shared_data, stem, ext):
    folder = shared_data("echem") / YADG
    charge, discharge = _eclab_per_cycle(_mpt_table(folder / f"{stem}.mpt"))
    s = _summary(read(folder / f"{stem}{ext}"))
    assert s.definitions["capacity_source"].startswith("instrument: EC-Lab")
    _assert_cycles(s, charge, discharge)


@pytest.mark.shared_data
def test_eclab_gcpl_issue_211_known_values(shared_data):
    """PROVENANCE.md: cycle 0 Qch 0.05751 / Qdis 0.05339 mAh, CE 92.84 %."""
    s = _summary(read(shared_data("echem") / YADG / "gcpl.issue_211.mpt"))
    row = s.cycles[0]
    assert row["charge_mAh"] == pytest.approx(0.05751, abs=1e-5)
    assert row["discharge_mAh"] == pytest.approx(0.05339, abs=1e-5)
    assert row["coulombic_efficiency_pct"] == pytest.approx(92.84, abs=0.01)


@pytest.mark.shared_data
def test_arbin_xlsx_per_cycle_equals_arbin_columns(shared_data):
    path = shared_data("echem") / NAVANI / "bs542_004_gr_li_50ua_50mv_1v_191020_Channel_11.xlsx"
    ds = read(path)  # the reader passes Arbin's columns through (Ah → mAh)
    g = ds[["charge_capacity", "discharge_capacity", "cycle"]].to_dataframe().groupby("cycle")
    charge = g["charge_capacity"].max().to_dict()
    discharge = g["discharge_capacity"].max().to_dict()
    # one Arbin cycle holding charges and discharges: both counted, never netted
    s = _summary(ds)
    _assert_cycles(s, charge, discharge)
    assert s.cycles[0]["discharge_mAh"] > s.cycles[0]["charge_mAh"] > 0


@pytest.mark.shared_data
def test_neware_csv_per_cycle_equals_step_capacities(shared_data):
    path = shared_data("echem") / "jepegit_cellpy/testdata/data/neware_uio.csv"
    ds = read(path)
    s = _summary(ds)
    raw = pd.read_csv(path)
    cap = next(c for c in raw.columns if c.lower().startswith("capacity"))
    cur = next(c for c in raw.columns if c.lower().startswith("current"))
    step_no = next(c for c in raw.columns if c.lower().replace(" ", "") in ("stepindex", "step"))
    cyc = next(c for c in raw.columns if c.lower().replace(" ", "") in ("cycleindex", "cycle"))
    scale = 1e3 if "(ah)" in cap.lower().replace(" ", "") else 1.0
    run = (raw[step_no].diff().fillna(1) != 0) | (raw[cyc].diff().fillna(1) != 0)
    raw["run"] = run.cumsum()
    steps = raw.groupby("run").agg(q=(cap, "max"), i=(cur, "mean"), c=(cyc, "first"))
    charge = (steps[steps.i > 0].groupby("c").q.sum() * scale).to_dict()
    discharge = (steps[steps.i < 0].groupby("c").q.sum() * scale).to_dict()
    _assert_cycles(s, charge, discharge)


def _loop_dataset() -> xr.Dataset:
    """Chronoamperometry in 3 loops, EC-Lab style: (Q-Qo) and Q charge/discharge restart
    at every loop, and the loop change shows as a one-record negative 'half cycle'
    (the case that gave a per-cycle charge 1600× too small)."""
    n, i_mA, dt = 20, 0.012, 0.5
    t, i, q, qcd, half, cyc = [], [], [], [], [], []
    for loop in range(3):
        t0 = loop * 200.0
        for k in range(n):
            t.append(t0 + k * dt)
            i.append(i_mA)
            q.append(i_mA * (k + 1) * dt / 3600)
            if loop > 0 and k == 0:  # EC-Lab's counter jump at the loop change
                qcd.append(-q[-2])
                half.append(2 * loop - 1)
                cyc.append(loop - 1)
            else:
                qcd.append(q[-1])
                half.append(2 * loop)
                cyc.append(loop)
    rec = "record"
    return xr.Dataset(
        {
            "voltage": (rec, np.full(len(t), 3.42), {"units": "V"}),
            "current": (rec, np.array(i), {"units": "mA"}),
            "charge": (rec, np.array(q), {"units": "mAh"}),
            "q_charge_discharge": (rec, np.array(qcd), {"units": "mAh"}),
            "half_cycle": (rec, np.array(half, float), {"units": "dimensionless"}),
            "cycle": (rec, np.array(cyc, float), {"units": "dimensionless"}),
        },
        coords={"time": (rec, np.array(t), {"units": "s"})},
        attrs={"technique": "echem", "metadata": {}},
    )


def test_counter_restart_at_loops_is_not_a_discharge():
    ds = _loop_dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CharsuiteWarning)
        s = cycle_summary(ds)
    per_loop = 0.012 * 20 * 0.5 / 3600
    charges = [r["charge_mAh"] for r in s.cycles]
    assert charges == pytest.approx([per_loop] * 3, rel=1e-9)
    assert all(r["discharge_mAh"] is None for r in s.cycles)
    assert "counter restarts ignored" in s.definitions["capacity_source"]
    # the integrated numbers are not fooled by the restarting (Q-Qo) either
    integ = cycle_summary(ds, capacities="integrated")
    assert sum(r["charge_mAh"] for r in integ.cycles) == pytest.approx(3 * per_loop, rel=0.06)


def test_arbin_counters_both_directions_in_one_cycle():
    """Charge_Capacity and Discharge_Capacity both grow within cycle 1: never netted."""
    t = np.arange(0, 200.0)
    i = np.where(t < 100, 1.0, -0.9)
    cc = np.r_[0.0, np.cumsum(np.where(i > 0, i, 0)[1:])] / 3600  # I_k over (t_k-1, t_k]
    dc = np.r_[0.0, np.cumsum(np.where(i < 0, -i, 0)[1:])] / 3600
    rec = "record"
    ds = xr.Dataset(
        {
            "voltage": (rec, 3.5 + 0.001 * np.cumsum(i), {"units": "V"}),
            "current": (rec, i, {"units": "mA"}),
            "charge": (rec, cc - dc, {"units": "mAh"}),
            "charge_capacity": (rec, cc, {"units": "mAh"}),
            "discharge_capacity": (rec, dc, {"units": "mAh"}),
            "cycle": (rec, np.ones_like(t), {"units": "dimensionless"}),
        },
        coords={"time": (rec, t, {"units": "s"})},
        attrs={"technique": "echem", "metadata": {}},
    )
    s = _summary(ds)
    row = s.cycles[0]
    assert row["charge_mAh"] == pytest.approx(cc[-1], rel=1e-12)
    assert row["discharge_mAh"] == pytest.approx(dc[-1], rel=1e-12)
    assert row["capacity_source"] == "instrument"


def _quiet_summary(ds):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = cycle_summary(ds)
    assert [str(w.message) for w in caught if w.category is CharsuiteWarning] == s.warnings
    return s


def test_disagreement_above_half_percent_warns():
    ds = _loop_dataset().drop_vars(["q_charge_discharge", "half_cycle"])
    ds["charge_capacity"] = ("record", ds.charge.values * 1.01, {"units": "mAh"})
    ds["discharge_capacity"] = ("record", np.zeros(ds.sizes["record"]), {"units": "mAh"})
    with pytest.warns(CharsuiteWarning, match="differ from the integrated current"):
        s = cycle_summary(ds)
    assert s.warnings


@pytest.mark.parametrize("scale, match", [(0.0, "0 V in every record"), (1e6, "outside the")])
def test_implausible_voltage_warns_naming_the_column(scale, match):
    ds = _loop_dataset()
    ds["voltage"] = ds.voltage * scale
    ds["voltage"].attrs["units"] = "V"
    s = _quiet_summary(ds)
    assert any("'voltage'" in w and match in w for w in s.warnings), s.warnings


def test_current_in_wrong_unit_warns_naming_the_columns():
    ds = _loop_dataset().drop_vars(["q_charge_discharge", "half_cycle"])
    ds["current"] = ds.current * 1000  # µA written as mA
    ds["current"].attrs["units"] = "mA"
    s = _quiet_summary(ds)
    assert any("'charge' column passes" in w and "'current'" in w for w in s.warnings)


@pytest.mark.parametrize("name", ["mass_g", "thickness_nm", "one_c_mA", "area_cm2"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_non_finite_parameters_refused(name, value):
    with pytest.raises(ParameterError, match=name):
        cycle_summary(_loop_dataset(), **{name: value})


def _runs_table(ds) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "i": ds.current.values,
            "cycle": ds.cycle.values,
            "step": ds.step.values,
            "cap": np.abs(ds.step_capacity.values),
        }
    )
    df["run"] = (df.step.diff().fillna(1).ne(0) | df.cycle.diff().fillna(1).ne(0)).cumsum()
    return df


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "rel, kind",
    [
        ("the-grey-group_navani/Example_data/test.nda", "per-step"),
        ("the-grey-group_navani/Example_data/test.ndax", "per-step"),
        ("jepegit_cellpy/examples/data/maccor_three.txt", "per-direction"),
    ],
)
def test_step_capacity_readers_equal_the_instrument(shared_data, rel, kind):
    """Neware restarts its capacity every step (per-cycle = Σ step maxima); Maccor runs it
    on through the steps of one direction (per-cycle = its largest value per direction)."""
    ds = read(shared_data("echem") / rel)
    df = _runs_table(ds)
    if kind == "per-step":
        steps = df.groupby("run").agg(q=("cap", "max"), i=("i", "mean"), c=("cycle", "first"))
        charge = steps[steps.i > 0].groupby("c").q.sum().to_dict()
        discharge = steps[steps.i < 0].groupby("c").q.sum().to_dict()
    else:
        charge = df[df.i > 0].groupby("cycle").cap.max().to_dict()
        discharge = df[df.i < 0].groupby("cycle").cap.max().to_dict()
    _assert_cycles(_summary(ds), charge, discharge)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "rel",
    [
        "jepegit_cellpy/testdata/data/20160805_test001_45_cc_01.res",
        "the-grey-group_navani/Example_data/arbin_example.res",
    ],
)
def test_arbin_res_per_cycle_equals_arbin_columns(shared_data, rel):
    pytest.importorskip("access_parser")
    ds = read(shared_data("echem") / rel)
    g = ds[["charge_capacity", "discharge_capacity", "cycle"]].to_dataframe().groupby("cycle")
    s = _summary(ds)
    _assert_cycles(s, g.charge_capacity.max().to_dict(), g.discharge_capacity.max().to_dict())
