"""Impedance spectra as plain text/CSV: frequency, Z′, Z″ (with or without a header).

Accepted layouts
----------------
* three numeric columns without header — f (Hz), Z′ (Ω), Z″ (Ω) — separated by commas,
  tabs, semicolons or spaces (impedance.py ``exampleData.csv``, pyDRTtools ``*.txt``);
* a header naming the columns (optionally followed by a units row such as
  ``Hz  Ohm  Ohm``), in any order, possibly with an index column
  (pyDRTtools ``,Freq,Real,Imag``; ``freq/Hz``, ``Z' (Ohm)``, ``-Z'' (Ohm)``, ``Zreal``,
  ``Zimag``, ``Re(Z)``, ``-Im(Z)``...).

* a real column headed ``-Z'`` (some exports) is taken as Z′ when its values are
  positive and negated back when they are negative (``metadata["z_real_in_file"]``);
* polar columns only — ``|Z|`` (``Zmod``, ``Z (Ohm)``, ``Impedance``) and phase
  (``Phase``, ``Zphz``, ``-Phase (°)``; degrees unless the header says rad) — when no
  Z′/Z″ pair is named; Z = |Z|·e^{jφ} (a leading ``-`` on the phase name means the file
  stores −φ).

Numbers: decimal point, or decimal comma with tab, semicolon or space separators
(European locales). Text: UTF-8 (with or without BOM), UTF-16 with BOM, latin-1.

Units: impedance in Ω unless the header says mΩ/mOhm or kΩ/kOhm (converted to Ω);
frequency in Hz unless the header says mHz, kHz or MHz.

Sign convention of Z″: a header decides (a leading ``-``, as in ``-Z''`` or ``-Im(Z)``,
means the file stores −Z″). Without a header the option ``z_imag`` decides:
``"signed"`` (the file holds Z″, negative for capacitive arcs — impedance.py's
convention), ``"negated"`` (the file holds −Z″) or ``"auto"`` (default: signed unless more
than 80 % of the values are positive, which only a −Z″ column of a capacitive spectrum
does). The choice made is recorded in ``metadata["z_imag_in_file"]``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import ParameterError, ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import decode, eis_dataset, head_text, read_bytes

SPEC = FormatSpec(
    name="impedance-text",
    technique="echem",
    extensions=(".csv", ".txt", ".dat"),
    description="impedance text/CSV: frequency (Hz), Z' (ohm), Z'' (ohm) [header optional]",
    priority=20,
)
_NUM = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_FREQ = re.compile(r"^(freq|frequency|f)\b", re.I)
_REAL = re.compile(r"^-?\s*(z'(?!')|z ?real|z_real|re\(z\)|real|zre|re z|z[_ ]re\b|rez\b)", re.I)
_IMAG = re.compile(r"^-?\s*(z''|z\"|z ?imag|z_imag|im\(z\)|imag|zim|im z|z[_ ]im\b|imz\b)", re.I)
_MOD = re.compile(r"^(\|z\||z ?mod|mod\(z\)|impedance\b|z\s*[(/\[]|z$)", re.I)
_PHASE = re.compile(r"^-?\s*(phase|z ?phz|phi\b|φ|theta)", re.I)
_COMMA_DECIMAL = re.compile(r"^[-+]?\d+,\d*(?:[eE][-+]?\d+)?$")


def _decomma(parts: list[str]) -> list[str]:
    return [p.replace(",", ".") if _COMMA_DECIMAL.match(p) else p for p in parts]


def _split(line: str) -> list[str]:
    line = line.strip()
    if "\t" in line:  # tab first: a tab-separated row may hold decimal commas
        parts = _decomma([p.strip() for p in line.split("\t")])
    elif ";" in line:
        parts = [p.strip().replace(",", ".") for p in line.split(";")]
    elif "," in line:
        parts = [p.strip() for p in line.split(",")]
        spaced = line.split()
        if (
            not all(_NUM.match(p) for p in parts)
            and len(spaced) >= 2
            and all(_COMMA_DECIMAL.match(p) or _NUM.match(p) for p in spaced)
        ):
            parts = _decomma(spaced)  # space-separated numbers with decimal commas
    else:
        parts = line.split()
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _is_numeric_row(parts: list[str]) -> bool:
    return bool(parts) and all(_NUM.match(p) for p in parts)


def _names(header: list[str], width: int) -> list[str]:
    names = [h.strip().strip('"').strip() for h in header]
    return ["index", *names] if len(names) == width - 1 else names


def _columns(header: list[str] | None, width: int) -> tuple[int, int, int, bool, bool]:
    """Indices of f, Z', Z'' (or |Z|, phase), whether the second is stored negated, and
    whether the pair is polar."""
    if header is None:
        if width != 3:
            raise ValueError(f"{width} columns without a header; expected f, Z', Z''")
        return 0, 1, 2, False, False
    names = _names(header, width)
    fi = next((k for k, n in enumerate(names) if _FREQ.match(n)), None)
    ri = next((k for k, n in enumerate(names) if _REAL.match(n)), None)
    ii = next((k for k, n in enumerate(names) if k != ri and _IMAG.match(n)), None)
    polar = False
    if fi is not None and (ri is None or ii is None):
        mi = next((k for k, n in enumerate(names) if k != fi and _MOD.match(n)), None)
        pi = next((k for k, n in enumerate(names) if _PHASE.match(n)), None)
        if mi is not None and pi is not None:
            ri, ii, polar = mi, pi, True
    if fi is None or ri is None or ii is None:
        raise ValueError(
            f"header {names} does not name frequency, Z' and Z'' (or |Z| and phase) columns"
        )
    return fi, ri, ii, names[ii].lstrip().startswith("-"), polar


def _parse(text: str):
    lines = text.splitlines()
    header, rows, width = None, [], None
    for k, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = _split(line)
        if _is_numeric_row(parts):
            if width is None:
                width = len(parts)
            elif len(parts) != width:
                raise ValueError(f"line {k + 1} has {len(parts)} columns, earlier rows {width}")
            rows.append([float(p) for p in parts])
        elif rows:
            raise ValueError(
                f"line {k + 1} is not numeric ({line.strip()[:40]!r}) after data began"
            )
        elif header is not None and len(parts) == len(header) and _is_unit_row(parts):
            # a units row under the names (e.g. "Hz  Ohm  Ohm"): merge as "name (unit)"
            header = [f"{h} ({u.strip('()[]')})" for h, u in zip(header, parts)]
        else:
            header = parts
    return header, rows, width


_UNIT_TOKEN = re.compile(r"^[(\[]?[A-Za-zµμΩ°%#/·.^\-\d]{0,10}[)\]]?$")


def _is_unit_row(parts: list[str]) -> bool:
    return all(
        _UNIT_TOKEN.match(p) and not (_FREQ.match(p) or _REAL.match(p) or _IMAG.match(p))
        for p in parts
    ) and any(p.strip("()[]").lower() in ("hz", "ohm", "ω", "ohms", "kohm", "mohm") for p in parts)


def can_read(path: Path, head: bytes) -> bool:
    """Numeric rows of f, Z', Z'' with positive monotonic frequencies over ≥ 1 decade."""
    text = head_text(head)
    if "\x00" in text:
        return False
    if len(head) == 4096:
        text = text.rsplit("\n", 1)[0]
    try:
        header, rows, width = _parse(text)
        if len(rows) < 5 or width is None or width < 3:
            return False
        fi = _columns(header, width)[0]
    except ValueError:
        return False
    f = np.array([r[fi] for r in rows])
    if header is not None:
        f = f[f != 0]  # DC points before the sweep (Parstat)
        if f.size < 5:
            return True  # the header names f, Z', Z''; the sweep starts after the head
    if f.size < 5:
        return False
    d = np.diff(f)
    if not (np.all(f > 0) and (np.all(d < 0) or np.all(d > 0)) and f.max() / f.min() >= 10):
        return False
    if header is None:
        # no names: demand what only a frequency sweep looks like — ≥ 2 decades, roughly
        # log-spaced (a linear 2θ scan or time axis is not)
        step = np.abs(np.diff(np.log10(f)))
        return bool(f.max() / f.min() >= 100 and step.max() <= 10 * step.min())
    return True


