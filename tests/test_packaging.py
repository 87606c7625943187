"""pyproject lists every subpackage, so `pip install .` ships all code and reference_data."""

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
