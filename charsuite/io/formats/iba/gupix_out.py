"""GUPIX / GUPIXWIN ``.out`` PIXE results: the final concentration table.

Layout (GUPIX 2.2.0 output, iba research notes §2.5): a header (``File:``,
``Chi**2=``, ``Proton energy(keV):``, matrix, filters), parameter and peak-area tables,
then the final table::

           Layer         H   Yield Det. Filter
     Element     Area  value  /uC/ Eff. Trans.     Conc.  %Stat.  %Fit      LOD
      Z Sym  #  counts ( -4)   ppm (-3)  (-5)       ppm    Error  Error     ppm
      - ---  -  ------ ----- ----- ---- ------     -----   -----  -----    -----  -
     24 CrK  1  3734.6   120  2559 1000  35005    9110.8    1.60   1.80     99.8  Y

``Conc.`` is ppm **by mass**; the last column is GUPIX's presence decision: ``Y``
present, ``N`` not present at the detection limit, ``?`` near the limit (user decides).
When several final tables exist the last one is read. The layer column ``#`` becomes
the ``layer`` coordinate.

Uncertainty convention: σ = Conc × max(%Stat, %Fit) / 100. The fit error already
contains the counting statistics; %Stat is used where no fit error is given.

Returned dataset: ``ppm_mass`` (+ ``_sigma``), ``lod`` (ppm), ``stat_error_pct``,
``fit_error_pct``, ``area`` (counts) and ``presence`` (Y/N/?) over
``("layer", "element")``. Convert mass to atomic ratios with
:func:`charsuite.composition.amounts_from` (it divides by atomic masses).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.iba.common import SYMBOLS, check_amounts, decode, layer_dataset, number

SPEC = FormatSpec(
    name="gupix-out",
    technique="composition",
    extensions=(".out",),
    description="GUPIX PIXE result (.out): ppm by mass, %Stat/%Fit errors, LOD, Y/N/? flags",
    priority=60,
)
_ROW = re.compile(
    r"^\s*(?P<z>\d{1,3})\s+(?P<sym>[A-Z][a-z]?)(?P<line>K|L[A-Z]?|M[A-Z]?)\s+(?P<lay>\d+)\s+"
    r"(?P<nums>(?:\S+\s+){4,}\S+)\s+(?P<flag>[YN?])\s*$"
)


def can_read(path: Path, head: bytes) -> bool:
    """Accept the final table's column header, or a GUPIX banner with its fit header."""
    if b"\x00" in head:
        return False
    if b"Conc." in head and b"LOD" in head and b"%Stat" in head:
        return True
    return b"GUPIX" in head.upper() and (b"Chi**2" in head or b"energy(keV)" in head)


