"""Reader contract tests for the vendor XRD formats (synthetic files in each layout)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from charsuite.io import read
from charsuite.testing import ReaderContract

_spec = importlib.util.spec_from_file_location(
    "_xrd_writers", Path(__file__).with_name("_xrd_writers.py")
)
W = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(W)


def _xrdml(path, *, nan=False, omega=2.0):
    from charsuite.datasets.xrd import write_xrdml

    x, y = W.pattern()
    path = write_xrdml(path, x, y, incidence_angle_deg=omega, counting_time_s=2.0)
    if nan:
        text = path.read_text().replace(">100 ", ">nan ", 1)
        path.chmod(0o644)
        path.write_text(text)
    return path


class TestXRDML(ReaderContract):
    format_name = "xrdml"

    def make_file(self, tmp_path):
        return _xrdml(tmp_path / "scan.xrdml")

    def make_nan_file(self, tmp_path):
        return _xrdml(tmp_path / "nan.xrdml", nan=True)


class TestBRML(ReaderContract):
    format_name = "brml"
    fuzz_examples = 15

    def make_file(self, tmp_path):
        return W.write_brml(tmp_path / "scan.brml")

    def make_nan_file(self, tmp_path):
        return W.write_brml(tmp_path / "nan.brml", nan=True)


class TestBrukerRaw(ReaderContract):
    format_name = "bruker-raw"

    def make_file(self, tmp_path):
        return W.write_raw1(tmp_path / "scan.raw")

    def make_nan_file(self, tmp_path):
        return W.write_raw1(tmp_path / "nan.raw", nan=True)


class TestUXD(ReaderContract):
    format_name = "uxd"

    def make_file(self, tmp_path):
        return W.write_uxd(tmp_path / "scan.uxd")

    def make_nan_file(self, tmp_path):
        return W.write_uxd(tmp_path / "nan.uxd", nan=True)


class TestRAS(ReaderContract):
    format_name = "ras"

    def make_file(self, tmp_path):
        return W.write_ras(tmp_path / "scan.ras")

    def make_nan_file(self, tmp_path):
        return W.write_ras(tmp_path / "nan.ras", nan=True)


class TestRASX(ReaderContract):
    format_name = "rasx"
    fuzz_examples = 15

    def make_file(self, tmp_path):
        return W.write_rasx(tmp_path / "scan.rasx")

    def make_nan_file(self, tmp_path):
        return W.write_rasx(tmp_path / "nan.rasx", nan=True)


@pytest.mark.parametrize(
    "writer, suffix",
    [
        (W.write_uxd, ".uxd"),
        (W.write_ras, ".ras"),
        (W.write_rasx, ".rasx"),
        (W.write_brml, ".brml"),
        (W.write_raw1, ".raw"),
    ],
)
def test_values_round_trip(tmp_path, writer, suffix):
    x, y = W.pattern()
    da = read(writer(tmp_path / f"a{suffix}"))
    np.testing.assert_allclose(da.two_theta.values, x, atol=1e-4)
    np.testing.assert_allclose(da.values, y, rtol=1e-6)
    assert da.attrs["metadata"]["wavelength_angstrom"] == pytest.approx(1.5406, abs=1e-3)


def test_xrdml_fixed_omega_and_rate(tmp_path):
    path = _xrdml(tmp_path / "gi.xrdml", omega=1.5)
    da = read(path)
    md = da.attrs["metadata"]
    assert md["scan_type"] == "2theta"
    assert md["incidence_angle_deg"] == pytest.approx(1.5)
    assert md["counting_time_s"] == pytest.approx(2.0)
    rate = read(path, rate=True)
    assert rate.attrs["units"] == "counts/s"
    np.testing.assert_allclose(rate.values * 2.0, da.values)


def test_xrdml_attenuation_applied(tmp_path):
    path = _xrdml(tmp_path / "att.xrdml")
    text = path.read_text()
    n = len(W.pattern()[0])
    att = " ".join(["10"] + ["1"] * (n - 1))
    path.chmod(0o644)
    path.write_text(
        text.replace(
            "<counts unit", f"<beamAttenuationFactors>{att}</beamAttenuationFactors><counts unit"
        )
    )
    da = read(path)
    assert da.values[0] == pytest.approx(10 * W.pattern()[1][0])
    assert da.intensity_sigma.values[0] == pytest.approx(10 * np.sqrt(W.pattern()[1][0]))
    assert da.attrs["metadata"]["attenuation_applied"]


def test_xy_third_column_not_sigma(tmp_path):
    x, y = W.pattern()
    path = tmp_path / "fit.xy"
    path.write_text("\n".join(f"{a} {b} {b + 5}" for a, b in zip(x, y)))
    da = read(path)
    assert "third_column" in da.coords
    assert "not an uncertainty" in da.attrs["metadata"]["sigma_source"]


def test_non_monotonic_and_nan_axis_refused(tmp_path):
    from charsuite.exceptions import ReaderError

    path = W.write_ras(tmp_path / "bad.ras")
    text = path.read_text().replace("10.1000 ", "10.0000 ", 1)
    path.write_text(text)
    with pytest.raises(ReaderError, match="monotonic"):
        read(path)
    path2 = W.write_uxd(tmp_path / "nanx.uxd")
    path2.write_text(path2.read_text().replace("10.100\t", "nan\t", 1))
    with pytest.raises(ReaderError, match="non-finite"):
        read(path2)


def _two_range_files(tmp_path):
    """The same synthetic pattern as two ranges (second range shifted to 30° and shorter)."""
    import re
    import struct
    import zipfile

    from charsuite.datasets.xrd import write_xrdml

    x, y = W.pattern()
    x2, y2 = W.pattern(n=200, start=30.0)
    out = {}
    # XRDML: second <scan> spliced in
    a = write_xrdml(tmp_path / "a.xrdml", x, y).read_text()
    b = write_xrdml(tmp_path / "b.xrdml", x2, y2).read_text()
    scan_b = re.search(r"<scan .*</scan>", b, re.S).group(0)
    p = tmp_path / "two.xrdml"
    p.write_text(a.replace("</scan>", "</scan>\n" + scan_b, 1))
    out["xrdml"] = p
    # RAW1.01: two range blocks
    raw = bytearray(W.write_raw1(tmp_path / "one.raw").read_bytes())
    struct.pack_into("<I", raw, 12, 2)
    rng = bytearray(304)
    struct.pack_into("<II", rng, 0, 304, x2.size)
    struct.pack_into("<dd", rng, 8, x2[0] / 2, x2[0])
    struct.pack_into("<d", rng, 176, 0.05)
    struct.pack_into("<f", rng, 192, 1.0)
    p = tmp_path / "two.raw"
    p.write_bytes(bytes(raw) + bytes(rng) + np.asarray(y2, "<f4").tobytes())
    out["bruker-raw"] = p
    # BRML: RawData0 and RawData1
    one = W.write_brml(tmp_path / "one.brml")
    with zipfile.ZipFile(one) as zf:
        xml = zf.read("Experiment0/RawData0.xml").decode()
    xml2 = re.sub(
        r"<Datum>.*</Datum>",
        "\n".join(f"<Datum>1,1,{u:.4f},{u / 2:.4f},{int(v)}</Datum>" for u, v in zip(x2, y2)),
        xml,
        flags=re.S,
    )
    p = tmp_path / "two.brml"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("Experiment0/RawData0.xml", xml)
        zf.writestr("Experiment0/RawData1.xml", xml2)
        zf.writestr("experimentCollection.xml", "<ExperimentCollection/>")
    out["brml"] = p
    return out, (x, x2)


@pytest.mark.parametrize("fmt", ["xrdml", "bruker-raw", "brml"])
def test_multi_range_warns_and_range_selects(tmp_path, fmt):
    from charsuite.exceptions import CharsuiteWarning, ParameterError

    files, (x, x2) = _two_range_files(tmp_path)
    path = files[fmt]
    with pytest.warns(CharsuiteWarning, match="2 data ranges.*range=i"):
        first = read(path)
    assert first.attrs["format"] == fmt
    np.testing.assert_allclose(first.two_theta.values, x, atol=1e-3)
    assert first.attrs["metadata"]["n_ranges"] == 2
    assert len(first.attrs["metadata"]["ranges"]) == 2
    second = read(path, range=1)
    np.testing.assert_allclose(second.two_theta.values, x2, atol=1e-3)
    assert second.attrs["metadata"]["range_index"] == 1
    with pytest.raises(ParameterError, match="range=5"):
        read(path, range=5)


def test_uxd_ranges(tmp_path):
    from charsuite.exceptions import CharsuiteError, CharsuiteWarning

    uxd = W.write_uxd(tmp_path / "two.uxd")
    extra = "\n".join(f"{40 + 0.05 * i:.3f}\t{i}" for i in range(50))
    uxd.write_text(
        uxd.read_text()
        + "_DRIVE='COUPLED'\n_STEPTIME=2.0\n_STEPSIZE=0.05\n_START=40.0\n_2THETACOUNTS\n"
        + extra
        + "\n"
    )
    with pytest.warns(CharsuiteWarning, match="2 data ranges"):
        assert read(uxd).sizes["two_theta"] == 300
    second = read(uxd, range=1)
    assert float(second.two_theta[0]) == pytest.approx(40.0)
    assert second.attrs["metadata"]["counting_time_s"] == pytest.approx(2.0)
    assert second.attrs["metadata"]["range_index"] == 1
    with pytest.raises(CharsuiteError, match="range=2"):
        read(uxd, range=2)
