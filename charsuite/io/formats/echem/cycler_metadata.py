"""Metadata companions of cycler exports: recognised, then refused with a pointer.

``<name>_Metadata.csv`` (Arbin, as in TRI/BEEP data sets: ``test_id``, ``iv_ch_id``,
``schedule_file_name``, ...) and ``<name>_metadata.csv`` (Novonix per-cycle summary:
``Cycle``, ``Qc``, ``Qd``, ``CE``, ...) hold no records, so they cannot be read as
cycling data. Their content is attached to the data file's Dataset instead
(``original_metadata["metadata_file"]`` for Arbin CSV/Excel,
``original_metadata["summary_file"]`` for Novonix). This module only exists so that
reading such a file gives that answer rather than "format not recognised".
"""

from __future__ import annotations

from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import companion_of, head_text

SPEC = FormatSpec(
    name="cycler-metadata",
    technique="echem",
    extensions=(".csv",),
    description="Arbin/Novonix *_Metadata.csv companion (refused: read the data file)",
    priority=65,
)
_KINDS = {
    "Arbin test metadata": ({"test_id", "iv_ch_id", "schedule_file_name"}, 2),
    "Novonix per-cycle summary": ({"cycle", "qc", "qd", "averagechargevoltage"}, 3),
}


def _kind(head: bytes) -> str | None:
    text = head_text(head)
    if "\x00" in text:
        return None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    names = {c.strip().strip('"').lower() for c in first.split(",")}
    for kind, (keys, need) in _KINDS.items():
        if len(keys & names) >= need:
            return kind
    return None


def can_read(path: Path, head: bytes) -> bool:
    """Header of an Arbin test-metadata table or a Novonix per-cycle summary."""
    return _kind(head) is not None


def read(path: Path, *, lazy: bool = False):
    """Always raises: this file holds metadata of a cycling run, not its data.

    Raises
    ------
    ReaderError
        Naming the data file to read instead (when it is beside this one).
    """
    path = Path(path)
    fmt = SPEC.name
    raw = read_bytes_bounded(path, format=fmt)
    if not raw.strip():
        raise ReaderError("file is empty", path=path, format=fmt)
    kind = _kind(raw[:4096]) or "cycler metadata companion"
    data = companion_of(path)
    where = (
        f"read {data.name} instead; this table is attached to it as original_metadata"
        if data is not None
        else "read the cycling data file exported with it (same name without "
        "'_Metadata'); this table is then attached as original_metadata"
    )
    raise ReaderError(
        f"this is the {kind} that accompanies a cycler export, not cycling data; {where}",
        path=path,
        format=fmt,
    )
