"""Assignment of located peaks to ions by exact mass, with isotope-pattern checks.

Candidates are formulas (``reference_data/sims/ions.json`` or the caller's), expanded into
isotopologues with molmass (NIST isotope masses and abundances, electron-corrected ion
masses). A peak is matched to candidates within ``max(tolerance_ppm, FWHM/2)``; among
them the nearest in mass whose isotope pattern is consistent wins.

Isotope check: a one-sided statistical test per isotopologue partner ``k`` of candidate
``c``. Counts are summed over ±1 FWHM at both masses above the local baseline (net ``I_c``,
``I_k``; gross ``n_c``, ``n_k``; baselines ``B_c``, ``B_k``). Given the total, the partner's
gross counts are binomial (the conditional test for the ratio of two Poisson means;
Przyborowski & Wilenski 1940):

    n_k | n_c + n_k  ~  Binomial(n_c + n_k, p₀),
    p₀ = (r·I_c + B_k) / (r·I_c + B_k + I_c + B_c),

with ``r`` the lowest partner/candidate ratio the candidate may show:

- a *less* abundant partner: ``r = (1 − ratio_tolerance)·min(r_NIST, r_CIAAW)``, the
  smaller of the ratios from molmass (NIST) and periodictable (CIAAW 2021) abundances,
  which differ where natural compositions vary (⁶Li: 7.59 % vs 4.85 %), lowered by
  ``ratio_tolerance`` (default 10 %, a bound on SIMS instrumental mass fractionation and
  detector non-linearity, which are a few % for Li);
- a *more* abundant partner: ``r = 1`` — dead time and saturation flatten strong peaks
  but cannot make the more abundant isotopologue smaller than the candidate itself.

A partner fails when ``P(X ≤ n_k) < α/m`` (``m`` tested partners, ``α`` =
``significance``, default 10⁻³, Bonferroni-corrected). The test is one-sided on purpose:
an *excess* at a partner mass is what an overlapping neighbour (e.g. ⁵⁵Mn¹⁶O⁺ under
⁷¹Ga⁺) or a saturated candidate produces, and is not evidence against the candidate.
A deficit at a *less* abundant partner that is itself detected (its gross counts exceed
its baseline at the same level, ``P(Poisson(B_k) ≥ n_k) < α/m``) means the candidate is
present but its peak holds more than the candidate: an unresolved neighbour (e.g.
³⁵Cl¹H⁺ under ³⁶Ar⁺). That candidate is ``"consistent, overlapped"`` with the share of the
peak its partner implies, and ranks after fully consistent candidates. Otherwise a
failed partner makes the candidate *inconsistent*: a missing more abundant partner, or a
less abundant one not detected at all. A partner expected far below the baseline noise has little
power and is, correctly, never decisive. Elements named in ``monoisotopic`` (an
implanted primary beam, e.g. ⁶⁹Ga) are exempt.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from charsuite.exceptions import ParameterError
from charsuite.model import Result, provenance

__all__ = ["PeakAssignment", "assign_peaks"]

#: default family-wise significance of the isotope-pattern test per candidate
SIGNIFICANCE = 1e-3
#: default relative tolerance on expected isotope ratios (mass fractionation, non-linearity)
RATIO_TOLERANCE = 0.1


@dataclasses.dataclass(frozen=True)
class _Candidate:
    label: str
    parent: str
    mz: float
    fraction: float
    elements: tuple[str, ...]
    pattern: tuple[tuple[float, float], ...]  # (mz, fraction) of every isotopologue
    ciaaw: tuple[float, ...] = ()  # the same fractions from periodictable (CIAAW 2021)


def _elements(formula: str) -> tuple[str, ...]:
    import re

    return tuple(sorted(set(re.findall(r"[A-Z][a-z]?", formula))))


def _expand(name: str) -> list[_Candidate]:
    """All isotopologues (fraction ≥ 1e-4) of one formula ion, labelled by mass number."""
    from molmass import Formula, FormulaError

    from charsuite.sims._masscal import ion

    main = ion(name)
    try:
        entries = Formula(main.formula).spectrum(min_fraction=1e-4)
    except FormulaError as err:
        raise ParameterError(f"candidate {name!r}: {err}") from err
    pattern = tuple((float(e.mz), float(e.fraction)) for e in entries.values())
    ciaaw_all = _ciaaw_fractions(main.formula)
    ciaaw = tuple(ciaaw_all.get(number, 0.0) for number in entries)
    sign = name[len(name.rstrip("+-")) :]
    out = []
    single = len(_elements(main.parent)) == 1 and not any(c.isdigit() for c in main.parent)
    for number, e in entries.items():
        mz = float(e.mz)
        if abs(mz - main.mz) < 1e-6:
            label = name
        elif single:
            label = f"{number}{main.parent}{sign}"
        else:
            label = f"{main.parent}{sign} ({number})"
        out.append(
            _Candidate(
                label, main.parent, mz, float(e.fraction), _elements(main.parent), pattern, ciaaw
            )
        )
    return out


def _ciaaw_fractions(formula: str) -> dict[int, float]:
    """Nominal-mass isotopologue fractions of ``formula`` from periodictable (CIAAW 2021).

    A second, independent tabulation of natural abundances: where it differs from NIST
    (molmass) the natural composition varies, and the isotope test allows both.
    """
    import periodictable as pt
    from molmass import Formula

    dist = {0: 1.0}
    for key, item in Formula(formula).composition().items():
        if key == "e-":  # the ion's electrons: no isotopes
            continue
        number = "".join(ch for ch in key if ch.isdigit())
        el = getattr(pt, key.lstrip("0123456789"))
        iso = (
            {int(number): 1.0}
            if number
            else {a: el[a].abundance / 100 for a in el.isotopes if el[a].abundance > 0}
        )
        for _ in range(int(item.count)):
            new: dict[int, float] = {}
            for a0, f0 in dist.items():
                for a, fa in iso.items():
                    new[a0 + a] = new.get(a0 + a, 0.0) + f0 * fa
            dist = new
    return dist


def _candidates(candidates, polarity: str) -> list[_Candidate]:
    from charsuite.sims._peaks import _ion_lists

    if candidates is None:
        key = "negative" if polarity == "negative" else "positive"
        candidates = _ion_lists()["candidates"][key]
    elif isinstance(candidates, str):
        candidates = [c for c in candidates.split(",") if c.strip()]
    out = []
    for name in candidates:
        out.extend(_expand(name.strip()))
    return out


def _observed(y: np.ndarray, cal, mz: float, fwhm_rel: float) -> tuple[float, float]:
    """Counts above the local baseline within ±FWHM of ``mz``, and that baseline's counts."""
    i = float(cal.index(mz))
    half = max(1.5, fwhm_rel * mz / max(abs(float(cal.dmass_dindex(i))), 1e-12))
    a, b = int(np.floor(i - half)), int(np.ceil(i + half)) + 1
    if a < 0 or b > y.size or not np.isfinite(i):
        return np.nan, 0.0
    wide = y[max(0, a - 4 * (b - a)) : min(y.size, b + 4 * (b - a))]
    base = float(np.percentile(wide, 10))
    return float(np.sum(y[a:b] - base)), base * (b - a)


