"""Run one side of one case in this process; print JSON with time and peak memory."""

from __future__ import annotations

import importlib
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def _use_revision(rev: str, workdir: Path) -> None:
    """Put ``charsuite`` as of git revision ``rev`` first on sys.path (nothing imported it yet)."""
    import io
    import subprocess
    import tarfile

    if "charsuite" in sys.modules:
        raise RuntimeError("charsuite was imported before the baseline revision was set up")
    root = Path(__file__).resolve().parent.parent
    blob = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", rev, "charsuite", "reference_data"],
        capture_output=True,
        check=True,
    ).stdout
    dest = workdir / f"rev-{rev}"
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    sys.path.insert(0, str(dest))


def main() -> None:
    module_name, case_name, side = sys.argv[1:4]
    case = importlib.import_module(f"benchmarks.{module_name}").CASES[case_name]
    with tempfile.TemporaryDirectory(prefix="charsuite-bench-") as tmp:
        if side == "baseline" and getattr(case, "baseline_rev", None):
            _use_revision(case.baseline_rev, Path(tmp))
        state = case.setup(Path(tmp))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fn = getattr(case, side)
        times, cpu = [], []
        for _ in range(case.repeat):
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            fn(state)
            times.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "best_s": min(times),
                "cpu_s": cpu[times.index(min(times))],
                "peak_rss_mb": peak / 1024,
                "setup_rss_mb": rss_before / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
