"""Generated GI-XRD scans shared by the xrd tests (simulated once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_pattern_cache(tmp_path_factory):
    """Keep the disk cache of simulated patterns inside the test session."""
    import os

    old = os.environ.get("CHARSUITE_CACHE_DIR")
    os.environ["CHARSUITE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("CHARSUITE_CACHE_DIR", None)
    else:
        os.environ["CHARSUITE_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def gi_film(tmp_path_factory):
    """NMC811 (a 2.872, c 14.23 Å) 600 nm on ITO/Pt/Ti/sapphire, ω = 2°, zero +0.05°."""
    from charsuite.datasets.xrd import generate_gixrd

    out = tmp_path_factory.mktemp("gi")
    paths, truth = generate_gixrd(out, name="film", substrate="sapphire", seed=811)
    return paths, truth


@pytest.fixture(scope="session")
def identify_json_keys():
    """Top-level keys of the identify JSON (README schema)."""
    return (
        "file",
        "format",
        "wavelength_angstrom",
        "incidence_angle_deg",
        "phases",
        "peaks",
        "layered",
        "unidentified_peaks",
        "corrections",
        "history",
        "radiation",
        "library_gap",
    )
