import numpy as np
import pytest

from charsuite.datasets.composition import write_potku_depth
from charsuite.exceptions import ReaderError
from charsuite.io import read
from charsuite.io.formats.iba.potku_depth import potku_window_average
from charsuite.testing import ReaderContract

FRACTIONS = {
    "Li": lambda d: np.where((d >= 0) & (d < 800), 0.4, 0.0),
    "Mn": lambda d: np.where((d >= 0) & (d < 800), 0.2, 0.0),
    "O": lambda d: np.where(d >= 0, np.where(d < 800, 0.4, 1.0), 0.0),
}


def _write(folder, **kw):
    write_potku_depth(folder, FRACTIONS, rates={"Li": 500, "Mn": 500, "O": 500}, seed=3, **kw)
    return folder / "depthfiles" / "depth.Li"


class TestPotkuDepth(ReaderContract):
    format_name = "potku-depth"
    fuzz_examples = 20

    def make_file(self, tmp_path):
        return _write(tmp_path / "meas", window=(100.0, 600.0))

    def make_nan_file(self, tmp_path):
        path = _write(tmp_path / "nanmeas")
        lines = path.read_text().splitlines()
        parts = lines[20].split()
        parts[3] = "nan"
        lines[20] = " ".join(parts)
        path.write_text("\n".join(lines) + "\n")
        return path


def test_window_from_settings_and_recovered_fractions(tmp_path):
    ds = read(_write(tmp_path / "m", window=(100.0, 600.0)))
    meta = ds.attrs["metadata"]
    assert (meta["depth_from_1e15_at_cm2"], meta["depth_to_1e15_at_cm2"]) == (100.0, 600.0)
    pct = ds["at_pct"].isel(layer=0)
    sig = ds["at_pct_sigma"].isel(layer=0)
    for el, truth in (("Li", 40.0), ("Mn", 20.0), ("O", 40.0)):
        assert abs(pct.sel(element=el).item() - truth) < 4 * sig.sel(element=el).item()
    assert pct.sum().item() == pytest.approx(100.0, abs=1e-3)


def test_argument_overrides_settings(tmp_path):
    ds = read(_write(tmp_path / "m", window=(100.0, 600.0)), depth_range=(900, 1500))
    assert ds["at_pct"].sel(element="O").item() == pytest.approx(100.0)
    assert ds.attrs["metadata"]["depth_range_source"] == "argument"


def test_window_average_matches_hand_calculation():
    depth = np.array([0.0, 10, 20, 30, 40])
    frac = np.array([[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6], [0.5, 0.5]])
    events = np.full((5, 2), 100.0)
    pct, sigma, n = potku_window_average(
        depth, frac, frac.sum(1), events, depth_from=10, depth_to=20
    )
    # bins 10, 20 and the first past the window (30); running averages start from 0
    li = (0.2 / 2 + (0.2 + 0.3) / 2 + (0.3 + 0.4) / 2) / (0.5 + 1.0 + 1.0) * 100
    assert pct[0] == pytest.approx(li)
    assert n.tolist() == [300, 300]
    assert sigma[0] == pytest.approx(li / np.sqrt(300))


def test_wrong_columns(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "depth.Li").write_text("1 2 3 4 5\n2 3 4 5 6\n")
    with pytest.raises(ReaderError, match="line 1 has 5 columns, expected 7"):
        read(folder / "depth.Li", format="potku-depth")


def test_real_potku_sample(shared_data):
    root = shared_data("iba")
    path = (
        root
        / "JYU-IBA_potku"
        / "sample_data"
        / "Ecaart-11-mini"
        / "Tof-E_65-mini"
        / "depthfiles"
        / "depth.Li"
    )
    ds = read(path)
    meta = ds.attrs["metadata"]
    assert (meta["depth_from_1e15_at_cm2"], meta["depth_to_1e15_at_cm2"]) == (200.0, 600.0)
    pct = ds["at_pct"].isel(layer=0)
    expected = {"C": 0.05, "F": 0.29, "H": 0.08, "Li": 4.01, "Mn": 32.83, "O": 61.54, "Si": 1.19}
    for el, value in expected.items():
        assert round(pct.sel(element=el).item(), 2) == value
    events = ds["events"].isel(layer=0)
    assert {e: int(events.sel(element=e)) for e in ("Li", "Mn", "O", "Si")} == {
        "Li": 64,
        "Mn": 6929,
        "O": 1968,
        "Si": 68,
    }
    sig = ds["at_pct_sigma"].isel(layer=0)
    assert [round(sig.sel(element=e).item(), 2) for e in ("Li", "Mn", "O")] == [0.50, 0.39, 1.39]
    # sum of column 4 over elements equals depth.total
    np.testing.assert_allclose(
        ds["profile_fraction"].sum("element"), ds["profile_total"], atol=6e-5
    )


def test_isotopes_fold(tmp_path):
    fr = {
        "6Li": lambda d: np.where(d >= 0, 0.05, 0.0),
        "7Li": lambda d: np.where(d >= 0, 0.45, 0.0),
        "O": lambda d: np.where(d >= 0, 0.5, 0.0),
    }
    write_potku_depth(tmp_path, fr, rates={"6Li": 2000, "7Li": 2000, "O": 2000}, seed=1)
    ds = read(tmp_path / "depthfiles" / "depth.O", depth_range=(100, 1500))
    assert list(ds["element"].values) == ["Li", "O"]
    assert ds["at_pct"].sel(element="Li").item() == pytest.approx(50.0, abs=2.0)


def test_other_technique_file_refused(tmp_path):
    path = tmp_path / "scan.xy"
    path.write_text("\n".join(f"{10 + i * 0.1:.1f} {i}" for i in range(50)))
    with pytest.raises(ReaderError, match="expected 7"):
        read(path, format="potku-depth")


def test_sniffer_rejects_other_seven_column_tables(tmp_path):
    from charsuite.io.formats.iba.potku_depth import can_read

    rows = [f"{t:.1f} 3.7 0.1 12.5 0.3 25.0 {c}" for t, c in zip(range(0, 200, 5), range(40))]
    head = ("\n".join(rows) + "\n").encode()
    assert not can_read(tmp_path / "cycler.txt", head)  # fraction column 12.5 > 1
    path = _write(tmp_path / "m")
    assert can_read(tmp_path / "renamed.dat", path.read_bytes()[:4096])
