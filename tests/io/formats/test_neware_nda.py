"""Neware .nda/.ndax through fastnda."""

import shutil

import numpy as np
import pytest

from charsuite.io import read
from charsuite.testing import ReaderContract, shared_data_dir

pytest.importorskip("fastnda", reason="fastnda reads Neware binaries")


class TestNDA(ReaderContract):
    format_name = "neware-nda"
    fuzz_examples = 8

    def make_file(self, tmp_path):
        src = shared_data_dir("echem") / "the-grey-group_navani/Example_data/test.nda"
        return shutil.copy(src, tmp_path / "test.nda")

    nan_not_representable = (
        "Neware .nda stores voltage, current and capacity as scaled integers: no NaN can be written"
    )


@pytest.mark.shared_data
def test_nda_and_ndax(shared_data):
    root = shared_data("echem") / "the-grey-group_navani/Example_data"
    for name in ("test.nda", "test.ndax"):
        ds = read(root / name)
        assert ds.sizes["record"] > 0
        # rebuilt cumulative charge equals the integral of the current to 1 %
        q = ds["charge"].values
        i, t = ds["current"].values, ds["time"].values
        integral = np.concatenate([[0], np.cumsum(i[1:] * np.diff(t))]) / 3600
        assert q[-1] == pytest.approx(integral[-1], rel=0.05, abs=1e-4)
