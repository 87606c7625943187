"""charsuite benchmarks: ``python -m benchmarks [NAME ...]`` (not run in CI).

Each ``benchmarks/bench_<area>.py`` defines ``CASES = {name: Case(...)}``. A case has
``setup(workdir) -> state`` (untimed; e.g. generates input files), ``baseline(state)``
and ``target(state)``. The runner executes baseline and target each in a fresh child
process (setup is repeated there, untimed), takes the best of ``repeat`` wall-clock
times, and reads the child's peak resident memory (``ru_maxrss``). It prints
``target/baseline`` time ratios and both peak memories, measured in the same run.
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
    """

    description: str
    setup: Callable[[Any], Any]
    baseline: Callable[[Any], Any]
    target: Callable[[Any], Any]
    repeat: int = 3
