"""IONTOF SurfaceLab depth-profile TXT export (tab-separated).

Layout (SurfaceLab 7.3 exports)::

    # Profile Smoothing is Disabled
    #<TAB><TAB><TAB><TAB>total<TAB>ion 1<TAB>ion 2 ...     channel labels (IONTOF notation)
    #<TAB><TAB><TAB><TAB>N/A<TAB>196.9672 ...               nominal masses (N/A: derived channel)
    #Data Point #<TAB>Sputter Time (s)<TAB>Dose (ions)<TAB>Fluence (ions/cm^2)<TAB>Intensity...
    1<TAB>0<TAB>2.812e+06<TAB>...                            one row per cycle

Channels whose label contains ``" / ( "`` are ratios, labels with ``", "`` are sums of
isotopologues; both keep their label and get ``kind`` ``"ratio"``/``"sum"``. ``inf``
values (ratios of zero counts) are kept as they are.

Returns a ``(depth, species)`` DataArray of intensities (counts per cycle); ``depth`` is
the cycle index (``units="scan"``) with ``sputter_time`` (s), ``dose`` (ions) and
``fluence`` (ions/cm²) coordinates along it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="surfacelab-txt",
    technique="sims",
    extensions=(".txt",),
    description="IONTOF SurfaceLab depth-profile TXT export (cycles × channels)",
    priority=70,
)
_HEADER = "#Data Point #"


def can_read(path: Path, head: bytes) -> bool:
    """Accept text starting with SurfaceLab's profile header lines."""
    text = head.decode("latin-1", errors="replace")
    return text.startswith("# Profile Smoothing") or (
        text.startswith("#") and _HEADER + "\tSputter Time (s)" in text
    )


def _float(token: str) -> float:
    t = token.strip()
    if t in ("", "N/A"):
        return np.nan
    return float(t)


def _check_order(data: np.ndarray, path: Path) -> None:
    """Refuse rows not in acquisition order: data points and sputter times must increase.

    SurfaceLab writes one row per cycle with ``Data Point #`` 1, 2, 3... and a growing
    sputter time; reversed, shuffled or duplicated rows (an edited or concatenated file)
    would silently reorder the depth axis.
    """
    for col, name in ((0, "Data Point #"), (1, "Sputter Time (s)")):
        values = data[:, col]
        finite = values[np.isfinite(values)]
        steps = np.diff(finite)
        if finite.size < values.size and col == 0:
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ReaderError(
                f"data row {bad + 1} has no {name}; expected a number in every row",
                path=path,
                format=SPEC.name,
            )
        if steps.size and not np.all(steps > 0):
            k = int(np.flatnonzero(steps <= 0)[0])
            raise ReaderError(
                f"rows are not in acquisition order: {name} goes from {finite[k]:g} to "
                f"{finite[k + 1]:g} (data row {k + 2}); rows reversed, shuffled or duplicated. "
                "Re-export the profile from SurfaceLab",
                path=path,
                format=SPEC.name,
            )


def read(path: Path, *, lazy: bool = False):
    """Read a SurfaceLab depth-profile TXT export.

    Parameters
    ----------
    path : Path
    lazy : bool
        Accepted for the registry; the file is small and read eagerly.

    Returns
    -------
    xarray.DataArray
        ``(depth, species)`` named ``intensity`` in counts.
    """
    import xarray as xr

    text = read_bytes_bounded(path, format=SPEC.name).decode("latin-1")
    lines = text.splitlines()
    try:
        h = next(i for i, line in enumerate(lines[:50]) if line.startswith(_HEADER))
    except StopIteration:
        raise ReaderError(
            f"no '{_HEADER}' column header in the first 50 lines; expected a SurfaceLab "
            "depth-profile TXT export",
            path=path,
            format=SPEC.name,
        ) from None
    if h < 2:
        raise ReaderError(
            "channel label and mass lines are missing above the column header",
            path=path,
            format=SPEC.name,
        )
    header = lines[h].rstrip("\t ").split("\t")
    labels = lines[h - 2].split("\t")[4:]
    masses = lines[h - 1].split("\t")[4:]
    n_ch = len(header) - 4
    if n_ch < 1 or len(labels) < n_ch:
        raise ReaderError(
            f"column header has {n_ch} intensity columns but the label line has {len(labels)}",
            path=path,
            format=SPEC.name,
        )
    labels = [lab.strip() for lab in labels[:n_ch]]
    rows = []
    for lineno, line in enumerate(lines[h + 1 :], start=h + 2):
        if not line.strip():
            continue
        parts = line.rstrip("\t").split("\t")
        if len(parts) != 4 + n_ch:  # a missing or extra value shifts every later species
            raise ReaderError(
                f"line {lineno} has {len(parts)} columns, expected {4 + n_ch} as in the "
                "column header; the file is truncated or damaged. Re-export it",
                path=path,
                format=SPEC.name,
            )
        try:
            rows.append([_float(p) for p in parts])
        except ValueError as err:
            raise ReaderError(f"line {lineno}: {err}", path=path, format=SPEC.name) from err
    if not rows:
        raise ReaderError("no data rows after the header", path=path, format=SPEC.name)
    data = np.asarray(rows, dtype=float)
    _check_order(data, path)
    mass = np.array([_float(m) if m.strip() else np.nan for m in (masses + [""] * n_ch)[:n_ch]])
    kind = [
        "ratio"
        if " / ( " in lab
        else "sum"
        if ", " in lab
        else "total"
        if lab == "total"
        else "ion"
        for lab in labels
    ]
    seen: dict[str, int] = {}
    unique = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        unique.append(lab if seen[lab] == 1 else f"{lab}#{seen[lab]}")
    da = xr.DataArray(
        data[:, 4:],
        dims=("depth", "species"),
        coords={
            "depth": ("depth", np.arange(len(data)), {"units": "scan", "long_name": "cycle index"}),
            "sputter_time": ("depth", data[:, 1], {"units": "s"}),
            "dose": ("depth", data[:, 2], {"units": "ions"}),
            "fluence": ("depth", data[:, 3], {"units": "ions/cm^2"}),
            "species": ("species", unique, {"units": "label"}),
            "mass": ("species", mass, {"units": "Th"}),
            "kind": ("species", kind, {"units": "label"}),
        },
        name="intensity",
        attrs={
            "units": "counts",
            "technique": "sims",
            "metadata": {
                "instrument": "IONTOF (SurfaceLab export)",
                "n_scans": len(data),
                "polarity": "negative"
                if sum(lab.endswith("-") for lab in labels) > n_ch / 2
                else "positive",
                "profile_smoothing": lines[0].lstrip("# ").strip(),
            },
            "original_metadata": {"header_lines": [*lines[: h + 1][:2], lines[h]]},
        },
    )
    return da
