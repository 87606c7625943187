"""EC-Lab .mpr reader (galvani): matched mpr/mpt pairs and the EC-Lab ≥ 11.50 layout."""

import shutil

import numpy as np
import pytest

from charsuite.io import read
from charsuite.testing import ReaderContract, inject_nan, shared_data_dir

pytest.importorskip("galvani", reason="galvani (optional, GPL) reads .mpr")

_PAIRS = ("gcpl.issue_211", "gcpl.issue_149", "cp", "mb.issue_95", "peis", "geis.issue_149")


class TestMPR(ReaderContract):
    format_name = "biologic-mpr"
    fuzz_examples = 10

    def make_file(self, tmp_path):
        src = shared_data_dir("echem") / "dgbowl_yadg/tests/test_x_eclab/mb.issue_95.mpr"
        return shutil.copy(src, tmp_path / "mb.mpr")

    def make_nan_file(self, tmp_path):
        # a NaN written over one stored voltage value
        path = self.make_file(tmp_path)
        ds = read(path)
        vals = np.asarray(ds["voltage"].values, float)[3:200]
        return inject_nan(path, np.concatenate([vals, vals * 1e-3, vals * 1e3]))


@pytest.mark.shared_data
@pytest.mark.parametrize("name", _PAIRS)
def test_mpr_equals_vendor_text_export(shared_data, name):
    root = shared_data("echem") / "dgbowl_yadg/tests/test_x_eclab"
    mpr, mpt = read(root / f"{name}.mpr"), read(root / f"{name}.mpt")
    dim = "frequency" if "frequency" in mpt.dims else "record"
    assert mpr.sizes[dim] == mpt.sizes[dim]
    keys = ("z_real", "z_imag") if dim == "frequency" else ("voltage", "charge")
    for key in keys:
        np.testing.assert_allclose(mpr[key].values, mpt[key].values, rtol=1e-5, atol=1e-9)


@pytest.mark.shared_data
def test_new_layout_files_load(shared_data):
    root = shared_data("echem") / "the-grey-group_navani/Example_data"
    for name in (
        "00_test_01_OCV_C01",
        "00_test_02_OCV_C01",
        "00_test_02_MB_C01",
        "00_test_04_MB_C01",
    ):
        ds = read(root / f"{name}.mpr")
        assert ds.sizes["record"] > 0
