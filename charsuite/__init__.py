"""charsuite: thin-film battery cathodes from raw instrument exports to publishable numbers.

Subpackages (imported on first use):

- ``charsuite.io`` — one reader registry for all formats (``charsuite.read``), atomic writes
- ``charsuite.model`` — labelled data with units, metadata and history; result base class
- ``charsuite.xrd`` — grazing-incidence XRD reduction, peaks, phase identification, lattice
- ``charsuite.composition`` — RBS/ERDA/PIXE results merged into a formula, capacity, loading
- ``charsuite.sims`` — ToF-SIMS cubes, depth profiles, interfaces, co-localisation, tomograms
- ``charsuite.echem`` — cycling capacity, dQ/dV, retention, impedance fitting
- ``charsuite.datasets`` — generators of example files with known ground truth
- ``charsuite.plotting`` — figures and the HTML report (the only matplotlib user)
"""

from __future__ import annotations

import importlib
from typing import Any

from charsuite._version import __version__

__all__ = [
    "__version__",
    "composition",
    "datasets",
    "echem",
    "info",
    "io",
    "model",
    "plotting",
    "read",
    "sims",
    "write",
    "xrd",
]

_SUBPACKAGES = {"composition", "datasets", "echem", "io", "model", "plotting", "sims", "xrd"}


def read(path, *, format=None, lazy=False, **options):
    """Read any supported file; see :func:`charsuite.io.read`."""
    from charsuite.io import read as _read

    return _read(path, format=format, lazy=lazy, **options)


def info(path, *, format=None):
    """Describe a file; see :func:`charsuite.io.info`."""
    from charsuite.io import info as _info

    return _info(path, format=format)


def write(obj, path, *, force=False):
    """Write an xarray object to charsuite HDF5; see :func:`charsuite.io.write`."""
    from charsuite.io import write as _write

    return _write(obj, path, force=force)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"charsuite.{name}")
    raise AttributeError(f"module 'charsuite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
