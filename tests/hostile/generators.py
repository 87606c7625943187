"""Hostile inputs for the red-team suite: each small on disk, each a known attack.

Every generator takes a folder and returns ``(argv, expect)`` where ``argv`` is the
``charsuite`` command line to run on the file and ``expect`` a word that the one-line
refusal must contain (the mechanism that caught it). A canary file (:data:`CANARY`) sits
outside the input: no output may ever contain its bytes.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

CANARY = b"CANARY-7f3a9c-never-read-this"
GiB = 2**30
MiB = 2**20


def canary(folder: Path) -> Path:
    """A secret file beside the hostile input (and a copy one level up)."""
    p = folder / "secret.bin"
    p.write_bytes(CANARY * 4096)
    return p


# ----------------------------------------------------------------------------- zip
def _deflate_repeated(unit: bytes, size: int, *, checksum=zlib.crc32) -> tuple[bytes, int]:
    """Raw deflate of ``unit`` repeated to ``size`` bytes, built in milliseconds.

    One 4 MiB block is compressed once and ended with a sync flush (whole deflate
    blocks, no back-reference before it), then repeated; a fresh compressor finishes the
    tail. Returns the stream and ``checksum`` (crc32 or adler32) of the expanded data.
    """
    block = (unit * (4 * MiB // len(unit) + 1))[: 4 * MiB]
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = comp.compress(block) + comp.flush(zlib.Z_SYNC_FLUSH)
    n, rest = divmod(size, len(block))
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    end = tail.compress(block[:rest]) + tail.flush()
    value = checksum(b"")
    for _ in range(n):
        value = checksum(block, value)
    value = checksum(block[:rest], value)
    return segment * n + end, value


def write_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> None:
    """Write a zip from precompressed members ``(name, deflated, crc, size)``.

    zipfile would recompress every member; a bomb of twelve identical 95 MB members is
    written here from one deflated stream in milliseconds.
    """
    local, central, offset = [], [], 0
    for name, data, crc, size in members:
        n = name.encode()
        head = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(n), 0
        )
        local.append(head + n + data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(data),
                size,
                len(n),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + n
        )
        offset += len(head) + len(n) + len(data)
    cd = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd), offset, 0)
    path.write_bytes(b"".join(local) + cd + end)


def _small(name: str, text: bytes) -> tuple[str, bytes, int, int]:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, comp.compress(text) + comp.flush(), zlib.crc32(text), len(text)


def brml_bomb(folder: Path):
    """`.brml` of twelve 95 MB XML members (≈ 1.1 GB from a few MB)."""
    unit = b"<Datum>1,2,3,4,5</Datum>\n"
    data, crc = _deflate_repeated(unit, 95 * 10**6)
    members = [(f"Experiment0/RawData{k}.xml", data, crc, 95 * 10**6) for k in range(12)]
    p = folder / "bomb.brml"
    write_zip(p, [_small("Experiment0/DataContainer.xml", b"<DataContainer/>"), *members])
    return ["info", str(p)], "decompression bomb"


def rasx_bomb(folder: Path):
    """`.rasx` whose profile member is 190 MB of repeated rows."""
    data, crc = _deflate_repeated(b"10.000\t123\t1\r\n", 190 * 10**6)
    p = folder / "bomb.rasx"
    write_zip(
        p,
        [
            _small("Data0/MesurementConditions0.xml", b"<MeasurementConditions/>"),
            ("Data0/Profile0.txt", data, crc, 190 * 10**6),
        ],
    )
    return ["info", str(p)], "decompression bomb"


def ndax_bomb(folder: Path):
    """`.ndax` whose members are zero-filled (512 MB each)."""
    data, crc = _deflate_repeated(b"\0", 512 * MiB)
    head = b"NEWARE" + b"\0" * 100
    p = folder / "bomb.ndax"
    write_zip(
        p,
        [
            _small("VersionInfo.xml", b"<config/>"),
            ("data.ndc", data, crc, 512 * MiB),
            ("data_step.ndc", data, crc, 512 * MiB),
            _small("x.ndc", head),
        ],
    )
    return ["info", str(p)], "decompression bomb"


def xlsx_far_cell(folder: Path):
    """`.xlsx` (Arbin layout) with one cell at XFD1048576: calamine would ask for 512 GiB."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        b'.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>Test_Time(s)</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    wb = (
        b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        b'2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<sheets><sheet name="Global_Info" sheetId="1" r:id="rId1"/>'
        b'<sheet name="Channel_1_1" sheetId="2" r:id="rId2"/></sheets></workbook>'
    )
    rels = (
        b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/worksheet" Target="worksheets/sheet2.xml"/></Relationships>'
    )
    ctypes = (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
    )
    small = sheet.replace(b"A1:XFD1048576", b"A1:A1").split(b'<row r="1048576">')[0] + (
        b"</sheetData></worksheet>"
    )
    p = folder / "far.xlsx"
    write_zip(
        p,
        [
            _small("[Content_Types].xml", ctypes),
            _small("xl/workbook.xml", wb),
            _small("xl/_rels/workbook.xml.rels", rels),
            _small("xl/worksheets/sheet1.xml", small),
            _small("xl/worksheets/sheet2.xml", sheet),
        ],
    )
    return ["info", str(p)], "memory limit"


