"""Multi-scan Rigaku files (area and reciprocal-space maps) are maps, never their first scan."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from charsuite.exceptions import DataError, ReaderError
from charsuite.io import read
from charsuite.xrd import analyze, integrate_rows


def _profile(x, y):
    return "\r\n".join(f"{a:.4f}\t{b:.1f}\t1" for a, b in zip(x, y))


def _conditions(axis="TwoTheta", omega=None, wave="Ka"):
    pairs = "<Pair><string>*HW_XG_WAVE_LENGTH_ALPHA1</string><string>1.540593</string></Pair>"
    if omega is not None:
        pairs += (
            "<Pair><string>*MEAS_COND_AXIS_NAME-1</string><string>Omega</string></Pair>"
            f"<Pair><string>*MEAS_COND_AXIS_POSITION-1</string><string>{omega}</string></Pair>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><MeasurementConditions><ScanInformation>'
        f"<AxisName>{axis}</AxisName><Step>0.05</Step><Speed>5</Speed>"
        "<IntensityUnit>counts</IntensityUnit></ScanInformation>"
        f"<XrayGenerator><WaveType>{wave}</WaveType></XrayGenerator>"
        f"<RASHeader>{pairs}</RASHeader></MeasurementConditions>"
    )


def _write_rasx(path, rows, axis="TwoTheta"):
    with zipfile.ZipFile(path, "w") as zf:
        for i, (x, y) in enumerate(rows):
            zf.writestr(f"Data0/Profile{i}.txt", _profile(x, y))
            zf.writestr(f"Data0/MesurementConditions{i}.xml", _conditions(axis, omega=1 + i))
        zf.writestr("root.xml", "<root/>")
    return path


def _rows(n_rows=3, n=400):
    x = np.linspace(20, 40, n)
    # row 0 all zeros: the silent first-row reduction of the old reader returned exactly this
    return [
        (x, np.zeros(n) if i == 0 else 100 + 1e4 * np.exp(-((x - 28.44) ** 2) / 0.01))
        for i in range(n_rows)
    ]


def test_multi_profile_rasx_is_a_map_not_its_first_scan(tmp_path):
    da = read(_write_rasx(tmp_path / "map.rasx", _rows()))
    assert da.dims == ("row", "two_theta") and da.sizes["row"] == 3
    assert da.attrs["metadata"]["scan_type"] == "area_map"
    assert np.allclose(da.omega.values, [1, 2, 3])
    with pytest.raises(DataError, match="map-rows"):
        analyze(da)
    summed = integrate_rows(da)
    assert summed.max() > 1e4  # the rows with counts are in the sum


def test_rsm_with_different_two_theta_grids_keeps_each_grid(tmp_path):
    rows = [(x + 0.3 * i, y) for i, (x, y) in enumerate(_rows())]
    da = read(_write_rasx(tmp_path / "rsm.rasx", rows))
    assert "two_theta_row" in da.coords
    assert np.allclose(da.two_theta_row.values[2, 0], 20.6)


def test_rsm_of_omega_scans_is_refused_clearly(tmp_path):
    path = _write_rasx(tmp_path / "rsm.rasx", _rows(), axis="Omega")
    with pytest.raises(ReaderError, match="reciprocal-space"):
        read(path)


def test_ragged_map_is_refused_clearly(tmp_path):
    rows = _rows()
    rows[1] = (rows[1][0][:-10], rows[1][1][:-10])
    with pytest.raises(ReaderError, match="ragged"):
        read(_write_rasx(tmp_path / "ragged.rasx", rows))


def test_multi_scan_ras_is_a_map(tmp_path):
    blocks = []
    for x, y in _rows():
        blocks += [
            "*RAS_HEADER_START",
            '*MEAS_SCAN_AXIS_X "TwoTheta"',
            '*MEAS_COND_XG_WAVE_TYPE "Ka1"',
            '*MEAS_COND_AXIS_NAME-1 "IncidentMonochromator"',
            '*MEAS_COND_AXIS_POSITION-1 "Ge(220)x2"',
            "*RAS_HEADER_END",
            "*RAS_INT_START",
            *(f"{a:.4f} {b:.1f} 1.0" for a, b in zip(x, y)),
            "*RAS_INT_END",
        ]
    path = tmp_path / "map.ras"
    path.write_bytes(("\r\n".join(["*RAS_DATA_START", *blocks, "*RAS_DATA_END"]) + "\r\n").encode())
    da = read(path)
    assert da.dims == ("row", "two_theta") and da.sizes["row"] == 3
    md = da.attrs["metadata"]
    assert md["radiation_label"] == "Ka1" and md["incident_monochromator"] == "Ge(220)x2"
