"""Generic impedance text/CSV reader: sign conventions, headers, real files."""

import numpy as np
import pytest

from charsuite.datasets.echem import two_arc_impedance
from charsuite.io import read
from charsuite.testing import ReaderContract

_P = dict(R0=10.0, R1=50.0, Q1=1e-6, a1=0.9, R2=80.0, Q2=1e-3, a2=0.8)


def _write(path, *, header=None, negate=False, sep=","):
    f = np.geomspace(1e5, 0.1, 36)
    z = two_arc_impedance(f, _P)
    zi = -z.imag if negate else z.imag
    lines = [] if header is None else [header]
    lines += [sep.join(f"{v:.10g}" for v in row) for row in zip(f, z.real, zi)]
    path.write_text("\n".join(lines) + "\n")
    return path, f, z


class TestImpedanceText(ReaderContract):
    format_name = "impedance-text"

    def make_file(self, tmp_path):
        return _write(tmp_path / "spectrum.csv")[0]

    def make_nan_file(self, tmp_path):
        path = _write(tmp_path / "nan.csv")[0]
        lines = path.read_text().splitlines()
        lines[8] = "100.0,nan,-3.0"
        path.write_text("\n".join(lines))
        return path


@pytest.mark.parametrize(
    ("header", "negate", "expected"),
    [
        (None, False, "Z''"),
        (None, True, "-Z''"),
        ("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm", True, "-Z'' (from header)"),
        ("Frequency (Hz)\tZ' (Ohm)\tZ'' (Ohm)", False, "Z'' (from header)"),
    ],
)
def test_sign_conventions(tmp_path, header, negate, expected):
    sep = "\t" if header and "\t" in header else ","
    path, f, z = _write(tmp_path / "s.txt", header=header, negate=negate, sep=sep)
    ds = read(path, format="impedance-text")
    assert ds.attrs["metadata"]["z_imag_in_file"].startswith(expected)
    np.testing.assert_allclose(ds["z_imag"].values, z.imag, rtol=1e-8)
    np.testing.assert_allclose(ds["frequency"].values, f, rtol=1e-9)


@pytest.mark.shared_data
def test_real_vendor_exports(shared_data):
    root = shared_data("echem") / "ECSHackWeek_impedance.py/data"
    csv = read(root / "exampleData.csv")
    assert csv.attrs["format"] == "impedance-text"
    assert csv.sizes["frequency"] == 66
    arr = np.loadtxt(root / "exampleData.csv", delimiter=",")
    np.testing.assert_allclose(csv["z_imag"].values, arr[:, 2])
    chi = read(root / "exampleDataCHInstruments.txt")
    assert chi["frequency"].values[0] == pytest.approx(9.961e4)
    parstat = read(root / "exampleDataParstat.txt")
    assert parstat.attrs["metadata"]["dc_rows_dropped"] > 0
    assert np.all(parstat["frequency"].values > 0)
    drt = read(shared_data("echem") / "ciuccislab_pyDRTtools/tutorial/data/2ZARC1.csv")
    assert drt.sizes["frequency"] == 81


def test_milliohm_header_converted(tmp_path):
    path, _, z = _write(tmp_path / "m.csv", header="freq (Hz),Z' (mOhm),Z'' (mOhm)")
    ds = read(path, format="impedance-text")
    np.testing.assert_allclose(ds["z_real"].values, z.real * 1e-3, rtol=1e-8)
    assert ds.attrs["metadata"]["impedance_scale_to_ohm"] == 1e-3


# --- export variants seen in the wild ---------------------------------------------------


def _rows(f, z, fmt="{:.10g}"):
    return [[fmt.format(v) for v in row] for row in zip(f, z.real, z.imag)]


