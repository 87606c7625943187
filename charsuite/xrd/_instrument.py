"""Instrument profile (TCH/Caglioti widths, zero, radiation) and its JSON file.

A file written by ``charsuite xrd calibrate --instrument-out`` holds the instrumental
U, V, W (deg²), X, Y (deg), the zero offset, the radiation and the polarisation constant;
:func:`load_instrument` reads it back for ``xrd refine/identify/lattice --instrument``
(instrumental widths per line via :meth:`Instrument.fwhm_deg`, and the zero).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from charsuite.exceptions import DataError
from charsuite.model import Result

#: Cu Kα1, Kα2 wavelengths (Å) (Hölzer et al. 1997; as in xrayutilities).
CU_KA1 = 1.540598
CU_KA2 = 1.544426

_FIELDS = ("u", "v", "w", "x", "y", "zero_deg")


@dataclasses.dataclass(frozen=True)
class Instrument(Result):
    """Instrumental profile and geometry constants.

    Attributes
    ----------
    u, v, w : float
        Caglioti Gaussian terms (deg²): Γ_G² = U tan²θ + V tan θ + W.
    x, y : float
        Instrumental Lorentzian terms (deg): Γ_L = X tan θ + Y / cos θ.
    zero_deg : float
        Zero offset (deg, added to the calculated 2θ).
    wavelength_angstrom : float
        Kα1 (or single) wavelength.
    ka2_ratio : float
        I(Kα2)/I(Kα1); 0 for a Kα1-only set-up.
    polarisation_k : float
        K of LP = (1 + K cos²2θ)/[(1 + K) sin²θ cos θ]: 1 without monochromator.
    standard : str
        Phase the profile was measured on ('' when defaulted).
    source_file : str
    """

    u: float = 0.0
    v: float = 0.0
    w: float = 0.004
    x: float = 0.0
    y: float = 0.0
    zero_deg: float = 0.0
    wavelength_angstrom: float = CU_KA1
    ka2_ratio: float = 0.5
    polarisation_k: float = 1.0
    standard: str = ""
    source_file: str = ""
    history: list = dataclasses.field(default_factory=list)

    def fwhm_deg(self, two_theta):
        """Instrumental FWHM (deg) at ``two_theta`` (deg): TCH pseudo-Voigt of U, V, W, X, Y.

        Parameters
        ----------
        two_theta : float or array_like
            Line positions (deg).

        Returns
        -------
        numpy.ndarray
            Γ (deg) of the Thompson–Cox–Hastings pseudo-Voigt with the Caglioti Gaussian
            width and the Lorentzian X tan θ + Y / cos θ (Thompson et al., J. Appl. Cryst.
            20, 79 (1987)).

        Examples
        --------
        >>> round(float(Instrument(w=0.0025).fwhm_deg(30.0)), 3)
        0.05
        """
        from charsuite.xrd._profile_tch import tch_width

        gam, _ = tch_width(two_theta, u=self.u, v=self.v, w=self.w, x=self.x, y=self.y)
        return gam


def load_instrument(path: str | Path) -> Instrument:
    """Read an instrument file written by ``charsuite xrd calibrate --instrument-out``.

    Parameters
    ----------
    path : str or Path
        JSON file with at least ``u``, ``v``, ``w`` (deg²).

    Returns
    -------
    Instrument

    Raises
    ------
    DataError
        Not JSON, or a required field is missing or not a finite number.

    Examples
    --------
    >>> inst = load_instrument("instrument.json")  # doctest: +SKIP
    >>> inst.w  # doctest: +SKIP
    0.0031
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"cannot read instrument file ({err}); expected JSON", path=path) from err
    data = raw.get("instrument", raw) if isinstance(raw, dict) else None
    if not isinstance(data, dict) or not {"u", "v", "w"} <= set(data):
        raise DataError(
            "instrument file lacks u, v, w; write one with `charsuite xrd calibrate -o FILE`",
            path=path,
        )
    kw = {}
    for f in dataclasses.fields(Instrument):
        if f.name in ("history", "source_file") or f.name not in data:
            continue
        val = data[f.name]
        if f.name == "standard":
            kw[f.name] = str(val)
            continue
        try:
            kw[f.name] = float(val)
        except (TypeError, ValueError) as err:
            raise DataError(f"field {f.name!r} = {val!r} is not a number", path=path) from err
        if kw[f.name] != kw[f.name] or abs(kw[f.name]) == float("inf"):
            raise DataError(f"field {f.name!r} is not finite", path=path)
    return Instrument(**kw, source_file=str(path))


def save_instrument(inst: Instrument, path: str | Path, *, force: bool = False) -> Path:
    """Write ``inst`` as JSON atomically (never overwrites unless ``force``).

    Parameters
    ----------
    inst : Instrument
        Instrument description to save (under the key ``"instrument"``).
    path : str or Path
        Destination JSON file.
    force : bool
        Replace an existing file.

    Returns
    -------
    Path
        The written path.
    """
    from charsuite.io import write_text

    return write_text(path, json.dumps({"instrument": inst.to_dict()}, indent=2), force=force)
