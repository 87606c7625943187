"""Write any charsuite xarray object to the ``charsuite-h5`` container."""

from __future__ import annotations

import json
from pathlib import Path

from charsuite.io._atomic import atomic_path, hdf5_sink
from charsuite.model import jsonable


def _json(obj) -> str:
    return json.dumps(jsonable(obj, max_array=64, nan=True), allow_nan=True)


def write(obj, path: str | Path, *, force: bool = False, compression: str | None = "gzip") -> Path:
    """Write a DataArray or Dataset losslessly to HDF5 (format ``charsuite-h5``).

    The file is written to a temporary name and renamed, so a crash never leaves a
    half-written file; dask-backed variables are streamed chunk by chunk.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
    path : str or Path
    force : bool
        Replace an existing file.
    compression : str or None
        h5py compression filter for data variables.

    Returns
    -------
    Path
    """
    import dask.array as da
    import h5py
    import numpy as np
    import xarray as xr

    from charsuite._version import __version__

    kind = type(obj).__name__
    if isinstance(obj, xr.DataArray):
        name = obj.name if obj.name is not None else "__data__"
        ds = obj.to_dataset(name=name)
        ds.attrs = dict(obj.attrs)
    else:
        name, ds = "", obj
    with atomic_path(path, force=force) as tmp, h5py.File(hdf5_sink(tmp), "w") as f:
        f.attrs["charsuite_format"] = "charsuite-h5"
        f.attrs["charsuite_version"] = __version__
        f.attrs["kind"] = kind
        f.attrs["name"] = str(name)
        f.attrs["attrs_json"] = _json(ds.attrs)
        gc = f.create_group("coords")
        for cname, coord in ds.coords.items():
            values = np.asarray(coord.values)
            if values.dtype.kind in "UO":
                values = values.astype(str).astype(object)
                dset = gc.create_dataset(str(cname), data=values, dtype=h5py.string_dtype())
            else:
                dset = gc.create_dataset(str(cname), data=values)
            dset.attrs["dims_json"] = _json(list(coord.dims))
            dset.attrs["attrs_json"] = _json(coord.attrs)
        gv = f.create_group("data_vars")
        for vname, var in ds.data_vars.items():
            data = var.data
            if isinstance(data, da.Array):
                dset = gv.create_dataset(
                    str(vname),
                    shape=data.shape,
                    dtype=data.dtype,
                    chunks=tuple(max(c) for c in data.chunks) if data.ndim else None,
                    compression=compression if data.ndim else None,
                )
                da.store(data, dset, lock=True)
            else:
                values = np.asarray(data)
                if values.dtype.kind in "UO":
                    dset = gv.create_dataset(
                        str(vname),
                        data=values.astype(str).astype(object),
                        dtype=h5py.string_dtype(),
                    )
                else:
                    dset = gv.create_dataset(
                        str(vname),
                        data=values,
                        compression=compression if values.ndim else None,
                    )
            dset.attrs["dims_json"] = _json(list(var.dims))
            dset.attrs["attrs_json"] = _json(var.attrs)
    return Path(path)
