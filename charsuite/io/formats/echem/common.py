"""Shared pieces of the electrochemistry readers (not a format module).

Every cycling reader returns a Dataset on dim ``record`` with coordinate ``time`` (s) and
variables ``voltage`` (V), ``current`` (mA) and, when the file has them, ``charge``
(cumulative, mAh), ``cycle`` and ``step``; every impedance reader returns a Dataset on
dim ``frequency`` (Hz) with ``z_real`` and ``z_imag`` (Ω, Z″ < 0 capacitive).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._contain import companion

_UNIT_MAP = {
    "ohm": "ohm",
    "ohms": "ohm",
    "ω": "ohm",
    "ma.h": "mAh",
    "mah": "mAh",
    "a.h": "Ah",
    "ah": "Ah",
    "%": "percent",
    "µf": "uF",
    "uf": "uF",
    "deg": "deg",
    "°": "deg",
    "hz": "Hz",
    "s": "s",
    "v": "V",
    "mv": "mV",
    "ma": "mA",
    "a": "A",
    "w": "W",
    "w.h": "Wh",
    "ohm-1": "S",
}


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode(raw: bytes) -> str:
    """Decode vendor text.

    UTF-16 with a BOM (Windows "Unicode text" saves), UTF-8 (with or without BOM), else
    cp1252/latin-1.
    """
    if raw.startswith(_UTF16_BOMS):
        # an odd trailing byte (file cut mid-character) is dropped, not fatal
        return raw[: len(raw) - (len(raw) % 2)].decode("utf-16", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def head_text(head: bytes) -> str:
    """The first bytes of a file as text for ``can_read`` (never raises).

    UTF-16 with a BOM is decoded (the head may end mid-character); otherwise latin-1,
    which maps every byte, with a UTF-8 BOM removed. NUL bytes survive only in
    genuinely binary heads, so sniffers can keep rejecting those.
    """
    if head.startswith(_UTF16_BOMS):
        return decode(head)
    return head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


def read_bytes(path: Path, fmt: str) -> bytes:
    """Read a file, refusing empty and NUL-containing text files with a clear error."""
    raw = read_bytes_bounded(path, format=fmt)  # size and line length within the budget
    if not raw.strip():
        raise ReaderError("file is empty; re-export it from the instrument", path=path, format=fmt)
    return raw


def norm_unit(unit: str | None) -> str:
    """Map vendor unit spellings to charsuite units (unknown ones are kept)."""
    if not unit:
        return "dimensionless"
    u = unit.strip()
    return _UNIT_MAP.get(u.lower(), u)


def safe_name(label: str) -> str:
    """Variable name from a column label: lower-case words joined by ``_``."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", label).strip("_").lower()
    return name or "column"


def to_float(values: list[str], *, path: Path, fmt: str, column: str, lines=None) -> np.ndarray:
    """Convert strings to floats ('' → NaN), naming the line of the first bad value."""
    try:  # fast path: numpy parses the strings itself
        return np.array(values, dtype=float)
    except ValueError:
        pass
    out = np.empty(len(values), dtype=float)
    for k, s in enumerate(values):
        s = s.strip()
        if not s:
            out[k] = np.nan
            continue
        try:
            out[k] = float(s)
        except ValueError:
            where = f"line {lines[k]}" if lines is not None else f"row {k + 1}"
            raise ReaderError(
                f"{where}: column {column!r} holds {s[:30]!r}, not a number; "
                "fix or delete that row, or re-export the data",
                path=path,
                format=fmt,
            ) from None
    return out


def check_time(path: Path, fmt: str, t: np.ndarray, lines=None) -> None:
    """Raise if time runs backwards (NaN is allowed and left visible)."""
    finite = np.flatnonzero(np.isfinite(t))
    if finite.size < 2:
        return
    d = np.diff(t[finite])
    if np.any(d < 0):
        k = finite[int(np.argmax(d < 0)) + 1]
        where = f"line {lines[k]}" if lines is not None else f"record {k}"
        raise ReaderError(
            f"time is not monotonic at {where} ({t[k]:g} s after {t[finite[0]]:g}… "
            f"{t[k - 1]:g} s); the file may join several runs — split it and read each part",
            path=path,
            format=fmt,
        )


