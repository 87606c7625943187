"""Rigaku SmartLab Studio ``.rasx`` (zip): ``Data0/Profile0.txt`` + ``Data0/MesurementConditions0.xml``.

``Profile0.txt`` holds tab-separated rows ``x intensity attenuation`` (UTF-8 with BOM);
the conditions XML holds ``ScanInformation`` (``AxisName``, ``Mode``, ``Start``, ``Stop``,
``Step``, ``Speed`` in deg/min, ``IntensityUnit``) and a ``RASHeader`` list of
``<Pair><string>*KEY</string><string>value</string></Pair>`` with the same keys as a
``.ras`` header (wavelengths, axis positions). Parsed like :mod:`rigaku_ras`.
"""

from __future__ import annotations

from pathlib import Path

from charsuite.exceptions import ReaderError
from charsuite.io._spec import FormatSpec

SPEC = FormatSpec(
    name="rasx",
    technique="xrd",
    extensions=(".rasx",),
    description="Rigaku RASX (zip of Profile txt + conditions XML)",
    priority=60,
)


def can_read(path: Path, head: bytes) -> bool:
    """A zip whose first members are ``Data0/...`` Profile/MesurementConditions."""
    return head[:4] == b"PK\x03\x04" and (
        b"Data0/" in head and (b"Profile" in head or b"Mesurement" in head)
    )


def _natural(name: str):
    """Sort key: Profile2 before Profile10."""
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _conditions(xml: bytes, member: str, *, path: Path) -> tuple[dict, dict]:
    """(RAS-style header dict, ScanInformation dict) of one ``MesurementConditions`` member."""
    from charsuite.io.formats.xrd.common import element_to_dict, parse_xml, strip_ns

    header: dict = {}
    scan_info: dict = {}
    root = parse_xml(xml, path=path, format=SPEC.name, member=member)
    for pair in root.iterfind(".//{*}RASHeader/{*}Pair"):
        vals = [c.text or "" for c in pair if strip_ns(c.tag) == "string"]
        if len(vals) == 2:
            header[vals[0].lstrip("*")] = vals[1]
    si = root.find(".//{*}ScanInformation")
    if si is not None:
        scan_info = element_to_dict(si)
        header.setdefault("MEAS_SCAN_AXIS_X_INTERNAL", scan_info.get("AxisName", ""))
        header.setdefault("MEAS_SCAN_SPEED", scan_info.get("Speed"))
        header.setdefault("MEAS_SCAN_STEP", scan_info.get("Step"))
        header.setdefault("MEAS_SCAN_UNIT_Y", scan_info.get("IntensityUnit", "counts"))
        header.setdefault("MEAS_SCAN_START_TIME", scan_info.get("StartTime"))
    for tag, key in (
        ("WavelengthKalpha1", "HW_XG_WAVE_LENGTH_ALPHA1"),
        ("WavelengthKalpha2", "HW_XG_WAVE_LENGTH_ALPHA2"),
        ("WaveType", "MEAS_COND_XG_WAVE_TYPE"),
    ):
        el = root.find(f".//{{*}}{tag}")
        if el is not None and el.text:
            header.setdefault(key, el.text.strip())
    name = root.find(".//{*}GeneralInformation/{*}SampleName")
    if name is not None and name.text:
        header.setdefault("FILE_SAMPLE", name.text)
    return header, scan_info


def _profile_scan(text: bytes, member: str, header: dict, *, path: Path, n_scans: int):
    from charsuite.io.formats.xrd.rigaku_ras import parse_rows, rows_to_scan

    try:
        lines = text.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        raise ReaderError(f"{member} is not UTF-8 text", path=path, format=SPEC.name) from err
    rows = parse_rows(lines, path=path, format=SPEC.name)
    return rows_to_scan(rows, header, path=path, format=SPEC.name, n_scans=n_scans)


def read(path: Path, *, lazy: bool = False, rate: bool = False):
    """Read a RASX file: one profile, or a 2D map ``("row", "two_theta")`` of several.

    Raises
    ------
    ReaderError
        Not a zip, missing members, malformed XML, non-numeric rows, a reciprocal-space
        map whose profiles cannot share one 2θ axis.
    """
    from charsuite.io.formats.xrd.common import as_rate, open_zip, stack_scans, zip_member

    path = Path(path)
    with open_zip(path, format=SPEC.name) as zf:
        names = zf.namelist()
        prof = sorted(
            (n for n in names if n.rsplit("/", 1)[-1].startswith("Profile")), key=_natural
        )
        cond = sorted((n for n in names if "Conditions" in n and n.endswith(".xml")), key=_natural)
        if not prof:
            raise ReaderError(
                f"no Profile*.txt member (members: {', '.join(names[:6])})",
                path=path,
                format=SPEC.name,
            )
        texts = [zip_member(zf, m, path=path, format=SPEC.name) for m in prof]
        xmls = {m: zip_member(zf, m, path=path, format=SPEC.name) for m in cond}
    parsed = {m: _conditions(x, m, path=path) for m, x in xmls.items()}
    scans = []
    for member, text in zip(prof, texts):
        # the conditions of the same data folder and index, else the first
        twin = member.replace("Profile", "MesurementConditions").rsplit(".", 1)[0] + ".xml"
        header, scan_info = parsed.get(twin) or (parsed[cond[0]] if cond else ({}, {}))
        da = _profile_scan(text, member, dict(header), path=path, n_scans=len(prof))
        da.attrs["original_metadata"] = {"header": header, "ScanInformation": scan_info}
        scans.append(as_rate(da, path=path, format=SPEC.name) if rate else da)
    if len(scans) > 1:
        # several profiles (area or reciprocal-space map): a map, never its first profile
        return stack_scans(scans, path=path, format=SPEC.name)
    return scans[0]
