import numpy as np
import pytest

from charsuite.datasets.sims import make_surfacelab_txt
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.sims import measure_edge
from charsuite.testing import ReaderContract


class TestSurfaceLab(ReaderContract):
    format_name = "surfacelab-txt"

    def make_file(self, tmp_path):
        return make_surfacelab_txt(tmp_path / "profile.txt")[0]

    def make_nan_file(self, tmp_path):
        path = self.make_file(tmp_path)
        lines = path.read_text().splitlines()
        parts = lines[10].split("\t")
        parts[5] = "nan"
        lines[10] = "\t".join(parts)
        path.write_text("\n".join(lines))
        return path


def test_channels_and_coords(tmp_path):
    path, truth = make_surfacelab_txt(tmp_path / "p.txt")
    da = read(path)
    assert da.dims == ("depth", "species")
    assert list(da.species.values[1:4]) == truth["channels"]
    assert list(da.kind.values) == ["total", "ion", "ion", "ion", "ratio"]
    assert np.isnan(da.mass.values[0]) and da.mass.values[1] == pytest.approx(196.967)
    assert da.sputter_time.values[1] == pytest.approx(truth["cycle_time_s"])


def test_truncated_row(tmp_path):
    path, _ = make_surfacelab_txt(tmp_path / "p.txt")
    path.write_text(path.read_text()[:-30])
    with pytest.raises(ReaderError, match="columns"):
        read(path)


def test_real_exports_read_with_their_channels(shared_data):
    root = shared_data("sims") / "X-LAB-UHasselt+ToFSIMS-depth-profiling-of-PSCs" / "data" / "main"
    files = sorted(root.rglob("*.txt"))
    assert len(files) == 16
    for f in files:
        da = read(f)
        header = f.read_text(encoding="latin-1").splitlines()[3].rstrip("\t").split("\t")
        assert da.sizes["species"] == len(header) - 4
        assert da.species.values[0] == "total"


def test_real_mapi_pbi3_rising_edge(shared_data):
    """sims.md §2.3: PbI3- rising edge at ≈1408 s, 16-84 % width ≈59 s."""
    path = (
        shared_data("sims")
        / "X-LAB-UHasselt+ToFSIMS-depth-profiling-of-PSCs"
        / "data"
        / "main"
        / "MAPI-stack"
        / "I241211i_C_MAPI-dev_4f-3nA_neg-B-electrode2 - NF.txt"
    )
    da = read(path)
    y = da.sel(species="^206PbI_3-, ^207PbI_3-PbI_3-").values
    t = da.sputter_time.values
    peak = int(np.argmax(y))  # the perovskite "plateau" is a peak; levels are medians of regions
    edge = measure_edge(y, upper=(peak // 2, peak // 2 + 40), lower=(peak - 2, peak + 3))
    at = np.interp(edge["scan"], np.arange(len(t)), t)
    width_s = edge["width_scans"] * np.mean(np.diff(t[1:-1]))
    assert at == pytest.approx(1408, abs=8)
    assert width_s == pytest.approx(59, rel=0.1)
