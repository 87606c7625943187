"""RUMP sample descriptions (``.lcm`` SIM command scripts), the saved result of a RUMP fit.

Layout (RUMP SIM commands; pyRUMP ``script/lcm.py`` docstring citing RUMP ``sim2.c``)::

    Sim Reset
    Layer 1
     Thick 331.162 A
     Composition Mn 2.73495 Pt 1 /
    Next
     Thick 1000 nm
     Composition Si 1 /

Commands are case-insensitive and may be abbreviated (``lay``, ``thi``, ``comp``); their
order inside a layer is free. ``/`` ends an element list (which may continue over
lines; without ``/`` the list ends at the next command); ``/* ... */``, ``#`` and ``!`` start comments. ``Thick <value> <unit>``: ``/CM2``
= 1e15 at/cm², ``M/CM2`` = 1e15 molecules/cm² (× Σ composition), ``A``, ``nm``, ``um``
= lengths (RUMP converts them with its own density table, which is not in the file).
Composition amounts are relative. Other commands (``Maxpth``, ``Foil``, ``Fuzz``,
``Species``, ...) are kept verbatim in ``original_metadata["commands"]``.

Returned dataset: ``at_pct`` and ``areal_density`` over ``("layer", "element")``, no
uncertainties; ``layer_thickness`` (1e15 at/cm²) and ``layer_thickness_nm``. A layer
given as a length has NaN areal values unless ``atomic_density_1e22_at_cm3`` is given.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.iba.common import check_amounts, decode, element, layer_dataset, number

SPEC = FormatSpec(
    name="rump-lcm",
    technique="composition",
    extensions=(".lcm",),
    description="RUMP sample description (.lcm SIM script): layers, thickness, composition",
    priority=55,
)
_CONTINUES = re.compile(r"^(?:/|\d{0,3}[A-Z][a-z]?/?|[-+]?[\d.]+/?)$")
_LENGTH_NM = {"a": 0.1, "å": 0.1, "nm": 1.0, "um": 1e3, "µm": 1e3}


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return "\n".join(re.split(r"[#!]", line, maxsplit=1)[0] for line in text.splitlines())


def can_read(path: Path, head: bytes) -> bool:
    """Accept text with ``layer N``, ``thick <number>`` and ``comp <Element>`` commands."""
    if b"\x00" in head:
        return False
    text = _strip_comments(head.decode("latin-1"))
    return bool(
        re.search(r"(?im)^\s*lay\w*\s+\d+\s*$", text)
        and re.search(r"(?im)^\s*thi\w*\s+[-+]?[\d.]", text)
        and re.search(r"(?im)^\s*comp\w*\s+\d{0,3}[A-Za-z]", text)
    )


def read(
    path: Path,
    *,
    lazy: bool = False,
    atomic_density_1e22_at_cm3: float | dict[int, float] | None = None,
):
    """Read the layers of a RUMP ``.lcm`` sample description.

    Parameters
    ----------
    path : Path
    lazy : bool
        Ignored (small files).
    atomic_density_1e22_at_cm3 : float or dict, optional
        Atomic density (all layers, or ``{layer: value}``) to convert thicknesses given
        as lengths into 1e15 at/cm² (N = n·t). Without it those layers get NaN.

    Raises
    ------
    ReaderError
        Unknown thickness unit, a layer without composition or thickness, non-numeric,
        NaN or negative amounts, unknown elements, element/amount lists of odd length.
    """
    import numpy as np

    fmt = SPEC.name
    layers, commands = _parse_commands(_strip_comments(decode(path, fmt)), path=path)
    order, elements = _check_layers(layers, path=path)
    raw = np.array([[layers[n]["comp"].get(e, np.nan) for e in elements] for n in order])
    sums = np.nansum(raw, axis=1)  # NaN: element not in the layer
    frac = raw / sums[:, None]
    thick = _thicknesses(layers, order, sums, atomic_density_1e22_at_cm3)
    t = np.asarray(thick.areal)
    return layer_dataset(
        elements=elements,
        layers=order,
        variables={
            "at_pct": ("at_pct", frac * 100, None),
            "areal_density": ("areal_density", frac * t[:, None], None),
        },
        technique="RBS",
        thickness=t,
        extra_coords={
            "layer_thickness_nm": (("layer",), np.asarray(thick.nm), {"units": "nm"}),
            "layer_thickness_unit": (("layer",), thick.units, {"units": "dimensionless"}),
        },
        metadata={"n_layers": len(order), "program": "RUMP"},
        original_metadata={"commands": commands},
    )


def _thick_command(tokens: list[str], *, lineno: int, path: Path) -> tuple[float, str, int]:
    """``Thick VALUE [UNIT]`` → (value, lower-case unit, line number), checked."""
    fmt = SPEC.name
    where = f"line {lineno}"
    if len(tokens) < 2:
        raise ReaderError(f"{where}: 'Thick' without a value", path=path, format=fmt)
    value = number(tokens[1], path=path, fmt=fmt, where=where, what="thickness")
    check_amounts([value], ["thickness"], path=path, fmt=fmt, where=where)
    unit = tokens[2].lower() if len(tokens) > 2 else "/cm2"
    if unit not in ("/cm2", "m/cm2") and unit not in _LENGTH_NM:
        raise ReaderError(
            f"{where}: thickness unit {tokens[2]!r} not understood; expected "
            "/CM2, M/CM2, A, nm or um (compound names from density.tab are not "
            "supported)",
            path=path,
            format=fmt,
        )
    return value, unit, lineno


def _terminated(tokens: list[str]) -> bool:
    return "/" in tokens or any(t.endswith("/") for t in tokens)


def _parse_commands(text: str, *, path: Path) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Layers ``{n: {"line", "thick", "comp"}}`` from the script, and its other commands."""
    layers: dict[int, dict[str, Any]] = {}
    current: int | None = None
    commands: list[str] = []
    pending: list[str] | None = None  # composition tokens until "/"
    pending_line = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if pending is not None and tokens and _CONTINUES.match(tokens[0]):
            pending += tokens
            if _terminated(pending):
                _set_comp(layers[current], pending, path, pending_line)
                pending = None
            continue
        if pending is not None and tokens:  # a new command ends an unterminated list
            _set_comp(layers[current], pending, path, pending_line)
            pending = None
        if not tokens:
            continue
        word = tokens[0].lower()
        if word.startswith("lay") and len(tokens) >= 2 and tokens[1].isdigit():
            current = int(tokens[1])
            layers.setdefault(current, {"line": lineno})
        elif word.startswith("nex"):
            current = (current or 0) + 1
            layers.setdefault(current, {"line": lineno})
        elif word.startswith("thi") or word.startswith("comp"):
            if current is None:
                current = 1
                layers.setdefault(current, {"line": lineno})
            if word.startswith("thi"):
                layers[current]["thick"] = _thick_command(tokens, lineno=lineno, path=path)
            else:
                pending, pending_line = tokens[1:], lineno
                if _terminated(pending):
                    _set_comp(layers[current], pending, path, lineno)
                    pending = None
        else:
            commands.append(line.strip())
    if pending is not None:
        _set_comp(layers[current], pending, path, pending_line)
    return layers, commands


