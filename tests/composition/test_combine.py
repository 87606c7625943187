import math
import warnings

import pytest
from uncertainties import correlation_matrix, ufloat

from charsuite.composition import (
    DisagreementWarning,
    ElementAmounts,
    amounts_from,
    atomic_mass,
    combine,
    parse_rule,
)
from charsuite.exceptions import DataError, ParameterError

FILM = {"Li": 1.95, "Ni": 0.83, "Mn": 0.08, "Co": 0.09}


def _erda(li=1.95, tm=1.0, rel=0.05):
    # at.% of (Li, metals group, O) with O = 2.1 per formula unit
    total = li + tm + 2.1
    return ElementAmounts.from_values(
        {
            "Li": (100 * li / total, rel * 100 * li / total),
            "Ni+Mn+Co": (100 * tm / total, 0.02 * 100 * tm / total),
            "O": (100 * 2.1 / total, 2.0),
        },
        quantity="at_pct",
        technique="ERDA",
    )


def _pixe():
    return ElementAmounts.from_values(
        {"Ni": (83.0, 0.83), "Mn": (8.0, 0.4), "Co": (9.0, 0.45)},
        quantity="at_pct",
        technique="PIXE",
    )


def test_reference_film_formula_from_at_pct():
    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe()}, rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"]
    )
    assert result.formula == "Li1.95Ni0.83Mn0.08Co0.09Ox"
    assert result.oxygen_unknown
    assert result.formula_with_uncertainty.startswith("Li1.95(11)Ni0.830(")
    li = result.amounts["Li"]
    # Li/TM relative error = sqrt(5 %² + 2 %²)
    assert li.std_dev / li.nominal_value == pytest.approx(math.hypot(0.05, 0.02), rel=1e-6)


def test_single_sheet_at_pct_reproduces_formula():
    total = sum(FILM.values())
    src = ElementAmounts.from_values(
        {e: (100 * n / total, 0.5) for e, n in FILM.items()}, quantity="at_pct", technique="RBS"
    )
    assert combine([src]).formula == "Li1.95Ni0.83Mn0.08Co0.09Ox"


def test_correlations_kept_through_normalisation():
    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe()}, rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"]
    )
    tm = result.amounts["Ni"] + result.amounts["Mn"] + result.amounts["Co"]
    assert tm.nominal_value == pytest.approx(1.0)
    assert tm.std_dev < 1e-12
    corr = correlation_matrix([result.amounts["Ni"], result.amounts["Mn"]])
    assert corr[0, 1] < -0.3
    at = result.at_pct()
    assert sum(at.values()).nominal_value == pytest.approx(100.0)
    assert sum(at.values()).std_dev < 1e-9


def test_inverse_variance_and_disagreement():
    a = ElementAmounts.from_values(
        {"Li": (1.9, 0.1), "Ni": (1.0, 0.0)}, quantity="ratio", technique="ERDA"
    )
    b = ElementAmounts.from_values(
        {"Li": (2.1, 0.2), "Ni": (1.0, 0.0)}, quantity="ratio", technique="NRA"
    )
    result = combine({"ERDA": a, "NRA": b}, basis="Ni=1")
    w1, w2 = 1 / 0.1**2, 1 / 0.2**2
    assert result.amounts["Li"].nominal_value == pytest.approx((1.9 * w1 + 2.1 * w2) / (w1 + w2))
    assert result.amounts["Li"].std_dev == pytest.approx((w1 + w2) ** -0.5)
    assert "inverse-variance" in result.sources["Li"]
    c = ElementAmounts.from_values(
        {"Li": (2.8, 0.1), "Ni": (1.0, 0.0)}, quantity="ratio", technique="NRA"
    )
    with pytest.warns(DisagreementWarning, match="Li: ERDA gives"):
        warned = combine({"ERDA": a, "NRA": c}, basis="Ni=1")
    assert any("apart" in w for w in warned.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisagreementWarning)
        inflated = combine({"ERDA": a, "NRA": c}, basis="Ni=1", on_disagreement="inflate")
    assert inflated.amounts["Li"].std_dev > warned.amounts["Li"].std_dev * 2
    with pytest.raises(DataError, match="add a rule"):
        combine({"ERDA": a, "NRA": c}, basis="Ni=1", on_disagreement="error")
    # a rule removes the conflict
    chosen = combine({"ERDA": a, "NRA": c}, basis="Ni=1", rules=["Li from NRA"])
    assert chosen.amounts["Li"].nominal_value == pytest.approx(2.8)


