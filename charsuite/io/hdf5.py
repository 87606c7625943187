"""Remember which HDF5 datasets a lazily read cube comes from, so it can be streamed fast.

A reader that returns a dask-backed cube registers the final dask array here with the
h5py datasets behind it (:func:`register`). :func:`lookup` returns that description only
for the very same computation: the key is the dask array's name (a token of its whole
graph), and shape and dtype must match. Any later operation on the cube (``isel``,
arithmetic, ``sel`` of species...) makes a new dask name, so the lookup fails and the
caller falls back to dask. The entry disappears when the registered dask array is
garbage-collected.

Streaming code (:func:`charsuite.sims._cube.map_depth_slabs`) can then read the datasets
slab by slab with ``Dataset.read_direct`` into reused buffers (or, for unfiltered data,
``os.preadv`` at the chunk's file offset), skipping the dask graph and one full copy per
slab.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

import numpy as np

__all__ = ["HDF5Source", "lookup", "register"]


@dataclasses.dataclass(frozen=True, eq=False)
class HDF5Source:
    """A cube ``(depth, y, x, species)`` stored in HDF5 datasets ``(write, y, x, species_k)``.

    Attributes
    ----------
    datasets : tuple of h5py.Dataset
        Open datasets, concatenated along the last axis (e.g. PeakData, PeakData2).
    n_writes : int
        Writes used (the first ``n_writes`` of each dataset).
    reverse : bool
        Depth 0 is write ``n_writes − 1`` (a reversed export re-ordered by time).
    factor : numpy.float32 or None
        The cube's values are ``stored · factor`` computed in float32 (e.g. ions per
        extraction → counts), or the stored values when None.
    shape : tuple of int
        Shape of the cube.
    dtype : numpy.dtype
        Dtype of the cube's values.
    """

    datasets: tuple[Any, ...]
    n_writes: int
    reverse: bool
    factor: np.float32 | None
    shape: tuple[int, ...]
    dtype: np.dtype


_SOURCES: dict[str, HDF5Source] = {}


def register(data, datasets, *, n_writes: int, reverse: bool = False, factor=None) -> None:
    """Record that dask array ``data`` is ``datasets`` (concatenated on the last axis)."""
    name = getattr(data, "name", None)
    if name is None or not datasets:
        return
    src = HDF5Source(
        datasets=tuple(datasets),
        n_writes=int(n_writes),
        reverse=bool(reverse),
        factor=None if factor is None else np.float32(factor),
        shape=tuple(int(n) for n in data.shape),
        dtype=np.dtype(data.dtype),
    )
    _SOURCES[name] = src
    weakref.finalize(data, _SOURCES.pop, name, None)


def lookup(data) -> HDF5Source | None:
    """The registered source of exactly this dask array, or None."""
    name = getattr(data, "name", None)
    src = _SOURCES.get(name) if isinstance(name, str) else None
    if src is None:
        return None
    if tuple(data.shape) != src.shape or np.dtype(data.dtype) != src.dtype:
        return None
    if not all(d.id.valid for d in src.datasets):  # file closed meanwhile
        return None
    return src
