from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract


def _write_xy(path: Path, *, sigma: bool = False, sep: str = " ", header: str = "# 2theta I\n"):
    x = np.round(np.arange(10, 80, 0.05), 4)
    y = 100 + 1000 * np.exp(-((x - 18.7) ** 2) / 0.02)
    cols = [x, y, np.sqrt(y)] if sigma else [x, y]
    lines = [sep.join(f"{v:.6g}" for v in row) for row in zip(*cols)]
    path.write_text(header + "\n".join(lines) + "\n")
    return path


class TestXY(ReaderContract):
    format_name = "xy"

    def make_file(self, tmp_path):
        return _write_xy(tmp_path / "scan.xy")

    def make_nan_file(self, tmp_path):
        path = _write_xy(tmp_path / "nan.xy")
        lines = path.read_text().splitlines()
        lines[10] = "10.5 nan"
        path.write_text("\n".join(lines))
        return path


def test_three_columns_keep_sigma(tmp_path):
    da = read(_write_xy(tmp_path / "a.xye", sigma=True))
    assert da.attrs["metadata"]["sigma_source"] == "file"
    np.testing.assert_allclose(da["intensity_sigma"].values, np.sqrt(da.values), rtol=1e-5)


def test_semicolon_decimal_comma(tmp_path):
    path = tmp_path / "comma.csv"
    path.write_text(
        "2theta;I\n" + "\n".join(f"{10 + i * 0.1:.1f};{i}".replace(".", ",") for i in range(50))
    )
    da = read(path)
    assert da.sizes["two_theta"] == 50
    assert da["two_theta"].values[1] == pytest.approx(10.1)


def test_values_match_file(tmp_path):
    path = _write_xy(tmp_path / "b.xy")
    arr = np.loadtxt(path)
    da = read(path)
    np.testing.assert_allclose(da["two_theta"].values, arr[:, 0])
    np.testing.assert_allclose(da.values, arr[:, 1])
    assert da["two_theta"].attrs["units"] == "deg"


def test_unsorted_refused(tmp_path):
    path = tmp_path / "u.xy"
    path.write_text("\n".join(f"{x} 5" for x in [10, 11, 12, 13, 14, 12.5, 15]))
    with pytest.raises(ReaderError, match="strictly increasing"):
        read(path, format="xy")


def test_real_xy_files(shared_data):
    root = shared_data("xrd")
    path = root / "njszym__XRD-AutoAnalyzer" / "MnO.xy"
    da = read(path)
    assert da.attrs["format"] == "xy"
    assert da["two_theta"].values[0] == pytest.approx(10.0)
    assert da.sizes["two_theta"] > 5000


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=3, max_size=40),
    st.sampled_from([" ", "\t", ", ", ","]),
    st.booleans(),
)
def test_fast_and_line_parsers_agree(tmp_path_factory, values, sep, sigma):
    """The one-shot numpy parser and the line-by-line parser give the same array."""
    from charsuite.io.formats.xrd import xy_text

    x = 10 + np.arange(len(values)) * 0.05
    cols = [x, values, np.sqrt(values)] if sigma else [x, values]
    text = "# header\n" + "\n".join(sep.join(repr(float(v)) for v in row) for row in zip(*cols))
    fast = xy_text._fast_parse(text)
    assert fast is not None
    slow = np.array([v for _, v in xy_text._rows(text) if v is not None])
    np.testing.assert_array_equal(fast[1], slow)
    assert fast[0] == ["# header"]
