"""Containment: read only the named input, and only if it is a regular file.

* :func:`check_regular` — the input must be a regular file (a symlink is followed, but a
  FIFO, socket or device — ``/dev/zero``, a named pipe that would block forever — is
  refused before it is opened).
* :func:`companion` — a side file of the input (``<stem>_Metadata.csv``, a settings file) is
  read only when it is a small regular file in the input's own folder; anything else is
  ignored, so a side file can neither point elsewhere nor exhaust memory.
* :func:`check_hdf5` — an HDF5 file may not pull bytes from other files: datasets with
  external storage (``H5Pset_external``), virtual datasets and external links are refused;
  declared dataset sizes are checked against the bytes actually stored
  (:mod:`charsuite.io._budget`), so a 1 KB file declaring an 8 GB cube is refused before
  anything is allocated. HDF5 readers call it once, right after opening the file.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

from charsuite.exceptions import BudgetError, ReaderError
from charsuite.io._budget import check_bytes, expansion_limit, human, max_memory

__all__ = ["MAX_COMPANION_BYTES", "MAX_HDF5_OBJECTS", "check_hdf5", "check_regular", "companion"]

MAX_HDF5_OBJECTS = 200_000
# Side files hold a few rows of metadata (the largest seen: Arbin/BEEP ``_Metadata.csv``,
# about 2 kB); 1 MiB leaves three orders of magnitude and keeps a hostile one harmless.
MAX_COMPANION_BYTES = 2**20


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_regular(path: str | Path, *, format: str | None = None) -> os.stat_result:
    """Return the input's ``stat`` if it is a regular file (after following symlinks).

    Parameters
    ----------
    path : str or Path
        The input file.
    format : str, optional
        Reader name, for the error message.

    Returns
    -------
    os.stat_result

    Raises
    ------
    ReaderError
        If the path is missing, or is a FIFO, device, socket or directory.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError as err:
        raise ReaderError("no such file; check the path", path=path, format=format) from err
    except OSError as err:
        raise ReaderError(
            f"cannot be examined ({err.strerror}); check the path and permissions",
            path=path,
            format=format,
        ) from err
    if stat.S_ISDIR(st.st_mode):
        raise ReaderError(
            "is a directory, expected a file; pass one of the files inside it",
            path=path,
            format=format,
        )
    if not stat.S_ISREG(st.st_mode):
        via = " (through a symbolic link)" if path.is_symlink() else ""
        raise ReaderError(
            f"is {_kind(st.st_mode)}{via}, not a regular file; charsuite reads only regular "
            "files — copy the data to a file first",
            path=path,
            format=format,
        )
    return st


def companion(input_path: str | Path, side: str | Path) -> Path | None:
    """Return ``side`` if it may be read as a companion of ``input_path``, else None.

    A companion is read only if it is a regular file (not a FIFO, device or directory), is
    no larger than :data:`MAX_COMPANION_BYTES`, and resolves (symlinks followed) to the
    same folder as the input itself — so a side file cannot pull data from elsewhere.

    Parameters
    ----------
    input_path : str or Path
        The file the user named.
    side : str or Path
        The side file the reader would like to read.

    Returns
    -------
    Path or None
        ``side`` when it passes, otherwise None (the reader carries on without it).

    Examples
    --------
    >>> companion("/no/such/run.csv", "/no/such/run_Metadata.csv") is None
    True
    """
    side = Path(side)
    try:
        st = os.stat(side)
        same_folder = side.resolve().parent == Path(input_path).resolve().parent
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_COMPANION_BYTES or not same_folder:
        return None
    return side


def _dataset_problem(dset) -> str | None:
    """Why ``dset`` would read another file, or None."""
    if getattr(dset, "is_virtual", False):
        return "is a virtual dataset (its data live in other files)"
    try:
        if dset.id.get_create_plist().get_external_count() > 0:
            return "uses HDF5 external storage (its data live in another file)"
    except (AttributeError, ValueError):  # pragma: no cover - very old h5py
        pass
    return None


def _declared_bytes(dset) -> tuple[int, int]:
    """(declared bytes, stored bytes) of a dataset; (0, 0) for variable-length data."""
    import h5py

    dt = dset.dtype
    if dt.kind == "O" or h5py.check_vlen_dtype(dt) is not None:
        return 0, 0
    return int(dset.size) * dt.itemsize, int(dset.id.get_storage_size())


