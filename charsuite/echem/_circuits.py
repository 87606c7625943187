"""Equivalent circuits from strings (impedance.py syntax) and their impedance.

Syntax: elements in series are joined by ``-``; ``p(a,b,...)`` puts branches in
parallel (nestable). An element name is its type followed by a number, optionally with
an underscore: ``R0``, ``CPE1``, ``Wo_2``. Single-parameter elements have one parameter
named like the element (``R0``); multi-parameter elements number theirs ``<name>_<i>``
(``CPE1_0`` = Q, ``CPE1_1`` = α), exactly as impedance.py does, so parameter names,
constants and initial guesses carry over.

Elements (ω = 2πf, j² = −1):

======= ============== ==================================== =========================
type    parameters     Z(ω)                                  units
======= ============== ==================================== =========================
R       R              R                                     Ω
C       C              1/(jωC)                               F
L       L              jωL                                   H
W       A              A(1 − j)/√ω (semi-infinite Warburg)   Ω s^-1/2
Wo      Z0, τ          Z0·coth(√(jωτ))/√(jωτ) (open/reflect) Ω, s
Ws      Z0, τ          Z0·tanh(√(jωτ))/√(jωτ) (short/trans.) Ω, s
CPE     Q, α           1/(Q (jω)^α)                          F s^(α−1), 1
Zarc    R, τ, γ        R/(1 + (jωτ)^γ)                       Ω, s, 1
K       R, τ           R/(1 + jωτ) (Voigt element, lin-KK)   Ω, s
======= ============== ==================================== =========================
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from charsuite.exceptions import ParameterError

__all__ = ["ELEMENTS", "Circuit", "parse_circuit"]

#: type -> (parameter units, default lower bounds, default upper bounds)
ELEMENTS: dict[str, tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]] = {
    "R": (("ohm",), (0.0,), (np.inf,)),
    "C": (("F",), (0.0,), (np.inf,)),
    "L": (("H",), (0.0,), (np.inf,)),
    "W": (("ohm s^-0.5",), (0.0,), (np.inf,)),
    "Wo": (("ohm", "s"), (0.0, 0.0), (np.inf, np.inf)),
    "Ws": (("ohm", "s"), (0.0, 0.0), (np.inf, np.inf)),
    "CPE": (("F s^(a-1)", "dimensionless"), (0.0, 0.0), (np.inf, 1.0)),
    "Zarc": (("ohm", "s", "dimensionless"), (0.0, 0.0, 0.0), (np.inf, np.inf, 1.0)),
    "K": (("ohm", "s"), (-np.inf, 0.0), (np.inf, np.inf)),
}
_NAME = re.compile(r"^(CPE|Zarc|Wo|Ws|W|R|C|L|K)_?(\d+)$")


def _z_element(kind: str, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    if kind == "R":
        return np.full(w.shape, p[0], dtype=complex)
    if kind == "C":
        return 1.0 / (1j * w * p[0])
    if kind == "L":
        return 1j * w * p[0]
    if kind == "W":
        return p[0] * (1 - 1j) / np.sqrt(w)
    if kind in ("Wo", "Ws"):
        s = np.sqrt(1j * w * p[1])
        return p[0] / (np.tanh(s) * s) if kind == "Wo" else p[0] * np.tanh(s) / s
    if kind == "CPE":
        return 1.0 / (p[0] * (1j * w) ** p[1])
    if kind == "Zarc":
        return p[0] / (1 + (1j * w * p[1]) ** p[2])
    if kind == "K":
        return p[0] / (1 + 1j * w * p[1])
    raise AssertionError(kind)  # pragma: no cover - parse_circuit validates


@dataclasses.dataclass(frozen=True)
class Node:
    """Parse tree node: ``kind`` is ``"series"``, ``"parallel"`` or ``"element"``."""

    kind: str
    children: tuple = ()
    name: str = ""
    etype: str = ""


@dataclasses.dataclass(frozen=True)
class Circuit:
    """A parsed circuit string.

    Attributes
    ----------
    string : str
    tree : Node
    elements : tuple of (name, type)
        In order of appearance.
    parameter_names : tuple of str
    parameter_units : tuple of str
    """

    string: str
    tree: Node
    elements: tuple
    parameter_names: tuple
    parameter_units: tuple

    def element_parameters(self, name: str) -> list[str]:
        """Names of one element's parameters."""
        etype = dict(self.elements)[name]
        n = len(ELEMENTS[etype][0])
        return [name] if n == 1 else [f"{name}_{k}" for k in range(n)]

    def default_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower/upper bounds per parameter (≥ 0; CPE/Zarc exponents ≤ 1)."""
        lo, hi = [], []
        for _, etype in self.elements:
            lo += list(ELEMENTS[etype][1])
            hi += list(ELEMENTS[etype][2])
        return np.array(lo, dtype=float), np.array(hi, dtype=float)

    def impedance(self, frequency, parameters) -> np.ndarray:
        """Complex impedance (Ω) at ``frequency`` (Hz) for a parameter vector or dict."""
        if isinstance(parameters, dict):
            missing = [n for n in self.parameter_names if n not in parameters]
            if missing:
                raise ParameterError(f"parameters missing for {missing} in {self.string!r}")
            parameters = [parameters[n] for n in self.parameter_names]
        p = np.asarray(parameters, dtype=float)
        if p.size != len(self.parameter_names):
            raise ParameterError(
                f"{p.size} parameters given; {self.string!r} has "
                f"{len(self.parameter_names)}: {list(self.parameter_names)}"
            )
        w = 2 * np.pi * np.asarray(frequency, dtype=float)
        offsets = {}
        k = 0
        for name, etype in self.elements:
            n = len(ELEMENTS[etype][0])
            offsets[name] = (etype, p[k : k + n])
            k += n

        def ev(node: Node) -> np.ndarray:
            if node.kind == "element":
                etype, pp = offsets[node.name]
                return _z_element(etype, pp, w)
            parts = [ev(c) for c in node.children]
            if node.kind == "series":
                return np.sum(parts, axis=0)
            return 1.0 / np.sum([1.0 / z for z in parts], axis=0)

        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return ev(self.tree)


def parse_circuit(string: str) -> Circuit:
    """Parse an impedance.py-style circuit string such as ``R0-p(R1,CPE1)-p(R2,CPE2)``.

    Parameters
    ----------
    string : str
        Elements joined in series by ``-`` and in parallel by ``p(a,b,...)``; whitespace
        is ignored.

    Returns
    -------
    Circuit
        The normalised string, the series/parallel tree, the ``(name, type)`` elements,
        and the fit parameter names and units.

    Raises
    ------
    ParameterError
        Unknown element type, duplicate element name or unbalanced parentheses; the
        message shows where.
    """
    text = "".join(str(string).split())
    if not text:
        raise ParameterError("empty circuit string; e.g. 'R0-p(R1,CPE1)-p(R2,CPE2)'")
    pos = 0
    elements: list[tuple[str, str]] = []

    def fail(msg: str):
        raise ParameterError(
            f"circuit {string!r}: {msg} at position {pos} (…{text[pos : pos + 10]!r}); "
            f"element types: {', '.join(ELEMENTS)}; series '-', parallel 'p(a,b)'"
        )

    def series() -> Node:
        nonlocal pos
        items = [term()]
        while pos < len(text) and text[pos] == "-":
            pos += 1
            items.append(term())
        return items[0] if len(items) == 1 else Node("series", tuple(items))

    def term() -> Node:
        nonlocal pos
        if text.startswith("p(", pos):
            pos += 2
            branches = [series()]
            while pos < len(text) and text[pos] == ",":
                pos += 1
                branches.append(series())
            if pos >= len(text) or text[pos] != ")":
                fail("expected ')'")
            pos += 1
            if len(branches) < 2:
                fail("p(...) needs at least two branches")
            return Node("parallel", tuple(branches))
        m = re.match(r"[A-Za-z]+_?\d+", text[pos:])
        if not m:
            fail("expected an element name like R0 or CPE1")
        name = m.group(0)
        mm = _NAME.match(name)
        if not mm:
            fail(f"unknown element {name!r}")
        if any(name == e for e, _ in elements):
            fail(f"element name {name!r} used twice")
        elements.append((name, mm.group(1)))
        pos += len(name)
        return Node("element", name=name, etype=mm.group(1))

    tree = series()
    if pos != len(text):
        fail("unexpected character")
    names, units = [], []
    for name, etype in elements:
        u = ELEMENTS[etype][0]
        if len(u) == 1:
            names.append(name)
        else:
            names += [f"{name}_{k}" for k in range(len(u))]
        units += list(u)
    return Circuit(
        string=text,
        tree=tree,
        elements=tuple(elements),
        parameter_names=tuple(names),
        parameter_units=tuple(units),
    )
