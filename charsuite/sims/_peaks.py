"""Peaks of a mass spectrum: location, resolution, search, mass calibration, assignment.

All peak work is done in TOF samples (where peak shapes are regular) and converted to
m/z with the spectrum's calibration. Definitions:

- centre: least-squares Gaussian + constant fit over ±1 FWHM around the apex (falls back
  to the centroid of the points above half maximum);
- FWHM: distance between the half-maximum crossings (linear interpolation), converted to
  Δm through the calibration; resolution ``R = m/Δm`` (FWHM definition, ISO/TS 22933);
- centre uncertainty ``σ_i² = (FWHM/2.355)²/N + 0.05²`` samples (N = counts in the peak,
  0.05 sample systematic floor; sims-spectra notes §1).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, provenance

__all__ = [
    "Peak",
    "find_peaks",
    "locate_peak",
    "mass_calibrate",
    "reference_ions",
]

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
SIGMA_FLOOR_SAMPLES = 0.05


@dataclasses.dataclass(frozen=True)
class Peak(Result):
    """One located peak (sample units and, through the calibration, Th).

    ``width_method`` says where centre and FWHM come from: ``"profile fit"`` (shape
    fitted with the peak), ``"profile fit, shared shape"`` (shape of the spectrum's
    well-determined peaks) or ``"half maximum (...)"`` (the fit failed; reason in
    brackets; centre = centroid of the points above half maximum, no width uncertainty).
    """

    index: float
    sigma_index: float
    mass: float
    fwhm_samples: float
    fwhm_mass: float
    resolution: float
    height: float
    area: float
    baseline: float
    snr: float
    sigma_fwhm_samples: float = np.nan
    sigma_resolution: float = np.nan
    width_method: str = "half maximum"
    halfmax_fwhm_samples: float = np.nan
    lorentz_fraction: float = np.nan
    right_fraction: float = np.nan
    sigma_lorentz_fraction: float = np.nan
    sigma_right_fraction: float = np.nan


def _values(spec) -> tuple[np.ndarray, Any]:
    from charsuite.sims._masscal import MassCalibration

    y = np.asarray(getattr(spec, "values", spec), dtype=float)
    if y.ndim != 1 or y.size < 16:
        raise DataError(f"a spectrum must be 1-D with ≥ 16 samples; got shape {y.shape}")
    cal = getattr(spec, "attrs", {}).get("calibration")
    return y, (MassCalibration.from_dict(cal) if cal else None)


def _half_crossings(y: np.ndarray, apex: int, half: float) -> tuple[float, float] | None:
    """Interpolated positions left and right of ``apex`` where ``y`` falls below ``half``."""
    left = apex
    while left > 0 and y[left] >= half:
        left -= 1
    right = apex
    while right < y.size - 1 and y[right] >= half:
        right += 1
    if y[left] >= half or y[right] >= half:
        return None
    lo = left + (half - y[left]) / (y[left + 1] - y[left])
    hi = right - (half - y[right]) / (y[right - 1] - y[right])
    return float(lo), float(hi)


@dataclasses.dataclass(frozen=True)
class _HalfMax:
    """Stage 1 of :func:`locate_peak`: apex, baseline, half-maximum width, centroid."""

    apex: int
    base: float
    height: float
    left: float
    right: float
    centroid: float

    @property
    def fwhm(self) -> float:
        return self.right - self.left


def _half_max(y: np.ndarray, lo: int, hi: int) -> _HalfMax | None:
    wide = y[max(0, lo - 4 * (hi - lo)) : min(y.size, hi + 4 * (hi - lo))]
    base = float(np.percentile(wide, 10))
    apex = lo + int(np.argmax(y[lo:hi]))
    height = float(y[apex] - base)
    if height <= 0:
        return None
    cross = _half_crossings(y - base, apex, height / 2)
    if cross is None:
        return None
    top = np.arange(int(np.ceil(cross[0])), int(np.floor(cross[1])) + 1)
    centroid = float(np.sum(top * (y[top] - base)) / np.sum(y[top] - base))
    return _HalfMax(apex, base, height, cross[0], cross[1], centroid)


def _fit_stage(y: np.ndarray, hm: _HalfMax, shape):
    """Stage 2: profile fit over apex ± WINDOW_FWHM·FWHM (``None`` if it fails)."""
    from charsuite.sims._peaks_fit import WINDOW_FWHM, fit_profile

    half = max(WINDOW_FWHM * hm.fwhm, 6.0)
    a, b = (
        max(int(np.floor(hm.centroid - half)), 0),
        min(int(np.ceil(hm.centroid + half)) + 1, y.size),
    )
    x = np.arange(a, b, dtype=float)
    return fit_profile(y[a:b], x, centre=hm.centroid, fwhm=hm.fwhm, background=hm.base, shape=shape)


def locate_peak(
    spec, guess: float, *, half_window: float, calibration=None, shape=None
) -> Peak | None:
    """Locate the highest peak within ``guess ± half_window`` samples; fit its profile.

    Stage 1 finds the apex, a local baseline (10th percentile of a wide window) and the
    half-maximum crossings; stage 2 fits the split pseudo-Voigt of
    :mod:`charsuite.sims._peaks_fit` (Poisson maximum likelihood) for centre, FWHM and
    their uncertainties. When the fit fails, centre and FWHM fall back to the centroid
    and the half-maximum crossings, and ``width_method`` says so.

    Parameters
    ----------
    spec : xarray.DataArray or array_like
        Spectrum (counts per sample), e.g. from :func:`charsuite.sims.spectrum`.
    guess : float
        Expected centre (0-based sample).
    half_window : float
        Search half width (samples).
    calibration : MassCalibration, optional
        Default the spectrum's ``attrs["calibration"]``.
    shape : ProfileShape, optional
        Hold the profile shape fixed (default: fit it with the peak).

    Returns
    -------
    Peak or None
        None when the window holds no peak with resolvable half-maximum crossings.

    Examples
    --------
    >>> from charsuite.datasets.sims import make_fibtof_spectrum
    >>> from charsuite.sims import spectrum, ion
    >>> import tempfile, pathlib
    >>> p, truth = make_fibtof_spectrum(pathlib.Path(tempfile.mkdtemp()) / "s.h5")
    >>> spec = spectrum(p)
    >>> from charsuite.sims import MassCalibration
    >>> cal = MassCalibration.from_dict(spec.attrs["calibration"])
    >>> pk = locate_peak(spec, float(cal.index(ion("In+").mz)), half_window=20)
    >>> pk.width_method, round(pk.resolution, -2)
    ('profile fit', 900.0)
    """
    y, cal = _values(spec)
    cal = calibration or cal
    if cal is None:
        raise ParameterError("the spectrum has no calibration; pass calibration=")
    lo = int(max(0, np.floor(guess - half_window)))
    hi = int(min(y.size, np.ceil(guess + half_window) + 1))
    if hi - lo < 3:
        return None
    hm = _half_max(y, lo, hi)
    if hm is None:
        return None
    fit = _fit_stage(y, hm, shape)
    if fit is not None and abs(fit.centre - hm.centroid) > hm.fwhm:
        fit = None
    return _peak(y, cal, hm, fit, shared=shape is not None)


def _peak(y: np.ndarray, cal, hm: _HalfMax, fit, *, shared: bool) -> Peak:
    """Stage 3: the Peak row (areas over ±1 FWHM, masses through the calibration)."""
    from charsuite.sims._peaks_fit import GOF_ALPHA

    if fit is None:
        centre, fwhm, left, right = (
            hm.centroid,
            hm.fwhm,
            hm.centroid - hm.left,
            hm.right - hm.centroid,
        )
        sig_fwhm, method, eta, s = np.nan, "half maximum (profile fit failed)", np.nan, np.nan
        sig_shape = (np.nan, np.nan)
    else:
        centre, fwhm, (left, right) = fit.centre, fit.fwhm, fit.half_widths
        sig_fwhm, eta, s, sig_shape = fit.sigma_fwhm, fit.shape.eta, fit.shape.s, fit.sigma_shape
        method = "profile fit, shared shape" if shared else "profile fit"
        if fit.gof_p < GOF_ALPHA:  # the model does not describe this peak: model-free width
            fwhm, left, right = hm.fwhm, centre - hm.left, hm.right - centre
            sig_fwhm = np.nan
            method = f"half maximum (profile misfit, p = {fit.gof_p:.0e}; centre from the fit)"
    a, b = max(int(np.floor(centre - fwhm)), 0), min(int(np.ceil(centre + fwhm)) + 1, y.size)
    area = float(np.sum(y[a:b] - hm.base))
    sig_c = (fwhm / FWHM_PER_SIGMA) / np.sqrt(max(area, 1.0)) if fit is None else fit.sigma_centre
    m = float(cal.mass(centre))
    dm = float(cal.mass(centre + right) - cal.mass(centre - left))
    res = m / dm if dm > 0 else np.nan
    snr = area / np.sqrt(max(area, 0.0) + max(hm.base, 0.0) * (b - a) + 1.0)  # Poisson, net area
    return Peak(
        index=centre,
        sigma_index=float(np.hypot(sig_c, SIGMA_FLOOR_SAMPLES)),
        mass=m,
        fwhm_samples=fwhm,
        fwhm_mass=dm,
        resolution=res,
        height=hm.height if fit is None else fit.height,
        area=area,
        baseline=hm.base,
        snr=float(snr),
        sigma_fwhm_samples=sig_fwhm,
        sigma_resolution=res * sig_fwhm / fwhm,
        width_method=method,
        halfmax_fwhm_samples=hm.fwhm,
        lorentz_fraction=eta,
        right_fraction=s,
        sigma_lorentz_fraction=sig_shape[0],
        sigma_right_fraction=sig_shape[1],
    )


def _baseline(y: np.ndarray, window: int) -> np.ndarray:
    """Rolling-minimum baseline, smoothed (a simple SNIP-like floor; robust, O(n))."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    return uniform_filter1d(minimum_filter1d(y, window, mode="nearest"), window, mode="nearest")


