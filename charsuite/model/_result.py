"""Base class of non-array results (frozen dataclasses with ``to_dict``)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from charsuite.model._jsonable import jsonable


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
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_json(self, **kwargs: Any) -> str:
        """Return ``to_dict()`` as a JSON string."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)