def _lowest_ratio(cand: _Candidate, k: int, tolerance: float) -> float:
    """Lowest partner/candidate ratio consistent with the candidate (see module notes)."""
    fk, fc = cand.pattern[k][1], cand.fraction
    ratios = [fk / fc]
    c = next(j for j, (mz, _) in enumerate(cand.pattern) if abs(mz - cand.mz) < 1e-6)
    if cand.ciaaw and cand.ciaaw[c] > 0:
        ratios.append(cand.ciaaw[k] / cand.ciaaw[c])
    r = min(ratios)
    return 1.0 if r >= 1.0 else (1.0 - tolerance) * r


def _isotope_check(cand: _Candidate, counts, y, cal, fwhm_rel, opts) -> str:
    """One-sided binomial test of every partner isotopologue (module notes)."""
    from scipy.stats import binom, poisson

    if set(cand.elements) & set(opts["monoisotopic"]) or len(cand.pattern) < 2:
        return "not tested"
    net_c, base_c = counts
    tests = []
    for k, (mz, _frac) in enumerate(cand.pattern):
        if abs(mz - cand.mz) < 1e-6:
            continue
        net_k, base_k = _observed(y, cal, mz, fwhm_rel)
        if not np.isfinite(net_k):
            continue  # outside the recorded range: untestable
        r = _lowest_ratio(cand, k, opts["ratio_tolerance"])
        n_k = max(round(net_k + base_k), 0)
        n = n_k + max(round(net_c + base_c), 0)
        lam_k, lam_c = r * max(net_c, 0.0) + base_k, max(net_c, 0.0) + base_c
        if n == 0 or lam_k + lam_c <= 0:
            continue
        p = float(binom.cdf(n_k, n, lam_k / (lam_k + lam_c)))
        detected = r < 1.0 and float(poisson.sf(n_k - 1, max(base_k, 1.0)))
        tests.append((mz, net_k, r * net_c, p, detected))
    if not tests:
        return "not tested"
    level = opts["significance"] / len(tests)
    failed = [t for t in tests if t[3] < level]
    hard = [t for t in failed if t[4] is False or t[4] >= level]
    if hard:
        mz, obs, expected, p, _ = min(hard, key=lambda t: t[3])
        return (
            f"inconsistent: {mz:.3f} Th has {obs:.0f} counts, expected ≥ {expected:.0f} "
            f"(p = {p:.1e})"
        )
    if failed:
        share = min(t[1] / t[2] for t in failed)  # observed / lowest expected partner
        return f"consistent, overlapped: the isotope pattern explains ≈ {100 * share:.0f} % of the peak"
    return "consistent"


