"""Sample report: a rerun with nothing changed against the first run of the same TOML.

Both sides build the demo sample's report serially (``jobs=1``) from the same files; the
baseline starts from an empty output folder, the target from one whose cache a first run
filled (setup, untimed). The issue's bar: the rerun takes < 10 % of the first run.
"""

from __future__ import annotations

import shutil

from benchmarks import Case


def _setup(workdir):
    from charsuite.demo import write_sample
    from charsuite.report import build_report

    toml, _ = write_sample(workdir / "data")
    build_report(toml, workdir / "warm")
    return {"toml": toml, "workdir": workdir, "runs": 0}


def _first(state):
    from charsuite.report import build_report

    state["runs"] += 1
    out = state["workdir"] / f"cold{state['runs']}"
    build_report(state["toml"], out)
    shutil.rmtree(out)


def _rerun(state):
    from charsuite.report import build_report

    result = build_report(state["toml"], state["workdir"] / "warm", force=True)
    assert set(result.steps.values()) == {"cached"}, result.steps


CASES = {
    "rerun": Case(
        description="demo sample report rerun, nothing changed (target) vs first run (baseline)",
        setup=_setup,
        baseline=_first,
        target=_rerun,
        repeat=1,
    ),
}
