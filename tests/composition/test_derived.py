import pytest
from uncertainties import ufloat

from charsuite.composition import (
    areal_density_from_thickness,
    areal_mass_ug_cm2,
    film_loading,
    film_mass,
    loading_from_areal_densities,
    molar_mass,
    parse_quantity,
    theoretical_capacity,
    thickness_from_areal_density,
)
from charsuite.exceptions import DataError, ParameterError

NMC811 = "LiNi0.8Mn0.1Co0.1O2"


def test_nmc811_capacity_4_significant_figures():
    result = theoretical_capacity(NMC811)
    assert f"{result.molar_mass_g_mol:.4f}" == "97.2816"
    assert f"{result.capacity_mAh_g:.4g}" == "275.5"
    assert "pymatgen" in result.mass_table


@pytest.mark.parametrize(
    ("formula", "mass", "capacity"),
    [
        ("LiNi0.3333333333Mn0.3333333333Co0.3333333334O2", 96.4613, 277.85),
        ("LiCoO2", 97.8730, 273.84),
        ("LiMn2O4", 180.8147, 148.23),
        ("LiFePO4", 157.7574, 169.89),
        ("Li1.2Ni0.13Mn0.54Co0.13O2", 85.2860, 314.25),
        # the notes print 90.3398 (IUPAC-2021 Li 6.94); with pymatgen masses M = 97.2816 - 6.941
        ("Ni0.8Mn0.1Co0.1O2", 90.3406, 296.67),
    ],
)
def test_capacity_table_of_the_notes(formula, mass, capacity):
    result = theoretical_capacity(formula)
    assert result.molar_mass_g_mol == pytest.approx(mass, abs=1e-4)
    assert result.capacity_mAh_g == pytest.approx(capacity, abs=0.01)


def test_capacity_scales_with_electrons():
    one = theoretical_capacity(NMC811).capacity_mAh_g
    assert theoretical_capacity(NMC811, electrons=1.95).capacity_mAh_g == pytest.approx(1.95 * one)


def test_unknown_oxygen_refused_or_range():
    film = "Li1.95Ni0.83Mn0.08Co0.09Ox"
    with pytest.raises(DataError, match="oxygen is unknown"):
        theoretical_capacity(film)
    with pytest.raises(DataError, match="refused"):
        molar_mass(film)
    fixed = theoretical_capacity(film, oxygen=2.0)
    assert fixed.molar_mass_g_mol == pytest.approx(103.948, abs=1e-3)
    assert fixed.capacity_mAh_g == pytest.approx(257.8, abs=0.05)
    rng = theoretical_capacity(film, oxygen=(2.1, 2.515))
    assert rng.capacity_mAh_g is None
    assert rng.capacity_range_mAh_g == pytest.approx([253.9, 238.9], abs=0.05)
    with pytest.raises(ParameterError):
        theoretical_capacity(NMC811, oxygen=2.0)


def test_film_mass_and_loading_4_significant_figures():
    mass = film_mass(density_g_cm3=3.8, thickness_nm=600, area_cm2=0.008)
    assert f"{mass * 1e6:.4g}" == "1.824"
    r = film_loading(density_g_cm3=3.8, thickness_nm=600, area_cm2=0.008, composition=NMC811)
    assert f"{r.loading_mg_cm2:.4f}" == "0.2280"
    assert r.areal_density_1e15_at_cm2 == pytest.approx(5645.7, abs=0.1)
    assert r.mass_g * 275.50 * 1e3 == pytest.approx(0.5025, abs=1e-4)  # µAh


def test_film_mass_propagates_uncertainty():
    m = film_mass(density_g_cm3=ufloat(3.8, 0.19), thickness_nm=ufloat(600, 30), area_cm2=0.008)
    assert m.std_dev / m.nominal_value == pytest.approx((0.05**2 + 0.05**2) ** 0.5)


@pytest.mark.parametrize("bad", [0, -1.0])
def test_film_mass_refuses_nonpositive(bad):
    with pytest.raises(ParameterError, match="thickness_nm"):
        film_mass(density_g_cm3=3.8, thickness_nm=bad, area_cm2=0.1)


def test_thickness_round_trip():
    n = areal_density_from_thickness(600, density_g_cm3=3.8, composition=NMC811)
    assert thickness_from_areal_density(n, density_g_cm3=3.8, composition=NMC811) == pytest.approx(
        600
    )


def test_areal_mass_route_equals_density_route():
    n = 5645.66 / 4
    areal = {"Li": n, "Ni": 0.8 * n, "Mn": 0.1 * n, "Co": 0.1 * n, "O": 2 * n}
    assert areal_mass_ug_cm2(areal) == pytest.approx(228.0, abs=0.05)
    r = loading_from_areal_densities(areal, area_cm2=0.008, density_g_cm3=3.8)
    assert r.mass_g * 1e6 == pytest.approx(1.824, abs=1e-3)
    assert r.thickness_nm == pytest.approx(600, abs=0.2)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("3.8g/cm3", "density", 3.8),
        ("3800 kg/m^3", "density", 3.8),
        ("600nm", "thickness", 600),
        ("0.6 um", "thickness", 600),
        ("6000 A", "thickness", 600),
        ("0.008cm2", "area", 0.008),
        ("0.8 mm^2", "area", 0.008),
        ("2", "area", 2.0),
    ],
)
def test_parse_quantity(text, kind, value):
    assert parse_quantity(text, kind=kind) == pytest.approx(value)


def test_parse_quantity_unknown_unit():
    with pytest.raises(ParameterError, match="not of the dimension of nm"):
        parse_quantity("3 g", kind="thickness")
    with pytest.raises(ParameterError, match="cannot read"):
        parse_quantity("3 blorbs", kind="thickness")
    with pytest.raises(ParameterError, match="not a finite number"):
        parse_quantity("nan nm", kind="thickness")


def test_film_mass_arrays_and_nan():
    import numpy as np

    m = film_mass(density_g_cm3=3.8, thickness_nm=np.array([[300.0, 600.0]]), area_cm2=0.1)
    np.testing.assert_allclose(m, [[3.8 * 300e-7 * 0.1, 3.8 * 600e-7 * 0.1]])
    with pytest.raises(ParameterError, match="density_g_cm3"):
        film_mass(density_g_cm3=float("nan"), thickness_nm=600, area_cm2=0.1)
    with pytest.raises(ParameterError):
        film_mass(density_g_cm3="dense", thickness_nm=600, area_cm2=0.1)


def test_monte_carlo_keeps_correlations_and_shows_nonlinearity():
    from uncertainties import ufloat

    from charsuite.composition import monte_carlo

    x = ufloat(1.0, 0.3)
    # a - a is exactly 0 when the correlation is kept
    zero = monte_carlo(lambda a, b: a - b, {"a": x, "b": x}, n=2000)
    assert zero.std < 1e-9
    # 1/x with 30 % relative error: the mean is biased above 1/nominal (Jensen)
    inv = monte_carlo(lambda a: 1 / a, {"a": ufloat(1.0, 0.2)}, n=20000, seed=1)
    assert inv.mean > 1.02
    assert inv.linear.nominal_value == pytest.approx(1.0)
    with pytest.raises(ParameterError):
        monte_carlo(lambda a: a, {"a": x}, n=2)
