"""Generality of the phase identification on random powder mixtures it was never tuned on.

Twelve fixed cases — the first twelve of ``python -m benchmarks.xrd_generality --seed 0
--frozen`` (case seeds 0–11, not picked by outcome): 1–3 random phases of the library as it
was when the cases were fixed (:data:`~charsuite.datasets.xrd.GENERALITY_PHASES_V1`; the
search uses the whole current library) at 10–90 wt %,
random anisotropic strain, zero offset, specimen displacement, crystallite size,
texture, background and counts (:func:`charsuite.datasets.xrd.random_mixture_parameters`),
simulated independently of the search–match (:func:`simulate_powder_mixture`), written
to disk and read back.

Measured with the current search–match (residual line search, significance-weighted
alignment, two-sided superset rule, whole-pattern challenge of the superset rule's
choice): recall 24/26 = 0.92 (lenient, sibling confusions counted right: 25/26 = 0.96),
precision 24/25 = 0.96 (lenient 25/25 = 1.0); before the challenge (case 4, a layered
LiNiO2 read as the LiMn2O4 spinel) 0.88 / 0.92, with the code of commit 9884470 it was
0.81 / 0.875. The thresholds below are the measured values
rounded down to 0.05. The cases the current code gets wrong are strict xfails naming the
diagnosed cause (benchmarks/xrd_generality.py; a fix makes them XPASS, i.e. fail: then
remove the mark and raise the thresholds).
"""

from __future__ import annotations

import pytest

from charsuite.datasets.xrd import (
    GENERALITY_PHASES_V1,
    random_mixture_parameters,
    score_identification,
    simulate_powder_mixture,
    write_xrdml,
    write_xy,
)
from charsuite.io import read
from charsuite.xrd import analyze

SEEDS = tuple(range(12))
#: Measured 0.92 / 0.96 (lenient 0.96 / 1.0; see the module docstring), rounded down.
MIN_RECALL = 0.90
MIN_PRECISION = 0.95
MIN_RECALL_LENIENT = 0.95
MIN_PRECISION_LENIENT = 1.0

KNOWN_FAILURES = {
    0: "Li2CO3 (10 wt %, 22 nm) lines are 8–11σ but below 0.5 % of the strongest LiNiO2 "
    "peak: find_peaks' min_prominence_fraction drops them, no Li2CO3 peak is fitted (with "
    "the cut removed they are, but the coverage C still counts its lines below the "
    "detection limit as missing)",
    9: "ZnFe2O4 reported as Fe3O4 (cells 0.6 % apart): identical explained peaks, the tie "
    "goes to the higher FoM, which differs only through the strain penalty (a prior on the "
    "library cell), not through the intensities that tell Zn from Fe",
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """seed → score_identification(...) of analyze() on the written and re-read scan."""
    out = {}
    tmp = tmp_path_factory.mktemp("generality")
    for seed in SEEDS:
        case = random_mixture_parameters(seed, phases=GENERALITY_PHASES_V1)
        x, y, truth = simulate_powder_mixture(**case["kwargs"])
        path = tmp / f"case{seed}.{case['format']}"
        if case["format"] == "xrdml":
            write_xrdml(path, x, y, ka2_ratio=truth["ka2_ratio"])
        else:
            write_xy(path, x, y)
        res = analyze(read(path), whole_pattern=False)
        out[seed] = score_identification(truth, [p["name"] for p in res.phases])
    return out


def _rates(outcomes):
    det = sum(len(o["detectable"]) for o in outcomes.values())
    st = [s for o in outcomes.values() for n, s in o["status"].items() if n in o["detectable"]]
    rs = [s for o in outcomes.values() for s in o["report_status"].values()]
    return (
        st.count("found") / det,
        (st.count("found") + st.count("sibling") + st.count("merged")) / det,
        rs.count("tp") / len(rs),
        (rs.count("tp") + rs.count("sibling")) / len(rs),
    )


def test_recall_and_precision_on_random_mixtures(outcomes):
    recall, recall_lenient, precision, precision_lenient = _rates(outcomes)
    assert sum(len(o["detectable"]) for o in outcomes.values()) >= 20
    assert recall >= MIN_RECALL
    assert recall_lenient >= MIN_RECALL_LENIENT
    assert precision >= MIN_PRECISION
    assert precision_lenient >= MIN_PRECISION_LENIENT


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[s]))
        if s in KNOWN_FAILURES
        else s
        for s in SEEDS
    ],
)
def test_case_identified_exactly(outcomes, seed):
    """Every detectable phase found, nothing reported that is absent."""
    o = outcomes[seed]
    wrong = {n: s for n, s in o["status"].items() if s not in ("found", "undetectable")}
    extra = {n: s for n, s in o["report_status"].items() if s != "tp"}
    assert not wrong and not extra, (o["present"], o["reported"], wrong, extra)
