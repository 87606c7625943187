"""z-correction: per-column interface detection, per-layer sputter rates, uniform nm grid.

Conventions
-----------
- Scan ``s`` samples the depth reached half-way through it: in a layer of sputter rate
  ``r`` starting at scan ``s0`` and depth ``d0``, scan ``s`` sits at ``d0 + r (s - s0)``,
  and the free surface (depth 0) is at scan ``-0.5``.
- An interface is where the *fraction* ``f = b / (a + b)`` of the markers of the layer
  below (``b``) and above (``a``) is half-way between its two plateaus (the 50 % rule,
  normalised to local plateaus, not to global maxima).
- Per-layer sputter rates are laterally uniform: ``r_k = t_k / ⟨Δs_k⟩`` from the given
  mean layer thickness ``t_k`` and the field-mean number of scans spent in the layer.
  Column-to-column differences in the scans spent in a layer are therefore read as
  interface topography, and the interface height maps (nm) keep it. The surface is
  assumed flat (FIB-polished).
- The substrate (last layer) has no lower interface; its rate is the one given, else the
  rate of the layer above.

Method
------
1. The field-mean profile locates each interface roughly (first sustained 50 % crossing).
2. In each pixel column (marker images laterally smoothed with a Gaussian of
   ``smooth_px``), the interface position inside a window around the rough position is
   the integral (step-centroid) estimator ``s = s_lo + Σ (f_hi - f) / (f_hi - f_lo) - 1/2``
   with per-column plateau levels from the window ends: unbiased for a symmetric step and
   far less noise-sensitive than a threshold crossing.
3. Depth per scan and column is piecewise linear through the interfaces; the cube is
   resampled onto a uniform z grid (linear or nearest-scan interpolation), streaming
   one z slab at a time.

References
----------
Taylor, Graham, Castner, Analyst 140, 6005 (2015): per-layer z-correction of ToF-SIMS
3D data with linear transitions at interfaces. ISO 17109:2022: sputter rates from
layer thicknesses. IUPAC Gold Book (D01607): 50 % interface position.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, add_history, provenance
from charsuite.sims.tomo._io import compute_context, open_cube


@dataclasses.dataclass(frozen=True)
class Layer:
    """One layer of the stack, top to bottom.

    Attributes
    ----------
    name : str
    thickness_nm : float or None
        Mean thickness (None for the substrate / last layer).
    marker : str
        Species that identifies the layer.
    rate_nm_per_scan : float or None
        Known sputter rate; overrides the thickness-derived one.
    """

    name: str
    thickness_nm: float | None
    marker: str
    rate_nm_per_scan: float | None = None


def parse_layers(spec: str | Sequence) -> list[Layer]:
    """Parse ``"Li:160:Li,LiPON:60:PO2,NMC811:120:Ni,ITO:45:In,steel::Fe"``.

    Each item is ``name:thickness_nm:marker`` (thickness empty for the last layer), or an
    existing :class:`Layer` / ``(name, thickness_nm, marker)`` tuple.

    Parameters
    ----------
    spec : str or sequence
        Comma-separated ``name:thickness_nm:marker`` items, or a sequence of items
        (strings, tuples or :class:`Layer`); an optional fourth field gives the sputter
        rate (nm per scan).

    Returns
    -------
    list of Layer
        The layers, top to bottom.

    Raises
    ------
    ParameterError
        If an item is malformed, a thickness is not a positive number, there are fewer
        than two layers, or a layer other than the last has neither thickness nor rate.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    layers = []
    for item in items:
        if isinstance(item, Layer):
            layers.append(item)
            continue
        parts = item.split(":") if isinstance(item, str) else list(item)
        if len(parts) not in (3, 4):
            raise ParameterError(
                f"layer {item!r}: expected name:thickness_nm:marker (e.g. NMC811:600:Ni)"
            )
        name, thick, marker = (str(p).strip() if p is not None else "" for p in parts[:3])
        rate = float(parts[3]) if len(parts) == 4 and parts[3] not in ("", None) else None
        try:
            t = float(thick) if thick not in ("", "None") else None
        except ValueError as err:
            raise ParameterError(f"layer {item!r}: thickness {thick!r} is not a number") from err
        if t is not None and t <= 0:
            raise ParameterError(f"layer {item!r}: thickness must be positive")
        layers.append(Layer(name, t, marker, rate))
    if len(layers) < 2:
        raise ParameterError("z-correction needs at least two layers (one interface)")
    if any(layer.thickness_nm is None and layer.rate_nm_per_scan is None for layer in layers[:-1]):
        raise ParameterError("every layer but the last needs a thickness (or a sputter rate)")
    return layers


