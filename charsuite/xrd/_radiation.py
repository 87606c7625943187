"""Stage "read radiation": Kα1 only or Kα1 + Kα2, decided from the file's statement and the data.

Conventions
-----------
* ``lines = "ka12"``: every reflection is a Kα1 line plus a Kα2 satellite of area
  ``ka2_ratio`` × A at 2θ₂ = 2·asin(λ₂/λ₁·sin θ₁) (same width and shape); ``"ka1"``: singlets.
* The file's statement (:func:`file_statement`) is the starting point. Only an incident-beam
  crystal monochromator (Ge/Si/Johansson) or an explicit Rigaku ``WaveType = Ka1`` says Kα1
  only; a PANalytical ``intended="K-Alpha 1"`` names the line used to convert d, not the
  optics, and mirrors, β filters and diffracted-beam (graphite) monochromators leave Kα2 in
  the beam (research note rietveld.md §7). A ratio of 0 in the file is taken as Kα1 only.
* The data decide when they can (:func:`doublet_test`): the strongest isolated lines above
  2θ = 35° whose Kα2 separation is at least 0.5 FWHM are fitted once as singlets and once as doublets with
  the natural ratio 0.5 (Hölzer et al. 1997), each with its own position, width, shape,
  area and linear background, so both models have the same number of free parameters and
  their χ² difference is −2 ln of the likelihood ratio. The summed difference, divided by
  the pooled reduced χ² of the fits (so profile-shape error and intensities of unknown
  scale — text files — do not count as evidence), decides when it exceeds
  2 ln 100 = 9.2 (likelihood ratio 100 : 1, "decisive" on Jeffreys' scale). A third fit
  with the ratio free gives the refined ratio (inverse-variance mean over the lines, σ
  scaled by the reduced χ²); the verdict also needs that ratio on its side of 0.25 (half
  the natural ratio) by 2σ — lines distorted by an unresolved neighbour or a poor profile
  give a likelihood ratio the ratio itself contradicts, and then the data do not decide.
  The refined ratio is reported; a doublet is fitted with the file's ratio (else 0.5).
* Otherwise the file's statement holds (source ``"file"``); with none, the doublet of a
  sealed Cu/Co/Mo tube is assumed (source ``"assumed"``, ratio 0.5), as the note advises.

References
----------
Hölzer, G. et al. (1997) Phys. Rev. A 56, 4554 — Kα1,2 wavelengths and ratio.
Jeffreys, H. (1961) Theory of Probability, 3rd ed., App. B — evidence scale.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from charsuite.exceptions import ParameterError
from charsuite.model import Result

CU_KA1, CU_KA2 = 1.540598, 1.544426
NATURAL_RATIO = 0.5
#: −2 ln(likelihood ratio) needed for the data to decide (100 : 1)
DECISIVE_DELTA_CHI2 = 2 * np.log(100.0)
#: the refined ratio must lie on the verdict's side of this value (2σ)
RATIO_SPLIT = 0.5 * NATURAL_RATIO
#: lines used by the data test, at most
MAX_TEST_LINES = 6
#: a line is usable when its Kα2 partner is at least this many FWHM away
MIN_SEPARATION_FWHM = 0.5
#: lines below this 2θ are not used: axial-divergence asymmetry (a low-angle tail) is
#: largest there and would be read as evidence against the (high-angle) Kα2 satellite
MIN_TEST_TWO_THETA = 35.0
MODES = ("auto", "ka1", "ka12")

_CRYSTAL_MONO = re.compile(r"\b(ge|si|quartz)\s*\(|johans|2\s*x\s*ge|4\s*x\s*ge|ge\s*\d{3}", re.I)


@dataclasses.dataclass(frozen=True)
class Radiation(Result):
    """Radiation used to model every reflection.

    Attributes
    ----------
    lines : {"ka1", "ka12"}
    ka2_ratio : float
        Kα2/Kα1 area ratio (0 for ``"ka1"``).
    wavelength_ka1_angstrom, wavelength_ka2_angstrom : float
    wavelength_source : str
    source : {"file", "data", "option", "assumed"}
        What decided ``lines``.
    evidence : dict
        ``file`` (the statement and its text), ``data`` (the doublet test), ``option``.
    """

    lines: str
    ka2_ratio: float
    wavelength_ka1_angstrom: float
    wavelength_ka2_angstrom: float
    wavelength_source: str
    source: str
    evidence: dict


def wavelengths(md: dict, wavelength_angstrom: float | None = None):
    """(λ₁, λ₂, file ratio or None, source) from metadata or the argument (Å)."""
    l1 = wavelength_angstrom or md.get("wavelength_angstrom")
    source = "argument" if wavelength_angstrom else "file"
    if not l1:
        l1, source = CU_KA1, "assumed Cu Kα1 (file states no wavelength)"
    l2 = md.get("wavelength_ka2_angstrom") or l1 * CU_KA2 / CU_KA1
    ratio = md.get("ka2_ratio")
    return float(l1), float(l2), (None if ratio is None else float(ratio)), source


def file_statement(md: dict) -> dict:
    """What the file says about Kα2: ``{"lines": "ka1"|"ka12"|None, "text": str}``.

    ``lines`` is None when the file says nothing that decides (a PANalytical
    ``intended="K-Alpha 1"`` label, a mirror or a β filter, a default ratio of 0.5).
    """
    mono = md.get("incident_monochromator")
    label = str(md.get("radiation_label") or "")
    ratio = md.get("ka2_ratio")
    if mono and _CRYSTAL_MONO.search(str(mono)):
        return {"lines": "ka1", "text": f"incident-beam crystal monochromator {mono!r}"}
    if md.get("radiation_label_kind") == "wave_type" and label:
        lines = "ka1" if re.fullmatch(r"k\s*a(lpha)?\s*1", label.strip(), re.I) else None
        lines = lines or ("ka12" if re.fullmatch(r"k\s*a(lpha)?", label.strip(), re.I) else None)
        return {"lines": lines, "text": f"wave type {label!r}"}
    if ratio is not None and float(ratio) == 0.0:
        return {"lines": "ka1", "text": "Kα2/Kα1 ratio 0 in the file"}
    parts = [f"label {label!r}" if label else "", f"optics {mono!r}" if mono else ""]
    text = "; ".join(p for p in parts if p) or "no statement about Kα2"
    return {"lines": None, "text": text + " (does not decide Kα2)"}


def _window_model(x, p, *, ratio, l1, l2, x0, jacobian=False):
    """Line (+ Kα2 satellite) on a linear background; with ``jacobian`` also ∂/∂p (analytic)."""
    from charsuite.xrd._batchfit import _component, _ka2

    c, w, a, eta, b0, b1 = p[:6]
    r = p[6] if ratio is None else ratio
    c2, dc2 = _ka2(np.array([c]), l1, l2)
    cen = np.array([[c, c2[0]]])
    comp = _component("pseudo_voigt", x[None, :], cen, np.full((1, 2), w), np.full((1, 2), eta))
    prof, d_c, d_w, d_s = (v[0] for v in comp)  # rows: Kα1, Kα2
    y = b0 + b1 * (x - x0) + a * (prof[0] + r * prof[1])
    if not jacobian:
        return y
    cols = [
        a * (d_c[0] + r * d_c[1] * dc2[0]),
        a * (d_w[0] + r * d_w[1]),
        prof[0] + r * prof[1],
        a * (d_s[0] + r * d_s[1]),
        np.ones_like(x),
        x - x0,
    ]
    if ratio is None:
        cols.append(a * prof[1])
    return y, np.column_stack(cols)


def _window_bounds(start):
    """Bounds (lo, hi) of [c, w, A, η, b0, b1] around a line's start (centre ± FWHM, 0.2–5 FWHM)."""
    c, w, _, _ = start
    return (
        [c - w, 0.2 * w, 0.0, 0.0, -np.inf, -np.inf],
        [c + w, 5 * w, np.inf, 1.0, np.inf, np.inf],
    )


