"""Real instrument files in ../shared/data/xrd: every file reads or is refused clearly;
values against the known answers of PROVENANCE.md."""

from __future__ import annotations

import numpy as np
import pytest

from charsuite.exceptions import CharsuiteError, DataError
from charsuite.io import read

pytestmark = pytest.mark.shared_data


@pytest.mark.filterwarnings("ignore::charsuite.exceptions.CharsuiteWarning")  # multi-range files
def test_every_file_reads_or_is_refused(shared_data):
    root = shared_data("xrd")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert len(files) > 40
    outcome = {}
    for path in files:
        try:
            da = read(path)
        except CharsuiteError as err:
            outcome[path.name] = "refused"
            assert str(path) in str(err) or path.name in str(err)
            continue
        assert da.attrs["technique"] == "xrd"
        assert np.all(np.diff(da.two_theta.values) > 0)
        outcome[path.name] = da.attrs["format"]
    # every instrument scan is read (only notes, CIFs and result tables may be refused)
    for name, fmt in outcome.items():
        if name.lower().endswith(
            (".xrdml", ".brml", ".raw", ".uxd", ".ras", ".rasx", ".xy", ".xye")
        ):
            assert fmt != "refused", name


def test_corundum_three_formats_agree_and_refine(shared_data):
    from charsuite.xrd import lattice_of

    d = shared_data("xrd") / "m3wolf__electrolab"
    brml, raw, xye = (
        read(d / "corundum.brml", rate=True),
        read(d / "corundum.raw", rate=True),
        read(d / "corundum.xye"),
    )
    np.testing.assert_allclose(brml.two_theta.values, xye.two_theta.values, atol=2e-4)
    np.testing.assert_allclose(raw.two_theta.values, xye.two_theta.values, atol=2e-4)
    # the .xye export holds counts/s of the same scan from a differently processed data
    # route (point-by-point differences within counting noise): same scale, same shape
    ratio = brml.values / xye.values
    assert np.median(ratio) == pytest.approx(1.0, abs=0.05)
    assert np.corrcoef(brml.values, xye.values)[0, 1] > 0.99
    np.testing.assert_allclose(raw.values, brml.values, rtol=1e-6)
    for da in (brml, raw, xye):
        res = lattice_of(da, phase="Al2O3")
        lat = res["lattice"]
        assert lat["a"] == pytest.approx(4.7591, abs=0.001)
        assert lat["c"] == pytest.approx(12.992, abs=0.003)


def test_multi_range_raw1_warns_and_selects(shared_data):
    """xylib format1.raw holds three ranges: range 0 with a warning naming all three,
    range=2 returns 40–45°."""
    from charsuite.exceptions import CharsuiteWarning

    path = shared_data("xrd") / "wojdyr__xylib" / "format1.raw"
    with pytest.warns(CharsuiteWarning, match="3 data ranges"):
        first = read(path)
    assert first.attrs["metadata"]["n_ranges"] == 3
    third = read(path, range=2)
    assert third.two_theta.values[0] == pytest.approx(40.0, abs=0.01)
    assert third.two_theta.values[-1] == pytest.approx(45.0, abs=0.01)
    assert first.two_theta.values[-1] < third.two_theta.values[0]


def test_raw1_equals_uxd(shared_data):
    d = shared_data("xrd") / "wojdyr__xylib"
    raw, uxd = read(d / "BT86.raw"), read(d / "BT86_.UXD")
    np.testing.assert_allclose(raw.two_theta.values, uxd.two_theta.values, atol=0.006)
    np.testing.assert_allclose(raw.values, uxd.values)


def test_gi_metadata_and_xy_export_agree(shared_data):
    d = shared_data("xrd") / "tlinnala__XRD-data"
    da = read(d / "Si-reference_GIXRD.xrdml")
    md = da.attrs["metadata"]
    assert md["scan_type"] == "2theta"
    assert md["incidence_angle_deg"] == pytest.approx(1.0)
    assert md["wavelength_angstrom"] == pytest.approx(1.540598)
    xy = read(d / "Si-reference_GIXRD.xy")
    np.testing.assert_allclose(da.values, xy.values, rtol=1e-3, atol=1)
    emp = read(shared_data("xrd") / "wojdyr__xylib" / "empyrean.xrdml")
    assert emp.attrs["metadata"]["incidence_angle_deg"] == pytest.approx(4.0)


