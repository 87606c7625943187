"""GI-XRD: reduction, peaks, reference library, phase identification, lattice and microstructure.

Public API (heavy dependencies are imported inside the functions):

* :func:`analyze` — identify phases in a scan and refine them (JSON: ``XRDAnalysis.to_dict()``).
* :func:`calibrate_zero` — zero offset from a standard measured in the same geometry.
* :func:`refine_lattice` — least-squares cell refinement from indexed peaks.
* :func:`find_peaks`, :func:`fit_peaks` — detection and pseudo-Voigt / Pearson VII fits.
* :func:`subtract_background`, :func:`strip_ka2`, :func:`smooth`, :func:`normalize`,
  :func:`correct_zero`, :func:`correct_displacement` — reduction steps (each records its value in ``attrs["corrections"]``).
* :mod:`charsuite.xrd.gi` — refraction shift, information depth, absorption factor, GI texture.
* :func:`reference_pattern`, :func:`list_phases` — the CIF library and cached patterns.
"""

from charsuite.xrd.analysis import XRDAnalysis, ZeroCalibration, analyze, calibrate_zero
from charsuite.xrd.lattice import LatticeFit, refine_lattice
from charsuite.xrd.library import list_phases, reference_pattern
from charsuite.xrd.match import ACCEPT_THRESHOLD, match_phases
from charsuite.xrd.peaks import find_peaks, fit_peaks
from charsuite.xrd.reduce import (
    correct_displacement,
    correct_zero,
    normalize,
    smooth,
    strip_ka2,
    subtract_background,
)

__all__ = [
    "ACCEPT_THRESHOLD",
    "LatticeFit",
    "XRDAnalysis",
    "ZeroCalibration",
    "analyze",
    "calibrate_zero",
    "correct_displacement",
    "correct_zero",
    "find_peaks",
    "fit_peaks",
    "list_phases",
    "match_phases",
    "normalize",
    "reference_pattern",
    "refine_lattice",
    "smooth",
    "strip_ka2",
    "subtract_background",
]