def _scales(names, fi: int, ri: int, ii: int, polar: bool, f: np.ndarray):
    """Impedance scale to Ω (mΩ/kΩ in the header) and the frequency in Hz (mHz/kHz/MHz)."""
    if names is None:
        return 1.0, f
    z_scale = 1.0
    for k in (ri,) if polar else (ri, ii):
        low = names[k].lower().replace("ω", "ohm")
        if "mohm" in low:
            z_scale = 1e-3
        elif "kohm" in low:
            z_scale = 1e3
    f_name = names[fi]  # case matters: MHz (mega) vs mHz (milli)
    factor = (
        1e6 if "MHz" in f_name else 1e-3 if "mHz" in f_name else 1e3 if "kHz" in f_name else 1.0
    )
    return z_scale, f * factor


def _real_sign(names, ri: int, polar: bool, zr: np.ndarray) -> str | None:
    """How a real column named ``-Z'`` is read: Z′ of a passive cell is > 0, so a column
    of mostly negative values is −Z′ (negated back); positive values are Z′ already (the
    ``-`` of the header is a misnomer, recorded)."""
    if names is None or polar or not names[ri].lstrip().startswith("-"):
        return None
    if np.mean(zr[np.isfinite(zr)] < 0) > 0.5:
        return "negated: header -Z' with negative values, read as Z' = -(column)"
    return "as is: header says -Z' but the values are positive (Z' > 0), read as Z'"


