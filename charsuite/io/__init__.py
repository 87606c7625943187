"""One reader registry for every technique, plus charsuite's own writer and atomic output.

>>> import charsuite.io as cio
>>> "charsuite-h5" in cio.list_formats()
True
"""

from charsuite.io._atomic import (
    atomic_dir,
    atomic_path,
    check_output,
    cleanup_temporaries,
    guard_inputs,
    hdf5_sink,
    write_bytes,
    write_text,
)
from charsuite.io._budget import max_memory
from charsuite.io._contain import check_hdf5, check_regular
from charsuite.io._read import FileInfo, info, list_formats, read, resolve_format
from charsuite.io._registry import format_modules
from charsuite.io._spec import FormatSpec
from charsuite.io._write import write

__all__ = [
    "FileInfo",
    "FormatSpec",
    "atomic_dir",
    "atomic_path",
    "check_hdf5",
    "check_output",
    "check_regular",
    "cleanup_temporaries",
    "format_modules",
    "guard_inputs",
    "hdf5_sink",
    "info",
    "list_formats",
    "max_memory",
    "read",
    "resolve_format",
    "write",
    "write_bytes",
    "write_text",
]
