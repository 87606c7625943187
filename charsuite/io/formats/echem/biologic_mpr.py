"""BioLogic EC-Lab binary files (``.mpr``), through galvani.

The binary layout is undocumented; galvani (echemdata/galvani, GPL-3.0-or-later,
optional dependency: ``pip install galvani``) decodes it, including the layout written
by EC-Lab ≥ 11.50. It is imported only when an ``.mpr`` is read. When galvani is missing,
or meets a column ID or module version it does not know, a ReaderError names the problem
and the workaround: export the file as text from EC-Lab (File → Export as text, ``.mpt``)
and read that.

Mapping is as for ``.mpt`` (see :mod:`charsuite.io.formats.echem.biologic_mpt`). Differences of
the binary file: no ``cycle number`` column (EC-Lab computes it at export) — here
``cycle`` = ``half cycle`` // 2, as EC-Lab numbers charge/discharge alternance cycles;
charge columns in coulombs (``(Q-Qo)/C``) are converted to mAh; when no current column
is stored (GCPL files keep ``dq/mA.h`` instead) the current is dq/Δt (mA), and
``metadata["current_source"]`` says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.exceptions import MissingDependencyError, ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.eclab_common import eclab_dataset

SPEC = FormatSpec(
    name="biologic-mpr",
    technique="echem",
    extensions=(".mpr",),
    description="BioLogic EC-Lab binary .mpr (via galvani; incl. EC-Lab ≥ 11.50 layout)",
    priority=60,
)
_MAGIC = b"BIO-LOGIC MODULAR FILE"


def can_read(path: Path, head: bytes) -> bool:
    """The EC-Lab binary magic string."""
    return head.startswith(_MAGIC)


def read(path: Path, *, lazy: bool = False):
    """Read an EC-Lab ``.mpr`` (see the module docstring).

    Raises
    ------
    MissingDependencyError
        galvani is not installed.
    ReaderError
        galvani cannot decode the file (unknown column ID or module version), or
        required columns are absent.
    """
    import warnings

    path = Path(path)
    fmt = SPEC.name
    raw = path.read_bytes()
    if not raw:
        raise ReaderError("file is empty; re-export it from EC-Lab", path=path, format=fmt)
    if not raw.startswith(_MAGIC):
        raise ReaderError(
            "not an EC-Lab binary file (no 'BIO-LOGIC MODULAR FILE' magic)", path=path, format=fmt
        )
    try:
        from galvani import BioLogic
    except ImportError as err:
        raise MissingDependencyError(
            f"{path}: reading .mpr needs galvani (GPL-3.0): pip install 'galvani>=0.5'; "
            "or export the file as text (.mpt) from EC-Lab and read that"
        ) from err
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mpr = BioLogic.MPRfile(str(path))
    except NotImplementedError as err:
        raise ReaderError(
            f"galvani does not know this EC-Lab variant ({err}); export the file as text "
            "(.mpt) from EC-Lab and read that, or update galvani",
            path=path,
            format=fmt,
            original_error=err,
        ) from err
    except Exception as err:
        raise ReaderError(
            f"cannot decode the binary file ({type(err).__name__}: {err}); it may be truncated, "
            "or written by an EC-Lab version galvani does not support — export .mpt instead",
            path=path,
            format=fmt,
            original_error=err,
        ) from err
    data = mpr.data
    names = list(data.dtype.names or ())
    if data.size == 0:
        raise ReaderError("the file holds no data points", path=path, format=fmt)
    values = {n: np.asarray(data[n], dtype=float) for n in names if n != "flags"}
    meta = {
        "instrument": "BioLogic",
        "mpr_version": int(getattr(mpr, "version", -1) or 0),
    }
    start = getattr(mpr, "timestamp", None) or getattr(mpr, "startdate", None)
    if start is not None:
        meta["start_time"] = start.isoformat()
    original = {
        "columns": names,
        "modules": [
            m.get("shortname", b"").decode("latin-1", "replace").strip()
            for m in getattr(mpr, "modules", [])
            if isinstance(m, dict)
        ],
    }
    return eclab_dataset(values, meta=meta, original=original, path=path, fmt=fmt)
