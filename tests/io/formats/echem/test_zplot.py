"""ZPlot .z (and Z60W/Autolab) reader."""

import numpy as np
import pytest

from charsuite.io import read
from charsuite.testing import ReaderContract, nan_in_text


def _write(path):
    f = np.geomspace(1e5, 1, 21)
    z = 30 + 50 / (1 + 1j * 2 * np.pi * f * 50 * 1e-5)
    lines = ["ZPLOT2 ASCII", "  Measured Data, ZPlot:       3.2c", "  Data Points:  21"]
    lines += ["  Freq(Hz)\tAmpl\tBias\tTime(Sec)\tZ'(a)\tZ''(b)\tGD\tErr\tRange", "End Comments"]
    lines += [
        f"{fk:.6E}\t1.0000E-02\t0.0000E+00\t{k:.2f}\t{zk.real:.5E}\t{zk.imag:.5E}\t0\t0\t4"
        for k, (fk, zk) in enumerate(zip(f, z))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


class TestZPlot(ReaderContract):
    format_name = "zplot"

    def make_file(self, tmp_path):
        return _write(tmp_path / "c.z")

    def make_nan_file(self, tmp_path):
        path = self.make_file(tmp_path)
        return nan_in_text(path, line=8, field=4, sep=b"\t", token=b"NaN")


@pytest.mark.shared_data
def test_real_zplot_and_autolab(shared_data):
    root = shared_data("echem") / "ECSHackWeek_impedance.py/data"
    a = read(root / "exampleDataZPlot.z")
    b = read(root / "exampleDataZPlot_noComments.z")
    assert a.sizes["frequency"] == 21 and b.sizes["frequency"] == 31
    assert a["frequency"].values[0] == pytest.approx(3e5)
    auto = read(root / "exampleDataAutolab.txt")
    assert auto.sizes["frequency"] == 41


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_windows_encodings(tmp_path, encoding):
    from charsuite.io import resolve_format

    src = _write(tmp_path / "plain.z")
    path = tmp_path / f"{encoding}{src.suffix}"
    path.write_bytes(src.read_bytes().decode("latin-1").encode(encoding))
    from charsuite.io.formats.echem import zplot

    assert zplot.can_read(path, path.read_bytes()[:4096])  # sniffed, not just by extension
    assert resolve_format(path) == resolve_format(src)
    a, b = read(src), read(path)
    np.testing.assert_allclose(b["z_imag"].values, a["z_imag"].values)
    np.testing.assert_allclose(b["frequency"].values, a["frequency"].values)
