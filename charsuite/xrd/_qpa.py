"""Rietveld stage 5: quantitative phase analysis (Hill & Howard ZMV) with full-covariance esd.

W_p = S_p (ZMV)_p / Σ_j S_j (ZMV)_j, valid because the model's scale multiplies |F|²
without 1/V² (``_rietveld_model``). ZM is the mass of the cell contents (Σ o_j m_j).
σ²(W_j) = gᵀ Cov(S) g with g_i = W_j (δ_ij − W_i) / S_i (as GSAS-II ``calcMassFracs``).
Assumes a fully crystalline sample without microabsorption contrast (Brindley).

References
----------
.. [1] R. J. Hill, C. J. Howard, J. Appl. Cryst. 20, 467 (1987).
.. [2] I. C. Madsen et al., J. Appl. Cryst. 34, 409 (2001) (IUCr CPD QPA round robin).
"""

from __future__ import annotations

import numpy as np


def weight_fractions(scales, zmv, cov_scales):
    """Weight fractions and their standard uncertainties.

    Parameters
    ----------
    scales : array_like
        Refined scale factors S_p (≥ 0).
    zmv : array_like
        Z·M·V per phase (g/mol · Å³).
    cov_scales : ndarray (n, n)
        Covariance of the scales.

    Returns
    -------
    w, sigma : ndarray
        Fractions (sum 1) and their esd (same unit).

    Examples
    --------
    >>> w, s = weight_fractions([1.0, 1.0], [1.0, 3.0], np.diag([1e-4, 1e-4]))
    >>> [round(v, 3) for v in w]
    [0.25, 0.75]
    """
    s = np.asarray(scales, float)
    zmv = np.asarray(zmv, float)
    mass = s * zmv
    total = mass.sum()
    if total <= 0:
        n = len(s)
        return np.full(n, np.nan), np.full(n, np.nan)
    w = mass / total
    cov = np.asarray(cov_scales, float)
    sig = np.empty(len(s))
    for j in range(len(s)):
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(s > 0, w[j] * ((np.arange(len(s)) == j) - w) / s, 0.0)
        sig[j] = np.sqrt(max(float(g @ np.nan_to_num(cov) @ g), 0.0))
    return w, sig
