"""``charsuite formats``."""

from __future__ import annotations

import click

from charsuite.cli._common import emit_json, json_option


@click.command("formats")
@json_option
def cli(json_path: str | None) -> None:
    """List the supported file formats."""
    import dataclasses

    from charsuite.io import list_formats

    specs = list_formats()
    if json_path is not None:
        emit_json({n: dataclasses.asdict(s) for n, s in specs.items()}, json_path)
        if json_path == "-":
            return
    for spec in sorted(specs.values(), key=lambda s: (s.technique, s.name)):
        click.echo(
            f"{spec.technique:12s} {spec.name:16s} {' '.join(spec.extensions):28s} "
            f"{spec.description}"
        )
