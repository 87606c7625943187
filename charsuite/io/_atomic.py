"""Atomic, non-clobbering output: write to a temporary file, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from charsuite.exceptions import OutputExistsError


def check_output(path: str | Path, *, force: bool = False) -> Path:
    """Return ``path`` as a Path, refusing to overwrite unless ``force``.

    Raises
    ------
    OutputExistsError
        If the file exists and ``force`` is false.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(
            "output file exists; choose another name or pass --force (force=True) to replace it",
            path=path,
        )
    if path.is_dir():
        raise OutputExistsError("output path is a directory; give a file name", path=path)
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the target folder; rename it onto ``path`` on success.

    Use it for libraries that write to a path themselves (h5py, matplotlib, tifffile).
    On an exception the temporary file is removed and ``path`` is untouched.

    Parameters
    ----------
    path : str or Path
        Final destination.
    force : bool
        Replace an existing file.
    """
    path = check_output(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not force and path.exists():  # appeared while we were writing
            raise OutputExistsError("output file appeared during writing; not replaced", path=path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` (UTF-8) atomically to ``path``; return the path."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` atomically to ``path``; return the path."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_bytes(data)
    return Path(path)
