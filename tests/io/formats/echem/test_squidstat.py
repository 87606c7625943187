"""Squidstat CSV reader: contract, header mapping, quirks, settings file, bad input."""

from pathlib import Path

import numpy as np
import pytest

from charsuite.datasets.echem import write_squidstat_cycling, write_squidstat_eis
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.testing import ReaderContract, nan_in_text


def _small(tmp_path: Path, **kw) -> dict:
    kw.setdefault("windows", ((3.0, 4.3),))
    kw.setdefault("cycles_per_window", 3)
    kw.setdefault("points_per_half", 8)
    return write_squidstat_cycling(tmp_path, **kw)


class TestSquidstat(ReaderContract):
    format_name = "squidstat"

    def make_file(self, tmp_path):
        return _small(tmp_path)["csv"]

    def make_nan_file(self, tmp_path):
        path = _small(tmp_path)["csv"]
        return nan_in_text(path, line=5, field=3, sep=b",")


class TestSquidstatEIS(ReaderContract):
    format_name = "squidstat"

    def make_file(self, tmp_path):
        return write_squidstat_eis(tmp_path, f_max=1e5, f_min=1.0, points_per_decade=4)["csv"]

    def make_nan_file(self, tmp_path):
        return nan_in_text(self.make_file(tmp_path), line=5, field=-2, sep=b",")


def test_quirks_are_in_the_generated_file(tmp_path):
    truth = _small(tmp_path)
    raw = truth["csv"].read_bytes()
    header, _, body = raw.partition(b"\r\n")
    assert b"(mA/cm\xb2)" in header  # latin-1 ²
    assert b"\r\n" not in body  # data lines end with LF only
    assert b"\n2_1,Charge," in body  # step numbers like 2_1


def test_mapping_and_settings(tmp_path):
    truth = _small(tmp_path)
    ds = read(truth["csv"])
    meta = ds.attrs["metadata"]
    assert meta["electrode_area_cm2"] == pytest.approx(truth["area_cm2"], rel=1e-5)
    assert meta["active_mass_mg"] == pytest.approx(truth["mass_g"] * 1e3, rel=1e-5)
    assert ds["current"].attrs["units"] == "mA"
    assert ds["charge"].attrs["units"] == "mAh"
    assert ds["step"].values[10] == "2_1"
    on = ds["current"].values > 0
    np.testing.assert_allclose(ds["current"].values[on], truth["current_mA"], rtol=1e-8)
    # cumulative charge never resets: it equals the running integral of the current
    q = np.cumsum(ds["current"].values[1:] * np.diff(ds["time"].values)) / 3600
    np.testing.assert_allclose(ds["charge"].values[1:], q, atol=1e-9)


def test_current_in_ampere_variant_equals_mA(tmp_path):
    a = read(_small(tmp_path / "a")["csv"])
    b = read(_small(tmp_path / "b", current_unit="A")["csv"])
    assert b.attrs["metadata"]["current_unit_in_file"] == "A"
    np.testing.assert_allclose(a["current"].values, b["current"].values, rtol=1e-8, atol=1e-15)


def test_eis_sign_converted(tmp_path):
    truth = write_squidstat_eis(tmp_path, noise=0.0)
    ds = read(truth["csv"])
    assert float(ds["z_imag"].min()) < 0  # capacitive arcs: Z'' < 0 after conversion
    assert ds.attrs["metadata"]["z_imag_in_file"] == "-Z''"


def test_missing_column_named(tmp_path):
    path = _small(tmp_path)["csv"]
    text = path.read_bytes().decode("latin-1").replace('"Working Electrode (V)"', '"WE (V)"')
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ReaderError, match=r"Working Electrode \(V\)"):
        read(path, format="squidstat")


def test_unit_change_mid_file(tmp_path):
    path = _small(tmp_path)["csv"]
    raw = path.read_bytes()
    header = raw.split(b"\r\n")[0]
    lines = raw.split(b"\n")
    lines.insert(20, header.replace(b"Current (mA)", b"Current (A)"))
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ReaderError, match="units must not change"):
        read(path)


def test_time_backwards(tmp_path):
    path = _small(tmp_path)["csv"]
    lines = path.read_bytes().split(b"\n")
    lines[12], lines[13] = lines[13], lines[12]
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ReaderError, match="not monotonic"):
        read(path)


