"""Memory budgets for readers: refuse what a file cannot honestly hold, before allocating it.

Every reader bounds what it allocates by two limits, checked *before* the allocation:

* **memory** — ``CHARSUITE_MAX_MEMORY`` (bytes, or with a unit: ``2GB``, ``512MiB``);
  default a quarter of the physical RAM, and at most half of the process's address-space
  limit (``ulimit -v``) when one is set.
* **expansion** — what a file expands to (zip members, HDF5 chunks, zlib elements,
  declared array shapes) may be at most ``CHARSUITE_MAX_EXPANSION`` times the bytes
  stored for it, with a floor of 64 MiB so small files are never refused on ratio alone.
  Defaults:

  - archives, zlib and XML: 200 (real exports compress 3–40×, zip/deflate bombs
    300–1000×);
  - HDF5 datasets: 1100. Sparse instrument data compress far beyond 200× and are
    valid: measured declared/stored ratios are 4–8× on the 12 public Ionicon PTR-TOF
    TofDAQ files (bioc/ptairData), 10–47× on the spcal icpTOF files, and 514× on the
    TofData of a generated fibTOF file whose pixel spectra are 0.09 % non-zero (a real
    FIB-SIMS pixel sees a few ions per extraction). A deflate stream cannot exceed about
    1032:1 (a 258-byte match costs at least 2 bits, RFC 1951), so 1100 refuses no chunk
    written with deflate/shuffle/fletcher32, and still refuses declared space the file
    does not hold (unallocated chunks of an aborted run, fill-value bombs) or filters
    with unbounded ratios. ``CHARSUITE_MAX_EXPANSION`` sets both.

A refusal is a :class:`~charsuite.exceptions.BudgetError` (a ``ReaderError``): one line that
names the limit and the environment variable that raises it.

>>> from charsuite.io._budget import human
>>> human(3 * 2**30)
'3.0 GiB'
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

from charsuite.exceptions import BudgetError

__all__ = [
    "EXPANSION_ENV",
    "LINE_ENV",
    "MEMORY_ENV",
    "check_bytes",
    "check_expansion",
    "check_lines",
    "decompress_bounded",
    "expansion_limit",
    "human",
    "max_expansion",
    "max_line",
    "max_memory",
    "read_bytes_bounded",
]

MEMORY_ENV = "CHARSUITE_MAX_MEMORY"
EXPANSION_ENV = "CHARSUITE_MAX_EXPANSION"
LINE_ENV = "CHARSUITE_MAX_LINE"
DEFAULT_MEMORY_FRACTION = 0.25
DEFAULT_EXPANSION = 200.0
DEFAULT_HDF5_EXPANSION = 1100.0  # above deflate's 1032:1 ceiling (module notes)
EXPANSION_FLOOR = 64 * 2**20
DEFAULT_MAX_LINE = 16 * 2**20
# Reading a text file costs about this many times its size at the peak (bytes, decoded
# str, split lines, parsed table); used to refuse a file before it is read.
TEXT_COST = 6

_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def human(n: float) -> str:
    """Format a byte count with a binary unit (``1.5 GiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def parse_size(text: str, *, name: str = MEMORY_ENV) -> int:
    """Parse ``"2GB"``, ``"512MiB"``, ``"1e9"`` into bytes.

    Raises
    ------
    ParameterError
        If ``text`` is not a positive size.
    """
    from charsuite.exceptions import ParameterError

    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgGtT]?)(i?)[bB]?\s*", text)
    try:
        value = float(m.group(1)) if m else float("nan")
    except ValueError:
        value = float("nan")
    if not m or not value > 0 or value == float("inf"):
        raise ParameterError(
            f"{name}={text!r} is not a size; give bytes or a number with a unit, e.g. 2GB or 512MiB"
        )
    base = 1024 if m.group(3) else 1000
    power = "kmgt".find(m.group(2).lower()) + 1 if m.group(2) else 0
    return int(value * base**power)


