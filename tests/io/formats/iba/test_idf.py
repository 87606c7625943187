import numpy as np
import pytest

from charsuite.datasets.composition import write_idf
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.io.formats.iba.idf import molecule_fractions
from charsuite.testing import ReaderContract

LAYERS = [(1000.0, {"O": 0.6, "Al": 0.4}), (10000.0, {"C": 1.0})]


class TestIDF(ReaderContract):
    format_name = "idf"
    fuzz_examples = 20

    def make_file(self, tmp_path):
        return write_idf(tmp_path / "fit.xnra", LAYERS)

    def make_nan_file(self, tmp_path):
        return write_idf(tmp_path / "nan.xnra", [(float("nan"), {"O": 0.6, "Al": 0.4})])


def test_values_and_areal_density(tmp_path):
    ds = read(write_idf(tmp_path / "a.xnra", LAYERS))
    assert list(ds["element"].values) == ["O", "Al", "C"]
    np.testing.assert_allclose(ds["layer_thickness"].values, [1000.0, 10000.0])
    np.testing.assert_allclose(ds["at_pct"].sel(layer=1, element="O"), 60.0)
    np.testing.assert_allclose(ds["areal_density"].sel(layer=1, element="Al"), 400.0)
    assert np.isnan(ds["at_pct"].sel(layer=2, element="O"))  # not in that layer
    assert ds["at_pct"].attrs["units"] == "at.%"
    assert ds["areal_density"].attrs["units"] == "1e15 at/cm2"
    assert ds.attrs["metadata"]["iba_method"] == "RBS"


def test_percent_labelled_fraction_and_isotopes(tmp_path):
    path = write_idf(
        tmp_path / "p.xml", [(500.0, {"28Si": 1 / 3, "O": 2 / 3})], percent=True, simnra=False
    )
    ds = read(path)
    assert list(ds["element"].values) == ["Si", "O"]
    np.testing.assert_allclose(ds["at_pct"].values[0], [100 / 3, 200 / 3])


def test_bad_sum_refused(tmp_path):
    path = write_idf(tmp_path / "bad.xnra", [(500.0, {"O": 0.6, "Al": 0.6})])
    with pytest.raises(ReaderError, match=r"sum to 1\.2"):
        read(path)


def test_unknown_element_refused(tmp_path):
    path = write_idf(tmp_path / "bad.xnra", [(500.0, {"Qq": 1.0})])
    with pytest.raises(ReaderError, match=r"layer 1.*'Qq'"):
        read(path)


def test_negative_refused(tmp_path):
    path = write_idf(tmp_path / "neg.xnra", [(500.0, {"O": 1.2, "Al": -0.2})])
    with pytest.raises(ReaderError, match="negative"):
        read(path)


def test_molecule_names():
    assert molecule_fractions("Si 1 O 2") == pytest.approx({"Si": 1 / 3, "O": 2 / 3})
    assert molecule_fractions("Si1o2") == pytest.approx({"Si": 1 / 3, "O": 2 / 3})
    assert molecule_fractions("Co?=0.36pt?=0.64") == pytest.approx({"Co": 0.36, "Pt": 0.64})


@pytest.mark.parametrize(
    ("name", "layer1"),
    [
        ("rbs_rough.xnra", (1000.0, {"O": 60.0, "Al": 40.0}, 10000.0, "C")),
        ("rbs_rough2.xnra", (1200.0, {"Ti": 40.0, "O": 60.0}, 30000.0, "Si")),
        ("rbs_rough3.xnra", (1000.0, {"O": 60.0, "Al": 40.0}, 10000.0, "C")),
    ],
)
def test_real_simnra_files(shared_data, name, layer1):
    root = shared_data("iba")
    ds = read(root / "JYU-IBA_jabs" / "example" / "tests" / name)
    t1, comp, t2, substrate = layer1
    assert ds.attrs["format"] == "idf"
    assert ds.attrs["metadata"]["simnra_version"] == "7.03"
    assert ds.sizes["layer"] == 2
    assert ds["layer_thickness"].values.tolist() == [t1, t2]
    for el, pct in comp.items():
        assert ds["at_pct"].sel(layer=1, element=el).item() == pytest.approx(pct, abs=1e-9)
    assert ds["at_pct"].sel(layer=2, element=substrate).item() == pytest.approx(100.0)


def test_ndf_fit_results_preferred(tmp_path):
    # pyIBA-style: single-slash namespace URIs, percent values labelled "fraction"
    path = tmp_path / "ndf.xml"
    path.write_text(
        '<?xml version="1.0"?>\n'
        '<idf xmlns="http:/idf.schemas.itn.pt" xmlns:ndf="http:/ndf.schemas.itn.pt">'
        "<sample><structure><layeredstructure><layers><layer>"
        '<layerthickness units="1e15at/cm2">300</layerthickness><layerelements>'
        '<layerelement><name>Co 1 Pt 1</name><concentration units="fraction">100'
        "</concentration></layerelement></layerelements></layer></layers></layeredstructure>"
        "</structure><spectra><spectrum><process><simulations><simulation><ndf:ndf>"
        "<ndf:fitresults><ndf:structure><ndf:layeredstructure><ndf:layers><ndf:layer>"
        '<ndf:layerthickness units="1e15at/cm2">301.642</ndf:layerthickness>'
        "<ndf:layerelements><ndf:layerelement><ndf:name>Co 0.366897 Pt 0.633103</ndf:name>"
        '<ndf:concentration units="fraction">75.636</ndf:concentration></ndf:layerelement>'
        "<ndf:layerelement><ndf:name>Si 1 O 2</ndf:name>"
        '<ndf:concentration units="fraction">24.364</ndf:concentration></ndf:layerelement>'
        "</ndf:layerelements></ndf:layer></ndf:layers></ndf:layeredstructure></ndf:structure>"
        "</ndf:fitresults></ndf:ndf></simulation></simulations></process></spectrum></spectra>"
        "</sample></idf>"
    )
    ds = read(path)
    assert ds.attrs["metadata"]["structure_source"] == "ndf fit results"
    assert ds["layer_thickness"].item() == pytest.approx(301.642)
    assert ds["at_pct"].sel(element="Co").item() == pytest.approx(75.636 * 0.366897)
    assert ds["at_pct"].sel(element="O").item() == pytest.approx(24.364 * 2 / 3)
    start = read(path, structure="sample")
    assert start["at_pct"].sel(element="Pt").item() == pytest.approx(50.0)