def _variant_text(variant, f, z):
    comma = [[c.replace(".", ",") for c in r] for r in _rows(f, z)]
    polar = [
        [f"{a:.10g}", f"{b:.10g}", f"{c:.10g}"]
        for a, b, c in zip(f, np.abs(z), np.degrees(np.angle(z)))
    ]
    if variant == "tab-decimal-comma":  # European locale, tab-separated
        return "Frequency (Hz)\tZ' (Ω)\tZ'' (Ω)\n" + "\n".join("\t".join(r) for r in comma)
    if variant == "space-decimal-comma-no-header":
        return "\n".join(" ".join(r) for r in comma)
    if variant == "semicolon-decimal-comma":  # Metrohm Autolab (German Windows)
        return "Frequency (Hz);Z' (Ω);Z'' (Ω)\n" + "\n".join(";".join(r) for r in comma)
    if variant == "polar-only":  # |Z| and phase, as Gamry's Zmod/Zphz or Autolab's Z, -Phase
        return "Frequency (Hz),|Z| (Ohm),Phase (deg)\n" + "\n".join(",".join(r) for r in polar)
    if variant == "polar-negated-phase":
        neg = [[a, b, c[1:] if c.startswith("-") else "-" + c] for a, b, c in polar]
        return "Freq/Hz\tZ/Ohm\t-Phase/deg\n" + "\n".join("\t".join(r) for r in neg)
    raise AssertionError(variant)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize(
    "variant",
    [
        "tab-decimal-comma",
        "space-decimal-comma-no-header",
        "semicolon-decimal-comma",
        "polar-only",
        "polar-negated-phase",
    ],
)
def test_export_variants(tmp_path, variant, encoding):
    from charsuite.io import resolve_format

    f = np.geomspace(1e5, 0.1, 36)
    z = two_arc_impedance(f, _P)
    path = tmp_path / f"{variant}.txt"
    path.write_bytes((_variant_text(variant, f, z) + "\r\n\r\n").encode(encoding))
    assert resolve_format(path) == "impedance-text"
    ds = read(path)
    np.testing.assert_allclose(ds["frequency"].values, f, rtol=1e-9)
    np.testing.assert_allclose(ds["z_real"].values, z.real, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(ds["z_imag"].values, z.imag, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize(
    "header",
    [
        "f (Hz),Re(Z) (ohm),-Im(Z) (ohm)",  # pyimpspec/DearEIS-style CSV
        "Freq. (Hz),Z_Re (Ohm),-Z_Im (Ohm)",
        "Frequency/Hz,ReZ/Ohm,-ImZ/Ohm",
        "Index,Frequency (Hz),Z' (Ω),-Z'' (Ω),Z (Ω),-Phase (°)",  # Metrohm NOVA 2 export
    ],
)
def test_header_spellings(tmp_path, header):
    f = np.geomspace(1e5, 0.1, 36)
    z = two_arc_impedance(f, _P)
    polar = header.startswith("Index")
    rows = [
        [*([str(k)] if polar else []), f"{a:.10g}", f"{b:.10g}", f"{-c:.10g}"]
        + (
            [f"{abs(complex(b, c)):.10g}", f"{-np.degrees(np.angle(complex(b, c))):.10g}"]
            if polar
            else []
        )
        for k, (a, b, c) in enumerate(zip(f, z.real, z.imag))
    ]
    path = tmp_path / "spellings.csv"
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    ds = read(path, format="impedance-text")
    np.testing.assert_allclose(ds["z_real"].values, z.real, rtol=1e-8)
    np.testing.assert_allclose(ds["z_imag"].values, z.imag, rtol=1e-8)


@pytest.mark.parametrize("units", ["Hz\tOhm\tOhm", "Hz\tkOhm\tkOhm", "[Hz]\t[Ω]\t[Ω]"])
def test_names_row_then_units_row(tmp_path, units):
    f = np.geomspace(1e5, 0.1, 20)
    z = two_arc_impedance(f, _P)
    scale = 1e-3 if "kOhm" in units else 1.0
    body = "\n".join(
        f"{a:.10g}\t{b * scale:.10g}\t{c * scale:.10g}" for a, b, c in zip(f, z.real, z.imag)
    )
    path = tmp_path / "units_row.txt"
    path.write_text(f"Freq\tZ'\tZ''\n{units}\n{body}\n", encoding="utf-8")
    ds = read(path, format="impedance-text")
    np.testing.assert_allclose(ds["z_real"].values, z.real, rtol=1e-8)
    np.testing.assert_allclose(ds["z_imag"].values, z.imag, rtol=1e-8)


def test_modulus_without_phase_is_refused(tmp_path):
    from charsuite.exceptions import ReaderError

    f = np.geomspace(1e5, 0.1, 12)
    z = two_arc_impedance(f, _P)
    path = tmp_path / "modulus.csv"
    path.write_text("Frequency (Hz),|Z| (Ohm)\n" + "\n".join(f"{a},{b}" for a, b in zip(f, abs(z))))
    with pytest.raises(ReaderError, match=r"does not name frequency, Z' and Z'' \(or \|Z\|") as e:
        read(path, format="impedance-text")
    assert "modulus.csv" in str(e.value)


@pytest.mark.parametrize(
    "head, sep",
    [("f,-Z',-Z''", ","), ("f, Z', -Z''", ","), ("f/Hz\tZ'/Ohm\t-Z''/Ohm", "\t"),
     ("Freq [Hz];Z' [Ohm];-Z'' [Ohm]", ";")],
)  # fmt: skip
def test_headers_naming_minus_z_columns(tmp_path, head, sep):
    """Issue 13: impedance CSVs with f, Z', -Z''-style headers are recognised; a real
    column headed -Z' holding positive values is Z' (recorded)."""
    from charsuite.io import read

    f = np.logspace(4, -1, 11)
    z = 10 + 50 / (1 + 1j * 2 * np.pi * f * 50 * 1e-4)
    rows = [sep.join(f"{v:.6g}" for v in (fk, zk.real, -zk.imag)) for fk, zk in zip(f, z)]
    path = tmp_path / "eis.csv"
    path.write_text(head + "\n" + "\n".join(rows) + "\n")
    ds = read(path)
    assert ds.attrs["format"] == "impedance-text"
    np.testing.assert_allclose(ds.z_real.values, z.real, rtol=1e-5)
    np.testing.assert_allclose(ds.z_imag.values, z.imag, rtol=1e-5)
    if head.startswith("f,-Z'"):
        assert "as is" in ds.attrs["metadata"]["z_real_in_file"]