# ----------------------------------------------------------------------------- XML / text
def xrdml_entities(folder: Path):
    """`.xrdml` whose intensities come from nested entities (each level ×30, below expat's limit)."""
    ents = ['<!ENTITY a "1000 1000 1000 1000 1000 1000 1000 1000 1000 1000 ">']
    for k in range(1, 5):
        prev = chr(ord("a") + k - 1)
        ents.append(f'<!ENTITY {chr(ord("a") + k)} "{("&" + prev + ";") * 30}">')
    text = (
        '<?xml version="1.0"?><!DOCTYPE xrdMeasurements [' + "".join(ents) + "]>"
        '<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5"><xrdMeasurement>'
        '<scan><dataPoints><positions axis="2Theta" unit="deg"><startPosition>10'
        "</startPosition><endPosition>80</endPosition></positions>"
        '<intensities unit="counts">&e;</intensities></dataPoints></scan>'
        "</xrdMeasurement></xrdMeasurements>"
    )
    p = folder / "ent.xrdml"
    p.write_text(text)
    return ["info", str(p)], "entities"


def sparse_text(folder: Path):
    """A 1 GiB `.xy` file (sparse on disk) that is one line after its first bytes."""
    p = folder / "huge.xy"
    with open(p, "wb") as fh:
        fh.write(b"10.0 " * 200)
        fh.truncate(GiB)
    return ["info", str(p)], "memory limit"


def long_line(folder: Path):
    """An 18 MB `.xy` file on one line (numbers separated by spaces, no line break)."""
    p = folder / "line.xy"
    p.write_bytes(b"10.0 20 " * 2_250_000)
    return ["info", str(p)], "line"


def dev_zero_link(folder: Path):
    """A symlink named like a data file that points at /dev/zero."""
    p = folder / "zero.xy"
    os.symlink("/dev/zero", p)
    return ["info", str(p)], "character device"


def fifo(folder: Path):
    """A named pipe given as input (reading it blocks forever)."""
    p = folder / "pipe.xy"
    os.mkfifo(p)
    return ["info", str(p)], "FIFO"


# ----------------------------------------------------------------------------- HDF5
def _h5(path: Path):
    import h5py

    return h5py.File(path, "w")


def hdf5_external_storage(folder: Path):
    """A 4-D cube whose data live in the canary file (HDF5 external storage)."""
    secret = canary(folder)
    p = folder / "ext.h5"
    with _h5(p) as f:
        f.create_dataset("cube", shape=(4, 4, 4, 2), dtype="u1", external=[(str(secret), 0, 128)])
    return ["sims", "profile", str(p), "--json", "-"], "external storage"