@dataclasses.dataclass(frozen=True)
class ZCorrection(Result):
    """Interfaces and depth scale found by :func:`detect_interfaces`.

    JSON (``to_dict``) holds the summary; the maps are DataArrays in
    :attr:`interface_scan` (scans) and :attr:`interface_depth` (nm), dims
    ``(interface, y, x)``.
    """

    layers: list
    interfaces: list
    thickness_nm: list
    rates_nm_per_scan: list
    rate_source: list
    interface_scan_mean: list
    interface_scan_rms: list
    interface_depth_mean_nm: list
    interface_depth_rms_nm: list
    history: list
    interface_scan: Any = dataclasses.field(default=None, repr=False, compare=False)
    interface_depth: Any = dataclasses.field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        from charsuite.model import jsonable

        skip = {"interface_scan", "interface_depth"}
        return {
            f.name: jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in skip
        }


def _first_crossing(f, start, stop, sustain=3):
    import numpy as np

    for s in range(max(start, 1), stop):
        if f[s] >= 0.5 and np.all(f[s : min(stop, s + sustain)] >= 0.5) and f[s - 1] < 0.5:
            return s - 1 + (0.5 - f[s - 1]) / (f[s] - f[s - 1])
    return None


@provenance("detect_interfaces", exclude=("cube", "scheduler"))
def detect_interfaces(
    cube,
    layers,
    *,
    smooth_px: float = 2.0,
    refine: int = 2,
    min_window: float = 6.0,
    crossing: bool = True,
    scheduler: Any = None,
    progress=None,
) -> ZCorrection:
    """Find every interface in every pixel column and the per-layer sputter rates.

    Parameters
    ----------
    cube : xarray.DataArray or path
        Registered SIMS cube (depth = scan index, y, x, species).
    layers : str or sequence
        Stack top to bottom (see :func:`parse_layers`).
    smooth_px : float
        Lateral Gaussian σ (pixels) applied to the marker images before detection.
    refine : int
        Passes of re-integration over a narrow window centred on each column's previous
        estimate (half-width max(``min_window``, 4 × the estimate's pixel-to-pixel
        noise) scans): the integral estimator's noise grows with the window length.
    min_window : float
        Smallest refinement half-width (scans); must exceed the interface width.
    crossing : bool
        Finish with the 50 % crossing nearest to the centroid estimate (unbiased when
        the sputter rate changes at the interface; slightly noisier).
    scheduler : optional
        dask scheduler (see :func:`charsuite.sims.tomo._io.compute_context`).
    progress : callable, optional

    Returns
    -------
    ZCorrection
    """
    import numpy as np
    import xarray as xr

    cube = open_cube(cube)
    layers = parse_layers(layers)
    have = [str(s) for s in cube["species"].values]
    missing = sorted({layer.marker for layer in layers} - set(have))
    if missing:
        raise ParameterError(f"marker species {missing} are not in the cube; it has {have}")
    markers = [have.index(layer.marker) for layer in layers]
    rough = _rough_positions(cube, layers, markers, scheduler)
    n = cube.shape[0]
    edges = np.r_[-0.5, rough, n - 0.5]
    maps = np.empty((len(rough), *cube.shape[1:3]))
    opts = {"smooth_px": smooth_px, "refine": refine, "min_window": min_window}
    for k, pos in enumerate(rough):
        half = max(0.45 * min(edges[k + 1] - edges[k], edges[k + 2] - edges[k + 1]), 2.0)
        lo, hi = max(0, int(np.floor(pos - half))), min(n, int(np.ceil(pos + half)) + 1)
        with compute_context(scheduler):
            # float32 keeps the window (up to a few hundred scans × 2 markers) small
            slab = np.asarray(
                cube.data[lo:hi, :, :, [markers[k], markers[k + 1]]].compute(), np.float32
            )
        maps[k] = _interface_map(slab, lo, pos, crossing=crossing, **opts)
        if progress:
            progress(1)
    rates, source = _layer_rates(layers, maps.mean(axis=(1, 2)))
    depth_maps = np.empty_like(maps)
    prev_d, prev_s = 0.0, -0.5
    for k in range(len(rough)):
        depth_maps[k] = prev_d + rates[k] * (maps[k] - prev_s)
        prev_d, prev_s = depth_maps[k], maps[k]
    names = [f"{layers[k].name}/{layers[k + 1].name}" for k in range(len(rough))]
    coords = {"interface": ("interface", names, {"units": "label"})}
    for d in ("y", "x"):
        coords[d] = cube[d]
    dims = ("interface", "y", "x")
    return ZCorrection(
        layers=[layer.name for layer in layers],
        interfaces=names,
        thickness_nm=[layer.thickness_nm for layer in layers],
        rates_nm_per_scan=rates,
        rate_source=source,
        interface_scan_mean=maps.mean(axis=(1, 2)).tolist(),
        interface_scan_rms=maps.std(axis=(1, 2)).tolist(),
        interface_depth_mean_nm=depth_maps.mean(axis=(1, 2)).tolist(),
        interface_depth_rms_nm=depth_maps.std(axis=(1, 2)).tolist(),
        history=[],
        interface_scan=xr.DataArray(maps, dims=dims, coords=coords, attrs={"units": "scan"}),
        interface_depth=xr.DataArray(depth_maps, dims=dims, coords=coords, attrs={"units": "nm"}),
    )


