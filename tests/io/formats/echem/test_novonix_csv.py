"""Novonix HPC CSV reader (BEEP's short formation file and its per-cycle summary)."""

import numpy as np
import pytest

from charsuite.datasets.echem import cycler_truth, write_novonix_csv
from charsuite.echem import cycle_summary
from charsuite.io import read
from charsuite.testing import ReaderContract


class TestNovonixCsv(ReaderContract):
    format_name = "novonix-csv"

    def make_file(self, tmp_path):
        return write_novonix_csv(tmp_path / "nova.csv", cycler_truth(n_cycles=1))

    def make_nan_file(self, tmp_path):
        path = write_novonix_csv(tmp_path / "nan.csv", cycler_truth(n_cycles=1), quoted=False)
        lines = path.read_text(encoding="utf-8").splitlines()
        cells = lines[20].split(",")
        cells[6] = "nan"  # Potential (V)
        lines[20] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("quoted", [True, False])
def test_capacities_match_truth(tmp_path, signed, quoted):
    truth = cycler_truth(n_cycles=2)
    ds = read(write_novonix_csv(tmp_path / "n.csv", truth, signed=signed, quoted=quoted))
    np.testing.assert_allclose(ds.current.values, truth["current_mA"], rtol=1e-8)
    np.testing.assert_allclose(ds.time.values, truth["time_s"], atol=1e-3)
    s = cycle_summary(ds)
    np.testing.assert_allclose(s.column("charge_mAh"), truth["charge_mAh"], rtol=1e-8)
    np.testing.assert_allclose(s.column("discharge_mAh"), truth["discharge_mAh"], rtol=1e-8)
    meta = ds.attrs["metadata"]
    assert meta["active_mass_mg"] == pytest.approx(12.5)
    assert meta["electrode_area_cm2"] == pytest.approx(1.54)
    assert ("current_sign_source" in meta) is not signed


@pytest.mark.shared_data
def test_beep_novonix_formation_file(shared_data):
    """No published values: BEEP's file is cut after 3942 records (charge only), so its
    ``_metadata.csv`` summary (the full cycle 1: Qc 0.0665 Ah) cannot be reproduced; the
    reader is checked against the file itself (capacity continuing through CC→CV and
    into the next step, step types, header)."""
    root = shared_data("echem") / "TRI-AMDD_beep/beep/tests/test_files/raw"
    ds = read(root / "test_Nova_Form-CH01-01_short.csv")
    assert ds.attrs["format"] == "novonix-csv"
    assert ds.sizes["record"] == 3942
    text = (root / "test_Nova_Form-CH01-01_short.csv").read_text(encoding="utf-8")
    last = text.strip().splitlines()[-1].strip('"').split(",")
    assert ds.time.values[-1] == pytest.approx(float(last[3]) * 3600)
    # all current is charge here: the cumulative charge is the capacity column's end
    # value (Novonix keeps counting across the CC-CV and the following CC step)
    assert float(ds.charge[-1]) == pytest.approx(float(last[7]) * 1e3, rel=1e-9)
    assert set(np.unique(ds.step_type.values)) == {0, 1, 7, 8}
    # the default dead band (1 % of the 95th-percentile |I| = 0.48 mA here) covers the end
    # of the 15 h CV hold (I < 0.48 mA): that charge still counts (low-current tail), so
    # the default and no dead band give the same capacity
    s = cycle_summary(ds)
    assert s.cycles[0]["charge_mAh"] == pytest.approx(float(last[7]) * 1e3, rel=1e-6)
    s0 = cycle_summary(ds, dead_band_mA=0.0)
    assert s0.cycles[0]["charge_mAh"] == pytest.approx(s.cycles[0]["charge_mAh"], rel=1e-9)
    assert s.cycles[0]["discharge_mAh"] is None
    summary = ds.attrs["original_metadata"]["summary_file"]
    assert summary[0]["Qc"] == "0.0664822211"
    meta = ds.attrs["metadata"]
    assert meta["battery_capacity_mAh"] == pytest.approx(240.0)
    # "Mass (g): 1.000", "Area (cm2): 1.000": unedited fields, not applied
    assert "active_mass_mg" not in meta and "electrode_area_cm2" not in meta
    assert meta["placeholder_values"] == ["Mass (g): 1.000", "Area (cm2): 1.000"]
    assert s.mass_g is None
    assert meta["start_time"] == "2022-04-11T10:58:07"
