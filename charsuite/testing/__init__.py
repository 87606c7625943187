"""Test helpers for charsuite and for third-party reader plugins.

:class:`ReaderContract` is the base of every reader's test class; subclass it, set
``format_name`` and implement ``make_file(tmp_path) -> Path``. Requires pytest and
hypothesis (the ``test`` extra). :func:`inject_nan` puts a NaN into a binary file for the
contract's NaN check.
"""

from charsuite.testing._contract import ReaderContract, file_digest, shared_data_dir
from charsuite.testing._nan import inject_nan, nan_in_text

__all__ = ["ReaderContract", "file_digest", "inject_nan", "nan_in_text", "shared_data_dir"]
