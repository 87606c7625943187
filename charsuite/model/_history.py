"""Provenance: the ``attrs["history"]`` list carried by every charsuite object."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from charsuite._version import __version__
from charsuite.model._jsonable import jsonable


def history_record(
    operation: str,
    *,
    function: str,
    parameters: Mapping[str, Any] | None = None,
    input_file: str | Path | None = None,
) -> dict[str, Any]:
    """Build one provenance record.

    Parameters
    ----------
    operation : str
        Short verb phrase, e.g. ``"read"`` or ``"subtract_background"``.
    function : str
        Fully qualified name of the public function that did the work.
    parameters : mapping, optional
        The options it was called with (made JSON-friendly).
    input_file : str or Path, optional
        The file the data came from, if any.

    Returns
    -------
    dict
        ``{operation, function, version, parameters, input_file, time}``; ``time`` is
        ISO 8601 with time zone (UTC).
    """
    return {
        "operation": operation,
        "function": function,
        "version": __version__,
        "parameters": jsonable(dict(parameters or {}), max_array=64),
        "input_file": str(input_file) if input_file is not None else None,
        "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def add_history(obj: Any, operation: str, *, function: str, parameters=None, input_file=None):
    """Return ``obj`` with one more provenance record in ``attrs["history"]``.

    The history list is copied, never mutated in place, so the input object keeps
    its own history (xarray shares ``attrs`` dicts between shallow copies).

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Object to annotate; a shallow copy is returned.
    operation, function, parameters, input_file
        See :func:`history_record`.

    Returns
    -------
    same type as ``obj``
    """
    out = obj.copy(deep=False)
    out.attrs = dict(obj.attrs)
    previous = list(obj.attrs.get("history", []))
    if input_file is None:
        input_file = next(
            (r.get("input_file") for r in reversed(previous) if r.get("input_file")), None
        )
    out.attrs["history"] = [
        *previous,
        history_record(operation, function=function, parameters=parameters, input_file=input_file),
    ]
    return out


def public_name(func: Any) -> str:
    """Return the public dotted name of ``func``: private module parts are dropped.

    Parameters
    ----------
    func : callable
        A function or method defined in charsuite.

    Returns
    -------
    str
        ``charsuite.xrd._lattice.refine_lattice`` → ``charsuite.xrd.refine_lattice``.

    Examples
    --------
    >>> public_name(public_name)
    'charsuite.model.public_name'
    """
    parts = [p for p in func.__module__.split(".") if not p.startswith("_")]
    return ".".join([*parts, func.__qualname__])


def _input_file(bound: Mapping[str, Any]) -> str | None:
    """The file the data came from: a path argument, else the newest one in a history."""
    for value in bound.values():
        # a path argument names an input file only when it is one (a formula such as
        # "LiNi0.8Mn0.1Co0.1O2" also has a "suffix")
        if isinstance(value, str | Path) and Path(value).suffix and Path(value).is_file():
            return str(value)
    for value in bound.values():
        attrs = getattr(value, "attrs", None)
        if isinstance(attrs, Mapping):
            if attrs.get("source_file"):
                return str(attrs["source_file"])
            for record in reversed(list(attrs.get("history", []))):
                if isinstance(record, Mapping) and record.get("input_file"):
                    return str(record["input_file"])
    return None


def _previous_history(bound: Mapping[str, Any]) -> list:
    for value in bound.values():
        attrs = getattr(value, "attrs", None)
        if isinstance(attrs, Mapping) and attrs.get("history"):
            return list(attrs["history"])
    return []


def _parameters(bound: Mapping[str, Any], exclude: tuple[str, ...]) -> dict[str, Any]:
    """Bound options without the data: arrays and labelled data are summarised, not copied."""
    out: dict[str, Any] = {}
    for name, value in bound.items():
        if name in exclude or name in {"self", "progress"}:
            continue
        if hasattr(value, "dims") and hasattr(value, "attrs"):
            value = f"<{type(value).__name__} dims={tuple(value.dims)}>"
        elif callable(value):
            value = getattr(value, "__name__", repr(value))
        out[name] = value
    return out


def provenance(operation: str | None = None, *, exclude: tuple[str, ...] = ()):
    """Decorate a public function so that its result records how it was made.

    The record (:func:`history_record`) holds the function's public name, the charsuite
    version, the bound parameters (defaults applied; data arguments summarised) and the input
    file (a path argument, or the newest ``input_file`` in a data argument's history). The
    history of the first data argument is carried over in front of it.

    * an xarray result gets the record appended to ``attrs["history"]``;
    * a frozen dataclass result with a ``history`` field gets a copy with the record appended;
    * a ``(result, info)`` tuple has its first element annotated.

    Parameters
    ----------
    operation : str, optional
        Short name of the step (default: the function's name).
    exclude : tuple of str, optional
        Parameters not to record (large or private inputs).

    Returns
    -------
    callable
        The decorator.

    Examples
    --------
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Out:
    ...     value: float
    ...     history: list = dataclasses.field(default_factory=list)
    >>> @provenance()
    ... def double(x, *, factor=2.0):
    ...     return Out(x * factor)
    >>> rec = double(1.5).history[-1]
    >>> rec["operation"], rec["parameters"]
    ('double', {'x': 1.5, 'factor': 2.0})
    """
    import functools
    import inspect

    def decorate(func):
        signature = inspect.signature(func)
        name = public_name(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            result = func(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            record = history_record(
                operation or func.__name__,
                function=name,
                parameters=_parameters(arguments, exclude),
                input_file=_input_file(arguments),
            )
            return _attach(result, record, _previous_history(arguments))

        return wrapper

    return decorate


def _attach(result: Any, record: dict, previous: list) -> Any:
    import dataclasses

    if isinstance(result, tuple) and result and not hasattr(result, "_fields"):
        return (_attach(result[0], record, previous), *result[1:])
    attrs = getattr(result, "attrs", None)
    if isinstance(attrs, Mapping) and hasattr(result, "dims"):
        out = result.copy(deep=False)
        out.attrs = dict(attrs)
        out.attrs["history"] = [*list(attrs.get("history", previous)), record]
        return out
    if dataclasses.is_dataclass(result) and hasattr(result, "history"):
        own = list(result.history or [])
        return dataclasses.replace(result, history=[*(own or previous), record])
    return result
