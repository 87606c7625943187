"""One module per file format; see :mod:`charsuite.io._registry`."""
