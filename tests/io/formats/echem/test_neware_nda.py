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


# --- .ndax container versions -------------------------------------------------------------


def _ndax(path, members):
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_unsupported_ndc_version_is_refused_with_the_version(tmp_path):
    from charsuite.exceptions import ReaderError

    path = _ndax(tmp_path / "future.ndax", {"data.ndc": bytes([1, 0, 99]) + bytes(200)})
    with pytest.raises(ReaderError, match=r"ndc version 99.*export CSV from BTSDA") as e:
        read(path)
    assert "future.ndax" in str(e.value)


def test_ndax_without_data_ndc_is_refused(tmp_path):
    from charsuite.exceptions import ReaderError

    path = _ndax(tmp_path / "odd.ndax", {"Step.xml": b"<a/>", "TestInfo.xml": b"<b/>"})
    with pytest.raises(ReaderError, match=r"no data\.ndc \(members: \['Step\.xml'"):
        read(path)


def test_unverified_version_warns_and_is_recorded(tmp_path, monkeypatch):
    import fastnda
    import pandas as pd
    from fastnda.utils import UnverifiedFormatWarning

    from charsuite.exceptions import CharsuiteWarning

    def fake_read(_path):  # fastnda decodes, but flags the version as unverified
        import warnings

        warnings.warn(
            "ndc version 1 filetype 1 has not been verified", UnverifiedFormatWarning, stacklevel=2
        )
        return pd.DataFrame(
            {"voltage_V": [3.0, 3.1], "current_mA": [1.0, 1.0], "total_time_s": [0.0, 1.0]}
        )

    monkeypatch.setattr(fastnda, "read", fake_read)
    path = _ndax(tmp_path / "v1.ndax", {"data.ndc": bytes([1, 0, 1]) + bytes(10)})
    with pytest.warns(CharsuiteWarning, match=r"v1\.ndax: fastnda decoded"):
        ds = read(path)
    assert ds.attrs["metadata"]["ndc_version"] == "1.1"
    assert "not been verified" in ds.attrs["metadata"]["format_unverified"]
