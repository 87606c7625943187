"""EC-Lab .mpt reader: contract on a synthetic export, real files from ../shared/data."""

import numpy as np
import pytest

from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

_COLS = ["mode", "time/s", "Ewe/V", "I/mA", "(Q-Qo)/mA.h", "cycle number", "Ns"]


def _write(path, n=40, comma=False):
    t = np.arange(n) * 10.0
    i = np.where((np.arange(n) // 10) % 2 == 0, 0.1, -0.1)
    q = np.cumsum(i * 10.0) / 3600
    v = 3.5 + np.cumsum(i) * 0.01
    header = [
        "EC-Lab ASCII FILE",
        "Nb header lines : 7",
        "",
        "Galvanostatic Cycling with Potential Limitation",
        "Mass of active material : 1.250 mg",
        "Electrode surface area : 0.500 cm\xb2",
        "\t".join(_COLS),
    ]
    rows = [
        "\t".join(
            [
                "1",
                f"{t[k]:.4f}",
                f"{v[k]:.6f}",
                f"{i[k]:.6f}",
                f"{q[k]:.9f}",
                str(k // 20),
                str((k // 10) % 2 + 1),
            ]
        )
        for k in range(n)
    ]
    text = "\r\n".join(header + rows) + "\r\n"
    if comma:
        text = text.replace(".", ",")
    path.write_bytes(text.encode("latin-1"))
    return path


class TestMPT(ReaderContract):
    format_name = "biologic-mpt"

    def make_file(self, tmp_path):
        return _write(tmp_path / "run.mpt")

    def make_nan_file(self, tmp_path):
        path = _write(tmp_path / "nan.mpt")
        lines = path.read_bytes().split(b"\r\n")
        parts = lines[10].split(b"\t")
        parts[2] = b"nan"
        lines[10] = b"\t".join(parts)
        path.write_bytes(b"\r\n".join(lines))
        return path


def test_metadata_and_decimal_comma(tmp_path):
    a = read(_write(tmp_path / "a.mpt"))
    b = read(_write(tmp_path / "b.mpt", comma=True))
    assert a.attrs["metadata"]["active_mass_mg"] == pytest.approx(1.25)
    assert a.attrs["metadata"]["electrode_area_cm2"] == pytest.approx(0.5)
    assert b.attrs["metadata"]["decimal_comma"] is True
    np.testing.assert_allclose(a["voltage"].values, b["voltage"].values)


def test_missing_current_column(tmp_path):
    path = _write(tmp_path / "x.mpt")
    path.write_bytes(path.read_bytes().replace(b"I/mA", b"foo/mA"))
    with pytest.raises(ReaderError, match="I/mA"):
        read(path)


@pytest.mark.shared_data
def test_real_files_read(shared_data):
    root = shared_data("echem")
    gcpl = read(root / "dgbowl_yadg/tests/test_x_eclab/gcpl.issue_211.mpt")
    assert gcpl.sizes["record"] == 2767
    assert gcpl.attrs["metadata"]["active_mass_mg"] == pytest.approx(0.790)
    de = read(root / "dgbowl_yadg/tests/test_x_eclab/gcpl.issue_149.mpt")
    assert de.attrs["metadata"]["decimal_comma"] is True
    eis = read(root / "ECSHackWeek_impedance.py/data/exampleDataBioLogic.mpt")
    assert eis.sizes["frequency"] == 43
    assert eis["frequency"].values[0] == pytest.approx(1000.3201)
    # file stores -Im(Z); charsuite keeps signed Z''
    assert eis["z_imag"].values[0] == pytest.approx(-0.38998979)
    with pytest.raises(ReaderError, match="column name is missing"):
        read(root / "ECSHackWeek_impedance.py/data/exampleDataBioLogic_MissingFreq.mpt")
