"""IBA Data Format (IDF) XML and SIMNRA ``.xnra`` layer structures (RBS/ERDA/NRA fits).

Layout (IDF 1.01, Barradas, Mayer & Thompson, NIMB 268 (2010) 1824; SIMNRA ``.xnra`` is
IDF plus the ``simnra:`` namespace)::

    idf/sample/structure/layeredstructure/layers/layer/
        layerthickness @units="1e15at/cm2"
        layeruniformity @units="1e15at/cm2" (roughness FWHM, optional)
        layerelements/layerelement/{name ("O", "28Si", "2D"), concentration @units="fraction"}
    idf/sample/spectra/spectrum/{beam/..., geometry/..., reactions/technique}

NDF fit results written into IDF (``.../simulation/ndf:ndf/ndf:fitresults/ndf:structure
/.../ndf:layer``) are used instead of the sample's start structure when present
(``structure="fit"``, the default; ``structure="sample"`` forces the start structure).

Tags are matched on their local names (namespace URIs vary, e.g. pyIBA writes
``http:/ndf.schemas.itn.pt``). Concentrations are normalised per layer: a sum of 1 is
taken as fractions and a sum of 100 as percent (pyIBA writes percent labelled
"fraction"); any other sum (beyond ``tolerance``, relative) is refused. Isotopes fold
into elements (``28Si`` → Si). Molecule names such as ``"Si 1 O 2"`` or NDF's
``"Co?=0.36pt?=0.64"`` are split into their elements.

Returned dataset (see :mod:`charsuite.composition`): ``at_pct`` and ``areal_density``
(thickness × fraction) over ``("layer", "element")``, no uncertainties (σ = NaN: these
files carry none), ``layer_thickness`` and ``layer_roughness`` (1e15 at/cm²).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.iba.common import check_amounts, element, layer_dataset, number

SPEC = FormatSpec(
    name="idf",
    technique="composition",
    extensions=(".xnra", ".idf"),  # .xml files are claimed by content (root <idf>) only
    description="IBA Data Format XML / SIMNRA .xnra layer structure (1e15 at/cm², fractions)",
    priority=60,
)

_SINGLE = re.compile(r"^\s*\d{0,3}\s*[A-Za-z][a-z]?\s*$")
_AREAL_UNITS = {"1e15at/cm2": 1.0, "1e15at/cm^2": 1.0, "tfu": 1.0, "at/cm2": 1e-15}


def can_read(path: Path, head: bytes) -> bool:
    """Accept XML whose root element is ``<idf`` (any namespace)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"<"):
        return False
    return re.search(rb"<(?:[A-Za-z_][\w.-]*:)?idf[\s>]", text) is not None


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1] if isinstance(tag, str) else ""


def _child(node, name: str):
    for c in node:
        if _local(c.tag) == name:
            return c
    return None


def _children(node, name: str) -> list:
    return [c for c in node if _local(c.tag) == name]


def _find_path(node, names: list[str]):
    for name in names:
        if node is None:
            return None
        node = _child(node, name)
    return node


def _text(node) -> str:
    return (node.text or "").strip() if node is not None else ""


def molecule_fractions(name: str) -> dict[str, float]:
    """Split a molecule label into element fractions summing to 1.

    ``"Si 1 O 2"`` → Si 1/3, O 2/3; ``"Si1o2"`` (NDF re-casing) likewise;
    ``"Co?=0.36pt?=0.64"`` → Co 0.36, Pt 0.64; a plain symbol → 1.
    """
    text = name.replace("?=", " ").strip()
    tokens = re.findall(r"[A-Za-z]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+", text)
    if not tokens:
        raise ValueError(f"empty molecule name {name!r}")
    pairs: list[list[Any]] = []
    for tok in tokens:
        if tok[0].isalpha():
            runs = re.findall(r"[A-Z][a-z]?|[a-z]+", tok) if not tok.islower() else [tok]
            for run in runs:
                if len(run) > 2:
                    raise ValueError(f"cannot split {run!r} in molecule {name!r}")
                pairs.append([run[:1].upper() + run[1:].lower(), 1.0])
        else:
            if not pairs:
                raise ValueError(f"number before element in molecule {name!r}")
            pairs[-1][1] = float(tok)
    out: dict[str, float] = {}
    for sym, amount in pairs:
        out[sym] = out.get(sym, 0.0) + amount
    total = sum(out.values())
    if total <= 0:
        raise ValueError(f"molecule {name!r} has zero total amount")
    return {k: v / total for k, v in out.items()}


