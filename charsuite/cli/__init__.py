"""The ``charsuite`` command line: parse, call the public API, write. No science here.

Command groups are registered by module name and imported only when used, so
``charsuite --help`` stays fast. Tests call :func:`main` in-process.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence

import click

from charsuite._version import __version__

# name -> (module, one-line help). Each module defines a click command/group named ``cli``.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("charsuite.cli.info", "Detect a file's format and show its axes and metadata."),
    "formats": ("charsuite.cli.formats", "List the supported file formats."),
    "xrd": ("charsuite.cli.xrd", "GI-XRD: reduce scans, find peaks, identify phases, lattice."),
    "composition": (
        "charsuite.cli.composition",
        "RBS/ERDA/PIXE results to a formula, capacity and film loading.",
    ),
    "sims": ("charsuite.cli.sims", "ToF-SIMS: depth profiles, interfaces, co-localisation."),
    "echem": ("charsuite.cli.echem", "Electrochemistry: capacity, dQ/dV, retention, impedance."),
    "demo": ("charsuite.cli.demo", "Generate an example NMC811 sample and run every module on it."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the command names, without importing them."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module and return its ``cli``."""
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        return module.cli

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with their one-line help, without importing them."""
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="charsuite")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or status messages.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """charsuite: thin-film battery cathode characterisation, from instrument files to figures."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["quiet"] = quiet


def _wants_json_stdout(args: Sequence[str]) -> bool:
    """True when ``--json -`` (or ``--json=-``) asks for JSON on stdout."""
    pairs = zip(args, [*args[1:], None])
    return any(a == "--json=-" or (a == "--json" and b == "-") for a, b in pairs)


@contextlib.contextmanager
def _json_on_stdout_only(args: Sequence[str]) -> Iterator[None]:
    """With ``--json -``, everything but the JSON document goes to stderr.

    Human summaries are written with ``click.echo`` to ``sys.stdout``; redirecting that to
    stderr for the command's duration keeps stdout pure JSON (``| jq`` works), while
    :func:`charsuite.cli._common.emit_json` writes to the real stdout.
    """
    from charsuite.cli import _common

    if not _wants_json_stdout(args):
        yield
        return
    _common.JSON_STDOUT = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _common.JSON_STDOUT = None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 charsuite or usage error, 1 bug).

    A :class:`~charsuite.exceptions.CharsuiteError` prints one line on stderr and
    returns 2; ``--debug`` shows the traceback instead.
    """
    from charsuite.exceptions import CharsuiteError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        with _json_on_stdout_only(args):
            cli.main(args=args, prog_name="charsuite", standalone_mode=False)
    except CharsuiteError as err:
        if debug:
            raise
        click.echo(f"charsuite: error: {err.one_line()}", err=True)
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as err:
        err.show()
        return 2
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
