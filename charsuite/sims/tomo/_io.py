"""Plumbing shared by the tomogram modules.

Dask schedulers, the dask-backed cube (through the one opener,
:func:`charsuite.sims.open_cube`), block-wise streaming of dask arrays, and the streaming
charsuite-h5 writer.

Every computation in :mod:`charsuite.sims.tomo._register`, ``zcorrect``, ``segment``, ``mva``
and ``export`` goes through :func:`compute_context`, so the same call runs on the local
threaded scheduler (default), on a ``dask.distributed`` cluster given by address, or on
an existing ``distributed.Client``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from charsuite.exceptions import ParameterError
from charsuite.sims import open_cube as _open_cube

_LOCAL = ("threads", "threading", "sync", "synchronous", "single-threaded", "processes")


@contextlib.contextmanager
def compute_context(scheduler: Any = None) -> Iterator[Any]:
    """Run the enclosed dask computations on ``scheduler``.

    Parameters
    ----------
    scheduler : None, str or distributed.Client
        ``None`` keeps dask's default (threaded, or an active ``Client``); a local
        scheduler name (``"threads"``, ``"synchronous"``, ``"processes"``); a cluster
        address such as ``"tcp://10.0.0.5:8786"`` (a client is connected for the duration
        of the call and closed afterwards); or a ``distributed.Client``.

    Yields
    ------
    distributed.Client or None
        The client in use (the connected or given one), None for dask's default or a
        local scheduler.

    Raises
    ------
    ParameterError
        If the scheduler is of another kind or the cluster address cannot be reached.
    """
    import dask

    if scheduler is None:
        yield None
    elif isinstance(scheduler, str) and scheduler in _LOCAL:
        with dask.config.set(scheduler=scheduler):
            yield None
    elif isinstance(scheduler, str):
        try:
            from distributed import Client
        except ImportError as err:  # pragma: no cover - distributed is a dependency
            raise ParameterError("a scheduler address needs the 'distributed' package") from err
        try:
            client = Client(scheduler, set_as_default=False, timeout="10s")
        except OSError as err:
            raise ParameterError(
                f"cannot connect to the dask scheduler at {scheduler!r} ({err}); start one with "
                "`dask scheduler` or omit --scheduler to compute locally"
            ) from err
        try:
            with dask.config.set(scheduler=client):
                yield client
        finally:
            client.close()
    elif hasattr(scheduler, "get") and hasattr(scheduler, "submit"):
        with dask.config.set(scheduler=scheduler):
            yield scheduler
    else:
        raise ParameterError(
            f"scheduler must be None, a local scheduler name {_LOCAL}, a cluster address or a "
            f"distributed.Client; got {scheduler!r}"
        )


def open_cube(source, *, chunks: Any = None, **options: Any):
    """Return a SIMS cube as a dask-backed DataArray that can go to any scheduler.

    :func:`charsuite.sims.open_cube` with ``dask=True`` (the one cube opener): charsuite-h5
    files are read through a picklable loader so that distributed workers can read them;
    in-memory cubes are wrapped in blocks of whole scans of ~64 MB.

    Parameters
    ----------
    source : str, Path or xarray.DataArray
        A file readable by :func:`charsuite.read` or a cube.
    chunks : dict or tuple, optional
        dask chunks (default: whole scans, ~64 MB blocks, all species together).
    **options
        Passed to :func:`charsuite.io.read`.

    Returns
    -------
    xarray.DataArray
        dims ``("depth", "y", "x", "species")``, dask-backed.
    """
    return _open_cube(source, dask=True, chunks=chunks, **options)


def iter_blocks(data, *, axis: int = 0, step: int | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(start, numpy_block)`` along ``axis``, computing one block at a time.

    Each block is computed with the active scheduler (see :func:`compute_context`), so
    at most one block of the result is held in the calling process.
    """
    import numpy as np

    n = data.shape[axis]
    if hasattr(data, "chunks") and step is None:
        bounds = np.cumsum((0, *data.chunks[axis]))
    else:
        step = step or n
        bounds = np.r_[np.arange(0, n, step), n]
    index = [slice(None)] * data.ndim
    for a, b in itertools.pairwise(bounds):
        if b <= a:
            continue
        index[axis] = slice(int(a), int(b))
        block = data[tuple(index)]
        yield int(a), np.asarray(block.compute() if hasattr(block, "compute") else block)


def _json(obj) -> str:
    from charsuite.model import jsonable

    return json.dumps(jsonable(obj, max_array=64, nan=True), allow_nan=True)