def test_area_map_shape(shared_data):
    path = next((shared_data("xrd") / "FAIRmat-NFDI__nomad-measurements").glob("m82762*.xrdml"))
    da = read(path)
    assert da.dims == ("row", "two_theta")
    assert da.shape == (101, 255)
    assert da.omega.attrs["units"] == "deg"


@pytest.mark.parametrize(
    "rel",
    [
        "tlinnala__XRD-data/220615_180s_XRR.xrdml",
        "aglavic__genx/XRDML_alt.xrdml",
        "aglavic__genx/BRML_alt.brml",
    ],
)
def test_reflectivity_refused_by_phase_id(shared_data, rel):
    from charsuite.xrd import analyze

    da = read(shared_data("xrd") / rel)
    assert da.attrs["metadata"]["scan_type"] == "reflectivity"
    with pytest.raises(DataError, match="reflectivity"):
        analyze(da)


def test_si_gi_reference_zero_offset(shared_data):
    from charsuite.xrd import analyze, calibrate_zero

    da = read(shared_data("xrd") / "tlinnala__XRD-data" / "Si-reference_GIXRD.xrdml")
    cal = calibrate_zero(da, standard="Si")
    # PROVENANCE: apparent +0.62° (29.056/47.928 vs 28.441/47.301); refraction ≈ 0.026° of it
    assert cal.zero_offset_deg + cal.refraction_shift_deg == pytest.approx(0.62, abs=0.04)
    res = analyze(da)
    assert "Si" in [p["name"] for p in res.phases]


def test_si_ras_zero(shared_data):
    from charsuite.xrd import calibrate_zero

    cal = calibrate_zero(
        read(shared_data("xrd") / "nims-dpfc__M-DaC_XRD" / "XRD_RIGAKU.ras"), standard="Si"
    )
    assert cal.zero_offset_deg == pytest.approx(-0.04, abs=0.02)  # PROVENANCE: −0.032° (cell free)


# (file, labelled phases in the library) — PROVENANCE labels. TiO2 stands for either
# polymorph in the library. V2O5, Bi2O3 and MnCO3 joined the library (literature
# structures); with each left out of the search, nothing else may take its lines
# (test_labelled_phase_left_out_is_not_forced).
LABELLED = [
    ("njszym__XRD-AutoAnalyzer/MnO.xy", {"MnO"}),
    ("njszym__XRD-AutoAnalyzer/LiMn2O4.xy", {"LiMn2O4"}),
    ("njszym__XRD-AutoAnalyzer/Li2MnO3.xy", {"Li2MnO3"}),
    ("njszym__XRD-AutoAnalyzer/Li2MnO3+MnO+TiO2.xy", {"Li2MnO3", "MnO", "TiO2"}),
    # ZrO2 (111) is an unresolved shoulder of Li2CO3 (002) here: found from the fit residual
    ("njszym__XRD-AutoAnalyzer/Li2CO3-ZrO2.xy", {"Li2CO3", "ZrO2"}),
    ("CederGroupHub__dara/V2O5_0p4005-NiO_0p6016--8min.xrdml", {"NiO", "V2O5"}),
    ("CederGroupHub__dara/NiO_0p6007-Bi2O3_0p4008--8min.xrdml", {"NiO", "Bi2O3"}),
    (
        "CederGroupHub__dara/NiO_0p2030-Li2CO3_0p2999-TiO2_0p5025--8min.xrdml",
        {"NiO", "Li2CO3", "TiO2"},
    ),
    ("CederGroupHub__dara/ZnO_0p4006-In2O3_0p6008--8min.xrdml", {"In2O3", "ZnO"}),
    ("CederGroupHub__dara/In2O3_0p5002-MnCO3_0p5000--8min.xrdml", {"In2O3", "MnCO3"}),
    ("CederGroupHub__dara/Li2CO3_0p9001-ZrO2_0p1000--8min.xrdml", {"Li2CO3", "ZrO2"}),
    # the same sample in a 2-min fast scan (coarse, noisy, broad blended peaks)
    ("CederGroupHub__dara/Li2CO3_0p9001-ZrO2_0p1000--2min.xrdml", {"Li2CO3", "ZrO2"}),
    ("CederGroupHub__dara/Fe3O4-3ZnO_1000C_60min.xrdml", {"ZnFe2O4", "ZnO"}),
]


