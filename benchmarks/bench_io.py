"""Registry overhead and CLI start-up."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from benchmarks import Case


def _xy_setup(workdir):
    x = np.arange(10, 80, 0.01)
    y = 100 + 1000 * np.exp(-((x - 18.7) ** 2) / 0.01)
    path = workdir / "scan.xy"
    np.savetxt(path, np.c_[x, y], fmt="%.4f")
    return path


def _read(path):
    from charsuite.io import read

    return read(path)


CASES = {
    "read_xy": Case(
        description="charsuite.read of a 7000-point .xy (sniff + parse + metadata) vs numpy.loadtxt",
        setup=_xy_setup,
        baseline=lambda path: np.loadtxt(path),
        target=_read,
        repeat=5,
    ),
    "cli_help": Case(
        description="`charsuite --help` in a new interpreter vs `python -c pass`",
        setup=lambda workdir: None,
        baseline=lambda _: subprocess.run([sys.executable, "-c", "pass"], check=True),
        target=lambda _: subprocess.run(
            [sys.executable, "-m", "charsuite", "--help"], check=True, capture_output=True
        ),
        repeat=5,
    ),
}