def _physical_ram() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 2**30


def max_memory() -> int:
    """The memory budget in bytes (``CHARSUITE_MAX_MEMORY`` or the default, see module doc).

    Returns
    -------
    int
        Bytes a reader or a pipeline stage may hold at once: ``CHARSUITE_MAX_MEMORY`` when
        set, else a quarter of the physical RAM, at most half of ``ulimit -v``.

    Examples
    --------
    >>> max_memory() > 0
    True
    """
    text = os.environ.get(MEMORY_ENV)
    if text:
        return parse_size(text)
    budget = int(_physical_ram() * DEFAULT_MEMORY_FRACTION)
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
            budget = min(budget, soft // 2)
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-POSIX
        pass
    return budget


def max_expansion(*, hdf5: bool = False) -> float:
    """The expansion ratio limit (``CHARSUITE_MAX_EXPANSION``, else 200, or 1100 for HDF5)."""
    from charsuite.exceptions import ParameterError

    text = os.environ.get(EXPANSION_ENV)
    if not text:
        return DEFAULT_HDF5_EXPANSION if hdf5 else DEFAULT_EXPANSION
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ParameterError(f"{EXPANSION_ENV}={text!r} is not a positive number, e.g. 500")
    return value


def max_line() -> int:
    """The longest text line a reader accepts (``CHARSUITE_MAX_LINE``, default 16 MiB)."""
    text = os.environ.get(LINE_ENV)
    return parse_size(text, name=LINE_ENV) if text else DEFAULT_MAX_LINE


def expansion_limit(stored: int, *, cap: bool = True, hdf5: bool = False) -> int:
    """Bytes that ``stored`` bytes may expand to: ``max(64 MiB, ratio · stored)``.

    With ``cap`` (data that will be held in memory) also at most :func:`max_memory`; lazily
    read data (HDF5 cubes streamed slab by slab) are bounded by the ratio alone. ``hdf5``
    selects the HDF5 default ratio (module notes).
    """
    limit = max(EXPANSION_FLOOR, max_expansion(hdf5=hdf5) * stored)
    return int(min(limit, max_memory()) if cap else limit)


def check_bytes(nbytes: int, *, what: str, path=None, format: str | None = None) -> None:
    """Refuse an allocation of ``nbytes`` larger than the memory budget.

    Raises
    ------
    BudgetError
        Naming ``what``, the size, the limit and ``CHARSUITE_MAX_MEMORY``.
    """
    limit = max_memory()
    if nbytes > limit:
        raise BudgetError(
            f"{what} would need {human(nbytes)}, more than the memory limit {human(limit)}; "
            f"if the file is genuine, raise the limit with {MEMORY_ENV}=<size> (e.g. 8GB) "
            "or read it lazily",
            path=path,
            format=format,
        )


def check_expansion(
    nbytes: int, *, stored: int, what: str, path=None, format: str | None = None
) -> None:
    """Refuse ``nbytes`` of data claimed by ``stored`` bytes beyond the expansion limit.

    Also applies :func:`check_bytes`.

    Raises
    ------
    BudgetError
    """
    check_bytes(nbytes, what=what, path=path, format=format)
    limit = expansion_limit(stored)
    if nbytes > limit:
        raise BudgetError(
            f"{what} expands {human(stored)} on disk to {human(nbytes)}, more than "
            f"{max_expansion():g}× (limit {human(limit)}); this looks like a decompression bomb. "
            f"If the file is genuine, raise the ratio with {EXPANSION_ENV}=<ratio>",
            path=path,
            format=format,
        )


def decompress_bounded(
    data: bytes, *, what: str, path=None, format: str | None = None, limit: int | None = None
) -> bytes:
    """zlib-decompress ``data``, refusing output beyond ``limit`` (default the expansion limit).

    Unlike :func:`zlib.decompress`, at most ``limit + 1`` bytes are ever produced.

    Raises
    ------
    BudgetError
        If the output would exceed the limit.
    zlib.error
        If ``data`` is not a valid zlib stream.
    """
    limit = expansion_limit(len(data)) if limit is None else limit
    d = zlib.decompressobj()
    out = d.decompress(data, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise BudgetError(
            f"{what} decompresses to more than {human(limit)} from {human(len(data))}; "
            f"refused as a decompression bomb. If the file is genuine, raise "
            f"{EXPANSION_ENV} or {MEMORY_ENV}",
            path=path,
            format=format,
        )
    return out + d.flush()


def _longest_line(raw: bytes, block: int = 1 << 24) -> int:
    r"""Length of the longest line (``\n`` or ``\r`` ends), scanning 16 MiB at a time."""
    import numpy as np

    a = np.frombuffer(raw, dtype=np.uint8)
    longest, start = 0, 0  # start: offset of the current line's first byte
    for lo in range(0, a.size, block):
        part = a[lo : lo + block]
        ends = np.flatnonzero((part == 10) | (part == 13)) + lo
        if ends.size:
            longest = max(longest, int(ends[0]) - start)
            if ends.size > 1:
                longest = max(longest, int(np.diff(ends).max()) - 1)
            start = int(ends[-1]) + 1
    return max(longest, a.size - start)


def check_lines(raw: bytes, *, path=None, format: str | None = None) -> None:
    """Refuse text whose longest line is longer than :func:`max_line`.

    A text reader given one enormous line (a binary blob, a file without line breaks)
    would otherwise split, decode and regex it whole. The scan holds at most 16 MiB of
    temporaries whatever the file size.
    """
    limit = max_line()
    if len(raw) <= limit:
        return
    longest = _longest_line(raw)
    if longest > limit:
        raise BudgetError(
            f"has a line of {human(longest)} (limit {human(limit)}); this is not a text export. "
            f"If it is genuine, raise {LINE_ENV}=<size>",
            path=path,
            format=format,
        )


def read_bytes_bounded(
    path: str | Path, *, format: str | None = None, text: bool = True, cost: int = TEXT_COST
) -> bytes:
    """Read a whole file after checking it fits the budget (and, for text, its line length).

    Parameters
    ----------
    path : str or Path
    format : str, optional
        Reader name for messages.
    text : bool
        Check the longest line (:func:`check_lines`).
    cost : int
        Peak memory of parsing, as a multiple of the file size.

    Raises
    ------
    BudgetError
        If the file is too large for the budget or has an over-long line.
    """
    path = Path(path)
    size = path.stat().st_size
    check_bytes(size * cost, what=f"parsing this {human(size)} file", path=path, format=format)
    with open(path, "rb") as fh:
        raw = fh.read(size + 1)
    if len(raw) > size:  # grew while reading (a device or a file being written)
        raise BudgetError(
            "grew while being read; is it still being written? Copy it when the run ends",
            path=path,
            format=format,
        )
    if text:
        check_lines(raw, path=path, format=format)
    return raw


def check_zip(zf, *, path, format: str | None = None) -> None:
    """Refuse a zip container whose members expand beyond the budget.

    The sum of the members' declared sizes must stay within the expansion limit of the
    file size (and the memory budget); so must each member relative to its compressed
    size. ``zipfile`` never returns more than a member's declared size, so the declared
    sizes bound what reading can allocate.

    Parameters
    ----------
    zf : zipfile.ZipFile
        The open container.
    path : str or Path
        Its path (for the message and the file size).
    format : str, optional
        Reader name for messages.

    Raises
    ------
    BudgetError
    """
    infos = zf.infolist()
    for info in infos:
        check_expansion(
            info.file_size,
            stored=info.compress_size,
            what=f"zip member {info.filename}",
            path=path,
            format=format,
        )
    total = sum(info.file_size for info in infos)
    check_expansion(
        total,
        stored=Path(path).stat().st_size,
        what=f"the {len(infos)} zip members together",
        path=path,
        format=format,
    )


def open_zip_bounded(path, *, format: str | None = None):
    """Open a zip container read-only after :func:`check_zip` (closed again on refusal)."""
    import zipfile

    zf = zipfile.ZipFile(path, "r")
    try:
        check_zip(zf, path=path, format=format)
    except BaseException:
        zf.close()
        raise
    return zf


_CELL_REF = re.compile(
    rb"<(?:\w+:)?(?:dimension|c)\b[^>]*?\br(?:ef)?=\"\$?([A-Z]{1,4})\$?([0-9]{1,9})"
    rb"(?::\$?([A-Z]{1,4})\$?([0-9]{1,9}))?\""
)
# A parsed cell costs calamine about this many bytes (enum of string/float/... per cell)
XLSX_CELL_BYTES = 32


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _sheet_extent(fh) -> tuple[int, int]:
    """Largest (row, column) named by ``<dimension ref>`` or a ``<c r>`` in a sheet stream."""
    rows = cols = 0
    tail = b""
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            break
        buf = tail + chunk
        for m in _CELL_REF.finditer(buf):
            for c, r in ((m.group(1), m.group(2)), (m.group(3), m.group(4))):
                if c:
                    cols = max(cols, _column_number(c))
                    rows = max(rows, int(r))
        tail = buf[-256:]  # a tag cut at the chunk boundary is seen whole next time
    return rows, cols


def xlsx_dimensions(path, *, format: str | None = None) -> dict[str, tuple[int, int]]:
    """Check every worksheet's extent before a spreadsheet library allocates it.

    calamine allocates a dense ``rows × columns`` grid from the ``<dimension>`` element
    and the cell references: one cell at ``XFD1048576`` asks for 512 GiB and aborts the
    process (a Rust allocation failure cannot be caught). The sheets are streamed here
    (bounded memory) and the grid is checked against the memory budget first.

    Returns
    -------
    dict
        ``{member name: (rows, columns)}``.

    Raises
    ------
    BudgetError
        If a sheet's grid would exceed the memory budget (or the container is a zip bomb).
    """
    import zipfile

    out: dict[str, tuple[int, int]] = {}
    if not zipfile.is_zipfile(path):  # .xls (OLE) or damaged: the reader reports it
        return out
    with open_zip_bounded(path, format=format) as zf:
        for info in zf.infolist():
            name = info.filename
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with zf.open(info) as fh:
                rows, cols = _sheet_extent(fh)
            out[name] = (rows, cols)
            check_bytes(
                rows * cols * XLSX_CELL_BYTES,
                what=f"sheet {name} spans {rows} rows × {cols} columns and",
                path=path,
                format=format,
            )
    return out


_ENTITY_MARKS = tuple("<!ENTITY".encode(c) for c in ("utf-8", "utf-16-le", "utf-16-be"))


def check_xml(data: bytes, *, path=None, format: str | None = None, member: str = "") -> None:
    """Refuse XML that declares entities, or too large to parse within the budget.

    expat refuses billion-laughs expansion beyond its amplification factor, but an
    entity expanded just below it still turns megabytes into gigabytes. Instrument XML
    (XRDML, BRML, RASX) never declares entities, so any ``<!ENTITY`` is refused.

    Raises
    ------
    BudgetError
    """
    where = f" ({member})" if member else ""
    if any(e in data for e in _ENTITY_MARKS):
        raise BudgetError(
            f"XML{where} declares entities (<!ENTITY>); instrument exports never do and "
            "entities can expand to gigabytes, so the file is refused. Re-export it",
            path=path,
            format=format,
        )
    check_bytes(
        len(data) * TEXT_COST,
        what=f"parsing {human(len(data))} of XML{where}",
        path=path,
        format=format,
    )
