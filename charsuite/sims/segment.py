"""Denoising, layer segmentation, segregated regions, isosurfaces, slices and projections.

Denoisers keep counts meaningful:

- :func:`bin_cube` sums counts in blocks (still Poisson counts);
- :func:`gaussian` convolves with a normalised kernel (local mean counts per voxel; the
  total is conserved);
- :func:`nlmeans` applies non-local means (:func:`skimage.restoration.denoise_nl_means`)
  after the Anscombe variance-stabilising transform (Poisson → unit-variance Gaussian)
  and maps back with the exact unbiased inverse of Mäkitalo & Foi, so the result is an
  estimate of the mean counts per voxel.

All denoisers work per species and per dask block (with overlap where needed), so they
stream on cubes larger than memory. Region labelling (connected components) and
isosurfaces work on one species volume at a time, which must fit in memory
(1395 × 256 × 256 float32 = 366 MB).

References
----------
Anscombe, Biometrika 35, 246 (1948). Mäkitalo & Foi, IEEE TIP 20, 99 (2011): exact
unbiased inverse of the Anscombe transformation. Buades, Coll, Morel, CVPR 2005
(non-local means). Lorensen & Cline, SIGGRAPH 1987 (marching cubes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, add_history, history_record
from charsuite.sims._tomo_io import compute_context, open_cube

_DIMS3 = ("depth", "y", "x")


def bin_cube(cube, *, depth: int = 1, y: int = 2, x: int = 2):
    """Sum counts in ``depth × y × x`` blocks (edges that do not fill a block are dropped).

    Coordinates become block means; counts stay counts (Poisson).
    """
    cube = open_cube(cube)
    for name, f in (("depth", depth), ("y", y), ("x", x)):
        if int(f) < 1:
            raise ParameterError(f"bin factor {name}={f} must be ≥ 1")
    out = cube.coarsen(depth=depth, y=y, x=x, boundary="trim").sum()
    for d in ("depth", "y", "x"):
        out[d].attrs = cube[d].attrs
    for c in cube.coords:
        if c not in out.coords:
            out = out.assign_coords({c: cube[c]})
    out.attrs = dict(cube.attrs)
    return add_history(
        out,
        "bin",
        function="charsuite.sims.segment.bin_cube",
        parameters={"depth": depth, "y": y, "x": x},
    )


def _gauss_block(block, sigma):
    import numpy as np
    from scipy import ndimage

    return ndimage.gaussian_filter(block.astype(np.float32), (*sigma, 0), mode="nearest")


def gaussian(cube, *, sigma: Sequence[float] = (1.0, 1.0, 1.0)):
    """Gaussian smoothing per species, σ = (depth, y, x) in voxels (lazy, overlapping blocks)."""
    import numpy as np

    cube = open_cube(cube)
    sigma = tuple(float(s) for s in sigma)
    if len(sigma) != 3 or min(sigma) < 0:
        raise ParameterError("sigma must be three non-negative numbers (depth, y, x)")
    depth = (*tuple(int(np.ceil(4 * s)) for s in sigma), 0)
    data = cube.data.rechunk({1: -1, 2: -1})
    out = data.map_overlap(
        _gauss_block, depth=depth, boundary="nearest", sigma=sigma, dtype=np.float32
    )
    return add_history(
        cube.copy(data=out),
        "gaussian",
        function="charsuite.sims.segment.gaussian",
        parameters={"sigma_voxels": sigma},
    )


def _anscombe(x):
    import numpy as np

    return 2.0 * np.sqrt(np.maximum(x, 0) + 3.0 / 8.0)


def _inverse_anscombe(y):
    """Closed-form approximation of the exact unbiased inverse (Mäkitalo & Foi 2011)."""
    import numpy as np

    y = np.maximum(y, 1.0)
    return (
        0.25 * y**2
        + 0.25 * np.sqrt(1.5) / y
        - 11.0 / 8.0 / y**2
        + 5.0 / 8.0 * np.sqrt(1.5) / y**3
        - 1.0 / 8.0
    )


def _nlm_block(block, patch_size, patch_distance, h):
    import numpy as np
    from skimage.restoration import denoise_nl_means

    out = np.empty(block.shape, np.float32)
    for s in range(block.shape[3]):
        for i in range(block.shape[0]):
            a = _anscombe(block[i, :, :, s].astype(np.float64))
            d = denoise_nl_means(
                a, patch_size=patch_size, patch_distance=patch_distance, h=h, sigma=1.0
            )
            out[i, :, :, s] = np.maximum(_inverse_anscombe(d), 0)
    return out


def nlmeans(cube, *, patch_size: int = 3, patch_distance: int = 5, h: float = 0.8):
    """Non-local means per scan and species on Anscombe-stabilised counts (lazy).

    Parameters
    ----------
    patch_size, patch_distance : int
        Patch size and search radius (pixels), see :func:`skimage.restoration.denoise_nl_means`.
    h : float
        Filter strength in units of the stabilised noise σ (= 1).

    Returns
    -------
    xarray.DataArray
        Estimated mean counts per voxel (float32).
    """
    import numpy as np

    cube = open_cube(cube)
    data = cube.data.rechunk({1: -1, 2: -1})
    out = data.map_blocks(_nlm_block, patch_size, patch_distance, h, dtype=np.float32)
    return add_history(
        cube.copy(data=out),
        "nlmeans",
        function="charsuite.sims.segment.nlmeans",
        parameters={"patch_size": patch_size, "patch_distance": patch_distance, "h": h},
    )


def segment_layers(
    cube, markers: Sequence[str], *, sigma: Sequence[float] = (1.0, 2.0, 2.0), scheduler=None
):
    """Label each voxel with the layer whose marker dominates (lazy uint8 volume).

    Each marker signal is Gaussian-smoothed and divided by its own plateau level (99th
    percentile of the smoothed field-mean profile), so markers of different yield
    compete fairly; the label is the index (0-based, in ``markers`` order) of the largest.

    Returns
    -------
    xarray.DataArray
        dims (depth, y, x), ``attrs["layers"]`` = markers.
    """
    import numpy as np

    cube = open_cube(cube)
    _check(cube, list(markers))
    sub = gaussian(cube.sel(species=list(markers)), sigma=sigma)
    with compute_context(scheduler):
        prof = np.asarray(sub.data.mean(axis=(1, 2)).compute())
    level = np.maximum(np.percentile(prof, 99, axis=0), 1e-12)
    labels = (sub / level).argmax("species").astype(np.uint8)
    labels = labels.drop_vars([c for c in labels.coords if c not in _DIMS3])
    labels.attrs = {"units": "label", "layers": list(markers)}
    return labels


def _check(cube, names):
    have = [str(s) for s in cube["species"].values]
    missing = [n for n in names if n not in have]
    if missing:
        raise ParameterError(f"species {missing} are not in the cube; it has {have}")


def _voxel_nm(vol) -> tuple[float, float, float]:
    import numpy as np

    out = []
    for d in _DIMS3:
        c = np.asarray(vol[d].values, float)
        step = float(np.median(np.diff(c))) if c.size > 1 else 1.0
        units = vol[d].attrs.get("units", "")
        factor = {"nm": 1.0, "µm": 1000.0, "um": 1000.0}.get(units)
        if factor is None:
            raise DataError(
                f"axis {d!r} is in {units!r}; sizes in nm need depth in nm (z-correct first) "
                "and y/x in µm"
            )
        out.append(abs(step) * factor)
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Region:
    """One connected segregated region."""

    label: int
    voxels: int
    volume_nm3: float
    equivalent_diameter_nm: float
    centroid_nm: list
    bbox_voxels: list
    mean_signal: float


@dataclasses.dataclass(frozen=True)
class RegionResult(Result):
    """Segregated regions of one species.

    ``labels`` (a DataArray, not in JSON) holds the region label of each voxel.
    """

    species: str
    threshold: float
    background: float
    voxel_nm: list
    regions: list
    total_volume_nm3: float
    history: list
    labels: Any = dataclasses.field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        from charsuite.model._result import _plain

        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "labels"
        }


def _half_level(values, threshold):
    """Background (median) and the 50 % level between it and the region plateau.

    The plateau is the median of the voxels more than 5 robust σ above the background
    (MAD-based σ), so it describes the regions rather than the noise tail.
    """
    import numpy as np

    background = float(np.median(values))
    if threshold is not None:
        return background, float(threshold)
    sigma = 1.4826 * float(np.median(np.abs(values - background)))
    high = values[values > background + 5 * max(sigma, 1e-12)]
    if high.size == 0:
        raise DataError(
            "no voxel stands out from the background (5 robust σ); nothing is segregated "
            "at this smoothing — give an explicit threshold to force a segmentation"
        )
    plateau = float(np.median(high))
    return background, background + 0.5 * (plateau - background)


def find_regions(
    tomogram,
    species: str,
    *,
    sigma: Sequence[float] = (1.0, 1.0, 1.0),
    threshold: float | None = None,
    mask=None,
    min_voxels: int = 20,
    fill_holes: bool = True,
    scheduler: Any = None,
) -> RegionResult:
    """Find segregated regions of ``species`` as connected components.

    Parameters
    ----------
    tomogram : xarray.DataArray
        z-corrected cube (depth in nm, y/x in µm); one species volume is loaded.
    species : str
    sigma : (float, float, float)
        Gaussian σ (voxels) before thresholding.
    threshold : float, optional
        Counts per voxel (smoothed). Default: half-way between the background (median
        inside ``mask``) and the region plateau (median of the voxels > 5 robust σ above
        the background), i.e. the 50 % rule — volumes of blurred regions are then
        unbiased to first order.
    mask : DataArray of bool (depth, y, x), optional
        Where to look (e.g. the host layer from :func:`segment_layers`).
    min_voxels : int
        Smaller components are dropped (noise).
    fill_holes : bool
        Fill enclosed holes of the mask (a segregated region displaces the host layer's
        marker, so a layer mask has a hole there) and of each region (low-yield voxels
        inside a region belong to it).

    Returns
    -------
    RegionResult
    """
    import numpy as np
    import xarray as xr
    from scipy import ndimage

    tomogram = open_cube(tomogram)
    _check(tomogram, [species])
    vnm = _voxel_nm(tomogram)
    vol = gaussian(tomogram.sel(species=[species]), sigma=sigma).isel(species=0)
    with compute_context(scheduler):
        v = np.asarray(vol.data.compute(), float)
        m = np.ones(v.shape, bool) if mask is None else np.asarray(xr.DataArray(mask).values, bool)
    if m.shape != v.shape:
        raise DataError(f"mask shape {m.shape} differs from the volume {v.shape}")
    if not m.any():
        raise DataError("the mask is empty: no voxel to search (empty ROI)")
    if fill_holes:
        # a region that displaces the host layer's marker leaves a hole in a layer mask
        m = ndimage.binary_fill_holes(m)
    background, threshold = _half_level(v[m], threshold)
    binary = (v > threshold) & m
    if fill_holes:
        binary = ndimage.binary_fill_holes(binary)
    labels, n = ndimage.label(binary)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = np.flatnonzero(sizes >= min_voxels)
    keep = keep[keep > 0]
    relabel = np.zeros(n + 1, np.int32)
    relabel[keep] = np.arange(1, len(keep) + 1)
    labels = relabel[labels]
    voxel_volume = float(np.prod(vnm))
    regions = []
    objs = ndimage.find_objects(labels)
    for i, sl in enumerate(objs, start=1):
        if sl is None:
            continue
        sel = labels[sl] == i
        count = int(sel.sum())
        idx = np.argwhere(sel) + [s.start for s in sl]
        centroid = [
            float(np.interp(c, np.arange(len(tomogram[d])), tomogram[d].values))
            * (1000.0 if d != "depth" else 1.0)
            for c, d in zip(idx.mean(0), _DIMS3)
        ]
        vol_nm3 = count * voxel_volume
        regions.append(
            Region(
                label=i,
                voxels=count,
                volume_nm3=vol_nm3,
                equivalent_diameter_nm=float((6 * vol_nm3 / np.pi) ** (1 / 3)),
                centroid_nm=centroid,
                bbox_voxels=[[s.start, s.stop] for s in sl],
                mean_signal=float(v[sl][sel].mean()),
            )
        )
    regions.sort(key=lambda r: -r.volume_nm3)
    label_da = xr.DataArray(
        labels,
        dims=_DIMS3,
        coords={d: tomogram[d] for d in _DIMS3},
        attrs={"units": "label", "species": species},
    )
    params = {
        "species": species,
        "sigma": list(sigma),
        "threshold": threshold,
        "min_voxels": min_voxels,
    }
    hist = [
        *tomogram.attrs.get("history", []),
        history_record(
            "find_regions", function="charsuite.sims.segment.find_regions", parameters=params
        ),
    ]
    return RegionResult(
        species=species,
        threshold=float(threshold),
        background=background,
        voxel_nm=list(vnm),
        regions=regions,
        total_volume_nm3=float(sum(r.volume_nm3 for r in regions)),
        history=hist,
        labels=label_da,
    )


@dataclasses.dataclass(frozen=True)
class Mesh:
    """A triangle mesh in nm: ``vertices`` (n, 3) as (z, y, x), ``faces`` (m, 3)."""

    vertices: Any
    faces: Any
    species: str
    level: float

    @property
    def area_nm2(self) -> float:
        from skimage.measure import mesh_surface_area

        return float(mesh_surface_area(self.vertices, self.faces))


def isosurface(
    tomogram,
    species: str,
    *,
    level: float | None = None,
    sigma: Sequence[float] = (1.0, 1.0, 1.0),
    step: int = 1,
    scheduler: Any = None,
) -> Mesh:
    """Marching-cubes isosurface of one species (vertices in nm from the grid origin).

    ``level`` defaults to half-way between the median and the 99.9th percentile of the
    smoothed volume; ``step`` > 1 coarsens the mesh for large volumes.
    """
    import numpy as np
    from skimage.measure import marching_cubes

    tomogram = open_cube(tomogram)
    _check(tomogram, [species])
    vnm = _voxel_nm(tomogram)
    vol = gaussian(tomogram.sel(species=[species]), sigma=sigma).isel(species=0)
    with compute_context(scheduler):
        v = np.asarray(vol.data.compute(), np.float32)
    if level is None:
        level = _half_level(v, None)[1]
    if not v.min() < level < v.max():
        raise DataError(
            f"isosurface level {level:g} is outside the {species} signal range "
            f"[{v.min():g}, {v.max():g}]"
        )
    verts, faces, _, _ = marching_cubes(v, level=level, spacing=vnm, step_size=step)
    origin = np.array(
        [
            float(tomogram["depth"].values[0]),
            float(tomogram["y"].values[0]) * 1000,
            float(tomogram["x"].values[0]) * 1000,
        ]
    )
    return Mesh(vertices=verts + origin, faces=faces, species=species, level=float(level))


def orthoslices(tomogram, *, depth=None, y=None, x=None) -> dict:
    """Three orthogonal slices through a point (coordinates in the axes' units; default centre).

    Returns ``{"depth": (y, x, species), "y": (depth, x, species), "x": (depth, y, species)}``.
    """
    tomogram = open_cube(tomogram)
    at = {"depth": depth, "y": y, "x": x}
    out = {}
    for d in _DIMS3:
        c = tomogram[d]
        pos = at[d] if at[d] is not None else float(c.values[len(c) // 2])
        out[d] = tomogram.sel({d: pos}, method="nearest")
    return out


def projection(tomogram, axis: str = "depth", *, method: str = "sum"):
    """Sum, mean or maximum projection along ``axis`` (lazy)."""
    tomogram = open_cube(tomogram)
    if axis not in _DIMS3:
        raise ParameterError(f"axis must be one of {_DIMS3}; got {axis!r}")
    if method not in ("sum", "mean", "max"):
        raise ParameterError(f"method must be sum, mean or max; got {method!r}")
    out = getattr(tomogram, method)(axis)
    out.attrs = {**tomogram.attrs, "projection": f"{method} along {axis}"}
    return out
