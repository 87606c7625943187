"""Report test fixtures: one demo report per session, and a headless-Chromium page check.

The browser check: a harness page loads the report in an iframe (``--allow-file-access-
from-files`` makes the file:// iframe readable) and writes what it sees (every image's
``naturalWidth``, the tables per section) into its own DOM, which ``--dump-dom`` prints.
Console messages of the report (errors included) are printed on stderr by
``--enable-logging=stderr --v=0`` as ``CONSOLE`` lines; the page has no scripts, so any
such line is a failure. Chromium is the Debian ``chromium`` package (.ci/run installs it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

_HARNESS = """<!doctype html><html><body><pre id="out">pending</pre>
<iframe id="f" src="PAGE" style="width:1200px;height:800px"></iframe><script>
const f = document.getElementById('f');
f.onload = () => {
  const d = f.contentDocument;
  const imgs = [...d.images].map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);
  const sections = [...d.querySelectorAll('section')].map(s => ({
    step: s.dataset.step, status: s.dataset.status,
    tables: s.querySelectorAll('table.numbers').length,
    reason: (s.querySelector('.reason') || {}).textContent || null}));
  document.getElementById('out').textContent = JSON.stringify({imgs, sections});
};
</script></body></html>"""


def chromium() -> str | None:
    """Path of the chromium binary; skip (or fail under CI=true) when there is none."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI=true (.ci/run installs it)")
        pytest.skip("no chromium (apt-get install chromium) on this machine")
    return exe


def render(index: Path, harness_dir: Path) -> tuple[dict, list[str]]:
    """Return (what the harness saw, console lines that come from the page)."""
    harness = harness_dir / "harness.html"
    harness.write_text(_HARNESS.replace("PAGE", index.resolve().as_uri()), encoding="utf-8")
    profile = harness_dir / "profile"
    cmd = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        f"--user-data-dir={profile}", "--allow-file-access-from-files",
        "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000",
        "--dump-dom", harness.resolve().as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    match = re.search(r'<pre id="out">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"chromium printed no DOM (rc {proc.returncode}): {proc.stderr[-2000:]}"
    text = html.unescape(match.group(1))
    assert text != "pending", "the report did not finish loading in the browser"
    page = index.resolve().as_uri()
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line and page in line]
    return json.loads(text), console


@pytest.fixture
def render_page():
    """``render_page(index, workdir) -> (seen, console lines)``."""
    return render


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory):
    """``(outdir, summary dict, DemoResult)`` of ``run_demo`` with two worker processes."""
    from charsuite.demo import run_demo

    out = tmp_path_factory.mktemp("demo") / "out"
    result = run_demo(out, jobs=2)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return out, summary, result
