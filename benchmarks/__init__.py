"""charsuite benchmarks: ``python -m benchmarks [NAME ...]`` (not run in CI).

Each ``benchmarks/bench_<area>.py`` defines ``CASES = {name: Case(...)}``. A case has
``setup(workdir) -> state`` (untimed; e.g. generates input files), ``baseline(state)``
and ``target(state)``. The runner executes baseline and target each in a fresh child
process (setup is repeated there, untimed), takes the best of ``repeat`` wall-clock
times, and reads the child's peak resident memory (``ru_maxrss``). It prints
``target/baseline`` time ratios and both peak memories, measured in the same run.

A case with ``baseline_rev`` runs its baseline side on the package as it was at that git
revision (``git archive`` of ``charsuite`` and ``reference_data`` into the child's work
directory, first on ``sys.path`` before anything imports charsuite): the same function
timed on old and new code in the same run. ``items`` > 1 also prints the time per item
(e.g. per scan), wall clock and the child's CPU time (user + system; less sensitive to the
load of a shared machine than the wall clock).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark: a target measured against a baseline in the same run.

    Attributes
    ----------
    description : str
        What is measured and what the baseline is.
    setup : callable(workdir: Path) -> state
    baseline, target : callable(state) -> Any
    repeat : int
        Timed repetitions (best is reported).
    baseline_rev : str, optional
        Git revision whose ``charsuite`` the baseline side imports (see module docstring).
    items : int
        Items processed per call (per-item time is printed when > 1).
    """

    description: str
    setup: Callable[[Any], Any]
    baseline: Callable[[Any], Any]
    target: Callable[[Any], Any]
    repeat: int = 3
    baseline_rev: str | None = None
    items: int = 1
