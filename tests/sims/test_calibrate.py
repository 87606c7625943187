import dataclasses

import numpy as np
import pytest

from charsuite.datasets.sims import BATTERY_STACK, battery_layer_spec, make_tofdaq_stack
from charsuite.exceptions import CharsuiteWarning, ParameterError
from charsuite.sims import calibrate_depth, depth_profile, find_interfaces, parse_layers


def test_parse_layers():
    specs = parse_layers("Li, LiPON:500nm,NMC811@NiO-:0.6um,ITO:1800Å,substrate")
    assert [s.name for s in specs] == ["Li", "LiPON", "NMC811", "ITO", "substrate"]
    assert specs[2].thickness_nm == pytest.approx(600) and specs[2].marker == "NiO-"
    assert specs[3].thickness_nm == pytest.approx(180) and specs[0].thickness_nm is None
    for bad in ("LiPON:500nm", "A:-3nm,B", "A:xnm,B", "A,A"):
        with pytest.raises(ParameterError):
            parse_layers(bad)


def test_interfaces_widths_and_rates_on_generated_stack(stack):
    path, truth = stack
    prof = depth_profile(path, dead_time=True)
    with pytest.warns(CharsuiteWarning, match="substrate"):
        cal = calibrate_depth(prof, battery_layer_spec(truth))
    for found, true in zip(cal.interfaces, truth["interfaces"]):
        assert list(found.between) == true["between"]
        assert found.scan == pytest.approx(true["scan"], abs=1.0)
        assert found.width_scans == pytest.approx(true["width_scans"], rel=0.15)
    # interior interfaces: both adjacent rates calibrated -> width in nm is physical
    for found, true in zip(cal.interfaces[1:3], truth["interfaces"][1:3]):
        assert found.width_nm == pytest.approx(true["width_nm"], rel=0.15)
    for lay, true in zip(cal.layers[:4], truth["layers"][:4]):
        assert lay.sputter_rate_nm_per_scan == pytest.approx(
            true["sputter_rate_nm_per_scan"], rel=0.05
        )
    assert cal.depth_nm[0] == 0 and np.all(np.diff(cal.depth_nm) > 0)
    assert cal.history[-1]["operation"] == "calibrate_depth"


def test_thickness_of_uncalibrated_layer_within_5_percent(tmp_path):
    # ITO sputters like NMC811 here, so its thickness follows from the NMC811 rate
    layers = [
        dataclasses.replace(lay, relative_rate=1.0) if lay.name == "ITO" else lay
        for lay in BATTERY_STACK
    ]
    path, _truth = make_tofdaq_stack(
        tmp_path / "s.h5", n_scans=220, shape=(16, 16), stack=tuple(layers), seed=3
    )
    prof = depth_profile(path)
    with pytest.warns(CharsuiteWarning) as record:
        cal = calibrate_depth(prof, "Li:300nm,LiPON:500nm,NMC811:600nm,ITO,substrate")
    assert "'ITO' has no thickness; using the sputter rate of 'NMC811'" in str(record[0].message)
    ito = next(lay for lay in cal.layers if lay.name == "ITO")
    assert not ito.thickness_given
    assert ito.thickness_nm == pytest.approx(180.0, rel=0.05)


def test_one_rate_and_markers(stack):
    path, _truth = stack
    prof = depth_profile(path)
    cal = calibrate_depth(prof, "Li,LiPON@PO-,NMC811@NiO-,ITO@In-,substrate", rate=2.0)
    assert all(lay.sputter_rate_nm_per_scan == 2.0 for lay in cal.layers)
    assert [i.species for i in cal.interfaces] == ["PO-", "NiO-", "In-", "In-"]
    assert cal.interfaces[3].direction == "falling"
    with pytest.raises(ParameterError, match="marker 'Zr-'"):
        find_interfaces(prof, "Li,LiPON@Zr-,NMC811,ITO,substrate")


def test_no_thickness_no_rate_gives_scans_only(stack):
    path, truth = stack
    cal = calibrate_depth(depth_profile(path), "Li,LiPON,NMC811,ITO,substrate")
    assert cal.depth_nm is None and cal.interfaces[0].depth_nm is None
    assert cal.interfaces[1].scan == pytest.approx(truth["interfaces"][1]["scan"], abs=1.0)


def test_apply_adds_depth_coordinate(stack):
    path, _truth = stack
    prof = depth_profile(path)
    cal = calibrate_depth(prof, "Li,LiPON,NMC811,ITO,substrate", rate=3.0)
    out = cal.apply(prof)
    assert out.depth_nm.attrs["units"] == "nm"
    np.testing.assert_allclose(out.depth_nm.values, np.arange(prof.sizes["depth"]) * 3.0)


def test_real_mapi_device_interfaces(shared_data):
    """Automatic layer finding on a real IONTOF export; sims.md §2.3: PbI3- edge ≈1408 s, ≈59 s."""
    from charsuite.io import read

    path = (
        shared_data("sims")
        / "X-LAB-UHasselt+ToFSIMS-depth-profiling-of-PSCs"
        / "data"
        / "main"
        / "MAPI-stack"
        / "I241211i_C_MAPI-dev_4f-3nA_neg-B-electrode2 - NF.txt"
    )
    da = read(path)
    ions = [s for s, k in zip(da.species.values, da.kind.values) if k != "ratio"]
    cal = calibrate_depth(depth_profile(da.sel(species=ions)), "Au,HTL,MAPI,ETL,ITO")
    t = da.sputter_time.values
    htl_mapi = cal.interfaces[1]
    assert "PbI_3-" in htl_mapi.species and htl_mapi.direction == "rising"
    assert np.interp(htl_mapi.scan, np.arange(len(t)), t) == pytest.approx(1408, abs=10)
    assert htl_mapi.width_scans * np.mean(np.diff(t[1:-1])) == pytest.approx(59, rel=0.15)
