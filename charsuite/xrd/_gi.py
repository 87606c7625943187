"""Grazing-incidence (fixed incidence angle) physics not found in xrayutilities or pymatgen.

Geometry: the incident beam makes the fixed angle α (``incidence_angle_deg``) with the
sample surface; the diffracted beam leaves at β = 2θ − α. Symmetric Bragg–Brentano is the
special case α = β = θ. Angles in degrees, thicknesses in nm, μ in 1/µm unless stated.

References
----------
.. [1] M. Birkholz, *Thin Film Analysis by X-Ray Scattering*, Wiley-VCH (2006), ch. 4
   (information depth, absorption factor for fixed incidence) and ch. 5 (texture).
.. [2] G. Lim, W. Parrish, C. Ortiz, M. Bellotto, M. Hart, "Grazing incidence synchrotron
   x-ray diffraction method for analyzing thin films", J. Mater. Res. 2, 471 (1987)
   (refraction shift of peak positions at grazing incidence).
.. [3] W. A. Dollase, J. Appl. Cryst. 19, 267 (1986) (March–Dollase function).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from charsuite.exceptions import ParameterError
from charsuite.model import Result


@dataclasses.dataclass(frozen=True)
class OpticalConstants(Result):
    """X-ray optical constants of one material at one wavelength.

    Attributes
    ----------
    material : str
    wavelength_angstrom : float
    density_g_cm3 : float
    delta, beta : float
        Refractive index n = 1 − δ + iβ.
    mu_per_um : float
        Linear absorption coefficient μ = 4πβ/λ (1/µm).
    critical_angle_deg : float
        α_c ≈ √(2δ).
    """

    material: str
    wavelength_angstrom: float
    density_g_cm3: float
    delta: float
    beta: float
    mu_per_um: float
    critical_angle_deg: float


@lru_cache(maxsize=256)
def _optical(composition: tuple, density: float, wavelength: float) -> tuple:
    import xrayutilities as xu

    mat = xu.materials.Amorphous("m", density * 1000.0, atoms=list(composition))
    en = xu.utilities.lam2en(wavelength)
    delta = float(mat.delta(en))
    beta = float(mat.ibeta(en))
    return delta, beta


def optical_constants(
    composition: dict[str, float] | str,
    *,
    density_g_cm3: float,
    wavelength_angstrom: float = 1.540598,
    name: str | None = None,
) -> OpticalConstants:
    """δ, β, μ and the critical angle from composition and density (xrayutilities tables).

    Parameters
    ----------
    composition : dict or str
        ``{"Li": 1, "Ni": 0.8, ...}`` or a formula string (parsed by pymatgen).
    density_g_cm3 : float
    wavelength_angstrom : float
    name : str, optional
        Label stored in the result.

    Returns
    -------
    OpticalConstants
    """
    if isinstance(composition, str):
        from pymatgen.core import Composition

        label = composition
        composition = {str(el): float(v) for el, v in Composition(composition).items()}
    else:
        label = "".join(f"{k}{v:g}" for k, v in composition.items())
    if density_g_cm3 <= 0 or wavelength_angstrom <= 0:
        raise ParameterError(
            f"density {density_g_cm3} g/cm³ and wavelength {wavelength_angstrom} Å must be > 0"
        )
    key = tuple(sorted((str(k), float(v)) for k, v in composition.items()))
    delta, beta = _optical(key, float(density_g_cm3), float(wavelength_angstrom))
    mu = 4 * np.pi * beta / (wavelength_angstrom * 1e-4)  # 1/µm
    return OpticalConstants(
        material=name or label,
        wavelength_angstrom=float(wavelength_angstrom),
        density_g_cm3=float(density_g_cm3),
        delta=delta,
        beta=beta,
        mu_per_um=float(mu),
        critical_angle_deg=float(np.degrees(np.sqrt(2 * delta))),
    )


def _exit_angle(two_theta, incidence_angle_deg):
    alpha = incidence_angle_deg if incidence_angle_deg is not None else None
    tth = np.asarray(two_theta, dtype=float)
    if alpha is None:  # symmetric
        return tth / 2, tth / 2
    return np.full_like(tth, float(alpha)), tth - float(alpha)


def psi_tilt(two_theta, *, incidence_angle_deg: float):
    """Tilt ψ = θ − α of the scattering vector from the surface normal (deg) [1]_."""
    return np.asarray(two_theta, dtype=float) / 2 - float(incidence_angle_deg)


def refraction_shift(two_theta, *, incidence_angle_deg: float | None, delta: float):
    """Peak shift Δ2θ (deg, measured − Bragg) from refraction at entry and exit [2]_.

    Δ2θ = (α − α′) + (β − β′), with cos α′ = cos α/(1 − δ) and likewise for the exit
    angle β = 2θ − α. Positive: peaks appear at larger 2θ. Below the critical angle the
    inner angle is set to 0 (evanescent wave); callers should check α > α_c.

    Parameters
    ----------
    two_theta : array_like
        Measured (or Bragg) 2θ (deg).
    incidence_angle_deg : float or None
        Fixed incidence α; None for symmetric Bragg–Brentano (α = β = θ).
    delta : float
        Refractive-index decrement of the diffracting material.

    Returns
    -------
    ndarray
        Peak shift Δ2θ (deg) at each ``two_theta``; positive toward larger 2θ.
    """
    a, b = _exit_angle(two_theta, incidence_angle_deg)

    def inner(x):
        c = np.cos(np.radians(x)) / (1 - delta)
        return np.degrees(np.arccos(np.clip(c, -1, 1)))

    return (a - inner(a)) + (b - inner(b))


def information_depth(
    two_theta,
    *,
    incidence_angle_deg: float | None,
    delta: float,
    beta: float,
    wavelength_angstrom: float,
):
    """1/e information depth (nm) at each 2θ [1]_.

    z = 1 / [2k (Im√(sin²α − 2δ + 2iβ) + Im√(sin²β − 2δ + 2iβ))], k = 2π/λ; far above
    the critical angle this is 1/[μ(1/sin α + 1/sin β)].
    """
    a, b = _exit_angle(two_theta, incidence_angle_deg)
    k = 2 * np.pi / wavelength_angstrom

    def im(x):
        s = np.sin(np.radians(x))
        return np.sqrt(s * s - 2 * delta + 2j * beta).imag

    with np.errstate(divide="ignore"):
        z = 1.0 / (2 * k * (im(a) + im(b)))  # Å
    return z / 10.0


def absorption_factor(
    two_theta,
    *,
    incidence_angle_deg: float | None,
    mu_per_um: float,
    thickness_nm: float | None = None,
    depth_nm: float = 0.0,
    above_mu_per_um: float = 0.0,
    above_thickness_nm: float = 0.0,
):
    """Irradiated-volume/absorption factor A(α, β) (µm) of a layer [1]_.

    A = [1 − exp(−μt(1/sin α + 1/sin β))] / [μ(1 + sin α/sin β)] for a layer of thickness
    t (infinite when ``thickness_nm`` is None), multiplied by the transmission of the layers
    above it, exp(−μ′t′(1/sin α + 1/sin β)) (``above_*``). The diffracted intensity of the
    layer is proportional to A.

    Parameters
    ----------
    two_theta : array_like
        Diffraction angle 2θ (deg).
    incidence_angle_deg : float or None
        Fixed incidence α (deg); None for symmetric Bragg–Brentano (α = β = θ).
    mu_per_um : float
        Linear attenuation coefficient μ of the layer (1/µm).
    thickness_nm : float, optional
        Layer thickness t (nm); None for an infinitely thick layer.
    depth_nm : float
        Depth of the layer below the surface (nm); not used in the calculation.
    above_mu_per_um : float
        Attenuation coefficient μ′ of the layers above (1/µm).
    above_thickness_nm : float
        Total thickness t′ of the layers above (nm).

    Returns
    -------
    ndarray
        Absorption factor A (µm) at each ``two_theta``; 0 where the exit angle β ≤ 0.
    """
    a, b = _exit_angle(two_theta, incidence_angle_deg)
    sa, sb = np.sin(np.radians(a)), np.sin(np.radians(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        path = 1 / sa + 1 / sb
        base = 1.0 / (mu_per_um * (1 + sa / sb))
        if thickness_nm is not None:
            base = base * (1 - np.exp(-mu_per_um * thickness_nm * 1e-3 * path))
        trans = np.exp(-above_mu_per_um * above_thickness_nm * 1e-3 * path)
        out = base * trans
    return np.where(sb > 0, out, 0.0)


def march_dollase(r: float, angle_deg):
    """March–Dollase weight W(φ) = (r² cos²φ + sin²φ / r)^(−3/2) [3]_."""
    ang = np.radians(np.asarray(angle_deg, dtype=float))
    return (r * r * np.cos(ang) ** 2 + np.sin(ang) ** 2 / r) ** -1.5


def texture_factor(r: float, phi_deg, *, psi_deg=0.0, n_chi: int = 72):
    """March–Dollase fibre-texture weight measured at sample tilt ψ (fixed incidence).

    The fibre axis is the surface normal; reflection hkl makes the angle φ with the fibre
    axis and is recorded with the scattering vector tilted by ψ from the normal, so the
    weight is the average of W(β) over the cone cos β = cos ψ cos φ + sin ψ sin φ cos χ
    ([1]_ ch. 5; ``shared/notes/xrd.md`` §4.4). For ψ = 0 (Bragg–Brentano) this is W(φ).
    r < 1: plates with the fibre axis along the normal (e.g. c-axis ⟂ substrate);
    r = 1: random.

    Parameters
    ----------
    r : float
        March–Dollase parameter (1 = random, < 1 plates along the normal).
    phi_deg : float or array_like
        Angle φ (deg) between each reflection's normal and the fibre axis.
    psi_deg : float or array_like
        Sample tilt ψ (deg) of the scattering vector from the surface normal,
        broadcast against ``phi_deg``.
    n_chi : int
        Number of χ samples on [0, π] for the trapezoid average.

    Returns
    -------
    float or ndarray
        Texture weight (dimensionless); a float when ``phi_deg`` is a scalar, else
        one value per ``phi_deg``.
    """
    phi = np.radians(np.atleast_1d(np.asarray(phi_deg, dtype=float)))[:, None]
    psi = np.radians(np.broadcast_to(np.asarray(psi_deg, dtype=float), phi.shape[:1]))[:, None]
    chi = np.linspace(0, np.pi, n_chi)[None, :]
    cosb = np.cos(psi) * np.cos(phi) + np.sin(psi) * np.sin(phi) * np.cos(chi)
    cosb = np.clip(cosb, -1, 1)
    w = (r * r * cosb**2 + (1 - cosb**2) / r) ** -1.5
    # trapezoid average over χ ∈ [0, π]
    out = (w[:, 1:] + w[:, :-1]).sum(axis=1) / (2 * (n_chi - 1))
    return out if np.ndim(phi_deg) else float(out[0])
