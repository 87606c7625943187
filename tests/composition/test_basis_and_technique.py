"""combine infers a basis when the requested one is not measured; no empty technique
names; composition commands refuse another technique's data in one line (issue 13)."""

import pytest

from charsuite.cli import main
from charsuite.composition import ElementAmounts, amount_table, combine
from charsuite.exceptions import DataError


def _amounts(values, technique):
    return ElementAmounts.from_values(values, quantity="at_pct", technique=technique)


def test_basis_inferred_from_the_measured_transition_metals():
    rbs = _amounts({"Li": (20.0, 1), "Fe": (20.0, 0.5), "P": (20, 1), "O": (40, 2)}, "RBS")
    r = combine({"RBS": rbs})
    assert r.basis == "Fe=1"
    assert r.formula == "LiFePOx"
    assert any("not measured by any technique" in w and "Fe=1" in w for w in r.warnings)


def test_no_metal_measured_refuses_and_suggests_basis():
    erda = _amounts({"Li": (50.0, 1), "O": (50, 2)}, "ERDA")
    with pytest.raises(DataError, match="--basis"):
        combine({"ERDA": erda})


def test_notes_never_print_an_empty_technique_name():
    pixe = _amounts({"Ni": (80.0, 1.0), "Mn": (10.0, 0.4), "Co": (10.0, 0.4)}, "PIXE")
    erda = _amounts({"Li": (40.0, 1.0), "Ni": (60.0, 1.0)}, "ERDA")
    r = combine({"PIXE": pixe, "ERDA": erda}, basis="Ni+Mn+Co=1")
    for note in r.warnings:
        assert "by  " not in note and "by only" not in note, note
    r = combine({"ERDA": erda}, basis="Ni+Mn+Co=1")  # Mn, Co measured by nobody
    assert r.formula.startswith("Li") and "Ni" in r.formula
    assert all("by  " not in note for note in r.warnings)


@pytest.mark.shared_data
def test_show_refuses_a_two_column_histogram_in_one_line(shared_data, capsys):
    hist = (
        shared_data("iba")
        / "JYU-IBA_potku/sample_data/Ecaart-11-mini/Tof-E_65-mini/energy_spectrum"
        / "Tof-E_65-mini.7Li.0.hist"
    )
    assert main(["composition", "show", str(hist)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    # forced through the XRD text reader: still one line naming what the data are
    assert main(["composition", "show", str(hist), "--format", "xy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a composition table" in err[0]


def test_amount_table_refuses_other_techniques():
    import numpy as np
    import xarray as xr

    pattern = xr.DataArray(np.ones(5), dims="two_theta", attrs={"technique": "xrd", "format": "xy"})
    with pytest.raises(DataError, match="read as xrd data"):
        amount_table(pattern)
