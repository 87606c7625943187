"""Atomic, non-clobbering output: write to a temporary file beside the target, then rename.

Rules every output obeys (:func:`check_output`):

* an existing target is replaced only with ``force``, and never when it is not a regular
  file (a FIFO, a device such as ``/dev/null``, a socket), is read-only, or is one of the
  inputs read in this process (``os.path.samefile``) — not even with ``force``;
* the data go to ``.NAME.<pid>.<random>.tmp`` in the target's folder and are renamed onto
  the target only when complete; on any failure (disk full, permission, Ctrl-C, SIGTERM)
  the temporary is removed and the old target is untouched;
* files get the mode the umask allows (``0666 & ~umask``), like any other program's output;
* leftovers of a killed run (``.NAME.<pid>.*.tmp`` whose process is gone) are removed on
  the next write to that target;
* directory outputs (zarr) are written beside and swapped in (:func:`atomic_dir`).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import io
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from charsuite.exceptions import OutputError, OutputExistsError

__all__ = [
    "HDF5Sink",
    "atomic_dir",
    "atomic_path",
    "check_output",
    "cleanup_temporaries",
    "guard_inputs",
    "register_input",
    "write_bytes",
    "write_text",
]

# (st_dev, st_ino) of the files read by the running command (see guard_inputs)
_INPUTS: contextvars.ContextVar[set[tuple[int, int]] | None] = contextvars.ContextVar(
    "charsuite_inputs", default=None
)
# temporaries being written (removed by the CLI on a signal if a frame did not unwind)
LIVE_TEMPS: set[Path] = set()


class HDF5Sink(io.RawIOBase):
    """The file object h5py writes a temporary output through (``h5py.File(sink, "w")``).

    When the disk fills up (or a write fails otherwise) while HDF5 flushes at close, the
    HDF5 library is left with a file it can neither write nor close and the process
    segfaults at exit. Written through this object, HDF5 never sees a failed write: the
    first error is recorded, the temporary is truncated to free the space, later writes
    are discarded (reads of them return zeros), and :func:`atomic_path` raises the error
    as one :class:`~charsuite.exceptions.OutputError` once h5py has closed the file.
    Throughput equals the path-based driver (HDF5 writes whole chunks).
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.fh = open(path, "r+b", buffering=0)  # noqa: SIM115 - closed by atomic_path
        self.error: OSError | None = None
        self.pos = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if self.error is None:
            self.pos = self.fh.seek(offset, whence)
        elif whence == 0:
            self.pos = offset
        elif whence == 1:
            self.pos += offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer) -> int:
        if self.error is not None:
            view = memoryview(buffer).cast("B")
            view[:] = bytes(len(view))
            return len(view)
        n = self.fh.readinto(buffer)
        self.pos += n or 0
        return n

    def _fail(self, err: OSError) -> None:
        self.error = err
        with contextlib.suppress(OSError):
            self.fh.truncate(0)  # give the space back at once

    def write(self, data) -> int:
        n = len(memoryview(data).cast("B"))
        if self.error is None:
            try:
                written = self.fh.write(data)
            except OSError as err:
                self._fail(err)
            else:
                self.pos += written
                return written
        self.pos += n
        return n

    def truncate(self, size: int | None = None) -> int:
        if self.error is None:
            try:
                return self.fh.truncate(size)
            except OSError as err:
                self._fail(err)
        return self.pos if size is None else size

    def flush(self) -> None:
        pass  # unbuffered

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.close()
        super().close()


_SINKS: dict[Path, HDF5Sink] = {}


def hdf5_sink(tmp: Path) -> HDF5Sink:
    """A :class:`HDF5Sink` over the temporary path yielded by :func:`atomic_path`.

    Parameters
    ----------
    tmp : Path
        The temporary file of an :func:`atomic_path` block.

    Returns
    -------
    HDF5Sink
    """
    sink = HDF5Sink(Path(tmp))
    _SINKS[Path(tmp)] = sink
    return sink


def _sink_error(tmp: Path) -> OSError | None:
    sink = _SINKS.pop(tmp, None)
    if sink is None:
        return None
    sink.close()
    return sink.error


@contextlib.contextmanager
def guard_inputs() -> Iterator[None]:
    """Within this block, no output may replace a file read by :func:`charsuite.io.read`.

    The CLI runs every command inside it, so ``--json INPUT --force`` is refused. Library
    code outside it may rewrite a file it read (e.g. update a charsuite-h5 in a notebook).

    Yields
    ------
    None
    """
    token = _INPUTS.set(set())
    try:
        yield
    finally:
        _INPUTS.reset(token)


