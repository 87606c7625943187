"""Shared machinery of the red-team suite: run CLI cases in a capped worker process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RSS_LIMIT = 1.5e9


def tree(folder: Path) -> set[str]:
    """Every path under ``folder`` (relative), hidden ones included."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def run_worker(cases: list[dict], folder: Path, *, timeout: int = 120) -> dict[str, dict]:
    """Run ``cases`` (``name``, ``argv``, ``cwd``) in one capped process; results by name.

    A case that kills the worker (signal, abort) is reported with its return code.
    """
    spec = folder / "cases.json"
    spec.write_text(json.dumps(cases))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CHARSUITE_MAX_MEMORY", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.hostile._worker", str(spec), str(timeout)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 60,
        )
        out, rc = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out, rc = (
            (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""),
            "timeout",
        )
    results: dict[str, dict] = {}
    running = None
    for line in out.splitlines():
        rec = json.loads(line)
        if "start" in rec:
            running = rec["start"]
        else:
            results[rec["name"]] = rec
            running = None
    if running is not None:
        results[running] = {
            "name": running,
            "code": f"worker died (rc {rc})",
            "stderr": "",
            "stdout": "",
            "maxrss": 0,
        }
    return results
