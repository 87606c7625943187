"""Film mass from geometry (temporary; see the note below)."""

from __future__ import annotations

from charsuite.exceptions import ParameterError


# replace with charsuite.composition.film_mass at merge
def _film_mass_g(density_g_cm3: float, thickness_nm: float, area_cm2: float) -> float:
    """Return the mass (g) of a dense film: density × thickness × area.

    Parameters
    ----------
    density_g_cm3 : float
        Film density (g/cm³).
    thickness_nm : float
        Film thickness (nm); 1 nm = 1e-7 cm.
    area_cm2 : float
        Electrode area (cm²).

    Raises
    ------
    ParameterError
        If any value is not a positive finite number.
    """
    import math

    for name, value in (
        ("density_g_cm3", density_g_cm3),
        ("thickness_nm", thickness_nm),
        ("area_cm2", area_cm2),
    ):
        if value is None or not math.isfinite(float(value)) or float(value) <= 0:
            raise ParameterError(
                f"{name}={value!r}: expected a positive number to compute the film mass "
                "(density × thickness × area)"
            )
    return float(density_g_cm3) * float(thickness_nm) * 1e-7 * float(area_cm2)
