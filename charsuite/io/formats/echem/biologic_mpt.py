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
    add_extra_columns,
    check_time,
    cycling_dataset,
    decode,
    eis_dataset,
    head_text,
    read_bytes,
    timestamps_to_seconds,
)

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


def read(path: Path, *, lazy: bool = False):  # noqa: C901, PLR0912, PLR0915
    """Read an EC-Lab ``.mpt`` text export (see the module docstring).

    Raises
    ------
    ReaderError
        Unreadable header count, no column line, a row of the wrong width or a
        non-numeric value (line named), missing time/voltage/current (cycling) or
        frequency/Re(Z)/−Im(Z) (impedance) columns, time running backwards.
    """
    path = Path(path)
    fmt = SPEC.name
    text = decode(read_bytes(path, fmt))
    lines = text.splitlines()
    stated = None
    if lines and _BANNER.match(lines[0]):
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
        header_lines = lines[: n_header - 1]
        col_line = lines[n_header - 1]
        body = lines[n_header:]
        first_data_line = n_header + 1
    else:
        header_lines, col_line, body, first_data_line = [], lines[0], lines[1:], 2
    columns = [c.strip() for c in col_line.rstrip("\t").split("\t")]
    if len(columns) < 2 or not any("/" in c for c in columns):
        raise ReaderError(
            f"line {first_data_line - 1} should list tab-separated columns like 'time/s'; "
            f"found {col_line[:60]!r}",
            path=path,
            format=fmt,
        )
    rows, line_no = [], []
    for k, line in enumerate(body):
        if not line.strip():
            continue
        parts = line.rstrip("\t").split("\t")
        if len(parts) != len(columns):
            hint = (
                " (one more field than column names: a column name is missing from the "
                "column line, e.g. freq/Hz)"
                if len(parts) == len(columns) + 1
                else ""
            )
            raise ReaderError(
                f"line {first_data_line + k} has {len(parts)} fields, expected "
                f"{len(columns)} (columns {columns[:4]}...){hint}; the file is truncated or "
                "damaged — re-export it",
                path=path,
                format=fmt,
            )
        rows.append(parts)
        line_no.append(first_data_line + k)
    if not rows:
        raise ReaderError("no data rows after the column line", path=path, format=fmt)
    # decimal comma (some locales): judged on the first rows together, since a row of
    # integers alone (0, 1, ...) says nothing
    sample = [p for r in rows[:50] for p in r]
    decimal_comma = any("," in p for p in sample) and not any("." in p for p in sample)
    table = np.array(rows, dtype=object).T
    values: dict[str, np.ndarray] = {}
    n_placeholder = 0
    time_source = None
    for name, col in zip(columns, table):
        fixed = [x.replace(",", ".") for x in col] if decimal_comma else list(col)
        try:
            values[name] = np.array([float(x) for x in fixed])
            continue
        except ValueError:
            pass
        if name == "time/s":  # EC-Lab "absolute time" export: date-time strings
            parsed = timestamps_to_seconds(col)
            if parsed is not None:
                values[name], stamp_fmt = parsed
                time_source = f"time/s as date-time strings ({stamp_fmt}), seconds since row 1"
                continue
        out = np.empty(len(fixed))
        for k, x in enumerate(fixed):
            x = x.strip()
            if _PLACEHOLDER.match(x):  # old EC-Lab writes XXXX where no value exists
                out[k] = np.nan
                n_placeholder += 1
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
        values[name] = out
    meta = _meta(header_lines)
    meta["decimal_comma"] = bool(decimal_comma)
    if stated is not None:
        meta["header_lines_stated"], meta["header_lines_found"] = stated, n_header
    if time_source:
        meta["time_source"] = time_source
    if n_placeholder:
        meta["placeholder_values"] = n_placeholder
    original = {"header": header_lines, "columns": columns}

    def pick(*names):
        return next((n for n in names if n in values), None)

    extra: dict[str, tuple[np.ndarray, str, str]] = {}
    used: set[str] = set()
    f_col = pick("freq/Hz")
    if f_col is not None:
        re_col, im_col = pick("Re(Z)/Ohm"), pick("-Im(Z)/Ohm", "Im(Z)/Ohm")
        if re_col is None or im_col is None:
            raise ReaderError(
                f"impedance file without Re(Z)/Ohm and -Im(Z)/Ohm columns (found {columns})",
                path=path,
                format=fmt,
            )
        sign = -1.0 if im_col.startswith("-") else 1.0
        z = values[re_col] + 1j * sign * values[im_col]
        used |= {f_col, re_col, im_col}
        add_extra_columns(values, used, extra)
        meta["measurement"] = "impedance"
        meta["z_imag_in_file"] = im_col
        return eis_dataset(
            frequency=values[f_col], z=z, extra=extra, metadata=meta, original=original
        )
    t_col = pick("time/s")
    v_col = pick("Ewe/V", "<Ewe>/V", "Ecell/V", "Ewe-Ece/V", "<Ecell>/V")
    i_col = pick("I/mA", "<I>/mA")
    if i_col is None and pick("I/A", "<I>/A") is not None:  # some exports use amperes
        amp = pick("I/A", "<I>/A")
        values["I/mA"], i_col = values.pop(amp) * 1e3, "I/mA"
        meta["current_source"] = f"{amp} × 1000"
    if any("Re(Z)" in c for c in columns):
        raise ReaderError(
            f"impedance columns without freq/Hz (found {columns}); re-export with the frequency",
            path=path,
            format=fmt,
        )
    dq_col = pick("dq/mA.h", "dQ/mA.h")
    if i_col is None and t_col is not None and dq_col is not None:
        # exported without a current column: the charge step per point over its duration
        t = values[t_col]
        dt = np.diff(t, prepend=t[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            values["I/mA"] = np.where(dt > 0, values[dq_col] * 3600.0 / dt, 0.0)
        i_col = "I/mA"
        meta["current_source"] = f"{dq_col} ÷ Δt (no current column exported)"
    if i_col is None and t_col is not None and "open circuit" in meta.get("technique", "").lower():
        values["I/mA"], i_col = np.zeros_like(values[t_col]), "I/mA"
        meta["current_source"] = "none in an open-circuit file: 0"
    missing = [n for n, c in (("time/s", t_col), ("Ewe/V", v_col), ("I/mA", i_col)) if c is None]
    if missing:
        raise ReaderError(
            f"missing column(s) {missing}; found {columns}. Export the data from EC-Lab with "
            "these columns (Export as text → select variables)",
            path=path,
            format=fmt,
        )
    check_time(path, fmt, values[t_col], line_no)
    used |= {t_col, v_col, i_col}
    for col, var, unit, long in (
        ("(Q-Qo)/mA.h", "charge", "mAh", "cumulative charge (Q-Qo)"),
        ("cycle number", "cycle", "dimensionless", "EC-Lab cycle number"),
        ("Ns", "step", "dimensionless", "EC-Lab sequence number Ns"),
    ):
        if col in values:
            extra[var] = (values[col], unit, long)
            used.add(col)
    if "charge" not in extra and "(Q-Qo)/C" in values:
        extra["charge"] = (values["(Q-Qo)/C"] / 3.6, "mAh", "cumulative charge (Q-Qo), from C")
        used.add("(Q-Qo)/C")
    if "charge" not in extra and dq_col is not None:
        q = np.cumsum(np.nan_to_num(values[dq_col]))
        extra["charge"] = (q, "mAh", f"cumulative charge, running sum of {dq_col}")
    if "cycle" not in extra and "half cycle" in values:
        extra["cycle"] = (
            np.floor(values["half cycle"] / 2),
            "dimensionless",
            "half cycle // 2 (EC-Lab cycle number)",
        )
    add_extra_columns(values, used, extra)
    meta["measurement"] = "cycling"
    return cycling_dataset(
        time_s=values[t_col],
        voltage_V=values[v_col],
        current_mA=values[i_col],
        extra=extra,
        metadata=meta,
        original=original,
    )
