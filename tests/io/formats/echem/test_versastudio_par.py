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


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_windows_encodings(tmp_path, encoding):
    from charsuite.io import resolve_format

    src = _write(tmp_path / "plain.par")
    path = tmp_path / f"{encoding}{src.suffix}"
    path.write_bytes(src.read_bytes().decode("latin-1").encode(encoding))
    from charsuite.io.formats.echem import versastudio_par

    assert versastudio_par.can_read(
        path, path.read_bytes()[:4096]
    )  # sniffed, not just by extension
    assert resolve_format(path) == resolve_format(src)
    a, b = read(src), read(path)
    np.testing.assert_allclose(b["z_imag"].values, a["z_imag"].values)
    np.testing.assert_allclose(b["frequency"].values, a["frequency"].values)
