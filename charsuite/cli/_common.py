"""Shared CLI pieces: options, JSON output, progress bars."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

# The real stdout while ``main`` routes human text to stderr (``--json -``); see
# ``charsuite.cli._json_on_stdout_only``.
JSON_STDOUT: Any = None


class Quantity(click.ParamType):
    """A physical option: a number with a unit (``0.79mg``, ``600nm``), bare = ``unit``.

    Parsing is :func:`charsuite.model.parse_quantity` (pint); a bad value raises
    :class:`~charsuite.exceptions.ParameterError` (one line, exit 2).
    """

    name = "quantity"

    def __init__(self, unit: str) -> None:
        self.unit = unit

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        """Return the value as a float in :attr:`unit`."""
        from charsuite.model import parse_quantity

        if value is None:
            return None
        label = param.opts[0] if param is not None and param.opts else "value"
        return parse_quantity(value, self.unit, name=label)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        """Show the default unit in ``--help``."""
        return f"QTY[{self.unit.replace('**', '^')}]"


def renamed_option(old: str, new: str, *, dest: str, type: click.ParamType) -> Callable:
    """Keep ``old`` working as a hidden, deprecated spelling of the option ``new``.

    The command receives the value under ``dest`` (the name of ``new``); using ``old`` prints a
    one-line deprecation notice on stderr. Given both, ``new`` wins.

    Parameters
    ----------
    old, new : str
        The former and the current option names, e.g. ``"--film-thickness"``, ``"--thickness"``.
    dest : str
        Keyword argument of the command that ``new`` fills.
    type : click.ParamType
        The type of ``new`` (the same parsing applies to ``old``).

    Returns
    -------
    callable
        A decorator for the command function (place it with the command's options).
    """
    alias = "_renamed_" + old.lstrip("-").replace("-", "_")

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(alias, None)
            if value is not None:
                click.echo(f"charsuite: warning: {old} is deprecated; use {new}", err=True)
                if kwargs.get(dest) is None:
                    kwargs[dest] = value
            return func(*args, **kwargs)

        return click.option(old, alias, type=type, default=None, hidden=True)(wrapper)

    return decorator


def json_option(func: Callable) -> Callable:
    """``--json PATH`` (``-`` for stdout) on a computing command."""
    return click.option(
        "--json",
        "json_path",
        type=click.Path(dir_okay=False, allow_dash=True),
        default=None,
        help="Write the result as JSON to PATH ('-' for stdout).",
    )(func)


def plot_option(help: str = "Write the figure (PNG).") -> Callable[[Callable], Callable]:
    """``--plot PATH``: write the command's figure (``plot_path`` argument)."""
    return click.option(
        "--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help=help
    )


def force_option(func: Callable) -> Callable:
    """``--force``: allow replacing existing outputs."""
    return click.option("--force", is_flag=True, help="Overwrite existing output files.")(func)


def format_option(func: Callable) -> Callable:
    """``--format NAME``: bypass format detection."""
    return click.option(
        "--format", "format_", default=None, help="Input format name (see `charsuite formats`)."
    )(func)


def emit_json(data: Any, json_path: str | None, *, force: bool = False) -> None:
    """Write ``data`` (a Result or dict) as JSON to ``json_path`` (``-`` = stdout)."""
    if json_path is None:
        return
    from charsuite.io import write_text
    from charsuite.model import jsonable

    text = json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False)
    if json_path == "-":
        click.echo(text, file=JSON_STDOUT)
    else:
        write_text(Path(json_path), text + "\n", force=force)


def is_quiet(ctx: click.Context | None = None) -> bool:
    """True with ``--quiet`` or when stderr is not a terminal."""
    ctx = ctx or click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("quiet"))
    return quiet or not sys.stderr.isatty()


@contextlib.contextmanager
def progress(description: str, *, total: float | None = None) -> Iterator[Callable[..., None]]:
    """Yield ``update(advance=1, total=None, description=None)`` drawing a rich bar.

    The bar is hidden when quiet (``--quiet`` or not a TTY); ``update`` is then a no-op.
    Pass ``update`` as the ``progress=`` callback of API functions.
    """
    if is_quiet():
        yield lambda *a, **k: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task(description, total=total)

        def update(advance: float = 1, total: float | None = None, description: str | None = None):
            kwargs: dict[str, Any] = {"advance": advance}
            if total is not None:
                kwargs["total"] = total
            if description is not None:
                kwargs["description"] = description
            bar.update(task, **kwargs)

        yield update


def status(message: str) -> None:
    """Print a status line on stderr unless quiet."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root().obj if ctx else None
    if not (root and root.get("quiet")):
        click.echo(message, err=True)
