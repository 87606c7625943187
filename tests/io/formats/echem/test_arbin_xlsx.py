"""Arbin MITS Pro Excel reader; navani's published numbers for its example workbook."""

import numpy as np
import pytest

from charsuite.datasets.echem import cycler_truth, write_arbin_xlsx, write_xlsx
from charsuite.echem import cycle_summary, dqdv, segment
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

NAVANI_XLSX = (
    "the-grey-group_navani/Example_data/bs542_004_gr_li_50ua_50mv_1v_191020_Channel_11.xlsx"
)


class TestArbinXlsx(ReaderContract):
    format_name = "arbin-xlsx"
    fuzz_examples = 15

    def make_file(self, tmp_path):
        return write_arbin_xlsx(tmp_path / "run_Channel_5.xlsx", cycler_truth(n_cycles=1))

    def make_nan_file(self, tmp_path):
        header = ["Data_Point", "Test_Time(s)", "Cycle_Index", "Voltage(V)", "Current(A)"]
        rows = [[k + 1, 10.0 * k, 1, 3.5 + 0.01 * k, 1e-3] for k in range(10)]
        rows[4][3] = ""  # an empty voltage cell
        return write_xlsx(tmp_path / "nan.xlsx", {"Channel_2_1": [header, *rows]})


def test_capacities_and_units_match_truth(tmp_path):
    truth = cycler_truth(n_cycles=3)
    ds = read(write_arbin_xlsx(tmp_path / "a.xlsx", truth))
    assert ds.sizes["record"] == truth["time_s"].size
    np.testing.assert_allclose(ds.current.values, truth["current_mA"], rtol=1e-12)
    np.testing.assert_allclose(ds.time.values, truth["time_s"])
    s = cycle_summary(ds)
    np.testing.assert_allclose(s.column("charge_mAh"), truth["charge_mAh"], rtol=1e-9)
    np.testing.assert_allclose(s.column("discharge_mAh"), truth["discharge_mAh"], rtol=1e-9)
    meta = ds.attrs["metadata"]
    assert meta["channel"] == 5 and meta["software"] == "PV7.0 Build: test"
    assert ds.attrs["original_metadata"]["global_info"]["Schedule File Name"] == "cccv_test.sdu"


def test_rows_continued_over_several_sheets(tmp_path):
    truth = cycler_truth(n_cycles=2)
    one = read(write_arbin_xlsx(tmp_path / "one.xlsx", truth))
    split = read(write_arbin_xlsx(tmp_path / "split.xlsx", truth, rows_per_sheet=25))
    assert len([s for s in split.attrs["original_metadata"]["sheets"] if "Channel" in s]) == 3
    np.testing.assert_array_equal(one.charge.values, split.charge.values)


def test_several_channels_need_a_choice(tmp_path):
    truth = cycler_truth(n_cycles=1)
    a = write_arbin_xlsx(tmp_path / "a.xlsx", truth, channel=3)
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(a)).get_sheet_by_name("Channel_3_1").to_python()
    both = write_xlsx(tmp_path / "both.xlsx", {"Channel_3_1": rows, "Channel_4_1": rows[:10]})
    with pytest.raises(ReaderError, match="channel="):
        read(both)
    assert read(both, channel=4).sizes["record"] == 9
    with pytest.raises(ReaderError, match="not in the workbook"):
        read(both, channel=9)


def test_other_workbooks_not_claimed(tmp_path):
    from charsuite.io.formats.echem import arbin_xlsx

    other = write_xlsx(tmp_path / "lab.xlsx", {"Sheet1": [["Voltage(V)", "Current(A)"], [1, 2]]})
    assert not arbin_xlsx.can_read(other, other.read_bytes()[:4096])
    with pytest.raises(ReaderError, match="no Channel_<n>_<k> data sheet"):
        read(other)  # only reader of .xlsx by extension: a clear refusal