@dataclasses.dataclass(frozen=True)
class PeakAssignment(Result):
    """Peaks with their assigned ion (or none), and the unassigned ones.

    ``peaks`` rows: ``mass``, ``index``, ``fwhm_mDa``, ``resolution``,
    ``sigma_resolution`` (NaN without a profile fit), ``width_method``, ``counts``, ``snr``,
    ``ion`` (None when unassigned), ``ion_mass``, ``delta_mDa``, ``delta_ppm``,
    ``isotope_check``, ``alternatives``.
    """

    peaks: list
    unassigned: list
    tolerance_ppm: float | None
    history: list = dataclasses.field(default_factory=list)

    def peak_table(self, *, include_unassigned: bool = False, width: float = 1.0):
        """:class:`charsuite.sims.PeakTable` with windows ``m ± width·FWHM`` (the TofDAQ default).

        Assigned peaks are labelled with their ion and centred on its exact mass;
        unassigned ones (optional) are labelled ``"m/z 43.018"``.
        """
        from charsuite.sims._peaktable import PeakTable

        rows = []
        for p in self.peaks:
            if p["ion"] is None and not include_unassigned:
                continue
            m = p["ion_mass"] if p["ion"] is not None else p["mass"]
            half = width * p["fwhm_mDa"] / 1e3
            rows.append((p["ion"] or f"m/z {p['mass']:.3f}", m, m - half, m + half))
        if not rows:
            raise ParameterError("no assigned peak to put in a peak table")
        return PeakTable.from_spec(rows)

    def text(self) -> str:
        """One line per peak."""
        lines = [f"{len(self.peaks)} peaks, {len(self.unassigned)} unassigned"]
        for p in self.peaks:
            what = (
                f"{p['ion']:>14s} {p['delta_ppm']:+7.0f} ppm  {p['isotope_check']}"
                if p["ion"]
                else "             ?"
            )
            lines.append(
                f"  {p['mass']:10.4f} Th  R = {p['resolution']:6.0f}{_pm(p['sigma_resolution'])}"
                f"  {p['counts']:12.0f} cts {what}"
            )
        return "\n".join(lines)


def _pm(sigma: float) -> str:
    """``" ± 12"``, or blanks when the width has no uncertainty (half-maximum width)."""
    return f" ± {sigma:4.0f}" if np.isfinite(sigma) else " " * 7


