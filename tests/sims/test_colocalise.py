import numpy as np
import pytest

from charsuite.datasets.sims import make_tofdaq_stack
from charsuite.exceptions import ParameterError
from charsuite.sims import calibrate_depth, colocalise, depth_profile, dispersion_test

TM = ["NiO-", "MnO-", "CoO-"]


def _layers(path, truth):
    spec = ",".join(
        f"{lay['name']}:{lay['thickness_nm']:g}nm" if lay["thickness_nm"] else lay["name"]
        for lay in truth["layers"]
    )
    return calibrate_depth(depth_profile(path), spec, rate=3.0)


@pytest.mark.parametrize("segregation", [0.0, 0.15])
def test_segregation_detected_only_when_present(tmp_path, segregation):
    path, truth = make_tofdaq_stack(
        tmp_path / "s.h5", n_scans=150, shape=(24, 24), segregation=segregation, seed=21
    )
    res = colocalise(path, species=TM, layer="NMC811", calibration=_layers(path, truth))
    assert res.segregated is truth["segregated"]
    assert (res.p_value < 1e-6) is truth["segregated"]
    r = res.pearson_by_binning
    if not truth["segregated"]:
        assert (
            r["8"]["NiO-/MnO-"] > r["1"]["NiO-/MnO-"] + 0.2
        )  # shot noise hides correlation at 1×1
    else:
        assert r["8"]["MnO-/CoO-"] < r["8"]["NiO-/MnO-"] - 0.2  # anti-correlated domains
    assert set(res.to_dict()) >= {
        "layer",
        "species",
        "pearson_by_binning",
        "dispersion_statistic",
        "p_value",
        "segregated",
        "history",
    }


def test_false_positive_rate_matches_alpha():
    rng = np.random.default_rng(0)
    p = np.array([0.8, 0.1, 0.1])
    rejections = 0
    trials = 400
    for _ in range(trials):
        totals = rng.poisson(rng.uniform(30, 120, 64))  # common lateral variation only
        cells = np.array([rng.multinomial(t, p) for t in totals])
        rejections += dispersion_test(cells)[2] < 0.05
    assert 0.025 < rejections / trials < 0.08


def test_bad_arguments(stack):
    path, _truth = stack
    with pytest.raises(ParameterError, match="unknown species"):
        colocalise(path, species=["NiO-", "Zr-"], scans=(100, 120))
    with pytest.raises(ParameterError, match="at least two"):
        colocalise(path, species=["NiO-"], scans=(100, 120))
    with pytest.raises(ParameterError, match="scans="):
        colocalise(path, species=TM)
