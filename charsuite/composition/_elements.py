"""Element symbols, isotope folding, atomic masses and a formula parser.

Atomic masses come from pymatgen's periodic table (``pymatgen.core.periodic_table``,
older IUPAC standard weights: Li 6.941, O 15.9994, Mn 54.938045, Co 58.933195,
Ni 58.6934 g/mol). Every result that uses a mass records :data:`MASS_TABLE`.
"""

from __future__ import annotations

import re
from functools import cache

from charsuite.exceptions import ParameterError
from charsuite.io.formats.iba.common import SYMBOLS, fold_isotope, is_element

_SYMBOL_SET = frozenset(SYMBOLS)
#: Atomic number of each symbol.
Z: dict[str, int] = {s: i + 1 for i, s in enumerate(SYMBOLS)}
#: Name of the atomic-mass table used everywhere in :mod:`charsuite.composition`.
MASS_TABLE = "pymatgen periodic_table (IUPAC standard atomic weights as shipped by pymatgen)"

__all__ = ["MASS_TABLE", "SYMBOLS", "Z", "atomic_mass", "fold_isotope", "is_element"]


@cache
def atomic_mass(symbol: str) -> float:
    """Standard atomic weight of ``symbol`` in g/mol (table: :data:`MASS_TABLE`).

    Raises
    ------
    ParameterError
        If ``symbol`` is not an element.
    """
    if symbol not in _SYMBOL_SET:
        raise ParameterError(f"{symbol!r} is not an element symbol; no atomic mass")
    from pymatgen.core.periodic_table import Element

    return float(Element(symbol).atomic_mass)


@cache
def mass_table_version() -> str:
    """Return :data:`MASS_TABLE` with the installed pymatgen version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{MASS_TABLE}, pymatgen {version('pymatgen')}"
    except PackageNotFoundError:  # pragma: no cover - pymatgen is a dependency
        return MASS_TABLE


# --- formulas ---------------------------------------------------------------------------

_TOKEN = re.compile(r"([A-Z][a-z]?)|(\d+(?:\.\d*)?|\.\d+)|([()\[\]])|([xyzδ])|(\s+)")


def _tokens(formula: str) -> list[tuple[str, str]]:
    text = str(formula).strip()
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParameterError(
                f"cannot parse formula {formula!r} at position {pos} ({text[pos:]!r}); "
                "expected element symbols, decimal amounts, brackets or 'x' for unknown"
            )
        pos = m.end()
        sym, num, bracket, var, _space = m.groups()
        if sym is not None:
            if sym not in _SYMBOL_SET and sym[1:] in ("x", "y", "z") and sym[0] in _SYMBOL_SET:
                out += [("el", sym[0]), ("var", sym[1])]  # "Ox": O with unknown amount
            elif sym not in _SYMBOL_SET:
                raise ParameterError(f"unknown element {sym!r} in formula {formula!r}")
            else:
                out.append(("el", sym))
        elif num is not None:
            out.append(("num", num))
        elif bracket is not None:
            out.append(("open" if bracket in "([" else "close", bracket))
        elif var is not None:
            out.append(("var", var))
    return out


def parse_formula(formula: str) -> tuple[dict[str, float], set[str]]:
    """Parse a chemical formula with decimal amounts and optional unknown amounts.

    ``"Li1.6Ni0.8Mn0.1Co0.1Ox"`` → ``({"Li": 1.6, "Ni": 0.8, "Mn": 0.1, "Co": 0.1},
    {"O"})``. Parentheses multiply (``"Li(Ni0.8Mn0.1Co0.1)O2"``); an amount written as
    ``x``, ``y``, ``z`` or ``δ`` marks the element as *unknown* (it is not in the dict).

    Parameters
    ----------
    formula : str
        E.g. ``"Li1.6Ni0.8Mn0.1Co0.1Ox"``.

    Returns
    -------
    amounts : dict
        Element → amount per formula unit, in order of first appearance.
    unknown : set
        Elements whose amount is written as a variable.

    Raises
    ------
    ParameterError
        Naming the position of anything that is not a symbol, number or bracket, unknown
        elements and unbalanced brackets.
    """
    tokens = _tokens(formula)
    if not tokens:
        raise ParameterError("empty formula; expected e.g. 'LiNi0.8Mn0.1Co0.1O2'")
    stack: list[dict[str, float]] = [{}]
    unknown: set[str] = set()
    i = 0

    def add(target: dict[str, float], el: str, n: float) -> None:
        target[el] = target.get(el, 0.0) + n

    while i < len(tokens):
        kind, value = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "el":
            if nxt[0] == "num":
                add(stack[-1], value, float(nxt[1]))
                i += 2
            elif nxt[0] == "var":
                unknown.add(value)
                i += 2
            else:
                add(stack[-1], value, 1.0)
                i += 1
        elif kind == "open":
            stack.append({})
            i += 1
        elif kind == "close":
            if len(stack) == 1:
                raise ParameterError(f"unbalanced bracket in formula {formula!r}")
            group = stack.pop()
            factor = float(nxt[1]) if nxt[0] == "num" else 1.0
            for el, n in group.items():
                add(stack[-1], el, n * factor)
            i += 2 if nxt[0] == "num" else 1
        else:
            raise ParameterError(f"{value!r} without an element before it in {formula!r}")
    if len(stack) != 1:
        raise ParameterError(f"unbalanced bracket in formula {formula!r}")
    amounts = {e: n for e, n in stack[0].items() if e not in unknown}
    if not amounts and not unknown:
        raise ParameterError(f"no elements in formula {formula!r}")
    return amounts, unknown


def format_amount(value: float, decimals: int = 2) -> str:
    """Format an amount for a formula: ``1`` → ``""``, ``0.80`` → ``"0.8"``."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    if text in ("1", ""):
        return ""
    return text


def cation_order(elements) -> list[str]:
    """Order elements the battery-chemist way.

    Alkali/alkaline earth first, then metals in the given order, then anions (C, N, P, S, O, F, Cl)
    and H last.
    """
    first = [e for e in elements if e in ("Li", "Na", "K", "Mg", "Ca")]
    anions = [e for e in ("C", "N", "P", "S", "O", "F", "Cl", "H") if e in elements]
    middle = [e for e in elements if e not in first and e not in anions]
    return first + middle + anions
