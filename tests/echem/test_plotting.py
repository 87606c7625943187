"""Each echem figure renders with labelled axes (units) and saves."""

import pytest

from charsuite.datasets.echem import write_squidstat_cycling, write_squidstat_eis
from charsuite.echem import cycle_summary, dqdv, fit_circuit, voltage_curves
from charsuite.io import read
from charsuite.plotting import echem as P
from charsuite.plotting import save_figure


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("plot")
    cyc = write_squidstat_cycling(
        root, windows=((3.0, 4.3), (1.5, 4.7)), cycles_per_window=3, points_per_half=30
    )
    ds = read(cyc["csv"])
    eis = read(write_squidstat_eis(root)["csv"])
    return cyc, ds, eis


def _check(fig, path):
    for ax in fig.axes:
        assert ax.get_xlabel() or ax.get_ylabel()
        for label in (ax.get_xlabel(), ax.get_ylabel()):
            if label:
                assert "(" in label or label == "cycle number", label  # units in parentheses
    save_figure(fig, path)
    assert path.stat().st_size > 1000


def test_all_figures(data, tmp_path):
    cyc, ds, eis = data
    s = cycle_summary(ds, mass_g=cyc["mass_g"])
    _check(P.plot_capacity_vs_cycle({"SSE": s, "copy": s}), tmp_path / "a.png")
    curves = voltage_curves(ds, cycles=[1, 4])
    assert {c["cycle"] for c in curves} == {1, 4}
    _check(P.plot_voltage_profiles(curves, mass_g=cyc["mass_g"]), tmp_path / "b.png")
    res = [dqdv(ds, cycle=4, direction=d, mass_g=cyc["mass_g"]) for d in ("charge", "discharge")]
    _check(
        P.plot_first_cycle_dqdv(voltage_curves(ds, cycles=[4]), res, mass_g=cyc["mass_g"]),
        tmp_path / "c.png",
    )
    fit = fit_circuit(eis)
    _check(P.plot_nyquist([("fresh", eis, fit)], area_cm2=0.15), tmp_path / "d.png")
    _check(P.plot_bode(eis, fit), tmp_path / "e.png")
    _check(P.plot_retention(s), tmp_path / "f.png")
