"""HDF5 cube access: the one opener, and the fast path that streams cubes slab by slab.

:func:`open_file` is the one place where charsuite opens a cube's HDF5 file for reading
(TofDAQ, ``hdf5-cube``, charsuite-h5 cubes of the tomogram code through :class:`H5Array`).

A reader that returns a dask-backed cube registers the final dask array here with the
h5py datasets behind it (:func:`register`). :func:`lookup` returns that description only
for the very same computation: the key is the dask array's name (a token of its whole
graph), and shape and dtype must match. Any later operation on the cube (``isel``,
arithmetic, ``sel`` of species...) makes a new dask name, so the lookup fails and the
caller falls back to dask. The entry disappears when the registered dask array is
garbage-collected.

Streaming code (:func:`charsuite.sims.map_depth_slabs`) reads the registered datasets
with a :class:`SlabReader`, slab by slab into reused per-thread buffers, skipping the dask
graph and one full copy per slab. Three plans:

``"raw"``
    Unfiltered scans contiguous in the file: ``os.preadv`` at the chunk's byte offset.
``"chunks"``
    Filtered chunks whose pipeline :class:`ChunkDecoder` implements (deflate, shuffle,
    fletcher32, LZ4 32004): the stored bytes of each chunk are read with ``os.pread`` (or
    ``read_direct_chunk``) and decoded in the worker threads. ``os.pread``, zlib/ISA-L
    inflate and LZ4 release the GIL, so chunk rows decode in parallel, outside h5py's
    global lock (which serialises every HDF5 call, decompression included).
``"direct"``
    Anything else: ``Dataset.read_direct`` of whole chunk rows (HDF5 decodes, one worker).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CUBE_DIMS",
    "ChunkDecoder",
    "H5Array",
    "HDF5Source",
    "SlabReader",
    "lookup",
    "open_file",
    "register",
]


#: Dimension order of a SIMS cube (see :mod:`charsuite.model.schema`); the one definition,
#: used by the readers and by :mod:`charsuite.sims`.
CUBE_DIMS = ("depth", "y", "x", "species")


def open_file(path: str | Path, *, format: str | None = None, contained: bool = True):
    """Open an HDF5 file read-only: the one opener for cube files (readers and streaming).

    The input must be a regular file (:func:`charsuite.io.check_regular`: a FIFO would
    block h5py forever), and, unless ``contained=False`` (format sniffing, which reads
    only root attributes), pass :func:`charsuite.io.check_hdf5` (no external links,
    external storage or virtual datasets; declared sizes bounded by the stored bytes).

    Parameters
    ----------
    path : str or Path
    format : str, optional
        Reader name for the messages.
    contained : bool
        Run the containment checks (default).

    Returns
    -------
    h5py.File

    Raises
    ------
    ReaderError, BudgetError
        Refused input (see above).
    OSError
        As h5py raises it for unreadable files (callers turn it into a ``ReaderError``
        naming their format).
    """
    import h5py

    from charsuite.io._contain import check_hdf5, check_regular

    check_regular(path, format=format)
    f = h5py.File(path, "r")
    return check_hdf5(f, path, format=format) if contained else f


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


class H5Array:
    """A picklable, lazily opened HDF5 dataset (for ``dask.array.from_array``).

    h5py objects cannot be sent to dask.distributed workers; this opens the file
    read-only (:func:`open_file`) for each block read, so the graph holds only the path
    and dataset name.
    """

    def __init__(self, path: str | Path, name: str) -> None:
        self.path = str(path)
        self.name = name
        with open_file(self.path) as f:
            dset = f[name]
            self.shape = tuple(dset.shape)
            self.dtype = dset.dtype
            self.chunks = dset.chunks
        self.ndim = len(self.shape)

    def __getitem__(self, key):
        """Read ``key`` of the dataset, opening the file for this read only."""
        with open_file(self.path) as f:
            return f[self.name][key]


# ---------------------------------------------------------------------- chunk decoding
def _inflate_module():
    """ISA-L's zlib when installed (~2× faster inflate than zlib; releases the GIL), else zlib."""
    try:
        from isal import isal_zlib

        return isal_zlib
    except ImportError:
        import zlib

        return zlib