def cycling_dataset(
    *,
    time_s: np.ndarray,
    voltage_V: np.ndarray,
    current_mA: np.ndarray,
    extra: dict[str, tuple[np.ndarray, str, str]] | None = None,
    metadata: dict[str, Any],
    original: dict[str, Any],
):
    """Build the cycling Dataset (dim ``record``)."""
    import xarray as xr

    data_vars = {
        "voltage": ("record", voltage_V, {"units": "V", "long_name": "cell voltage"}),
        "current": ("record", current_mA, {"units": "mA", "long_name": "current"}),
    }
    for name, (values, units, long_name) in (extra or {}).items():
        if name in data_vars or name == "time":
            continue
        data_vars[name] = ("record", values, {"units": units, "long_name": long_name})
    return xr.Dataset(
        data_vars,
        coords={"time": ("record", time_s, {"units": "s", "long_name": "elapsed time"})},
        attrs={"technique": "echem", "metadata": metadata, "original_metadata": original},
    )


def eis_dataset(
    *,
    frequency: np.ndarray,
    z: np.ndarray,
    extra: dict[str, tuple[np.ndarray, str, str]] | None = None,
    metadata: dict[str, Any],
    original: dict[str, Any],
    sweep: np.ndarray | None = None,
):
    """Build the impedance Dataset (dim ``frequency``).

    ``sweep`` gives the instrument's own sweep numbers; without it a new sweep starts
    where the frequency turns back (counted from 0).
    """
    import xarray as xr

    data_vars = {
        "z_real": ("frequency", z.real.copy(), {"units": "ohm", "long_name": "Z'"}),
        "z_imag": (
            "frequency",
            z.imag.copy(),
            {"units": "ohm", "long_name": "Z'' (negative = capacitive)"},
        ),
    }
    for name, (values, units, long_name) in (extra or {}).items():
        if name in data_vars or name == "frequency":
            continue
        data_vars[name] = ("frequency", values, {"units": units, "long_name": long_name})
    # several sweeps in one file: a new sweep starts where the frequency turns back
    f = np.asarray(frequency, dtype=float)
    if sweep is None:
        step = np.sign(np.diff(f))
        main = np.sign(np.nansum(step)) or -1.0
        sweep = np.concatenate([[0], np.cumsum(step == -main)]) if f.size > 1 else np.zeros(f.size)
    sweep = np.asarray(sweep)
    data_vars["sweep"] = (
        "frequency",
        sweep.astype(int),
        {"units": "dimensionless", "long_name": "sweep number"},
    )
    metadata = {
        "z_imag_convention": "Z = Z' + jZ''; Z'' < 0 capacitive",
        "n_sweeps": int(np.unique(sweep).size),
        **metadata,
    }
    return xr.Dataset(
        data_vars,
        coords={"frequency": ("frequency", frequency, {"units": "Hz", "long_name": "frequency"})},
        attrs={"technique": "echem", "metadata": metadata, "original_metadata": original},
    )


def add_extra_columns(values, used, extra) -> None:
    """Add the columns of ``values`` not in ``used`` to ``extra`` as (array, unit, label).

    EC-Lab labels look like ``"name/unit"``; the variable name is the sanitised label,
    falling back to the sanitised full name when two labels collide.
    """
    for name, arr in values.items():
        if name in used:
            continue
        label, _, unit = name.rpartition("/") if "/" in name else (name, "", "")
        var = safe_name(label)
        if var in extra:
            var = safe_name(name)
        extra[var] = (arr, norm_unit(unit), name)


# Date-time layouts seen in cycler exports; month-first before day-first because EC-Lab,
# BT-Lab, Arbin and Maccor write US dates. Each is tried on the whole column.
_STAMP_FORMATS = (
    "%m/%d/%Y %H:%M:%S.%f",  # EC-Lab/BT-Lab absolute time, Arbin MITS Pro "Date Time"
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",  # Maccor "DPt Time"
    "%d-%b-%y %I:%M:%S %p",  # Maccor CSV "DPT Time" (23-Nov-23 3:56:11 PM)
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y %H:%M:%S.%f",
    "%d.%m.%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S.%f",
    "%d/%m/%Y %H:%M:%S",
)
_DURATION = re.compile(
    r"^\s*(?:(\d+)\s*d\s+|(\d+)\.(?=\d+:))?(\d+):(\d{1,2}):(\d{1,2}(?:[.,]\d*)?)\s*$"
)


def timestamps_to_seconds(values) -> tuple[np.ndarray, str] | None:
    """Seconds since the first row from a column of date-time strings, or None.

    Returns ``(seconds, format)``; None when no known layout parses every non-empty
    value. Empty values become NaN.
    """
    import pandas as pd

    text = pd.Series([str(v).strip().strip('"').strip() for v in values], dtype=object)
    present = text != ""
    if not bool(present.any()):
        return None
    for fmt in _STAMP_FORMATS:
        try:
            stamps = pd.to_datetime(text[present], format=fmt, errors="raise")
        except (ValueError, TypeError):
            continue
        ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        out = np.full(len(text), np.nan)
        out[present.to_numpy()] = (ns - ns[0]) / 1e9
        return out, fmt
    return None