def _check_layers(layers: dict[int, dict[str, Any]], *, path: Path) -> tuple[list[int], list[str]]:
    """Layer numbers in order and the elements met, once every layer is complete."""
    fmt = SPEC.name
    if not layers:
        raise ReaderError("no Layer/Thick/Composition commands found", path=path, format=fmt)
    order = sorted(layers)
    elements: list[str] = []
    for n in order:
        lay = layers[n]
        if "comp" not in lay:
            raise ReaderError(
                f"layer {n} (line {lay['line']}) has no Composition", path=path, format=fmt
            )
        if "thick" not in lay:
            raise ReaderError(f"layer {n} (line {lay['line']}) has no Thick", path=path, format=fmt)
        elements += [e for e in lay["comp"] if e not in elements]
    return order, elements


@dataclasses.dataclass(frozen=True)
class _Thicknesses:
    """Per layer: 1e15 at/cm² (NaN without a density), nm (NaN when areal), unit as given."""

    areal: list[float]
    nm: list[float]
    units: list[str]


def _thicknesses(layers, order, sums, density) -> _Thicknesses:
    """Convert each ``Thick`` to 1e15 at/cm² (M/CM2 × amount sum; length × atomic density)."""
    import numpy as np

    thickness, thickness_nm, units = [], [], []
    for i, n in enumerate(order):
        value, unit, _ = layers[n]["thick"]
        units.append(unit)
        if unit == "/cm2":
            thickness.append(value)
            thickness_nm.append(np.nan)
        elif unit == "m/cm2":
            thickness.append(value * sums[i])
            thickness_nm.append(np.nan)
        else:
            nm = value * _LENGTH_NM[unit]
            thickness_nm.append(nm)
            dens = density.get(n) if isinstance(density, dict) else density
            thickness.append(np.nan if dens is None else float(dens) * 1e22 * nm * 1e-7 / 1e15)
    return _Thicknesses(areal=thickness, nm=thickness_nm, units=units)


def _set_comp(layer: dict, tokens: list[str], path: Path, lineno: int) -> None:
    fmt = SPEC.name
    where = f"line {lineno}"
    clean: list[str] = []
    for tok in tokens:
        if tok == "/":
            break
        if tok.endswith("/"):
            clean.append(tok[:-1])
            break
        clean.append(tok)
    if not clean or len(clean) % 2:
        raise ReaderError(
            f"{where}: composition must be element/amount pairs ending with '/', got "
            f"{' '.join(tokens)[:60]!r}",
            path=path,
            format=fmt,
        )
    comp: dict[str, float] = {}
    for sym, amount in zip(clean[::2], clean[1::2]):
        el = element(sym, path=path, fmt=fmt, where=where)
        value = number(amount, path=path, fmt=fmt, where=where, what=f"amount of {sym}")
        check_amounts([value], [sym], path=path, fmt=fmt, where=where)
        comp[el] = comp.get(el, 0.0) + value
    if sum(comp.values()) <= 0:
        raise ReaderError(f"{where}: composition amounts sum to 0", path=path, format=fmt)
    layer["comp"] = comp
