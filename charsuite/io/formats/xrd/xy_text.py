"""Two- or three-column text diffraction data (``.xy``, ``.xye``, ``.dat``, ``.csv``, ``.txt``).

Layout: optional header lines (anything that is not numbers: ``#`` comments, column
names), then one row per point: 2θ (degrees), intensity, optionally its standard
uncertainty. Separators: whitespace, comma, tab or semicolon (semicolon files may use
decimal commas). The intensity unit is not stated by such files; it is recorded as
``counts`` with ``metadata["intensity_kind"] = "unknown"``.

Returned object: DataArray ``intensity`` over ``two_theta`` (deg); with a third column
an auxiliary coordinate ``intensity_sigma`` (same units). When no third column exists
``intensity_sigma`` is √max(I, 1) (Poisson) and ``metadata["sigma_source"]`` says so.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._budget import read_bytes_bounded
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="xy",
    technique="xrd",
    extensions=(".xy", ".xye", ".dat", ".csv", ".txt", ".asc"),
    description="two/three-column text: 2θ (deg), intensity [, sigma]",
    priority=10,  # generic: any more specific reader wins
)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ROW = re.compile(rf"^\s*({_NUMBER})(?:\s*[,;\t ]\s*({_NUMBER})){{1,2}}\s*[,;]?\s*$")


def _split(line: str) -> list[str]:
    if ";" in line:
        return [p.strip().replace(",", ".") for p in line.split(";") if p.strip()]
    if "," in line:
        return [p.strip() for p in line.split(",") if p.strip()]
    return line.split()


def _rows(text: str):
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = _split(line)
        if 2 <= len(parts) <= 3:
            try:
                yield lineno, [float(p) for p in parts]
                continue
            except ValueError:
                pass
        yield lineno, None


def _header_hints(header: list[str]) -> dict:
    """Wavelength/anode hints from free-text header lines (e.g. GADDS ``Wavelengths``)."""
    out: dict = {}
    for line in header:
        low = line.lower()
        m = re.search(r"anode[\s:=\"']*([a-z]{1,2})\b", low)
        if m and m.group(1).capitalize() in ("Cu", "Co", "Mo", "Cr", "Fe", "Ag"):
            out["anode"] = m.group(1).capitalize()
        if "wavelength" in low or "lambda" in low:
            nums = [float(v) for v in re.findall(_NUMBER, line)]
            nums = [v for v in nums if 0.3 < v < 3.0]
            if nums:
                out["wavelength_angstrom"] = min(nums)
                if len(nums) >= 2 and max(nums) - min(nums) < 0.01:
                    out["wavelength_ka2_angstrom"] = max(nums)
                out["wavelength_source"] = f"header line {line.strip()[:60]!r}"
    return out


_MIN_SPAN_DEG = 2.0  # a diffraction scan covers more; narrower scans must start at ≥ 5°
_NARROW_SCAN_START_DEG = 5.0


def _is_angle_range(x: list[float]) -> bool:
    """An increasing angle axis within [-5, 180]° that looks like a scan: ≥ 2° wide, or a
    narrow scan (rocking curve) around an angle ≥ 5°. An IBA energy histogram in MeV
    (0.85 … 2.75) or a channel axis fails this."""
    if not (all(b > a for a, b in itertools.pairwise(x)) and x[0] >= -5.0 and x[-1] <= 180.0):
        return False
    return x[-1] - x[0] >= _MIN_SPAN_DEG or x[0] >= _NARROW_SCAN_START_DEG


def can_read(path: Path, head: bytes) -> bool:
    """Text whose numeric rows have 2–3 columns and whose first column is an angle range
    (see :func:`_is_angle_range`).

    Two-column text is also what other techniques write (IBA energy histograms ``.hist``
    in MeV, simulation output, channel spectra): a first column that does not look like a
    diffraction scan is not claimed.
    """
    if b"\x00" in head:
        return False
    text = head.decode("latin-1")
    if len(head) == 4096:  # drop a possibly cut last line
        text = text.rsplit("\n", 1)[0]
    values = [v for _, v in _rows(text) if v is not None]
    if len(values) < 5:
        return False
    widths = {len(v) for v in values}
    return len(widths) == 1 and _is_angle_range([v[0] for v in values])


def read(path: Path, *, lazy: bool = False):
    """Read a two/three-column 2θ–intensity text file.

    Parameters
    ----------
    path : Path
    lazy : bool
        Ignored (text files are small); the registry chunks the result when asked.

    Raises
    ------
    ReaderError
        No numeric rows, inconsistent column counts, non-finite values, or a 2θ
        column that is not strictly increasing.
    """
    import numpy as np

    raw = read_bytes_bounded(path, format=SPEC.name)
    if b"\x00" in raw:
        raise ReaderError("contains NUL bytes, not a text file", path=path, format=SPEC.name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    fast = _fast_parse(text)
    if fast is not None:
        header, arr = fast
        width = arr.shape[1]
        return _build(path, header, arr, width)
    header, data, width = [], [], None
    for lineno, values in _rows(text):
        if values is None:
            line = text.splitlines()[lineno - 1]
            if data and line.strip():
                raise ReaderError(
                    f"line {lineno} is not numeric ({line.strip()[:40]!r}) after data began; "
                    "expected only 2θ, intensity[, sigma] rows",
                    path=path,
                    format=SPEC.name,
                )
            if not data and line.strip():
                header.append(line)
            continue
        if width is None:
            width = len(values)
        if len(values) != width:
            raise ReaderError(
                f"line {lineno} has {len(values)} columns, earlier rows have {width}",
                path=path,
                format=SPEC.name,
            )
        if not all(np.isfinite(values)):
            raise ReaderError(
                f"line {lineno} holds a non-finite value (NaN/inf); remove or fix that row",
                path=path,
                format=SPEC.name,
            )
        data.append(values)
    if len(data) < 2:
        raise ReaderError(
            f"found {len(data)} numeric rows; expected at least 2 rows of 2θ, intensity[, sigma]",
            path=path,
            format=SPEC.name,
        )
    return _build(path, header, np.asarray(data, dtype=float), width)


def _fast_parse(text: str):
    """Parse the numeric block in one numpy call; None when the slow path must decide.

    Rows are checked line by line (:func:`_rows`) only until the first numeric row; the
    rest goes to :func:`numpy.loadtxt`. Anything unusual (semicolons with decimal commas,
    trailing separators, ragged or non-finite rows) falls back to the line-by-line parser,
    which names the offending line.
    """
    import io

    import numpy as np

    lines = text.splitlines()
    header = []
    for lineno, values in _rows(text):
        if values is not None:
            start = lineno - 1
            break
        if lines[lineno - 1].strip():
            header.append(lines[lineno - 1])
    else:
        return None
    first = lines[start]
    if ";" in first:
        return None
    delimiter = "," if "," in first else None
    try:
        arr = np.loadtxt(
            io.StringIO("\n".join(lines[start:])), delimiter=delimiter, comments=None, ndmin=2
        )
    except ValueError:
        return None
    if arr.shape[1] not in (2, 3) or arr.shape[0] < 2 or not np.all(np.isfinite(arr)):
        return None
    return header, arr


def _build(path: Path, header: list, arr, width: int):
    """Validate the 2θ column and build the DataArray (shared by both parsers)."""
    import numpy as np
    import xarray as xr

    tth = arr[:, 0]
    if not np.all(np.diff(tth) > 0):
        bad = int(np.argmin(np.diff(tth) > 0)) + 1
        raise ReaderError(
            f"2θ column is not strictly increasing (row {bad + 1}: {tth[bad]} after "
            f"{tth[bad - 1]}); sort the file or check it is a 2θ scan",
            path=path,
            format=SPEC.name,
        )
    intensity = arr[:, 1]
    extra = {}
    third_is_sigma = False
    if width == 3:
        # a third column is an uncertainty in .xye files; elsewhere only if it looks like
        # one (mostly smaller than the signal), e.g. not a fitted/background curve
        ratio = np.median(np.abs(arr[:, 2]) / np.maximum(np.abs(intensity), 1e-12))
        third_is_sigma = Path(path).suffix.lower() == ".xye" or (
            bool(np.all(arr[:, 2] >= 0)) and ratio < 0.5
        )
    if third_is_sigma:
        sigma, source = arr[:, 2], "file"
    else:
        sigma, source = np.sqrt(np.maximum(intensity, 1.0)), "poisson sqrt(max(I, 1))"
        if width == 3:
            source += "; third column is not an uncertainty (kept as 'third_column')"
            extra["third_column"] = ("two_theta", arr[:, 2], {"units": "counts"})
    steps = np.diff(tth)
    metadata = {
        "intensity_kind": "unknown",
        "sigma_source": source,
        "step_deg": float(np.median(steps)),
        "n_points": int(tth.size),
        **_header_hints(header),
    }
    return xr.DataArray(
        intensity,
        dims=("two_theta",),
        coords={
            "two_theta": ("two_theta", tth, {"units": "deg", "long_name": "2θ"}),
            "intensity_sigma": ("two_theta", sigma, {"units": "counts"}),
            **extra,
        },
        name="intensity",
        attrs={
            "units": "counts",
            "long_name": "intensity",
            "metadata": metadata,
            "original_metadata": {"header": header},
        },
    )
