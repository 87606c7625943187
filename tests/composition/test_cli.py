import json

import pytest

from charsuite.cli import main
from charsuite.datasets.composition import film_results


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    return film_results(tmp_path_factory.mktemp("film"), write_settings=True)


def test_combine_json(film, tmp_path, capsys):
    out = tmp_path / "c.json"
    files = film["files"]
    args = [
        "composition",
        "combine",
        "--erda",
        str(files["ERDA"]),
        "--pixe",
        str(files["PIXE"]),
        "--rbs",
        str(files["RBS"]),
        "--relabel",
        "ERDA:Mn=Ni+Mn+Co",
        "--target",
        "Li1.6Ni0.8Mn0.1Co0.1Ox",
        "--json",
        str(out),
    ]
    for rule in film["rules"]:
        args += ["--rule", rule]
    assert main(["--quiet", *args]) == 0
    doc = json.loads(out.read_text())
    assert doc["basis"] == "Ni+Mn+Co=1"
    assert doc["formula"].endswith("Ox")
    assert doc["oxygen_policy"].startswith("unknown")
    for el in ("Li", "Ni", "Mn", "Co"):
        entry = doc["elements"][el]
        truth = film["truth"]["amounts"][el]
        assert abs(entry["amount"] - truth) < 4 * entry["amount_err"], el
        assert {"amount", "amount_err", "at_pct", "at_pct_err", "source"} <= set(entry)
    assert "formula:" in capsys.readouterr().out
    assert main(["--quiet", *args]) == 2  # refuses to overwrite
    assert main(["--quiet", *args, "--force"]) == 0


def test_combine_charge_balance_stdout(film, capsys):
    files = film["files"]
    code = main(
        [
            "--quiet",
            "composition",
            "combine",
            "--erda",
            str(files["ERDA"]),
            "--pixe",
            str(files["PIXE"]),
            "--relabel",
            "ERDA:Mn=Ni+Mn+Co",
            "--rule",
            "Li from ERDA",
            "--rule",
            "Ni,Mn,Co ratios from PIXE",
            "--oxygen",
            "charge-balance",
            "--oxidation-states",
            "Ni=3",
            "--json",
            "-",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    doc = json.loads(text[text.index("{") :])
    assert "O" in doc["elements"] and "Ni+3" in doc["oxygen_policy"]


def test_capacity_and_loading(capsys):
    assert main(["composition", "capacity", "LiNi0.8Mn0.1Co0.1O2", "--json", "-"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out[out.index("{") :])
    assert round(doc["capacity_mAh_g"], 1) == 275.5
    assert {"formula", "molar_mass_g_mol", "electrons", "capacity_mAh_g"} <= set(doc)
    assert (
        main(
            [
                "composition",
                "loading",
                "--density",
                "3.8g/cm3",
                "--thickness",
                "600nm",
                "--area",
                "0.008cm2",
                "--json",
                "-",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    doc = json.loads(out[out.index("{") :])
    assert doc["mass_g"] == pytest.approx(1.824e-6)
    assert doc["loading_mg_cm2"] == pytest.approx(0.228)
    assert doc["thickness_nm"] == 600


def test_cli_errors(capsys):
    assert main(["composition", "capacity", "Li1.95Ni0.83Mn0.08Co0.09Ox"]) == 2
    assert "oxygen is unknown" in capsys.readouterr().err
    assert main(["composition", "capacity", "Li1.95Ni0.83Mn0.08Co0.09Ox", "--oxygen", "2:2.5"]) == 0
    assert (
        main(
            [
                "composition",
                "loading",
                "--density",
                "3.8 furlongs",
                "--thickness",
                "6",
                "--area",
                "1",
            ]
        )
        == 2
    )
    assert "is not of the dimension of g/cm**3" in capsys.readouterr().err
    assert main(["composition", "combine", "--rule", "Li from ERDA"]) == 2


def test_combine_from_one_sheet(tmp_path, capsys):
    from charsuite.datasets.composition import write_composition_sheet

    total = 1.95 + 1.0
    rows = [
        {
            "element": "Li",
            "quantity": "at_pct",
            "value": 100 * 1.95 / total,
            "uncertainty": 2.0,
            "unit": "at.%",
            "technique": "ERDA",
        },
        {
            "element": "Ni+Mn+Co",
            "quantity": "at_pct",
            "value": 100 / total,
            "uncertainty": 1.0,
            "unit": "at.%",
            "technique": "ERDA",
        },
    ] + [
        {
            "element": el,
            "quantity": "at_pct",
            "value": v,
            "uncertainty": 0.5,
            "unit": "at.%",
            "technique": "PIXE",
        }
        for el, v in (("Ni", 83.0), ("Mn", 8.0), ("Co", 9.0))
    ]
    sheet = write_composition_sheet(tmp_path / "all.toml", rows)
    assert (
        main(
            [
                "composition",
                "combine",
                "--sheet",
                str(sheet),
                "--rule",
                "Li from ERDA",
                "--rule",
                "Ni,Mn,Co ratios from PIXE",
                "--json",
                "-",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    doc = json.loads(out[out.index("{") :])
    assert doc["formula"] == "Li1.95Ni0.83Mn0.08Co0.09Ox"


def test_read_options_reach_the_reader(film, tmp_path):
    files = film["files"]
    base = [
        "--quiet",
        "composition",
        "combine",
        "--erda",
        str(files["ERDA"]),
        "--pixe",
        str(files["PIXE"]),
        "--relabel",
        "ERDA:Mn=Ni+Mn+Co",
        "--rule",
        "Li from ERDA",
        "--rule",
        "Ni,Mn,Co ratios from PIXE",
    ]
    plain, syst = tmp_path / "a.json", tmp_path / "b.json"
    assert main([*base, "--json", str(plain)]) == 0
    assert main([*base, "--read-option", "ERDA:systematic_pct=5", "--json", str(syst)]) == 0
    a = json.loads(plain.read_text())["elements"]["Li"]
    b = json.loads(syst.read_text())["elements"]["Li"]
    assert b["amount"] == pytest.approx(a["amount"])
    assert b["amount_err"] > a["amount_err"]
    assert main([*base, "--read-option", "ERDA:colour=blue"]) == 2


def test_show(film, capsys):
    assert main(["composition", "show", str(film["files"]["PIXE"]), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert "ppm_mass (PIXE, ppm)" in captured.err  # human text on stderr with --json -
    doc = json.loads(captured.out)  # stdout is only the JSON document
    ni = doc["variables"]["ppm_mass"]["layers"]["1"]["Ni"]
    assert ni["value"] > 1e5 and ni["uncertainty"] > 0


def test_loading_from_areal_density(capsys):
    args = [
        "composition",
        "loading",
        "--areal-density",
        "5645.66",
        "--formula",
        "LiNi0.8Mn0.1Co0.1O2",
        "--area",
        "0.008cm2",
        "--density",
        "3.8g/cm3",
        "--json",
        "-",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    doc = json.loads(out[out.index("{") :])
    assert doc["mass_g"] == pytest.approx(1.824e-6, rel=1e-4)
    assert doc["thickness_nm"] == pytest.approx(600.0, rel=1e-4)
    assert (
        main(
            [
                "composition",
                "loading",
                "--areal-density",
                "5645",
                "--formula",
                "Li1.95Ni0.83Mn0.08Co0.09Ox",
            ]
        )
        == 2
    )
    assert "unknown" in capsys.readouterr().err
    assert main(["composition", "loading", "--density", "3.8"]) == 2
    assert "missing --thickness, --area" in capsys.readouterr().err
