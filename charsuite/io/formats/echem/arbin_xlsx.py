"""Arbin MITS Pro Excel exports (``.xlsx``, ``.xls``), through python-calamine.

MITS Pro / Data Watcher writes one workbook per channel: a ``Global_Info`` sheet (test
name, channel, start time, schedule, software version) and the data in sheets
``Channel_<n>_<k>`` (``k`` = 1, 2, ... when the rows overflow one sheet), with the
columns of the CSV export (``Date_Time``, ``Test_Time(s)``, ``Step_Time(s)``,
``Step_Index``, ``Cycle_Index``, ``Voltage(V)``, ``Current(A)``, ``Charge_Capacity(Ah)``,
``Discharge_Capacity(Ah)``, energies, ``Internal Resistance(Ohm)``, ``dV/dt(V/s)``).
``Channel_Chart`` and statistics sheets are ignored. The column mapping and units are
those of :mod:`charsuite.io.formats.echem.arbin_csv` (positive current charges; ``charge`` is
rebuilt from Arbin's per-cycle capacities, so per-cycle capacities reproduce Arbin's).

A workbook holding several channels needs ``channel=N``. ``Global_Info`` goes to
``original_metadata["global_info"]``; a ``<name>_Metadata.csv`` beside the file (BEEP
layout) to ``original_metadata["metadata_file"]``.

python-calamine (Rust calamine) is used rather than openpyxl: it reads ``.xlsx`` and the
older ``.xls`` of MITS Pro 4–7 alike, returns typed cells (dates as datetimes), and is
≈ 10–20× faster on large sheets.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
import zipfile
from pathlib import Path

import numpy as np

from charsuite.exceptions import Interrupted, MissingDependencyError, ReaderError
from charsuite.io._budget import xlsx_dimensions
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.arbin_csv import _split_name, arbin_dataset
from charsuite.io.formats.echem.common import (
    check_time,
    companion_metadata,
    timestamps_to_seconds,
)

SPEC = FormatSpec(
    name="arbin-xlsx",
    technique="echem",
    extensions=(".xlsx", ".xls"),
    description="Arbin MITS Pro Excel export (Global_Info + Channel_<n>_<k> sheets)",
    priority=60,
)
_CHANNEL_SHEET = re.compile(r"^Channel_(\d+)(?:_(\d+))?$")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _keep_interrupts(err: BaseException) -> None:
    """Re-raise Ctrl-C / exit; anything else from calamine is a damaged file."""
    if isinstance(err, (KeyboardInterrupt, SystemExit, GeneratorExit, Interrupted)):
        raise err


def _sheet_names_xlsx(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf, zf.open("xl/workbook.xml") as fh:
        xml = fh.read(200_000).decode("utf-8", errors="replace")
    return re.findall(r"<(?:\w+:)?sheet\b[^>]*\bname=\"([^\"]*)\"", xml)


def can_read(path: Path, head: bytes) -> bool:
    """An Excel workbook with a ``Channel_<n>[_<k>]`` sheet (sheet names only are read)."""
    suffix = Path(path).suffix.lower()
    try:
        if head.startswith(b"PK\x03\x04") and suffix in (".xlsx", ".xlsm"):
            names = _sheet_names_xlsx(Path(path))
        elif head.startswith(_OLE) and suffix == ".xls":
            from python_calamine import CalamineWorkbook

            names = CalamineWorkbook.from_path(str(path)).sheet_names
        else:
            return False
    except BaseException as err:  # Rust panics in calamine derive from BaseException
        _keep_interrupts(err)
        return False
    return any(_CHANNEL_SHEET.match(n) for n in names)


def _numeric(values: list, name: str, *, path: Path, fmt: str) -> np.ndarray:
    """Floats from typed cells ('' → NaN); a text cell in a number column is an error."""
    out = np.full(len(values), np.nan)
    for k, v in enumerate(values):
        if isinstance(v, bool):
            out[k] = float(v)
        elif isinstance(v, (int, float)):
            out[k] = v
        elif isinstance(v, str):
            s = v.strip()
            if not s:
                continue
            try:
                out[k] = float(s)
            except ValueError:
                raise ReaderError(
                    f"row {k + 2} of column {name!r} holds {s[:30]!r}, not a number; fix "
                    "that cell or re-export the data",
                    path=path,
                    format=fmt,
                ) from None
        elif v is not None:
            raise ReaderError(
                f"row {k + 2} of column {name!r} holds a {type(v).__name__}, not a number",
                path=path,
                format=fmt,
            )
    return out


def _seconds(values: list) -> np.ndarray | None:
    """Seconds since the first row from a column of datetimes, or None."""
    stamps = [v if isinstance(v, _dt.datetime) else None for v in values]
    if not any(stamps):
        return None
    t0 = next(s for s in stamps if s is not None)
    return np.array([np.nan if s is None else (s - t0).total_seconds() for s in stamps])


def _global_info(rows: list[list]) -> dict:
    """The key row (``Channel``, ``Start DateTime``, ...) and the value row below it."""
    out: dict = {}
    for k, row in enumerate(rows[:-1]):
        if row and str(row[0]).strip() == "Channel":
            for key, value in zip(row, rows[k + 1]):
                key = str(key).strip()
                if key:
                    out[key] = value.isoformat() if hasattr(value, "isoformat") else value
            break
    texts = [str(c) for row in rows[:3] for c in row if isinstance(c, str) and c.strip()]
    if "TEST REPORT" in texts:
        texts.remove("TEST REPORT")
    if texts:
        out["test_name"] = texts[0]
    return out


def _channel_sheets(names: list, channel, *, path: Path, fmt: str):
    """(channel, its Channel_<n>_<k> sheets in order)."""
    channels: dict[int, list[tuple[int, str]]] = {}
    for name in names:
        m = _CHANNEL_SHEET.match(name)
        if m:
            channels.setdefault(int(m.group(1)), []).append((int(m.group(2) or 1), name))
    if not channels:
        raise ReaderError(
            f"no Channel_<n>_<k> data sheet (sheets: {names[:10]}); export the channel data "
            "from MITS Pro",
            path=path,
            format=fmt,
        )
    if channel is None and len(channels) > 1:
        raise ReaderError(
            f"the workbook holds channels {sorted(channels)}; pass channel=N to choose one",
            path=path,
            format=fmt,
        )
    chan = channel if channel is not None else next(iter(channels))
    if chan not in channels:
        raise ReaderError(
            f"channel={chan!r} is not in the workbook (channels {sorted(channels)})",
            path=path,
            format=fmt,
        )
    return chan, [name for _, name in sorted(channels[chan])]


def _sheet_rows(wb, sheets: list, *, path: Path, fmt: str):
    """Header and data rows of the channel's sheets (continuation sheets appended)."""
    header: list[str] | None = None
    body: list[list] = []
    try:
        for name in sheets:
            rows = wb.get_sheet_by_name(name).to_python()
            if not rows:
                continue
            first = [str(c).strip() for c in rows[0]]
            if header is None:
                header = first
            elif first != header:  # a continuation sheet repeats the header, or not
                body.extend(rows)
                continue
            body.extend(rows[1:])
    except BaseException as err:
        _keep_interrupts(err)
        raise ReaderError(
            f"a data sheet could not be read ({type(err).__name__}: {err})",
            path=path,
            format=fmt,
        ) from None
    if header is None or not body:
        raise ReaderError("the Channel sheet holds no data rows", path=path, format=fmt)
    return header, body


