"""GI-XRD: reduction, peaks, reference library, phase identification, lattice and microstructure.

Public API (heavy dependencies are imported inside the functions):

* :func:`analyze` — identify phases in a scan and refine them (JSON: ``XRDAnalysis.to_dict()``).
* :func:`calibrate_zero` — zero offset from a standard measured in the same geometry.
* :func:`decide_radiation`, :func:`doublet_test` — Kα1 only or Kα1 + Kα2, from the file and the data.
* :func:`refine_lattice` — least-squares cell refinement from indexed peaks.
* :func:`find_peaks`, :func:`fit_peaks` — detection and pseudo-Voigt / Pearson VII fits.
* :func:`subtract_background`, :func:`strip_ka2`, :func:`smooth`, :func:`normalize`,
  :func:`correct_zero`, :func:`correct_displacement` — reduction steps (each records its value in ``attrs["corrections"]``).
* :mod:`charsuite.xrd._gi` — refraction shift, information depth, absorption factor, GI texture.
* :func:`refine` — Rietveld refinement (weight fractions, cells, Li/Ni exchange);
  :func:`load_instrument` — instrument profile file of ``xrd calibrate -o``.
* :func:`reference_pattern`, :func:`list_phases` — the CIF library and cached patterns.
"""

from charsuite.xrd._analysis import (
    XRDAnalysis,
    ZeroCalibration,
    analyze,
    calibrate_zero,
    lattice_of,
)
from charsuite.xrd._batchfit import fit_windows
from charsuite.xrd._gi import absorption_factor, optical_constants, refraction_shift, texture_factor
from charsuite.xrd._instrument import Instrument, load_instrument, save_instrument
from charsuite.xrd._lattice import LatticeFit, d_spacing, refine_lattice, two_theta_of
from charsuite.xrd._library import (
    clear_cache,
    crystal_system,
    dispersion_factor,
    list_phases,
    load_structure,
    phase_cell_range,
    phase_max_strain,
    reference_pattern,
    space_group,
)
from charsuite.xrd._match import ACCEPT_THRESHOLD, match_phases
from charsuite.xrd._peaks import (
    find_peaks,
    fit_peaks,
    ka2_position,
    peak_model,
    pearson7,
    pseudo_voigt,
    residual_peaks,
)
from charsuite.xrd._qpa import weight_fractions
from charsuite.xrd._radiation import Radiation, decide_radiation, doublet_test
from charsuite.xrd._reduce import (
    check_scan,
    correct_displacement,
    correct_zero,
    estimate_sigma,
    integrate_rows,
    normalize,
    smooth,
    strip_ka2,
    subtract_background,
)
from charsuite.xrd._rietveld import (
    CERTIFIED_CELLS,
    PhaseRefinement,
    RietveldResult,
    calibrate_instrument,
    refine,
)

__all__ = [
    "ACCEPT_THRESHOLD",
    "CERTIFIED_CELLS",
    "Instrument",
    "LatticeFit",
    "PhaseRefinement",
    "Radiation",
    "RietveldResult",
    "XRDAnalysis",
    "ZeroCalibration",
    "absorption_factor",
    "analyze",
    "calibrate_instrument",
    "calibrate_zero",
    "check_scan",
    "clear_cache",
    "correct_displacement",
    "correct_zero",
    "crystal_system",
    "d_spacing",
    "decide_radiation",
    "dispersion_factor",
    "doublet_test",
    "estimate_sigma",
    "find_peaks",
    "fit_peaks",
    "fit_windows",
    "integrate_rows",
    "ka2_position",
    "lattice_of",
    "list_phases",
    "load_instrument",
    "load_structure",
    "match_phases",
    "normalize",
    "optical_constants",
    "peak_model",
    "pearson7",
    "phase_cell_range",
    "phase_max_strain",
    "pseudo_voigt",
    "reference_pattern",
    "refine",
    "refine_lattice",
    "refraction_shift",
    "residual_peaks",
    "save_instrument",
    "smooth",
    "space_group",
    "strip_ka2",
    "subtract_background",
    "texture_factor",
    "two_theta_of",
    "weight_fractions",
]
