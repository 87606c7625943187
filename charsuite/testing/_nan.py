"""Put a NaN into a test file: binary (over a stored number) or text (one field)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def inject_nan(path, candidates, *, dtypes=("<f4", "<f8"), skip_bytes: int = 0) -> Path:
    """Overwrite the first stored copy of one of ``candidates`` with NaN, in place.

    Binary formats have no text to edit; this finds the little-endian encoding of a value
    known to be in the file's data (e.g. a voltage read back by the reader) and replaces
    those bytes with a quiet NaN of the same width, so the reader contract can check that a
    NaN in the data is kept visible or refused.

    Parameters
    ----------
    path : path-like
        File to modify (a copy made by the test).
    candidates : array_like
        Values stored in the file; tried in order, for each dtype.
    dtypes : sequence of str
        Encodings to search for.
    skip_bytes : int
        Do not patch inside the first ``skip_bytes`` (a header).

    Returns
    -------
    Path

    Raises
    ------
    LookupError
        None of the candidates is stored in the file in any of ``dtypes``.
    """
    path = Path(path)
    raw = bytearray(path.read_bytes())
    for value in np.asarray(candidates, float).ravel():
        if not np.isfinite(value) or value == 0:
            continue
        for dt in dtypes:
            pattern = np.asarray(value, dt).tobytes()
            pos = raw.find(pattern, skip_bytes)
            if pos >= 0:
                raw[pos : pos + len(pattern)] = np.asarray(np.nan, dt).tobytes()
                path.chmod(0o644)
                path.write_bytes(bytes(raw))
                return path
    raise LookupError(f"none of the candidate values is stored in {path.name} as {dtypes}")


def nan_in_text(path, *, line: int, field: int, sep: bytes, token: bytes = b"nan") -> Path:
    """Replace field ``field`` of line ``line`` (0-based, lines split at LF) with ``token``.

    Parameters
    ----------
    path : str or Path
        A text data file, modified in place (use a copy of a fixture).
    line, field : int
        0-based line and field.
    sep : bytes
        Field separator.
    token : bytes
        What to write instead (default ``b"nan"``).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    lines = path.read_bytes().split(b"\n")
    fields = lines[line].split(sep)
    fields[field] = token
    lines[line] = sep.join(fields)
    path.chmod(0o644)
    path.write_bytes(b"\n".join(lines))
    return path