def _unshuffle(data, itemsize: int):
    """Undo HDF5's byte shuffle (filter 2): byte k of every element was stored together."""
    n = len(data) // itemsize
    if itemsize <= 1 or n == 0:
        return data
    body = np.frombuffer(data, np.uint8, n * itemsize).reshape(itemsize, n).T
    out = body.tobytes()
    return out + bytes(data[n * itemsize :])  # trailing bytes are stored unshuffled


def _lz4_decode(data) -> bytes:
    """Undo the HDF5 LZ4 filter 32004 (hdf5plugin's layout).

    8-byte big-endian total size, 4-byte big-endian block size, then per block a 4-byte
    big-endian length and the block; a block whose length equals its uncompressed size
    is stored raw.
    """
    import lz4.block

    view = memoryview(data)
    total = int.from_bytes(view[0:8], "big")
    block = int.from_bytes(view[8:12], "big")
    out = bytearray()
    pos = 12
    while len(out) < total:
        n = int.from_bytes(view[pos : pos + 4], "big")
        pos += 4
        want = min(block, total - len(out))
        piece = view[pos : pos + n]
        out += piece if n == want else lz4.block.decompress(piece, uncompressed_size=want)
        pos += n
    return bytes(out)


_DEFLATE, _SHUFFLE, _FLETCHER32, _LZ4 = 1, 2, 3, 32004


class ChunkDecoder:
    """Undo a dataset's filter pipeline on the stored bytes of one chunk.

    Implemented filters: deflate (1), shuffle (2), fletcher32 (3, the checksum is
    stripped, not verified) and LZ4 (32004). Written by hand because h5py decodes only
    under its global lock; here each step is a call that releases the GIL. Filters are
    undone in reverse order, skipping filter ``j`` when bit ``j`` of the chunk's filter
    mask is set (an optional filter that did not apply to that chunk).

    Attributes
    ----------
    supported : bool
        Every filter of the pipeline is implemented (and lz4 importable when needed).
    """

    def __init__(self, dset) -> None:
        plist = dset.id.get_create_plist()
        self.filters = [plist.get_filter(j)[:3] for j in range(plist.get_nfilters())]
        self.itemsize = dset.dtype.itemsize
        self.dtype = dset.dtype
        self.chunk_shape = tuple(dset.chunks) if dset.chunks else None
        ids = {f[0] for f in self.filters}
        self.supported = self.chunk_shape is not None and ids <= {
            _DEFLATE,
            _SHUFFLE,
            _FLETCHER32,
            _LZ4,
        }
        if _LZ4 in ids:
            try:
                import lz4.block  # noqa: F401
            except ImportError:
                self.supported = False
        self._zlib = _inflate_module()

    def decode(self, data, filter_mask: int) -> np.ndarray:
        """Return the chunk (full chunk shape, dataset dtype) from its stored bytes."""
        for j in range(len(self.filters) - 1, -1, -1):
            if filter_mask >> j & 1:
                continue
            fid, _flags, cd = self.filters[j]
            if fid == _DEFLATE:
                data = self._zlib.decompress(data)
            elif fid == _SHUFFLE:
                data = _unshuffle(data, int(cd[0]) if cd else self.itemsize)
            elif fid == _FLETCHER32:
                data = memoryview(data)[:-4]
            else:
                data = _lz4_decode(data)
        return np.frombuffer(data, self.dtype).reshape(self.chunk_shape)


# ---------------------------------------------------------------------- slab reading
# Largest piece read at once (at least one scan, or one HDF5 chunk row when HDF5 reads):
# a few MiB stay in the CPU's last-level cache between the read and the reduction, which
# then costs little extra memory traffic (whole 16 MiB chunks measured ~1.3x slower on a
# 32 MiB-L3 machine), and keeps the memory per worker small.
PIECE_BYTES = 4 * 2**20