@dataclasses.dataclass(frozen=True)
class _Layer:
    """One ``<layer>``: thickness (1e15 at/cm²), roughness FWHM (NaN = none), element amounts."""

    thickness: float
    roughness: float
    concentration: dict[str, float]


def _layers_node(root, structure: str, *, path: Path):
    """Find the ``<layers>`` element (fit results first when asked); return it and its source."""
    fmt = SPEC.name
    sample = _child(root, "sample")
    if sample is None:
        raise ReaderError("no <sample> element; nothing to read", path=path, format=fmt)
    layers_node, source = None, "sample"
    if structure == "fit":
        for node in sample.iter():
            if _local(node.tag) == "fitresults":
                layers_node = _find_path(node, ["structure", "layeredstructure", "layers"])
                if layers_node is not None:
                    source = "ndf fit results"
                    break
    if layers_node is None:
        layers_node = _find_path(sample, ["structure", "layeredstructure", "layers"])
    if layers_node is None or not _children(layers_node, "layer"):
        raise ReaderError(
            "no sample/structure/layeredstructure/layers/layer elements; an IDF file without "
            "a layered sample has no composition",
            path=path,
            format=fmt,
        )
    return layers_node, source


def _layer_concentrations(layer, *, where: str, path: Path) -> dict[str, float]:
    """Element amounts of one layer, molecules (``Li2CO3``) split into their elements."""
    fmt = SPEC.name
    elements_node = _child(layer, "layerelements")
    entries = _children(elements_node, "layerelement") if elements_node is not None else []
    if not entries:
        raise ReaderError(f"{where}: no <layerelement> entries", path=path, format=fmt)
    conc: dict[str, float] = {}
    for entry in entries:
        name = _text(_child(entry, "name"))
        cnode = _child(entry, "concentration")
        if not name or cnode is None or not _text(cnode):
            raise ReaderError(
                f"{where}: a <layerelement> lacks <name> or <concentration>",
                path=path,
                format=fmt,
            )
        c = number(_text(cnode), path=path, fmt=fmt, where=where, what=f"{name} concentration")
        check_amounts([c], [name], path=path, fmt=fmt, where=where)
        if _SINGLE.match(name):
            parts = {element(name, path=path, fmt=fmt, where=where): 1.0}
        else:
            try:
                parts = molecule_fractions(name)
            except ValueError as err:
                raise ReaderError(f"{where}: {err}", path=path, format=fmt) from None
        for sym, frac in parts.items():
            sym = element(sym, path=path, fmt=fmt, where=where)
            conc[sym] = conc.get(sym, 0.0) + c * frac
    return conc


def _read_layer(layer, i: int, *, tolerance: float, path: Path) -> _Layer:
    """Thickness, roughness and concentrations of the ``i``-th layer, checked."""
    fmt = SPEC.name
    where = f"layer {i}"
    tnode = _child(layer, "layerthickness")
    if tnode is None or not _text(tnode):
        raise ReaderError(f"{where}: no <layerthickness>", path=path, format=fmt)
    t = number(_text(tnode), path=path, fmt=fmt, where=where, what="thickness")
    unit = tnode.get("units", "1e15at/cm2").replace(" ", "").lower()
    if unit not in _AREAL_UNITS:
        raise ReaderError(
            f"{where}: thickness unit {tnode.get('units')!r} not understood; expected 1e15at/cm2",
            path=path,
            format=fmt,
        )
    t *= _AREAL_UNITS[unit]
    check_amounts([t], ["thickness"], path=path, fmt=fmt, where=where)
    rnode = _child(layer, "layeruniformity")
    r = float("nan")
    if rnode is not None and _text(rnode):
        r = number(_text(rnode), path=path, fmt=fmt, where=where, what="roughness")
    conc = _layer_concentrations(layer, where=where, path=path)
    total = sum(conc.values())
    if not (abs(total - 1) <= tolerance or abs(total - 100) <= 100 * tolerance):
        raise ReaderError(
            f"{where}: concentrations sum to {total:.6g}, neither 1 (fractions) nor 100 "
            f"(percent) within {tolerance:.0%}; check the file or pass tolerance=",
            path=path,
            format=fmt,
        )
    return _Layer(thickness=t, roughness=r, concentration=conc)


