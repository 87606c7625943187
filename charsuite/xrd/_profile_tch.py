"""Rietveld stage 2: Thompson–Cox–Hastings pseudo-Voigt lines summed on a 2θ grid.

Hand-written (numpy) because the refinement evaluates hundreds of lines per call and
needs them windowed and gathered in one vectorised step; xrayutilities' fundamental-
parameter convolvers cost ~30 ms per pattern and have no refinable Caglioti widths.

Widths (deg 2θ): Γ_G² = U tan²θ + V tan θ + W (Caglioti), Γ_L = X tan θ + Y / cos θ
(FullProf convention: X strain, Y size); Γ and η from the TCH five-term formula.
Each line is cut at ±``WINDOW_FWHM``·Γ and divided by the analytic area inside its window,
so every line keeps unit area (no bias between phases of different η).

References
----------
.. [1] P. Thompson, D. E. Cox, J. B. Hastings, J. Appl. Cryst. 20, 79 (1987).
.. [2] G. Caglioti, A. Paoletti, F. P. Ricci, Nucl. Instrum. 3, 223 (1958).
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: Half-width of a line window in units of its FWHM.
WINDOW_FWHM = 25.0
_LN2 = np.log(2.0)


def tch_width(two_theta, *, u, v, w, x, y):
    """Total FWHM Γ (deg) and Lorentz fraction η of the TCH pseudo-Voigt [1]_.

    Parameters
    ----------
    two_theta : array_like
        Line positions (deg).
    u, v, w : float
        Caglioti Gaussian terms (deg²).
    x, y : float or array_like
        Lorentzian strain and size terms (deg).

    Returns
    -------
    fwhm, eta : ndarray
    """
    th = np.radians(np.asarray(two_theta, float) / 2)
    t = np.tan(th)
    g2 = u * t * t + v * t + w
    g = np.sqrt(np.maximum(g2, 1e-10))
    lor = np.maximum(x * t + y / np.cos(th), 0.0)
    gam = (
        g**5
        + 2.69269 * g**4 * lor
        + 2.42843 * g**3 * lor**2
        + 4.47163 * g**2 * lor**3
        + 0.07842 * g * lor**4
        + lor**5
    ) ** 0.2
    q = lor / gam
    eta = np.clip(1.36603 * q - 0.47719 * q * q + 0.11116 * q**3, 0.0, 1.0)
    return gam, eta


def _window_area(k, eta):
    """Area of a unit-area pseudo-Voigt inside ±k·FWHM, and its derivative d/dη."""
    from scipy.special import erf

    lor_in = (2 / np.pi) * np.arctan(2 * k)
    gau_in = erf(2 * k * np.sqrt(_LN2))
    return eta * lor_in + (1 - eta) * gau_in, lor_in - gau_in


@dataclasses.dataclass(frozen=True)
class LineWindows:
    """Windowed unit-area lines on a grid, stored flat (one entry per line and window point).

    Attributes
    ----------
    owner : ndarray of int
        Line index of each entry.
    idx : ndarray of int
        Grid index of each entry.
    val : ndarray
        Unit-area profile value (1/deg), renormalised to unit area inside the window.
    d_center, d_fwhm, d_eta : ndarray or None
        ∂val/∂(2θ_h), ∂val/∂Γ, ∂val/∂η (only with ``derivatives=True``).
    n_lines, n_points : int
        Lines and grid points.
    """

    owner: np.ndarray
    idx: np.ndarray
    val: np.ndarray
    d_center: np.ndarray | None
    d_fwhm: np.ndarray | None
    d_eta: np.ndarray | None
    n_lines: int
    n_points: int

    def sum(self, weights, n_points: int) -> np.ndarray:
        """Σ_h w_h · Φ_h on the grid (``weights`` per line)."""
        return np.bincount(self.idx, weights=self.val * weights[self.owner], minlength=n_points)

    def jacobian_basis(self):
        """Sparse (points × 4·lines) matrix with columns Φ_h, ∂Φ_h/∂2θ_h, ∂Φ_h/∂Γ_h, ∂Φ_h/∂η_h.

        The flat entries are already grouped by line with increasing grid index, so they are
        the CSC layout of this matrix (no sorting).
        """
        from scipy.sparse import csc_matrix

        count = np.bincount(self.owner, minlength=self.n_lines)
        indptr = np.concatenate([[0], np.cumsum(np.tile(count, 4))]).astype(np.int32)
        data = np.concatenate(
            [self.val.astype(np.float32), self.d_center, self.d_fwhm, self.d_eta]
        )  # single precision, like the derivatives (see _split_profile)
        return csc_matrix(
            (data, np.tile(self.idx, 4), indptr), shape=(self.n_points, 4 * self.n_lines)
        )

    def per_line(self, values) -> np.ndarray:
        """Σ over each line's window of ``values`` (one entry per window point)."""
        return np.bincount(self.owner, weights=values, minlength=self.n_lines)


