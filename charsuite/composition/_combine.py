"""Merge amounts from several techniques into one normalised composition.

Conventions
-----------
* Every source is first put on an atomic scale (PIXE mass fractions are divided by the
  atomic masses) and then expressed *relative to the basis*: for a basis ``Ni+Mn+Co=1``
  the amount of element X from technique S is ``1 · X_S / (Ni+Mn+Co)_S``. A technique
  that measures only the sum of a group (ToF-ERDA or RBS for Ni/Mn/Co) provides it as the
  key ``"Ni+Mn+Co"``.
* Rules say which technique gives what (see :func:`parse_rule`). Without a rule, an
  element measured by several techniques is their inverse-variance weighted mean
  (weights 1/σ² of the nominal σ), and a :class:`DisagreementWarning` is raised when two
  of them differ by more than ``agreement_sigma`` combined standard uncertainties.
* Uncertainties are ``uncertainties`` numbers throughout; correlations created by the
  normalisation (all metals share the same denominator) are kept, so the Ni+Mn+Co sum
  of the result is exactly 1 ± 0.
* Oxygen is a stated policy, never a silent number: ``"unknown"`` (formula ``...Ox``;
  mass-based results refused or given as a range), ``"measured"``, a fixed value, or
  ``"charge-balance"`` from stated oxidation states.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from charsuite.composition._amounts import ElementAmounts, amounts_from, group_key, split_key
from charsuite.composition._derived import molar_mass, theoretical_capacity
from charsuite.composition._elements import (
    Z,
    cation_order,
    fold_isotope,
    format_amount,
    is_element,
    mass_table_version,
    parse_formula,
)
from charsuite.exceptions import CharsuiteWarning, DataError, ParameterError
from charsuite.model import Result, provenance

#: Oxidation states used by ``oxygen="charge-balance"`` unless overridden. Ni is taken as
#: 2+ (as in the reference paper's discussion); pass ``oxidation_states={"Ni": 3}`` to change.
DEFAULT_OXIDATION_STATES: dict[str, float] = {
    "H": 1,
    "Li": 1,
    "Na": 1,
    "K": 1,
    "Mg": 2,
    "Ca": 2,
    "Al": 3,
    "Ti": 4,
    "V": 5,
    "Cr": 3,
    "Mn": 4,
    "Fe": 3,
    "Co": 3,
    "Ni": 2,
    "Cu": 2,
    "Zn": 2,
    "Zr": 4,
    "Nb": 5,
    "Mo": 6,
    "W": 6,
    "B": 3,
    "Si": 4,
    "P": 5,
    "F": -1,
    "Cl": -1,
    "N": -3,
    "S": -2,
}


class DisagreementWarning(CharsuiteWarning):
    """Two techniques give amounts of one element that differ beyond their uncertainties."""


# --- rules and basis -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rule:
    """One merge rule.

    Attributes
    ----------
    kind : str
        ``"from"`` (elements taken from the technique), ``"ratios"`` (split inside a group
        from the technique) or ``"total"`` (amount of a group, and the absolute scale,
        from the technique).
    elements : tuple of str
        The elements concerned (for ``"total"`` with ``metal``: empty until resolved).
    technique : str
    text : str
        The rule as written.
    """

    kind: str
    elements: tuple[str, ...]
    technique: str
    text: str


_TOTAL = re.compile(r"^\s*(?P<grp>.+?)\s+total\s+from\s+(?P<src>[\w.-]+)\s*$", re.I)
_FROM = re.compile(r"^\s*(?P<els>.+?)\s+(?P<ratio>ratios?\s+)?from\s+(?P<src>[\w.-]+)\s*$", re.I)
_METAL_WORDS = ("metal", "metals", "tm", "transition metals")


def parse_rule(text: str) -> Rule:
    """Parse a merge rule written in words.

    Accepted forms (case-insensitive keywords, case-sensitive element symbols)::

        "Li from ERDA"               Li relative to the basis from ERDA only
        "Li,O from ERDA"             several elements
        "Ni,Mn,Co ratios from PIXE"  split of the group Ni:Mn:Co from PIXE
        "metal total from RBS"       the basis/metal group total and the absolute
        "Ni+Mn+Co total from RBS"    scale (areal density) from RBS

    Parameters
    ----------
    text : str
        The rule in words.

    Returns
    -------
    Rule
        Kind (``"from"``, ``"ratios"`` or ``"total"``), elements, technique (upper
        case) and the original text.

    Raises
    ------
    ParameterError
        If the text matches none of these forms or names unknown elements.
    """
    m = _TOTAL.match(text)
    if m:
        grp = m.group("grp").strip()
        elements: tuple[str, ...] = ()
        if grp.lower() not in _METAL_WORDS:
            elements = tuple(_elements_list(grp, text))
        return Rule("total", elements, m.group("src").upper(), text)
    m = _FROM.match(text)
    if m:
        kind = "ratios" if m.group("ratio") else "from"
        elements = tuple(_elements_list(m.group("els"), text))
        if kind == "ratios" and len(elements) < 2:
            raise ParameterError(f"rule {text!r}: 'ratios' needs at least two elements")
        return Rule(kind, elements, m.group("src").upper(), text)
    raise ParameterError(
        f"cannot understand rule {text!r}; write e.g. 'Li from ERDA', "
        "'Ni,Mn,Co ratios from PIXE' or 'metal total from RBS'"
    )


def _elements_list(text: str, rule: str) -> list[str]:
    parts = [p for p in re.split(r"[,+\s]+", text.strip()) if p]
    bad = [p for p in parts if not is_element(p)]
    if bad or not parts:
        raise ParameterError(f"rule {rule!r}: {bad or text!r} are not element symbols")
    return parts


def parse_basis(text: str) -> tuple[tuple[str, ...], float]:
    """``"Ni+Mn+Co=1"`` → ``(("Ni", "Mn", "Co"), 1.0)``; ``"O=2"`` → ``(("O",), 2.0)``.

    Parameters
    ----------
    text : str
        Element symbols joined by ``+``, ``=``, and a positive amount.

    Returns
    -------
    tuple
        The elements (tuple of str) and the basis amount (float, > 0).

    Raises
    ------
    ParameterError
        If the text is malformed, names unknown elements or the value is not > 0.
    """
    m = re.match(r"^\s*([A-Za-z+\s]+?)\s*=\s*([0-9.eE+-]+)\s*$", str(text))
    if not m:
        raise ParameterError(f"basis {text!r} not understood; write e.g. 'Ni+Mn+Co=1' or 'O=2'")
    elements = tuple(p.strip() for p in m.group(1).split("+") if p.strip())
    bad = [e for e in elements if not is_element(e)]
    try:
        value = float(m.group(2))
    except ValueError:
        value = float("nan")
    if bad or not elements or not math.isfinite(value) or value <= 0:
        raise ParameterError(
            f"basis {text!r}: elements must be symbols joined by '+' and the value > 0"
        )
    return elements, value


# --- result ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CompositionResult(Result):
    """A merged, normalised composition.

    Attributes
    ----------
    formula : str
        Nominal formula, e.g. ``"Li1.95Ni0.83Mn0.08Co0.09Ox"`` (``Ox``: oxygen unknown).
    formula_with_uncertainty : str
        With 1σ in parentheses on the last digits (PDG rounding), e.g. ``Li1.95(11)...``.
    basis : str
        Normalisation, e.g. ``"Ni+Mn+Co=1"``.
    oxygen_policy : str
        How oxygen was set (always stated).
    amounts : dict
        Element → amount per formula unit (``uncertainties`` numbers, correlated).
    sources : dict
        Element → how it was obtained.
    areal_densities_1e15_at_cm2 : dict or None
        Element → areal density when some technique fixed the absolute scale.
    oxygen_unknown : bool
    target : dict or None
        Comparison with the target composition (see :func:`combine`).
    warnings : list of str
    mass_table : str
    history : list
    """

    formula: str
    formula_with_uncertainty: str
    basis: str
    oxygen_policy: str
    amounts: dict
    sources: dict
    areal_densities_1e15_at_cm2: dict | None = None
    oxygen_unknown: bool = False
    target: dict | None = None
    warnings: list = dataclasses.field(default_factory=list)
    mass_table: str = ""
    history: list = dataclasses.field(default_factory=list)

    def at_pct(self) -> dict[str, Any]:
        """Atomic percent of each element in :attr:`amounts` (O left out when unknown)."""
        total = sum(self.amounts.values())
        return {el: 100 * n / total for el, n in self.amounts.items()}

    def wt_pct(self, *, oxygen: float | None = None) -> dict[str, Any]:
        """Weight percent of each element (masses: :data:`MASS_TABLE`).

        Refused when oxygen is unknown unless ``oxygen`` (O per formula unit) is given;
        the result then includes O.
        """
        from charsuite.composition._elements import atomic_mass

        amounts = dict(self.amounts)
        if self.oxygen_unknown:
            if oxygen is None:
                raise DataError(
                    "wt.% refused: oxygen is unknown and carries mass; pass oxygen=VALUE"
                )
            amounts["O"] = float(oxygen)
        elif oxygen is not None:
            raise ParameterError("oxygen is already set by the composition; drop oxygen=")
        masses = {el: n * atomic_mass(el) for el, n in amounts.items()}
        total = sum(masses.values())
        return {el: 100 * m / total for el, m in masses.items()}

    def molar_mass(self) -> Any:
        """Molar mass (g/mol) of the formula unit; refused when oxygen is unknown."""
        if self.oxygen_unknown:
            return molar_mass(self.formula)  # raises DataError with the explanation
        return molar_mass(self.amounts)

    def capacity(self, *, electrons: float = 1.0, oxygen=None):
        """:func:`charsuite.composition.theoretical_capacity` of this composition."""
        return theoretical_capacity(self, electrons=electrons, oxygen=oxygen)

    def loading(
        self,
        *,
        area_cm2: float | None = None,
        oxygen: float | tuple[float, float] | None = None,
        density_g_cm3: float | None = None,
    ):
        """Film mass loading from the areal densities (Σ Nᵢ·Mᵢ/N_A), no density needed.

        Parameters
        ----------
        area_cm2 : float, optional
            Electrode area, for ``mass_g``.
        oxygen : float or (float, float), optional
            O per formula unit when oxygen is unknown: a value, or a range (then a list
            of two :class:`LoadingResult` is returned, at low and high x).
        density_g_cm3 : float, optional
            Only to quote a thickness in nm.

        Raises
        ------
        DataError
            No absolute scale (no areal-density technique), or oxygen unknown and no
            ``oxygen`` given (the oxygen mass would be silently missing).
        """
        from charsuite.composition._derived import loading_from_areal_densities

        if not self.areal_densities_1e15_at_cm2:
            raise DataError(
                "no absolute scale: no technique gave areal densities (1e15 at/cm2); add an "
                "RBS areal-density source and a rule such as 'metal total from RBS'"
            )
        areal = dict(self.areal_densities_1e15_at_cm2)
        kwargs = {"area_cm2": area_cm2, "density_g_cm3": density_g_cm3}
        if not self.oxygen_unknown:
            if oxygen is not None:
                raise ParameterError("oxygen is already set by the composition; drop oxygen=")
            return loading_from_areal_densities(areal, **kwargs)
        if oxygen is None:
            raise DataError(
                "loading refused: oxygen is unknown, so the film mass would miss the oxygen; "
                "pass oxygen=VALUE or oxygen=(LOW, HIGH) per formula unit"
            )
        ref = next(e for e in self.amounts if _nominal(self.amounts[e]) > 0)
        per_fu = areal[ref] / self.amounts[ref]  # formula units per cm² (1e15)
        if isinstance(oxygen, tuple | list):
            return [
                loading_from_areal_densities({**areal, "O": float(x) * per_fu}, **kwargs)
                for x in oxygen
            ]
        return loading_from_areal_densities({**areal, "O": float(oxygen) * per_fu}, **kwargs)

    def correlation_matrix(self) -> tuple[list[str], list[list[float]]]:
        """Elements and the correlation matrix of their amounts."""
        from uncertainties import correlation_matrix, ufloat

        elements = list(self.amounts)
        values = [
            v if hasattr(v, "std_dev") else ufloat(float(v), 0.0) for v in self.amounts.values()
        ]
        if any(v.std_dev == 0 for v in values):
            keep = [i for i, v in enumerate(values) if v.std_dev > 0]
            elements = [elements[i] for i in keep]
            values = [values[i] for i in keep]
        if not values:
            return [], []
        return elements, [[float(x) for x in row] for row in correlation_matrix(values)]

    def to_dict(self) -> dict[str, Any]:
        """JSON layout of ``charsuite composition combine --json``."""
        from charsuite.model import jsonable

        at = self.at_pct()
        elements = {}
        for el, n in self.amounts.items():
            entry = {
                "amount": _nominal(n),
                "amount_err": _sigma(n),
                "at_pct": _nominal(at[el]),
                "at_pct_err": _sigma(at[el]),
                "source": self.sources.get(el, ""),
            }
            if self.areal_densities_1e15_at_cm2 and el in self.areal_densities_1e15_at_cm2:
                ad = self.areal_densities_1e15_at_cm2[el]
                entry["areal_density_1e15_at_cm2"] = _nominal(ad)
                entry["areal_density_err_1e15_at_cm2"] = _sigma(ad)
            elements[el] = entry
        names, matrix = self.correlation_matrix()
        return {
            "formula": self.formula,
            "formula_with_uncertainty": self.formula_with_uncertainty,
            "basis": self.basis,
            "oxygen_policy": self.oxygen_policy,
            "oxygen_unknown": self.oxygen_unknown,
            "at_pct_basis": "all elements listed"
            + (" (oxygen unknown, not included)" if self.oxygen_unknown else ""),
            "elements": elements,
            "correlation": {"elements": names, "matrix": matrix},
            "target": jsonable(self.target),
            "warnings": list(self.warnings),
            "mass_table": self.mass_table,
            "history": jsonable(self.history),
        }


def _nominal(x: Any) -> float:
    return float(getattr(x, "nominal_value", x))


def _sigma(x: Any) -> float:
    return float(getattr(x, "std_dev", 0.0))


def format_formula(
    amounts: Mapping[str, Any],
    *,
    unknown: Sequence[str] = (),
    decimals: int = 2,
    uncertainty: bool = False,
) -> str:
    """Formula text from amounts: ``Li1.95Ni0.83Mn0.08Co0.09Ox``.

    Parameters
    ----------
    amounts : mapping
        Element → amount (float or ``uncertainties`` number), in print order.
    unknown : sequence of str
        Elements printed with ``x`` (e.g. ``["O"]``), last.
    decimals : int
        Decimals of nominal amounts (trailing zeros and a lone 1 are dropped).
    uncertainty : bool
        Print ``value(σ)`` with PDG rounding of the uncertainty where σ > 0.

    Returns
    -------
    str
        The formula text.
    """
    parts = []
    for el, n in amounts.items():
        s = _sigma(n)
        if uncertainty and s > 0:
            parts.append(f"{el}{n:uS}")
        else:
            parts.append(f"{el}{format_amount(_nominal(n), decimals)}")
    parts += [f"{el}x" for el in unknown]
    return "".join(parts)


# --- combine -----------------------------------------------------------------------------


def _group_total(atoms: Mapping[str, Any], elements: Sequence[str]):
    """Amount of a set of elements in one source: an element, a group key, or a sum."""
    if len(elements) == 1 and elements[0] in atoms:
        return atoms[elements[0]]
    wanted = set(elements)
    for key, val in atoms.items():
        if "+" in key and set(split_key(key)) == wanted:
            return val
    if all(e in atoms for e in elements):
        return sum(atoms[e] for e in elements)
    return None


def _iv_mean(
    element: str,
    values: dict[str, Any],
    *,
    agreement_sigma: float,
    on_disagreement: str,
    notes: list[str],
):
    """Inverse-variance mean of {technique: ufloat}; warns/inflates/raises on disagreement."""
    from uncertainties import ufloat

    if len(values) == 1:
        return next(iter(values.values()))
    zero = [t for t, v in values.items() if _sigma(v) == 0]
    if zero:
        raise DataError(
            f"{element} is measured by {', '.join(values)} but {', '.join(zero)} gives no "
            f"uncertainty, so they cannot be inverse-variance weighted; add a rule such as "
            f"'{element} from {next(t for t in values if t not in zero) if len(zero) < len(values) else zero[0]}'"
        )
    weights = {t: 1.0 / _sigma(v) ** 2 for t, v in values.items()}
    wsum = sum(weights.values())
    mean = sum(weights[t] * v for t, v in values.items()) / wsum
    worst = 0.0
    for (t1, v1), (t2, v2) in itertools.combinations(values.items(), 2):
        z = abs(_nominal(v1) - _nominal(v2)) / math.hypot(_sigma(v1), _sigma(v2))
        if z > worst:
            worst, pair = z, (t1, v1, t2, v2)
    if worst > agreement_sigma:
        t1, v1, t2, v2 = pair
        message = (
            f"{element}: {t1} gives {v1:.2uP} and {t2} gives {v2:.2uP} "
            f"(per basis), {worst:.1f}σ apart (> {agreement_sigma:g}σ)"
        )
        if on_disagreement == "error":
            raise DataError(message + "; add a rule choosing one technique")
        chi2 = sum(weights[t] * (_nominal(v) - _nominal(mean)) ** 2 for t, v in values.items())
        birge = math.sqrt(chi2 / (len(values) - 1))
        if on_disagreement == "inflate" and birge > 1:
            extra = _sigma(mean) * math.sqrt(birge**2 - 1)
            mean = mean + ufloat(0.0, extra, tag=f"birge:{element}")
            message += f"; uncertainty inflated by the Birge ratio {birge:.2f}"
        else:
            message += "; inverse-variance mean kept (use a rule to choose one technique)"
        notes.append(message)
        warnings.warn(message, DisagreementWarning, stacklevel=3)
    return mean


def _coerce_sources(sources: Any) -> dict[str, ElementAmounts]:
    out: dict[str, ElementAmounts] = {}
    if isinstance(sources, Mapping):
        for name, src in sources.items():
            try:
                amounts = amounts_from(src)
            except ParameterError:  # several techniques in one sheet: pick by label
                amounts = amounts_from(src, technique=str(name))
            label = str(name).upper()
            out[label] = dataclasses.replace(amounts, technique=label)
    else:
        for src in sources:
            amounts = amounts_from(src)
            if amounts.technique in out:
                raise ParameterError(
                    f"two sources are labelled {amounts.technique}; pass a dict "
                    "{label: source} to name them"
                )
            out[amounts.technique] = amounts
    if not out:
        raise ParameterError("no sources given; pass e.g. {'ERDA': ..., 'PIXE': ...}")
    return out


# Elements never chosen as an inferred basis: light elements whose amounts ERDA/NRA give
# with the largest uncertainty, and which are not the framework of a cathode.
_NOT_BASIS = frozenset({"H", "D", "Li", "Be", "B", "C", "N", "O", "F", "Na"})


def _transition_metal(el: str) -> bool:
    z = Z.get(fold_isotope(el), 0)
    return 21 <= z <= 30 or 39 <= z <= 48 or 72 <= z <= 80


def _measures(a: Mapping[str, Any], elements: Sequence[str]) -> bool:
    b = _group_total(a, elements)
    return b is not None and _nominal(b) > 0


def _infer_basis(atoms: dict, requested: tuple[str, ...], value: float, notes: list):
    """The requested basis when some technique measures it, else an inferred one.

    Inferred: the transition metals that one technique measures all of (the largest such
    group), else its other elements heavier than Na; sums given as keys (``"Ni+Mn+Co"``)
    count as measured groups. Refuses (DataError naming what was measured and suggesting
    ``basis=``/``--basis``) when no technique measures such elements.
    """
    if any(_measures(a, requested) for a in atoms.values()):
        return requested, value
    measured = sorted({e for a in atoms.values() for k in a for e in split_key(k)})
    best: tuple[str, ...] = ()
    for a in atoms.values():
        present = [e for k in a for e in split_key(k) if _measures(a, split_key(k))]
        metals = [e for e in present if _transition_metal(e)]
        group = tuple(dict.fromkeys(metals or [e for e in present if e not in _NOT_BASIS]))
        if len(group) > len(best) and _measures(a, group):
            best = group
    if not best:
        raise DataError(
            f"no technique measures the basis {'+'.join(requested)} (measured: "
            f"{', '.join(measured) or 'nothing'}), and none measures a metal to normalise "
            "to; give a basis the data support, e.g. basis='O=2' with oxygen='measured' "
            "(CLI: --basis)"
        )
    notes.append(
        f"basis {'+'.join(requested)}={value:g} is not measured by any technique (measured: "
        f"{', '.join(measured)}); normalised to {'+'.join(best)}=1 instead (choose another "
        "with basis=/--basis)"
    )
    return best, 1.0


@dataclasses.dataclass
class _Merge:
    """Stage 2 of :func:`combine`: per-element amounts on the basis, with their sources."""

    srcs: dict
    atoms: dict
    parsed: list
    basis_elements: tuple[str, ...]
    basis_value: float
    agreement_sigma: float
    on_disagreement: str
    notes: list
    basis_total: dict = dataclasses.field(default_factory=dict)
    group_totals: dict = dataclasses.field(default_factory=dict)
    amounts: dict = dataclasses.field(default_factory=dict)
    how: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for t, a in self.atoms.items():
            if _measures(a, self.basis_elements):
                self.basis_total[t] = _group_total(a, self.basis_elements)
        self.ratio_rules = [r for r in self.parsed if r.kind == "ratios"]

    def relative(self, t: str, elements: Sequence[str]):
        """Amount of ``elements`` from technique ``t`` per formula unit."""
        if t not in self.basis_total:
            raise DataError(
                f"{t} ({self.srcs[t].source_file or 'values'}) does not measure the basis "
                f"{'+'.join(self.basis_elements)} (keys: {', '.join(self.atoms[t])}), so its "
                f"{'+'.join(elements)} cannot be put on that basis; give the basis group "
                "as a key such as 'Ni+Mn+Co' or change the rules"
            )
        val = _group_total(self.atoms[t], elements)
        if val is None:
            raise DataError(f"{t} has no amount for {'+'.join(elements)}")
        return self.basis_value * val / self.basis_total[t]

    def mean(self, label: str, vals: dict):
        return _iv_mean(
            label,
            vals,
            agreement_sigma=self.agreement_sigma,
            on_disagreement=self.on_disagreement,
            notes=self.notes,
        )

    def total_of(self, group: tuple[str, ...]):
        """Amount of a group per formula unit (basis-normalised) and how it was found."""
        if set(group) == set(self.basis_elements):
            return self.basis_value, f"basis {'+'.join(self.basis_elements)}={self.basis_value:g}"
        if group in self.group_totals:
            return self.group_totals[group]
        rules = [r for r in self.parsed if r.kind == "total" and set(r.elements) == set(group)]
        techs = [r.technique for r in rules] or [
            t
            for t in self.atoms
            if t in self.basis_total and _group_total(self.atoms[t], group) is not None
        ]
        if not techs:
            raise DataError(f"no technique gives the total of {'+'.join(group)} on the basis")
        vals = {t: self.relative(t, group) for t in techs}
        self.group_totals[group] = (
            self.mean("+".join(group), vals),
            "total from " + "+".join(vals),
        )
        return self.group_totals[group]

    def from_ratio(self, el: str, ratio: Rule) -> None:
        a = self.atoms[ratio.technique]
        if el not in a:
            raise DataError(f"rule {ratio.text!r}: {ratio.technique} has no {el}")
        inside = _group_total(a, ratio.elements)
        if inside is None or _nominal(inside) <= 0:
            raise DataError(f"rule {ratio.text!r}: {ratio.technique} lacks the group")
        total, total_how = self.total_of(ratio.elements)
        self.amounts[el] = a[el] / inside * total
        self.how[el] = f"{ratio.technique} ratio within {'+'.join(ratio.elements)} × {total_how}"

    def techniques_for(self, el: str) -> list[str] | None:
        """Techniques that give ``el`` on the basis (rules first); None when left out."""
        from_rules = [r for r in self.parsed if r.kind == "from" and el in r.elements]
        if from_rules:
            techs = [r.technique for r in from_rules]
            missing = [t for t in techs if el not in self.atoms[t]]
            if missing:
                raise DataError(f"rule for {el}: {', '.join(missing)} gives no {el}")
            return techs
        techs = [t for t in self.atoms if el in self.atoms[t] and t in self.basis_total]
        if techs:
            return techs
        have = [t for t in self.atoms if el in self.atoms[t]]
        basis = "+".join(self.basis_elements)
        if have:
            self.notes.append(
                f"{el} measured by {', '.join(have)} only, which does not measure the "
                f"basis {basis}: left out"
            )
        else:
            self.notes.append(f"{el}: not measured by any technique: left out")
        return None

    def element(self, el: str) -> None:
        if el in self.basis_elements and len(self.basis_elements) == 1:
            self.amounts[el], self.how[el] = self.basis_value, "basis"
            return
        ratio = next((r for r in self.ratio_rules if el in r.elements), None)
        if ratio is not None:
            self.from_ratio(el, ratio)
            return
        techs = self.techniques_for(el)
        if techs is None:
            return
        vals = {t: self.relative(t, [el]) for t in techs}
        if all(_nominal(v) == 0 and _sigma(v) == 0 for v in vals.values()):
            self.notes.append(f"{el}: 0 in {', '.join(techs)} (not present), left out")
            return
        self.amounts[el] = self.mean(el, vals)
        self.how[el] = (
            techs[0] if len(techs) == 1 else "inverse-variance mean of " + ", ".join(techs)
        )


def _element_order(merge: _Merge, policy: str) -> list[str]:
    order: list[str] = list(merge.basis_elements)
    for r in merge.parsed:
        order += [e for e in r.elements if e not in order]
    for a in merge.atoms.values():
        order += [k for k in a if "+" not in k and k not in order]
    if policy != "measured":
        ignored = [t for t, a in merge.atoms.items() if "O" in a]
        if ignored:
            merge.notes.append(
                f"oxygen from {', '.join(ignored)} not used (oxygen policy: {policy})"
            )
        order = [e for e in order if e != "O"]
    return order


def _apply_oxygen(merge: _Merge, policy: str, fixed_o, oxidation_states) -> str:
    """Stage 3: oxygen by the stated policy; returns the policy in words."""
    amounts, how = merge.amounts, merge.how
    if policy == "unknown":
        return "unknown (formula prints Ox; mass-based results refused or given as a range)"
    if policy == "fixed":
        amounts["O"], how["O"] = fixed_o, f"fixed O = {fixed_o:g} (assumption)"
        return f"fixed O = {fixed_o:g} per formula unit (assumption)"
    if policy == "charge-balance":
        states = {**DEFAULT_OXIDATION_STATES, **dict(oxidation_states or {})}
        missing = [e for e in amounts if e not in states]
        if missing:
            raise ParameterError(
                f"charge balance needs oxidation states of {', '.join(missing)}; pass "
                "oxidation_states={...} (CLI: --oxidation-states El=N,...)"
            )
        amounts["O"] = sum(states[e] * n for e, n in amounts.items()) / 2
        used = " ".join(f"{e}{states[e]:+g}" for e in cation_order(list(amounts)) if e != "O")
        how["O"] = "charge balance"
        return f"charge-balance ({used}; O-2)"
    if "O" not in amounts:
        raise DataError(
            "oxygen policy 'measured' but no technique with the basis measures O; "
            "use oxygen='unknown', a value, or 'charge-balance'"
        )
    return policy


def _prepare_rules(srcs: dict, rules: Sequence[str], basis_elements) -> list:
    parsed = [r if isinstance(r, Rule) else parse_rule(r) for r in rules]
    for rule in parsed:
        if rule.technique not in srcs:
            raise ParameterError(
                f"rule {rule.text!r} names {rule.technique}, but the sources are {', '.join(srcs)}"
            )
    ratio_rules = [r for r in parsed if r.kind == "ratios"]
    metal = ratio_rules[0].elements if ratio_rules else basis_elements
    return [
        dataclasses.replace(r, elements=metal) if r.kind == "total" and not r.elements else r
        for r in parsed
    ]


@provenance("combine", exclude=("sources",))
def combine(
    sources: Mapping[str, Any] | Sequence[Any],
    *,
    rules: Sequence[str] = (),
    basis: str = "Ni+Mn+Co=1",
    oxygen: str | float = "unknown",
    oxidation_states: Mapping[str, float] | None = None,
    target: str | None = None,
    agreement_sigma: float = 2.0,
    on_disagreement: str = "warn",
    decimals: int = 2,
) -> CompositionResult:
    """Merge per-technique amounts into one normalised composition with uncertainties.

    Parameters
    ----------
    sources : mapping or sequence
        ``{"ERDA": src, "PIXE": src, "RBS": src}`` where each ``src`` is an
        :class:`ElementAmounts`, a composition Dataset or a file path (read with
        :func:`charsuite.io.read`, first layer). The key is the label used in rules.
    rules : sequence of str
        See :func:`parse_rule`, e.g. ``["Li from ERDA", "Ni,Mn,Co ratios from PIXE",
        "metal total from RBS"]``. ``metal`` means the ratio group, else the basis group.
    basis : str
        ``"Ni+Mn+Co=1"`` (default) or e.g. ``"O=2"`` (then oxygen must be measured). When
        no technique measures the requested basis, the transition metals one technique
        measures (else its elements heavier than Na) become the basis ``=1``, with a note;
        when there are none, a DataError suggests a basis.
    oxygen : {"unknown", "measured", "charge-balance"} or float
        Oxygen policy. A number fixes O per formula unit.
    oxidation_states : mapping, optional
        Overrides of :data:`DEFAULT_OXIDATION_STATES` for ``"charge-balance"``.
    target : str, optional
        Target formula (``"Li1.6Ni0.8Mn0.1Co0.1Ox"``) normalised to the same basis and
        compared element by element (difference and relative excess in %).
    agreement_sigma : float
        Threshold (in combined σ) above which two techniques are said to disagree.
    on_disagreement : {"warn", "inflate", "error"}
        ``"inflate"`` multiplies the mean's σ by the Birge ratio when it exceeds 1.
    decimals : int
        Decimals of the nominal formula.

    Returns
    -------
    CompositionResult

    Raises
    ------
    ParameterError
        Bad rule, basis or policy; a rule naming a technique that was not given.
    DataError
        A rule's technique lacks the element or the basis; basis total zero; no measured
        element to normalise to.

    Warns
    -----
    DisagreementWarning
        When techniques disagree (also listed in ``result.warnings``).

    Notes
    -----
    First-order (linear) propagation as implemented by ``uncertainties``; for relative
    uncertainties above ~20 % derived non-linear quantities are biased.

    Examples
    --------
    >>> from charsuite.composition import ElementAmounts
    >>> erda = ElementAmounts.from_values({"Li": (39.0, 1.5), "Ni+Mn+Co": (20.0, 0.5)},
    ...     quantity="at_pct", technique="ERDA")
    >>> pixe = ElementAmounts.from_values({"Ni": (83.0, 1.0), "Mn": (8.0, .4),
    ...     "Co": (9.0, .4)}, quantity="at_pct", technique="PIXE")
    >>> combine({"ERDA": erda, "PIXE": pixe}).formula
    'Li1.95Ni0.83Mn0.08Co0.09Ox'
    """
    if on_disagreement not in ("warn", "inflate", "error"):
        raise ParameterError(
            f"on_disagreement={on_disagreement!r}; use 'warn', 'inflate' or 'error'"
        )
    if not (math.isfinite(agreement_sigma) and agreement_sigma > 0):
        raise ParameterError(f"agreement_sigma={agreement_sigma!r}: expected a finite number > 0")
    srcs = _coerce_sources(sources)
    atoms = {t: s.atomic() for t, s in srcs.items()}
    notes: list[str] = []
    basis_elements, basis_value = _infer_basis(atoms, *parse_basis(basis), notes)
    parsed = _prepare_rules(srcs, rules, basis_elements)
    policy, fixed_o = _oxygen_policy(oxygen)
    if "O" in basis_elements and policy != "measured":
        raise ParameterError(
            f"basis {basis!r} uses oxygen but the oxygen policy is {policy!r}; "
            "normalise to the metals (e.g. 'Ni+Mn+Co=1') or use oxygen='measured'"
        )
    merge = _Merge(
        srcs, atoms, parsed, basis_elements, basis_value, agreement_sigma, on_disagreement, notes
    )
    for el in _element_order(merge, policy):
        merge.element(el)
    policy_text = _apply_oxygen(merge, policy, fixed_o, oxidation_states)
    amounts = {e: merge.amounts[e] for e in cation_order(list(merge.amounts))}
    unknown = ["O"] if policy == "unknown" else []
    areal = _absolute_scale(
        parsed, srcs, atoms, amounts, merge.basis_total, basis_elements, merge.total_of, notes
    )
    target_cmp = _compare_target(target, amounts, basis_elements, basis_value) if target else None
    history = [r for s in srcs.values() for r in s.history]
    for s in srcs.values():
        notes += [f"{s.technique} {k}: {v}" for k, v in s.notes.items()]
    return CompositionResult(
        formula=format_formula(amounts, unknown=unknown, decimals=decimals),
        formula_with_uncertainty=format_formula(amounts, unknown=unknown, uncertainty=True),
        basis=f"{'+'.join(basis_elements)}={basis_value:g}",
        oxygen_policy=policy_text,
        amounts=amounts,
        sources=merge.how,
        areal_densities_1e15_at_cm2=areal,
        oxygen_unknown=policy == "unknown",
        target=target_cmp,
        warnings=notes,
        mass_table=mass_table_version(),
        history=history,
    )


def _oxygen_policy(oxygen: str | float) -> tuple[str, float | None]:
    if isinstance(oxygen, int | float) and not isinstance(oxygen, bool):
        value = float(oxygen)
    else:
        text = str(oxygen).strip().lower().replace("_", "-")
        if text in ("unknown", "measured", "charge-balance"):
            return text, None
        try:
            value = float(text)
        except ValueError:
            raise ParameterError(
                f"oxygen={oxygen!r}; use 'unknown', 'measured', 'charge-balance' or a number"
            ) from None
    if not math.isfinite(value) or value < 0:
        raise ParameterError(f"oxygen={oxygen!r} must be a finite number ≥ 0")
    return "fixed", value


def _absolute_scale(parsed, srcs, atoms, amounts, basis_total, basis_elements, total_of, notes):
    """Areal densities (1e15 at/cm²) of every element from the technique fixing the scale."""
    total_rules = [r for r in parsed if r.kind == "total"]
    if total_rules:
        rule = total_rules[0]
        if not srcs[rule.technique].is_absolute:
            notes.append(
                f"rule {rule.text!r}: {rule.technique} gives {srcs[rule.technique].quantity}, "
                "not areal densities; no absolute scale"
            )
            return None
        group = rule.elements
        tech = rule.technique
    else:
        absolute = [t for t, s in srcs.items() if s.is_absolute and t in basis_total]
        if not absolute:
            return None
        tech, group = absolute[0], None
        notes.append(f"absolute scale (areal densities) from {tech} (first absolute source)")
    a = atoms[tech]
    if group is None:
        per_fu = basis_total[tech]
        group_amount = total_of(tuple(basis_elements))[0]
    else:
        per_fu = _group_total(a, group)
        if per_fu is None:
            return None
        group_amount = total_of(tuple(group))[0]
    scale = per_fu / group_amount  # formula units per cm² (×1e15)
    return {e: n * scale for e, n in amounts.items()}


def _compare_target(target, amounts, basis_elements, basis_value) -> dict[str, Any]:
    t_amounts, t_unknown = parse_formula(target)
    missing = [e for e in basis_elements if e not in t_amounts]
    if missing:
        raise ParameterError(
            f"target {target!r} lacks the basis element(s) {missing}; cannot normalise it"
        )
    factor = basis_value / sum(t_amounts[e] for e in basis_elements)
    norm = {e: v * factor for e, v in t_amounts.items()}
    rows = {}
    for el, n in amounts.items():
        if el not in norm:
            continue
        t = norm[el]
        rows[el] = {
            "target": t,
            "film": n,
            "difference": n - t,
            "relative_pct": (n / t - 1) * 100 if t else None,
        }
    return {
        "formula": target,
        "normalised": format_formula(norm, unknown=sorted(t_unknown), decimals=4),
        "elements": rows,
    }


__all__ = [
    "DEFAULT_OXIDATION_STATES",
    "CompositionResult",
    "DisagreementWarning",
    "Rule",
    "combine",
    "format_formula",
    "group_key",
    "parse_basis",
    "parse_rule",
]
