"""NDF ``.PRF`` layer profiles (fitted thickness and molecule concentrations per layer).

Layout (NDF v10.0a manual §2.1.4, §8.2; research notes §2.2)::

    2                                   <- number of layers
    301.642  72.363  27.637             <- thickness (1e15 at/cm²), concentrations of the
    7126.0    0.000  100.00                 molecules/elements of the STR file (unnormalised)
    thickness(1e15at/cm2), comp_molecules...
    molecules  2
    7.492 Co?=0.36pt?=0.64              <- density (1e22 at/cm³) and molecule name
    4.533 Si1o2
    <provenance line>

Molecule names are re-cased (NDF lower-cases after the first letter: ``Si1o2`` →
Si1O2), the variable-stoichiometry marker ``?=`` is dropped, and each molecule is split
into elements normalised to one atom, so element fraction = Σ molecule fraction ×
stoichiometric fraction. Files without the footer need ``names=[...]`` (the STR file's
molecule list, in column order).

Returned dataset: ``at_pct`` and ``areal_density`` over ``("layer", "element")`` (no
uncertainties), ``layer_thickness`` (1e15 at/cm²).
"""

from __future__ import annotations

import re
from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.iba.common import check_amounts, decode, element, layer_dataset, number

SPEC = FormatSpec(
    name="ndf-prf",
    technique="composition",
    extensions=(".prf",),
    description="NDF .PRF layer profile: thickness + molecule concentrations per layer",
    priority=55,
)


def can_read(path: Path, head: bytes) -> bool:
    """Accept a layer count line followed by numeric rows and the ``molecules N`` footer.

    (or a ``.prf`` extension).
    """
    if b"\x00" in head:
        return False
    lines = [ln for ln in head.decode("latin-1").splitlines() if ln.strip()]
    if len(lines) < 2 or not re.fullmatch(r"\s*\d{1,4}\s*", lines[0]):
        return False
    n = int(lines[0])
    body = lines[1 : 1 + n]
    numeric = all(re.fullmatch(r"\s*(?:[-+\d.eE]+\s+)+[-+\d.eE]+\s*", ln) for ln in body)
    footer = any(re.match(r"\s*molecules\s+\d+", ln, re.I) for ln in lines)
    return numeric and n >= 1 and (footer or Path(path).suffix.lower() == ".prf")


def read(path: Path, *, lazy: bool = False, names: list[str] | None = None):
    """Read an NDF ``.PRF`` profile.

    Parameters
    ----------
    path : Path
    lazy : bool
        Ignored.
    names : list of str, optional
        Molecule/element names of the columns when the file has no footer.

    Raises
    ------
    ReaderError
        Bad layer count, rows of unequal length, non-numeric/NaN/negative values,
        a footer whose molecule count does not match the columns, unknown elements.
    """
    import numpy as np

    from charsuite.io.formats.iba.idf import molecule_fractions

    fmt = SPEC.name
    lines = [(i + 1, ln) for i, ln in enumerate(decode(path, fmt).splitlines()) if ln.strip()]
    if not lines or not lines[0][1].strip().isdigit():
        raise ReaderError("line 1 must be the number of layers (an integer)", path=path, format=fmt)
    n = int(lines[0][1])
    if n < 1 or len(lines) < 1 + n:
        raise ReaderError(
            f"line 1 announces {n} layers but {len(lines) - 1} lines follow", path=path, format=fmt
        )
    rows = []
    for lineno, line in lines[1 : 1 + n]:
        where = f"line {lineno}"
        vals = [number(t, path=path, fmt=fmt, where=where, what="value") for t in line.split()]
        check_amounts(
            vals,
            ["thickness"] + [f"column {k}" for k in range(2, len(vals) + 1)],
            path=path,
            fmt=fmt,
            where=where,
        )
        if rows and len(vals) != len(rows[0]):
            raise ReaderError(
                f"{where}: {len(vals)} values, earlier layers have {len(rows[0])}",
                path=path,
                format=fmt,
            )
        rows.append(vals)
    if len(rows[0]) < 2:
        raise ReaderError(
            "layer rows need a thickness and ≥ 1 concentration", path=path, format=fmt
        )
    footer_names: list[str] = []
    rest = lines[1 + n :]
    for k, (lineno, line) in enumerate(rest):
        m = re.match(r"\s*molecules\s+(\d+)", line, re.I)
        if m:
            count = int(m.group(1))
            for lineno2, entry in rest[k + 1 : k + 1 + count]:
                parts = entry.split(None, 1)
                if len(parts) != 2:
                    raise ReaderError(
                        f"line {lineno2}: expected '<density> <name>'", path=path, format=fmt
                    )
                footer_names.append(parts[1].strip())
            if len(footer_names) != count:
                raise ReaderError(
                    f"line {lineno}: footer announces {count} molecules, found {len(footer_names)}",
                    path=path,
                    format=fmt,
                )
            break
    columns = list(names) if names is not None else footer_names
    if not columns:
        raise ReaderError(
            "no 'molecules N' footer naming the columns; pass names=[...] from the STR file",
            path=path,
            format=fmt,
        )
    if len(columns) != len(rows[0]) - 1:
        raise ReaderError(
            f"{len(columns)} molecule names for {len(rows[0]) - 1} concentration columns",
            path=path,
            format=fmt,
        )
    split = []
    for name in columns:
        try:
            parts = molecule_fractions(name)
        except ValueError as err:
            raise ReaderError(str(err), path=path, format=fmt) from None
        split.append(
            {
                element(s, path=path, fmt=fmt, where=f"molecule {name!r}"): f
                for s, f in parts.items()
            }
        )
    elements: list[str] = []
    for parts in split:
        elements += [e for e in parts if e not in elements]
    arr = np.asarray(rows)
    thickness = arr[:, 0]
    conc = arr[:, 1:]
    frac = np.zeros((n, len(elements)))
    listed = np.zeros((n, len(elements)), dtype=bool)
    for c, parts in enumerate(split):
        for el, f in parts.items():
            frac[:, elements.index(el)] += conc[:, c] * f
            listed[:, elements.index(el)] |= conc[:, c] > 0
    sums = frac.sum(axis=1)
    if np.any(sums <= 0):
        bad = int(np.argmax(sums <= 0)) + 1
        raise ReaderError(f"layer {bad}: all concentrations are zero", path=path, format=fmt)
    frac = np.where(listed, frac / sums[:, None], np.nan)  # NaN: not in the layer
    return layer_dataset(
        elements=elements,
        layers=list(range(1, n + 1)),
        variables={
            "at_pct": ("at_pct", frac * 100, None),
            "areal_density": ("areal_density", frac * thickness[:, None], None),
        },
        technique="RBS",
        thickness=thickness,
        metadata={"n_layers": n, "molecules": columns},
        original_metadata={"footer": [ln for _, ln in rest]},
    )
