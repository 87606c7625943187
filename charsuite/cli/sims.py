"""``charsuite sims ...`` commands (parse, call :mod:`charsuite.sims`, write)."""

from __future__ import annotations

import click


@click.group("sims")
def cli() -> None:
    """sims commands; see `charsuite sims --help`."""


from charsuite.cli._sims_tomogram import mva, tomogram  # noqa: E402

cli.add_command(tomogram)
cli.add_command(mva)