def read(path: Path, *, lazy: bool = False):
    """Read the final concentration table of a GUPIX ``.out`` file.

    Raises
    ------
    ReaderError
        No final table, a row whose Z does not match its symbol, non-numeric, NaN or
        negative concentrations.
    """
    import numpy as np

    fmt = SPEC.name
    text = decode(path, fmt)
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines) if "Conc." in ln and "LOD" in ln]
    if not starts:
        raise ReaderError(
            "no final concentration table (header with 'Conc.' and 'LOD'); is this a GUPIX "
            ".out result file?",
            path=path,
            format=fmt,
        )
    start = starts[-1]
    order = [lines[start].find(k) for k in ("Conc.", "%Stat", "%Fit", "LOD")]
    if -1 in order or order != sorted(order):
        raise ReaderError(
            f"line {start + 1}: final-table header does not list Conc., %Stat, %Fit, LOD in "
            "this order; a GUPIX version this reader does not know",
            path=path,
            format=fmt,
        )
    rows = []
    for lineno in range(start + 1, len(lines)):
        line = lines[lineno]
        m = _ROW.match(line)
        if m:
            rows.append((lineno + 1, m))
        elif rows and line.strip():
            break
    if not rows:
        raise ReaderError(
            f"final table at line {start + 1} has no element rows", path=path, format=fmt
        )
    entries: dict[tuple[int, str], dict] = {}
    chosen_lines: dict[str, str] = {}
    for lineno, m in rows:
        where = f"line {lineno}"
        sym = m.group("sym")
        z = int(m.group("z"))
        if sym not in SYMBOLS or SYMBOLS.index(sym) + 1 != z:
            raise ReaderError(
                f"{where}: Z = {z} does not match element {sym!r}", path=path, format=fmt
            )
        nums = [
            number(t, path=path, fmt=fmt, where=where, what="value")
            for t in m.group("nums").split()
        ]
        # first number = peak area; the last four = Conc., %Stat, %Fit, LOD (header order),
        # so versions with fewer factor columns (H value, yield, efficiency...) also parse
        area, (conc, stat, fit, lod) = nums[0], nums[-4:]
        check_amounts([conc, area], [sym, f"{sym} area"], path=path, fmt=fmt, where=where)
        rel = max(stat, fit)
        if not np.isfinite(rel) or rel < 0:
            raise ReaderError(f"{where}: invalid error percentage", path=path, format=fmt)
        key = (int(m.group("lay")), sym)
        entry = {
            "conc": conc,
            "sigma": conc * rel / 100,
            "stat": stat,
            "fit": fit,
            "lod": lod,
            "area": area,
            "flag": m.group("flag"),
            "line": m.group("line"),
        }
        previous = entries.get(key)
        # several X-ray lines of one element: keep the present one with the smaller error
        if previous is None or (
            (entry["flag"] == "Y", -rel)
            > (previous["flag"] == "Y", -max(previous["stat"], previous["fit"]))
        ):
            entries[key] = entry
            chosen_lines[f"{sym} layer {key[0]}"] = entry["line"]
    layers = sorted({k[0] for k in entries})
    elements: list[str] = []
    for _, sym in entries:
        if sym not in elements:
            elements.append(sym)
    shape = (len(layers), len(elements))

    def grid(field, fill=np.nan):
        out = np.full(shape, fill, dtype=object if isinstance(fill, str) else float)
        for (lay, sym), e in entries.items():
            out[layers.index(lay), elements.index(sym)] = e[field]
        return out

    meta: dict = {"xray_lines": chosen_lines, "uncertainty": "Conc * max(%Stat, %Fit) / 100"}
    header = lines[: max(0, start - 2)]
    for ln in header:
        if m := re.search(r"(Proton|Beam|He|Alpha)\s*energy\s*\(keV\)\s*[:=]\s*([\d.]+)", ln, re.I):
            meta["beam_energy_keV"] = float(m.group(2))
        if m := re.search(r"Chi\*\*2\s*=\s*([-+\d.Ee]+)", ln):
            with contextlib.suppress(ValueError):
                meta["chi_square"] = float(m.group(1))
        if "GUPIX" in ln.upper():
            meta["program"] = ln.strip()
    notes = [ln.strip() for ln in lines[rows[-1][0] :] if "multiplied by" in ln]
    if notes:
        meta["normalisation_note"] = notes[0]
    return layer_dataset(
        elements=elements,
        layers=layers,
        variables={"ppm_mass": ("ppm_mass", grid("conc"), grid("sigma"))},
        technique="PIXE",
        extra={
            "lod": (("layer", "element"), grid("lod"), {"units": "ppm"}),
            "stat_error_pct": (("layer", "element"), grid("stat"), {"units": "%"}),
            "fit_error_pct": (("layer", "element"), grid("fit"), {"units": "%"}),
            "area": (("layer", "element"), grid("area"), {"units": "counts"}),
            "presence": (
                ("layer", "element"),
                grid("flag", "").astype(str),
                {"units": "dimensionless", "long_name": "GUPIX Y/N/? presence flag"},
            ),
        },
        metadata=meta,
        original_metadata={"header": header[:80]},
    )