def _fit_free(x, y, s, start, *, l1, l2):
    """Fit of one window with the Kα2 ratio free: (χ², dof, ratio, ratio σ or None, params)."""
    from scipy.optimize import least_squares

    c, w, a, b = start
    lo, hi = _window_bounds(start)
    p0, lo, hi = [c, w, a, 0.5, b, 0.0, NATURAL_RATIO], [*lo, 0.0], [*hi, 1.0]
    x0 = float(x.mean())

    def resid(p):
        return (_window_model(x, p, ratio=None, l1=l1, l2=l2, x0=x0) - y) / s

    def jac(p):
        return _window_model(x, p, ratio=None, l1=l1, l2=l2, x0=x0, jacobian=True)[1] / s[:, None]

    # χ² to 1e-6 relative is far below the decision threshold (Δχ² of 9.2)
    fit = least_squares(resid, p0, jac=jac, bounds=(lo, hi), x_scale="jac", ftol=1e-6, xtol=1e-6)
    chi2 = float(np.sum(fit.fun**2))
    dof = max(x.size - len(p0), 1)
    try:
        cov = np.linalg.inv(fit.jac.T @ fit.jac)
        err = float(np.sqrt(max(cov[6, 6], 0.0)))
    except np.linalg.LinAlgError:
        err = None
    return chi2, dof, float(fit.x[6]), err, fit.x


