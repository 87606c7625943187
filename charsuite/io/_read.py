"""``read``/``info``: resolve the format (explicit > content > extension) and load."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from charsuite.exceptions import (
    AmbiguousFormatError,
    CharsuiteError,
    ReaderError,
    UnknownFormatError,
)
from charsuite.io._atomic import register_input
from charsuite.io._budget import TEXT_COST, check_bytes, human
from charsuite.io._contain import check_regular
from charsuite.io._registry import format_modules
from charsuite.model import Result, add_history

HEAD_BYTES = 4096


def list_formats() -> dict[str, Any]:
    """Return ``{name: FormatSpec}`` of every registered format.

    Returns
    -------
    dict of str to FormatSpec
        Each registered format's name mapped to its reader's ``SPEC``.
    """
    return {name: mod.SPEC for name, mod in format_modules().items()}


def _supported() -> str:
    return ", ".join(
        f"{s.name} ({'/'.join(s.extensions) or 'no extension'})" for s in list_formats().values()
    )


def _split_node(path: str | Path) -> tuple[Path, str | None]:
    """Split ``FILE.h5::/path/in/file`` into the file and the HDF5 node."""
    text = str(path)
    if "::" in text:
        file, node = text.split("::", 1)
        return Path(file), node or "/"
    return Path(text), None


def _check_input(path: Path) -> bytes:
    # stat before open: opening a FIFO blocks, /dev/zero never ends (io/_contain.py)
    check_regular(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as err:
        raise ReaderError(f"cannot open for reading ({err.strerror})", path=path) from err
    if not head:
        raise ReaderError("file is empty (0 bytes); re-export it from the instrument", path=path)
    return head


def resolve_format(path: str | Path, *, format: str | None = None) -> str:
    """Return the name of the format that will read ``path``.

    Order: explicit ``format``; then content sniffing (each reader's ``can_read``;
    the highest ``priority`` wins, ties broken by a matching extension); then the
    extension alone.

    Parameters
    ----------
    path : str or Path
        File to read; a ``FILE.h5::/node`` suffix naming an HDF5 node is ignored here.
    format : str, optional
        Registered format name to use instead of detection.

    Returns
    -------
    str
        Name of the registered format that will read ``path``.

    Raises
    ------
    UnknownFormatError
        If ``format`` is not registered, or no reader accepts the file.
    AmbiguousFormatError
        If several equally specific readers claim the file.
    ReaderError
        If the path is missing, a directory or empty.
    """
    path, _ = _split_node(path)
    modules = format_modules()
    if format is not None:
        if format not in modules:
            raise UnknownFormatError(
                f"format {format!r} is not registered; supported formats: {_supported()}",
                path=path,
                candidates=list(modules),
            )
        _check_input(path)
        return format
    head = _check_input(path)
    ext = path.suffix.lower()
    claimed = [name for name, mod in modules.items() if _safe_can_read(mod, path, head)]
    if claimed:
        top = max(modules[n].SPEC.priority for n in claimed)
        best = [n for n in claimed if modules[n].SPEC.priority == top]
        if len(best) > 1:
            by_ext = [n for n in best if ext in modules[n].SPEC.extensions]
            best = by_ext or best
        if len(best) == 1:
            return best[0]
        raise AmbiguousFormatError(
            f"several readers claim this file by content ({', '.join(best)}); "
            "pass format= (CLI: --format) to choose one",
            path=path,
            candidates=best,
        )
    by_ext = [name for name, mod in modules.items() if ext and ext in mod.SPEC.extensions]
    if len(by_ext) == 1:
        return by_ext[0]
    found = f"extension {ext!r}" if ext else "no extension"
    raise UnknownFormatError(
        f"no reader recognises this file (content not recognised, {found}); "
        f"supported formats: {_supported()}. If it is one of these, pass format=NAME; "
        "otherwise export the data as two- or three-column text",
        path=path,
        candidates=list(modules),
    )


def _safe_can_read(module: Any, path: Path, head: bytes) -> bool:
    try:
        return bool(module.can_read(path, head))
    except Exception:  # a sniffer must never decide the outcome by crashing
        return False


def read(path: str | Path, *, format: str | None = None, lazy: bool = False, **options: Any):
    """Read an instrument or charsuite file into a labelled xarray object.

    Parameters
    ----------
    path : str or Path
        The file; HDF5 nodes may be addressed as ``"cube.h5::/group/dataset"``.
    format : str, optional
        Registered format name (see :func:`list_formats`); sniffed when omitted.
    lazy : bool
        Return dask-backed arrays (native for large formats, otherwise chunked).
    **options
        Passed to the format's ``read`` (documented in each format module).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        With ``units`` on every variable and coordinate and the attributes of
        :mod:`charsuite.model.schema`, including a ``read`` record in ``history``.

    Raises
    ------
    UnknownFormatError, AmbiguousFormatError, ReaderError
    """
    file, node = _split_node(path)
    name = resolve_format(path, format=format)
    module = format_modules()[name]
    register_input(file)  # outputs may never replace an input (io/_atomic.py)
    if node is not None:
        options["node"] = node
    if not module.SPEC.lazy:  # eager readers hold the whole file and what it parses to
        size = file.stat().st_size
        check_bytes(
            size * TEXT_COST, what=f"reading this {human(size)} file", path=file, format=name
        )
    try:
        obj = module.read(file, lazy=lazy, **options)
    except CharsuiteError:
        raise  # already says what is wrong (bad option, damaged content, ...)
    except TypeError as err:
        if "unexpected keyword" in str(err):
            raise ReaderError(
                f"option not understood: {err}; see help({module.__name__}.read)",
                path=file,
                format=name,
            ) from err
        raise _wrap(err, file, name) from err
    except Exception as err:
        raise _wrap(err, file, name) from err
    if lazy and not module.SPEC.lazy:
        obj = obj.chunk()
    attrs = dict(obj.attrs)
    attrs.setdefault("technique", module.SPEC.technique)
    attrs["format"] = name
    attrs["source_file"] = str(file.resolve())
    attrs.setdefault("metadata", {})
    attrs.setdefault("original_metadata", {})
    attrs.setdefault("history", [])
    obj.attrs = attrs
    params = {"format": name, "lazy": lazy, **options}
    return add_history(
        obj, "read", function="charsuite.io.read", parameters=params, input_file=file.resolve()
    )


def _wrap(err: Exception, path: Path, name: str) -> ReaderError:
    """Turn an unexpected low-level failure into a ReaderError that says what to do."""
    detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return ReaderError(
        f"recognised as {name} but could not be read ({detail}); the file may be truncated "
        "or a variant this reader does not know. Re-export it, or pass another format=",
        path=path,
        format=name,
        original_error=err,
    )


@dataclasses.dataclass(frozen=True)
class FileInfo(Result):
    """What ``charsuite info`` reports about a file.

    Attributes
    ----------
    file : str
    format, technique : str
    kind : str
        ``"DataArray"`` or ``"Dataset"``.
    dims : dict
        ``{dim: size}``.
    variables : dict
        ``{name: {"dims", "shape", "dtype", "units"}}``.
    coords : dict
        ``{name: {"units", "min", "max", "size"}}`` (min/max for numeric coordinates).
    metadata : dict
        Curated metadata.
    """

    file: str
    format: str
    technique: str
    kind: str
    dims: dict
    variables: dict
    coords: dict
    metadata: dict


def info(path: str | Path, *, format: str | None = None) -> FileInfo:
    """Describe a file: detected format, technique, axes and curated metadata.

    Reads lazily, so large cubes are not loaded.

    Parameters
    ----------
    path : str or Path
        File to describe (``FILE.h5::/node`` selects an HDF5 node).
    format : str, optional
        Registered format name; default: detected (see :func:`resolve_format`).

    Returns
    -------
    FileInfo
        Resolved file path, format, technique, object kind, dimension sizes, variables
        (dims, shape, dtype, units), coordinates (units, size, finite min/max) and
        metadata.
    """
    import numpy as np
    import xarray as xr

    obj = read(path, format=format, lazy=True)
    ds = obj if isinstance(obj, xr.Dataset) else obj.to_dataset(name=obj.name or "data")
    variables = {
        str(k): {
            "dims": list(v.dims),
            "shape": list(v.shape),
            "dtype": str(v.dtype),
            "units": v.attrs.get("units"),
        }
        for k, v in ds.data_vars.items()
    }
    coords = {}
    for k, c in ds.coords.items():
        entry: dict[str, Any] = {"units": c.attrs.get("units"), "size": int(c.size)}
        if c.size and np.issubdtype(c.dtype, np.number):
            values = np.asarray(c.values, dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size:  # an all-NaN axis has no range to show
                entry["min"] = float(finite.min())
                entry["max"] = float(finite.max())
        coords[str(k)] = entry
    return FileInfo(
        file=str(Path(str(path).split("::")[0]).resolve()),
        format=obj.attrs["format"],
        technique=obj.attrs["technique"],
        kind=type(obj).__name__,
        dims={str(k): int(v) for k, v in ds.sizes.items()},
        variables=variables,
        coords=coords,
        metadata=dict(obj.attrs.get("metadata", {})),
    )
