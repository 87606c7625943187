"""VersaStudio .par impedance reader."""

import numpy as np
import pytest

from charsuite.io import read
from charsuite.testing import ReaderContract, nan_in_text


def _write(path):
    f = np.geomspace(1e5, 1, 16)
    z = 50 + 100 / (1 + 1j * 2 * np.pi * f * 1e-4)
    lines = ["<Application>", "Name=VersaStudio", "Version=2.52.3.0", "</Application>", ""]
    lines += [
        "<Segment1>",
        "Type=2",
        "Definition=Segment #, Point #, E(V), Elapsed Time(s), Frequency(Hz), Z Real, Z Imag",
    ]
    lines += [
        f"0,{k},0,{k * 0.5},{fk:.6g},{zk.real:.6g},{zk.imag:.6g}"
        for k, (fk, zk) in enumerate(zip(f, z))
    ]
    lines += ["</Segment1>"]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


class TestPar(ReaderContract):
    format_name = "versastudio-par"

    def make_file(self, tmp_path):
        return _write(tmp_path / "eis.par")

    def make_nan_file(self, tmp_path):
        path = self.make_file(tmp_path)
        return nan_in_text(path, line=11, field=5, sep=b",")


@pytest.mark.shared_data
def test_real_par(shared_data):
    ds = read(shared_data("echem") / "ECSHackWeek_impedance.py/data/exampleDataVersaStudio.par")
    assert ds.attrs["format"] == "versastudio-par"
    assert ds["frequency"].values[0] == pytest.approx(1e5)
    assert ds["z_real"].values[0] == pytest.approx(55.31571)
    assert ds["z_imag"].values[0] == pytest.approx(4.575431)
