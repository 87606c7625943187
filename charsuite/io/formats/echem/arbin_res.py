"""Arbin ``.res`` result files (MS Access/Jet databases), through access-parser.

``.res`` files are Microsoft Access databases; access-parser (pure Python) reads the
``Channel_Normal_Table`` (Test_Time s, Current A, Voltage V, Charge_/Discharge_Capacity
Ah, Cycle_Index, Step_Index) and ``Global_Table`` (test name, schedule, MASS). The
mapping is that of :mod:`charsuite.io.formats.echem.arbin_csv`. ``metadata["active_mass_mg"]``
is *not* set from ``MASS`` (its unit is not stated in the file); it is kept in
``original_metadata``. Large files are slow with the pure-Python parser (≈ 0.4 ms per
record): for those, export CSV from MITS Pro, or use mdbtools.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.exceptions import MissingDependencyError, ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.arbin_csv import arbin_dataset

SPEC = FormatSpec(
    name="arbin-res",
    technique="echem",
    extensions=(".res",),
    description="Arbin .res (MS Access database; via access-parser)",
    priority=60,
)
_JET = (b"Standard Jet DB", b"Standard ACE DB")


def can_read(path: Path, head: bytes) -> bool:
    """Jet/ACE database magic and the .res extension (other Access files are not cyclers)."""
    return head[4:19] in _JET and Path(path).suffix.lower() == ".res"


def read(path: Path, *, lazy: bool = False):
    """Read the channel data of an Arbin ``.res``.

    Raises
    ------
    MissingDependencyError
        access-parser is not installed.
    ReaderError
        Not a Jet database, no Channel_Normal_Table, or the parser fails (damaged file).
    """
    path = Path(path)
    fmt = SPEC.name
    head = path.read_bytes()[:32]
    if not head:
        raise ReaderError("file is empty", path=path, format=fmt)
    if head[4:19] not in _JET:
        raise ReaderError(
            "not an MS Access (Jet) database, so not an Arbin .res", path=path, format=fmt
        )
    try:
        from access_parser import AccessParser
    except ImportError as err:
        raise MissingDependencyError(
            f"{path}: reading Arbin .res needs access-parser: pip install 'charsuite[arbin]'; "
            "or export CSV from MITS Pro"
        ) from err
    try:
        db = AccessParser(str(path))
        if "Channel_Normal_Table" not in db.catalog:
            raise ReaderError(
                f"no Channel_Normal_Table (tables: {sorted(db.catalog)[:10]}); not an Arbin result file",
                path=path,
                format=fmt,
            )
        table = db.parse_table("Channel_Normal_Table")
        glob = db.parse_table("Global_Table") if "Global_Table" in db.catalog else {}
    except ReaderError:
        raise
    except Exception as err:
        raise ReaderError(
            f"access-parser could not read the database ({type(err).__name__}: {err}); "
            "export CSV from MITS Pro",
            path=path,
            format=fmt,
            original_error=err,
        ) from err
    cols = {}
    for name, values in table.items():
        try:
            cols[name] = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            continue
    if "Data_Point" in cols:  # rows are not guaranteed to be stored in order
        order = np.argsort(cols["Data_Point"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
    units = {"Current": "A", "Charge_Capacity": "Ah"}
    gl = {k: (v[0] if isinstance(v, list) and v else v) for k, v in glob.items()}
    meta = {}
    if gl.get("Test_Name"):
        meta["sample"] = str(gl["Test_Name"])
    original = {"global_table": {k: str(v) for k, v in gl.items()}, "columns": sorted(table)}
    return arbin_dataset(cols, units, path=path, fmt=fmt, meta=meta, original=original)
