"""Mass spectra, mass calibration, peak search and assignment (issue 14 items 1-3)."""

import h5py
import numpy as np
import pytest

from charsuite.datasets.sims import make_fibtof_spectrum, make_tofdaq_stack
from charsuite.exceptions import CharsuiteWarning, ConvergenceError, DataError, ParameterError
from charsuite.sims import (
    MassCalibration,
    PeakTable,
    assign_peaks,
    eventlist_cube,
    find_peaks,
    fit_mass_calibration,
    ion,
    mass_calibrate,
    reintegrate,
    spectrum,
)

PLASMA = {  # quality bar of issue 14: ion name -> label given by the assignment
    "H3O+": "H3O+",
    "N2+": "N2+",
    "O2+": "O2+",
    "36Ar+": "36Ar+",
    "40Ar+": "Ar+",
    "40ArH+": "ArH+",
    "40Ar16O+": "ArO+",
    "40Ar2+": "Ar2+",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return make_fibtof_spectrum(tmp_path_factory.mktemp("spec") / "fibtof.h5")


@pytest.fixture(scope="module")
def calibrated(generated):
    path, _truth = generated
    fit = mass_calibrate(spectrum(path), "Li+,Na+,Al+,K+,Ni+,Ga+,In+")
    return fit, spectrum(path, calibration=fit.calibration)


# --------------------------------------------------------------------------- ion masses
def test_ion_masses_are_electron_corrected():
    # NIST masses (molmass) minus one electron; values as stored by TOFWERK (sims.md)
    assert ion("115In+").mz == pytest.approx(114.9033302, abs=2e-7)
    assert ion("In+").mz == ion("115In+").mz
    assert ion("Li+").mz == pytest.approx(7.0160034 - 0.00054858, abs=1e-6)
    assert ion("PO3-").mz == pytest.approx(78.95905, abs=1e-5)  # anion: + m_e
    assert ion("Ga++").mz == pytest.approx((68.9255735 - 2 * 0.00054858) / 2, abs=1e-6)
    assert ion("40Ar16O+").mz == pytest.approx(39.9623831 + 15.9949146 - 0.00054858, abs=1e-6)
    assert ion("N2+").charge == 1 and ion("N2+").mz == pytest.approx(28.0055994, abs=1e-6)
    assert ion("X+:100.5").mz == 100.5
    assert ion("113In+").abundance == pytest.approx(0.0429, abs=2e-4)


@pytest.mark.parametrize("bad", ["Zz+", "In", "In+-", "5In+", "X+:-3", "X+:abc", "+"])
def test_unknown_ions_refused(bad):
    with pytest.raises(ParameterError):
        ion(bad)


# --------------------------------------------------------------------------- fitting
@pytest.mark.parametrize(
    ("mode", "params"),
    [
        (0, (2800.0, -5000.0)),
        (1, (-90000.0, 40000.0)),
        (2, (2827.7, -5221.0, 0.49997)),
        (3, (2800.0, -5000.0, 1e-3, 60.0)),
        (4, (2800.0, -5000.0, 1e-5, 0.2, 0.0)),
        (5, (1.2e-7, 1e-4, 0.5)),
    ],
)
def test_fit_recovers_every_mode(mode, params):
    true = MassCalibration(mode, params)
    m = np.array([7.016, 22.99, 38.96, 57.93, 68.93, 114.9, 130.9])
    i = true.index(m)
    cal, info = fit_mass_calibration(i, m, mode=mode, sigma=np.full(m.size, 0.05))
    assert info["dof"] == m.size - (4 if mode == 4 else len(params))
    np.testing.assert_allclose(cal.mass(i), m, rtol=1e-9)
    grid = np.linspace(i.min(), i.max(), 20)
    np.testing.assert_allclose(cal.mass(grid), true.mass(grid), rtol=1e-8)


def test_fit_uncertainty_scales_with_noise():
    true = MassCalibration(0, (2800.0, -5000.0))
    m = np.array([7.016, 22.99, 38.96, 57.93, 68.93, 114.9])
    rng = np.random.default_rng(3)
    i = true.index(m) + rng.normal(0, 0.1, m.size)
    cal, _info = fit_mass_calibration(i, m, mode=0, sigma=np.full(m.size, 0.1))
    assert all(np.isfinite(cal.uncertainties))
    # the truth lies within 4 sigma of the fit
    assert abs(cal.parameters[0] - 2800.0) < 4 * cal.uncertainties[0]
    exact, _ = fit_mass_calibration(true.index(m[:2]), m[:2], mode=0)
    assert all(np.isnan(exact.uncertainties))  # exactly determined: no error estimate


def test_fit_bad_input():
    with pytest.raises(ParameterError, match="at least 3"):
        fit_mass_calibration([100.0, 200.0], [7.0, 23.0], mode=2)
    with pytest.raises(ParameterError):
        fit_mass_calibration([100.0, 200.0, 300.0], [7.0, 23.0, 40.0], mode=9)
    # masses decreasing with flight time cannot be described by a monotonic calibration
    with pytest.raises(ConvergenceError):
        fit_mass_calibration([1000.0, 2000.0, 3000.0, 4000.0], [100.0, 50.0, 20.0, 7.0], mode=0)


def test_calibration_json_round_trip(tmp_path):
    cal = MassCalibration(2, (2827.7, -5221.0, 0.49997), (0.1, 0.2, 1e-5))
    path = tmp_path / "cal.json"
    import json

    path.write_text(json.dumps(cal.to_dict()))
    back = MassCalibration.read_json(path)
    assert back.mode == 2 and back.parameters == cal.parameters
    (tmp_path / "bad.json").write_text('{"mode": 2, "parameters": {"p1": 1}}')
    with pytest.raises(DataError):
        MassCalibration.read_json(tmp_path / "bad.json")


# --------------------------------------------------------------------------- generated spectra
def test_generated_calibration_within_10_ppm(generated, calibrated):
    _, truth = generated
    fit, _ = calibrated
    true = MassCalibration(0, tuple(truth["calibration"]["parameters"]))
    stored = MassCalibration(0, tuple(truth["stored_calibration"]["parameters"]))
    grid = np.linspace(true.index(6.0), true.index(131.0), 200)
    err = np.abs(fit.calibration.mass(grid) / true.mass(grid) - 1) * 1e6
    before = np.abs(stored.mass(grid) / true.mass(grid) - 1) * 1e6
    assert err.max() < 10.0 and before.min() > 100.0
    assert fit.dof == 5 and all(np.isfinite(fit.calibration.uncertainties))
    used = [r for r in fit.ions if r["used"]]
    assert len(used) == 7 and max(abs(r["residual_ppm"]) for r in used) < 10
    assert all(abs(r["previous_residual_ppm"]) > 100 for r in used)


@pytest.mark.parametrize(
    ("resolution", "peak_shape", "scale"),
    [
        (900.0, (0.0, 0.0), 1.0),  # the default generator settings
        (500.0, (0.0, 0.0), 0.1),  # low resolution, 10x fewer counts
        (1500.0, (0.0, 0.0), 1.0),
        (900.0, (0.5, 0.0), 0.1),  # pseudo-Voigt (half Lorentzian), 10x fewer counts
        (1500.0, (0.5, 0.0), 1.0),
        (900.0, (0.0, 0.5), 1.0),  # exponential tail (EMG, tau = sigma/2): not the fit model
    ],
)
def test_generated_resolution_within_5_percent(tmp_path, resolution, peak_shape, scale):
    from charsuite.datasets.sims import FIBTOF_IONS

    ions = tuple((f, c, a * scale) for f, c, a in FIBTOF_IONS)
    path, truth = make_fibtof_spectrum(
        tmp_path / "s.h5", ions=ions, resolution=resolution, peak_shape=peak_shape, seed=7
    )
    fit = mass_calibrate(spectrum(path), "Li+,Na+,Al+,K+,Ni+,Ga+,In+")
    peaks = find_peaks(spectrum(path, calibration=fit.calibration))
    pulls = []
    for t in truth["peaks"]:
        if t["area"] < 1e3:  # below ~10^3 counts a width is not measurable to 5 %
            continue
        near = [p for p in peaks if abs(p.mass - t["mz"]) < t["mz"] / resolution / 2]
        assert len(near) == 1, t
        pk = near[0]
        if peak_shape[1] == 0:  # the fit model describes these shapes
            assert pk.width_method.startswith("profile fit"), pk.width_method
        else:  # a tail the split pseudo-Voigt cannot follow: strong peaks use half maximum
            assert "fit failed" not in pk.width_method, pk.width_method
        err = pk.resolution / resolution - 1
        if np.isfinite(pk.sigma_resolution):
            pulls.append(err * pk.resolution / pk.sigma_resolution)
        # 5 %, or 3 reported standard deviations where the counts cannot give 5 %
        # (a 1.4e3-count peak 22 samples wide on 2 counts/sample: sigma_R/R ~ 2.5 %)
        assert abs(err) <= max(0.05, 3 * np.nan_to_num(pk.sigma_resolution) / pk.resolution), (
            t,
            err,
        )
        if scale == 1.0 and peak_shape == (0.0, 0.0):  # the quality-bar spectrum: every peak
            assert abs(err) <= 0.05, (t, err)
    if peak_shape[1] == 0:
        assert len(pulls) >= 20
        # shapes of the fit model: the reported width uncertainty is honest (pulls ~ 1;
        # a tailed peak adds a model bias of 1-3 % that sigma_resolution does not include)
        assert np.median(np.abs(pulls)) < 1.5
        # symmetric shapes: the fitted centre is the apex, as in the truth
        true = MassCalibration(0, tuple(truth["calibration"]["parameters"]))
        grid = np.linspace(true.index(6.0), true.index(131.0), 200)
        assert np.abs(fit.calibration.mass(grid) / true.mass(grid) - 1).max() * 1e6 < 10.0


def test_weak_peak_width_better_than_half_maximum(generated, calibrated):
    # the quality-bar failure of the half-maximum widths: ~10 % off at 1.7e3 counts
    _, truth = generated
    _, spec = calibrated
    peaks = find_peaks(spec)
    weak = [t for t in truth["peaks"] if 1e3 <= t["area"] < 1e4]
    assert len(weak) >= 4
    fit_err, hm_err = [], []
    for t in weak:
        pk = next(p for p in peaks if abs(p.mass - t["mz"]) < 0.01)
        fit_err.append(abs(pk.fwhm_samples / t["fwhm_samples"] - 1))
        hm_err.append(abs(pk.halfmax_fwhm_samples / t["fwhm_samples"] - 1))
    assert max(fit_err) < 0.05 and np.mean(fit_err) < np.mean(hm_err)


def test_profile_fit_failure_falls_back_with_flag(monkeypatch):
    import charsuite.sims._peaks_fit as peaks_fit
    from charsuite.sims import locate_peak

    x = np.arange(200.0)
    y = 3.0 + 500.0 * np.exp(-0.5 * ((x - 100.3) / 3.0) ** 2)
    cal = MassCalibration(0, (10.0, -400.0))
    ok = locate_peak(y, 100.0, half_window=10, calibration=cal)
    assert ok.width_method == "profile fit" and ok.fwhm_samples == pytest.approx(7.064, rel=1e-3)
    assert ok.index == pytest.approx(100.3, abs=1e-3)
    # flat background: no peak to fit (the width or centre runs to its bound)
    rng = np.random.default_rng(0)
    flat = rng.poisson(50.0, 60).astype(float)
    assert peaks_fit.fit_profile(flat, np.arange(60.0), centre=30, fwhm=5, background=50) is None
    monkeypatch.setattr(peaks_fit, "fit_profile", lambda *a, **k: None)
    pk = locate_peak(y, 100.0, half_window=10, calibration=cal)
    assert pk.width_method == "half maximum (profile fit failed)"
    assert np.isnan(pk.sigma_fwhm_samples) and pk.fwhm_samples == pytest.approx(7.06, rel=0.02)


def test_generated_every_ion_assigned_and_patterns_respected(generated, calibrated):
    _, truth = generated
    _, spec = calibrated
    result = assign_peaks(spec, monoisotopic=tuple(truth["monoisotopic"]))
    assigned = [r for r in result.peaks if r["ion"] is not None]
    for t in truth["peaks"]:
        if t["area"] < 1000:
            continue
        rows = [r for r in assigned if abs(r["ion_mass"] - t["mz"]) < 2e-3]
        assert rows, f"{t['parent']} {t['mass_number']} not assigned"
        assert not rows[0]["isotope_check"].startswith("inconsistent")
    # every assignment matches a generated ion (no ion invented on a generated peak)
    for r in assigned:
        assert min(abs(r["ion_mass"] - t["mz"]) for t in truth["peaks"]) < 2e-3, r
    assert set(result.unassigned) == {r["mass"] for r in result.peaks if r["ion"] is None}


def test_isotopes_against_their_pattern_are_not_assigned(tmp_path):
    # 113In without 115In, 60Ni without 58Ni, pure 71Ga: none may get an isotope label
    path, _truth = make_fibtof_spectrum(
        tmp_path / "odd.h5",
        ions=(("Li", 1, 2e6), ("113In", 1, 5e4), ("60Ni", 1, 5e4), ("71Ga", 1, 5e4)),
        stored_error_ppm=0.0,
    )
    result = assign_peaks(spectrum(path), candidates="Li+,In+,Ni+,Ga+")
    labels = {r["ion"] for r in result.peaks}
    assert {"Li+", "6Li+"} <= labels
    assert not labels & {"113In+", "60Ni+", "71Ga+"}
    for m in (112.9035, 59.9302, 70.9242):
        rows = [r for r in result.peaks if abs(r["mass"] - m) < 0.02]
        assert rows and rows[0]["ion"] is None
        assert rows[0]["alternatives"][0]["isotope_check"].startswith("inconsistent")


@pytest.mark.parametrize(("scale", "seed"), [(0.1, 1), (1.0, 2), (1.0, 3), (10.0, 4)])
def test_true_ions_pass_and_wrong_neighbours_fail_the_isotope_test(tmp_path, scale, seed):
    # both directions of the isotope test on generated spectra (CIAAW abundances, which
    # differ from the NIST ones the assignment uses: 6Li 4.85 % vs 7.59 %), with wrong
    # candidates within FWHM/2 of true peaks: 58Fe+ (58Ni+, 1.5 mDa), 113Cd+ (113In+),
    # 115Sn+ (115In+), 69Ga+ natural (the beam is monoisotopic 69Ga: 71Ga is MnO)
    from charsuite.datasets.sims import FIBTOF_IONS

    ions = tuple((f, c, a * scale) for f, c, a in FIBTOF_IONS)
    path, truth = make_fibtof_spectrum(tmp_path / "s.h5", ions=ions, seed=seed)
    fit = mass_calibrate(spectrum(path), "Li+,Na+,Al+,K+,Ni+,Ga+,In+")
    spec = spectrum(path, calibration=fit.calibration)
    wrong = ["Fe+", "Cd+", "Sn+"]  # natural elements: their 58Fe, 113Cd, 115Sn isotopologues
    cands = ["Li+", "Na+", "Al+", "Li2O+", "K+", "Mn+", "Co+", "Ni+", "Ga+", "MnO+", "NiO+",
             "In+", "InO+", *wrong]  # fmt: skip
    result = assign_peaks(spec, candidates=cands, monoisotopic=tuple(truth["monoisotopic"]))
    assigned = [r for r in result.peaks if r["ion"] is not None]
    for t in truth["peaks"]:
        if t["area"] < 1000:
            continue
        rows = [r for r in assigned if abs(r["ion_mass"] - t["mz"]) < 2e-3]
        assert rows, f"{t['parent']} {t['mass_number']} not assigned"
        # a single-isotope element (Na, Al, Mn, Co) or the declared beam is "not tested"
        assert rows[0]["isotope_check"] in ("consistent", "not tested"), rows[0]
    for r in assigned:  # no wrong element on a label
        assert not any(el in r["ion"] for el in ("Fe", "Cd", "Sn")), r
    for name, m in (("58Fe+", 57.9333), ("113Cd+", 112.9039), ("115Sn+", 114.9028)):
        row = next(r for r in result.peaks if abs(r["mass"] - m) < 0.02)
        alt = next(a for a in row["alternatives"] if a["ion"] == name)
        assert alt["isotope_check"].startswith("inconsistent"), alt
    # the primary beam is pure 69Ga; undeclared, natural Ga is not "consistent": 71Ga
    # would be 66 % of 69Ga, and m/z 71 holds only 55Mn16O+ (unresolved, 8 mDa away), so
    # the check says that natural Ga explains a small share of the 69 peak
    natural = assign_peaks(spec, candidates="Ga+,Mn+,MnO+")
    ga = next(r for r in natural.peaks if abs(r["mass"] - 68.925) < 0.02)
    check = ga["isotope_check"] or ga["alternatives"][0]["isotope_check"]
    assert check.startswith(("inconsistent", "consistent, overlapped")), check
    if "overlapped" in check:
        assert float(check.split("≈")[1].split("%")[0]) < 40


def test_unresolved_neighbour_is_an_overlap_not_a_misfit(tmp_path):
    # H35Cl+ sits 9 mDa above 36Ar+ (unresolved at R = 900; generated as 35Cl only, so
    # that 38Ar+ gets no H37Cl+ in return): the 36Ar+ peak holds more
    # than its 38Ar partner implies. 36Ar+ is present (its partner is detected), so it is
    # assigned as overlapped; a candidate with no partner at all (natural S: its 36S+ needs 32S+) is not.
    path, _ = make_fibtof_spectrum(
        tmp_path / "ar.h5", ions=(("Li", 1, 2e6), ("Ar", 1, 2e7), ("35ClH", 1, 2e5)),
        stored_error_ppm=0.0,
    )  # fmt: skip
    result = assign_peaks(spectrum(path), candidates="Li+,Ar+,S+")
    row = next(r for r in result.peaks if abs(r["mass"] - 35.97) < 0.02)
    assert row["ion"] == "36Ar+" and row["isotope_check"].startswith("consistent, overlapped")
    share = float(row["isotope_check"].split("≈")[1].split("%")[0])
    # truth: 36Ar = 2e7 * 0.3336 % = 6.7e4 counts of the 6.7e4 + 1.5e5 (H35Cl) in the peak
    assert 20 < share < 45
    alt = [a for a in row["alternatives"] if a["ion"] == "36S+"]
    assert alt and alt[0]["isotope_check"].startswith("inconsistent")
    ar40 = next(r for r in result.peaks if abs(r["mass"] - 39.962) < 0.02)
    assert ar40["ion"] == "Ar+" and ar40["isotope_check"] == "consistent"


def test_isotope_test_options_are_checked(calibrated):
    _, spec = calibrated
    with pytest.raises(ParameterError, match="significance"):
        assign_peaks(spec, candidates="Li+", significance=0.0)
    with pytest.raises(ParameterError, match="ratio_tolerance"):
        assign_peaks(spec, candidates="Li+", ratio_tolerance=1.5)


def test_peak_table_from_assignment(calibrated, tmp_path):
    _, spec = calibrated
    table = assign_peaks(spec, candidates="Li+,Ni+,In+").peak_table()
    assert "In+" in table.label and "60Ni+" in table.label
    k = table.label.index("In+")
    assert table.mass[k] == pytest.approx(ion("In+").mz)
    # ±1 FWHM window at R = 900
    assert table.upper[k] - table.lower[k] == pytest.approx(2 * table.mass[k] / 900, rel=0.06)
    path = table.write_csv(tmp_path / "t.csv")
    back = PeakTable.read_csv(path)
    assert back.label == table.label
    np.testing.assert_allclose(back.lower, table.lower, atol=1e-6)


# --------------------------------------------------------------------------- regions
@pytest.fixture(scope="module")
def tof_stack(tmp_path_factory):
    path = tmp_path_factory.mktemp("tofstack") / "s.h5"
    return make_tofdaq_stack(path, n_scans=40, shape=(3, 2), tofdata=True, eventlist="u4", seed=2)


def test_region_spectrum_equals_direct_sum(tof_stack):
    path, _ = tof_stack
    spec = spectrum(path, scans=(5, 12), roi="1:2,0:2")
    with h5py.File(path) as f:
        grp = f["FullSpectra"]
        direct = grp["TofData"][5:12, 0:2, 1:2].astype(float).sum(axis=(0, 1, 2))
        conv = (
            float(grp.attrs["SampleInterval"][0]) * 1e9 / float(grp.attrs["Single Ion Signal"][0])
        )
    np.testing.assert_allclose(spec.values, direct * conv, rtol=1e-6)
    assert spec.attrs["source"] == "TofData" and "roi 1:2,0:2" in spec.attrs["region"]
    assert spec["mass"].attrs["units"] == "Th"
    assert spec.attrs["history"][-1]["parameters"]["scans"] == [5, 12]


def test_layer_spectrum_follows_the_stack(tof_stack):
    path, truth = tof_stack
    from charsuite.datasets.sims import battery_layer_spec

    layers = battery_layer_spec(truth)
    li = spectrum(path, layer="Li", layers=layers)
    ito = spectrum(path, layer="ITO", layers=layers)

    def per_scan(spec):
        sel = np.abs(spec["mass"].values - ion("Li+").mz) < 0.3
        start, stop = spec.attrs["scans"]
        return spec.values[sel].sum() / (stop - start)

    assert li.attrs["scans"][0] == 0 and ito.attrs["scans"][0] > li.attrs["scans"][1]
    assert per_scan(li) > 5 * per_scan(ito)
    with pytest.raises(ParameterError, match="not in the calibration"):
        spectrum(path, layer="Gold", layers=layers)
    with pytest.raises(ParameterError, match="needs --layers"):
        spectrum(path, layer="Li")


def _raw_copy(path, raw):
    """A "raw" fibTOF copy: EventList and PeakTable, no TofData and no PeakData."""
    with h5py.File(path) as src, h5py.File(raw, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        for name in ("FullSpectra", "TimingData"):
            src.copy(src[name], dst, name=name)
        dst.create_group("PeakData").create_dataset("PeakTable", data=src["PeakData/PeakTable"][()])
        del dst["FullSpectra/TofData"]
    return raw


def test_eventlist_spectrum_counts_every_event(tof_stack, tmp_path):
    path, _ = tof_stack
    raw = _raw_copy(path, tmp_path / "raw.h5")  # the spectrum must come from the EventList
    cube = eventlist_cube(raw)
    spec = spectrum(raw, scans=(0, 40))
    assert spec.attrs["source"] == "EventList"
    table = PeakTable.from_dataset(h5py.File(raw)["PeakData/PeakTable"])
    cal = MassCalibration.from_dict(spec.attrs["calibration"])
    for k in range(len(table.label)):
        lo, hi = (int(np.rint(cal.index(v))) for v in (table.lower[k], table.upper[k]))
        assert spec.values[lo:hi].sum() == pytest.approx(float(cube[..., k].sum()), rel=1e-9)


def test_reintegrate_with_new_table_and_calibration(tof_stack, tmp_path):
    path, _ = tof_stack
    spec = spectrum(path)
    table = PeakTable.from_spec([("Li+", 7.016, 6.9, 7.1)])
    table.write_csv(tmp_path / "t.csv")
    cal = MassCalibration.from_dict(spec.attrs["calibration"])
    cube = reintegrate(path, tmp_path / "t.csv", calibration=cal, units="counts")
    default = reintegrate(path, table, units="counts")
    np.testing.assert_allclose(cube.values, default.values)
    assert cube.attrs["history"][-1]["parameters"]["calibration"]["mode"] == 2
    # a calibration shifted by 40 samples moves the window off the peak
    p = cal.parameters
    shifted = MassCalibration(2, (p[0], p[1] + 40.0, p[2]))
    moved = reintegrate(path, table, calibration=shifted, units="counts")
    assert float(moved.sum()) < 0.05 * float(default.sum())


# --------------------------------------------------------------------------- real files
@pytest.mark.shared_data
def test_spcal_plasma_ions_found_assigned_and_recalibrated(shared_data):
    path = shared_data("sims") / "djdt+spcal" / "tofwerk_au_50nm.h5"
    spec = spectrum(path)
    assert spec.attrs["source"] == "TofData" and spec.attrs["calibration"]["mode"] == 2
    result = assign_peaks(spec)
    labels = {r["ion"]: r for r in result.peaks if r["ion"]}
    for name, label in PLASMA.items():
        assert label in labels, name
        assert labels[label]["ion_mass"] == pytest.approx(ion(name).mz, abs=1e-6)
        assert not labels[label]["isotope_check"].startswith("inconsistent")
    # the other direction on real data: wrong neighbours whose partners are absent
    alts = {a["ion"]: a["isotope_check"] for r in result.peaks for a in r["alternatives"]}
    for wrong in ("40K+", "NiO+ (80)", "58Fe+"):  # on Ar+, Ar2+ and Ni+: 39K, 58NiO, 56Fe absent
        assert alts[wrong].startswith("inconsistent"), wrong
    fit = mass_calibrate(spec, list(PLASMA))
    rows = {r["ion"]: r for r in fit.ions}
    assert all(rows[n]["used"] for n in PLASMA)
    previous = np.array([abs(rows[n]["previous_residual_ppm"]) for n in PLASMA])
    # the stored (Co/In/U) calibration puts some plasma ions ~100 ppm off (H3O+, 40Ar+);
    # located at the fitted apex of these asymmetric peaks (not at a Gaussian centre
    # pulled into the tail), most are within ~20 ppm of it
    assert previous.max() > 80 and previous.max() < 300
    assert fit.rms_ppm < np.sqrt(np.mean(previous**2))
    assert fit.dof == 5 and all(np.isfinite(fit.calibration.uncertainties))
    assert fit.calibration.parameters[2] == pytest.approx(0.5, abs=0.002)


@pytest.mark.shared_data
def test_spcal_all_zero_sum_spectrum_is_refused(shared_data):
    path = shared_data("sims") / "djdt+spcal" / "tofwerk_testdata.h5"
    with pytest.raises(DataError, match="all zero"):
        spectrum(path)


@pytest.mark.shared_data
def test_synthetic_fixture_calibration_mismatch_warns(shared_data):
    path = shared_data("sims") / "hyperspy+rosettasciio" / "fib_sims_opened.h5"
    with pytest.warns(CharsuiteWarning, match="MassAxis spans"):
        spectrum(path)


def test_read_and_eventlist_cube_use_a_new_calibration(tof_stack, tmp_path):
    import json

    from charsuite.io import read

    path, _ = tof_stack
    raw = _raw_copy(path, tmp_path / "raw.h5")
    spec = spectrum(raw)
    cal = MassCalibration.from_dict(spec.attrs["calibration"])
    same = tmp_path / "same.json"
    same.write_text(json.dumps(cal.to_dict()))
    p = cal.parameters
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(MassCalibration(2, (p[0], p[1] + 400.0, p[2])).to_dict()))
    base = read(raw, tof=1)
    np.testing.assert_allclose(read(raw, tof=1, calibration=same).values, base.values)
    shifted = read(raw, tof=1, calibration=moved)
    li = list(base["species"].values).index("Li+")
    assert float(shifted[..., li].sum()) < 0.05 * float(base[..., li].sum())
    np.testing.assert_allclose(
        eventlist_cube(raw, calibration=moved).values[..., li], shifted.values[..., li]
    )
    with pytest.raises(ParameterError, match="raw EventList"):
        read(path, calibration=same)
