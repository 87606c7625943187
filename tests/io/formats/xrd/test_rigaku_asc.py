"""Rigaku ASCII ``.asc`` reader (issue 13). The layout follows a real SmartLab export
(rigakuXRD ``inst/extdata/2Theta.asc``, GPL: read for the layout, not shipped); the files
here are generated with known angles and counts."""

import numpy as np
import pytest

from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

HEADER = """*TYPE\t\t=  Raw
*CLASS\t\t=  ASCII CLASS
*SAMPLE\t\t=  test film
*FNAME\t\t=  scan.asc
*DATE\t\t=  12-Jul-17 17:31

*GROUP_COUNT\t=  1
*GONIO\t\t=  SmartLab, 0.000000
*SCAN_AXIS\t=  2theta/theta
*TARGET\t\t=  29
*WAVE_LENGTH1\t=  1.54059
*WAVE_LENGTH2\t=  1.54441
*SPEED_DIM\t=  sec./step
*XUNIT\t\t=  deg.
*YUNIT\t\t=  counts
"""


def _scan(start, step, counts, *, count=None, stop=None):
    n = len(counts)
    stop = start + (n - 1) * step if stop is None else stop
    lines = ["*BEGIN", "*GROUP\t\t=  0", f"*START\t\t=  {start:g}", f"*STOP\t\t=  {stop:g}"]
    lines += [f"*STEP\t\t=  {step:g}", "*SPEED\t\t=  0.6", "*KV\t\t=  40", "*MA\t\t=  44"]
    lines.append(f"*COUNT\t\t=  {n if count is None else count}")
    for k in range(0, n, 4):
        lines.append(", ".join(str(int(v)) for v in counts[k : k + 4]))
    lines.append("*END")
    return "\n".join(lines) + "\n"


def _counts(n=701):
    x = 10 + 0.1 * np.arange(n)
    return np.round(100 + 5000 * np.exp(-((x - 38.2) ** 2) / 0.05))


def write_asc(path, counts=None, n_scans=1, **kw):
    counts = _counts() if counts is None else counts
    body = "".join(_scan(10.0, 0.1, counts, **kw) for _ in range(n_scans))
    path.write_text(HEADER + "\n" + body + "\n*EOF", encoding="latin-1")
    return path


class TestRigakuAsc(ReaderContract):
    format_name = "rigaku-asc"

    def make_file(self, tmp_path):
        return write_asc(tmp_path / "scan.asc")

    def make_nan_file(self, tmp_path):
        path = write_asc(tmp_path / "nan.asc")
        path.write_text(path.read_text().replace("100, 100", "nan, 100", 1))
        return path


def test_angles_counts_and_metadata(tmp_path):
    counts = _counts()
    da = read(write_asc(tmp_path / "s.asc", n_scans=2))
    assert da.attrs["format"] == "rigaku-asc"
    np.testing.assert_allclose(da.two_theta.values, 10 + 0.1 * np.arange(counts.size), atol=1e-9)
    np.testing.assert_array_equal(da.values, counts)
    md = da.attrs["metadata"]
    assert md["wavelength_angstrom"] == 1.54059 and md["anode"] == "Cu"
    assert md["n_scans"] == 2 and md["counting_time_s"] == 0.6
    assert float(da.two_theta[int(np.argmax(da.values))]) == pytest.approx(38.2)


@pytest.mark.parametrize(
    "kw, match", [({"count": 800}, "COUNT = 800"), ({"stop": 99.0}, "STOP = 99")]
)
def test_inconsistent_header_refused(tmp_path, kw, match):
    with pytest.raises(ReaderError, match=match):
        read(write_asc(tmp_path / "bad.asc", **kw), format="rigaku-asc")


def test_truncated_block_refused(tmp_path):
    path = write_asc(tmp_path / "cut.asc")
    path.write_text(path.read_text().split("*END")[0])
    with pytest.raises(ReaderError, match="no \\*END"):
        read(path, format="rigaku-asc")
