"""Distribution of relaxation times (DRT) by Tikhonov-regularised, non-negative least squares.

Model: Z(ω) = R∞ + jωL + ∫ γ(ln τ) / (1 + jωτ) d ln τ, with γ(ln τ) = Σ_m x_m φ_m(ln τ)
expanded in Gaussian radial basis functions centred on a log-spaced τ grid from
1/(2π f_max) to 1/(2π f_min) (10 per decade by default); each RBF's FWHM is
1/``fwhm_coeff`` grid spacings, as in pyDRTtools (coefficient 0.5).
The coefficients x ≥ 0, R∞ ≥ 0 and L ≥ 0 minimise

    ‖W(A x − Z)‖² + λ ‖D₂ x‖²

(real and imaginary parts stacked, W = 1 or 1/|Z|, D₂ the second-difference matrix),
solved with :func:`scipy.optimize.nnls` on the augmented system. λ is chosen by
generalised cross-validation of the unconstrained ridge problem unless given.

References
----------
.. [1] T. H. Wan, M. Saccoccio, C. Chen, F. Ciucci, Electrochim. Acta 184 (2015) 483
   (RBF discretisation, pyDRTtools).
.. [2] G. H. Golub, M. Heath, G. Wahba, Technometrics 21 (1979) 215 (GCV).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from charsuite.echem._eis import _spectrum
from charsuite.exceptions import ParameterError
from charsuite.model import Result, history_record

__all__ = ["DrtResult", "drt"]


@dataclasses.dataclass(frozen=True)
class DrtResult(Result):
    """Distribution of relaxation times.

    Attributes
    ----------
    tau_s, gamma_ohm : list of float
        γ(ln τ) (Ω per unit ln τ) on a fine τ grid (s).
    r_inf_ohm, inductance_H : float
    total_polarisation_ohm : float
        ∫ γ d ln τ.
    peaks : list of dict
        ``tau_s``, ``frequency_Hz`` (1/(2πτ)), ``gamma_ohm`` and ``resistance_ohm`` (area
        between the neighbouring minima).
    lam : float
        Regularisation parameter used; ``lambda_method`` says how it was chosen.
    lambda_method, weighting : str
    rmse_ohm : float
        RMS of |Z − Ẑ|.
    history : list
    """

    tau_s: list
    gamma_ohm: list
    r_inf_ohm: float
    inductance_H: float
    total_polarisation_ohm: float
    peaks: list
    lam: float
    lambda_method: str
    weighting: str
    rmse_ohm: float
    history: list


def _rbf_matrix(w: np.ndarray, centres: np.ndarray, eps: float) -> np.ndarray:
    """∫ φ_m(y) / (1 + jω e^y) dy for every ω (rows) and RBF centre (columns)."""
    half = 6.0 / eps
    y = np.linspace(-half, half, 241)
    dy = y[1] - y[0]
    phi = np.exp(-((eps * y) ** 2))
    # (n_w, n_m, n_y) evaluated in blocks of centres to bound memory
    out = np.empty((w.size, centres.size), dtype=complex)
    for a in range(0, centres.size, 32):
        c = centres[a : a + 32]
        tau = np.exp(c[None, :, None] + y[None, None, :])
        kern = phi[None, None, :] / (1 + 1j * w[:, None, None] * tau)
        out[:, a : a + 32] = kern.sum(axis=2) * dy
    return out


def drt(
    data,
    z=None,
    *,
    lam: float | None = None,
    points_per_decade: int = 10,
    fwhm_coeff: float = 0.5,
    weighting: str = "unit",
    fit_inductance: bool = True,
    peak_prominence: float = 0.05,
) -> DrtResult:
    """Compute the DRT of an impedance spectrum (Tikhonov + non-negativity).

    Parameters
    ----------
    data, z
        An EIS Dataset, or frequencies (Hz) and complex impedance (Ω).
    lam : float, optional
        Regularisation parameter; chosen by GCV when omitted.
    points_per_decade : int
        RBF centres per decade of τ.
    fwhm_coeff : float
        RBF width: FWHM = grid spacing / ``fwhm_coeff`` (pyDRTtools default 0.5).
    weighting : {"unit", "modulus"}
        Residual weights 1 or 1/|Z|.
    fit_inductance : bool
        Include a series inductance (for high-frequency inductive tails).
    peak_prominence : float
        Peaks need this fraction of max γ as prominence.

    Returns
    -------
    DrtResult

    Raises
    ------
    ParameterError
        Bad options. DataError for unusable spectra (see :func:`fit_circuit`).
    """
    from scipy.optimize import nnls
    from scipy.signal import find_peaks

    if weighting not in ("unit", "modulus"):
        raise ParameterError(f"weighting={weighting!r}: expected 'unit' or 'modulus'")
    if lam is not None and not lam > 0:
        raise ParameterError(f"lam={lam!r}: expected a positive number")
    f, zz, src = _spectrum(data, z)
    w = 2 * np.pi * f
    lo = np.log(1 / (2 * np.pi * f.max()))
    hi = np.log(1 / (2 * np.pi * f.min()))
    n_m = int(np.ceil((hi - lo) / np.log(10) * points_per_decade)) + 1
    centres = np.linspace(lo, hi, n_m)
    delta = centres[1] - centres[0]
    eps = 2 * np.sqrt(np.log(2)) / (delta / fwhm_coeff)
    a = _rbf_matrix(w, centres, eps)
    cols = [a]
    extra = [np.ones(f.size, dtype=complex)]  # R∞
    if fit_inductance:
        extra.append(1j * w)
    a_full = np.column_stack([np.column_stack(extra), *cols])
    n_extra = len(extra)
    wt = 1 / np.abs(zz) if weighting == "modulus" else np.ones(f.size)
    a_s = np.vstack([a_full.real * wt[:, None], a_full.imag * wt[:, None]])
    # R∞ and L columns scaled to the RBF columns' size (jωL spans decades; NNLS is not
    # scale-invariant in floating point); undone after the solve
    col_scale = np.ones(a_s.shape[1])
    ref = float(np.median(np.linalg.norm(a_s[:, n_extra:], axis=0)))
    for k in range(n_extra):
        col_scale[k] = ref / max(float(np.linalg.norm(a_s[:, k])), 1e-300)
    a_s = a_s * col_scale[None, :]
    b_s = np.concatenate([zz.real * wt, zz.imag * wt])
    d2 = np.zeros((n_m - 2, n_extra + n_m))
    for k in range(n_m - 2):
        d2[k, n_extra + k : n_extra + k + 3] = (1.0, -2.0, 1.0)
    # scale of the problem, so that λ is dimensionless
    scale = float(np.linalg.norm(a_s, 2)) ** 2
    method = "given"
    if lam is None:
        method = "generalised cross-validation"
        best, lam = np.inf, 1e-3
        ata, atb, dtd = a_s.T @ a_s, a_s.T @ b_s, d2.T @ d2
        m_rows = b_s.size
        for cand in np.logspace(-8, 0, 33):
            reg = ata + cand * scale * dtd + 1e-14 * scale * np.eye(ata.shape[0])
            try:
                inv = np.linalg.inv(reg)
            except np.linalg.LinAlgError:
                continue
            x = inv @ atb
            resid = a_s @ x - b_s
            trace = m_rows - np.trace(a_s @ inv @ a_s.T)
            gcv = m_rows * float(resid @ resid) / trace**2
            if gcv < best:
                best, lam = gcv, float(cand)
    aug_a = np.vstack([a_s, np.sqrt(lam * scale) * d2])
    aug_b = np.concatenate([b_s, np.zeros(d2.shape[0])])
    x, _ = nnls(aug_a, aug_b, maxiter=50 * aug_a.shape[1])
    x = x * col_scale
    r_inf = float(x[0])
    ind = float(x[1]) if fit_inductance else 0.0
    coef = x[n_extra:]
    zfit = a_full @ x
    y_fine = np.linspace(lo, hi, 20 * n_m)
    gamma = np.exp(-((eps * (y_fine[:, None] - centres[None, :])) ** 2)) @ coef
    total = float(np.trapezoid(gamma, y_fine))
    prom = peak_prominence * float(gamma.max()) if gamma.size and gamma.max() > 0 else np.inf
    idx, _ = find_peaks(gamma, prominence=prom)
    peaks = []
    for k in idx:
        left = k
        while left > 0 and gamma[left - 1] <= gamma[left]:
            left -= 1
        right = k
        while right < gamma.size - 1 and gamma[right + 1] <= gamma[right]:
            right += 1
        area = float(np.trapezoid(gamma[left : right + 1], y_fine[left : right + 1]))
        tau = float(np.exp(y_fine[k]))
        peaks.append(
            {
                "tau_s": tau,
                "frequency_Hz": 1 / (2 * np.pi * tau),
                "gamma_ohm": float(gamma[k]),
                "resistance_ohm": area,
            }
        )
    params = {
        "lam": lam,
        "lambda_method": method,
        "points_per_decade": points_per_decade,
        "fwhm_coeff": fwhm_coeff,
        "weighting": weighting,
        "fit_inductance": fit_inductance,
    }
    return DrtResult(
        tau_s=np.exp(y_fine).tolist(),
        gamma_ohm=gamma.tolist(),
        r_inf_ohm=r_inf,
        inductance_H=ind,
        total_polarisation_ohm=total,
        peaks=peaks,
        lam=float(lam),
        lambda_method=method,
        weighting=weighting,
        rmse_ohm=float(np.sqrt(np.mean(np.abs(zfit - zz) ** 2))),
        history=[
            *(list(src.attrs.get("history", [])) if src is not None else []),
            history_record(
                "drt",
                function="charsuite.echem.drt",
                parameters=params,
                input_file=src.attrs.get("source_file") if src is not None else None,
            ),
        ],
    )
