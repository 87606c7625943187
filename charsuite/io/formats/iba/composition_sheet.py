"""charsuite composition result sheet (CSV, TOML or JSON): results from any other program.

One row per measured amount. Columns / keys (case-insensitive names):

=============  ==========================================================================
element        ``Li``, ``7Li`` (isotopes fold), or a group ``Ni+Mn+Co`` measured as a sum;
               empty for ``thickness`` rows
quantity       ``at_pct``, ``at_fraction``, ``areal_density``, ``wt_pct``, ``ppm_mass``,
               ``ratio`` or ``thickness`` (layer thickness)
value          number ≥ 0
uncertainty    1σ standard uncertainty, same unit (empty = not given)
unit           must match the quantity: ``at.%``; ``fraction``; ``1e15 at/cm2`` (also
               ``tfu``, ``at/cm2``); ``wt.%``; ``ppm``; ``dimensionless``; thickness in
               ``1e15 at/cm2`` or ``nm``
technique      ``RBS``, ``ERDA``, ``PIXE``, ``NRA``, ... (label used by merge rules)
layer          layer label (optional; default ``1``)
=============  ==========================================================================

CSV: a header line with these names, ``#`` comment lines allowed, separator ``,``, ``;``
or tab. TOML: ``charsuite_composition = 1`` and ``[[amount]]`` tables. JSON:
``{"charsuite_composition": 1, "amounts": [{...}, ...]}``.

Example (CSV)::

    # charsuite composition sheet
    element,quantity,value,uncertainty,unit,technique,layer
    Li,at_pct,39.0,1.5,at.%,ERDA,film
    Ni+Mn+Co,at_pct,20.0,0.5,at.%,ERDA,film
    Ni,ppm_mass,827000,8000,ppm,PIXE,film

Returned dataset: one amount variable per (technique, quantity), named
``<technique>_<quantity>`` in lower case (e.g. ``erda_at_pct``), with ``_sigma``, over
``("layer", "element")``; NaN where a technique did not report an element.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from charsuite.exceptions import ParameterError, ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.iba.common import fold_isotope, layer_dataset

SPEC = FormatSpec(
    name="composition-sheet",
    technique="composition",
    extensions=(".csv", ".toml", ".json"),
    description="charsuite composition sheet (CSV/TOML/JSON): element, quantity, value, "
    "uncertainty, unit, technique, layer",
    priority=70,
)
COLUMNS = ("element", "quantity", "value", "uncertainty", "unit", "technique", "layer")
_UNITS: dict[str, dict[str, float]] = {
    "at_pct": {"at.%": 1, "at%": 1, "%": 1, "at. %": 1},
    "at_fraction": {"fraction": 1, "": 1, "dimensionless": 1, "at. fraction": 1},
    "areal_density": {"1e15 at/cm2": 1, "1e15at/cm2": 1, "tfu": 1, "at/cm2": 1e-15},
    "wt_pct": {"wt.%": 1, "wt%": 1, "wt. %": 1},
    "ppm_mass": {"ppm": 1, "ppmw": 1, "ug/g": 1, "µg/g": 1, "mg/kg": 1},
    "ratio": {"": 1, "dimensionless": 1, "ratio": 1},
    "thickness": {"1e15 at/cm2": 1, "1e15at/cm2": 1, "tfu": 1, "at/cm2": 1e-15, "nm": 1},
}


def can_read(path: Path, head: bytes) -> bool:
    """Accept a CSV header naming element/quantity/value, or a TOML/JSON sheet marker."""
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if "charsuite_composition" in text:
        return True
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        names = {p.strip().strip('"').lower() for p in re.split(r"[,;\t]", line)}
        return {"element", "quantity", "value"} <= names
    return False


def _records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    fmt = SPEC.name
    raw = read_bytes_bounded(path, format=fmt)
    if not raw.strip():
        raise ReaderError("file is empty", path=path, format=fmt)
    if b"\x00" in raw:
        raise ReaderError("contains NUL bytes, not a text sheet", path=path, format=fmt)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise ReaderError(f"invalid JSON ({err})", path=path, format=fmt) from None
        return _from_doc(doc, path, "JSON")
    if "charsuite_composition" in text and not re.search(r"(?im)^\s*element\s*[,;\t]", text):
        import tomllib

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ReaderError(f"invalid TOML ({err})", path=path, format=fmt) from None
        return _from_doc(doc, path, "TOML")
    lines = [(i + 1, ln) for i, ln in enumerate(text.splitlines())]
    body = [(n, ln) for n, ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        raise ReaderError("no header line", path=path, format=fmt)
    header_line = body[0][1]
    delim = ";" if header_line.count(";") > header_line.count(",") else ","
    if "\t" in header_line and header_line.count("\t") > header_line.count(delim):
        delim = "\t"
    reader = csv.reader(io.StringIO("\n".join(ln for _, ln in body)), delimiter=delim)
    rows = list(reader)
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("element", "quantity", "value") if c not in header]
    if missing:
        raise ReaderError(
            f"line {body[0][0]}: header lacks column(s) {missing}; expected {', '.join(COLUMNS)}",
            path=path,
            format=fmt,
        )
    out = []
    for (lineno, _), row in zip(body[1:], rows[1:]):
        if len(row) > len(header) or len(row) < 3:
            raise ReaderError(
                f"line {lineno}: {len(row)} fields, header has {len(header)}", path=path, format=fmt
            )
        out.append((f"line {lineno}", dict(zip(header, (c.strip() for c in row)))))
    return out


def _from_doc(doc: Any, path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    fmt = SPEC.name
    if not isinstance(doc, dict) or "charsuite_composition" not in doc:
        raise ReaderError(
            f"{kind} sheet lacks the key 'charsuite_composition = 1'", path=path, format=fmt
        )
    entries = doc.get("amounts", doc.get("amount"))
    if not isinstance(entries, list) or not entries:
        raise ReaderError(
            f"{kind} sheet has no 'amounts' list (TOML: [[amount]] tables)", path=path, format=fmt
        )
    out = []
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ReaderError(f"amount #{i} is not a table/object", path=path, format=fmt)
        out.append((f"amount #{i}", {str(k).lower(): v for k, v in entry.items()}))
    return out


def _num(value: Any, where: str, what: str, path: Path, *, allow_empty: bool = False):
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_empty:
            return math.nan
        raise ReaderError(f"{where}: {what} is empty", path=path, format=SPEC.name)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ReaderError(
            f"{where}: {what} {value!r} is not a number", path=path, format=SPEC.name
        ) from None
    if math.isnan(out) and not allow_empty:
        raise ReaderError(f"{where}: {what} is NaN", path=path, format=SPEC.name)
    if math.isinf(out) or out < 0:
        raise ReaderError(f"{where}: {what} is {out}; expected ≥ 0", path=path, format=SPEC.name)
    return out


def read(path: Path, *, lazy: bool = False):
    """Read a charsuite composition sheet (CSV, TOML or JSON).

    Raises
    ------
    ReaderError
        Missing columns, unknown quantity or unit, unit not matching the quantity,
        unknown elements, empty/NaN/negative values, duplicate entries.
    """
    import numpy as np

    fmt = SPEC.name
    records = _records(path)
    amounts: dict[tuple[str, str], dict[tuple[str, str], tuple[float, float]]] = {}
    thickness: dict[str, float] = {}
    thickness_nm: dict[str, float] = {}
    layers: list[str] = []
    elements: list[str] = []
    for where, rec in records:
        quantity = str(rec.get("quantity", "")).strip().lower()
        if quantity not in _UNITS:
            raise ReaderError(
                f"{where}: quantity {rec.get('quantity')!r} not known; use one of "
                f"{', '.join(_UNITS)}",
                path=path,
                format=fmt,
            )
        unit = str(rec.get("unit", "") or "").strip()
        key = unit.lower().replace("²", "2").replace("^", "")
        if key not in _UNITS[quantity]:
            raise ReaderError(
                f"{where}: unit {unit!r} does not fit quantity {quantity} (allowed: "
                f"{', '.join(repr(u) for u in _UNITS[quantity])})",
                path=path,
                format=fmt,
            )
        factor = _UNITS[quantity][key]
        value = _num(rec.get("value"), where, "value", path) * factor
        sigma = _num(rec.get("uncertainty"), where, "uncertainty", path, allow_empty=True) * factor
        layer = str(rec.get("layer", "") or "1").strip()
        if layer not in layers:
            layers.append(layer)
        if quantity == "thickness":
            (thickness_nm if key == "nm" else thickness)[layer] = value
            continue
        name = str(rec.get("element", "") or "").strip()
        try:
            parts = [fold_isotope(p) for p in name.split("+") if p.strip()]
        except ParameterError:
            raise ReaderError(
                f"{where}: element {name!r} is not an element, isotope or group like 'Ni+Mn+Co'",
                path=path,
                format=fmt,
            ) from None
        if not parts:
            raise ReaderError(f"{where}: element is empty", path=path, format=fmt)
        el = "+".join(dict.fromkeys(parts))
        if el not in elements:
            elements.append(el)
        technique = str(rec.get("technique", "") or "").strip().upper() or "UNKNOWN"
        block = amounts.setdefault((technique, quantity), {})
        if (layer, el) in block:
            raise ReaderError(
                f"{where}: {el} ({technique} {quantity}, layer {layer}) given twice",
                path=path,
                format=fmt,
            )
        block[(layer, el)] = (value, sigma)
    if not amounts:
        raise ReaderError("no amount rows (only thickness?)", path=path, format=fmt)
    variables = {}
    shape = (len(layers), len(elements))
    for (technique, quantity), block in amounts.items():
        vals, sigs = np.full(shape, np.nan), np.full(shape, np.nan)
        for (layer, el), (v, s) in block.items():
            vals[layers.index(layer), elements.index(el)] = v
            sigs[layers.index(layer), elements.index(el)] = s
        variables[f"{technique.lower()}_{quantity}"] = (quantity, vals, sigs)
    ds = layer_dataset(
        elements=elements,
        layers=layers,
        variables=variables,
        technique="mixed",
        thickness=[thickness.get(layer, np.nan) for layer in layers],
        extra_coords={
            "layer_thickness_nm": (
                ("layer",),
                np.asarray([thickness_nm.get(layer, np.nan) for layer in layers]),
                {"units": "nm"},
            )
        },
        metadata={"techniques": sorted({t for t, _ in amounts}), "n_rows": len(records)},
    )
    for technique, quantity in amounts:
        ds[f"{technique.lower()}_{quantity}"].attrs["technique"] = technique
    techs = sorted({t for t, _ in amounts})
    ds.attrs["metadata"]["iba_method"] = techs[0] if len(techs) == 1 else "mixed"
    return ds