def register_input(path: str | Path) -> None:
    """Remember that ``path`` is an input of the running command (inside :func:`guard_inputs`)."""
    inputs = _INPUTS.get()
    if inputs is None:
        return
    with contextlib.suppress(OSError):
        st = os.stat(path)
        inputs.add((st.st_dev, st.st_ino))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _refuse_existing(path: Path, st: os.stat_result, force: bool) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise OutputError("output path is a directory; give a file name", path=path)
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(
            "output path exists and is not a regular file (a pipe, device or socket); "
            "it is never replaced, even with --force. Give a file name",
            path=path,
        )
    if (st.st_dev, st.st_ino) in (_INPUTS.get() or ()):
        raise OutputError(
            "output path is an input of this command; it is never replaced, even with "
            "--force. Give another name",
            path=path,
        )
    if not force:
        raise OutputExistsError(
            "output file exists; choose another name or pass --force (force=True) to replace it",
            path=path,
        )
    if not st.st_mode & 0o222:
        raise OutputError(
            "output file is read-only; it is not replaced, even with --force. Make it "
            "writable (chmod u+w) or choose another name",
            path=path,
        )


DIRECTORY_SUFFIXES = (".zarr",)


def check_output(path: str | Path, *, force: bool = False, directory: bool | None = None) -> Path:
    """Return ``path`` as a Path if it may be written (see the module rules).

    Parameters
    ----------
    path : str or Path
        The output path to check.
    force : bool
        Allow replacing an existing regular file (or, with ``directory``, a directory).
    directory : bool, optional
        The output is a directory; default: its name ends in one of
        :data:`DIRECTORY_SUFFIXES` (``.zarr``).

    Returns
    -------
    Path
        ``path`` converted to a :class:`~pathlib.Path`.

    Raises
    ------
    OutputExistsError
        If the target exists and ``force`` is false.
    OutputError
        If the target is not a regular file, is an input, is read-only, or its folder
        cannot be written.
    """
    path = Path(path)
    if directory is None:
        directory = path.name.lower().endswith(DIRECTORY_SUFFIXES)
    try:
        st = os.stat(path)  # follows a symlink: a link to /dev/null is a device
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise OutputError(f"cannot examine the output path ({err.strerror})", path=path) from err
    if st is not None:
        if directory and stat.S_ISDIR(st.st_mode):
            if not force:
                raise OutputExistsError(
                    "output exists; choose another name or pass --force (force=True) to replace it",
                    path=path,
                )
        else:
            _refuse_existing(path, st, force)
    return path


def _folder(path: Path) -> Path:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"cannot create the output folder {parent} ({err.strerror})", path=path
        ) from err
    return parent


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(path: Path) -> list[Path]:
    """Remove ``.NAME.<pid>.*.tmp`` leftovers of ``path`` whose writing process is gone."""
    removed = []
    prefix = f".{path.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid = name[len(prefix) :].split(".", 1)[0]
            if not pid.isdigit() or _pid_alive(int(pid)):
                continue
            p = Path(entry.path)
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(p)
                else:
                    p.unlink()
                removed.append(p)
    return removed


def _write_error(err: OSError, path: Path) -> OutputError:
    reason = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EFBIG: "the file is too large for this file system or ulimit",
    }.get(err.errno, err.strerror or str(err))
    return OutputError(
        f"cannot write the output ({reason}); nothing was written and any previous file is "
        "unchanged. Free space, fix permissions or choose another folder",
        path=path,
    )


def _remove(p: Path) -> None:
    with contextlib.suppress(OSError):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    LIVE_TEMPS.discard(p)


def cleanup_temporaries() -> None:
    """Remove the temporary outputs still being written in this process.

    Called by the CLI after SIGINT/SIGTERM, in case a writer's frame did not unwind.

    Returns
    -------
    None
    """
    for p in list(LIVE_TEMPS):
        _remove(p)


