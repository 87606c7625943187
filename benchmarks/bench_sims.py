"""ToF-SIMS: all-species depth profile in one streamed pass vs a bare h5py chunk-by-chunk read.

Setup generates fibTOF-layout TofDAQ files with :func:`charsuite.datasets.sims.make_tofdaq_stack`
(128×128 pixels, 64 peaks, expected counts without noise so generation is fast) and caches
them in ``$TMPDIR/charsuite-bench-sims`` (generation is slow and untimed; the runner repeats
setup in every child). Files: ~1 GB (256 scans) and ~4 GB (1024 scans) of float32 PeakData,
uncompressed (HDF5 chunks of 4 scans = 16 MiB) and gzip (chunks of 2 scans = 8 MiB).

Baseline: the fastest bare h5py read of the same ``/PeakData/PeakData`` dataset, one HDF5
chunk row along depth at a time with ``Dataset.read_direct`` into one reused buffer (no
allocation per chunk, nothing computed). Target: ``charsuite.sims.depth_profile(path)``
(dead time off): opening and describing the file, ROI sums of every species, the TIC and
the saturation flags, streamed from the file. Peak RSS should not grow with the file size.
The files fit in the page cache, so both sides measure memory bandwidth and CPU, not disk.

gzip cases: charsuite decodes the stored deflate chunks itself in two threads
(``charsuite.io.hdf5.ChunkDecoder``: ``os.pread`` + ISA-L/zlib inflate, both release the
GIL), while the bare baseline lets HDF5 inflate under h5py's lock in one thread.

``*_rsciio`` cases (need ``pip install rosettasciio``, GPL-3, not a charsuite dependency):
the peer a user would pick, RosettaSciIO's lazy TofDAQ reader
(``rsciio.tofwerk.file_reader(path, lazy=True, signal="additional_peak_data")``), summing
the same PeakData over (y, x) per scan and species with dask's default threaded scheduler
(baseline), against the same ``depth_profile`` (target). RosettaSciIO 0.15 refuses our
generated files as they are: ``_is_tofwerk_file`` requires an ``AcquisitionLog`` group,
which ``make_tofdaq_stack`` does not write, so setup adds an empty one to the cached
file (no data change). Our peak labels do not start with "nominal", so RosettaSciIO
files them as "additional" peaks. It reads PeakData in ions/extraction (no ×extractions
factor): the same amount of data is read and summed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks import Case

CACHE = Path(tempfile.gettempdir()) / "charsuite-bench-sims"


def _file(n_scans: int, compression: str | None, chunk_scans: int):
    def setup(_workdir):
        from charsuite.datasets.sims import make_tofdaq_stack

        CACHE.mkdir(exist_ok=True)
        path = CACHE / f"stack_{n_scans}_{compression}_{chunk_scans}.h5"
        if not path.exists():
            make_tofdaq_stack(
                path,
                n_scans=n_scans,
                shape=(128, 128),
                extra_peaks=58,
                noise="none",
                bipolar=False,
                compression=compression,
                chunk_scans=chunk_scans,
            )
        return path

    return setup


def _bare_h5py(path):
    """Chunk rows along depth, read_direct into one reused buffer."""
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        d = f["PeakData/PeakData"]
        step = d.chunks[0]
        buf = np.empty((step, *d.shape[1:]), dtype=d.dtype)
        for a in range(0, d.shape[0], step):
            b = min(a + step, d.shape[0])
            d.read_direct(buf, np.s_[a:b], np.s_[0 : b - a])


def _rsciio_file(n_scans: int, chunk_scans: int):
    def setup(workdir):
        import h5py

        path = _file(n_scans, "gzip", chunk_scans)(workdir)
        with h5py.File(path, "r+") as f:  # RosettaSciIO's file check (see the docstring)
            f.require_group("AcquisitionLog")
        return path

    return setup


def _rsciio_sum(path):
    """RosettaSciIO's lazy reader, PeakData summed over (y, x) with dask."""
    from rsciio.tofwerk import file_reader

    (sig,) = file_reader(path, lazy=True, signal="additional_peak_data", show_progressbar=False)
    return sig["data"].sum(axis=(1, 2)).compute()


def _profile(path):
    from charsuite.sims import depth_profile

    return depth_profile(path)


def _case(n_scans, compression, chunk_scans, what):
    return Case(
        description=f"depth profile of all 64 species, {what} vs bare h5py read_direct by chunk",
        setup=_file(n_scans, compression, chunk_scans),
        baseline=_bare_h5py,
        target=_profile,
        repeat=5,
    )


def _rsciio_case(n_scans, chunk_scans, what):
    return Case(
        description=f"depth profile of all 64 species, {what} vs RosettaSciIO lazy reader + "
        "dask sum over (y, x)",
        setup=_rsciio_file(n_scans, chunk_scans),
        baseline=_rsciio_sum,
        target=_profile,
        repeat=3,
    )


CASES = {
    "profile_1gb": _case(256, None, 4, "1.07 GB uncompressed (256 scans)"),
    "profile_4gb": _case(1024, None, 4, "4.3 GB uncompressed (1024 scans)"),
    "profile_gzip_1gb": _case(256, "gzip", 2, "1.07 GB gzip (256 scans, 8 MB chunks)"),
    "profile_gzip_4gb": _case(1024, "gzip", 2, "4.3 GB gzip (1024 scans, 8 MB chunks)"),
    "profile_gzip_1gb_rsciio": _rsciio_case(256, 2, "1.07 GB gzip (256 scans)"),
    "profile_gzip_4gb_rsciio": _rsciio_case(1024, 2, "4.3 GB gzip (1024 scans)"),
}
