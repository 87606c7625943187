import pytest

from charsuite.datasets.sims import make_tofdaq_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A 200-scan, 24×24 battery stack with known interfaces (no segregation)."""
    path = tmp_path_factory.mktemp("stack") / "stack.h5"
    return make_tofdaq_stack(path, n_scans=200, shape=(24, 24), interface_sigma_nm=25.0, seed=11)