#: Half-width (in FWHM) outside which the Gaussian part is dropped: exp(−4 ln2·16) < 1e-19.
GAUSS_CORE_FWHM = 4.0
_G0 = np.sqrt(4 * _LN2 / np.pi)


def _ragged(start, count):
    """Flat (owner, offset into the run) of runs of lengths ``count`` starting at ``start``."""
    i32 = np.int32  # indices of ≤ 2³¹ points: half the memory traffic of int64 gathers
    owner = np.repeat(np.arange(len(count), dtype=i32), count)
    first = np.cumsum(count) - count
    return owner, np.arange(int(count.sum()), dtype=i32) - np.repeat(
        (first - start).astype(i32), count
    )


def _runs(x, centers, fwhm, half_width):
    """(start, count) of the grid run within ±``half_width``·Γ of every line."""
    start = np.searchsorted(x, centers - half_width * fwhm, side="left")
    stop = np.searchsorted(x, centers + half_width * fwhm, side="right")
    return start, np.maximum(stop - start, 0)


def window_points(x, centers, fwhm, half_width=WINDOW_FWHM):
    """(owner, idx): for every line the grid points within ±``half_width``·Γ (ragged, flat).

    Each line gets only its own window (no padding to the widest line): the work is Σ of
    the window lengths, which is what makes a many-line pattern cheap.
    """
    return _ragged(*_runs(x, centers, fwhm, half_width))


def _split_profile(x, centers, fwhm, eta, *, derivatives):
    """Windowed unit-area pseudo-Voigt lines (``xrd.pseudo_voigt`` convention) and ∂/∂(2θ_h, Γ, η).

    Each line is divided by its analytic area N(η) inside the window. Restated rather than
    calling ``pseudo_voigt``/``_batchfit._component`` because here the Gaussian part is
    evaluated only in the core (±GAUSS_CORE_FWHM·Γ, a sixth of a ±25 Γ window, where all the
    exponentials are), the Lorentzian (a rational function) over the whole window, with the
    per-line factors (η/N, 1/Γ) folded in before the gather: this halves the cost of the
    whole-pattern model. Derivatives are single precision (the Jacobian needs ~3 digits;
    the model itself stays double).

    Returns
    -------
    owner, idx, val, d_center, d_fwhm, d_eta
        Flat arrays (see :class:`LineWindows`); the derivatives are None unless requested.
    """
    start, count = _runs(x, centers, fwhm, WINDOW_FWHM)
    owner, idx = _ragged(start, count)
    lo, n_core = _runs(x, centers, fwhm, GAUSS_CORE_FWHM)
    first = np.cumsum(count) - count
    core_owner, core = _ragged(first + lo - start, n_core)  # positions in the flat arrays
    norm, d_norm = _window_area(WINDOW_FWHM, eta)
    inv = 1.0 / fwhm
    u = x[idx]
    u -= centers[owner]
    u *= inv[owner]
    q = u * u
    q *= 4.0
    q += 1.0
    np.reciprocal(q, out=q)  # 1/(1 + 4u²)
    val = (eta / norm * (2.0 / np.pi) * inv)[owner] * q  # η·L/N
    uc = u[core]
    gau = np.exp(-4.0 * _LN2 * uc * uc)
    gau *= (_G0 * inv / norm)[core_owner]  # G/N
    if not derivatives:
        val[core] += (1.0 - eta)[core_owner] * gau
        return owner, idx, val, None, None, None
    f32 = np.float32
    lor = (q * ((2.0 / np.pi) * inv / norm)[owner]).astype(f32)  # L/N
    inv32 = inv.astype(f32)[owner]
    uq = (u * q).astype(f32)
    t = val.astype(f32) * inv32
    d_c = t * uq * f32(8.0)
    d_w = t * (uq * u.astype(f32) * f32(8.0) - f32(1.0))
    gpart = (1.0 - eta)[core_owner] * gau
    val[core] += gpart
    gc = gpart * inv[core_owner]
    d_c[core] += (gc * (8.0 * _LN2) * uc).astype(f32)
    d_w[core] += (gc * (8.0 * _LN2 * uc * uc - 1.0)).astype(f32)
    lor[core] -= gau.astype(f32)
    # ∂(pV/N)/∂η = (L − G)/N − (pV/N)·N′/N
    lor -= (val * (d_norm / norm)[owner]).astype(f32)
    return owner, idx, val, d_c, d_w, lor


