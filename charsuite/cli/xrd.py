"""``charsuite xrd ...`` commands (parse, call :mod:`charsuite.xrd`, write)."""

from __future__ import annotations

import click


@click.group("xrd")
def cli() -> None:
    """xrd commands; see `charsuite xrd --help`."""