_RESULTS: dict = {}


def _analyzed(root, rel):
    """analyze() of a shared file with default options, computed once per session."""
    from charsuite.xrd import analyze

    key = (str(root), rel)
    if key not in _RESULTS:
        _RESULTS[key] = analyze(read(root / rel))
    return _RESULTS[key]


def _found(res):
    return {p["name"].split("-")[0] for p in res.phases}  # TiO2-anatase → TiO2


@pytest.mark.parametrize(
    "rel, left_out, labelled",
    [
        ("CederGroupHub__dara/V2O5_0p4005-NiO_0p6016--8min.xrdml", "V2O5", {"NiO"}),
        ("CederGroupHub__dara/NiO_0p6007-Bi2O3_0p4008--8min.xrdml", "Bi2O3", {"NiO"}),
        ("CederGroupHub__dara/In2O3_0p5002-MnCO3_0p5000--8min.xrdml", "MnCO3", {"In2O3"}),
    ],
)
def test_labelled_phase_left_out_is_not_forced(shared_data, rel, left_out, labelled):
    """A labelled phase left out of the search: no other library phase takes its lines
    (the behaviour these scans tested before the phase joined the library)."""
    from charsuite.xrd import analyze, list_phases

    names = [n for n in list_phases() if n != left_out]
    res = analyze(read(shared_data("xrd") / rel), phases=names)
    found = _found(res)
    assert labelled <= found, f"missing {labelled - found}"
    assert found <= labelled, f"reported but not there: {found - labelled}"


@pytest.mark.parametrize("rel, labelled", LABELLED)
def test_labelled_phases_found_and_nothing_else(shared_data, rel, labelled):

    res = _analyzed(shared_data("xrd"), rel)
    found = _found(res)
    assert labelled <= found, f"missing {labelled - found}"
    assert found <= labelled, f"reported but not there: {found - labelled}"


def test_zro2_shoulder_found_in_the_residual(shared_data):
    """njszym Li2CO3 + ZrO2: m-ZrO2 (111) is a shoulder on the low side of Li2CO3 (002)
    near 32.1°, no local maximum; it is found in the fit residual and assigned to ZrO2
    (111). The corrections record the residual search and how many lines it added."""
    res = _analyzed(shared_data("xrd"), "njszym__XRD-AutoAnalyzer/Li2CO3-ZrO2.xy")
    rows = [p for p in res.peaks if p["from_residual"] and 31.6 < p["two_theta"] < 32.0]
    assert rows and rows[0]["phase"] == "ZrO2" and rows[0]["hkl"] == [1, 1, 1]
    ps = res.corrections["peak_search"]
    assert ps["lines_added_from_residual"] == sum(p["from_residual"] for p in res.peaks) >= 1


def test_fast_scan_zro2_lines_assigned(shared_data):
    """2-min scan of 90 % Li2CO3 + 10 % ZrO2: the strongest ZrO2 line, (-111) near 28.3°,
    is labelled ZrO2 (not unidentified, not another phase)."""

    rel = "CederGroupHub__dara/Li2CO3_0p9001-ZrO2_0p1000--2min.xrdml"
    res = _analyzed(shared_data("xrd"), rel)
    rows = [p for p in res.peaks if abs(p["two_theta"] - 28.3) < 0.2]
    assert rows and rows[0]["phase"] == "ZrO2"


