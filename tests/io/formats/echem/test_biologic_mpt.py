"""EC-Lab .mpt reader: contract on a synthetic export, real files from ../shared/data."""

import numpy as np
import pytest

from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract

_COLS = ["mode", "time/s", "Ewe/V", "I/mA", "(Q-Qo)/mA.h", "cycle number", "Ns"]


def _write(path, n=40, comma=False):
    t = np.arange(n) * 10.0
    i = np.where((np.arange(n) // 10) % 2 == 0, 0.1, -0.1)
    q = np.cumsum(i * 10.0) / 3600
    v = 3.5 + np.cumsum(i) * 0.01
    header = [
        "EC-Lab ASCII FILE",
        "Nb header lines : 7",
        "",
        "Galvanostatic Cycling with Potential Limitation",
        "Mass of active material : 1.250 mg",
        "Electrode surface area : 0.500 cm\xb2",
        "\t".join(_COLS),
    ]
    rows = [
        "\t".join(
            [
                "1",
                f"{t[k]:.4f}",
                f"{v[k]:.6f}",
                f"{i[k]:.6f}",
                f"{q[k]:.9f}",
                str(k // 20),
                str((k // 10) % 2 + 1),
            ]
        )
        for k in range(n)
    ]
    text = "\r\n".join(header + rows) + "\r\n"
    if comma:
        text = text.replace(".", ",")
    path.write_bytes(text.encode("latin-1"))
    return path


class TestMPT(ReaderContract):
    format_name = "biologic-mpt"

    def make_file(self, tmp_path):
        return _write(tmp_path / "run.mpt")

    def make_nan_file(self, tmp_path):
        path = _write(tmp_path / "nan.mpt")
        lines = path.read_bytes().split(b"\r\n")
        parts = lines[10].split(b"\t")
        parts[2] = b"nan"
        lines[10] = b"\t".join(parts)
        path.write_bytes(b"\r\n".join(lines))
        return path


def test_metadata_and_decimal_comma(tmp_path):
    a = read(_write(tmp_path / "a.mpt"))
    b = read(_write(tmp_path / "b.mpt", comma=True))
    assert a.attrs["metadata"]["active_mass_mg"] == pytest.approx(1.25)
    assert a.attrs["metadata"]["electrode_area_cm2"] == pytest.approx(0.5)
    assert b.attrs["metadata"]["decimal_comma"] is True
    np.testing.assert_allclose(a["voltage"].values, b["voltage"].values)


def test_missing_current_column(tmp_path):
    path = _write(tmp_path / "x.mpt")
    path.write_bytes(path.read_bytes().replace(b"I/mA", b"foo/mA"))
    with pytest.raises(ReaderError, match="I/mA"):
        read(path)


@pytest.mark.shared_data
def test_real_files_read(shared_data):
    root = shared_data("echem")
    gcpl = read(root / "dgbowl_yadg/tests/test_x_eclab/gcpl.issue_211.mpt")
    assert gcpl.sizes["record"] == 2767
    assert gcpl.attrs["metadata"]["active_mass_mg"] == pytest.approx(0.790)
    de = read(root / "dgbowl_yadg/tests/test_x_eclab/gcpl.issue_149.mpt")
    assert de.attrs["metadata"]["decimal_comma"] is True
    eis = read(root / "ECSHackWeek_impedance.py/data/exampleDataBioLogic.mpt")
    assert eis.sizes["frequency"] == 43
    assert eis["frequency"].values[0] == pytest.approx(1000.3201)
    # file stores -Im(Z); charsuite keeps signed Z''
    assert eis["z_imag"].values[0] == pytest.approx(-0.38998979)
    with pytest.raises(ReaderError, match="column name is missing"):
        read(root / "ECSHackWeek_impedance.py/data/exampleDataBioLogic_MissingFreq.mpt")


# --- export variants seen in the wild (see the module docstring of the reader) --------


def _lines(path):
    return path.read_bytes().decode("latin-1").split("\r\n")


def _absolute_time(text):
    """EC-Lab/BT-Lab "absolute time" export: time/s holds date-time strings."""
    import datetime as dt

    out = []
    t0 = dt.datetime(2024, 11, 20, 11, 38, 41, 707000)
    for k, line in enumerate(text.split("\r\n")):
        parts = line.split("\t")
        if k >= 7 and len(parts) > 2:
            stamp = t0 + dt.timedelta(seconds=float(parts[1]))
            parts[1] = stamp.strftime("%m/%d/%Y %H:%M:%S.%f")[:-3]
        out.append("\t".join(parts))
    return "\r\n".join(out)


_MPT_VARIANTS = {
    # BioLogic BT-Lab (BCS cyclers) writes its own banner (PyProBE sample data)
    "bt-lab-banner": lambda t: t.replace("EC-Lab ASCII FILE", "BT-Lab ASCII FILE"),
    "absolute-time": _absolute_time,  # PyProBE Sample_data_biologic_timestamped.txt
    "header-count-too-small": lambda t: t.replace("Nb header lines : 7", "Nb header lines : 6"),
    "header-count-too-large": lambda t: t.replace("Nb header lines : 7", "Nb header lines : 9"),
    "lf-and-trailing-blank-lines": lambda t: t.replace("\r\n", "\n") + "\n\n\n",
    "trailing-spaces-in-count": lambda t: t.replace("lines : 7", "lines : 7        "),
    # BT-Lab text export without the header block, cell voltage as Ecell/V (PyProBE
    # Sample_data_biologic_no_header.mpt)
    "headerless-ecell": lambda t: "\r\n".join(t.split("\r\n")[6:]).replace("Ewe/V", "Ecell/V"),
}


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8", "utf-8-sig", "utf-16"])
@pytest.mark.parametrize("variant", sorted(_MPT_VARIANTS))
def test_export_variants_read_like_the_plain_export(tmp_path, variant, encoding):
    base = read(_write(tmp_path / "base.mpt"))
    text = _MPT_VARIANTS[variant](_write(tmp_path / "v.mpt").read_bytes().decode("latin-1"))
    path = tmp_path / f"{variant}.txt"  # EC-Lab also exports .txt: sniffing must decide
    path.write_bytes(text.encode(encoding))
    from charsuite.io import resolve_format

    assert resolve_format(path) == "biologic-mpt"
    ds = read(path)
    for var in ("voltage", "current", "charge", "cycle", "step"):
        np.testing.assert_allclose(ds[var].values, base[var].values, err_msg=var)
    np.testing.assert_allclose(ds["time"].values, base["time"].values, atol=1e-3)
    if variant != "headerless-ecell":
        assert ds.attrs["metadata"]["active_mass_mg"] == pytest.approx(1.25)
    if variant == "absolute-time":
        assert "date-time" in ds.attrs["metadata"]["time_source"]
    if variant.startswith("header-count"):
        assert ds.attrs["metadata"]["header_lines_found"] == 7


def test_placeholder_values_become_nan(tmp_path):
    lines = _lines(_write(tmp_path / "x.mpt"))
    for k in (9, 12):  # old EC-Lab versions write XXXX where a column has no value
        parts = lines[k].split("\t")
        parts[6] = "XXXX"
        lines[k] = "\t".join(parts)
    path = tmp_path / "xxxx.mpt"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    ds = read(path)
    assert ds.attrs["metadata"]["placeholder_values"] == 2
    assert np.isnan(ds["step"].values[[2, 5]]).all()
    assert np.isfinite(np.delete(ds["step"].values, [2, 5])).all()


def test_header_count_without_a_column_line_is_refused(tmp_path):
    lines = _lines(_write(tmp_path / "x.mpt"))
    del lines[6]  # the column line is gone: no way to know what the numbers are
    path = tmp_path / "nocols.mpt"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    with pytest.raises(ReaderError, match=r"Nb header lines : 7.*not a column line") as err:
        read(path)
    assert "nocols.mpt" in str(err.value)


def test_time_that_is_neither_seconds_nor_a_date_is_refused(tmp_path):
    lines = _lines(_write(tmp_path / "x.mpt"))
    parts = lines[9].split("\t")
    parts[1] = "soon"
    lines[9] = "\t".join(parts)
    path = tmp_path / "badtime.mpt"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    with pytest.raises(ReaderError, match=r"line 10: column 'time/s' holds 'soon'"):
        read(path)


def test_export_with_dq_and_half_cycle_instead_of_current_charge_and_cycle(tmp_path):
    """EC-Lab lets the user pick the exported variables: a file with dq/mA.h and half
    cycle but no I/mA, (Q-Qo)/mA.h or cycle number still gives current, charge and cycle."""
    base = read(_write(tmp_path / "base.mpt"))
    lines = _lines(_write(tmp_path / "x.mpt"))
    q = base["charge"].values
    dq = np.diff(q, prepend=0.0)
    lines[6] = "\t".join(["mode", "time/s", "Ewe/V", "dq/mA.h", "half cycle", "Ns"])
    for k in range(len(q)):
        p = lines[7 + k].split("\t")
        lines[7 + k] = "\t".join([p[0], p[1], p[2], f"{dq[k]:.12g}", str(k // 10), p[6]])
    path = tmp_path / "dq.mpt"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    ds = read(path)
    np.testing.assert_allclose(ds["charge"].values, q, rtol=1e-9, atol=1e-15)
    # the base file stores (Q-Qo) to 1e-9 mAh, so dq/Δt reproduces I to ~1e-6
    np.testing.assert_allclose(ds["current"].values[1:], base["current"].values[1:], rtol=1e-5)
    np.testing.assert_array_equal(ds["cycle"].values, base["cycle"].values)
    assert "dq/mA.h" in ds.attrs["metadata"]["current_source"]
