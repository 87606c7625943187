"""Hostile inputs: every class is refused with one line and exit 2, bounded and contained.

All cases run in one worker process under a 3 GB address-space cap (``RLIMIT_AS``),
each with a 60 s alarm; the worker reports exit status, stderr and peak RSS per case.
"""

from __future__ import annotations

import pytest

from tests.hostile.conftest import RSS_LIMIT, run_worker, tree
from tests.hostile.generators import CANARY, CASES

pytestmark = pytest.mark.skipif(
    not hasattr(__import__("os"), "mkfifo"), reason="POSIX only (FIFOs, rlimits)"
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    cases, before = [], {}
    for name, make in CASES.items():
        folder = root / name
        (folder / "in").mkdir(parents=True)
        (folder / "out").mkdir()
        argv, expect = make(folder / "in")
        cases.append({"name": name, "argv": argv, "cwd": str(folder / "out"), "expect": expect})
        before[name] = tree(folder)
    got = run_worker(cases, root)
    return {c["name"]: (c, got.get(c["name"]), before[c["name"]], root / c["name"]) for c in cases}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_in_one_line(results, name):
    case, got, before, folder = results[name]
    assert got is not None, "worker never reached this case"
    assert got["code"] == 2, got
    err = got["stderr"]
    assert err.count("\n") == 1 and err.startswith("charsuite: error:"), err
    assert "Traceback" not in err
    assert case["expect"].lower() in err.lower(), err
    assert got["maxrss"] < RSS_LIMIT, f"peak RSS {got['maxrss'] / 1e9:.2f} GB"
    assert CANARY.decode() not in got["stdout"] + err
    assert tree(folder) == before, "a file was created"
