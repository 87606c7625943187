"""Unit tests of the GI physics, peak fitting, lattice refinement, reduction and library."""

from __future__ import annotations

import numpy as np
import pytest

from charsuite.exceptions import DataError, ParameterError
from charsuite.xrd import _gi as gi
from charsuite.xrd import (
    fit_peaks,
    ka2_position,
    pearson7,
    pseudo_voigt,
    refine_lattice,
    two_theta_of,
)


def test_refraction_shift_matches_notes():
    # notes §4.1: NMC811 at α = 2°: incident term +0.023°, exit term ~0.003°
    shift = gi.refraction_shift(18.7, incidence_angle_deg=2.0, delta=1.38e-5)
    assert shift == pytest.approx(0.026, abs=0.004)
    assert gi.refraction_shift(18.7, incidence_angle_deg=0.5, delta=1.38e-5) > shift
    assert gi.refraction_shift(40.0, incidence_angle_deg=None, delta=1.38e-5) < 0.01


def test_information_depth_and_absorption():
    oc = gi.optical_constants(
        {"Li": 1, "Ni": 0.8, "Mn": 0.1, "Co": 0.1, "O": 2}, density_g_cm3=4.78
    )
    assert oc.mu_per_um == pytest.approx(1 / 34.6, rel=0.05)
    assert oc.critical_angle_deg == pytest.approx(0.301, abs=0.01)
    z = gi.information_depth(
        [18.7, 64.5],
        incidence_angle_deg=2.0,
        delta=oc.delta,
        beta=oc.beta,
        wavelength_angstrom=1.540598,
    )
    assert z[0] == pytest.approx(1070, rel=0.06)
    assert z[1] > z[0]
    thick = gi.absorption_factor([18.7, 44.4], incidence_angle_deg=2.0, mu_per_um=oc.mu_per_um)
    thin = gi.absorption_factor(
        [18.7, 44.4], incidence_angle_deg=2.0, mu_per_um=oc.mu_per_um, thickness_nm=20
    )
    assert thin[1] / thin[0] == pytest.approx(1.0, abs=0.05)  # thin-film limit: constant
    assert thick[1] / thick[0] > 1.0


def test_texture_factor_reduces_to_march_dollase():
    phi = np.array([0.0, 30.0, 60.0, 90.0])
    np.testing.assert_allclose(
        gi.texture_factor(0.5, phi, psi_deg=0.0), gi.march_dollase(0.5, phi), rtol=1e-6
    )
    assert gi.texture_factor(1.0, 40.0, psi_deg=20.0) == pytest.approx(1.0)
    # GI tilt smears the texture: (003) seen at ψ ≈ 7° is weaker than at ψ = 0
    assert gi.texture_factor(0.5, 0.0, psi_deg=7.4) < gi.texture_factor(0.5, 0.0, psi_deg=0.0)


@pytest.mark.parametrize(
    "system, cell, hkl",
    [
        (
            "trigonal",
            (2.87, 2.87, 14.2, 90, 90, 120),
            [(0, 0, 3), (1, 0, 1), (0, 1, 2), (1, 0, 4), (0, 1, 5), (1, 1, 0), (1, 1, 3)],
        ),
        (
            "monoclinic",
            (4.94, 8.53, 5.03, 90, 109.5, 90),
            [
                (0, 0, 1),
                (0, 2, 0),
                (1, 1, 0),
                (1, 1, -1),
                (0, 2, 1),
                (2, 0, -1),
                (1, 3, 1),
                (0, 0, 2),
                (2, 0, 0),
            ],
        ),
    ],
)
def test_refine_lattice_exact(system, cell, hkl):
    tth = two_theta_of(np.array(hkl, float), cell, 1.540598) + 0.05
    start = tuple(v * 1.003 if i < 3 else v for i, v in enumerate(cell))
    fit = refine_lattice(tth, hkl, cell=start, crystal_system=system, wavelength_angstrom=1.540598)
    assert fit.lattice["a"] == pytest.approx(cell[0], abs=1e-5)
    assert fit.lattice["c"] == pytest.approx(cell[2], abs=1e-5)
    assert fit.zero_offset_deg == pytest.approx(0.05, abs=1e-5)


def test_refine_lattice_too_few_peaks():
    with pytest.raises(DataError, match="need at least"):
        refine_lattice(
            [18.7, 44.4],
            [(0, 0, 3), (1, 0, 4)],
            cell=(2.87, 2.87, 14.2, 90, 90, 120),
            crystal_system="trigonal",
            wavelength_angstrom=1.54,
        )
    with pytest.raises(ParameterError):
        refine_lattice(
            [1, 2, 3],
            [(1, 0, 0)] * 3,
            cell=(1,) * 3 + (90,) * 3,
            crystal_system="cubicx",
            wavelength_angstrom=1.54,
        )


