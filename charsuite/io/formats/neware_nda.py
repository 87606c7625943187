"""Neware binary ``.nda`` and ``.ndax`` files, through fastnda (BSD-3).

fastnda returns voltage (V), current (mA), total time (s), cycle count, step index and
type, and the step capacity (mAh, reset at each step, negative on discharge). ``charge``
(cumulative signed mAh) is rebuilt from the step capacity, so capacities per cycle equal
Neware's. Unknown file versions raise a ReaderError naming the fastnda
message; the workaround is a CSV/Excel export from BTSDA.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.exceptions import MissingDependencyError, ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats._echem_util import check_time, cycling_dataset

SPEC = FormatSpec(
    name="neware-nda",
    technique="echem",
    extensions=(".nda", ".ndax"),
    description="Neware binary .nda / .ndax (via fastnda)",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """NEWARE magic (.nda) or a zip container with the .ndax extension."""
    if head.startswith(b"NEWARE"):
        return True
    return head.startswith(b"PK\x03\x04") and Path(path).suffix.lower() == ".ndax"


def read(path: Path, *, lazy: bool = False):
    """Read a Neware ``.nda``/``.ndax`` file.

    Raises
    ------
    MissingDependencyError
        fastnda is not installed.
    ReaderError
        fastnda cannot decode the file, or expected columns are absent.
    """
    path = Path(path)
    fmt = SPEC.name
    if path.stat().st_size == 0:
        raise ReaderError("file is empty", path=path, format=fmt)
    try:
        import fastnda
    except ImportError as err:
        raise MissingDependencyError(
            f"{path}: reading Neware files needs fastnda: pip install 'fastnda>=1.3'; or export "
            "CSV from BTSDA"
        ) from err
    try:
        df = fastnda.read(str(path))
    except Exception as err:
        raise ReaderError(
            f"fastnda could not decode the file ({type(err).__name__}: {err}); it may be "
            "damaged or a newer Neware version — export CSV from BTSDA",
            path=path,
            format=fmt,
            original_error=err,
        ) from err
    names = list(df.columns)
    need = ("voltage_V", "current_mA", "total_time_s")
    missing = [n for n in need if n not in names]
    if missing or len(df) == 0:
        raise ReaderError(
            f"fastnda returned no {missing or 'rows'} (columns {names})", path=path, format=fmt
        )

    def col(name):
        return df[name].to_numpy().astype(float)

    t, v, i = col("total_time_s"), col("voltage_V"), col("current_mA")
    check_time(path, fmt, t)
    extra = {}
    if "capacity_mAh" in names:
        cap = col("capacity_mAh")
        step = col("step_count") if "step_count" in names else None
        # step capacity restarts at every step; fastnda signs it (negative on discharge),
        # older exports may not: then the current gives the sign
        signed = cap if np.any(cap < 0) else cap * np.sign(i)
        d = np.diff(signed, prepend=0.0)
        if step is not None:
            new_step = np.diff(step, prepend=step[0] - 1) != 0
            d[new_step] = signed[new_step]
        extra["charge"] = (np.cumsum(d), "mAh", "cumulative charge from the step capacity")
        extra["step_capacity"] = (cap, "mAh", "Neware step capacity")
    if "cycle_count" in names:
        extra["cycle"] = (col("cycle_count"), "dimensionless", "Neware cycle count")
    if "step_index" in names:
        extra["step"] = (col("step_index"), "dimensionless", "Neware step index")
    if "step_type" in names:
        extra["step_name"] = (
            np.array([str(s) for s in df["step_type"].to_list()], dtype=str),
            "dimensionless",
            "Neware step type",
        )
    meta = {"instrument": "Neware", "measurement": "cycling"}
    return cycling_dataset(
        time_s=t, voltage_V=v, current_mA=i, extra=extra, metadata=meta, original={"columns": names}
    )
