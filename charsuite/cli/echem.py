"""``charsuite echem ...`` commands (parse, call :mod:`charsuite.echem`, write)."""

from __future__ import annotations

import click


@click.group("echem")
def cli() -> None:
    """echem commands; see `charsuite echem --help`."""