def read(path: Path, *, lazy: bool = False, z_imag: str = "auto"):
    """Read f, Z′, Z″ text (see the module docstring for layouts and the Z″ sign).

    Parameters
    ----------
    z_imag : {"auto", "signed", "negated"}
        How to read a header-less Z″ column.

    Raises
    ------
    ReaderError
        No numeric rows, ragged rows, header without f/Z′/Z″ names, non-positive frequency.
    """
    if z_imag not in ("auto", "signed", "negated"):
        raise ParameterError(f"z_imag={z_imag!r}: expected 'auto', 'signed' or 'negated'")
    path = Path(path)
    fmt = SPEC.name
    text = decode(read_bytes(path, fmt))
    if "\x00" in text:
        raise ReaderError("contains NUL bytes, not a text file", path=path, format=fmt)
    try:
        header, rows, width = _parse(text)
        if len(rows) < 2:
            raise ValueError(f"{len(rows)} numeric rows; expected at least 2 of f, Z', Z''")
        fi, ri, ii, negated, polar = _columns(header, width)
    except ValueError as err:
        raise ReaderError(f"{err}", path=path, format=fmt) from None
    arr = np.asarray(rows, dtype=float)
    f, zr, zi = arr[:, fi], arr[:, ri], arr[:, ii]
    names = _names(header, width) if header is not None else None
    z_scale, f = _scales(names, fi, ri, ii, polar, f)
    if polar:  # |Z| and phase: Z = |Z| e^{jφ}
        phase = -zi if negated else zi
        if "rad" not in names[ii].lower():
            phase = np.radians(phase)
        zr, zi, negated = zr * np.cos(phase), zr * np.sin(phase), False
    zr, zi = zr * z_scale, zi * z_scale
    n_dc = 0
    if header is not None:  # rows at f = 0 are DC points recorded before the sweep
        dc = f == 0
        n_dc = int(dc.sum())
        f, zr, zi = f[~dc], zr[~dc], zi[~dc]
        if f.size < 2:
            raise ReaderError("fewer than 2 rows with a frequency > 0", path=path, format=fmt)
    if np.any(f[np.isfinite(f)] <= 0):
        raise ReaderError(
            "a frequency is ≤ 0; the first column must be f in Hz", path=path, format=fmt
        )
    if polar:
        how = f"{names[ri]!r} and {names[ii]!r} (polar, from header)"
    elif header is not None:
        how = "-Z'' (from header)" if negated else "Z'' (from header)"
    elif z_imag == "negated" or (z_imag == "auto" and np.mean(zi[np.isfinite(zi)] > 0) > 0.8):
        negated = True
        how = "-Z''" + (" (inferred: > 80 % positive values)" if z_imag == "auto" else "")
    else:
        how = "Z''"
    if negated:
        zi = -zi
    real_note = _real_sign(names if header is not None else None, ri, polar, zr)
    if real_note:
        zr = -zr if real_note.startswith("negated") else zr
    meta = {
        "measurement": "impedance",
        "z_imag_in_file": how,
        "dc_rows_dropped": n_dc,
        "impedance_scale_to_ohm": z_scale,
    }
    if real_note:
        meta["z_real_in_file"] = real_note
    return eis_dataset(
        frequency=f,
        z=zr + 1j * zi,
        metadata=meta,
        original={"header": header, "columns": width},
    )
