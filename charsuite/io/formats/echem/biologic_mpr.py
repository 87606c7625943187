"""BioLogic EC-Lab binary files (``.mpr``), decoded by charsuite.

The binary layout (modules, column IDs, flag bits) is described in
:mod:`charsuite.io.formats.echem.eclab_binary`, which decodes it without galvani (GPL; no
longer needed). A column ID charsuite does not know is skipped with a warning naming it
when its width follows from the record size, and refused with the IDs named otherwise;
the workaround is then EC-Lab's text export (File → Export as text, ``.mpt``).

Mapping is as for ``.mpt`` (:mod:`charsuite.io.formats.echem.eclab_common`): cycling,
impedance or mixed-technique data by what the rows hold. Differences of the binary file:
no ``cycle number`` column in GCPL files (EC-Lab computes it at export) — here ``cycle`` =
``half cycle`` // 2; charge columns in coulombs (``(Q-Qo)/C``) are converted to mAh; when
no current column is stored (GCPL files keep ``dq/mA.h`` instead) the current is dq/Δt
(mA), and ``metadata["current_source"]`` says so; GCPL/Modulo Bat files store |Z| and
phase only, from which Z is formed.
"""

from __future__ import annotations

from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.eclab_binary import MAGIC, decode
from charsuite.io.formats.echem.eclab_common import eclab_dataset

SPEC = FormatSpec(
    name="biologic-mpr",
    technique="echem",
    extensions=(".mpr",),
    description="BioLogic EC-Lab binary .mpr (own decoder; incl. EC-Lab ≥ 11.50 layout)",
    priority=60,
)
_MAGIC = MAGIC[:22]


def can_read(path: Path, head: bytes) -> bool:
    """The EC-Lab binary magic string."""
    return head.startswith(_MAGIC)


def read(path: Path, *, lazy: bool = False):
    """Read an EC-Lab ``.mpr`` (see the module docstring).

    Raises
    ------
    ReaderError
        Empty or truncated file, wrong magic, unknown layout or column IDs whose widths
        cannot be told apart, no data points, required columns absent.

    Warns
    -----
    CharsuiteWarning
        A column ID charsuite does not know was skipped (named).
    """
    path = Path(path)
    fmt = SPEC.name
    raw = read_bytes_bounded(path, format=fmt, text=False)  # size within the budget
    if not raw:
        raise ReaderError("file is empty; re-export it from EC-Lab", path=path, format=fmt)
    values, facts = decode(path, raw, fmt=fmt)
    meta = {"instrument": "BioLogic", "mpr_version": facts["data_module_version"]}
    if facts["date"]:
        meta["start_date"] = facts["date"]
    if facts["unknown_column_ids"]:
        meta["skipped_column_ids"] = facts["unknown_column_ids"]
    original = {
        "columns": list(values),
        "modules": facts["modules"],
        "column_ids": facts["column_ids"],
    }
    return eclab_dataset(values, meta=meta, original=original, path=path, fmt=fmt)