def line_windows(x, centers, fwhm, eta, *, derivatives: bool = False) -> LineWindows:
    """Unit-area TCH pseudo-Voigt lines cut at ±``WINDOW_FWHM``·Γ on the sorted grid ``x``.

    Each line is divided by its analytic area inside the window (unit area kept). With
    ``derivatives`` the analytic ∂/∂(2θ_h, Γ, η) of the renormalised profile are returned
    too (for the Jacobian; the window edges are held fixed, where the profile is ~1e-3 of
    its maximum).

    Parameters
    ----------
    x : ndarray
        Sorted grid (deg).
    centers, fwhm, eta : ndarray
        Per line: position (deg), FWHM (deg), Lorentz fraction.
    derivatives : bool

    Returns
    -------
    LineWindows
    """
    centers = np.asarray(centers, float)
    fwhm, eta = np.asarray(fwhm, float), np.asarray(eta, float)
    parts = _split_profile(x, centers, fwhm, eta, derivatives=derivatives)
    return LineWindows(*parts, len(centers), len(x))


def local_gram(a, *, rows: int = 512) -> np.ndarray:
    """Dense AᵀA of a sparse matrix whose columns are local (windowed lines).

    Why not ``(a.T @ a).toarray()``: scipy's sparse product builds, sorts and sums an
    index structure for every entry of a nearly dense result (±25 FWHM windows overlap
    their neighbours), slower than dense BLAS. Here the rows are taken in blocks of
    ``rows``; each block's non-zero columns form a small dense matrix D and add DᵀD to
    their sub-block — the flops of the overlaps only, in BLAS.

    Parameters
    ----------
    a : scipy.sparse matrix
        Points × columns.
    rows : int
        Rows per block.

    Returns
    -------
    numpy.ndarray
        The columns' Gram matrix (columns × columns).

    Examples
    --------
    >>> from scipy.sparse import random as sprandom
    >>> a = sprandom(1000, 20, density=0.05, format="csc", random_state=0)
    >>> bool(np.allclose(local_gram(a), (a.T @ a).toarray()))
    True
    """
    a = a.tocsr()
    g = np.zeros((a.shape[1], a.shape[1]))
    for r0 in range(0, a.shape[0], rows):
        blk = a[r0 : r0 + rows]
        cols = np.unique(blk.indices)
        if cols.size:
            d = blk.toarray()[:, cols]
            g[np.ix_(cols, cols)] += d.T @ d
    return g