def _fit_fixed(x, y, s, start, *, ratio, l1, l2, p_start):
    """χ² of one window fitted with a fixed Kα2 ratio, from the ratio-free fit ``p_start``.

    The batched LM of :mod:`charsuite.xrd._batchfit` (same model, bounds and analytic
    Jacobian as :func:`_fit_free`) instead of ``scipy.optimize.least_squares``, whose
    per-iteration overhead made this stage a tenth of identification.
    """
    from charsuite.xrd._batchfit import fit_windows

    w = start[1]
    lo, hi = _window_bounds(start)
    p0 = [float(np.clip(v, lo_, hi_)) for v, lo_, hi_ in zip(p_start[:6], lo, hi)]
    p0[1] = min(max(p0[1], 0.2 * w * 1.001), 5 * w * 0.999)
    x0 = float(x.mean())
    win = {"x": x, "y": y, "sigma": s, "xc": x0, "p0": p0, "lb": lo, "ub": hi}
    ((p, _, _),) = fit_windows(
        [win], profile="pseudo_voigt", ka2_ratio=ratio, wavelength_ka1=l1, wavelength_ka2=l2
    )
    return float(np.sum(((_window_model(x, p, ratio=ratio, l1=l1, l2=l2, x0=x0) - y) / s) ** 2))


def _test_windows(x, y, sigma, *, l1, l2):
    """Windows [(slice, (center, fwhm, area, background))] of the strongest isolated lines."""
    from charsuite.xrd._peaks import estimate_background, find_peaks, ka2_position

    step = float(np.median(np.diff(x)))
    bg = estimate_background(y, half_window=round(1.5 / step))
    found = find_peaks(
        x, y, sigma=sigma, background=bg, min_snr=6.0, ka2_ratio=NATURAL_RATIO,
        wavelength_ka1=l1, wavelength_ka2=l2,
    )  # fmt: skip
    pos, width, height = found["two_theta"], found["fwhm"], found["height"]
    out = []
    sep_all = ka2_position(pos, l1, l2) - pos
    # most informative first: strong lines whose Kα2 partner is well separated
    power = height * np.minimum(sep_all / np.maximum(width, 1e-9), 2.0) ** 2
    for i in np.argsort(power)[::-1]:
        c, w = float(pos[i]), float(width[i])
        sep = float(sep_all[i])
        lo, hi = c - 3 * w, c + sep + 3 * w
        others = np.delete(pos, i)
        if sep < MIN_SEPARATION_FWHM * w or c < MIN_TEST_TWO_THETA or lo < x[0] or hi > x[-1]:
            continue
        if np.any((others > lo - w) & (others < hi + w)):
            continue
        sl = slice(int(np.searchsorted(x, lo)), int(np.searchsorted(x, hi)) + 1)
        if sl.stop - sl.start < 12:
            continue
        out.append((sl, (c, w, float(height[i]) * w * 1.06, float(np.median(bg[sl])))))
        if len(out) == MAX_TEST_LINES:
            break
    return out


