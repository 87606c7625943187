"""Electrochemistry: cycling analysis, dQ/dV and impedance of thin-film cells.

Public API
----------
cycle_summary, segment, c_rate, voltage_curves, concat_runs
    Galvanostatic cycling (:mod:`charsuite.echem._cycling`).
dqdv
    Incremental capacity (:mod:`charsuite.echem._dqdv`).
fit_circuit, fit_spectra, lin_kk, cpe_capacitance, parse_circuit, split_sweeps, select_sweep, drt
    Impedance (:mod:`charsuite.echem._eis`, :mod:`charsuite.echem._circuits`).
"""

from charsuite.echem._circuits import Circuit, parse_circuit
from charsuite.echem._cycling import (
    CycleSummary,
    c_rate,
    concat_runs,
    cycle_summary,
    segment,
    voltage_curves,
)
from charsuite.echem._dqdv import DqdvResult, dqdv
from charsuite.echem._drt import DrtResult, drt
from charsuite.echem._eis import (
    DEFAULT_CIRCUIT,
    EisFit,
    LinKKResult,
    cpe_capacitance,
    fit_circuit,
    fit_spectra,
    lin_kk,
    select_sweep,
    split_sweeps,
)

__all__ = [
    "DEFAULT_CIRCUIT",
    "Circuit",
    "CycleSummary",
    "DqdvResult",
    "DrtResult",
    "EisFit",
    "LinKKResult",
    "c_rate",
    "concat_runs",
    "cpe_capacitance",
    "cycle_summary",
    "dqdv",
    "drt",
    "fit_circuit",
    "fit_spectra",
    "lin_kk",
    "parse_circuit",
    "segment",
    "select_sweep",
    "split_sweeps",
    "voltage_curves",
]
