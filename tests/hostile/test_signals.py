"""SIGINT / SIGTERM during long exports: prompt exit 130 / 143, one line, nothing left over.

The previous output must survive untouched, and no ``.NAME.*.tmp`` may remain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.hostile.conftest import REPO

CODE = "import sys\nfrom charsuite.cli import main\nsys.exit(main(sys.argv[1:]))\n"


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    import h5py
    import numpy as np

    p = tmp_path_factory.mktemp("cube") / "cube.h5"
    data = np.random.default_rng(1).poisson(3, (48, 256, 256, 4)).astype("f4")
    with h5py.File(p, "w") as f:
        f.create_dataset("cube", data=data, chunks=(4, 256, 256, 4))
    return p


def _old_output(target):
    if target.suffix == ".zarr":
        target.mkdir()
        (target / "OLD").write_text("previous output")
    else:
        target.write_text("previous output")


def _intact(target) -> bool:
    if target.suffix == ".zarr":
        return sorted(p.name for p in target.iterdir()) == ["OLD"]
    return target.read_text() == "previous output"


def _wait_for_temp(folder, proc, limit=60.0) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit and proc.poll() is None:
        if any(p.name.endswith(".tmp") for p in folder.iterdir()):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("suffix", [".h5", ".ome.tif", ".zarr"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_export_leaves_old_output(tmp_path, cube, suffix, sig):
    out = tmp_path / "out"
    out.mkdir()
    target = out / f"tomo{suffix}"
    _old_output(target)
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE, "sims", "tomogram", str(cube), "-o", str(target), "--force"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if not _wait_for_temp(out, proc):
            proc.kill()
            pytest.fail(f"export finished or never started: {proc.communicate()[1][-500:]}")
        time.sleep(0.3)
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert err.count("\n") == 1 and "interrupted" in err, err
    assert elapsed < 30
    assert _intact(target)
    assert sorted(p.name for p in out.iterdir()) == [target.name]