def _columns(header: list, body: list, meta: dict, *, path: Path, fmt: str):
    """Numeric columns by Arbin base name, their units, and the time from Date_Time."""
    cols: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    date_col = None
    for label, values in zip(header, zip(*body)):
        base, unit = _split_name(label)
        if base in cols or not label:
            continue
        if base == "Date_Time":
            date_col = list(values)
            continue
        if base in ("Test_Time", "Current", "Voltage") or all(
            isinstance(v, (int, float)) or v in ("", None) for v in values
        ):
            cols[base] = _numeric(list(values), label, path=path, fmt=fmt)
            units[base] = unit
    if "Test_Time" not in cols and date_col is not None:
        t = _seconds(date_col)
        source = "Date_Time (Excel dates), seconds since row 1"
        if t is None:  # dates stored as text
            parsed = timestamps_to_seconds(["" if v is None else str(v) for v in date_col])
            t, source = (None, "") if parsed is None else (parsed[0], f"Date_Time ({parsed[1]})")
        if t is not None:
            cols["Test_Time"], units["Test_Time"] = t, "s"
            meta["time_source"] = source
    if "Test_Time" in cols:
        check_time(path, fmt, cols["Test_Time"])
    return cols, units


def _global_metadata(wb, names: list, meta: dict, original: dict) -> None:
    try:
        if "Global_Info" in names:
            info = _global_info(wb.get_sheet_by_name("Global_Info").to_python())
            original["global_info"] = info
            if info.get("Software Version"):
                meta["software"] = str(info["Software Version"])
            if info.get("Start DateTime"):
                meta["start_time"] = str(info["Start DateTime"])
            if info.get("test_name"):
                meta["sample"] = str(info["test_name"])
    except BaseException as err:  # a damaged info sheet must not stop reading the data
        _keep_interrupts(err)
        original["global_info"] = "unreadable"


