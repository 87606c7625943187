import numpy as np
import pytest

from charsuite.exceptions import (
    AmbiguousFormatError,
    ReaderError,
    UnknownFormatError,
)
from charsuite.io import list_formats, read, resolve_format
from charsuite.io._registry import FORMAT_MODULES, format_modules


def test_every_module_declares_the_contract():
    for name, module in format_modules().items():
        assert module.SPEC.name == name
        assert callable(module.can_read) and callable(module.read)
        assert all(e.startswith(".") and e == e.lower() for e in module.SPEC.extensions)
    assert len(format_modules()) == len(FORMAT_MODULES)


def test_unknown_format_lists_supported(tmp_path):
    path = tmp_path / "noise.qqq"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 2048, dtype=np.uint8).tobytes())
    with pytest.raises(UnknownFormatError) as info:
        read(path)
    for name in list_formats():
        assert name in str(info.value)
    assert isinstance(info.value, ValueError)


def test_explicit_unknown_format_name(tmp_path):
    path = tmp_path / "a.xy"
    path.write_text("1 2\n3 4\n")
    with pytest.raises(UnknownFormatError, match="not registered"):
        read(path, format="nope")


@pytest.mark.parametrize("kind", ["missing", "directory", "empty"])
def test_bad_paths(tmp_path, kind):
    path = tmp_path / "x.xy"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    with pytest.raises(ReaderError) as info:
        read(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, OSError)


def test_extension_fallback_gives_reader_error(tmp_path):
    path = tmp_path / "broken.xy"
    path.write_text("just words, no data\n")
    with pytest.raises(ReaderError, match=r"\[xy\]"):
        read(path)


def test_ambiguous_content(monkeypatch, tmp_path):
    import charsuite.io._read as r

    class Fake:
        def __init__(self, name):
            from charsuite.io import FormatSpec

            self.SPEC = FormatSpec(
                name=name, technique="generic", extensions=(".zz",), description=""
            )

        def can_read(self, path, head):
            return True

    monkeypatch.setattr(r, "format_modules", lambda: {"a": Fake("a"), "b": Fake("b")})
    path = tmp_path / "f.zz"
    path.write_text("x")
    with pytest.raises(AmbiguousFormatError, match="format="):
        resolve_format(path)


def test_crashing_sniffer_does_not_decide(monkeypatch, tmp_path):
    import charsuite.io._read as r
    from charsuite.io import FormatSpec

    class Boom:
        SPEC = FormatSpec(name="boom", technique="generic", extensions=(), description="")

        def can_read(self, path, head):
            raise RuntimeError("sniffer bug")

    real = dict(format_modules())
    monkeypatch.setattr(r, "format_modules", lambda: {**real, "boom": Boom()})
    path = tmp_path / "a.xy"
    path.write_text("\n".join(f"{10 + i} {i}" for i in range(10)))
    assert resolve_format(path) == "xy"
