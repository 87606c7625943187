"""Shared data model: labelled arrays with units, metadata and history; frozen results.

The schema is documented once, in :mod:`charsuite.model.schema`.
"""

from charsuite.model._history import add_history, history_record, provenance, public_name
from charsuite.model._jsonable import jsonable
from charsuite.model._paths import reference_data_dir
from charsuite.model._quantity import parse_quantity
from charsuite.model._result import Result
from charsuite.model._units import check_units, with_units

__all__ = [
    "Result",
    "add_history",
    "check_units",
    "history_record",
    "jsonable",
    "parse_quantity",
    "provenance",
    "public_name",
    "reference_data_dir",
    "with_units",
]
