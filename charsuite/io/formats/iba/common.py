"""Shared pieces of the ion-beam-analysis (composition) readers.

Element names, isotope folding, text decoding with line-numbered errors, and the
builder of the ``("layer", "element")`` dataset every composition reader returns
(layout documented in :mod:`charsuite.composition`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from charsuite.exceptions import ParameterError, ReaderError
from charsuite.io._budget import read_bytes_bounded

# Spelled out (not taken from pymatgen) so readers validate names without importing
# pymatgen (about 0.5 s), keeping sniffing and reading cheap.
SYMBOLS: tuple[str, ...] = tuple(
    [
        "H",
        "He",
        "Li",
        "Be",
        "B",
        "C",
        "N",
        "O",
        "F",
        "Ne",
        "Na",
        "Mg",
        "Al",
        "Si",
        "P",
        "S",
        "Cl",
        "Ar",
        "K",
        "Ca",
        "Sc",
        "Ti",
        "V",
        "Cr",
        "Mn",
        "Fe",
        "Co",
        "Ni",
        "Cu",
        "Zn",
        "Ga",
        "Ge",
        "As",
        "Se",
        "Br",
        "Kr",
        "Rb",
        "Sr",
        "Y",
        "Zr",
        "Nb",
        "Mo",
        "Tc",
        "Ru",
        "Rh",
        "Pd",
        "Ag",
        "Cd",
        "In",
        "Sn",
        "Sb",
        "Te",
        "I",
        "Xe",
        "Cs",
        "Ba",
        "La",
        "Ce",
        "Pr",
        "Nd",
        "Pm",
        "Sm",
        "Eu",
        "Gd",
        "Tb",
        "Dy",
        "Ho",
        "Er",
        "Tm",
        "Yb",
        "Lu",
        "Hf",
        "Ta",
        "W",
        "Re",
        "Os",
        "Ir",
        "Pt",
        "Au",
        "Hg",
        "Tl",
        "Pb",
        "Bi",
        "Po",
        "At",
        "Rn",
        "Fr",
        "Ra",
        "Ac",
        "Th",
        "Pa",
        "U",
        "Np",
        "Pu",
        "Am",
        "Cm",
        "Bk",
        "Cf",
        "Es",
        "Fm",
        "Md",
        "No",
        "Lr",
        "Rf",
        "Db",
        "Sg",
        "Bh",
        "Hs",
        "Mt",
        "Ds",
        "Rg",
        "Cn",
        "Nh",
        "Fl",
        "Mc",
        "Lv",
        "Ts",
        "Og",
    ]
)
_SET = frozenset(SYMBOLS)
_ISOTOPE = re.compile(r"^\s*(\d{0,3})\s*([A-Z][a-z]?)\s*$")
_HYDROGEN = {"D": "H", "T": "H"}

#: quantity -> units (same table as charsuite.composition.QUANTITIES)
UNITS = {
    "areal_density": "1e15 at/cm2",
    "at_pct": "at.%",
    "at_fraction": "dimensionless",
    "ratio": "dimensionless",
    "wt_pct": "wt.%",
    "ppm_mass": "ppm",
}


def is_element(symbol: str) -> bool:
    """True if ``symbol`` is a chemical element symbol (case-sensitive)."""
    return symbol in _SET


def fold_isotope(name: str) -> str:
    """``"7Li"`` → ``"Li"``, ``"28Si"`` → ``"Si"``, ``"2D"``/``"D"`` → ``"H"``; also fixes
    case (``"SI"`` → ``"Si"``).

    Raises
    ------
    ParameterError
        If ``name`` is not an element or isotope label.
    """
    text = str(name).strip()
    for candidate in (text, text[:1].upper() + text[1:].lower()):
        m = _ISOTOPE.match(candidate)
        if m:
            symbol = _HYDROGEN.get(m.group(2), m.group(2))
            if symbol in _SET:
                return symbol
    # "7LI" style: digits then upper-case
    m = re.match(r"^\s*(\d{0,3})\s*([A-Za-z]{1,2})\s*$", text)
    if m:
        sym = m.group(2)[:1].upper() + m.group(2)[1:].lower()
        sym = _HYDROGEN.get(sym, sym)
        if sym in _SET:
            return sym
    raise ParameterError(
        f"{name!r} is not an element symbol or isotope label (expected e.g. 'Li', '7Li', 'D')"
    )


def decode(path: Path, fmt: str) -> str:
    """Read a text file (UTF-8, else Latin-1); refuse binary content."""
    raw = read_bytes_bounded(path, format=fmt)
    if not raw.strip():
        raise ReaderError("file is empty or blank; re-export it", path=path, format=fmt)
    if b"\x00" in raw:
        raise ReaderError("contains NUL bytes, not a text file", path=path, format=fmt)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def number(token: str, *, path: Path, fmt: str, where: str, what: str) -> float:
    """Parse a float (Delphi 4-digit exponents accepted) or raise a ReaderError."""
    try:
        value = float(str(token).strip().replace("D", "E").replace("d", "e"))
    except ValueError:
        raise ReaderError(
            f"{where}: {what} {str(token)[:30]!r} is not a number", path=path, format=fmt
        ) from None
    return value


def element(name: str, *, path: Path, fmt: str, where: str) -> str:
    """Fold an isotope/element label or raise a ReaderError naming the place."""
    try:
        return fold_isotope(name)
    except ParameterError:
        raise ReaderError(
            f"{where}: {str(name)[:30]!r} is not an element or isotope label",
            path=path,
            format=fmt,
        ) from None


def check_amounts(
    values: Sequence[float], names: Sequence[str], *, path: Path, fmt: str, where: str
) -> None:
    """Refuse NaN/inf and negative amounts with the element named."""
    for v, n in zip(values, names):
        if not math.isfinite(v):
            raise ReaderError(
                f"{where}: amount of {n} is {v}; NaN/inf amounts are not allowed",
                path=path,
                format=fmt,
            )
        if v < 0:
            raise ReaderError(
                f"{where}: amount of {n} is negative ({v}); expected ≥ 0", path=path, format=fmt
            )


def layer_dataset(
    *,
    elements: Sequence[str],
    layers: Sequence[Any],
    variables: Mapping[str, tuple[str, Any, Any]],
    technique: str,
    thickness: Sequence[float] | None = None,
    extra: Mapping[str, tuple[Sequence[str], Any, Mapping[str, Any]]] | None = None,
    extra_coords: Mapping[str, tuple[Sequence[str], Any, Mapping[str, Any]]] | None = None,
    metadata: Mapping[str, Any] | None = None,
    original_metadata: Mapping[str, Any] | None = None,
):
    """Build the composition dataset.

    Parameters
    ----------
    elements, layers : sequences
        Coordinate values (``layer`` values are kept as given: int index or label).
    variables : mapping
        ``{name: (quantity, values[layer, element], sigma[layer, element] or None)}``.
    technique : str
        Stored on each amount variable and in ``metadata["iba_method"]``.
    thickness : sequence, optional
        Layer thickness in 1e15 at/cm² (NaN when unknown; an all-NaN coordinate is
        left out).
    extra, extra_coords : mapping, optional
        ``{name: (dims, values, attrs)}`` (attrs must include ``units``).
    """
    import numpy as np
    import xarray as xr

    n_layer, n_el = len(layers), len(elements)
    data_vars: dict[str, Any] = {}
    for name, (quantity, values, sigma) in variables.items():
        arr = np.asarray(values, dtype=float).reshape(n_layer, n_el)
        attrs = {"units": UNITS[quantity], "quantity": quantity, "technique": technique}
        data_vars[name] = (("layer", "element"), arr, attrs)
        sig = (
            np.full((n_layer, n_el), np.nan)
            if sigma is None
            else np.asarray(sigma, dtype=float).reshape(n_layer, n_el)
        )
        data_vars[f"{name}_sigma"] = (
            ("layer", "element"),
            sig,
            {"units": UNITS[quantity], "long_name": f"1 sigma of {name}"},
        )
    for name, (dims, values, attrs) in (extra or {}).items():
        data_vars[name] = (tuple(dims), values, dict(attrs))
    coords: dict[str, Any] = {
        "layer": ("layer", list(layers), {"units": "dimensionless", "long_name": "layer"}),
        "element": ("element", [str(e) for e in elements], {"units": "dimensionless"}),
        "layer_thickness": (
            "layer",
            np.asarray(thickness if thickness is not None else [np.nan] * n_layer, dtype=float),
            {"units": "1e15 at/cm2"},
        ),
    }
    for name, (dims, values, attrs) in (extra_coords or {}).items():
        coords[name] = (tuple(dims), values, dict(attrs))
    for name in [k for k in coords if k not in ("layer", "element")]:
        values = np.asarray(coords[name][1])
        if values.dtype.kind == "f" and values.size and np.isnan(values).all():
            del coords[name]  # present only when the file states it
    meta = {"iba_method": technique, **dict(metadata or {})}
    return xr.Dataset(
        data_vars,
        coords=coords,
        attrs={
            "technique": "composition",
            "metadata": meta,
            "original_metadata": dict(original_metadata or {}),
        },
    )