def durations_to_seconds(values) -> np.ndarray | None:
    """Seconds from ``[Nd ]h:mm:ss[.f]`` or ``d.hh:mm:ss[.f]`` strings, or None.

    None unless every non-empty value matches (so a number column is never misread).
    Vectorised with pandas' regex extraction (cycler exports have 10⁵–10⁶ rows).
    """
    import pandas as pd

    text = pd.Series(["" if v is None else str(v) for v in values], dtype=object)
    present = text.str.strip() != ""
    if not bool(present.any()):
        return None
    parts = text[present].str.extract(_DURATION.pattern)
    if bool(parts[2].isna().any()):
        return None
    days = pd.to_numeric(parts[0].fillna(parts[1]).fillna("0")).to_numpy(dtype=float)
    hms = (
        pd.to_numeric(parts[2]).to_numpy(dtype=float) * 3600
        + pd.to_numeric(parts[3]).to_numpy(dtype=float) * 60
        + pd.to_numeric(parts[4].str.replace(",", ".")).to_numpy(dtype=float)
    )
    out = np.full(len(text), np.nan)
    out[present.to_numpy()] = days * 86400 + hms
    return out


def numeric_column(series, label: str, *, path: Path, fmt: str, first_line: int = 2) -> np.ndarray:
    """Floats from a pandas column ('' and 'nan' → NaN).

    A text value raises a ReaderError naming its line (``first_line`` = file line of the first row).
    """
    import pandas as pd

    if series.dtype.kind in "fiub":
        return series.to_numpy(dtype=float)
    text = series.astype(str).str.strip()
    out = pd.to_numeric(text, errors="coerce")
    bad = out.isna() & (text != "") & (text.str.lower() != "nan") & series.notna()
    if bool(bad.any()):
        k = int(np.argmax(bad.to_numpy()))
        raise ReaderError(
            f"line {first_line + k}: column {label!r} holds {text.iloc[k][:30]!r}, not a "
            "number; fix that row or re-export the data",
            path=path,
            format=fmt,
        )
    return out.to_numpy(dtype=float)


_COMPANION_SUFFIXES = ("_Metadata.csv", "_metadata.csv")


_LABEL_UNIT = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


def split_label(label: str) -> tuple[str, str]:
    """(lower-case base name, unit) of a column label like ``"Current (mA)"``.

    Quotes and repeated spaces are dropped, a label without ``(unit)`` gives unit ``""``.
    """
    label = label.strip().strip('"').strip()
    m = _LABEL_UNIT.match(label)
    base, unit = (m.group(1), m.group(2)) if m else (label, "")
    return re.sub(r"\s+", " ", base.strip().lower()), unit.strip()


def unit_factor(unit: str, table: dict, *, column: str, what: str, path: Path, fmt: str) -> float:
    """Conversion factor of ``unit`` (case-insensitive) from ``table``.

    A ReaderError naming the column and the known units otherwise.
    """
    key = unit.lower()
    if key not in table:
        raise ReaderError(
            f"column {column!r}: {key!r} is not a {what} unit this reader knows "
            f"({', '.join(table)})",
            path=path,
            format=fmt,
        )
    return table[key]


def companion_of(path: Path) -> Path | None:
    """The data file a ``<name>_Metadata.csv`` companion belongs to, if it is there."""
    name = Path(path).name
    for suffix in _COMPANION_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            for ext in (".csv", ".xlsx", ".xls", ".res"):
                cand = Path(path).with_name(stem + ext)
                if cand.is_file():
                    return cand
    return None


def companion_metadata(path: Path) -> dict | list | str | None:
    """Read the metadata companion beside a data file.

    The ``<stem>_Metadata.csv`` (Arbin/BEEP) or ``<stem>_metadata.csv`` (Novonix summary), as a
    dict (one row) or a list of dicts, or None.

    A broken side file gives ``"unreadable"`` (it must not stop reading the data).
    """
    import pandas as pd

    path = Path(path)
    for suffix in _COMPANION_SUFFIXES:
        side = companion(path, path.with_name(path.stem + suffix))
        if side is not None:
            break
    else:
        return None
    try:
        df = pd.read_csv(side, dtype=str, keep_default_na=False)
    except Exception:
        return "unreadable"
    df = df.loc[:, [c for c in df.columns if not str(c).startswith("Unnamed")]]
    rows = [{str(k): str(v) for k, v in r.items()} for r in df.to_dict("records")]
    if not rows:
        return "unreadable"
    return rows[0] if len(rows) == 1 else rows
