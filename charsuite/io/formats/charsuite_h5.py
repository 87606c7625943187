"""charsuite's own HDF5 container (written by :func:`charsuite.io.write`).

Layout::

    /                 attrs: charsuite_format = "charsuite-h5", charsuite_version,
                             kind ("DataArray"|"Dataset"), name, attrs_json (object attrs as JSON)
    /coords/<name>    dataset; attrs: dims_json, attrs_json
    /data_vars/<name> dataset (gzip, chunked); attrs: dims_json, attrs_json

Strings are stored as UTF-8 variable-length strings. Everything in ``attrs`` (units,
metadata, original metadata, history) round-trips through JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="charsuite-h5",
    technique="generic",
    extensions=(".h5", ".hdf5", ".nxs"),
    description="charsuite HDF5 output (any technique; lossless round trip)",
    priority=90,
    lazy=True,
)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def can_read(path: Path, head: bytes) -> bool:
    """Accept HDF5 files whose root says ``charsuite_format = "charsuite-h5"``."""
    if not head.startswith(HDF5_MAGIC):
        return False
    import h5py

    with h5py.File(path, "r") as f:
        return _decode(f.attrs.get("charsuite_format", "")) == "charsuite-h5"


def _decode(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
        if isinstance(value, list):
            value = value[0] if value else ""
        return _decode(value)
    return str(value)


def _array(dset, lazy: bool):
    import dask.array as da
    import numpy as np

    if dset.dtype.kind == "O" or h5py_is_string(dset):
        return np.asarray(dset.asstr()[()])
    if lazy:
        return da.from_array(dset, chunks=dset.chunks or "auto")
    return dset[()]


def h5py_is_string(dset) -> bool:
    """Return True for HDF5 string datasets."""
    import h5py

    return h5py.check_string_dtype(dset.dtype) is not None


def read(path: Path, *, lazy: bool = False, node: str | None = None):
    """Read a charsuite HDF5 file back into the xarray object that was written.

    Parameters
    ----------
    path : Path
    lazy : bool
        Keep the file open and return dask arrays over its datasets.
    node : str, optional
        Not used (the whole file is one object); accepted for ``FILE::/path`` syntax.
    """
    import xarray as xr

    from charsuite.io.hdf5 import open_file

    f = open_file(path, format=SPEC.name)  # regular file, contained, bounded
    try:
        coords = {}
        for name, dset in f.get("coords", {}).items():
            dims = json.loads(_decode(dset.attrs["dims_json"]))
            attrs = json.loads(_decode(dset.attrs["attrs_json"]))
            coords[name] = xr.Variable(dims, _array(dset, False), attrs=attrs)
        data_vars = {}
        for name, dset in f["data_vars"].items():
            dims = json.loads(_decode(dset.attrs["dims_json"]))
            attrs = json.loads(_decode(dset.attrs["attrs_json"]))
            data_vars[name] = xr.Variable(dims, _array(dset, lazy), attrs=attrs)
        attrs = json.loads(_decode(f.attrs["attrs_json"]))
        ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
        if _decode(f.attrs.get("kind", "Dataset")) == "DataArray":
            name = _decode(f.attrs.get("name", "data"))
            obj = ds[name]
            obj.attrs = attrs
            if obj.name == "__data__":
                obj.name = None
        else:
            obj = ds
    finally:
        if not lazy:
            f.close()
    return obj
