"""Run benchmarks: ``python -m benchmarks [area[:case] ...]`` (default: all)."""

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


def main(argv: list[str]) -> int:
    selected = argv or [m.removeprefix("bench_") for m in _modules()]
    rows = []
    for sel in selected:
        area, _, only = sel.partition(":")
        module = f"bench_{area}"
        cases = importlib.import_module(f"benchmarks.{module}").CASES
        for name, case in cases.items():
            if only and name != only:
                continue
            base = _run(module, name, "baseline")
            targ = _run(module, name, "target")
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
                f"\n    {case.description}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
