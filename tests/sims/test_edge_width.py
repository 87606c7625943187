"""Interface widths of edges only a few scans wide (thin layers sputtered fast).

Linear interpolation of the 16 % / 84 % crossings between sparse samples widens an erf
edge (+14 % at 1.5 scans); :func:`measure_edge` fits a split erf instead. The bounds
below are set just above what was measured on these fixed seeds (see each test).
"""

import warnings

import numpy as np
import pytest
from scipy.special import ndtr

from charsuite.datasets.sims import StackLayer, battery_layer_spec, make_tofdaq_stack
from charsuite.sims import calibrate_depth, depth_profile, measure_edge

#: thin layers: 40-60 scans for the whole stack, 1.5-3 scans across each interior edge
THIN_STACK = (
    StackLayer("Li", 200.0, 2.0, {"Li+": 30.0, "PO-": 0.02}),
    StackLayer("LiPON", 150.0, 1.2, {"Li+": 8.0, "PO-": 5.0}),
    StackLayer(
        "NMC811", 150.0, 1.0, {"Li+": 6.0, "NiO-": 4.0, "MnO-": 0.6, "CoO-": 0.6, "PO-": 0.05}
    ),
    StackLayer("ITO", 100.0, 0.8, {"In-": 6.0, "Li+": 0.4}),
    StackLayer("substrate", float("inf"), 0.6, {"NiO-": 0.3, "Li+": 0.05}),
)


def _split_edge(su, sl, phase, n=41, lo=2.0, hi=10.0):
    s = np.arange(n, dtype=float)
    s0 = n // 2 + phase
    y = np.where(s < s0, ndtr((s - s0) / su), ndtr((s - s0) / sl))
    return lo + (hi - lo) * y, s0


@pytest.mark.parametrize("su, sl", [(0.5, 0.5), (0.75, 0.75), (0.3, 1.0), (1.0, 1.5)])
def test_measure_edge_sparse_erf_unbiased(su, sl):
    """Noise-free split erf, 20 sampling phases: fitted width within 0.5 %, interpolation not."""
    fit_bias, lin_bias = [], []
    for phase in np.linspace(0, 1, 20, endpoint=False):
        y, s0 = _split_edge(su, sl, phase)
        kw = {"upper": (2, 12), "lower": (29, 39)}
        e = measure_edge(y, **kw)
        assert e["method"] == "split-erf fit"
        assert e["scan"] == pytest.approx(s0, abs=0.01)
        assert e["scan_16"] == pytest.approx(s0 - su, abs=0.01)
        fit_bias.append(e["width_scans"] / (su + sl) - 1)
        lin = measure_edge(y, **kw, fit=False)
        assert lin["method"] == "interpolation" and np.isnan(lin["width_err_scans"])
        lin_bias.append(lin["width_scans"] / (su + sl) - 1)
    assert np.max(np.abs(fit_bias)) < 0.005
    assert np.mean(lin_bias) > 0.04  # the bias the fit removes (+5 % … +30 % here)


def test_measure_edge_falling_and_error():
    rng = np.random.default_rng(0)
    y, s0 = _split_edge(0.8, 1.2, 0.3, lo=500.0, hi=50.0)  # falling with depth
    y = rng.poisson(y).astype(float)
    e = measure_edge(y, upper=(2, 12), lower=(29, 39))
    assert e["direction"] == "falling" and e["scan_16"] > e["scan_84"]
    assert e["scan"] == pytest.approx(s0, abs=0.2)
    assert e["width_scans"] == pytest.approx(2.0, abs=3 * e["width_err_scans"])
    assert 0 < e["width_err_scans"] < 0.3


def _thin_calibrations(n_scans, sigma_nm, seeds, noise, px):
    out = []
    for seed in seeds:
        path, truth = make_tofdaq_stack(
            _thin_calibrations.tmp / f"thin{n_scans}_{noise}_{seed}.h5",
            n_scans=n_scans,
            shape=(px, px),
            stack=THIN_STACK,
            interface_sigma_nm=sigma_nm,
            noise=noise,
            compression=None,
            seed=seed,
            force=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # substrate without thickness
            cal = calibrate_depth(depth_profile(path, dead_time=True), battery_layer_spec(truth))
        out.append((cal, truth))
    return out


@pytest.fixture
def thin(tmp_path):
    _thin_calibrations.tmp = tmp_path
    return _thin_calibrations


def test_thin_fast_widths_noise_free(thin):
    """Expected counts (no Poisson noise): interior widths within 0.8 % (measured ≤ 0.6 %,
    from plateau medians of 12-scan layers; linear interpolation: +1 … +5 % at 60 scans,
    +18 … +21 % at 40 scans)."""
    for n_scans, sigma in ((60, 12.0), (40, 10.0)):
        ((cal, truth),) = thin(n_scans, sigma, [1], "none", 12)
        for k in (1, 2):  # interior: both adjacent rates calibrated
            found, true = cal.interfaces[k], truth["interfaces"][k]
            assert true["width_scans"] < 3.3  # few scans across the edge
            assert found.width_scans == pytest.approx(true["width_scans"], rel=0.008)
            assert found.width_nm == pytest.approx(true["width_nm"], rel=0.008)
            assert found.scan == pytest.approx(true["scan"], abs=0.05)


@pytest.mark.parametrize("n_scans, sigma, worst", [(60, 12.0, 0.055), (40, 10.0, 0.12)])
def test_thin_fast_width_bias_over_seeds(thin, n_scans, sigma, worst):
    """Poisson noise (24×24 px), 6 seeds: mean bias of the interior widths (nm and scans)
    below 2 % (measured −1.6 % and −0.9 %; interpolation: +1.8 % and +18 %); single
    interfaces scatter by noise (measured max 4.7 % and 11 %)."""
    bias, errors = [], []
    for cal, truth in thin(n_scans, sigma, range(1, 7), "poisson", 24):
        for k in (1, 2):
            found, true = cal.interfaces[k], truth["interfaces"][k]
            bias.append(found.width_nm / true["width_nm"] - 1)
            bias.append(found.width_scans / true["width_scans"] - 1)
            errors.append(found.width_err_nm)
    assert abs(np.mean(bias)) < 0.02
    assert np.max(np.abs(bias)) < worst
    assert all(e is not None and e > 0 for e in errors)  # fitted, with a standard error