def test_absolute_scale_from_rbs_metal_total():
    rbs = ElementAmounts.from_values(
        {"Ni+Mn+Co": (1300.0, 26.0)}, quantity="areal_density", technique="RBS"
    )
    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe(), "RBS": rbs},
        rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE", "metal total from RBS"],
    )
    areal = result.areal_densities_1e15_at_cm2
    assert areal["Li"].nominal_value == pytest.approx(1.95 * 1300)
    assert (areal["Ni"] + areal["Mn"] + areal["Co"]).nominal_value == pytest.approx(1300)


def test_pixe_mass_fractions_converted_to_atoms():
    mass = {e: FILM[e] * atomic_mass(e) for e in ("Ni", "Mn", "Co")}
    pixe = ElementAmounts.from_values(
        {e: (m * 1e4, m * 10) for e, m in mass.items()}, quantity="ppm_mass", technique="PIXE"
    )
    result = combine(
        {"ERDA": _erda(), "PIXE": pixe}, rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"]
    )
    for e in ("Ni", "Mn", "Co"):
        assert result.amounts[e].nominal_value == pytest.approx(FILM[e] / 1.0)


@pytest.mark.parametrize(("states", "oxygen"), [({}, 2.10), ({"Ni": 3}, 2.515)])
def test_charge_balance(states, oxygen):
    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe()},
        rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"],
        oxygen="charge-balance",
        oxidation_states=states,
    )
    assert result.amounts["O"].nominal_value == pytest.approx(oxygen, abs=1e-9)
    assert "charge-balance" in result.oxygen_policy
    assert result.molar_mass().nominal_value > 100


def test_fixed_and_measured_oxygen_and_o_basis():
    fixed = combine(
        {"ERDA": _erda(), "PIXE": _pixe()},
        oxygen=2,
        rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"],
    )
    assert fixed.formula.endswith("O2")
    assert fixed.capacity().capacity_mAh_g.nominal_value == pytest.approx(257.8, abs=0.1)
    measured = combine({"ERDA": _erda()}, oxygen="measured")
    assert measured.amounts["O"].nominal_value == pytest.approx(2.1)
    o_basis = combine({"ERDA": _erda()}, oxygen="measured", basis="O=2")
    assert o_basis.amounts["Li"].nominal_value == pytest.approx(1.95 * 2 / 2.1)
    with pytest.raises(ParameterError, match="oxygen policy"):
        combine({"ERDA": _erda()}, basis="O=2")


def test_unknown_oxygen_refuses_mass():
    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe()}, rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"]
    )
    with pytest.raises(DataError):
        result.molar_mass()
    with pytest.raises(DataError):
        result.capacity()
    lo, hi = result.capacity(oxygen=(2.0, 2.5)).capacity_range_mAh_g
    assert lo.nominal_value > hi.nominal_value


def test_target_li_excess():
    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe()},
        rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"],
        target="Li1.6Ni0.8Mn0.1Co0.1Ox",
    )
    li = result.target["elements"]["Li"]
    assert li["relative_pct"].nominal_value == pytest.approx((1.95 / 1.6 - 1) * 100)
    assert li["difference"].nominal_value == pytest.approx(0.35)


def test_json_layout():
    import json

    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe()}, rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"]
    )
    doc = json.loads(result.to_json())
    assert {"formula", "basis", "oxygen_policy", "elements", "warnings", "history"} <= set(doc)
    li = doc["elements"]["Li"]
    assert {"amount", "amount_err", "at_pct", "at_pct_err", "source"} <= set(li)
    assert doc["history"][-1]["function"] == "charsuite.composition.combine"


@pytest.mark.parametrize("text", ["Li by ERDA", "Qq from ERDA", "Ni ratios from PIXE", "from ERDA"])
def test_bad_rules(text):
    with pytest.raises(ParameterError):
        parse_rule(text)


def test_rule_naming_missing_technique():
    with pytest.raises(ParameterError, match="names RBS"):
        combine({"ERDA": _erda()}, rules=["metal total from RBS"])


def test_source_without_basis_is_reported():
    nra = ElementAmounts.from_values({"F": (1.0, 0.1)}, quantity="at_pct", technique="NRA")
    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe(), "NRA": nra},
        rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"],
    )
    assert "F" not in result.amounts
    assert any("F measured by NRA only" in w for w in result.warnings)
    with pytest.raises(DataError, match="does not measure the basis"):
        combine({"ERDA": _erda(), "NRA": nra}, rules=["F from NRA"])