def _rough_positions(cube, layers, markers, scheduler):
    """Interface positions (fractional scans) from the field-mean marker profiles."""
    import numpy as np
    from scipy import ndimage

    n = cube.shape[0]
    with compute_context(scheduler):
        mean_profile = np.asarray(cube.data[..., sorted(set(markers))].mean(axis=(1, 2)).compute())
    col = {m: i for i, m in enumerate(sorted(set(markers)))}
    rough = []
    start = 0
    for k in range(len(layers) - 1):
        a, b = mean_profile[:, col[markers[k]]], mean_profile[:, col[markers[k + 1]]]
        f = b / np.maximum(a + b, 1e-12)
        f = ndimage.uniform_filter1d(f, 3)
        lo, hi = np.percentile(f[start:], 5), np.percentile(f[start:], 95)
        pos = _first_crossing((f - lo) / max(hi - lo, 1e-12), start, n)
        if pos is not None:
            # the marker of the layer below must be near its own maximum there
            after = b[int(np.ceil(pos)) : int(np.ceil(pos)) + 10]
            if after.size == 0 or np.median(after) < 0.5 * np.max(b):
                pos = None
        if pos is None or hi - lo < 0.2:
            raise DataError(
                f"the {layers[k].name}/{layers[k + 1].name} interface (markers "
                f"{layers[k].marker} → {layers[k + 1].marker}) was not found after scan "
                f"{start}; check that the layers are listed top to bottom and match the profile"
            )
        rough.append(pos)
        start = int(np.ceil(pos)) + 1
    return np.asarray(rough)


