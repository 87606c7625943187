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
from charsuite.io.formats.echem.common import (
    add_extra_columns,
    check_time,
    cycling_dataset,
    eis_dataset,
)

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
            f"{path}: reading .mpr needs galvani (GPL-3.0): pip install 'charsuite[biologic]'; "
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
    used = {"flags"}
    extra: dict[str, tuple[np.ndarray, str, str]] = {}
    if "freq/Hz" in values:
        if "Re(Z)/Ohm" not in values or "-Im(Z)/Ohm" not in values:
            raise ReaderError(
                f"impedance file without Re(Z)/Ohm and -Im(Z)/Ohm (columns {names})",
                path=path,
                format=fmt,
            )
        z = values["Re(Z)/Ohm"] - 1j * values["-Im(Z)/Ohm"]
        used |= {"freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"}
        add_extra_columns(values, used, extra)
        meta["measurement"] = "impedance"
        return eis_dataset(
            frequency=values["freq/Hz"], z=z, extra=extra, metadata=meta, original=original
        )
    if "time/s" not in values:
        raise ReaderError(f"no time/s column (columns {names})", path=path, format=fmt)
    t = values["time/s"]
    check_time(path, fmt, t)
    v_col = next((c for c in ("Ewe/V", "<Ewe>/V", "Ecell/V", "<Ecell>/V") if c in values), None)
    if v_col is None:
        raise ReaderError(
            f"no Ewe/V column (columns {names}); export .mpt from EC-Lab", path=path, format=fmt
        )
    i_col = next((c for c in ("I/mA", "<I>/mA") if c in values), None)
    if i_col is not None:
        current = values[i_col]
        meta["current_source"] = i_col
        used.add(i_col)
    elif "dq/mA.h" in values:
        dt = np.diff(t, prepend=t[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            current = np.where(dt > 0, values["dq/mA.h"] * 3600.0 / dt, 0.0)
        meta["current_source"] = "dq/mA.h ÷ Δt (no current column stored)"
    else:
        current = np.zeros_like(t)
        meta["current_source"] = "none stored (open circuit): 0"
    used |= {"time/s", v_col}
    if "(Q-Qo)/mA.h" in values:
        extra["charge"] = (values["(Q-Qo)/mA.h"], "mAh", "cumulative charge (Q-Qo)")
        used.add("(Q-Qo)/mA.h")
    elif "(Q-Qo)/C" in values:
        extra["charge"] = (values["(Q-Qo)/C"] / 3.6, "mAh", "cumulative charge (Q-Qo), from C")
        used.add("(Q-Qo)/C")
    if "cycle number" in values:
        extra["cycle"] = (values["cycle number"], "dimensionless", "EC-Lab cycle number")
        used.add("cycle number")
    elif "half cycle" in values:
        extra["cycle"] = (
            np.floor(values["half cycle"] / 2),
            "dimensionless",
            "half cycle // 2 (EC-Lab cycle number)",
        )
    if "Ns" in values:
        extra["step"] = (values["Ns"], "dimensionless", "EC-Lab sequence number Ns")
        used.add("Ns")
    add_extra_columns(values, used, extra)
    meta["measurement"] = "cycling"
    return cycling_dataset(
        time_s=t,
        voltage_V=values[v_col],
        current_mA=current,
        extra=extra,
        metadata=meta,
        original=original,
    )
