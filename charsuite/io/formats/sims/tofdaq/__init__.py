"""TOFWERK TofDAQ HDF5 (fibTOF FIB-ToF-SIMS and other TofDAQ instruments).

Layout (TOFWERK "HDF5 data format 1.99"; fibTOF groups as reverse-engineered by
RosettaSciIO; see ``shared/notes/sims.md`` §1)::

    /                        attrs: TofDAQ Version, NbrWrites/Bufs/Segments/Peaks/Waveforms/
                             Blocks/Memories/Cubes (1-element arrays), IonMode,
                             Configuration File Contents (INI)
    /PeakData/PeakData       (write, buf, segment, peak) f4, ions per extraction
    /PeakData/PeakData2      second TOF (bipolar instruments), same shape
    /PeakData/PeakTable      (peak,) compound label S64, mass, lower/upper integration limit
    /FullSpectra[2]          attrs: MassCalibMode, MassCalibration p1..pn, SampleInterval (s),
                             Single Ion Signal (mV·ns), ClockPeriod (s)
    /FullSpectra[2]/MassAxis, SumSpectrum, TofData (write, buf, segment, sample) f4 mV,
                             EventList (write, buf, segment) VL u4 | VL u1 (compressed) | VL u2,
                             MassCalibration (write, nparams) per-write recalibration,
                             SaturationWarning (write, buf) u1
    /TimingData/BufTimes     (write, buf) f8, s since acquisition start
    /FIBParams               attrs: ViewField (mm), Voltage (V), Current (A), FibHardware
    /FibParams/<name>/TwData registered FIB telemetry (write[, buf], element) + TwInfo names;
                             an element named "...current..." becomes the per-scan
                             ``primary_current`` coordinate (for normalize="current")
    /FIBImages/ImageNNNN/Data  secondary-electron images at the FIB raster

FIB imaging axes: write = depth slice (scan), buf = scan line (y), segment = pixel (x).
Dimensions are taken from the dataset shapes; root attributes and the INI are only
cross-checked (a :class:`~charsuite.exceptions.CharsuiteWarning` names each mismatch).
Depth order follows acquisition time (``BufTimes``), so index 0 is the first scan.

Options of :func:`read`
-----------------------
tof : {"all", 1, 2}
    Which TOF's PeakData: ``1`` = ``PeakData`` (polarity ``IonMode``), ``2`` =
    ``PeakData2`` (opposite polarity), ``"all"`` (default) = both, concatenated along
    ``species``.
units : {"counts", "ions/extraction"}
    ``counts`` (default) multiplies PeakData by the extractions per pixel
    (NbrWaveforms·NbrBlocks·NbrMemories·NbrCubes); the factor is recorded in history.
chunk_mb : float
    Target dask chunk size; chunks are whole multiples of the HDF5 chunks along depth
    and span full y, x and species.
"""

from __future__ import annotations

import configparser
import dataclasses
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from charsuite.exceptions import CharsuiteWarning, DataError, ParameterError, ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.sims.tofdaq._events import EventListIntegrator
from charsuite.io.formats.sims.tofdaq._events import decode_event_list as decode_event_list
from charsuite.io.hdf5 import CUBE_DIMS, open_file

SPEC = FormatSpec(
    name="tofdaq",
    technique="sims",
    extensions=(".h5", ".hdf5"),
    description="TOFWERK TofDAQ HDF5 (fibTOF FIB-ToF-SIMS PeakData cubes, EventList, TofData)",
    priority=80,
    lazy=True,
)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_USER_BLOCK_OFFSETS = (0, 512, 1024, 2048)


def _is_hdf5_head(head: bytes) -> bool:
    return any(head[o : o + 8] == HDF5_MAGIC for o in _USER_BLOCK_OFFSETS)


def can_read(path: Path, head: bytes) -> bool:
    """Accept HDF5 files with a ``TofDAQ Version`` root attribute and TofDAQ groups."""
    if not _is_hdf5_head(head):
        return False
    with open_file(path, contained=False) as f:
        return "TofDAQ Version" in f.attrs and ("PeakData" in f or "FullSpectra" in f)


# --------------------------------------------------------------------------- attributes
def scalar(value: Any) -> Any:
    """Return a plain Python scalar from a TofDAQ attribute (1-element arrays, bytes)."""
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("latin-1").rstrip("\x00")
    arr = np.asarray(value)
    if arr.dtype.kind in "SO" and arr.size:
        return scalar(arr.flat[0])
    if arr.size == 1:
        return arr.reshape(-1)[0].item()
    if arr.size == 0:
        return None
    return arr.tolist()


