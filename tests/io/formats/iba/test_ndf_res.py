import pytest

from charsuite.datasets.composition import write_ndf_res
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

LAYERS = [
    (301.642, {"Co": 25.6514, "Pt": 46.7116, "Si": 9.2123, "O": 18.4247}),
    (7126.0, {"Si": 100.0}),
]


class TestNdfRes(ReaderContract):
    format_name = "ndf-res"

    def make_file(self, tmp_path):
        return write_ndf_res(tmp_path / "bs.RES", LAYERS)

    def make_nan_file(self, tmp_path):
        return write_ndf_res(tmp_path / "nan.RES", [(float("nan"), {"Si": 100.0})])


def test_values(tmp_path):
    ds = read(write_ndf_res(tmp_path / "bs.RES", LAYERS))
    assert list(ds["element"].values) == ["Co", "Pt", "Si", "O"]
    assert ds["at_pct"].sel(layer=1, element="Pt").item() == pytest.approx(46.7116)
    assert ds["areal_density"].sel(layer=1, element="Co").item() == pytest.approx(
        301.642 * 0.256514
    )
    assert ds.attrs["metadata"]["total_areal_density_1e15_at_cm2"]["Si"] == pytest.approx(
        301.642 * 0.092123 + 7126.0, rel=1e-4
    )


def test_mcmc_sigma(tmp_path):
    path = write_ndf_res(tmp_path / "bs.RES", LAYERS)
    mcmc = tmp_path / "mcmc.dat"
    mcmc.write_text(
        "301.6 3.0 25.65 0.5 46.71 0.6 9.21 0.3 18.42 0.7\n7126 50 0 0 0 0 100 0.1 0 0\n"
    )
    ds = read(path, mcmc_file=mcmc)
    assert ds["at_pct_sigma"].sel(layer=1, element="Pt").item() == pytest.approx(0.6)
    assert ds["areal_density_sigma"].sel(layer=1, element="Co").item() > 0


def test_sum_not_100(tmp_path):
    path = write_ndf_res(tmp_path / "bs.RES", [(100.0, {"Si": 50.0, "O": 30.0})])
    with pytest.raises(ReaderError, match="sum to 80"):
        read(path)
