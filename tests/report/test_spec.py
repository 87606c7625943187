"""Bad sample TOML: one line naming the key and its line number, exit 2, nothing written."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charsuite.cli import main
from charsuite.exceptions import ParameterError
from charsuite.report import load_spec

GOOD = """\
[sample]
name = "film"
film_thickness = "600 nm"
density = 3.8
area = "15 mm^2"
stack = ["NMC811:600 nm", "ITO:180nm", "glass"]

[xrd]
film = "scan.xy"
incidence_angle = "0.5 deg"
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "scan.xy").write_text("10 1\n10.1 2\n")
    return tmp_path


def test_good_toml_units_and_paths(folder):
    (folder / "s.toml").write_text(GOOD)
    spec = load_spec(folder / "s.toml")
    assert spec.sample["area_cm2"] == pytest.approx(0.15)
    assert spec.sample["density_g_cm3"] == 3.8
    assert spec.sample["stack"] == [("NMC811", 600.0), ("ITO", 180.0), ("glass", None)]
    assert spec.tables["xrd"]["incidence_angle"] == 0.5
    assert spec.tables["xrd"]["film"] == str((folder / "scan.xy").resolve())
    assert list(spec.steps()) == ["xrd"]


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (("incidence_angle", "incidence_angel"), 10, ["[xrd] incidence_angel", "unknown key"]),
        (('film = "scan.xy"', 'film = "nope.xy"'), 9, ["[xrd] film", "file not found"]),
        (('"0.5 deg"', "true"), 10, ["[xrd] incidence_angle", "expected a number"]),
        (('"0.5 deg"', '"0.5 kg"'), 10, ["[xrd] incidence_angle", "deg"]),
        (("density = 3.8", 'density = "3.8 g/cm^3"\ncolour = 1'), 5, ["[sample] colour"]),
        (('name = "film"', "name = 3"), 2, ["[sample] name", "expected a string"]),
        (("[xrd]", "[xrdd]"), 8, ["xrdd", "unknown table"]),
        (('name = "film"', 'name = "film'), 2, ["not valid TOML", "line 2"]),
    ],
)
def test_bad_toml_one_line_with_key_and_line(folder, tmp_path, capsys, edit, line, words):
    text = GOOD.replace(*edit)
    (folder / "s.toml").write_text(text)
    with pytest.raises(ParameterError) as info:
        load_spec(folder / "s.toml")
    msg = info.value.one_line()
    assert f"line {line}" in msg and all(w in msg for w in words), msg
    out = tmp_path / "report"
    assert main(["--quiet", "report", str(folder / "s.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"line {line}" in err[0]
    assert not out.exists()  # nothing written


def test_missing_required_and_array_of_tables(folder):
    (folder / "s.toml").write_text('[sample]\nname = "x"\n[[echem.eis]]\nlabel = "a"\n')
    with pytest.raises(ParameterError, match=r"line 3: \[echem.eis\]: missing required key 'file'"):
        load_spec(folder / "s.toml")
    (folder / "t.toml").write_text('[xrd]\nfilm = "scan.xy"\n')
    with pytest.raises(ParameterError, match=r"missing the \[sample\] table"):
        load_spec(folder / "t.toml")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_fuzz_never_crashes(folder, text):
    (folder / "f.toml").write_text(text, encoding="utf-8")
    try:
        load_spec(folder / "f.toml")
    except ParameterError as err:
        assert "\n" not in err.one_line()
