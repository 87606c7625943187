"""The sample TOML: schema, validation with line numbers, and the normalised :class:`SampleSpec`.

The file is parsed with :mod:`tomllib` (standard library). ``tomllib`` keeps no positions,
so :func:`_line_of` finds the line of a key by scanning the text for its table header and
``key =`` line; every error names the table, the key and that line. Physical values are
strings with units parsed by :func:`charsuite.model.parse_quantity` (a bare number is in
the unit given in :data:`SCHEMA`). Paths are relative to the TOML's folder.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from charsuite.exceptions import ParameterError
from charsuite.model import Result

# Field kinds: "str", "bool", "int", "float", "path", "strs" (list of str), "ints",
# "range" (two numbers), "qty:<unit>", "paths" (table label -> path), "table" (str -> str),
# "tables" (label -> table), "any" (str or number).
#: table -> {key: (kind, required, help)}; "[]" marks an array of tables.
SCHEMA: dict[str, dict[str, tuple[str, bool, str]]] = {
    "sample": {
        "name": ("str", True, "sample name"),
        "stack": ("strs", False, 'layers top to bottom, "NAME:THICKNESS" (last = substrate)'),
        "film_thickness": ("qty:nm", False, "cathode film thickness (bare number: nm)"),
        "density": ("qty:g/cm**3", False, "film density (bare number: g/cm³)"),
        "area": ("qty:cm**2", False, "electrode area (bare number: cm²)"),
        "target": ("str", False, "target (nominal) formula"),
    },
    "xrd": {
        "film": ("path", True, "GI-XRD scan of the film stack"),
        "substrate": ("path", False, "the same scan of the substrate alone"),
        "incidence_angle": ("qty:deg", False, "incidence angle ω (default: from the file)"),
        "instrument_fwhm": ("qty:deg", False, "instrument peak FWHM (for Scherrer size)"),
        "phases": ("strs", False, "restrict the search to these library phases"),
    },
    "composition": {
        "files": ("paths", True, "technique label -> result file (RBS, ERDA, PIXE, ...)"),
        "rules": ("strs", False, "merge rules, e.g. 'Li from ERDA'"),
        "basis": ("str", False, "normalisation (default Ni+Mn+Co=1)"),
        "oxygen": ("any", False, "unknown, measured, charge-balance or a number per f.u."),
        "oxygen_range": ("range", False, "oxygen per f.u. for the capacity range"),
        "electrons": ("float", False, "electrons per formula unit for the capacity"),
        "depth_range": ("range", False, "Potku averaging window (1e15 at/cm²)"),
        "relabel": ("tables", False, "label -> {old: new}, e.g. ERDA = {Mn = 'Ni+Mn+Co'}"),
        "layers": ("table", False, "label -> layer name to use"),
    },
    "sims": {
        "file": ("path", True, "ToF-SIMS cube (TofDAQ HDF5, ...)"),
        "layers": (
            "str",
            False,
            'stack for depth calibration, "Li:300nm,LiPON:500nm,...,substrate"',
        ),
        "species": ("strs", False, "species for the co-localisation test"),
        "layer": ("str", False, "layer in which to test co-localisation"),
        "dead_time": ("bool", False, "Poisson dead-time correction (default true)"),
        "variable": ("str", False, "profile variable for calibration (default counts)"),
    },
    "tomogram": {
        "file": ("path", True, "ToF-SIMS cube for the 3D tomogram"),
        "layers": ("str", False, '"NAME:THICKNESS:MARKER,..." for z-correction'),
        "species": ("strs", False, "species to keep"),
        "register": ("bool", False, "correct lateral drift (default true)"),
        "regions": ("str", False, "species whose segregated regions are searched"),
        "regions_in": ("str", False, "layer (from layers) the regions are searched in"),
    },
    "echem": {
        "mass": ("qty:mg", False, "active mass (default: density × thickness × area)"),
        "one_c": ("qty:uA/cm**2", False, "current of 1C per area (bare number: µA/cm²)"),
        "circuit": ("str", False, "EIS equivalent circuit"),
        "profile_cycles": ("ints", False, "cycles for the charge–discharge curves"),
    },
    "echem.cycling[]": {
        "file": ("path", True, "cycling file"),
        "label": ("str", False, "legend label"),
        "window_groups": ("bool", False, "group cycles by voltage window (default true)"),
    },
    "echem.cycle_life": {
        "file": ("path", True, "long-term cycling file"),
        "label": ("str", False, "title"),
    },
    "echem.dqdv": {
        "file": ("path", True, "slow-rate cycling file"),
        "cycle": ("int", False, "cycle (default 1)"),
        "smooth": ("qty:V", False, "Gaussian smoothing (default 20 mV)"),
    },
    "echem.eis[]": {
        "file": ("path", True, "impedance spectrum"),
        "label": ("str", False, "legend label"),
    },
}

#: step name -> (technique heading, tables it is built from)
STEPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "xrd": ("GI-XRD", ("xrd",)),
    "composition": ("Composition (RBS / ERDA / PIXE)", ("composition",)),
    "sims": ("ToF-SIMS depth profile", ("sims",)),
    "tomogram": ("ToF-SIMS tomogram", ("tomogram",)),
    "cycling": ("Electrochemistry: cycling", ("echem", "echem.cycling[]")),
    "cycle_life": ("Electrochemistry: cycle life", ("echem", "echem.cycle_life")),
    "dqdv": ("Electrochemistry: dQ/dV", ("echem", "echem.dqdv")),
    "eis": ("Electrochemistry: impedance", ("echem", "echem.eis[]")),
}


@dataclasses.dataclass(frozen=True)
class SampleSpec(Result):
    """A validated sample TOML.

    Attributes
    ----------
    path : str
        The TOML file.
    sample : dict
        ``name``, ``stack`` [(name, thickness_nm or None)], ``film_thickness_nm``,
        ``density_g_cm3``, ``area_cm2``, ``target``.
    tables : dict
        Table name -> validated values (quantities as floats in the schema unit, paths
        absolute); arrays of tables are lists of dicts.
    """

    path: str
    sample: dict
    tables: dict

    def steps(self) -> dict[str, dict]:
        """Step name -> ``{"title", "inputs": [paths], "options": {table: values}}``."""
        out = {}
        for name, (title, tables) in STEPS.items():
            if tables[-1] not in self.tables:
                continue
            options = {t: self.tables.get(t) for t in tables}
            out[name] = {"title": title, "inputs": _paths_in(options), "options": options}
        return out


def _paths_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths_in(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths_in(v)]
    if isinstance(value, _PathStr):
        return [str(value)]
    return []


class _PathStr(str):
    """A validated input path (so the runner can find every input to hash)."""


def _line_of(text: str, table: str, key: str | None = None, index: int = 0) -> int:
    """1-based line of ``key`` inside ``[table]`` (or of the header when ``key`` is None).

    A scan, not a parser: good enough to point the user at the line (tomllib has no
    positions). Returns the header line, or 1, when the key is not found.
    """
    name = table.removesuffix("[]")
    header = re.compile(r"^\s*\[\[?\s*" + re.escape(name) + r"\s*\]\]?\s*(#.*)?$")
    any_header = re.compile(r"^\s*\[")
    lines = text.splitlines()
    seen, start = -1, None
    for i, line in enumerate(lines):
        if header.match(line):
            seen += 1
            if seen == index:
                start = i
                break
    if start is None:
        if name == "" or "." in name:
            start = -1
        else:
            return 1
    if key is None:
        return start + 1
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for i in range(start + 1, len(lines)):
        if start >= 0 and any_header.match(lines[i]):
            break
        if pattern.match(lines[i]):
            return i + 1
    return max(start + 1, 1)


@dataclasses.dataclass
class _Checker:
    """Validates one table against :data:`SCHEMA`, raising with table, key and line."""

    text: str
    toml: Path
    root: Path

    def fail(self, table: str, key: str | None, problem: str, index: int = 0) -> None:
        line = _line_of(self.text, table, key, index)
        where = f"[{table.removesuffix('[]')}]" + (f" {key}" if key else "")
        raise ParameterError(f"line {line}: {where}: {problem}", path=self.toml)

    def table(self, table: str, values: Any, index: int = 0) -> dict:
        schema = SCHEMA[table]
        if not isinstance(values, dict):
            self.fail(table, None, f"expected a table, got {type(values).__name__}", index)
        for key in values:
            if key not in schema:
                allowed = ", ".join(schema)
                self.fail(table, key, f"unknown key (allowed: {allowed})", index)
        out = {}
        for key, (kind, required, _) in schema.items():
            if key not in values:
                if required:
                    self.fail(table, None, f"missing required key {key!r}", index)
                continue
            out[key] = self.value(table, key, kind, values[key], index)
        return out

    def value(self, table: str, key: str, kind: str, value: Any, index: int) -> Any:
        def bad(expected: str) -> None:
            got = f"{type(value).__name__} {value!r}"
            self.fail(table, key, f"expected {expected}, got {got}", index)

        if kind.startswith("qty:"):
            return self.quantity(table, key, kind[4:], value, index)
        if kind in ("str", "path"):
            if not isinstance(value, str):
                bad("a string")
            return self.path(table, key, value, index) if kind == "path" else value
        if kind == "bool":
            return value if isinstance(value, bool) else bad("true or false")
        if kind == "int":
            return value if type(value) is int else bad("an integer")
        if kind in ("float", "any"):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                bad("a number")
            if kind == "float" and isinstance(value, str):
                bad("a number")
            return float(value) if isinstance(value, int | float) else value
        return self.compound(table, key, kind, value, index, bad)

    def compound(self, table, key, kind, value, index, bad) -> Any:
        if kind in ("strs", "ints"):
            item = str if kind == "strs" else int
            if not isinstance(value, list) or not all(type(v) is item for v in value):
                bad(f"a list of {'strings' if item is str else 'integers'}")
            return list(value)
        if kind == "range":
            ok = isinstance(value, list) and len(value) == 2
            if not ok or not all(isinstance(v, int | float) for v in value):
                bad("two numbers [from, to]")
            return [float(v) for v in value]
        if not isinstance(value, dict):
            bad("a table")
        if kind == "paths":
            return {k: self.value(table, key, "path", v, index) for k, v in value.items()}
        if kind == "table":
            if not all(isinstance(v, str) for v in value.values()):
                bad("a table of strings")
            return dict(value)
        if not all(isinstance(v, dict) for v in value.values()):
            bad("a table of tables")
        return {k: {a: str(b) for a, b in v.items()} for k, v in value.items()}

    def quantity(self, table: str, key: str, unit: str, value: Any, index: int) -> float:
        from charsuite.model import parse_quantity

        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(table, key, f"expected a number with a unit ({unit}), got {value!r}", index)
        try:
            return parse_quantity(value, unit, name=key)
        except ParameterError as err:
            self.fail(table, key, err.one_line(), index)
        raise AssertionError  # unreachable: fail() raises

    def path(self, table: str, key: str, value: str, index: int) -> _PathStr:
        path = (self.root / value).expanduser()
        if not path.is_file():
            self.fail(table, key, f"file not found: {path} (paths are relative to the TOML)", index)
        return _PathStr(path.resolve())


def load_spec(path: str | Path) -> SampleSpec:
    """Read and validate a sample TOML.

    Parameters
    ----------
    path : str or Path
        The TOML file; relative input paths resolve against its folder.

    Returns
    -------
    SampleSpec

    Raises
    ------
    ParameterError
        Syntax error, unknown table or key, wrong type, bad unit or missing file; the
        message names the key and its line.

    Examples
    --------
    >>> spec = load_spec("sample.toml")  # doctest: +SKIP
    >>> sorted(spec.steps())  # doctest: +SKIP
    ['composition', 'xrd']
    """
    import tomllib

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ParameterError(f"cannot read the sample TOML ({err})", path=path) from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ParameterError(f"not valid TOML: {err}", path=path) from err
    check = _Checker(text=text, toml=path, root=path.resolve().parent)
    tables = _walk(check, data)
    if "sample" not in tables:
        check.fail("sample", None, "missing the [sample] table")
    try:
        sample = _sample(tables["sample"])
    except ParameterError as err:
        check.fail("sample", "stack", err.one_line())
    return SampleSpec(path=str(path.resolve()), sample=sample, tables=tables)


def _walk(check: _Checker, data: dict) -> dict:
    tables: dict[str, Any] = {}
    for name, value in data.items():
        if name == "echem" and isinstance(value, dict):
            sub = {k: v for k, v in value.items() if f"echem.{k}" in SCHEMA}
            sub.update({k: v for k, v in value.items() if f"echem.{k}[]" in SCHEMA})
            rest = {k: v for k, v in value.items() if k not in sub}
            tables["echem"] = check.table("echem", rest)
            for key, val in sub.items():
                tables.update(_sub_table(check, f"echem.{key}", val))
        elif name in SCHEMA:
            tables[name] = check.table(name, value)
        else:
            allowed = ", ".join(sorted({t.split(".")[0] for t in SCHEMA}))
            line = _line_of(check.text, name)
            raise ParameterError(
                f"line {line}: unknown table or key {name!r} (allowed: {allowed})", path=check.toml
            )
    return tables


def _sub_table(check: _Checker, name: str, value: Any) -> dict:
    if f"{name}[]" in SCHEMA:
        key = f"{name}[]"
        if not isinstance(value, list):
            check.fail(key, None, "expected an array of tables [[...]]")
        return {key: [check.table(key, v, i) for i, v in enumerate(value)]}
    return {name: check.table(name, value)}


def _sample(values: dict) -> dict:
    from charsuite.model import parse_quantity

    stack = []
    for item in values.get("stack", []):
        name, _, thick = item.partition(":")
        nm = parse_quantity(thick, "nm", name=f"stack {name}") if thick.strip() else None
        stack.append((name.strip(), nm))
    return {
        "name": values["name"],
        "stack": stack,
        "film_thickness_nm": values.get("film_thickness"),
        "density_g_cm3": values.get("density"),
        "area_cm2": values.get("area"),
        "target": values.get("target"),
    }
