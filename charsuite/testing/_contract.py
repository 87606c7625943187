"""The contract every reader satisfies, as an inheritable pytest class."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charsuite.exceptions import CharsuiteError, ReaderError
from charsuite.io import read, resolve_format
from charsuite.io._registry import format_modules
from charsuite.model import check_units


def file_digest(path: Path) -> tuple[str, int]:
    """Return (sha256, mtime_ns) of a file, to prove readers leave inputs unchanged."""
    data = Path(path).read_bytes()
    return hashlib.sha256(data).hexdigest(), Path(path).stat().st_mtime_ns


def shared_data_dir(technique: str) -> Path:
    """Return ``../shared/data/<technique>`` or skip (fail under ``CI=true``) if absent.

    The folder is searched relative to the project root (the parent of ``tests/``),
    then from ``$CHARSUITE_SHARED_DATA``.
    """
    roots = []
    if os.environ.get("CHARSUITE_SHARED_DATA"):
        roots.append(Path(os.environ["CHARSUITE_SHARED_DATA"]))
    here = Path(__file__).resolve()
    roots += [p.parent / "shared" / "data" for p in here.parents]
    roots.append(Path.cwd().parent / "shared" / "data")
    for root in roots:
        if (root / technique).is_dir():
            return root / technique
    message = f"../shared/data/{technique} not found (real instrument files are not shipped)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; under CI=true these tests must run")
    pytest.skip(message)


def _mutate(data: bytearray, cut: int, flips: list, mode: str) -> bytearray:
    """One hostile mutation of a good file (the classes of the red-team suite, issue 16).

    ``truncate``/``corrupt``: damage; ``duplicate``: a stretch repeated (duplicated rows);
    ``swap-lines``: two lines exchanged (rows out of order); ``extra-value``: one more
    value inserted in a row (a shifted table); ``long-line``: 8 KB without a line break.
    """
    if mode == "truncate":
        return data[:cut]
    if mode == "corrupt":
        for pos, value in flips:
            data[pos] = value
        return data
    if mode == "duplicate":
        return data[:cut] + data[cut : cut + 200] + data[cut:]
    if mode == "swap-lines":
        lines = bytes(data).split(b"\n")
        i, j = (pos % len(lines) for pos, _ in ([*flips, (cut, 0), (cut // 2, 0)])[:2])
        lines[i], lines[j] = lines[j], lines[i]
        return bytearray(b"\n".join(lines))
    if mode == "extra-value":
        return data[:cut] + b"\t17 " + data[cut:]
    return data[:cut] + b"9" * 8192 + data[cut:]  # long-line


def _foreign_files(tmp: Path) -> list[Path]:
    """Small files of other kinds every sniffer must reject."""
    import xarray as xr

    from charsuite.io import write

    rng = np.random.default_rng(0)
    files = []
    p = tmp / "random.bin"
    p.write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    files.append(p)
    p = tmp / "prose.txt"
    p.write_text("This is a lab notebook entry.\nNo numbers in columns here.\n" * 20)
    files.append(p)
    p = tmp / "xy.xy"
    x = np.linspace(10, 80, 200)
    p.write_text("\n".join(f"{a:.3f} {b:.1f}" for a, b in zip(x, np.cos(x) * 100 + 200)))
    files.append(p)
    p = tmp / "cs.h5"
    da = xr.DataArray(
        np.arange(5.0), dims=("t",), coords={"t": ("t", np.arange(5.0), {"units": "s"})}
    )
    da.attrs["units"] = "V"
    write(da, p)
    files.append(p)
    p = tmp / "doc.xml"
    p.write_text("<?xml version='1.0'?><root><item>1</item></root>")
    files.append(p)
    return files


class ReaderContract:
    """Inherit and set ``format_name``; implement ``make_file(self, tmp_path) -> Path``.

    Optional hooks: ``make_nan_file(self, tmp_path) -> Path`` (a file with NaN values;
    the reader must either read it, keeping NaN visible, or raise a CharsuiteError; for a
    binary file see :func:`charsuite.testing.inject_nan`; a format that cannot store NaN
    sets ``nan_not_representable = "why"`` instead) and
    ``fuzz_examples`` (number of hypothesis examples, default 25).
    """

    format_name: str = ""
    fuzz_examples: int = 25

    def make_file(self, tmp_path: Path) -> Path:  # pragma: no cover - abstract
        raise NotImplementedError("subclasses return a path to a valid file")

    @pytest.fixture
    def good_file(self, tmp_path: Path) -> Path:
        path = self.make_file(tmp_path)
        os.chmod(path, 0o444)  # readers open read-only; writing would raise here
        return path

    @property
    def module(self):
        return format_modules()[self.format_name]

    def test_registered(self):
        assert self.format_name in format_modules()

    def test_sniffing_accepts_own_file(self, good_file):
        assert resolve_format(good_file) == self.format_name

    def test_sniffing_rejects_others(self, tmp_path):
        for path in _foreign_files(tmp_path):
            head = path.read_bytes()[:4096]
            if path.suffix in self.module.SPEC.extensions and self.format_name in (
                "xy",
                "charsuite-h5",
            ):
                continue  # the foreign file of the reader's own kind
            assert not self.module.can_read(path, head), path.name

    def test_lazy_equals_eager(self, good_file):
        import xarray as xr

        eager = read(good_file)
        lazy = read(good_file, lazy=True)
        assert type(eager) is type(lazy)
        xr.testing.assert_identical(eager.drop_attrs(), lazy.compute().drop_attrs())

    def test_units_present(self, good_file):
        check_units(read(good_file))

    def test_attrs_and_history(self, good_file):
        obj = read(good_file)
        for key in ("technique", "format", "source_file", "metadata", "original_metadata"):
            assert key in obj.attrs, key
        record = obj.attrs["history"][-1]
        assert record["operation"] == "read"
        assert record["parameters"]["format"] == self.format_name
        assert Path(record["input_file"]) == Path(good_file).resolve()

    def test_input_unchanged(self, good_file):
        before = file_digest(good_file)
        read(good_file)
        read(good_file, lazy=True)
        assert file_digest(good_file) == before

    def test_empty_file(self, tmp_path):
        path = (
            tmp_path
            / f"empty{self.module.SPEC.extensions[0] if self.module.SPEC.extensions else ''}"
        )
        path.write_bytes(b"")
        with pytest.raises(ReaderError, match="empty"):
            read(path, format=self.format_name)

    def test_wrong_type_explicit_format(self, tmp_path):
        path = tmp_path / "random.bin"
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
        with pytest.raises(CharsuiteError):
            read(path, format=self.format_name)

    def test_nan_values(self, tmp_path):
        maker = getattr(self, "make_nan_file", None)
        if maker is None:
            pytest.skip(
                getattr(self, "nan_not_representable", None)
                or f"{type(self).__name__} defines no make_nan_file hook"
            )
        path = maker(tmp_path)
        try:
            obj = read(path)
        except CharsuiteError:
            return
        assert any(
            np.isnan(np.asarray(v.values, dtype=float)).any()
            for v in ([obj] if not hasattr(obj, "data_vars") else obj.data_vars.values())
            if np.asarray(v.values).dtype.kind == "f"
        ), "NaN in the file was silently dropped or replaced"

    def test_fuzz_truncated_and_corrupted(self, tmp_path):
        src_dir = tmp_path / "src"
        src_dir.mkdir()
        original = self.make_file(src_dir).read_bytes()
        counter = iter(range(10**9))

        @settings(
            max_examples=self.fuzz_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            derandomize=True,
        )
        @given(
            cut=st.integers(min_value=0, max_value=max(len(original) - 1, 0)),
            flips=st.lists(
                st.tuples(st.integers(0, max(len(original) - 1, 0)), st.integers(0, 255)),
                max_size=8,
            ),
            mode=st.sampled_from(
                ["truncate", "corrupt", "duplicate", "swap-lines", "extra-value", "long-line"]
            ),
        )
        def check(cut, flips, mode):
            data = _mutate(bytearray(original), cut, flips, mode)
            path = tmp_path / f"fuzz{next(counter)}{self.module.SPEC.extensions[0]}"
            path.write_bytes(bytes(data))
            # a clear CharsuiteError is the expected outcome for damaged files; anything
            # else (IndexError, KeyError, ...) escapes and fails the test. The line limit
            # is lowered so that "long-line" exercises the budget without big files.
            saved = os.environ.get("CHARSUITE_MAX_LINE")
            os.environ["CHARSUITE_MAX_LINE"] = "4096"
            try:
                with contextlib.suppress(CharsuiteError):
                    read(path, format=self.format_name)
            finally:
                if saved is None:
                    os.environ.pop("CHARSUITE_MAX_LINE", None)
                else:
                    os.environ["CHARSUITE_MAX_LINE"] = saved

        check()
