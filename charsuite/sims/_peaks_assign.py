"""Assignment of located peaks to ions by exact mass, with isotope-pattern checks.

Candidates are formulas (``reference_data/sims/ions.json`` or the caller's), expanded into
isotopologues with molmass (NIST isotope masses and abundances, electron-corrected ion
masses). A peak is matched to candidates within ``max(tolerance_ppm, FWHM/2)``; among
them the nearest in mass whose isotope pattern is consistent wins.

Isotope check (asymmetric on purpose): detector saturation, dead time and ICP-TOF notch
filters only *reduce* strong peaks, so for a candidate of fraction ``a_c`` with observed
counts ``I``:

- every *less* abundant isotopologue ``k`` expected above the detection limit
  (``E_k = I·a_k/a_c ≥ 4.65√B + 3``, Currie) must be observed with at least
  ``f·E_k − 3√E_k`` counts (``f = 0.25``: a factor-4 margin for instrumental mass bias
  and attenuation of strong peaks, which still rejects an absent isotope; 0.1 for Li,
  whose ⁶Li/⁷Li varies by source);
- every *more* abundant isotopologue must be observed with at least ``I`` counts.

Elements named in ``monoisotopic`` (an implanted primary beam, e.g. ⁶⁹Ga) are exempt.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from charsuite.exceptions import ParameterError
from charsuite.model import Result, provenance

__all__ = ["PeakAssignment", "assign_peaks"]

MIN_FRACTION = 0.25
LOOSE_ELEMENTS = {"Li": 0.1}


@dataclasses.dataclass(frozen=True)
class _Candidate:
    label: str
    parent: str
    mz: float
    fraction: float
    elements: tuple[str, ...]
    pattern: tuple[tuple[float, float], ...]  # (mz, fraction) of every isotopologue


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
            _Candidate(label, main.parent, mz, float(e.fraction), _elements(main.parent), pattern)
        )
    return out


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


def _isotope_check(cand: _Candidate, area: float, y, cal, fwhm_rel, monoisotopic) -> str:
    if set(cand.elements) & set(monoisotopic) or len(cand.pattern) < 2:
        return "not tested"
    f = min([LOOSE_ELEMENTS.get(e, MIN_FRACTION) for e in cand.elements])
    for mz, frac in cand.pattern:
        if abs(mz - cand.mz) < 1e-6:
            continue
        obs, base = _observed(y, cal, mz, fwhm_rel)
        if not np.isfinite(obs):
            continue  # outside the recorded range: untestable
        if frac < cand.fraction:
            expected = area * frac / cand.fraction
            if expected >= 4.65 * np.sqrt(max(base, 0.0)) + 3 and obs < (
                f * expected - 3 * np.sqrt(expected)
            ):
                return f"inconsistent: {mz:.3f} Th has {obs:.0f} counts, expected {expected:.0f}"
        elif obs < area - 3 * np.sqrt(max(area, 1.0)):
            return f"inconsistent: more abundant isotopologue at {mz:.3f} Th has {obs:.0f} counts"
    return "consistent"


@dataclasses.dataclass(frozen=True)
class PeakAssignment(Result):
    """Peaks with their assigned ion (or none), and the unassigned ones.

    ``peaks`` rows: ``mass``, ``index``, ``fwhm_mDa``, ``resolution``, ``counts``, ``snr``,
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
                f"  {p['mass']:10.4f} Th  R = {p['resolution']:6.0f}  {p['counts']:12.0f} cts {what}"
            )
        return "\n".join(lines)


def _match(pk, cands, tol_ppm, y, cal, monoisotopic) -> dict[str, Any]:
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
        "counts": pk.area,
        "snr": pk.snr,
        "ion": None,
        "ion_mass": None,
        "delta_mDa": None,
        "delta_ppm": None,
        "isotope_check": None,
        "alternatives": [],
    }
    for c in near:
        check = _isotope_check(c, pk.area, y, cal, fwhm_rel, monoisotopic)
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
    rows = [_match(pk, cands, tolerance_ppm, y, cal, tuple(monoisotopic)) for pk in peaks]
    return PeakAssignment(
        peaks=rows,
        unassigned=[r["mass"] for r in rows if r["ion"] is None],
        tolerance_ppm=tolerance_ppm,
    )
