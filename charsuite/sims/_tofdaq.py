"""TofDAQ file tools beyond the PeakData cube: mass axis, TofData re-integration, EventList.

All functions open the file read-only and stream one write (or one scan line) at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from charsuite.exceptions import ParameterError, ReaderError
from charsuite.io.formats.sims.tofdaq import (
    EventListIntegrator,
    attrs_dict,
    decode_event_list,
    extractions_per_pixel,
    mass_calibration,
    open_tofdaq,
    require_dataset,
    unique_labels,
)
from charsuite.sims._masscal import MassCalibration
from charsuite.sims._peaktable import PeakTable

__all__ = [
    "MassCalibration",
    "PeakTable",
    "decode_event_list",
    "eventlist_cube",
    "fib_images",
    "mass_axis",
    "peak_table",
    "reintegrate",
    "write_cube",
]


def _group(tof: int) -> str:
    if tof not in (1, 2):
        raise ParameterError(f"tof={tof!r}; expected 1 (FullSpectra) or 2 (FullSpectra2)")
    return "FullSpectra" if tof == 1 else "FullSpectra2"


def peak_table(path: str | Path, *, tof: int = 1) -> PeakTable:
    """Return the stored ``PeakTable`` (``PeakTable2`` for ``tof=2`` when present).

    Parameters
    ----------
    path : str or Path
        TofDAQ HDF5 file.
    tof : int
        Mass analyser: 2 reads ``/PeakData/PeakTable2`` if present, otherwise
        ``/PeakData/PeakTable`` is read.

    Returns
    -------
    PeakTable
        Peak labels, centre masses and integration limits (Th).
    """
    path = Path(path)
    with open_tofdaq(path) as f:
        name = (
            "PeakData/PeakTable2"
            if tof == 2 and "PeakData/PeakTable2" in f
            else "PeakData/PeakTable"
        )
        return PeakTable.from_dataset(require_dataset(f, name, path))


def mass_axis(path: str | Path, *, tof: int = 1, write: int | None = None) -> np.ndarray:
    """Mass-to-charge (Th) of every TOF sample, computed from the stored calibration.

    ``/FullSpectra/MassAxis`` is not updated on recalibration, so the calibration
    (per-write row of ``/FullSpectra/MassCalibration`` when ``write`` is given) is used.
    The number of samples comes from ``MassAxis``, ``SumSpectrum`` or ``TofData``.

    Parameters
    ----------
    path : str or Path
        TofDAQ HDF5 file.
    tof : {1, 2}
        Mass analyser: 1 = ``/FullSpectra``, 2 = ``/FullSpectra2``.
    write : int, optional
        Write index whose row of ``MassCalibration`` is used.

    Returns
    -------
    ndarray
        Mass-to-charge (Th) of each TOF sample.

    Raises
    ------
    ReaderError
        If the number of samples cannot be determined.
    """
    path = Path(path)
    with open_tofdaq(path) as f:
        grp = require_dataset(f, _group(tof), path)
        n = None
        for name in ("MassAxis", "SumSpectrum", "TofData"):
            if name in grp:
                n = grp[name].shape[-1]
                break
        if n is None:
            n = int(attrs_dict(f).get("NbrSamples") or 0)
        if not n:
            raise ReaderError(
                f"{grp.name} has no MassAxis, SumSpectrum or TofData to size the axis",
                path=path,
            )
        cal = MassCalibration(*mass_calibration(grp, write=write))
    return cal.mass(np.arange(n, dtype=float))


def _windows(cal: MassCalibration, table: PeakTable, n_samples: int) -> tuple[np.ndarray, ...]:
    lo = np.rint(cal.index(table.lower)).astype(np.int64)
    hi = np.rint(cal.index(table.upper)).astype(np.int64)
    return np.clip(lo, 0, n_samples), np.clip(hi, -1, n_samples - 1)


def _given_calibration(calibration) -> MassCalibration | None:
    if calibration is None or isinstance(calibration, MassCalibration):
        return calibration
    if hasattr(calibration, "calibration"):  # a CalibrationFit
        return calibration.calibration
    return MassCalibration.read_json(calibration)


def write_cube(cube, path: str | Path, *, force: bool = False) -> Path:
    """Write a ``(depth, y, x, species)`` cube as HDF5 that ``charsuite.io.read`` reads back.

    Dataset ``/counts`` with attributes ``dims``, ``species``, ``mass`` (Th), ``units``
    and ``history`` (JSON); read as format ``hdf5-cube`` (e.g. by ``sims profile``).

    Parameters
    ----------
    cube : xarray.DataArray
        Counts with dims ``(depth, y, x, species)`` in any order.
    path : str or Path
        Output file (written atomically).
    force : bool, optional
        Replace an existing file.

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import numpy as np, xarray as xr, tempfile, pathlib
    >>> cube = xr.DataArray(np.ones((2, 3, 4, 1)), dims=("depth", "y", "x", "species"),
    ...                     coords={"species": ["In+"]}, attrs={"units": "counts"})
    >>> out = write_cube(cube, pathlib.Path(tempfile.mkdtemp()) / "c.h5")
    >>> from charsuite.io import read
    >>> read(out).sizes["species"]
    1
    """
    import json

    import h5py

    from charsuite.io import atomic_path, hdf5_sink
    from charsuite.model import jsonable

    with atomic_path(Path(path), force=force) as tmp, h5py.File(hdf5_sink(tmp), "w") as f:
        dset = f.create_dataset(
            "counts", data=np.asarray(cube.transpose("depth", "y", "x", "species").values)
        )
        dset.attrs["dims"] = "depth,y,x,species"
        dset.attrs["species"] = [str(s) for s in cube["species"].values]
        if "mass" in cube.coords:
            dset.attrs["mass"] = np.asarray(cube["mass"].values, float)
        dset.attrs["units"] = str(cube.attrs.get("units", "counts"))
        dset.attrs["history"] = json.dumps(jsonable(cube.attrs.get("history", [])))
    return Path(path)


def reintegrate(
    path: str | Path,
    peaks=None,
    *,
    tof: int = 1,
    units: str = "ions/extraction",
    calibration=None,
    progress=None,
):
    """Integrate ``TofData`` (mV spectra) into a peak table, streaming one scan line at a time.

    ``PeakData[w,b,s,k] = Σ_{i=lo..hi} TofData[w,b,s,i] · SampleInterval[ns] / SingleIonSignal
    / (NbrWaveforms·NbrBlocks·NbrMemories·NbrCubes)`` with ``lo = round(i(lower))``,
    ``hi = round(i(upper))`` inclusive and ``i(m)`` the write's mass calibration; this
    reproduces TOFWERK's stored PeakData (sims.md §1.7).

    Parameters
    ----------
    path : str or Path
    peaks : PeakTable, list of (label, mass, lower, upper), {label: (lower, upper)} or CSV path, optional
        Mass windows (Th); default the stored peak table. A CSV is the one written by
        ``charsuite sims peaks --peak-table``.
    tof : {1, 2}
    units : {"ions/extraction", "counts"}
    calibration : MassCalibration or str or Path, optional
        Mass calibration for every write (e.g. from :func:`charsuite.sims.mass_calibrate`
        or its ``-o`` JSON) instead of the file's; the file is not modified.
    progress : callable, optional
        ``progress(advance=1, total=None)`` per write.

    Returns
    -------
    xarray.DataArray
        ``(depth, y, x, species)`` like :func:`charsuite.io.read`.
    """
    import xarray as xr

    from charsuite.model import add_history

    if units not in ("counts", "ions/extraction"):
        raise ParameterError(f"units={units!r}; expected 'counts' or 'ions/extraction'")
    path = Path(path)
    with open_tofdaq(path) as f:
        grp = require_dataset(f, _group(tof), path)
        tofdata = require_dataset(f, f"{grp.name.strip('/')}/TofData", path)
        table = PeakTable.from_spec(peaks) if peaks is not None else peak_table(path, tof=tof)
        ga = attrs_dict(grp)
        root = attrs_dict(f)
        try:
            si_ns = float(ga["SampleInterval"]) * 1e9
            sis = float(ga["Single Ion Signal"])
        except KeyError as err:
            raise ReaderError(
                f"{grp.name} lacks attribute {err}; needed to convert mV to ions", path=path
            ) from err
        n_extr, parts = extractions_per_pixel(root)
        nw, nb, ns, nsamp = tofdata.shape
        out = np.zeros((nw, nb, ns, len(table.label)), dtype=np.float64)
        if progress:
            progress(0, total=nw)
        given = _given_calibration(calibration)
        for w in range(nw):
            cal = given or MassCalibration(
                *mass_calibration(grp, write=w if "MassCalibration" in grp else None)
            )
            lo, hi = _windows(cal, table, nsamp)
            valid = hi >= lo
            for b in range(nb):
                spec = np.asarray(tofdata[w, b], dtype=np.float64)
                cs = np.concatenate([np.zeros((ns, 1)), np.cumsum(spec, axis=1)], axis=1)
                sums = cs[:, np.clip(hi + 1, 0, nsamp)] - cs[:, lo]
                out[w, b] = np.where(valid, sums, 0.0)
            if progress:
                progress(1)
    out *= si_ns / sis / n_extr
    factor = n_extr if units == "counts" else 1
    cube = xr.DataArray(
        (out * factor).astype(np.float32),
        dims=("depth", "y", "x", "species"),
        coords={
            "depth": ("depth", np.arange(nw), {"units": "scan"}),
            "y": ("y", np.arange(nb) + 0.5, {"units": "px"}),
            "x": ("x", np.arange(ns) + 0.5, {"units": "px"}),
            "species": ("species", unique_labels(table.label), {"units": "label"}),
            "mass": ("species", table.mass, {"units": "Th"}),
        },
        name="counts" if units == "counts" else "ions_per_extraction",
        attrs={"units": units, "technique": "sims", "metadata": {}, "history": []},
    )
    return add_history(
        cube,
        "reintegrate TofData",
        function="charsuite.sims.reintegrate",
        parameters={
            "tof": tof,
            "units": units,
            "peaks": list(table.label),
            "calibration": given.to_dict() if given is not None else "file",
            **parts,
        },
        input_file=path.resolve(),
    )


# --------------------------------------------------------------------------- EventList
def eventlist_cube(path: str | Path, peaks=None, *, tof: int = 1, calibration=None, progress=None):
    """Integrate ``FullSpectra/EventList`` into a peak table: a counts cube (in memory).

    :func:`charsuite.io.read` does the same lazily (write by write) for "raw" files
    without PeakData, with the stored peak table. This function takes any peak table.

    Handles the official encodings (VL uint32 words; VL uint8 zlib/LZ4-compressed words,
    ``Compression`` attribute bits 15–8 = 1 zlib, 2 LZ4, default 257) and the VL uint16
    TDC-tick layout of fibTOF files described by RosettaSciIO (sample = tick //
    round(SampleInterval/ClockPeriod); counts divided by the number of recorded TDC
    channels ``ChNRecord=1`` in the INI, because each channel records every ion).
    Windows are ``[round(i(lower)), round(i(upper)))`` (end excluded, as TOFWERK's
    ``TwGenerateSegmentProfilesFromEventList``), with the write's mass calibration.
    ADC data words add ``mV · SampleInterval[ns] / SingleIonSignal`` ions.

    Parameters
    ----------
    path : str or Path
    peaks : optional
        As :func:`reintegrate`; default the stored peak table.
    tof : {1, 2}
    calibration : MassCalibration or str or Path, optional
        As :func:`reintegrate`: replaces the file's calibration for every write.
    progress : callable, optional

    Returns
    -------
    xarray.DataArray
        ``(depth, y, x, species)`` in counts (ions per pixel and scan).
    """
    import xarray as xr

    from charsuite.model import add_history

    path = Path(path)
    with open_tofdaq(path) as f:
        table = PeakTable.from_spec(peaks) if peaks is not None else peak_table(path, tof=tof)
        given = _given_calibration(calibration)
        integ = EventListIntegrator(
            f,
            _group(tof),
            table,
            path,
            calibration=None if given is None else (given.mode, given.parameters),
        )
        nw, nb, ns, _ = integ.shape
        out = np.zeros(integ.shape, dtype=np.float32)
        if progress:
            progress(0, total=nw)
        for w in range(nw):
            out[w] = integ.integrate(w)
            if progress:
                progress(1)
        params: dict[str, Any] = {"tof": tof, "peaks": list(table.label), **integ.parameters}
    cube = xr.DataArray(
        out,
        dims=("depth", "y", "x", "species"),
        coords={
            "depth": ("depth", np.arange(nw), {"units": "scan"}),
            "y": ("y", np.arange(nb) + 0.5, {"units": "px"}),
            "x": ("x", np.arange(ns) + 0.5, {"units": "px"}),
            "species": ("species", unique_labels(table.label), {"units": "label"}),
            "mass": ("species", table.mass, {"units": "Th"}),
        },
        name="counts",
        attrs={"units": "counts", "technique": "sims", "metadata": {}, "history": []},
    )
    return add_history(
        cube,
        "integrate EventList",
        function="charsuite.sims.eventlist_cube",
        parameters=params,
        input_file=path.resolve(),
    )


def fib_images(path: str | Path):
    """Secondary-electron images from ``/FIBImages/ImageNNNN/Data`` as ``(image, y_fib, x_fib)``.

    The number of images need not equal the number of scans, and the last image may be
    truncated: images whose shape differs from the first are dropped (listed in
    ``attrs["skipped"]``). Pixel size = field of view / FIB raster (µm) when
    ``FIBParams/ViewField`` is present.

    Parameters
    ----------
    path : str or Path
        TofDAQ HDF5 file.

    Returns
    -------
    DataArray
        Stack ``("image", "y_fib", "x_fib")`` of secondary-electron intensity (a.u.);
        pixel-centre coordinates in µm (``px`` without a field of view), image labels
        on ``image``.

    Raises
    ------
    ReaderError
        If ``/FIBImages`` is missing or holds no ``ImageNNNN/Data`` datasets.
    """
    import xarray as xr

    from charsuite.io.formats.sims.tofdaq import pixel_geometry

    path = Path(path)
    with open_tofdaq(path) as f:
        grp = require_dataset(f, "FIBImages", path)
        names = sorted(k for k in grp if "Data" in grp[k])
        if not names:
            raise ReaderError("FIBImages holds no ImageNNNN/Data datasets", path=path)
        first = grp[names[0]]["Data"].shape
        keep = [n for n in names if grp[n]["Data"].shape == first]
        stack = np.stack([np.asarray(grp[n]["Data"][()], dtype=np.float64) for n in keep])
        geo = pixel_geometry(f, first[-1], path)
    step = geo.get("pixel_size_um") or 1.0
    units = "um" if geo.get("pixel_size_um") else "px"
    return xr.DataArray(
        stack,
        dims=("image", "y_fib", "x_fib"),
        coords={
            "image": ("image", keep, {"units": "label"}),
            "y_fib": ("y_fib", (np.arange(first[0]) + 0.5) * step, {"units": units}),
            "x_fib": ("x_fib", (np.arange(first[1]) + 0.5) * step, {"units": units}),
        },
        name="secondary_electrons",
        attrs={
            "units": "a.u.",
            "skipped": [n for n in names if n not in keep],
            "source_file": str(path),
        },
    )
