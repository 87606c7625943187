"""The README stays true: its commands and format table match the code."""

import re
from pathlib import Path

import pytest

from charsuite.cli import COMMANDS
from charsuite.io import list_formats

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def text():
    if not README.exists():
        pytest.skip("README.md not next to tests/ (installed-package test run)")
    return README.read_text(encoding="utf-8")


def test_two_setup_commands(text):
    assert "pip install . && charsuite demo --out charsuite-demo" in text
    assert 'pip install ".[test]" && pytest' in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install --quiet . && charsuite demo" in ci
    assert 'pip install --quiet ".[test]" && pytest' in ci


def test_format_table_lists_every_format(text):
    rows = set(re.findall(r"^\| `([\w\-.]+)` \|", text, flags=re.M))
    assert set(list_formats()) <= rows, set(list_formats()) - rows


def test_every_command_group_documented(text):
    for name in COMMANDS:
        assert f"charsuite {name}" in text, name
