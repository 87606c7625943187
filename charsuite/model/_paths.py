"""Where the installed reference data live."""

from __future__ import annotations

from pathlib import Path


def reference_data_dir() -> Path:
    """Return the directory of the shipped reference data (CIFs, tables).

    In an installed package the top-level ``reference_data/`` folder is shipped as
    ``charsuite/reference_data``; in a source checkout it is found next to the package.

    Returns
    -------
    Path
    """
    here = Path(__file__).resolve().parent.parent  # charsuite/
    for candidate in (here / "reference_data", here.parent / "reference_data"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"charsuite reference_data not found next to {here}; reinstall charsuite "
        "(pip install .) so that the reference data are shipped"
    )
