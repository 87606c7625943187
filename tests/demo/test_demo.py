import json

from charsuite.cli import main
from charsuite.demo import STEPS, run_demo


def test_demo_writes_report(tmp_path):
    result = run_demo(tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text()
    assert len(result.sections) == len(STEPS)
    for title in result.sections:
        assert title in index
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sample"]["film_thickness_nm"] == 600.0
    # every generated input file is readable by the registry
    files = summary["sections"]["Input files and detected formats"]["files"]
    assert all("not readable" not in v for v in files.values()), files


def test_demo_cli_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["--quiet", "demo", "--out", str(out)]) == 0
    assert main(["--quiet", "demo", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["--quiet", "demo", "--out", str(out), "--force"]) == 0
