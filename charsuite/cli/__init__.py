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
    "report": (
        "charsuite.cli.report",
        "A sample TOML naming its files -> every analysis, index.html and summary.json.",
    ),
    "demo": ("charsuite.cli.demo", "Generate an example NMC811 sample and run every module on it."),
}


class FiniteFloat(click.ParamType):
    """A float option that refuses ``nan`` and ``inf`` (wraps click's float types)."""

    def __init__(self, inner: click.ParamType) -> None:
        self.inner = inner
        self.name = inner.name

    def convert(self, value, param, ctx):
        """Convert with the wrapped type, then refuse a non-finite result."""
        import math

        number = self.inner.convert(value, param, ctx)
        if isinstance(number, float) and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number

    def get_metavar(self, *args, **kwargs):
        """Show the wrapped type's metavar."""
        return self.inner.get_metavar(*args, **kwargs)


def _finite_type(t: click.ParamType) -> click.ParamType:
    if isinstance(t, click.types.FloatParamType):  # FLOAT and FloatRange
        return FiniteFloat(t)
    if isinstance(t, click.Tuple):
        t.types = [_finite_type(x) for x in t.types]
    return t


def _finite_floats(command: click.Command) -> None:
    """Make every float option of ``command`` (and its subcommands) refuse NaN and inf."""
    for param in command.params:
        param.type = _finite_type(param.type)
    for sub in getattr(command, "commands", {}).values():
        _finite_floats(sub)


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
        _finite_floats(module.cli)
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


def _raise_interrupted(signum: int, frame) -> None:
    from charsuite.exceptions import Interrupted

    raise Interrupted(signum)


@contextlib.contextmanager
def _signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`~charsuite.exceptions.Interrupted` for the command's duration."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in saved:
        signal.signal(s, _raise_interrupted)
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` of the CLI: ``charsuite: warning: ...`` on one line."""
    name = "" if issubclass(category, UserWarning) else f"{category.__name__}: "
    with contextlib.suppress(OSError, ValueError):  # stderr closed
        sys.stderr.write(f"charsuite: warning: {name}{_one_line(message)}\n")


@contextlib.contextmanager
def _quiet_diagnostics(debug: bool) -> Iterator[None]:
    """One-line warnings; third-party logging silenced (unless ``--debug``)."""
    import logging
    import warnings

    if debug:
        yield
        return
    saved_show, saved_disable = warnings.showwarning, logging.root.manager.disable
    warnings.showwarning = _show_warning
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        warnings.showwarning = saved_show
        logging.disable(saved_disable)


def _error(text: str) -> None:
    click.echo(f"charsuite: error: {_one_line(text)}", err=True)


def _interrupt_behind(exc: BaseException):
    """The :class:`~charsuite.exceptions.Interrupted` an exception was raised from, or None.

    A signal can land while Python runs code that wraps whatever it raises — a class body's
    ``__set_name__`` during a lazy import turns it into ``RuntimeError`` (seen with
    ``distributed`` imported by dask mid-export) — so the cause chain is searched.
    """
    from charsuite.exceptions import Interrupted

    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Interrupted):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _interrupted(sig) -> int:
    from charsuite.io import cleanup_temporaries

    cleanup_temporaries()
    click.echo(f"charsuite: interrupted by {sig.name}; unfinished outputs were removed", err=True)
    return 128 + sig.signum


def _run(args: list[str], debug: bool) -> int:
    from charsuite.exceptions import CharsuiteError, Interrupted
    from charsuite.io import guard_inputs

    try:
        with _signals(), _quiet_diagnostics(debug), _json_on_stdout_only(args), guard_inputs():
            cli.main(args=args, prog_name="charsuite", standalone_mode=False)
    except Interrupted as sig:
        return _interrupted(sig)
    except CharsuiteError as err:
        if debug:
            raise
        _error(err.one_line())
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as err:
        hint = ""
        if isinstance(err, click.UsageError) and err.ctx is not None:
            hint = f" (see: {err.ctx.command_path} --help)"
        _error(err.format_message() + hint)
        return 2
    except click.exceptions.Abort:
        _error("aborted")
        return 1
    except MemoryError:
        if debug:
            raise
        _error(
            "ran out of memory; lower CHARSUITE_MAX_MEMORY so that inputs are refused before "
            "they are loaded, or use a machine with more memory"
        )
        return 2
    except Exception as exc:
        sig = _interrupt_behind(exc)
        if sig is None:
            raise
        return _interrupted(sig)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status.

    0 ok; 2 charsuite or usage error (one line on stderr; ``--debug`` shows the traceback
    instead); 130 / 143 interrupted by SIGINT / SIGTERM (one line, temporary outputs
    removed, previous outputs intact); 1 a bug. Warnings are printed as one line
    ``charsuite: warning: ...`` and third-party logging is silenced unless ``--debug``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    return _run(args, "--debug" in args)


def entry() -> None:
    """Console-script entry point: exit with :func:`main`'s status.

    After an interrupt (130 / 143) the process leaves at once (``os._exit``, stdio
    flushed, outputs already removed): worker threads of the aborted command (a chunked
    export's writer pool) may be blocked on work the main thread will never hand them, and
    the interpreter's normal shutdown would wait for them. Seen once in CI: the one-line
    message was printed, then the process did not exit within 60 s.
    """
    import os
    import threading

    code = main()
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if code in (130, 143) and busy:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
