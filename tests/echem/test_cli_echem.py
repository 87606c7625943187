"""`charsuite echem cycles|dqdv|eis` in-process: exit codes, JSON keys, plots."""

import json

import pytest

from charsuite.cli import main
from charsuite.datasets.echem import write_squidstat_cycling, write_squidstat_eis


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    cyc = write_squidstat_cycling(
        root, windows=((3.0, 4.3), (1.5, 4.7)), cycles_per_window=3, points_per_half=40
    )
    eis = write_squidstat_eis(root)
    return cyc, eis


def test_cycles_json_and_plot(files, tmp_path, capsys):
    cyc, _ = files
    out, png = tmp_path / "c.json", tmp_path / "c.png"
    args = ["echem", "cycles", str(cyc["csv"]), "--density", "3.8", "--thickness", "600"]
    args += ["--area", "0.15", "--window-groups", "--json", str(out), "--plot", str(png)]
    assert main(args) == 0
    d = json.loads(out.read_text())
    for key in ("file", "mass_g", "cycles", "retention", "cycle_life_80", "definitions", "history"):
        assert key in d
    assert d["mass_g"] == pytest.approx(cyc["mass_g"])
    assert len(d["cycles"]) == 6
    assert d["cycles"][0]["discharge_mAh_g"] == pytest.approx(
        cyc["cycles"][0]["discharge_mAh"] / cyc["mass_g"], rel=1e-6
    )
    assert png.stat().st_size > 1000
    # existing outputs are not overwritten without --force
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


def test_cycles_mass_in_mg_and_stdout(files, capsys):
    cyc, _ = files
    mass_mg = cyc["mass_g"] * 1e3
    assert main(["echem", "cycles", str(cyc["csv"]), "--mass", str(mass_mg), "--json", "-"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mass_g"] == pytest.approx(cyc["mass_g"])


def test_cycles_zero_mass_is_an_error(files, capsys):
    cyc, _ = files
    assert main(["echem", "cycles", str(cyc["csv"]), "--mass", "0"]) == 2
    assert "mass" in capsys.readouterr().err


def test_dqdv(files, tmp_path, capsys):
    cyc, _ = files
    png = tmp_path / "d.png"
    args = ["echem", "dqdv", str(cyc["csv"]), "--cycle", "1", "--smooth", "0.02"]
    assert main([*args, "--plot", str(png), "--json", "-"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {r["direction"] for r in d["results"]} == {"charge", "discharge"}
    assert png.exists()
    assert main(["echem", "dqdv", str(cyc["csv"]), "--cycle", "99"]) == 2


def test_eis(files, tmp_path, capsys):
    _, eis = files
    out, png = tmp_path / "e.json", tmp_path / "e.png"
    args = ["echem", "eis", str(eis["csv"]), "--json", str(out), "--plot", str(png)]
    assert main(args) == 0
    d = json.loads(out.read_text())
    for key in ("file", "circuit", "parameters", "parameters_err", "area_normalized"):
        assert key in d
    assert "capacitances_F" in d and "lin_kk" in d and "history" in d
    assert d["area_normalized"]["R1_ohm_cm2"] == pytest.approx(eis["params_cm2"]["R1"], rel=0.02)
    assert d["lin_kk"]["valid"] is True
    capsys.readouterr()
    assert main(["echem", "eis", str(eis["csv"]), "--fix", "R0=100", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"]["R0"] == 100
    assert main(["echem", "eis", str(eis["csv"]), "--circuit", "R0-Q1"]) == 2
    args = ["echem", "eis", str(eis["csv"]), "--starts", "3", "--kk-valid-only", "--json", "-"]
    capsys.readouterr()
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["history"][-1]["parameters"]["n_starts"] == 3


def test_commands_refuse_other_kinds_of_data_in_one_line(files, capsys):
    cyc, eis = files
    for args in (
        ["echem", "eis", str(cyc["csv"])],
        ["echem", "drt", str(cyc["csv"])],
        ["echem", "cycles", str(eis["csv"])],
        ["echem", "dqdv", str(eis["csv"]), "--cycle", "1"],
    ):
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "not" in err[0], (args, err)


def test_eis_frequency_window_and_inductive_options(files, tmp_path):
    _, eis = files
    out = tmp_path / "e.json"
    args = ["echem", "eis", str(eis["csv"]), "--fmin", "1", "--fmax", "1e4", "--drop-inductive"]
    assert main([*args, "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    params = d["history"][-1]["parameters"]
    assert params["f_min"] == 1.0 and params["f_max"] == 1e4 and params["drop_inductive"]


def test_dqdv_step_bounded_and_finite(files, capsys):
    cyc, _ = files
    base = ["echem", "dqdv", str(cyc["csv"]), "--cycle", "1"]
    assert main([*base, "--step", "1e-12"]) == 2
    assert "limit of 1e+07" in capsys.readouterr().err
    assert main([*base, "--step", "nan"]) == 2