def doublet_test(x, y, sigma=None, *, l1: float = CU_KA1, l2: float = CU_KA2) -> dict:
    """Singlet vs Kα1+Kα2 doublet on the strongest isolated lines (module docstring).

    Parameters
    ----------
    x, y : array
        2θ (deg, ascending) and intensity.
    sigma : array, optional
        Intensity σ (Poisson √max(I, 1) if omitted); only relative weights matter, the
        χ² difference is scaled by the pooled reduced χ².
    l1, l2 : float
        Kα1 and Kα2 wavelengths (Å).

    Returns
    -------
    dict
        ``verdict`` ("ka1", "ka12" or None = undecided), ``delta_chi2`` (χ²(singlet) −
        χ²(doublet 0.5), scaled), ``threshold``, ``ka2_ratio`` and ``ka2_ratio_err``
        (ratio-free fits, inverse-variance mean), ``reduced_chi2``, ``lines_deg``.

    Examples
    --------
    >>> from charsuite.datasets.xrd import simulate_standard
    >>> da, _ = simulate_standard(phase="Si", ka2_ratio=0.0, seed=1)  # doctest: +SKIP
    >>> doublet_test(da.two_theta.values, da.values)["verdict"]  # doctest: +SKIP
    'ka1'
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    s = (
        np.sqrt(np.maximum(y, 1.0))
        if sigma is None
        else np.maximum(np.asarray(sigma, float), 1e-300)
    )
    windows = _test_windows(x, y, s, l1=l1, l2=l2)
    out = {"verdict": None, "threshold": float(DECISIVE_DELTA_CHI2), "lines_deg": []}
    if not windows:
        return out | {"reason": "no strong isolated line with a resolvable Kα2 separation"}
    delta, chi2_free, dof_free, ratios = 0.0, 0.0, 0, []
    for sl, start in windows:
        args = (x[sl], y[sl], s[sl], start)
        c_free, dof, r, r_err, p = _fit_free(*args, l1=l1, l2=l2)
        c_single = _fit_fixed(*args, ratio=0.0, l1=l1, l2=l2, p_start=p)
        c_double = _fit_fixed(*args, ratio=NATURAL_RATIO, l1=l1, l2=l2, p_start=p)
        delta += c_single - c_double
        chi2_free, dof_free = chi2_free + c_free, dof_free + dof
        if r_err and np.isfinite(r):
            ratios.append((r, r_err))
        out["lines_deg"].append(round(start[0], 4))
        red = max(chi2_free / dof_free, 1.0)
        if len(out["lines_deg"]) >= 2 and abs(delta / red) > 10 * DECISIVE_DELTA_CHI2:
            break  # decided far beyond the threshold: more lines change nothing
    red = max(chi2_free / dof_free, 1.0)
    scaled = delta / red
    if ratios:
        r, e = np.array(ratios).T
        e = e * np.sqrt(red)
        wgt = 1 / np.maximum(e, 1e-6) ** 2
        out["ka2_ratio"] = float(np.sum(wgt * r) / wgt.sum())
        out["ka2_ratio_err"] = float(1 / np.sqrt(wgt.sum()))
    r_hat, r_err = out.get("ka2_ratio", np.nan), out.get("ka2_ratio_err", np.nan)
    # the refined ratio must agree (2σ) with the verdict: half the natural ratio separates
    # the two sources; lines distorted by an unresolved neighbour or a poor profile give a
    # likelihood ratio that the ratio itself contradicts, and then the data do not decide
    if scaled > DECISIVE_DELTA_CHI2 and r_hat - 2 * r_err >= RATIO_SPLIT:
        out["verdict"] = "ka12"
    elif scaled < -DECISIVE_DELTA_CHI2 and r_hat + 2 * r_err <= RATIO_SPLIT:
        out["verdict"] = "ka1"
    return out | {"delta_chi2": float(scaled), "reduced_chi2": float(red)}


def decide_radiation(da, *, mode: str = "auto", wavelength_angstrom: float | None = None):
    """Decide Kα1 only vs Kα1 + Kα2 for a 1D scan (module docstring).

    Parameters
    ----------
    da : DataArray
        1D scan from :func:`charsuite.io.read`.
    mode : {"auto", "ka1", "ka12"}
        ``"auto"``: data, then file, then assumed doublet; otherwise the option decides
        (the data test is still run and reported).
    wavelength_angstrom : float, optional
        Kα1 wavelength overriding the file (Å).

    Returns
    -------
    Radiation

    Raises
    ------
    ParameterError
        Unknown ``mode``.
    """
    if mode not in MODES:
        raise ParameterError(f"radiation={mode!r}; use one of {', '.join(MODES)}")
    md = da.attrs.get("metadata", {})
    l1, l2, file_ratio, wl_source = wavelengths(md, wavelength_angstrom)
    sigma = da.intensity_sigma.values if "intensity_sigma" in da.coords else None
    statement = file_statement(md)
    data = doublet_test(da.two_theta.values, np.asarray(da.values, float), sigma, l1=l1, l2=l2)
    evidence = {"file": statement, "data": data}
    if mode != "auto":
        lines, source = mode, "option"
    elif data["verdict"]:
        lines, source = data["verdict"], "data"
    elif statement["lines"]:
        lines, source = statement["lines"], "file"
    else:
        lines, source = "ka12", "assumed"
    # the refined ratio is evidence (reported); the fits use the file's ratio (or 0.5):
    # a few strong lines refine it to ±0.01–0.05, and on generated scans with a known 0.5
    # using it moved close sibling phases, not the ratio, closer to the truth
    ratio = (file_ratio or NATURAL_RATIO) if lines == "ka12" else 0.0
    return Radiation(
        lines=lines,
        ka2_ratio=float(ratio),
        wavelength_ka1_angstrom=l1,
        wavelength_ka2_angstrom=l2,
        wavelength_source=wl_source,
        source=source,
        evidence=evidence,
    )
