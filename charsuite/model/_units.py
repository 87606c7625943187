"""Units on every coordinate and variable."""

from __future__ import annotations

from typing import Any

from charsuite.exceptions import DataError


def with_units(obj: Any, units: str, **attrs: Any) -> Any:
    """Return a shallow copy of a DataArray with ``units`` (and other attrs) set.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Variable
        Not modified.
    units : str
        UCUM-like unit text, e.g. ``"deg"``, ``"counts/s"``, ``"dimensionless"``.
    **attrs
        Further attributes to set.

    Returns
    -------
    same type as ``obj``

    Examples
    --------
    >>> import xarray as xr
    >>> with_units(xr.DataArray([1.0, 2.0], dims="two_theta"), "deg").attrs
    {'units': 'deg'}
    """
    out = obj.copy(deep=False)
    out.attrs = {**obj.attrs, "units": units, **attrs}
    return out


def check_units(obj: Any) -> None:
    """Raise :class:`DataError` if a variable or coordinate has no ``units`` attribute.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset

    Returns
    -------
    None
        Nothing when every variable and coordinate has units.

    Raises
    ------
    DataError
        Naming every variable or coordinate without units.
    """
    import xarray as xr

    missing = []
    variables = obj.data_vars.items() if isinstance(obj, xr.Dataset) else [(obj.name, obj)]
    for name, var in variables:
        if "units" not in var.attrs:
            missing.append(f"variable {name!r}")
    for name, coord in obj.coords.items():
        if "units" not in coord.attrs:
            missing.append(f"coordinate {name!r}")
    if missing:
        raise DataError(
            f"no 'units' attribute on {', '.join(missing)}; every axis and value must carry "
            "units (use 'dimensionless' for ratios)"
        )
