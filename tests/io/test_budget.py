"""Budgets and containment helpers of charsuite.io (the mechanisms behind tests/hostile)."""

from __future__ import annotations

import os
import zipfile
import zlib

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from charsuite.exceptions import BudgetError, ParameterError, ReaderError
from charsuite.io import check_hdf5, check_regular, read
from charsuite.io._budget import (
    EXPANSION_FLOOR,
    check_lines,
    check_xml,
    decompress_bounded,
    max_memory,
    parse_size,
    xlsx_dimensions,
)


def test_parse_size():
    assert parse_size("2GB") == 2 * 10**9
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("1e6") == 10**6
    for bad in ("", "nan", "-1GB", "inf", "lots"):
        with pytest.raises(ParameterError):
            parse_size(bad)


def test_memory_env(monkeypatch):
    monkeypatch.setenv("CHARSUITE_MAX_MEMORY", "100MB")
    assert max_memory() == 10**8
    monkeypatch.delenv("CHARSUITE_MAX_MEMORY")
    assert 0 < max_memory() <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_decompress_bounded():
    data = os.urandom(1000)
    assert decompress_bounded(zlib.compress(data), what="x") == data
    bomb = zlib.compress(bytes(EXPANSION_FLOOR + 2**20))
    with pytest.raises(BudgetError, match="CHARSUITE_MAX_EXPANSION"):
        decompress_bounded(bomb, what="x")
    assert len(decompress_bounded(bomb, what="x", limit=2 * EXPANSION_FLOOR)) > EXPANSION_FLOOR


def test_check_lines(monkeypatch):
    monkeypatch.setenv("CHARSUITE_MAX_LINE", "100")
    check_lines(b"1 2\n" * 1000)
    check_lines(b"1 2\r" * 1000)  # old Mac line ends count
    with pytest.raises(BudgetError, match="CHARSUITE_MAX_LINE"):
        check_lines(b"1 2\n" + b"3" * 200 + b"\n")


def test_xml_entities_refused():
    with pytest.raises(BudgetError, match="entities"):
        check_xml(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    check_xml(b"<a>plain</a>")


def test_real_containers_pass(shared_data):
    xrd, echem = shared_data("xrd"), shared_data("echem")
    for p in [*xrd.rglob("*.brml"), *xrd.rglob("*.rasx")]:
        with zipfile.ZipFile(p) as zf:
            from charsuite.io._budget import check_zip

            check_zip(zf, path=p)
    xlsx = sorted(echem.rglob("*.xlsx"))
    for p in xlsx:
        dims = xlsx_dimensions(p)
        assert dims and all(r >= 1 and c >= 1 for r, c in dims.values())


def test_real_hdf5_pass(shared_data):
    files = sorted(shared_data("sims").rglob("*.h5"))
    assert files
    for p in files:
        with h5py.File(p, "r") as f:
            assert check_hdf5(f, p) is f


def test_check_hdf5_refusals(tmp_path):
    src = tmp_path / "src.h5"
    with h5py.File(src, "w") as f:
        f["d"] = np.arange(10)
    cases = {
        "external link": lambda f: f.__setitem__("x", h5py.ExternalLink(str(src), "/d")),
        "external storage": lambda f: f.create_dataset(
            "x", shape=(10,), dtype="u1", external=[(str(src), 0, 10)]
        ),
        "declares": lambda f: f.create_dataset("x", shape=(10**10,), dtype="u1", chunks=(2**20,)),
    }
    for words, make in cases.items():
        p = tmp_path / f"{words.replace(' ', '_')}.h5"
        with h5py.File(p, "w") as f:
            make(f)
        f = h5py.File(p, "r")
        with pytest.raises(ReaderError, match=words):
            check_hdf5(f, p)
        assert not f.id.valid  # closed on refusal


def test_soft_link_cycle_and_fill_value_ok(tmp_path):
    p = tmp_path / "ok.h5"
    with h5py.File(p, "w") as f:
        g = f.create_group("g")
        g["loop"] = h5py.SoftLink("/g")
        f.create_dataset("empty", shape=(100, 100), dtype="f8")  # unallocated, 80 kB
    with h5py.File(p, "r") as f:
        check_hdf5(f, p)


def test_check_regular(tmp_path):
    p = tmp_path / "a.xy"
    p.write_text("1 2\n")
    assert check_regular(p).st_size == 4
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ReaderError, match="FIFO"):
        check_regular(tmp_path / "fifo")
    os.symlink("/dev/zero", tmp_path / "zero.xy")
    with pytest.raises(ReaderError, match=r"character device .*symbolic link"):
        read(tmp_path / "zero.xy")


@given(
    raw=st.binary(max_size=80).map(lambda b: bytes(b"ab\n\r"[x % 4] for x in b)),
    block=st.integers(1, 9),
)
def test_longest_line_matches_split(raw, block):
    import re

    from charsuite.io._budget import _longest_line

    expected = max(len(x) for x in re.split(rb"[\r\n]", raw))
    assert _longest_line(raw, block=block) == expected


def test_eventlist_zlib_element_bomb():
    from charsuite.io.formats.sims.tofdaq._events import decompress_words

    words = np.arange(1000, dtype="<u4")
    ok = np.frombuffer(zlib.compress(words.tobytes()), np.uint8)
    assert np.array_equal(decompress_words(ok, 257, None), words)
    bomb = np.frombuffer(zlib.compress(bytes(200 * 2**20), 9), np.uint8)
    with pytest.raises(BudgetError, match="EventList"):
        decompress_words(bomb, 257, None)


def test_xlsx_far_cell_without_dimension(tmp_path):
    p = tmp_path / "far.xlsx"
    sheet = b'<worksheet><sheetData><row r="9"><c r="ZZ1048000"><v>1</v></c></row></sheetData></worksheet>'
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b" " * (1 << 20) + sheet[11:])
    with pytest.raises(BudgetError, match="1048000 rows"):
        xlsx_dimensions(p)
