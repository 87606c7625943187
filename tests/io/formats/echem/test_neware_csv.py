"""Neware BTSDA record CSV reader; cellpy's neware_uio.csv golden and Neware's own step sums."""

import numpy as np
import pytest

from charsuite.datasets.echem import cycler_truth, write_neware_csv
from charsuite.echem import cycle_summary
from charsuite.io import read
from charsuite.testing import ReaderContract


class TestNewareCsv(ReaderContract):
    format_name = "neware-csv"

    def make_file(self, tmp_path):
        return write_neware_csv(tmp_path / "neware.csv", cycler_truth(n_cycles=1))

    def make_nan_file(self, tmp_path):
        path = write_neware_csv(tmp_path / "nan.csv", cycler_truth(n_cycles=1))
        lines = path.read_text().splitlines()
        cells = lines[6].split(",")
        cells[7] = "nan"  # Voltage(V)
        lines[6] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
        return path


def test_capacities_mass_and_time_match_truth(tmp_path):
    truth = cycler_truth(n_cycles=3)
    ds = read(write_neware_csv(tmp_path / "n.csv", truth, mass_mg=2.5))
    np.testing.assert_allclose(ds.time.values, truth["time_s"])
    np.testing.assert_allclose(ds.current.values, truth["current_mA"], rtol=1e-6)
    s = cycle_summary(ds)
    np.testing.assert_allclose(s.column("charge_mAh"), truth["charge_mAh"], rtol=1e-7)
    np.testing.assert_allclose(s.column("discharge_mAh"), truth["discharge_mAh"], rtol=1e-7)
    assert ds.attrs["metadata"]["active_mass_mg"] == pytest.approx(2.5, rel=1e-4)
    assert s.mass_g == pytest.approx(2.5e-3, rel=1e-4)  # used by cycle_summary


def test_unsigned_current_signed_by_step_type(tmp_path):
    truth = cycler_truth(n_cycles=1)
    path = write_neware_csv(tmp_path / "n.csv", truth)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[0:1] + [ln.replace(",-0.", ",0.") for ln in lines[1:]]))
    ds = read(path)
    assert "current_sign_source" in ds.attrs["metadata"]
    np.testing.assert_allclose(ds.current.values, truth["current_mA"], rtol=1e-6)


def test_milliampere_export_and_date_time(tmp_path):
    """BTSDA 7 spellings: Cycle ID / Step ID / Status, mA and mAh, Realtime only."""
    truth = cycler_truth(n_cycles=1)
    rows = [
        "Record ID,Realtime,Cycle ID,Step ID,Status,Current(mA),Voltage(V),"
        "Capacitance_Chg(mAh),Capacitance_DChg(mAh)"
    ]
    for k in range(truth["time_s"].size):
        i = truth["current_mA"][k]
        cap = truth["step_cap_mAh"][k]
        t = int(truth["time_s"][k])
        rows.append(
            f"{k + 1},2026-03-02 {9 + t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d},"
            f"{truth['cycle'][k]},{truth['step'][k]},x,{i:.6f},{truth['voltage_V'][k]},"
            f"{cap if i > 0 else 0},{cap if i < 0 else 0}"
        )
    path = tmp_path / "bts7.csv"
    path.write_text("\n".join(rows) + "\n")
    ds = read(path)
    assert ds.attrs["format"] == "neware-csv"
    np.testing.assert_allclose(ds.time.values, truth["time_s"] - truth["time_s"][0])
    s = cycle_summary(ds)
    assert s.cycles[0]["charge_mAh"] == pytest.approx(truth["charge_mAh"][0], rel=1e-9)


@pytest.mark.shared_data
def test_cellpy_neware_uio(shared_data):
    """cellpy golden loader_neware_txt: 9065 rows (its 27 columns are cellpy's own set).

    Per-cycle capacities equal Neware's own: the sum over the cycle's steps of each
    step's final Chg. Cap. / DChg. Cap. (parsed here independently with numpy).
    """
    path = shared_data("echem") / "jepegit_cellpy/testdata/data/neware_uio.csv"
    ds = read(path)
    assert ds.attrs["format"] == "neware-csv"
    assert ds.sizes["record"] == 9065
    raw = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=(1, 2, 10, 12), dtype=float)
    cyc, step, chg, dchg = raw.T
    s = cycle_summary(ds)
    for row in s.cycles:
        steps = np.unique(step[cyc == row["cycle"]])
        q_ch = sum(chg[(cyc == row["cycle"]) & (step == st)][-1] for st in steps) * 1e3
        q_di = sum(dchg[(cyc == row["cycle"]) & (step == st)][-1] for st in steps) * 1e3
        assert row["charge_mAh"] == pytest.approx(q_ch, rel=1e-6)
        assert row["discharge_mAh"] == pytest.approx(q_di, rel=1e-6)
    # the active mass entered in BTS, recovered from Capacity / Spec. Cap.
    assert ds.attrs["metadata"]["active_mass_mg"] == pytest.approx(2.08, rel=1e-3)
    assert ds.time.values[-1] == pytest.approx(144 * 3600 + 2 * 60 + 18)


def test_tab_separated_txt_with_preamble(tmp_path):
    """BTSDA .txt: a few preamble lines, tab separator, latin-1 (cellpy neware_txt 'one')."""
    truth = cycler_truth(n_cycles=2)
    csv = write_neware_csv(tmp_path / "n.csv", truth).read_text().splitlines()
    preamble = ["Neware BTS export", "Barcode:\tX1", "Remarks:\t±5 °C", ""]
    path = tmp_path / "neware.txt"
    path.write_bytes(
        "\r\n".join(preamble + [ln.replace(",", "\t") for ln in csv]).encode("latin-1")
    )
    ds = read(path)
    assert ds.attrs["format"] == "neware-csv"
    assert ds.attrs["original_metadata"]["preamble"][1] == "Barcode:\tX1"
    s = cycle_summary(ds)
    np.testing.assert_allclose(s.column("charge_mAh"), truth["charge_mAh"], rtol=1e-7)


def test_regular_export_three_layers(tmp_path):
    """BTSDA "regular export" (cycle/step/record rows nested): the record layer with the
    cycle and step of each record; per-cycle capacities equal the cycle rows' own."""
    from charsuite.datasets.echem import write_neware_regular_csv

    truth = cycler_truth(n_cycles=3)
    path = write_neware_regular_csv(tmp_path / "regular.csv", truth)
    ds = read(path)
    assert ds.attrs["format"] == "neware-csv"
    assert ds.attrs["metadata"]["layout"].startswith("regular export")
    assert ds.sizes["record"] == truth["time_s"].size
    np.testing.assert_allclose(ds.current.values, truth["current_mA"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ds.time.values, truth["time_s"] - truth["time_s"][0], atol=1e-3)
    s = cycle_summary(ds)
    assert s.cycles[0]["capacity_source"] == "instrument"
    rows = [ln.split(",") for ln in path.read_text().splitlines()[3:] if ln[0] != ","]
    own_ch = [float(r[1]) for r in rows]
    own_di = [float(r[2]) for r in rows]
    np.testing.assert_allclose(s.column("charge_mAh"), own_ch, rtol=1e-6)
    np.testing.assert_allclose(s.column("discharge_mAh"), own_di, rtol=1e-6)