@pytest.mark.parametrize("profile", ["pseudo_voigt", "pearson7"])
def test_joint_fit_of_overlapping_doublets(profile):
    """(018)/(110)-like pair 0.45° apart with Kα2: positions, widths and areas recovered."""
    rng = np.random.default_rng(0)
    x = np.arange(62.0, 67.5, 0.01)
    true = [(64.44, 0.25, 300.0), (64.89, 0.25, 500.0)]
    f, shape = (pseudo_voigt, 0.5) if profile == "pseudo_voigt" else (pearson7, 1.8)
    y = 50.0 + sum(
        f(x, c, w, a, shape) + f(x, ka2_position(c, 1.540598, 1.544426), w, 0.5 * a, shape)
        for c, w, a in true
    )
    y = rng.poisson(y * 10) / 10
    peaks = fit_peaks(
        x,
        y,
        [64.4, 64.95],
        sigma=np.sqrt(np.maximum(y, 1) / 10),
        fwhm_guess=0.2,
        profile=profile,
        ka2_ratio=0.5,
    )
    assert peaks[0].group == peaks[1].group
    for p, (c, w, a) in zip(peaks, true):
        assert p.two_theta == pytest.approx(c, abs=0.01)
        assert p.fwhm == pytest.approx(w, rel=0.2)
        assert p.area == pytest.approx(a, rel=0.1)
        assert 0 < p.two_theta_err < 0.01


def test_pearson7_is_normalised():
    x = np.linspace(-20, 20, 40001)
    assert np.trapezoid(pearson7(x, 0.0, 0.3, 2.0, 1.5), x) == pytest.approx(2.0, rel=2e-3)
    assert np.trapezoid(pseudo_voigt(x, 0.0, 0.3, 2.0, 0.3), x) == pytest.approx(2.0, rel=5e-3)


def _scan(x, y, **md):
    import xarray as xr

    return xr.DataArray(
        y,
        dims=("two_theta",),
        coords={
            "two_theta": ("two_theta", x, {"units": "deg"}),
            "intensity_sigma": ("two_theta", np.sqrt(np.maximum(y, 1)), {"units": "counts"}),
        },
        name="intensity",
        attrs={
            "units": "counts",
            "metadata": {
                "wavelength_angstrom": 1.540598,
                "wavelength_ka2_angstrom": 1.544426,
                "ka2_ratio": 0.5,
                **md,
            },
        },
    )


def test_reduction_steps_record_values():
    from charsuite.xrd import _reduce as red

    x = np.arange(20.0, 60.0, 0.01)
    c = 40.0
    y = (
        100
        + 2 * (x - 20)
        + pseudo_voigt(x, c, 0.1, 100, 0.5)
        + pseudo_voigt(x, ka2_position(c, 1.540598, 1.544426), 0.1, 50, 0.5)
    )
    da = _scan(x, y)
    s = red.strip_ka2(da)
    k2 = ka2_position(c, 1.540598, 1.544426)
    i2 = np.argmin(abs(x - k2))
    assert s.values[i2] - (100 + 2 * (x[i2] - 20)) < 0.15 * (y[i2] - (100 + 2 * (x[i2] - 20)))
    b = red.subtract_background(s, method="snip")
    assert abs(np.median(b.values)) < 5
    assert b.attrs["corrections"]["subtract_background"]["method"] == "snip"
    assert "strip_ka2" in b.attrs["corrections"]
    assert (
        red.subtract_background(da, method="arpls").attrs["corrections"]["subtract_background"][
            "method"
        ]
        == "arpls"
    )
    n = red.normalize(red.smooth(b), method="max")
    assert np.nanmax(n.values) == pytest.approx(1.0)
    z = red.correct_zero(da, offset_deg=0.1)
    assert z.two_theta.values[0] == pytest.approx(19.9)
    assert da.two_theta.values[0] == pytest.approx(20.0)  # input untouched
    with pytest.raises(ParameterError):
        red.subtract_background(da, method="nope")


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(400), "zero"),
        (np.full(400, np.nan), "NaN"),
    ],
)
def test_analyze_refuses_bad_scans(bad, match):
    from charsuite.xrd import analyze

    with pytest.raises(DataError, match=match):
        analyze(_scan(np.arange(20.0, 60.0, 0.1), bad))


