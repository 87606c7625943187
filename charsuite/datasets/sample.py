"""The demo sample: one sputtered Li-rich NMC811 thin film, as in the reference paper."""

from __future__ import annotations

import dataclasses

from charsuite.model import Result


@dataclasses.dataclass(frozen=True)
class DemoSample(Result):
    """Ground truth shared by every generated demo file.

    Attributes
    ----------
    name : str
    stack : tuple of (layer, thickness_nm)
        Top to bottom.
    film_thickness_nm, film_density_g_cm3, electrode_area_cm2 : float
        Cathode film geometry (mass = density × thickness × area).
    target_formula, film_formula : str
        Sputter target and measured film (oxygen unknown: ``Ox``).
    lattice_a_angstrom, lattice_c_angstrom : float
        R-3m NMC811 cell used for the XRD pattern.
    wavelength_angstrom, incidence_angle_deg : float
        Cu Kα1 and the fixed GI incidence angle.
    seed : int
        Seed of every random draw in the generators.
    """

    name: str = "NMC811-demo-film"
    stack: tuple[tuple[str, float], ...] = (
        ("Li", 2000.0),
        ("LiPON", 500.0),
        ("NMC811", 600.0),
        ("ITO", 180.0),
        ("steel", 10000.0),
    )
    film_thickness_nm: float = 600.0
    film_density_g_cm3: float = 3.8
    electrode_area_cm2: float = 0.150
    target_formula: str = "Li1.6Ni0.8Mn0.1Co0.1Ox"
    film_formula: str = "Li1.95Ni0.83Mn0.08Co0.09Ox"
    lattice_a_angstrom: float = 2.872
    lattice_c_angstrom: float = 14.23
    wavelength_angstrom: float = 1.540598
    incidence_angle_deg: float = 2.0
    seed: int = 811

    @property
    def film_mass_g(self) -> float:
        """Cathode mass (g) = density × thickness × area."""
        return self.film_density_g_cm3 * self.film_thickness_nm * 1e-7 * self.electrode_area_cm2


DEMO_SAMPLE = DemoSample()
