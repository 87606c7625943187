"""Rietveld refinement of a 1D scan: setup → least squares → readouts (public :func:`refine`).

Stages: :mod:`._structure` (reflections, |F|²), :mod:`._profile_tch` (line shapes),
:mod:`._rietveld_model` (whole pattern, variable projection), :mod:`._rietveld_fit`
(least squares, covariance), :mod:`._qpa` (weight fractions). This module chooses the
parameters, runs the fit in two stages (positions and widths first, then everything) and
assembles :class:`RietveldResult`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import numpy as np

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, provenance
from charsuite.xrd import _rietveld_fit as rf
from charsuite.xrd import _rietveld_model as rm
from charsuite.xrd import _structure as st
from charsuite.xrd._instrument import CU_KA1, CU_KA2, Instrument

_CELL_STEP = {"a": 1e-3, "b": 1e-3, "c": 1e-3, "alpha": 0.01, "beta": 0.01, "gamma": 0.01}


@dataclasses.dataclass(frozen=True)
class PhaseRefinement(Result):
    """Refined readouts of one phase.

    Attributes
    ----------
    name : str
    weight_fraction, weight_fraction_esd : float
        ZMV weight fraction (0–1) and its esd (full covariance, χ²_ν-scaled).
    scale : float
    cell : dict
        Free cell parameters {name: {value, uncertainty}} (Å, deg).
    bragg_r : float
        R_Bragg = Σ|I_obs − I_calc| / Σ I_obs (Rietveld partition of the observed counts).
    crystallite_size_nm, microstrain : float
        From the phase's Lorentzian Y (size, Scherrer K = 0.9) and X (strain = X/4, rad).
    n_lines : int
        Reflections in range.
    sites : dict
        Refined site parameters (B, x_NiLi, z_O, B_O, march_r) with esd.
    """

    name: str
    weight_fraction: float
    weight_fraction_esd: float
    scale: float
    cell: dict
    bragg_r: float
    crystallite_size_nm: float
    microstrain: float
    n_lines: int
    sites: dict


@dataclasses.dataclass(frozen=True)
class RietveldResult(Result):
    """Result of :func:`refine`.

    Attributes
    ----------
    phases : tuple of PhaseRefinement
    rwp, rp, rexp, gof : float
        Weighted-profile, profile and expected R (fractions) and GoF = Rwp/Rexp.
    durbin_watson : float
        d statistic of the weighted residuals (≈ 2 for uncorrelated residuals).
    converged : bool
    message : str
        Why the fit stopped.
    n_evaluations : int
    parameters : dict
        Every refined parameter {name: {value, uncertainty}}.
    correlations : list
        Pairs with |ρ| > 0.9: (name1, name2, ρ).
    skipped_phases : dict
        Phase → reason (e.g. no reflection in range).
    radiation : dict
        {lines: 'ka1'|'ka12', wavelength_angstrom, ka2_ratio}.
    geometry : dict
    two_theta, observed, calculated, background : ndarray
        For the figure (deg, counts).
    ticks : dict
        Phase → Kα1 line positions (deg).
    notes : list of str
        Warnings on the readouts (e.g. Li/Ni exchange withheld in fixed incidence when it
        correlates with the texture parameter, ``shared/notes/rietveld.md`` §3 policy).
    """

    phases: tuple
    rwp: float
    rp: float
    rexp: float
    gof: float
    durbin_watson: float
    converged: bool
    message: str
    n_evaluations: int
    parameters: dict
    correlations: list
    skipped_phases: dict
    radiation: dict
    geometry: dict
    two_theta: np.ndarray
    observed: np.ndarray
    calculated: np.ndarray
    background: np.ndarray
    ticks: dict
    notes: list = dataclasses.field(default_factory=list)
    history: list = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        d = super().to_dict()
        for key in ("two_theta", "observed", "calculated", "background"):
            d.pop(key, None)
        return d


# --------------------------------------------------------------------------- setup


def _scan_arrays(da):
    from charsuite.xrd._reduce import check_scan

    check_scan(da, purpose="Rietveld refinement")
    x = np.asarray(
        da["two_theta"].values if "two_theta" in da.coords else da.coords[da.dims[0]].values, float
    )
    y = np.asarray(da.values, float)
    if y.ndim != 1:
        raise DataError(f"Rietveld refinement needs a 1D scan, got dims {da.dims}; use --map-rows")
    sig = da.coords["intensity_sigma"].values if "intensity_sigma" in da.coords else None
    order = np.argsort(x)
    x, y = x[order], y[order]
    ok = np.isfinite(x) & np.isfinite(y)
    if sig is not None:
        sig = np.asarray(sig, float)[order]
        ok &= np.isfinite(sig) & (sig > 0)
    x, y = x[ok], y[ok]
    if sig is None:
        sig = np.sqrt(np.maximum(y, 1.0))
    else:
        sig = sig[ok]
    if len(x) < 50:
        raise DataError(f"scan has {len(x)} finite points; Rietveld refinement needs ≥ 50")
    return x, y, 1.0 / sig


def _has_lines(ph: st.PhaseStructure, x, geom) -> bool:
    """True when an allowed (|F|² > 0) reflection of the phase lies inside the scan."""
    d = st.line_d(ph, ph.cell0)
    sin_t = geom.wavelength / (2 * d)
    tth = 2 * np.degrees(np.arcsin(np.clip(sin_t, 0, 1)))
    q = 2 * np.pi * np.linalg.norm(ph.hkl @ st.reciprocal_matrix(ph.cell0), axis=1)
    f = st.scattering_factors(ph.elements, q, geom.energy_ev)
    strength = st.line_strengths(ph, ph.cell0, st.SiteParams(), f)
    allowed = st.allowed_lines(ph, strength, f)
    return bool(np.any((tth >= x[0]) & (tth <= x[-1]) & (sin_t < 1) & allowed))


@functools.lru_cache(maxsize=128)
def _cached_setup(name, path_str, stamp, lo, hi, geom, axis):
    """PhaseSetup of one library phase for a scan range and geometry (None: no line in range).

    Cached across refinements (``stamp`` = the CIF's mtime and size): repeated calls on
    the same phases — several scans, or the decide stage refining candidate subsets — reuse
    the reflection list, the structure-factor caches and the optical constants.
    """
    from charsuite.xrd._gi import optical_constants
    from charsuite.xrd._library import load_structure

    struct = load_structure(path_str)
    ph = st.build_phase(name, struct, two_theta_max=hi, wavelength=geom.wavelength)
    if not _has_lines(ph, np.array([lo, hi]), geom):
        return None
    comp = {el.symbol: float(v) for el, v in struct.composition.element_composition.items()}
    oc = optical_constants(
        comp, density_g_cm3=float(struct.density), wavelength_angstrom=geom.wavelength
    )
    return rm.PhaseSetup(ph, oc.delta, oc.mu_per_um, axis)


def _instance_base(name: str) -> str:
    """Library name of a phase instance: "LiMn2O4 (2)" → "LiMn2O4"."""
    return re.sub(r" \(\d+\)$", "", str(name))


def _phase_setups(names, library, x, geom, texture):
    """Setups of the phases (skipped: {name: why}).

    A second instance "X (2)" is X's structure under its own name: its own scale, cell and
    profile (two cells of one phase, e.g. two spinels).
    """
    from charsuite.xrd._library import select_phases

    lib = select_phases(list(dict.fromkeys(_instance_base(n) for n in names)), library)
    canon = {k.lower(): k for k in lib}
    paths = {}
    for n in names:
        key = canon[_instance_base(n).lower()]
        paths[key + str(n)[len(_instance_base(n)) :]] = lib[key]
    setups, skipped = [], {}
    for name, path in paths.items():
        stat = Path(path).stat()
        axis = (texture or {}).get(name)
        setup = _cached_setup(
            name,
            str(path),
            (stat.st_mtime_ns, stat.st_size),
            float(x[0]),
            float(x[-1]),
            geom,
            tuple(axis) if axis else None,
        )
        if setup is None:
            skipped[name] = f"no reflection in {x[0]:.2f}–{x[-1]:.2f}° 2θ"
            continue
        setups.append(setup)
    if not setups:
        raise DataError(f"no phase has a reflection in the scan range: {skipped}")
    return setups, skipped


def _geometry(radiation, inst: Instrument, incidence, thickness, radius, axial=None):
    import xrayutilities as xu

    if radiation not in ("ka1", "ka12"):
        raise ParameterError(f"radiation {radiation!r}: expected 'ka1' or 'ka12'")
    if axial is not None:
        axial = tuple(float(v) for v in axial)
        if len(axial) != 2 or not all(0 <= v < 0.5 for v in axial):
            raise ParameterError(
                f"axial_divergence={axial}: expected (S/L, H/L), each in [0, 0.5), e.g. (0.02, 0.02)"
            )
        if min(axial) == 0 and max(axial) == 0:
            axial = None
    lam = inst.wavelength_angstrom
    lam2 = lam * CU_KA2 / CU_KA1 if radiation == "ka12" else None
    if incidence is not None and not 0 < incidence < 90:
        raise ParameterError(f"incidence angle {incidence}° must lie in (0, 90)")
    return rm.Geometry(
        incidence_deg=None if incidence is None else float(incidence),
        film_thickness_nm=thickness,
        wavelength=lam,
        wavelength2=lam2,
        polarisation_k=inst.polarisation_k,
        goniometer_radius_mm=radius,
        energy_ev=float(xu.utilities.lam2en(lam)),
        axial=axial,
    )


def _cell_specs(s, start: dict | None):
    """Cell parameters: library value ± 3 %, widened to the declared cell range ± 0.5 %.

    ``start`` (e.g. the cell of the peak refinement) replaces the library value as the
    starting point, clipped into the bounds: a charged layered cathode's c lies 2 % from
    the library value, beyond the reach of a local least-squares fit started there.
    """
    from charsuite.xrd._decide_structure import CELL_TOLERANCE
    from charsuite.xrd._library import cell_length_bounds, phase_cell_range

    lib = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), s.cell0))
    rng = phase_cell_range(_instance_base(s.name))
    declared = cell_length_bounds(s.cell0, rng) if rng else None
    out = []
    for k in st.CELL_FREE[s.system]:
        v = lib[k]
        lo, hi = (v * 0.97, v * 1.03) if k in "abc" else (v - 0.03 * v, v + 0.03 * v)
        if declared is not None and k in "abc":
            j = "abc".index(k)
            lo = min(lo, declared[j, 0] * (1 - CELL_TOLERANCE))
            hi = max(hi, declared[j, 1] * (1 + CELL_TOLERANCE))
        x0 = float(np.clip((start or {}).get(k, v), lo, hi))
        out.append(rm.ParamSpec(f"{s.name}.{k}", x0, lo, hi, _CELL_STEP[k]))
    return out


def _phase_specs(ph: rm.PhaseSetup, *, mixing: bool, start: dict | None = None):
    s = ph.structure
    n = s.name
    out = _cell_specs(s, start)
    out.append(rm.ParamSpec(f"{n}.B", 0.5, -0.5, 6.0, 0.1))
    out.append(rm.ParamSpec(f"{n}.Y", 0.01, 0.0, 3.0, 0.005))
    out.append(rm.ParamSpec(f"{n}.X", 0.01, 0.0, 3.0, 0.005))
    if mixing and s.layered is not None:
        out.append(rm.ParamSpec(f"{n}.x_NiLi", max(s.layered.x0, 0.02), 0.0, 0.3, 0.005))
        out.append(rm.ParamSpec(f"{n}.z_O", s.layered.z0, 0.23, 0.29, 5e-4))
        out.append(rm.ParamSpec(f"{n}.B_O", 0.5, -0.5, 6.0, 0.1))
    if ph.texture_axis is not None:
        out.append(rm.ParamSpec(f"{n}.march_r", 1.0, 0.2, 3.0, 0.02))
    return out


def _global_specs(inst: Instrument, geom, *, instrument_given, refine_ka2, refine_zero):
    bb = geom.incidence_deg is None
    if refine_zero is None:
        # BB: zero is an instrument constant and correlates ≈ 1 with the displacement over a
        # 10–80° scan (cos θ ≈ const): refine the sample-dependent displacement only.
        refine_zero = not bb
    out, fixed = [], {"X": inst.x, "Y": inst.y, "ka2_ratio": inst.ka2_ratio}
    if refine_zero:
        out.append(
            rm.ParamSpec("zero_deg", inst.zero_deg, inst.zero_deg - 0.5, inst.zero_deg + 0.5, 0.005)
        )
    else:
        fixed["zero_deg"] = inst.zero_deg
    if bb:
        out.append(rm.ParamSpec("displacement_um", 0.0, -1000.0, 1000.0, 5.0))
    if instrument_given:
        fixed.update({"U": inst.u, "V": inst.v, "W": inst.w})
    else:
        out += [
            rm.ParamSpec("U", 0.0, -0.2, 1.0, 0.002),
            rm.ParamSpec("V", 0.0, -0.2, 0.2, 0.002),
            rm.ParamSpec("W", inst.w, 1e-6, 1.0, 0.001),
        ]
    if refine_ka2 and geom.wavelength2 is not None:
        out.append(rm.ParamSpec("ka2_ratio", inst.ka2_ratio, 0.3, 0.7, 0.01))
    return out, fixed


def _stages(specs):
    names = [s.name for s in specs]
    first = [
        n
        for n in names
        if n in ("zero_deg", "displacement_um", "W") or n.endswith((".a", ".b", ".c", ".Y"))
    ]
    return [first, names]


# --------------------------------------------------------------------------- readouts


def _r_factors(y, calc, wt, n_par, bkg):
    n = len(y)
    rwp = float(np.sqrt(np.sum((wt * (y - calc)) ** 2) / np.sum((wt * y) ** 2)))
    rp = float(np.sum(np.abs(y - calc)) / np.sum(np.abs(y)))
    rexp = float(np.sqrt(max(n - n_par, 1) / np.sum((wt * y) ** 2)))
    r = wt * (y - calc)
    dw = float(np.sum(np.diff(r) ** 2) / np.sum(r**2))
    return rwp, rp, rexp, rwp / rexp, dw


def _bragg_r(pl: rm.PhaseLines, scale, y, calc, bkg):
    """R_Bragg with I_obs,h = I_calc,h Σ Φ_h (y − b)/(y_calc − b) (Rietveld 1969)."""
    lw = pl.windows
    if scale <= 0 or not len(lw.idx):
        return float("nan")
    net_c = calc - bkg
    ratio = np.where(
        net_c > 1e-12 * np.max(np.abs(net_c)), (y - bkg) / np.where(net_c == 0, 1, net_c), 0.0
    )
    contrib = lw.val * (pl.area * scale)[lw.owner]
    n_rows = len(pl.select)  # FCJ copies of a line are summed back into their line
    icalc = np.bincount(pl.sub_row, weights=lw.per_line(contrib), minlength=n_rows)
    iobs = np.bincount(pl.sub_row, weights=lw.per_line(contrib * ratio[lw.idx]), minlength=n_rows)
    return float(np.sum(np.abs(iobs - icalc)) / max(np.sum(np.abs(iobs)), 1e-300))


def _esd_table(names, cov, values):
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    return {n: {"value": float(values[n]), "uncertainty": float(e)} for n, e in zip(names, sd)}


def _correlations(names, cov, limit=0.9):
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    out = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if sd[i] > 0 and sd[j] > 0 and np.isfinite(cov[i, j]):
                rho = cov[i, j] / (sd[i] * sd[j])
                if abs(rho) > limit:
                    out.append((names[i], names[j], round(float(rho), 4)))
    return out


def _mixing_notes(phases, correlations, geom) -> list:
    """Li/Ni exchange from one fixed-incidence scan is 'apparent'; withheld if |ρ(x, r)| > 0.9."""
    notes = []
    for ph in phases:
        if "x_NiLi" not in ph.sites or geom.incidence_deg is None:
            continue
        pair = {f"{ph.name}.x_NiLi", f"{ph.name}.march_r"}
        if any({a, b} == pair for a, b, _ in correlations):
            ph.sites["x_NiLi"]["withheld"] = True
            notes.append(
                f"{ph.name}: Li/Ni exchange withheld — |corr(x, March r)| > 0.9 in fixed incidence; "
                "measure texture independently (ψ-scans, several ω) or use a BB scan"
            )
        else:
            notes.append(
                f"{ph.name}: Li/Ni exchange from a fixed-incidence scan is apparent (texture not "
                "measured independently)"
            )
    return notes


def _phase_result(ph, i, pars, wfrac, wsig, scale, bragg, lam, n_lines):
    n = ph.name
    cell = {k: pars[f"{n}.{k}"] for k in st.CELL_FREE[ph.structure.system] if f"{n}.{k}" in pars}
    y_deg = pars.get(f"{n}.Y", {"value": 0.0})["value"]
    x_deg = pars.get(f"{n}.X", {"value": 0.0})["value"]
    size = 0.9 * lam / np.radians(y_deg) / 10 if y_deg > 1e-6 else float("inf")
    sites = {
        k.split(".", 1)[1]: v
        for k, v in pars.items()
        if k.startswith(f"{n}.") and k.split(".", 1)[1] in ("B", "x_NiLi", "z_O", "B_O", "march_r")
    }
    return PhaseRefinement(
        name=n,
        weight_fraction=float(wfrac[i]),
        weight_fraction_esd=float(wsig[i]),
        scale=float(scale),
        cell=cell,
        bragg_r=bragg,
        crystallite_size_nm=float(size),
        microstrain=float(np.radians(x_deg) / 4),
        n_lines=n_lines,
        sites=sites,
    )


def _assemble(prob, state, skipped, radiation, geom, wavelength):
    from charsuite.xrd._qpa import weight_fractions

    names, cov, _dof = rf.full_covariance(prob, state)
    values = dict(state.values)
    npha = len(prob.phases)
    for k, c in enumerate(state.coef):
        values[names[len(prob.specs) + k]] = c
    pars = _esd_table(names, cov, values)
    for name, val in prob.fixed.items():  # held fixed: reported with uncertainty 0
        if "." in name:
            pars.setdefault(name, {"value": float(val), "uncertainty": 0.0, "fixed": True})
    lin0 = len(prob.specs)
    bkg = rm.chebyshev_basis(prob.x, prob.n_bkg) @ state.coef[npha:]
    zmv = [ph.structure.cell_mass * st.cell_volume(rm.cell_of(ph, values)) for ph in prob.phases]
    w, ws = weight_fractions(
        state.coef[:npha], zmv, np.nan_to_num(cov[lin0 : lin0 + npha, lin0 : lin0 + npha])
    )
    phases = tuple(
        _phase_result(
            ph,
            i,
            pars,
            w,
            ws,
            state.coef[i],
            _bragg_r(state.lines[i], state.coef[i], prob.y, state.calc, bkg),
            wavelength,
            len(state.lines[i].two_theta),
        )
        for i, ph in enumerate(prob.phases)
    )
    rwp, rp, rexp, gof, dw = _r_factors(prob.y, state.calc, prob.wt, len(names), bkg)
    correlations = _correlations(names, cov)
    return RietveldResult(
        phases=phases, rwp=rwp, rp=rp, rexp=rexp, gof=gof, durbin_watson=dw,
        converged=state.converged, message=state.message, n_evaluations=state.nfev,
        parameters=pars, correlations=correlations, skipped_phases=skipped,
        radiation={"lines": radiation, "wavelength_angstrom": wavelength, "ka2_ratio": values.get("ka2_ratio") if radiation == "ka12" else 0.0},
        geometry={"incidence_angle_deg": geom.incidence_deg, "film_thickness_nm": geom.film_thickness_nm, "mode": "bragg-brentano" if geom.incidence_deg is None else "fixed-incidence"},
        two_theta=prob.x, observed=prob.y, calculated=state.calc, background=bkg,
        ticks={ph.name: state.lines[i].two_theta for i, ph in enumerate(prob.phases)},
        notes=_mixing_notes(phases, correlations, geom),
    )  # fmt: skip


# --------------------------------------------------------------------------- public


@provenance("rietveld", exclude=("instrument",))
def refine(
    da,
    *,
    phases,
    radiation: str = "ka12",
    incidence_angle_deg: float | None = None,
    film_thickness_nm: float | None = None,
    instrument: Instrument | None = None,
    preferred_orientation: dict | None = None,
    cation_mixing: bool = True,
    refine_ka2_ratio: bool = False,
    refine_zero: bool | None = None,
    fixed_parameters: dict | None = None,
    start_cells: dict | None = None,
    n_background: int = 6,
    library=None,
    goniometer_radius_mm: float = 240.0,
    axial_divergence: tuple | None = None,
    max_nfev: int = 200,
) -> RietveldResult:
    """Rietveld refinement of a 1D XRD scan against library structures.

    Model (``_rietveld_model``): per phase scale, cell, overall B, TCH size/strain widths on
    top of the instrumental U, V, W, X, Y; March–Dollase texture (BB or fixed incidence);
    zero, specimen displacement (BB) or refraction shift and film absorption (fixed
    incidence); Chebyshev background; Kα1 or Kα1 + Kα2. Layered R-3m phases (Li/Ni on
    3a/3b) refine the exchange x with constrained occupancies, O z and B(O).

    Parameters
    ----------
    da : xarray.DataArray
        1D scan with a ``two_theta`` coordinate (deg); ``intensity_sigma`` if present
        sets the weights, else σ = √max(y, 1).
    phases : list of str
        Library phase names (unknown names raise with the list of known ones); "X (2)" is
        a second instance of X with its own scale, cell and profile (two cells of one
        phase, e.g. the two spinels of a charged LiMn2O4 electrode).
    radiation : {'ka12', 'ka1'}
        Emission lines (decided by the caller, e.g. from the file and the data).
    incidence_angle_deg : float, optional
        Fixed incidence αᵢ; None = symmetric Bragg–Brentano.
    film_thickness_nm : float, optional
        Film thickness for the fixed-incidence absorption factor (None = thick).
    instrument : Instrument, optional
        Instrumental profile (:func:`load_instrument`); fixes U, V, W, X, Y and starts the
        zero there. Without it U, V, W are refined.
    preferred_orientation : dict, optional
        ``{phase: (h, k, l)}`` March–Dollase axis; r is refined.
    cation_mixing : bool
        Refine Li/Ni exchange, O z and B(O) of layered phases.
    refine_ka2_ratio : bool
    refine_zero : bool, optional
        Default: refined in fixed incidence; in BB the zero stays at the instrument value
        and the specimen displacement is refined (the two correlate ≈ 1 over a lab scan).
    fixed_parameters : dict, optional
        Parameter name → value held fixed (e.g. ``{"Si.a": 5.431144}`` for a standard).
    start_cells : dict, optional
        ``{phase: {"a": ..., "c": ...}}`` starting cell lengths/angles (Å, deg), e.g. from
        the peak refinement of :func:`analyze`; default the library cell. The bounds are the
        library cell ± 3 %, widened to a declared cell range ± 0.5 %
        (:func:`charsuite.xrd.phase_cell_range`); a start outside is clipped into them.
    n_background : int
        Chebyshev terms.
    library : path or list, optional
        Extra CIFs.
    goniometer_radius_mm : float
        For the displacement shift.
    axial_divergence : (float, float), optional
        (S/L, H/L): sample and receiving-slit half-heights over the goniometer radius for
        the Finger–Cox–Jephcoat axial-divergence asymmetry [3]_ (``_profile_tch.fcj_kernel``);
        None (default) = symmetric lines. Held fixed; each line then costs 16 profiles.
    max_nfev : int
        Evaluations per least-squares stage.

    Returns
    -------
    RietveldResult

    Raises
    ------
    ParameterError
        Unknown phase, bad radiation or angle.
    DataError
        Scan unusable or no phase with a reflection in range.

    References
    ----------
    .. [1] H. M. Rietveld, J. Appl. Cryst. 2, 65 (1969).
    .. [2] R. J. Hill, C. J. Howard, J. Appl. Cryst. 20, 467 (1987).
    .. [3] L. W. Finger, D. E. Cox, A. P. Jephcoat, J. Appl. Cryst. 27, 892 (1994).

    Examples
    --------
    >>> from charsuite.io import read
    >>> res = refine(read("corundum.xye"), phases=["Al2O3"])  # doctest: +SKIP
    >>> round(res.phases[0].cell["a"]["value"], 4)  # doctest: +SKIP
    4.7591
    """
    if not phases:
        raise ParameterError("no phases given; pass phase names, e.g. --phases Al2O3")
    inst = instrument or Instrument()
    x, y, wt = _scan_arrays(da)
    geom = _geometry(
        radiation, inst, incidence_angle_deg, film_thickness_nm, goniometer_radius_mm,
        axial_divergence,
    )  # fmt: skip
    setups, skipped = _phase_setups(phases, library, x, geom, preferred_orientation)
    gspecs, fixed = _global_specs(
        inst,
        geom,
        instrument_given=instrument is not None,
        refine_ka2=refine_ka2_ratio,
        refine_zero=refine_zero,
    )
    specs = gspecs + [
        s
        for ph in setups
        for s in _phase_specs(
            ph, mixing=cation_mixing, start=(start_cells or {}).get(ph.structure.name)
        )
    ]
    for name, val in (fixed_parameters or {}).items():
        if not any(sp.name == name for sp in specs):
            raise ParameterError(
                f"fixed parameter {name!r} is not in the model; known: {', '.join(sp.name for sp in specs)}"
            )
        specs = [sp for sp in specs if sp.name != name]
        fixed[name] = float(val)
    prob = rf.Problem(x, y, wt, setups, geom, n_background, specs, fixed)
    from threadpoolctl import threadpool_limits

    # tall-skinny BLAS/LAPACK calls (7000 × 20 SVD in least_squares) run ~20× slower with
    # a threaded BLAS on a busy machine than on one thread (measured): keep them serial
    with threadpool_limits(limits=1):
        state = rf.fit(prob, _stages(specs), max_nfev)
        return _assemble(prob, state, skipped, radiation, geom, geom.wavelength)


#: Certified cells (Å) of NIST SRMs: Si 640f, LaB6 660c, Al2O3 676a.
CERTIFIED_CELLS = {
    "Si": {"a": 5.431144},
    "LaB6": {"a": 4.156826},
    "Al2O3": {"a": 4.759091, "c": 12.991779},
}


@provenance("calibrate_instrument")
def calibrate_instrument(
    da,
    *,
    standard: str = "Si",
    radiation: str = "ka12",
    incidence_angle_deg: float | None = None,
    preferred_orientation: tuple | None = None,
    library=None,
) -> tuple[Instrument, RietveldResult]:
    """Instrumental profile (U, V, W, X, Y) and zero from a scan of a standard.

    The standard is refined with its cell fixed at the certified value
    (:data:`CERTIFIED_CELLS`); zero (and, in BB, the displacement) and U, V, W and the
    standard's Lorentzian X, Y are refined; X, Y become the instrumental Lorentz terms.

    Parameters
    ----------
    da : xarray.DataArray
    standard : str
        ``Si``, ``LaB6`` (NIST SRM 660c) or ``Al2O3`` (library phases; others via ``library``).
    radiation : {'ka12', 'ka1'}
    incidence_angle_deg : float, optional
    preferred_orientation : tuple, optional
        March–Dollase axis of the standard (e.g. (0, 0, 1) for a corundum plate).
    library : optional
        Extra CIFs.

    Returns
    -------
    (Instrument, RietveldResult)

    Raises
    ------
    ParameterError
        Standard without a certified cell or not in the library.

    Examples
    --------
    >>> inst, fit = calibrate_instrument(read("si.xy"), standard="Si")  # doctest: +SKIP
    """
    key = {k.lower(): k for k in CERTIFIED_CELLS}.get(str(standard).lower())
    if key is None:
        raise ParameterError(
            f"standard {standard!r} has no certified cell; use one of {', '.join(CERTIFIED_CELLS)}"
        )
    fixed = {f"{key}.{k}": v for k, v in CERTIFIED_CELLS[key].items()}
    res = refine(
        da,
        phases=[key],
        radiation=radiation,
        incidence_angle_deg=incidence_angle_deg,
        preferred_orientation={key: preferred_orientation} if preferred_orientation else None,
        cation_mixing=False,
        refine_zero=True,
        fixed_parameters=fixed,
        library=library,
    )
    p = res.parameters

    def val(name, default=0.0):
        return float(p[name]["value"]) if name in p else default

    inst = Instrument(
        u=val("U"),
        v=val("V"),
        w=val("W"),
        x=val(f"{key}.X"),
        y=val(f"{key}.Y"),
        zero_deg=val("zero_deg"),
        wavelength_angstrom=CU_KA1,
        ka2_ratio=float(res.radiation.get("ka2_ratio") or 0.0),
        standard=key,
        source_file=str(da.attrs.get("source_file", "")),
    )
    return inst, res