@pytest.mark.shared_data
def test_navani_example_workbook(shared_data):
    """navani tests/test_echem.py: shape (4526, 22); summary means; dQ/dV of half cycle 1.

    navani numbers its half cycles by current sign (rests belong to the half cycle before
    them), a full cycle = half cycles 2k−1, 2k, graphite vs Li starts with the discharge,
    and its CE is charge/discharge: charsuite's ``first_direction="discharge"``,
    ``cycles="current"``. navani keeps a 3-record charge at the very end (0.0046 mAh), so
    ``min_half_cycle_fraction=0`` (charsuite would otherwise call that run rest).
    """
    ds = read(shared_data("echem") / NAVANI_XLSX)
    assert ds.attrs["format"] == "arbin-xlsx"
    assert ds.sizes["record"] == 4526
    s = cycle_summary(ds, first_direction="discharge", cycles="current", min_half_cycle_fraction=0)
    # navani: Discharge Capacity 0.005527 Ah, Charge Capacity 0.002851 Ah (means over
    # full cycles), CE 0.491820; PROVENANCE.md: 5.52742 / 2.85135 mAh
    assert np.nanmean(s.column("discharge_mAh")) == pytest.approx(5.52742, rel=2e-5)
    assert np.nanmean(s.column("charge_mAh")) == pytest.approx(2.85135, rel=2e-5)
    ce = np.nanmean(s.column("coulombic_efficiency_pct")) / 100
    assert ce == pytest.approx(0.491820, abs=2e-6)
    # Arbin's own totals: the one Arbin cycle's final Charge/Discharge_Capacity
    assert np.nansum(s.column("charge_mAh")) == pytest.approx(
        float(ds.charge_capacity.max()), rel=1e-6
    )
    assert np.nansum(s.column("discharge_mAh")) == pytest.approx(
        float(ds.discharge_capacity.max()), rel=1e-6
    )
    # UCV/LCV: navani's per-full-cycle max/min voltage, rests included (the leading rest is
    # full cycle 0): half-cycle labels from charsuite.echem.segment, rests forward-filled
    seg = segment(ds, first_direction="discharge", cycles="current", min_half_cycle_fraction=0)
    half = seg.half_cycle.values
    filled = np.maximum.accumulate(np.where(half >= 0, half + 1, 0))
    full = np.ceil(filled / 2)
    v = ds.voltage.values
    ucv = np.mean([v[full == f].max() for f in np.unique(full)])
    lcv = np.mean([v[full == f].min() for f in np.unique(full)])
    assert ucv == pytest.approx(2.084951, abs=2e-6)
    assert lcv == pytest.approx(0.912430, abs=2e-6)
    current_a = np.mean([ds.current.values[full == f].mean() for f in np.unique(full)]) * 1e-3
    assert current_a == pytest.approx(-0.00001827, abs=1e-8)
    # dQ/dV of half cycle 1 (the first discharge): navani's grid spans the half cycle's
    # voltage range (mean V = mid-range, 1.33431 V) and its mean dQ/dV is ΔQ/ΔV
    # (−0.002258 Ah/V per PROVENANCE.md)
    on = filled == 1
    mid = 0.5 * (v[on].max() + v[on].min())
    assert mid == pytest.approx(1.33431, abs=5e-5)
    d = dqdv(ds, cycle=1, direction="discharge", first_direction="discharge", cycles="current")
    mean_dqdv = -d.integral_mAh / (v[on].max() - v[on].min())
    assert mean_dqdv == pytest.approx(-2.258, rel=1e-3)


def test_time_from_date_text_when_no_test_time(tmp_path):
    header = ["Data_Point", "Date_Time", "Cycle_Index", "Voltage(V)", "Current(A)"]
    rows = [
        [k + 1, f"09/20/2024 08:{k // 2:02d}:{30 * (k % 2):02d}", 1, 3.5 + 0.01 * k, 1e-3]
        for k in range(12)
    ]
    ds = read(write_xlsx(tmp_path / "d.xlsx", {"Channel_1_1": [header, *rows]}))
    np.testing.assert_allclose(ds.time.values, 30.0 * np.arange(12))
    assert "Date_Time" in ds.attrs["metadata"]["time_source"]
