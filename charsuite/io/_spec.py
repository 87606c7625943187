"""What every format module declares."""

from __future__ import annotations

import dataclasses

TECHNIQUES = ("xrd", "composition", "sims", "echem", "generic")


@dataclasses.dataclass(frozen=True)
class FormatSpec:
    """Declaration of one file format (``SPEC`` in each ``charsuite/io/formats/<fmt>.py``).

    Parameters
    ----------
    name : str
        Registry key, e.g. ``"xrdml"``; what users pass as ``format=``.
    technique : str
        One of ``xrd``, ``composition``, ``sims``, ``echem``, ``generic``.
    extensions : tuple of str
        Lower-case extensions with the dot, e.g. ``(".xrdml",)``; used last when resolving.
    description : str
        One line shown by ``charsuite formats`` and in error messages.
    priority : int
        When several readers claim a file by content, the highest priority wins;
        generic readers (plain text columns) use a low value. Default 50.
    lazy : bool
        Whether ``read(..., lazy=True)`` is native (dask over the file); otherwise the
        registry chunks the eager result.
    """

    name: str
    technique: str
    extensions: tuple[str, ...]
    description: str
    priority: int = 50
    lazy: bool = False

    def __post_init__(self) -> None:
        if self.technique not in TECHNIQUES:
            raise ValueError(f"technique {self.technique!r} not in {TECHNIQUES}")