def _tmp_name(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def check_space(path: str | Path, nbytes: int) -> None:
    """Refuse to start writing ``nbytes`` where the folder has less free space."""
    path = Path(path)
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(path.parent if path.parent.exists() else ".").free
        if nbytes > free:
            from charsuite.io._budget import human

            raise OutputError(
                f"needs about {human(nbytes)} but only {human(free)} is free on that disk; "
                "nothing was written. Free space or choose another folder",
                path=path,
            )


def _temporary(path: Path, *, directory: bool) -> Path:
    """Create ``.NAME.<pid>.<random>.tmp`` (file or folder) beside ``path``, umask's mode.

    Stale temporaries of ``path`` left by killed runs are removed first.
    """
    parent = _folder(path)
    clean_stale(path)
    try:
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=_tmp_name(path), suffix=".tmp", dir=parent))
        else:
            fd, name = tempfile.mkstemp(prefix=_tmp_name(path), suffix=".tmp", dir=parent)
            os.close(fd)
            tmp = Path(name)
        LIVE_TEMPS.add(tmp)
        os.chmod(tmp, (0o777 if directory else 0o666) & ~_umask())
    except OSError as err:
        raise _write_error(err, path) from err
    return tmp


@contextlib.contextmanager
def atomic_path(path: str | Path, *, force: bool = False, nbytes: int = 0) -> Iterator[Path]:
    """Yield a temporary path in the target folder; rename it onto ``path`` on success.

    Use it for libraries that write to a path themselves (h5py, matplotlib, tifffile).
    On an exception (or Ctrl-C / SIGTERM) the temporary file is removed and ``path`` is
    untouched; an ``OSError`` while writing (disk full, permission) becomes one
    :class:`~charsuite.exceptions.OutputError`.

    Parameters
    ----------
    path : str or Path
        Final destination.
    force : bool
        Replace an existing regular file.
    nbytes : int
        Expected size in bytes, if known: refused up front when the disk has less free
        space (0: no check).

    Yields
    ------
    Path
        The temporary file to write; it is renamed onto ``path`` on success.

    Examples
    --------
    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> open(target).read()
    'hello'
    """
    path = check_output(path, force=force)
    if nbytes:
        check_space(path, nbytes)
    tmp_path = _temporary(path, directory=False)
    try:
        try:
            yield tmp_path
        except BaseException as err:
            failed = _sink_error(tmp_path)  # a failed HDF5 write surfaces as any error
            if failed is not None and isinstance(err, Exception):  # not Ctrl-C/SIGTERM
                raise _write_error(failed, path) from err
            raise
        failed = _sink_error(tmp_path)
        if failed is not None:
            raise failed
        check_output(path, force=force)  # appeared, or became special, while writing
        if not force and path.exists():
            raise OutputExistsError("output file appeared during writing; not replaced", path=path)
        os.replace(tmp_path, path)
    except (OutputError, OutputExistsError):
        raise
    except OSError as err:
        raise _write_error(err, path) from err
    finally:
        _sink_error(tmp_path)
        _remove(tmp_path)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; swap it in on success.

    With ``force`` an existing directory is replaced: it is renamed aside, the new one
    renamed into place, and the old one removed — at every moment ``path`` is either the
    complete old or the complete new output.

    Parameters
    ----------
    path : str or Path
        The output directory (e.g. a ``.zarr`` store).
    force : bool
        Replace an existing directory.

    Yields
    ------
    Path
        The temporary directory to write into.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``force`` is false.
    OutputError
        If ``path`` is a file or special file, or the folder cannot be written.
    """
    path = check_output(path, force=force, directory=True)
    tmp = _temporary(path, directory=True)
    old = None
    try:
        yield tmp
        check_output(path, force=force, directory=True)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=_tmp_name(path), suffix=".old.tmp", dir=tmp.parent))
            LIVE_TEMPS.add(old)
            os.replace(path, old / "previous")
            try:
                os.replace(tmp, path)
            except OSError:
                os.replace(old / "previous", path)  # put the old output back
                raise
        else:
            os.replace(tmp, path)
    except (OutputError, OutputExistsError):
        raise
    except OSError as err:
        raise _write_error(err, path) from err
    finally:
        _remove(tmp)
        if old is not None:
            _remove(old)


def write_text(path: str | Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` (UTF-8) atomically to ``path``; return the path.

    Parameters
    ----------
    path : str or Path
        Destination file.
    text : str
        Text to write, encoded as UTF-8.
    force : bool
        Replace an existing regular file.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.
    """
    with atomic_path(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` atomically to ``path``; return the path.

    Parameters
    ----------
    path : str or Path
        Destination file.
    data : bytes
        Bytes to write.
    force : bool
        Replace an existing regular file.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.
    """
    with atomic_path(path, force=force) as tmp:
        tmp.write_bytes(data)
    return Path(path)
