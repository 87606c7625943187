"""``charsuite report SAMPLE.toml --out DIR``: every analysis of one sample, as a web page."""

from __future__ import annotations

from pathlib import Path

import click

from charsuite.cli._common import emit_json, force_option, is_quiet, json_option, status


@click.command("report")
@click.argument("toml", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (index.html, summary.json, figures, cache).")  # fmt: skip
@click.option("--init", "init", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Write a starting TOML for the files in this folder.")  # fmt: skip
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes for independent steps.")  # fmt: skip
@click.option("--scheduler", default=None, help="dask.distributed address for the SIMS steps.")
@force_option
@json_option
def cli(toml, out, init, jobs, scheduler, force, json_path) -> None:
    """Analyse the files a sample TOML names; write DIR/index.html and DIR/summary.json.

    Steps are cached in DIR/cache by input SHA-256, options and charsuite version; a
    rerun (with --force to replace the page) redoes only changed steps. A failed step
    is shown in the page with its reason and makes the command exit 2.
    With --init FOLDER, write FOLDER/sample.toml (or TOML) from the files found there.
    """
    from charsuite.exceptions import ParameterError

    if init is not None:
        from charsuite.report import write_init

        path = write_init(init, toml, force=force)
        status(f"charsuite report: wrote {path}; edit it, then `charsuite report {path} --out DIR`")
        return
    if toml is None or out is None:
        raise ParameterError("give SAMPLE.toml and --out DIR (or --init FOLDER)")
    from charsuite.cli.demo import report_status
    from charsuite.report import build_report, load_spec

    spec = load_spec(toml)  # invalid TOML: one line, exit 2, nothing written
    result = build_report(spec, out, force=force, jobs=jobs, scheduler=scheduler,
                          progress=not is_quiet())  # fmt: skip
    emit_json(result, json_path, force=force)
    report_status(result, "charsuite report")
