"""EC-Lab .mpr reader (charsuite's own decoder): matched mpr/mpt pairs, the EC-Lab ≥ 11.50
layout, unknown column IDs."""

import shutil

import numpy as np
import pytest

from charsuite.io import read
from charsuite.testing import ReaderContract, inject_nan, shared_data_dir

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


def _mpt_columns(path):
    """EC-Lab's text export parsed here (name → floats), independently of charsuite."""
    lines = path.read_text(encoding="latin-1").splitlines()
    n = int(lines[1].split(":")[1])
    cols = lines[n - 1].rstrip("\t").split("\t")
    rows = [ln.rstrip("\t").split("\t") for ln in lines[n:] if ln.strip()]
    out = {}
    for k, name in enumerate(cols):
        vals = [r[k].replace(",", ".") if k < len(r) else "nan" for r in rows]
        try:
            out[name] = np.array(vals, dtype=float)
        except ValueError:
            continue
    return out


@pytest.mark.shared_data
@pytest.mark.parametrize("name", _PAIRS)
def test_every_mpr_column_equals_the_mpt_column(shared_data, name):
    """Each column decoded from the binary equals EC-Lab's text rendering of it."""
    from pathlib import Path

    from charsuite.io.formats.echem.eclab_binary import decode

    root = shared_data("echem") / "dgbowl_yadg/tests/test_x_eclab"
    values, facts = decode(Path(name), (root / f"{name}.mpr").read_bytes(), fmt="t")
    text = _mpt_columns(root / f"{name}.mpt")
    common = [c for c in values if c in text]
    assert len(common) >= 0.6 * len(values), (sorted(values), sorted(text))
    for col in common:
        keep = np.ones(text[col].size, bool)
        if col.startswith(("THD", "NSD", "NSR", "|Ewe h", "|I h", "|Ece h")):
            # EC-Lab's text export blanks the quality indicators (-1 or 0) at the first
            # points of each sweep although the binary holds values there
            keep = (text[col] != -1) & (text[col] != 0)
        np.testing.assert_allclose(
            values[col][keep], text[col][keep], rtol=2e-6, atol=1e-12, err_msg=col
        )
    assert not facts["unknown_column_ids"]


def _patch_ids(src, tmp_path, replace):
    """Copy of a real .mpr with some column IDs replaced by IDs charsuite does not know."""
    from charsuite.io.formats.echem import eclab_binary as eb

    raw = bytearray(src.read_bytes())
    mods = eb._modules(bytes(raw))
    data = next(m for m in mods if m["name"] == "VMP data")
    start = bytes(raw).index(data["body"])
    ids, _ = eb._column_ids(data["body"], data["version"])
    body = data["body"]
    for old, new in replace.items():
        k = ids.index(old)
        if data["version"] in (2, 3):  # u2 IDs
            raw[start + 5 + 2 * k : start + 7 + 2 * k] = int(new).to_bytes(2, "little")
        elif body[5] != 0:  # one byte per ID
            raw[start + 5 + k] = new
        else:  # EC-Lab >= 11.50: the second byte of each pair is the ID
            raw[start + 6 + 2 * k] = new
    out = tmp_path / "patched.mpr"
    out.write_bytes(bytes(raw))
    return out


@pytest.mark.shared_data
def test_unknown_column_id_with_known_width_is_skipped_and_named(shared_data, tmp_path):
    from charsuite.exceptions import CharsuiteWarning

    src = shared_data("echem") / "dgbowl_yadg/tests/test_x_eclab/gcpl.issue_211.mpr"
    path = _patch_ids(src, tmp_path, {123: 250})  # Energy charge (8 bytes) → unknown
    with pytest.warns(CharsuiteWarning, match="column ID 250"):
        ds = read(path)
    ref = read(src)
    np.testing.assert_array_equal(ds.voltage.values, ref.voltage.values)
    assert ds.attrs["metadata"]["skipped_column_ids"] == [250]


@pytest.mark.shared_data
def test_several_unknown_ids_refused_naming_them(shared_data, tmp_path):
    from charsuite.exceptions import ReaderError

    src = shared_data("echem") / "dgbowl_yadg/tests/test_x_eclab/gcpl.issue_211.mpr"
    path = _patch_ids(src, tmp_path, {123: 250, 124: 251})
    with pytest.raises(ReaderError, match=r"\[250, 251\]"):
        read(path)
