"""Shared helpers of the diffraction readers (not a format module; not registered).

Every 1D diffraction reader ends with :func:`scan_array`, so that all of them return the
same object: DataArray ``intensity`` over ``two_theta`` (deg), auxiliary coordinate
``intensity_sigma`` (same units as the intensity), ``attrs["metadata"]`` with the curated
keys of :mod:`charsuite.model.schema` and ``attrs["original_metadata"]`` verbatim.

Scan-type vocabulary (``metadata["scan_type"]``):

``"2theta"``        detector scan at fixed incidence ω (grazing incidence when ω is small);
                    ``incidence_angle_deg`` is ω.
``"2theta-omega"``  coupled (Bragg–Brentano / locked-coupled / gonio) scan.
``"reflectivity"``  coupled scan ending below 2θ = 15° (X-ray reflectivity, not diffraction).
``"omega"``         rocking curve.
``"area_map"``      several scans stacked (2D map).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charsuite.exceptions import ReaderError

#: Coupled scans that end below this 2θ (deg) are X-ray reflectivity, not diffraction.
REFLECTIVITY_MAX_2THETA_DEG = 15.0


def classify_scan(axis: str, tth_max: float) -> str:
    """Map a vendor scan-axis name to the charsuite ``scan_type`` vocabulary.

    Parameters
    ----------
    axis : str
        Vendor name of the scanned axis ("Gonio", "2Theta-Omega", "LockedCoupled",
        "TwoThetaTheta", "2Theta", "Detector", "Omega", ...).
    tth_max : float
        Largest 2θ of the scan (deg); coupled scans below
        :data:`REFLECTIVITY_MAX_2THETA_DEG` are reflectivity.
    """
    key = "".join(ch for ch in axis.lower() if ch.isalnum())
    coupled = (
        "gonio",
        "2thetaomega",
        "omega2theta",
        "twothetaomega",
        "twothetatheta",
        "lockedcoupled",
        "unlockedcoupled",
        "coupled",
        "coupledtwothetatheta",
        "2thetatheta",
        "thetatheta",
        "twothetaomegascan",
    )
    if key in coupled or "coupled" in key or (("theta" in key) and ("omega" in key)):
        return "reflectivity" if tth_max < REFLECTIVITY_MAX_2THETA_DEG else "2theta-omega"
    if key in ("omega", "rockingcurve", "theta", "omegascan"):
        return "omega"
    if key in ("2theta", "twotheta", "detector", "detectorscan", "2thetascan", "twothetascan"):
        return "2theta"
    return key or "unknown"


def scan_array(
    tth: Any,
    intensity: Any,
    *,
    path: Path,
    format: str,
    sigma: Any = None,
    units: str = "counts",
    metadata: dict | None = None,
    original: dict | None = None,
    sigma_source: str | None = None,
):
    """Validate 2θ/intensity arrays and build the charsuite 1D scan DataArray.

    Non-finite or non-monotonic 2θ, length mismatches and fewer than two points raise
    :class:`ReaderError`. A strictly decreasing axis is reversed (recorded in metadata).
    NaN intensities are kept (visible), never silently dropped.
    """
    import numpy as np
    import xarray as xr

    def fail(msg: str):
        raise ReaderError(msg, path=path, format=format)

    try:
        tth = np.asarray(tth, dtype=float).ravel()
        y = np.asarray(intensity, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        fail(f"2θ or intensity values are not numbers ({err})")
    if tth.size < 2:
        fail(f"scan holds {tth.size} point(s); expected at least 2 (empty or truncated scan)")
    if tth.size != y.size:
        fail(
            f"2θ axis has {tth.size} points but there are {y.size} intensities; "
            "the file is truncated or inconsistent"
        )
    if not np.all(np.isfinite(tth)):
        fail("2θ axis holds non-finite values (NaN/inf); the file is damaged")
    if np.any(np.abs(tth) > 360):
        fail(f"2θ values out of range ({tth.min():.4g}..{tth.max():.4g} deg); file damaged")
    metadata = dict(metadata or {})
    d = np.diff(tth)
    if np.all(d < 0):
        tth, y = tth[::-1], y[::-1]
        sigma = None if sigma is None else np.asarray(sigma, dtype=float).ravel()[::-1]
        metadata["axis_reversed"] = True
        d = -d[::-1]
    if not np.all(d > 0):
        bad = int(np.argmin(d > 0)) + 1
        fail(
            f"2θ axis is not strictly monotonic (point {bad}: {tth[bad]:.5g} after "
            f"{tth[bad - 1]:.5g} deg); expected a single 2θ scan"
        )
    if sigma is None:
        sigma = np.sqrt(np.maximum(np.abs(y), 1.0))
        sigma_source = sigma_source or "poisson sqrt(max(I, 1))"
    else:
        sigma = np.asarray(sigma, dtype=float).ravel()
        if sigma.size != y.size:
            fail(f"{sigma.size} uncertainties for {y.size} intensities")
        sigma_source = sigma_source or "file"
    metadata.setdefault("intensity_kind", "counts" if units == "counts" else units)
    metadata["sigma_source"] = sigma_source
    metadata["step_deg"] = float(np.median(d))
    metadata["n_points"] = int(tth.size)
    metadata["two_theta_range_deg"] = [float(tth[0]), float(tth[-1])]
    return xr.DataArray(
        y,
        dims=("two_theta",),
        coords={
            "two_theta": ("two_theta", tth, {"units": "deg", "long_name": "2θ"}),
            "intensity_sigma": ("two_theta", sigma, {"units": units}),
        },
        name="intensity",
        attrs={
            "units": units,
            "long_name": "intensity",
            "metadata": metadata,
            "original_metadata": original or {},
        },
    )


def to_float(text: Any, default: float | None = None) -> float | None:
    """``float(text)`` or ``default`` (never raises)."""
    try:
        return float(str(text).strip().strip('"'))
    except (TypeError, ValueError):
        return default


def numbers(text: str | None, *, path: Path, format: str, what: str):
    """Parse a whitespace-separated list of numbers, raising ReaderError on garbage."""
    import numpy as np

    if text is None or not text.strip():
        raise ReaderError(f"{what} is empty; the scan holds no data", path=path, format=format)
    try:
        return np.array(text.split(), dtype=float)
    except ValueError as err:
        raise ReaderError(
            f"{what} holds a value that is not a number ({err}); the file is damaged",
            path=path,
            format=format,
        ) from err


def parse_xml(data: bytes, *, path: Path, format: str, member: str = ""):
    """Parse XML bytes with ElementTree, mapping parse errors to ReaderError."""
    import xml.etree.ElementTree as ET

    from charsuite.io._budget import check_xml

    check_xml(data, path=path, format=format, member=member)  # no entities, bounded size
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        where = f" ({member})" if member else ""
        raise ReaderError(
            f"XML{where} is not well formed ({err}); the file is truncated or corrupted",
            path=path,
            format=format,
            original_error=err,
        ) from err


def strip_ns(tag: str) -> str:
    """``{namespace}tag`` → ``tag``."""
    return tag.rsplit("}", 1)[-1]


def element_to_dict(elem, *, max_text: int = 2000) -> Any:
    """Nested dict of an XML element (attributes as ``@name``; long texts cut)."""
    children = list(elem)
    out: dict[str, Any] = {f"@{strip_ns(k)}": v for k, v in elem.attrib.items()}
    text = (elem.text or "").strip()
    if not children:
        if len(text) > max_text:
            text = text[:max_text] + f"... ({len(text)} chars)"
        if not out:
            return text
        if text:
            out["#text"] = text
        return out
    for child in children:
        key = strip_ns(child.tag)
        value = element_to_dict(child, max_text=max_text)
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


def open_zip(path: Path, *, format: str):
    """Open a zip container read-only, mapping damage to ReaderError."""
    import zipfile

    from charsuite.io._budget import open_zip_bounded

    try:
        return open_zip_bounded(path, format=format)  # members within the memory budget
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        if isinstance(err, ReaderError):
            raise
        raise ReaderError(
            f"not a valid zip container ({err}); the file is truncated or corrupted",
            path=path,
            format=format,
            original_error=err,
        ) from err


def zip_member(zf, name: str, *, path: Path, format: str, max_bytes: int = 200_000_000) -> bytes:
    """Read one zip member, mapping CRC/decompression errors to ReaderError."""
    import zipfile
    import zlib

    try:
        info = zf.getinfo(name)
        if info.file_size > max_bytes:
            raise ReaderError(
                f"member {name} claims {info.file_size} bytes (> {max_bytes}); refusing",
                path=path,
                format=format,
            )
        return zf.read(name)
    except KeyError as err:
        raise ReaderError(
            f"zip container has no member {name!r}; expected one", path=path, format=format
        ) from err
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
    ) as err:
        raise ReaderError(
            f"member {name} cannot be decompressed ({err}); the file is corrupted",
            path=path,
            format=format,
            original_error=err,
        ) from err


def as_rate(da, *, path: Path, format: str):
    """Convert a counts scan to counts/s with ``metadata["counting_time_s"]``."""
    if da.attrs.get("units") == "counts/s":
        return da
    t = da.attrs.get("metadata", {}).get("counting_time_s")
    if not t or t <= 0:
        raise ReaderError(
            "counts/s requested but the file states no positive counting time per point",
            path=path,
            format=format,
        )
    out = da / t
    out.name = da.name
    out.attrs = dict(da.attrs)
    out.attrs["units"] = "counts/s"
    out.attrs["metadata"] = {**da.attrs["metadata"], "intensity_kind": "counts/s"}
    out = out.assign_coords(
        intensity_sigma=("two_theta", da.intensity_sigma.values / t, {"units": "counts/s"})
    )
    return out


def pick_range(labels: list[str], index, *, path: Path, format: str) -> int:
    """Index of the data range to return from a multi-range file.

    ``index`` None: range 0, with a :class:`~charsuite.exceptions.CharsuiteWarning` naming
    every range when there are several (so a silently dropped range cannot go unnoticed).

    Raises
    ------
    ParameterError
        ``index`` is not an integer in 0 … len(labels) − 1.
    """
    import warnings

    from charsuite.exceptions import CharsuiteWarning, ParameterError

    listing = "; ".join(f"{i}: {lab}" for i, lab in enumerate(labels))
    if index is None:
        if len(labels) > 1:
            warnings.warn(
                f"{Path(path).name}: {len(labels)} data ranges ({listing}); returning range 0. "
                "Pick another with read(path, range=i)",
                CharsuiteWarning,
                stacklevel=3,
            )
        return 0
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(labels):
        raise ParameterError(
            f"{Path(path).name} ({format}): range={index!r} is not one of the "
            f"{len(labels)} ranges ({listing})"
        )
    return index


def range_label(start: float, stop: float, n: int) -> str:
    """Human-readable label of a 2θ range."""
    return f"2θ {start:.2f}–{stop:.2f}° ({n} points)"


def stack_scans(scans: list, *, path: Path, format: str):
    """Stack several 1D scans of one file into a 2D map ``("row", "two_theta")``.

    Used for multi-scan files (Rigaku RAS/RASX area and reciprocal-space maps), so that a
    map is integrated with ``--map-rows`` or refused by the analysis, never silently read as
    its first row. Rows on different 2θ grids keep their own grid in ``two_theta_row`` (as
    in an XRDML map); rows of different length, or rows that are not 2θ scans (ω rocking
    scans of an RSM), raise :class:`ReaderError`.
    """
    import numpy as np
    import xarray as xr

    first = scans[0]
    n = first.sizes["two_theta"]
    kinds = {s.attrs["metadata"].get("scan_type") for s in scans}
    if kinds & {"omega", "reflectivity"} or any(s.sizes["two_theta"] != n for s in scans):
        raise ReaderError(
            f"{len(scans)} scans of {sorted(str(k) for k in kinds)} type with "
            f"{sorted({s.sizes['two_theta'] for s in scans})} points: a reciprocal-space or "
            "ragged map that cannot be stacked on one 2θ axis; export the 2θ scan you need "
            "as its own file",
            path=path,
            format=format,
        )
    grids = np.vstack([s.two_theta.values for s in scans])
    md = dict(first.attrs["metadata"])
    md.update(scan_type="area_map", n_rows=len(scans), n_points=n)
    omegas = [s.attrs["metadata"].get("incidence_angle_deg", np.nan) for s in scans]
    coords = {
        "two_theta": ("two_theta", grids[0], dict(first.two_theta.attrs)),
        "row": ("row", np.arange(len(scans)), {"units": "dimensionless"}),
        "omega": ("row", np.asarray(omegas, float), {"units": "deg", "long_name": "ω"}),
        "intensity_sigma": (
            ("row", "two_theta"),
            np.vstack([s.intensity_sigma.values for s in scans]),
            dict(first.intensity_sigma.attrs),
        ),
    }
    if not np.allclose(grids, grids[0]):
        coords["two_theta_row"] = (("row", "two_theta"), grids, {"units": "deg"})
    return xr.DataArray(
        np.vstack([s.values for s in scans]),
        dims=("row", "two_theta"),
        coords=coords,
        name=first.name,
        attrs={**first.attrs, "metadata": md},
    )
