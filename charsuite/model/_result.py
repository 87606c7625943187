"""Base class of non-array results (frozen dataclasses with ``to_dict``)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    import numpy as np

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf; null means "not determined"
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "nominal_value") and hasattr(value, "std_dev"):  # uncertainties
        return {"value": _plain(value.nominal_value), "uncertainty": _plain(value.std_dev)}
    return value


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of every non-array result.

    Subclasses are frozen dataclasses; they should carry ``history`` (a list of provenance
    records, see :func:`charsuite.model.history_record`). ``to_dict`` converts numpy values,
    uncertainties (``{"value", "uncertainty"}``), nested results and non-finite floats
    (``null``) so that ``json.dumps(result.to_dict())`` always works.
    """

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary of all fields."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_json(self, **kwargs: Any) -> str:
        """Return ``to_dict()`` as a JSON string."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)
