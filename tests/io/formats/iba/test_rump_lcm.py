import numpy as np
import pytest

from charsuite.datasets.composition import write_rump_lcm
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

LAYERS = [
    ("1200 /CM2", {"Li": 1.95, "Ni": 0.83, "Mn": 0.08, "Co": 0.09}),
    ("330 A", {"In": 2, "O": 3}),
]


class TestRumpLcm(ReaderContract):
    format_name = "rump-lcm"

    def make_file(self, tmp_path):
        return write_rump_lcm(tmp_path / "film.lcm", LAYERS)

    def make_nan_file(self, tmp_path):
        return write_rump_lcm(tmp_path / "nan.lcm", [("nan /CM2", {"Si": 1})])


def test_values(tmp_path):
    ds = read(write_rump_lcm(tmp_path / "f.lcm", LAYERS))
    np.testing.assert_allclose(ds["at_pct"].sel(layer=1, element="Li"), 1.95 / 2.95 * 100)
    np.testing.assert_allclose(ds["areal_density"].sel(layer=1, element="Ni"), 0.83 / 2.95 * 1200)
    assert ds["layer_thickness_nm"].sel(layer=2).item() == pytest.approx(33.0)
    assert np.isnan(ds["layer_thickness"].sel(layer=2).item())  # length without density


def test_length_with_density(tmp_path):
    ds = read(write_rump_lcm(tmp_path / "f.lcm", LAYERS), atomic_density_1e22_at_cm3=7.0)
    assert ds["layer_thickness"].sel(layer=2).item() == pytest.approx(7.0e22 * 33e-7 / 1e15)


def test_case_insensitive_free_order_comments(tmp_path):
    path = tmp_path / "s.lcm"
    path.write_text(
        "# hand written\nlayer 1\n  comp Pt 1\n  thick 78 a\nLAYER 2\n"
        "  THICK 20 /cm2  ! areal\n  Composition Mn 3.4 Ge 2\n/* c */\n"
    )
    ds = read(path)
    assert ds["at_pct"].sel(layer=2, element="Mn").item() == pytest.approx(3.4 / 5.4 * 100)
    assert ds["layer_thickness"].sel(layer=2).item() == 20.0


def test_unknown_unit(tmp_path):
    path = tmp_path / "u.lcm"
    path.write_text("Layer 1\n Thick 10 furlongs\n Composition Si 1 /\n")
    with pytest.raises(ReaderError, match="line 2: thickness unit 'furlongs'"):
        read(path)


def test_unknown_element(tmp_path):
    path = tmp_path / "u.lcm"
    path.write_text("Layer 1\n Thick 10 /CM2\n Composition Xx 1 /\n")
    with pytest.raises(ReaderError, match="line 3"):
        read(path, format="rump-lcm")


def test_real_pyrump_files(shared_data):
    root = shared_data("iba") / "ikost_pyRUMP" / "examples"
    ds = read(root / "MnPt.lcm")
    assert ds.sizes["layer"] == 5
    mn = ds["at_pct"].sel(layer=2, element="Mn").item()
    assert mn == pytest.approx(2.73495 / 3.73495 * 100)
    assert ds["layer_thickness_nm"].values.tolist() == pytest.approx(
        [4.0, 33.1162, 4.0, 33.0, 1000.0]
    )
    ds = read(root / "Sample1.lcm")
    assert ds["at_pct"].sel(layer=2, element="Ge").item() == pytest.approx(2 / 5.4 * 100)
    assert ds["layer_thickness_nm"].sel(layer=4).item() == pytest.approx(50000.0)
