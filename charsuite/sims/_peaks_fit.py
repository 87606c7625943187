"""Profile fit of one TOF peak: position, FWHM and their uncertainties.

Half-maximum crossings of a noisy peak put the FWHM only as well as two samples' counts
allow (about 10 % at 1.7·10³ counts); a profile fitted to every sample of the peak uses
all of them. The model, in TOF samples ``x``, is a split pseudo-Voigt on a linear
background,

    f(x) = A·[(1 − η)·G(x) + η·L(x)] + B(x),

where G and L are a Gaussian and a Lorentzian of unit height and equal half width at half
maximum,
``h_l = w(1 − s)`` left of the apex ``μ`` and ``h_r = w·s`` right of it (the
asymmetric pseudo-Voigt of TOFWERK's peak fitting, sims-spectra notes §2). The FWHM is
``w`` by construction (``h_l + h_r``), so its uncertainty is read directly from the
covariance. ``s = ½, η = 0`` is a Gaussian. The background ``B`` is linear between its
values ``b_l, b_r ≥ 0`` at the window ends (non-negative, so the model cannot dip below
zero to mimic a tail). The profile is evaluated at sample centres
(no bin integration; for a FWHM of ≥ 4 samples the difference is < 1.5 % in width).

Fitting is maximum likelihood for Poisson counts: :func:`scipy.optimize.least_squares`
minimises the sum of squared deviance residuals
``r = sign(y − f)·√(2(f − y + y·ln(y/f)))`` (McCullagh & Nelder 1989, §6.2), which stays
unbiased where a few counts per sample make χ² with ``1/y`` weights biased. The
covariance is ``(JᵀJ)⁻¹`` (the Fisher information of Poisson counts) times the
dispersion ``max(1, D/(n − p))`` (``D`` = deviance), so analog (mV-summed)
spectra whose variance exceeds Poisson get honest, larger error bars.

The shape (``η``, ``s``) is fitted with the peak when the peak's counts determine it;
:func:`charsuite.sims.find_peaks` otherwise shares the shape of the spectrum's
well-determined peaks (TOFWERK's ``TwMultiPeakFit`` shares the shape in the same way).
A fit that fails (no convergence, a parameter at its bound, a non-finite covariance, a
width uncertainty above half the width) returns ``None`` and the caller falls back to
the half-maximum crossings, flagged. A fit that converges but does not describe the
peak (deviance goodness of fit ``P(χ²(n − p) ≥ D) < GOF_ALPHA``: a peak with enough
counts to show that its shape is not a split pseudo-Voigt, e.g. an exponential tail, or
analog sums with more than Poisson variance) keeps its fitted centre, but its FWHM is
taken from the model-free half-maximum crossings, which such a peak has the counts to
place precisely; that is flagged too.
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: Fit window: apex ± this many half-maximum FWHMs (enough wing to see η and a slope).
WINDOW_FWHM = 2.0
#: Level of the goodness-of-fit test below which the fitted FWHM is not used.
GOF_ALPHA = 1e-3
#: A free shape is trusted when σ_η and σ_s are at most these (else the shared shape).
SHAPE_SIGMA_MAX = (0.1, 0.05)


@dataclasses.dataclass(frozen=True)
class ProfileShape:
    """Lorentz fraction ``eta`` and right-half fraction ``s`` of the FWHM (½ = symmetric)."""

    eta: float = 0.0
    s: float = 0.5


@dataclasses.dataclass(frozen=True)
class ProfileFit:
    """Fitted profile of one peak (sample units)."""

    centre: float
    sigma_centre: float
    fwhm: float
    sigma_fwhm: float
    shape: ProfileShape
    sigma_shape: tuple[float, float]  # (σ_η, σ_s); nan when the shape was held fixed
    height: float
    area: float
    background: float  # at the centre, counts per sample
    dispersion: float  # deviance / (n − p)
    gof_p: float = 1.0  # P(χ²(n − p) ≥ deviance): goodness of fit for Poisson counts

    @property
    def half_widths(self) -> tuple[float, float]:
        """Left and right half width at half maximum (samples)."""
        return self.fwhm * (1.0 - self.shape.s), self.fwhm * self.shape.s


def profile(x, centre, fwhm, height, shape: ProfileShape):
    """Split pseudo-Voigt of apex ``height`` at ``centre`` (no background).

    Written here rather than taken from :func:`charsuite.xrd.pseudo_voigt` (area-normalised,
    symmetric): the layering rules keep ``sims`` from importing ``xrd``, and the split form
    is parametrised by its apex height and the two half widths.

    Parameters
    ----------
    x : array_like
        Samples.
    centre, fwhm, height : float
        Apex position, FWHM (``h_l + h_r``) and apex height.
    shape : ProfileShape

    Returns
    -------
    ndarray
    """
    x = np.asarray(x, dtype=float)
    half = np.where(x < centre, fwhm * (1.0 - shape.s), fwhm * shape.s)  # HWHM per side
    u2 = ((x - centre) / half) ** 2
    return height * ((1 - shape.eta) * np.exp(-np.log(2) * u2) + shape.eta / (1 + u2))


def _area(height: float, fwhm: float, eta: float) -> float:
    """Integral of the split pseudo-Voigt: ``A·w·[(1−η)·√(π/ln2)/2 + η·π/2]``."""
    return height * fwhm * ((1 - eta) * np.sqrt(np.pi / np.log(2)) / 2 + eta * np.pi / 2)


def _deviance_residuals(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    mu = np.maximum(mu, 1e-9)
    pos = y > 0
    term = mu - y
    term[pos] += y[pos] * np.log(y[pos] / mu[pos])
    return np.sign(y - mu) * np.sqrt(2.0 * np.maximum(term, 0.0))


def _model(p, x, shape: ProfileShape | None):
    if shape is None:
        a, mu, w, s, eta, bl, br = p
        shape = ProfileShape(eta, s)
    else:
        a, mu, w, bl, br = p
    t = (x - x[0]) / max(x[-1] - x[0], 1.0)
    return profile(x, mu, w, a, shape) + bl + (br - bl) * t


def fit_profile(
    y, x, *, centre: float, fwhm: float, background: float, shape: ProfileShape | None = None
) -> ProfileFit | None:
    """Fit one peak by Poisson maximum likelihood; ``None`` when the fit is not trustworthy.

    Parameters
    ----------
    y : array_like
        Counts per sample in the fit window (may be non-integer for analog sums).
    x : array_like
        Sample indices of ``y``.
    centre, fwhm, background : float
        Starting values (from the half-maximum crossings and the local baseline).
    shape : ProfileShape, optional
        Hold the shape fixed (fit ``A, μ, w, b₀, b₁``); default fit ``η`` and ``s`` too.

    Returns
    -------
    ProfileFit or None
        None when least squares does not converge, ``μ`` or ``w`` end at a bound, the
        covariance is not finite, or there are fewer samples than parameters + 3.
    """
    from scipy.optimize import least_squares

    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    height = max(float(np.max(y) - background), 1e-9)
    bg = max(background, 0.0)
    # parameters: A, μ, w, [s, η,] b_l, b_r
    free = shape is None
    lo = [0.0, centre - fwhm, 0.3 * fwhm, *([0.1, 0.0] if free else []), 0.0, 0.0]
    hi = [np.inf, centre + fwhm, 3.0 * fwhm, *([0.9, 1.0] if free else []), np.inf, np.inf]
    p0 = [height, centre, fwhm, *([0.5, 0.2] if free else []), bg, bg]
    if y.size < len(p0) + 3:
        return None
    try:
        res = least_squares(
            lambda p: _deviance_residuals(y, _model(p, x, shape)),
            np.clip(p0, np.nextafter(lo, 1), np.nextafter(hi, -1)),
            bounds=(lo, hi),
            x_scale="jac",
            max_nfev=400,
        )
    except (ValueError, np.linalg.LinAlgError):
        return None
    return _summarise(res, y, x, shape, lo, hi)


def _summarise(res, y, x, shape, lo, hi) -> ProfileFit | None:
    from scipy.stats import chi2

    p = res.x
    at_bound = [abs(p[k] - b) < 1e-6 * max(1.0, abs(b)) for k in (1, 2) for b in (lo[k], hi[k])]
    if not res.success or any(at_bound):
        return None
    try:
        cov = np.linalg.inv(res.jac.T @ res.jac)
    except np.linalg.LinAlgError:
        return None
    dof = max(y.size - p.size, 1)
    dispersion = float(2 * res.cost / dof)  # deviance / dof
    with np.errstate(invalid="ignore"):  # a negative variance = singular fit: refused below
        sig = np.sqrt(np.diag(cov) * max(1.0, dispersion))
    if not np.all(np.isfinite(sig)) or sig[2] > 0.5 * p[2]:
        return None  # singular, or the width is not determined by the data
    if shape is None:
        fitted, sig_shape = ProfileShape(float(p[4]), float(p[3])), (float(sig[4]), float(sig[3]))
    else:
        fitted, sig_shape = shape, (np.nan, np.nan)
    return ProfileFit(
        centre=float(p[1]),
        sigma_centre=float(sig[1]),
        fwhm=float(p[2]),
        sigma_fwhm=float(sig[2]),
        shape=fitted,
        sigma_shape=sig_shape,
        height=float(p[0]),
        area=_area(float(p[0]), float(p[2]), fitted.eta),
        background=float(np.interp(p[1], x[[0, -1]], p[-2:])),
        dispersion=dispersion,
        gof_p=float(chi2.sf(2 * res.cost, dof)),
    )


def shape_determined(eta, s, sigma_eta, sigma_s) -> bool:
    """True when a fit fixed its own shape: σ_η and σ_s finite and within SHAPE_SIGMA_MAX."""
    del eta, s
    return bool(sigma_eta <= SHAPE_SIGMA_MAX[0] and sigma_s <= SHAPE_SIGMA_MAX[1])


def shared_shape(shapes) -> ProfileShape | None:
    """Inverse-variance weighted mean of the determined shapes ``(η, s, σ_η, σ_s)``."""
    good = np.array([t for t in shapes if shape_determined(*t)], dtype=float).reshape(-1, 4)
    if not good.size:
        return None
    we = 1 / np.maximum(good[:, 2], 1e-3) ** 2
    ws = 1 / np.maximum(good[:, 3], 1e-3) ** 2
    return ProfileShape(
        float(np.sum(we * good[:, 0]) / we.sum()), float(np.sum(ws * good[:, 1]) / ws.sum())
    )
