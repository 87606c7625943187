"""Run benchmarks: ``python -m benchmarks [--rounds N] [area[:case] ...]`` (default: all).

Each side runs in its own process. ``--rounds N`` alternates baseline and target N times
and keeps each side's best: a ratio near 1 is then not decided by which side ran while the
machine was slower (on a shared VM two single runs in a row differed by 17 %).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(p.stem for p in here.glob("bench_*.py"))


def _run(module: str, case: str, side: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._child", module, case, side],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    if out.returncode != 0:
        raise SystemExit(f"{module}:{case} {side} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _best(module: str, name: str, rounds: int) -> tuple[dict, dict]:
    """Baseline and target results, alternating ``rounds`` times; best time of each side."""
    runs: dict[str, list] = {"baseline": [], "target": []}
    for _ in range(max(rounds, 1)):
        for side in runs:
            runs[side].append(_run(module, name, side))
    base, targ = (min(runs[s], key=lambda r: r["best_s"]) for s in ("baseline", "target"))
    for side, best in (("baseline", base), ("target", targ)):
        best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs[side])
    return base, targ


def main(argv: list[str]) -> int:
    rounds = 1
    if argv[:1] == ["--rounds"]:
        rounds, argv = int(argv[1]), argv[2:]
    selected = argv or [m.removeprefix("bench_") for m in _modules()]
    rows = []
    for sel in selected:
        area, _, only = sel.partition(":")
        module = f"bench_{area}"
        cases = importlib.import_module(f"benchmarks.{module}").CASES
        for name, case in cases.items():
            if only and name != only:
                continue
            base, targ = _best(module, name, rounds)
            ratio = targ["best_s"] / base["best_s"] if base["best_s"] > 0 else float("inf")
            rows.append((f"{area}:{name}", case.description, base, targ, ratio))
            items = getattr(case, "items", 1)
            per = (
                f" | per item target {targ['best_s'] / items:.3g} s "
                f"(CPU {targ.get('cpu_s', float('nan')) / items:.3g} s), baseline "
                f"{base['best_s'] / items:.3g} s (CPU {base.get('cpu_s', float('nan')) / items:.3g} s)"
                f" ({items} items)"
                if items > 1
                else ""
            )
            print(
                f"{area}:{name:28s} target {targ['best_s']:.4g} s / baseline {base['best_s']:.4g} s"
                f" = {ratio:.3g}x{per} | peak RSS target {targ['peak_rss_mb']:.0f} MB, "
                f"baseline {base['peak_rss_mb']:.0f} MB | load {os.getloadavg()[0]:.1f}"
                f"{f' | best of {rounds} alternating rounds' if rounds > 1 else ''}"
                f"\n    {case.description}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
