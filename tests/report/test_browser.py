"""The report page in headless Chromium: images load, no console message, tables present."""

from __future__ import annotations

import json

from charsuite.cli import main


def _check(seen: dict, console: list[str]) -> None:
    assert console == [], console
    assert seen["imgs"], "no images in the page"
    broken = [src for src, complete, width in seen["imgs"] if not (complete and width > 0)]
    assert broken == [], broken
    for section in seen["sections"]:
        if section["status"] == "ok":
            assert section["tables"] >= 1, section
        else:
            assert section["reason"] and section["reason"].startswith("Failed: "), section


def test_demo_page_renders_in_chromium(demo_report, render_page, tmp_path):
    out, summary, _ = demo_report
    seen, console = render_page(out / "index.html", tmp_path)
    _check(seen, console)
    assert [s["step"] for s in seen["sections"]] == list(summary["steps"])
    n_figures = sum(len(s["figures"]) for s in summary["steps"].values())
    assert len(seen["imgs"]) == n_figures


def test_page_with_a_failed_step_renders(demo_report, render_page, tmp_path):
    out, _, _ = demo_report
    bad = tmp_path / "bad.csv"
    bad.write_text("frequency,nothing\n1,2\n")
    toml = tmp_path / "s.toml"
    eis = next(iter((out / "data" / "echem").glob("EIS 0/*/*.csv")))
    toml.write_text(
        f'[sample]\nname = "x"\n[[echem.eis]]\nfile = {json.dumps(str(eis))}\n'
        '[echem.cycle_life]\nfile = "bad.csv"\n'
    )
    assert main(["--quiet", "report", str(toml), "--out", str(tmp_path / "r")]) == 2
    seen, console = render_page(tmp_path / "r" / "index.html", tmp_path)
    _check(seen, console)
    assert {s["step"]: s["status"] for s in seen["sections"]} == {
        "cycle_life": "failed",
        "eis": "ok",
    }


def test_the_check_catches_a_broken_image_and_a_console_error(demo_report, render_page, tmp_path):
    out, _, _ = demo_report
    page = (out / "index.html").read_text(encoding="utf-8")
    broken = page.replace(
        "</body>", "<img src='cache/missing.png'><script>console.error('boom')</script></body>"
    )
    (out / "broken.html").write_text(broken, encoding="utf-8")
    try:
        seen, console = render_page(out / "broken.html", tmp_path)
    finally:
        (out / "broken.html").unlink()
    assert any("boom" in line for line in console)
    assert ["cache/missing.png", True, 0] in seen["imgs"]
