"""End-to-end GI-XRD analysis: reduce → peaks → identify → refine → layered-phase readout.

Conventions
-----------
* Zero offset z: measured 2θ = true 2θ + z (a positive z means peaks appear too high).
* Refraction (grazing incidence only): measured 2θ = Bragg 2θ + Δ2θ_refr(phase), see
  :func:`charsuite.xrd._gi.refraction_shift`; it is removed per phase before refinement
  when ``refraction=True``.
* Intensities for I(003)/I(104) and texture are fitted Kα1 peak areas.
* Texture: March–Dollase fibre texture with the fibre axis along the surface normal,
  averaged over the tilt ψ = θ − α at which each reflection is recorded (GI); r < 1 means
  the chosen pole (c axis for layered phases) is preferentially normal to the substrate.
* Crystallite size: Scherrer D = Kλ/(β cos θ), K = 0.9, β = √(FWHM² − FWHM_instr²)
  (Gaussian-like quadratic removal) in radians; Williamson–Hall
  β cos θ = Kλ/D + 4ε sin θ over all peaks of the phase.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from charsuite.exceptions import DataError, ParameterError
from charsuite.model import Result, history_record
from charsuite.xrd._radiation import decide_radiation


@dataclasses.dataclass(frozen=True)
class XRDAnalysis(Result):
    """Everything ``charsuite xrd identify`` reports (JSON schema in the README).

    Attributes
    ----------
    file, format : str
    wavelength_angstrom : float
    incidence_angle_deg : float or None
    phases : list of dict
        Accepted phases: name, role, score, matched_peaks, rwp, lattice, zero_offset_deg;
        ``indistinguishable_from`` lists the library phases of the same space group whose
        cell (or declared cell range) holds the refined cell: the line positions cannot
        tell them apart.
    candidates : list of dict
        Every phase scored, with the reason for acceptance or rejection.
    peaks : list of dict
        two_theta, two_theta_err, d, fwhm, area, area_err, phase, hkl.
    layered : dict or None
        a, c, c_over_a, shift_003_deg, i003_i104, splittings, texture, crystallite_size_nm.
    unidentified_peaks : list of dict
    corrections : dict
        Each correction applied with its value.
    radiation : dict
        ``lines`` ("ka1" | "ka12"), ``ka2_ratio``, ``source`` ("file" | "data" | "option" |
        "assumed") and ``evidence`` (:func:`charsuite.xrd._radiation.decide_radiation`).
    rietveld : dict or None
        With ``refine=True``: rwp, gof, converged, message, notes and ``cells`` (phase →
        refined cell {parameter: {value, uncertainty}}, Å and deg).
    library_gap : dict
        ``main_phase_not_in_library``, ``unexplained_intensity_fraction`` of the significant
        peak intensity (the peaks of rejected phases included), ``closest_library_phase`` (a
        hint), ``rejected_for_structure`` (phases whose lattice fits but whose cell or
        structure-factor intensities do not, :mod:`charsuite.xrd._decide_structure`) and
        ``ambiguous`` ({accepted phase: why the data cannot confirm it — unexplained peaks
        on its lattice (a superstructure or lower-symmetry variant not in the library), or
        nothing that tests it next to an unknown main phase}) from
        the decide stage (:mod:`charsuite.xrd._decide`); each candidate's ``decision`` holds
        the tests (``contribution``, ``subset``, ``cell``, ``intensity``).
    whole_pattern : dict
        Whole-pattern confirmation: method, rwp, rexp, per-phase rwp (Le Bail adds refined
        cells, zero, profile widths; :func:`charsuite.xrd._wholepattern.le_bail`).
    history : list
    """

    file: str
    format: str
    wavelength_angstrom: float
    incidence_angle_deg: float | None
    phases: list
    candidates: list
    peaks: list
    layered: dict | None
    unidentified_peaks: list
    corrections: dict
    whole_pattern: dict
    history: list
    radiation: dict | None = None
    library_gap: dict | None = None
    rietveld: dict | None = None


@dataclasses.dataclass(frozen=True)
class ZeroCalibration(Result):
    """Zero offset from a standard measured in the same geometry.

    Attributes
    ----------
    standard : str
    zero_offset_deg, zero_offset_err_deg : float
        measured = true + zero (refraction of the standard removed first when GI).
    refraction_shift_deg : float
        Mean refraction shift of the standard's peaks that was removed.
    lattice : dict
        Cell refined with the zero fixed (a check of the standard).
    peaks_used : list
    history : list
    """

    standard: str
    zero_offset_deg: float
    zero_offset_err_deg: float
    refraction_shift_deg: float
    lattice: dict
    peaks_used: list
    history: list
    displacement_mm: float | None = None
    displacement_err_mm: float | None = None
    goniometer_radius_mm: float | None = None


def _wavelengths(da, wavelength_angstrom=None, radiation="auto"):
    """(λ₁, λ₂, Kα2 ratio, wavelength source) as decided by :func:`decide_radiation`."""
    rad = decide_radiation(da, mode=radiation, wavelength_angstrom=wavelength_angstrom)
    return rad.wavelength_ka1_angstrom, rad.wavelength_ka2_angstrom, rad.ka2_ratio, rad.source


def _peaks(da, *, l1, l2, ratio, min_snr, profile, resolve_snr=None):
    from charsuite.xrd._peaks import estimate_background, find_peaks, fit_peaks, typical_fwhm

    x = da.two_theta.values
    y = np.asarray(da.values, float)
    s = da.intensity_sigma.values if "intensity_sigma" in da.coords else None
    step = float(np.median(np.diff(x)))
    bg = estimate_background(y, half_window=round(1.5 / step))
    found = find_peaks(
        x,
        y,
        sigma=s,
        background=bg,
        min_snr=min_snr,
        ka2_ratio=ratio,
        wavelength_ka1=l1,
        wavelength_ka2=l2,
    )
    if found["two_theta"].size == 0:
        return bg, []
    fits = fit_peaks(
        x,
        y,
        found["two_theta"],
        sigma=s,
        fwhm_guess=found["fwhm"],
        profile=profile,
        ka2_ratio=ratio,
        wavelength_ka1=l1,
        wavelength_ka2=l2,
        background=bg,
        resolve_snr=resolve_snr,
    )
    good = [
        p
        for p in fits
        if p is not None
        and np.isfinite(p.two_theta)
        and np.isfinite(p.two_theta_err)
        and p.area > 0
    ]
    # reject counting-noise spikes: insignificant area (< 2σ) *and* much narrower than the
    # typical peak of the scan
    if good:
        typical = typical_fwhm(good)
        good = [p for p in good if not (p.area < 2 * p.area_err and p.fwhm < 0.5 * typical)]
    return bg, sorted(good, key=lambda p: p.two_theta)


def _gi_factors(ref, *, alpha, film_thickness_nm, wavelength, refraction, film_phase):
    """Per-line intensity weights and refraction shifts for one reference phase."""
    from charsuite.xrd._gi import absorption_factor, optical_constants, refraction_shift

    oc = optical_constants(
        ref.composition,
        density_g_cm3=ref.density_g_cm3,
        wavelength_angstrom=wavelength,
        name=ref.name,
    )
    shift = (
        refraction_shift(ref.two_theta, incidence_angle_deg=alpha, delta=oc.delta)
        if refraction
        else np.zeros_like(ref.two_theta)
    )
    thick = film_thickness_nm if (film_phase and film_thickness_nm) else None
    w = absorption_factor(
        ref.two_theta, incidence_angle_deg=alpha, mu_per_um=oc.mu_per_um, thickness_nm=thick
    )
    w = w / np.nanmax(w) if np.nanmax(w) > 0 else np.ones_like(w)
    return np.nan_to_num(w, nan=0.0), shift, oc


def calibrate_zero(
    da,
    *,
    standard: str = "Si",
    incidence_angle_deg: float | None = None,
    refraction: bool = True,
    wavelength_angstrom: float | None = None,
    library=None,
    max_zero_offset_deg: float = 1.0,
    min_snr: float = 4.0,
    displacement: bool = False,
    radiation: str = "auto",
    goniometer_radius_mm: float = 240.0,
) -> ZeroCalibration:
    """Zero offset from a scan of a standard (e.g. the Si GI reference) with a known cell.

    The standard's peaks are found, indexed against its reference pattern (zero offsets up
    to ``max_zero_offset_deg`` searched), its refraction shift removed (GI), and
    z = ⟨2θ_obs − 2θ_ref⟩ fitted with the cell fixed; a second fit with the cell free is
    reported as a check.

    With ``displacement=True`` (focusing optics, at least three lines) the specimen
    displacement s is fitted with the zero: 2θ_obs − 2θ_ref = z − (s/R)·sin 2θ / sin α, with α
    the fixed incidence angle, or α = θ for a symmetric scan (z − (2s/R)·cos θ);
    R = ``goniometer_radius_mm``. Apply both with :func:`charsuite.xrd.correct_zero` and
    :func:`charsuite.xrd._reduce.correct_displacement` (same α). Parallel-beam GI optics are
    insensitive to specimen height: calibrate the zero only there.

    Parameters
    ----------
    da : DataArray
        1D scan of the standard (intensity over ``two_theta`` in deg).
    standard : str
        Library phase of the standard, e.g. ``"Si"``.
    incidence_angle_deg : float, optional
        Fixed incidence angle α (deg); default: the file's metadata, else a symmetric scan.
    refraction : bool
        Remove the standard's refraction shift when the incidence angle is fixed.
    wavelength_angstrom : float, optional
        Kα1 wavelength (Å) overriding the file.
    library : optional
        Phase library the standard's reference pattern is taken from; default: built-in.
    max_zero_offset_deg : float
        Largest zero offset searched when indexing the standard's lines (deg).
    min_snr : float
        Minimum signal-to-noise ratio of a peak to be used.
    displacement : bool
        Fit the specimen displacement together with the zero (needs ≥ 3 lines).
    radiation : {"auto", "ka1", "ka12"}
        Kα1 only vs Kα1 + Kα2 (see :func:`~charsuite.xrd._radiation.decide_radiation`).
    goniometer_radius_mm : float
        Goniometer radius R (mm) for the displacement fit.

    Returns
    -------
    ZeroCalibration
        Zero offset and its error (deg), the displacement (mm) when fitted, the mean
        refraction shift removed (deg), the check cell, the peaks used and history.

    References
    ----------
    .. [1] H. P. Klug, L. E. Alexander, *X-Ray Diffraction Procedures*, 2nd ed., Wiley
       (1974), §5-2 (specimen-displacement error).
    """
    from charsuite.xrd._lattice import refine_lattice
    from charsuite.xrd._library import reference_pattern
    from charsuite.xrd._reduce import check_scan, estimate_sigma

    check_scan(da, purpose="zero calibration")
    da = estimate_sigma(da)
    md = da.attrs.get("metadata", {})
    alpha = (
        incidence_angle_deg if incidence_angle_deg is not None else md.get("incidence_angle_deg")
    )
    rad = decide_radiation(da, mode=radiation, wavelength_angstrom=wavelength_angstrom)
    l1, l2, ratio = rad.wavelength_ka1_angstrom, rad.wavelength_ka2_angstrom, rad.ka2_ratio
    x = da.two_theta.values
    ref = reference_pattern(
        standard,
        wavelength_angstrom=l1,
        two_theta_range=(float(x[0]) - 2, float(x[-1]) + 2),
        library=library,
    )
    _, peaks = _peaks(da, l1=l1, l2=l2, ratio=ratio, min_snr=min_snr, profile="pseudo_voigt")
    if len(peaks) < 1:
        raise DataError(
            f"no peaks found in the {standard} standard scan", path=da.attrs.get("source_file")
        )
    shift = np.zeros_like(ref.two_theta)
    if alpha is not None and refraction:
        _, shift, _ = _gi_factors(
            ref,
            alpha=alpha,
            film_thickness_nm=None,
            wavelength=l1,
            refraction=True,
            film_phase=False,
        )
    # zero search: every line of the standard must sit on an observed peak; among the
    # offsets that index the most lines, take the one with the most significant peaks
    obs_x = np.array([p.two_theta for p in peaks])
    # weight = significance of each fitted peak (area / σ_area): robust against broad,
    # degenerate components of messy single-crystal-like standards
    obs_a = np.array([p.area / max(p.area_err, 1e-12) for p in peaks])
    m = ref.in_range(float(x[0]), float(x[-1]), min_intensity=5.0)
    lines = np.nonzero(m)[0]
    if lines.size == 0:
        raise DataError(
            f"no {standard} line in the scanned range", path=da.attrs.get("source_file")
        )
    tol = float(np.clip(np.median([p.fwhm for p in peaks]), 0.05, 0.15))
    best = (-1, -1.0, 0.0, [])
    for z in np.arange(-max_zero_offset_deg, max_zero_offset_deg + 1e-9, 0.005):
        matched = []
        for li in lines:
            d = np.abs(obs_x - (ref.two_theta[li] + shift[li] + z))
            cand = np.nonzero(d <= tol)[0]
            if cand.size:
                o = cand[np.argmax(obs_a[cand])]
                matched.append((int(li), int(o), float(d[o])))
        key = (len(matched), float(sum(obs_a[o] for _, o, _ in matched)))
        if key > best[:2]:
            best = (*key, float(z), matched)
    if best[0] <= 0:
        raise DataError(
            f"the scan does not match the {standard} standard within ±{max_zero_offset_deg}°; "
            "is it the right file?",
            path=da.attrs.get("source_file"),
        )

    class _PM:  # minimal stand-in for a PhaseMatch
        matched = best[3]

    pm = _PM()
    obs = np.array([peaks[o].two_theta for _, o, _ in pm.matched])
    err = np.array([max(peaks[o].two_theta_err, 1e-4) for _, o, _ in pm.matched])
    refpos = np.array([ref.two_theta[i] + shift[i] for i, _, _ in pm.matched])
    wts = 1 / err**2
    z = float(np.sum(wts * (obs - refpos)) / np.sum(wts))
    zerr = float(np.sqrt(1 / np.sum(wts)))
    if obs.size > 1:
        zerr = max(zerr, float(np.std(obs - refpos, ddof=1) / np.sqrt(obs.size)))
    disp = disp_err = None
    if displacement:
        if obs.size < 3:
            raise DataError(f"{obs.size} standard lines; zero + displacement need at least 3")
        th = np.radians(refpos / 2)
        # Δ2θ = −(s/R)·sin 2θ / sin α; α = θ for a symmetric scan (−(2s/R)·cos θ)
        sin_a = np.sin(np.radians(alpha)) if alpha is not None else np.sin(th)
        basis = -np.sin(2 * th) / sin_a / goniometer_radius_mm * 180 / np.pi
        a_mat = np.c_[np.ones_like(th), basis]
        sw = np.sqrt(wts)
        coef, *_ = np.linalg.lstsq(a_mat * sw[:, None], (obs - refpos) * sw, rcond=None)
        resid = (obs - refpos) - a_mat @ coef
        dof = max(obs.size - 2, 1)
        s2 = max(float(np.sum(wts * resid**2) / dof), 1.0)
        cov = np.linalg.inv((a_mat * wts[:, None]).T @ a_mat) * s2
        z, disp = float(coef[0]), float(coef[1])
        zerr, disp_err = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
        obs = obs - basis * disp
    hkls = [ref.hkl[i] for i, _, _ in pm.matched]
    check = (
        refine_lattice(
            obs - np.array([shift[i] for i, _, _ in pm.matched]),
            hkls,
            cell=ref.cell,
            crystal_system=ref.crystal_system,
            wavelength_angstrom=l1,
            refine_zero=False,
            zero_offset_deg=z,
            phase=standard,
        )
        if obs.size >= 2
        else None
    )
    return ZeroCalibration(
        standard=standard,
        zero_offset_deg=z,
        zero_offset_err_deg=zerr,
        displacement_mm=disp,
        displacement_err_mm=disp_err,
        goniometer_radius_mm=goniometer_radius_mm if displacement else None,
        refraction_shift_deg=float(np.mean([shift[i] for i, _, _ in pm.matched])),
        lattice=check.lattice if check else {},
        peaks_used=[
            {
                "hkl": list(ref.hkl[i]),
                "two_theta_obs": float(peaks[o].two_theta),
                "two_theta_ref": float(ref.two_theta[i]),
            }
            for i, o, _ in pm.matched
        ],
        history=[
            history_record(
                "calibrate_zero",
                function="charsuite.xrd.calibrate_zero",
                parameters={
                    "standard": standard,
                    "incidence_angle_deg": alpha,
                    "refraction": refraction,
                },
                input_file=da.attrs.get("source_file"),
            )
        ],
    )


def _texture(peaks_of_phase, ref, cell, *, alpha, weights):
    """Fit March–Dollase r (fibre axis ∥ normal, pole [001]) to observed/reference area ratios."""
    from scipy.optimize import minimize_scalar

    from charsuite.xrd._gi import texture_factor
    from charsuite.xrd._lattice import d_spacing

    rows = []
    for p, li in peaks_of_phase:
        h, k, l_ = ref.hkl[li]
        d = d_spacing([(h, k, l_)], cell)[0]
        cosphi = (
            np.clip(l_ / cell[2] * d, -1, 1)
            if ref.crystal_system in ("hexagonal", "trigonal")
            else np.nan
        )
        phi = float(np.degrees(np.arccos(abs(cosphi))))
        psi = p.two_theta / 2 - alpha if alpha is not None else 0.0
        rows.append((list(ref.hkl[li]), p.area, ref.intensity[li] * weights[li], phi, psi))
    if len(rows) < 2:
        return None
    obs = np.array([r[1] for r in rows])
    calc = np.array([r[2] for r in rows])
    phi = np.array([r[3] for r in rows])
    psi = np.array([r[4] for r in rows])
    ok = np.isfinite(phi) & (obs > 0) & (calc > 0)
    if ok.sum() < 2 or np.ptp(phi[ok]) < 10:
        return None

    def cost(logr):
        r = np.exp(logr)
        pw = texture_factor(r, phi[ok], psi_deg=psi[ok])
        lr = np.log(obs[ok] / (calc[ok] * pw))
        return float(np.sum((lr - lr.mean()) ** 2))

    best = minimize_scalar(cost, bounds=(np.log(0.05), np.log(5.0)), method="bounded")
    r = float(np.exp(best.x))
    pw = texture_factor(r, phi, psi_deg=psi)
    ratio = obs / calc
    ratio = ratio / np.nanmedian(ratio)
    direction = (
        "c axis preferentially normal to the substrate"
        if r < 0.8
        else "c axis preferentially in the film plane"
        if r > 1.25
        else "no strong preferred orientation"
    )
    return {
        "model": "March–Dollase fibre texture, axis = surface normal, pole [001], GI tilt average",
        "march_r": r,
        "direction": direction,
        "per_peak": [
            {
                "hkl": rw[0],
                "phi_deg": rw[3],
                "psi_deg": rw[4],
                "obs_over_ref": float(q),
                "model_weight": float(m),
            }
            for rw, q, m in zip(rows, ratio, pw)
        ],
    }


def _net(da, bg):
    """2θ, background-subtracted intensity and its σ (Poisson when the scan has none)."""
    s = (
        da.intensity_sigma.values
        if "intensity_sigma" in da.coords
        else np.sqrt(np.maximum(da.values, 1))
    )
    return da.two_theta.values, np.asarray(da.values, float) - bg, s


def _same_phase(p, q) -> bool:
    return p[0] == q[0] and p[2] == q[2] and np.array_equal(p[1], q[1])


class _PawleyCalc:
    """The decide stage's ``fit``: calculated pattern of the Pawley NNLS (:func:`_pawley`).

    The contribution test fits the full phase list and the list without each phase on the
    same points. The weighted design and its Gram matrix are built once for the full list;
    a sub-list takes its columns and the Gram sub-block, the same numbers as building them
    again (each entry is the same sum), so only the NNLS is repeated.
    """

    def __init__(self, *, l1, l2, ratio):
        self.radiation = {"l1": l1, "l2": l2, "ratio": ratio}
        self._cache = None

    def _design(self, x, sigma, phases_for_fit):
        c = self._cache
        if (
            c is not None
            and c["x"] is x
            and c["sigma"] is sigma
            and all(any(_same_phase(p, q) for q in c["phases"]) for p in phases_for_fit)
        ):
            return c
        from charsuite.xrd._profile_tch import local_gram

        a, owner = _pawley_design(x, phases_for_fit, **self.radiation)
        aw = a.multiply(1 / np.maximum(sigma, 1e-9)[:, None]).tocsc()
        self._cache = {
            "x": x, "sigma": sigma, "phases": list(phases_for_fit), "a": a, "aw": aw,
            "owner": np.array(owner, dtype=object), "gram": local_gram(aw),
        }  # fmt: skip
        return self._cache

    def prepare(self, x, sigma, phases_for_fit) -> None:
        """Build the design of a phase list whose sub-lists the next calls fit."""
        self._design(x, sigma, phases_for_fit)

    def __call__(self, x, y_net, sigma, phases_for_fit):
        """Calculated pattern on ``x`` (zeros without a line in range or without signal)."""
        c = self._design(x, sigma, phases_for_fit)
        bw = y_net * (1 / np.maximum(sigma, 1e-9))  # as in _pawley
        sel = np.flatnonzero(np.isin(c["owner"], [p[0] for p in phases_for_fit]))
        if not sel.size or float(np.sum(bw**2)) <= 0:
            return np.zeros_like(y_net)
        h = (c["aw"].T @ bw)[sel]
        coef = _nnls_gram(c["gram"][np.ix_(sel, sel)], h, maxiter=50 * sel.size)
        return c["a"][:, sel] @ coef


def _line_design(x, centres, fwhm, eta, *, l1, l2, ratio):
    """Sparse Pawley columns (points × lines) on the sorted grid ``x``.

    Column = unit-area Kα1 pseudo-Voigt of the line's FWHM and η plus its Kα2 partner ×
    ``ratio``, each cut at ±``WINDOW_FWHM``·Γ and renormalised to unit area (the Rietveld
    engine's windowed lines, :func:`charsuite.xrd._profile_tch.line_windows`): a column is
    evaluated on its window only, and the Gram matrix of the columns is sparse.
    """
    from scipy.sparse import csc_matrix

    from charsuite.xrd._peaks import ka2_position
    from charsuite.xrd._profile_tch import line_windows

    c, f, e = (np.asarray(v, float) for v in (centres, fwhm, eta))
    n = c.size
    if n == 0:
        return csc_matrix((x.size, 0))
    wt = np.ones(n)
    if ratio > 0:
        c = np.concatenate([c, ka2_position(c, l1, l2)])
        f, e = np.tile(f, 2), np.tile(e, 2)
        wt = np.concatenate([wt, np.full(n, ratio)])
    win = line_windows(x, c, f, e)
    # the flat entries are grouped by line with increasing grid index: the CSC layout of
    # one column per window (no COO sort); a line's Kα2 window is then added to its Kα1
    indptr = np.concatenate([[0], np.cumsum(np.bincount(win.owner, minlength=c.size))])
    a = csc_matrix((win.val * wt[win.owner], win.idx, indptr), shape=(x.size, c.size))
    return a[:, :n] + a[:, n:] if ratio > 0 else a


def _structure_inputs(phase_out, refined_lines, refs) -> dict:
    """{name: StructureInput} of the shortlisted phases with a refined cell (decide stage)."""
    from charsuite.xrd._decide_structure import StructureInput
    from charsuite.xrd._library import phase_cell_range, phase_max_strain

    out = {}
    for ph in phase_out:
        lat, ref = ph["lattice"], refs.get(ph["reference"])
        if not lat or ref is None or ph["name"] not in refined_lines:
            continue
        d_lines, gi, optional = refined_lines[ph["name"]]
        out[ph["name"]] = StructureInput(
            cif=ph["cif"],
            cell=tuple(lat[k] for k in ("a", "b", "c", "alpha", "beta", "gamma")),
            cell_err=tuple(lat.get(f"{k}_err", 0.0) for k in ("a", "b", "c")),
            reference_cell=tuple(ref.cell),
            d_lines=d_lines,
            weights=gi,
            max_strain=phase_max_strain(ph["reference"]),
            optional=optional,
            cell_range=phase_cell_range(ph["reference"]),
        )
    return out


def _decide(
    da, bg, peaks, refined, short, *, rad, max_zero_offset_deg, incidence_deg,
):  # fmt: skip
    """Stage "decide" (:mod:`charsuite.xrd._decide`).

    Pawley contribution, cell and structure-factor intensity tests
    (:mod:`charsuite.xrd._decide_structure`).
    """
    import functools

    from charsuite.xrd._decide import decide_phases

    x, y, s = _net(da, bg)
    phase_out, cands = refined.phases, short.candidates
    cells = {
        ph["name"]: (
            tuple(ph["lattice"][k] for k in ("a", "b", "c", "alpha", "beta", "gamma"))
            if ph["lattice"]
            else None,
            ph["zero_offset_deg"] or 0.0,
        )
        for ph in phase_out
    }
    radiation = {
        "l1": rad.wavelength_ka1_angstrom, "l2": rad.wavelength_ka2_angstrom,
        "ratio": rad.ka2_ratio,
    }  # fmt: skip
    # the hint for a library gap: the best-scoring phase the shortlist did not accept
    best = max((c for c in cands if not c.accepted), key=lambda c: c.score, default=None)
    return decide_phases(
        x, y, np.maximum(s, 1e-12), refined.pawley_input,
        fit=_PawleyCalc(**radiation),
        fwhm_deg=float(np.median([p.fwhm for p in peaks])), cells=cells,
        wavelength=rad.wavelength_ka1_angstrom, peaks=peaks, unexplained=list(short.unexplained),
        tol_deg=short.tol_deg, hint=best.name if best is not None else None,
        alignment_zero={c.name: c.zero_offset_deg for c in cands},
        systems={ph["name"]: short.refs[ph["reference"]].crystal_system for ph in phase_out},
        max_zero_offset_deg=max_zero_offset_deg,
        structures=_structure_inputs(phase_out, refined.lines, short.refs),
        line_design=functools.partial(_line_design, **radiation),
        incidence_deg=incidence_deg, owner=refined.owner,
        matched={ph["name"]: ph["matched_peaks"] for ph in phase_out},
        chance={c.name: c.chance_probability for c in cands},
    )  # fmt: skip


def _pawley_design(x, phases_for_fit, *, l1, l2, ratio):
    """Pawley design matrix (sparse, points × lines in range) and each column's phase.

    Column = unit-area Kα1 pseudo-Voigt (η = 0.5) plus its Kα2 partner × ``ratio``, each cut
    at ±``WINDOW_FWHM``·Γ and renormalised to unit area (the Rietveld engine's windowed
    lines, :func:`charsuite.xrd._profile_tch.line_windows`): a column is evaluated on its
    window only instead of the whole grid.
    """
    centres, fwhm, owner = [], [], []
    for name, positions, w in phases_for_fit:
        pos = np.asarray(positions, float)
        pos = pos[(pos > x[0] - 1) & (pos < x[-1] + 1)]
        centres.append(pos)
        fwhm.append(np.full(pos.size, float(w)))
        owner += [name] * pos.size
    if not owner:
        return _line_design(x, [], [], [], l1=l1, l2=l2, ratio=ratio), owner
    c, f = np.concatenate(centres), np.concatenate(fwhm)
    return _line_design(x, c, f, np.full(c.size, 0.5), l1=l1, l2=l2, ratio=ratio), owner


def _nnls(aw, bw, maxiter):
    """Non-negative least squares ‖aw·c − bw‖ → min, c ≥ 0, solved on the Gram matrix.

    ‖aw·c − bw‖² = cᵀGc − 2cᵀh + const with G = awᵀaw, h = awᵀbw; with G = V Λ Vᵀ,
    R = Λ^½ Vᵀ and d = Λ^-½ Vᵀ h it equals ‖R·c − d‖² + const: the same minimiser from a
    square (lines × lines) system instead of points × lines, so Lawson–Hanson
    (:func:`scipy.optimize.nnls`) works on ~20× fewer rows. Directions with
    λ ≤ 1e-13·λ_max (exactly overlapped lines, ‖aw·v‖ ≤ 3·10⁻⁷ ‖aw‖ along them) are
    dropped, as a rank-revealing solver would.
    """
    from charsuite.xrd._profile_tch import local_gram

    return _nnls_gram(local_gram(aw), aw.T @ bw, maxiter)


def _nnls_gram(g, h, maxiter):
    """:func:`_nnls` from the Gram matrix ``g`` = awᵀaw and ``h`` = awᵀbw."""
    from scipy.optimize import nnls

    lam, v = np.linalg.eigh(g)
    keep = lam > 1e-13 * max(float(lam[-1]), 0.0)
    root = np.sqrt(lam[keep])
    r = (v[:, keep] * root).T
    return nnls(r, (v[:, keep].T @ h) / root, maxiter=maxiter)[0]


def _near_lines(x, positions, fwhm, k=3.0):
    """Mask of grid points strictly within ``k``·FWHM of any of ``positions`` (sorted ``x``)."""
    pos = np.asarray(positions, float)
    lo = np.searchsorted(x, pos - k * fwhm, side="right")
    hi = np.searchsorted(x, pos + k * fwhm, side="left")
    edge = np.zeros(x.size + 1, int)
    np.add.at(edge, lo, 1)
    np.add.at(edge, hi, -1)
    return np.cumsum(edge[:-1]) > 0


def _per_phase_rwp(x, y_net, w, calc, phases_for_fit) -> dict:
    """Rwp over the points within 3 FWHM of each phase's lines (None without signal there)."""
    per = {}
    for name, positions, fwhm in phases_for_fit:
        m = _near_lines(x, positions, fwhm)
        if m.sum() > 3:
            den_p = float(np.sum((w[m] * y_net[m]) ** 2))
            per[name] = (
                float(np.sqrt(np.sum((w[m] * (y_net[m] - calc[m])) ** 2) / den_p))
                if den_p > 0
                else None
            )
    return per


def _pawley(x, y_net, sigma, phases_for_fit, *, l1, l2, ratio):
    """Pawley-type confirmation: fixed cells/profiles, free non-negative intensities (NNLS)."""
    a, _ = _pawley_design(x, phases_for_fit, l1=l1, l2=l2, ratio=ratio)
    w = 1 / np.maximum(sigma, 1e-9)
    den = float(np.sum((w * y_net) ** 2))
    if not a.shape[1] or den <= 0:
        return {"method": "Pawley-type NNLS", "rwp": None, "rexp": None, "per_phase_rwp": {}}
    coef = _nnls(a.multiply(w[:, None]).tocsc(), y_net * w, maxiter=50 * a.shape[1])
    calc = a @ coef
    rwp = float(np.sqrt(np.sum((w * (y_net - calc)) ** 2) / den))
    rexp = float(np.sqrt(max(x.size - a.shape[1], 1) / den))
    return {
        "method": "Pawley-type whole-pattern fit: cells and profiles fixed from the peak refinement, "
        "one free non-negative intensity per reflection (NNLS), background fixed (SNIP)",
        "rwp": rwp,
        "rexp": rexp,
        "per_phase_rwp": _per_phase_rwp(x, y_net, w, calc, phases_for_fit),
        "calc": calc,
    }


@dataclasses.dataclass
class _Options:
    """The analysis options shared by the stages (the keyword arguments of :func:`analyze`)."""

    phases: Any
    library: Any
    expected: tuple
    alpha: float | None
    film_thickness_nm: float | None
    film_phase: str | None
    refraction: bool
    zero_offset_deg: float | None
    instrument_fwhm_deg: float | None
    min_snr: float
    profile: str
    tol_deg: float | None
    max_strain: float
    max_zero_offset_deg: float | None
    threshold: float | None
    whole_pattern: bool | str
    instrument: Any = None


@dataclasses.dataclass
class _Shortlist:
    """Stage "shortlist": the search–match result and what the later stages need of it."""

    names: dict
    refs: dict
    weights: dict
    shifts: dict
    accepted: list
    candidates: list
    unexplained: list
    tol_deg: float


@dataclasses.dataclass
class _Refined:
    """Stage "refine": per-phase cells (peak refinement) and the whole-pattern inputs."""

    phases: list
    pawley_input: list
    lebail_input: list
    peak_phase: dict
    owner: dict
    layered: dict | None
    #: {name: (d of each Pawley line at the library cell, GI weight per line or None,
    #: fault-broadened mask)}
    lines: dict = dataclasses.field(default_factory=dict)


def _reduce_stage(da, opts: _Options, rad, corrections):
    """Stage "reduce": external zero, background and peaks (with the search settings)."""
    from charsuite.xrd import _peaks as _pk

    if opts.zero_offset_deg:
        from charsuite.xrd._reduce import correct_zero

        da = correct_zero(da, offset_deg=opts.zero_offset_deg, source="external standard / user")
        corrections["zero_offset"] = {
            "value_deg": opts.zero_offset_deg,
            "source": "external standard / user",
            "refined": False,
        }
    bg, peaks = _peaks(
        da, l1=rad.wavelength_ka1_angstrom, l2=rad.wavelength_ka2_angstrom,
        ratio=rad.ka2_ratio, min_snr=opts.min_snr, profile=opts.profile,
        resolve_snr=opts.min_snr,
    )  # fmt: skip
    corrections["background"] = {
        "method": "snip (pybaselines)",
        "max_half_window_deg": 1.5,
        "mean_counts": float(np.mean(bg)),
    }
    corrections["peak_search"] = {
        "profile": opts.profile,
        "min_snr": opts.min_snr,
        "residual_search": "Ricker matched filter on the fit residual (charsuite.xrd._peaks)",
        "profile_model_error": _pk.PROFILE_MODEL_ERROR,
        "min_resolved_separation_fwhm": _pk.MIN_RESOLVED_SEPARATION,
        "min_added_significance": _pk.MIN_ADDED_SIGNIFICANCE,
        "lines_added_from_residual": sum(p.from_residual for p in peaks),
    }
    if len(peaks) < 2:
        raise DataError(
            f"{len(peaks)} peak(s) found above {opts.min_snr}σ; nothing to identify",
            path=da.attrs.get("source_file"),
        )
    return da, bg, peaks


def _references(opts: _Options, l1, lo, hi, corrections):
    """Library patterns in range, with GI weights and refraction shifts per phase."""
    from charsuite.xrd._library import reference_pattern, select_phases

    names = select_phases(opts.phases, opts.library)
    refs = {
        n: reference_pattern(
            p, wavelength_angstrom=l1, two_theta_range=(max(lo - 3, 1.0), min(hi + 3, 170.0))
        )
        for n, p in names.items()
    }
    # a phase without a reflection inside the scanned range cannot be tested: skip and list it
    skipped = sorted(
        n for n, r in refs.items() if not np.any((r.two_theta >= lo) & (r.two_theta <= hi))
    )
    refs = {n: r for n, r in refs.items() if n not in skipped}
    corrections["phases_skipped"] = {"no_reflection_in_range": skipped, "range_deg": [lo, hi]}
    weights, shifts = {}, {}
    if opts.alpha is not None:
        for n, ref in refs.items():
            film = (ref.role == "film") if opts.film_phase is None else n == opts.film_phase
            weights[n], shifts[n], _ = _gi_factors(
                ref, alpha=opts.alpha, film_thickness_nm=opts.film_thickness_nm,
                wavelength=l1, refraction=opts.refraction, film_phase=film,
            )  # fmt: skip
        corrections["grazing_incidence"] = {
            "incidence_angle_deg": opts.alpha,
            "refraction_removed": opts.refraction,
            "absorption_factor": "A(α, 2θ−α) of each phase (film thickness %s)"
            % (f"{opts.film_thickness_nm} nm" if opts.film_thickness_nm else "infinite"),
        }
    return names, refs, weights, shifts


def _shortlist_stage(peaks, opts: _Options, l1, lo, hi, corrections, exclude=None) -> _Shortlist:
    """Stage "shortlist": peak search–match against the library (:mod:`charsuite.xrd._match`).

    ``exclude``: {name: reason} of phases kept out of the pool (:func:`_identify_stages`).
    """
    from charsuite.xrd._library import fault_broadened_lines, phase_cell_range, phase_max_strain
    from charsuite.xrd._match import ACCEPT_THRESHOLD, match_phases

    names, refs, weights, shifts = _references(opts, l1, lo, hi, corrections)
    max_zero = opts.max_zero_offset_deg
    if max_zero is None:
        # fixed-incidence scans carry larger alignment/height offsets than Bragg–Brentano
        max_zero = 1.0 if opts.alpha is not None else 0.5
    max_zero = 0.0 if opts.zero_offset_deg else max_zero
    tol_deg = opts.tol_deg
    if tol_deg is None:
        # match tolerance follows the measured peak width: sharp lab patterns get a tight
        # window (fewer coincidences in crowded patterns), broad film peaks a wider one
        tol_deg = float(np.clip(np.median([p.fwhm for p in peaks]), 0.05, 0.12))
    corrections["search_match"] = {
        "tolerance_deg": tol_deg,
        "max_strain": opts.max_strain,
        "max_zero_offset_deg": max_zero,
    }
    accepted, cands, unexplained = match_phases(
        np.array([p.two_theta for p in peaks]),
        np.array([p.area for p in peaks]),
        refs,
        two_theta_range=(lo, hi),
        tol_deg=tol_deg,
        max_strain=opts.max_strain,
        max_zero_offset_deg=max_zero,
        threshold=opts.threshold or ACCEPT_THRESHOLD,
        expected=tuple(opts.expected),
        weights=weights or None,
        shifts=shifts or None,
        significance=[p.area / max(p.area_err, 1e-12) for p in peaks],
        obs_fwhm=[p.fwhm for p in peaks],
        strain={n: v for n in refs if (v := phase_max_strain(n)) is not None},
        optional={
            n: m for n, ref in refs.items() if (m := fault_broadened_lines(n, ref.hkl)).any()
        },
        cell_range={n: v for n in refs if (v := phase_cell_range(n)) is not None},
        exclude=exclude,
    )
    return _Shortlist(names, refs, weights, shifts, accepted, cands, list(unexplained), tol_deg)


def _pairs(pm, ref, peaks, owner, peak_phase):
    """(peak, line) pairs usable for the cell; labels the peaks the phase owns.

    One observed peak per reference line; peaks under two strong lines of the phase are
    labelled (overlapped) but not used for the refinement.
    """
    by_obs: dict[int, list] = {}
    for li, oi, _ in pm.matched:
        by_obs.setdefault(oi, []).append(li)
    pairs = []
    for oi, lis in by_obs.items():
        lis = sorted(lis, key=lambda i: ref.intensity[i], reverse=True)
        mine = owner.get(oi) == pm.name
        ambiguous = len(lis) > 1 and ref.intensity[lis[1]] > 0.25 * ref.intensity[lis[0]]
        if mine:
            peak_phase.setdefault(oi, (pm.name, ref.hkl[lis[0]], ambiguous))
        if not ambiguous:
            pairs.append((peaks[oi], lis[0]))
    return pairs, len(by_obs)


def _refine_cell(pm, ref, pairs, shift, *, l1, zero_offset_deg, src):
    """Least-squares cell (and zero, when enough lines) of one phase; None if it fails."""
    from charsuite.xrd._lattice import refine_lattice
    from charsuite.xrd._match import _N_CELL_PARAMS

    obs = np.array([p.two_theta - shift[li] for p, li in pairs])
    sig = np.array([max(p.two_theta_err, 2e-4) for p, li in pairs])
    refine_zero = not zero_offset_deg and obs.size >= _N_CELL_PARAMS.get(ref.crystal_system, 6) + 2
    start_zero = 0.0 if (zero_offset_deg or refine_zero) else pm.zero_offset_deg
    try:
        fit = refine_lattice(
            obs, [ref.hkl[li] for _, li in pairs], cell=ref.cell,
            crystal_system=ref.crystal_system, wavelength_angstrom=l1, sigma=sig,
            refine_zero=refine_zero, zero_offset_deg=start_zero, phase=pm.name, input_file=src,
        )  # fmt: skip
    except DataError:
        return None, False
    return fit, refine_zero


def _phase_row(pm, names, fit, refine_zero, zero, pairs, n_matched, shift, alpha):
    return {
        "name": pm.name,
        "reference": pm.reference or pm.name,
        "cif": str(names[pm.reference or pm.name]),
        "role": pm.role,
        "score": pm.score,
        "alternatives": [{"name": n, "score": sc} for n, sc in (pm.alternatives or [])],
        "matched_peaks": n_matched,
        "rwp": None,
        "lattice": fit.lattice if fit else {},
        "zero_offset_deg": zero,
        "zero_offset_err_deg": fit.zero_offset_err_deg if fit else None,
        "zero_refined": bool(fit and refine_zero),
        "peaks_used": len(pairs),
        "rms_residual_deg": fit.rms_residual_deg if fit else None,
        "refraction_shift_deg": float(np.mean(shift[[li for _, li in pairs]]))
        if pairs and alpha is not None
        else 0.0,
    }


def _refine_stage(short: _Shortlist, peaks, opts: _Options, l1, src) -> _Refined:
    """Stage "refine": cell of every shortlisted phase from its indexed peaks.

    Also the inputs of the whole-pattern fits and the layered-phase readout.
    """
    from charsuite.xrd._lattice import two_theta_of
    from charsuite.xrd._library import fault_broadened_lines
    from charsuite.xrd._wholepattern import LeBailPhase

    # peaks are labelled with the phase that explains them best in the joint fit
    owner = {oi: pm.name for pm in short.accepted for oi in (pm.owned or [])}
    out = _Refined([], [], [], {}, owner, None)
    for pm in short.accepted:
        key = pm.reference or pm.name
        ref = short.refs[key]
        pairs, n_matched = _pairs(pm, ref, peaks, owner, out.peak_phase)
        shift = short.shifts.get(key, np.zeros_like(ref.two_theta))
        fit, refine_zero = _refine_cell(
            pm, ref, pairs, shift, l1=l1, zero_offset_deg=opts.zero_offset_deg, src=src
        )
        lat = fit.lattice if fit else {}
        cell = tuple(lat[k] for k in ("a", "b", "c", "alpha", "beta", "gamma")) if fit else ref.cell
        zero = fit.zero_offset_deg if fit else pm.zero_offset_deg
        fwhm = float(np.median([p.fwhm for p, _ in pairs])) if pairs else 0.1
        pos = two_theta_of(np.array(ref.hkl, float), cell, l1) + zero + shift
        fin = np.isfinite(pos)
        out.pawley_input.append((pm.name, pos[fin], fwhm))
        gi = short.weights.get(key)
        out.lines[pm.name] = (
            np.asarray(ref.d_angstrom, float)[fin],
            None if gi is None else np.asarray(gi, float)[fin],
            fault_broadened_lines(key, ref.hkl)[fin],
        )
        # reflections ≥ 0.5 % of the phase's strongest: the rest cannot be told from the
        # background and only slow the Le Bail fit down
        strong = ref.intensity >= 0.5
        out.lebail_input.append((
            LeBailPhase(
                name=pm.name, hkl=np.array(ref.hkl, float)[strong], cell=tuple(cell),
                system=ref.crystal_system, shift=np.asarray(shift, float)[strong], fwhm=fwhm,
            ),
            zero,
        ))  # fmt: skip
        out.phases.append(
            _phase_row(pm, short.names, fit, refine_zero, zero, pairs, n_matched, shift, opts.alpha)
        )
        is_layered = ref.space_group.replace(" ", "") == "R-3m" and (
            ref.role == "film" or pm.name == opts.film_phase
        )
        if out.layered is None and is_layered and fit is not None:
            out.layered = _layered(
                pm, ref, pairs, fit, cell, zero, shift, alpha=opts.alpha, l1=l1,
                weights=short.weights.get(key, np.ones_like(ref.two_theta)),
                instrument_fwhm_deg=opts.instrument_fwhm_deg,
            )  # fmt: skip
    return out


def _same_lattice_phases(phases, refs) -> None:
    """Add ``indistinguishable_from`` to each accepted phase with isostructural twins.

    The library phases of the same space group whose declared cell range (else library
    cell) holds the phase's refined a, b, c within :data:`CELL_TOLERANCE` give the same
    line positions: the search cannot tell them apart (NMC811, LiNiO2 and, charged,
    LiCoO2), only line intensities weakly and the composition (IBA, ICP) can. The answer
    names them instead of presenting one name as certain.
    """
    from charsuite.xrd._decide_structure import CELL_TOLERANCE
    from charsuite.xrd._library import cell_length_bounds, phase_cell_range

    for ph in phases:
        lat, ref = ph.get("lattice"), refs.get(ph["reference"])
        if not lat or ref is None:
            continue
        cell = np.array([lat["a"], lat["b"], lat["c"]], float)
        twins = []
        for name, other in refs.items():
            if name == ph["reference"] or other.space_group != ref.space_group:
                continue
            lo, hi = cell_length_bounds(other.cell, phase_cell_range(name) or {}).T
            if np.all((cell >= lo * (1 - CELL_TOLERANCE)) & (cell <= hi * (1 + CELL_TOLERANCE))):
                twins.append(name)
        if twins:
            ph["indistinguishable_from"] = sorted(twins)


def _identify_stages(da, bg, peaks, opts: _Options, rad, corrections, src):
    """Stages shortlist → refine → decide, with the superset rule's alternatives heard.

    A phase the superset rule removed in favour of an accepted one challenges it on the
    whole pattern (:func:`_superset_challenges`). When an alternative fits significantly
    better, the stages run once more with the accepted phase out of the pool; the result
    is kept only if every winning alternative (or an isostructural twin of it, which the
    answer names under ``indistinguishable_from``) is then accepted by the decide stage
    (it passed all its tests) and every other phase stays accepted (a swap replaces one
    phase, it does not reshape the answer), else the first result stands. Every challenge
    is recorded in the tests of the phase it challenged (``superset_challenge``).
    """
    from charsuite.xrd._decide import ALPHA

    lo, hi = float(da.two_theta[0]), float(da.two_theta[-1])
    l1 = rad.wavelength_ka1_angstrom
    short = _shortlist_stage(peaks, opts, l1, lo, hi, corrections)
    refined = _refine_stage(short, peaks, opts, l1, src)
    kw = {"rad": rad, "incidence_deg": opts.alpha}
    zero_bound = corrections["search_match"]["max_zero_offset_deg"]
    decision = _decide(da, bg, peaks, refined, short, max_zero_offset_deg=zero_bound, **kw)
    tests = _superset_challenges(da, bg, peaks, refined, short, decision, rad, opts, src)
    lost = {n: t for n, t in tests.items() if not t["passed"]}
    if not lost:
        return short, refined, _with_challenges(decision, tests)
    exclude = {
        n: f"rejected: {t['alternative']}, which the superset rule had removed in its favour, "
        f"explains the whole pattern better (Δχ²_eff = {t['delta_chi2_eff']:.1f} > "
        f"{t['threshold']:.1f}, the {1 - ALPHA:.1%} quantile of χ²({t['free_parameters']}))"
        for n, t in lost.items()
    }
    short2 = _shortlist_stage(peaks, opts, l1, lo, hi, corrections, exclude=exclude)
    refined2 = _refine_stage(short2, peaks, opts, l1, src)
    decision2 = _decide(da, bg, peaks, refined2, short2, max_zero_offset_deg=zero_bound, **kw)
    accepted2 = {d.name for d in decision2.phases if d.accepted}
    kept = {d.name for d in decision.phases if d.accepted} - set(lost)
    by_name, by_name2 = ({c.name: c for c in sh.candidates} for sh in (short, short2))
    groups2 = {_space_group(by_name2[n], short2.refs) for n in accepted2}
    won = all(_space_group(by_name[t["alternative"]], short.refs) in groups2 for t in lost.values())
    if not (won and kept <= accepted2):
        note = "swap not made: without it the alternative or another phase is not accepted"
        tests = {n: t | ({"outcome": note} if n in lost else {}) for n, t in tests.items()}
        return short, refined, _with_challenges(decision, tests)
    first = {d.name: d for d in _with_challenges(decision, tests).phases}
    losers = [dataclasses.replace(first[n], accepted=False, reason=exclude[n]) for n in lost]
    return short2, refined2, dataclasses.replace(decision2, phases=decision2.phases + losers)


def _refined_positions(pm, short: _Shortlist, peaks, opts: _Options, l1, src):
    """2θ of a candidate's reflections at the cell refined from its matched peaks.

    As the refine stage does for the accepted phases (:func:`_refine_cell`), so that an
    alternative competes at its best cell; its search–match positions when that fails.
    """
    from charsuite.xrd._lattice import two_theta_of

    key = pm.reference or pm.name
    ref = short.refs[key]
    pairs, _ = _pairs(pm, ref, peaks, {}, {})
    shift = short.shifts.get(key, np.zeros_like(ref.two_theta))
    fit, _ = _refine_cell(
        pm, ref, pairs, shift, l1=l1, zero_offset_deg=opts.zero_offset_deg, src=src
    )
    if fit is None:
        return np.asarray(pm.search_two_theta, float)
    cell = tuple(fit.lattice[k] for k in ("a", "b", "c", "alpha", "beta", "gamma"))
    pos = two_theta_of(np.array(ref.hkl, float), cell, l1) + fit.zero_offset_deg + shift
    return pos[np.isfinite(pos)]


def _superset_challenges(da, bg, peaks, refined, short, decision, rad, opts, src) -> dict:
    """{accepted phase: the strongest challenge of a phase the superset rule removed for it}.

    The removed phases are those whose explained peaks it covers, and its twins with the
    identical explained peak set (where the FoM decided). Each alternative enters the
    accepted phases' Pawley fit at the cell refined from its own matched peaks
    (:func:`_refined_positions`, :func:`charsuite.xrd._decide.challenge_tests`).
    """
    from charsuite.xrd._decide import challenge_tests
    from charsuite.xrd._match import _N_CELL_PARAMS

    rejected = decision.rejected()
    inputs = [p for p in refined.pawley_input if p[0] not in rejected]
    by_name = {c.name: c for c in short.candidates}
    pairs = [
        (p[0], by_name[alt], p[2])
        for p in inputs
        for alt in _removed_for(by_name[p[0]], by_name, short.refs)
        if by_name[alt].search_two_theta is not None
    ]
    if not pairs:
        return {}
    x, y, s = _net(da, bg)
    l1 = rad.wavelength_ka1_angstrom
    challenges = [
        (
            name, (alt.name, _refined_positions(alt, short, peaks, opts, l1, src), w),
            _N_CELL_PARAMS.get(short.refs[alt.reference or alt.name].crystal_system, 6) + 1,
        )
        for name, alt, w in pairs
    ]  # fmt: skip
    tests = challenge_tests(
        x, y, np.maximum(s, 1e-12), inputs, challenges,
        fit=_PawleyCalc(l1=l1, l2=rad.wavelength_ka2_angstrom, ratio=rad.ka2_ratio),
        fwhm_deg=float(np.median([p.fwhm for p in peaks])),
    )  # fmt: skip
    out: dict = {}
    for (name, _, _), t in zip(challenges, tests):
        if name not in out or t["delta_chi2_eff"] > out[name]["delta_chi2_eff"]:
            out[name] = t
    return out


def _space_group(pm, refs) -> str:
    """Space group of a shortlisted candidate (second instances "X (2)" included)."""
    return refs[pm.reference or pm.name].space_group


def _removed_for(pm, by_name, refs) -> list:
    """Phases the superset rule removed in favour of ``pm``, of another space group.

    Twins and subsumed phases both count; isostructural ones give the same lines
    (``indistinguishable_from`` names them), a different structure on a related lattice
    does not.
    """
    removed = [n for n, _ in (pm.alternatives or [])] + list(pm.subsumed or [])
    return [n for n in removed if _space_group(by_name[n], refs) != _space_group(pm, refs)]


def _with_challenges(decision, tests: dict):
    """The decision with each challenge in the tests of the phase it challenged."""
    if not tests:
        return decision
    phases = [
        dataclasses.replace(d, tests=d.tests | {"superset_challenge": tests[d.name]})
        if d.name in tests
        else d
        for d in decision.phases
    ]
    return dataclasses.replace(decision, phases=phases)


def _apply_decision(refined: _Refined, short: _Shortlist, rejected: dict):
    """Drop the phases the decide stage rejected; their peaks become unexplained."""
    if not rejected:
        return
    keep = [i for i, ph in enumerate(refined.phases) if ph["name"] not in rejected]
    refined.phases = [refined.phases[i] for i in keep]
    refined.pawley_input = [refined.pawley_input[i] for i in keep]
    refined.lebail_input = [refined.lebail_input[i] for i in keep]
    for i in [i for i, v in refined.peak_phase.items() if v[0] in rejected]:
        del refined.peak_phase[i]
    freed = {i for i, n in refined.owner.items() if n in rejected}
    short.unexplained = sorted(set(short.unexplained) | freed)
    if refined.layered is not None and refined.layered["phase"] in rejected:
        refined.layered = None


def _whole_pattern_stage(da, bg, refined: _Refined, opts: _Options, rad):
    """Whole-pattern confirmation of the accepted phases: Pawley-type NNLS or Le Bail."""
    from charsuite.xrd._wholepattern import le_bail

    wp = {"method": None, "rwp": None}
    if not (opts.whole_pattern and refined.pawley_input):
        return wp
    x, y, s = _net(da, bg)
    l1, l2, ratio = rad.wavelength_ka1_angstrom, rad.wavelength_ka2_angstrom, rad.ka2_ratio
    try:
        if opts.whole_pattern != "lebail":
            raise ValueError("Pawley-type check requested")
        wp = le_bail(
            x, y, s, [ph for ph, _ in refined.lebail_input], wavelength_ka1=l1,
            wavelength_ka2=l2, ka2_ratio=ratio,
            zero_offset_deg=0.0 if opts.zero_offset_deg else float(refined.lebail_input[0][1]),
            refine_zero=not opts.zero_offset_deg,
        )  # fmt: skip
        wp["cells"] = {k: list(v) for k, v in wp["cells"].items()}
        wp["fwhm_w0_w1"] = {k: list(v) for k, v in wp["fwhm_w0_w1"].items()}
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        # default, or Le Bail failed: the Pawley-type NNLS check needs no refinement
        wp = _pawley(x, y, s, refined.pawley_input, l1=l1, l2=l2, ratio=ratio)
    wp.pop("calc", None)
    for ph in refined.phases:
        ph["rwp"] = wp["per_phase_rwp"].get(ph["name"])
    return wp


def _peak_rows(peaks, peak_phase, *, l1, zero_offset_deg):
    rows = []
    for i, p in enumerate(peaks):
        name, hkl, ambiguous = peak_phase.get(i, (None, None, False))
        d = l1 / (2 * np.sin(np.radians((p.two_theta - (zero_offset_deg or 0)) / 2)))
        rows.append({
            "two_theta": p.two_theta, "two_theta_err": p.two_theta_err, "d": float(d),
            "fwhm": p.fwhm, "fwhm_err": p.fwhm_err, "area": p.area, "area_err": p.area_err,
            "height": p.height, "phase": name, "hkl": list(hkl) if hkl is not None else None,
            "overlapped": ambiguous, "from_residual": p.from_residual,
        })  # fmt: skip
    return rows


_CANDIDATE_KEYS = (
    "name", "role", "score", "coverage", "position_agreement", "intensity_agreement",
    "chance_probability", "unique_fraction", "explained_fraction", "scale", "zero_offset_deg",
)  # fmt: skip


def _candidate_rows(cands, decision):
    tests = {d.name: d.tests for d in decision.phases}
    rejected = decision.rejected()
    return [
        {k: getattr(c, k) for k in _CANDIDATE_KEYS}
        | {
            "accepted": c.accepted and c.name not in rejected,
            "reason": rejected.get(c.name, c.reason),
            "decision": tests.get(c.name),
        }
        for c in cands
    ]


_CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")


def _rietveld_stage(da, refined: _Refined, opts: _Options, rad) -> dict:
    """Stage "refine (Rietveld)": weight fractions of the accepted phases, the pattern's Rwp.

    From :func:`charsuite.xrd.refine` (radiation as decided; a failure is reported, not raised).
    """
    from charsuite.exceptions import CharsuiteError
    from charsuite.xrd._rietveld import refine

    # every instance is its own Rietveld phase ("LiMn2O4 (2)": a second cell, own scale)
    names = [ph["name"] for ph in refined.phases]
    if not names:
        return {"rwp": None, "message": "no accepted phase"}
    # start from the peak-refinement cells: a charged cathode's cell lies percents away
    start = {
        ph["name"]: {k: v for k, v in ph["lattice"].items() if k in _CELL_KEYS}
        for ph in refined.phases
        if ph["lattice"]
    }
    try:
        res = refine(
            da, phases=names, radiation=rad.lines, incidence_angle_deg=opts.alpha,
            film_thickness_nm=opts.film_thickness_nm, library=opts.library,
            instrument=opts.instrument, start_cells=start,
        )  # fmt: skip
    except (CharsuiteError, ValueError, np.linalg.LinAlgError) as err:
        return {"rwp": None, "message": f"Rietveld refinement failed: {err}"}
    wf = {
        p.name: {"value": p.weight_fraction, "uncertainty": p.weight_fraction_esd}
        for p in res.phases
    }
    for ph in refined.phases:
        ph["weight_fraction"] = wf.get(ph["name"])
    return {
        "rwp": res.rwp,
        "gof": res.gof,
        "converged": res.converged,
        "message": res.message,
        "notes": list(res.notes),
        "cells": {p.name: p.cell for p in res.phases},
    }


def _radiation_stage(da, radiation, wavelength_angstrom):
    """Stage "read radiation": Kα1 / Kα1+Kα2 (:mod:`charsuite.xrd._radiation`) and its record."""
    rad = decide_radiation(da, mode=radiation, wavelength_angstrom=wavelength_angstrom)
    corrections: dict[str, Any] = {
        "wavelength": {
            "ka1_angstrom": rad.wavelength_ka1_angstrom,
            "ka2_angstrom": rad.wavelength_ka2_angstrom,
            "ka2_ratio": rad.ka2_ratio,
            "source": rad.wavelength_source,
            "ka2_handling": "fitted as doublet" if rad.ka2_ratio > 0 else "none (Kα1 only)",
            "ka2_decided_by": rad.source,
        },
    }
    if "estimate_sigma" in da.attrs.get("corrections", {}):
        corrections["estimate_sigma"] = da.attrs["corrections"]["estimate_sigma"]
    return rad, corrections


def _serial_blas(func):
    """Run ``func`` with BLAS/LAPACK limited to one thread (threadpoolctl).

    The analysis makes many small dense products and factorisations (Pawley Gram matrix and
    eigendecomposition, peak-fit and radiation-test least squares): on a busy two-core
    machine a threaded OpenBLAS makes a 270 × 270 ``eigh`` take ~1 s instead of 6 ms
    (measured), as :func:`charsuite.xrd.refine` already found for its SVDs.
    """
    import functools

    @functools.wraps(func)
    def serial(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return serial


@_serial_blas
def analyze(
    da,
    *,
    phases=None,
    library=None,
    expected=(),
    incidence_angle_deg: float | None = None,
    film_thickness_nm: float | None = None,
    film_phase: str | None = None,
    refraction: bool = True,
    zero_offset_deg: float | None = None,
    wavelength_angstrom: float | None = None,
    instrument_fwhm_deg: float | None = None,
    min_snr: float = 4.0,
    profile: str = "pseudo_voigt",
    tol_deg: float | None = None,
    max_strain: float = 0.01,
    max_zero_offset_deg: float | None = None,
    threshold: float | None = None,
    whole_pattern: bool | str = True,
    radiation: str = "auto",
    refine: bool = False,
    instrument=None,
) -> XRDAnalysis:
    """Identify phases in a 1D scan and refine them; see the module docstring for conventions.

    Parameters
    ----------
    da : DataArray
        1D scan from :func:`charsuite.io.read`.
    phases : list of str, optional
        Restrict the search to these library phases (default: whole library).
    library : path or list, optional
        Extra CIFs or folders.
    expected : sequence of str
        Phases expected in the sample (substrates): lower acceptance threshold.
    incidence_angle_deg : float, optional
        Fixed incidence α (deg); default from the file; None = symmetric geometry.
    film_thickness_nm : float, optional
        Thickness of the film phase for the absorption factor (infinite if None).
    film_phase : str, optional
        Which phase is the film (default: the first accepted phase with role "film").
    refraction : bool
        Remove the GI refraction shift per phase before refinement.
    zero_offset_deg : float, optional
        Known zero offset (e.g. from :func:`calibrate_zero`); it is subtracted and fixed.
        None: refined with each phase's cell.
    wavelength_angstrom : float, optional
        Overrides the file (Kα1).
    instrument_fwhm_deg : float, optional
        Instrumental FWHM removed before Scherrer (deg). None: 0.05° is assumed and
        reported as an assumption.
    min_snr, profile, tol_deg, max_strain, max_zero_offset_deg, threshold
        Peak detection / search–match options (:mod:`charsuite.xrd._match`). ``tol_deg``
        defaults to the median fitted FWHM clipped to 0.05–0.12°; ``max_zero_offset_deg``
        to 1.0° for fixed-incidence scans and 0.5° otherwise (sample height errors of
        real Bragg–Brentano scans reach a few tenths of a degree).
    whole_pattern : bool or str
        Whole-pattern confirmation: True or ``"pawley"`` — Pawley-type NNLS with the cells
        and widths of the peak refinement (fast, default); ``"lebail"`` — Le Bail fit that
        also refines cells, zero and profile widths (:mod:`charsuite.xrd._wholepattern`,
        seconds per scan; falls back to Pawley-type if it fails); False — none.
    radiation : {"auto", "ka1", "ka12"}
        Kα1 only or Kα1 + Kα2: ``"auto"`` decides from the data, then the file's statement,
        else assumes the doublet (:func:`charsuite.xrd._radiation.decide_radiation`).
    refine : bool
        Rietveld refinement of the accepted phases (:func:`charsuite.xrd.refine`): each
        phase gains ``weight_fraction`` {value, uncertainty}; ``rietveld`` holds the
        pattern's Rwp, GoF and convergence.
    instrument : Instrument, optional
        Instrument profile from a standard (:func:`charsuite.xrd.load_instrument`): its
        zero is applied unless ``zero_offset_deg`` is given, its TCH width at each line
        (:meth:`~charsuite.xrd.Instrument.fwhm_deg`) replaces ``instrument_fwhm_deg`` for
        Scherrer/Williamson–Hall, and the Rietveld stage fixes U, V, W, X, Y to it.

    Returns
    -------
    XRDAnalysis

    Raises
    ------
    DataError
        Not a diffraction scan (reflectivity, rocking curve, 2D map), empty or NaN data.
    """
    from charsuite.xrd._reduce import check_scan, estimate_sigma

    check_scan(da)
    da = estimate_sigma(da)
    md = da.attrs.get("metadata", {})
    src = da.attrs.get("source_file")
    alpha = (
        incidence_angle_deg if incidence_angle_deg is not None else md.get("incidence_angle_deg")
    )
    if alpha is not None and not 0 < alpha < 45:
        raise ParameterError(f"incidence angle {alpha}° must be in (0, 45)")
    if whole_pattern not in (True, False, "pawley", "lebail"):
        raise ParameterError(
            f"whole_pattern={whole_pattern!r}; use True/'pawley', 'lebail' or False"
        )
    if instrument is not None:
        zero_offset_deg = instrument.zero_deg if zero_offset_deg is None else zero_offset_deg
        instrument_fwhm_deg = (
            instrument.fwhm_deg if instrument_fwhm_deg is None else instrument_fwhm_deg
        )
    opts = _Options(
        phases, library, tuple(expected), alpha, film_thickness_nm, film_phase, refraction,
        zero_offset_deg, instrument_fwhm_deg, min_snr, profile, tol_deg, max_strain,
        max_zero_offset_deg, threshold, whole_pattern, instrument,
    )  # fmt: skip
    rad, corrections = _radiation_stage(da, radiation, wavelength_angstrom)
    l1 = rad.wavelength_ka1_angstrom
    da, bg, peaks = _reduce_stage(da, opts, rad, corrections)
    short, refined, decision = _identify_stages(da, bg, peaks, opts, rad, corrections, src)
    _apply_decision(refined, short, decision.rejected())
    _same_lattice_phases(refined.phases, short.refs)
    wp = _whole_pattern_stage(da, bg, refined, opts, rad)
    rietveld = _rietveld_stage(da, refined, opts, rad) if refine else None
    peak_rows = _peak_rows(peaks, refined.peak_phase, l1=l1, zero_offset_deg=zero_offset_deg)
    # unidentified = unexplained *and* significant (fitted area ≥ 3σ); weaker bumps are noise
    unid = [
        peak_rows[i] | {"index": int(i)}
        for i in short.unexplained
        if peak_rows[i]["area"] >= 3 * (peak_rows[i]["area_err"] or 0.0)
    ]
    if refined.layered is not None:
        size = refined.layered["crystallite_size_nm"]
        corrections["instrument_broadening"] = {
            "fwhm_deg": size["instrument_fwhm_deg"],
            "source": size["instrument_fwhm_source"],
        }
    return XRDAnalysis(
        file=str(src) if src else "",
        format=str(da.attrs.get("format", "")),
        wavelength_angstrom=l1,
        incidence_angle_deg=alpha,
        phases=refined.phases,
        candidates=_candidate_rows(short.candidates, decision),
        peaks=peak_rows,
        layered=refined.layered,
        unidentified_peaks=unid,
        corrections=corrections,
        whole_pattern=wp,
        library_gap=decision.library_gap,
        rietveld=rietveld,
        radiation={
            "lines": rad.lines,
            "ka2_ratio": rad.ka2_ratio,
            "source": rad.source,
            "evidence": rad.evidence,
        },
        history=[
            *da.attrs.get("history", []),
            history_record(
                "analyze",
                function="charsuite.xrd.analyze",
                input_file=src,
                parameters={
                    "phases": phases,
                    "expected": list(expected),
                    "incidence_angle_deg": alpha,
                    "film_thickness_nm": film_thickness_nm,
                    "refraction": refraction,
                    "zero_offset_deg": zero_offset_deg,
                    "min_snr": min_snr,
                    "profile": profile,
                    "tol_deg": short.tol_deg,
                    "max_strain": max_strain,
                    "max_zero_offset_deg": corrections["search_match"]["max_zero_offset_deg"],
                    "radiation": radiation,
                    "instrument": None
                    if instrument is None
                    else (instrument.source_file or instrument.standard or "given"),
                },
            ),
        ],
    )


def _layered(pm, ref, pairs, fit, cell, zero, shift, *, alpha, l1, weights, instrument_fwhm_deg):
    """Layered R-3m readout: a, c, c/a, (003) shift, I(003)/I(104), splittings, texture, size."""
    from charsuite.xrd._lattice import two_theta_of

    lat = fit.lattice
    by_hkl = {tuple(ref.hkl[li]): p for p, li in pairs}
    # (003) shift versus the library reference, after zero (and refraction) removal
    tth_ref_003 = float(two_theta_of([(0, 0, 3)], ref.cell, l1)[0])
    p003 = by_hkl.get((0, 0, 3))
    li003 = next((i for i, h in enumerate(ref.hkl) if tuple(h) == (0, 0, 3)), None)
    shift_003 = None
    if p003 is not None and li003 is not None:
        shift_003 = float(p003.two_theta - zero - shift[li003] - tth_ref_003)
    p104 = by_hkl.get((1, 0, 4))
    ratio = (
        float(p003.area / p104.area)
        if (p003 is not None and p104 is not None and p104.area > 0)
        else None
    )
    ratio_err = None
    if ratio is not None:
        ratio_err = ratio * float(np.hypot(p003.area_err / p003.area, p104.area_err / p104.area))

    def split(h1, h2):
        t = two_theta_of([h1, h2], cell, l1)
        obs = (
            (by_hkl[h1].two_theta - by_hkl[h2].two_theta)
            if (h1 in by_hkl and h2 in by_hkl)
            else None
        )
        return {
            "calc_deg": float(t[1] - t[0]),
            "observed_deg": None if obs is None else float(-obs),
        }

    texture = _texture(pairs, ref, cell, alpha=alpha, weights=weights)
    size = _size(pairs, ref, l1, instrument_fwhm_deg)
    gi_note = (
        "measured in fixed-incidence geometry: each reflection is recorded at its own tilt ψ = θ − α, so "
        "I(003)/I(104) mixes texture with cation mixing; do not read it as Li/Ni exchange without the texture correction"
    )
    return {
        "phase": pm.name,
        "a": lat["a"],
        "a_err": lat["a_err"],
        "c": lat["c"],
        "c_err": lat["c_err"],
        "c_over_a": lat["c"] / lat["a"],
        "c_over_a_err": lat["c"]
        / lat["a"]
        * float(np.hypot(lat["a_err"] / lat["a"], lat["c_err"] / lat["c"])),
        "reference_a": ref.cell[0],
        "reference_c": ref.cell[2],
        "shift_003_deg": shift_003,
        "shift_003_note": "observed − reference (003), zero and refraction removed; negative = lower angle = expanded c",
        "i003_i104": ratio,
        "i003_i104_err": ratio_err,
        "i003_i104_note": gi_note
        if alpha is not None
        else "symmetric geometry; texture still affects the ratio",
        "splitting_006_012": split((0, 0, 6), (0, 1, 2)),
        "splitting_018_110": split((0, 1, 8), (1, 1, 0)),
        "texture": texture,
        "crystallite_size_nm": size,
    }


def _size(pairs, ref, l1, instrument_fwhm_deg, k_shape: float = 0.9):
    # a callable is an instrument profile (Instrument.fwhm_deg): its width at each line
    per_line = callable(instrument_fwhm_deg)
    inst = 0.05 if instrument_fwhm_deg is None or per_line else float(instrument_fwhm_deg)
    source = (
        "assumed 0.05° (pass instrument_fwhm_deg measured on a standard in the same geometry)"
        if instrument_fwhm_deg is None
        else "instrument file (TCH width at each line; median reported)"
        if per_line
        else "user / standard"
    )
    rows = []
    widths = []
    for p, li in pairs:
        if per_line:
            inst = float(np.asarray(instrument_fwhm_deg(p.two_theta)).ravel()[0])
            widths.append(inst)
        beta_deg = p.fwhm**2 - inst**2
        if beta_deg <= 0:
            continue
        beta = np.radians(np.sqrt(beta_deg))
        th = np.radians(p.two_theta / 2)
        rows.append((tuple(ref.hkl[li]), th, beta, k_shape * l1 / (beta * np.cos(th)) / 10.0))
    out = {
        "method": "Scherrer K=0.9, quadratic instrument removal; Williamson–Hall β cosθ = Kλ/D + 4ε sinθ",
        "instrument_fwhm_deg": float(np.median(widths)) if widths else inst,
        "instrument_fwhm_source": source,
        "scherrer": {},
        "williamson_hall": None,
    }
    for hkl, _, _, d in rows:
        out["scherrer"]["".join(str(v) for v in hkl)] = float(d)
    l00 = [d for hkl, _, _, d in rows if hkl[0] == 0 and hkl[1] == 0]
    hk0 = [d for hkl, _, _, d in rows if hkl[2] == 0]
    out["along_c_nm"] = float(np.mean(l00)) if l00 else None
    out["in_plane_nm"] = float(np.mean(hk0)) if hk0 else None
    out["mean_nm"] = float(np.median([d for *_, d in rows])) if rows else None
    if len(rows) >= 3:
        th = np.array([r[1] for r in rows])
        b = np.array([r[2] for r in rows])
        a_mat = np.c_[np.ones_like(th), 4 * np.sin(th)]
        coef, *_ = np.linalg.lstsq(a_mat, b * np.cos(th), rcond=None)
        out["williamson_hall"] = {
            "size_nm": float(k_shape * l1 / coef[0] / 10.0) if coef[0] > 0 else None,
            "microstrain": float(coef[1]),
            "n_peaks": len(rows),
        }
    return out


def lattice_of(da, *, phase: str, **kwargs) -> dict:
    """Refine one phase of a scan; return the ``charsuite xrd lattice`` JSON dict.

    Runs :func:`analyze` restricted to ``phase`` (threshold lowered to 0.2: the user
    asserts the phase is present) and returns ``{"file", "phase", "lattice",
    "zero_offset_deg", "peaks_used", "history"}``.

    Parameters
    ----------
    da : DataArray
        1D scan over ``two_theta`` (deg).
    phase : str
        Library phase to refine.
    **kwargs
        Passed to :func:`analyze` (``threshold`` defaults to 0.2).

    Returns
    -------
    dict
        ``file``, ``phase``, ``lattice`` (Å, deg), ``zero_offset_deg``,
        ``zero_offset_err_deg``, ``peaks_used``, ``rms_residual_deg``, ``radiation`` and
        ``history``.

    Raises
    ------
    DataError
        The phase's lines are not found in the scan.
    """
    kwargs.setdefault("threshold", 0.2)
    res = analyze(da, phases=[phase], expected=(phase,), **kwargs)
    if not res.phases or not res.phases[0]["lattice"]:
        reason = res.candidates[0]["reason"] if res.candidates else "no candidate"
        raise DataError(
            f"phase {phase} not found or not refinable in this scan ({reason})",
            path=da.attrs.get("source_file"),
        )
    ph = res.phases[0]
    return {
        "file": res.file,
        "phase": ph["name"],
        "lattice": ph["lattice"],
        "zero_offset_deg": ph["zero_offset_deg"],
        "zero_offset_err_deg": ph["zero_offset_err_deg"],
        "peaks_used": ph["peaks_used"],
        "rms_residual_deg": ph["rms_residual_deg"],
        "radiation": res.radiation,
        "history": res.history,
    }
