"""Derived quantities: molar mass, theoretical capacity, film mass, loading, thickness.

Constants are the exact SI-2019 values: N_A = 6.02214076e23 /mol, e = 1.602176634e-19 C,
F = N_A·e = 96485.33212 C/mol; 1 mAh = 3.6 C. Atomic masses: see
:data:`charsuite.composition.MASS_TABLE`. All functions accept plain floats or
``uncertainties`` numbers (and numpy arrays where it makes sense) and propagate them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from charsuite.composition._elements import (
    atomic_mass,
    cation_order,
    format_amount,
    mass_table_version,
    parse_formula,
)
from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, history_record
from charsuite.model import parse_quantity as model_parse_quantity

AVOGADRO_PER_MOL = 6.02214076e23
ELEMENTARY_CHARGE_C = 1.602176634e-19
FARADAY_C_PER_MOL = AVOGADRO_PER_MOL * ELEMENTARY_CHARGE_C  # 96485.33212 C/mol
COULOMB_PER_MAH = 3.6


def _amounts_of(composition: Any) -> tuple[dict[str, Any], set[str], str]:
    """Amount dict, unknown elements and a label from a formula, dict or CompositionResult."""
    if isinstance(composition, str):
        amounts, unknown = parse_formula(composition)
        return amounts, unknown, composition
    if hasattr(composition, "amounts") and hasattr(composition, "formula"):
        unknown = {"O"} if getattr(composition, "oxygen_unknown", False) else set()
        return dict(composition.amounts), unknown, composition.formula
    if isinstance(composition, Mapping):
        return dict(composition), set(), "".join(f"{k}{v}" for k, v in composition.items())
    raise ParameterError(
        f"expected a formula string, a {{element: amount}} dict or a CompositionResult, "
        f"got {type(composition).__name__}"
    )


def molar_mass(composition: Any) -> Any:
    """Molar mass of one formula unit, g/mol: M = Σ nᵢ·Mᵢ.

    Parameters
    ----------
    composition : str, dict or CompositionResult
        ``"LiNi0.8Mn0.1Co0.1O2"``, ``{"Li": 1.0, ...}`` (amounts may be ``uncertainties``
        numbers) or the result of :func:`charsuite.composition.combine`.

    Returns
    -------
    float or uncertainties number
        g/mol, with masses from :data:`MASS_TABLE`.

    Raises
    ------
    DataError
        If an amount is unknown (``Ox``): a mass needs every element. Use
        :func:`theoretical_capacity` with ``oxygen=(low, high)`` for a range.

    Examples
    --------
    >>> round(molar_mass("LiNi0.8Mn0.1Co0.1O2"), 4)
    97.2816
    """
    amounts, unknown, label = _amounts_of(composition)
    if unknown:
        raise DataError(
            f"molar mass of {label!r} refused: the amount of {', '.join(sorted(unknown))} is "
            "unknown. State it (oxygen=2.0, charge balance) or ask for a range over x"
        )
    return sum(n * atomic_mass(el) for el, n in amounts.items())


def _nominal(value: Any) -> float:
    """The nominal value of a float or an uncertainties number."""
    return float(getattr(value, "nominal_value", value))


def capacity_mAh_g(molar_mass_g_mol: Any, *, electrons: float = 1.0) -> Any:
    """Theoretical gravimetric capacity Q = n·F / (3.6·M) in mAh/g.

    Parameters
    ----------
    molar_mass_g_mol : float or uncertainties number
        Molar mass of the formula unit (the mass basis, e.g. the lithiated formula).
    electrons : float
        n, electrons (Li⁺) exchanged per formula unit.

    References
    ----------
    .. [1] 1 mAh = 3.6 C; F = 96485.33212 C/mol (SI 2019).
    """
    if not math.isfinite(float(electrons)) or electrons <= 0:
        raise ParameterError(f"electrons must be a finite number > 0, got {electrons}")
    if not _nominal(molar_mass_g_mol) > 0:
        raise DataError(
            f"molar mass {molar_mass_g_mol} g/mol: a capacity needs a formula with a "
            "positive mass (every amount is zero?)"
        )
    return electrons * FARADAY_C_PER_MOL / (COULOMB_PER_MAH * molar_mass_g_mol)


@dataclasses.dataclass(frozen=True)
class CapacityResult(Result):
    """Theoretical capacity of a formula.

    Attributes
    ----------
    formula : str
        Formula the mass basis refers to (with the oxygen assumption substituted).
    molar_mass_g_mol : float, uncertainties number or None
    electrons : float
    capacity_mAh_g : float, uncertainties number or None
        None when oxygen is unknown and a range was asked for.
    molar_mass_range_g_mol, capacity_range_mAh_g : list of two floats or None
        ``[at low x, at high x]`` for an unknown oxygen content ``x``.
    oxygen : str
        The oxygen assumption (``"as in formula"``, ``"x = 2"``, ``"x in [2, 2.5]"``).
    mass_table : str
    history : list
    """

    formula: str
    molar_mass_g_mol: Any
    electrons: float
    capacity_mAh_g: Any
    molar_mass_range_g_mol: list | None = None
    capacity_range_mAh_g: list | None = None
    oxygen: str = "as in formula"
    mass_table: str = ""
    history: list = dataclasses.field(default_factory=list)


def theoretical_capacity(
    composition: Any,
    *,
    electrons: float = 1.0,
    oxygen: float | tuple[float, float] | None = None,
) -> CapacityResult:
    """Theoretical gravimetric capacity for ``electrons`` exchanged per formula unit.

    Parameters
    ----------
    composition : str, dict or CompositionResult
        E.g. ``"LiNi0.8Mn0.1Co0.1O2"`` or ``"Li1.95Ni0.83Mn0.08Co0.09Ox"``.
    electrons : float
        n in Q = n·F/(3.6·M); 1 for one Li⁺ per formula unit.
    oxygen : float or (float, float), optional
        O per formula unit when the formula has ``Ox``: a value, or a ``(low, high)``
        range (then only the range is reported). Ignored (error) if O is already given.

    Returns
    -------
    CapacityResult

    Raises
    ------
    DataError
        Oxygen unknown and no ``oxygen`` given (a mass-based number would be a guess).

    Examples
    --------
    >>> round(theoretical_capacity("LiNi0.8Mn0.1Co0.1O2").capacity_mAh_g, 2)
    275.5
    """
    amounts, unknown, label = _amounts_of(composition)
    params = {"formula": label, "electrons": electrons, "oxygen": oxygen}
    record = history_record(
        "capacity", function="charsuite.composition.theoretical_capacity", parameters=params
    )
    history = [*getattr(composition, "history", []), record]
    if oxygen is not None and not all(
        math.isfinite(float(v)) and float(v) >= 0
        for v in (oxygen if isinstance(oxygen, tuple | list) else (oxygen,))
    ):
        raise ParameterError(f"oxygen={oxygen!r}: expected finite amounts ≥ 0 per formula unit")
    if oxygen is not None and "O" not in unknown:
        raise ParameterError(
            f"oxygen={oxygen!r} given but {label!r} already states its oxygen; drop one"
        )
    if unknown - {"O"}:
        raise DataError(f"{label!r}: amounts of {sorted(unknown - {'O'})} unknown")
    if "O" in unknown:
        if oxygen is None:
            raise DataError(
                f"capacity of {label!r} refused: oxygen is unknown (Ox) and the molar mass "
                "depends on it. Give oxygen=VALUE or oxygen=(LOW, HIGH) (CLI: --oxygen 2 or "
                "--oxygen 2.0:2.5)"
            )
        if isinstance(oxygen, tuple | list):
            lo, hi = (float(v) for v in oxygen)
            masses = [molar_mass({**amounts, "O": x}) for x in (lo, hi)]
            caps = [capacity_mAh_g(m, electrons=electrons) for m in masses]
            return CapacityResult(
                formula=_formula({**amounts}, "Ox"),
                molar_mass_g_mol=None,
                electrons=electrons,
                capacity_mAh_g=None,
                molar_mass_range_g_mol=masses,
                capacity_range_mAh_g=caps,
                oxygen=f"x in [{lo:g}, {hi:g}] (unknown)",
                mass_table=mass_table_version(),
                history=history,
            )
        amounts = {**amounts, "O": float(oxygen)}
        note = f"x = {float(oxygen):g} (assumed)"
    else:
        note = "as in formula"
    mass = molar_mass(amounts)
    return CapacityResult(
        formula=_formula(amounts, ""),
        molar_mass_g_mol=mass,
        electrons=electrons,
        capacity_mAh_g=capacity_mAh_g(mass, electrons=electrons),
        oxygen=note,
        mass_table=mass_table_version(),
        history=history,
    )


def _formula(amounts: Mapping[str, Any], suffix: str) -> str:
    parts = []
    for el in cation_order(list(amounts)):
        n = getattr(amounts[el], "nominal_value", amounts[el])
        parts.append(f"{el}{format_amount(n, 4)}")
    return "".join(parts) + suffix


# --- film mass, loading, thickness --------------------------------------------------------


def film_mass(*, density_g_cm3: Any, thickness_nm: Any, area_cm2: Any) -> Any:
    """Film mass in g = density × thickness × area.

    Parameters
    ----------
    density_g_cm3 : float, array or uncertainties number
        Film density, g/cm³ (an assumption for sputtered films; record it).
    thickness_nm : float, array or uncertainties number
        Film thickness, nm (1 nm = 1e-7 cm).
    area_cm2 : float, array or uncertainties number
        Electrode area, cm².

    Returns
    -------
    same type as the inputs
        Mass in g. Relative uncertainties add in quadrature when inputs are independent.

    Examples
    --------
    >>> round(film_mass(density_g_cm3=3.8, thickness_nm=600, area_cm2=0.008) * 1e6, 3)
    1.824
    """
    for name, val in (
        ("density_g_cm3", density_g_cm3),
        ("thickness_nm", thickness_nm),
        ("area_cm2", area_cm2),
    ):
        _check_positive(name, val)
    return density_g_cm3 * thickness_nm * 1e-7 * area_cm2


def _check_positive(name: str, val: Any) -> None:
    import numpy as np
    from uncertainties import unumpy

    try:
        nominal = np.asarray(unumpy.nominal_values(val), dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number or array of numbers, got {val!r}") from None
    if nominal.size == 0 or not np.all(np.isfinite(nominal)) or np.any(nominal <= 0):
        raise ParameterError(f"{name} must be finite and > 0, got {val!r}")


def _atoms_per_gram(composition: Any) -> Any:
    """ν / M: atoms per gram divided by N_A (mol atoms / g)."""
    amounts, unknown, label = _amounts_of(composition)
    if unknown:
        raise DataError(
            f"{label!r}: amount of {sorted(unknown)} unknown; a thickness ↔ areal-density "
            "conversion needs the full composition (state the oxygen)"
        )
    return sum(amounts.values()) / molar_mass(amounts)


def areal_density_from_thickness(thickness_nm: Any, *, density_g_cm3: Any, composition: Any) -> Any:
    """Areal density in 1e15 at/cm² = ρ·N_A·ν/M · t.

    Examples
    --------
    >>> round(areal_density_from_thickness(600, density_g_cm3=3.8,
    ...     composition="LiNi0.8Mn0.1Co0.1O2"), 1)
    5645.7
    """
    n_at_cm3 = density_g_cm3 * AVOGADRO_PER_MOL * _atoms_per_gram(composition)
    return n_at_cm3 * thickness_nm * 1e-7 / 1e15


def thickness_from_areal_density(
    areal_density_1e15_at_cm2: Any, *, density_g_cm3: Any, composition: Any
) -> Any:
    """Thickness in nm from an areal density (1e15 at/cm²), a density and the composition.

    t = N / n_at with n_at = ρ·N_A·ν/M (ν atoms per formula unit of molar mass M).
    IBA thicknesses in nm always depend on this assumed density.
    """
    n_at_cm3 = density_g_cm3 * AVOGADRO_PER_MOL * _atoms_per_gram(composition)
    return areal_density_1e15_at_cm2 * 1e15 / n_at_cm3 * 1e7


def areal_mass_ug_cm2(areal_densities_1e15_at_cm2: Mapping[str, Any]) -> Any:
    """Mass per area in µg/cm² from elemental areal densities: Σ Nᵢ·Mᵢ / N_A.

    No density is needed; this is the preferred route for IBA results.

    Examples
    --------
    >>> n = 5645.7 / 4
    >>> round(areal_mass_ug_cm2({"Li": n, "Ni": .8 * n, "Mn": .1 * n, "Co": .1 * n,
    ...     "O": 2 * n}), 1)
    228.0
    """
    total = sum(n * 1e15 * atomic_mass(el) for el, n in areal_densities_1e15_at_cm2.items())
    return total / AVOGADRO_PER_MOL * 1e6


@dataclasses.dataclass(frozen=True)
class LoadingResult(Result):
    """Film mass and loading.

    Attributes
    ----------
    mass_g : float or uncertainties number or None
        None when no area was given.
    loading_mg_cm2 : float or uncertainties number
    thickness_nm : float, uncertainties number or None
    areal_density_1e15_at_cm2 : float, uncertainties number or None
        Needs a composition (from density × thickness) or is the input (IBA route).
    area_cm2, density_g_cm3 : float or None
    method : str
        ``"density x thickness x area"`` or ``"areal densities (sum N_i M_i / N_A)"``.
    history : list
    """

    mass_g: Any
    loading_mg_cm2: Any
    thickness_nm: Any = None
    areal_density_1e15_at_cm2: Any = None
    area_cm2: Any = None
    density_g_cm3: Any = None
    method: str = ""
    history: list = dataclasses.field(default_factory=list)


def film_loading(
    *,
    density_g_cm3: Any,
    thickness_nm: Any,
    area_cm2: Any,
    composition: Any | None = None,
) -> LoadingResult:
    """Mass, mass loading and (with a composition) areal density of a film.

    Parameters
    ----------
    density_g_cm3, thickness_nm, area_cm2
        See :func:`film_mass`.
    composition : str, dict or CompositionResult, optional
        Needed only for ``areal_density_1e15_at_cm2``.

    Examples
    --------
    >>> r = film_loading(density_g_cm3=3.8, thickness_nm=600, area_cm2=0.008)
    >>> round(r.mass_g * 1e6, 3), round(r.loading_mg_cm2, 4)
    (1.824, 0.228)
    """
    mass = film_mass(density_g_cm3=density_g_cm3, thickness_nm=thickness_nm, area_cm2=area_cm2)
    areal = None
    if composition is not None:
        areal = areal_density_from_thickness(
            thickness_nm, density_g_cm3=density_g_cm3, composition=composition
        )
    label = composition if isinstance(composition, str) else getattr(composition, "formula", None)
    return LoadingResult(
        mass_g=mass,
        loading_mg_cm2=density_g_cm3 * thickness_nm * 1e-7 * 1e3,
        thickness_nm=thickness_nm,
        areal_density_1e15_at_cm2=areal,
        area_cm2=area_cm2,
        density_g_cm3=density_g_cm3,
        method="density x thickness x area",
        history=[
            history_record(
                "loading",
                function="charsuite.composition.film_loading",
                parameters={
                    "density_g_cm3": density_g_cm3,
                    "thickness_nm": thickness_nm,
                    "area_cm2": area_cm2,
                    "composition": label,
                },
            )
        ],
    )


def loading_from_areal_densities(
    areal_densities_1e15_at_cm2: Mapping[str, Any],
    *,
    area_cm2: Any | None = None,
    density_g_cm3: Any | None = None,
) -> LoadingResult:
    """Loading from IBA areal densities (Σ Nᵢ·Mᵢ/N_A), without assuming a density.

    Parameters
    ----------
    areal_densities_1e15_at_cm2 : dict
        Element → areal density of the film (every element, including oxygen).
    area_cm2 : optional
        Electrode area; gives ``mass_g``.
    density_g_cm3 : optional
        Only to quote a thickness in nm.
    """
    loading_mg_cm2 = areal_mass_ug_cm2(areal_densities_1e15_at_cm2) * 1e-3
    total = sum(areal_densities_1e15_at_cm2.values())
    thickness = None
    if density_g_cm3 is not None:
        thickness = loading_mg_cm2 * 1e-3 / density_g_cm3 * 1e7
    return LoadingResult(
        mass_g=None if area_cm2 is None else loading_mg_cm2 * 1e-3 * area_cm2,
        loading_mg_cm2=loading_mg_cm2,
        thickness_nm=thickness,
        areal_density_1e15_at_cm2=total,
        area_cm2=area_cm2,
        density_g_cm3=density_g_cm3,
        method="areal densities (sum N_i M_i / N_A)",
        history=[
            history_record(
                "loading",
                function="charsuite.composition.loading_from_areal_densities",
                parameters={"area_cm2": area_cm2, "density_g_cm3": density_g_cm3},
            )
        ],
    )


def loading_from_areal_density(
    areal_density_1e15_at_cm2: Any,
    *,
    composition: Any,
    area_cm2: Any | None = None,
    density_g_cm3: Any | None = None,
) -> LoadingResult:
    """Loading from a film's total areal density and its composition (IBA route).

    m/A = N · M / (ν · N_A) with ν atoms per formula unit of molar mass M; a density is
    only needed to quote a thickness.

    Examples
    --------
    >>> r = loading_from_areal_density(5645.66, composition="LiNi0.8Mn0.1Co0.1O2",
    ...     area_cm2=0.008, density_g_cm3=3.8)
    >>> round(r.loading_mg_cm2, 4), round(r.thickness_nm, 1)
    (0.228, 600.0)
    """
    amounts, unknown, label = _amounts_of(composition)
    if unknown:
        raise DataError(
            f"{label!r}: amount of {sorted(unknown)} unknown; the mass needs the full "
            "composition (state the oxygen)"
        )
    _check_positive("areal_density_1e15_at_cm2", areal_density_1e15_at_cm2)
    nu = sum(amounts.values())
    split = {el: areal_density_1e15_at_cm2 * n / nu for el, n in amounts.items()}
    result = loading_from_areal_densities(split, area_cm2=area_cm2, density_g_cm3=density_g_cm3)
    return dataclasses.replace(
        result,
        history=[
            history_record(
                "loading",
                function="charsuite.composition.loading_from_areal_density",
                parameters={
                    "areal_density_1e15_at_cm2": areal_density_1e15_at_cm2,
                    "composition": label,
                    "area_cm2": area_cm2,
                    "density_g_cm3": density_g_cm3,
                },
            )
        ],
    )


# --- quantities with units (CLI and sheets) ----------------------------------------------

# A small explicit table (three kinds of quantity) instead of pint: the CLI needs only
# these, and the error message can list exactly what is accepted.
_CANONICAL = {"density": "g/cm**3", "thickness": "nm", "area": "cm**2"}


def parse_quantity(text: str | float, *, kind: str) -> float:
    """Parse ``"3.8g/cm3"``, ``"600 nm"``, ``"0.008cm2"``, ``"0.8 mm^2"`` into canonical units.

    Canonical units: density g/cm³, thickness nm, area cm². A bare number is taken in the
    canonical unit. The parsing is :func:`charsuite.model.parse_quantity` (pint).

    Raises
    ------
    ParameterError
        Unknown kind, unit or dimension, or a non-finite value.

    Examples
    --------
    >>> parse_quantity("0.6um", kind="thickness")
    600.0
    """
    if kind not in _CANONICAL:
        raise ParameterError(f"kind {kind!r} not one of {sorted(_CANONICAL)}")
    text = text.replace("^", "") if isinstance(text, str) else text
    return model_parse_quantity(text, _CANONICAL[kind], name=kind)


# --- Monte-Carlo propagation ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MonteCarloResult(Result):
    """Distribution of a derived quantity from correlated Gaussian inputs.

    Attributes
    ----------
    mean, std, median : float
    interval_95 : list of two floats
        2.5 and 97.5 percentiles.
    linear : float or uncertainties number
        The first-order (linear) result, for comparison.
    n, seed : int
    """

    mean: float
    std: float
    median: float
    interval_95: list
    linear: Any
    n: int
    seed: int


def monte_carlo(func, inputs: Mapping[str, Any], *, n: int = 20000, seed: int = 0):
    """Propagate correlated uncertainties through a non-linear ``func`` by sampling.

    The inputs are drawn from a multivariate normal with their nominal values and the
    covariance matrix computed by ``uncertainties`` (so correlations created by the
    normalisation are kept); ``func(**sample)`` is evaluated per draw with plain floats.
    Use it when relative uncertainties are large (≳ 20 %), where first-order propagation
    biases non-linear results such as Q = n·F/(3.6·M).

    Parameters
    ----------
    func : callable
        ``func(**{name: float}) -> float``.
    inputs : mapping
        Name → float or ``uncertainties`` number.
    n : int
        Number of draws.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    MonteCarloResult

    Examples
    --------
    >>> from uncertainties import ufloat
    >>> r = monte_carlo(lambda m: 96485.33212 / (3.6 * m), {"m": ufloat(97.28, 0.5)}, n=4000)
    >>> round(r.mean, 1)
    275.5
    """
    import numpy as np
    from uncertainties import covariance_matrix

    if n < 10:
        raise ParameterError(f"n={n}: use at least 10 draws")
    names = list(inputs)
    uncertain = [k for k in names if getattr(inputs[k], "std_dev", 0) > 0]
    rng = np.random.default_rng(seed)
    samples = {k: np.full(n, float(getattr(inputs[k], "nominal_value", inputs[k]))) for k in names}
    if uncertain:
        cov = np.asarray(covariance_matrix([inputs[k] for k in uncertain]), dtype=float)
        mean = np.array([inputs[k].nominal_value for k in uncertain])
        draws = rng.multivariate_normal(mean, cov, size=n, method="eigh")
        for i, k in enumerate(uncertain):
            samples[k] = draws[:, i]
    values = np.array(
        [func(**{k: float(samples[k][j]) for k in names}) for j in range(n)], dtype=float
    )
    return MonteCarloResult(
        mean=float(np.mean(values)),
        std=float(np.std(values, ddof=1)),
        median=float(np.median(values)),
        interval_95=[float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))],
        linear=func(**dict(inputs)),
        n=n,
        seed=seed,
    )
