"""TofDAQ mass calibration: the six modes, ion masses, and weighted calibration fits.

Convention (sims-spectra notes §1): every mode maps the **0-based sample index** ``i``
(not time) to mass-to-charge ``m`` (Th). Reference masses are **ion** masses,
``m/z = (M − z·mₑ)/|z|`` for a cation of neutral mass ``M`` and ``(M + |z|·mₑ)/|z|``
for an anion (mₑ = 0.000548579909 u), as TOFWERK stores them (114.9033302 = m(¹¹⁵In) − mₑ).
Isotope masses and abundances come from molmass (NIST "Atomic Weights and Isotopic
Compositions"); ``Formula('[115In]+')`` already removes the electron.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from charsuite.exceptions import ConvergenceError, DataError, ParameterError
from charsuite.model import Result, jsonable

__all__ = [
    "CalibrationFit",
    "Ion",
    "MassCalibration",
    "fit_mass_calibration",
    "ion",
]

#: parameters of each TofDAQ mode
N_PARAMETERS = {0: 2, 1: 2, 2: 3, 3: 4, 4: 5, 5: 3}
#: free parameters in a fit (mode 4: p2 and p5 are both constants, p5 is fixed at 0)
N_FREE = {0: 2, 1: 2, 2: 3, 3: 4, 4: 4, 5: 3}
FORMULAS = {
    0: "i = p1*sqrt(m) + p2",
    1: "i = p1/sqrt(m) + p2",
    2: "i = p1*m^p3 + p2",
    3: "i = p1*sqrt(m) + p2 + p3*(m-p4)^2",
    4: "i = p1*sqrt(m) + p2 + p3*m^2 + p4*m + p5",
    5: "m = p1*i^2 + p2*i + p3",
}


@dataclasses.dataclass(frozen=True)
class MassCalibration:
    """TofDAQ mass calibration: 0-based sample index ``i`` ↔ mass-to-charge ``m`` (Th).

    Modes [1]_: 0 ``i = p1·√m + p2``; 1 ``i = p1/√m + p2``; 2 ``i = p1·m^p3 + p2``;
    3 ``i = p1·√m + p2 + p3·(m−p4)²``; 4 ``i = p1·√m + p2 + p3·m² + p4·m + p5``;
    5 ``m = p1·i² + p2·i + p3``. Modes 3 and 4 are inverted numerically (Newton
    iterations started from the mode-0 solution). The formulas are evaluated by the
    reader's :func:`charsuite.io.formats.sims.tofdaq.mass_to_index` /
    ``index_to_mass`` (the io layer may not import this package).

    Parameters
    ----------
    mode : int
        ``MassCalibMode``.
    parameters : tuple of float
        ``p1, p2, ...`` in TofDAQ's convention for ``mode``.
    uncertainties : tuple of float, optional
        Standard uncertainties of the parameters (from a fit), NaN when unknown.

    References
    ----------
    .. [1] TOFWERK, "TwToolDll" documentation (``TwMass2Tof``/``TwTof2Mass``), in
       pasturm/TofDaqR ``tools/doc/TwToolDll.htm``.

    Examples
    --------
    >>> cal = MassCalibration(0, (2800.0, -5000.0))
    >>> round(float(cal.mass(cal.index(114.9033))), 6)
    114.9033
    """

    mode: int
    parameters: tuple[float, ...]
    uncertainties: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.mode not in N_PARAMETERS:
            raise DataError(f"unknown TofDAQ MassCalibMode {self.mode}; expected 0-5")
        if len(self.parameters) < N_PARAMETERS[self.mode]:
            raise DataError(
                f"MassCalibMode {self.mode} needs {N_PARAMETERS[self.mode]} parameters, "
                f"found {len(self.parameters)}"
            )
        if not all(np.isfinite(self.parameters)):
            raise DataError(f"mass calibration parameters {self.parameters} are not finite")

    def index(self, mass):
        """Sample index (float, 0-based) of mass-to-charge ``mass`` (Th)."""
        from charsuite.io.formats.sims.tofdaq import mass_to_index

        return mass_to_index(self.mode, self.parameters, mass)

    def mass(self, index):
        """Mass-to-charge (Th) of the 0-based sample ``index`` (float allowed)."""
        from charsuite.io.formats.sims.tofdaq import index_to_mass

        return index_to_mass(self.mode, self.parameters, index)

    def dmass_dindex(self, index):
        """Derivative ``dm/di`` (Th per sample) at ``index`` (central difference)."""
        i = np.asarray(index, dtype=float)
        return self.mass(i + 0.5) - self.mass(i - 0.5)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"mode", "function", "parameters": {"p1": ...}, "uncertainties"}``."""
        names = [f"p{k + 1}" for k in range(len(self.parameters))]
        out: dict[str, Any] = {
            "mode": int(self.mode),
            "function": FORMULAS[self.mode],
            "parameters": dict(zip(names, map(float, self.parameters))),
        }
        if self.uncertainties is not None:
            out["uncertainties"] = jsonable(dict(zip(names, map(float, self.uncertainties))))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MassCalibration:
        """Inverse of :meth:`to_dict` (also accepts a :class:`CalibrationFit` JSON)."""
        try:
            mode = int(data["mode"])
            pars = data["parameters"]
            n = N_PARAMETERS.get(mode, len(pars))
            params = tuple(float(pars[f"p{k + 1}"]) for k in range(n))
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(
                f"mass calibration JSON lacks {err}; expected "
                '{"mode": 0-5, "parameters": {"p1": ..., "p2": ...}}'
            ) from err
        return cls(mode, params)

    @classmethod
    def read_json(cls, path: str | Path) -> MassCalibration:
        """Read a calibration written by ``charsuite sims mass-calibrate -o``."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: not a readable calibration JSON ({err})") from err
        if not isinstance(data, dict):
            raise DataError(f"{path}: calibration JSON must be an object with mode and parameters")
        return cls.from_dict(data)


# --------------------------------------------------------------------------- ions
@dataclasses.dataclass(frozen=True)
class Ion:
    """An ion of exactly known mass: label, formula (molmass syntax), charge, m/z (Th).

    ``abundance`` is the fraction of the parent formula's ions at this isotopologue
    (1 for an ion given by an explicit mass).
    """

    label: str
    formula: str
    charge: int
    mz: float
    abundance: float = 1.0
    parent: str = ""


_TOKEN = re.compile(r"\[?\^?(\d+)?([A-Z][a-z]?)\]?(\d*)")


def _tokens(body: str) -> list[tuple[int | None, str, int]]:
    """``(mass number or None, symbol, count)`` per element token of a SIMS ion formula.

    Mass numbers lead a token (``115In``, ``[16O]``, ``^16O``). Inside a formula a number
    after a symbol is a count (``Li2O``), except a number ≥ 6 that is a mass number of the
    next element (``40Ar16O`` = ⁴⁰Ar¹⁶O); write ``[16O]`` to be explicit.
    """
    from molmass import ELEMENTS

    raw = []
    pos = 0
    for m in _TOKEN.finditer(body):
        if m.start() != pos or m.group(2) not in ELEMENTS:
            raise ValueError(f"cannot parse {body[m.start() if m.start() == pos else pos :]!r}")
        pos = m.end()
        raw.append([int(m.group(1)) if m.group(1) else None, m.group(2), m.group(3)])
    if pos != len(body) or not raw:
        raise ValueError(f"cannot parse {body[pos:]!r}")
    for k in range(len(raw) - 1):
        count, nxt = raw[k][2], raw[k + 1]
        if count and nxt[0] is None and int(count) >= 6 and int(count) in ELEMENTS[nxt[1]].isotopes:
            raw[k][2], nxt[0] = "", int(count)
    out = []
    for number, sym, count in raw:
        if number is not None and number not in ELEMENTS[sym].isotopes:
            raise ValueError(f"{number}{sym} is not a known isotope")
        out.append((number, sym, int(count) if count else 1))
    return out


def _split_charge(text: str) -> tuple[str, int]:
    m = re.fullmatch(r"(.*?)([+-]+)", text)
    if not m or not m.group(1):
        raise ParameterError(
            f"ion {text!r} has no charge; write it as e.g. '115In+', 'InO+', 'PO3-' or 'Ga++'"
        )
    signs = m.group(2)
    if len(set(signs)) != 1:
        raise ParameterError(f"ion {text!r}: charge must be '+', '++', '-' or '--'")
    return m.group(1), len(signs) if signs[0] == "+" else -len(signs)


def ion(text: str) -> Ion:
    """Ion from a name (``"In+"``, ``"115In+"``, ``"40Ar16O+"``, ``"PO3-"``) or ``"label:mass"``.

    An element or formula without mass numbers means its most abundant isotopologue
    (``In+`` = ¹¹⁵In⁺); ``Ga++`` is doubly charged, ``N2+`` is N₂⁺. Masses are
    electron-corrected ion masses (module docstring).

    Parameters
    ----------
    text : str

    Returns
    -------
    Ion

    Raises
    ------
    ParameterError
        Unknown element or formula, missing charge, non-positive mass.

    Examples
    --------
    >>> round(ion("In+").mz, 5)
    114.90333
    >>> ion("X+:100.5").mz
    100.5
    """
    text = str(text).strip()
    if ":" in text:
        label, _, value = text.rpartition(":")
        try:
            mz = float(value)
        except ValueError as err:
            raise ParameterError(f"ion {text!r}: mass {value!r} is not a number") from err
        if not (np.isfinite(mz) and mz > 0):
            raise ParameterError(f"ion {text!r}: mass must be a positive number (Th)")
        label = label.strip() or f"m/z {mz:g}"
        return Ion(label, "", 0, mz, 1.0, label)
    body, z = _split_charge(text.replace(" ", ""))
    return _formula_ion(text, body, z)


def _formula_ion(label: str, body: str, z: int) -> Ion:
    from molmass import ELEMENTS, Formula, FormulaError

    sign = "+" if z > 0 else "-"
    try:
        tokens = _tokens(body)
        core = "".join(
            (f"[{n}{sym}]" if n else sym) + (str(c) if c > 1 else "") for n, sym, c in tokens
        )
        spec = f"[{core}]{abs(z) if abs(z) > 1 else ''}{sign}"
        mz = float(Formula(spec).isotope.mass) / abs(z)
    except (FormulaError, KeyError, ValueError, IndexError) as err:
        raise ParameterError(
            f"ion {label!r}: {err}; expected a formula such as 'In+', '115In+', '40Ar16O+'"
        ) from err
    parent = "".join(sym + (str(c) if c > 1 else "") for _, sym, c in tokens)
    frac = 1.0
    comp: dict[str, dict[int, int]] = {}
    for n, sym, c in tokens:
        iso = ELEMENTS[sym].isotopes
        n = n or max(iso, key=lambda k: iso[k].abundance)
        comp.setdefault(sym, {})[n] = comp.get(sym, {}).get(n, 0) + c
    for sym, isotopes in comp.items():
        left = sum(isotopes.values())
        for n, c in isotopes.items():
            frac *= math.comb(left, c) * ELEMENTS[sym].isotopes[n].abundance ** c
            left -= c
    return Ion(label, spec, z, mz, float(frac), parent)


# --------------------------------------------------------------------------- fitting
@dataclasses.dataclass(frozen=True)
class CalibrationFit(Result):
    """A weighted calibration fit to reference ions.

    Attributes
    ----------
    calibration : MassCalibration
        Fitted parameters (TofDAQ convention) with standard uncertainties (NaN when
        the fit has no degrees of freedom).
    ions : list of dict
        Per ion: ``ion``, ``mass`` (Th), ``time_samples`` (located centre, 0-based
        sample), ``sigma_samples``, ``residual_ppm``, ``residual_mDa``, ``resolution``
        (m/Δm FWHM), ``used``.
    rms_ppm : float
    dof : int
    chi2_reduced : float
    reference_range_Th : (float, float)
        Lightest and heaviest reference ion: outside this range the calibration is an
        extrapolation (its error grows quickly, especially in mode 2).
    electron_convention : str
    history : list
    """

    calibration: MassCalibration
    ions: list
    rms_ppm: float
    dof: int
    chi2_reduced: float
    reference_range_Th: tuple[float, float] = (float("nan"), float("nan"))
    electron_convention: str = "ion mass = atomic mass - z*m_e (cations), + |z|*m_e (anions)"
    previous: dict | None = None
    history: list = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Issue-14 JSON: ``mode``, ``parameters``, ``uncertainties``, ``ions``, ``history``."""
        cal = self.calibration.to_dict()
        return jsonable(
            {
                "mode": cal["mode"],
                "function": cal["function"],
                "parameters": cal["parameters"],
                "uncertainties": cal.get("uncertainties"),
                "ions": self.ions,
                "rms_ppm": self.rms_ppm,
                "dof": self.dof,
                "chi2_reduced": self.chi2_reduced,
                "reference_range_Th": list(self.reference_range_Th),
                "electron_convention": self.electron_convention,
                "index_convention": "0-based sample index",
                "previous": self.previous,
                "history": self.history,
            }
        )

    def text(self) -> str:
        """Human summary: parameters ± σ and per-ion residuals."""
        cal = self.calibration
        sig = cal.uncertainties or (np.nan,) * len(cal.parameters)
        lines = [f"mode {cal.mode}: {FORMULAS[cal.mode]}"]
        for k, (p, s) in enumerate(zip(cal.parameters, sig)):
            lines.append(f"  p{k + 1} = {p:.9g}" + (f" ± {s:.2g}" if np.isfinite(s) else ""))
        lo, hi = self.reference_range_Th
        lines.append(
            f"  rms {self.rms_ppm:.1f} ppm, dof {self.dof}; references span {lo:.2f}-{hi:.2f} Th "
            "(extrapolation outside)"
        )
        for row in self.ions:
            if not row.get("used"):
                lines.append(f"  {row['ion']:>10s} not found")
                continue
            lines.append(
                f"  {row['ion']:>10s} {row['mass']:10.5f} Th  i = {row['time_samples']:10.2f}"
                f"  {row['residual_ppm']:+8.1f} ppm {row['residual_mDa']:+8.2f} mDa"
                f"  R = {row['resolution'] or float('nan'):.0f}"
                f"  (stored calibration {row['previous_residual_ppm']:+.1f} ppm)"
            )
        return "\n".join(lines)


