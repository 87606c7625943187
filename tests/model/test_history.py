import dataclasses
import json

import numpy as np
import pytest
import xarray as xr

from charsuite import __version__
from charsuite.exceptions import DataError
from charsuite.model import Result, add_history, check_units, reference_data_dir


def test_add_history_does_not_mutate_input():
    da = xr.DataArray(
        [1.0, 2.0], dims="x", attrs={"history": [{"operation": "read", "input_file": "/a"}]}
    )
    out = add_history(da, "scale", function="f", parameters={"k": np.float64(2.0)})
    assert len(da.attrs["history"]) == 1
    rec = out.attrs["history"][-1]
    assert rec["version"] == __version__ and rec["parameters"] == {"k": 2.0}
    assert rec["input_file"] == "/a"  # inherited from the read record
    assert rec["time"].endswith("+00:00")


def test_check_units_names_missing():
    da = xr.DataArray([1.0], dims="x", coords={"x": [0.0]}, name="v", attrs={"units": "V"})
    with pytest.raises(DataError, match="coordinate 'x'"):
        check_units(da)


def test_result_to_dict_json_safe():
    from uncertainties import ufloat

    @dataclasses.dataclass(frozen=True)
    class R(Result):
        a: float
        b: object
        c: object

    r = R(a=float("nan"), b=ufloat(1.0, 0.1), c=np.arange(3))
    d = json.loads(r.to_json())
    assert d == {"a": None, "b": {"value": 1.0, "uncertainty": 0.1}, "c": [0, 1, 2]}


def test_reference_data_found():
    assert reference_data_dir().is_dir()
