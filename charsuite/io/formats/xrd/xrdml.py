"""PANalytical / Malvern Panalytical XRDML (``.xrdml``), versions 1.0–2.x.

Layout: an XML document ``<xrdMeasurements>`` → ``<xrdMeasurement measurementType=
"Scan"|"Area measurement"|...>`` holding ``<usedWavelength>`` (``kAlpha1``, ``kAlpha2``,
``ratioKAlpha2KAlpha1``) and one or more ``<scan scanAxis="Gonio"|"2Theta"|"2Theta-Omega"|
"Omega"...>``. Each scan's ``<dataPoints>`` has ``<positions axis=...>`` given as
``startPosition``/``endPosition`` (equidistant), ``listPositions`` or ``commonPosition``
(a fixed axis, e.g. ω in grazing incidence), a counting time (``commonCountingTime`` or
``countingTimes``), optional ``beamAttenuationFactors`` and the data as ``<counts>``
(raw detector counts) or ``<intensities>`` (counts already multiplied by the
attenuation factors).

Returned object
---------------
One scan: DataArray ``intensity`` over ``two_theta`` (deg) in ``counts`` (attenuation
applied: I = counts × attenuation, σ = √counts × attenuation), or in ``counts/s`` with
``rate=True`` (divided by the counting time per point). Several scans (area maps,
repeated scans): DataArray over ``("row", "two_theta")`` with coordinates ``omega`` (deg)
per row; when rows have different 2θ grids a 2D coordinate ``two_theta_row`` holds each
row's axis and ``two_theta`` is the first row's.

Fixed ω (``commonPosition`` of the Omega axis in a ``2Theta`` scan) is reported as
``metadata["incidence_angle_deg"]`` and the scan type is ``"2theta"``.
"""

from __future__ import annotations

from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="xrdml",
    technique="xrd",
    extensions=(".xrdml",),
    description="PANalytical XRDML 1D scans and 2D area maps",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """XML whose root is ``xrdMeasurements`` (XRDML namespace)."""
    text = head[:4096].decode("utf-8", errors="ignore")
    return "<xrdMeasurements" in text or "www.xrdml.com" in text


def _positions(dp, n: int, *, path: Path):
    """Return {axis: ndarray or float} of the ``positions`` elements of one dataPoints."""
    import numpy as np

    from charsuite.io.formats.xrd.common import numbers, strip_ns, to_float

    out = {}
    for pos in dp:
        if strip_ns(pos.tag) != "positions":
            continue
        axis = pos.attrib.get("axis", "?")
        kids = {strip_ns(c.tag): c for c in pos}
        if "listPositions" in kids:
            out[axis] = numbers(
                kids["listPositions"].text, path=path, format=SPEC.name, what=f"{axis} positions"
            )
        elif "startPosition" in kids and "endPosition" in kids:
            a = to_float(kids["startPosition"].text)
            b = to_float(kids["endPosition"].text)
            if a is None or b is None:
                raise ReaderError(
                    f"{axis} start/end positions are not numbers", path=path, format=SPEC.name
                )
            out[axis] = np.linspace(a, b, n) if n > 1 else np.array([a])
        elif "commonPosition" in kids:
            out[axis] = to_float(kids["commonPosition"].text)
    return out


def _read_scan(scan, *, path: Path, rate: bool):
    import numpy as np

    from charsuite.io.formats.xrd.common import numbers, strip_ns, to_float

    dp = next((c for c in scan if strip_ns(c.tag) == "dataPoints"), None)
    if dp is None:
        raise ReaderError("scan has no <dataPoints>; file truncated?", path=path, format=SPEC.name)
    kids = {strip_ns(c.tag): c for c in dp}
    if "counts" in kids:
        raw = numbers(kids["counts"].text, path=path, format=SPEC.name, what="<counts>")
        kind = "counts"
    elif "intensities" in kids:
        raw = numbers(kids["intensities"].text, path=path, format=SPEC.name, what="<intensities>")
        kind = "intensities"
    else:
        raise ReaderError(
            "scan has neither <counts> nor <intensities>; file truncated?",
            path=path,
            format=SPEC.name,
        )
    n = raw.size
    att = np.ones(n)
    if "beamAttenuationFactors" in kids:
        att = numbers(
            kids["beamAttenuationFactors"].text,
            path=path,
            format=SPEC.name,
            what="<beamAttenuationFactors>",
        )
        if att.size != n:
            raise ReaderError(
                f"{att.size} attenuation factors for {n} points", path=path, format=SPEC.name
            )
    if "commonCountingTime" in kids:
        t = to_float(kids["commonCountingTime"].text)
        if t is None:
            raise ReaderError("counting time is not a number", path=path, format=SPEC.name)
        time = np.full(n, t)
    elif "countingTimes" in kids:
        time = numbers(
            kids["countingTimes"].text, path=path, format=SPEC.name, what="<countingTimes>"
        )
        if time.size != n:
            raise ReaderError(
                f"{time.size} counting times for {n} points", path=path, format=SPEC.name
            )
    else:
        time = None
    if kind == "counts":
        # <counts> are raw detector counts; the attenuator reduced them by ``att``
        counts = raw
        intensity = raw * att
        sigma = np.sqrt(np.maximum(raw, 1.0)) * att
    else:
        # <intensities> already include the attenuation factors
        intensity = raw
        counts = raw / att
        sigma = np.sqrt(np.maximum(counts, 1.0)) * att
    if rate:
        if time is None or np.any(time <= 0):
            raise ReaderError(
                "counts/s requested but the scan has no positive counting time",
                path=path,
                format=SPEC.name,
            )
        intensity, sigma = intensity / time, sigma / time
    pos = _positions(dp, n, path=path)
    return {
        "axis": scan.attrib.get("scanAxis", ""),
        "positions": pos,
        "intensity": intensity,
        "sigma": sigma,
        "time": time,
        "attenuated": bool(np.any(att != 1)),
        "data_kind": kind,
    }


