"""``charsuite composition ...`` commands (parse, call :mod:`charsuite.composition`, write)."""

from __future__ import annotations

import click


@click.group("composition")
def cli() -> None:
    """composition commands; see `charsuite composition --help`."""