class _Walk:
    """Totals of one walk through an HDF5 file."""

    def chunk(self, name: str, dset) -> None:
        """Refuse a chunk larger than a quarter of the memory budget.

        HDF5 inflates a chunk whole to read any element of it, and a reader holds it about
        three times at once (filter buffer, chunk cache, the array), so the deflate ceiling
        of ~1032:1 that the HDF5 expansion ratio allows (:mod:`charsuite.io._budget`) must
        not apply to one giant chunk: 1 MB on disk would become 1 GiB in one allocation.
        """
        if dset.chunks is None or dset.dtype.kind == "O":
            return
        nbytes = math.prod(dset.chunks) * dset.dtype.itemsize
        if nbytes > max_memory() // 4:
            raise BudgetError(
                f"dataset {name} declares chunks of {human(nbytes)}, each inflated whole "
                f"(limit a quarter of the memory budget, {human(max_memory() // 4)}); raise "
                "CHARSUITE_MAX_MEMORY if the file is genuine",
                path=self.path,
                format=self.format,
            )

    def __init__(self, path: Path, format: str | None):
        self.path, self.format = path, format
        self.seen: set = set()
        self.declared = 0
        self.stored = 0

    def refuse(self, name: str, problem: str) -> ReaderError:
        return ReaderError(
            f"{name} {problem}; charsuite reads nothing outside the named file. Copy the "
            "data into the file (h5repack, or h5py: dataset[...] into a new file) and read that",
            path=self.path,
            format=self.format,
        )

    def dataset(self, name: str, dset) -> None:
        problem = _dataset_problem(dset)
        if problem:
            raise self.refuse(name, problem)
        declared, stored = _declared_bytes(dset)
        self.declared += declared
        self.stored += stored
        self.chunk(name, dset)
        if declared > expansion_limit(stored, cap=False, hdf5=True):
            raise BudgetError(
                f"dataset {name} declares {dset.shape} {dset.dtype} = {human(declared)} but "
                f"stores {human(stored)}; refused (limit {human(expansion_limit(stored, cap=False, hdf5=True))}). If "
                "the file is genuine, raise CHARSUITE_MAX_EXPANSION or CHARSUITE_MAX_MEMORY",
                path=self.path,
                format=self.format,
            )
        if dset.chunks:
            nbytes = int(dset.dtype.itemsize)
            for c in dset.chunks:
                nbytes *= int(c)
            check_bytes(
                nbytes, what=f"one chunk of dataset {name}", path=self.path, format=self.format
            )

    def group(self, prefix: str, group) -> None:
        import h5py

        stack = [(prefix, group)]
        while stack:
            where, g = stack.pop()
            for key in g:
                name = f"{where}/{key}"
                link = g.get(key, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    raise self.refuse(name, f"is an external link to {link.filename!r}")
                if isinstance(link, h5py.SoftLink):
                    continue  # points inside this file; its target is visited on its own
                obj = g.get(key)
                if obj is None or obj.id in self.seen:
                    continue
                self.seen.add(obj.id)
                if len(self.seen) > MAX_HDF5_OBJECTS:
                    raise BudgetError(
                        f"holds more than {MAX_HDF5_OBJECTS} objects; refused",
                        path=self.path,
                        format=self.format,
                    )
                if isinstance(obj, h5py.Dataset):
                    self.dataset(name, obj)
                elif isinstance(obj, h5py.Group):
                    stack.append((name, obj))


def check_hdf5(f, path: str | Path, *, format: str | None = None):
    """Return the open HDF5 file ``f`` if it reads no other file and declares what it stores.

    Readers call it right after opening: ``f = check_hdf5(h5py.File(path, "r"), path)``.
    On refusal ``f`` is closed.

    Walks every link once (soft links are not followed, external links are not opened):

    * an external link, a virtual dataset or a dataset with external storage →
      :class:`~charsuite.exceptions.ReaderError` (nothing outside the named file is read);
    * a dataset whose declared size exceeds the expansion limit of its stored bytes, a
      single chunk larger than the memory budget, or declared data summed over the file
      beyond the expansion limit of the file size → :class:`~charsuite.exceptions.BudgetError`.

    Parameters
    ----------
    f : h5py.File
        The file, open for reading.
    path : str or Path
        Its path (for the message and the file size).
    format : str, optional
        Reader name for messages.

    Returns
    -------
    h5py.File
        ``f``.

    Raises
    ------
    ReaderError, BudgetError

    Examples
    --------
    >>> import h5py, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "a.h5")
    >>> with h5py.File(p, "w") as f:
    ...     f["x"] = h5py.ExternalLink("/etc/passwd", "/")
    >>> check_hdf5(h5py.File(p, "r"), p)
    Traceback (most recent call last):
    ...
    charsuite.exceptions.ReaderError: ...is an external link to '/etc/passwd'...
    """
    try:
        _check_file(f, Path(path), format)
    except BaseException:
        f.close()
        raise
    return f


def _check_file(f, path: Path, format: str | None) -> None:
    walk = _Walk(path, format)
    walk.group("", f)
    size = path.stat().st_size
    if walk.declared > expansion_limit(max(size, walk.stored), cap=False, hdf5=True):
        raise BudgetError(
            f"datasets declare {human(walk.declared)} in a {human(size)} file; refused "
            f"(limit {human(expansion_limit(size, cap=False, hdf5=True))}). If the file is genuine, raise "
            "CHARSUITE_MAX_EXPANSION or CHARSUITE_MAX_MEMORY",
            path=path,
            format=format,
        )
