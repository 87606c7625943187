"""Potku / erd_depth ToF-ERDA depth profiles: ``depth.<El>`` and ``depth.total``.

Layout (Potku "Depth profile output files explained"; erd_depth ``output()``): one
whitespace-separated file per element, no header, 7 columns

1. depth, 1e15 at/cm² (bin centre; negative above the surface)
2. mass depth, µg/cm²
3. depth, nm (from the single ``target_density`` setting)
4. atomic fraction, normalised (sum over elements = 1)
5. the same without normalisation (weighted yield)
6. statistical uncertainty of column 4 (column 4 / √column 7)
7. events in the bin

``depth.total`` has 4 columns: depth, mass depth, nm, sum of column 4. The file name is
``depth.<A><Sym>`` (``depth.7Li``) when several isotopes were cut; isotopes are folded
into elements (columns 4, 5, 7 summed).

Reading any ``depth.*`` file reads the whole set in its folder. The composition of a
depth window [from, to] is computed with Potku's own method
(``DepthProfileHandler.calculate_ratios``): over the bins whose depth lies in [from, to]
plus the first bin past ``to``, the 2-point running averages (y_prev + y) / 2 of column 4
are summed (y_prev = 0 for the first bin of the window), for the element and for
``depth.total``; the element's at.% is the ratio × 100. Events are summed over the same bins; σ = √((pct/√N)² + (syst%·pct/100)²).
The window comes from ``depth_range=``; else from ``depth_profile_settings.ini``
(``depths_for_concentration_from/to``) of the measurement folder, or of the project
folder when the measurement defers to it (``use_settings = REQUEST`` or 0/0); else the
whole profile.

Returned dataset: ``at_pct`` (+ ``_sigma``) and ``events`` over ``("layer", "element")``
with one layer labelled ``"<from>-<to>"`` (``layer_thickness`` = to − from), plus the
profiles ``profile_fraction`` (+ ``_sigma``), ``profile_yield``, ``profile_events`` over
``("depth", "element")`` with coordinates ``depth`` (1e15 at/cm²), ``mass_depth``
(µg/cm²) and ``depth_nm`` (nm).
"""

from __future__ import annotations

import configparser
import itertools
import math
import re
from pathlib import Path
from typing import Any

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.iba.common import element, layer_dataset

SPEC = FormatSpec(
    name="potku-depth",
    technique="composition",
    extensions=(".total",),
    description="Potku/erd_depth ToF-ERDA depth profiles depth.<El> + depth.total (window at.%)",
    priority=60,
)
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ROW7 = re.compile(rf"^\s*(?:{_NUM}\s+){{6}}[-+]?\d+\s*$")
_ROW4 = re.compile(rf"^\s*(?:{_NUM}\s+){{3}}{_NUM}\s*$")


def can_read(path: Path, head: bytes) -> bool:
    """Accept ``depth.*`` files, or headerless 7-number rows with erd_depth's signature:
    an evenly stepped increasing depth, fractions in [0, 1] and integer event counts."""
    if b"\x00" in head:
        return False
    lines = [ln for ln in head.decode("latin-1").splitlines()[:-1] if ln.strip()][:40]
    if len(lines) < 3:
        return False
    if all(_ROW7.match(ln) for ln in lines):
        rows = [[float(v) for v in ln.split()] for ln in lines]
        depth = [r[0] for r in rows]
        steps = [b - a for a, b in itertools.pairwise(depth)]
        return (
            min(steps) > 0
            and max(steps) - min(steps) <= 1e-3 * max(steps)
            and all(0 <= r[3] <= 1.0001 and 0 <= r[5] <= 1.0001 for r in rows)
            and all(r[6] >= 0 and r[6] == int(r[6]) for r in rows)
        )
    return Path(path).name.startswith("depth.") and all(_ROW4.match(ln) for ln in lines)


