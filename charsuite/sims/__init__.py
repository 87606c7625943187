"""ToF-SIMS: TofDAQ cubes, streamed depth profiles, depth calibration, co-localisation.

Mass spectra (ToF-SIMS III): :func:`spectrum` (sum spectrum, or of scans / ROI / layer),
:class:`MassCalibration` and :func:`mass_calibrate` (TofDAQ modes 0-5, weighted fits with
uncertainties), :func:`find_peaks` / :func:`assign_peaks` (resolution, isotope-pattern
checks) and :class:`PeakTable` (windows for :func:`reintegrate`).

Tomography (ToF-SIMS II) lives in modules imported on use: :mod:`charsuite.sims.tomo._register`
(lateral drift), :mod:`charsuite.sims.tomo._zcorrect` (per-column depth), :mod:`charsuite.sims.tomo._segment`
(denoising, layers, regions, isosurfaces), :mod:`charsuite.sims.tomo._mva` (Poisson PCA/NMF) and
:mod:`charsuite.sims.tomo._export` (HDF5, TIFF, zarr, meshes; ``reconstruct``).

The cube convention is ``(depth, y, x, species)`` (see :mod:`charsuite.sims._cube`).
"""

from charsuite.sims._calibrate import (
    DepthCalibration,
    Interface,
    Layer,
    LayerSpec,
    calibrate_depth,
    find_interfaces,
    measure_edge,
    parse_layers,
    segment_layers,
)
from charsuite.sims._colocalise import (
    Colocalisation,
    bin_map,
    colocalise,
    dispersion_test,
    layer_maps,
)
from charsuite.sims._cube import CUBE_DIMS, iter_depth_slabs, open_cube, species_index
from charsuite.sims._masscal import CalibrationFit, Ion, MassCalibration, fit_mass_calibration, ion
from charsuite.sims._peaks import Peak, find_peaks, locate_peak, mass_calibrate, reference_ions
from charsuite.sims._peaks_assign import PeakAssignment, assign_peaks
from charsuite.sims._peaktable import PeakTable
from charsuite.sims._profile import dead_time_correct, depth_profile, parse_roi, smooth_profile
from charsuite.sims._report import correlate_report, profile_report, sims_info
from charsuite.sims._spectrum import spectrum
from charsuite.sims._tofdaq import (
    decode_event_list,
    eventlist_cube,
    fib_images,
    mass_axis,
    peak_table,
    reintegrate,
    write_cube,
)

__all__ = [
    "CUBE_DIMS",
    "CalibrationFit",
    "Colocalisation",
    "DepthCalibration",
    "Interface",
    "Ion",
    "Layer",
    "LayerSpec",
    "MassCalibration",
    "Peak",
    "PeakAssignment",
    "PeakTable",
    "assign_peaks",
    "bin_map",
    "calibrate_depth",
    "colocalise",
    "correlate_report",
    "dead_time_correct",
    "decode_event_list",
    "depth_profile",
    "dispersion_test",
    "eventlist_cube",
    "fib_images",
    "find_interfaces",
    "find_peaks",
    "fit_mass_calibration",
    "ion",
    "iter_depth_slabs",
    "layer_maps",
    "locate_peak",
    "mass_axis",
    "mass_calibrate",
    "measure_edge",
    "open_cube",
    "parse_layers",
    "parse_roi",
    "peak_table",
    "profile_report",
    "reference_ions",
    "reintegrate",
    "segment_layers",
    "sims_info",
    "smooth_profile",
    "species_index",
    "spectrum",
    "write_cube",
]