def read(path: Path, *, lazy: bool = False, channel: int | None = None):
    """Read an Arbin Excel export (see the module docstring).

    Parameters
    ----------
    path : Path
    lazy : bool
        Not native (the registry chunks the result).
    channel : int, optional
        Channel number to read when the workbook holds several channels.

    Raises
    ------
    MissingDependencyError
        python-calamine is not installed.
    ReaderError
        Not a workbook, no Channel sheet, several channels without ``channel=``, missing
        Test_Time/Current/Voltage, an unknown unit, text in a number column.
    """
    path = Path(path)
    fmt = SPEC.name
    if path.stat().st_size == 0:
        raise ReaderError("file is empty; re-export it from MITS Pro", path=path, format=fmt)
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as err:
        raise MissingDependencyError(
            f"{path}: reading Arbin Excel exports needs python-calamine: "
            "pip install 'python-calamine>=0.2'; or export CSV from MITS Pro"
        ) from err
    xlsx_dimensions(path, format=fmt)  # calamine aborts the process on a far cell
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
    except BaseException as err:  # calamine errors; a Rust panic is a BaseException
        _keep_interrupts(err)
        raise ReaderError(
            f"not a readable Excel workbook ({type(err).__name__}: {err}); re-export it",
            path=path,
            format=fmt,
        ) from None
    chan, sheets = _channel_sheets(names, channel, path=path, fmt=fmt)
    header, body = _sheet_rows(wb, sheets, path=path, fmt=fmt)
    while header and not header[-1]:
        header.pop()
    width = len(header)
    body = [list(r[:width]) + [""] * (width - len(r)) for r in body if any(c != "" for c in r)]
    if not body:
        raise ReaderError("the Channel sheet holds no data rows", path=path, format=fmt)
    meta: dict = {"channel": chan}
    cols, units = _columns(header, body, meta, path=path, fmt=fmt)
    original: dict = {"columns": header, "sheets": names}
    _global_metadata(wb, names, meta, original)
    with contextlib.suppress(Exception):
        wb.close()
    side = companion_metadata(path)
    if side is not None:
        original["metadata_file"] = side
    return arbin_dataset(cols, units, path=path, fmt=fmt, meta=meta, original=original)
