"""The documentation sources stay true to the code (the Sphinx build itself runs in .ci/run)."""

import re
from pathlib import Path

import pytest

from charsuite.io import list_formats

DOCS = Path(__file__).resolve().parent.parent / "docs"

pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason="docs/ not next to tests/")


def test_every_format_has_a_row_in_the_notes_table():
    text = (DOCS / "formats.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([\w\-.]+)` \|", text, flags=re.M))
    assert set(list_formats()) <= rows, set(list_formats()) - rows
    assert rows <= set(list_formats()), rows - set(list_formats())


def test_every_notebook_is_in_the_docs():
    listed = set(re.findall(r"_generated/notebooks/(\w+)", (DOCS / "notebooks.md").read_text()))
    stored = {p.stem for p in (DOCS.parent / "notebooks").glob("*.ipynb")}
    assert listed == stored


def test_every_guide_is_in_the_toctree():
    index = (DOCS / "index.md").read_text()
    for guide in (DOCS / "guide").glob("*.md"):
        assert f"guide/{guide.stem}" in index, guide.name
