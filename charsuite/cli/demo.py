"""``charsuite demo``: generate an example sample, then ``charsuite report`` on it."""

from __future__ import annotations

from pathlib import Path

import click

from charsuite.cli._common import emit_json, force_option, is_quiet, json_option, status


@click.command("demo")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("charsuite-demo"),
    show_default=True,
    help="Output folder.",
)
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes for the report steps.")  # fmt: skip
@force_option
@json_option
def cli(out: Path, jobs: int, force: bool, json_path: str | None) -> None:
    """Generate an example NMC811 thin-film sample and run `charsuite report` on it.

    Writes instrument files and data/sample.toml, then figures (PNG, PDF), summary.json
    and index.html; a rerun with --force reuses unchanged steps from OUT/cache.
    """
    from charsuite.demo import run_demo

    result = run_demo(out, force=force, jobs=jobs, progress=not is_quiet())
    emit_json(result, json_path, force=force)
    report_status(result, "charsuite demo")


def report_status(result, prog: str) -> None:
    """One status line; a failed step makes the command exit 2 with a one-line summary."""
    status(f"{prog}: {len(result.steps)} steps written to {result.outdir}")
    status(f"open {result.index_html} in a browser; all numbers are in {result.summary_json}")
    if result.failed:
        from charsuite.exceptions import DataError

        reasons = "; ".join(f"{k}: {v}" for k, v in result.failed.items())
        # the page and summary.json are written; main() prints this one line and exits 2
        raise DataError(f"{len(result.failed)} step(s) failed: {reasons}")