def test_two_electrode_voltage_option(tmp_path):
    path = _small(tmp_path)["csv"]
    a = read(path)
    b = read(path, cell_voltage="working-minus-counter")
    np.testing.assert_allclose(
        b["voltage"].values, a["voltage"].values - a["counter_voltage"].values
    )
    assert "Counter" in b.attrs["metadata"]["voltage_definition"]


# --- export variants seen in the wild ---------------------------------------------------


@pytest.mark.parametrize("keep_polar", [True, False])
def test_old_software_z_double_quote_label(tmp_path, keep_polar):
    """Older Squidstat UIs label Z'' as Z" (CSV-escaped as "-Z"" (Ohms)"), as handled by
    grapa's GraphSquidAdmiral reader; the meaning (−Z″, Ω) is unchanged."""
    path = write_squidstat_eis(tmp_path, f_max=1e5, f_min=1.0, points_per_decade=4)["csv"]
    base = read(path)
    lines = path.read_bytes().decode("latin-1").split("\r\n", 1)
    header = lines[0].replace("\"-Z'' (Ohms)\"", '"-Z"" (Ohms)"')
    text = header + "\r\n" + lines[1]
    if not keep_polar:  # without |Z| and Phase there is no fallback to hide a miss
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text.replace("\r\n", "\n"))))
        drop = {rows[0].index("|Z| (Ohms)"), rows[0].index("Phase (deg)")}
        rows = [[c for k, c in enumerate(r) if k not in drop] for r in rows if r]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        text = out.getvalue()
    old = tmp_path / "old_ui.csv"
    old.write_bytes(text.encode("latin-1"))
    ds = read(old)
    assert ds.attrs["metadata"]["z_imag_in_file"] == "-Z''"
    np.testing.assert_allclose(ds["z_imag"].values, base["z_imag"].values, rtol=1e-6)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_windows_encodings(tmp_path, encoding):
    path = _small(tmp_path)["csv"]
    base = read(path)
    other = tmp_path / "enc" / path.name
    other.parent.mkdir()
    other.write_bytes(path.read_bytes().decode("latin-1").encode(encoding))
    from charsuite.io import resolve_format

    assert resolve_format(other) == "squidstat"
    ds = read(other, settings=False)
    for var in ("voltage", "current", "charge", "time"):
        np.testing.assert_allclose(ds[var].values, base[var].values, err_msg=var)
    assert ds["current_density"].attrs["units"] == base["current_density"].attrs["units"]


def test_newer_export_with_utc_time_and_repeats(tmp_path):
    """Newer Squidstat exports carry 'UTC Time (s)' and 'Repeats' (the `singular` loader
    maps time='UTC Time (s)', cycle='Repeats'); without 'Elapsed Time (s)' the time is
    the UTC stamp relative to the first row."""
    import csv
    import io

    path = _small(tmp_path)["csv"]
    base = read(path)
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("latin-1"))))
    k = rows[0].index("Elapsed Time (s)")
    rows[0][k] = "UTC Time (s)"
    for r in rows[1:]:
        if r:
            r[k] = f"{1.6e9 + float(r[k]):.3f}"
    rows[0].insert(2, "Repeats")
    for r in rows[1:]:
        if r:
            r.insert(2, "1")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([r for r in rows if r])
    new = tmp_path / "new" / "run.csv"
    new.parent.mkdir()
    new.write_bytes(out.getvalue().encode("latin-1"))
    from charsuite.io import resolve_format

    assert resolve_format(new) == "squidstat"
    ds = read(new)
    np.testing.assert_allclose(ds["time"].values, base["time"].values, atol=2e-3)
    np.testing.assert_allclose(ds["charge"].values, base["charge"].values)
    assert ds.attrs["metadata"]["time_source"].startswith("UTC Time (s)")
    assert "repeats" in ds


def test_eis_with_ohm_sign_units(tmp_path):
    path = write_squidstat_eis(tmp_path, f_max=1e5, f_min=1.0, points_per_decade=4)["csv"]
    base = read(path)
    text = path.read_bytes().decode("latin-1").replace("(Ohms)", "(Ω)")
    other = tmp_path / "omega" / "eis.csv"
    other.parent.mkdir()
    other.write_bytes(text.encode("utf-8"))
    from charsuite.io.formats.echem import squidstat

    assert squidstat.can_read(other, other.read_bytes()[:4096])
    ds = read(other, settings=False)
    np.testing.assert_allclose(ds["z_real"].values, base["z_real"].values)
    np.testing.assert_allclose(ds["z_imag"].values, base["z_imag"].values)