def _span(p):
    """(first, last) 2θ of a parsed scan, or None."""
    import numpy as np

    t = p["positions"].get("2Theta")
    if t is None or np.isscalar(t) or np.size(t) < 1:
        return None
    return float(np.asarray(t)[0]), float(np.asarray(t)[-1])


def _header_metadata(root, meas, scans) -> dict:
    """Curated metadata: wavelengths and Kα2 statement, optics, anode, sample, time."""
    from charsuite.io.formats.xrd.common import strip_ns, to_float

    md: dict = {"measurement_type": meas.attrib.get("measurementType")}
    wl = next((c for c in meas if strip_ns(c.tag) == "usedWavelength"), None)
    if wl is not None:
        w = {strip_ns(c.tag): to_float(c.text) for c in wl}
        md["wavelength_angstrom"] = w.get("kAlpha1")
        md["wavelength_ka2_angstrom"] = w.get("kAlpha2")
        md["ka2_ratio"] = w.get("ratioKAlpha2KAlpha1")
        md["wavelength_intended"] = wl.attrib.get("intended")
        md["radiation_label"] = wl.attrib.get("intended")
        md["radiation_label_kind"] = "intended line (names the line used for d, not the optics)"
    # only an incident-beam crystal monochromator removes Kα2 (a diffracted-beam one does not)
    monos = [
        el.attrib.get("name", "")
        for el in root.iterfind(".//{*}incidentBeamPath//{*}monochromator")
        if el.attrib.get("name")
    ]
    md["incident_monochromator"] = "; ".join(monos) or None
    anode = root.find(".//{*}anodeMaterial")
    if anode is not None and anode.text:
        md["anode"] = anode.text.strip()
    sample = root.find("./{*}sample/{*}name")
    if sample is not None and sample.text and sample.text.strip():
        md["sample"] = sample.text.strip()
    stamp = scans[0].find(".//{*}startTimeStamp")
    if stamp is not None and stamp.text:
        md["start_time"] = stamp.text.strip()
    for entry in root.iterfind("./{*}comment/{*}entry"):
        if entry.text and entry.text.startswith("Diffractometer system="):
            md["instrument"] = entry.text.split("=", 1)[1].strip()
    return md


