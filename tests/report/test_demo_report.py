"""The demo sample through ``charsuite report``: numbers vs ground truth, cache, isolation."""

from __future__ import annotations

import json
import shutil

from charsuite.cli import main
from charsuite.report import build_report, load_spec

# number key -> (kind, tolerance); the tolerances already tested per technique:
# tests/xrd/test_generated.py, tests/composition/test_datasets_and_plots.py (4σ),
# tests/sims/test_calibrate.py, tests/sims/tomo/test_segment.py, tests/echem/test_eis*.py,
# tests/echem/test_cycling.py.
TOLERANCE = {
    "xrd": {"a_angstrom": ("abs", 0.003), "c_angstrom": ("abs", 0.01),
            "crystallite_size_nm": ("rel", 0.25)},
    "composition": {"amount:*": ("sigma", 4.0), "film_mass_ug": ("rel", 1e-9)},
    "sims": {"interface_scan:*": ("abs", 1.0), "interface_width:*": ("rel", 0.15),
             "segregated": ("eq", None)},
    "tomogram": {"region_volume_nm3": ("rel", 0.10), "regions": ("eq", None),
                 "drift_max_px": ("abs", 1.0)},
    "cycle_life": {"cycle_life_80": ("abs", 1), "mean_ce_pct": ("abs", 0.05)},
    "cycling": {"mass_ug:*": ("rel", 1e-9)},
    "eis": {"*": ("rel", 0.02)},
}  # fmt: skip


def _tolerance(step: str, key: str):
    table = TOLERANCE[step]
    if key in table:
        return table[key]
    prefix = key.split(":", 1)[0] + ":*"
    return table.get(prefix) or table.get("*")


def test_every_step_green_and_every_truth_met(demo_report):
    _, summary, result = demo_report
    assert result.failed == {}
    assert set(summary["steps"]) == {
        "xrd", "composition", "sims", "tomogram", "cycling", "cycle_life", "dqdv", "eis",
    }  # fmt: skip
    checked = 0
    for step, truth in summary["truth"].items():
        numbers = {n["key"]: n for n in summary["steps"][step]["numbers"]}
        for key, true in truth.items():
            assert key in numbers, f"{step}: {key} (ground truth {true}) missing from the page"
            row, (kind, tol) = numbers[key], _tolerance(step, key)
            value = row["value"]
            if kind == "eq":
                assert value == true, (step, key)
            elif kind == "abs":
                assert abs(value - true) <= tol, (step, key, value, true)
            elif kind == "rel":
                assert abs(value / true - 1) <= tol, (step, key, value, true)
            else:
                assert abs(value - true) <= tol * row["uncertainty"], (step, key, value, true)
            checked += 1
    assert checked >= 25


def test_numbers_have_units_uncertainty_field_and_figures(demo_report):
    out, summary, _ = demo_report
    for step in summary["steps"].values():
        assert step["numbers"] and step["figures"]
        for row in step["numbers"]:
            assert set(row) == {"key", "label", "value", "uncertainty", "unit", "table"}
            assert isinstance(row["value"], int | float | bool | str | None)
        for fig in step["figures"]:
            assert (out / fig["png"]).stat().st_size > 1000
            assert (out / fig["pdf"]).read_bytes()[:5] == b"%PDF-"
            assert set(fig["inputs"]) <= {i["path"] for i in step["inputs"]}
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "{" not in page.split("<body>", 1)[1].replace("{}", "")  # no raw JSON in cells
    assert page.count("sha256") >= sum(len(s["figures"]) for s in summary["steps"].values())


