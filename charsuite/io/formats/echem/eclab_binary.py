"""Decoder of BioLogic EC-Lab binary files (``.mpr``), written for charsuite.

The format is undocumented; the facts below were established from public files (matched
``.mpr``/``.mpt`` pairs of the yadg and navani test folders, where the text export is
EC-Lab's own rendering of the same data) and from the column tables of galvani and yadg
(read for facts only; no code is taken from either, both are GPL).

Layout
------
* 52-byte magic: ``BIO-LOGIC MODULAR FILE`` + 0x1A, space-padded to 48 bytes, 4 zero bytes.
* Modules, each ``MODULE`` + header + body. Header: short name (10 bytes), long name (25),
  then ``length`` (u4), ``version`` (u4) and the date (8 bytes, ``mm/dd/yy``). Files from
  EC-Lab ≥ 11.50 put 0xFFFFFFFF ("max length") before ``length`` and 4 more bytes after
  ``version``. Modules: ``VMP Set`` (settings), ``VMP data``, ``VMP LOG``, ``VMP loop``,
  ``VMP ExtDev``.
* ``VMP data`` body: number of points (u4), number of columns (u1), the column IDs, zero
  padding, then the records (little-endian, packed). Column IDs: version 2/3 — u2 each,
  records at byte 405 (version 2) or 406 (version 3); version 0 — one byte each with
  records at byte 100, or (EC-Lab ≥ 11.50, first ID byte 0) two bytes each whose second
  byte is the ID (the first is a flag of unknown meaning), records at byte 1007.
* IDs 1, 2, 3, 21, 31, 65 (mode, ox/red, error, control changes, Ns changes, counter inc.)
  are bits of one flag byte placed where the first of them appears.

Unknown column IDs: the record width is known (body bytes ÷ points), so a single unknown
column's width is the remainder; it is skipped with a warning naming the ID. Several
unknown IDs (widths not separable) are refused with the IDs named.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from charsuite.exceptions import CharsuiteWarning, ReaderError

MAGIC = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00" * 4

_FLAGS = {
    1: ("mode", 0x03),
    2: ("ox/red", 0x04),
    3: ("error", 0x08),
    21: ("control changes", 0x10),
    31: ("Ns changes", 0x20),
    65: ("counter inc.", 0x80),
}

# column ID → (EC-Lab text-export name, numpy type). Names as EC-Lab writes them in .mpt,
# so one mapping serves both readers.
COLUMNS: dict[int, tuple[str, str]] = {
    4: ("time/s", "<f8"),
    5: ("control/V/mA", "<f4"),
    6: ("Ewe/V", "<f4"),
    7: ("dq/mA.h", "<f8"),
    8: ("I/mA", "<f4"),
    9: ("Ece/V", "<f4"),
    11: ("<I>/mA", "<f8"),
    13: ("(Q-Qo)/mA.h", "<f8"),
    15: ("Phase(Z1)/deg", "<f4"),
    16: ("Analog IN 1/V", "<f4"),
    17: ("Analog IN 2/V", "<f4"),
    19: ("control/V", "<f4"),
    20: ("control/mA", "<f4"),
    23: ("dQ/mA.h", "<f8"),
    24: ("cycle number", "<f8"),
    26: ("Rapp/Ohm", "<f4"),
    27: ("Ewe-Ece/V", "<f4"),
    32: ("freq/Hz", "<f4"),
    33: ("|Ewe|/V", "<f4"),
    34: ("|I|/A", "<f4"),
    35: ("Phase(Z)/deg", "<f4"),
    36: ("|Z|/Ohm", "<f4"),
    37: ("Re(Z)/Ohm", "<f4"),
    38: ("-Im(Z)/Ohm", "<f4"),
    39: ("I Range", "<u2"),
    45: ("|Z1|/Ohm", "<f4"),
    46: ("|Z2|/Ohm", "<f4"),
    69: ("R/Ohm", "<f4"),
    70: ("P/W", "<f4"),
    74: ("|Energy|/W.h", "<f8"),
    75: ("Analog OUT/V", "<f4"),
    76: ("<I>/mA", "<f4"),
    77: ("<Ewe>/V", "<f4"),
    78: ("Cs-2/µF-2", "<f4"),
    96: ("|Ece|/V", "<f4"),
    98: ("Phase(Zce)/deg", "<f4"),
    99: ("|Zce|/Ohm", "<f4"),
    100: ("Re(Zce)/Ohm", "<f4"),
    101: ("-Im(Zce)/Ohm", "<f4"),
    105: ("-Im(Z1)/Ohm", "<f4"),
    106: ("-Im(Z2)/Ohm", "<f4"),
    110: ("Energy ce/W.h", "<f8"),
    112: ("Energy we/W.h", "<f8"),
    115: ("Energy ce charge/W.h", "<f8"),
    116: ("Energy ce discharge/W.h", "<f8"),
    123: ("Energy charge/W.h", "<f8"),
    124: ("Energy discharge/W.h", "<f8"),
    125: ("Capacitance charge/µF", "<f8"),
    126: ("Capacitance discharge/µF", "<f8"),
    131: ("Ns", "<u2"),
    135: ("<E1>/V", "<f4"),
    136: ("<E2>/V", "<f4"),
    163: ("|Estack|/V", "<f4"),
    166: ("Phase(Zstack)/deg", "<f4"),
    167: ("|Zstack|/Ohm", "<f4"),
    168: ("Rcmp/Ohm", "<f4"),
    169: ("Cs/µF", "<f4"),
    172: ("Cp/µF", "<f4"),
    173: ("Cp-2/µF-2", "<f4"),
    174: ("<Ewe>/V", "<f4"),
    175: ("|Zwe-ce|/Ohm", "<f4"),
    176: ("Re(Zwe-ce)/Ohm", "<f4"),
    177: ("-Im(Zwe-ce)/Ohm", "<f4"),
    178: ("(Q-Qo)/C", "<f4"),
    179: ("dQ/C", "<f4"),
    182: ("step time/s", "<f8"),
    185: ("<Ece>/V", "<f4"),
    206: ("Temperature/°C", "<f4"),
    211: ("Q charge/discharge/mA.h", "<f8"),
    212: ("half cycle", "<u4"),
    213: ("z cycle", "<u4"),
    215: ("<Ece>/V", "<f4"),
    217: ("THD Ewe/%", "<f4"),
    218: ("THD I/%", "<f4"),
    219: ("THD Ece/%", "<f4"),
    220: ("NSD Ewe/%", "<f4"),
    221: ("NSD I/%", "<f4"),
    222: ("NSD Ece/%", "<f4"),
    223: ("NSR Ewe/%", "<f4"),
    224: ("NSR I/%", "<f4"),
    225: ("NSR Ece/%", "<f4"),
    **{230 + k: (f"|Ewe h{k + 2}|/V", "<f4") for k in range(6)},
    **{236 + k: (f"|I h{k + 2}|/A", "<f4") for k in range(6)},
    **{242 + k: (f"|Ece h{k + 2}|/V", "<f4") for k in range(6)},
    248: ("Rac/Ohm", "<f4"),
    249: ("Rdc/Ohm", "<f4"),
    253: ("Acir/Dcir Control", "<u1"),
    271: ("Phase(Z1)/deg", "<f4"),
    272: ("Phase(Z2)/deg", "<f4"),
    301: ("|Z1|/Ohm", "<f4"),
    302: ("|Z2|/Ohm", "<f4"),
    331: ("Re(Z1)/Ohm", "<f4"),
    332: ("Re(Z2)/Ohm", "<f4"),
    361: ("-Im(Z1)/Ohm", "<f4"),
    362: ("-Im(Z2)/Ohm", "<f4"),
    391: ("<E1>/V", "<f4"),
    392: ("<E2>/V", "<f4"),
    422: ("Phase(Zstack)/deg", "<f4"),
    423: ("|Zstack|/Ohm", "<f4"),
    424: ("Re(Zstack)/Ohm", "<f4"),
    425: ("-Im(Zstack)/Ohm", "<f4"),
    426: ("<Estack>/V", "<f4"),
    430: ("Phase(Zwe-ce)/deg", "<f4"),
    431: ("|Zwe-ce|/Ohm", "<f4"),
    432: ("Re(Zwe-ce)/Ohm", "<f4"),
    433: ("-Im(Zwe-ce)/Ohm", "<f4"),
    434: ("(Q-Qo)/C", "<f4"),
    435: ("dQ/C", "<f4"),
    438: ("step time/s", "<f8"),
    441: ("<Ecv>/V", "<f4"),
    462: ("Temperature/°C", "<f4"),
    467: ("Q charge/discharge/mA.h", "<f8"),
    468: ("half cycle", "<u4"),
    469: ("z cycle", "<u4"),
    471: ("<Ece>/V", "<f4"),
    473: ("THD Ewe/%", "<f4"),
    474: ("THD I/%", "<f4"),
    476: ("NSD Ewe/%", "<f4"),
    477: ("NSD I/%", "<f4"),
    479: ("NSR Ewe/%", "<f4"),
    480: ("NSR I/%", "<f4"),
    **{486 + k: (f"|Ewe h{k + 2}|/V", "<f4") for k in range(6)},
    **{492 + k: (f"|I h{k + 2}|/A", "<f4") for k in range(6)},
    498: ("Q charge/mA.h", "<f8"),
    499: ("Q discharge/mA.h", "<f8"),
    500: ("step time/s", "<f8"),
    501: ("Efficiency/%", "<f8"),
    502: ("Capacity/mA.h", "<f8"),
    505: ("Rdc/Ohm", "<f4"),
    509: ("Acir/Dcir Control", "<u1"),
}


class _Fail(Exception):
    """Internal: a decoding problem, turned into a ReaderError by :func:`decode`."""


def _modules(raw: bytes) -> list[dict]:
    pos, out = len(MAGIC), []
    while pos < len(raw):
        if raw[pos : pos + 6] != b"MODULE":
            raise _Fail(f"byte {pos}: expected a 'MODULE' header, found {raw[pos : pos + 6]!r}")
        pos += 6
        short, long_name = raw[pos : pos + 10], raw[pos + 10 : pos + 35]
        v2 = raw[pos + 35 : pos + 39] == b"\xff\xff\xff\xff"
        pos += 39 if v2 else 35
        if pos + 16 > len(raw):
            raise _Fail("the file ends inside a module header (truncated)")
        length, version = (int(x) for x in np.frombuffer(raw, "<u4", 2, pos))
        pos += 8 + (4 if v2 else 0)
        date = raw[pos : pos + 8]
        pos += 8
        body = raw[pos : pos + length]
        if len(body) != length:
            raise _Fail(
                f"module {short.strip().decode('latin-1')!r} claims {length} bytes, "
                f"{len(body)} remain (truncated file)"
            )
        out.append(
            {
                "name": short.decode("latin-1").strip(),
                "long_name": long_name.decode("latin-1").strip(),
                "version": version,
                "date": date.decode("latin-1"),
                "body": body,
            }
        )
        pos += length
    return out


def _column_ids(body: bytes, version: int) -> tuple[list[int], int]:
    """Column IDs of the data module and the byte where the records start."""
    n_cols = body[4] if len(body) > 4 else 0
    if version in (2, 3):
        ids = np.frombuffer(body, "<u2", n_cols, 5).tolist()
        return ids, 405 if version == 2 else 406
    if version == 0 and len(body) > 5 and body[5] != 0:
        return list(body[5 : 5 + n_cols]), 100
    if version == 0:  # EC-Lab ≥ 11.50: two bytes per ID, the second is the ID
        return list(body[6 : 6 + 2 * n_cols : 2]), 1007
    raise _Fail(f"data module version {version} is not one this decoder knows (0, 2, 3)")


def _dtype(ids: list[int], record_bytes: float) -> tuple[np.dtype, dict, list[int]]:
    """Record dtype, flag masks and the skipped unknown IDs."""
    fields: list[tuple[str, str]] = []
    flags: dict[str, int] = {}
    unknown = [c for c in ids if c not in COLUMNS and c not in _FLAGS]
    known = sum(np.dtype(COLUMNS[c][1]).itemsize for c in ids if c in COLUMNS)
    known += 1 if any(c in _FLAGS for c in ids) else 0
    spare = record_bytes - known
    if len(unknown) > 1 or (unknown and not (spare > 0 and spare == int(spare))):
        raise _Fail(
            f"column ID(s) {unknown} are unknown and their widths cannot be told apart "
            f"({spare:g} bytes per record left); export the file as text (.mpt) from EC-Lab"
        )
    seen: dict[str, int] = {}
    for c in ids:
        if c in _FLAGS:
            if "flags" not in seen:
                fields.append(("flags", "u1"))
                seen["flags"] = 1
            flags[_FLAGS[c][0]] = _FLAGS[c][1]
            continue
        if c not in COLUMNS:
            fields.append((f"unknown column ID {c}", f"V{int(spare)}"))
            continue
        name, kind = COLUMNS[c]
        seen[name] = seen.get(name, 0) + 1
        fields.append((name if seen[name] == 1 else f"{name} {seen[name]}", kind))
    return np.dtype(fields), flags, unknown


def _records(module: dict, path: Path) -> tuple[np.ndarray, dict, list[int], list[int]]:
    body = module["body"]
    if len(body) < 5:
        raise _Fail("the data module is empty")
    n_points = int(np.frombuffer(body, "<u4", 1, 0)[0])
    ids, start = _column_ids(body, module["version"])
    if n_points == 0:
        raise _Fail("the file holds no data points")
    data_bytes = len(body) - start
    dtype, flags, unknown = _dtype(ids, data_bytes / n_points)
    if dtype.itemsize * n_points != data_bytes:
        raise _Fail(
            f"{n_points} points of {dtype.itemsize} bytes do not fill the {data_bytes} data "
            "bytes (truncated file or unknown layout)"
        )
    for c in unknown:
        width = dtype[f"unknown column ID {c}"].itemsize
        warnings.warn(
            f"{path}: EC-Lab column ID {c} is unknown to charsuite; its {width}-byte values "
            "are skipped (the other columns are read)",
            CharsuiteWarning,
            stacklevel=4,
        )
    return np.frombuffer(body, dtype, n_points, start), flags, ids, unknown


def decode(path: Path, raw: bytes, *, fmt: str) -> tuple[dict, dict]:
    """Columns (EC-Lab name → float array) and file facts of an ``.mpr``.

    Raises
    ------
    ReaderError
        Bad magic, truncated modules, no data module, unknown data-module version,
        unknown column IDs whose widths cannot be told apart.
    """
    if not raw.startswith(MAGIC):
        raise ReaderError(
            "not an EC-Lab binary file (no 'BIO-LOGIC MODULAR FILE' magic)", path=path, format=fmt
        )
    try:
        modules = _modules(raw)
        data = [m for m in modules if m["name"] == "VMP data"]
        if len(data) != 1:
            raise _Fail(
                f"{len(data)} data modules (expected 1); modules: {[m['name'] for m in modules]}"
            )
        records, flags, ids, unknown = _records(data[0], path)
    except _Fail as err:
        raise ReaderError(str(err), path=path, format=fmt) from None
    except (ValueError, IndexError, TypeError) as err:  # numpy on a cut or garbled header
        raise ReaderError(
            f"the binary layout could not be decoded ({err}); the file may be truncated — "
            "export it as text (.mpt) from EC-Lab",
            path=path,
            format=fmt,
        ) from None
    values = {
        name: np.asarray(records[name], dtype=float)
        for name in records.dtype.names
        if name != "flags" and not name.startswith("unknown column ID")
    }
    for name, mask in flags.items():
        shift = (mask & -mask).bit_length() - 1
        values[name] = ((records["flags"] & mask) >> shift).astype(float)
    settings = next((m for m in modules if m["name"] == "VMP Set"), None)
    facts = {
        "modules": [m["name"] for m in modules],
        "data_module_version": data[0]["version"],
        "column_ids": [int(c) for c in ids],
        "unknown_column_ids": unknown,
        "date": settings["date"] if settings else None,
    }
    return values, facts
