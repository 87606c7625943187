"""Single source of the charsuite version."""

__version__ = "0.1.0"
