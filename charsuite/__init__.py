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
    """Read any supported file into labelled data with units, metadata and history.

    The format is the explicit ``format``, else found by content, else by extension (see
    :func:`charsuite.io.read`, which this calls).

    Parameters
    ----------
    path : str or Path
        The instrument file (``FILE.h5::/dataset`` addresses an HDF5 node).
    format : str, optional
        A name from ``charsuite.io.list_formats()``.
    lazy : bool
        Return dask-backed data (large files are streamed, never loaded).
    **options
        Reader options, e.g. ``range=1`` for the second range of a multi-range XRD file.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        Every axis and variable with ``attrs["units"]``; ``attrs["metadata"]``,
        ``attrs["original_metadata"]`` and ``attrs["history"]`` as in :mod:`charsuite.model.schema`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.xy"
    >>> np.savetxt(path, np.c_[np.arange(10, 80, 0.02), np.full(3500, 100.0)])
    >>> scan = read(path)
    >>> scan.dims, scan.two_theta.attrs["units"], scan.attrs["format"]
    (('two_theta',), 'deg', 'xy')
    """
    from charsuite.io import read as _read

    return _read(path, format=format, lazy=lazy, **options)


def info(path, *, format=None):
    """Describe a file (format, technique, axes with units, metadata) without its data.

    Parameters
    ----------
    path : str or Path
        The instrument file.
    format : str, optional
        A name from ``charsuite.io.list_formats()``; default: detected.

    Returns
    -------
    charsuite.io.FileInfo
        With ``to_dict()`` (the JSON of ``charsuite info FILE --json -``).
    """
    from charsuite.io import info as _info

    return _info(path, format=format)


def write(obj, path, *, force=False):
    """Write an xarray object to charsuite HDF5 (lossless: units, metadata, history kept).

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Data as returned by :func:`read` or a processing step.
    path : str or Path
        Output ``.h5`` file, written atomically.
    force : bool
        Replace an existing file (otherwise :class:`~charsuite.exceptions.OutputExistsError`).

    Returns
    -------
    Path
        The file written.
    """
    from charsuite.io import write as _write

    return _write(obj, path, force=force)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"charsuite.{name}")
    raise AttributeError(f"module 'charsuite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
