"""The SIMS cube: a lazy ``(depth, y, x, species)`` DataArray and helpers around it.

Convention (see :mod:`charsuite.model.schema`): ``depth`` = scan index (``units="scan"``)
or nm after calibration, ``y``/``x`` in µm (``px`` when the field of view is unknown),
``species`` labels with a ``mass`` (Th) coordinate; values are counts per voxel unless
``units`` says otherwise; ``attrs["metadata"]`` holds ``pixel_size_um``, ``n_scans``,
``polarity``, ``extractions_per_pixel``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from charsuite.exceptions import DataError, ParameterError
from charsuite.io.hdf5 import CUBE_DIMS

__all__ = ["CUBE_DIMS", "iter_depth_slabs", "map_depth_slabs", "open_cube", "species_index"]


def open_cube(source, *, lazy: bool = True, dask: bool = False, chunks: Any = None, **options: Any):
    """Return a ``(depth, y, x, species)`` cube DataArray from a path or a cube: the one opener.

    Every SIMS function (depth profiles, co-localisation, tomography) opens its input
    here. Files are read through :func:`charsuite.io.read`, whose HDF5 readers open files
    with :func:`charsuite.io.hdf5.open_file`.

    Parameters
    ----------
    source : str, Path, xarray.DataArray or xarray.Dataset
        A file readable by :func:`charsuite.io.read` (``FILE.h5::/path`` allowed) or a cube
        (a Dataset gives its first variable with the cube dimensions; permuted dimensions
        are transposed).
    lazy : bool
        Read files lazily (default): nothing is loaded until streamed.
    dask : bool
        Return a dask-backed cube whatever the source (the tomography code maps dask
        blocks): an in-memory cube is wrapped in blocks of whole scans of ~64 MB (or
        ``chunks``). A charsuite-h5 file is then read through a picklable loader
        (:class:`charsuite.io.hdf5.H5Array`), so dask.distributed workers can read it.
    chunks : dict or tuple, optional
        dask chunks (``{"depth": n}`` or a tuple in cube order); a dask-backed cube is
        rechunked to them.
    **options
        Passed to :func:`charsuite.io.read` (``format=``, ``tof=``, ``units=``...).

    Returns
    -------
    xarray.DataArray
        dims ``CUBE_DIMS``.

    Raises
    ------
    DataError
        If the object is not a cube (other dimensions, empty, not an xarray object).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from charsuite.datasets.sims import make_tofdaq_stack
    >>> path, _ = make_tofdaq_stack(
    ...     pathlib.Path(tempfile.mkdtemp()) / "stack.h5", n_scans=4, shape=(3, 2)
    ... )
    >>> cube = open_cube(path)
    >>> cube.dims
    ('depth', 'y', 'x', 'species')
    """
    import xarray as xr

    from charsuite.io import read

    path = Path(source) if isinstance(source, str | Path) else None
    obj = read(path, lazy=lazy, **options) if path is not None else source
    if isinstance(obj, xr.Dataset):
        names = [n for n, v in obj.data_vars.items() if set(v.dims) == set(CUBE_DIMS)]
        if not names:
            raise DataError(
                f"no variable with dims {CUBE_DIMS} in the dataset: {list(obj.data_vars)}"
            )
        obj = obj[names[0]]
    obj = _check_cube(obj)
    if dask:
        obj = _as_dask(obj, path if lazy else None, chunks)
    return obj


def _check_cube(obj):
    """``obj`` as a non-empty DataArray in ``CUBE_DIMS`` order, or a DataError saying why not."""
    import xarray as xr

    if not isinstance(obj, xr.DataArray):
        raise DataError(
            f"expected a SIMS cube (xarray.DataArray with dims {CUBE_DIMS}); got "
            f"{type(obj).__name__}. Read files with charsuite.read(path, lazy=True)"
        )
    if tuple(obj.dims) != CUBE_DIMS:
        if set(obj.dims) != set(CUBE_DIMS):
            raise DataError(
                f"expected a cube with dims {CUBE_DIMS}, got {tuple(obj.dims)}; "
                "for a depth profile (depth, species) use charsuite.sims.depth_profile directly"
            )
        obj = obj.transpose(*CUBE_DIMS)
    if 0 in obj.shape:
        raise DataError(f"the cube is empty (shape {obj.shape}); nothing to analyse")
    return obj


def _default_chunks(cube, chunks):
    """Dask chunks in cube order: ``chunks`` as given, or whole scans in ~64 MB blocks."""
    if chunks is not None:
        if isinstance(chunks, dict):
            return tuple(chunks.get(d, -1) for d in CUBE_DIMS)
        return chunks
    ny, nx, ns = cube.shape[1:]
    per_scan = max(ny * nx * ns * getattr(cube.dtype, "itemsize", 4), 1)
    return (int(max(1, min(cube.shape[0], (64 * 2**20) // per_scan))), -1, -1, -1)


def _as_dask(cube, path: Path | None, chunks):
    """The cube dask-backed (see :func:`open_cube`, ``dask=True``)."""
    import dask.array as da

    if path is not None and path.is_file():
        from charsuite.io.hdf5 import H5Array, open_file

        try:
            with open_file(path) as f:
                ours = f.attrs.get("charsuite_format") is not None
                name = f.attrs.get("name", "__data__") if ours else None
        except OSError:  # not HDF5 (e.g. a text export)
            ours = False
        if ours:
            name = name.decode() if isinstance(name, bytes) else str(name)
            arr = H5Array(path, f"data_vars/{name}")
            return cube.copy(data=da.from_array(arr, chunks=_default_chunks(cube, chunks)))
    data = cube.data
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=_default_chunks(cube, chunks))
    elif chunks is not None:
        data = data.rechunk(_default_chunks(cube, chunks))
    return cube.copy(data=data)


def species_index(obj, species: str | Sequence[str] | None) -> list[str]:
    """Validate species names against ``obj.species``; return the list (all when None).

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Data with a ``species`` coordinate.
    species : str, sequence of str or None
        One or several species names; None selects every species.

    Returns
    -------
    list of str
        The requested species, in the order given (all of ``obj.species`` when None).

    Raises
    ------
    ParameterError
        Naming the unknown species and listing the ones the data have.
    """
    have = [str(s) for s in obj["species"].values]
    if species is None:
        return have
    wanted = [species] if isinstance(species, str) else list(species)
    missing = [s for s in wanted if s not in have]
    if missing:
        raise ParameterError(
            f"unknown species {', '.join(map(repr, missing))}; the data have: {', '.join(have)}"
        )
    return wanted


# Pieces handed to one worker at a time (results stay small: the reduction of each piece)
_TASK_BYTES = 16 * 2**20


def _detach(result, buf: np.ndarray):
    """Copy any array in ``result`` that is a view of the reused buffer ``buf``."""
    if isinstance(result, np.ndarray) and np.may_share_memory(result, buf):
        return result.copy()
    if isinstance(result, tuple | list):
        return type(result)(_detach(r, buf) for r in result)
    if isinstance(result, dict):
        return {k: _detach(v, buf) for k, v in result.items()}
    return result


def _slab_loader(cube, max_mb: float):
    """Return (ranges, load) covering the depth axis in slabs (see :func:`map_depth_slabs`)."""
    data = cube.data
    n = data.shape[0]
    per_scan = max(1, int(np.prod(data.shape[1:])) * data.dtype.itemsize)
    ranges = []
    if hasattr(data, "numblocks") and all(n == 1 for n in data.numblocks[1:]):
        # one dask block per depth chunk: compute blocks directly (cheaper than slicing)
        bounds = np.concatenate([[0], np.cumsum(data.chunks[0])]).astype(int)
        ranges = [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
        index = {r: i for i, r in enumerate(ranges)}

        def load(a: int, b: int) -> np.ndarray:
            # the raw synchronous scheduler on the block's own graph: no graph optimisation
            # or finalisation copy (2x faster than .compute() on uncompressed data)
            import dask
            from dask.core import flatten

            block = data.blocks[index[(a, b)], 0, 0, 0][tuple(slice(None) for _ in data.shape)]
            (key,) = list(flatten(block.__dask_keys__()))
            return np.asarray(dask.get(block.__dask_graph__(), key))
    elif hasattr(data, "chunks") and hasattr(data, "compute"):
        bounds = np.concatenate([[0], np.cumsum(data.chunks[0])]).astype(int)
        start = 0
        for i in range(1, len(bounds)):
            stop = int(bounds[i])
            if i < len(bounds) - 1 and (int(bounds[i + 1]) - start) * per_scan <= max_mb * 2**20:
                continue
            ranges.append((start, stop))
            start = stop

        def load(a: int, b: int) -> np.ndarray:
            return np.asarray(data[a:b].compute(scheduler="synchronous"))
    else:
        step = max(1, int(max_mb * 2**20 // per_scan))
        ranges = [(a, min(n, a + step)) for a in range(0, n, step)]

        def load(a: int, b: int) -> np.ndarray:
            return np.asarray(data[a:b])

    return ranges, load


def map_depth_slabs(
    cube, func, *, max_mb: float = 32.0, workers: int = 2, pass_scale: bool = False
) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(start, stop, func(slab))`` over depth in order, reading each slab once.

    A cube read lazily from HDF5 by a charsuite reader (TofDAQ PeakData, a 4-D
    ``hdf5-cube`` in (depth, y, x, species) order) and not modified since is streamed
    straight from the file into one reused buffer per worker thread, without the dask
    graph: unfiltered scans with ``os.preadv`` in pieces of a few MiB, anything else
    (compressed, small chunks, several datasets) with ``Dataset.read_direct`` over whole
    HDF5 chunk rows (see :class:`charsuite.io.hdf5.SlabReader`). A scale the reader applies lazily (TofDAQ ions/extraction → counts)
    is applied in place to the cache-resident slab, giving the same float32 values as the
    lazy cube. Other dask-backed cubes are streamed by dask chunks along depth (whole
    multiples of the HDF5 chunks; merged up to ``max_mb`` when sliced) with the raw
    synchronous dask scheduler; numpy-backed cubes by slicing.

    Parameters
    ----------
    cube : xarray.DataArray
        ``(depth, y, x, species)``.
    func : callable(slab) -> result
        Applied to each ``(depth_slab, y, x, species)`` ndarray. The slab may be a reused
        buffer: keep results, not the slab (arrays in the result, also inside tuples,
        lists and dicts, that are views of it are copied).
    max_mb : float
        Largest slab read at once (at least one scan or HDF5 chunk row along depth; the
        HDF5 path also caps slabs at a few MiB).
    workers : int
        Threads that each read a slab and apply ``func``. ``os.preadv`` releases the GIL,
        as do numpy/BLAS reductions, so reading overlaps with reducing; slabs read through
        HDF5 (``read_direct``) use one worker, as h5py serialises HDF5 calls. At most
        ``workers`` slabs are in memory at once (plus the results waiting to be
        yielded), whatever the cube size.
    pass_scale : bool
        Call ``func(slab, scale)``: when the reader's scale is still pending, the slab holds
        the stored values and the cube's values are ``slab · scale`` (float32); otherwise
        ``scale`` is None. Lets a linear reduction fold the factor into its weights
        instead of a pass over every voxel.
    """
    from concurrent.futures import ThreadPoolExecutor

    tasks, run, close, cap = _depth_tasks(cube, func, max_mb, pass_scale)
    try:
        if not tasks:
            return
        workers = max(1, min(workers, cap))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending = [pool.submit(run, t) for t in tasks[:workers]]
            for k in range(len(tasks)):
                results = pending.pop(0).result()
                nxt = k + len(pending) + 1
                if nxt < len(tasks):
                    pending.append(pool.submit(run, tasks[nxt]))
                yield from results
    finally:
        close()


