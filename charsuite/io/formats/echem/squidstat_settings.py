"""Squidstat ``Experiment settings and notes.txt`` (the run's settings, no data).

Squidstat writes this text file beside every run's CSV files. Reading it returns a
Dataset without variables whose ``metadata`` holds what the CSV reader takes from it
(``electrode_area_cm2``, ``active_mass_mg``, ``software``, ``instrument``, ``channel``)
and whose ``original_metadata`` holds every ``key: value`` line. The data themselves are
read from the CSV (format ``squidstat``), which picks this file up automatically.
"""

from __future__ import annotations

from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="squidstat-settings",
    technique="echem",
    extensions=(".txt",),
    description="Squidstat 'Experiment settings and notes.txt' (run settings: area, mass)",
    priority=60,
)
NAME = "Experiment settings and notes.txt"


def can_read(path: Path, head: bytes) -> bool:
    """The Squidstat banner, or the exact file name Squidstat uses."""
    if b"\x00" in head:
        return False
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"Squidstat User Interface") or (
        Path(path).name == NAME and b":" in head
    )


def read(path: Path, *, lazy: bool = False):
    """Return the settings as metadata of an empty Dataset.

    Raises
    ------
    ReaderError
        Empty file, binary content, or no ``key: value`` lines.
    """
    import xarray as xr

    from charsuite.io.formats.echem.squidstat import _settings

    path = Path(path)
    raw = read_bytes_bounded(path, format=SPEC.name)
    if not raw.strip():
        raise ReaderError("file is empty", path=path, format=SPEC.name)
    if b"\x00" in raw:
        raise ReaderError("binary content; not a settings text file", path=path, format=SPEC.name)
    meta, original = _settings(path, path)
    if not original.get("settings"):
        raise ReaderError(
            "no 'key: value' lines; not a Squidstat settings file", path=path, format=SPEC.name
        )
    meta = {"instrument": "Admiral Squidstat", "measurement": "settings", **meta}
    return xr.Dataset(attrs={"technique": "echem", "metadata": meta, "original_metadata": original})