def test_rerun_reuses_cache_and_a_changed_file_redoes_only_its_step(demo_report, tmp_path):
    out, _, _ = demo_report
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    toml = copy / "data" / "sample.toml"
    again = build_report(toml, copy, force=True)
    assert set(again.steps.values()) == {"cached"}, again.steps
    sub = copy / "data" / "xrd_substrate_gi.xrdml"
    sub.write_bytes(sub.read_bytes() + b"\n")  # same scan, new bytes: new sha256
    third = build_report(toml, copy, force=True)
    assert third.steps["xrd"] == "ok"
    assert {k for k, v in third.steps.items() if v != "cached"} == {"xrd"}
    assert len(list((copy / "cache").glob("xrd-*"))) == 1  # the stale entry was pruned


def test_page_and_summary_refuse_overwrite(demo_report, tmp_path, capsys):
    out, _, _ = demo_report
    toml = out / "data" / "sample.toml"
    before = (out / "index.html").read_bytes()
    assert main(["--quiet", "report", str(toml), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "index.html").read_bytes() == before


def _failing_toml(tmp_path, demo_out):
    bad = tmp_path / "broken.xrdml"
    bad.write_text("<xrdMeasurements>not a scan</xrdMeasurements>\n")
    eis = load_spec(demo_out / "data" / "sample.toml").tables["echem.eis[]"][0]["file"]
    toml = tmp_path / "s.toml"
    toml.write_text(
        f'[sample]\nname = "x"\narea = "0.15 cm^2"\n[xrd]\nfilm = "broken.xrdml"\n'
        f"[[echem.eis]]\nfile = {json.dumps(eis)}\n"
    )
    return toml


def test_failing_step_is_isolated_and_exits_2(demo_report, tmp_path, capsys):
    out, _, _ = demo_report
    toml = _failing_toml(tmp_path, out)
    dest = tmp_path / "r"
    assert main(["--quiet", "report", str(toml), "--out", str(dest), "--jobs", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("charsuite: error: 1 step(s) failed: xrd:")
    summary = json.loads((dest / "summary.json").read_text())
    assert summary["steps"]["eis"]["status"] == "ok"
    xrd = summary["steps"]["xrd"]
    assert xrd["status"] == "failed" and "\n" not in xrd["reason"] and xrd["reason"]
    assert "internal error" not in xrd["reason"]
    page = (dest / "index.html").read_text()
    assert "Failed: " in page and "data-status='failed'" in page
    assert not list((dest / "cache").glob("xrd-*"))  # failures are not cached


def test_init_on_the_demo_files_gives_a_runnable_toml(demo_report, tmp_path):
    from charsuite.report import detect, write_init

    out, _, _ = demo_report
    kinds = {row["kind"] for row in detect(out / "data").files.values()}
    assert {"xrd", "composition", "sims", "cycling", "eis"} <= kinds
    toml = write_init(out / "data", tmp_path / "init.toml")
    spec = load_spec(toml)
    assert set(spec.steps()) == {"xrd", "composition", "sims", "cycling", "eis"}
    assert len(spec.tables["echem.eis[]"]) == 3 and len(spec.tables["echem.cycling[]"]) == 4
    assert spec.tables["composition"]["files"]["ERDA"].endswith("depth.total")


def test_page_shows_the_summary_numbers(demo_report):
    """What the reader sees equals summary.json (and so the truth) to the printed digits."""
    import html
    import re

    out, summary, _ = demo_report
    page = (out / "index.html").read_text(encoding="utf-8")
    shown = 0
    for step, body in re.findall(
        r"<section id='[^']*' data-step='([^']*)'.*?>(.*?)</section>", page, re.S
    ):
        cells = dict(
            re.findall(r"<tr data-key='([^']*)'><th>.*?</th><td class='num'>([^<]*)</td>", body)
        )
        for row in summary["steps"][html.unescape(step)]["numbers"]:
            text = cells[html.escape(row["key"], quote=True)]
            value, unc = row["value"], row["uncertainty"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            slack = max(abs(value) * 5e-4, 0.06 * unc if unc else 0.0, 1e-12)
            assert abs(float(text) - value) <= slack, (step, row["key"], text, value)
            shown += 1
    assert shown > 100