def _match(pk, cands, tol_ppm, y, cal, opts) -> dict[str, Any]:
    tol = max((tol_ppm or 0.0) * 1e-6 * pk.mass, pk.fwhm_mass / 2)
    near = sorted(
        (c for c in cands if abs(c.mz - pk.mass) <= tol), key=lambda c: abs(c.mz - pk.mass)
    )
    fwhm_rel = pk.fwhm_mass / pk.mass
    row: dict[str, Any] = {
        "mass": pk.mass,
        "index": pk.index,
        "fwhm_mDa": 1e3 * pk.fwhm_mass,
        "resolution": pk.resolution,
        "sigma_resolution": pk.sigma_resolution,
        "width_method": pk.width_method,
        "counts": pk.area,
        "snr": pk.snr,
        "ion": None,
        "ion_mass": None,
        "delta_mDa": None,
        "delta_ppm": None,
        "isotope_check": None,
        "alternatives": [],
    }
    counts = _observed(y, cal, pk.mass, fwhm_rel) if near else (np.nan, 0.0)
    checks = [(c, _isotope_check(c, counts, y, cal, fwhm_rel, opts)) for c in near]
    # fully consistent (or untested) candidates first, then overlapped; nearest first
    checks.sort(key=lambda t: ("overlapped" in t[1], abs(t[0].mz - pk.mass)))
    for c, check in checks:
        if row["ion"] is None and not check.startswith("inconsistent"):
            row.update(
                ion=c.label,
                ion_mass=c.mz,
                delta_mDa=1e3 * (pk.mass - c.mz),
                delta_ppm=1e6 * (pk.mass - c.mz) / c.mz,
                isotope_check=check,
            )
        else:
            row["alternatives"].append({"ion": c.label, "mass": c.mz, "isotope_check": check})
    return row


@provenance("peak assignment", exclude=("spec", "peaks"))
def assign_peaks(
    spec,
    peaks=None,
    *,
    candidates=None,
    tolerance_ppm: float | None = None,
    monoisotopic: tuple[str, ...] = (),
    significance: float = SIGNIFICANCE,
    ratio_tolerance: float = RATIO_TOLERANCE,
) -> PeakAssignment:
    """Assign peaks to ions by exact mass and check each against its isotope pattern.

    Parameters
    ----------
    spec : xarray.DataArray
        Spectrum (:func:`charsuite.sims.spectrum`), preferably after
        :func:`charsuite.sims.mass_calibrate`.
    peaks : list of Peak, optional
        Default :func:`charsuite.sims.find_peaks` on ``spec``.
    candidates : str or list of str, optional
        Formula ions (``"Li+,LiO+,Ni+"``); default the polarity's list in
        ``reference_data/sims/ions.json``.
    tolerance_ppm : float, optional
        Matching tolerance; the effective tolerance is at least FWHM/2 of each peak.
    monoisotopic : tuple of str
        Elements not in natural isotopic abundance (implanted primary ions, e.g. ``("Ga",)``).
    significance : float
        Family-wise level α of the isotope-pattern test per candidate (module notes).
    ratio_tolerance : float
        Relative shortfall of an isotope ratio tolerated before the test (module notes).

    Returns
    -------
    PeakAssignment

    Examples
    --------
    >>> from charsuite.datasets.sims import make_fibtof_spectrum
    >>> from charsuite.sims import spectrum
    >>> import tempfile, pathlib
    >>> p, truth = make_fibtof_spectrum(pathlib.Path(tempfile.mkdtemp()) / "s.h5")
    >>> result = assign_peaks(spectrum(p), candidates="Li+,Ni+,In+")
    >>> "In+" in [row["ion"] for row in result.peaks]
    True
    """
    from charsuite.sims._peaks import _values, find_peaks

    y, cal = _values(spec)
    if cal is None:
        raise ParameterError("the spectrum has no calibration")
    peaks = find_peaks(spec) if peaks is None else peaks
    cands = _candidates(candidates, str(spec.attrs.get("polarity", "positive")))
    if not (0 < significance < 1 and 0 <= ratio_tolerance < 1):
        raise ParameterError(
            f"significance={significance}, ratio_tolerance={ratio_tolerance}: "
            "need 0 < significance < 1 and 0 ≤ ratio_tolerance < 1"
        )
    opts = {"monoisotopic": tuple(monoisotopic), "significance": significance,
            "ratio_tolerance": ratio_tolerance}  # fmt: skip
    rows = [_match(pk, cands, tolerance_ppm, y, cal, opts) for pk in peaks]
    return PeakAssignment(
        peaks=rows,
        unassigned=[r["mass"] for r in rows if r["ion"] is None],
        tolerance_ppm=tolerance_ppm,
    )
