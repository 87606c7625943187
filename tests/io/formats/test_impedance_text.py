"""Generic impedance text/CSV reader: sign conventions, headers, real files."""

import numpy as np
import pytest

from charsuite.datasets.echem import two_arc_impedance
from charsuite.io import read
from charsuite.testing import ReaderContract

_P = dict(R0=10.0, R1=50.0, Q1=1e-6, a1=0.9, R2=80.0, Q2=1e-3, a2=0.8)


def _write(path, *, header=None, negate=False, sep=","):
    f = np.geomspace(1e5, 0.1, 36)
    z = two_arc_impedance(f, _P)
    zi = -z.imag if negate else z.imag
    lines = [] if header is None else [header]
    lines += [sep.join(f"{v:.10g}" for v in row) for row in zip(f, z.real, zi)]
    path.write_text("\n".join(lines) + "\n")
    return path, f, z


class TestImpedanceText(ReaderContract):
    format_name = "impedance-text"

    def make_file(self, tmp_path):
        return _write(tmp_path / "spectrum.csv")[0]

    def make_nan_file(self, tmp_path):
        path = _write(tmp_path / "nan.csv")[0]
        lines = path.read_text().splitlines()
        lines[8] = "100.0,nan,-3.0"
        path.write_text("\n".join(lines))
        return path


@pytest.mark.parametrize(
    ("header", "negate", "expected"),
    [
        (None, False, "Z''"),
        (None, True, "-Z''"),
        ("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm", True, "-Z'' (from header)"),
        ("Frequency (Hz)\tZ' (Ohm)\tZ'' (Ohm)", False, "Z'' (from header)"),
    ],
)
def test_sign_conventions(tmp_path, header, negate, expected):
    sep = "\t" if header and "\t" in header else ","
    path, f, z = _write(tmp_path / "s.txt", header=header, negate=negate, sep=sep)
    ds = read(path, format="impedance-text")
    assert ds.attrs["metadata"]["z_imag_in_file"].startswith(expected)
    np.testing.assert_allclose(ds["z_imag"].values, z.imag, rtol=1e-8)
    np.testing.assert_allclose(ds["frequency"].values, f, rtol=1e-9)


@pytest.mark.shared_data
def test_real_vendor_exports(shared_data):
    root = shared_data("echem") / "ECSHackWeek_impedance.py/data"
    csv = read(root / "exampleData.csv")
    assert csv.attrs["format"] == "impedance-text"
    assert csv.sizes["frequency"] == 66
    arr = np.loadtxt(root / "exampleData.csv", delimiter=",")
    np.testing.assert_allclose(csv["z_imag"].values, arr[:, 2])
    chi = read(root / "exampleDataCHInstruments.txt")
    assert chi["frequency"].values[0] == pytest.approx(9.961e4)
    parstat = read(root / "exampleDataParstat.txt")
    assert parstat.attrs["metadata"]["dc_rows_dropped"] > 0
    assert np.all(parstat["frequency"].values > 0)
    drt = read(shared_data("echem") / "ciuccislab_pyDRTtools/tutorial/data/2ZARC1.csv")
    assert drt.sizes["frequency"] == 81


def test_milliohm_header_converted(tmp_path):
    path, _, z = _write(tmp_path / "m.csv", header="freq (Hz),Z' (mOhm),Z'' (mOhm)")
    ds = read(path, format="impedance-text")
    np.testing.assert_allclose(ds["z_real"].values, z.real * 1e-3, rtol=1e-8)
    assert ds.attrs["metadata"]["impedance_scale_to_ohm"] == 1e-3