def _interface_map(slab, lo, pos, *, smooth_px, refine, min_window, crossing):
    """Per-column interface position (scans) from a window ``slab`` (scans, y, x, 2 markers).

    Integral (step-centroid) estimator, refined over narrow windows, optionally finished
    with the nearest 50 % crossing (see :func:`detect_interfaces`).
    """
    import numpy as np
    from scipy import ndimage

    hi = lo + slab.shape[0]
    if smooth_px:
        slab = ndimage.gaussian_filter(slab, (0, smooth_px, smooth_px, 0), mode="nearest")
    a, b = slab[..., 0], slab[..., 1]
    f = b / np.maximum(a + b, 1e-12)
    m = max(1, (hi - lo) // 4)
    f_lo = f[:m].mean(0)
    f_hi = f[-m:].mean(0)
    step = np.where(np.abs(f_hi - f_lo) > 1e-6, f_hi - f_lo, np.nan)
    out = lo + ((f_hi - f) / step).sum(0, dtype=np.float64) - 0.5
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = pos
    np.clip(out, lo - 0.5, hi - 0.5, out=out)
    # refine: the integral's noise grows with the window length, so integrate again
    # over a narrow window centred on each column's first estimate
    scans = np.arange(lo, hi, dtype=np.float64)[:, None, None]
    for _ in range(refine):
        noise = 1.4826 * np.median(np.abs(out - ndimage.median_filter(out, 3)))
        half2 = max(min_window, 4.0 * noise)
        lo2 = np.clip(np.floor(out + 0.5 - half2), lo, hi - 1)
        hi2 = np.clip(np.ceil(out + 0.5 + half2), lo + 1, hi)
        inside = (scans >= lo2) & (scans < hi2)
        frac = np.where(inside, (f_hi - f) / step, 0.0).sum(0, dtype=np.float64)
        new = lo2 + frac - 0.5
        ok = np.isfinite(new)
        out[ok] = np.clip(new[ok], lo - 0.5, hi - 0.5)
    if crossing:
        out = _nearest_crossing((f - f_lo) / step, scans, out, min_window)
    return out


def _nearest_crossing(g, scans, centre, min_window):
    """The 50 % crossing of ``g`` nearest to ``centre`` per column (else ``centre``).

    The step centroid is biased towards the slower layer when the sputter rate changes
    at the interface (the step is asymmetric in scans); the crossing (linear
    interpolation between scans) is not.
    """
    import numpy as np

    g0, g1 = g[:-1], g[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        cross = np.where((g0 < 0.5) & (g1 >= 0.5), scans[:-1] + (0.5 - g0) / (g1 - g0), np.nan)
    dist = np.abs(cross - centre)
    dist[~np.isfinite(dist)] = np.inf
    best = dist.argmin(0)
    pick = np.take_along_axis(cross, best[None], 0)[0]
    near = np.take_along_axis(dist, best[None], 0)[0] <= max(min_window, 3.0)
    return np.where(near & np.isfinite(pick), pick, centre)


def _layer_rates(layers, mean_s):
    """Per-layer sputter rates (nm/scan) from the mean interface positions, with their source."""
    rates, source = [], []
    bounds = [-0.5, *mean_s]
    for k, layer in enumerate(layers):
        if layer.rate_nm_per_scan is not None:
            rates.append(float(layer.rate_nm_per_scan))
            source.append("given")
        elif k < len(layers) - 1:
            rates.append(float(layer.thickness_nm / (bounds[k + 1] - bounds[k])))
            source.append("thickness / mean scans in layer")
        else:
            rates.append(rates[-1])
            source.append("assumed equal to the layer above")
    return rates, source


def _scan_of_depth(z, scan_maps, depth_maps, rates):
    """Fractional scan index of depth ``z`` (nm) per column: (nz, ny, nx)."""
    import numpy as np

    z = np.asarray(z, float)[:, None, None]
    out = np.empty((z.shape[0], *scan_maps.shape[1:]))
    prev_d = np.zeros(scan_maps.shape[1:])
    prev_s = np.full(scan_maps.shape[1:], -0.5)
    done = np.zeros(out.shape, bool)
    for k in range(len(rates)):
        s = prev_s + (z - prev_d) / rates[k]
        if k < len(scan_maps):
            here = ~done & (z < depth_maps[k])
            prev_d, prev_s = depth_maps[k], scan_maps[k]
        else:
            here = ~done
        out = np.where(here, s, out)
        done |= here
    return out


def _resample_block(piece, s_of_z, s_lo, method, dtype):
    import numpy as np

    n = piece.shape[0]
    rel = np.clip(s_of_z - s_lo, 0, n - 1)
    if method == "nearest":
        idx = np.rint(rel).astype(np.intp)[..., None]
        return np.take_along_axis(piece, np.broadcast_to(idx, (*idx.shape[:3], piece.shape[3])), 0)
    i0 = np.minimum(np.floor(rel).astype(np.intp), n - 2) if n > 1 else np.zeros_like(rel, int)
    w = (rel - i0)[..., None].astype(np.float32)
    shape = (*i0.shape, piece.shape[3])
    a = np.take_along_axis(piece, np.broadcast_to(i0[..., None], shape), 0)
    b = np.take_along_axis(piece, np.broadcast_to(np.minimum(i0 + 1, n - 1)[..., None], shape), 0)
    return ((1 - w) * a + w * b).astype(dtype)


def zcorrect(
    cube,
    correction: ZCorrection,
    *,
    voxel_nm: float | None = None,
    method: str = "linear",
    slab: int = 32,
):
    """Resample a registered cube onto a uniform depth grid in nm (lazy, streaming).

    Parameters
    ----------
    cube : xarray.DataArray or path
        Registered cube (depth = scan index) on the same y/x grid as ``correction``.
    correction : ZCorrection
        From :func:`detect_interfaces`.
    voxel_nm : float, optional
        z step; default the mean depth per scan (about as many slices as scans).
    method : {"linear", "nearest"}
        Linear interpolation between scans (float32), or the nearest scan, which keeps
        counts integer (Poisson) at the price of z jitter of ±½ scan.
    slab : int
        Output z slices per dask block.

    Returns
    -------
    xarray.DataArray
        dims (depth, y, x, species) with ``depth`` in nm (voxel centres) from the surface
        down to the shallowest column bottom (every column covers the whole grid).
    """
    import dask.array as da
    import numpy as np
    import xarray as xr

    cube = open_cube(cube)
    if method not in ("linear", "nearest"):
        raise ParameterError(f"method must be 'linear' or 'nearest'; got {method!r}")
    scan_maps = np.asarray(correction.interface_scan.values)
    depth_maps = np.asarray(correction.interface_depth.values)
    if scan_maps.shape[1:] != cube.shape[1:3]:
        raise DataError(
            f"interface maps are {scan_maps.shape[1:]} pixels but the cube is {cube.shape[1:3]}; "
            "detect interfaces on the same (registered, cropped) cube"
        )
    rates = list(correction.rates_nm_per_scan)
    n = cube.shape[0]
    # depth of the last scan per column
    last_d = depth_maps[-1] + rates[-1] * ((n - 1) - scan_maps[-1])
    z_max = float(last_d.min())
    if voxel_nm is None:
        voxel_nm = z_max / n
    if voxel_nm <= 0:
        raise ParameterError("voxel_nm must be positive")
    nz = int(np.floor(z_max / voxel_nm))
    if nz < 1:
        raise DataError("the profile is shallower than one voxel")
    z = (np.arange(nz) + 0.5) * voxel_nm
    dtype = cube.dtype if method == "nearest" else np.float32
    data = cube.data.rechunk({1: -1, 2: -1})
    blocks = []
    for a in range(0, nz, slab):
        zb = z[a : a + slab]
        s_of_z = _scan_of_depth(zb, scan_maps, depth_maps, rates)
        s_lo = max(0, int(np.floor(s_of_z.min())))
        s_hi = min(n, int(np.ceil(s_of_z.max())) + 2)
        piece = data[s_lo:s_hi].rechunk({0: -1})
        blocks.append(
            da.map_blocks(
                _resample_block,
                piece,
                s_of_z,
                s_lo,
                method,
                dtype,
                dtype=dtype,
                chunks=(len(zb), *piece.chunks[1:]),
            )
        )
    out = da.concatenate(blocks, axis=0)
    coords = {name: c for name, c in cube.coords.items() if "depth" not in c.dims} | {
        "depth": ("depth", z, {"units": "nm"})
    }
    result = xr.DataArray(
        out, dims=cube.dims, coords=coords, name=cube.name, attrs=dict(cube.attrs)
    )
    result.attrs["zcorrection"] = correction.to_dict() | {"history": []}
    result.attrs["metadata"] = {
        **cube.attrs.get("metadata", {}),
        "voxel_depth_nm": float(voxel_nm),
    }
    return add_history(
        result,
        "zcorrect",
        function="charsuite.sims.tomo._zcorrect.zcorrect",
        parameters={"voxel_nm": voxel_nm, "method": method, "rates_nm_per_scan": rates},
    )
