"""``charsuite demo``."""

from __future__ import annotations

from pathlib import Path

import click

from charsuite.cli._common import emit_json, force_option, json_option, progress, status


@click.command("demo")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("charsuite-demo"),
    show_default=True,
    help="Output folder.",
)
@force_option
@json_option
def cli(out: Path, force: bool, json_path: str | None) -> None:
    """Generate an example NMC811 thin-film sample and run every module on it.

    Writes instrument files (data/), figures (PNG), numbers (JSON) and index.html.
    """
    from charsuite.demo import run_demo

    with progress("demo", total=None) as update:
        result = run_demo(out, force=force, progress=update)
    emit_json(result, json_path, force=force)
    status(f"charsuite demo: {len(result.sections)} sections written to {result.outdir}")
    status(f"open {result.index_html} in a browser; all numbers are in {result.summary_json}")
