"""Arbin CSV and .res readers; cellpy's per-cycle summary of its .res test file reproduced."""

import shutil

import numpy as np
import pytest

from charsuite.echem import cycle_summary
from charsuite.exceptions import ReaderError
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


# --- export variants seen in the wild ---------------------------------------------------
# columns: (names for Data_Point, time, cycle, step, current, voltage, charge cap, discharge
# cap), scale of current and capacities relative to A / Ah
_SPACED = (
    "Data Point",
    "Test Time (s)",
    "Cycle Index",
    "Step Index",
    "Current (A)",
    "Voltage (V)",
    "Charge Capacity (Ah)",
    "Discharge Capacity (Ah)",
)
_BEEP = (
    "Data_Point",
    "Test_Time",
    "Cycle_Index",
    "Step_Index",
    "Current",
    "Voltage",
    "Charge_Capacity",
    "Discharge_Capacity",
)
_MILLI = (
    "Data_Point",
    "Test_Time(s)",
    "Cycle_Index",
    "Step_Index",
    "Current(mA)",
    "Voltage(V)",
    "Charge_Capacity(mAh)",
    "Discharge_Capacity(mAh)",
)
_CLASSIC = (
    *_MILLI[:4],
    "Current(A)",
    "Voltage(V)",
    "Charge_Capacity(Ah)",
    "Discharge_Capacity(Ah)",
)
_AS = (*_MILLI[:4], "Current(A)", "Voltage(V)", "Charge_Capacity(As)", "Discharge_Capacity(As)")
_ARBIN_VARIANTS = {
    # MITS Pro 8 spelling (PyProBE tests/sample_data/arbin/sample_data_arbin.csv), with
    # its quoted "Date Time" column whose values start with a tab
    "mits-pro-8-spaced": dict(names=_SPACED, date_time=True),
    "beep-no-units": dict(names=_BEEP),  # TRI-AMDD/beep FastCharge_000025_CH8.csv
    "milliampere": dict(names=_MILLI, i_scale=1e3, q_scale=1e3),  # cellpy BDF mapping
    "ampere-seconds": dict(names=_AS, q_scale=3600.0),
    "semicolon-decimal-comma-bom": dict(names=_SPACED, sep=";", comma=True, enc="utf-8-sig"),
    "tab-utf16": dict(names=_SPACED, sep="\t", enc="utf-16"),
    "time-as-d.hh:mm:ss": dict(names=_CLASSIC, hms=True),
    "crlf-trailing-blank-lines": dict(names=_CLASSIC, eol="\r\n", tail="\r\n\r\n"),
}


def _write_variant(
    path,
    names,
    *,
    i_scale=1.0,
    q_scale=1.0,
    sep=",",
    comma=False,
    enc="utf-8",
    eol="\n",
    tail="",
    date_time=False,
    hms=False,
):
    arr = np.loadtxt(_write_csv(path.with_suffix(".base")), delimiter=",", skiprows=1)
    point, t, step, cyc, i, v, cc, dc = arr.T
    header = list(names)
    cols = [point, t, cyc, step, i * i_scale, v, cc * q_scale, dc * q_scale]
    fmt_rows = []
    for k in range(len(t)):
        cells = [repr(float(c[k])) for c in cols]
        if comma:
            cells = [c.replace(".", ",") for c in cells]
        if hms:  # time formatted by Excel as [d.]hh:mm:ss
            sec = int(t[k])
            cells[1] = (
                f"{sec // 86400}.{sec % 86400 // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"
            )
        if date_time:
            cells.insert(1, f'"\t09/20/2024 08:{int(t[k]) // 60:02d}:{int(t[k]) % 60:02d}.000"')
        fmt_rows.append(sep.join(cells))
    if date_time:
        header.insert(1, "Date Time")
    path.write_bytes((eol.join([sep.join(header), *fmt_rows]) + eol + tail).encode(enc))
    return path


@pytest.mark.parametrize("variant", sorted(_ARBIN_VARIANTS))
def test_export_variants_read_like_the_classic_export(tmp_path, variant):
    from charsuite.io import resolve_format

    base = read(_write_csv(tmp_path / "base.csv"))
    path = _write_variant(tmp_path / f"{variant}.csv", **_ARBIN_VARIANTS[variant])
    assert resolve_format(path) == "arbin-csv"
    ds = read(path)
    for var in ("time", "voltage", "current", "charge", "cycle", "step", "charge_capacity"):
        np.testing.assert_allclose(
            ds[var].values, base[var].values, rtol=1e-9, atol=1e-9, err_msg=var
        )


def test_unknown_capacity_unit_is_refused(tmp_path):
    names = (
        *_MILLI[:4],
        "Current(A)",
        "Voltage(V)",
        "Charge_Capacity(kAh)",
        "Discharge_Capacity(kAh)",
    )
    path = _write_variant(tmp_path / "kah.csv", names)
    with pytest.raises(ReaderError, match=r"'Charge_Capacity' has unit 'kAh'.*known: ah, mah") as e:
        read(path)
    assert "kah.csv" in str(e.value)


def test_time_only_as_date_strings(tmp_path):
    names = ("Data Point", "Cycle Index", "Step Index", "Current (A)", "Voltage (V)")
    text = _write_variant(tmp_path / "d.csv", _SPACED, date_time=True).read_text()
    lines = [ln.split(",") for ln in text.splitlines()]
    keep = [0, 1, 3, 4, 5, 6]  # drop "Test Time (s)" and the capacities
    path = tmp_path / "dates.csv"
    path.write_text("\n".join(",".join(ln[k] for k in keep) for ln in lines) + "\n")
    assert lines[0][1] == "Date Time" and all(n in lines[0] for n in names)
    ds = read(path)
    base = read(_write_csv(tmp_path / "base.csv"))
    np.testing.assert_allclose(ds["time"].values, base["time"].values)
    assert "date-time" in ds.attrs["metadata"]["time_source"]


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
