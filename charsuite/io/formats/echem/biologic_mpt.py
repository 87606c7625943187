"""BioLogic EC-Lab text export (``.mpt``; also ``.txt`` exports with the same layout).

Layout: ``EC-Lab ASCII FILE`` (``BT-Lab ASCII FILE`` from BT-Lab, BioLogic's battery
cycler software), ``Nb header lines : N``, N − 3 lines of settings, then a tab-separated
column line and data rows (decimal point or, in some locales, decimal comma). Exports
without the header block (first line = column names) are accepted. When the stated
header count does not land on the column line (a hand-edited header), the column line
is searched for and ``metadata["header_lines_stated"]``/``["header_lines_found"]`` record
the difference.

Time variants: ``time/s`` in seconds, or — with EC-Lab's/BT-Lab's "absolute time"
export option — date-time strings (``11/20/2024 11:38:41.707``), converted to seconds
since the first row (``metadata["time_source"]``). Placeholder values ``XXXX`` written
by old EC-Lab versions in some columns become NaN (``metadata["placeholder_values"]``).

Column mapping (names as EC-Lab writes them):

============================== =====================================================
EC-Lab column                  charsuite variable
============================== =====================================================
``time/s``                     ``time`` coordinate (s)
``Ewe/V`` or ``<Ewe>/V``       ``voltage`` (V) (``Ecell/V`` / ``Ewe-Ece/V`` if no Ewe)
``I/mA`` or ``<I>/mA``         ``current`` (mA) (0 in open-circuit files without it)
``(Q-Qo)/mA.h``                ``charge`` (cumulative, mAh)
``cycle number``               ``cycle``;  ``Ns`` → ``step``
``freq/Hz``                    ``frequency`` coordinate (impedance files)
``Re(Z)/Ohm``, ``-Im(Z)/Ohm``  ``z_real``, ``z_imag`` = −(−Im Z)
============================== =====================================================

Column sets chosen at export ("Export as text → select variables"): without a current
column, ``dq/mA.h`` ÷ Δt gives the current (``metadata["current_source"]``); without
``(Q-Qo)/mA.h`` the running sum of ``dq/mA.h`` gives ``charge``; without ``cycle
number``, ``half cycle`` // 2 gives ``cycle`` (as for ``.mpr``).

Every other numeric column is kept under a lower-case name (``Q charge/discharge/mA.h``
→ ``q_charge_discharge`` in mAh, ``Efficiency/%`` → ``efficiency`` in percent).
Curated metadata: ``active_mass_mg`` ("Mass of active material" / "Characteristic
mass"), ``electrode_area_cm2``, ``battery_capacity_mAh``, ``technique``, ``instrument``,
``software``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import (
    decode,
    head_text,
    read_bytes,
    timestamps_to_seconds,
)
from charsuite.io.formats.echem.eclab_common import ctrl_types, eclab_dataset

SPEC = FormatSpec(
    name="biologic-mpt",
    technique="echem",
    extensions=(".mpt",),
    description="BioLogic EC-Lab text export (.mpt): cycling, CP/CA, OCV or PEIS/GEIS",
    priority=60,
)
_KNOWN_COLS = (
    "time/s",
    "Ewe/V",
    "<Ewe>/V",
    "Ecell/V",
    "I/mA",
    "<I>/mA",
    "freq/Hz",
    "mode\tox/red",
    "Re(Z)/Ohm",
)
_BANNER = re.compile(r"^(EC|BT)-Lab ASCII FILE", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^X+$")
_META_LINE = re.compile(r"^(.+?)\s*:\s*([-+]?\d+(?:[.,]\d*)?(?:[eE][-+]?\d+)?)\s*(\S+)?\s*$")


def can_read(path: Path, head: bytes) -> bool:
    """EC-Lab/BT-Lab banner, or a first line of tab-separated EC-Lab column names."""
    text = head_text(head)
    if _BANNER.match(text):
        return True
    first = text.split("\n", 1)[0]
    return "\t" in first and sum(c in first for c in _KNOWN_COLS) >= 2


def _meta(header_lines: list[str]) -> dict:
    meta: dict = {"instrument": "BioLogic"}
    for k, line in enumerate(header_lines):
        s = line.strip()
        m = _META_LINE.match(s)
        low = s.lower()
        if k == 3 and s:
            meta["technique"] = s
        if m:
            value = float(m.group(2).replace(",", "."))
            unit = (m.group(3) or "").lower()
            key = m.group(1).lower()
            if key in ("mass of active material", "characteristic mass"):
                scale = {"mg": 1.0, "g": 1e3, "µg": 1e-3}.get(unit, 1.0)
                meta.setdefault("active_mass_mg", value * scale)
            elif key == "electrode surface area":
                meta["electrode_area_cm2"] = value
            elif key == "battery capacity":
                meta["battery_capacity_mAh"] = value * (1e3 if unit == "a.h" else 1.0)
        if low.startswith("device :"):
            meta["instrument"] = "BioLogic " + s.split(":", 1)[1].strip()
        elif low.startswith(("ec-lab for windows", "ec-lab v", "bt-lab for windows")):
            meta["software"] = s
        elif low.startswith("run on channel"):
            meta["channel"] = s.split(":", 1)[1].strip()
    for key in ("active_mass_mg", "electrode_area_cm2"):
        if meta.get(key) == 0:  # 0 means "not entered" in EC-Lab
            meta[key] = None
    return meta


def _is_column_line(line: str) -> bool:
    """Tab-separated names, at least one with a unit (``time/s``), none a number."""
    cells = [c.strip() for c in line.rstrip("\t").split("\t")]
    if len(cells) < 2 or not any("/" in c for c in cells):
        return False
    for c in cells:
        try:
            float(c.replace(",", "."))
        except ValueError:
            continue
        return False
    return True


def _find_column_line(lines: list[str], stated: int) -> int | None:
    """Index of the column line within a few lines of where the header count puts it."""
    for k in range(max(1, stated - 6), min(len(lines), stated + 6)):
        if _is_column_line(lines[k]):
            return k
    return None


def _layout(lines: list[str], path: Path, fmt: str):
    """Stage 1: (header lines, column names, data lines, first data line no., stated count)."""
    if not (lines and _BANNER.match(lines[0])):
        return [], lines[0] if lines else "", lines[1:], 2, None
    m = re.match(r"Nb header lines\s*:\s*(\d+)", lines[1] if len(lines) > 1 else "")
    if not m:
        raise ReaderError(
            "line 2 should read 'Nb header lines : N'; the header is damaged",
            path=path,
            format=fmt,
        )
    n_header = int(m.group(1))
    if n_header < 2 or n_header > len(lines):
        raise ReaderError(
            f"header claims {n_header} lines but the file has {len(lines)}; truncated?",
            path=path,
            format=fmt,
        )
    stated = None
    if not _is_column_line(lines[n_header - 1]):
        found = _find_column_line(lines, n_header)
        if found is None:
            raise ReaderError(
                f"'Nb header lines : {n_header}' points to line {n_header}, which is not "
                f"a column line ({lines[n_header - 1][:60]!r}), and no line nearby lists "
                "columns like 'time/s' or 'freq/Hz'; re-export the file from EC-Lab",
                path=path,
                format=fmt,
            )
        stated, n_header = n_header, found + 1
    return lines[: n_header - 1], lines[n_header - 1], lines[n_header:], n_header + 1, stated


def _rows(body: list[str], columns: list[str], first_data_line: int, path: Path, fmt: str):
    """Stage 2: split data lines into fields.

    EC-Lab writes rows with fewer tab fields than the column line (columns that have no
    value for that row, e.g. impedance columns of a wait step): the missing trailing fields
    are empty (NaN). A row with more fields than names is refused.
    """
    rows, line_no = [], []
    width = len(columns)
    for k, line in enumerate(body):
        if not line.strip():
            continue
        parts = line.rstrip("\t").split("\t")
        if len(parts) > width:
            hint = (
                " (one more field than column names: a column name is missing from the "
                "column line, e.g. freq/Hz)"
                if len(parts) == width + 1
                else ""
            )
            raise ReaderError(
                f"line {first_data_line + k} has {len(parts)} fields but the column line names "
                f"only {width} (columns {columns[:4]}...){hint}; re-export the file",
                path=path,
                format=fmt,
            )
        if len(parts) < width:
            parts = parts + [""] * (width - len(parts))
        rows.append(parts)
        line_no.append(first_data_line + k)
    if not rows:
        raise ReaderError("no data rows after the column line", path=path, format=fmt)
    return rows, line_no


def _column(name: str, col, fixed: list[str], line_no, path: Path, fmt: str):
    """Floats of one column: numbers, '' → NaN, XXXX placeholders → NaN, or date-times
    for ``time/s``. Returns (values, placeholders, time source or None)."""
    if name == "time/s" and not _numeric(fixed[0]):
        parsed = timestamps_to_seconds(col)
        if parsed is not None:
            src = f"time/s as date-time strings ({parsed[1]}), seconds since row 1"
            return parsed[0], 0, src
    out = np.empty(len(fixed))
    n_placeholder = 0
    for k, x in enumerate(fixed):
        x = x.strip()
        if not x or _PLACEHOLDER.match(x):  # old EC-Lab writes XXXX where no value exists
            out[k] = np.nan
            n_placeholder += bool(x)
            continue
        try:
            out[k] = float(x)
        except ValueError:
            raise ReaderError(
                f"line {line_no[k]}: column {name!r} holds {col[k][:30]!r}, not a number"
                + ("" if name != "time/s" else " nor a date-time this reader knows")
                + "; fix that row or re-export the data",
                path=path,
                format=fmt,
            ) from None
    return out, n_placeholder, None


def _numeric(x: str) -> bool:
    try:
        float(x.strip().replace(",", ".") or "0")
    except ValueError:
        return False
    return True


def _values(columns, rows, line_no, path: Path, fmt: str) -> tuple[dict, dict]:
    """Stage 3: column name → floats, and what the parsing found (metadata)."""
    # decimal comma (some locales): judged on the first rows together, since a row of
    # integers alone (0, 1, ...) says nothing
    sample = [p for r in rows[:50] for p in r]
    decimal_comma = any("," in p for p in sample) and not any("." in p for p in sample)
    table = np.array(rows, dtype=object).T
    values: dict[str, np.ndarray] = {}
    found: dict = {"decimal_comma": bool(decimal_comma)}
    n_placeholder = 0
    for name, col in zip(columns, table):
        fixed = [x.replace(",", ".") for x in col] if decimal_comma else list(col)
        try:
            values[name] = np.array(fixed, dtype=float)
            continue
        except ValueError:
            pass
        values[name], n, time_source = _column(name, col, fixed, line_no, path, fmt)
        n_placeholder += n
        if time_source:
            found["time_source"] = time_source
    if n_placeholder:
        found["placeholder_values"] = n_placeholder
    return values, found


def read(path: Path, *, lazy: bool = False):
    """Read an EC-Lab ``.mpt`` text export (see the module docstring).

    Raises
    ------
    ReaderError
        Unreadable header count, no column line, a row with more fields than column
        names or a non-numeric value (line named), missing time/voltage/current (cycling)
        or impedance columns, time running backwards.
    """
    path = Path(path)
    fmt = SPEC.name
    text = decode(read_bytes(path, fmt))
    header_lines, col_line, body, first_data_line, stated = _layout(text.splitlines(), path, fmt)
    columns = [c.strip() for c in col_line.rstrip("\t").split("\t")]
    if len(columns) < 2 or not any("/" in c for c in columns):
        raise ReaderError(
            f"line {first_data_line - 1} should list tab-separated columns like 'time/s'; "
            f"found {col_line[:60]!r}",
            path=path,
            format=fmt,
        )
    rows, line_no = _rows(body, columns, first_data_line, path, fmt)
    values, found = _values(columns, rows, line_no, path, fmt)
    meta = {**_meta(header_lines), **found}
    if stated is not None:
        meta["header_lines_stated"], meta["header_lines_found"] = stated, first_data_line - 1
    if "freq/Hz" not in values and any("Re(Z)" in c for c in columns):
        raise ReaderError(
            f"impedance columns without freq/Hz (found {columns}); re-export with the frequency",
            path=path,
            format=fmt,
        )
    meta["open_circuit_ok"] = "open circuit" in meta.get("technique", "").lower()
    return eclab_dataset(
        values,
        meta=meta,
        original={"header": header_lines, "columns": columns},
        path=path,
        fmt=fmt,
        ctrl=ctrl_types(header_lines),
        line_no=line_no,
    )
