"""The SIMS cube: a lazy ``(depth, y, x, species)`` DataArray and helpers around it.

Convention (see :mod:`charsuite.model.schema`): ``depth`` = scan index (``units="scan"``)
or nm after calibration, ``y``/``x`` in µm (``px`` when the field of view is unknown),
``species`` labels with a ``mass`` (Th) coordinate; values are counts per voxel unless
``units`` says otherwise; ``attrs["metadata"]`` holds ``pixel_size_um``, ``n_scans``,
``polarity``, ``extractions_per_pixel``.
"""

from __future__ import annotations

import itertools
import os
import threading
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


# Largest piece read at once (at least one scan, or one HDF5 chunk row when HDF5 reads):
# a few MiB stay in the CPU's last-level cache between the read and the reduction, which
# then costs little extra memory traffic (whole 16 MiB chunks measured ~1.3x slower on a
# 32 MiB-L3 machine), and keeps the memory per worker small.
_PIECE_BYTES = 4 * 2**20
# Pieces handed to one worker at a time (results stay small: the reduction of each piece)
_TASK_BYTES = 16 * 2**20


class _HDF5Slabs:
    """Read a registered HDF5-backed cube in depth slabs into reused per-thread buffers.

    Two plans:

    ``"raw"``
        One unfiltered, native-endian dataset whose scans are contiguous in the file
        (contiguous layout, or chunks spanning whole (y, x, species) scans) on the default
        file driver: ``os.preadv`` of whole scans at the chunk's byte offset (from
        ``H5Dget_chunk_info``), pieces of ≤ ``_PIECE_BYTES`` not crossing chunks. The
        offsets are checked once against an h5py read; any mismatch selects ``"direct"``.
    ``"direct"``
        ``Dataset.read_direct`` of whole HDF5 chunk rows along depth (at least one, grown
        to ``_PIECE_BYTES``), each dataset into its species columns of the buffer (HDF5
        does the decompression and chunk assembly).

    Decompressing deflate chunks in the worker threads (``read_direct_chunk`` + Python's
    zlib or isal) was tried and dropped: per chunk it was ~2x slower than HDF5's own
    inflate, and with the cores shared the parallelism did not make up for it.
    """

    def __init__(self, src, max_mb: float):
        self.src = src
        self.datasets = src.datasets
        n = src.n_writes
        ny, nx, ns = src.shape[1:]
        self.scan_shape = (ny, nx, ns)
        self.dtype = np.dtype(
            np.result_type(*[d.dtype for d in self.datasets]) if src.factor is None else src.dtype
        )
        scan_bytes = ny * nx * ns * self.dtype.itemsize
        self.fd = None
        self.plan = "direct"
        d0 = self.datasets[0]
        c0 = max(1, d0.chunks[0] if d0.chunks else n)
        if len(self.datasets) == 1 and self._raw_ok(d0):
            self.plan = "raw"
            step = max(1, min(_PIECE_BYTES, int(max_mb * 2**20)) // max(scan_bytes, 1))
            bounds = []
            for a in range(0, n, c0):
                b = min(n, a + c0)
                bounds += [(w, min(b, w + step)) for w in range(a, b, step)]
        else:
            chunk0 = max(d.chunks[0] if d.chunks else 1 for d in self.datasets)
            target = min(_PIECE_BYTES, max_mb * 2**20)  # whole chunk rows, ~cache-sized
            k = max(1, int(target // max(chunk0 * scan_bytes, 1)))
            step = k * chunk0
            bounds = [(w, min(n, w + step)) for w in range(0, n, step)]
        self.write_ranges = bounds
        self.max_len = max((b - a for a, b in bounds), default=1)
        self.local = threading.local()

    # ------------------------------------------------------------------ plan choice
    def _raw_ok(self, d) -> bool:
        try:
            if not hasattr(os, "preadv"):  # not on Windows: let HDF5 read
                return False
            if d.file.driver != "sec2" or not d.dtype.isnative or d.dtype != self.dtype:
                return False
            plist = d.id.get_create_plist()
            if plist.get_nfilters() or plist.get_external_count():
                return False
            if d.chunks is not None and tuple(d.chunks[1:]) != tuple(d.shape[1:]):
                return False  # a scan spans several chunks: not one contiguous byte range
            if d.is_virtual:
                return False
            self.fd = os.open(d.file.filename, os.O_RDONLY)
            # check the offsets on the first stored scan line (user block, driver quirks)
            offset = self._offset(d, 0) if d.shape[0] else None
            if offset is None:
                return True  # nothing stored at the start; unstored chunks are read by HDF5
            expect = np.ascontiguousarray(d[0, 0], dtype=self.dtype)
            probe = np.empty_like(expect)
            got = os.preadv(self.fd, [memoryview(probe).cast("B")], offset)
            if got != probe.nbytes or probe.tobytes() != expect.tobytes():
                self.close()
                return False
            return True
        except (OSError, ValueError, AttributeError, TypeError):  # unusual storage: use HDF5
            self.close()
            return False

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    # ------------------------------------------------------------------ reading
    def _offset(self, d, w: int) -> int | None:
        """File offset of write ``w``'s first byte, or None when its chunk is not stored."""
        scan_bytes = int(np.prod(self.scan_shape)) * self.dtype.itemsize
        if d.chunks is None:
            base = d.id.get_offset()
            return None if base is None else base + w * scan_bytes
        c0 = d.chunks[0]
        info = d.id.get_chunk_info_by_coord((w // c0 * c0, 0, 0, 0))
        if info.byte_offset is None or info.size == 0:
            return None
        return info.byte_offset + (w % c0) * scan_bytes

    def _pread(self, d, a: int, b: int, out: np.ndarray) -> None:
        offset = self._offset(d, a)
        if offset is None:  # unallocated chunk (fill value): let HDF5 fill it
            d.read_direct(out, np.s_[a:b], np.s_[0 : b - a])
            return
        view = memoryview(out[: b - a]).cast("B")
        done = 0
        while done < len(view):
            got = os.preadv(self.fd, [view[done:]], offset + done)
            if got <= 0:
                raise OSError(f"{d.file.filename}: short read at byte {offset + done}")
            done += got

    def buffer(self) -> np.ndarray:
        buf = getattr(self.local, "buf", None)
        if buf is None:
            buf = self.local.buf = np.empty((self.max_len, *self.scan_shape), self.dtype)
        return buf

    def read(self, w0: int, w1: int, buf: np.ndarray) -> np.ndarray:
        """Read writes ``w0:w1`` (stored values, float32 factor not applied) into ``buf``."""
        m = w1 - w0
        if self.plan == "raw":
            self._pread(self.datasets[0], w0, w1, buf)
            return buf[:m]
        if len(self.datasets) == 1:
            self.datasets[0].read_direct(buf, np.s_[w0:w1], np.s_[0:m])
            return buf[:m]
        col = 0
        for d in self.datasets:
            k = d.shape[3]
            d.read_direct(buf, np.s_[w0:w1], np.s_[0:m, :, :, col : col + k])
            col += k
        return buf[:m]


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
    HDF5 chunk rows (see ``_HDF5Slabs``). A scale the reader applies lazily (TofDAQ ions/extraction → counts)
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
    from charsuite.io.hdf5 import lookup

    src = lookup(cube.data) if hasattr(cube.data, "dask") else None
    if src is None:
        ranges, load = _slab_loader(cube, max_mb)

        def run_dask(task):
            a, b = task
            return [(a, b, func(load(a, b), None) if pass_scale else func(load(a, b)))]

        return list(ranges), run_dask, lambda: None, len(ranges) or 1
    reader = _HDF5Slabs(src, max_mb)
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
            np.multiply(slab, scale, out=slab)
        return _detach(func(slab), buf)

    def run_hdf5(task):
        buf = reader.buffer()
        return [(a, b, run_one(buf, w0, w1)) for a, b, w0, w1 in task]

    # HDF5 reads (and decompression) run one at a time under h5py's lock; a second worker
    # then only waits for it (measured 1.3x slower on gzip), so "direct" uses one worker
    cap = len(tasks) if reader.plan == "raw" else 1
    return tasks, run_hdf5, reader.close, max(cap, 1)


def iter_depth_slabs(cube, *, max_mb: float = 32.0) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, slab)`` over depth; the next slab is read in the background."""
    yield from map_depth_slabs(cube, lambda slab: slab, max_mb=max_mb, workers=1)
