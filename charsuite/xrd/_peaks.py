"""Peak detection and profile fitting (pseudo-Voigt or Pearson VII, Kα1/Kα2 doublets).

Overlapping peaks (closer than ``overlap`` × the sum of their half widths, e.g. NMC811
(006)/(012) and (018)/(110)) are fitted jointly in one window with a linear local
background. With ``ka2_ratio`` > 0 each peak is a Kα1 line plus a Kα2 satellite of area
ratio × A at 2θ₂ = 2·asin(λ₂/λ₁·sin θ₁), same width and shape (no stripping needed).
All windows are solved together by a batched, bounded Levenberg–Marquardt
(:mod:`charsuite.xrd._batchfit`, analytic Jacobians for both profiles); uncertainties
√diag((JᵀJ)⁻¹·χ²_red) with Poisson weights, the area error floored by the counting
statistics under the peak (Δ2θ·√Σσ² within ± max(FWHM, 2 steps)).

Unresolved lines: a weak line in the flank of a stronger one is no local maximum, so
detection alone misses it (m-ZrO2 (111) under Li2CO3 (002) in a 9:1 mixture). With
``resolve_snr`` the fit residual is searched with a Ricker matched filter
(:func:`residual_peaks`; counting noise plus a 5 % profile-model error in the variance),
significant lines are added and the affected overlap chains refitted; an added line is
kept only if the joint fit establishes it (area ≥ 3σ, ≥ 0.75 typical FWHM from every
other line and Kα2 satellite) — peaks placed on the residual of the current model, as in
interactive peak fitting [3]_.

Profiles (area-normalised, FWHM w):
pseudo-Voigt  pV = η·L + (1 − η)·G [1]_;
Pearson VII   P7 ∝ [1 + 4(2^{1/m} − 1)(x − x₀)²/w²]^{−m} [2]_.

References
----------
.. [1] G. K. Wertheim et al., Rev. Sci. Instrum. 45, 1369 (1974).
.. [2] M. M. Hall, J. Appl. Cryst. 10, 66 (1977).
.. [3] M. Wojdyr, "Fityk: a general-purpose peak fitting program", J. Appl. Cryst. 43,
   1126 (2010) — new peaks are placed on the residual of the current model.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result

PROFILES = ("pseudo_voigt", "pearson7")
_LN2x4 = 4 * np.log(2)
_G0 = np.sqrt(4 * np.log(2) / np.pi)


def pseudo_voigt(x, center, fwhm, area, eta):
    """Area-normalised pseudo-Voigt × ``area``.

    Parameters
    ----------
    x : array_like
        Abscissa, e.g. 2θ (deg).
    center : float
        Peak position (same units as ``x``).
    fwhm : float
        Full width at half maximum (same units as ``x``).
    area : float
        Integrated area (intensity × ``x`` units).
    eta : float
        Lorentzian fraction (0 = Gaussian, 1 = Lorentzian).

    Returns
    -------
    ndarray
        Profile value at each ``x``.
    """
    dx = (x - center) / fwhm
    g = np.sqrt(4 * np.log(2) / np.pi) / fwhm * np.exp(-4 * np.log(2) * dx * dx)
    lor = 2 / (np.pi * fwhm) / (1 + 4 * dx * dx)
    return area * (eta * lor + (1 - eta) * g)


def pearson7(x, center, fwhm, area, m):
    """Area-normalised Pearson VII × ``area`` (m > 0.5).

    Parameters
    ----------
    x : array_like
        Abscissa, e.g. 2θ (deg).
    center : float
        Peak position (same units as ``x``).
    fwhm : float
        Full width at half maximum (same units as ``x``).
    area : float
        Integrated area (intensity × ``x`` units).
    m : float
        Shape exponent (> 0.5; 1 = Lorentzian, large = Gaussian-like).

    Returns
    -------
    ndarray
        Profile value at each ``x``.
    """
    from scipy.special import gammaln

    k = 2 ** (1 / m) - 1
    norm = np.exp(gammaln(m) - gammaln(m - 0.5)) / np.sqrt(np.pi) * 2 * np.sqrt(k) / fwhm
    return area * norm * (1 + 4 * k * ((x - center) / fwhm) ** 2) ** (-m)


def ka2_position(two_theta, ka1: float, ka2: float):
    """2θ of the Kα2 line belonging to a Kα1 line at ``two_theta`` (deg).

    Parameters
    ----------
    two_theta : float or array_like
        Kα1 line position(s) 2θ (deg).
    ka1 : float
        Kα1 wavelength (Å).
    ka2 : float
        Kα2 wavelength (same units as ``ka1``).

    Returns
    -------
    ndarray
        Kα2 position(s) 2θ (deg).
    """
    s = np.sin(np.radians(np.asarray(two_theta, float) / 2)) * ka2 / ka1
    return np.degrees(2 * np.arcsin(np.clip(s, -1, 1)))


@dataclasses.dataclass(frozen=True)
class Peak(Result):
    """One fitted peak (Kα1 component).

    Attributes
    ----------
    two_theta, two_theta_err : float
        Kα1 position (deg).
    fwhm, fwhm_err : float
        deg.
    area, area_err : float
        Integrated Kα1 intensity (intensity units × deg).
    height : float
    shape, shape_err : float
        η (pseudo-Voigt, 0 = Gauss, 1 = Lorentz) or m (Pearson VII).
    group : int
        Index of the jointly fitted window.
    from_residual : bool
        Found in the fit residual (an unresolved shoulder), not as a local maximum.
    """

    two_theta: float
    two_theta_err: float
    fwhm: float
    fwhm_err: float
    area: float
    area_err: float
    height: float
    shape: float
    shape_err: float
    group: int
    from_residual: bool = False


def estimate_background(y, *, half_window: int):
    """SNIP-type background (pybaselines ``snip``) used for detection only."""
    from pybaselines import Baseline

    # capped at a tenth of the scan: on short scans wider windows make SNIP's edge
    # extrapolation run far below the data
    half = max(min(int(half_window), y.size // 10), 3)
    bl, _ = Baseline(np.arange(y.size)).snip(y, max_half_window=half, decreasing=True)
    return bl


def find_peaks(
    two_theta,
    intensity,
    *,
    sigma=None,
    min_snr: float = 4.0,
    min_prominence_fraction: float = 0.005,
    background=None,
    max_peaks: int = 80,
    ka2_ratio: float = 0.0,
    wavelength_ka1: float = 1.540598,
    wavelength_ka2: float = 1.544426,
):
    """Detect peaks on a background-subtracted pattern.

    A local maximum is kept when its prominence exceeds ``min_snr`` × the noise σ at that
    point (Poisson √I unless ``sigma`` is given) and ``min_prominence_fraction`` of the
    largest peak. Returns a dict of arrays ``two_theta``, ``height``, ``fwhm`` (deg, from
    half-prominence widths), ``prominence``, sorted by 2θ.

    Parameters
    ----------
    two_theta : array_like
        Scan axis 2θ (deg), at least 10 points.
    intensity : array_like
        Intensities (counts), same length.
    sigma : array_like, optional
        Noise σ per point; default √max(I, 1).
    min_snr : float
        Minimum prominence in units of the (3-point smoothed) noise σ.
    min_prominence_fraction : float
        Minimum prominence as a fraction of the largest peak's prominence.
    background : array_like, optional
        Background to subtract; default estimated with a 1.5° half window.
    max_peaks : int
        Keep at most this many peaks (the most prominent).
    ka2_ratio : float
        When > 0, drop peaks at the Kα2 position of a stronger peak.
    wavelength_ka1 : float
        Kα1 wavelength (Å) for the Kα2 positions.
    wavelength_ka2 : float
        Kα2 wavelength (Å).

    Returns
    -------
    dict of str to ndarray
        ``two_theta`` (deg), ``height`` (background-subtracted intensity), ``fwhm``
        (deg) and ``prominence`` of each peak; empty arrays when none is found.

    Raises
    ------
    DataError
        If the scan has fewer than 10 points.
    """
    from scipy.signal import find_peaks as _fp
    from scipy.signal import peak_widths

    x = np.asarray(two_theta, float)
    y = np.asarray(intensity, float)
    if x.size < 10:
        raise DataError(f"{x.size} points; peak search needs at least 10")
    step = float(np.median(np.diff(x)))
    if background is None:
        background = estimate_background(y, half_window=round(1.5 / step))
    net = y - background
    noise = np.sqrt(np.maximum(y, 1.0)) if sigma is None else np.asarray(sigma, float)
    # light smoothing (3-point) for robust maxima on noisy counts
    sm = np.convolve(net, np.ones(3) / 3, mode="same")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy PeakPropertyWarning on zero-width spikes
        idx, props = _fp(sm, prominence=0, width=1)
    if idx.size == 0:
        return {k: np.array([]) for k in ("two_theta", "height", "fwhm", "prominence")}
    prom = props["prominences"]
    top = prom.max()
    keep = (prom >= min_snr * noise[idx] / np.sqrt(3)) & (prom >= min_prominence_fraction * top)
    idx, prom = idx[keep], prom[keep]
    if idx.size > max_peaks:
        order = np.argsort(prom)[::-1][:max_peaks]
        idx, prom = idx[np.sort(order)], prom[np.sort(order)]
    widths = peak_widths(sm, idx, rel_height=0.5)[0] * step
    if ka2_ratio > 0 and idx.size > 1:
        xs, hs = x[idx], net[idx]
        drop = np.zeros(idx.size, bool)
        for i in np.argsort(hs)[::-1]:
            if drop[i]:
                continue
            x2 = ka2_position(xs[i], wavelength_ka1, wavelength_ka2)
            tol = max(0.5 * widths[i], 1.5 * step)
            near = (np.abs(xs - x2) < tol) & (hs <= 0.9 * hs[i]) & (np.arange(idx.size) != i)
            drop |= near
        idx, prom, widths = idx[~drop], prom[~drop], widths[~drop]
    return {
        "two_theta": x[idx],
        "height": net[idx],
        "fwhm": np.maximum(widths, 2 * step),
        "prominence": prom,
    }


def _chains(centers, widths, overlap):
    """Chains of peaks closer than ``overlap`` × (w₁ + w₂) to a neighbour (index lists)."""
    order = np.argsort(centers)
    chains, cur = [], [order[0]]
    for i in order[1:]:
        j = cur[-1]
        if centers[i] - centers[j] < overlap * (widths[i] + widths[j]):
            cur.append(i)
        else:
            chains.append(cur)
            cur = [i]
    chains.append(cur)
    return chains


def _groups(centers, widths, overlap, max_size: int = 5):
    """Chain peaks closer than ``overlap`` × (w₁ + w₂).

    Split chains longer than ``max_size`` at their widest gap (keeps every least-squares problem
    small).
    """
    out = []
    stack = _chains(centers, widths, overlap)[::-1]
    while stack:
        g = stack.pop()
        if len(g) <= max_size:
            out.append(g)
            continue
        gaps = np.diff(centers[g])
        k = int(np.argmax(gaps)) + 1
        stack += [g[k:], g[:k]]
    return out


def _fit_extent(x, pos, fwhm_guess, ka2_ratio, wavelength_ka1, wavelength_ka2):
    """Starting widths and the extent of each peak that decides joint fitting."""
    w0 = np.broadcast_to(
        np.asarray(0.15 if fwhm_guess is None else fwhm_guess, float), pos.shape
    ).copy()
    step = float(np.median(np.diff(x)))
    w0 = np.clip(w0, 2 * step, 3.0)
    # a Kα1/Kα2 doublet extends over the α1–α2 separation as well
    extent = w0 + (
        ka2_position(pos, wavelength_ka1, wavelength_ka2) - pos if ka2_ratio > 0 else 0.0
    )
    return w0, extent


def fit_peaks(
    two_theta,
    intensity,
    positions,
    *,
    sigma=None,
    fwhm_guess=None,
    profile: str = "pseudo_voigt",
    ka2_ratio: float = 0.0,
    wavelength_ka1: float = 1.540598,
    wavelength_ka2: float = 1.544426,
    overlap: float = 1.5,
    window_fwhm: float = 3.0,
    background=None,
    resolve_snr: float | None = None,
) -> list[Peak]:
    """Fit peaks at the given approximate positions; overlapping peaks jointly.

    Parameters
    ----------
    two_theta, intensity : array_like
        Pattern (deg, counts or counts/s).
    positions : array_like
        Starting Kα1 positions (deg).
    sigma : array_like, optional
        Intensity uncertainties (Poisson √I if omitted).
    fwhm_guess : array_like or float, optional
        Starting FWHM (deg); default 0.15°.
    profile : {"pseudo_voigt", "pearson7"}
    ka2_ratio : float
        I(Kα2)/I(Kα1); 0 when the data are Kα1 only or Kα2 was stripped.
    wavelength_ka1, wavelength_ka2 : float
        Å.
    overlap : float
        Peaks closer than ``overlap`` × (w₁ + w₂) are fitted in one window.
    window_fwhm : float
        Half window around a group, in FWHMs.
    background : array_like, optional
        Subtracted before fitting (a local linear term is always fitted too).
    resolve_snr : float, optional
        When given, lines hidden in the flank of a stronger peak (shoulders that are no
        local maximum) are added from the fit residual (:func:`residual_peaks`, matched
        filter significance ≥ ``resolve_snr``) and everything is refitted; at most two
        rounds. Added peaks carry ``from_residual=True``.

    Returns
    -------
    list of Peak
        In the order of ``positions``, followed by the peaks added from the residual.

    Raises
    ------
    ParameterError
        Unknown profile.
    """
    if resolve_snr is not None:
        return _fit_resolving(
            two_theta,
            intensity,
            positions,
            sigma=sigma,
            fwhm_guess=fwhm_guess,
            background=background,
            resolve_snr=resolve_snr,
            opts=dict(
                profile=profile,
                ka2_ratio=ka2_ratio,
                wavelength_ka1=wavelength_ka1,
                wavelength_ka2=wavelength_ka2,
                overlap=overlap,
                window_fwhm=window_fwhm,
            ),
        )
    return _fit_core(
        two_theta,
        intensity,
        positions,
        sigma=sigma,
        fwhm_guess=fwhm_guess,
        background=background,
        profile=profile,
        ka2_ratio=ka2_ratio,
        wavelength_ka1=wavelength_ka1,
        wavelength_ka2=wavelength_ka2,
        overlap=overlap,
        window_fwhm=window_fwhm,
    )[0]


#: Relative accuracy assumed for a fitted single-line profile (peak asymmetry from axial
#: divergence, Kα2/Kα1 ratio, super-Lorentzian tails): residual structure smaller than this
#: fraction of the local model is a profile misfit, not a line.
PROFILE_MODEL_ERROR = 0.05
#: Two lines closer than this many FWHMs merge into one apparent peak: a profile fit cannot
#: separate them, so no line is added there (the misfit of the merged peak is left).
MIN_RESOLVED_SEPARATION = 0.75
#: An added line is kept when its fitted area reaches this many standard errors (the 3σ
#: used for unidentified peaks and for the chance-match count in :mod:`~.match`).
MIN_ADDED_SIGNIFICANCE = 3.0


def _fit_core(
    two_theta,
    intensity,
    positions,
    *,
    sigma,
    fwhm_guess,
    background,
    profile,
    ka2_ratio,
    wavelength_ka1,
    wavelength_ka2,
    overlap,
    window_fwhm,
):
    """fit_peaks without residual search.

    Also returns the fitted local linear backgrounds as (group, lo, hi, b0, b1, xc) per window.
    """
    from charsuite.xrd._batchfit import fit_windows

    if profile not in PROFILES:
        raise ParameterError(f"profile {profile!r}; expected one of {', '.join(PROFILES)}")
    x = np.asarray(two_theta, float)
    y = np.asarray(intensity, float)
    if background is not None:
        y = y - np.asarray(background, float)
    s = (
        np.sqrt(np.maximum(np.asarray(intensity, float), 1.0))
        if sigma is None
        else np.asarray(sigma, float)
    )
    s = np.where(s > 0, s, 1.0)
    pos = np.atleast_1d(np.asarray(positions, float))
    if pos.size == 0:
        return [], []
    w0, extent = _fit_extent(x, pos, fwhm_guess, ka2_ratio, wavelength_ka1, wavelength_ka2)
    groups = _groups(pos, extent, overlap)
    step = float(np.median(np.diff(x)))
    func = pseudo_voigt if profile == "pseudo_voigt" else pearson7
    shape0, shape_lo, shape_hi = (0.5, 0.0, 1.0) if profile == "pseudo_voigt" else (2.0, 0.6, 50.0)
    out: list = [None] * pos.size
    windows, members = [], []
    for gi, grp in enumerate(groups):
        lo = pos[grp].min() - window_fwhm * w0[grp].max()
        hi = pos[grp].max() + window_fwhm * w0[grp].max()
        if ka2_ratio > 0:
            hi = max(
                hi, ka2_position(pos[grp].max(), wavelength_ka1, wavelength_ka2) + 2 * w0[grp].max()
            )
        m = (x >= lo) & (x <= hi)
        xm, ym, sm = x[m], y[m], s[m]
        n = len(grp)
        if xm.size < 4 * n + 2:
            for i in grp:
                out[i] = Peak(*([np.nan] * 9), group=gi)
            continue
        xc = 0.5 * (lo + hi)
        p0, lb, ub = [], [], []
        for i in grp:
            hgt = max(float(np.interp(pos[i], xm, ym)), 1.0)
            area = hgt * w0[i] * 1.06
            p0 += [pos[i], w0[i], area, shape0]
            lb += [pos[i] - max(w0[i], 0.05), 0.5 * step, 0.0, shape_lo]
            ub += [pos[i] + max(w0[i], 0.05), 5 * w0[i] + 0.2, np.inf, shape_hi]
        p0 += [float(np.min(ym)), 0.0]
        lb += [-np.inf, -np.inf]
        ub += [np.inf, np.inf]
        p0 = np.clip(p0, np.array(lb) + 1e-9, np.array(ub) - 1e-9)
        windows.append(dict(x=xm, y=ym, sigma=sm, xc=xc, p0=p0, lb=lb, ub=ub))
        members.append((gi, grp, lo, hi, xc))
    fits = fit_windows(
        windows,
        profile=profile,
        ka2_ratio=ka2_ratio,
        wavelength_ka1=wavelength_ka1,
        wavelength_ka2=wavelength_ka2,
    )
    baselines = []
    for (gi, grp, lo, hi, xc), (par, err, ok) in zip(members, fits):
        if not ok:
            for i in grp:
                out[i] = Peak(*([np.nan] * 9), group=gi)
            continue
        baselines.append((gi, lo, hi, float(par[-2]), float(par[-1]), xc))
        for k, i in enumerate(grp):
            c, wd, a, sh = par[4 * k : 4 * k + 4]
            ec, ew, ea, es = err[4 * k : 4 * k + 4]
            height = float(func(np.array([c]), c, wd, a, sh)[0])
            # an area is never known better than the counts under it: σ_A ≥ Δ·√Σσ²
            # within ± max(FWHM, 2 steps) — the LM error collapses for a width at its
            # lower bound (a one-channel spike would otherwise get 10⁴σ)
            half = max(wd, 2 * step)
            i0, i1 = np.searchsorted(x, [c - half, c + half])
            ea = max(float(ea), step * float(np.sqrt(np.sum(s[i0:i1] ** 2))))
            out[i] = Peak(
                two_theta=float(c),
                two_theta_err=float(ec),
                fwhm=float(wd),
                fwhm_err=float(ew),
                area=float(a),
                area_err=float(ea),
                height=height,
                shape=float(sh),
                shape_err=float(es),
                group=gi,
            )
    return out, baselines


def peak_model(
    two_theta,
    peaks,
    *,
    profile: str = "pseudo_voigt",
    ka2_ratio: float = 0.0,
    wavelength_ka1: float = 1.540598,
    wavelength_ka2: float = 1.544426,
):
    """Sum of fitted profiles (Kα1 plus Kα2 satellites), without background.

    Parameters
    ----------
    two_theta : array_like
        deg.
    peaks : sequence of Peak
        Invalid (NaN) peaks are skipped.
    profile, ka2_ratio, wavelength_ka1, wavelength_ka2
        As in :func:`fit_peaks`.

    Returns
    -------
    ndarray
        Model intensity (units of the fitted data).
    """
    func = pseudo_voigt if profile == "pseudo_voigt" else pearson7
    x = np.asarray(two_theta, float)
    out = np.zeros_like(x)
    for p in peaks:
        if p is None or not np.isfinite([p.two_theta, p.fwhm, p.area, p.shape]).all():
            continue
        # profiles are evaluated where they matter (±30 FWHM; the Lorentzian tail beyond
        # holds < 1 % of the area)
        lo, hi = np.searchsorted(x, [p.two_theta - 30 * p.fwhm, p.two_theta + 30 * p.fwhm])
        out[lo:hi] += func(x[lo:hi], p.two_theta, p.fwhm, p.area, p.shape)
        if ka2_ratio > 0:
            c2 = float(ka2_position(p.two_theta, wavelength_ka1, wavelength_ka2))
            lo, hi = np.searchsorted(x, [c2 - 30 * p.fwhm, c2 + 30 * p.fwhm])
            out[lo:hi] += func(x[lo:hi], c2, p.fwhm, ka2_ratio * p.area, p.shape)
    return out


def residual_peaks(
    two_theta,
    residual,
    *,
    sigma,
    model,
    fwhm: float,
    existing,
    min_snr: float = 4.0,
    model_error: float = PROFILE_MODEL_ERROR,
    min_separation: float = MIN_RESOLVED_SEPARATION,
):
    """Lines left in a fit residual: shoulders of stronger peaks and missed weak lines.

    The residual r = data − background − model is correlated with a zero-mean Ricker
    (Mexican-hat) kernel of the peak width — the matched filter for a line of that width
    on a slowly varying offset (the kernel is blind to constant and linear terms, so local
    background errors do not count) [1]_. Its significance uses the counting variance plus
    a systematic term for the accuracy of the profile model::

        S(x) = Σ_k k_i r_{x+i} / √(Σ_k k_i² (σ²_{x+i} + (ε·m_{x+i})²))

    with m the model and ε = ``model_error``. Local maxima with S ≥ ``min_snr``, a positive
    residual and at least ``min_separation`` FWHM from every existing line (Kα1 and Kα2)
    are returned.

    Parameters
    ----------
    two_theta, residual, sigma, model : array_like
        deg; intensity units (same length).
    fwhm : float
        Typical line FWHM (deg): sets the kernel width.
    existing : array_like
        2θ of the lines already in the model (deg).
    min_snr, model_error, min_separation : float

    Returns
    -------
    positions : ndarray
        deg, sorted.
    snr : ndarray
        S at those positions.

    References
    ----------
    .. [1] P. Du, W. A. Kibbe, S. M. Lin, Bioinformatics 22, 2059 (2006) — continuous
       wavelet (Ricker) peak detection.
    """
    from scipy.signal import find_peaks as _fp

    x = np.asarray(two_theta, float)
    r = np.asarray(residual, float)
    if x.size < 10:
        return np.array([]), np.array([])
    step = float(np.median(np.diff(x)))
    sg = max(fwhm / (2 * np.sqrt(2 * np.log(2))) / step, 1.0)  # Gaussian σ in points
    half = int(np.ceil(4 * sg))
    t = np.arange(-half, half + 1) / sg
    kern = (1 - t * t) * np.exp(-0.5 * t * t)
    kern -= kern.mean()  # exactly zero-sum: blind to a constant offset (and, symmetric, a slope)
    var = np.asarray(sigma, float) ** 2 + (model_error * np.asarray(model, float)) ** 2
    num = np.convolve(r, kern, mode="same")
    den = np.sqrt(np.convolve(var, kern * kern, mode="same"))
    snr = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    snr[:half] = snr[-half:] = 0.0  # the kernel runs off the scan
    idx, _ = _fp(snr, height=min_snr)
    ex = np.asarray(existing, float)
    if ex.size:
        far = np.min(np.abs(x[idx, None] - ex[None, :]), axis=1) >= min_separation * fwhm
        idx = idx[far]
    idx = idx[r[idx] > 0]
    return x[idx], snr[idx]


class _Resolver:
    """Shared state of :func:`_fit_resolving`: the lines, their fits and fit windows."""

    def __init__(self, x, y, pos, w0, *, sigma, background, opts):
        self.x = x
        self.net = y - (0.0 if background is None else np.asarray(background, float))
        self.s = np.sqrt(np.maximum(y, 1.0)) if sigma is None else np.asarray(sigma, float)
        self.pos, self.w0 = pos, w0
        self.n_given = len(pos)
        self.opts = opts
        self.model_opts = {
            k: opts[k] for k in ("profile", "ka2_ratio", "wavelength_ka1", "wavelength_ka2")
        }
        self.group_opts = (opts["ka2_ratio"], opts["wavelength_ka1"], opts["wavelength_ka2"])
        self.core = dict(sigma=sigma, background=background, **opts)
        self.y = y
        fits, base = _fit_core(x, y, pos, fwhm_guess=w0, **self.core)
        self.fits = fits
        self.windows = {b[0]: b[1:] for b in base}
        # the detection-only fit, restored wherever no added line survives
        self.fits0, self.w00 = list(fits), list(w0)
        self.chains0 = _chains(
            np.array(pos),
            _fit_extent(x, np.array(pos), np.array(w0), *self.group_opts)[1],
            opts["overlap"],
        )
        self.windows_all = dict(self.windows)  # every window ever fitted, by (unique) group id
        self.next_group = 1 + max((p.group for p in fits if p is not None), default=-1)
        self.tried: list = []  # residual lines the joint fit rejected: not proposed again

    def chains_of(self, changed):
        """Every line of the overlap chains holding a changed line.

        (whole chains, so that fitting the subset forms the same fit groups as fitting all lines).
        """
        pa = np.array(self.pos)
        _, ext = _fit_extent(self.x, pa, np.array(self.w0), *self.group_opts)
        return sorted(
            {i for c in _chains(pa, ext, self.opts["overlap"]) if set(c) & changed for i in c}
        )

    def refit(self, idx):
        """Refit lines ``idx`` (whole chains) under fresh group ids."""
        fits, windows = self.fits, self.windows
        part, pbase = _fit_core(
            self.x,
            self.y,
            [self.pos[i] for i in idx],
            fwhm_guess=[self.w0[i] for i in idx],
            **self.core,
        )
        off = self.next_group
        for i, p in zip(idx, part):
            fits[i] = p if p is None else dataclasses.replace(p, group=p.group + off)
        for b in pbase:
            windows[b[0] + off] = self.windows_all[b[0] + off] = b[1:]
        self.next_group += 1 + max((p.group for p in part if p is not None), default=-1)
        live = {p.group for p in fits if p is not None}
        for g in [g for g in windows if g not in live]:
            del windows[g]

    def local_background(self, wins=None):
        """Local linear backgrounds of the fit windows (mean where they overlap)."""
        x = self.x
        out, cnt = np.zeros_like(x), np.zeros_like(x)
        for lo, hi, b0, b1, xc in (self.windows if wins is None else wins).values():
            i, j = np.searchsorted(x, [lo, hi])
            out[i:j] += b0 + b1 * (x[i:j] - xc)
            cnt[i:j] += 1
        return out / np.maximum(cnt, 1)  # overlapping windows: their mean

    def chi2(self, idx, cand, wins, margin):
        """χ² of lines ``cand`` (+ their windows' local backgrounds) near lines idx."""
        x = self.x
        c = np.array([self.pos[i] for i in idx])
        i, j = np.searchsorted(x, [c.min() - margin, c.max() + margin])
        groups = {p.group for p in cand if p is not None}
        m = peak_model(x[i:j], [p for p in cand if p is not None], **self.model_opts)
        bgl = self.local_background({g: w for g, w in wins.items() if g in groups})[i:j]
        return float(np.sum(((self.net[i:j] - m - bgl) / self.s[i:j]) ** 2))

    def keep_live_windows(self):
        """Windows := the fitted windows of the groups still in use."""
        live = {p.group for p in self.fits if p is not None}
        self.windows.clear()
        self.windows.update({g: w for g, w in self.windows_all.items() if g in live})

    def restart_blends(self):
        """Multi-start for blends.

        A chain holding a line fitted much broader than the scan's lines (or insignificant
        although detected) may sit in a poor local minimum — a broad profile traded against
        the local background, started from the half-prominence width of a merged blend. It
        is refitted from the typical width and the lower χ² kept.
        """
        fits, w0 = self.fits, self.w0
        typ = typical_fwhm([p for p in fits if p is not None and np.isfinite(p.two_theta)])
        restart = [
            c
            for c in (self.chains0 if np.isfinite(typ) else [])
            if any(w0[i] > typ for i in c)
            and any(
                fits[i] is not None
                and (
                    not np.isfinite(fits[i].area_err)
                    or fits[i].fwhm > 2 * typ
                    or fits[i].area < 2 * fits[i].area_err
                )
                for i in c
            )
        ]
        if restart:
            before = {i: (fits[i], w0[i]) for c in restart for i in c}
            for i in before:
                w0[i] = min(w0[i], typ)
            self.refit(sorted(before))  # all restarted chains in one batched fit
            for c in restart:
                old = [before[i][0] for i in c]
                if self.chi2(c, [fits[i] for i in c], self.windows, 2 * typ) >= self.chi2(
                    c, old, self.windows_all, 2 * typ
                ):
                    for i in c:
                        fits[i], w0[i] = before[i]
            self.keep_live_windows()
        self.fits0, self.w00 = list(fits), list(w0)

    def add_residual_lines(self, resolve_snr):
        """Add the lines of the residual and refit their chains; False if none (or no fit)."""
        opts = self.opts
        good = [p for p in self.fits if p is not None and np.isfinite(p.two_theta)]
        if not good:
            return False
        fwhm = typical_fwhm(good)
        model = peak_model(self.x, good, **self.model_opts)
        lines = [p.two_theta for p in good]
        if opts["ka2_ratio"] > 0:
            lines += list(ka2_position(lines, opts["wavelength_ka1"], opts["wavelength_ka2"]))
        new, _ = residual_peaks(
            self.x,
            self.net - model - self.local_background(),
            sigma=self.s,
            model=model,
            fwhm=fwhm,
            existing=lines + self.tried,
            min_snr=resolve_snr,
        )
        if new.size == 0:
            return False
        start = len(self.pos)
        self.pos += list(new)
        self.w0 += [fwhm] * new.size
        self.fits += [None] * new.size
        chain = self.chains_of(set(range(start, len(self.pos))))
        # the lines around a new one restart from the scan's typical width: the
        # half-prominence width of a blend overestimates it, and a profile started that
        # broad can swallow the new line together with the local background
        for i in chain:
            self.w0[i] = min(self.w0[i], fwhm)
        self.refit(chain)
        return True

    def drop_weak(self):
        """Drop the added lines the joint fit cannot establish and refit their chains.

        Repeated until every added line left is resolved.
        """
        n_given = self.n_given
        while weak := {
            i for i in range(n_given, len(self.pos)) if not _resolved(self.fits, i, self.opts)
        }:
            pos, w0, fits = self.pos, self.w0, self.fits
            self.tried += [pos[i] for i in weak]
            affected = set(self.chains_of(weak)) - weak
            keep = [i for i in range(len(pos)) if i not in weak]
            renum = {old: new_i for new_i, old in enumerate(keep)}
            self.pos, self.w0 = [pos[i] for i in keep], [w0[i] for i in keep]
            self.fits = [fits[i] for i in keep]
            chain = self.chains_of({renum[i] for i in affected})
            # detection-only chains touched; if no added line is left near them, they go
            # back to the detection-only fit exactly (a rejected line changes nothing)
            back = sorted({i for c in self.chains0 if set(c) & set(chain) for i in c})
            if any(i >= n_given for i in self.chains_of(set(back))):
                self.refit(chain)
                continue
            for i in back:
                self.w0[i], self.fits[i] = self.w00[i], self.fits0[i]
            self.keep_live_windows()


def _fit_resolving(
    two_theta,
    intensity,
    positions,
    *,
    sigma,
    fwhm_guess,
    background,
    resolve_snr,
    opts,
    max_rounds: int = 2,
):
    """fit_peaks plus lines found in the residual (see ``resolve_snr``).

    Only the overlap chains that gain or lose a line are refitted; the others keep their
    fit. The residual is taken against the full fitted model: profiles plus each window's
    local linear background (a broad profile and a local offset trade off against each
    other, so the profiles alone can lie far above or below the data).
    """
    x = np.asarray(two_theta, float)
    y = np.asarray(intensity, float)
    pos = list(np.atleast_1d(np.asarray(positions, float)))
    n_given = len(pos)
    if n_given == 0:
        return []
    w0 = np.broadcast_to(
        np.asarray(0.15 if fwhm_guess is None else fwhm_guess, float), (n_given,)
    ).tolist()
    st = _Resolver(x, y, pos, w0, sigma=sigma, background=background, opts=opts)
    st.restart_blends()
    for _ in range(max_rounds):
        if not st.add_residual_lines(resolve_snr):
            break
        st.drop_weak()
    fits = st.fits
    return fits[:n_given] + [dataclasses.replace(p, from_residual=True) for p in fits[n_given:]]


def typical_fwhm(peaks):
    """Median FWHM of the significant lines (area ≥ 3σ; all if none).

    The scan's line width, not that of noise spikes.
    """
    ok = [p for p in peaks if np.isfinite(p.fwhm)]
    sig = [p.fwhm for p in ok if np.isfinite(p.area_err) and p.area >= 3 * p.area_err]
    return float(np.median(sig or [p.fwhm for p in ok] or [np.nan]))


def _resolved(fits, i, opts):
    """Decide whether added line ``i`` is established by the joint fit.

    Its area must reach MIN_ADDED_SIGNIFICANCE standard errors (else the neighbour's profile absorbs it) and it
    must stay MIN_RESOLVED_SEPARATION typical FWHMs (median of the scan) from every other
    line and Kα2 satellite (else the fit only reshapes the neighbour — asymmetry or tails —
    into two components). The scan's typical width, not the neighbour's, is the unit: a
    neighbour fitted far too broad is itself an unresolved multiplet.
    """
    p = fits[i]
    if p is None or not np.isfinite([p.two_theta, p.area, p.area_err, p.fwhm]).all():
        return False
    if p.area < MIN_ADDED_SIGNIFICANCE * p.area_err:
        return False
    others = [
        q for j, q in enumerate(fits) if j != i and q is not None and np.isfinite(q.two_theta)
    ]
    if not others:
        return True
    typical = typical_fwhm(others)
    near = np.array([q.two_theta for q in others])
    if opts["ka2_ratio"] > 0:
        near = np.concatenate(
            [near, ka2_position(near, opts["wavelength_ka1"], opts["wavelength_ka2"])]
        )
    return bool(np.min(np.abs(near - p.two_theta)) >= MIN_RESOLVED_SEPARATION * typical)