def _linear_start(mode: int, m: np.ndarray, i: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted linear least squares in the basis where the mode is linear (sims-spectra §1)."""
    sq = np.sqrt(m)
    one = np.ones_like(m)
    basis = {
        0: [sq, one],
        1: [1 / sq, one],
        2: [sq, one],  # start of the nonlinear fit: p3 = 0.5
        3: [sq, m**2, m, one],
        4: [sq, one, m**2, m],
    }[mode]
    a = np.stack(basis, axis=1) * np.sqrt(w)[:, None]
    coef = np.linalg.lstsq(a, i * np.sqrt(w), rcond=None)[0]
    if mode == 2:
        return np.array([coef[0], coef[1], 0.5])
    if mode == 3:
        b = coef[1] if coef[1] != 0 else 1e-12
        p4 = -coef[2] / (2 * b)
        return np.array([coef[0], coef[3] - b * p4**2, b, p4])
    return np.asarray(coef, dtype=float)


def _full(mode: int, free: np.ndarray) -> tuple[float, ...]:
    return (*map(float, free), 0.0) if mode == 4 else tuple(map(float, free))


def fit_mass_calibration(
    index,
    mass,
    *,
    mode: int = 2,
    sigma=None,
    start: MassCalibration | None = None,
) -> tuple[MassCalibration, dict[str, Any]]:
    """Weighted least-squares fit of a TofDAQ calibration mode to ``(index, mass)`` pairs.

    Minimises ``Σ ((i_k − i(m_k; p)) / σ_k)²`` in sample space (mode 5: in mass space with
    ``σ_m = |dm/di|·σ_i``). Linear modes are started from the exact linear solution in
    their basis, mode 2 from ``p3 = 0.5``; all are then refined with
    :func:`scipy.optimize.least_squares`. Covariance ``C = s²(JᵀJ)⁻¹`` with
    ``s² = χ²/(n − p)`` (relative weights); with ``n = p`` the fit is exactly determined
    and uncertainties are NaN.

    Parameters
    ----------
    index : array_like
        Located centres (0-based sample index).
    mass : array_like
        Reference m/z (Th).
    mode : {0, 1, 2, 3, 4, 5}
        TofDAQ ``MassCalibMode``; in mode 4 ``p5`` is fixed at 0 (it duplicates ``p2``).
    sigma : array_like, optional
        Standard uncertainty of each centre (samples); default 1.
    start : MassCalibration, optional
        Start values (same mode).

    Returns
    -------
    calibration : MassCalibration
        With ``uncertainties``.
    info : dict
        ``chi2``, ``dof``, ``covariance``, ``nfev``.

    Raises
    ------
    ParameterError
        Fewer reference ions than free parameters, repeated masses, unknown mode.
    ConvergenceError
        The optimiser does not converge or gives a non-monotonic calibration.

    References
    ----------
    ISO 13084:2011 (SIMS mass-scale calibration); Gilmore, Green & Seah, Surf. Interface
    Anal. 39 (2007) 817, doi:10.1002/sia.2596.

    Examples
    --------
    >>> cal0 = MassCalibration(0, (2800.0, -5000.0))
    >>> m = np.array([7.016, 68.925, 114.903])
    >>> cal, info = fit_mass_calibration(cal0.index(m), m, mode=0)
    >>> [round(p, 6) for p in cal.parameters]
    [2800.0, -5000.0]
    """
    from scipy.optimize import least_squares

    i = np.asarray(index, dtype=float).ravel()
    m = np.asarray(mass, dtype=float).ravel()
    if mode not in N_FREE:
        raise ParameterError(f"mode={mode!r}; TofDAQ calibration modes are 0-5")
    s = np.ones_like(i) if sigma is None else np.asarray(sigma, dtype=float).ravel()
    n_free = N_FREE[mode]
    if i.size != m.size or i.size != s.size:
        raise ParameterError("index, mass and sigma must have the same length")
    if len(np.unique(np.round(m, 6))) < n_free:
        raise ParameterError(
            f"mode {mode} has {n_free} free parameters but only "
            f"{len(np.unique(np.round(m, 6)))} distinct reference masses were located; "
            f"give at least {n_free} (at least {n_free + 1} for uncertainties)"
        )
    if not (np.all(np.isfinite(i)) and np.all(m > 0) and np.all(s > 0)):
        raise ParameterError("reference centres must be finite, masses and sigmas positive")
    w = 1.0 / s**2
    if start is not None and start.mode == mode:
        p0 = np.array(start.parameters[:n_free], dtype=float)
    elif mode == 5:
        coef = np.polyfit(i, m, 2, w=np.sqrt(w))
        p0 = coef
    else:
        p0 = _linear_start(mode, m, i, w)

    def resid(p):
        cal = MassCalibration(mode, _full(mode, p)) if np.all(np.isfinite(p)) else None
        if cal is None:
            return np.full(i.size, 1e12)
        if mode == 5:
            dmdi = np.abs(2 * p[0] * i + p[1])
            return (cal.mass(i) - m) / (s * np.maximum(dmdi, 1e-300))
        r = (cal.index(m) - i) / s
        return np.where(np.isfinite(r), r, 1e12)

    scale = np.where(p0 != 0, np.abs(p0), 1.0)
    res = least_squares(resid, p0, x_scale=scale, method="lm" if i.size >= n_free else "trf")
    if not res.success or not np.all(np.isfinite(res.x)):
        raise ConvergenceError(
            f"mode-{mode} mass calibration did not converge ({res.message}); check the "
            "reference ions (wrong peaks?) or use mode 0"
        )
    cal = MassCalibration(mode, _full(mode, res.x))
    _check_monotonic(cal, i)
    dof = int(i.size - n_free)
    chi2 = float(np.sum(res.fun**2))
    cov = np.full((n_free, n_free), np.nan)
    if dof > 0:
        with contextlib.suppress(np.linalg.LinAlgError):
            cov = np.linalg.inv(res.jac.T @ res.jac) * (chi2 / dof)
    sig = np.sqrt(np.clip(np.diag(cov), 0, None))
    sig = np.where(np.isfinite(np.diag(cov)), sig, np.nan)
    unc = (*map(float, sig), 0.0) if mode == 4 else tuple(map(float, sig))
    cal = MassCalibration(mode, cal.parameters, unc)
    return cal, {"chi2": chi2, "dof": dof, "covariance": cov, "nfev": int(res.nfev)}


def _check_monotonic(cal: MassCalibration, index: np.ndarray) -> None:
    lo, hi = float(np.min(index)), float(np.max(index))
    grid = np.linspace(lo, hi, 64)
    mass = np.asarray(cal.mass(grid))
    if not (np.all(np.isfinite(mass)) and np.all(np.diff(mass) > 0)):
        raise ConvergenceError(
            f"the fitted mode-{cal.mode} calibration {cal.parameters} is not monotonic over "
            f"samples {lo:.0f}-{hi:.0f}; the reference peaks are probably misidentified"
        )
