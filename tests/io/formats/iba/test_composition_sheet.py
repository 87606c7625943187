import numpy as np
import pytest

from charsuite.composition import amounts_from
from charsuite.datasets.composition import write_composition_sheet
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

ROWS = [
    {
        "element": "Li",
        "quantity": "at_pct",
        "value": 39.0,
        "uncertainty": 1.5,
        "unit": "at.%",
        "technique": "ERDA",
        "layer": "film",
    },
    {
        "element": "Ni+Mn+Co",
        "quantity": "at_pct",
        "value": 20.0,
        "uncertainty": 0.5,
        "unit": "at.%",
        "technique": "ERDA",
        "layer": "film",
    },
    {
        "element": "Ni",
        "quantity": "ppm_mass",
        "value": 400000,
        "uncertainty": 4000,
        "unit": "ppm",
        "technique": "PIXE",
        "layer": "film",
    },
    {
        "element": "",
        "quantity": "thickness",
        "value": 600,
        "uncertainty": None,
        "unit": "nm",
        "technique": "RBS",
        "layer": "film",
    },
]


class TestSheetCSV(ReaderContract):
    format_name = "composition-sheet"

    def make_file(self, tmp_path):
        return write_composition_sheet(tmp_path / "sheet.csv", ROWS)

    def make_nan_file(self, tmp_path):
        rows = [dict(ROWS[0], value="nan")]
        return write_composition_sheet(tmp_path / "nan.csv", rows)


@pytest.mark.parametrize("suffix", [".csv", ".toml", ".json"])
def test_three_encodings_agree(tmp_path, suffix):
    ds = read(write_composition_sheet(tmp_path / f"s{suffix}", ROWS))
    assert ds.attrs["format"] == "composition-sheet"
    assert ds["erda_at_pct"].sel(layer="film", element="Li").item() == 39.0
    assert ds["erda_at_pct_sigma"].sel(layer="film", element="Ni+Mn+Co").item() == 0.5
    assert ds["pixe_ppm_mass"].attrs["technique"] == "PIXE"
    assert np.isnan(ds["pixe_ppm_mass"].sel(layer="film", element="Li").item())
    assert ds["layer_thickness_nm"].item() == 600.0
    erda = amounts_from(ds, technique="ERDA")
    assert set(erda.values) == {"Li", "Ni+Mn+Co"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"unit": "wt.%"}, "unit 'wt.%' does not fit quantity at_pct"),
        ({"quantity": "moles"}, "quantity 'moles' not known"),
        ({"element": "Xy"}, "'Xy' is not an element"),
        ({"value": "-3"}, "expected ≥ 0"),
        ({"value": "abc"}, "not a number"),
        ({"unit": "furlong"}, "unit 'furlong'"),
    ],
)
def test_bad_rows_name_the_line(tmp_path, row, message):
    path = write_composition_sheet(tmp_path / "bad.csv", [dict(ROWS[0], **row)])
    with pytest.raises(ReaderError, match="line 3: .*" + message.replace("(", r"\(")):
        read(path)


def test_missing_column(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("element,value\nLi,3\n")
    with pytest.raises(ReaderError, match="lacks column"):
        read(path, format="composition-sheet")


def test_duplicate(tmp_path):
    path = write_composition_sheet(tmp_path / "d.csv", [ROWS[0], ROWS[0]])
    with pytest.raises(ReaderError, match="given twice"):
        read(path)