def _file_metadata(root) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Technique, curated metadata (versions, beam) and original metadata of the file."""
    technique = "IBA"
    meta: dict[str, Any] = {}
    original: dict[str, Any] = {}
    attributes = _child(root, "attributes")
    if attributes is not None:
        original["attributes"] = {_local(c.tag): _text(c) for c in attributes}
        meta["idf_version"] = original["attributes"].get("idfversion")
        if "simnraversionnr" in original["attributes"]:
            meta["simnra_version"] = original["attributes"]["simnraversionnr"]
    spectrum = _find_path(_child(root, "sample"), ["spectra", "spectrum"])
    if spectrum is not None:
        tech = _text(_find_path(spectrum, ["reactions", "technique"]))
        if tech:
            technique = tech.upper()
        beam = _child(spectrum, "beam")
        if beam is not None:
            meta["beam_particle"] = _text(_child(beam, "beamparticle")) or None
            energy = _child(beam, "beamenergy")
            if energy is not None and _text(energy):
                try:
                    factor = {"kev": 1.0, "mev": 1e3}.get(energy.get("units", "keV").lower(), 1)
                    meta["beam_energy_keV"] = float(_text(energy)) * factor
                except ValueError:
                    pass
        geometry = _child(spectrum, "geometry")
        if geometry is not None:
            original["geometry"] = {_local(c.tag): _text(c) for c in geometry if _text(c)}
    return technique, meta, original


def read(
    path: Path,
    *,
    lazy: bool = False,
    structure: str = "fit",
    tolerance: float = 0.01,
):
    """Read the layer structure of an IDF / SIMNRA ``.xnra`` file.

    Parameters
    ----------
    path : Path
    lazy : bool
        Ignored (small result); the registry chunks it when asked.
    structure : {"fit", "sample"}
        ``"fit"`` uses NDF fit results inside the file when present, else the sample
        structure; ``"sample"`` always uses the sample structure.
    tolerance : float
        Relative tolerance on the per-layer concentration sum (1 or 100).

    Raises
    ------
    ReaderError
        Not XML, no layers, missing thickness or concentration, NaN/negative values,
        concentrations that sum neither to 1 nor to 100.
    """
    import xml.etree.ElementTree as ET

    fmt = SPEC.name
    if structure not in ("fit", "sample"):
        raise ReaderError(f"structure={structure!r}; use 'fit' or 'sample'", path=path, format=fmt)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ReaderError(
            f"not well-formed XML ({err}); the file may be truncated", path=path, format=fmt
        ) from err
    if _local(root.tag) != "idf":
        raise ReaderError(
            f"root element is <{_local(root.tag)}>, expected <idf>", path=path, format=fmt
        )
    layers_node, source = _layers_node(root, structure, path=path)
    rows = [
        _read_layer(layer, i, tolerance=tolerance, path=path)
        for i, layer in enumerate(_children(layers_node, "layer"), start=1)
    ]
    elements: list[str] = []
    for row in rows:
        elements += [e for e in row.concentration if e not in elements]
    import numpy as np

    frac = np.array([[row.concentration.get(e, np.nan) for e in elements] for row in rows])
    frac = frac / np.nansum(frac, axis=1, keepdims=True)  # NaN: element not in the layer
    t_arr = np.asarray([row.thickness for row in rows])
    technique, file_meta, original = _file_metadata(root)
    meta: dict[str, Any] = {"structure_source": source, "n_layers": len(rows), **file_meta}
    return layer_dataset(
        elements=elements,
        layers=list(range(1, len(rows) + 1)),
        variables={
            "at_pct": ("at_pct", frac * 100, None),
            "areal_density": ("areal_density", frac * t_arr[:, None], None),
        },
        technique=technique,
        thickness=t_arr,
        extra_coords={
            "layer_roughness": (
                ("layer",),
                np.asarray([row.roughness for row in rows], dtype=float),
                {"units": "1e15 at/cm2", "long_name": "roughness FWHM"},
            )
        },
        metadata=meta,
        original_metadata=original,
    )