class _ChunkRows:
    """Read chunk rows of several datasets by decoding their stored chunks in the caller's thread."""

    def __init__(self, datasets, decoders, fd) -> None:
        self.datasets = datasets
        self.decoders = decoders
        self.fd = fd  # None: read_direct_chunk (under h5py's lock)

    def _stored(self, d, coord):
        """(filter_mask, bytes) of the chunk at ``coord``, or None when it is not stored."""
        if self.fd is None:
            try:
                return d.id.read_direct_chunk(coord)
            except (KeyError, OSError, ValueError):
                return None
        info = d.id.get_chunk_info_by_coord(coord)
        if info.byte_offset is None or info.size == 0:
            return None
        return info.filter_mask, os.pread(self.fd, info.size, info.byte_offset)

    def read(self, w0: int, w1: int, out: np.ndarray) -> None:
        """Fill ``out[: w1 - w0]`` with writes ``w0:w1`` (whole chunk rows of every dataset)."""
        col = 0
        for d, dec in zip(self.datasets, self.decoders, strict=True):
            c = dec.chunk_shape
            shape = d.shape
            for a in range(w0 // c[0] * c[0], w1, c[0]):
                lo, hi = max(a, w0), min(a + c[0], w1, shape[0])
                for y in range(0, shape[1], c[1]):
                    for x in range(0, shape[2], c[2]):
                        for s in range(0, shape[3], c[3]):
                            target = out[
                                lo - w0 : hi - w0,
                                y : y + c[1],
                                x : x + c[2],
                                col + s : col + min(s + c[3], shape[3]),
                            ]
                            self._place(d, dec, (a, y, x, s), lo - a, target)
            col += shape[3]

    def _place(self, d, dec, coord, skip: int, target: np.ndarray) -> None:
        stored = self._stored(d, coord)
        if stored is None:  # unallocated chunk (e.g. an aborted run): the fill value
            target[...] = d.fillvalue
            return
        chunk = dec.decode(stored[1], stored[0])
        t = target.shape
        target[...] = chunk[skip : skip + t[0], : t[1], : t[2], : t[3]]


class SlabReader:
    """Read a registered HDF5-backed cube in depth slabs into reused per-thread buffers.

    Plans (see the module docstring): ``"raw"`` for one unfiltered, native-endian
    dataset whose scans are contiguous in the file (contiguous layout, or chunks spanning
    whole scans) on the default file driver — ``os.preadv`` of whole scans in pieces of
    ≤ :data:`PIECE_BYTES` not crossing chunks; ``"chunks"`` for filtered 4-D chunked
    datasets whose filters :class:`ChunkDecoder` implements; ``"direct"`` otherwise.
    Each fast plan is checked once against an h5py read of the first stored chunk (file
    offsets: user block, driver quirks; the decoded values); any mismatch selects
    ``"direct"``.

    Attributes
    ----------
    plan : {"raw", "chunks", "direct"}
    write_ranges : list of (int, int)
        Pieces along the write axis, in order.
    parallel : bool
        Pieces may be read by several threads at once (``"raw"`` and ``"chunks"``).
    """

    def __init__(self, src: HDF5Source, max_mb: float) -> None:
        self.src = src
        self.datasets = src.datasets
        ny, nx, ns = src.shape[1:]
        self.scan_shape = (ny, nx, ns)
        self.dtype = np.dtype(
            np.result_type(*[d.dtype for d in self.datasets]) if src.factor is None else src.dtype
        )
        self.fd = None
        self.rows: _ChunkRows | None = None
        self.plan = "direct"
        if len(self.datasets) == 1 and self._raw_ok(self.datasets[0]):
            self.plan = "raw"
        elif self._chunks_ok():
            self.plan = "chunks"
        self.write_ranges = self._ranges(max_mb)
        self.max_len = max((b - a for a, b in self.write_ranges), default=1)
        self.parallel = self.plan in ("raw", "chunks")
        self.local = threading.local()

    def _ranges(self, max_mb: float) -> list[tuple[int, int]]:
        n = self.src.n_writes
        scan_bytes = int(np.prod(self.scan_shape)) * self.dtype.itemsize
        d0 = self.datasets[0]
        if self.plan == "raw":
            c0 = max(1, d0.chunks[0] if d0.chunks else n)
            step = max(1, min(PIECE_BYTES, int(max_mb * 2**20)) // max(scan_bytes, 1))
            bounds = []
            for a in range(0, n, c0):
                b = min(n, a + c0)
                bounds += [(w, min(b, w + step)) for w in range(a, b, step)]
            return bounds
        chunk0 = max(d.chunks[0] if d.chunks else 1 for d in self.datasets)
        target = min(PIECE_BYTES, max_mb * 2**20)  # whole chunk rows, ~cache-sized
        k = max(1, int(target // max(chunk0 * scan_bytes, 1)))
        step = k * chunk0
        return [(w, min(n, w + step)) for w in range(0, n, step)]

    # ------------------------------------------------------------------ plan choice
    def _open_fd(self, d) -> int | None:
        if not hasattr(os, "pread") or d.file.driver != "sec2":
            return None
        try:
            return os.open(d.file.filename, os.O_RDONLY)
        except OSError:
            return None

    def _raw_ok(self, d) -> bool:
        try:
            if not hasattr(os, "preadv"):  # not on Windows: let HDF5 read
                return False
            if d.file.driver != "sec2" or not d.dtype.isnative or d.dtype != self.dtype:
                return False
            plist = d.id.get_create_plist()
            if plist.get_nfilters() or plist.get_external_count() or d.is_virtual:
                return False
            if d.chunks is not None and tuple(d.chunks[1:]) != tuple(d.shape[1:]):
                return False  # a scan spans several chunks: not one contiguous byte range
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

    def _chunks_ok(self) -> bool:
        """Every dataset is chunked, filtered, decodable here, and shares chunk rows."""
        try:
            ds = self.datasets
            if any(d.ndim != 4 or d.chunks is None or d.is_virtual for d in ds):
                return False
            if len({d.chunks[0] for d in ds}) != 1:
                return False
            decoders = [ChunkDecoder(d) for d in ds]
            if not all(dec.supported and dec.filters for dec in decoders):
                return False
            self.fd = self._open_fd(ds[0])
            if any(d.file.filename != ds[0].file.filename for d in ds):
                self.close()
            rows = _ChunkRows(ds, decoders, self.fd)
            if not self._probe(rows):
                self.close()
                rows = _ChunkRows(ds, decoders, None)  # read_direct_chunk: HDF5's offsets
                if not self._probe(rows):
                    return False
            self.rows = rows
            return True
        except (OSError, ValueError, AttributeError, TypeError, KeyError):
            self.close()
            return False

    def _probe(self, rows: _ChunkRows) -> bool:
        """Decode the first chunk row and compare it with HDF5's own read."""
        n = min(self.src.n_writes, self.datasets[0].chunks[0])
        if n == 0:
            return True
        got = np.empty((n, *self.scan_shape), self.dtype)
        rows.read(0, n, got)
        expect = np.concatenate([np.asarray(d[0:n], self.dtype) for d in self.datasets], axis=3)
        return got.tobytes() == expect.tobytes()

    def close(self) -> None:
        """Close the raw file descriptor."""
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

    def _whole_chunk(self, w0: int, w1: int) -> np.ndarray | None:
        """Return the decoded chunk itself (read-only) when ``w0:w1`` is exactly one chunk.

        Only for a chunk spanning whole scans of the only dataset: saves copying it into the
        buffer.
        """
        d = self.datasets[0]
        c = d.chunks
        if len(self.datasets) > 1 or d.dtype != self.dtype or tuple(c[1:]) != d.shape[1:]:
            return None
        if w0 % c[0] or w1 - w0 != c[0]:
            return None
        stored = self.rows._stored(d, (w0, 0, 0, 0))
        if stored is None:
            return None
        return self.rows.decoders[0].decode(stored[1], stored[0])

    def buffer(self) -> np.ndarray:
        """Return the reused buffer of the calling thread (``max_len`` writes)."""
        buf = getattr(self.local, "buf", None)
        if buf is None:
            buf = self.local.buf = np.empty((self.max_len, *self.scan_shape), self.dtype)
        return buf

    def read(self, w0: int, w1: int, buf: np.ndarray) -> np.ndarray:
        """Read writes ``w0:w1`` (stored values, float32 factor not applied).

        The values are in ``buf`` or, for a whole decoded chunk, in a read-only array of its
        own.
        """
        m = w1 - w0
        if self.plan == "raw":
            self._pread(self.datasets[0], w0, w1, buf)
        elif self.plan == "chunks":
            whole = self._whole_chunk(w0, w1)
            if whole is not None:
                return whole
            self.rows.read(w0, w1, buf)
        elif len(self.datasets) == 1:
            self.datasets[0].read_direct(buf, np.s_[w0:w1], np.s_[0:m])
        else:
            col = 0
            for d in self.datasets:
                k = d.shape[3]
                d.read_direct(buf, np.s_[w0:w1], np.s_[0:m, :, :, col : col + k])
                col += k
        return buf[:m]