def _parse(path: Path, ncols: int):
    import numpy as np

    fmt = SPEC.name
    raw = read_bytes_bounded(path, format=fmt)
    if not raw.strip():
        raise ReaderError("file is empty or blank; re-run the depth profile", path=path, format=fmt)
    if b"\x00" in raw:
        raise ReaderError("contains NUL bytes, not a text file", path=path, format=fmt)
    rows = []
    for lineno, line in enumerate(raw.decode("latin-1").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != ncols:
            raise ReaderError(
                f"line {lineno} has {len(parts)} columns, expected {ncols} "
                f"({'depth.total' if ncols == 4 else 'depth.<El>'} layout)",
                path=path,
                format=fmt,
            )
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ReaderError(
                f"line {lineno}: non-numeric value in {line.strip()[:60]!r}", path=path, format=fmt
            ) from None
        if not all(math.isfinite(v) for v in values):
            raise ReaderError(
                f"line {lineno}: NaN/inf value; the profile is damaged", path=path, format=fmt
            )
        if ncols == 7 and (values[3] < 0 or values[6] < 0 or values[6] != int(values[6])):
            raise ReaderError(
                f"line {lineno}: negative fraction or non-integer event count",
                path=path,
                format=fmt,
            )
        rows.append(values)
    if len(rows) < 2:
        raise ReaderError(f"{len(rows)} data rows; a profile needs ≥ 2", path=path, format=fmt)
    arr = np.asarray(rows)
    if not np.all(np.diff(arr[:, 0]) > 0):
        raise ReaderError("depth column is not increasing", path=path, format=fmt)
    return arr


def _settings_range(folder: Path) -> tuple[tuple[float, float] | None, str | None]:
    """Window from depth_profile_settings.ini of the measurement, then of the project."""
    for candidate in (folder.parent, folder.parent.parent):
        ini = candidate / "depth_profile_settings.ini"
        if not ini.is_file():
            continue
        parser = configparser.ConfigParser()
        try:
            parser.read(ini, encoding="latin-1")
            sec = parser["depth_profile_settings"]
            lo = float(sec.get("depths_for_concentration_from", "0"))
            hi = float(sec.get("depths_for_concentration_to", "0"))
        except (configparser.Error, KeyError, ValueError):
            continue
        request = parser.get("default", "use_settings", fallback="").strip().upper()
        if request == "REQUEST" or (lo == 0 and hi == 0):
            continue
        if hi > lo:
            return (lo, hi), str(ini)
    return None, None


def potku_window_average(
    depth: Any,
    fractions: Any,
    total: Any,
    events: Any,
    *,
    depth_from: float,
    depth_to: float,
    systematic_pct: float = 0.0,
):
    """Potku's window concentration: sums of running averages over [from, to].

    Parameters
    ----------
    depth : array (n,)
        Bin depths, 1e15 at/cm², increasing.
    fractions : array (n, k)
        Normalised atomic fraction per bin (column 4 of ``depth.<El>``).
    total : array (n,)
        Column 4 of ``depth.total`` (or the sum of all elements).
    events : array (n, k)
        Events per bin (column 7).
    depth_from, depth_to : float
        Window, 1e15 at/cm².
    systematic_pct : float
        Relative systematic uncertainty (%) added in quadrature.

    Returns
    -------
    pct, sigma, n_events : arrays (k,)
        at.%, its 1σ, events in the window.

    References
    ----------
    .. [1] JYU-IBA/potku ``DepthProfileHandler.calculate_ratios`` and
       ``math_functions.calculate_running_avgs`` (GPL-2.0; the method is re-implemented
       here, the code is not copied).
    """
    import numpy as np

    depth = np.asarray(depth, dtype=float)
    fractions = np.asarray(fractions, dtype=float)
    events = np.asarray(events, dtype=float)
    total = np.asarray(total, dtype=float)
    inside = (depth >= depth_from) & (depth <= depth_to)
    past = np.nonzero(depth > depth_to)[0]
    if past.size:
        inside[past[0]] = True  # Potku includes the first bin past the window
    sel = np.nonzero(inside)[0]
    if sel.size == 0:
        raise ValueError(
            f"no depth bins in [{depth_from}, {depth_to}] (profile covers {depth[0]}..{depth[-1]})"
        )

    def running_sum(y):
        # 2-point running averages over the selected bins; the first averages with 0
        ys = y[sel]
        prev = np.concatenate([np.zeros((1, *ys.shape[1:])), ys[:-1]])
        return np.sum((prev + ys) / 2, axis=0)

    tot = running_sum(total)
    if tot <= 0:
        raise ValueError(f"total concentration is zero in [{depth_from}, {depth_to}]")
    pct = running_sum(fractions) / tot * 100
    n = events[sel].sum(axis=0)
    stat = np.where(n > 0, pct / np.sqrt(np.maximum(n, 1)), 0.0)
    sigma = np.hypot(stat, systematic_pct / 100 * pct)
    return pct, sigma, n


def read(
    path: Path,
    *,
    lazy: bool = False,
    depth_range: tuple[float, float] | None = None,
    systematic_pct: float = 0.0,
    element_name: str | None = None,
):
    """Read a Potku depth-profile set and average it over a depth window.

    Parameters
    ----------
    path : Path
        Any ``depth.*`` file (the folder's whole set is read) or a single renamed
        7-column profile (then ``element_name`` or the file suffix names the element).
    lazy : bool
        Ignored (small files).
    depth_range : (float, float), optional
        Window in 1e15 at/cm²; default from the Potku settings files, else all depths.
    systematic_pct : float
        Relative systematic uncertainty in % (Potku's user value), added in quadrature.
    element_name : str, optional
        Element of a single profile whose name is not ``depth.<El>``.

    Raises
    ------
    ReaderError
        Wrong column count, non-numeric or NaN values, mismatched depth grids, an empty
        window, or a file name that is not an element.
    """
    import numpy as np

    fmt = SPEC.name
    path = Path(path)
    if path.name.startswith("depth."):
        files = sorted(
            p for p in path.parent.glob("depth.*") if p.is_file() and not p.name.endswith("~")
        )
    else:
        files = [path]
    total = None
    profiles: dict[str, Any] = {}
    skipped = []
    for f in files:
        label = f.name.split(".", 1)[1] if f.name.startswith("depth.") else None
        if label == "total":
            total = _parse(f, 4)
            continue
        if label is None:
            arr = _parse(f, 7)
            label = element_name or f.suffix.lstrip(".")
        elif not re.fullmatch(r"\d{0,3}[A-Z][a-z]?", label):
            skipped.append(f.name)
            continue
        else:
            arr = _parse(f, 7)
        el = element(label, path=f, fmt=fmt, where="file name")
        if el in profiles:
            prev = profiles[el]
            arr = arr.copy()
            arr[:, [3, 4, 6]] += prev[:, [3, 4, 6]]
        profiles[el] = arr
    if not profiles:
        raise ReaderError(
            "no depth.<El> element profiles found (only depth.total?); read the folder that "
            "erd_depth wrote",
            path=path,
            format=fmt,
        )
    elements = list(profiles)
    depth = next(iter(profiles.values()))[:, 0]
    for el, arr in profiles.items():
        if arr.shape[0] != depth.size or not np.allclose(arr[:, 0], depth):
            raise ReaderError(
                f"depth grid of {el} differs from {elements[0]}; files from different runs?",
                path=path,
                format=fmt,
            )
    if total is not None and (total.shape[0] != depth.size or not np.allclose(total[:, 0], depth)):
        raise ReaderError("depth.total has another depth grid", path=path, format=fmt)
    frac = np.stack([profiles[e][:, 3] for e in elements], axis=1)
    sig = np.stack([profiles[e][:, 5] for e in elements], axis=1)
    yld = np.stack([profiles[e][:, 4] for e in elements], axis=1)
    ev = np.stack([profiles[e][:, 6] for e in elements], axis=1)
    total_col = total[:, 3] if total is not None else frac.sum(axis=1)
    range_source = "argument"
    if depth_range is None:
        depth_range, ini = _settings_range(path.parent)
        range_source = ini or "whole profile (no range given or found)"
        if depth_range is None:
            depth_range = (float(depth[0]), float(depth[-1]))
    lo, hi = (float(v) for v in depth_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ReaderError(
            f"depth_range {depth_range!r} must be (from, to) with to > from",
            path=path,
            format=fmt,
        )
    try:
        pct, pct_sigma, n = potku_window_average(
            depth, frac, total_col, ev, depth_from=lo, depth_to=hi, systematic_pct=systematic_pct
        )
    except ValueError as err:
        raise ReaderError(str(err), path=path, format=fmt) from None
    mass_depth = next(iter(profiles.values()))[:, 1]
    depth_nm = next(iter(profiles.values()))[:, 2]
    meta = {
        "depth_from_1e15_at_cm2": lo,
        "depth_to_1e15_at_cm2": hi,
        "depth_range_source": range_source,
        "systematic_pct": systematic_pct,
        "method": "Potku running-average window (integrate_lists)",
        "total_source": "depth.total" if total is not None else "sum of element files",
        "files": [f.name for f in files],
    }
    if skipped:
        meta["skipped_files"] = skipped
    return layer_dataset(
        elements=elements,
        layers=[f"{lo:g}-{hi:g}"],
        variables={"at_pct": ("at_pct", pct[None, :], pct_sigma[None, :])},
        technique="ERDA",
        thickness=[hi - lo],
        extra={
            "events": (("layer", "element"), n[None, :], {"units": "counts"}),
            "profile_fraction": (
                ("depth", "element"),
                frac,
                {"units": "dimensionless", "long_name": "atomic fraction (normalised)"},
            ),
            "profile_fraction_sigma": (("depth", "element"), sig, {"units": "dimensionless"}),
            "profile_yield": (
                ("depth", "element"),
                yld,
                {"units": "dimensionless", "long_name": "unnormalised weighted yield"},
            ),
            "profile_events": (("depth", "element"), ev, {"units": "counts"}),
            "profile_total": (("depth",), total_col, {"units": "dimensionless"}),
        },
        extra_coords={
            "depth": (("depth",), depth, {"units": "1e15 at/cm2"}),
            "mass_depth": (("depth",), mass_depth, {"units": "ug/cm2"}),
            "depth_nm": (("depth",), depth_nm, {"units": "nm"}),
        },
        metadata=meta,
        original_metadata={},
    )