def attrs_dict(obj) -> dict[str, Any]:
    """All attributes of an h5py object as plain Python values."""
    return {str(k): scalar(v) for k, v in obj.attrs.items()}


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """Parse the TofDAQ INI (``Configuration File Contents``) leniently."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keep key case
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    return {s: dict(parser[s]) for s in parser.sections()}


def _ini_lookup(ini: dict[str, dict[str, str]], key: str) -> str | None:
    for section in ini.values():
        if key in section:
            return section[key]
    return None


# --------------------------------------------------------------------------- mass calibration
# The science objects (charsuite.sims.MassCalibration, charsuite.sims.PeakTable) live in
# charsuite.sims, which the io layer may not import (tests/test_architecture.py). The reader
# therefore returns plain records -- (mode, parameters) and PeakRecords -- and evaluates the
# documented formulas with the two pure functions below; charsuite.sims wraps both.
N_CALIBRATION_PARAMETERS = {0: 2, 1: 2, 2: 3, 3: 4, 4: 5, 5: 3}


def mass_to_index(mode: int, p, mass):
    """0-based sample index of m/z ``mass`` (Th) for TofDAQ ``MassCalibMode`` ``mode``.

    Modes [1]_: 0 ``i = p1·√m + p2``; 1 ``i = p1/√m + p2``; 2 ``i = p1·m^p3 + p2``;
    3 ``i = p1·√m + p2 + p3·(m−p4)²``; 4 ``i = p1·√m + p2 + p3·m² + p4·m + p5``;
    5 ``m = p1·i² + p2·i + p3`` (root increasing in i).

    References
    ----------
    .. [1] TOFWERK, "TwToolDll" documentation (``TwMass2Tof``/``TwTof2Mass``), in
       pasturm/TofDaqR ``tools/doc/TwToolDll.htm``.
    """
    m = np.asarray(mass, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == 0:
            return p[0] * np.sqrt(m) + p[1]
        if mode == 1:
            return p[0] / np.sqrt(m) + p[1]
        if mode == 2:
            return p[0] * m ** p[2] + p[1]
        if mode == 3:
            return p[0] * np.sqrt(m) + p[1] + p[2] * (m - p[3]) ** 2
        if mode == 4:
            return p[0] * np.sqrt(m) + p[1] + p[2] * m**2 + p[3] * m + p[4]
        a, b, c = p[0], p[1], p[2] - m
        if a == 0:
            return -c / b
        disc = np.sqrt(b * b - 4 * a * c)
        return (-b + disc) / (2 * a) if a > 0 else (-b - disc) / (2 * a)


def index_to_mass(mode: int, p, index):
    """m/z (Th) of the 0-based sample ``index``; modes 3 and 4 by Newton iterations."""
    i = np.asarray(index, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == 0:
            return ((i - p[1]) / p[0]) ** 2
        if mode == 1:
            return (p[0] / (i - p[1])) ** 2
        if mode == 2:
            return np.abs((i - p[1]) / p[0]) ** (1.0 / p[2]) * np.sign(i - p[1])
        if mode == 5:
            return p[0] * i**2 + p[1] * i + p[2]
        m = np.clip(((i - p[1]) / p[0]), 0, None) ** 2  # start from the sqrt law
        for _ in range(50):
            h = np.maximum(m * 1e-7, 1e-9)
            f = mass_to_index(mode, p, m) - i
            df = (mass_to_index(mode, p, m + h) - mass_to_index(mode, p, m - h)) / (2 * h)
            step = np.where(df != 0, f / df, 0.0)
            m = np.clip(m - step, 1e-12, None)
            if np.all(np.abs(step) <= 1e-13 * np.maximum(m, 1)):
                break
        return m


def mass_calibration(group, *, write: int | None = None) -> tuple[int, tuple[float, ...]]:
    """Read ``(mode, parameters)`` of a ``/FullSpectra`` (or ``FullSpectra2``) group.

    With ``write`` and a ``MassCalibration`` dataset (per-write recalibration), that
    write's row takes precedence over the group attributes. Wrap the result in
    :class:`charsuite.sims.MassCalibration` to evaluate or refit it.
    """
    attrs = attrs_dict(group)
    if "MassCalibMode" not in attrs:
        raise DataError(
            f"{group.name} has no MassCalibMode attribute; attributes found: "
            f"{', '.join(sorted(attrs)) or 'none'}"
        )
    mode = int(attrs["MassCalibMode"])
    if write is not None and "MassCalibration" in group:
        params = tuple(float(v) for v in np.asarray(group["MassCalibration"][write], float))
    else:
        n = attrs.get("MassCalibration nbrParameters")
        params, k = [], 1
        while f"MassCalibration p{k}" in attrs and (n is None or k <= int(n)):
            params.append(float(attrs[f"MassCalibration p{k}"]))
            k += 1
        params = tuple(params)
    need = N_CALIBRATION_PARAMETERS.get(mode)
    if need is None:
        raise DataError(f"unknown TofDAQ MassCalibMode {mode}; expected 0-5")
    if len(params) < need:
        raise DataError(f"MassCalibMode {mode} needs {need} parameters, found {len(params)}")
    return mode, params


# --------------------------------------------------------------------------- file model
class PeakRecords(NamedTuple):
    """Rows of a TofDAQ ``PeakTable``: labels, centre masses, lower/upper limits (Th)."""

    label: tuple[str, ...]
    mass: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def read_peak_table(dset) -> PeakRecords:
    """Read a compound ``PeakTable`` dataset (label, mass, lower/upper integration limit)."""
    data = dset[()]
    names = data.dtype.names or ()
    need = ("label", "mass", "lower integration limit", "upper integration limit")
    if any(n not in names for n in need):
        raise DataError(
            f"{dset.name} fields are {names}; expected label, mass, lower/upper integration limit"
        )
    return PeakRecords(
        label=tuple(scalar(v) for v in data["label"]),
        mass=np.asarray(data["mass"], dtype=float),
        lower=np.asarray(data["lower integration limit"], dtype=float),
        upper=np.asarray(data["upper integration limit"], dtype=float),
    )


def unique_labels(labels) -> list[str]:
    """Make species labels unique by suffixing repeats with ``#2``, ``#3``..."""
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        lab = str(lab).strip() or "peak"
        n = seen.get(lab, 0) + 1
        seen[lab] = n
        out.append(lab if n == 1 else f"{lab}#{n}")
    return out


