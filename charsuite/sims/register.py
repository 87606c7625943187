"""Lateral drift correction of FIB-ToF-SIMS cubes by phase correlation.

Conventions
-----------
``shifts_px[s] = (dy, dx)`` is the translation that *registers* scan ``s`` onto the
reference frame (scan 0 unless ``reference_scan`` says otherwise), in the convention of
:func:`scipy.ndimage.shift`: ``registered(r) = raw(r - shift)``. Shifts are cumulative
(absolute with respect to the reference scan), in pixels, positive along increasing
``y``/``x`` index. If the sample appears to move by ``+d`` pixels, the shift is ``-d``.

Method
------
Each scan's registration image (total ion count, chosen species, or an external image
stack such as FIB secondary-electron images) is smoothed, Hann-windowed and matched by
phase correlation (:func:`skimage.registration.phase_cross_correlation`, sub-pixel by
upsampled DFT, Guizar-Sicairos et al. 2008) against a *running reference*: an
exponentially weighted mean of the already registered images (memory ``window`` scans).
Matching against a registered average rather than the previous scan stops sub-pixel
errors from accumulating as a random walk, while still following gradual changes of the
image content from layer to layer. A second estimate against the previous scan is used
when it matches clearly better (abrupt content changes at interfaces).

Outliers (blank or saturated scans, failed matches) are rejected online: a scan whose
step from the last accepted shift exceeds ``outlier_threshold`` robust standard
deviations of recent steps (and at least ``min_outlier_px``), or whose image has no
contrast, gets the shift interpolated from its neighbours and does not update the
reference.

References
----------
Guizar-Sicairos, Thurman, Fienup, Opt. Lett. 33, 156 (2008): efficient sub-pixel image
registration. pySPM (``pySPM.align``) registers ToF-SIMS scans by integer FFT
cross-correlation against the summed image.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, add_history, history_record
from charsuite.sims._tomo_io import compute_context, iter_blocks, open_cube


@dataclasses.dataclass(frozen=True)
class DriftResult(Result):
    """Estimated lateral drift of every scan.

    Attributes
    ----------
    reference : str
        What the shifts refer to, e.g. ``"scan 0"``.
    image : str
        Registration image used (``"tic"``, species names, or ``"external"``).
    shifts_px : list of [dy, dx]
        Cumulative registering shift of each scan (pixels; see module docstring).
    outliers : list of int
        Scans whose match was rejected (shift interpolated).
    error : list of float
        Phase-correlation error of each scan's accepted match (0 = perfect).
    upsample_factor : int
    history : list
    """

    reference: str
    image: str
    shifts_px: list
    outliers: list
    error: list
    upsample_factor: int
    history: list

    @property
    def shifts(self):
        """Shifts as a numpy array (n_scans, 2)."""
        import numpy as np

        return np.asarray(self.shifts_px, float)


def _prep(img, sigma):
    import numpy as np
    from scipy import ndimage

    img = np.nan_to_num(np.asarray(img, float))
    if sigma:
        img = ndimage.gaussian_filter(img, sigma)
    return img - img.mean()


def _match(ref, mov, upsample, window, normalization):
    import warnings

    from skimage.registration import phase_cross_correlation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shift, error, _ = phase_cross_correlation(
            (ref - ref.mean()) * window,
            mov * window,
            upsample_factor=upsample,
            normalization=normalization,
        )
    return shift, float(error)


def registration_images(cube, *, image: Any = "tic"):
    """Return the (depth, y, x) stack used for registration (lazy).

    Parameters
    ----------
    cube : xarray.DataArray
        SIMS cube (depth, y, x, species).
    image : "tic", str, sequence of str, or xarray.DataArray
        ``"tic"`` sums all species; species name(s) sum those; a DataArray with dims
        (depth, y, x) (e.g. FIB SE images resampled to the SIMS grid) is used directly.
    """
    import xarray as xr

    if isinstance(image, xr.DataArray):
        if tuple(image.dims) != ("depth", "y", "x") or image.shape != cube.shape[:3]:
            raise DataError(
                f"registration image stack must have dims (depth, y, x) and shape "
                f"{cube.shape[:3]}; got {image.dims} {image.shape}"
            )
        return image
    if isinstance(image, str) and image.lower() == "tic":
        return cube.sum("species")
    names = [image] if isinstance(image, str) else list(image)
    _check_species(cube, names)
    return cube.sel(species=names).sum("species")


def _check_species(cube, names):
    have = [str(s) for s in cube["species"].values]
    missing = [n for n in names if n not in have]
    if missing:
        raise ParameterError(
            f"species {missing} are not in the cube; it has {have}. Choose from those names"
        )


def estimate_drift(
    cube,
    *,
    image: Any = "tic",
    reference_scan: int = 0,
    window: int = 8,
    upsample_factor: int = 20,
    smooth_px: float = 0.0,
    outlier_threshold: float = 6.0,
    min_outlier_px: float = 1.0,
    max_shift_px: float | None = None,
    normalization: str | None = None,
    scheduler: Any = None,
    progress=None,
) -> DriftResult:
    """Estimate the cumulative lateral drift of every scan by phase correlation.

    Parameters
    ----------
    cube : xarray.DataArray or path
        SIMS cube (depth, y, x, species), numpy or dask backed, or a file path.
    image : "tic", str, list of str or DataArray
        Registration image (see :func:`registration_images`).
    reference_scan : int
        Scan whose frame is the reference (shift 0).
    window : int
        Memory (scans) of the running registered reference.
    upsample_factor : int
        Sub-pixel precision 1/upsample_factor px.
    smooth_px : float
        Gaussian σ (pixels) applied to the registration images (shot-noise suppression).
    outlier_threshold : float
        Robust z-score of a step above which the match is rejected.
    min_outlier_px : float
        Steps smaller than this are never rejected.
    max_shift_px : float, optional
        Reject any step larger than this outright.
    scheduler : optional
        dask scheduler (see :func:`charsuite.sims._tomo_io.compute_context`).
    progress : callable, optional
        ``progress(advance)`` per scan.

    Returns
    -------
    DriftResult
    """
    import numpy as np
    from skimage.filters import window as skwindow

    cube = open_cube(cube)
    n = cube.shape[0]
    if not 0 <= reference_scan < n:
        raise ParameterError(f"reference_scan {reference_scan} outside 0..{n - 1}")
    if window < 1 or upsample_factor < 1:
        raise ParameterError("window and upsample_factor must be ≥ 1")
    stack = registration_images(cube, image=image).data
    ny, nx = cube.shape[1:3]
    if min(ny, nx) < 8:
        raise DataError(f"scans of {ny}×{nx} pixels are too small to register (need ≥ 8×8)")
    hann = skwindow("hann", (ny, nx))

    # process scans outward from the reference: forward, then backward
    [*range(reference_scan, n), *range(reference_scan - 1, -1, -1)]
    shifts = np.full((n, 2), np.nan)
    errors = np.full(n, np.nan)
    outliers: list[int] = []
    raw: dict[int, np.ndarray] = {}

    def images():
        with compute_context(scheduler):
            for start, block in iter_blocks(stack):
                for i, img in enumerate(block):
                    yield start + i, img

    # keep only the scans needed: forward pass streams; backward pass re-reads blocks
    state: dict[str, Any] = {}

    def run(indices, img_source):
        from scipy import ndimage

        steps: list[float] = []
        levels: list[float] = []
        for s in indices:
            img = img_source(s)
            level = float(np.nanmean(img))
            p = _prep(img, smooth_px)
            if s == indices[0]:
                shifts[s] = 0.0
                errors[s] = 0.0
                state.update(
                    ref_sum=p.copy(), n_ref=1, seg_err=[], prev=p, last=np.zeros(2), last_scan=s
                )
                levels.append(level)
                if progress:
                    progress(1)
                continue
            last, gap = state["last"], abs(s - state["last_scan"])
            typical = float(np.median(levels[-30:]))
            # blank (beam off) or contrast-free scans cannot be matched
            blank = p.std() < 1e-12 or level < 0.2 * typical
            recent = np.asarray(steps[-30:]) if steps else np.zeros(1)
            scale = 1.4826 * np.median(np.abs(recent - np.median(recent))) + np.median(recent)
            limit = max(min_outlier_px, outlier_threshold * scale) * gap
            if max_shift_px is not None:
                limit = min(limit, max_shift_px * gap)
            choice, anchor = None, False
            if not blank:
                ref = state["ref_sum"] / state["n_ref"]
                sh_ref, err_ref = _match(ref, p, upsample_factor, hann, normalization)
                seg = state["seg_err"]
                usual = np.median(seg) if len(seg) >= 3 else np.inf
                ok_ref = np.hypot(*(sh_ref - last)) <= limit
                if ok_ref and err_ref <= max(1.5 * usual, usual + 0.1):
                    choice = (err_ref, sh_ref)
                else:
                    # content changed (new layer): chain from the previous scan and start a
                    # new reference segment anchored on this scan
                    d_prev, err_prev = _match(
                        state["prev"], p, upsample_factor, hann, normalization
                    )
                    sh_prev = last + d_prev
                    if np.hypot(*(sh_prev - last)) <= limit and err_prev < err_ref:
                        choice, anchor = (err_prev, sh_prev), True
                    elif ok_ref:
                        choice = (err_ref, sh_ref)
            if choice is None:
                outliers.append(s)
                if not blank:  # content changed beyond recognition: chain on from here
                    state["prev"] = p
                if progress:
                    progress(1)
                continue
            err, cand = choice
            cand = np.asarray(cand, float)
            shifts[s] = cand
            errors[s] = err
            steps.append(float(np.hypot(*(cand - last))) / gap)
            levels.append(level)
            aligned = ndimage.shift(p, cand, order=3, mode="nearest")
            if anchor:
                state.update(ref_sum=aligned, n_ref=1, seg_err=[])
            elif state["n_ref"] < window:
                # the reference is the mean of the first `window` registered scans of the
                # segment, then frozen: matching against a fixed anchor keeps sub-pixel
                # errors from accumulating (a continuously updated reference locks onto
                # its own recent estimates and lags the drift)
                state["ref_sum"] = state["ref_sum"] + aligned
                state["n_ref"] += 1
            state["seg_err"].append(err)
            state.update(prev=p, last=cand, last_scan=s)
            if progress:
                progress(1)

    if reference_scan == 0:
        it = images()
        cache: dict[int, Any] = {}

        def source(s):
            while s not in cache:
                i, img = next(it)
                cache.clear()
                cache[i] = img
            return cache[s]

        run(list(range(n)), source)
    else:
        with compute_context(scheduler):
            stack_np = None
            for start, block in iter_blocks(stack):
                if stack_np is None:
                    stack_np = np.empty((n, ny, nx), np.float32)
                stack_np[start : start + len(block)] = block
        # (a reference other than scan 0 needs random access; the 2D stack is small
        # compared with the cube: n × ny × nx float32)
        raw = stack_np
        run(list(range(reference_scan, n)), lambda s: raw[s])
        state.clear()
        run(list(range(reference_scan, -1, -1)), lambda s: raw[s])
    good = ~np.isnan(shifts[:, 0])
    if not good.any():
        raise DataError("no scan could be registered (no image contrast)")
    idx = np.arange(n)
    for k in range(2):
        shifts[:, k] = np.interp(idx, idx[good], shifts[good, k])
    errors = np.where(np.isfinite(errors), errors, np.nan)
    params = {
        "image": image if isinstance(image, str | list | tuple) else "external",
        "reference_scan": reference_scan,
        "window": window,
        "upsample_factor": upsample_factor,
        "smooth_px": smooth_px,
        "outlier_threshold": outlier_threshold,
        "min_outlier_px": min_outlier_px,
        "max_shift_px": max_shift_px,
    }
    hist = [
        *cube.attrs.get("history", []),
        history_record(
            "estimate_drift",
            function="charsuite.sims.register.estimate_drift",
            parameters=params,
            input_file=cube.attrs.get("source_file") or None,
        ),
    ]
    return DriftResult(
        reference=f"scan {reference_scan}",
        image=str(params["image"]),
        shifts_px=shifts.round(4).tolist(),
        outliers=sorted(outliers),
        error=errors.tolist(),
        upsample_factor=upsample_factor,
        history=hist,
    )


def _crop_bounds(shifts, n):
    """Output index range valid in every scan: r - shift within [0, n - 1]."""
    import numpy as np

    lo = int(np.ceil(max(0.0, shifts.max() - 1e-9)))
    hi = int(np.floor(min(n - 1.0, n - 1 + shifts.min() + 1e-9)))
    return lo, hi + 1


def _apply_block(block, shifts, integer, block_info=None):
    import numpy as np
    from scipy import ndimage

    start = block_info[0]["array-location"][0][0] if block_info else 0
    out = np.empty(block.shape, dtype=block.dtype if integer else np.float32)
    ny, nx = block.shape[1:3]
    for i in range(block.shape[0]):
        dy, dx = shifts[start + i]
        if integer:
            iy, ix = round(dy), round(dx)
            out[i] = 0
            ys = slice(max(0, iy), ny + min(0, iy))
            xs = slice(max(0, ix), nx + min(0, ix))
            ysrc = slice(max(0, -iy), ny + min(0, -iy))
            xsrc = slice(max(0, -ix), nx + min(0, -ix))
            out[i, ys, xs] = block[i, ysrc, xsrc]
        else:
            for j in range(block.shape[3]):
                out[i, :, :, j] = ndimage.shift(
                    block[i, :, :, j].astype(np.float32),
                    (dy, dx),
                    order=1,
                    mode="constant",
                    cval=np.nan,
                )
    return out


def apply_drift(cube, shifts, *, integer: bool = False, crop: bool = True):
    """Apply registering shifts to every scan (lazy; dask-backed result).

    Parameters
    ----------
    cube : xarray.DataArray or path
        SIMS cube (depth, y, x, species).
    shifts : DriftResult or array (n_scans, 2)
        Cumulative registering shifts (pixels).
    integer : bool
        Round shifts to whole pixels and move counts without interpolation: every output
        voxel is an input voxel, so Poisson statistics and dtype are kept. Otherwise
        bilinear interpolation (float32 output; sums are conserved to first order but
        counts are no longer integers).
    crop : bool
        Crop to the field of view covered by every scan (no fill values). Without
        cropping, uncovered pixels are NaN (float) or 0 (integer mode).

    Returns
    -------
    xarray.DataArray
        Registered cube; ``y``/``x`` coordinates stay those of the reference frame.
    """
    import numpy as np

    cube = open_cube(cube)
    arr = np.asarray(shifts.shifts_px if isinstance(shifts, DriftResult) else shifts, float)
    n, ny, nx = cube.shape[:3]
    if arr.shape != (n, 2) or not np.all(np.isfinite(arr)):
        raise ParameterError(f"shifts must be finite with shape ({n}, 2); got {arr.shape}")
    if integer:
        arr = np.round(arr)
    data = cube.data.rechunk({1: -1, 2: -1})
    out = data.map_blocks(
        _apply_block,
        arr,
        integer,
        dtype=data.dtype if integer else np.float32,
    )
    result = cube.copy(data=out)
    if crop:
        y0, y1 = _crop_bounds(arr[:, 0], ny)
        x0, x1 = _crop_bounds(arr[:, 1], nx)
        if y1 <= y0 or x1 <= x0:
            raise DataError(
                f"drift of up to {np.abs(arr).max():.1f} px leaves no pixel covered by every "
                "scan; register a depth range with apply_drift(..., crop=False)"
            )
        result = result.isel(y=slice(y0, y1), x=slice(x0, x1))
    return add_history(
        result,
        "apply_drift",
        function="charsuite.sims.register.apply_drift",
        parameters={"integer": integer, "crop": crop, "max_abs_shift_px": float(np.abs(arr).max())},
    )


def register(cube, *, integer: bool = False, crop: bool = True, **options):
    """Estimate and apply the lateral drift; return ``(registered_cube, DriftResult)``.

    ``options`` go to :func:`estimate_drift` (``image``, ``window``, ``scheduler``...).
    The registered cube is lazy (dask); the drift result is stored in its
    ``attrs["registration"]``.
    """
    drift = estimate_drift(cube, **options)
    out = apply_drift(cube, drift, integer=integer, crop=crop)
    out.attrs["registration"] = {"reference": drift.reference, "outliers": drift.outliers}
    return out, drift