def test_phase_missing_from_library_is_unidentified(shared_data):
    """ZrO2 left out of the search: its lines are reported as unexplained, not forced into
    LiF, Fe, Al or Pt (the failure of the first session). The fitted peaks of the full
    analysis are re-matched with the library minus ZrO2 and analyze()'s search settings."""
    from charsuite.xrd import list_phases, match_phases, phase_max_strain, reference_pattern

    names = [n for n in list_phases() if n != "ZrO2"]
    for rel in (
        "njszym__XRD-AutoAnalyzer/Li2CO3-ZrO2.xy",
        "CederGroupHub__dara/Li2CO3_0p9001-ZrO2_0p1000--8min.xrdml",
    ):
        res = _analyzed(shared_data("xrd"), rel)
        scan = read(shared_data("xrd") / rel).two_theta.values
        pk = res.peaks
        x = np.array([p["two_theta"] for p in pk])
        refs = {
            n: reference_pattern(
                n,
                wavelength_angstrom=res.wavelength_angstrom,
                two_theta_range=(x.min() - 3, x.max() + 3),
            )
            for n in names
        }
        sm = res.corrections["search_match"]
        acc, _, unexp = match_phases(
            x,
            [p["area"] for p in pk],
            refs,
            two_theta_range=(float(scan[0]), float(scan[-1])),
            tol_deg=sm["tolerance_deg"],
            max_zero_offset_deg=sm["max_zero_offset_deg"],
            significance=[p["area"] / max(p["area_err"], 1e-12) for p in pk],
            obs_fwhm=[p["fwhm"] for p in pk],
            strain={n: v for n in names if (v := phase_max_strain(n)) is not None},
        )
        assert [p.name for p in acc] == ["Li2CO3"], rel
        # m-ZrO2 (-111) near 28.2° (+ zero offset) is among the unexplained peaks
        assert any(27.9 < x[i] < 28.7 for i in unexp), rel


def test_lmo_lif_li2mno3_mixture(shared_data):
    """LiMn2O4 + LiF + Li2MnO3 (as labelled): spinel and LiF found, no Pt from coincident
    lines (first-session failure). Li2MnO3 is *not* demonstrable in this pattern: no
    superstructure intensity at 20–22.5° (the mean counts there fall monotonically, as in the
    pure LiMn2O4 file, unlike the pure Li2MnO3 file) and its other lines coincide with
    LiMn2O4/LiF lines; strong unlabelled lines (15.4, 24.8, 35.6, 39.3, 40.8, 61.4°) index as
    orthorhombic LiMnO2 (not in the library) and stay unidentified."""

    res = _analyzed(shared_data("xrd"), "njszym__XRD-AutoAnalyzer/LiMn2O4+LiF+Li2MnO3.xy")
    found = _found(res)
    assert {"LiMn2O4", "LiF"} <= found <= {"LiMn2O4", "LiF", "Li2MnO3"}
    unid = [u["two_theta"] for u in res.unidentified_peaks]
    for line in (15.43, 24.84, 39.32):
        assert any(abs(u - line) < 0.1 for u in unid), line


@pytest.mark.xfail(
    reason="Li2MnO3 (labelled) not demonstrable: no resolved line of its own, see "
    "test_lmo_lif_li2mno3_mixture",
    strict=True,
)
def test_lmo_lif_li2mno3_mixture_li2mno3(shared_data):

    res = _analyzed(shared_data("xrd"), "njszym__XRD-AutoAnalyzer/LiMn2O4+LiF+Li2MnO3.xy")
    assert "Li2MnO3" in _found(res)


def test_li2mno3_injected_into_the_lmo_lif_mixture_is_found(shared_data):
    """Detection limit for the labelled-but-absent Li2MnO3 above: the real single-phase
    Li2MnO3 pattern of the same source, added to the mixture scan with its strongest line
    at 20 % of the mixture's strongest, is found as Li2MnO3 (fault-broadened superstructure
    reflections optional, subcell-only LiCoO2 not reported); the unmodified scan is not.
    So if Li2MnO3 is in that sample, it is below this level."""
    from charsuite.xrd import analyze

    root = shared_data("xrd") / "njszym__XRD-AutoAnalyzer"
    mix, pure = read(root / "LiMn2O4+LiF+Li2MnO3.xy"), read(root / "Li2MnO3.xy")
    ym = np.asarray(mix.values, float)
    yp = np.interp(mix.two_theta.values, pure.two_theta.values, np.asarray(pure.values, float))
    yp -= np.percentile(yp, 5)
    y = ym + 0.2 * (ym.max() - np.percentile(ym, 5)) / yp.max() * yp
    found = _found(analyze(mix.copy(data=y), whole_pattern=False))
    assert found == {"LiMn2O4", "LiF", "Li2MnO3"}
    assert "Li2MnO3" not in _found(
        _analyzed(shared_data("xrd"), root.name + "/" + "LiMn2O4+LiF+Li2MnO3.xy")
    )