def _depth_tasks(cube, func, max_mb: float, pass_scale: bool = False):
    """Return (tasks, run, close, max_workers); ``run(task)`` gives ``[(a, b, func(slab))]``.

    A task of the HDF5 path is a group of consecutive cache-sized pieces (about one HDF5
    chunk row, ≤ ``_TASK_BYTES``) handled by one worker in turn: fewer thread hand-offs,
    which cost ~0.2 ms each on a loaded machine.
    """
    from charsuite.io.hdf5 import SlabReader, lookup

    src = lookup(cube.data) if hasattr(cube.data, "dask") else None
    if src is None:
        ranges, load = _slab_loader(cube, max_mb)

        def run_dask(task):
            a, b = task
            return [(a, b, func(load(a, b), None) if pass_scale else func(load(a, b)))]

        return list(ranges), run_dask, lambda: None, len(ranges) or 1
    reader = SlabReader(src, max_mb)
    n = src.n_writes
    if src.reverse:
        pieces = [(n - w1, n - w0, w0, w1) for w0, w1 in reversed(reader.write_ranges)]
    else:
        pieces = [(w0, w1, w0, w1) for w0, w1 in reader.write_ranges]
    per_write = int(np.prod(src.shape[1:])) * reader.dtype.itemsize
    tasks: list[list[tuple[int, int, int, int]]] = []
    size = 0
    for piece in pieces:
        nbytes = (piece[1] - piece[0]) * per_write
        if not tasks or size + nbytes > _TASK_BYTES:
            tasks.append([])
            size = 0
        tasks[-1].append(piece)
        size += nbytes
    scale = src.factor

    def run_one(buf: np.ndarray, w0: int, w1: int):
        slab = reader.read(w0, w1, buf)
        if src.reverse:
            slab = slab[::-1]
        if pass_scale:
            return _detach(func(slab, scale), buf)
        if scale is not None:
            # same float32 product as the lazy cube (so results equal the dask path bit for
            # bit, and integer counts sum exactly); cheap on a cache-resident piece
            if slab.flags.writeable:
                np.multiply(slab, scale, out=slab)
            else:  # a decoded chunk handed over as it is
                slab = slab * scale
        return _detach(func(slab), buf)

    def run_hdf5(task):
        buf = reader.buffer()
        return [(a, b, run_one(buf, w0, w1)) for a, b, w0, w1 in task]

    # HDF5 reads (and decompression) run one at a time under h5py's lock; a second worker
    # then only waits for it (measured 1.3x slower on gzip), so "direct" uses one worker;
    # "raw" (preadv) and "chunks" (pread + inflate in the worker) run in parallel
    cap = len(tasks) if reader.parallel else 1
    return tasks, run_hdf5, reader.close, max(cap, 1)


def iter_depth_slabs(cube, *, max_mb: float = 32.0) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, slab)`` over depth; the next slab is read in the background.

    Parameters
    ----------
    cube : xarray.DataArray
        ``(depth, y, x, species)`` cube.
    max_mb : float
        Largest slab read at once (MB), see :func:`map_depth_slabs`.

    Yields
    ------
    tuple of (int, int, ndarray)
        Depth indices ``start``, ``stop`` and the ``(depth_slab, y, x, species)`` slab.
    """
    yield from map_depth_slabs(cube, lambda slab: slab, max_mb=max_mb, workers=1)
