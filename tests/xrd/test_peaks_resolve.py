"""Lines hidden in the flank of a stronger peak: residual search in fit_peaks(resolve_snr=)."""

from __future__ import annotations

import numpy as np
import pytest

from charsuite.xrd import (
    find_peaks,
    fit_peaks,
    ka2_position,
    peak_model,
    pseudo_voigt,
    residual_peaks,
)

L1, L2 = 1.540598, 1.544426


def _scan(lines, *, seed, lo=28.0, hi=36.0, step=0.01, background=200.0, ka2=0.5, scale=1.0):
    """Poisson counts of pseudo-Voigt Kα1/Kα2 doublets (c, fwhm, area) on a flat background."""
    rng = np.random.default_rng(seed)
    x = np.arange(lo, hi, step)
    y = np.full_like(x, background)
    for c, w, a in lines:
        y += pseudo_voigt(x, c, w, a * scale, 0.5)
        if ka2:
            y += pseudo_voigt(x, ka2_position(c, L1, L2), w, ka2 * a * scale, 0.5)
    return x, rng.poisson(y).astype(float)


def _fit(x, y, *, resolve=4.0, ka2=0.5):
    bg = np.full_like(y, np.median(y[:100]))
    found = find_peaks(x, y, background=bg, ka2_ratio=ka2, wavelength_ka1=L1, wavelength_ka2=L2)
    return found, fit_peaks(
        x,
        y,
        found["two_theta"],
        fwhm_guess=found["fwhm"],
        background=bg,
        ka2_ratio=ka2,
        wavelength_ka1=L1,
        wavelength_ka2=L2,
        resolve_snr=resolve,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shoulder_is_found_and_fitted(seed):
    """A line 0.3° (1.5 FWHM) below one five times stronger is no local maximum; it is
    found in the residual and fitted jointly (position, area)."""
    main, shoulder = (32.10, 0.2, 1000.0), (31.80, 0.2, 200.0)
    x, y = _scan([main, shoulder], seed=seed)
    found, peaks = _fit(x, y)
    assert not np.any(np.abs(found["two_theta"] - shoulder[0]) < 0.1)  # not a maximum
    added = [p for p in peaks if p.from_residual]
    assert len(added) == 1
    assert added[0].two_theta == pytest.approx(shoulder[0], abs=0.03)
    assert added[0].area == pytest.approx(shoulder[2], rel=0.25)
    strong = min(peaks, key=lambda p: abs(p.two_theta - main[0]))
    assert strong.area == pytest.approx(main[2], rel=0.1)
    assert added[0].group == strong.group  # fitted jointly


def test_without_resolve_the_shoulder_is_missed():
    x, y = _scan([(32.10, 0.2, 1000.0), (31.80, 0.2, 200.0)], seed=0)
    _, peaks = _fit(x, y, resolve=None)
    assert not any(abs(p.two_theta - 31.80) < 0.1 for p in peaks)


@pytest.mark.parametrize("seed", range(6))
def test_single_lines_gain_no_spurious_shoulders(seed):
    """Isolated Kα doublets of very different strength (up to 10⁵ counts): the Kα2
    satellite and counting noise are not reported as extra lines; a weak line that is no
    clear maximum may be recovered from the residual."""
    lines = [(29.0, 0.15, 20.0), (31.5, 0.18, 2000.0), (34.0, 0.2, 20000.0)]
    x, y = _scan(lines, seed=seed, lo=27.0, hi=36.0)
    _, peaks = _fit(x, y)
    assert sorted(round(p.two_theta, 1) for p in peaks) == [29.0, 31.5, 34.0]
    assert all(p.two_theta < 30 for p in peaks if p.from_residual)


def test_kalpha1_only_data():
    """Kα1-only (monochromated) data: a shoulder where a Kα2 would sit is a real line."""
    c = 45.0
    x, y = _scan(
        [(c, 0.12, 3000.0), (ka2_position(c, L1, L2), 0.12, 800.0)], seed=3, ka2=0, lo=43, hi=47
    )
    _, peaks = _fit(x, y, ka2=0.0)
    assert sorted(round(p.two_theta, 1) for p in peaks) == [45.0, 45.1]


def test_residual_peaks_ignores_offsets_and_profile_error():
    """The Ricker matched filter is blind to a constant and linear residual; a residual
    proportional to the model below ``model_error`` is not a line."""
    x = np.arange(20.0, 30.0, 0.01)
    model = pseudo_voigt(x, 25.0, 0.2, 5000.0, 0.5)
    sigma = np.sqrt(200.0 + model)
    offset = 40.0 + 3.0 * (x - 25.0)
    pos, _ = residual_peaks(
        x, offset + 0.03 * model, sigma=sigma, model=model, fwhm=0.2, existing=[25.0]
    )
    assert pos.size == 0
    bump = pseudo_voigt(x, 27.0, 0.2, 30.0, 0.5)
    pos, snr = residual_peaks(x, offset + bump, sigma=sigma, model=model, fwhm=0.2, existing=[25.0])
    assert pos == pytest.approx([27.0], abs=0.02)
    assert snr[0] > 4


def test_peak_model_is_the_fitted_sum():
    x, y = _scan([(32.0, 0.2, 1000.0)], seed=5, background=0.0)
    _, peaks = _fit(x, y + 1.0, resolve=None)
    m = peak_model(x, peaks, ka2_ratio=0.5, wavelength_ka1=L1, wavelength_ka2=L2)
    assert np.trapezoid(m, x) == pytest.approx(1500.0, rel=0.05)  # Kα1 + ½ Kα2
