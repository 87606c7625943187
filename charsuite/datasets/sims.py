"""Synthetic FIB-ToF-SIMS files with known ground truth.

:func:`make_tofdaq_stack` writes a fibTOF-layout TofDAQ HDF5 file of a
Li / LiPON / NMC811 / ITO / substrate stack, streamed write by write (any size), and
returns the ground truth. :func:`make_surfacelab_txt` writes an IONTOF SurfaceLab
depth-profile TXT export. :func:`make_fibtof_spectrum` writes a TofDAQ sum spectrum with
known peak positions, widths and calibration (isotope data from ``periodictable``,
independent of the molmass data used by the analysis).

Model (all conventions used by the ground truth):

* Scan ``s`` samples depth ``d(s)``, piecewise linear with ``d(0) = 0`` (the surface)
  and slope = the sputter rate of the layer being sputtered (nm/scan).
* Layer fractions are erf steps of standard deviation ``interface_sigma_nm`` centred on
  each interface depth, so the 16–84 % width is ``2σ`` in nm and
  ``σ/r_upper + σ/r_lower`` in scans; the 50 % point is at the interface scan.
* Expected counts per pixel = Σ_layers fraction × level(layer, species) × lateral
  modulation (a smooth "grain" field common to all species that drifts laterally with
  scan; optional anti-correlated Mn/Co domains = segregation).
* Detection: ``NbrWaveforms`` extractions per pixel, a TDC that sees at most one ion
  of a species per extraction → measured counts ~ Binomial(n, 1 − exp(−λ/n)) (Poisson
  dead time); ``SaturationWarning`` = 1 for scan lines where a species exceeds half the
  extractions. Stored PeakData = measured counts / extractions (ions/extraction).
"""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path
from typing import Any

import numpy as np

#: Species of the battery stack: (label, mass Th, polarity).
BATTERY_SPECIES: tuple[tuple[str, float, str], ...] = (
    ("Li+", 7.016, "positive"),
    ("NiO-", 73.930, "negative"),
    ("MnO-", 70.933, "negative"),
    ("CoO-", 74.928, "negative"),
    ("In-", 114.904, "negative"),
    ("PO-", 46.969, "negative"),
)


@dataclasses.dataclass(frozen=True)
class StackLayer:
    """One generated layer: thickness (nm), relative sputter rate, expected counts per pixel."""

    name: str
    thickness_nm: float
    relative_rate: float
    levels: dict[str, float]


#: Layers top to bottom; the last one (substrate) fills the remaining scans.
BATTERY_STACK: tuple[StackLayer, ...] = (
    StackLayer("Li", 300.0, 4.0, {"Li+": 30.0, "PO-": 0.02}),
    StackLayer("LiPON", 500.0, 1.2, {"Li+": 8.0, "PO-": 5.0}),
    StackLayer(
        "NMC811", 600.0, 1.0, {"Li+": 6.0, "NiO-": 4.0, "MnO-": 0.6, "CoO-": 0.6, "PO-": 0.05}
    ),
    StackLayer("ITO", 180.0, 0.8, {"In-": 6.0, "Li+": 0.4}),
    StackLayer("substrate", float("inf"), 0.6, {"NiO-": 0.3, "Li+": 0.05}),
)
BACKGROUND = 0.004  # counts per pixel per scan of every species everywhere


def _smooth_field(rng, shape, corr_px: float) -> np.ndarray:
    """Zero-mean, unit-std periodic random field with correlation length ``corr_px``."""
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.fftfreq(shape[1])[None, :]
    spec = np.exp(-2 * (np.pi * corr_px) ** 2 * (kx**2 + ky**2))
    noise = rng.standard_normal(shape)
    field = np.fft.ifft2(np.fft.fft2(noise) * spec).real
    return (field - field.mean()) / (field.std() or 1.0)


def _erf_fraction(d: np.ndarray, top: float, bottom: float, sigma: float) -> np.ndarray:
    from scipy.special import ndtr

    upper = ndtr((d - top) / sigma) if np.isfinite(top) and top > 0 else np.ones_like(d)
    lower = ndtr((d - bottom) / sigma) if np.isfinite(bottom) else np.zeros_like(d)
    return upper - lower


