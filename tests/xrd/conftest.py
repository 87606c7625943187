"""Generated GI-XRD scans shared by the xrd tests (simulated once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def gi_film(tmp_path_factory):
    """NMC811 (a 2.872, c 14.23 Å) 600 nm on ITO/Pt/Ti/sapphire, ω = 2°, zero +0.05°."""
    from charsuite.datasets.xrd import generate_gixrd

    out = tmp_path_factory.mktemp("gi")
    paths, truth = generate_gixrd(out, name="film", substrate="sapphire", seed=811)
    return paths, truth
