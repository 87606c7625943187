"""Cycler *_Metadata.csv companions: refused alone, attached to the data file's Dataset."""

import pytest

from charsuite.datasets.echem import cycler_truth, write_arbin_xlsx, write_novonix_csv
from charsuite.exceptions import CharsuiteError, ReaderError
from charsuite.io import read

ARBIN_META = (
    ",test_id,device_id,iv_ch_id,first_start_datetime,schedule_file_name,item_id\n"
    "0,153,60369369,7,1494645214,fast.sdu,EL1\n"
)
NOVONIX_META = (
    ",Cycle,AverageChargeVoltage,CE,Qc,Qd\n0,1,3.9,0.98,0.05,0.049\n1,2,3.9,0.99,0.049,0.0485\n"
)


def test_arbin_companion_refused_and_attached(tmp_path):
    data = write_arbin_xlsx(tmp_path / "run_CH7.xlsx", cycler_truth(n_cycles=1))
    side = tmp_path / "run_CH7_Metadata.csv"
    side.write_text(ARBIN_META)
    with pytest.raises(ReaderError, match=r"not cycling data; read run_CH7\.xlsx instead"):
        read(side)
    attached = read(data).attrs["original_metadata"]["metadata_file"]
    assert attached["schedule_file_name"] == "fast.sdu"


def test_novonix_summary_refused_and_attached(tmp_path):
    data = write_novonix_csv(tmp_path / "nova.csv", cycler_truth(n_cycles=2))
    side = tmp_path / "nova_metadata.csv"
    side.write_text(NOVONIX_META)
    with pytest.raises(ReaderError, match="Novonix per-cycle summary"):
        read(side)
    summary = read(data).attrs["original_metadata"]["summary_file"]
    assert [row["Qd"] for row in summary] == ["0.049", "0.0485"]


def test_orphan_companion_still_explained(tmp_path):
    side = tmp_path / "lonely_Metadata.csv"
    side.write_text(ARBIN_META)
    with pytest.raises(CharsuiteError, match="same name without '_Metadata'"):
        read(side)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("FastCharge_000025_CH8_Metadata.csv", "FastCharge_000025_CH8.csv"),
        ("2017-05-09_test-TC-contact_CH33_Metadata.csv", "2017-05-09_test-TC-contact_CH33.csv"),
        ("raw/test_Nova_Form-CH01-01_short_metadata.csv", "test_Nova_Form-CH01-01_short.csv"),
    ],
)
def test_beep_companions(shared_data, name, data):
    root = shared_data("echem") / "TRI-AMDD_beep/beep/tests/test_files"
    with pytest.raises(ReaderError, match=f"read {data} instead"):
        read(root / name)


def test_companion_outside_the_folder_is_not_followed(tmp_path):
    """A side file that is a symlink to another folder is ignored, not read."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.csv").write_text(ARBIN_META)
    run = tmp_path / "run"
    run.mkdir()
    data = write_arbin_xlsx(run / "run_CH7.xlsx", cycler_truth(n_cycles=1))
    (run / "run_CH7_Metadata.csv").symlink_to(elsewhere / "secret.csv")
    assert "metadata_file" not in read(data).attrs["original_metadata"]


def test_oversized_or_special_companion_is_ignored(tmp_path):
    """A side file larger than the budget, or a FIFO, is skipped without blocking."""
    import os

    from charsuite.io._contain import MAX_COMPANION_BYTES

    data = write_arbin_xlsx(tmp_path / "big_CH7.xlsx", cycler_truth(n_cycles=1))
    side = tmp_path / "big_CH7_Metadata.csv"
    side.write_text(ARBIN_META + "0," * (MAX_COMPANION_BYTES // 2 + 1))
    assert "metadata_file" not in read(data).attrs["original_metadata"]
    side.unlink()
    os.mkfifo(side)  # reading a FIFO would block forever
    assert "metadata_file" not in read(data).attrs["original_metadata"]