def _attr(v):
    if isinstance(v, str):
        return np.bytes_(v.encode("latin-1"))
    if isinstance(v, bool | np.bool_):
        return np.array([int(v)], dtype=np.int32)
    if isinstance(v, int | np.integer):
        return np.array([v], dtype=np.int32)
    return np.array([v], dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class _StackModel:
    """Where each scan is in the stack and what each species gives there (no randomness)."""

    species: list[tuple[str, float, str]]
    rates: list[float]  # nm/scan per layer
    bounds_nm: np.ndarray  # interfaces, depth
    bounds_scan: np.ndarray  # interfaces, scan
    depth: np.ndarray  # nm sampled by each scan
    fractions: np.ndarray  # (scan, layer)
    expected_mean: np.ndarray  # (scan, species), per pixel at unit modulation
    pos: list[int]  # species in PeakData
    neg: list[int]  # species in PeakData2

    @property
    def labels(self) -> list[str]:
        return [s[0] for s in self.species]


def _stack_model(
    stack, *, n_scans, stack_fraction, interface_sigma_nm, extra_peaks, bipolar
) -> _StackModel:
    """Sputter rates, depth per scan, erf interfaces and expected levels of every species."""
    finite = [lay for lay in stack if np.isfinite(lay.thickness_nm)]
    # scans per unit relative rate: finite layers use stack_fraction of the scans
    scans_needed = sum(lay.thickness_nm / lay.relative_rate for lay in finite)
    scale = scans_needed / (stack_fraction * n_scans)  # nm/scan per unit relative rate
    rates = [lay.relative_rate * scale for lay in stack]
    bounds_nm = np.concatenate([[0.0], np.cumsum([lay.thickness_nm for lay in finite])])
    bounds_scan = np.concatenate(
        [[0.0], np.cumsum([lay.thickness_nm / r for lay, r in zip(finite, rates)])]
    )
    scans = np.arange(n_scans, dtype=float)
    # depth sampled by each scan (piecewise linear, d(0) = 0)
    depth = np.empty(n_scans)
    for k in range(len(stack)):
        s0 = bounds_scan[k] if k < len(bounds_scan) else bounds_scan[-1]
        s1 = bounds_scan[k + 1] if k + 1 < len(bounds_scan) else np.inf
        sel = (scans >= s0) & (scans < s1)
        d0 = bounds_nm[min(k, len(bounds_nm) - 1)]
        depth[sel] = d0 + (scans[sel] - s0) * rates[k]
    species = list(BATTERY_SPECIES)
    for j in range(extra_peaks):
        m = 20.0 + 3.0 * j
        species.append((f"m{m:.0f}", m, "positive"))
    labels = [s[0] for s in species]
    levels = np.full((len(stack), len(species)), BACKGROUND)
    for k, lay in enumerate(stack):
        for j, lab in enumerate(labels):
            if lab in lay.levels:
                levels[k, j] += lay.levels[lab]
            elif j >= len(BATTERY_SPECIES):
                levels[k, j] += 0.05 * (1 + (j % 5))
    fractions = np.stack(
        [
            _erf_fraction(
                depth,
                bounds_nm[k] if k < len(bounds_nm) else np.inf,
                bounds_nm[k + 1] if k + 1 < len(bounds_nm) else np.inf,
                interface_sigma_nm,
            )
            for k in range(len(stack))
        ],
        axis=1,
    )  # (scan, layer)
    return _StackModel(
        species=species,
        rates=rates,
        bounds_nm=bounds_nm,
        bounds_scan=bounds_scan,
        depth=depth,
        fractions=fractions,
        expected_mean=fractions @ levels,
        pos=[j for j, s in enumerate(species) if s[2] == "positive" or not bipolar],
        neg=[j for j, s in enumerate(species) if s[2] == "negative" and bipolar],
    )


# Mass calibration (TofDAQ mode 2, i = p1 m^p3 + p2) and timing of the synthetic instrument.
_P1, _P2, _P3 = 1600.0, 50.0, 0.5
_N_SAMPLES = int(_P1 * 200**_P3 + _P2)
_SAMPLE_INTERVAL, _CLOCK_PERIOD = 1.0e-9, 0.25e-9
_TOF_PERIOD_NS = 30000


def _peak_table(species, idx) -> np.ndarray:
    dt = np.dtype(
        [
            ("label", "S64"),
            ("mass", "<f4"),
            ("lower integration limit", "<f4"),
            ("upper integration limit", "<f4"),
        ]
    )
    rows = [
        (species[j][0].encode(), species[j][1], species[j][1] - 0.3, species[j][1] + 0.3)
        for j in idx
    ]
    return np.array(rows, dtype=dt)


def _root_attributes(*, nx, ny, n_scans, n_extractions, n_peaks) -> dict[str, Any]:
    ini = (
        "[TOFParameter]\n"
        f"NbrSegments={nx}\nNbrBufs={ny}\nNbrWrites={n_scans}\nNbrWaveforms={n_extractions}\n"
        "Ch1Record=1\nCh2Record=0\nPoissonCorrect=0\n"
    )
    return {
        "TofDAQ Version": 1.99,
        "DAQ Hardware": "Cronologic xTDC4 (charsuite synthetic)",
        "FiblysGUIVersion": "1.12.2.0",
        "IonMode": "positive",
        "HDF5 File Creation Time": "25.11.2026 12:00:00",
        "Configuration File Contents": ini,
        "NbrWrites": n_scans,
        "NbrBufs": ny,
        "NbrSegments": nx,
        "NbrPeaks": n_peaks,
        "NbrWaveforms": n_extractions,
        "NbrBlocks": 1,
        "NbrMemories": 1,
        "NbrCubes": 1,
        "NbrSamples": _N_SAMPLES,
    }


@dataclasses.dataclass
class _Layout:
    """The datasets of an open TofDAQ file that the scan loop fills."""

    sat: Any
    pd1: Any
    pd2: Any
    tof_sets: list  # (dataset, species indices)
    ev: Any
    chunk: int  # scans per PeakData write
    cal_rows: np.ndarray  # (write, 3) mass calibration per scan


def _write_layout(f, model: _StackModel, *, opts: dict[str, Any], rng, grain) -> _Layout:
    """Create groups, attributes, peak tables, timing, FIB images and the empty datasets."""
    import h5py

    n_scans, (ny, nx) = opts["n_scans"], opts["shape"]
    pos, neg, write_order = model.pos, model.neg, opts["write_order"]
    comp = {"compression": opts["compression"]} if opts["compression"] else {}
    root = _root_attributes(
        nx=nx, ny=ny, n_scans=n_scans, n_extractions=opts["n_extractions"], n_peaks=len(pos)
    )
    for k, v in root.items():
        f.attrs[k] = _attr(v)
    fs = f.create_group("FullSpectra")
    for k, v in {
        "MassCalibMode": 2,
        "MassCalibration nbrParameters": 3,
        "MassCalibration p1": _P1,
        "MassCalibration p2": _P2,
        "MassCalibration p3": _P3,
        "SampleInterval": _SAMPLE_INTERVAL,
        "ClockPeriod": _CLOCK_PERIOD,
        "Single Ion Signal": 1.0,
    }.items():
        fs.attrs[k] = _attr(float(v) if k.startswith("MassCalibration p") else v)
    fs.create_dataset(
        "MassAxis", data=((np.arange(_N_SAMPLES) - _P2) / _P1) ** (1 / _P3), dtype="f4"
    )
    drift = 0.8 if opts["recalibrate"] else 0.0
    cal_rows = np.array([[_P1, _P2 + drift * w / n_scans, _P3] for w in range(n_scans)])
    if opts["recalibrate"]:
        fs.create_dataset("MassCalibration", data=cal_rows[write_order])
    sat = fs.create_dataset("SaturationWarning", (n_scans, ny), dtype="u1")
    pdg = f.create_group("PeakData")
    pdg.create_dataset("PeakTable", data=_peak_table(model.species, pos))
    chunk = min(opts["chunk_scans"], n_scans)
    pd1 = pdg.create_dataset(
        "PeakData",
        (n_scans, ny, nx, len(pos)),
        dtype="f4",
        chunks=(chunk, ny, nx, len(pos)),
        **comp,
    )
    pd2 = f2 = None
    if neg:
        f2 = f.create_group("FullSpectra2")
        for k, v in fs.attrs.items():
            f2.attrs[k] = v
        pdg.create_dataset("PeakTable2", data=_peak_table(model.species, neg))
        pd2 = pdg.create_dataset(
            "PeakData2",
            (n_scans, ny, nx, len(neg)),
            dtype="f4",
            chunks=(chunk, ny, nx, len(neg)),
            **comp,
        )
    _write_timing_and_fib(f, opts=opts, rng=rng, grain=grain)
    tof_sets = []
    if opts["tofdata"]:
        tof_sets = _tofdata_datasets(fs, f2, pos=pos, neg=neg, opts=opts, comp=comp)
        if opts["recalibrate"] and neg:
            f2.create_dataset("MassCalibration", data=cal_rows[write_order])
    ev = None
    if opts["eventlist"]:
        eventlist = opts["eventlist"]
        base = np.uint32 if eventlist == "u4" else np.uint8
        ev = fs.create_dataset("EventList", (n_scans, ny, nx), dtype=h5py.vlen_dtype(base))
        if eventlist != "u4":
            ev.attrs["Compression"] = np.int32(257 if eventlist == "zlib" else 513)
    return _Layout(sat, pd1, pd2, tof_sets, ev, chunk, cal_rows)


def _write_timing_and_fib(f, *, opts, rng, grain) -> None:
    """``TimingData/BufTimes``, ``FIBParams`` and three secondary-electron images."""
    n_scans, (ny, nx), binning = opts["n_scans"], opts["shape"], opts["binning"]
    line_time = nx * opts["n_extractions"] * _TOF_PERIOD_NS * 1e-9
    td = f.create_group("TimingData")
    td.attrs["TofPeriod"] = _attr(_TOF_PERIOD_NS)
    times = (np.arange(n_scans)[:, None] * ny + np.arange(ny)[None, :]) * line_time
    td.create_dataset("BufTimes", data=times[opts["write_order"]])
    fib = f.create_group("FIBParams")
    for k, v in {
        "FibHardware": "Tescan",
        "ViewField": opts["field_of_view_um"] / 1000.0,
        "Voltage": 30000.0,
        "Current": 112e-12,
        "ScanSpeed": 12.0,
    }.items():
        fib.attrs[k] = v if isinstance(v, str) else np.float64(v)
    imgs = f.create_group("FIBImages")
    raster = (ny * binning, nx * binning)
    for i in range(3):
        se = (
            0.5
            + 0.1 * np.kron(grain, np.ones((binning, binning)))
            + 0.02 * rng.standard_normal(raster)
        )
        imgs.create_group(f"Image{i:04d}").create_dataset("Data", data=se)


def _tofdata_datasets(fs, f2, *, pos, neg, opts, comp) -> list:
    """Empty ``TofData`` datasets (positive, then negative) with the species each holds."""
    n_scans, (ny, nx) = opts["n_scans"], opts["shape"]
    shape, chunks = (n_scans, ny, nx, _N_SAMPLES), (1, 1, nx, _N_SAMPLES)
    sets = [(fs.create_dataset("TofData", shape, dtype="f4", chunks=chunks, **comp), pos)]
    if neg:
        f2.create_dataset("MassAxis", data=fs["MassAxis"][()])
        sets.append((f2.create_dataset("TofData", shape, dtype="f4", chunks=chunks, **comp), neg))
    return sets


def _tof_spectra(measured, cal, species, idx, n_samples) -> np.ndarray:
    """MV spectra: one Gaussian (σ = 2 samples, area = counts) per species at its flight time."""
    ny, nx = measured.shape[:2]
    offsets = np.arange(-12, 13)
    spec = np.zeros((ny, nx, n_samples), dtype=np.float32)
    for j in idx:
        centre = cal[0] * species[j][1] ** cal[2] + cal[1]
        i0 = int(np.rint(centre))
        g = np.exp(-0.5 * ((i0 + offsets - centre) / 2.0) ** 2)
        g /= g.sum()  # area 1 (SampleInterval 1 ns, SingleIonSignal 1 mV·ns)
        spec[:, :, i0 - 12 : i0 + 13] += measured[:, :, j, None] * g.astype(np.float32)
    return spec


def _write_events(ev, w, measured, cal, species, pos, *, eventlist, rng) -> int:
    """TDC events of one write (one word per ion, clock ticks); return the longest list."""
    ny, nx = measured.shape[:2]
    max_words = 0
    for b in range(ny):
        for x in range(nx):
            words = []
            for j in pos:
                n_ev = int(measured[b, x, j])
                centre = cal[0] * species[j][1] ** cal[2] + cal[1]
                samp = np.rint(centre + rng.normal(0, 2.0, n_ev))
                words.append(np.rint(samp * _SAMPLE_INTERVAL / _CLOCK_PERIOD))
            word = np.sort(np.concatenate(words)).astype("<u4") if words else np.zeros(0, "<u4")
            max_words = max(max_words, word.size)
            if eventlist == "u4":
                ev[w, b, x] = word
            elif eventlist == "zlib":
                ev[w, b, x] = np.frombuffer(zlib.compress(word.tobytes(), 1), np.uint8)
            else:
                import lz4.block

                packed = lz4.block.compress(word.tobytes(), store_size=False)
                ev[w, b, x] = np.frombuffer(packed, dtype=np.uint8)
    return max_words


def _flush_peakdata(out: _Layout, block, *, last, model, write_order, n_extractions, reverse):
    """Write the scans in ``block`` (ending at scan ``last``) to PeakData/PeakData2."""
    pos, neg = model.pos, model.neg
    slab = np.stack(block) / np.float32(n_extractions)
    first = last - len(block) + 1
    if reverse:
        for local, wi in enumerate(write_order[first : last + 1]):
            out.pd1[wi] = slab[local][..., pos]
            if out.pd2 is not None:
                out.pd2[wi] = slab[local][..., neg]
    else:
        out.pd1[first : last + 1] = slab[..., pos]
        if out.pd2 is not None:
            out.pd2[first : last + 1] = slab[..., neg]


def _stack_truth(model: _StackModel, stack, *, n_scans, interface_sigma_nm) -> dict[str, Any]:
    """Layers (rates, scan ranges) and interfaces (scan, depth, widths) of the generated stack."""
    bounds_scan, bounds_nm, rates = model.bounds_scan, model.bounds_nm, model.rates
    layers = []
    for k, lay in enumerate(stack):
        layers.append(
            {
                "name": lay.name,
                "thickness_nm": float(lay.thickness_nm) if np.isfinite(lay.thickness_nm) else None,
                "sputter_rate_nm_per_scan": rates[k],
                "start_scan": float(bounds_scan[k]) if k < len(bounds_scan) else None,
                "end_scan": float(bounds_scan[k + 1])
                if k + 1 < len(bounds_scan)
                else float(n_scans - 1),
            }
        )
    interfaces = []
    sig = interface_sigma_nm
    for k in range(len(bounds_nm) - 1):
        interfaces.append(
            {
                "between": [stack[k].name, stack[k + 1].name],
                "scan": float(bounds_scan[k + 1]),
                "depth_nm": float(bounds_nm[k + 1]),
                "width_nm": 2 * sig,
                "width_scans": sig / rates[k] + sig / rates[k + 1],
            }
        )
    return {"layers": layers, "interfaces": interfaces}


def make_tofdaq_stack(
    path: str | Path,
    *,
    n_scans: int = 200,
    shape: tuple[int, int] = (32, 32),
    stack: tuple[StackLayer, ...] = BATTERY_STACK,
    stack_fraction: float = 0.85,
    interface_sigma_nm: float = 20.0,
    field_of_view_um: float = 10.0,
    binning: int = 2,
    n_extractions: int = 60,
    segregation: float = 0.0,
    grain_contrast: float = 0.25,
    drift_px: tuple[float, float] = (2.0, -3.0),
    extra_peaks: int = 0,
    noise: str = "poisson",
    bipolar: bool = True,
    eventlist: str | None = None,
    tofdata: bool = False,
    recalibrate: bool = False,
    reverse_writes: bool = False,
    chunk_scans: int = 4,
    compression: str | None = "gzip",
    seed: int = 811,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Write a TofDAQ (fibTOF layout) HDF5 file of a battery stack; return (path, truth).

    Parameters
    ----------
    path : str or Path
        Output file (refused if it exists unless ``force``).
    n_scans : int
        Number of writes (FIB frames = depth slices).
    shape : (ny, nx)
        SIMS pixels (buf, segment).
    stack : tuple of StackLayer
        Top to bottom; thicknesses in nm (last = substrate, infinite). Sputter rates are
        ``relative_rate`` scaled so that the finite layers take ``stack_fraction`` of the
        scans.
    interface_sigma_nm : float
        σ of the erf interfaces (16–84 % width = 2σ).
    field_of_view_um, binning : float, int
        FIB field (stored as ``FIBParams/ViewField`` in mm) and SIMS binning (FIB raster =
        binning × nx, used for the SE images).
    n_extractions : int
        Extractions per pixel (``NbrWaveforms``); sets the dead-time non-linearity.
    segregation : float
        Amplitude of anti-correlated MnO⁻/CoO⁻ domains in the NMC811 layer (0 = none).
    grain_contrast : float
        Relative amplitude of the lateral modulation common to all species.
    drift_px : (dy, dx)
        Total lateral drift over the run (pixels).
    extra_peaks : int
        Additional low-intensity "nominal" peaks in PeakData (for large benchmark files).
    noise : {"poisson", "none"}
        ``"none"`` writes expected values (fast, for benchmarks).
    bipolar : bool
        Negative species in ``PeakData2``/``FullSpectra2`` (positive ones in ``PeakData``);
        otherwise all species in ``PeakData``.
    eventlist : {None, "u4", "zlib", "lz4"}
        Also write ``FullSpectra/EventList`` (TDC events of the positive TOF; small files).
    tofdata : bool
        Also write ``FullSpectra[2]/TofData`` (mV spectra: one Gaussian peak of σ = 2
        samples per species, area = counts × SingleIonSignal / SampleInterval); small files.
    recalibrate : bool
        Write a per-write ``FullSpectra/MassCalibration`` with a drifting offset.
    reverse_writes : bool
        Store the writes in reverse order (BufTimes decreasing), as some exports do.
    chunk_scans : int
        HDF5 chunk length along writes.
    compression : {"gzip", None}
    seed : int
    force : bool

    Returns
    -------
    path : Path
    truth : dict
        ``layers`` (name, thickness_nm, sputter_rate_nm_per_scan, start_scan, end_scan),
        ``interfaces`` (between, scan, depth_nm, width_nm, width_scans), ``species``,
        ``depth_nm`` per scan, ``segregated``, ``pixel_size_um``, ``n_extractions``,
        ``expected_profile`` ({species: expected whole-field counts per scan, before dead time}).
    """
    import h5py

    from charsuite.exceptions import ParameterError
    from charsuite.io import atomic_path

    if noise not in ("poisson", "none"):
        raise ParameterError(f"noise={noise!r}; expected 'poisson' or 'none'")
    if eventlist not in (None, "u4", "zlib", "lz4"):
        raise ParameterError(f"eventlist={eventlist!r}; expected None, 'u4', 'zlib' or 'lz4'")
    rng = np.random.default_rng(seed)
    ny, nx = shape
    model = _stack_model(
        stack,
        n_scans=n_scans,
        stack_fraction=stack_fraction,
        interface_sigma_nm=interface_sigma_nm,
        extra_peaks=extra_peaks,
        bipolar=bipolar,
    )
    labels, species = model.labels, model.species
    grain = 1.0 + grain_contrast * np.clip(_smooth_field(rng, shape, 2.5), -3, 3) / 3
    domains = np.tanh(2 * _smooth_field(rng, shape, 1.5))
    nmc = next((k for k, lay in enumerate(stack) if lay.name.upper().startswith("NMC")), None)
    i_mn, i_co = labels.index("MnO-"), labels.index("CoO-")
    saturation_level = 0.5 * n_extractions
    truth_profile = np.zeros((n_scans, len(species)))
    write_order = np.arange(n_scans)[::-1] if reverse_writes else np.arange(n_scans)
    opts = {
        "n_scans": n_scans,
        "shape": shape,
        "n_extractions": n_extractions,
        "compression": compression,
        "recalibrate": recalibrate,
        "chunk_scans": chunk_scans,
        "tofdata": tofdata,
        "eventlist": eventlist,
        "binning": binning,
        "field_of_view_um": field_of_view_um,
        "write_order": write_order,
    }
    with atomic_path(Path(path), force=force) as tmp, h5py.File(tmp, "w") as f:
        out = _write_layout(f, model, opts=opts, rng=rng, grain=grain)
        max_words = 0
        block: list[np.ndarray] = []
        for s in range(n_scans):
            shift = (
                round(drift_px[0] * s / max(n_scans - 1, 1)),
                round(drift_px[1] * s / max(n_scans - 1, 1)),
            )
            g = np.roll(grain, shift, axis=(0, 1))
            lam = model.expected_mean[s][None, None, :] * g[:, :, None]
            if nmc is not None and segregation:
                dom = np.roll(domains, shift, axis=(0, 1)) * model.fractions[s, nmc]
                lam[:, :, i_mn] *= 1 + segregation * dom
                lam[:, :, i_co] *= 1 - segregation * dom
            truth_profile[s] = lam.sum(axis=(0, 1))
            p = 1.0 - np.exp(-lam / n_extractions)
            measured = (
                rng.binomial(n_extractions, p).astype(np.float32)
                if noise == "poisson"
                else (n_extractions * p).astype(np.float32)
            )
            w = int(np.nonzero(write_order == s)[0][0]) if reverse_writes else s
            out.sat[w] = (measured.max(axis=(1, 2)) > saturation_level).astype(np.uint8)
            block.append(measured)
            for dset, idx in out.tof_sets:
                dset[w] = _tof_spectra(measured, out.cal_rows[s], species, idx, _N_SAMPLES)
            if out.ev is not None:
                words = _write_events(
                    out.ev,
                    w,
                    measured,
                    out.cal_rows[s],
                    species,
                    model.pos,
                    eventlist=eventlist,
                    rng=rng,
                )
                max_words = max(max_words, words)
            if len(block) == out.chunk or s == n_scans - 1:
                _flush_peakdata(
                    out,
                    block,
                    last=s,
                    model=model,
                    write_order=write_order,
                    n_extractions=n_extractions,
                    reverse=reverse_writes,
                )
                block = []
        if out.ev is not None:
            out.ev.attrs["MaxElementLength"] = np.int32(max_words)
    truth = {
        "species": labels,
        "positive_species": [labels[j] for j in model.pos],
        "negative_species": [labels[j] for j in model.neg],
        **_stack_truth(model, stack, n_scans=n_scans, interface_sigma_nm=interface_sigma_nm),
        "depth_nm": model.depth.tolist(),
        "segregated": bool(segregation),
        "segregation": segregation,
        "pixel_size_um": field_of_view_um / nx,
        "n_extractions": n_extractions,
        "n_scans": n_scans,
        "shape": [ny, nx],
        "expected_profile": {lab: truth_profile[:, j].tolist() for j, lab in enumerate(labels)},
        "seed": seed,
    }
    return Path(path), truth


def battery_layer_spec(truth: dict[str, Any], *, include_markers: bool = False) -> str:
    """The ``--layers`` string of a generated stack, e.g. ``"Li:300nm,LiPON:500nm,...,substrate"``."""
    markers = {"Li": "Li+", "LiPON": "PO-", "NMC811": "NiO-", "ITO": "In-"}
    parts = []
    for lay in truth["layers"]:
        name = lay["name"]
        if include_markers and name in markers:
            name += f"@{markers[name]}"
        parts.append(f"{name}:{lay['thickness_nm']:g}nm" if lay["thickness_nm"] else name)
    return ",".join(parts)


def make_surfacelab_txt(
    path: str | Path,
    *,
    n_cycles: int = 120,
    cycle_time_s: float = 5.0,
    channels: tuple[tuple[str, float], ...] = (
        ("Au-", 196.967),
        ("PbI_3-", 587.8),
        ("In-", 114.904),
    ),
    edges_s: tuple[float, float] = (200.0, 420.0),
    width_s: float = 30.0,
    seed: int = 3,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Write an IONTOF SurfaceLab 7 depth-profile TXT export of a three-layer stack.

    Channel 0 is the top layer (falls at ``edges_s[0]``), channel 1 the middle layer
    (rises at ``edges_s[0]``, falls at ``edges_s[1]``), channel 2 the bottom layer; erf
    edges with 16–84 % width ``width_s``. A ``total`` column and a ratio channel
    (``a / ( b )``, mass ``N/A``) are added like real exports.

    Returns
    -------
    path, truth : Path, dict
        ``{"edges_s", "width_s", "channels", "cycle_time_s"}``.
    """
    from scipy.special import ndtr

    from charsuite.io import write_text

    rng = np.random.default_rng(seed)
    t = np.arange(n_cycles) * cycle_time_s
    sig = width_s / 2
    top = 1 - ndtr((t - edges_s[0]) / sig)
    mid = ndtr((t - edges_s[0]) / sig) - ndtr((t - edges_s[1]) / sig)
    bot = ndtr((t - edges_s[1]) / sig)
    lam = np.stack([5000 * top + 2, 8000 * mid + 2, 3000 * bot + 2], axis=1)
    counts = rng.poisson(lam).astype(float)
    ratio = np.divide(
        counts[:, 1], counts[:, 0], out=np.full(n_cycles, np.inf), where=counts[:, 0] > 0
    )
    total = counts.sum(axis=1) * 3.1
    names = ["total", *[c[0] for c in channels], f"{channels[1][0]} / ( {channels[0][0]} )"]
    masses = ["N/A", *[f"{c[1]:.4f}" for c in channels], "N/A"]
    lines = [
        "# Profile Smoothing is Disabled",
        "#\t\t\t\t" + "\t".join(names),
        "#\t\t\t\t" + "\t".join(masses),
        "#Data Point #\tSputter Time (s)\tDose (ions)\tFluence (ions/cm^2)\t"
        + "\t".join(["Intensity"] * len(names)),
    ]
    for i in range(n_cycles):
        dose = (i + 1) * 1.2e9
        row = [str(i + 1), f"{t[i]:g}", f"{dose:g}", f"{dose / 2.5e-5:g}", f"{total[i]:g}"]
        row += [f"{v:g}" for v in counts[i]] + [f"{ratio[i]:g}"]
        lines.append("\t".join(row))
    out = write_text(Path(path), "\r\n".join(lines) + "\r\n", force=force)
    return out, {
        "edges_s": list(edges_s),
        "width_s": width_s,
        "channels": [c[0] for c in channels],
        "cycle_time_s": cycle_time_s,
    }


# --------------------------------------------------------------------------- sum spectrum
#: Ions of the generated fibTOF sum spectrum: (formula, charge, peak area of the whole
#: isotope pattern in counts). Ga is the implanted primary beam: pure ⁶⁹Ga.
FIBTOF_IONS: tuple[tuple[str, int, float], ...] = (
    ("Li", 1, 4.0e6),
    ("Na", 1, 2.0e5),
    ("Al", 1, 8.0e4),
    ("Li2O", 1, 6.0e4),
    ("K", 1, 1.5e5),
    ("Mn", 1, 3.0e5),
    ("Co", 1, 2.0e5),
    ("Ni", 1, 1.2e6),
    ("69Ga", 1, 5.0e5),
    ("MnO", 1, 4.0e4),
    ("NiO", 1, 1.5e5),
    ("In", 1, 6.0e5),
    ("InO", 1, 8.0e4),
)


def _isotope_pattern(formula: str) -> list[tuple[int, float, float]]:
    """(mass number, mean mass u, fraction) of a neutral formula from periodictable data.

    ``"69Ga"`` means that isotope only. Isotopologues of equal mass number are merged
    (abundance-weighted mean mass); fractions < 1e-5 are dropped.
    """
    import re

    import periodictable as pt

    dist = {0: (0.0, 1.0)}
    for number, sym, count in re.findall(r"(\d*)([A-Z][a-z]?)(\d*)", formula):
        el = getattr(pt, sym)
        isotopes = (
            [(int(number), el[int(number)].mass, 1.0)]
            if number
            else [
                (a, el[a].mass, el[a].abundance / 100) for a in el.isotopes if el[a].abundance > 0
            ]
        )
        for _ in range(int(count or 1)):
            new: dict[int, tuple[float, float]] = {}
            for a0, (m0, f0) in dist.items():
                for a, m, fr in isotopes:
                    mm, ff = new.get(a0 + a, (0.0, 0.0))
                    new[a0 + a] = (mm + (m0 + m) * f0 * fr, ff + f0 * fr)
            dist = {a: (mf / ff, ff) for a, (mf, ff) in new.items() if ff > 1e-5}
    return sorted((a, m, f) for a, (m, f) in dist.items())


class _UnitProfile:
    """Peak shape of FWHM 1 with its apex at 0, tabulated on a fine grid.

    ``(1 − η)·EMG + η·Cauchy``: an exponentially modified Gaussian (σ = 1, tail τ, from
    :func:`scipy.stats.exponnorm`) plus a Cauchy of the EMG's half width at its mode; the
    mixture's FWHM and apex are then found numerically and the grid rescaled to FWHM 1.
    """

    def __init__(self, eta: float, tau: float) -> None:
        from scipy.stats import cauchy, exponnorm

        if not (0.0 <= eta <= 1.0 and tau >= 0.0):
            from charsuite.exceptions import ParameterError

            raise ParameterError(f"peak_shape=({eta}, {tau}): need 0 ≤ η ≤ 1 and τ ≥ 0")
        x = np.linspace(-40.0, 40.0 + 60.0 * tau, 400_001)
        emg = (
            exponnorm.pdf(x, max(tau, 1e-3), scale=1.0)
            if tau > 0
            else np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        )
        mode = x[np.argmax(emg)]
        above = x[emg >= emg.max() / 2]
        y = (1 - eta) * emg + eta * cauchy.pdf(x, loc=mode, scale=(above[-1] - above[0]) / 2)
        above = x[y >= y.max() / 2]
        fwhm = above[-1] - above[0]
        self.x = (x - x[np.argmax(y)]) / fwhm
        self.y = y * fwhm
        # tails: ±(8σ) for a Gaussian, wider with a tail or Lorentz wings (< 1 % area lost)
        self.reach = 4.0 + 60.0 * tau / fwhm + 40.0 * (eta > 0)
        self.gaussian = eta == 0 and tau == 0

    def __call__(self, i: np.ndarray, apex: float, fwhm: float) -> np.ndarray:
        if self.gaussian:  # exact, as written before peak_shape existed
            sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
            return np.exp(-0.5 * ((i - apex) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        return np.interp((i - apex) / fwhm, self.x, self.y, left=0.0, right=0.0) / fwhm


def _spectrum_peaks(ions, p1: float, p2: float, resolution: float) -> list[dict[str, Any]]:
    """Every isotopologue peak: parent, m/z (electron-corrected), centre, FWHM, area.

    Written out here (mode 0: ``i = p1·√m + p2``, ``dm/di = 2√m/p1``) rather than through
    the reader's calibration code, so that tests of the calibration fit are independent.
    """
    electron = 5.48579909065e-4  # u, CODATA 2018
    peaks = []
    for formula, charge, area in ions:
        for number, mass, frac in _isotope_pattern(formula):
            mz = (mass - charge * electron) / abs(charge)
            fwhm = (mz / resolution) / (2.0 * np.sqrt(mz) / p1)
            peaks.append(
                {
                    "parent": formula.lstrip("0123456789"),
                    "mass_number": number,
                    "mz": mz,
                    "index": p1 * np.sqrt(mz) + p2,
                    "fwhm_samples": fwhm,
                    "resolution": resolution,
                    "area": area * frac,
                    "fraction": frac,
                }
            )
    return peaks


def make_fibtof_spectrum(
    path: str | Path,
    *,
    ions: tuple[tuple[str, int, float], ...] = FIBTOF_IONS,
    resolution: float = 900.0,
    calibration: tuple[float, float] = (2800.0, -5000.0),
    stored_error_ppm: float = 200.0,
    n_samples: int = 36000,
    background: float = 2.0,
    noise: str = "poisson",
    peak_shape: tuple[float, float] = (0.0, 0.0),
    seed: int = 14,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Write a fibTOF-like TofDAQ file whose ``SumSpectrum`` has known peaks; return (path, truth).

    Every isotopologue of ``ions`` is a peak in sample space with its apex at
    ``i = p1·√m + p2`` (mode 0, the true calibration) and FWHM ``m/R`` converted to
    samples, evaluated at the sample centres, on a flat ``background`` (counts/sample),
    with Poisson noise. The default shape is a Gaussian; ``peak_shape = (η, τ)`` mixes in
    a Lorentzian fraction ``η`` and gives the Gaussian an exponential tail towards long
    flight times (exponentially modified Gaussian, ``τ`` in units of its σ), both scaled
    numerically to the FWHM and apex above. The file stores a *wrong* calibration (the true one with the
    offset shifted so that masses near 60 Th read ``stored_error_ppm`` high), as an
    uncalibrated instrument would. ``SumSpectrum`` is in mV: counts × SingleIonSignal /
    SampleInterval[ns].

    Parameters
    ----------
    path : str or Path
    ions : tuple of (formula, charge, area)
        Formulas in natural abundance (``"69Ga"`` = that isotope only).
    resolution : float
        m/Δm (FWHM), the same for every peak.
    calibration : (p1, p2)
        True mode-0 parameters.
    stored_error_ppm : float
    n_samples : int
    background : float
    noise : {"poisson", "none"}
    peak_shape : (float, float)
        Lorentz fraction ``η`` ∈ [0, 1] and tail ``τ/σ`` ≥ 0 (``(0, 0)`` = Gaussian).
    seed : int
    force : bool

    Returns
    -------
    path : Path
    truth : dict
        ``calibration`` (mode, parameters), ``stored_calibration``, ``resolution``,
        ``peaks`` (parent, mass_number, mz, index, fwhm_samples, area, fraction),
        ``monoisotopic`` (elements not in natural abundance), ``isotope_source``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p, truth = make_fibtof_spectrum(pathlib.Path(tempfile.mkdtemp()) / "s.h5")
    >>> truth["calibration"]["mode"], len(truth["peaks"]) > 20
    (0, True)
    """
    import h5py

    from charsuite.exceptions import ParameterError
    from charsuite.io import atomic_path

    if noise not in ("poisson", "none"):
        raise ParameterError(f"noise={noise!r}; expected 'poisson' or 'none'")
    p1, p2 = float(calibration[0]), float(calibration[1])
    peaks = _spectrum_peaks(ions, p1, p2, resolution)
    idx = np.arange(n_samples, dtype=float)
    expected = np.full(n_samples, float(background))
    unit = _UnitProfile(*peak_shape)
    for pk in peaks:
        reach = unit.reach * pk["fwhm_samples"]
        lo, hi = max(int(pk["index"] - reach), 0), min(int(pk["index"] + reach) + 2, n_samples)
        expected[lo:hi] += pk["area"] * unit(idx[lo:hi], pk["index"], pk["fwhm_samples"])
    rng = np.random.default_rng(seed)
    counts = rng.poisson(expected).astype(float) if noise == "poisson" else expected
    # stored calibration: same p1, offset moved so that m ≈ 60 Th reads stored_error_ppm high
    i60 = calibration[0] * np.sqrt(60.0) + calibration[1]
    p2_stored = calibration[1] - stored_error_ppm * 1e-6 / 2 * (i60 - calibration[1])
    si, sis = 6.25e-10, 2.5
    with atomic_path(Path(path), force=force) as tmp, h5py.File(tmp, "w") as f:
        for k, v in {"TofDAQ Version": 1.99, "IonMode": "positive", "NbrSamples": n_samples,
                     "DAQ Hardware": "Cronologic xTDC4 (synthetic)"}.items():  # fmt: skip
            f.attrs[k] = _attr(v)
        fs = f.create_group("FullSpectra")
        for k, v in {
            "MassCalibMode": 0,
            "MassCalibration nbrParameters": 2,
            "MassCalibration p1": float(calibration[0]),
            "MassCalibration p2": float(p2_stored),
            "SampleInterval": si,
            "Single Ion Signal": sis,
        }.items():
            fs.attrs[k] = _attr(v)
        fs.create_dataset("SumSpectrum", data=counts * sis / (si * 1e9))
        fs.create_dataset(
            "MassAxis", data=(((idx - p2_stored) / calibration[0]) ** 2).astype(np.float32)
        )
        fib = f.create_group("FIBParams")
        fib.attrs["FibHardware"] = _attr("Tescan")
        fib.attrs["ViewField"] = _attr(0.01)
    return Path(path), {
        "calibration": {"mode": 0, "parameters": [p1, p2]},
        "stored_calibration": {"mode": 0, "parameters": [float(calibration[0]), float(p2_stored)]},
        "resolution": resolution,
        "peaks": peaks,
        "peak_shape": {
            "lorentz_fraction": float(peak_shape[0]),
            "tail_sigma": float(peak_shape[1]),
        },
        "monoisotopic": sorted({f.lstrip("0123456789") for f, _, _ in ions if f[0].isdigit()}),
        "isotope_source": "periodictable (CIAAW 2021 abundances, AME2020 masses)",
    }
