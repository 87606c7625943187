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


# --- variants seen in the wild (gamry-parser test files, bcliang/gamry-parser) ----------


def _write_cv(path, n_curves=3, restart_time=False, comma=False):
    """Cyclic voltammetry: one CURVEn table per cycle, after an OCVCURVE rest."""
    lines = [
        "EXPLAIN",
        "TAG\tCV",
        "PSTAT\tPSTAT\tREF600-1\tPotentiostat",
        "AREA\tQUANT\t5.00000E-001\t&Area (cm^2)",
        "OCVCURVE\tTABLE\t3",
        "\tPt\tT\tVf\tVm\tAch\tOver",
        "\t#\ts\tV vs. Ref.\tV\tV\tbits",
    ]
    lines += [f"\t{k}\t{k}.0\t9.9\t9.9\t0\t..........." for k in range(3)]
    t0 = 0.0
    for c in range(1, n_curves + 1):
        lines += [f"CURVE{c}\tTABLE\t10", "\tPt\tT\tVf\tIm\tVu\tSig\tAch\tIERange\tOver"]
        lines += ["\t#\ts\tV vs. Ref.\tA\tV\tV\tV\t#\tbits"]
        for k in range(10):
            t = (0.0 if restart_time else t0) + k * 0.5
            v = 3.0 + 0.1 * (k if k < 5 else 10 - k)
            lines.append(f"\t{k}\t{t}\t{v:.5E}\t{1e-4 * (c + k):.5E}\t0\t0\t0\t8\t...........")
        t0 += 5.0
    text = "\r\n".join(lines) + "\r\n"
    if comma:  # Windows with a decimal-comma locale
        text = text.replace(".", ",").replace(",,,,,,,,,,,", "...........")
    path.write_bytes(text.encode("latin-1"))
    return path


@pytest.mark.parametrize("variant", ["plain", "time-restarts", "decimal-comma"])
def test_cv_curves_are_joined_with_cycle_numbers(tmp_path, variant):
    path = _write_cv(
        tmp_path / "cv.DTA",
        restart_time=variant == "time-restarts",
        comma=variant == "decimal-comma",
    )
    ds = read(path)
    assert ds.sizes["record"] == 30  # the OCVCURVE rest is not data
    np.testing.assert_array_equal(np.unique(ds["cycle"].values), [1, 2, 3])
    np.testing.assert_allclose(ds["current"].values[[0, 10, 29]], [0.1, 0.2, 1.2])  # mA
    assert ds["voltage"].values[4] == pytest.approx(3.4)
    assert np.all(np.diff(ds["time"].values) >= 0)
    assert ds["time"].values[-1] == pytest.approx(14.5 if variant != "time-restarts" else 13.5)
    meta = ds.attrs["metadata"]
    assert meta["decimal_comma"] is (variant == "decimal-comma")
    assert meta["electrode_area_cm2"] == pytest.approx(0.5)
    assert meta.get("time_shifted_curves") == ([2, 3] if variant == "time-restarts" else None)


def test_decimal_comma_impedance(tmp_path):
    base = read(_write(tmp_path / "a.DTA"))
    text = _write(tmp_path / "b.DTA").read_bytes().decode("latin-1").replace(".", ",")
    path = tmp_path / "comma.DTA"
    path.write_bytes(text.encode("latin-1"))
    ds = read(path)
    np.testing.assert_allclose(ds["z_real"].values, base["z_real"].values)
    np.testing.assert_allclose(ds["frequency"].values, base["frequency"].values)
    assert ds.attrs["metadata"]["dc_voltage_V"] == pytest.approx(-0.05)


def test_capacity_summary_only_is_refused(tmp_path):
    from charsuite.exceptions import ReaderError

    lines = ["EXPLAIN", "TAG\tPWR800_CYCLICCHARGEDISCHARGE", "CAPACITYCURVE\tTABLE"]
    lines += ["\tPt\tTime\tType\tCycle\tCharge", "\t#\ts\t#\t#\tC", "\t1\t3493\t0\t1\t4362.1"]
    path = tmp_path / "ccd.DTA"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    with pytest.raises(ReaderError, match=r"tables found: \['CAPACITYCURVE'\].*CHARGE/DISCHARGE"):
        read(path)
