"""One conversion of Python/numpy/uncertainties values into JSON-ready values."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def jsonable(value: Any, *, max_array: int | None = None, nan: bool = False) -> Any:
    """Return ``value`` as plain JSON types (dict, list, str, int, float, bool, None).

    Used by every ``to_dict``/``to_json`` and by the provenance records, so that results,
    histories and CLI output agree on one convention.

    Parameters
    ----------
    value : object
        Results (anything with ``to_dict``), dataclasses, mappings, sequences, numpy arrays
        and scalars, paths, ``uncertainties`` numbers and plain values.
    max_array : int, optional
        Arrays with more elements become ``"<array shape=(...)>"`` (provenance records keep
        parameters, not data). Default: no limit.
    nan : bool, optional
        Keep non-finite floats (for ``json.dumps(..., allow_nan=True)`` stores such as HDF5
        attributes). Default: they become ``None``.

    Returns
    -------
    object
        Non-finite floats become ``None`` (JSON has no NaN; null means "not determined");
        an ``uncertainties`` number becomes ``{"value", "uncertainty"}``; anything else that
        JSON cannot hold becomes its ``repr``.

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"a": np.float64(1.5), "b": [np.nan, Path("x.h5")]})
    {'a': 1.5, 'b': [None, 'x.h5']}
    """
    import numpy as np

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        fields = dataclasses.fields(value)
        return {
            f.name: jsonable(getattr(value, f.name), max_array=max_array, nan=nan) for f in fields
        }
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, max_array=max_array, nan=nan) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, max_array=max_array, nan=nan) for v in value]
    if isinstance(value, np.ndarray):
        if max_array is not None and value.size > max_array:
            return f"<array shape={value.shape}>"
        return jsonable(value.tolist(), max_array=max_array, nan=nan)
    if isinstance(value, np.generic):
        return jsonable(value.item(), max_array=max_array, nan=nan)
    if isinstance(value, float) and not nan and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "nominal_value") and hasattr(value, "std_dev"):  # uncertainties
        return {"value": jsonable(value.nominal_value), "uncertainty": jsonable(value.std_dev)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
