"""Golden corpus: public instrument files in tests/data/echem (listed in
tests/data/PROVENANCE.md) with the answers the files themselves carry.

Expected numbers are read from the files with pandas here, independently of the
charsuite readers; per-cycle capacities must equal the instrument's own to 1e-6.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charsuite.echem import cycle_summary
from charsuite.exceptions import CharsuiteWarning
from charsuite.io import read

DATA = Path(__file__).resolve().parents[1] / "data" / "echem"
PYPROBE = DATA / "ImperialCollegeLondon_PyProBE"
DATALAB = DATA / "datalab-org_datalab"


def _quiet(ds, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = cycle_summary(ds, **kw)
    return s, [str(w.message) for w in caught if issubclass(w.category, CharsuiteWarning)]


def test_pyprobe_arbin_charge_and_discharge_never_netted():
    """Arbin's cycle 1 holds Charge_Capacity 0.400839 mAh *and* Discharge_Capacity
    0.0204379 mAh; netting them gave a charge 5 % low and no discharge."""
    path = PYPROBE / "sample_data_arbin.csv"
    raw = pd.read_csv(path, encoding="utf-8-sig", index_col=False)
    g = raw.groupby("Cycle Index")
    want_ch = (g["Charge Capacity (Ah)"].max() * 1e3).to_dict()
    want_di = (g["Discharge Capacity (Ah)"].max() * 1e3).to_dict()
    ds = read(path)
    assert ds.attrs["format"] == "arbin-csv"
    s, notes = _quiet(ds)
    row = s.cycles[0]
    assert row["capacity_source"] == "instrument"
    assert row["charge_mAh"] == pytest.approx(want_ch[1], rel=1e-6)
    assert row["discharge_mAh"] == pytest.approx(want_di[1], rel=1e-6)
    # the current shows no discharge: the disagreement is reported, not hidden
    assert any("differ from the integrated current" in n for n in notes)


def test_datalab_arbin_bdf_equals_arbin_columns_and_the_res_file(shared_data):
    path = DATALAB / "arbin_example.bdf.csv"
    raw = pd.read_csv(path)
    g = raw.groupby("Cycle_Index")
    want_ch = (g["Charge_Capacity"].max() * 1e3).to_dict()  # Ah in the file
    want_di = (g["Discharge_Capacity"].max() * 1e3).to_dict()
    s, notes = _quiet(read(path))
    assert not notes
    for row in s.cycles:
        assert row["charge_mAh"] == pytest.approx(want_ch[row["cycle"]], rel=1e-6)
        assert row["discharge_mAh"] == pytest.approx(want_di[row["cycle"]], rel=1e-6)
    # the same run as navani's arbin_example.res (../shared/data): same per-cycle numbers
    res = shared_data("echem") / "the-grey-group_navani/Example_data/arbin_example.res"
    pytest.importorskip("access_parser")
    r, _ = _quiet(read(res))
    np.testing.assert_allclose(s.column("discharge_mAh"), r.column("discharge_mAh"), rtol=1e-9)


def test_pyprobe_novonix_step_capacities():
    path = PYPROBE / "sample_data_novonix.csv"
    lines = path.read_text(encoding="latin-1").splitlines()
    k = lines.index("[Data]") + 1
    raw = pd.read_csv(path, skiprows=k, encoding="latin-1")
    s, notes = _quiet(read(path))
    assert not notes
    # the instrument's capacity of each step (Ah), summed per cycle and direction
    step = raw["Step Number"].ne(raw["Step Number"].shift()).cumsum()
    steps = raw.groupby(step).agg(
        q=("Capacity (Ah)", "max"), i=("Current (A)", "mean"), c=("Cycle Number", "first")
    )
    charge = steps[steps.i > 0].groupby("c").q.sum() * 1e3
    discharge = steps[steps.i < 0].groupby("c").q.sum() * 1e3
    for row in s.cycles:
        assert row["capacity_source"] == "instrument"
        c = row["cycle"]
        assert row["charge_mAh"] == pytest.approx(charge.get(c), rel=1e-6)
        if c in discharge.index:
            assert row["discharge_mAh"] == pytest.approx(discharge[c], rel=1e-6)


def test_pyprobe_biologic_text_variants():
    """BT-Lab absolute-time export and an EC-Lab export without the header block."""
    stamped = read(PYPROBE / "Sample_data_biologic_timestamped.txt")
    assert stamped.attrs["format"] == "biologic-mpt"
    assert "date-time" in stamped.attrs["metadata"]["time_source"]
    assert np.all(np.diff(stamped.time.values) > 0)
    bare = read(PYPROBE / "Sample_data_biologic_no_header.mpt")
    raw = pd.read_csv(PYPROBE / "Sample_data_biologic_no_header.mpt", sep="\t", encoding="latin-1")
    np.testing.assert_allclose(bare.voltage.values, raw["Ecell/V"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(bare.time.values, raw["time/s"].to_numpy(), rtol=1e-12)


def test_pyprobe_maccor_csv():
    path = PYPROBE / "sample_data_maccor.csv"
    ds = read(path)
    assert ds.attrs["format"] == "maccor-text"
    lines = path.read_text().splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith("Rec,"))
    raw = pd.read_csv(path, skiprows=k)
    np.testing.assert_allclose(ds.voltage.values, raw["Voltage"].to_numpy(), rtol=1e-12)
