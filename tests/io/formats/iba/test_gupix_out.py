import numpy as np
import pytest

from charsuite.composition import amounts_from
from charsuite.datasets.composition import write_gupix_out
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

CONC = {
    "Mn": (25000.0, 2.0, 3.0),
    "Co": (28000.0, 2.0, 2.5),
    "Ni": (260000.0, 0.3, 0.5),
    "Fe": (0.0, 0.0, 0.0),
}


class TestGupix(ReaderContract):
    format_name = "gupix-out"

    def make_file(self, tmp_path):
        return write_gupix_out(tmp_path / "pixe.out", CONC, flags={"Fe": "N"})

    def make_nan_file(self, tmp_path):
        return write_gupix_out(tmp_path / "nan.out", {"Ni": (float("nan"), 1.0, 1.0)})


def test_values_flags_and_sigma(tmp_path):
    ds = read(write_gupix_out(tmp_path / "p.out", CONC, flags={"Fe": "N", "Co": "?"}))
    assert ds["ppm_mass"].attrs["units"] == "ppm"
    assert ds["ppm_mass"].sel(element="Ni").item() == pytest.approx(260000.0)
    # sigma = conc * max(%stat, %fit) / 100
    assert ds["ppm_mass_sigma"].sel(element="Mn").item() == pytest.approx(25000 * 0.03)
    assert ds["presence"].sel(element="Fe").item() == "N"
    amounts = amounts_from(ds)
    assert "Fe" not in amounts.values
    assert "near detection limit" in amounts.notes["Co"]
    assert "Fe" in amounts_from(ds, include_below_lod=True).values


def test_mass_to_atomic(tmp_path):
    from charsuite.composition import atomic_mass

    ds = read(write_gupix_out(tmp_path / "p.out", CONC))
    atoms = amounts_from(ds).atomic()
    ratio = atoms["Mn"] / atoms["Ni"]
    expected = 25000 / atomic_mass("Mn") / (260000 / atomic_mass("Ni"))
    assert ratio.nominal_value == pytest.approx(expected)


def test_z_mismatch(tmp_path):
    path = write_gupix_out(tmp_path / "p.out", CONC)
    text = path.read_text(encoding="latin-1").replace(" 28 NiK", " 29 NiK")
    path.write_text(text, encoding="latin-1")
    with pytest.raises(ReaderError, match=r"line \d+: Z = 29 does not match element 'Ni'"):
        read(path)


def test_no_table(tmp_path):
    path = tmp_path / "x.out"
    path.write_text("Windows GUPIX Version 2.2.0\nnothing else\n")
    with pytest.raises(ReaderError, match="no final concentration table"):
        read(path)


def test_sniff_table_only(tmp_path):
    path = write_gupix_out(tmp_path / "p.txt", CONC)
    lines = path.read_text(encoding="latin-1").splitlines()
    path.write_text("\n".join(line for line in lines if "GUPIX" not in line), encoding="latin-1")
    assert read(path).attrs["format"] == "gupix-out"
    assert np.isfinite(read(path)["ppm_mass"].values).any()


def test_two_lines_of_one_element_keep_the_better(tmp_path):
    path = write_gupix_out(tmp_path / "p.out", {"Ni": (260000.0, 0.3, 0.5)})
    lines = path.read_text(encoding="latin-1").splitlines()
    row = next(i for i, line in enumerate(lines) if " NiK " in line)
    worse = lines[row].replace("NiK ", "NiL ").replace("  0.30   0.50", "  5.00   8.00")
    lines.insert(row, worse)
    path.write_text("\n".join(lines), encoding="latin-1")
    ds = read(path)
    assert ds["fit_error_pct"].sel(element="Ni").item() == 0.5
    assert ds.attrs["metadata"]["xray_lines"]["Ni layer 1"] == "K"


def test_fewer_factor_columns(tmp_path):
    path = tmp_path / "short.out"
    path.write_text(
        "GUPIX 2.1 Chi**2= 1.0\n"
        " Element     Area     Conc.  %Stat.  %Fit      LOD\n"
        " 28 NiK  1  293547  887596.6    0.16   0.26    143.8  Y\n"
        " 24 CrK  1  3734.6    9110.8    1.60   1.80     99.8  Y\n"
    )
    ds = read(path)
    assert ds["ppm_mass"].sel(element="Cr").item() == pytest.approx(9110.8)
    assert ds["lod"].sel(element="Ni").item() == pytest.approx(143.8)
