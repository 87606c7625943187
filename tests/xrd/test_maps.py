"""2D maps (XRDML area measurements) collapsed to one scan: integrate_rows and --map-rows."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from charsuite.cli import main
from charsuite.exceptions import DataError, ParameterError
from charsuite.xrd import check_scan, integrate_rows


def _map(n_rows=5, rate=False, shifted=False):
    rng = np.random.default_rng(0)
    x = np.arange(20.0, 40.0, 0.02)
    peak = 500 * np.exp(-0.5 * ((x - 30.0) / 0.1) ** 2)
    y = rng.poisson(50 + peak, size=(n_rows, x.size)).astype(float)
    coords = {
        "two_theta": ("two_theta", x, {"units": "deg"}),
        "row": ("row", np.arange(n_rows), {"units": "dimensionless"}),
        "omega": ("row", 1.0 + 0.5 * np.arange(n_rows), {"units": "deg"}),
        "intensity_sigma": (("row", "two_theta"), np.sqrt(np.maximum(y, 1)), {"units": "counts"}),
    }
    if shifted:  # every row on its own grid, offset by whole steps
        grids = x[None, :] + 0.02 * np.arange(n_rows)[:, None]
        coords["two_theta_row"] = (("row", "two_theta"), grids, {"units": "deg"})
    units = "counts/s" if rate else "counts"
    return xr.DataArray(
        y / (2.0 if rate else 1.0),
        dims=("row", "two_theta"),
        coords=coords,
        name="intensity",
        attrs={"units": units, "metadata": {"scan_type": "area_map"}, "history": []},
    ), y


def test_sum_of_counts_and_quadrature_sigma():
    da, y = _map()
    out = integrate_rows(da)
    np.testing.assert_allclose(out.values, y.sum(axis=0))
    np.testing.assert_allclose(out.intensity_sigma.values, np.sqrt(np.maximum(y, 1).sum(axis=0)))
    assert out.attrs["metadata"]["scan_type"] == "integrated_map"
    assert out.attrs["metadata"]["incidence_angle_deg"] is None
    assert out.attrs["corrections"]["integrate_rows"]["n_rows"] == 5
    assert out.attrs["history"][-1]["operation"] == "integrate_rows"
    check_scan(out)  # a usable 1D scan


def test_rates_are_averaged_and_one_row_keeps_its_omega():
    da, y = _map(rate=True)
    np.testing.assert_allclose(integrate_rows(da).values, y.mean(axis=0) / 2.0)
    one = integrate_rows(da, rows=3)
    np.testing.assert_allclose(one.values, y[3] / 2.0)
    assert one.attrs["metadata"]["incidence_angle_deg"] == pytest.approx(2.5)
    assert one.attrs["metadata"]["scan_type"] == "map_row"


def test_rows_on_their_own_grids_are_interpolated_and_trimmed():
    da, _ = _map(shifted=True)
    out = integrate_rows(da)
    assert out.sizes["two_theta"] == da.sizes["two_theta"] - 4  # overlap only
    assert np.all(np.isfinite(out.values))


def test_bad_requests():
    da, _ = _map()
    with pytest.raises(ParameterError, match="not in the map"):
        integrate_rows(da, rows=[0, 9])
    with pytest.raises(DataError, match="needs a map"):
        integrate_rows(da.isel(row=0))


def test_cli_map_rows(tmp_path, capsys):
    da, _ = _map()
    from charsuite.io import write

    path = write(da, tmp_path / "map.h5")
    assert main(["xrd", "identify", str(path)]) == 2
    assert "2D maps" in capsys.readouterr().err
    out = tmp_path / "row.h5"
    assert main(["xrd", "reduce", str(path), "--map-rows", "2", "-o", str(out)]) == 0
    assert main(["xrd", "identify", str(path), "--map-rows", "sum", "--json", "-"]) == 0
    assert main(["xrd", "identify", str(path), "--map-rows", "17"]) == 2
    assert "not in the map" in capsys.readouterr().err