@provenance("peak search", exclude=("spec",))
def find_peaks(spec, *, min_snr: float = 5.0, min_mass: float = 0.5, max_peaks: int = 2000):
    """Search a spectrum for peaks; return them with centre, FWHM and resolution.

    Candidates are local maxima of the lightly smoothed spectrum whose prominence exceeds
    ``min_snr`` times the Poisson noise of the local baseline, ``√(B + 1)``; each is then
    refined by :func:`locate_peak` and kept when its net area ``N`` over ±1 FWHM has
    ``N/√(N + B_window) ≥ min_snr`` (Poisson significance; Currie's detection limit is
    ≈ 4.65√B).

    Parameters
    ----------
    spec : xarray.DataArray
        From :func:`charsuite.sims.spectrum` (needs ``attrs["calibration"]``).
    min_snr : float
    min_mass : float
        Ignore peaks below this m/z (Th).
    max_peaks : int
        Keep the most prominent ones.

    Returns
    -------
    list of Peak
        Sorted by mass.

    Examples
    --------
    >>> from charsuite.datasets.sims import make_fibtof_spectrum
    >>> from charsuite.sims import spectrum
    >>> import tempfile, pathlib
    >>> p, truth = make_fibtof_spectrum(pathlib.Path(tempfile.mkdtemp()) / "s.h5")
    >>> strong = [t for t in truth["peaks"] if t["area"] > 1000]
    >>> len(find_peaks(spectrum(p))) >= len(strong)
    True
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks as scipy_find_peaks

    y, cal = _values(spec)
    if cal is None:
        raise ParameterError("the spectrum has no calibration")
    if not np.any(y):
        raise DataError("the spectrum is all zero; there are no peaks to find")
    base = _baseline(y, 201)
    smooth = gaussian_filter1d(y, 1.0)
    noise = np.sqrt(np.maximum(base, 0.0) + 1.0)
    idx, props = scipy_find_peaks(smooth - base, prominence=min_snr * noise, width=1.0)
    order = np.argsort(props["prominences"])[::-1][:max_peaks]
    found = []
    for k in order:
        i, w = int(idx[k]), float(props["widths"][k])
        pk = locate_peak(y, i, half_window=max(1.0, w / 2), calibration=cal)
        if pk is not None and pk.mass >= min_mass and abs(pk.index - i) <= w and pk.snr >= min_snr:
            found.append((i, max(1.0, w / 2), pk))
    peaks = _share_shape(y, cal, found)
    unique: dict[int, Peak] = {}
    for pk in peaks:
        unique.setdefault(round(pk.index), pk)
    return sorted(unique.values(), key=lambda p: p.mass)


def _share_shape(y: np.ndarray, cal, found) -> list[Peak]:
    """Refit every peak with the spectrum's shared profile shape.

    ``found`` holds ``(start, half_window, Peak)`` from free-shape fits. The shared shape
    is the inverse-variance weighted mean (η, s) of the peaks whose fit determines it
    (:func:`charsuite.sims._peaks_fit.shared_shape`). With the shape held, a peak's apex
    is no longer traded against its asymmetry (σ of the centre falls ~3× at 10⁵ counts)
    and a weak peak's width is no longer traded against η; every peak is located with the
    same shape, so a shape-dependent apex offset is common to all and the calibration
    absorbs it. A peak whose refit fails keeps its free fit.
    """
    from charsuite.sims._peaks_fit import shared_shape

    keys = ("lorentz_fraction", "right_fraction", "sigma_lorentz_fraction", "sigma_right_fraction")
    shape = shared_shape([tuple(getattr(pk, k) for k in keys) for _, _, pk in found])
    if shape is None:
        return [pk for _, _, pk in found]
    out = []
    for start, half, pk in found:
        again = locate_peak(y, start, half_window=half, calibration=cal, shape=shape)
        if again is not None and again.width_method.startswith("profile fit"):
            pk = again
        out.append(pk)
    return out


# --------------------------------------------------------------------------- reference ions
def _ion_lists() -> dict[str, Any]:
    from charsuite.model import reference_data_dir

    return json.loads((reference_data_dir() / "sims" / "ions.json").read_text(encoding="utf-8"))


def reference_ions(name: str = "positive") -> list[str]:
    """Default calibration ions: ``"positive"``, ``"negative"`` or ``"plasma"`` (ICP background).

    The lists live in ``reference_data/sims/ions.json``.

    Parameters
    ----------
    name : str, optional
        ``"positive"``, ``"negative"`` or ``"plasma"``.

    Returns
    -------
    list of str
        Ion names (e.g. ``"115In+"``) accepted by ``--ions``.

    Raises
    ------
    ParameterError
        An unknown set name (the message lists the known ones).

    Examples
    --------
    >>> reference_ions("positive")[:2]
    ['Li+', 'Na+']
    """
    refs = _ion_lists()["references"]
    if name not in refs:
        raise ParameterError(f"reference set {name!r} unknown; choose one of {sorted(refs)}")
    return list(refs[name])


def _parse_ions(ions, polarity: str) -> list:
    from charsuite.sims._masscal import ion

    if ions is None:
        ions = "negative" if polarity == "negative" else "positive"
    if isinstance(ions, str):
        if ions in _ion_lists()["references"]:
            ions = reference_ions(ions)
        else:
            ions = [t for t in ions.split(",") if t.strip()]
    parsed = [ion(t) for t in ions]
    if not parsed:
        raise ParameterError("no reference ions given")
    return parsed


# --------------------------------------------------------------------------- calibration
def _expected_fwhm(spec, cal, mz: float) -> float:
    """FWHM (samples) from the file's resolving-power model R(m) (R0, m0, dm), else R = 500."""
    model = getattr(spec, "attrs", {}).get("resolution_model") or {}
    r = 500.0
    if {"R0", "m0", "dm"} <= set(model):
        r0, m0, dm = (float(model[k]) for k in ("R0", "m0", "dm"))
        r = max(r0 - r0 / (1 + np.exp((mz - m0) / dm)), 50.0)
    step = abs(float(cal.dmass_dindex(cal.index(mz))))
    return mz / r / step if step > 0 else 5.0


