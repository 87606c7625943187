"""Le Bail whole-pattern confirmation on a generated standard scan with known cell and zero."""

from __future__ import annotations

import numpy as np
import pytest

from charsuite.exceptions import ParameterError
from charsuite.io import read
from charsuite.xrd import analyze


@pytest.fixture(scope="module")
def si_scan(tmp_path_factory):
    from charsuite.datasets.xrd import simulate_standard, write_xrdml

    kw = {"zero_offset_deg": 0.06, "ka2_ratio": 0.5, "seed": 5}
    x, y, truth = simulate_standard(phase="Si", peak_counts=20000, **kw)
    path = write_xrdml(tmp_path_factory.mktemp("lb") / "si.xrdml", x, y, ka2_ratio=0.5)
    return read(path), truth


def test_le_bail_refines_cell_zero_and_fits(si_scan):
    da, _ = si_scan
    res = analyze(da, phases=["Si"], whole_pattern="lebail")
    wp = res.whole_pattern
    assert wp["method"].startswith("Le Bail")
    a = wp["cells"]["Si"][0]
    assert a == pytest.approx(5.431179, abs=0.002)
    assert wp["zero_offset_deg"] == pytest.approx(0.06, abs=0.02)
    pawley = analyze(da, phases=["Si"]).whole_pattern
    assert pawley["method"].startswith("Pawley")
    # the refined, simpler profile model (FWHM = w0 + w1·tanθ, one η) fits about as well as
    # the fixed-profile check with one free intensity per reflection
    assert wp["rwp"] <= pawley["rwp"] * 1.15
    assert wp["rwp"] < 0.3
    assert res.phases[0]["rwp"] == pytest.approx(wp["per_phase_rwp"]["Si"])
    assert np.isfinite(wp["rexp"])


def test_whole_pattern_option_checked(si_scan):
    da, _ = si_scan
    with pytest.raises(ParameterError, match="whole_pattern"):
        analyze(da, phases=["Si"], whole_pattern="rietveld")
