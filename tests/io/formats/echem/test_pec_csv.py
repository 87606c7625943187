"""PEC CSV reader (cellpy's Test25205.csv: an idle/OCV record of an NMC cell)."""

import numpy as np
import pytest

from charsuite.datasets.echem import cycler_truth, write_pec_csv
from charsuite.echem import cycle_summary
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract


class TestPecCsv(ReaderContract):
    format_name = "pec-csv"

    def make_file(self, tmp_path):
        return write_pec_csv(tmp_path / "Test4711.csv", cycler_truth(n_cycles=1))

    def make_nan_file(self, tmp_path):
        path = write_pec_csv(tmp_path / "nan.csv", cycler_truth(n_cycles=1))
        lines = path.read_text().splitlines()
        cells = lines[16].split(",")
        cells[12] = "nan"  # Voltage (V)
        lines[16] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
        return path


def test_capacities_and_header_match_truth(tmp_path):
    truth = cycler_truth(n_cycles=3)
    ds = read(write_pec_csv(tmp_path / "p.csv", truth))
    np.testing.assert_allclose(ds.time.values, truth["time_s"])
    s = cycle_summary(ds)
    np.testing.assert_allclose(s.column("charge_mAh"), truth["charge_mAh"], rtol=1e-7)
    np.testing.assert_allclose(s.column("discharge_mAh"), truth["discharge_mAh"], rtol=1e-7)
    meta = ds.attrs["metadata"]
    assert meta["battery_capacity_mAh"] == 20.0
    assert meta["start_time"] == "2026-03-02T09:30:00"
    assert ds.attrs["original_metadata"]["header"]["TestRegime Name"] == "CCCV generic"
    assert "Check 1" not in ds.attrs["original_metadata"]["header"]  # RESULTS CHECK block


def test_several_cells_need_a_choice(tmp_path):
    truth = cycler_truth(n_cycles=1)
    path = write_pec_csv(tmp_path / "multi.csv", truth, cells=2)
    with pytest.raises(ReaderError, match="cell="):
        read(path)
    two = read(path, cell=2)
    np.testing.assert_allclose(two.current.values, 2 * truth["current_mA"], rtol=1e-7)
    s = cycle_summary(two)
    assert s.cycles[0]["charge_mAh"] == pytest.approx(2 * truth["charge_mAh"][0], rel=1e-7)
    assert read(path, cell="4711/1").sizes["record"] == truth["time_s"].size


@pytest.mark.shared_data
def test_cellpy_pec_file(shared_data):
    """No published answer: checked against the file's own header and last row."""
    path = shared_data("echem") / "jepegit_cellpy/testdata/data/pec_multiple_tests/Test25205.csv"
    ds = read(path)
    assert ds.attrs["format"] == "pec-csv"
    lines = path.read_text(encoding="latin-1").splitlines()
    k0 = next(k for k, ln in enumerate(lines) if ln.startswith("Test,Cell,"))
    assert ds.sizes["record"] == len([ln for ln in lines[k0 + 1 :] if ln.strip()])
    last = lines[-1].split(",")
    assert ds.time.values[-1] == pytest.approx(19 * 3600 + 41 * 60 + 58.980)  # 19:41:58.980
    assert ds.voltage.values[-1] == pytest.approx(float(last[16]))
    assert float(ds.charge_capacity[-1]) == pytest.approx(float(last[18]))
    meta = ds.attrs["metadata"]
    assert meta["battery_capacity_mAh"] == 1500.0  # TestRegime CellSize
    assert meta["start_time"] == "2026-01-08T17:40:39"
    assert set(np.unique(ds.step_name.values)) == {"Idle"}  # an OCV record: no cycling


def test_milli_units_and_decimal_hours(tmp_path):
    truth = cycler_truth(n_cycles=2)
    path = write_pec_csv(tmp_path / "p.csv", truth)
    lines = path.read_text().splitlines()
    k0 = next(k for k, ln in enumerate(lines) if ln.startswith("Test,Cell,"))
    head = lines[k0].replace("(Hours in hh:mm:ss.xxx)", "(Decimal Hours)")
    lines[k0] = head.replace("Voltage (V)", "Voltage (mV)").replace("Current (A)", "Current (mA)")
    for k in range(k0 + 1, len(lines)):
        c = lines[k].split(",")
        c[9] = repr(float(truth["time_s"][k - k0 - 1]) / 3600)
        c[12] = repr(float(c[12]) * 1e3)
        c[13] = repr(float(c[13]) * 1e3)
        lines[k] = ",".join(c)
    path.write_text("\n".join(lines) + "\n")
    ds = read(path)
    np.testing.assert_allclose(ds.time.values, truth["time_s"], rtol=1e-12)
    np.testing.assert_allclose(ds.voltage.values, truth["voltage_V"], rtol=1e-9)
    np.testing.assert_allclose(ds.current.values, truth["current_mA"], rtol=1e-7)
    s = cycle_summary(ds)
    np.testing.assert_allclose(s.column("discharge_mAh"), truth["discharge_mAh"], rtol=1e-7)


def test_unknown_unit_is_named(tmp_path):
    path = write_pec_csv(tmp_path / "p.csv", cycler_truth(n_cycles=1))
    path.write_text(path.read_text().replace("Current (A)", "Current (kA)"))
    with pytest.raises(ReaderError, match=r"Current \(kA\)"):
        read(path)