def hdf5_virtual(folder: Path):
    """A virtual dataset mapping the canary file's bytes into the cube."""
    import h5py

    src = folder / "source.h5"
    with _h5(src) as f:
        f["data"] = np.frombuffer(CANARY * 8, dtype="u1")[: 4 * 4 * 4 * 2].reshape(4, 4, 4, 2)
    layout = h5py.VirtualLayout(shape=(4, 4, 4, 2), dtype="u1")
    layout[...] = h5py.VirtualSource(str(src), "data", shape=(4, 4, 4, 2))
    p = folder / "vds.h5"
    with _h5(p) as f:
        f.create_virtual_dataset("cube", layout)
    return ["sims", "profile", str(p), "--json", "-"], "virtual dataset"


def hdf5_external_link(folder: Path):
    """An external link to a cube in another file."""
    import h5py

    src = folder / "other.h5"
    with _h5(src) as f:
        f["data"] = np.frombuffer(CANARY * 8, dtype="u1")[:128].reshape(4, 4, 4, 2)
    p = folder / "link.h5"
    with _h5(p) as f:
        f["cube"] = h5py.ExternalLink(str(src), "/data")
    # sniffing does not follow the link (not recognised); name the format to reach the reader
    return ["sims", "profile", str(p), "--format", "hdf5-cube", "--json", "-"], "external link"


def hdf5_declared_cube(folder: Path):
    """1.4 KB file declaring a (2, 1024, 1024, 1024) float32 cube with nothing stored."""
    p = folder / "declared.h5"
    with _h5(p) as f:
        f.create_dataset("cube", shape=(2, 1024, 1024, 1024), dtype="f4", chunks=(1, 64, 64, 64))
    return ["sims", "profile", str(p), "--json", "-"], "declares"


def hdf5_declared_scans(folder: Path):
    """10⁹ declared scans of a 1×1×1 cube (8 GB declared, nothing stored)."""
    p = folder / "scans.h5"
    with _h5(p) as f:
        f.create_dataset("cube", shape=(10**9, 1, 1, 2), dtype="f4", chunks=(2**20, 1, 1, 2))
    return ["sims", "profile", str(p), "--json", "-"], "declares"


def hdf5_gzip_chunk(folder: Path):
    """One 1 GiB gzip chunk of zeros (≈ 1 MB on disk)."""
    p = folder / "chunk.h5"
    shape = (16, 128, 128, 1024)  # float32: 1 GiB in one chunk
    raw, adler = _deflate_repeated(b"\0", GiB, checksum=zlib.adler32)
    stream = b"\x78\xda" + raw + struct.pack(">I", adler)  # zlib = header + deflate + adler32
    with _h5(p) as f:
        d = f.create_dataset("cube", shape=shape, dtype="f4", chunks=shape, compression="gzip")
        d.id.write_direct_chunk((0, 0, 0, 0), stream)
    return ["sims", "profile", str(p), "--json", "-"], "declares"


CASES = {
    "hdf5-external-storage": hdf5_external_storage,
    "hdf5-virtual": hdf5_virtual,
    "hdf5-external-link": hdf5_external_link,
    "hdf5-declared-cube": hdf5_declared_cube,
    "hdf5-declared-scans": hdf5_declared_scans,
    "hdf5-gzip-chunk": hdf5_gzip_chunk,
    "brml-bomb": brml_bomb,
    "rasx-bomb": rasx_bomb,
    "ndax-bomb": ndax_bomb,
    "xlsx-far-cell": xlsx_far_cell,
    "xrdml-entities": xrdml_entities,
    "sparse-1gib-text": sparse_text,
    "long-line": long_line,
    "dev-zero-link": dev_zero_link,
    "fifo": fifo,
}