def test_negative_amount_refused():
    with pytest.raises(DataError, match="finite and ≥ 0"):
        ElementAmounts.from_values({"Li": (-1.0, 0.1)}, quantity="at_pct", technique="ERDA")
    with pytest.raises(DataError):
        ElementAmounts.from_values({"Li": (math.nan, 0.1)}, quantity="at_pct", technique="ERDA")


def test_amounts_from_relabel_and_layer(tmp_path):
    from charsuite.datasets.composition import write_composition_sheet

    path = write_composition_sheet(
        tmp_path / "s.csv",
        [
            {
                "element": "Li",
                "quantity": "at_pct",
                "value": 40,
                "uncertainty": 2,
                "unit": "at.%",
                "technique": "ERDA",
                "layer": "top",
            },
            {
                "element": "Mn",
                "quantity": "at_pct",
                "value": 20,
                "uncertainty": 1,
                "unit": "at.%",
                "technique": "ERDA",
                "layer": "top",
            },
            {
                "element": "Li",
                "quantity": "at_pct",
                "value": 10,
                "uncertainty": 2,
                "unit": "at.%",
                "technique": "ERDA",
                "layer": "bottom",
            },
        ],
    )
    a = amounts_from(path, relabel={"Mn": "Ni+Mn+Co"})
    assert set(a.values) == {"Li", "Ni+Mn+Co"} and a.layer == "top"
    assert amounts_from(path, layer="bottom").values["Li"].nominal_value == 10
    with pytest.raises(ParameterError, match="layer 'middle'"):
        amounts_from(path, layer="middle")


def test_ufloat_identity_survives():
    li = ufloat(1.95, 0.1, tag="Li")
    src = ElementAmounts.from_values({"Li": li, "Ni": 1.0}, quantity="ratio", technique="X")
    result = combine([src], basis="Ni=1")
    assert (result.amounts["Li"] - li).std_dev == pytest.approx(0.0, abs=1e-15)


def test_loading_from_areal_densities_needs_oxygen():
    rbs = ElementAmounts.from_values(
        {"Ni+Mn+Co": (1300.0, 26.0)}, quantity="areal_density", technique="RBS"
    )
    sources = {"ERDA": _erda(), "PIXE": _pixe(), "RBS": rbs}
    rules = ["Li from ERDA", "Ni,Mn,Co ratios from PIXE", "metal total from RBS"]
    result = combine(sources, rules=rules)
    with pytest.raises(DataError, match="oxygen is unknown"):
        result.loading(area_cm2=0.15)
    lo, hi = result.loading(area_cm2=0.15, oxygen=(2.0, 2.5))
    assert lo.loading_mg_cm2.nominal_value < hi.loading_mg_cm2.nominal_value
    fixed = combine(sources, rules=rules, oxygen=2.0).loading(area_cm2=0.15)
    assert fixed.loading_mg_cm2.nominal_value == pytest.approx(lo.loading_mg_cm2.nominal_value)
    # 1300e15 f.u./cm2 of Li1.95Ni0.83Mn0.08Co0.09O2: m/A = N_fu * M / N_A
    from charsuite.composition import AVOGADRO_PER_MOL, molar_mass

    m = molar_mass({"Li": 1.95, "Ni": 0.83, "Mn": 0.08, "Co": 0.09, "O": 2.0})
    assert lo.loading_mg_cm2.nominal_value == pytest.approx(1300e15 * m / AVOGADRO_PER_MOL * 1e3)
    with pytest.raises(DataError, match="no absolute scale"):
        combine({"ERDA": _erda(), "PIXE": _pixe()}, rules=rules[:2]).loading(oxygen=2.0)


def test_wt_pct():
    result = combine(
        {"ERDA": _erda(), "PIXE": _pixe()}, rules=["Li from ERDA", "Ni,Mn,Co ratios from PIXE"]
    )
    with pytest.raises(DataError, match=r"wt\.% refused"):
        result.wt_pct()
    wt = result.wt_pct(oxygen=2.0)
    assert sum(wt.values()).nominal_value == pytest.approx(100.0)
    m = {"Li": 1.95, "Ni": 0.83, "Mn": 0.08, "Co": 0.09, "O": 2.0}
    total = sum(n * atomic_mass(e) for e, n in m.items())
    assert wt["Ni"].nominal_value == pytest.approx(100 * 0.83 * atomic_mass("Ni") / total)
