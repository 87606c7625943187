"""Provenance: the ``attrs["history"]`` list carried by every charsuite object."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from charsuite._version import __version__


def _jsonable(value: Any) -> Any:
    """Make a parameter value JSON-friendly (paths, numpy scalars, tuples)."""
    import numpy as np

    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"<array shape={value.shape}>"
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


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
        "parameters": _jsonable(dict(parameters or {})),
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
