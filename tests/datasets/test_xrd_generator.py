"""simulate_powder_mixture reproduces its own ground truth (checked from first principles:
Bragg's law on the strained cell, the Kα2 doublet, March–Dollase averages, Poisson noise)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from charsuite.datasets.xrd import (
    isostructural_siblings,
    random_mixture_parameters,
    score_identification,
    simulate_powder_mixture,
)
from charsuite.exceptions import ParameterError

KA1, KA2 = 1.540598, 1.544426


def _cif_cell(name):
    from charsuite.xrd import list_phases, load_structure

    lat = load_structure(list_phases()[name]).lattice
    return lat.a, lat.c


SI_A = _cif_cell("Si")[0]


def _bragg(d, lam=KA1):
    return np.degrees(2 * np.arcsin(lam / (2 * d)))


def _apex(x, y, center, half=0.05):
    """Sub-step apex of the peak near ``center`` (parabola through the top three points)."""
    m = np.nonzero(np.abs(x - center) < half)[0]
    i = m[np.argmax(y[m])]
    a, b, c = y[i - 1], y[i], y[i + 1]
    return x[i] + 0.5 * (a - c) / (a - 2 * b + c) * (x[1] - x[0])


def test_cubic_positions_follow_strain_zero_and_displacement():
    strain, zero, disp, radius = 0.003, 0.07, 0.04, 240.0
    x, y, truth = simulate_powder_mixture(
        phases={"Si": 1.0},
        two_theta_range=(20, 80),
        step_deg=0.002,
        ka2_ratio=0.0,
        cell_strain={"Si": strain},
        zero_offset_deg=zero,
        displacement_mm=disp,
        goniometer_radius_mm=radius,
        background_counts=0.0,
        noise=False,
    )
    a = SI_A * (1 + strain)
    # systematic absences of the diamond structure are not in the pattern
    hkls = {tuple(ln["hkl"]) for ln in truth["phases"]["Si"]["lines"]}
    assert not hkls & {(1, 0, 0), (2, 0, 0), (1, 1, 0), (2, 2, 2)} and (1, 1, 1) in hkls
    assert truth["phases"]["Si"]["cell"][0] == pytest.approx(a, rel=1e-9)
    for hkl in ((1, 1, 1), (2, 2, 0), (3, 1, 1), (4, 0, 0), (3, 3, 1)):
        tt = _bragg(a / np.sqrt(np.sum(np.square(hkl))))
        shift = zero - np.degrees(2 * disp * np.cos(np.radians(tt / 2)) / radius)
        assert _apex(x, y, tt + shift) == pytest.approx(tt + shift, abs=0.002), hkl
        line = next(ln for ln in truth["phases"]["Si"]["lines"] if ln["hkl"] == list(hkl))
        assert line["two_theta"] == pytest.approx(tt + shift, abs=1e-3)


def test_hexagonal_anisotropic_strain_keeps_a_equal_b():
    eps = (0.004, -0.009, -0.003)  # ε_b is replaced by ε_a for a hexagonal cell
    x, y, truth = simulate_powder_mixture(
        phases={"ZnO": 1.0},
        step_deg=0.002,
        ka2_ratio=0.0,
        cell_strain={"ZnO": eps},
        background_counts=0.0,
        noise=False,
    )
    a, b, c = truth["phases"]["ZnO"]["cell"][:3]
    assert a == pytest.approx(b) and truth["phases"]["ZnO"]["strain"] == [0.004, 0.004, -0.003]
    a0, c0 = _cif_cell("ZnO")
    assert a == pytest.approx(a0 * 1.004, rel=1e-9) and c == pytest.approx(c0 * 0.997, rel=1e-9)
    for h, k, l_ in ((1, 0, 0), (0, 0, 2), (1, 0, 1), (1, 1, 0)):
        inv_d2 = 4 / 3 * (h * h + h * k + k * k) / a**2 + l_ * l_ / c**2
        tt = _bragg(1 / np.sqrt(inv_d2))
        assert _apex(x, y, tt) == pytest.approx(tt, abs=0.002), (h, k, l_)


def test_ka2_satellite_position_and_ratio():
    # Si (533) at 2θ ≈ 137°: the Kα2 satellite is 0.7° away, far outside the line width
    x, y, _ = simulate_powder_mixture(
        phases={"Si": 1.0},
        two_theta_range=(130, 140),
        step_deg=0.002,
        ka2_ratio=0.5,
        crystallite_size_nm=1000.0,
        instrument_uvw_deg2=(0.0, 0.0, 0.003),
        background_counts=0.0,
        noise=False,
    )
    t1 = _bragg(SI_A / np.sqrt(43))
    t2 = _bragg(SI_A / np.sqrt(43), KA2)
    assert t2 - t1 > 0.6
    assert _apex(x, y, t1) == pytest.approx(t1, abs=0.002)
    assert _apex(x, y, t2) == pytest.approx(t2, abs=0.002)
    h1 = y[np.abs(x - t1) < 0.01].max()
    h2 = y[np.abs(x - t2) < 0.01].max()
    assert h2 / h1 == pytest.approx(0.5, rel=0.03)


def test_march_dollase_family_average():
    """(111)/(220) of Si with a (111) pole: ratio scaled by the member-averaged W(φ)."""
    r = 0.6

    def w_bar(hkl):
        members = {
            tuple(s * v for s, v in zip(signs, perm))
            for perm in itertools.permutations(hkl)
            for signs in itertools.product((1, -1), repeat=3)
        }
        g = np.array(sorted(members), float)
        cos = np.abs(g @ np.ones(3)) / (np.linalg.norm(g, axis=1) * np.sqrt(3))
        return float(np.mean((r**2 * cos**2 + (1 - cos**2) / r) ** -1.5))

    kw = {
        "phases": {"Si": 1.0},
        "two_theta_range": (20, 60),
        "ka2_ratio": 0.0,
        "background_counts": 0.0,
        "noise": False,
    }
    _, _, plain = simulate_powder_mixture(**kw)
    _, _, tex = simulate_powder_mixture(texture={"phase": "Si", "pole": (1, 1, 1), "r": r}, **kw)

    def ratio(t):
        h = {tuple(ln["hkl"]): ln["height_counts"] for ln in t["phases"]["Si"]["lines"]}
        return h[(1, 1, 1)] / h[(2, 2, 0)]

    assert w_bar((1, 1, 1)) / w_bar((2, 2, 0)) > 1.1  # a real effect is tested
    assert ratio(tex) / ratio(plain) == pytest.approx(w_bar((1, 1, 1)) / w_bar((2, 2, 0)), rel=1e-6)


def test_weight_fractions_become_volume_fractions():
    _, _, t = simulate_powder_mixture(phases={"Si": 3.0, "Pt": 1.0}, noise=False)
    rho = {n: t["phases"][n]["density_g_cm3"] for n in ("Si", "Pt")}
    assert t["phases"]["Si"]["weight_fraction"] == pytest.approx(0.75)
    v_si = (0.75 / rho["Si"]) / (0.75 / rho["Si"] + 0.25 / rho["Pt"])
    assert t["phases"]["Si"]["volume_fraction"] == pytest.approx(v_si)
    assert rho["Pt"] == pytest.approx(21.46, rel=0.01)


def test_scale_quantity_sets_strongest_line_heights():
    _x, y, t = simulate_powder_mixture(
        phases={"Si": 1.0, "ZnO": 0.4},
        quantity="scale",
        ka2_ratio=0.0,
        crystallite_size_nm=200.0,
        background_counts=0.0,
        noise=False,
    )
    h = {n: t["phases"][n]["lines"][0]["height_counts"] for n in ("Si", "ZnO")}
    # equal widths near the two strongest lines (28.4° and 36.3°) within 10 %
    assert h["ZnO"] / h["Si"] == pytest.approx(0.4, rel=0.1)
    assert y.max() == pytest.approx(t["peak_counts"], rel=1e-9)


def test_poisson_noise_statistics_and_determinism():
    kw = {"phases": {"ZnO": 1.0}, "background_counts": 400.0, "seed": 5}
    _x, clean, _ = simulate_powder_mixture(noise=False, **kw)
    _, counts, _ = simulate_powder_mixture(**kw)
    _, again, _ = simulate_powder_mixture(**kw)
    np.testing.assert_array_equal(counts, again)
    assert np.all(counts == np.round(counts)) and np.all(counts >= 0)
    z = (counts - clean) / np.sqrt(clean)
    assert abs(z.mean()) < 0.05
    assert z.std() == pytest.approx(1.0, abs=0.05)
    _, other, _ = simulate_powder_mixture(**{**kw, "seed": 6})
    assert not np.array_equal(counts, other)


def test_background_and_hump():
    x, y, _ = simulate_powder_mixture(
        phases={"Si": 1.0},
        two_theta_range=(10, 20),  # no Si line below 2θ = 28°
        background_counts=100.0,
        background_shape=(1.0, 1.0),
        hump_counts=50.0,
        hump_center_deg=15.0,
        noise=False,
    )
    t = (x - 10) / 10
    expected = 100 * (1 + t) + 50 * np.exp(-4 * np.log(2) * ((x - 15) / 8) ** 2)
    np.testing.assert_allclose(y, expected, rtol=1e-3, atol=1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"phases": {}},
        {"phases": {"Unobtainium": 1.0}},
        {"phases": {"Si": -1.0}},
        {"phases": {"Si": 1.0}, "quantity": "moles"},
    ],
)
def test_bad_parameters(kwargs):
    with pytest.raises(ParameterError):
        simulate_powder_mixture(**kwargs)


def test_random_mixture_parameters_deterministic_and_in_range():
    a, b = random_mixture_parameters(7), random_mixture_parameters(7)
    assert a == b
    for seed in range(20):
        kw = random_mixture_parameters(seed)["kwargs"]
        fr = list(kw["phases"].values())
        assert 1 <= len(fr) <= 3 and sum(fr) == pytest.approx(1.0, abs=2e-3)
        assert len(fr) == 1 or min(fr) >= 0.099
        assert abs(kw["zero_offset_deg"]) <= 0.1
        for e in kw["cell_strain"].values():
            assert np.all(np.abs(e) <= 0.005)


def test_siblings_and_scoring():
    sib = isostructural_siblings()
    assert {"LiNiO2", "LiCoO2"} <= sib["NMC811"]
    assert {"Fe3O4", "ZnFe2O4"} <= sib["LiMn2O4"]
    assert "Pt" not in sib["LiF"] and "TiO2-anatase" not in sib["TiO2-rutile"]
    line = {"snr": 50.0}
    truth = {
        "phases_present": ["NMC811", "ZnO", "Si"],
        "phases": {n: {"lines": [line] * 4} for n in ("NMC811", "ZnO", "Si")},
    }
    out = score_identification(truth, ["LiNiO2", "ZnO", "Pt"])
    assert out["status"] == {"NMC811": "sibling", "ZnO": "found", "Si": "missed"}
    assert out["report_status"] == {"LiNiO2": "sibling", "ZnO": "tp", "Pt": "fp"}
    truth2 = {
        "phases_present": ["NMC811", "LiNiO2"],
        "phases": {n: {"lines": [line] * 4} for n in ("NMC811", "LiNiO2")},
    }
    assert score_identification(truth2, ["NMC811"])["status"]["LiNiO2"] == "merged"
