"""``charsuite info FILE``."""

from __future__ import annotations

import click

from charsuite.cli._common import emit_json, force_option, format_option, json_option


@click.command("info")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@format_option
@json_option
@force_option
def cli(file: str, format_: str | None, json_path: str | None, force: bool) -> None:
    """Detect FILE's format and show its technique, axes and curated metadata."""
    from charsuite.io import info

    result = info(file, format=format_)
    if json_path is not None:
        emit_json(result, json_path, force=force)
        if json_path == "-":
            return
    click.echo(f"file:      {result.file}")
    click.echo(f"format:    {result.format}")
    click.echo(f"technique: {result.technique}")
    click.echo(f"dims:      {', '.join(f'{k}={v}' for k, v in result.dims.items())}")
    for name, c in result.coords.items():
        rng = f" [{c['min']:.6g} … {c['max']:.6g}]" if "min" in c else ""
        click.echo(f"  axis {name}: {c['size']} values{rng} {c['units'] or ''}")
    for name, v in result.variables.items():
        click.echo(f"  data {name}: {tuple(v['shape'])} {v['dtype']} {v['units'] or ''}")
    if result.metadata:
        click.echo("metadata:")
        for key, value in result.metadata.items():
            click.echo(f"  {key}: {value}")
