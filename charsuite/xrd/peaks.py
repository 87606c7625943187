"""Peak detection and profile fitting (pseudo-Voigt or Pearson VII, Kα1/Kα2 doublets).

Overlapping peaks (closer than ``overlap`` × the sum of their half widths, e.g. NMC811
(006)/(012) and (018)/(110)) are fitted jointly in one window with a linear local
background. With ``ka2_ratio`` > 0 each peak is a Kα1 line plus a Kα2 satellite of area
ratio × A at 2θ₂ = 2·asin(λ₂/λ₁·sin θ₁), same width and shape (no stripping needed).
All windows are solved together by a batched, bounded Levenberg–Marquardt
(:mod:`charsuite.xrd._batchfit`, analytic Jacobians for both profiles); uncertainties
√diag((JᵀJ)⁻¹·χ²_red) with Poisson weights.

Profiles (area-normalised, FWHM w):
pseudo-Voigt  pV = η·L + (1 − η)·G [1]_;
Pearson VII   P7 ∝ [1 + 4(2^{1/m} − 1)(x − x₀)²/w²]^{−m} [2]_.

References
----------
.. [1] G. K. Wertheim et al., Rev. Sci. Instrum. 45, 1369 (1974).
.. [2] M. M. Hall, J. Appl. Cryst. 10, 66 (1977).
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
    """Area-normalised pseudo-Voigt × ``area``."""
    dx = (x - center) / fwhm
    g = np.sqrt(4 * np.log(2) / np.pi) / fwhm * np.exp(-4 * np.log(2) * dx * dx)
    lor = 2 / (np.pi * fwhm) / (1 + 4 * dx * dx)
    return area * (eta * lor + (1 - eta) * g)


def pearson7(x, center, fwhm, area, m):
    """Area-normalised Pearson VII × ``area`` (m > 0.5)."""
    from scipy.special import gammaln

    k = 2 ** (1 / m) - 1
    norm = np.exp(gammaln(m) - gammaln(m - 0.5)) / np.sqrt(np.pi) * 2 * np.sqrt(k) / fwhm
    return area * norm * (1 + 4 * k * ((x - center) / fwhm) ** 2) ** (-m)


def ka2_position(two_theta, ka1: float, ka2: float):
    """2θ of the Kα2 line belonging to a Kα1 line at ``two_theta`` (deg)."""
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


def _groups(centers, widths, overlap, max_size: int = 5):
    """Chain peaks closer than ``overlap`` × (w₁ + w₂); split chains longer than ``max_size``
    at their widest gap (keeps every least-squares problem small)."""
    order = np.argsort(centers)
    groups, cur = [], [order[0]]
    for i in order[1:]:
        j = cur[-1]
        if centers[i] - centers[j] < overlap * (widths[i] + widths[j]):
            cur.append(i)
        else:
            groups.append(cur)
            cur = [i]
    groups.append(cur)
    out = []
    stack = groups[::-1]
    while stack:
        g = stack.pop()
        if len(g) <= max_size:
            out.append(g)
            continue
        gaps = np.diff(centers[g])
        k = int(np.argmax(gaps)) + 1
        stack += [g[k:], g[:k]]
    return out


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

    Returns
    -------
    list of Peak
        In the order of ``positions``.

    Raises
    ------
    ParameterError
        Unknown profile.
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
        return []
    w0 = np.broadcast_to(
        np.asarray(0.15 if fwhm_guess is None else fwhm_guess, float), pos.shape
    ).copy()
    step = float(np.median(np.diff(x)))
    w0 = np.clip(w0, 2 * step, 3.0)
    func = pseudo_voigt if profile == "pseudo_voigt" else pearson7
    shape0, shape_lo, shape_hi = (0.5, 0.0, 1.0) if profile == "pseudo_voigt" else (2.0, 0.6, 50.0)
    out: list = [None] * pos.size
    # a Kα1/Kα2 doublet extends over the α1–α2 separation as well
    extent = w0 + (
        ka2_position(pos, wavelength_ka1, wavelength_ka2) - pos if ka2_ratio > 0 else 0.0
    )
    windows, members = [], []
    for gi, grp in enumerate(_groups(pos, extent, overlap)):
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
        members.append((gi, grp))
    fits = fit_windows(
        windows,
        profile=profile,
        ka2_ratio=ka2_ratio,
        wavelength_ka1=wavelength_ka1,
        wavelength_ka2=wavelength_ka2,
    )
    for (gi, grp), (par, err, ok) in zip(members, fits):
        if not ok:
            for i in grp:
                out[i] = Peak(*([np.nan] * 9), group=gi)
            continue
        for k, i in enumerate(grp):
            c, wd, a, sh = par[4 * k : 4 * k + 4]
            ec, ew, ea, es = err[4 * k : 4 * k + 4]
            height = float(func(np.array([c]), c, wd, a, sh)[0])
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
    return out