def sum_lines(x, centers, fwhm, eta, area):
    """Σ area_i · pV_i(x) on the grid (windowed, vectorised ``bincount``)."""
    if len(centers) == 0:
        return np.zeros(len(x))
    lw = line_windows(x, np.asarray(centers, float), np.asarray(fwhm), np.asarray(eta))
    return lw.sum(np.asarray(area, float), len(x))


#: Gauss–Legendre nodes per segment of the FCJ axial-divergence kernel.
FCJ_NODES = 8


def fcj_kernel(two_theta, s_l: float, h_l: float, n: int = FCJ_NODES):
    """Axial-divergence asymmetry of Finger, Cox & Jephcoat [3]_ as weighted line offsets.

    A line at 2θ is observed as the sum of copies of its symmetric profile shifted to
    2φ ∈ [2φ_min, 2θ] with weight W(2φ)/(h(2φ) |cos 2φ|) (FCJ eqs. 4, 5, 7), where
    cos 2φ_min = cos 2θ √(1 + (S/L + H/L)²), cos 2φ_infl = cos 2θ √(1 + (S/L − H/L)²),
    h = √(cos²2φ/cos²2θ − 1) (in units of L), W = S/L + H/L − h below 2φ_infl and
    2 min(S/L, H/L) above it (S: sample half-height, H: receiving-slit half-height, L:
    goniometer radius). Each of the two segments is integrated with ``n`` Gauss–Legendre
    nodes after the substitution 2φ = e₀ + (e₁ − e₀)s², which removes the integrable
    1/√ singularity at the end e₀ nearer 2θ. Below 2θ = 90° the copies lie at lower
    angles, above it at higher angles.

    Hand-written: neither xrayutilities (its axial convolver is the full Cheary–Coelho
    model, not FCJ) nor pymatgen provides the FCJ kernel.

    Parameters
    ----------
    two_theta : array_like
        Line positions (deg).
    s_l, h_l : float
        S/L and H/L (both > 0 for any asymmetry).
    n : int
        Nodes per segment.

    Returns
    -------
    offsets, weights : ndarray (n_lines, 2n)
        2φ − 2θ (deg) and weights summing to 1 per line.

    References
    ----------
    .. [3] L. W. Finger, D. E. Cox, A. P. Jephcoat, J. Appl. Cryst. 27, 892 (1994).
    """
    tth = np.radians(np.atleast_1d(np.asarray(two_theta, float)))[:, None]
    c2 = np.cos(tth)

    def angle(scale):  # 2φ with cos 2φ = cos 2θ · scale (clipped to [0°, 180°])
        return np.arccos(np.clip(c2 * scale, -1.0, 1.0))

    e_min = angle(np.sqrt(1 + (s_l + h_l) ** 2))
    # S = H or one of them 0: 2φ_infl = 2θ exactly (arccos(cos 2θ) would add rounding noise)
    equal = min(s_l, h_l) <= 0 or abs(s_l - h_l) <= 1e-12 * (s_l + h_l)
    e_infl = tth if equal else angle(np.sqrt(1 + (s_l - h_l) ** 2))
    u, w = np.polynomial.legendre.leggauss(n)
    s, ws = (u + 1) / 2, w / 2

    def segment(e0, e1, far):
        delta = e0 + (e1 - e0) * s**2
        cd = np.cos(delta)
        f = np.abs(c2) / np.sqrt(np.maximum(cd * cd - c2 * c2, 1e-300))  # 1/h
        big_w = (s_l + h_l) * f - 1.0 if far else 2 * min(s_l, h_l) * f
        weight = ws * 2 * np.abs(e1 - e0) * s * np.maximum(big_w, 0.0) / np.abs(cd)
        return np.degrees(delta - tth), weight

    off1, w1 = segment(tth, e_infl, far=False)
    off2, w2 = segment(e_infl, e_min, far=True)
    off, wt = np.concatenate([off1, off2], axis=1), np.concatenate([w1, w2], axis=1)
    total = wt.sum(axis=1, keepdims=True)
    return off, np.where(total > 0, wt / np.where(total > 0, total, 1.0), 1.0 / wt.shape[1])
