import pytest

from charsuite.composition import fold_isotope, format_formula, parse_formula
from charsuite.exceptions import ParameterError


@pytest.mark.parametrize(
    ("text", "amounts", "unknown"),
    [
        ("Li1.95Ni0.83Mn0.08Co0.09Ox", {"Li": 1.95, "Ni": 0.83, "Mn": 0.08, "Co": 0.09}, {"O"}),
        ("LiNi0.8Mn0.1Co0.1O2", {"Li": 1, "Ni": 0.8, "Mn": 0.1, "Co": 0.1, "O": 2}, set()),
        ("Li(Ni0.8Mn0.1Co0.1)O2", {"Li": 1, "Ni": 0.8, "Mn": 0.1, "Co": 0.1, "O": 2}, set()),
        ("Ca3(PO4)2", {"Ca": 3, "P": 2, "O": 8}, set()),
        ("LiCoO2", {"Li": 1, "Co": 1, "O": 2}, set()),
    ],
)
def test_parse(text, amounts, unknown):
    got, unk = parse_formula(text)
    assert got == pytest.approx(amounts)
    assert unk == unknown


@pytest.mark.parametrize("text", ["", "Li1.2Qq", "Li(Ni", "3Li", "Li$"])
def test_parse_errors(text):
    with pytest.raises(ParameterError):
        parse_formula(text)


def test_isotopes():
    assert fold_isotope("7Li") == "Li"
    assert fold_isotope("28Si") == "Si"
    assert fold_isotope("2D") == "H"
    with pytest.raises(ParameterError):
        fold_isotope("Xx")


def test_format_formula_with_uncertainty():
    from uncertainties import ufloat

    amounts = {"Li": ufloat(1.95, 0.108), "Ni": ufloat(0.83, 0.007), "Mn": 0.08}
    assert format_formula(amounts, unknown=["O"]) == "Li1.95Ni0.83Mn0.08Ox"
    assert (
        format_formula(amounts, unknown=["O"], uncertainty=True) == "Li1.95(11)Ni0.830(7)Mn0.08Ox"
    )
    assert format_formula({"Li": 1.0, "Co": 1.0, "O": 2.0}) == "LiCoO2"
