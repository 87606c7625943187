"""Run hostile CLI cases in one process under an address-space cap; one JSON line per case.

Usage: ``python -m tests.hostile._worker CASES.json`` where the file holds
``[{"name", "argv", "cwd"}, ...]``. The cap (``RLIMIT_AS``, 3 GB) is set before charsuite
is imported; each case gets ``SIGALRM`` after ``timeout`` seconds. A crash (signal,
abort) kills the worker: the parent then knows which case was running from the last
``start`` line.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import signal
import sys

CAP = 3 * 10**9


class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
    with open(sys.argv[1]) as fh:
        cases = json.load(fh)
    timeout = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    import os

    from charsuite.cli import main as cli_main

    signal.signal(signal.SIGALRM, _alarm)
    for case in cases:
        print(json.dumps({"start": case["name"]}), flush=True)
        out, err = io.StringIO(), io.StringIO()
        os.chdir(case["cwd"])
        signal.alarm(timeout)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli_main(case["argv"])
        except Hang:
            code = "hang"
        except BaseException as exc:  # a bug: report it instead of dying
            code = f"raised {type(exc).__name__}: {exc}"
        finally:
            signal.alarm(0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(
            json.dumps(
                {
                    "name": case["name"],
                    "code": code,
                    "stdout": out.getvalue()[:20000],
                    "stderr": err.getvalue()[:20000],
                    "maxrss": rss,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
