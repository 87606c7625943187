"""Maccor AC impedance export (.EDAnnnn) reader."""

import numpy as np
import pytest

from charsuite.datasets.echem import write_maccor_eis
from charsuite.echem import fit_circuit
from charsuite.io import read
from charsuite.testing import ReaderContract


class TestMaccorEis(ReaderContract):
    format_name = "maccor-eis"

    def make_file(self, tmp_path):
        return write_maccor_eis(tmp_path / "cell.EDA0001.txt")["path"]

    def make_nan_file(self, tmp_path):
        path = write_maccor_eis(tmp_path / "nan.txt")["path"]
        lines = path.read_bytes().decode("latin-1").split("\r\n")
        cells = lines[14].split("\t")
        cells[3] = "nan"
        lines[14] = "\t".join(cells)
        path.write_bytes("\r\n".join(lines).encode("latin-1"))
        return path


def test_truth_and_fit(tmp_path):
    truth = write_maccor_eis(tmp_path / "x.EDA0001.001", f_min=0.01, points_per_decade=8)
    ds = read(truth["path"])
    assert ds.attrs["format"] == "maccor-eis"
    np.testing.assert_allclose(ds.frequency.values, truth["frequency"], rtol=1e-6)
    z = ds.z_real.values + 1j * ds.z_imag.values
    np.testing.assert_allclose(z, truth["z"], atol=2e-6)
    assert ds.attrs["metadata"]["start_time"] == "2026-03-02T09:30:00"
    fit = fit_circuit(ds, circuit="R0-p(R1,CPE1)-p(R2,CPE2)")
    assert fit.parameters["R0"] == pytest.approx(truth["params"]["R0"], rel=0.01)


@pytest.mark.shared_data
def test_beep_maccor_eis_file(shared_data):
    """No published values: the reader is checked against the file's own derived
    columns (|Z| = Z-Mag, phase, C = 1/(ωZ″)), which fixes the unit (Ω) and sign."""
    root = shared_data("echem") / "TRI-AMDD_beep/beep/tests/test_files"
    ds = read(root / "maccor_test_file_4267-66-6519.EDA0001.041")
    assert ds.attrs["format"] == "maccor-eis"
    assert ds.sizes["frequency"] == 60
    z = ds.z_real.values + 1j * ds.z_imag.values
    np.testing.assert_allclose(np.abs(z), ds.z_mod.values, atol=2e-6)
    np.testing.assert_allclose(np.degrees(np.angle(z)), ds.phase.values, atol=1e-4)
    w = 2 * np.pi * ds.frequency.values
    ok = np.abs(ds.capacitance.values) > 1e-3  # the file rounds C to 1e-6 F
    np.testing.assert_allclose(1 / (w * z.imag)[ok], ds.capacitance.values[ok], rtol=2e-3)
    assert np.all(ds.z_imag.values < 0)  # capacitive over the whole sweep
    assert ds.attrs["metadata"]["start_time"] == "2016-11-02T15:58:00"
    # the cycling file of the same test is still read by maccor-text
    assert read(root / "maccor_test_file_4267-66-6519.041").attrs["format"] == "maccor-text"
