"""Bruker DIFFRAC.SUITE ``.brml`` (zip of XML), older D8 and newer HRXRD layouts.

Layout: a zip archive with ``experimentCollection.xml`` and ``Experiment0/RawData0.xml``
(more ``RawDataN.xml`` for multi-range measurements). Each ``RawData`` document has
``DataRoutes/DataRoute/ScanInformation`` (``ScanName`` e.g. ``LockedCoupled``,
``TwoThetaOmegaScan``, ``DetectorScan``; ``ScanAxes`` with start/stop/increment per axis;
``TimePerStep``), a list of ``DataViews/RawDataView`` saying which column of each
``<Datum>`` row holds what, and the rows ``<Datum>t,absorption,2θ,θ,...,counts</Datum>``.
The wavelength is in ``FixedInformation/Instrument/.../Tube`` (``WaveLengthAlpha1``,
``WaveLengthAlpha2``, ``WaveLengthRatio``).

Both layouts are read the same way, by the column map of the ``RawDataView`` list:
``FixedRawDataView`` ``MeasuredTime`` and ``AbsorptionFactor``; a ``VaryingRawDataView``
named ``ScanAxes`` (the older layout omits the AxisId attribute, the newer has it and may
add ``RandomAccess``/``RecSpace`` views); the first ``RecordedRawDataView`` (detector
counter). Intensity = counts × absorption factor; σ = √counts × absorption factor.

Returned object: as :mod:`charsuite.io.formats.xrd.xrdml` (1D; one range of a multi-range file:
``range=i``, default 0 with a warning naming all ranges; ``metadata["ranges"]`` lists them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="brml",
    technique="xrd",
    extensions=(".brml",),
    description="Bruker DIFFRAC.SUITE BRML (zip of XML), old and new layouts",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """A zip whose member names include ``Experiment0/`` or ``experimentCollection.xml``."""
    return head[:4] == b"PK\x03\x04" and (
        b"Experiment0/" in head or b"experimentCollection" in head or b"RawData" in head
    )


def _columns(route, *, path: Path) -> dict:
    """Map logical names to column indices from the RawDataView list."""
    from charsuite.io.formats.xrd.common import strip_ns

    cols: dict = {}
    for view in route.iterfind(".//{*}DataViews/{*}RawDataView"):
        kind = next((v for k, v in view.attrib.items() if strip_ns(k) == "type"), "")
        try:
            start = int(view.attrib.get("Start", "-1"))
            length = int(view.attrib.get("Length", "1"))
        except ValueError as err:
            raise ReaderError(
                "RawDataView Start/Length not integers", path=path, format=SPEC.name
            ) from err
        if kind.endswith("FixedRawDataView"):
            cols[view.attrib.get("LogicName", f"fixed{start}")] = start
        elif kind.endswith("VaryingRawDataView"):
            varying = view.find("{*}Varying")
            logic = varying.attrib.get("LogicName", "") if varying is not None else ""
            fields = view.findall(".//{*}FieldDefinitions")
            for i, fd in enumerate(fields[:length]):
                name = fd.attrib.get("AxisId") or fd.attrib.get("FieldName", f"f{i}")
                cols.setdefault(f"{logic}:{name}", start + i)
        elif kind.endswith("RecordedRawDataView"):
            cols.setdefault("counts", start)
    return cols


def _member_number(name: str) -> tuple:
    """Natural order of ``…/RawData<N>.xml`` members (RawData10 after RawData9)."""
    import re

    m = re.search(r"(\d+)\.xml$", name)
    return (name.rsplit("/", 1)[0], int(m.group(1)) if m else -1, name)


def _range_label(root, member: str) -> str:
    """'2θ start–stop°' of one RawData document from its scan-axis information."""
    from charsuite.io.formats.xrd.common import to_float

    for info in root.iterfind(".//{*}ScanAxisInfo"):
        axis = (info.attrib.get("AxisId") or info.attrib.get("AxisName") or "").lower()
        if axis in ("twotheta", "2theta"):
            a, b = info.find("{*}Start"), info.find("{*}Stop")
            lo = to_float(a.text) if a is not None else None
            hi = to_float(b.text) if b is not None else None
            if lo is not None and hi is not None:
                return f"{member}: 2θ {lo:.2f}–{hi:.2f}°"
    return member


class _Range(NamedTuple):
    """The data range chosen in the zip: its parsed XML and where it sits among the ranges."""

    root: Any
    member: str
    index: int
    labels: list
    n_ranges: int


class _Table(NamedTuple):
    """The numbers of one data range."""

    info: Any
    scan_name: str
    tth: Any
    counts: Any
    absorb: Any
    time: Any
    omega: Any


def read(path: Path, *, lazy: bool = False, rate: bool = False, range: int | None = None):
    """Read a Bruker BRML file (one data range).

    Stages: pick the data range in the zip (:func:`_open_range`) → its numbers
    (:func:`_read_table`) → metadata (:func:`_metadata`) → intensities and σ.

    Parameters
    ----------
    path : Path
    lazy : bool
        Ignored (small files).
    rate : bool
        Return counts/s instead of counts.
    range : int, optional
        Data range (``RawData<i>.xml``, 0-based; ``metadata["ranges"]`` lists them). None:
        range 0, with a warning naming the ranges when the file has several.

    Raises
    ------
    ReaderError
        Not a zip, no RawData member, malformed XML, no data rows, unknown column map.
    """
    import numpy as np

    from charsuite.io.formats.xrd.common import element_to_dict, scan_array

    path = Path(path)
    chosen = _open_range(path, range)
    tab = _read_table(chosen, path)
    absorb = np.where(np.asarray(tab.absorb) > 0, tab.absorb, 1.0) * np.ones_like(tab.counts)
    intensity = tab.counts * absorb
    sigma = np.sqrt(np.maximum(tab.counts, 1.0)) * absorb
    md = _metadata(chosen, tab)
    units = "counts"
    if rate:
        if tab.time is None or np.any(tab.time <= 0):
            raise ReaderError(
                "counts/s requested but no positive measuring time per step",
                path=path,
                format=SPEC.name,
            )
        intensity, sigma, units = intensity / tab.time, sigma / tab.time, "counts/s"
    fixed = chosen.root.find("{*}FixedInformation")
    original = {
        "member": chosen.member,
        "ScanInformation": element_to_dict(tab.info, max_text=200) if tab.info is not None else {},
        "FixedInformation": element_to_dict(fixed, max_text=200) if fixed is not None else {},
    }
    return scan_array(
        tab.tth,
        intensity,
        sigma=sigma,
        path=path,
        format=SPEC.name,
        units=units,
        metadata=md,
        original=original,
        sigma_source="poisson on counts (x absorption factor)",
    )


def _open_range(path: Path, range: int | None) -> _Range:
    """Parse the ``RawData*.xml`` member of the chosen range (all of them to label ranges)."""
    from charsuite.io.formats.xrd.common import open_zip, parse_xml, pick_range, zip_member

    with open_zip(path, format=SPEC.name) as zf:
        names = zf.namelist()
        raw_names = sorted(n for n in names if n.rsplit("/", 1)[-1].startswith("RawData"))
        if not raw_names:
            raise ReaderError(
                f"zip holds no RawData*.xml (members: {', '.join(names[:6])}); not a BRML "
                "measurement",
                path=path,
                format=SPEC.name,
            )
        raw_names.sort(key=_member_number)

        def parse(name):
            data = zip_member(zf, name, path=path, format=SPEC.name)
            return parse_xml(data, path=path, format=SPEC.name, member=name)

        docs = {}
        if len(raw_names) > 1:
            labels = []
            for name in raw_names:
                docs[name] = parse(name)
                labels.append(_range_label(docs[name], name))
        else:
            labels = [raw_names[0]]
        index = pick_range(labels, range, path=path, format=SPEC.name)
        member = raw_names[index]
        root = docs.get(member)
        if root is None:
            root = parse(member)
    return _Range(root, member, index, labels, len(raw_names))


def _datum_rows(route, root, path: Path) -> list:
    """The comma-separated ``<Datum>`` rows of the route (or anywhere in the document)."""
    rows = [(datum.text or "").split(",") for datum in route.iterfind("{*}Datum")]
    if not rows:
        rows = [(d.text or "").split(",") for d in root.iterfind(".//{*}Datum")]
    if len(rows) < 2:
        raise ReaderError(
            f"{len(rows)} <Datum> rows; expected a scan (empty or truncated measurement)",
            path=path,
            format=SPEC.name,
        )
    if any(len(r) != len(rows[0]) for r in rows):
        raise ReaderError("<Datum> rows have different lengths", path=path, format=SPEC.name)
    return rows


def _read_table(chosen: _Range, path: Path) -> _Table:
    """Locate the 2θ, counter, absorber, time and θ columns and read the rows as numbers."""
    import numpy as np

    route = chosen.root.find(".//{*}DataRoutes/{*}DataRoute")
    if route is None:
        raise ReaderError(f"{chosen.member} has no DataRoute", path=path, format=SPEC.name)
    info = route.find("{*}ScanInformation")
    scan_name = info.attrib.get("ScanName", "") if info is not None else ""
    cols = _columns(route, path=path)
    tth_col = cols.get("ScanAxes:TwoTheta")
    if tth_col is None:
        tth_col = next((v for k, v in cols.items() if k.endswith(":TwoTheta")), None)
    if tth_col is None or "counts" not in cols:
        raise ReaderError(
            f"cannot find the 2θ and counter columns in the data views (found {sorted(cols)}); "
            "this BRML scan is not a 2θ scan",
            path=path,
            format=SPEC.name,
        )
    rows = _datum_rows(route, chosen.root, path)
    width = len(rows[0])
    if max(tth_col, cols["counts"]) >= width:
        raise ReaderError(
            f"column map points past the {width} values per <Datum>", path=path, format=SPEC.name
        )
    try:
        table = np.array(rows, dtype=float)
    except ValueError as err:
        raise ReaderError(
            f"a <Datum> value is not a number ({err})", path=path, format=SPEC.name
        ) from err
    theta_col = cols.get("ScanAxes:Theta")
    return _Table(
        info=info,
        scan_name=scan_name,
        tth=table[:, tth_col],
        counts=table[:, cols["counts"]],
        absorb=table[:, cols["AbsorptionFactor"]] if "AbsorptionFactor" in cols else 1.0,
        time=table[:, cols["MeasuredTime"]] if "MeasuredTime" in cols else None,
        omega=table[:, theta_col] if theta_col is not None else None,
    )


def _tube_metadata(root) -> dict:
    """Wavelengths, Kα2 ratio and anode from the ``<Tube>`` element."""
    from charsuite.io.formats.xrd.common import to_float

    tube = root.find(".//{*}Tube")
    if tube is None:
        return {}

    def value(tag):
        el = tube.find("{*}" + tag)
        return to_float(el.attrib.get("Value")) if el is not None else None

    md = {
        "wavelength_angstrom": value("WaveLengthAlpha1"),
        "wavelength_ka2_angstrom": value("WaveLengthAlpha2"),
        "ka2_ratio": value("WaveLengthRatio"),
    }
    mat = tube.find("{*}TubeMaterial")
    if mat is not None and mat.text:
        md["anode"] = mat.text.strip()
    return md


def _metadata(chosen: _Range, tab: _Table) -> dict:
    """Curated metadata: ranges, tube, sample, operator, times, scan type, fixed ω."""
    import numpy as np

    from charsuite.io.formats.xrd.common import classify_scan, to_float

    root = chosen.root
    md: dict = {
        "scan_axis": tab.scan_name,
        "n_ranges": chosen.n_ranges,
        "range_index": chosen.index,
        "ranges": chosen.labels,
        **_tube_metadata(root),
    }
    for item in root.iterfind(".//{*}InfoItem"):
        if item.attrib.get("Name") == "SampleName" and item.attrib.get("Value"):
            md["sample"] = item.attrib["Value"]
        if item.attrib.get("Name") == "User" and item.attrib.get("Value"):
            md["operator"] = item.attrib["Value"]
    started = root.find("{*}TimeStampStarted")
    if started is not None and started.text:
        md["start_time"] = started.text.strip()
    if tab.time is not None:
        md["counting_time_s"] = float(np.median(tab.time))
    tps = tab.info.find("{*}TimePerStep") if tab.info is not None else None
    if tps is not None:
        md["time_per_step_s"] = to_float(tps.text)
    scan_type = classify_scan(tab.scan_name, float(np.nanmax(tab.tth)))
    if "detector" in tab.scan_name.lower() or tab.scan_name.lower() in ("twotheta", "2theta"):
        scan_type = "2theta"
    if scan_type == "2theta" and tab.omega is not None and np.ptp(tab.omega) < 1e-6:
        md["incidence_angle_deg"] = float(tab.omega[0])
    md["scan_type"] = scan_type
    return md
