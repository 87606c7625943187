"""Maccor text exports: generated layout with known capacities, and real exports."""

import numpy as np
import pytest

from charsuite.echem import cycle_summary
from charsuite.io import read
from charsuite.testing import ReaderContract, nan_in_text


def _write(path, n_half=4, pts=10):
    lines = ["Today's Date 03/07/2018  Date of Test:\t11/02/2016\t Filename:\tC:\\x.041"]
    lines.append(
        "Rec#\tCyc#\tStep\tTest (Sec)\tStep (Sec)\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES"
    )
    lines.append("1\t0\t0\t0.0000\t0\t0.0000000000\t0\t0.0000000000\t3.700000\tR\t0")
    rec, t = 2, 0.0
    for h in range(n_half):
        state = "C" if h % 2 == 0 else "D"
        cap = 0.0
        for _k in range(pts):
            t += 36.0
            cap += 0.1 * 36.0 / 3600  # 0.1 A
            v = 3.7 + (0.01 if state == "C" else -0.01) * _k
            lines.append(
                f"{rec}\t{h // 2}\t{h + 1}\t{t:.4f}\t0\t{cap:.10f}\t0\t0.1000000000\t{v:.6f}\t{state}\t0"
            )
            rec += 1
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


class TestMaccor(ReaderContract):
    format_name = "maccor-text"

    def make_file(self, tmp_path):
        return _write(tmp_path / "run.txt")

    def make_nan_file(self, tmp_path):
        path = self.make_file(tmp_path)
        return nan_in_text(path, line=6, field=8, sep=b"\t")


def test_sign_from_state_and_capacities(tmp_path):
    ds = read(_write(tmp_path / "m.txt"))
    assert ds["current"].min() == pytest.approx(-100.0)  # mA, D rows negated
    s = cycle_summary(ds)
    for c in s.cycles:
        assert c["charge_mAh"] == pytest.approx(10.0)  # 10 × 100 mA × 36 s
        assert c["discharge_mAh"] == pytest.approx(10.0)


@pytest.mark.shared_data
def test_real_maccor_exports(shared_data):
    root = shared_data("echem")
    three = read(root / "jepegit_cellpy/examples/data/maccor_three.txt")
    assert three.sizes["record"] == 4009
    ce = cycle_summary(three).column("coulombic_efficiency_pct")
    assert np.all((ce[1:] > 95) & (ce[1:] < 100.5))
    two = read(root / "jepegit_cellpy/examples/data/maccor_two.txt")  # cut mid-line
    assert two.attrs["metadata"]["dropped_incomplete_last_line"] == 229
    diag = read(root / "TRI-AMDD_beep/beep/tests/test_files/PredictionDiagnostics_000151_test.052")
    assert float(diag["current"].min()) < 0


# --- export variants seen in the wild ---------------------------------------------------


def _csv_export(tab_text: str) -> str:
    """The same run as Maccor's comma-separated export (PyProBE sample_data_maccor.csv):
    two header lines, unit-less Current/Voltage/Capacity, signed current, no State."""
    out = ["Today's Date ,28-Nov-23", "Date of Test:,23-Nov-23 3:56:08 PM"]
    out.append("Rec,Cycle C,Step,Test Time (sec),Step Time (sec),Capacity,Energy,Current,Voltage")
    for line in tab_text.splitlines()[2:]:
        rec, cyc, step, t, st, cap, e, amps, volts, state, _es = line.split("\t")
        sign = "-" if state == "D" else ""
        out.append(",".join([rec, cyc, step, t, st, cap, e, sign + amps, volts]))
    return "\r\n".join(out) + "\r\n"


def _hms_no_day(tab_text: str) -> str:
    """TestTime as h:mm:ss.ff without the 'Nd' prefix."""
    lines = tab_text.splitlines()
    lines[1] = lines[1].replace("Test (Sec)", "TestTime")
    for k in range(2, len(lines)):
        parts = lines[k].split("\t")
        sec = float(parts[3])
        parts[3] = f"{int(sec // 3600)}:{int(sec % 3600 // 60):02d}:{sec % 60:05.2f}"
        lines[k] = "\t".join(parts)
    return "\r\n".join(lines) + "\r\n"


_MACCOR_VARIANTS = {
    "csv-export": (_csv_export, "utf-8"),
    "hms-without-days": (_hms_no_day, "latin-1"),
    "utf-8-bom": (lambda t: t, "utf-8-sig"),
    "utf-16": (lambda t: t, "utf-16"),
}


@pytest.mark.parametrize("variant", sorted(_MACCOR_VARIANTS))
def test_export_variants_read_like_the_tab_export(tmp_path, variant):
    from charsuite.io import resolve_format

    base_path = _write(tmp_path / "base.txt")
    base = read(base_path)
    change, encoding = _MACCOR_VARIANTS[variant]
    path = tmp_path / f"{variant}.txt"
    path.write_bytes(change(base_path.read_bytes().decode("latin-1")).encode(encoding))
    assert resolve_format(path) == "maccor-text"
    ds = read(path)
    for var in ("time", "voltage", "current", "charge", "cycle", "step"):
        np.testing.assert_allclose(ds[var].values, base[var].values, atol=1e-9, err_msg=var)
    if variant == "csv-export":
        assert ds.attrs["metadata"]["assumed_units"] == ["Current: A", "Voltage: V", "Capacity: Ah"]
