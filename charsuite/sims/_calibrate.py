"""Interfaces and depth calibration of SIMS depth profiles.

Conventions
-----------
* Layers are listed top (surface) to bottom; the first starts at scan 0, the last ends
  at the last scan. Write a layer without thickness for the top layer of unknown
  thickness or the substrate: ``"Li,LiPON:500nm,NMC811:600nm,ITO:180nm,substrate"``.
  ``NAME@SPECIES`` names the layer's marker ion (``"NMC811@NiO-:600nm"``).
* Layers are first located by an optimal piecewise-constant segmentation of the
  profiles of all species, each scaled to its 98th percentile (dynamic programming,
  least squares; median filtered over 5 scans so single dropped cycles do not count).
* Each interface is then measured on one species: the lower layer's marker (rising
  edge), else the upper layer's marker (falling edge), else the species with the largest
  contrast between the two layers (capped at tenfold; ties go to the species with the
  most counts, i.e. the largest Poisson z of the plateau difference). Its level on each side is the **median of the
  adjacent layer's plateau** (the layer's central part, not the global maximum); the
  interface is the 50 % crossing between the two plateau levels and its width the
  distance between the 16 % and 84 % crossings [1]_. The crossings come from a
  least-squares fit of an erf edge with one σ on each side of the interface (the two
  layers sputter at different rates) to the samples around the edge [2]_, not from
  linear interpolation between scans, which widens edges only a few scans wide (+14 %
  at 1.5 scans); see :func:`measure_edge`. ``width_err_scans`` is the fit's standard
  error (``None``/null when interpolated).
* Depth: ``d(0) = 0`` at the surface and piecewise linear in scan with one sputter
  rate per layer, ``rate = thickness / (end_scan − start_scan)`` for layers of known
  thickness; others use ``rate=`` if given, else the rate of the nearest calibrated layer.
  Each crossing is converted with the rate of the layer it lies in (16 % above, 84 %
  below the interface), so ``width_nm = r_upper σu + r_lower σl``.

References
----------
.. [1] IUPAC Gold Book, "depth resolution" (D01607): Δz(16–84 %) = 2σ for an erf
   interface; ISO 17109:2022 (sputter rates from multilayer references).
.. [2] S. Hofmann, "Sputter depth profile analysis of interfaces", Rep. Prog. Phys. 61
   (1998) 827 (erf interface profile; 16–84 % depth resolution = 2σ).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from charsuite.exceptions import CharsuiteWarning, DataError, ParameterError
from charsuite.model import Result, provenance

__all__ = [
    "DepthCalibration",
    "Interface",
    "Layer",
    "LayerSpec",
    "calibrate_depth",
    "find_interfaces",
    "measure_edge",
    "parse_layers",
    "segment_layers",
]


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """A layer as given by the user: name, thickness (nm) or None, marker species or None."""

    name: str
    thickness_nm: float | None = None
    marker: str | None = None


_LAYER_RE = re.compile(
    r"^\s*(?P<name>[^:@]+?)\s*(?:@\s*(?P<marker>[^:]+?)\s*)?"
    r"(?::\s*(?P<value>[0-9.eE+-]+)\s*(?P<unit>nm|um|µm|Å|A)?\s*)?$"
)


def parse_layers(layers) -> list[LayerSpec]:
    """Parse ``"LiPON:500nm,NMC811@NiO-:600nm,ITO:180nm"`` (or a list of LayerSpec/tuples).

    Units: nm (default), um/µm, Å.

    Parameters
    ----------
    layers : str or list
        ``NAME[@MARKER][:THICKNESS]`` entries, top to bottom, separated by commas.

    Returns
    -------
    list of LayerSpec
        The layers top to bottom (thickness in nm, None when not given).

    Raises
    ------
    ParameterError
        On a malformed entry, a non-positive thickness or duplicate names.
    """
    if isinstance(layers, str):
        items = [p for p in layers.split(",") if p.strip()]
        out = []
        for item in items:
            m = _LAYER_RE.match(item)
            if not m:
                raise ParameterError(
                    f"layer {item!r}: expected NAME[@SPECIES][:THICKNESS nm], e.g. 'LiPON:500nm'"
                )
            value = m.group("value")
            thick = None
            if value is not None:
                try:
                    thick = float(value)
                except ValueError as err:
                    raise ParameterError(
                        f"layer {item!r}: thickness {value!r} is not a number"
                    ) from err
                unit = m.group("unit") or "nm"
                thick *= {"nm": 1.0, "um": 1000.0, "µm": 1000.0, "Å": 0.1, "A": 0.1}[unit]
            out.append(LayerSpec(m.group("name").strip(), thick, m.group("marker")))
    else:
        out = []
        for item in layers:
            if isinstance(item, LayerSpec):
                out.append(item)
            elif isinstance(item, str):
                out.extend(parse_layers(item))
            else:
                out.append(LayerSpec(*item))
    if len(out) < 2:
        raise ParameterError(
            f"{len(out)} layer(s) given; list at least two layers top to bottom, e.g. "
            "'LiPON:500nm,NMC811:600nm,ITO:180nm'"
        )
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ParameterError(f"duplicate layer names in {names}")
    for s in out:
        if s.thickness_nm is not None and not s.thickness_nm > 0:
            raise ParameterError(f"layer {s.name!r}: thickness must be > 0 nm")
    return out


@dataclasses.dataclass(frozen=True)
class Interface(Result):
    """One interface: 50 % position and 16–84 % width, in scans and (if calibrated) nm.

    ``width_err_scans`` / ``width_err_nm``: standard error of the fitted width (``None``
    when the edge was interpolated, see :func:`measure_edge`).
    """

    between: tuple[str, str]
    scan: float
    width_scans: float
    species: str
    direction: str
    level_upper: float
    level_lower: float
    scan_16: float
    scan_84: float
    depth_nm: float | None = None
    width_nm: float | None = None
    width_err_scans: float | None = None
    width_err_nm: float | None = None


@dataclasses.dataclass(frozen=True)
class Layer(Result):
    """One calibrated layer."""

    name: str
    start_scan: float
    end_scan: float
    thickness_nm: float | None
    sputter_rate_nm_per_scan: float | None
    thickness_given: bool


@dataclasses.dataclass(frozen=True)
class DepthCalibration(Result):
    """Layers, interfaces and the scan → depth map of one profile.

    Attributes
    ----------
    layers : list of Layer
    interfaces : list of Interface
    depth_nm : ndarray or None
        Depth of every scan (nm), ``None`` when no thickness or rate was given.
    history : list of dict
    """

    layers: list
    interfaces: list
    depth_nm: np.ndarray | None
    history: list = dataclasses.field(default_factory=list)

    def depth_of(self, scan):
        """Depth (nm) at fractional scan position(s), by linear interpolation."""
        if self.depth_nm is None:
            return None
        s = np.asarray(scan, dtype=float)
        n = len(self.depth_nm)
        return _piecewise_depth(self.layers, s, n)

    @provenance("apply depth calibration")
    def apply(self, obj):
        """Return ``obj`` (profile or cube) with a ``depth_nm`` coordinate along depth."""
        if self.depth_nm is None:
            raise DataError("no depth calibration (no thickness or rate given)")
        if obj.sizes["depth"] != len(self.depth_nm):
            raise DataError(
                f"calibration has {len(self.depth_nm)} scans, the data have {obj.sizes['depth']}"
            )
        return obj.assign_coords(depth_nm=("depth", np.asarray(self.depth_nm), {"units": "nm"}))


# --------------------------------------------------------------------------- segmentation
def _features(values: np.ndarray) -> np.ndarray:
    """Median-filtered intensities, each species scaled to its robust maximum (0..~1).

    Linear (not log) scaling: erf tails span decades in log space and would attract
    boundaries; in linear space each layer change weighs by its relative contrast.
    """
    from scipy.ndimage import median_filter

    v = np.where(np.isfinite(values), values, 0.0)
    v = median_filter(np.clip(v, 0.0, None), size=(5, 1), mode="nearest")
    scale = np.percentile(v, 98, axis=0)
    keep = scale > 0
    if not keep.any():
        raise DataError("every species is zero; nothing to segment")
    return np.clip(v[:, keep] / scale[keep], 0.0, 1.5)


def segment_layers(values: np.ndarray, n_segments: int, *, min_length: int = 2) -> list[int]:
    """Optimal least-squares piecewise-constant segmentation along axis 0.

    Parameters
    ----------
    values : ndarray (depth, species)
        Non-negative intensities; segmented after a 5-scan median filter, each species
        scaled to its 98th percentile.
    n_segments : int
    min_length : int
        Minimum scans per segment.

    Returns
    -------
    list of int
        The ``n_segments − 1`` boundaries (index of the first scan of each lower segment).

    Notes
    -----
    Exact dynamic programming (Bellman 1961; "optimal partitioning"), O(K·n²) with
    prefix sums; hand-written because it needs no dependency and is ~40 lines.
    """
    x = _features(np.asarray(values, dtype=float))
    n = x.shape[0]
    if n_segments < 1 or n < n_segments * min_length:
        raise DataError(
            f"cannot split {n} scans into {n_segments} layers of ≥ {min_length} scans; "
            "check the number of layers"
        )
    s1 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    s2 = np.concatenate([[0.0], np.cumsum((x**2).sum(axis=1))])

    def cost(i: np.ndarray, j: int) -> np.ndarray:
        length = j - i
        d1 = s1[j] - s1[i]
        return (s2[j] - s2[i]) - (d1**2).sum(axis=1) / length

    inf = np.inf
    best = np.full((n_segments + 1, n + 1), inf)
    arg = np.zeros((n_segments + 1, n + 1), dtype=int)
    best[0, 0] = 0.0
    for k in range(1, n_segments + 1):
        for j in range(k * min_length, n + 1):
            i = np.arange((k - 1) * min_length, j - min_length + 1)
            if i.size == 0:
                continue
            c = best[k - 1, i] + cost(i, j)
            m = int(np.argmin(c))
            best[k, j] = c[m]
            arg[k, j] = i[m]
    bounds = []
    j = n
    for k in range(n_segments, 0, -1):
        i = arg[k, j]
        bounds.append(i)
        j = i
    return sorted(bounds)[1:]


# --------------------------------------------------------------------------- edges
def _crossing(y: np.ndarray, level: float, i: int) -> float:
    """Linear interpolation of the crossing of ``level`` between samples i and i+1."""
    a, b = y[i], y[i + 1]
    if b == a:
        return float(i) + 0.5
    return float(i) + float(np.clip((level - a) / (b - a), 0.0, 1.0))


def _rising(y: np.ndarray, guess: float) -> tuple[float, float, float]:
    """50 %, 16 %, 84 % crossings of a rising normalised edge ``y`` (0 → 1)."""
    below = y < 0.5
    cand = np.nonzero(below[:-1] & ~below[1:])[0]
    if cand.size == 0:
        raise DataError("the profile never crosses 50 % between the two plateaus")
    i50 = int(cand[np.argmin(np.abs(cand + 0.5 - guess))])
    x50 = _crossing(y, 0.5, i50)
    i = i50
    while i > 0 and y[i] >= 0.16:
        i -= 1
    x16 = _crossing(y, 0.16, i) if y[i] < 0.16 else float(i)
    i = i50 + 1
    while i < len(y) - 1 and y[i] < 0.84:
        i += 1
    x84 = _crossing(y, 0.84, i - 1) if y[i] >= 0.84 else float(i)
    return x50, x16, x84


def measure_edge(
    values,
    *,
    upper: tuple[int, int],
    lower: tuple[int, int],
    guess: float | None = None,
    levels: tuple[float, float] | None = None,
    fit: bool = True,
) -> dict[str, Any]:
    """Position (50 %) and 16–84 % width of one edge between two plateau regions.

    Parameters
    ----------
    values : 1-D array
        One species' intensity per scan.
    upper, lower : (start, stop)
        Scan ranges (half-open) of the plateau above (shallower) and below the edge; the
        edge is searched between the two.
    guess : float, optional
        Expected position; the 50 % crossing nearest to it is taken (default: midway).
    levels : (upper_level, lower_level), optional
        Plateau levels; default the medians of ``values`` over ``upper`` and ``lower``.
    fit : bool
        Place the 50 %, 16 % and 84 % points with a least-squares split-erf fit to the
        samples around the edge (default); ``False`` uses linear interpolation between
        samples, which overestimates the width of edges only a few scans wide (+14 % at
        1.5 scans). The fit falls back to interpolation if it fails.

    Returns
    -------
    dict
        ``scan``, ``scan_16``, ``scan_84``, ``width_scans`` (|84 − 16|),
        ``width_err_scans`` (standard error of the fitted width, fit and plateau
        levels combined; NaN without fit),
        ``method`` (``"split-erf fit"`` or ``"interpolation"``), ``direction``
        (``"rising"`` or ``"falling"`` with depth), ``level_upper``, ``level_lower``.

    Notes
    -----
    The normalised edge is modelled as Φ((s − s0)/σu) above s0 and Φ((s − s0)/σl)
    below (Φ the normal CDF): an erf interface of σ in depth seen through a depth scale
    with one sputter rate per layer. Then s16 = s0 − σu, s84 = s0 + σl and the 16–84 %
    width σu + σl (= 2σ with one rate) [1]_ [2]_.

    References
    ----------
    .. [1] IUPAC Gold Book, "depth resolution" (D01607).
    .. [2] S. Hofmann, Rep. Prog. Phys. 61 (1998) 827 (erf interface, 16–84 % width).
    """
    y = np.asarray(values, dtype=float)
    y = np.where(np.isfinite(y), y, np.nan)
    if levels is None:
        lu = float(np.nanmedian(y[upper[0] : upper[1]]))
        ll = float(np.nanmedian(y[lower[0] : lower[1]]))
    else:
        lu, ll = (float(v) for v in levels)
    if not np.isfinite(lu) or not np.isfinite(ll) or lu == ll:
        raise DataError(f"plateau levels {lu:g} and {ll:g} do not define an edge")
    a = int(max(0, (upper[0] + upper[1]) // 2))
    b = int(min(len(y) - 1, (lower[0] + lower[1] - 1) // 2))
    if b <= a:
        a, b = max(0, upper[0]), min(len(y) - 1, lower[1] - 1)
    seg = np.nan_to_num(y[a : b + 1], nan=lu)
    g = (guess if guess is not None else (upper[1] + lower[0]) / 2) - a
    rising = ll > lu
    norm = (seg - lu) / (ll - lu)  # 0 at the upper plateau, 1 at the lower: always rising
    x50, x16, x84 = _rising(norm, g)
    width_err = float("nan")
    method = "interpolation"
    if fit:
        from charsuite.sims._edge import fit_split_erf

        res = fit_split_erf(norm, x50, x16, x84)
        if res is not None:
            x50, x16, x84, width_err = res
            method = "split-erf fit"
            if levels is None:
                width_err = _add_level_error(seg, y, upper, lower, lu, ll, res, width_err)
    return {
        "scan": x50 + a,
        "scan_16": (x16 if rising else x84) + a,
        "scan_84": (x84 if rising else x16) + a,
        "width_scans": abs(x84 - x16),
        "width_err_scans": width_err,
        "method": method,
        "direction": "rising" if rising else "falling",
        "level_upper": lu,
        "level_lower": ll,
    }


def _add_level_error(seg, y, upper, lower, lu, ll, res, width_err) -> float:
    """Add the plateau-level uncertainty to the fit's width error (in quadrature).

    The levels are medians (standard error 1.2533 × 1.4826 MAD / √n); the width is refitted
    with each level moved by its standard error (first-order propagation).
    """
    from charsuite.sims._edge import fit_split_erf

    x50, x16, x84 = res[:3]
    var = width_err**2 if np.isfinite(width_err) else 0.0
    for k, (start, stop) in enumerate((upper, lower)):
        v = y[start:stop]
        v = v[np.isfinite(v)]
        if v.size < 2:
            continue
        se = 1.2533 * 1.4826 * float(np.median(np.abs(v - np.median(v)))) / np.sqrt(v.size)
        if se == 0:
            continue
        lu2, ll2 = (lu + se, ll) if k == 0 else (lu, ll + se)
        if lu2 == ll2:
            continue
        shifted = fit_split_erf((seg - lu2) / (ll2 - lu2), x50, x16, x84)
        if shifted is not None:
            var += ((shifted[2] - shifted[1]) - (x84 - x16)) ** 2
    return float(np.sqrt(var)) if var > 0 else width_err


def _interior(start: int, stop: int) -> tuple[int, int]:
    length = stop - start
    margin = int(max(1, round(0.2 * length))) if length > 4 else 0
    return start + margin, stop - margin


def _profile_values(profile, variable: str) -> tuple[np.ndarray, list[str]]:
    if hasattr(profile, "data_vars"):
        da = profile[variable] if variable in profile else profile["counts"]
    else:
        da = profile
    da = da.transpose("depth", "species")
    return np.asarray(da.values, dtype=float), [str(s) for s in da.species.values]


def find_interfaces(
    profile,
    layers,
    *,
    variable: str = "intensity",
    species: Sequence[str] | None = None,
    min_counts: float = 5.0,
) -> list[Interface]:
    """Locate every interface between consecutive layers (see module conventions).

    Parameters
    ----------
    profile : xarray.Dataset or DataArray (depth, species)
        From :func:`charsuite.sims.depth_profile` or an IONTOF TXT export.
    layers : str or list
        Layer specification (:func:`parse_layers`), top to bottom.
    variable : str
        Dataset variable to use (``intensity``; falls back to ``counts``).
    species : list of str, optional
        Restrict the species used for segmentation and edges.
    min_counts : float
        A species is eligible for measuring an edge only if its higher plateau median is
        at least this (in the variable's units; ignored for normalised data).

    Returns
    -------
    list of Interface
        In depth order, scans only (``depth_nm`` is filled by :func:`calibrate_depth`).
    """
    specs = parse_layers(layers)
    values, labels = _profile_values(profile, variable)
    if species is not None:
        from charsuite.sims._cube import species_index

        chosen = species_index(profile, species)
        idx = [labels.index(s) for s in chosen]
        values, labels = values[:, idx], chosen
    seg_idx = [i for i, lab in enumerate(labels) if lab.lower() != "total" and "/" not in lab]
    bounds = segment_layers(values[:, seg_idx] if seg_idx else values, len(specs))
    edges = [0, *bounds, values.shape[0]]
    normalised = np.nanmax(np.abs(values)) < 10  # fractions/ratios: no count threshold
    out = []
    for k in range(len(specs) - 1):
        up = _interior(edges[k], edges[k + 1])
        lo = _interior(edges[k + 1], edges[k + 2])
        candidates: list[str] = []
        for marker in (specs[k + 1].marker, specs[k].marker):
            if marker:
                if marker not in labels:
                    raise ParameterError(
                        f"marker {marker!r} of layer {specs[k + 1].name if marker == specs[k + 1].marker else specs[k].name!r} "
                        f"is not in the profile; species: {', '.join(labels)}"
                    )
                candidates.append(marker)
        if not candidates:
            scores = []
            for j, lab in enumerate(labels):
                if j not in seg_idx and seg_idx:
                    continue
                mu = np.nanmedian(values[up[0] : up[1], j])
                ml = np.nanmedian(values[lo[0] : lo[1], j])
                hi = max(mu, ml)
                if not np.isfinite(hi) or hi <= 0 or (not normalised and hi < min_counts):
                    continue
                contrast = abs(np.log10((max(mu, 0) + 1e-9 * hi) / (max(ml, 0) + 1e-9 * hi)))
                # a tenfold change is contrast enough; among those, prefer the most counts
                # (Poisson z of the plateau difference), then rising edges
                z = abs(mu - ml) / np.sqrt(hi) if not normalised else abs(mu - ml) / hi
                scores.append((round(min(contrast, 1.0), 2), z, ml > mu, lab))
            if not scores:
                raise DataError(
                    f"no species changes between {specs[k].name} and {specs[k + 1].name}; "
                    "name a marker ion with NAME@SPECIES"
                )
            candidates = [max(scores)[-1]]
        lab = candidates[0]
        try:
            edge = measure_edge(
                values[:, labels.index(lab)], upper=up, lower=lo, guess=float(edges[k + 1]) - 0.5
            )
        except DataError as err:
            raise DataError(
                f"interface {specs[k].name}/{specs[k + 1].name} (scans {up[0]}-{lo[1]}, "
                f"species {lab}): {err}; the layers may be too thin for this many layers, or "
                "name a marker ion with NAME@SPECIES"
            ) from err
        out.append(
            Interface(
                between=(specs[k].name, specs[k + 1].name),
                scan=edge["scan"],
                width_scans=edge["width_scans"],
                species=lab,
                direction=edge["direction"],
                level_upper=edge["level_upper"],
                level_lower=edge["level_lower"],
                scan_16=edge["scan_16"],
                scan_84=edge["scan_84"],
                width_err_scans=(
                    edge["width_err_scans"] if np.isfinite(edge["width_err_scans"]) else None
                ),
            )
        )
    return out


def _piecewise_depth(layers: list[Layer], s: np.ndarray, n: int) -> np.ndarray:
    knots_s = [layers[0].start_scan] + [lay.end_scan for lay in layers]
    knots_d = [0.0]
    for lay in layers:
        knots_d.append(knots_d[-1] + lay.sputter_rate_nm_per_scan * (lay.end_scan - lay.start_scan))
    ks = np.asarray(knots_s)
    kd = np.asarray(knots_d)
    out = np.interp(s, ks, kd)
    # extrapolate linearly beyond the last knot with the last layer's rate
    over = s > ks[-1]
    out[over] = kd[-1] + (s[over] - ks[-1]) * layers[-1].sputter_rate_nm_per_scan
    return out


@provenance("calibrate_depth", exclude=("interfaces",))
def calibrate_depth(
    profile,
    layers,
    *,
    rate: float | None = None,
    interfaces: list[Interface] | None = None,
    variable: str = "intensity",
) -> DepthCalibration:
    """Scan → depth calibration from known layer thicknesses (per-layer sputter rates).

    Parameters
    ----------
    profile : xarray.Dataset or DataArray (depth, species)
    layers : str or list
        Top to bottom, e.g. ``"Li,LiPON:500nm,NMC811:600nm,ITO:180nm,substrate"``.
    rate : float, optional
        Sputter rate (nm/scan) for layers without thickness; with no thickness at all,
        one rate for the whole profile.
    interfaces : list of Interface, optional
        Pre-computed (default :func:`find_interfaces`).
    variable : str

    Returns
    -------
    DepthCalibration
        With per-layer sputter rates, interface depths and widths in nm.
    """
    specs = parse_layers(layers)
    n = profile.sizes["depth"]
    if interfaces is None:
        interfaces = find_interfaces(profile, specs, variable=variable)
    if len(interfaces) != len(specs) - 1:
        raise ParameterError(f"{len(interfaces)} interfaces for {len(specs)} layers")
    if rate is not None and not rate > 0:
        raise ParameterError(f"rate={rate}; must be > 0 nm/scan")
    bounds = [0.0, *[i.scan for i in interfaces], float(n - 1)]
    rates: list[float | None] = []
    for k, s in enumerate(specs):
        span = bounds[k + 1] - bounds[k]
        if s.thickness_nm is not None:
            if span <= 0:
                raise DataError(f"layer {s.name!r} spans {span:.2f} scans; cannot get its rate")
            rates.append(s.thickness_nm / span)
        else:
            rates.append(None)
    known = [k for k, r in enumerate(rates) if r is not None]
    filled = []
    for k, r in enumerate(rates):
        if r is None:
            if rate is not None:
                r = rate
            elif known:
                nearest = min(known, key=lambda j: (abs(j - k), j > k))
                r = rates[nearest]
                warnings.warn(
                    f"layer {specs[k].name!r} has no thickness; using the sputter rate of "
                    f"{specs[nearest].name!r} ({r:.4g} nm/scan). Give its thickness or rate= "
                    "for an accurate depth scale.",
                    CharsuiteWarning,
                    stacklevel=2,
                )
        filled.append(r)
    calibrated = all(r is not None for r in filled)
    layer_objs = [
        Layer(
            name=s.name,
            start_scan=bounds[k],
            end_scan=bounds[k + 1],
            thickness_nm=(
                s.thickness_nm
                if s.thickness_nm is not None
                else (filled[k] * (bounds[k + 1] - bounds[k]) if filled[k] else None)
            ),
            sputter_rate_nm_per_scan=filled[k],
            thickness_given=s.thickness_nm is not None,
        )
        for k, s in enumerate(specs)
    ]
    depth = None
    if calibrated:
        depth = _piecewise_depth(layer_objs, np.arange(n, dtype=float), n)
        new = []
        for itf in interfaces:
            d = _piecewise_depth(layer_objs, np.array([itf.scan, itf.scan_16, itf.scan_84]), n)
            width_nm = float(abs(d[2] - d[1]))
            err_nm = None
            if itf.width_err_scans is not None and itf.width_scans > 0:
                # effective rate over the edge (approximation: σu, σl errors not split)
                err_nm = itf.width_err_scans * width_nm / itf.width_scans
            new.append(
                dataclasses.replace(
                    itf, depth_nm=float(d[0]), width_nm=width_nm, width_err_nm=err_nm
                )
            )
        interfaces = new
    hist = list(profile.attrs.get("history", []))  # + this call's record (@provenance)
    return DepthCalibration(
        layers=layer_objs, interfaces=list(interfaces), depth_nm=depth, history=hist
    )
