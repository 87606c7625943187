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

CUBE_DIMS = ("depth", "y", "x", "species")

__all__ = ["CUBE_DIMS", "iter_depth_slabs", "map_depth_slabs", "open_cube", "species_index"]


def open_cube(source, *, lazy: bool = True, **options: Any):
    """Return a cube DataArray from a path (read lazily through the registry) or a cube.

    Parameters
    ----------
    source : str, Path or xarray.DataArray
        A file readable by :func:`charsuite.io.read` (``FILE.h5::/path`` allowed) or a cube.
    lazy : bool
        Read through dask (default): nothing is loaded until streamed.
    **options
        Passed to :func:`charsuite.io.read` (``format=``, ``tof=``, ``units=``...).

    Raises
    ------
    DataError
        If the object does not have the cube dimensions.
    """
    import xarray as xr

    from charsuite.io import read

    if isinstance(source, str | Path):
        obj = read(source, lazy=lazy, **options)
    else:
        obj = source
    if isinstance(obj, xr.Dataset):
        names = [n for n, v in obj.data_vars.items() if set(v.dims) == set(CUBE_DIMS)]
        if not names:
            raise DataError(
                f"no variable with dims {CUBE_DIMS} in the dataset: {list(obj.data_vars)}"
            )
        obj = obj[names[0]]
    if tuple(obj.dims) != CUBE_DIMS:
        if set(obj.dims) == set(CUBE_DIMS):
            obj = obj.transpose(*CUBE_DIMS)
        else:
            raise DataError(
                f"expected a cube with dims {CUBE_DIMS}, got {tuple(obj.dims)}; "
                "for a depth profile (depth, species) use charsuite.sims.depth_profile directly"
            )
    return obj


def species_index(obj, species: str | Sequence[str] | None) -> list[str]:
    """Validate species names against ``obj.species``; return the list (all when None).

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
    cube, func, *, max_mb: float = 32.0, workers: int = 2
) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(start, stop, func(slab))`` over depth in order, reading each slab once.

    For dask-backed cubes the slabs are the dask chunks along depth (whole multiples of
    the HDF5 chunks; merged up to ``max_mb`` when sliced), read with the raw synchronous
    dask scheduler. ``workers`` threads each read a slab and apply ``func``: h5py
    serialises the reads, while numpy/BLAS reductions (which release the GIL) overlap with
    the next read. At most ``workers`` slabs are in memory at once, whatever the cube size.
    """
    from concurrent.futures import ThreadPoolExecutor

    ranges, load = _slab_loader(cube, max_mb)
    if not ranges:
        return

    def task(a: int, b: int):
        return func(load(a, b))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending = [pool.submit(task, *r) for r in ranges[:workers]]
        for k, (a, b) in enumerate(ranges):
            result = pending.pop(0).result()
            nxt = k + len(pending) + 1
            if nxt < len(ranges):
                pending.append(pool.submit(task, *ranges[nxt]))
            yield a, b, result


def iter_depth_slabs(cube, *, max_mb: float = 32.0) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, slab)`` over depth; the next slab is read in the background."""
    yield from map_depth_slabs(cube, lambda slab: slab, max_mb=max_mb, workers=1)
