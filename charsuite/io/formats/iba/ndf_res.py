"""NDF / DataFurnace ``.RES`` result files: the element layer table (RBS, ERDA, PIXE fits).

Layout (NDF v10.0a manual §8.2; research notes §2.2): header lines (version, stopping,
geometry, ``Partial chisquared``), then two layer tables with the same leading columns::

    Layer  t (1e15at/cm2) t (nm) r(1e22at/cm3)  Co?=0.36  Si1o2     Si     <- molecule %
    Layer  t (1e15at/cm2) t (nm) r(1e22at/cm3)     Co        Pt        Si        O   <- at.%
       1      301.642       45.194  6.674      25.6514   46.7116    9.2123   18.4247
     Total (1e15at/cm2):    0.1312E+03  0.2390E+03  0.7427E+04  0.3864E+03

The table whose columns are all element (or isotope) names is read; when several are
present (iterations), the last one. Thicknesses in nm "use weighted averages of atomic
densities and are meaningless except for pure layers" (NDF manual); they are kept as
``layer_thickness_nm`` for reference only.

NDF's Bayesian MCMC error bars (output kind 2: ``thickness, sigma_thickness, el1 (at.%),
el1_sigma, ...`` one row per layer, elements in table order) are attached with
``mcmc_file=``.

Returned dataset: ``at_pct`` (+ ``_sigma`` from MCMC, else NaN) and ``areal_density``
(+ ``_sigma``) over ``("layer", "element")``; ``layer_thickness`` (1e15 at/cm²).
"""

from __future__ import annotations

import re
from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.iba.common import check_amounts, decode, element, layer_dataset, number

SPEC = FormatSpec(
    name="ndf-res",
    technique="composition",
    extensions=(".res",),
    description="NDF/DataFurnace .RES result: element at.% and thickness per layer",
    priority=60,
)
_HEADER = re.compile(r"^\s*Layer\s+t\s*\(1e15at/cm2\)\s+t\s*\(nm\)\s+r\s*\(1e22at/cm3\)\s*(.*)$")


def can_read(path: Path, head: bytes) -> bool:
    """Accept text with NDF's layer-table header, or an NDF banner in a ``.res`` file."""
    if b"\x00" in head:
        return False
    text = head.decode("latin-1")
    if re.search(r"(?m)^\s*Layer\s+t\s*\(1e15at/cm2\)", text):
        return True
    return Path(path).suffix.lower() == ".res" and ("NDF" in text or "DataFurnace" in text)


def read(path: Path, *, lazy: bool = False, mcmc_file: str | Path | None = None):
    """Read the element at.% layer table of an NDF ``.RES`` file.

    Parameters
    ----------
    path : Path
    lazy : bool
        Ignored.
    mcmc_file : path, optional
        NDF MCMC output (kind 2) with σ per layer and element.

    Raises
    ------
    ReaderError
        No element table, rows with the wrong number of columns, non-numeric, NaN or
        negative values, element at.% not summing to 100 (± 1).
    """
    import numpy as np

    fmt = SPEC.name
    lines = decode(path, fmt).splitlines()
    tables = []
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if not m:
            continue
        names = m.group(1).split()
        if names and all(re.fullmatch(r"\d{0,3}[A-Z][a-z]?", n) for n in names):
            tables.append((i, names))
    if not tables:
        raise ReaderError(
            "no element layer table ('Layer  t (1e15at/cm2) t (nm) r(1e22at/cm3)  El ...' "
            "with element columns); is this an NDF .RES file?",
            path=path,
            format=fmt,
        )
    start, names = tables[-1]
    elements = [element(n, path=path, fmt=fmt, where=f"line {start + 1}") for n in names]
    rows, thick, thick_nm, dens, total = [], [], [], [], None
    for j in range(start + 1, len(lines)):
        line, where = lines[j], f"line {j + 1}"
        parts = line.split()
        if not parts:
            if rows:
                break
            continue
        if parts[0].isdigit():
            if len(parts) != 4 + len(names):
                raise ReaderError(
                    f"{where}: {len(parts)} columns, expected {4 + len(names)} (layer, t, t nm, "
                    f"density, {len(names)} elements)",
                    path=path,
                    format=fmt,
                )
            vals = [number(p, path=path, fmt=fmt, where=where, what="value") for p in parts[1:]]
            check_amounts(vals[3:], names, path=path, fmt=fmt, where=where)
            check_amounts([vals[0]], ["thickness"], path=path, fmt=fmt, where=where)
            if abs(sum(vals[3:]) - 100) > 1.0:
                raise ReaderError(
                    f"{where}: element at.% sum to {sum(vals[3:]):.4g}, expected 100",
                    path=path,
                    format=fmt,
                )
            thick.append(vals[0])
            thick_nm.append(vals[1])
            dens.append(vals[2])
            rows.append(vals[3:])
        elif line.strip().lower().startswith("total"):
            tail = line.split(":", 1)[-1].split()
            total = [number(t, path=path, fmt=fmt, where=where, what="total") for t in tail]
        elif rows:
            break
    if not rows:
        raise ReaderError(
            f"line {start + 1}: element table has no layer rows", path=path, format=fmt
        )
    pct = np.asarray(rows)
    t = np.asarray(thick)
    pct_sigma = None
    t_sigma = None
    if mcmc_file is not None:
        pct_sigma, t_sigma = _read_mcmc(Path(mcmc_file), len(rows), len(names))
    areal = pct / 100 * t[:, None]
    areal_sigma = None
    if pct_sigma is not None:
        areal_sigma = np.hypot(pct_sigma / 100 * t[:, None], pct / 100 * t_sigma[:, None])
    meta = {"table_line": start + 1, "n_layers": len(rows)}
    if total is not None:
        meta["total_areal_density_1e15_at_cm2"] = dict(zip(elements, total))
    if mcmc_file is not None:
        meta["sigma_source"] = f"NDF MCMC {Path(mcmc_file).name}"
    return layer_dataset(
        elements=elements,
        layers=list(range(1, len(rows) + 1)),
        variables={
            "at_pct": ("at_pct", pct, pct_sigma),
            "areal_density": ("areal_density", areal, areal_sigma),
        },
        technique="RBS",
        thickness=t,
        extra_coords={
            "layer_thickness_nm": (("layer",), np.asarray(thick_nm), {"units": "nm"}),
            "layer_density": (("layer",), np.asarray(dens), {"units": "1e22 at/cm3"}),
        },
        metadata=meta,
        original_metadata={"header": lines[: min(start, 60)]},
    )


def _read_mcmc(path: Path, n_layers: int, n_el: int):
    import numpy as np

    fmt = SPEC.name
    rows = []
    for lineno, line in enumerate(decode(path, fmt).splitlines(), start=1):
        parts = line.split()
        if not parts or not re.match(r"^[-+\d.]", parts[0]):
            continue
        if len(parts) != 2 + 2 * n_el:
            raise ReaderError(
                f"line {lineno}: {len(parts)} columns, expected {2 + 2 * n_el} (thickness, "
                "sigma, then at.% and sigma per element)",
                path=path,
                format=fmt,
            )
        rows.append(
            [number(p, path=path, fmt=fmt, where=f"line {lineno}", what="value") for p in parts]
        )
    if len(rows) != n_layers:
        raise ReaderError(f"{len(rows)} MCMC rows for {n_layers} layers", path=path, format=fmt)
    arr = np.asarray(rows)
    return arr[:, 3::2], arr[:, 1]