def _locate_ions(spec, cal, ions, *, search_ppm: float, min_snr: float):
    found, missing = [], []
    for ref in ions:
        guess = float(cal.index(ref.mz))
        step = abs(float(cal.dmass_dindex(guess)))
        half = max(search_ppm * 1e-6 * ref.mz / step, 1.5 * _expected_fwhm(spec, cal, ref.mz), 3.0)
        pk = None if not np.isfinite(guess) else locate_peak(spec, guess, half_window=half)
        if pk is None or pk.snr < min_snr:
            missing.append(ref.label)
        else:
            found.append((ref, (guess, half, pk)))
    y, _ = _values(spec)
    shared = _share_shape(y, cal, [f for _, f in found])
    found = [(ref, pk) for (ref, _), pk in zip(found, shared, strict=True)]
    for k, (ref, pk) in enumerate(found):
        for other, opk in found[k + 1 :]:
            if abs(pk.index - opk.index) < pk.fwhm_samples / 2:
                raise ParameterError(
                    f"reference ions {ref.label} and {other.label} both located the peak at "
                    f"sample {pk.index:.1f} ({pk.mass:.4f} Th); they are not resolved here: "
                    "keep one of them"
                )
    return found, missing


def _ion_rows(found, cal, previous) -> list[dict[str, Any]]:
    rows = []
    for ref, pk in found:
        m_obs = float(cal.mass(pk.index))
        m_old = float(previous.mass(pk.index))
        dm = float(
            cal.mass(pk.index + pk.fwhm_samples / 2) - cal.mass(pk.index - pk.fwhm_samples / 2)
        )
        rows.append(
            {
                "ion": ref.label,
                "mass": ref.mz,
                "time_samples": pk.index,
                "sigma_samples": pk.sigma_index,
                "residual_ppm": 1e6 * (m_obs - ref.mz) / ref.mz,
                "residual_mDa": 1e3 * (m_obs - ref.mz),
                "previous_residual_ppm": 1e6 * (m_old - ref.mz) / ref.mz,
                "resolution": m_obs / dm if dm > 0 else None,
                "fwhm_mDa": 1e3 * dm,
                "counts": pk.area,
                "used": True,
            }
        )
    return rows


