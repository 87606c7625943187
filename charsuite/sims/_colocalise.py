"""Co-localisation of species inside a layer: correlation vs binning and a Poisson null test.

Method
------
1. Inside the layer (scans ``start..end``, by default the central part of a calibrated
   layer, away from its interfaces by ``margin_scans``), counts of each species are
   summed over depth per pixel (one streamed pass), optionally inside a lateral mask.
2. Pearson's r of every pair of species is computed on the maps binned b×b for each
   binning. Shot noise depresses r at fine binning, so a low r at 1×1 alone does not
   mean segregation.
3. Dispersion test (χ² test of homogeneity of the species fractions): under the null
   "no segregation", the counts of the species in pixel i are multinomial with pixel
   total N_i and layer-wide fractions p_j (any common lateral variation, e.g. grains,
   topography, primary current, changes only N_i). The statistic
   ``X² = Σ_ij (n_ij − N_i p_j)² / (N_i p_j)`` has (I−1)(J−1) degrees of freedom [1]_.
   It is computed at the finest binning whose median expected count per cell is ≥ 5
   (Cochran's rule). ``segregated = p_value < alpha``; under the null the false-positive
   rate is ``alpha`` (tested by simulation in the test suite). Reported also: the
   dispersion index ``X²/dof`` (1 for Poisson; > 1 = extra-Poisson spread of the ratios).

References
----------
.. [1] K. Pearson (1900); W. G. Cochran, "Some methods for strengthening the common χ²
   tests", Biometrics 10, 417 (1954).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import numpy as np

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, provenance
from charsuite.sims._cube import iter_depth_slabs, open_cube, species_index

__all__ = ["Colocalisation", "bin_map", "colocalise", "dispersion_test", "layer_maps"]


@dataclasses.dataclass(frozen=True)
class Colocalisation(Result):
    """Result of :func:`colocalise` (keys match ``charsuite sims correlate --json``)."""

    layer: str | None
    species: list
    scans: tuple[int, int]
    pearson_by_binning: dict
    dispersion_statistic: float
    dispersion_index: float
    dof: int
    test_binning: int
    p_value: float
    alpha: float
    segregated: bool
    fractions: dict
    history: list = dataclasses.field(default_factory=list)


def bin_map(maps: np.ndarray, b: int) -> np.ndarray:
    """Sum (y, x, species) maps in b×b blocks (edges that do not fill a block are dropped).

    Parameters
    ----------
    maps : ndarray
        Counts, shape (y, x, species).
    b : int
        Block size in pixels.

    Returns
    -------
    ndarray
        Shape (y // b, x // b, species).

    Examples
    --------
    >>> import numpy as np
    >>> bin_map(np.ones((5, 4, 2)), 2).shape, float(bin_map(np.ones((5, 4, 2)), 2)[0, 0, 0])
    ((2, 2, 2), 4.0)
    """
    ny, nx = maps.shape[:2]
    ny2, nx2 = ny // b * b, nx // b * b
    if ny2 == 0 or nx2 == 0:
        raise ParameterError(f"binning {b} is larger than the {ny}×{nx} map")
    m = maps[:ny2, :nx2]
    return m.reshape(ny2 // b, b, nx2 // b, b, *m.shape[2:]).sum(axis=(1, 3))


def dispersion_test(counts: np.ndarray) -> tuple[float, int, float]:
    """χ² homogeneity test of species fractions over cells.

    Parameters
    ----------
    counts : ndarray (cells, species)
        Counts per cell (cells with zero total are ignored).

    Returns
    -------
    statistic, dof, p_value : float, int, float
    """
    from scipy.stats import chi2

    n = np.asarray(counts, dtype=float).reshape(-1, counts.shape[-1])
    n = n[n.sum(axis=1) > 0]
    if n.shape[0] < 2 or n.shape[1] < 2:
        raise DataError("the dispersion test needs at least two cells and two species")
    total = n.sum(axis=1, keepdims=True)
    p = n.sum(axis=0) / n.sum()
    if np.any(p == 0):
        raise DataError("a species has no counts in the layer; drop it from the test")
    expected = total * p[None, :]
    stat = float(((n - expected) ** 2 / expected).sum())
    dof = (n.shape[0] - 1) * (n.shape[1] - 1)
    return stat, dof, float(chi2.sf(stat, dof))


def layer_maps(cube, species: Sequence[str], start: int, stop: int) -> np.ndarray:
    """Counts summed over scans ``start..stop-1`` per pixel: (y, x, species), streamed.

    Parameters
    ----------
    cube : xarray.DataArray
        ``(depth, y, x, species)`` counts, lazy or not.
    species : list of str
        Labels of the ``species`` axis.
    start, stop : int
        Scan range (stop excluded).

    Returns
    -------
    ndarray
        float64 counts, shape (y, x, len(species)).
    """
    labels = [str(s) for s in cube.species.values]
    idx = [labels.index(s) for s in species]
    sub = cube.isel(depth=slice(start, stop))
    out = np.zeros((cube.sizes["y"], cube.sizes["x"], len(idx)))
    for _, _, slab in iter_depth_slabs(sub):
        out += slab[..., idx].sum(axis=0, dtype=np.float64)
    return out


@provenance("colocalise", exclude=("calibration",))
def colocalise(
    source,
    *,
    species: Sequence[str],
    layer: str | None = None,
    calibration=None,
    scans: tuple[int, int] | None = None,
    margin_scans: float | None = None,
    mask=None,
    binnings: Sequence[int] = (1, 2, 4, 8),
    alpha: float = 0.01,
) -> Colocalisation:
    """Are the species co-located inside a layer? Pearson r vs binning + Poisson-null test.

    Parameters
    ----------
    source : path or cube DataArray (depth, y, x, species)
        In counts (the test assumes Poisson counts).
    species : list of str
        At least two, e.g. ``["NiO-", "MnO-", "CoO-"]``.
    layer : str, optional
        Layer name in ``calibration`` (a :class:`~charsuite.sims.DepthCalibration`).
    calibration : DepthCalibration, optional
    scans : (start, stop), optional
        Explicit scan range instead of a layer.
    margin_scans : float, optional
        Scans excluded next to each interface (default: the interface's 16–84 % width).
    mask : (y, x) bool array, optional
        Lateral region of interest.
    binnings : sequence of int
    alpha : float
        Significance level (= false-positive rate under the null).

    Returns
    -------
    Colocalisation
    """
    cube = open_cube(source)
    if cube.attrs.get("units") not in (None, "counts"):
        raise DataError(f"co-localisation needs counts; the cube is in {cube.attrs.get('units')!r}")
    species = species_index(cube, species)
    if len(species) < 2:
        raise ParameterError("give at least two species to correlate")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha}; expected 0 < alpha < 1")
    if scans is None:
        if calibration is None or layer is None:
            raise ParameterError("give scans=(start, stop) or layer= with calibration=")
        names = [lay.name for lay in calibration.layers]
        if layer not in names:
            raise ParameterError(
                f"layer {layer!r} not in the calibration; layers: {', '.join(names)}"
            )
        k = names.index(layer)
        lay = calibration.layers[k]
        widths = [i.width_scans for i in calibration.interfaces]
        m_top = margin_scans if margin_scans is not None else (widths[k - 1] if k > 0 else 0.0)
        m_bot = (
            margin_scans if margin_scans is not None else (widths[k] if k < len(widths) else 0.0)
        )
        start = int(np.ceil(lay.start_scan + m_top))
        stop = int(np.floor(lay.end_scan - m_bot)) + 1
    else:
        start, stop = (int(v) for v in scans)
    start, stop = max(0, start), min(cube.sizes["depth"], stop)
    if stop - start < 1:
        raise DataError(f"layer {layer!r} has no scans left after excluding its interfaces")
    maps = layer_maps(cube, species, start, stop)
    if mask is not None:
        mk = np.asarray(getattr(mask, "values", mask), dtype=bool)
        if mk.shape != maps.shape[:2]:
            raise ParameterError(f"mask shape {mk.shape} ≠ map shape {maps.shape[:2]}")
        maps = maps * mk[..., None]
    pearson: dict[str, dict[str, float]] = {}
    for b in binnings:
        binned = bin_map(maps, int(b)).reshape(-1, len(species))
        if mask is not None:
            keep = bin_map(mk[..., None].astype(float), int(b)).reshape(-1) == b * b
            binned = binned[keep]
        row = {}
        for i, j in itertools.combinations(range(len(species)), 2):
            a, c = binned[:, i], binned[:, j]
            r = float(np.corrcoef(a, c)[0, 1]) if a.std() > 0 and c.std() > 0 else float("nan")
            row[f"{species[i]}/{species[j]}"] = r
        pearson[str(int(b))] = row
    # dispersion test at the finest binning with median expected count >= 5
    p_all = maps.reshape(-1, len(species)).sum(axis=0)
    if np.any(p_all == 0):
        raise DataError(
            f"species {[s for s, v in zip(species, p_all) if v == 0]} have no counts in the layer"
        )
    frac = p_all / p_all.sum()
    test_b = None
    for b in sorted(set(int(v) for v in binnings) | {1, 2, 4, 8, 16}):
        try:
            cells = bin_map(maps, b).reshape(-1, len(species))
        except ParameterError:
            break
        cells = cells[cells.sum(axis=1) > 0]
        if cells.shape[0] >= 2 and np.median(cells.sum(axis=1)) * frac.min() >= 5:
            test_b = b
            break
    if test_b is None:
        raise DataError(
            "too few counts for the dispersion test (median expected count per cell < 5 at "
            "every binning); use a thicker layer or a larger region"
        )
    cells = bin_map(maps, test_b).reshape(-1, len(species))
    if mask is not None:
        keep = bin_map(mk[..., None].astype(float), test_b).reshape(-1) == test_b * test_b
        cells = cells[keep]
    stat, dof, p = dispersion_test(cells)
    hist = list(cube.attrs.get("history", []))  # + this call's record (@provenance)
    return Colocalisation(
        layer=layer,
        species=list(species),
        scans=(start, stop),
        pearson_by_binning=pearson,
        dispersion_statistic=stat,
        dispersion_index=stat / dof,
        dof=dof,
        test_binning=test_b,
        p_value=p,
        alpha=alpha,
        segregated=bool(p < alpha),
        fractions={s: float(v) for s, v in zip(species, frac)},
        history=hist,
    )
