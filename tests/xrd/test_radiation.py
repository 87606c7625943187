"""Kα1 only vs Kα1 + Kα2 decided from the file's statement and the data (charsuite.xrd._radiation).

Scans are generated both ways by xrayutilities' fundamental-parameters PowderModel (an
independent forward model: emission profile, axial divergence, no shared code) and by
charsuite.datasets, written with a label that is wrong for half of them, and read back.
The bar: a scan without Kα2 is never modelled as a doublet by the data test and a scan
with Kα2 never as a singlet (the test may stay undecided; then the file, else the doublet).
"""

from __future__ import annotations

import numpy as np
import pytest

from charsuite.datasets.xrd import (
    simulate_gixrd,
    simulate_powder_mixture,
    write_xrdml,
    write_xy,
)
from charsuite.io import read
from charsuite.xrd import analyze
from charsuite.xrd._radiation import decide_radiation, doublet_test, file_statement


def _xu_scan(material, size_m, ratio, counts, seed):
    xu = pytest.importorskip("xrayutilities")
    from xrayutilities.simpack import Powder, PowderModel

    tt = np.arange(15.0, 90.0, 0.01)
    pm = PowderModel(
        Powder(getattr(xu.materials, material), 1, crystallite_size_gauss=size_m),
        I0=1.0,
        fpsettings={"emission": {"emiss_intensities": (1.0, ratio)}},
    )
    try:
        y = pm.simulate(tt)
    finally:
        pm.close()
    rng = np.random.default_rng(seed)
    return tt, rng.poisson(y / y.max() * counts + 50).astype(float)


@pytest.mark.parametrize("material,size_m", [("Si", 100e-9), ("Al2O3", 40e-9), ("Si", 30e-9)])
@pytest.mark.parametrize("ratio", [0.0, 0.5])
def test_independent_generator_never_decided_wrong(tmp_path, material, size_m, ratio):
    x, y = _xu_scan(material, size_m, ratio, counts=5000, seed=int(size_m * 1e9))
    truth = "ka12" if ratio else "ka1"
    # the label says the opposite of the truth (and 'K-Alpha 1' as every XRDML does)
    path = tmp_path / "scan.xrdml"
    write_xrdml(path, x, y, ka2_ratio=0.5)
    da = read(path)
    rad = decide_radiation(da)
    assert rad.evidence["data"]["verdict"] in (truth, None)
    assert rad.source == "data" and rad.lines == truth  # these lines are strong enough
    if truth == "ka12":
        assert (
            abs(rad.evidence["data"]["ka2_ratio"] - 0.5)
            < 4 * rad.evidence["data"]["ka2_ratio_err"] + 0.02
        )
    assert rad.ka2_ratio == (0.5 if truth == "ka12" else 0.0)
    # same counts as text without any header: same decision
    write_xy(tmp_path / "scan.xy", x, y)
    assert decide_radiation(read(tmp_path / "scan.xy")).lines == truth


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ratio", [0.0, 0.5])
def test_charsuite_generator_never_decided_wrong(seed, ratio):
    phases = [{"Si": 1.0}, {"Al2O3": 0.5, "LiF": 0.5}, {"NMC811": 1.0}, {"ZnO": 0.6, "Pt": 0.4}]
    x, y, _ = simulate_powder_mixture(
        phases=phases[seed % 4], ka2_ratio=ratio, crystallite_size_nm=40 + 30 * seed, seed=seed
    )
    verdict = doublet_test(x, y)["verdict"]
    assert verdict in ("ka12" if ratio else "ka1", None)


@pytest.mark.parametrize("substrate", ["sapphire", "steel"])
def test_gi_film_same_cell_with_and_without_ka2(tmp_path, substrate):
    """Kα1-only and Kα1+Kα2 GI scans of the same film give the same a, c within their esd."""
    cells = {}
    for ratio in (0.0, 0.5):
        x, y, _ = simulate_gixrd(ka2_ratio=ratio, substrate=substrate, seed=5)
        path = tmp_path / f"gi{ratio}.xrdml"
        write_xrdml(path, x, y, ka2_ratio=0.5)  # the file claims the doublet both times
        res = analyze(read(path))
        assert res.radiation["lines"] == ("ka12" if ratio else "ka1")
        assert res.radiation["source"] == "data"
        cells[ratio] = res.layered
    a0, a1 = cells[0.0], cells[0.5]
    for k in ("a", "c"):
        assert abs(a0[k] - a1[k]) < 2 * np.hypot(a0[k + "_err"], a1[k + "_err"]), k


def test_option_overrides_and_is_reported(gi_film):
    paths, _ = gi_film
    da = read(paths[0])
    rad = decide_radiation(da, mode="ka1")
    assert (rad.lines, rad.source, rad.ka2_ratio) == ("ka1", "option", 0.0)
    assert rad.evidence["data"]["verdict"] == "ka12"  # the data still speak (reported)


@pytest.mark.parametrize(
    "md,lines",
    [
        ({"incident_monochromator": "Hybrid monochr. 2xGe(220) Cu asym."}, "ka1"),
        ({"incident_monochromator": "Johansson Ge(111)"}, "ka1"),
        ({"radiation_label": "Ka1", "radiation_label_kind": "wave_type"}, "ka1"),
        ({"radiation_label": "Ka", "radiation_label_kind": "wave_type"}, "ka12"),
        ({"ka2_ratio": 0.0}, "ka1"),
        # a PANalytical 'intended' label, a mirror or the default ratio decide nothing
        ({"radiation_label": "K-Alpha 1", "radiation_label_kind": "intended line"}, None),
        ({"ka2_ratio": 0.5}, None),
        ({}, None),
    ],
)
def test_file_statement(md, lines):
    assert file_statement(md)["lines"] == lines


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "name,lines",
    [
        # incident-beam Ge(220) monochromators (the file says so, the data agree)
        ("FAIRmat-NFDI__nomad-measurements/m54313_om2th_10.xrdml", "ka1"),
        ("FAIRmat-NFDI__nomad-measurements/TwoTheta_scan_powder.rasx", "ka1"),
        # β filter / mirror / no statement: the doublet is in the data
        ("m3wolf__electrolab/corundum.brml", "ka12"),
        ("m3wolf__electrolab/corundum.xye", "ka12"),
        ("CederGroupHub__dara/ZnO_0p4006-In2O3_0p6008--8min.xrdml", "ka12"),
        ("nims-dpfc__M-DaC_XRD/XRD_RIGAKU.ras", "ka12"),
        ("njszym__XRD-AutoAnalyzer/MnO.xy", "ka12"),
    ],
)
def test_real_files_decided_by_the_data(shared_data, name, lines):
    rad = decide_radiation(read(shared_data("xrd") / name))
    assert (rad.lines, rad.source) == (lines, "data")


@pytest.mark.shared_data
def test_real_files_never_contradict_their_monochromator(shared_data):
    """No real scan is decided against an incident crystal monochromator, and no β-filter /
    mirror scan (dara Aeris, tlinnala Empyrean) is decided Kα1-only by the data."""
    root = shared_data("xrd")
    for path in sorted(root.glob("CederGroupHub__dara/*.xrdml")) + sorted(
        root.glob("tlinnala__XRD-data/*GIXRD.xrdml")
    ):
        rad = decide_radiation(read(path))
        assert rad.lines == "ka12", path.name
