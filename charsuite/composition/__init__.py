"""Composition from ion-beam-analysis results (RBS, ToF-ERDA, PIXE) to formula and capacity.

Readers (``charsuite.io.read``) return ``("layer", "element")`` datasets; this package
turns them into per-technique amounts with uncertainties (:func:`amounts_from`), merges
them by stated rules into one normalised formula (:func:`combine`) and derives molar
mass, theoretical capacity, film mass, loading and thickness.

Dataset convention (composition readers)
----------------------------------------
Dims ``("layer", "element")``; coordinates ``layer`` (index from the surface, 1 = top),
``element`` (symbol; ``"Ni+Mn+Co"`` for an unresolved group) and, when the file states
it, ``layer_thickness`` (1e15 at/cm²). Amounts are NaN where an element is not listed
in a layer. Amount variables are named after their quantity
(``areal_density`` in "1e15 at/cm2", ``at_pct`` in "at.%", ``ppm_mass`` in "ppm",
``wt_pct`` in "wt.%", ``ratio``) and carry ``attrs["quantity"]`` and
``attrs["technique"]``; ``<name>_sigma`` holds the 1σ uncertainty (NaN = not given).
``metadata["iba_method"]`` names the technique.

>>> from charsuite.composition import theoretical_capacity, film_mass
>>> round(theoretical_capacity("LiNi0.8Mn0.1Co0.1O2").capacity_mAh_g, 1)
275.5
>>> round(film_mass(density_g_cm3=3.8, thickness_nm=600, area_cm2=0.008) * 1e6, 3)
1.824
"""

from charsuite.composition._amounts import (
    QUANTITIES,
    AmountTable,
    ElementAmounts,
    amount_table,
    amounts_from,
    sources_from,
)
from charsuite.composition._combine import (
    DEFAULT_OXIDATION_STATES,
    CompositionResult,
    DisagreementWarning,
    Rule,
    combine,
    format_formula,
    parse_basis,
    parse_rule,
)
from charsuite.composition._derived import (
    AVOGADRO_PER_MOL,
    FARADAY_C_PER_MOL,
    CapacityResult,
    LoadingResult,
    MonteCarloResult,
    areal_density_from_thickness,
    areal_mass_ug_cm2,
    capacity_mAh_g,
    film_loading,
    film_mass,
    loading_from_areal_densities,
    loading_from_areal_density,
    molar_mass,
    monte_carlo,
    parse_quantity,
    theoretical_capacity,
    thickness_from_areal_density,
)
from charsuite.composition._elements import MASS_TABLE, atomic_mass, fold_isotope, parse_formula
from charsuite.io.formats.iba.potku_depth import potku_window_average

__all__ = [
    "AVOGADRO_PER_MOL",
    "DEFAULT_OXIDATION_STATES",
    "FARADAY_C_PER_MOL",
    "MASS_TABLE",
    "QUANTITIES",
    "AmountTable",
    "CapacityResult",
    "CompositionResult",
    "DisagreementWarning",
    "ElementAmounts",
    "LoadingResult",
    "MonteCarloResult",
    "Rule",
    "amount_table",
    "amounts_from",
    "areal_density_from_thickness",
    "areal_mass_ug_cm2",
    "atomic_mass",
    "capacity_mAh_g",
    "combine",
    "film_loading",
    "film_mass",
    "fold_isotope",
    "format_formula",
    "loading_from_areal_densities",
    "loading_from_areal_density",
    "molar_mass",
    "monte_carlo",
    "parse_basis",
    "parse_formula",
    "parse_quantity",
    "parse_rule",
    "potku_window_average",
    "sources_from",
    "theoretical_capacity",
    "thickness_from_areal_density",
]
