"""Arbin CSV and .res readers; cellpy's per-cycle summary of its .res test file reproduced."""

import shutil

import numpy as np
import pytest

from charsuite.echem import cycle_summary
from charsuite.io import read
from charsuite.testing import ReaderContract, inject_nan, shared_data_dir


def _write_csv(path, n=60):
    t = np.arange(n) * 30.0
    i = np.where((np.arange(n) // 15) % 2 == 0, 0.5, -0.5)  # A
    cyc = np.arange(n) // 30 + 1
    cc = np.zeros(n)
    dc = np.zeros(n)
    for k in range(1, n):
        same = cyc[k] == cyc[k - 1]
        cc[k] = (cc[k - 1] if same else 0) + max(i[k], 0) * 30 / 3600
        dc[k] = (dc[k - 1] if same else 0) + max(-i[k], 0) * 30 / 3600
    v = 3.6 + 0.001 * np.cumsum(i)
    lines = [
        "Data_Point,Test_Time(s),Step_Index,Cycle_Index,Current(A),Voltage(V),Charge_Capacity(Ah),Discharge_Capacity(Ah)"
    ]
    lines += [
        f"{k},{t[k]},{(k // 15) % 2 + 1},{cyc[k]},{i[k]},{v[k]:.6f},{cc[k]:.9f},{dc[k]:.9f}"
        for k in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


class TestArbinCSV(ReaderContract):
    format_name = "arbin-csv"

    def make_file(self, tmp_path):
        return _write_csv(tmp_path / "arbin.csv")

    def make_nan_file(self, tmp_path):
        path = _write_csv(tmp_path / "nan.csv")
        lines = path.read_text().splitlines()
        parts = lines[7].split(",")
        parts[5] = "nan"
        lines[7] = ",".join(parts)
        path.write_text("\n".join(lines))
        return path


def test_capacities_from_per_cycle_columns(tmp_path):
    path = _write_csv(tmp_path / "a.csv")
    arr = np.loadtxt(path, delimiter=",", skiprows=1)
    s = cycle_summary(read(path))
    for c in s.cycles:  # Arbin's own per-cycle maxima of Charge/Discharge_Capacity
        sel = arr[:, 3] == c["cycle"]
        assert c["charge_mAh"] == pytest.approx(arr[sel, 6].max() * 1e3, rel=1e-6)
        assert c["discharge_mAh"] == pytest.approx(arr[sel, 7].max() * 1e3, rel=1e-6)


class TestArbinRes(ReaderContract):
    format_name = "arbin-res"
    fuzz_examples = 4

    def make_file(self, tmp_path):
        pytest.importorskip("access_parser")
        src = shared_data_dir("echem") / "the-grey-group_navani/Example_data/arbin_example.res"
        return shutil.copy(src, tmp_path / "example.res")

    def make_nan_file(self, tmp_path):
        # a NaN written over one stored voltage value
        path = self.make_file(tmp_path)
        ds = read(path)
        vals = np.asarray(ds["voltage"].values, float)[3:200]
        return inject_nan(path, np.concatenate([vals, vals * 1e-3, vals * 1e3]))


def _golden(path):
    pl = pytest.importorskip("polars")
    return pl.read_parquet(path)


@pytest.mark.shared_data
def test_cellpy_arbin_res_summary(shared_data):
    pytest.importorskip("access_parser")
    root = shared_data("echem") / "jepegit_cellpy"
    gold = _golden(root / "tests/data/goldens/pipeline_smoke/summary.parquet")
    ds = read(root / "testdata/data/20160805_test001_45_cc_01.res")
    assert ds.sizes["record"] == 10261
    # cellpy: lithiation (discharge) first, CE = charge/discharge, 1 mg default mass
    s = cycle_summary(ds, first_direction="discharge", mass_g=1e-3)
    assert len(s.cycles) == gold.height == 18
    np.testing.assert_allclose(
        np.nan_to_num(s.column("charge_mAh")), gold["charge_capacity"].to_numpy() * 1e3, rtol=1e-4
    )
    np.testing.assert_allclose(
        s.column("discharge_mAh"), gold["discharge_capacity"].to_numpy() * 1e3, rtol=1e-4
    )
    ce = s.column("coulombic_efficiency_pct")[:-1]  # last cycle has no charge half
    np.testing.assert_allclose(ce, gold["coulombic_efficiency"].to_numpy()[:-1], rtol=1e-4)
    np.testing.assert_allclose(
        s.column("discharge_mAh_g"), gold["discharge_capacity_gravimetric"].to_numpy(), rtol=1e-4
    )
