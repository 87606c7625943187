"""Mass spectra of a TofDAQ file: the sum spectrum and spectra of a depth range, ROI or layer.

A spectrum is a 1-D :class:`xarray.DataArray` over ``sample`` (0-based TOF sample index)
with the coordinate ``mass`` (m/z, Th) from the file's calibration (or one given). Values
are **ions per sample bin** summed over every extraction of the selected pixels and scans:
``TofData``/``SumSpectrum`` (mV) × SampleInterval[ns] / SingleIonSignal[mV·ns] (the
TofDAQ PeakData conversion without the division by extractions, sims.md §1.7), or
EventList events counted per sample.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from charsuite.exceptions import CharsuiteWarning, DataError, ParameterError, ReaderError
from charsuite.model import provenance

__all__ = ["spectrum"]


@dataclasses.dataclass(frozen=True)
class _Region:
    """What to sum: scans [start, stop), a (y, x) selection, and how it was chosen."""

    scans: tuple[int, int]
    roi: Any
    description: str


def _group_name(tof: int) -> str:
    if tof not in (1, 2):
        raise ParameterError(f"tof={tof!r}; expected 1 (FullSpectra) or 2 (FullSpectra2)")
    return "FullSpectra" if tof == 1 else "FullSpectra2"


def _layer_scans(path: Path, layer: str, layers) -> tuple[int, int]:
    """Scan range of a named layer from a depth calibration of the file's own profile."""
    from charsuite.io import read
    from charsuite.sims._calibrate import calibrate_depth
    from charsuite.sims._profile import depth_profile

    if layers is None:
        raise ParameterError(f"--layer {layer!r} needs --layers (the stack, top to bottom)")
    cube = read(path, lazy=True)
    with warnings.catch_warnings():  # only the scan ranges are used, not the nm scale
        warnings.simplefilter("ignore", CharsuiteWarning)
        cal = calibrate_depth(depth_profile(cube), layers, variable="counts")
    names = [lay.name for lay in cal.layers]
    if layer not in names:
        raise ParameterError(f"layer {layer!r} is not in the calibration; layers: {names}")
    lay = cal.layers[names.index(layer)]
    start = max(0, int(np.floor(lay.start_scan)))
    stop = int(np.ceil(lay.end_scan)) + 1
    return start, stop


def _region(path, shape, *, scans, roi, layer, layers) -> _Region:
    from charsuite.sims._profile import parse_roi

    nw, ny, nx = shape
    if layer is not None:
        if scans is not None:
            raise ParameterError("give --scans or --layer, not both")
        scans = _layer_scans(path, layer, layers)
    start, stop = (0, nw) if scans is None else (int(scans[0]), int(scans[1]))
    stop = min(stop, nw)
    if not 0 <= start < stop:
        raise ParameterError(f"scans {start}:{stop} select nothing of the {nw} scans in {path}")
    sel = parse_roi(roi, (ny, nx))
    parts = [f"scans {start}:{stop}"]
    if layer is not None:
        parts.append(f"layer {layer}")
    if sel is not None:
        parts.append(f"roi {roi if isinstance(roi, str) else 'mask'}")
    return _Region((start, stop), sel, ", ".join(parts))


def _select(block: np.ndarray, sel) -> np.ndarray:
    """Sum a (y, x, sample) block over the selected pixels."""
    if sel is None:
        return block.sum(axis=(0, 1), dtype=np.float64)
    if isinstance(sel, tuple):
        return block[sel].sum(axis=(0, 1), dtype=np.float64)
    return block[sel].sum(axis=0, dtype=np.float64)


def _sum_tofdata(grp, region: _Region, progress) -> np.ndarray:
    dset = grp["TofData"]
    out = np.zeros(dset.shape[-1])
    start, stop = region.scans
    if progress:
        progress(0, total=stop - start)
    for w in range(start, stop):  # one write at a time: memory flat in file size
        out += _select(np.asarray(dset[w], dtype=np.float32), region.roi)
        if progress:
            progress(1)
    return out


