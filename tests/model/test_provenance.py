"""The provenance decorator and the one JSON conversion."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import xarray as xr

from charsuite.model import jsonable, provenance, public_name


@dataclasses.dataclass(frozen=True)
class _Out:
    value: float
    history: list = dataclasses.field(default_factory=list)


@provenance("scale")
def _scale(da, *, factor=2.0):
    return _Out(float(da.sum()) * factor)


@provenance()
def _shift(da, *, by):
    return da + by


def _data():
    da = xr.DataArray(np.ones(3), dims="x", attrs={"units": "counts"})
    da.attrs["history"] = [{"operation": "read", "input_file": "scan.xy"}]
    return da


def test_result_gets_record_after_input_history():
    out = _scale(_data(), factor=3.0)
    assert out.value == 9.0
    assert [r["operation"] for r in out.history] == ["read", "scale"]
    rec = out.history[-1]
    assert rec["parameters"] == {"da": "<DataArray dims=('x',)>", "factor": 3.0}
    assert rec["input_file"] == "scan.xy"
    assert rec["function"].endswith("_scale")
    json.dumps(out.history)


def test_xarray_result_history_appended_input_untouched():
    da = _data()
    out = _shift(da, by=1)
    assert [r["operation"] for r in out.attrs["history"]] == ["read", "_shift"]
    assert len(da.attrs["history"]) == 1


def test_public_name_drops_private_modules():
    from charsuite.xrd import refine_lattice

    assert public_name(refine_lattice) == "charsuite.xrd.refine_lattice"


def test_jsonable_one_convention():
    from uncertainties import ufloat

    doc = jsonable(
        {
            "a": np.float32(1.5),
            "n": np.nan,
            "p": Path("f.h5"),
            "u": ufloat(1, 0.1),
            "big": np.zeros(100),
        },
        max_array=64,
    )
    assert doc == {
        "a": 1.5,
        "n": None,
        "p": "f.h5",
        "u": {"value": 1.0, "uncertainty": 0.1},
        "big": "<array shape=(100,)>",
    }
    assert np.isnan(jsonable([np.nan], nan=True)[0])
