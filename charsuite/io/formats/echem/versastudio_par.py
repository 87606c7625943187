"""Princeton Applied Research VersaStudio ``.par`` impedance files.

A ``.par`` file is INI-like text with ``<Application>``, ``<Action…>`` and
``<Segment…>`` blocks; an impedance segment has a ``Definition=`` line naming the
comma-separated columns (``Frequency(Hz)``, ``Z Real``, ``Z Imag``, ``E(V)``, ``I(A)``,
``Elapsed Time(s)`` …) followed by one row per point. Z Imag is signed (negative for
capacitive arcs). Only the first segment that has Frequency/Z columns is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec
from charsuite.io.formats.echem.common import decode, eis_dataset, head_text, read_bytes

SPEC = FormatSpec(
    name="versastudio-par",
    technique="echem",
    extensions=(".par",),
    description="VersaStudio .par impedance (Segment with Frequency(Hz), Z Real, Z Imag)",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """``<Application>`` block naming VersaStudio."""
    text = head_text(head)
    return text.lstrip().startswith("<Application>") and "VersaStudio" in text[:400]


def read(path: Path, *, lazy: bool = False):
    """Read the impedance segment of a VersaStudio ``.par``.

    Raises
    ------
    ReaderError
        No segment with Frequency(Hz), Z Real and Z Imag; ragged rows.
    """
    path = Path(path)
    fmt = SPEC.name
    lines = decode(read_bytes(path, fmt)).splitlines()
    app = {}
    for line in lines[:20]:
        if "=" in line and not line.startswith("<"):
            k, v = line.split("=", 1)
            app[k.strip()] = v.strip()
        if line.startswith("</Application>"):
            break
    for k, line in enumerate(lines):
        if not line.startswith("Definition="):
            continue
        names = [n.strip() for n in line.split("=", 1)[1].split(",")]
        if not {"Frequency(Hz)", "Z Real", "Z Imag"} <= set(names):
            continue
        rows = []
        width = None
        for j in range(k + 1, len(lines)):
            s = lines[j].strip()
            if not s or s.startswith("</Segment"):
                break
            parts = s.split(",")
            # VersaStudio may end the Definition with a stray extra token: the rows set
            # the width, as long as they all agree and keep the named columns
            width = width or len(parts)
            if len(parts) != width or width > len(names) or width < len(names) - 1:
                raise ReaderError(
                    f"line {j + 1} has {len(parts)} fields, Definition lists {len(names)}",
                    path=path,
                    format=fmt,
                )
            try:
                rows.append([float(p) for p in parts])
            except ValueError:
                raise ReaderError(f"line {j + 1} is not numeric", path=path, format=fmt) from None
        if not rows:
            raise ReaderError("impedance segment has no rows", path=path, format=fmt)
        arr = np.asarray(rows)
        col = {n: arr[:, i] for i, n in enumerate(names[: arr.shape[1]])}
        if not {"Frequency(Hz)", "Z Real", "Z Imag"} <= set(col):
            raise ReaderError("impedance columns missing from the rows", path=path, format=fmt)
        extra = {}
        for n, var, unit in (
            ("Elapsed Time(s)", "time", "s"),
            ("E(V)", "dc_voltage", "V"),
            ("I(A)", "dc_current", "A"),
        ):
            if n in col:
                extra[var] = (col[n], unit, n)
        meta = {
            "measurement": "impedance",
            "instrument": f"Princeton Applied Research VersaStudio {app.get('Version', '')}".strip(),
            "z_imag_in_file": "Z Imag (signed)",
        }
        return eis_dataset(
            frequency=col["Frequency(Hz)"],
            z=col["Z Real"] + 1j * col["Z Imag"],
            extra=extra,
            metadata=meta,
            original={"application": app, "columns": names},
        )
    raise ReaderError(
        "no segment with Frequency(Hz), Z Real and Z Imag columns; only impedance .par files "
        "are read — export other experiments as text",
        path=path,
        format=fmt,
    )
