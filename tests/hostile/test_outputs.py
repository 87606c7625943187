"""Hostile output targets: special files, the input itself, read-only files, full disks.

No target that is not a regular file, is an input, or is read-only is ever replaced,
even with ``--force``; failures print one line and leave no temporary file.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from charsuite.cli import main
from tests.hostile.conftest import REPO, tree


@pytest.fixture
def xy(tmp_path):
    p = tmp_path / "scan.xy"
    p.write_text("\n".join(f"{10 + 0.1 * i:.2f} {100 + i}" for i in range(50)) + "\n")
    return p


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("charsuite: error:"), err
    return err


def test_fifo_target_never_replaced(tmp_path, xy, capsys):
    target = tmp_path / "out.json"
    os.mkfifo(target)
    assert main(["info", str(xy), "--json", str(target), "--force"]) == 2
    assert "not a regular file" in _one_error_line(capsys)
    assert stat.S_ISFIFO(os.lstat(target).st_mode)


def test_device_link_target_never_replaced(tmp_path, xy, capsys):
    target = tmp_path / "null.json"
    os.symlink("/dev/null", target)  # a link, so a regression replaces the link, not /dev/null
    assert main(["info", str(xy), "--json", str(target), "--force"]) == 2
    _one_error_line(capsys)
    assert os.path.islink(target) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_input_never_replaced(xy, capsys):
    before = xy.read_bytes()
    assert main(["info", str(xy), "--json", str(xy), "--force"]) == 2
    assert "input" in _one_error_line(capsys)
    assert xy.read_bytes() == before


def test_read_only_target_never_replaced(tmp_path, xy, capsys):
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o444)
    assert main(["info", str(xy), "--json", str(target), "--force"]) == 2
    assert "read-only" in _one_error_line(capsys)
    assert target.read_text() == "old"


def test_unwritable_folder_one_line(tmp_path, xy, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["info", str(xy), "--json", str(blocker / "out.json")]) == 2
    _one_error_line(capsys)


def test_output_mode_follows_umask(tmp_path, xy):
    old = os.umask(0o027)
    try:
        assert main(["info", str(xy), "--json", str(tmp_path / "out.json")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "out.json").st_mode) == 0o640


def test_stale_temporaries_cleaned(tmp_path, xy):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.json.{dead.pid}.abc123.tmp"
    stale.write_text("left by a killed run")
    stale_dir = tmp_path / f".out.json.{dead.pid}.def456.tmp"
    stale_dir.mkdir()
    live = tmp_path / f".out.json.{os.getpid()}.zzz.tmp"  # a concurrent writer: kept
    live.write_text("being written")
    assert main(["info", str(xy), "--json", str(tmp_path / "out.json")]) == 0
    assert not stale.exists() and not stale_dir.exists() and live.exists()


def test_full_disk_one_line_nothing_left(tmp_path, xy):
    """RLIMIT_FSIZE makes every write beyond 1 KB fail with EFBIG, like a full disk."""
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n"
        "from charsuite.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    target = tmp_path / "out" / "copy.h5"
    target.parent.mkdir()
    target.write_text("old")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "sims",
            "tomogram",
            str(_cube(tmp_path)),
            "-o",
            str(target),
            "--force",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("charsuite: error:")
    assert target.read_text() == "old"
    assert tree(target.parent) == {"copy.h5"}


def _cube(folder, shape=(8, 16, 16, 3)):
    import h5py
    import numpy as np

    p = folder / "cube.h5"
    with h5py.File(p, "w") as f:
        f["cube"] = np.random.default_rng(0).poisson(5, shape).astype("f4")
    return p


def test_zarr_force_replaces_atomically(tmp_path):
    cube = _cube(tmp_path)
    out = tmp_path / "t.zarr"
    assert main(["sims", "tomogram", str(cube), "-o", str(out)]) == 0
    marker = out / "zarr.json"
    assert marker.exists()
    assert main(["sims", "tomogram", str(cube), "-o", str(out)]) == 2
    assert main(["sims", "tomogram", str(cube), "-o", str(out), "--force"]) == 0
    assert marker.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"cube.h5", "t.zarr"}
