"""Narrow and low 2θ ranges, rounded 2θ and intensities of unknown scale (issue 12 §5, issue 16).

Scans of a known mixture are cut, rounded or rescaled and written as plain text (no σ,
no unit: intensities of unknown kind). The analysis either answers or refuses with a
CharsuiteError; the answer does not depend on the intensity scale or on 2θ rounded to
the 0.005° of many exports.
"""

from __future__ import annotations

import numpy as np
import pytest

from charsuite.datasets.xrd import simulate_powder_mixture
from charsuite.exceptions import CharsuiteError
from charsuite.io import read
from charsuite.xrd import analyze, reference_pattern


@pytest.fixture(scope="module")
def mixture():
    x, y, truth = simulate_powder_mixture(phases={"LiMn2O4": 0.6, "Al2O3": 0.4}, seed=2)
    return x, y, truth


def _write(path, x, y):
    np.savetxt(path, np.c_[x, y], fmt="%.7g")  # text: intensities of unknown kind
    return read(path)


def _summary(res):
    return {
        p["name"]: (p["lattice"]["a"], p["lattice"]["a_err"]) for p in res.phases if p["lattice"]
    }


def test_reference_pattern_with_no_reflection_in_range_is_empty():
    # pymatgen raises ZeroDivisionError / unpack errors for an empty range
    ref = reference_pattern("Si", two_theta_range=(5.0, 20.0), cache=False)
    assert ref.two_theta.size == 0 and ref.hkl == []


@pytest.mark.parametrize("lo,hi", [(15, 20), (16, 22), (60, 63), (30, 40), (10, 16), (75, 80)])
def test_narrow_ranges_answer_or_refuse_clearly(tmp_path, mixture, lo, hi):
    x, y, _ = mixture
    m = (x >= lo) & (x <= hi)
    da = _write(tmp_path / "cut.xy", x[m], y[m])
    try:
        res = analyze(da, whole_pattern=False)
    except CharsuiteError as err:
        assert "cut.xy" in str(err)
        return
    skipped = res.corrections["phases_skipped"]
    assert skipped["range_deg"] == [pytest.approx(float(x[m][0])), pytest.approx(float(x[m][-1]))]
    for name in skipped["no_reflection_in_range"]:
        assert name not in [p["name"] for p in res.phases]


def test_low_range_lists_the_phases_it_skipped(tmp_path, mixture):
    x, y, _ = mixture
    m = x <= 16.5
    res = analyze(_write(tmp_path / "low.xy", x[m], y[m] + 5), whole_pattern=False)
    assert "Si" in res.corrections["phases_skipped"]["no_reflection_in_range"]


def test_two_theta_rounded_to_0005_gives_the_same_phases(tmp_path, mixture):
    x, y, _ = mixture
    a = analyze(_write(tmp_path / "a.xy", x, y), whole_pattern=False)
    b = analyze(_write(tmp_path / "b.xy", np.round(x / 0.005) * 0.005, y), whole_pattern=False)
    assert set(_summary(a)) == set(_summary(b)) == {"LiMn2O4", "Al2O3"}


@pytest.mark.parametrize("scale", [1e-3, 1e6])
def test_intensity_scale_of_unknown_kind_changes_nothing(tmp_path, mixture, scale):
    x, y, _ = mixture
    ref = _summary(analyze(_write(tmp_path / "ref.xy", x, y), whole_pattern=False))
    res = analyze(_write(tmp_path / "scaled.xy", x, y * scale), whole_pattern=False)
    got = _summary(res)
    assert set(got) == set(ref) == {"LiMn2O4", "Al2O3"}
    for name, (a, err) in got.items():
        assert abs(a - ref[name][0]) < max(err, ref[name][1])
        assert err == pytest.approx(ref[name][1], rel=0.2)
    assert res.corrections["estimate_sigma"]["k"] == pytest.approx(scale, rel=0.1)


def test_library_folder_skips_special_files_and_refuses_huge_cif(tmp_path):
    """A FIFO named *.cif is never opened; a CIF far larger than any structure is refused."""
    import os

    from charsuite.exceptions import CharsuiteError
    from charsuite.xrd import list_phases, load_structure

    lib = tmp_path / "lib"
    lib.mkdir()
    os.mkfifo(lib / "Pipe.cif")  # opening it for reading would block forever
    huge = lib / "Huge.cif"
    with open(huge, "wb") as fh:
        fh.truncate(40 * 2**20)  # sparse: 40 MiB declared, nothing written
    phases = list_phases(lib)
    assert "Pipe" not in phases and "Huge" in phases
    with pytest.raises(CharsuiteError, match="larger than any crystal structure"):
        load_structure(huge)
    with pytest.raises(CharsuiteError, match="not a regular file"):
        load_structure(lib / "Pipe.cif")
