"""Squidstat settings file reader (metadata only)."""

import numpy as np
import pytest

from charsuite.datasets.echem import write_squidstat_cycling
from charsuite.exceptions import CharsuiteError
from charsuite.io import read
from charsuite.testing import ReaderContract


class TestSettings(ReaderContract):
    format_name = "squidstat-settings"

    def make_file(self, tmp_path):
        truth = write_squidstat_cycling(tmp_path, windows=((3.0, 4.3),), cycles_per_window=1)
        return truth["settings"]

    def test_nan_values(self, tmp_path):
        """Metadata only (no data arrays): a NaN area is kept as NaN or refused."""
        path = self.make_file(tmp_path)
        text = path.read_text(encoding="latin-1")
        line = next(ln for ln in text.splitlines() if ln.startswith("Working Electrode Area"))
        path.write_text(text.replace(line, line.split(":")[0] + ": nan"), encoding="latin-1")
        try:
            md = read(path).attrs["metadata"]
        except CharsuiteError:
            return
        assert np.isnan(md["electrode_area_cm2"]), "NaN area silently replaced"


def test_area_and_mass(tmp_path):
    truth = write_squidstat_cycling(tmp_path, windows=((3.0, 4.3),), cycles_per_window=1)
    ds = read(truth["settings"])
    assert ds.attrs["metadata"]["electrode_area_cm2"] == pytest.approx(truth["area_cm2"])
    assert ds.attrs["metadata"]["active_mass_mg"] == pytest.approx(truth["mass_g"] * 1e3, rel=1e-5)
    assert len(ds.data_vars) == 0