def write_h5_stream(
    obj,
    path: str | Path,
    *,
    force: bool = False,
    compression: str | None = "gzip",
    progress=None,
) -> Path:
    """Write a (possibly dask-backed, larger than memory) DataArray as charsuite-h5.

    Same layout as :func:`charsuite.io.write` (read back by :func:`charsuite.read`), but
    the data are computed block by block along the first axis in this process and
    written as they arrive, so it works with any scheduler, including distributed ones
    whose workers cannot hold an h5py handle. Atomic: an interrupted write leaves no file.

    Parameters
    ----------
    obj : xarray.DataArray
        Data to write (numpy- or dask-backed).
    path : str or Path
        Destination file.
    force : bool
        Replace an existing file.
    compression : str or None
        HDF5 compression filter (``"gzip"`` is written at level 1); None for none.
    progress : callable, optional
        Called with the number of rows (along the first axis) written after each block.

    Returns
    -------
    Path
        The written path.
    """
    import h5py
    import numpy as np

    from charsuite._version import __version__
    from charsuite.io import atomic_path, hdf5_sink

    data = obj.data
    name = obj.name if obj.name is not None else "__data__"
    with atomic_path(path, force=force) as tmp, h5py.File(hdf5_sink(tmp), "w") as f:
        f.attrs["charsuite_format"] = "charsuite-h5"
        f.attrs["charsuite_version"] = __version__
        f.attrs["kind"] = "DataArray"
        f.attrs["name"] = str(name)
        f.attrs["attrs_json"] = _json(obj.attrs)
        gc = f.create_group("coords")
        for cname, coord in obj.coords.items():
            values = np.asarray(coord.values)
            if values.dtype.kind in "UO":
                dset = gc.create_dataset(
                    str(cname), data=values.astype(str).astype(object), dtype=h5py.string_dtype()
                )
            else:
                dset = gc.create_dataset(str(cname), data=values)
            dset.attrs["dims_json"] = _json(list(coord.dims))
            dset.attrs["attrs_json"] = _json(coord.attrs)
        gv = f.create_group("data_vars")
        if hasattr(data, "chunks") and data.ndim:
            chunk = tuple(max(c) for c in data.chunks)
        else:
            chunk = True if data.ndim else None
        gzip = compression == "gzip" and data.ndim
        dset = gv.create_dataset(
            str(name),
            shape=data.shape,
            dtype=data.dtype,
            chunks=chunk,
            compression=compression if data.ndim else None,
            # level 1: ~6x faster than h5py's default 4 for a ~9 % larger file
            compression_opts=_GZIP_LEVEL if gzip else None,
        )
        if data.ndim == 0:
            dset[()] = np.asarray(data)
        elif gzip and _whole_chunk_rows(data):
            _write_deflated(dset, data, progress)
        else:
            for start, block in iter_blocks(data):
                dset[start : start + block.shape[0]] = block
                if progress:
                    progress(block.shape[0])
        dset.attrs["dims_json"] = _json(list(obj.dims))
        dset.attrs["attrs_json"] = _json(obj.attrs)
    return Path(path)


_GZIP_LEVEL = 1


def _whole_chunk_rows(data) -> bool:
    """Each dask block along axis 0 is one HDF5 chunk row spanning the other axes."""
    if not hasattr(data, "chunks") or any(len(c) != 1 for c in data.chunks[1:]):
        return False
    rows = data.chunks[0]
    return all(c == rows[0] for c in rows[:-1]) and rows[-1] <= rows[0]


def _write_deflated(dset, data, progress) -> None:
    """Write each block as one deflate chunk, compressed in a thread while the next computes.

    ``write_direct_chunk`` of bytes deflated by ISA-L (or zlib) at ``_GZIP_LEVEL``: the
    file is an ordinary gzip-filtered HDF5 dataset, but compression (which h5py does in
    the calling thread under its lock) overlaps with computing the next block, and ISA-L
    deflates ~5x faster than zlib at the same level. Edge chunks are stored full size.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    try:
        from isal import isal_zlib as deflate
    except ImportError:  # pragma: no cover - isal comes with fastnda
        import zlib as deflate

    c0 = dset.chunks[0]

    def encode(block):
        if block.shape[0] < c0:  # the last chunk is stored full size
            full = np.zeros((c0, *block.shape[1:]), block.dtype)
            full[: block.shape[0]] = block
            block = full
        return deflate.compress(np.ascontiguousarray(block, dset.dtype).data, _GZIP_LEVEL)

    pending: deque = deque()
    zero = (0,) * (data.ndim - 1)
    with ThreadPoolExecutor(max_workers=1) as pool:
        for start, block in iter_blocks(data):
            pending.append((start, block.shape[0], pool.submit(encode, block)))
            while len(pending) > 1:
                _flush(dset, pending.popleft(), zero, progress)
        while pending:
            _flush(dset, pending.popleft(), zero, progress)


def _flush(dset, item, zero, progress) -> None:
    start, n, future = item
    dset.id.write_direct_chunk((start, *zero), future.result())
    if progress:
        progress(n)
