"""One reader registry for every technique, plus charsuite's own writer and atomic output.

>>> import charsuite.io as cio
>>> "charsuite-h5" in cio.list_formats()
True
"""

from charsuite.io._atomic import atomic_path, check_output, write_bytes, write_text
from charsuite.io._read import FileInfo, info, list_formats, read, resolve_format
from charsuite.io._registry import format_modules
from charsuite.io._spec import FormatSpec
from charsuite.io._write import write

__all__ = [
    "FileInfo",
    "FormatSpec",
    "atomic_path",
    "check_output",
    "format_modules",
    "info",
    "list_formats",
    "read",
    "resolve_format",
    "write",
    "write_bytes",
    "write_text",
]
