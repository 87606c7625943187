import numpy as np
import pytest

from charsuite.datasets.tomogram import tomogram
from charsuite.exceptions import DataError, ParameterError
from charsuite.sims.tomo import detect_interfaces, parse_layers, register, zcorrect

LAYERS = "Li:160:Li,LiPON:60:PO2,NMC811:120:Ni,ITO:45:In,steel::Fe"


@pytest.fixture(scope="module")
def registered():
    cube, truth = tomogram(shape_yx=(64, 64), seed=0)
    reg, _ = register(cube)
    return reg.compute(), truth


def _truth_on(reg, truth, key):
    px = truth["pixel_um"]
    yi = np.rint(reg.y.values / px).astype(int)
    xi = np.rint(reg.x.values / px).astype(int)
    return truth[key][:, yi][:, :, xi]


def test_interface_maps_within_one_scan(registered):
    reg, truth = registered
    zc = detect_interfaces(reg, LAYERS)
    ts = _truth_on(reg, truth, "interface_scan")
    rms = np.sqrt(((zc.interface_scan.values - ts) ** 2).mean(axis=(1, 2)))
    assert (ts.std(axis=(1, 2))[1:] > 1).all()  # real topography to recover
    assert (rms < 1.0).all(), rms
    tz = _truth_on(reg, truth, "interface_depth_nm")
    rms_nm = np.sqrt(((zc.interface_depth.values - tz) ** 2).mean(axis=(1, 2)))
    assert (rms_nm < 2.5).all(), rms_nm  # topography RMS is 4 nm
    np.testing.assert_allclose(zc.rates_nm_per_scan[:4], truth["rates_nm_per_scan"][:4], rtol=0.05)
    assert zc.to_dict()["interfaces"][0] == "Li/LiPON"


def test_zcorrect_uniform_nm_grid(registered):
    reg, _truth = registered
    zc = detect_interfaces(reg, LAYERS)
    tomo = zcorrect(reg, zc, voxel_nm=2.0)
    assert tomo["depth"].attrs["units"] == "nm"
    assert np.allclose(np.diff(tomo["depth"].values), 2.0)
    prof = tomo.mean(("y", "x")).compute()
    # markers sit at the nominal depths after correction (flattened in nm)
    assert float(prof.sel(depth=100, method="nearest").sel(species="Li")) > 30
    assert float(prof.sel(depth=190, method="nearest").sel(species="PO2")) > 6
    assert float(prof.sel(depth=320, method="nearest").sel(species="Ni")) > 6
    assert float(prof.sel(depth=365, method="nearest").sel(species="In")) > 8
    near = zcorrect(reg.astype("int32"), zc, method="nearest")
    assert near.dtype == np.int32


def test_bad_layers(registered):
    reg, _ = registered
    with pytest.raises(DataError, match="top to bottom"):
        detect_interfaces(reg, "Li:160:Li,NMC811:120:Ni,LiPON:60:PO2")
    with pytest.raises(ParameterError, match="not in the cube"):
        detect_interfaces(reg, "Li:160:Li,X:10:Xe")
    with pytest.raises(ParameterError):
        parse_layers("Li:160")
    with pytest.raises(ParameterError):
        parse_layers("Li::Li,NMC811::Ni")
    with pytest.raises(DataError):
        zc = detect_interfaces(reg, LAYERS)
        zcorrect(reg.isel(x=slice(0, 10)), zc)
