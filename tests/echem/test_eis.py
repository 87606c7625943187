"""Circuit parsing, fitting, CPE capacitance and lin-KK on generated spectra."""

import numpy as np
import pytest

from charsuite.datasets.echem import two_arc_impedance, write_squidstat_eis
from charsuite.echem import (
    cpe_capacitance,
    fit_circuit,
    fit_spectra,
    lin_kk,
    parse_circuit,
    split_sweeps,
)
from charsuite.exceptions import DataError, ParameterError
from charsuite.io import read


def test_parse_and_evaluate():
    c = parse_circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    assert c.parameter_names == ("R0", "R1", "CPE1_0", "CPE1_1", "R2", "CPE2_0", "CPE2_1")
    f = np.geomspace(1e5, 0.1, 30)
    p = dict(R0=5.0, R1=50.0, Q1=2e-6, a1=0.9, R2=100.0, Q2=1e-3, a2=0.8)
    z = c.impedance(f, [5.0, 50.0, 2e-6, 0.9, 100.0, 1e-3, 0.8])
    np.testing.assert_allclose(z, two_arc_impedance(f, p), rtol=1e-12)
    w = parse_circuit("R_0-p(R_1,C_1)-Wo_1")
    assert "Wo_1_1" in w.parameter_names
    for bad in ("R0-", "p(R1)", "X1", "R0-R0", "p(R1,C1"):
        with pytest.raises(ParameterError):
            parse_circuit(bad)


@pytest.fixture(scope="module")
def spectra(tmp_path_factory):
    root = tmp_path_factory.mktemp("eis")
    states = [dict(R1=180.0, R2=140.0), dict(R1=185.0, R2=220.0), dict(R1=195.0, R2=300.0)]
    out = []
    for k, p in enumerate(states):
        truth = write_squidstat_eis(root / f"s{k}", params_cm2=p, seed=k)
        out.append((truth, read(truth["csv"])))
    return out


def test_two_arc_fit_within_2pct(spectra):
    for truth, ds in spectra:
        fit = fit_circuit(ds, circuit="R0-p(R1,CPE1)-p(R2,CPE2)")
        for name in ("R0", "R1", "R2"):
            assert fit.area_normalized[f"{name}_ohm_cm2"] == pytest.approx(
                truth["params_cm2"][name], rel=0.02
            )
        assert fit.parameters["CPE1_1"] == pytest.approx(truth["params_cm2"]["a1"], abs=0.02)
        assert fit.time_constants_s["block1"] < fit.time_constants_s["block2"]
        assert fit.area_cm2 == pytest.approx(truth["area_cm2"])


def test_ordered_across_spectra_even_from_swapped_guess(spectra):
    ds = [s[1] for s in spectra]
    # start from a guess with the arcs swapped: ordering must put the fast arc first
    guess = {"R0": 100, "R1": 1000, "CPE1_0": 3e-6, "CPE1_1": 0.85}
    guess.update({"R2": 1200, "CPE2_0": 4.5e-9, "CPE2_1": 0.93})
    fits = fit_spectra(ds, initial_guess=guess)
    taus = [(f.time_constants_s["block1"], f.time_constants_s["block2"]) for f in fits]
    assert all(a < b for a, b in taus)
    r2 = [f.area_normalized["R2_ohm_cm2"] for f in fits]
    assert r2 == sorted(r2)  # charge transfer grows with state, as generated


def test_fixed_parameters_and_bounds(spectra):
    truth, ds = spectra[0]
    r0 = truth["params_ohm"]["R0"]
    fit = fit_circuit(ds, constants={"R0": r0}, bounds={"CPE2_1": (0.5, 0.9)})
    assert fit.parameters["R0"] == r0
    assert fit.parameters_err["R0"] == 0.0
    assert fit.fixed == ["R0"]
    assert 0.5 <= fit.parameters["CPE2_1"] <= 0.9
    with pytest.raises(ParameterError, match="unknown"):
        fit_circuit(ds, constants={"R9": 1.0})


def test_cpe_capacitance_formulas():
    q, a, r = 2e-5, 0.85, 300.0
    hm = cpe_capacitance(q, a, r)
    assert hm == pytest.approx((q * r) ** (1 / a) / r)
    # at α = 1 both reduce to Q
    assert cpe_capacitance(q, 1.0, r) == pytest.approx(q)
    assert cpe_capacitance(q, 1.0, r, method="brug", r_series=10) == pytest.approx(q)
    brug = cpe_capacitance(q, a, r, method="brug", r_series=10.0)
    assert brug == pytest.approx(q ** (1 / a) * (1 / 10 + 1 / r) ** ((a - 1) / a))
    with pytest.raises(ParameterError):
        cpe_capacitance(q, a, r, method="brug")


def test_lin_kk_flags_invalid_data(spectra):
    _, ds = spectra[0]
    good = lin_kk(ds, c=0.85)
    assert good.valid
    f = ds["frequency"].values
    z = ds["z_real"].values + 1j * ds["z_imag"].values
    drift = z * (1 + 0.3 * np.linspace(0, 1, f.size))  # non-stationary: violates KK
    bad = lin_kk(f, drift, c=0.85)
    assert bad.max_residual > 5 * good.max_residual


def test_bad_spectra():
    f = np.geomspace(1e4, 1, 10)
    with pytest.raises(DataError):
        fit_circuit(f, np.full(10, np.nan + 0j))
    with pytest.raises(DataError):
        fit_circuit(-f, np.ones(10, complex))


def test_multistart_recovers_from_a_poor_guess(spectra):
    truth, ds = spectra[2]
    bad = {
        "R0": 1.0,
        "R1": 10.0,
        "CPE1_0": 1e-3,
        "CPE1_1": 0.6,
        "R2": 10.0,
        "CPE2_0": 1e-3,
        "CPE2_1": 0.6,
    }
    single = fit_circuit(ds, initial_guess=bad)
    multi = fit_circuit(ds, initial_guess=bad, n_starts=8)
    assert multi.chi2 <= single.chi2
    assert multi.area_normalized["R2_ohm_cm2"] == pytest.approx(truth["params_cm2"]["R2"], rel=0.02)


def test_kk_valid_only_drops_corrupted_points(spectra):
    truth, ds = spectra[0]
    bad = ds.copy(deep=True)
    bad["z_real"].values[5] *= 1.3  # one outlier
    fit = fit_circuit(bad, kk_valid_only=True)
    assert fit.definitions["kk_points_dropped"] >= 1
    assert fit.history[-1]["parameters"]["kk_valid_only"] is True
    assert fit.area_normalized["R1_ohm_cm2"] == pytest.approx(truth["params_cm2"]["R1"], rel=0.02)


def test_two_sweeps_in_one_file(tmp_path, spectra):
    truth, _ = spectra[0]
    path = truth["csv"]
    raw = path.read_bytes()
    header, _, body = raw.partition(b"\r\n")
    double = tmp_path / "double.csv"
    double.write_bytes(header + b"\r\n" + body + body)
    both = read(double)
    assert both.attrs["metadata"]["n_sweeps"] == 2
    with pytest.raises(DataError, match="2 frequency sweeps"):
        fit_circuit(both)
    parts = split_sweeps(both)
    assert len(parts) == 2
    fit = fit_circuit(parts[1], area_cm2=truth["area_cm2"])  # no settings file here
    assert fit.area_normalized["R1_ohm_cm2"] == pytest.approx(truth["params_cm2"]["R1"], rel=0.02)
