"""Gamry .DTA impedance reader, including aborted runs."""

import numpy as np
import pytest

from charsuite.io import read
from charsuite.testing import ReaderContract, nan_in_text


def _write(path, aborted=False):
    f = np.geomspace(1e5, 0.1, 25)
    z = 20 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)
    lines = [
        "EXPLAIN",
        "TAG\tEISPOT",
        "TITLE\tLABEL\tPotentiostatic EIS\tTest &Identifier",
        "PSTAT\tPSTAT\tREF600-1\tPotentiostat",
        "VDC\tPOTEN\t-5.00000E-002\tT\tDC &Voltage (V)",
        "AREA\tQUANT\t5.00000E-001\t&Area (cm^2)",
        "ZCURVE\tTABLE",
        "\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tIdc\tVdc\tIERange",
        "\t#\ts\tHz\tohm\tohm\tV\tohm\t°\tA\tV\t#",
    ]
    for k, (fk, zk) in enumerate(zip(f, z)):
        lines.append(
            f"\t{k}\t{k}\t{fk:.6g}\t{zk.real:.6g}\t{zk.imag:.6g}\t1\t{abs(zk):.6g}\t"
            f"{np.degrees(np.angle(zk)):.4g}\t1E-6\t-0.05\t7"
        )
    if aborted:
        lines += ["\t25\t1.9\t-8.3E-003\t5.1E-008\t......\t..........."]
        lines += ["EXPERIMENTABORTED\tTOGGLE\tT\tExperiment Aborted"]
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    return path


class TestGamry(ReaderContract):
    format_name = "gamry-dta"

    def make_file(self, tmp_path):
        return _write(tmp_path / "eis.DTA")

    def make_nan_file(self, tmp_path):
        path = self.make_file(tmp_path)
        return nan_in_text(path, line=12, field=4, sep=b"\t", token=b"NaN")


def test_aborted_keeps_complete_rows(tmp_path):
    ds = read(_write(tmp_path / "a.DTA", aborted=True))
    assert ds.sizes["frequency"] == 25
    assert ds.attrs["metadata"]["aborted"] is True
    assert ds.attrs["metadata"]["electrode_area_cm2"] == pytest.approx(0.5)


@pytest.mark.shared_data
def test_real_gamry(shared_data):
    root = shared_data("echem") / "ECSHackWeek_impedance.py/data"
    full = read(root / "exampleDataGamry.DTA")
    ab = read(root / "exampleDataGamryABORT.DTA")
    assert full["frequency"].values[0] == pytest.approx(200015.6)
    assert full["z_real"].values[0] == pytest.approx(825.8584)
    assert full["z_imag"].values[0] == pytest.approx(-1367.239)
    assert ab.attrs["metadata"]["aborted"] is True
    assert 0 < ab.sizes["frequency"] <= full.sizes["frequency"]


def _write_curve(path, current_A):
    lines = ["EXPLAIN", "TAG\tCHRONOP", "PSTAT\tPSTAT\tIFC1010-1\tPotentiostat", "CURVE\tTABLE"]
    lines += [
        "\tPt\tT\tVf\tIm\tVu\tSig\tAch\tIERange\tOver",
        "\t#\ts\tV vs. Ref.\tA\tV\tV\tV\t#\tbits",
    ]
    for k in range(30):
        v = 3.5 + (0.01 * k if current_A > 0 else -0.01 * k)
        lines.append(f"\t{k}\t{k * 60.0}\t{v:.4f}\t{current_A:.6E}\t0\t0\t0\t7\t...........")
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    return path


def test_curve_half_cycle_files_join(tmp_path):
    from charsuite.echem import concat_runs, cycle_summary

    ch = read(_write_curve(tmp_path / "CHARGE_#1.DTA", 1e-4))
    dis = read(_write_curve(tmp_path / "DISCHARGE_#1.DTA", -1e-4))
    assert ch.attrs["metadata"]["measurement"] == "cycling"
    assert ch["current"].values[0] == pytest.approx(0.1)  # mA
    s = cycle_summary(concat_runs([ch, dis]))
    # 29 intervals of 60 s at 0.1 mA each half
    assert s.cycles[0]["charge_mAh"] == pytest.approx(29 * 60 * 0.1 / 3600)
    assert s.cycles[0]["discharge_mAh"] == pytest.approx(29 * 60 * 0.1 / 3600, rel=0.04)