def _sum_events(f, group: str, path, region: _Region, n_samples: int, progress) -> np.ndarray:
    from charsuite.io.formats.sims.tofdaq import EventListIntegrator
    from charsuite.sims._peaktable import PeakTable

    dummy = PeakTable.from_spec([("all", 1.0, 0.5, 1.5)])
    integ = EventListIntegrator(f, group, dummy, path)
    _, ny, nx, _ = integ.shape
    keep = np.ones((ny, nx), bool)
    if region.roi is not None:
        keep = np.zeros((ny, nx), bool)
        keep[region.roi] = True
    keep = keep.ravel()
    out = np.zeros(n_samples)
    start, stop = region.scans
    for w in range(start, stop):
        s, px, wt = integ.write_events(w)
        use = keep[px] & (s >= 0) & (s < n_samples)
        out += np.bincount(s[use], weights=None if wt is None else wt[use], minlength=n_samples)
        if progress:
            progress(1)
    return out / integ.channels


def _n_samples(grp) -> int | None:
    for name in ("MassAxis", "SumSpectrum", "TofData"):
        if name in grp:
            return int(grp[name].shape[-1])
    return None


def _to_ions(grp, path) -> float:
    from charsuite.io.formats.sims.tofdaq import attrs_dict

    ga = attrs_dict(grp)
    try:
        return float(ga["SampleInterval"]) * 1e9 / float(ga["Single Ion Signal"])
    except (KeyError, TypeError, ZeroDivisionError) as err:
        raise ReaderError(
            f"{grp.name} lacks SampleInterval or Single Ion Signal ({err}); needed to convert "
            "mV to ions",
            path=path,
        ) from err


def _collect(f, path, group, region_args, progress) -> tuple[np.ndarray, str, _Region | None]:
    """Summed spectrum (ions per sample), its source and the region."""
    grp = f[group]
    n = _n_samples(grp)
    whole = all(region_args[k] is None for k in ("scans", "roi", "layer"))
    stored = np.asarray(grp["SumSpectrum"][()], float) if "SumSpectrum" in grp else None
    if whole and stored is not None and np.any(stored):
        return stored * _to_ions(grp, path), "SumSpectrum", None
    if "TofData" in grp:
        region = _region(path, grp["TofData"].shape[:3], **region_args)
        return _sum_tofdata(grp, region, progress) * _to_ions(grp, path), "TofData", region
    if "EventList" in grp and n:
        region = _region(path, grp["EventList"].shape, **region_args)
        return _sum_events(f, group, path, region, n, progress), "EventList", region
    if stored is not None and whole:
        raise DataError(
            f"{path}: {grp.name}/SumSpectrum is all zero ({stored.size} samples) and the file "
            "has no TofData or EventList to sum; there is no spectrum to show"
        )
    what = "a region" if not whole else "a spectrum"
    raise ReaderError(
        f"{grp.name} has no TofData or EventList{'' if whole else ' (SumSpectrum cannot be cut)'}"
        f" to give {what}; datasets found: {', '.join(grp) or 'none'}",
        path=path,
    )


def _check_mass_axis(cal, axis: np.ndarray, path) -> None:
    """Warn when the stored calibration does not describe the stored ``MassAxis``.

    Real files agree to 1e-7 (sims.md §1.6); a disagreement above 0.1 % of the span means
    one of them is unusable (seen in synthetic fixtures) and so are the m/z values here.
    """
    ok = axis > 0.5
    if ok.sum() < 2:
        return
    m = np.asarray(cal.mass(np.flatnonzero(ok).astype(float)))
    span = float(np.ptp(axis[ok])) or 1.0
    if not np.all(np.isfinite(m)) or np.max(np.abs(m - axis[ok])) > 1e-3 * span:
        warnings.warn(
            f"{path}: the stored mass calibration gives {np.nanmin(m):.4g}-{np.nanmax(m):.4g} "
            f"Th where MassAxis spans {axis[ok][0]:.4g}-{axis[ok][-1]:.4g} Th; the m/z axis "
            "follows the calibration. Recalibrate (sims mass-calibrate) before trusting it.",
            CharsuiteWarning,
            stacklevel=4,
        )


