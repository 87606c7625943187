"""The charsuite error and warning tree.

Every error is a :class:`CharsuiteError` and also the built-in exception that fits,
so ``except ValueError`` keeps working for callers who do not know charsuite.
Messages say which file, what was found, what was expected and what to do.

The command-line interface catches :class:`CharsuiteError`, prints its message on one
line and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AmbiguousFormatError",
    "BudgetError",
    "CharsuiteError",
    "CharsuiteWarning",
    "ConvergenceError",
    "DataError",
    "Interrupted",
    "MissingDependencyError",
    "OutputError",
    "OutputExistsError",
    "ParameterError",
    "ParameterWarning",
    "ReaderError",
    "UnknownFormatError",
]


def _where(path: str | Path | None) -> str:
    return f"{path}: " if path is not None else ""


class CharsuiteError(Exception):
    """Base class of every error charsuite raises on purpose.

    Parameters
    ----------
    message : str
        Full sentence(s): what was found, what was expected, what to do.
    path : str or Path, optional
        The file concerned; it is prefixed to the message.

    Attributes
    ----------
    path : Path or None
        The file concerned.
    message : str
        The message without the path prefix.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.message = message
        super().__init__(f"{_where(path)}{message}")

    def one_line(self) -> str:
        """Return the message folded onto a single line (for the CLI)."""
        return " ".join(str(self).split())


class UnknownFormatError(CharsuiteError, ValueError):
    """No registered reader accepts the file.

    Attributes
    ----------
    candidates : tuple of str
        The names of the registered formats.
    """

    def __init__(
        self, message: str, *, path: str | Path | None = None, candidates: Sequence[str] = ()
    ) -> None:
        self.candidates = tuple(candidates)
        super().__init__(message, path=path)


class AmbiguousFormatError(CharsuiteError, ValueError):
    """More than one reader claims the file by content; pass ``format=`` explicitly.

    Attributes
    ----------
    candidates : tuple of str
        The formats that claimed the file.
    """

    def __init__(
        self, message: str, *, path: str | Path | None = None, candidates: Sequence[str] = ()
    ) -> None:
        self.candidates = tuple(candidates)
        super().__init__(message, path=path)


class ReaderError(CharsuiteError, OSError):
    """A reader recognised the format but the content is damaged or unsupported.

    Attributes
    ----------
    format : str or None
        Name of the reader that failed.
    original_error : BaseException or None
        The low-level exception, also chained as ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        format: str | None = None,
        original_error: BaseException | None = None,
    ) -> None:
        self.format = format
        self.original_error = original_error
        prefix = f"[{format}] " if format else ""
        super().__init__(prefix + message, path=path)

    # OSError.__init__ would otherwise reinterpret our arguments
    def __str__(self) -> str:
        return Exception.__str__(self)


class BudgetError(ReaderError):
    """Reading the file would allocate more than a safety limit allows.

    Raised before the allocation: the message names the limit and the environment
    variable (``CHARSUITE_MAX_MEMORY``, ``CHARSUITE_MAX_EXPANSION``, ``CHARSUITE_MAX_LINE``)
    that raises it. See :mod:`charsuite.io._budget`.
    """


class DataError(CharsuiteError, ValueError):
    """The data are readable but unsuitable for the requested analysis."""


class ParameterError(CharsuiteError, ValueError):
    """An option value is invalid; the message lists the allowed values."""


class ConvergenceError(CharsuiteError, RuntimeError):
    """An iterative fit did not converge."""


class OutputExistsError(CharsuiteError, FileExistsError):
    """An output file exists and ``force`` was not given."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class OutputError(CharsuiteError, OSError):
    """An output cannot be written (not a regular file, the input itself, no permission, disk full)."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class MissingDependencyError(CharsuiteError, ImportError):
    """An optional package needed for a feature is not installed."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived (raised in the main thread by the CLI's signal handlers).

    A ``BaseException`` like ``KeyboardInterrupt``, so ``except Exception`` blocks do not
    swallow it and every ``finally`` (temporary outputs) still runs; code that catches
    ``BaseException`` (Rust panics) must re-raise it.

    Attributes
    ----------
    signum : int
        The signal number (the CLI exits with ``128 + signum``).
    name : str
        ``"SIGINT"`` or ``"SIGTERM"``.
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(self.name)


class CharsuiteWarning(UserWarning):
    """Base class of charsuite warnings."""


class ParameterWarning(CharsuiteWarning):
    """A valid value outside the recommended range."""
