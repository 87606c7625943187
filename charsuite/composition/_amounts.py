"""Per-element amounts with uncertainties from one technique (the merge input).

The composition readers return an ``xarray.Dataset`` over ``("layer", "element")``.
Each amount variable carries ``attrs["quantity"]`` (one of :data:`QUANTITIES`),
``attrs["technique"]`` (``"RBS"``, ``"ERDA"``, ``"PIXE"``, ...) and ``units``; its
1σ standard uncertainty is the variable ``<name>_sigma`` (NaN where the file gives none).
:func:`amounts_from` turns one layer of such a dataset into :class:`ElementAmounts`, the
plain-Python object that :func:`charsuite.composition.combine` merges.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from charsuite.composition._elements import atomic_mass, fold_isotope, is_element
from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, history_record

#: quantity name -> units written by the readers.
QUANTITIES: dict[str, str] = {
    "areal_density": "1e15 at/cm2",
    "at_pct": "at.%",
    "at_fraction": "dimensionless",
    "ratio": "dimensionless",
    "wt_pct": "wt.%",
    "ppm_mass": "ppm",
}
#: Quantities proportional to numbers of atoms (merge directly).
ATOMIC = ("areal_density", "at_pct", "at_fraction", "ratio")
#: Quantities proportional to mass (divided by the atomic mass before merging).
MASS = ("wt_pct", "ppm_mass")


def group_key(elements) -> str:
    """Canonical key of an unresolved element group: ``["Co", "Ni", "Mn"]`` → ``"Ni+Mn+Co"``
    (elements in the order given, duplicates removed)."""
    seen = []
    for e in elements:
        if e not in seen:
            seen.append(e)
    return "+".join(seen)


def split_key(key: str) -> list[str]:
    """Elements of an amount key: ``"Li"`` → ``["Li"]``, ``"Ni+Mn+Co"`` → three."""
    parts = [p.strip() for p in str(key).split("+") if p.strip()]
    for p in parts:
        if not is_element(p):
            raise ParameterError(
                f"{p!r} in {key!r} is not an element symbol; groups are written 'Ni+Mn+Co'"
            )
    return parts


@dataclasses.dataclass(frozen=True)
class ElementAmounts(Result):
    """Amounts of elements (or unresolved groups such as ``"Ni+Mn+Co"``) from one technique.

    Attributes
    ----------
    values : dict
        Key → ``uncertainties`` number (1σ), or a float when σ = 0. Keys are element symbols or groups
        ``"Ni+Mn+Co"`` (a technique that measures their sum only, e.g. ToF-ERDA or RBS
        for the transition metals).
    quantity : str
        One of :data:`QUANTITIES`; its unit is ``QUANTITIES[quantity]``.
    technique : str
        Upper-case technique label used in merge rules (``"RBS"``, ``"ERDA"``, ``"PIXE"``).
    source_file : str or None
    layer : str or None
        Which layer of the file the values come from.
    notes : dict
        Key → remark (e.g. ``"? near detection limit"``, ``"no uncertainty in file"``).
    history : list
        Provenance records.
    """

    values: dict
    quantity: str
    technique: str
    source_file: str | None = None
    layer: str | None = None
    notes: dict = dataclasses.field(default_factory=dict)
    history: list = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.quantity not in QUANTITIES:
            raise ParameterError(
                f"quantity {self.quantity!r} not known; use one of {', '.join(QUANTITIES)}"
            )
        for key, val in self.values.items():
            split_key(key)
            nominal = getattr(val, "nominal_value", val)
            if not math.isfinite(nominal) or nominal < 0:
                raise DataError(
                    f"{self.technique} amount of {key} is {nominal!r} "
                    f"({self.source_file or 'no file'}); amounts must be finite and ≥ 0"
                )

    @property
    def units(self) -> str:
        """Unit of :attr:`values`."""
        return QUANTITIES[self.quantity]

    @property
    def is_absolute(self) -> bool:
        """True for areal densities (1e15 at/cm²), which fix an absolute scale."""
        return self.quantity == "areal_density"

    def atomic(self) -> dict[str, Any]:
        """Values on an atomic scale: mass quantities are divided by atomic masses.

        Returns ``{key: ufloat}``, proportional to numbers of atoms (arbitrary scale unless
        :attr:`is_absolute`).

        Raises
        ------
        DataError
            For an unresolved group given as a mass quantity (its mass is ambiguous).
        """
        if self.quantity in ATOMIC:
            return dict(self.values)
        out = {}
        for key, val in self.values.items():
            parts = split_key(key)
            if len(parts) > 1:
                raise DataError(
                    f"{self.technique}: group {key} is given as {self.quantity}; a mass amount "
                    "of an unresolved group cannot be converted to atoms. Give it as at.%"
                )
            out[key] = val / atomic_mass(parts[0])
        return out

    @classmethod
    def from_values(
        cls,
        values: Mapping[str, Any],
        *,
        quantity: str,
        technique: str,
        source_file: str | None = None,
        layer: str | None = None,
    ) -> ElementAmounts:
        """Build from ``{key: ufloat | (value, sigma) | float}`` (floats get σ = 0).

        Isotope labels are folded into elements (``7Li`` → ``Li``), summing duplicates.
        """
        from uncertainties import ufloat

        out: dict[str, Any] = {}
        tech = technique.upper()
        for key, val in values.items():
            k = _fold_key(key)
            if isinstance(val, tuple):
                val = (
                    ufloat(float(val[0]), float(val[1]), tag=f"{tech}:{k}")
                    if float(val[1]) > 0
                    else float(val[0])
                )
            elif not hasattr(val, "nominal_value"):
                val = float(val)  # exact (σ = 0)
            out[k] = out[k] + val if k in out else val
        return cls(
            values=out,
            quantity=quantity,
            technique=tech,
            source_file=source_file,
            layer=layer,
            history=[
                history_record(
                    "amounts",
                    function="charsuite.composition.ElementAmounts.from_values",
                    parameters={"quantity": quantity, "technique": tech},
                    input_file=source_file,
                )
            ],
        )


def _fold_key(key: str) -> str:
    parts = [p for p in str(key).replace(" ", "").split("+") if p]
    if not parts:
        raise ParameterError(f"empty element name {key!r}")
    return group_key(fold_isotope(p) for p in parts)


def amounts_from(
    obj: Any,
    *,
    technique: str | None = None,
    layer: int | str | None = None,
    variable: str | None = None,
    relabel: Mapping[str, str] | None = None,
    include_below_lod: bool = False,
) -> ElementAmounts:
    """Take one layer of a composition dataset (or a file) as :class:`ElementAmounts`.

    Parameters
    ----------
    obj : xarray.Dataset, str, Path or ElementAmounts
        A dataset from :func:`charsuite.io.read`, or a path read with it.
    technique : str, optional
        Technique label for merge rules; defaults to the variable's ``technique``
        attribute. Also selects among variables of a multi-technique result sheet.
    layer : int or str, optional
        Layer coordinate value; default: the first (top) layer. The choice is recorded.
    variable : str, optional
        Amount variable to use when the dataset holds several (e.g. ``"at_pct"``).
    relabel : mapping, optional
        Rename keys, e.g. ``{"Mn": "Ni+Mn+Co"}`` when a ToF-ERDA "Mn" cut holds every
        transition metal (they are not mass-resolved).
    include_below_lod : bool
        Keep elements flagged ``N`` (not detected) by PIXE; ``?`` entries are kept and
        noted.

    Returns
    -------
    ElementAmounts
        Independent uncertainties per element (tag ``"<TECH>:<El>"``); elements whose
        value is NaN in that layer (not measured) are left out. A missing σ is taken as 0
        and noted.

    Raises
    ------
    ParameterError
        Unknown variable/layer, or several candidate variables.
    DataError
        Negative amounts.
    """
    import numpy as np
    import xarray as xr
    from uncertainties import ufloat

    if isinstance(obj, ElementAmounts):
        return _relabel(obj, relabel) if relabel else obj
    if isinstance(obj, str | Path):
        from charsuite.io import read

        obj = read(obj)
    if not isinstance(obj, xr.Dataset):
        raise ParameterError(
            f"expected a composition Dataset, a file path or ElementAmounts, got {type(obj)}"
        )
    require_composition(obj)
    source = obj.attrs.get("source_file")
    candidates = [
        name
        for name, var in obj.data_vars.items()
        if var.attrs.get("quantity") in QUANTITIES
        and (technique is None or str(var.attrs.get("technique", "")).upper() == technique.upper())
    ]
    if variable is not None:
        if variable not in obj.data_vars or variable not in candidates:
            raise ParameterError(
                f"variable {variable!r} is not an amount variable of this dataset "
                f"({source}); choose one of {candidates}"
            )
        name = variable
    elif len(candidates) == 1:
        name = candidates[0]
    elif candidates and len({_tech(obj[c]) for c in candidates}) == 1:
        # one technique, several quantities (e.g. at.% and areal density of a fit):
        # prefer the absolute one, then atomic, then mass quantities
        order = ("areal_density", "at_pct", "at_fraction", "ratio", "wt_pct", "ppm_mass")
        name = min(candidates, key=lambda c: order.index(obj[c].attrs["quantity"]))
    elif not candidates:
        raise ParameterError(
            f"no amount variable{' for technique ' + technique if technique else ''} in "
            f"{source}; variables: {list(obj.data_vars)}"
        )
    else:
        raise ParameterError(
            f"{source} holds several amount variables {candidates}; pass variable= "
            "(CLI: choose the technique) to pick one"
        )
    var = obj[name]
    layers = list(obj["layer"].values)
    if layer is None:
        index = 0
    else:
        matches = [i for i, v in enumerate(layers) if str(v) == str(layer)]
        if not matches:
            raise ParameterError(f"layer {layer!r} not in {source}; layers are {layers}")
        index = matches[0]
    tech = (technique or var.attrs.get("technique") or obj.attrs.get("format", "?")).upper()
    values = np.asarray(var.isel(layer=index).values, dtype=float)
    sigma_name = f"{name}_sigma"
    sigmas = (
        np.asarray(obj[sigma_name].isel(layer=index).values, dtype=float)
        if sigma_name in obj
        else np.full(values.shape, np.nan)
    )
    flags = (
        [str(v) for v in obj["presence"].isel(layer=index).values] if "presence" in obj else None
    )
    out: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for i, el in enumerate(str(e) for e in obj["element"].values):
        v, s = values[i], sigmas[i]
        if not math.isfinite(v):
            continue
        flag = flags[i] if flags else "Y"
        if flag == "N" and not include_below_lod:
            notes[el] = "N: below detection limit, left out"
            continue
        if flag == "?":
            notes[el] = "?: near detection limit (kept)"
        if v < 0:
            raise DataError(f"{source}: {tech} {name} of {el} is negative ({v}); expected ≥ 0")
        if not math.isfinite(s):
            notes[el] = (notes.get(el, "") + "; no uncertainty in file (σ = 0)").lstrip("; ")
            s = 0.0
        key = _fold_key(el)
        if relabel and key in relabel:
            key = _fold_key(relabel[key])
        # σ = 0 stays a plain float (uncertainties warns about zero-σ variables)
        u = ufloat(float(v), float(s), tag=f"{tech}:{key}") if s > 0 else float(v)
        out[key] = out[key] + u if key in out else u
    if not out:
        raise DataError(f"{source}: layer {layers[index]!r} has no finite {name} values")
    record = history_record(
        "amounts",
        function="charsuite.composition.amounts_from",
        parameters={
            "technique": tech,
            "layer": str(layers[index]),
            "variable": name,
            "relabel": dict(relabel or {}),
            "include_below_lod": include_below_lod,
        },
        input_file=source,
    )
    return ElementAmounts(
        values=out,
        quantity=var.attrs["quantity"],
        technique=tech,
        source_file=source,
        layer=str(layers[index]),
        notes=notes,
        history=[*obj.attrs.get("history", []), record],
    )


def sources_from(
    obj: Any, *, layer: int | str | None = None, include_below_lod: bool = False
) -> dict[str, ElementAmounts]:
    """Every technique of a composition dataset (e.g. a multi-technique result sheet).

    Returns ``{technique: ElementAmounts}`` ready for :func:`charsuite.composition.combine`.

    Raises
    ------
    ParameterError
        If one technique has several amount quantities (pick one with :func:`amounts_from`).
    """
    import xarray as xr

    if isinstance(obj, str | Path):
        from charsuite.io import read

        obj = read(obj)
    if not isinstance(obj, xr.Dataset):
        raise ParameterError(f"expected a composition Dataset or a path, got {type(obj)}")
    techniques = []
    for var in obj.data_vars.values():
        if var.attrs.get("quantity") in QUANTITIES and _tech(var) not in techniques:
            techniques.append(_tech(var))
    if not techniques:
        raise ParameterError(f"no amount variables in {obj.attrs.get('source_file')}")
    return {
        t: amounts_from(obj, technique=t, layer=layer, include_below_lod=include_below_lod)
        for t in techniques
    }


def _tech(var) -> str:
    return str(var.attrs.get("technique", "")).upper()


def _relabel(amounts: ElementAmounts, relabel: Mapping[str, str]) -> ElementAmounts:
    values: dict[str, Any] = {}
    for key, val in amounts.values.items():
        new = _fold_key(relabel.get(key, key))
        values[new] = values[new] + val if new in values else val
    return dataclasses.replace(amounts, values=values)


@dataclasses.dataclass(frozen=True)
class AmountTable(Result):
    """Every amount of a composition file, per variable, layer and element.

    Attributes
    ----------
    file, format : str
    variables : dict
        ``{name: {"quantity", "technique", "units", "layers": {layer: {element:
        {"value", "uncertainty"}}}}}`` (elements not listed in a layer are left out;
        ``uncertainty`` is null when the file gives none).
    layer_thickness_1e15_at_cm2 : dict
        ``{layer: thickness}`` when the file states it.
    metadata : dict
    history : list
    """

    file: str
    format: str
    variables: dict
    layer_thickness_1e15_at_cm2: dict
    metadata: dict
    history: list = dataclasses.field(default_factory=list)


def require_composition(obj: Any) -> None:
    """Refuse data that are not a composition table (layer × element) in one line.

    Raises
    ------
    DataError
        ``obj`` is another technique's data (an XRD pattern, a cycling record, a
        two-column spectrum read as XRD): the message names what it holds.
    """
    import xarray as xr

    from charsuite.exceptions import DataError

    dims = set(getattr(obj, "dims", ()))
    if isinstance(obj, xr.Dataset | xr.DataArray) and {"layer", "element"} <= dims:
        return
    attrs = getattr(obj, "attrs", {}) or {}
    technique = attrs.get("technique") or "unknown"
    fmt = attrs.get("format") or "?"
    raise DataError(
        f"{attrs.get('source_file') or 'the data'}: read as {technique} data (format {fmt}, "
        f"dims {sorted(map(str, dims))}), not a composition table with layer and element; "
        "give an ion-beam or composition file (or pass --format)"
    )


def amount_table(obj: Any) -> AmountTable:
    """Tabulate a composition dataset (or file) for display and JSON export."""
    import numpy as np

    if isinstance(obj, str | Path):
        from charsuite.io import read

        obj = read(obj)
    require_composition(obj)
    variables = {}
    layers = [str(v) for v in obj["layer"].values]
    elements = [str(e) for e in obj["element"].values]
    for name, var in obj.data_vars.items():
        if var.attrs.get("quantity") not in QUANTITIES:
            continue
        sig = obj.get(f"{name}_sigma")
        rows: dict[str, dict] = {}
        for i, layer in enumerate(layers):
            row = {}
            for j, el in enumerate(elements):
                v = float(var.values[i, j])
                if not np.isfinite(v):
                    continue
                s = float(sig.values[i, j]) if sig is not None else float("nan")
                row[el] = {"value": v, "uncertainty": s if np.isfinite(s) else None}
            rows[layer] = row
        variables[str(name)] = {
            "quantity": var.attrs["quantity"],
            "technique": var.attrs.get("technique"),
            "units": var.attrs.get("units"),
            "layers": rows,
        }
    thickness = {}
    if "layer_thickness" in obj.coords:
        thickness = {
            layer: float(t)
            for layer, t in zip(layers, obj["layer_thickness"].values)
            if np.isfinite(t)
        }
    return AmountTable(
        file=str(obj.attrs.get("source_file")),
        format=str(obj.attrs.get("format")),
        variables=variables,
        layer_thickness_1e15_at_cm2=thickness,
        metadata=dict(obj.attrs.get("metadata", {})),
        history=list(obj.attrs.get("history", [])),
    )
