"""ToF-SIMS: all-species depth profile in one streamed pass vs a bare h5py chunk-by-chunk read.

Setup generates fibTOF-layout TofDAQ files with :func:`charsuite.datasets.sims.make_tofdaq_stack`
(128×128 pixels, 64 peaks, expected counts without noise so generation is fast) and caches
them in ``$TMPDIR/charsuite-bench-sims`` (generation is slow and untimed; the runner repeats
setup in every child). The baseline reads the same ``/PeakData/PeakData`` dataset slab by
slab with h5py (one HDF5 chunk row along depth at a time) and discards it; the target is
``charsuite.sims.depth_profile`` (dead time off) on the lazily read cube: ROI sums of every
species and the TIC. Peak RSS should not grow with the file size.
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
    import h5py

    with h5py.File(path, "r") as f:
        d = f["PeakData/PeakData"]
        step = d.chunks[0]
        for a in range(0, d.shape[0], step):
            d[a : a + step]


def _profile(path):
    from charsuite.sims import depth_profile

    return depth_profile(path)


def _case(n_scans, compression, chunk_scans, what):
    return Case(
        description=f"depth profile of all 64 species, {what} vs bare h5py chunk-by-chunk read",
        setup=_file(n_scans, compression, chunk_scans),
        baseline=_bare_h5py,
        target=_profile,
        repeat=3,
    )


CASES = {
    "profile_1gb": _case(256, None, 4, "1.07 GB uncompressed (256 scans)"),
    "profile_4gb": _case(1024, None, 4, "4.3 GB uncompressed (1024 scans)"),
    "profile_gzip": _case(128, "gzip", 2, "0.54 GB gzip (128 scans, 8 MB chunks)"),
}