@provenance("mass calibration", exclude=("spec",))
def mass_calibrate(
    spec,
    ions=None,
    *,
    mode: int | None = None,
    search_ppm: float = 1000.0,
    min_snr: float = 5.0,
):
    """Recalibrate a spectrum's mass scale on reference ions of exactly known mass.

    Each ion is searched within ``±search_ppm`` (at least 1.5 expected FWHM) of its
    position under the spectrum's current calibration, located (:func:`locate_peak`) and
    weighted by ``1/σ_i²``; the TofDAQ mode is fitted by :func:`fit_mass_calibration`.
    Ions not found above ``min_snr`` are listed in ``missing`` and left out.

    Parameters
    ----------
    spec : xarray.DataArray
        From :func:`charsuite.sims.spectrum`.
    ions : str or list of str, optional
        Ion names (``"In+,Li+,Ga+"``, ``"59Co+"``, ``"X+:100.5"``) or a reference set name
        (``"positive"``, ``"negative"``, ``"plasma"``); default the set of the spectrum's
        polarity (:func:`reference_ions`).
    mode : int, optional
        TofDAQ calibration mode; default the spectrum's.
    search_ppm, min_snr : float

    Returns
    -------
    CalibrationFit
        New calibration with uncertainties, per-ion residuals (ppm, mDa) under the new and
        the previous calibration, resolution per ion.

    Raises
    ------
    ParameterError
        Unknown ions; fewer located ions than the mode has parameters.
    ConvergenceError
        The fit does not converge.

    Examples
    --------
    >>> from charsuite.datasets.sims import make_fibtof_spectrum
    >>> from charsuite.sims import spectrum
    >>> import tempfile, pathlib
    >>> p, truth = make_fibtof_spectrum(pathlib.Path(tempfile.mkdtemp()) / "s.h5")
    >>> fit = mass_calibrate(spectrum(p), "Li+,Na+,K+,Ga+,In+")
    >>> fit.calibration.mode
    0
    """
    from charsuite.sims._masscal import CalibrationFit, fit_mass_calibration

    _, cal = _values(spec)
    if cal is None:
        raise ParameterError("the spectrum has no calibration to start from")
    refs = _parse_ions(ions, str(getattr(spec, "attrs", {}).get("polarity", "positive")))
    found, missing = _locate_ions(spec, cal, refs, search_ppm=search_ppm, min_snr=min_snr)
    mode = cal.mode if mode is None else int(mode)
    index = np.array([pk.index for _, pk in found])
    sigma = np.array([pk.sigma_index for _, pk in found])
    mass = np.array([ref.mz for ref, _ in found])
    try:
        new, info = fit_mass_calibration(
            index, mass, mode=mode, sigma=sigma, start=cal if cal.mode == mode else None
        )
    except ParameterError as err:
        raise ParameterError(
            f"{err}. Located: {[r.label for r, _ in found] or 'none'}; not found (SNR < "
            f"{min_snr:g} within ±{search_ppm:g} ppm): {missing or 'none'}"
        ) from err
    rows = _ion_rows(found, new, cal)
    ppm = np.array([r["residual_ppm"] for r in rows])
    return CalibrationFit(
        calibration=new,
        ions=rows + [{"ion": lab, "used": False, "reason": "not found"} for lab in missing],
        rms_ppm=float(np.sqrt(np.mean(ppm**2))),
        dof=info["dof"],
        chi2_reduced=info["chi2"] / info["dof"] if info["dof"] > 0 else float("nan"),
        reference_range_Th=(float(mass.min()), float(mass.max())),
        previous=cal.to_dict(),
    )
