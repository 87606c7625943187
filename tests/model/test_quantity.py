"""The one quantity parser (pint) behind every physical option."""

import math

import pytest

from charsuite.exceptions import ParameterError
from charsuite.model import parse_quantity


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("0.79mg", "mg", 0.79),
        ("790 ug", "mg", 0.79),
        ("790µg", "mg", 0.79),
        ("0.79", "mg", 0.79),
        (0.79, "mg", 0.79),
        ("3.8g/cm3", "g/cm**3", 3.8),
        ("3800 kg/m^3", "g/cm**3", 3.8),
        ("600nm", "nm", 600.0),
        ("0.6 um", "nm", 600.0),
        ("6000 Å", "nm", 600.0),
        ("6000 A", "nm", 600.0),
        ("0.15cm2", "cm**2", 0.15),
        ("15 mm²", "cm**2", 0.15),
        ("2°", "deg", 2.0),
        ("2deg", "deg", 2.0),
        ("5 uA/cm2", "uA/cm**2", 5.0),
        ("1 mV", "V", 0.001),
        ("0.1 Ah", "mAh", 100.0),
    ],
)
def test_with_and_without_units(text, unit, value):
    assert parse_quantity(text, unit) == pytest.approx(value)


@pytest.mark.parametrize("text", ["nan", "inf mg", "-inf", math.nan])
def test_non_finite_refused(text):
    with pytest.raises(ParameterError, match="finite"):
        parse_quantity(text, "mg", name="--mass")


def test_wrong_dimension_and_garbage_name_the_option():
    with pytest.raises(ParameterError, match=r"--mass: '3 nm' is not of the dimension of mg"):
        parse_quantity("3 nm", "mg", name="--mass")
    with pytest.raises(ParameterError, match=r"--mass: cannot read 'three mg'"):
        parse_quantity("three mg", "mg", name="--mass")