def _open(path: Path):
    try:
        return open_file(path, format=SPEC.name)  # regular file, contained, bounded
    except OSError as err:
        raise ReaderError(
            f"not a readable HDF5 file ({err}); the file may be truncated or not TofDAQ output",
            path=path,
            format=SPEC.name,
        ) from err


def open_tofdaq(path: str | Path):
    """Open a TofDAQ file read-only (h5py) as an input of the running command.

    Registered like :func:`charsuite.io.read` inputs, so no output may replace it; a
    damaged or non-regular file raises :class:`ReaderError`.
    """
    from charsuite.io._atomic import register_input

    f = _open(Path(path))
    register_input(path)
    return f


def require_dataset(f, name: str, path: Path):
    """Return node ``name`` of the open TofDAQ file ``f``, or refuse naming what the file has.

    Parameters
    ----------
    f : h5py.File
        The open file.
    name : str
        Path of the group or dataset inside the file.
    path : Path
        The file's path (for the error message).

    Returns
    -------
    h5py.Group or h5py.Dataset

    Raises
    ------
    ReaderError
        The node is missing (the message lists up to 40 nodes the file has).
    """
    if name not in f:
        have = []
        f.visit(lambda n: have.append(n) if len(have) < 40 else None)
        raise ReaderError(
            f"dataset {name!r} is missing; the file has: {', '.join(have) or 'nothing'}. "
            "A 'raw' fibTOF file needs FullSpectra/EventList and PeakData/PeakTable; "
            "TofData can be integrated with charsuite.sims.reintegrate(path)",
            path=path,
            format=SPEC.name,
        )
    return f[name]


