"""pyproject lists every subpackage, so `pip install .` ships all code and reference_data."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_listed():
    if not (ROOT / "pyproject.toml").exists():
        pytest.skip("pyproject.toml not next to tests/")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "charsuite").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found | {"charsuite.reference_data"} == listed, found ^ listed
    assert (
        config["tool"]["setuptools"]["package-dir"]["charsuite.reference_data"] == "reference_data"
    )


def _imported_top_level_modules() -> set[str]:
    import ast
    import re

    names: set[str] = set()
    for path in (ROOT / "charsuite").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        names |= {m.split(".")[0] for m in re.findall(r'import_module\(\s*"([\w.]+)"', text)}
    return names


def test_every_dependency_is_imported():
    import re
    from importlib.metadata import packages_distributions

    if not (ROOT / "pyproject.toml").exists():
        pytest.skip("pyproject.toml not next to tests/")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    modules: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    imported = _imported_top_level_modules()
    unused = set()
    for dep in deps:
        name = re.split(r"[<>=\[ ;!~]", dep)[0].lower().replace("_", "-")
        assert name in modules, f"{name} is declared but not installed"
        if not modules[name] & imported:
            unused.add(name)
    assert not unused, f"declared in pyproject but imported nowhere: {sorted(unused)}"


@pytest.mark.parametrize(
    ("fmt", "module", "head", "extra"),
    [
        ("arbin-res", "access_parser", b"\0\1\0\0Standard Jet DB" + b"\0" * 64, "charsuite[arbin]"),
    ],
)
def test_missing_optional_dependency_names_the_extra(
    fmt, module, head, extra, tmp_path, monkeypatch
):
    """An optional extra stays optional: without it, one line naming the extra to install."""
    import sys

    from charsuite.exceptions import MissingDependencyError
    from charsuite.io import read

    path = tmp_path / "file.bin"
    path.write_bytes(head)
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError, match=re.escape(extra)) as err:
        read(path, format=fmt)
    assert isinstance(err.value, ImportError)
    assert "\n" not in str(err.value)
