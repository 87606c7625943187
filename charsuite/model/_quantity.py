"""One parser for physical quantities typed by people: ``"0.79mg"``, ``"3.8 g/cm3"``, ``"600nm"``.

Parsing and conversion are pint's (a kept library); this module only normalises the spellings
people type at a command line (``cm2``, ``µm``, ``Å``, ``°``, ``Ohm``) and refuses NaN/inf.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from charsuite.exceptions import ParameterError

_POWER = re.compile(r"(?<=[A-Za-zµμÅ])([23])\b")
_SPELLINGS = (
    ("µ", "u"),
    ("μ", "u"),
    ("Å", "angstrom"),
    ("°", "deg"),
    ("Ω", "ohm"),
    ("Ohm", "ohm"),
    ("²", "**2"),
    ("³", "**3"),
)


def _normalise(text: str) -> str:
    for old, new in _SPELLINGS:
        text = text.replace(old, new)
    return _POWER.sub(r"**\1", text)


@cache
def _registry():
    import pint

    return pint.UnitRegistry(preprocessors=[_normalise])


def parse_quantity(text: Any, unit: str, *, name: str = "value") -> float:
    """Return a typed quantity as a float in ``unit``; a bare number is already in ``unit``.

    Parameters
    ----------
    text : str or float
        ``"0.79mg"``, ``"3.8 g/cm3"``, ``"600nm"``, ``"0.15cm2"``, ``"2°"`` or a bare number.
    unit : str
        The default (and returned) unit, in pint's syntax (``"mg"``, ``"g/cm**3"``, ``"nm"``,
        ``"cm**2"``, ``"deg"``, ``"uA/cm**2"``, ``"V"``).
    name : str, optional
        What the quantity is (an option name such as ``"--mass"``), for error messages.

    Returns
    -------
    float
        The magnitude in ``unit``.

    Raises
    ------
    ParameterError
        Not a number with a unit, a unit of another dimension, or a non-finite value.

    Examples
    --------
    >>> parse_quantity("0.79mg", "mg")
    0.79
    >>> round(parse_quantity("6000 Å", "nm"), 6)
    600.0
    >>> parse_quantity(3.8, "g/cm**3")
    3.8
    """
    ureg = _registry()
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        value = _convert(ureg, str(text).strip(), unit, name)
    if not math.isfinite(value):
        raise ParameterError(f"{name}: {text!r} is not a finite number; give e.g. '1.5 {unit}'")
    return value


def _convert(ureg, text: str, unit: str, name: str) -> float:
    import pint

    try:
        return float(text)
    except ValueError:
        pass
    try:
        quantity = ureg.Quantity(text)
        if not isinstance(quantity, pint.Quantity):
            raise TypeError
        return float(quantity.to(unit).magnitude)
    except pint.DimensionalityError:
        if text.endswith(("A", "a")) and ureg.Quantity(unit).check("[length]"):
            return _convert(ureg, text[:-1] + "angstrom", unit, name)  # '6000 A' = Å, not ampere
        raise ParameterError(
            f"{name}: {text!r} is not of the dimension of {unit}; give e.g. '1.5 {unit}'"
        ) from None
    except Exception:
        raise ParameterError(
            f"{name}: cannot read {text!r} as a number with a unit; give e.g. '1.5 {unit}' "
            f"(a bare number is in {unit})"
        ) from None
