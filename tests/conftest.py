"""Shared fixtures. Real instrument files come from ../shared/data (see PROVENANCE.md)."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("CHARSUITE_TESTING", "1")


@pytest.fixture
def shared_data():
    """Return a function ``shared_data(technique) -> Path`` that skips when data are absent."""
    from charsuite.testing import shared_data_dir

    return shared_data_dir
