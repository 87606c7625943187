import pytest

from charsuite.datasets.composition import write_ndf_prf
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

MOLECULES = [(7.492, "Co?=0.36pt?=0.64"), (4.533, "Si1o2"), (5.0, "Si")]
LAYERS = [(301.642, [72.363, 27.637, 0.0]), (7126.0, [0.0, 0.0, 100.0])]


class TestNdfPrf(ReaderContract):
    format_name = "ndf-prf"

    def make_file(self, tmp_path):
        return write_ndf_prf(tmp_path / "bs.PRF", LAYERS, MOLECULES)

    def make_nan_file(self, tmp_path):
        return write_ndf_prf(tmp_path / "nan.PRF", [(float("nan"), [1.0, 0.0, 0.0])], MOLECULES)


def test_molecules_to_elements(tmp_path):
    ds = read(write_ndf_prf(tmp_path / "bs.PRF", LAYERS, MOLECULES))
    assert set(ds["element"].values) == {"Co", "Pt", "Si", "O"}
    # element = sum(molecule fraction x stoichiometric fraction): Co = 72.363 % x 0.36
    assert ds["at_pct"].sel(layer=1, element="Co").item() == pytest.approx(72.363 * 0.36)
    assert ds["at_pct"].sel(layer=1, element="O").item() == pytest.approx(27.637 * 2 / 3)
    assert ds["layer_thickness"].values.tolist() == [301.642, 7126.0]


def test_names_needed_without_footer(tmp_path):
    path = tmp_path / "x.prf"
    path.write_text("1\n100.0 60 40\n")
    with pytest.raises(ReaderError, match="names="):
        read(path)
    ds = read(path, names=["Si1o2", "Al"])
    assert ds["at_pct"].sel(element="Al").item() == pytest.approx(40.0)


def test_layer_count_mismatch(tmp_path):
    path = tmp_path / "x.prf"
    path.write_text("3\n100.0 60 40\n")
    with pytest.raises(ReaderError, match="announces 3 layers"):
        read(path, format="ndf-prf", names=["Si", "O"])
