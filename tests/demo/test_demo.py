"""`charsuite demo` = generate the sample's files + sample.toml, then the report pipeline."""

import json
import tomllib

from charsuite.cli import main
from charsuite.report import load_spec


def test_demo_cli_writes_toml_and_report_then_refuses_and_reuses(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["--quiet", "demo", "--out", str(out), "--jobs", "1"]) == 0
    toml = out / "data" / "sample.toml"
    tomllib.loads(toml.read_text(encoding="utf-8"))  # valid TOML
    spec = load_spec(toml)  # and valid for the report (same checks as a user's file)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["toml"] == str(toml.resolve())
    assert set(summary["steps"]) == set(spec.steps())
    assert all(s["status"] == "ok" for s in summary["steps"].values())
    assert summary["sample"]["film_thickness_nm"] == 600.0
    # no overwrite without --force; with --force every step comes from the cache
    assert main(["--quiet", "demo", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["--quiet", "demo", "--out", str(out), "--force"]) == 0
    again = json.loads((out / "summary.json").read_text())
    assert all(s["cached"] for s in again["steps"].values())
    for step, data in summary["steps"].items():
        assert again["steps"][step]["numbers"] == data["numbers"]
