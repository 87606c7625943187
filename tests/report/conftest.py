"""One demo report per session (the generated sample with its ground truth), shared by tests."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory):
    """``(outdir, summary dict, DemoResult)`` of ``run_demo`` with two worker processes."""
    from charsuite.demo import run_demo

    out = tmp_path_factory.mktemp("demo") / "out"
    result = run_demo(out, jobs=2)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return out, summary, result