def read(path: Path, *, lazy: bool = False, rate: bool = False, range: int | None = None):
    """Read an XRDML file.

    Parameters
    ----------
    path : Path
    lazy : bool
        Ignored (files are small); the registry chunks the result when asked.
    rate : bool
        Return counts/s (divided by the counting time) instead of counts.
    range : int, optional
        For files holding several 1D ranges (scans of different 2θ spans or lengths): the
        range to return (0-based; ``metadata["ranges"]`` lists them). None: range 0, with a
        warning naming the ranges. Files whose scans share one 2θ axis (area maps,
        repeated scans) are returned as a 2D map unless ``range`` is given.

    Raises
    ------
    ReaderError
        Malformed XML, no scan, missing or non-numeric data, inconsistent lengths,
        non-monotonic 2θ.
    """
    import numpy as np
    import xarray as xr

    from charsuite.io.formats.xrd.common import (
        classify_scan,
        element_to_dict,
        parse_xml,
        pick_range,
        range_label,
        scan_array,
        strip_ns,
    )

    path = Path(path)
    root = parse_xml(path.read_bytes(), path=path, format=SPEC.name)
    if strip_ns(root.tag) != "xrdMeasurements":
        raise ReaderError(
            f"root element is <{strip_ns(root.tag)}>, expected <xrdMeasurements>",
            path=path,
            format=SPEC.name,
        )
    meas = next((c for c in root if strip_ns(c.tag) == "xrdMeasurement"), None)
    if meas is None:
        raise ReaderError("no <xrdMeasurement> element", path=path, format=SPEC.name)
    scans = [c for c in meas if strip_ns(c.tag) == "scan"]
    if not scans:
        raise ReaderError("no <scan> element: the file holds no data", path=path, format=SPEC.name)

    md = _header_metadata(root, meas, scans)
    original = element_to_dict(root, max_text=200)

    parsed = [_read_scan(s, path=path, rate=rate) for s in scans]
    if len(parsed) > 1:
        # several 1D ranges (different lengths or 2θ spans in a "Scan" measurement) are
        # returned one at a time; equal scans stay a 2D map (area/repeated measurements)
        spans = [_span(p) for p in parsed]
        ragged = len({p["intensity"].size for p in parsed}) > 1
        differ = (
            any(sp is None or not np.allclose(sp, spans[0], atol=1e-3) for sp in spans)
            and "area" not in str(md["measurement_type"]).lower()
        )
        if range is not None or ragged or differ:
            labels = [
                range_label(sp[0], sp[1], p["intensity"].size) if sp else f"scan {i}"
                for i, (sp, p) in enumerate(zip(spans, parsed))
            ]
            i = pick_range(labels, range, path=path, format=SPEC.name)
            parsed = [parsed[i]]
            md["n_ranges"], md["range_index"], md["ranges"] = len(labels), i, labels
    elif range not in (None, 0):
        pick_range(["scan 0"], range, path=path, format=SPEC.name)
    units = "counts/s" if rate else "counts"
    md["intensity_kind"] = units
    md["attenuation_applied"] = any(p["attenuated"] for p in parsed)
    md["data_element"] = parsed[0]["data_kind"]
    first = parsed[0]
    tth = first["positions"].get("2Theta")
    omega = first["positions"].get("Omega")
    if tth is None or np.isscalar(tth):
        if isinstance(omega, np.ndarray) and classify_scan(first["axis"], 90) == "omega":
            raise ReaderError(
                f"this is an ω (rocking-curve) scan at fixed 2θ = {tth}; a diffraction "
                "reader needs a 2θ axis. Use a rocking-curve tool for it",
                path=path,
                format=SPEC.name,
            )
        raise ReaderError(
            "scan has no scanned 2Theta axis; expected a 2θ or coupled scan",
            path=path,
            format=SPEC.name,
        )
    time = first["time"]
    if time is not None:
        md["counting_time_s"] = float(np.median(time))
    tth_max = float(np.nanmax(tth))
    if len(parsed) == 1:
        md["scan_type"] = classify_scan(first["axis"], tth_max)
        md["scan_axis"] = first["axis"]
        if md["scan_type"] == "2theta" and isinstance(omega, float):
            md["incidence_angle_deg"] = omega
        elif isinstance(omega, np.ndarray) and md["scan_type"] != "omega":
            md["omega_start_deg"] = float(omega[0])
        da = scan_array(
            tth,
            first["intensity"],
            sigma=first["sigma"],
            path=path,
            format=SPEC.name,
            units=units,
            metadata=md,
            original=original,
            sigma_source="poisson on raw counts (x attenuation)",
        )
        return da

    # several scans: 2D map (rows = scans, typically stepped in ω)
    n = first["intensity"].size
    rows, sig, tths, omegas = [], [], [], []
    for i, p in enumerate(parsed):
        t = p["positions"].get("2Theta")
        if p["intensity"].size != n or t is None or np.isscalar(t) or np.size(t) != n:
            raise ReaderError(
                f"scan {i} of the map has a different number of points than scan 0 ({n}); "
                "ragged maps are not supported",
                path=path,
                format=SPEC.name,
            )
        rows.append(p["intensity"])
        sig.append(p["sigma"])
        tths.append(np.asarray(t, dtype=float))
        om = p["positions"].get("Omega")
        omegas.append(float(np.mean(om)) if om is not None else np.nan)
    tth2d = np.vstack(tths)
    if not np.all(np.isfinite(tth2d)) or not np.all(np.diff(tth2d[0]) > 0):
        raise ReaderError(
            "2θ axis of the map is not finite and increasing", path=path, format=SPEC.name
        )
    md["scan_type"] = "area_map"
    md["scan_axis"] = first["axis"]
    md["step_axis"] = meas.attrib.get("measurementStepAxis")
    md["n_rows"] = len(parsed)
    md["n_points"] = n
    md["step_deg"] = float(np.median(np.diff(tth2d[0])))
    md["sigma_source"] = "poisson on raw counts (x attenuation)"
    coords = {
        "two_theta": ("two_theta", tth2d[0], {"units": "deg", "long_name": "2θ"}),
        "row": ("row", np.arange(len(parsed)), {"units": "dimensionless"}),
        "omega": ("row", np.asarray(omegas), {"units": "deg", "long_name": "ω"}),
        "intensity_sigma": (("row", "two_theta"), np.vstack(sig), {"units": units}),
    }
    if not np.allclose(tth2d, tth2d[0]):
        coords["two_theta_row"] = (("row", "two_theta"), tth2d, {"units": "deg"})
    return xr.DataArray(
        np.vstack(rows),
        dims=("row", "two_theta"),
        coords=coords,
        name="intensity",
        attrs={
            "units": units,
            "long_name": "intensity",
            "metadata": md,
            "original_metadata": original,
        },
    )
