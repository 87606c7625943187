"""LaB6 (NIST SRM 660c) as a calibration standard, ``xrd calibrate --library`` and
``--instrument`` on identify / lattice. The standard scans are simulated by xrayutilities
(fundamental parameters, :mod:`charsuite.datasets.xrd_independent`), not by charsuite.xrd."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

#: Zero offset put into the simulated standard scans (deg).
ZERO = 0.083


@pytest.fixture(scope="module")
def lab6_scan(tmp_path_factory):
    """LaB6 at the SRM 660c cell, 15–120° 2θ, Kα1+Kα2, peaks shifted by ``ZERO``."""
    from charsuite.datasets.xrd import write_xy
    from charsuite.datasets.xrd_independent import independent_powder_scan

    x = np.arange(15.0, 120.0, 0.01)
    _, y, truth = independent_powder_scan({"LaB6": 1.0}, two_theta=x - ZERO, seed=5)
    path = write_xy(tmp_path_factory.mktemp("lab6") / "lab6.xy", x, y)
    return path, truth


def test_lab6_in_library_with_srm660c_cell():
    from charsuite.xrd import CERTIFIED_CELLS, list_phases, reference_pattern

    assert "LaB6" in list_phases()
    ref = reference_pattern("LaB6", two_theta_range=(15, 120))
    # NIST SRM 660c certificate: a = 0.4156826 nm at 22.5 °C (SRM 660b was 0.415691 nm)
    assert ref.cell[0] == pytest.approx(4.156826, abs=1e-6)
    assert CERTIFIED_CELLS["LaB6"]["a"] == pytest.approx(ref.cell[0], abs=1e-6)
    # strongest Cu Kα1 line (110) at 30.38°, (100) at 21.36°
    top = int(np.argmax(ref.intensity))
    assert tuple(sorted(ref.hkl[top])) == (0, 1, 1)
    assert ref.two_theta[top] == pytest.approx(30.384, abs=0.01)


@pytest.mark.slow
def test_lab6_zero_offset_from_xrayutilities_scan(lab6_scan):
    """The zero put into an xrayutilities LaB6 scan is found within 0.01° (axial asymmetry
    of the fundamental-parameter profile shifts fitted peak centres by a few mdeg)."""
    from charsuite.io import read
    from charsuite.xrd import calibrate_zero

    res = calibrate_zero(read(lab6_scan[0]), standard="LaB6")
    assert res.zero_offset_deg == pytest.approx(ZERO, abs=0.01)
    assert 0 < res.zero_offset_err_deg < 0.01


@pytest.mark.slow
def test_cli_calibrate_lab6_instrument_widths(lab6_scan, tmp_path):
    """`xrd calibrate --standard LaB6 -o` writes an instrument whose TCH width reproduces the
    FWHM of single pseudo-Voigt fits to the xrayutilities lines within 15 %."""
    from charsuite.cli import main
    from charsuite.io import read
    from charsuite.xrd import fit_peaks, load_instrument

    inst_path = tmp_path / "inst.json"
    out = tmp_path / "cal.json"
    args = ["--quiet", "xrd", "calibrate", str(lab6_scan[0]), "--standard", "LaB6"]
    assert main([*args, "-o", str(inst_path), "--json", str(out)]) == 0
    cal = json.loads(out.read_text())
    assert cal["zero_offset_deg"] == pytest.approx(ZERO, abs=0.01)
    inst = load_instrument(inst_path)
    assert inst.standard == "LaB6"
    da = read(lab6_scan[0])
    # isolated LaB6 lines (Kα1 component of the doublet fit)
    centres = [21.36, 30.38, 37.44, 43.51, 48.96, 53.99, 63.22, 67.55, 75.85]
    fits = fit_peaks(da.two_theta.values, da.values, [c + ZERO for c in centres], ka2_ratio=0.5)
    for p in fits:
        assert float(inst.fwhm_deg(p.two_theta)) == pytest.approx(p.fwhm, rel=0.15)


@pytest.mark.slow
def test_cli_calibrate_library_folder(lab6_scan, tmp_path, capsys):
    """--library adds a user CIF folder: a standard named only there is found; a standard in
    neither library is refused with the list of phases (exit 2)."""
    from charsuite.cli import main
    from charsuite.xrd import list_phases

    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(list_phases()["LaB6"], lib / "MyHexaboride.cif")
    out = tmp_path / "cal.json"
    base = ["--quiet", "xrd", "calibrate", str(lab6_scan[0])]
    code = main([*base, "--standard", "MyHexaboride", "--library", str(lib), "--json", str(out)])
    assert code == 0
    assert json.loads(out.read_text())["zero_offset_deg"] == pytest.approx(ZERO, abs=0.01)
    assert main([*base, "--standard", "MyHexaboride"]) == 2
    assert "not in the library" in capsys.readouterr().err


@pytest.mark.slow
def test_instrument_on_identify_and_lattice(lab6_scan, tmp_path):
    """--instrument on identify and lattice: the file's zero is applied (not refined) and
    the crystallite sizes use its per-line width; the refined cell stays at SRM 660c."""
    from charsuite.cli import main

    inst_path = tmp_path / "inst.json"
    base = ["--quiet", "xrd"]
    assert (
        main([*base, "calibrate", str(lab6_scan[0]), "--standard", "LaB6", "-o", str(inst_path)])
        == 0
    )
    zero = json.loads(inst_path.read_text())["instrument"]["zero_deg"]
    out = tmp_path / "lat.json"
    args = ["lattice", str(lab6_scan[0]), "--phase", "LaB6", "--instrument", str(inst_path)]
    assert main([*base, *args, "--json", str(out)]) == 0
    lat = json.loads(out.read_text())
    assert lat["lattice"]["a"] == pytest.approx(4.156826, abs=5e-4)
    assert lat["history"][-1]["parameters"]["zero_offset_deg"] == pytest.approx(zero)
    out = tmp_path / "id.json"
    args = ["identify", str(lab6_scan[0]), "--phases", "LaB6,Si,Al2O3", "--no-refine"]
    assert main([*base, *args, "--instrument", str(inst_path), "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert [p["name"] for p in res["phases"]] == ["LaB6"]
    assert res["corrections"]["zero_offset"]["value_deg"] == pytest.approx(zero)
