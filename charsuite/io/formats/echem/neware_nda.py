"""Neware binary ``.nda`` and ``.ndax`` files, through fastnda (BSD-3).

fastnda returns voltage (V), current (mA), total time (s), cycle count, step index and
type, and the step capacity (mAh, reset at each step, negative on discharge). ``charge``
(cumulative signed mAh) is rebuilt from the step capacity, so capacities per cycle equal
Neware's. Unknown file versions raise a ReaderError naming the fastnda
message; the workaround is a CSV/Excel export from BTSDA.

``.ndax`` versions: the zip holds ``data.ndc`` (+ ``data_runInfo.ndc``, ``data_step.ndc``,
aux channels in newer BTS versions); the ndc version/file type bytes are recorded in
``metadata["ndc_version"]``. A version fastnda decodes but has not verified against real
data gives a CharsuiteWarning naming the file and ``metadata["format_unverified"]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.exceptions import CharsuiteWarning, MissingDependencyError, ReaderError
from charsuite.io._budget import check_zip
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import check_time, cycling_dataset

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
    meta: dict = {"instrument": "Neware", "measurement": "cycling"}
    if path.suffix.lower() == ".ndax":
        meta["ndc_version"] = _ndax_version(path, fmt)
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = fastnda.read(str(path))
    except Exception as err:
        raise ReaderError(
            f"fastnda could not decode the file ({type(err).__name__}: {err}); it may be "
            "damaged or a newer Neware version — export CSV from BTSDA",
            path=path,
            format=fmt,
            original_error=err,
        ) from err
    for w in caught:
        if type(w.message).__name__ == "UnverifiedFormatWarning":
            meta["format_unverified"] = str(w.message)
            warnings.warn(
                f"{path}: fastnda decoded this Neware file version but has not verified it "
                f"against real data ({w.message}); compare a few values with BTSDA",
                CharsuiteWarning,
                stacklevel=2,
            )
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
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
    return cycling_dataset(
        time_s=t, voltage_V=v, current_mA=i, extra=extra, metadata=meta, original={"columns": names}
    )


def _ndax_version(path: Path, fmt: str) -> str:
    """``"<version>.<filetype>"`` of the ``data.ndc`` inside an ``.ndax`` zip."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(zf, path=path, format=fmt)  # fastnda inflates every member
            names = zf.namelist()
            if "data.ndc" not in names:
                raise ReaderError(
                    f"the .ndax container has no data.ndc (members: {sorted(names)[:8]}); "
                    "expected a Neware BTS export — re-export it, or export CSV from BTSDA",
                    path=path,
                    format=fmt,
                )
            with zf.open("data.ndc") as fh:
                head = fh.read(3)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        if isinstance(err, ReaderError):
            raise
        raise ReaderError(
            f"not a readable .ndax zip container ({err}); the file is damaged or incomplete",
            path=path,
            format=fmt,
        ) from None
    if len(head) < 3:
        raise ReaderError("data.ndc inside the .ndax is empty", path=path, format=fmt)
    return f"{head[2]}.{head[0]}"
