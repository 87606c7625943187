"""``charsuite sims ...`` commands (parse, call :mod:`charsuite.sims`, write)."""

from __future__ import annotations

import click


@click.group("sims")
def cli() -> None:
    """sims commands; see `charsuite sims --help`."""
