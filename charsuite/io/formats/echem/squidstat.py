"""Admiral Instruments Squidstat CSV exports (DC cycling and EIS).

Columns are mapped by header name, never by position (the layout drifts between
software versions):

=================================== ================================================
header (any version seen)           charsuite variable
=================================== ================================================
``Elapsed Time (s)``                ``time`` coordinate (s); without it (newer exports),
                                    ``UTC Time (s)`` relative to the first row
``Working Electrode (V)``           ``voltage`` (V)
``Current (mA)`` / ``(A)`` / ``(uA)`` ``current`` (converted to mA)
``Cumulative Charge (mAh)``/``(Ah)`` ``charge`` (mAh; running signed integral, never reset)
``Step number`` (``6_1``), ``Step name`` ``step``, ``step_name`` (text)
``Current Density (mA/cm²)``        ``current_density`` (mA/cm2)
``Working Electrode vs. NHE (V)``   ``voltage_vs_nhe``; ``Counter Electrode (V)`` → ``counter_voltage``
``Frequency (Hz)``                  ``frequency`` coordinate of an EIS file
``Z' (Ohms)``, ``-Z'' (Ohms)``      ``z_real``, ``z_imag`` = −(−Z″) (Z″ < 0 capacitive);
                                    older software writes ``-Z" (Ohms)`` (same meaning)
``|Z| (Ohms)``, ``Phase (deg)``     ``z_modulus``, ``phase``
=================================== ================================================

Other numeric columns are kept under a lower-case name with the unit from their
parentheses. Text is latin-1/cp1252 (``²`` = 0xB2), UTF-8 (with or without BOM) or
UTF-16 with BOM; mixed CRLF/LF line endings are accepted. The ``Experiment settings and notes.txt`` in the same folder supplies
``electrode_area_cm2`` and ``active_mass_mg`` (from "Working Electrode Area (cm2)" and
"Working Electrode Mass (g)"), software version and device.

Options
-------
settings : path or False, optional
    Settings file to use instead of the one beside the CSV (False: ignore it).
cell_voltage : {"working", "working-minus-counter"}
    ``voltage`` is ``Working Electrode (V)`` (default), or WE − CE for two-electrode
    cells recorded with the counter electrode against a reference.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ParameterError, ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._contain import check_regular, companion
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import (
    check_time,
    cycling_dataset,
    decode,
    eis_dataset,
    head_text,
    norm_unit,
    read_bytes,
    safe_name,
    to_float,
)

SPEC = FormatSpec(
    name="squidstat",
    technique="echem",
    extensions=(".csv",),
    description="Admiral Squidstat CSV export (cycling or EIS; + Experiment settings and notes.txt)",
    priority=60,
)
SETTINGS_NAME = "Experiment settings and notes.txt"
_CURRENT = {"ma": 1.0, "a": 1e3, "ua": 1e-3, "µa": 1e-3, "na": 1e-6}
_CHARGE = {"mah": 1.0, "ah": 1e3, "uah": 1e-3, "µah": 1e-3, "c": 1e3 / 3600.0, "mc": 1 / 3600.0}
_LABEL = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


def _split_label(label: str) -> tuple[str, str | None]:
    # older Squidstat software writes Z″ as Z" (CSV-escaped ""), newer as Z''
    label = label.strip().replace('"', "''")
    m = _LABEL.match(label)
    return (m.group(1).strip(), m.group(2).strip()) if m else (label, None)


def _is_header(line: str) -> bool:
    return "Elapsed Time" in line or "UTC Time (s)" in line


def _header_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def can_read(path: Path, head: bytes) -> bool:
    """Accept a CSV whose first line names Squidstat columns."""
    text = head_text(head)
    if "\x00" in text:
        return False
    first = _header_line(text)
    if "," not in first:
        return False
    try:
        fields = {f.strip() for f in next(csv.reader([first]))}
    except (csv.Error, StopIteration):
        return False
    if not fields & {"Elapsed Time (s)", "UTC Time (s)"}:
        return False
    bases = {_split_label(f)[0].lower() for f in fields}  # any unit spelling (Ohms, Ω)
    return "Working Electrode (V)" in fields or (
        "Frequency (Hz)" in fields and bool(bases & {"z'", "-z''", "|z|"})
    )


def _number(text: str, spath: Path, line: str):
    """A settings value as float.

    None when empty, NaN kept (float('nan')), else an error for the area/mass lines that
    capacities are normalised by.
    """
    text = text.strip()
    low = line.lower()
    if not ("working electrode area" in low or "working electrode mass" in low):
        return None
    if not text:
        return None
    m = re.match(r"^([-+]?(?:\d*\.?\d+(?:[eE][-+]?\d+)?|nan|inf))\b", text, re.IGNORECASE)
    if not m:
        raise ReaderError(
            f"line {line!r}: expected a number, found {text!r}; fix the value in the settings "
            "file or pass settings=False and give area/mass explicitly",
            path=spath,
            format="squidstat",
        )
    return float(m.group(1))


def _settings(path: Path, option) -> tuple[dict, dict]:
    if option is False:
        return {}, {}
    if option:  # a settings file the user named is an input like the data file
        spath = Path(option)
        check_regular(spath, format="squidstat")
    else:
        spath = companion(path, Path(path).parent / SETTINGS_NAME)
        if spath is None:
            return {}, {}
    text = decode(read_bytes_bounded(spath, format="squidstat"))
    meta: dict = {}
    original: dict = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^([^:=\t]+?)\s*[:=\t]\s*(.*)$", line)
        if m:
            original[m.group(1).strip()] = m.group(2).strip()
        low = line.lower()
        num = re.search(r"[:=\t]\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)", line)
        value = _number(m.group(2), spath, line) if m else None
        if "working electrode area" in low and value is not None:
            scale = 0.01 if "(mm2)" in low or "(mm²)" in low else 1.0
            meta["electrode_area_cm2"] = value * scale
        elif "working electrode mass" in low and value is not None:
            if "(mg)" in low:
                meta["active_mass_mg"] = value
            elif "(ug)" in low or "(µg)" in low:
                meta["active_mass_mg"] = value * 1e-3
            else:  # grams, as Squidstat writes it
                meta["active_mass_mg"] = value * 1e3
        elif low.startswith("squidstat user interface"):
            meta["software"] = line
        elif low.startswith("device"):
            meta["instrument"] = f"Admiral Squidstat {line.split(':', 1)[-1].strip()}"
        elif low.startswith("channel") and num:
            meta["channel"] = num.group(1)
    if meta.get("active_mass_mg") == 0:
        meta["active_mass_mg"] = None  # "0" means not entered; never normalise by zero
    return meta, {"settings_file": str(spath), "settings": original}


def _body_lines(lines: list[str], hdr_idx: int, *, path: Path, fmt: str):
    """(header, data lines, their line numbers).

    A repeated header is skipped, a changed one refused.
    """
    header = [h.strip() for h in next(csv.reader([lines[hdr_idx]]))]
    body, line_no = [], []
    for k in range(hdr_idx + 1, len(lines)):
        line = lines[k]
        if not line.strip():
            continue
        if _is_header(line):
            other = [h.strip() for h in next(csv.reader([line]))]
            if other != header:
                changed = [f"{a!r} → {b!r}" for a, b in zip(header, other) if a != b]
                raise ReaderError(
                    f"line {k + 1}: a second header with different columns or units "
                    f"({', '.join(changed) or 'column count'}); units must not change within "
                    "one file — split it at that line and read each part",
                    path=path,
                    format=fmt,
                )
            continue
        body.append(line)
        line_no.append(k + 1)
    if not body:
        raise ReaderError(
            "header found but no data rows; the run recorded nothing", path=path, format=fmt
        )
    return header, body, line_no


def _impedance(by_name, header, used, extra, numeric, *, path: Path, fmt: str):
    """Frequency and complex Z of an EIS export (Z', ±Z'' or |Z| and phase)."""
    f = numeric("frequency")
    used.add("frequency")
    zr = zi = None
    if "z'" in by_name:
        zr = numeric("z'")
        used.add("z'")
    if "-z''" in by_name:
        zi = -numeric("-z''")
        used.add("-z''")
    elif "z''" in by_name:
        zi = numeric("z''")
        used.add("z''")
    if (zr is None or zi is None) and "|z|" in by_name and "phase" in by_name:
        mod, ph = numeric("|z|"), np.radians(numeric("phase"))
        zr, zi = mod * np.cos(ph), mod * np.sin(ph)
    if zr is None or zi is None:
        raise ReaderError(
            "EIS export without Z' and -Z'' (or |Z| and Phase) columns; found "
            f"{header}. Re-export with the impedance columns",
            path=path,
            format=fmt,
        )
    for key, var in (("|z|", "z_modulus"), ("phase", "phase")):
        if key in by_name:
            k, unit = by_name[key]
            extra[var] = (numeric(key), norm_unit(unit), header[k])
            used.add(key)
    _extras(by_name, header, used, extra, numeric)
    return f, zr + 1j * zi


def _cell_voltage(by_name, header, numeric, cell_voltage, meta, *, path: Path, fmt: str):
    v = numeric("working electrode")
    if cell_voltage == "working-minus-counter":
        if "counter electrode" not in by_name:
            raise ReaderError(
                "cell_voltage='working-minus-counter' but there is no 'Counter Electrode (V)' "
                f"column (found {header})",
                path=path,
                format=fmt,
            )
        meta["voltage_definition"] = "Working Electrode (V) − Counter Electrode (V)"
        return v - numeric("counter electrode")
    if cell_voltage != "working":
        raise ParameterError(
            f"cell_voltage={cell_voltage!r}: expected 'working' or 'working-minus-counter'"
        )
    meta["voltage_definition"] = "Working Electrode (V)"
    return v


def _current_charge(by_name, header, used, extra, numeric, *, path: Path, fmt: str):
    """Current (mA) and, when exported, the cumulative charge (mAh) into ``extra``."""
    k_i, unit_i = by_name["current"]
    scale = _CURRENT.get((unit_i or "").lower())
    if scale is None:
        raise ReaderError(
            f"current column {header[k_i]!r} has unit {unit_i!r}; expected mA, A or uA",
            path=path,
            format=fmt,
        )
    current = numeric("current") * scale
    used |= {"elapsed time", "working electrode", "current"}
    if "cumulative charge" in by_name:
        k_q, unit_q = by_name["cumulative charge"]
        qs = _CHARGE.get((unit_q or "").lower())
        if qs is None:
            raise ReaderError(
                f"charge column {header[k_q]!r} has unit {unit_q!r}; expected mAh, Ah or C",
                path=path,
                format=fmt,
            )
        extra["charge"] = (numeric("cumulative charge") * qs, "mAh", "cumulative charge")
        used.add("cumulative charge")
    return current, unit_i


def read(path: Path, *, lazy: bool = False, settings=None, cell_voltage: str = "working"):
    """Read a Squidstat CSV export; see the module docstring for the column mapping.

    Raises
    ------
    ReaderError
        No Squidstat header, a required column missing (named, with the columns found),
        a unit that changes mid-file, a non-numeric value (line named), or time that runs
        backwards.
    """
    path = Path(path)
    fmt = SPEC.name
    text = decode(read_bytes(path, fmt))
    lines = text.splitlines()
    hdr_idx = next((k for k, line in enumerate(lines) if _is_header(line)), None)
    if hdr_idx is None:
        raise ReaderError(
            "no header with 'Elapsed Time (s)' or 'UTC Time (s)' found; expected a "
            "Squidstat CSV export",
            path=path,
            format=fmt,
        )
    header, body, line_no = _body_lines(lines, hdr_idx, path=path, fmt=fmt)
    cols = _parse_body(body, header, line_no, path)
    by_name: dict[str, tuple[int, str | None]] = {}
    for k, label in enumerate(header):
        base, unit = _split_label(label)
        by_name[base.lower()] = (k, unit)
    utc_only = "elapsed time" not in by_name and "utc time" in by_name
    if utc_only:  # newer software: UTC stamps (s) instead of the elapsed time
        by_name["elapsed time"] = by_name.pop("utc time")
    meta, orig_settings = _settings(path, settings)
    original = {"header": header, **orig_settings}
    meta = {"instrument": "Admiral Squidstat", **meta}

    def numeric(label_key: str) -> np.ndarray:
        k, _ = by_name[label_key]
        if isinstance(cols[k], np.ndarray):
            return cols[k]
        return to_float(list(cols[k]), path=path, fmt=fmt, column=header[k], lines=line_no)

    used = set()
    extra: dict[str, tuple[np.ndarray, str, str]] = {}
    for key, var in (("step number", "step"), ("step name", "step_name")):
        if key in by_name:
            k, _ = by_name[key]
            extra[var] = (np.array(cols[k], dtype=str), "dimensionless", key)
            used.add(key)
    if "frequency" in by_name:
        f, z = _impedance(by_name, header, used, extra, numeric, path=path, fmt=fmt)
        meta["measurement"] = "impedance"
        meta["z_imag_in_file"] = "-Z''" if "-z''" in by_name else "Z''"
        return eis_dataset(frequency=f, z=z, extra=extra, metadata=meta, original=original)
    missing = [
        label
        for key, label in (
            ("elapsed time", "Elapsed Time (s) or UTC Time (s)"),
            ("working electrode", "Working Electrode (V)"),
            ("current", "Current (mA) or Current (A)"),
        )
        if key not in by_name
    ]
    if missing:
        raise ReaderError(
            f"missing column(s) {missing}; found {header}. This Squidstat export variant is "
            "not known: re-export with these columns, or read it as generic CSV",
            path=path,
            format=fmt,
        )
    t = numeric("elapsed time")
    if utc_only and np.isfinite(t).any():
        t = t - t[np.flatnonzero(np.isfinite(t))[0]]
        meta["time_source"] = "UTC Time (s) relative to the first row"
    check_time(path, fmt, t, line_no)
    v = _cell_voltage(by_name, header, numeric, cell_voltage, meta, path=path, fmt=fmt)
    current, unit_i = _current_charge(by_name, header, used, extra, numeric, path=path, fmt=fmt)
    for key, var in (
        ("current density", "current_density"),
        ("working electrode vs. nhe", "voltage_vs_nhe"),
        ("counter electrode", "counter_voltage"),
    ):
        if key in by_name:
            k, unit = by_name[key]
            extra[var] = (numeric(key), norm_unit(unit).replace("²", "2"), header[k])
            used.add(key)
    _extras(by_name, header, used, extra, numeric)
    meta["measurement"] = "cycling"
    meta["current_unit_in_file"] = unit_i
    return cycling_dataset(
        time_s=t, voltage_V=v, current_mA=current, extra=extra, metadata=meta, original=original
    )


def _parse_body(body: list[str], header: list[str], line_no: list[int], path: Path) -> list:
    """Columns of the data lines (pandas' C parser; text columns kept as str)."""
    import io

    import pandas as pd

    text_cols = {
        k for k, h in enumerate(header) if h.lower().startswith(("step", "date", "utc date"))
    }
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(body)),
            header=None,
            names=list(range(len(header))),
            dtype={k: str for k in text_cols},
            keep_default_na=False,
            na_values=["", "nan", "NaN", "NAN"],
            skip_blank_lines=False,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as err:
        m = re.search(r"line (\d+)", str(err))
        where = (
            f"line {line_no[int(m.group(1)) - 1]}"
            if m and int(m.group(1)) <= len(line_no)
            else "a line"
        )
        raise ReaderError(
            f"{where} has more fields than the header ({len(header)}); the file is damaged "
            "— re-export it",
            path=path,
            format=SPEC.name,
        ) from None
    short = df.iloc[:, -1].isna() & df.iloc[:, 0].notna() if len(header) > 1 else None
    if short is not None and bool(short.any()):
        # a row with fewer fields than the header (truncated line)
        k = int(np.argmax(short.to_numpy()))
        raw = body[k]
        if raw.count(",") < len(header) - 1:
            raise ReaderError(
                f"line {line_no[k]} has {raw.count(',') + 1} fields, the header has "
                f"{len(header)}; the file is truncated or damaged — re-export it",
                path=path,
                format=SPEC.name,
            )
    out = []
    for k in range(len(header)):
        col = df[k]
        if k in text_cols:
            out.append(np.char.strip(col.astype(object).fillna("").to_numpy(dtype=str)))
        elif col.dtype.kind in "fiu":
            out.append(col.to_numpy(dtype=float))
        else:
            out.append(col.astype(object).fillna("").astype(str).tolist())
    return out


def _extras(by_name, header, used, extra, numeric) -> None:
    for key, (k, unit) in by_name.items():
        if key in used:
            continue
        try:
            values = numeric(key)
        except ReaderError:
            continue  # a text column we do not interpret; kept in the header list
        extra[safe_name(key)] = (values, norm_unit(unit), header[k])