def test_library_patterns_cached_and_user_cif(tmp_path):
    from charsuite.xrd import list_phases, reference_pattern

    names = set(list_phases())
    expected = {
        "NMC811",
        "LiNiO2",
        "LiCoO2",
        "In2O3",
        "Pt",
        "Al2O3",
        "Ti",
        "Fe",
        "NiO",
        "LiMn2O4",
        "Li2MnO3",
        "Li2CO3",
        "Si",
    }
    assert expected <= names
    p1 = reference_pattern("NMC811", two_theta_range=(10, 80))
    assert reference_pattern("NMC811", two_theta_range=(10, 80)) is p1
    i = dict(zip(map(tuple, p1.hkl), p1.intensity))
    r_disp = i[(0, 0, 3)] / i[(1, 0, 4)]
    f0 = reference_pattern("NMC811", two_theta_range=(10, 80), anomalous=False)
    i0 = dict(zip(map(tuple, f0.hkl), f0.intensity))
    r_f0 = i0[(0, 0, 3)] / i0[(1, 0, 4)]
    # notes §3.1: ideal NMC811 1.39 (f0 only) vs 1.32 (with dispersion); our CIF has 2 % Li/Ni exchange
    assert 1.2 < r_disp < r_f0 < 1.45
    assert r_disp / r_f0 == pytest.approx(1.32 / 1.39, abs=0.02)
    assert (0, 1, 2) in i and (0, 1, 8) in i and (1, 1, 0) in i  # obverse labels
    cif = tmp_path / "MyPt.cif"
    cif.write_text(list_phases()["Pt"].read_text())
    assert "MyPt" in list_phases(tmp_path)
    with pytest.raises(ParameterError):
        list_phases(tmp_path / "missing")


def test_zero_and_displacement_from_standard(tmp_path):
    """Bragg–Brentano Si standard with zero +0.03° and 0.1 mm displacement (R = 240 mm)."""
    from charsuite.datasets.xrd import simulate_standard, write_xrdml
    from charsuite.io import read
    from charsuite.xrd import calibrate_zero, correct_displacement

    x, y, _ = simulate_standard(
        phase="Si",
        incidence_angle_deg=None,
        zero_offset_deg=0.0,
        ka2_ratio=0.0,
        peak_counts=20000,
        two_theta_range=(20.0, 100.0),
        seed=5,
    )
    s_mm, z = 0.1, 0.03
    shifted = x + z - 2 * np.cos(np.radians(x / 2)) * s_mm / 240.0 * 180 / np.pi
    da = read(write_xrdml(tmp_path / "si.xrdml", shifted, y, ka2_ratio=0.0))
    cal = calibrate_zero(da, standard="Si", displacement=True)
    assert cal.zero_offset_deg == pytest.approx(z, abs=0.01)
    assert cal.displacement_mm == pytest.approx(s_mm, abs=0.03)
    fixed = correct_displacement(da, displacement_mm=cal.displacement_mm)
    assert "correct_displacement" in fixed.attrs["corrections"]


def test_zero_and_displacement_at_fixed_incidence(tmp_path):
    """GI Si standard (α = 2°, focusing optics): Δ2θ = z − (s/R)·sin 2θ / sin α recovered."""
    from charsuite.datasets.xrd import simulate_standard, write_xrdml
    from charsuite.io import read
    from charsuite.xrd import calibrate_zero, correct_displacement

    alpha, s_mm, z, radius = 2.0, 0.01, -0.02, 240.0
    x, y, _ = simulate_standard(
        phase="Si",
        incidence_angle_deg=alpha,
        zero_offset_deg=0.0,
        ka2_ratio=0.0,
        peak_counts=20000,
        two_theta_range=(20.0, 100.0),
        seed=6,
    )
    shift = np.sin(np.radians(x)) / np.sin(np.radians(alpha)) * s_mm / radius * 180 / np.pi
    da = read(
        write_xrdml(
            tmp_path / "si_gi.xrdml", x + z - shift, y, ka2_ratio=0.0, incidence_angle_deg=alpha
        )
    )
    cal = calibrate_zero(da, standard="Si", displacement=True)
    assert cal.zero_offset_deg == pytest.approx(z, abs=0.01)
    assert cal.displacement_mm == pytest.approx(s_mm, abs=0.003)
    fixed = correct_displacement(da, displacement_mm=s_mm)
    # evaluated at the observed 2θ: exact to second order in the shift (≈ 1e-4°)
    np.testing.assert_allclose(fixed.two_theta.values, x + z, atol=2e-4)
    assert "fixed incidence" in fixed.attrs["corrections"]["correct_displacement"]["geometry"]


def test_disk_cache_round_trip():
    from charsuite.xrd import _library as library

    library.clear_cache()
    a = library.reference_pattern("LiMn2O4", two_theta_range=(15, 70))
    files = list(library.cache_dir().glob("LiMn2O4-*.json"))
    assert files, "pattern not written to the disk cache"
    library.clear_cache()  # memory only: the next call must come from disk, identical
    b = library.reference_pattern("LiMn2O4", two_theta_range=(15, 70))
    np.testing.assert_allclose(a.two_theta, b.two_theta)
    np.testing.assert_allclose(a.intensity, b.intensity)
    assert a.hkl == b.hkl and a.crystal_system == b.crystal_system
    assert library.reference_pattern("LiMn2O4", two_theta_range=(15, 70)) is b