def test_charged_spinel_two_phases(shared_data, tmp_path):
    """Charged LiMn2O4 electrode, 'two-phase spinel near the 4.1 V plateau' (PROVENANCE):
    two Li_xMn2O4 instances with resolved, contracted cells (a < 8.245 Å of LiMn2O4); no
    layered phase is reported from the spinel doublets (first-session failure: NMC811 +
    LiNiO2)."""
    from charsuite.xrd import analyze

    res = analyze(read(shared_data("xrd") / "m3wolf__electrolab/lmo-two-phase.brml", rate=True))
    assert {p["name"] for p in res.phases} == {"LiMn2O4", "LiMn2O4 (2)"}
    a = sorted(p["lattice"]["a"] for p in res.phases)
    assert 8.0 < a[0] < a[1] < 8.2
    assert a[1] - a[0] > 0.04
    # the figure draws the sticks of the second instance from its library reference
    from charsuite.plotting.xrd import plot_identification

    da = read(shared_data("xrd") / "m3wolf__electrolab/lmo-two-phase.brml", rate=True)
    plot_identification(da, res, path=tmp_path / "lmo.png")
    assert (tmp_path / "lmo.png").stat().st_size > 10_000


def test_two_cells_of_one_phase_each_get_their_weight_fraction(shared_data):
    """The two spinels of the charged LiMn2O4 electrode are two Rietveld phases ("LiMn2O4 (2)"
    with its own scale and cell): each gets its own weight fraction (both showed the
    combined 100 wt% before), the two sum to 1, and the refined cells stay apart as the
    peak refinement found them."""
    from charsuite.xrd import analyze

    da = read(shared_data("xrd") / "m3wolf__electrolab/lmo-two-phase.brml", rate=True)
    res = analyze(da, refine=True)
    wf = {p["name"]: p["weight_fraction"]["value"] for p in res.phases}
    assert set(wf) == {"LiMn2O4", "LiMn2O4 (2)"}
    assert sum(wf.values()) == pytest.approx(1.0)
    assert all(0.05 < v < 0.95 for v in wf.values())
    cells = {n: c["a"]["value"] for n, c in res.rietveld["cells"].items()}
    peak = {p["name"]: p["lattice"]["a"] for p in res.phases}
    for n in wf:
        assert cells[n] == pytest.approx(peak[n], abs=0.01)
    assert abs(cells["LiMn2O4"] - cells["LiMn2O4 (2)"]) > 0.04


def test_nio_lattice_known_answer(shared_data):
    from charsuite.xrd import lattice_of

    res = lattice_of(
        read(shared_data("xrd") / "CederGroupHub__dara/V2O5_0p4005-NiO_0p6016--8min.xrdml"),
        phase="NiO",
    )
    # PROVENANCE "our fit" 4.1790(11) Å (zero 0.12°), literature 4.1771 Å: a zero-only model
    # leaves a ±0.002 Å ambiguity between zero and cell on six lines
    assert res["lattice"]["a"] == pytest.approx(4.178, abs=0.004)


def test_gadds_plt_header_wavelength(shared_data):
    da = read(shared_data("xrd") / "m3wolf__electrolab" / "map-0.plt")
    md = da.attrs["metadata"]
    assert md["wavelength_angstrom"] == pytest.approx(1.54056)
    assert md["wavelength_ka2_angstrom"] == pytest.approx(1.54439)


def test_layered_na2co2teo6_00l(shared_data):
    """Layered honeycomb oxide: strongest (002) at 15.97° (PROVENANCE) read correctly."""
    path = next((shared_data("xrd") / "wojdyr__xylib").glob("Na2Co2TeO6*.xrdml"))
    da = read(path)
    x = da.two_theta.values
    m = (x > 14) & (x < 18)
    assert x[m][np.argmax(da.values[m])] == pytest.approx(15.97, abs=0.05)