@provenance("mass spectrum", exclude=("progress",))
def spectrum(
    path: str | Path,
    *,
    scans: tuple[int, int] | None = None,
    roi=None,
    layer: str | None = None,
    layers=None,
    tof: int = 1,
    calibration=None,
    progress=None,
):
    """Sum spectrum of a TofDAQ file, or the spectrum of a depth range, ROI or layer.

    Without a region the stored ``SumSpectrum`` is used when it holds data; otherwise (and
    for any region) ``TofData`` is summed write by write, or the ``EventList`` is
    histogrammed per sample.

    Parameters
    ----------
    path : str or Path
        TofDAQ HDF5 file (read-only).
    scans : (start, stop), optional
        Half-open scan (write) range.
    roi : str, tuple or bool array, optional
        ``"x0:x1,y0:y1"`` (pixels, half-open) or a (y, x) mask, as
        :func:`charsuite.sims.parse_roi`.
    layer, layers : str, optional
        A layer name and the stack specification (as ``sims profile --layers``); the
        layer's scans come from :func:`charsuite.sims.calibrate_depth` on the file's profile.
    tof : {1, 2}
        ``FullSpectra`` or ``FullSpectra2``.
    calibration : MassCalibration or str or Path, optional
        Mass calibration (or a JSON written by ``sims mass-calibrate -o``); default the
        file's (first selected write's row of a per-write ``MassCalibration``).
    progress : callable, optional

    Returns
    -------
    xarray.DataArray
        ``counts`` over ``sample`` with coordinate ``mass`` (Th); attrs ``calibration``,
        ``source``, ``region``, ``polarity``, ``sample_interval_s``, ``history``.

    Raises
    ------
    DataError
        All-zero SumSpectrum and nothing else to sum.
    ReaderError
        No spectra in the file; missing conversion attributes.
    ParameterError
        Bad region.

    Examples
    --------
    >>> from charsuite.datasets.sims import make_fibtof_spectrum
    >>> import tempfile, pathlib
    >>> p, truth = make_fibtof_spectrum(pathlib.Path(tempfile.mkdtemp()) / "s.h5")
    >>> spec = spectrum(p)
    >>> spec.dims, spec["mass"].attrs["units"]
    (('sample',), 'Th')
    """
    import xarray as xr

    from charsuite.io.formats.sims.tofdaq import attrs_dict, mass_calibration, open_tofdaq
    from charsuite.sims._masscal import MassCalibration

    path = Path(path)
    group = _group_name(tof)
    args = {"scans": scans, "roi": roi, "layer": layer, "layers": layers}
    with open_tofdaq(path) as f:
        if group not in f:
            raise ReaderError(f"no /{group} group: this file holds no spectra", path=path)
        values, source, region = _collect(f, path, group, args, progress)
        grp = f[group]
        first = region.scans[0] if region is not None else 0
        if calibration is None:
            try:
                cal = MassCalibration(
                    *mass_calibration(grp, write=first if "MassCalibration" in grp else None)
                )
            except DataError as err:
                raise ReaderError(str(err), path=path) from err
        elif isinstance(calibration, MassCalibration):
            cal = calibration
        else:
            cal = MassCalibration.read_json(calibration)
        ga = attrs_dict(grp)
        root = attrs_dict(f)
        if calibration is None and "MassAxis" in grp and "MassCalibration" not in grp:
            _check_mass_axis(cal, np.asarray(grp["MassAxis"][()], float), path)
    mode = str(root.get("IonMode", "")).lower()
    polarity = mode if tof == 1 else {"positive": "negative", "negative": "positive"}.get(mode)
    idx = np.arange(values.size, dtype=float)
    return xr.DataArray(
        values,
        dims=("sample",),
        coords={
            "sample": ("sample", idx, {"units": "sample", "long_name": "TOF sample (0-based)"}),
            "mass": ("sample", np.asarray(cal.mass(idx), float), {"units": "Th"}),
        },
        name="counts",
        attrs={
            "units": "counts",
            "long_name": "ions per TOF sample",
            "technique": "sims",
            "source": source,
            "region": region.description if region is not None else "whole file",
            "scans": list(region.scans) if region is not None else None,
            "calibration": cal.to_dict(),
            "polarity": polarity or "unknown",
            "sample_interval_s": ga.get("SampleInterval"),
            "resolution_model": {
                k: ga.get(f"MassCalibration {k}")
                for k in ("R0", "m0", "dm")
                if f"MassCalibration {k}" in ga
            },
            "file": str(path.resolve()),
            "history": [],
        },
    )