def extractions_per_pixel(root: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """Extractions summed into one pixel: NbrWaveforms·NbrBlocks·NbrMemories·NbrCubes."""
    parts = {}
    for key in ("NbrWaveforms", "NbrBlocks", "NbrMemories", "NbrCubes"):
        v = root.get(key)
        parts[key] = int(v) if isinstance(v, int | float) and v and v > 0 else 1
    return int(np.prod(list(parts.values()))), parts


def _cross_check(path, shape, root, ini) -> list[str]:
    """Compare dataset-derived dimensions with root attributes and the INI."""
    problems = []
    names = ("NbrWrites", "NbrBufs", "NbrSegments", "NbrPeaks")
    for key, n in zip(names, shape):
        a = root.get(key)
        if isinstance(a, int | float) and int(a) != n:
            problems.append(f"root attribute {key}={int(a)} but the dataset has {n}")
        v = _ini_lookup(ini, key)
        if v is not None:
            try:
                iv = int(float(v))
            except ValueError:
                continue
            if iv != n:
                problems.append(f"INI {key}={iv} but the dataset has {n}")
    if problems:
        warnings.warn(
            f"{path}: {'; '.join(problems)}. Using the dataset shapes (the file may be "
            "truncated or the acquisition stopped early).",
            CharsuiteWarning,
            stacklevel=4,
        )
    return problems


def pixel_geometry(f, nx: int, path: Path | None = None) -> dict[str, Any]:
    """Pixel size from ``FIBParams/ViewField`` (mm) and the FIB image raster (binning)."""
    out: dict[str, Any] = {}
    group = f.get("FIBParams")
    if group is None:
        return out
    fib = attrs_dict(group)
    view = fib.get("ViewField")
    if isinstance(view, int | float) and view > 0:
        field_um = float(view) * 1000.0  # documented unit: mm
        if field_um < 0.1:  # < 100 nm is not a FIB-SIMS field: the value was stored in m
            warnings.warn(
                f"{path}: FIBParams/ViewField={view} read as mm gives a {field_um:g} µm field, "
                f"which is implausible; interpreting it as metres ({view * 1e6:g} µm).",
                CharsuiteWarning,
                stacklevel=4,
            )
            field_um = float(view) * 1e6
        out["field_of_view_um"] = field_um
        out["pixel_size_um"] = field_um / nx
    images = f.get("FIBImages")
    if images is not None:
        keys = sorted(
            k for k in images if isinstance(images[k], type(images)) and "Data" in images[k]
        )
        out["n_fib_images"] = len(keys)
        if keys:
            width = images[keys[0]]["Data"].shape[-1]
            out["fib_raster_px"] = int(width)
            if width % nx == 0:
                out["binning"] = int(width // nx)
    for key, unit in (("Voltage", "V"), ("Current", "A"), ("ScanSpeed", "")):
        if isinstance(fib.get(key), int | float):
            out[f"fib_{key.lower()}{'_' + unit if unit else ''}"] = fib[key]
    if fib.get("FibHardware"):
        out["fib_hardware"] = str(fib["FibHardware"])
    return out


def primary_current(f, n_writes: int) -> tuple[np.ndarray | None, str | None]:
    """Per-scan primary (FIB) beam current from registered user data, when the file has it.

    Looks for TofDAQ registered user data (``TwData`` (NbrWrites[, NbrBufs], NbrElements)
    with element names in ``TwInfo``) in or under the ``FibParams``/``FIBParams`` groups,
    the FIB column's telemetry (e.g. ``/FibParams/FibPressure``, sims.md §1.5), and takes
    the first element whose name contains "current" (not a "current limit" flag). Per-buf
    rows are averaged over the scan. ``/FIBParams`` attribute ``Current`` is a single
    setting, not a per-scan measurement, and is not used.

    Returns
    -------
    current : ndarray (n_writes,) or None
        In the element's own unit (only ratios matter for normalisation).
    source : str or None
        ``"/group/TwData[element name]"``.
    """
    groups = []
    for top in ("FibParams", "FIBParams"):
        grp = f.get(top)
        if grp is None or not hasattr(grp, "keys"):
            continue
        groups.append(grp)
        groups += [grp[k] for k in grp if hasattr(grp[k], "keys")]
    for grp in groups:
        if "TwData" not in grp or "TwInfo" not in grp:
            continue
        data, info = grp["TwData"], grp["TwInfo"]
        names = [str(scalar(v)) for v in np.atleast_1d(info[()])]
        if data.ndim not in (2, 3) or data.shape[-1] != len(names) or data.shape[0] < n_writes:
            continue
        for j, label in enumerate(names):
            low = label.lower()
            if "current" in low and "limit" not in low:
                vals = np.asarray(data[:n_writes, ..., j], dtype=float)
                if vals.ndim == 2:  # one row per buf (scan line): mean over the scan
                    vals = vals.mean(axis=1)
                return vals, f"{grp.name}/TwData[{label}]"
    return None, None


def _label_unit(label: str | None) -> str:
    """Unit in brackets at the end of a TwInfo name (``"FIB current [pA]"``), else a.u."""
    import re

    text = label or ""
    if "TwData[" in text:  # a source string "/group/TwData[name]": look at the name only
        text = text.split("TwData[", 1)[1][:-1]
    found = re.findall(r"[\[(]\s*([^\]()\[;]+?)\s*[\])]", text)
    return found[-1] if found else "a.u."


def _polarity(root: dict[str, Any], tof: int) -> str | None:
    mode = str(root.get("IonMode", "")).lower()
    if mode not in ("positive", "negative"):
        return None
    if tof == 1:
        return mode
    return "negative" if mode == "positive" else "positive"


def _depth_order(f, n_writes: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Return write indices in acquisition order (from BufTimes) and per-write times."""
    bt = f.get("TimingData/BufTimes")
    if bt is None or bt.shape[0] < n_writes:
        return np.arange(n_writes), None
    times = np.asarray(bt[:n_writes], dtype=float)
    t0 = times[:, 0] if times.ndim == 2 else times
    step = np.diff(t0)
    if step.size and np.all(step < 0):  # exported in reverse: restore acquisition order
        return np.arange(n_writes)[::-1], times
    if step.size and np.any(step < 0):
        warnings.warn(
            "BufTimes are not monotonic along the writes; keeping the file's write order "
            "(depth 0 = write 0). Check the depth direction against the stack chemistry.",
            CharsuiteWarning,
            stacklevel=4,
        )
    return np.arange(n_writes), times


def _aligned_chunks(dset, chunk_mb: float) -> tuple[int, ...]:
    shape = dset.shape
    hchunk = dset.chunks or (1, *shape[1:])
    slab = int(np.prod(shape[1:])) * dset.dtype.itemsize
    per_chunk = max(1, hchunk[0])
    n = max(1, int(chunk_mb * 2**20 // max(slab * per_chunk, 1))) * per_chunk
    return (min(n, shape[0]) if shape[0] else 1, *shape[1:])


def _peak_array(f, name: str, path: Path, *, lazy: bool, chunk_mb: float, n_writes: int):
    dset = require_dataset(f, name, path)
    if dset.ndim != 4:
        raise ReaderError(
            f"{name} has shape {dset.shape}; expected 4 dimensions (write, buf, segment, peak)",
            path=path,
            format=SPEC.name,
        )
    if lazy:
        import dask.array as da

        arr = da.from_array(dset, chunks=_aligned_chunks(dset, chunk_mb), lock=True)
        return arr if n_writes == dset.shape[0] else arr[:n_writes]
    return dset[:n_writes]


def _source_kind(f, tof: int) -> str | None:
    """``"PeakData"`` when the TOF's PeakData exists, ``"EventList"`` for a raw file, or None."""
    if ("PeakData/PeakData" if tof == 1 else "PeakData/PeakData2") in f:
        return "PeakData"
    if ("FullSpectra/EventList" if tof == 1 else "FullSpectra2/EventList") in f:
        return "EventList"
    return None


def calibration_record(calibration) -> tuple[int, tuple[float, ...]] | None:
    """``(mode, parameters)`` of a calibration given as an object, a tuple or a JSON file.

    Accepts anything with ``mode`` and ``parameters`` attributes (e.g.
    :class:`charsuite.sims.MassCalibration`), a ``(mode, parameters)`` tuple, or the path
    of a JSON written by ``charsuite sims mass-calibrate -o`` (``{"mode", "parameters":
    {"p1", ...}}``).
    """
    import json

    if calibration is None:
        return None
    if hasattr(calibration, "calibration"):  # a CalibrationFit
        calibration = calibration.calibration
    if hasattr(calibration, "mode") and hasattr(calibration, "parameters"):
        return int(calibration.mode), tuple(float(v) for v in calibration.parameters)
    if isinstance(calibration, tuple) and len(calibration) == 2:
        return int(calibration[0]), tuple(float(v) for v in calibration[1])
    try:
        data = json.loads(Path(calibration).read_text(encoding="utf-8"))
        mode = int(data["mode"])
        pars = data["parameters"]
        params = tuple(float(pars[f"p{k + 1}"]) for k in range(N_CALIBRATION_PARAMETERS[mode]))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ParameterError(
            f"calibration {calibration!r}: {err}; expected a MassCalibration or a JSON file "
            'with {"mode": 0-5, "parameters": {"p1": ...}}'
        ) from err
    return mode, params


def _event_array(
    f, tof: int, table, path: Path, *, lazy: bool, chunk_mb: float, n_writes: int, calibration
):
    """Counts integrated from the EventList: lazily write by write, or all at once."""
    integ = EventListIntegrator(
        f,
        "FullSpectra" if tof == 1 else "FullSpectra2",
        table,
        path,
        n_writes=n_writes,
        calibration=calibration,
    )
    if not lazy:
        return integ[:], integ
    import dask.array as da

    per_write = int(np.prod(integ.shape[1:])) * 4
    k = max(1, min(integ.shape[0], int(chunk_mb * 2**20 // max(per_write, 1))))
    return da.from_array(integ, chunks=(k, *integ.shape[1:]), lock=True), integ


def read(
    path: Path,
    *,
    lazy: bool = False,
    tof: int | str = "all",
    units: str = "counts",
    chunk_mb: float = 32.0,
    node: str | None = None,
    calibration=None,
):
    """Read the PeakData cube of a TofDAQ file as ``(depth, y, x, species)``.

    Parameters
    ----------
    path : Path
    lazy : bool
        Return a dask-backed cube (the file stays open; nothing is loaded).
    tof : {"all", 1, 2}
        Which TOF (see module docstring).
    units : {"counts", "ions/extraction"}
    chunk_mb : float
        Target dask chunk size in MiB (aligned to HDF5 chunks).
    node : str, optional
        ``"/PeakData/PeakData"`` or ``"/PeakData/PeakData2"`` (same as ``tof``).
    calibration : MassCalibration, (mode, parameters) or str, optional
        Mass calibration (or ``sims mass-calibrate -o`` JSON) for integrating a raw
        EventList file instead of the file's own; refused for PeakData (already integrated
        by TofDAQ: re-integrate TofData with :func:`charsuite.sims.reintegrate`).

    Returns
    -------
    xarray.DataArray
        Name ``"counts"`` (or ``"ions_per_extraction"``); coords ``depth`` (scan),
        ``y``/``x`` (µm, or px when the field of view is unknown), ``species``,
        ``mass`` (Th), ``lower_mass``/``upper_mass`` (Th), ``polarity``,
        ``buf_time`` (depth, y; s) and ``saturated`` (depth, y; bool).

    Raises
    ------
    ReaderError
        Missing PeakData/PeakTable, wrong dimensionality, damaged file.
    ParameterError
        Bad ``tof`` or ``units``.
    """
    tof = _check_read_options(units, tof, node)
    f = _open(path)
    try:
        root = attrs_dict(f)
        if "TofDAQ Version" not in root:
            raise ReaderError(
                "no 'TofDAQ Version' root attribute; this is not a TofDAQ file",
                path=path,
                format=SPEC.name,
            )
        ini = parse_ini(str(root.get("Configuration File Contents", "")))
        table = read_peak_table(require_dataset(f, "PeakData/PeakTable", path))
        lay = _layout(f, path, table, tof)
        _cross_check(path, lay.main_shape, root, ini)
        n_extr, parts = extractions_per_pixel(root)
        cal_record = calibration_record(calibration)
        if cal_record is not None and any(lay.kinds[t] == "PeakData" for t in lay.tofs):
            raise ParameterError(
                "calibration= applies to raw EventList files; this file's PeakData were "
                "integrated by TofDAQ. Re-integrate TofData with `charsuite sims reintegrate "
                "--calibration` instead"
            )
        spc = _tof_arrays(
            f, path, lay, table, root, lazy, chunk_mb, units, n_extr, calibration=cal_record
        )
        order, times = _depth_order(f, lay.n_writes)
        data = _cube_data(f, path, lay, spc.arrays, order, lazy, units, n_extr)
        extra = _scan_coords(f, path, lay, order, times, root, ini)
    except (ReaderError, ParameterError):
        f.close()
        raise
    except DataError as err:
        f.close()
        raise ReaderError(str(err), path=path, format=SPEC.name) from err
    except Exception:
        f.close()
        raise
    if not lazy:
        f.close()
    cube = _cube_array(data, lay, spc, extra, root, n_extr, units)
    return _conversion_history(cube, path, lay, spc, units, n_extr, parts)


def _check_read_options(units, tof, node):
    """The TOF to read, from ``tof``/``node`` (ParameterError naming bad values)."""
    if units not in ("counts", "ions/extraction"):
        raise ParameterError(f"units={units!r}; expected 'counts' or 'ions/extraction'")
    if node is not None:
        node = "/" + node.strip("/")
        tof = {"/PeakData/PeakData": 1, "/PeakData/PeakData2": 2}.get(node, node)
        if isinstance(tof, str):
            raise ParameterError(
                f"node {node!r}: a TofDAQ file is read through /PeakData/PeakData or "
                "/PeakData/PeakData2; use format='hdf5-cube' for other datasets"
            )
    if tof not in ("all", 1, 2, "1", "2"):
        raise ParameterError(f"tof={tof!r}; expected 'all', 1 or 2")
    return tof


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Which TOFs are read, from which source, and the cube's extent."""

    main_shape: tuple
    tofs: list
    kinds: dict  # tof -> "PeakData", "EventList" or None
    n_writes: int

    @property
    def from_events(self) -> bool:
        return any(self.kinds[t] == "EventList" for t in self.tofs)

    @property
    def yx(self) -> tuple[int, int]:
        return self.main_shape[1], self.main_shape[2]


def _layout(f, path, table, tof) -> _Layout:
    kinds = {t: _source_kind(f, t) for t in (1, 2)}
    if kinds[1] is None:
        require_dataset(f, "PeakData/PeakData", path)  # raises, listing what the file has
    if kinds[1] == "PeakData":
        main_shape = tuple(f["PeakData/PeakData"].shape)
    else:
        main_shape = (*f["FullSpectra/EventList"].shape, len(table.label))
    if len(main_shape) != 4 or main_shape[3] != len(table.label):
        raise ReaderError(
            f"PeakData has shape {main_shape} but PeakTable lists {len(table.label)} peaks; "
            "expected (write, buf, segment, peak) with one column per table row",
            path=path,
            format=SPEC.name,
        )
    tofs = [1, 2] if tof == "all" else [int(tof)]
    if tof == "all" and kinds[2] is None:
        tofs = [1]
    if 2 in tofs and kinds[2] is None:
        require_dataset(f, "PeakData/PeakData2", path)
    # common number of writes (a truncated acquisition can leave them unequal)
    n_writes = main_shape[0]
    if 2 in tofs:
        other = f["PeakData/PeakData2"] if kinds[2] == "PeakData" else f["FullSpectra2/EventList"]
        n_writes = min(n_writes, other.shape[0])
    return _Layout(main_shape, tofs, kinds, n_writes)


@dataclasses.dataclass
class _Species:
    """Per-TOF arrays and their species coordinates, concatenated along ``species``."""

    arrays: list = dataclasses.field(default_factory=list)
    labels: list = dataclasses.field(default_factory=list)
    masses: list = dataclasses.field(default_factory=list)
    lowers: list = dataclasses.field(default_factory=list)
    uppers: list = dataclasses.field(default_factory=list)
    pols: list = dataclasses.field(default_factory=list)
    integrated: list = dataclasses.field(default_factory=list)


def _tof_arrays(
    f, path, lay: _Layout, table, root, lazy, chunk_mb, units, n_extr, *, calibration=None
) -> _Species:
    """PeakData (or integrated EventList) of each TOF read, with its peak table."""
    out = _Species()
    for t in lay.tofs:
        tab = table
        if t == 2:
            key = "PeakData/PeakTable2"
            tab = read_peak_table(f[key]) if key in f else table
        if lay.kinds[t] == "PeakData":
            name = "PeakData/PeakData" if t == 1 else "PeakData/PeakData2"
            arr = _peak_array(f, name, path, lazy=lazy, chunk_mb=chunk_mb, n_writes=lay.n_writes)
            if lay.from_events and units == "counts":
                arr = arr * np.float32(n_extr)
        else:
            arr, integ = _event_array(
                f,
                t,
                tab,
                path,
                lazy=lazy,
                chunk_mb=chunk_mb,
                n_writes=lay.n_writes,
                calibration=calibration,
            )
            out.integrated.append({"tof": t, **integ.parameters})
            if units == "ions/extraction":
                arr = arr / np.float32(n_extr)
        _check_tof_shape(path, lay, t, arr, tab)
        out.arrays.append(arr)
        out.labels += list(tab.label)
        out.masses.append(tab.mass)
        out.lowers.append(tab.lower)
        out.uppers.append(tab.upper)
        out.pols += [_polarity(root, t) or "unknown"] * len(tab.label)
    return out


def _check_tof_shape(path, lay: _Layout, t, arr, tab) -> None:
    name = f"{lay.kinds[t]}{'2' if t == 2 else ''}"
    if arr.shape[1:3] != lay.yx:
        raise ReaderError(
            f"{name} has shape {arr.shape}, the first TOF has {lay.main_shape}; the two "
            "TOFs must share (buf, segment)",
            path=path,
            format=SPEC.name,
        )
    if len(tab.label) != arr.shape[3]:
        raise ReaderError(
            f"{name} has {arr.shape[3]} peaks but its peak table has {len(tab.label)}",
            path=path,
            format=SPEC.name,
        )


def _cube_data(f, path, lay: _Layout, arrays, order, lazy, units, n_extr):
    """Concatenate the TOFs, order by time, scale to counts; register the lazy cube's chunks.

    The registration (:func:`charsuite.io.hdf5.register`) lets :mod:`charsuite.sims`
    stream this exact cube from the datasets (pread, decoded chunks or read_direct into
    reused buffers) instead of through dask.
    """
    reordered = not np.array_equal(order, np.arange(lay.n_writes))
    if reordered:
        warnings.warn(
            f"{path}: BufTimes decrease with the write index (reversed export); the cube "
            "is re-ordered by acquisition time (depth 0 = first scan).",
            CharsuiteWarning,
            stacklevel=4,
        )
    if lazy:
        import dask.array as da

        data = da.concatenate(arrays, axis=3) if len(arrays) > 1 else arrays[0]
    else:
        data = np.concatenate(arrays, axis=3) if len(arrays) > 1 else arrays[0]
    if reordered:
        data = data[order]
    if units == "counts" and not lay.from_events:
        data = data * np.float32(n_extr)
    if lazy and not lay.from_events:
        from charsuite.io.hdf5 import register

        register(
            data,
            [f["PeakData/PeakData" if t == 1 else "PeakData/PeakData2"] for t in lay.tofs],
            n_writes=lay.n_writes,
            reverse=reordered,
            factor=n_extr if units == "counts" else None,
        )
    return data


def _scan_coords(f, path, lay: _Layout, order, times, root, ini) -> dict:
    """Per-scan flags and times, pixel geometry, primary current and original metadata."""
    n_writes = lay.n_writes
    ny, nx = lay.yx
    sat = f.get("FullSpectra/SaturationWarning")
    saturated = (
        np.asarray(sat[:n_writes], dtype=bool)[order]
        if sat is not None and sat.shape[:2] == (lay.main_shape[0], ny)
        else np.zeros((n_writes, ny), dtype=bool)
    )
    buf_time = times[order] if times is not None and times.shape == (n_writes, ny) else None
    current, current_source = primary_current(f, n_writes)
    fs = f.get("FullSpectra")
    original = {"root": root, "ini": ini, "FullSpectra": attrs_dict(fs) if fs is not None else {}}
    for grp in ("FullSpectra2", "TimingData", "FIBParams"):
        if grp in f:
            original[grp] = attrs_dict(f[grp])
    return {
        "saturated": saturated,
        "buf_time": buf_time,
        "geo": pixel_geometry(f, nx, path),
        "current": None if current is None else current[order],
        "current_source": current_source,
        "original": original,
    }


def _cube_array(data, lay: _Layout, spc: _Species, extra: dict, root, n_extr, units):
    import xarray as xr

    ny, nx = lay.yx
    geo = extra["geo"]
    pixel = geo.get("pixel_size_um")
    xy_units = "um" if pixel else "px"
    step = pixel or 1.0
    coords = {
        "depth": ("depth", np.arange(lay.n_writes), {"units": "scan", "long_name": "scan index"}),
        "y": ("y", (np.arange(ny) + 0.5) * step, {"units": xy_units}),
        "x": ("x", (np.arange(nx) + 0.5) * step, {"units": xy_units}),
        "species": ("species", unique_labels(spc.labels), {"units": "label"}),
        "mass": ("species", np.concatenate(spc.masses), {"units": "Th"}),
        "lower_mass": ("species", np.concatenate(spc.lowers), {"units": "Th"}),
        "upper_mass": ("species", np.concatenate(spc.uppers), {"units": "Th"}),
        "polarity": ("species", np.array(spc.pols), {"units": "label"}),
        "saturated": (("depth", "y"), extra["saturated"], {"units": "dimensionless"}),
    }
    if extra["buf_time"] is not None:
        coords["buf_time"] = (("depth", "y"), extra["buf_time"], {"units": "s"})
    if extra["current"] is not None:
        source = extra["current_source"]
        coords["primary_current"] = (
            "depth",
            extra["current"],
            {"units": _label_unit(source), "source": source},
        )
    metadata = {
        "instrument": f"TOFWERK TofDAQ ({root.get('DAQ Hardware', 'unknown DAQ')})",
        "n_scans": int(lay.n_writes),
        "polarity": _polarity(root, 1),
        "extractions_per_pixel": n_extr,
        "tofdaq_version": root.get("TofDAQ Version"),
        "start_time": root.get("HDF5 File Creation Time"),
        "bipolar": lay.kinds[2] is not None,
        "data_source": "EventList" if lay.from_events else "PeakData",
        **{k: v for k, v in geo.items() if v is not None},
    }
    metadata.setdefault("pixel_size_um", None)
    return xr.DataArray(
        data,
        dims=CUBE_DIMS,
        coords=coords,
        name="counts" if units == "counts" else "ions_per_extraction",
        attrs={
            "units": "counts" if units == "counts" else "ions/extraction",
            "long_name": "secondary ions per pixel and scan",
            "technique": "sims",
            "metadata": metadata,
            "original_metadata": extra["original"],
            "history": [],
        },
    )


def _conversion_history(cube, path, lay: _Layout, spc: _Species, units, n_extr, parts):
    """Records of the reader's own steps, with the values it computed from the file.

    Hand-written records (not ``@provenance``): they state values found in the file
    (the extraction factor and its parts, the EventList integration windows), which are
    no parameters of :func:`read`.
    """
    from charsuite.model import add_history

    source = Path(path).resolve()
    for integ in spc.integrated:
        cube = add_history(
            cube,
            "integrate EventList into the peak table",
            function="charsuite.io.formats.sims.tofdaq.read",
            parameters=integ,
            input_file=source,
        )
    if lay.from_events and units == "ions/extraction":
        cube = add_history(
            cube,
            "convert counts to ions/extraction",
            function="charsuite.io.formats.sims.tofdaq.read",
            parameters={"divisor": n_extr, **parts},
            input_file=source,
        )
    if units == "counts" and (
        not lay.from_events or any(lay.kinds[t] == "PeakData" for t in lay.tofs)
    ):
        cube = add_history(
            cube,
            "convert ions/extraction to counts",
            function="charsuite.io.formats.sims.tofdaq.read",
            parameters={"factor": n_extr, **parts},
            input_file=source,
        )
    return cube


def __getattr__(name: str):
    """``EventListIntegrator`` is public here; its module loads on first use."""
    if name == "EventListIntegrator":
        from charsuite.io.formats.sims.tofdaq._events import EventListIntegrator

        return EventListIntegrator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
