"""Known answers from ../shared/data/echem/PROVENANCE.md (skipped when the data are absent)."""

import numpy as np
import pytest

from charsuite.echem import cycle_summary, fit_circuit, lin_kk
from charsuite.io import read

pytestmark = pytest.mark.shared_data


@pytest.fixture
def echem(shared_data):
    return shared_data("echem")


def _example(echem):
    ds = read(echem / "ECSHackWeek_impedance.py/data/exampleData.csv")
    return ds.where(ds["z_imag"] < 0, drop=True)  # impedance.py ignoreBelowX


def test_impedance_py_getting_started_fit(echem):
    ds = _example(echem)
    assert ds.sizes["frequency"] == 57
    fit = fit_circuit(
        ds,
        circuit="R0-p(R1,C1)-p(R2-Wo1,C2)",
        initial_guess=[0.01, 0.01, 100, 0.01, 0.05, 100, 1],
        weighting="unit",
        order_time_constants=False,
    )
    docs = dict(
        R0=1.65e-2, R1=8.68e-3, C1=3.32, R2=5.39e-3, Wo1_0=6.31e-2, Wo1_1=2.33e2, C2=2.20e-1
    )
    for name, value in docs.items():
        assert fit.parameters[name] == pytest.approx(value, rel=0.01), name


def test_impedance_py_fitting_example_with_constants(echem):
    fit = fit_circuit(
        _example(echem),
        circuit="R_0-p(R_1,C_1)-p(R_2,C_2)-Wo_1",
        constants={"R_0": 0.02, "Wo_1_1": 200},
        initial_guess=[0.01, 0.01, 0.01, 100, 0.05],
        weighting="unit",
        order_time_constants=False,
    )
    docs = dict(R_1=6.79e-3, C_1=5.62, R_2=3.91e-3, C_2=1.36, Wo_1_0=5.88e-2)
    got = fit.parameters
    # impedance.py reports the arcs in the order its optimiser left them; compare as sets
    arcs = sorted([(got["R_1"], got["C_1"]), (got["R_2"], got["C_2"])])
    want = sorted([(docs["R_1"], docs["C_1"]), (docs["R_2"], docs["C_2"])])
    for (r, c), (rw, cw) in zip(arcs, want):
        assert r == pytest.approx(rw, rel=0.01)
        assert c == pytest.approx(cw, rel=0.01)
    assert got["Wo_1_0"] == pytest.approx(docs["Wo_1_0"], rel=0.01)


def test_impedance_py_lin_kk(echem):
    ds = read(echem / "ECSHackWeek_impedance.py/data/exampleData.csv")
    ds = ds.where(ds["frequency"] < 1000, drop=True)
    kk = lin_kk(ds, c=0.5, max_M=100, fit_type="complex", add_cap=True)
    assert kk.M == 26
    assert kk.mu == pytest.approx(0.31, abs=0.005)
    assert kk.max_residual < 0.005


@pytest.mark.parametrize(
    ("name", "r0", "r1", "c1"),
    [
        ("Circuit1_EIS_1", 29.1, 46.7, 1.04e-5),
        ("Circuit2_EIS_2", 150.0, 502.0, 3.12e-8),
        ("Circuit3_EIS_1", 1.51e3, 4.63e3, 2.02e-8),
    ],
)
def test_dummy_circuits(echem, name, r0, r1, c1):
    ds = read(echem / f"ECSHackWeek_impedance.py/data/{name}.z")
    fit = fit_circuit(ds, circuit="R0-p(R1,C1)", weighting="unit")
    assert fit.parameters["R0"] == pytest.approx(r0, rel=0.01)
    assert fit.parameters["R1"] == pytest.approx(r1, rel=0.01)
    assert fit.parameters["C1"] == pytest.approx(c1, rel=0.01)


def test_two_zarc_ground_truth(echem):
    ds = read(echem / "ciuccislab_pyDRTtools/tutorial/data/2ZARCs/2XZARCequal.csv")
    fit = fit_circuit(ds, circuit="R0-Zarc1-Zarc2", weighting="unit")
    p = fit.parameters
    arcs = sorted([(p["Zarc1_1"], p["Zarc1_0"]), (p["Zarc2_1"], p["Zarc2_0"])])
    assert p["R0"] == pytest.approx(10.0, rel=0.03)
    assert arcs[0][0] == pytest.approx(1e-4, rel=0.05) and arcs[0][1] == pytest.approx(50, rel=0.02)
    assert arcs[1][0] == pytest.approx(0.1, rel=0.05) and arcs[1][1] == pytest.approx(50, rel=0.02)


def test_eclab_gcpl_capacities_and_efficiency(echem):
    ds = read(echem / "dgbowl_yadg/tests/test_x_eclab/gcpl.issue_211.mpt")
    s = cycle_summary(ds)
    assert s.mass_g == pytest.approx(0.790e-3)
    cyc = ds["cycle"].values
    for row in s.cycles:
        sel = cyc == row["cycle"]
        q_ch = float(ds["q_charge"].values[sel].max())
        q_dis = float(ds["q_discharge"].values[sel].max())
        eff = ds["efficiency"].values[sel]
        eff = float(eff[eff > 0][-1])
        assert row["charge_mAh"] == pytest.approx(q_ch, rel=1e-3)
        assert row["discharge_mAh"] == pytest.approx(q_dis, rel=1e-3)
        assert row["coulombic_efficiency_pct"] == pytest.approx(eff, rel=1e-3)
    ce = [round(r["coulombic_efficiency_pct"], 2) for r in s.cycles]
    assert ce == [92.84, 100.06, 99.98, 99.99, 99.92]
    specific = [r["discharge_mAh_g"] for r in s.cycles]
    np.testing.assert_allclose(specific, [67.6, 68.2, 68.3, 68.4, 68.5], atol=0.06)


def test_eclab_mpr_equals_mpt_summary(echem):
    root = echem / "dgbowl_yadg/tests/test_x_eclab"
    a = cycle_summary(read(root / "gcpl.issue_211.mpt"))
    b = cycle_summary(read(root / "gcpl.issue_211.mpr"), mass_g=0.790e-3)
    np.testing.assert_allclose(a.column("discharge_mAh"), b.column("discharge_mAh"), rtol=1e-6)
    np.testing.assert_allclose(
        a.column("coulombic_efficiency_pct"), b.column("coulombic_efficiency_pct"), rtol=1e-6
    )


def test_navani_cycle_summary_means(echem):
    path = (
        echem
        / "the-grey-group_navani/Example_data/jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr"
    )
    s = cycle_summary(read(path))
    assert np.nanmean(s.column("discharge_mAh")) == pytest.approx(0.7778788, rel=1e-4)
    assert np.nanmean(s.column("charge_mAh")) == pytest.approx(0.9535533, rel=1e-4)
