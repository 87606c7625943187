"""Numerics of the Rietveld model checked against independent computations.

The windowed line profiles against ``xrd.pseudo_voigt`` and a numerically integrated window
area; their analytic derivatives and the model Jacobian (line-table differences chained to
the profile derivatives) against central differences of the whole model; the per-element
structure-factor sum against the textbook per-atom sum written out here.
"""

from __future__ import annotations

import numpy as np
import pytest

CU = 1.540598


def _window_norm(fwhm, eta, k):
    """Area of a unit-area pseudo-Voigt inside ±k·FWHM, by numerical quadrature."""
    from scipy.integrate import quad

    from charsuite.xrd import pseudo_voigt

    return quad(lambda t: pseudo_voigt(t, 0.0, fwhm, 1.0, eta), -k * fwhm, k * fwhm, limit=400)[0]


def test_line_windows_equal_pseudo_voigt_over_window_area():
    from charsuite.xrd import pseudo_voigt
    from charsuite.xrd._profile_tch import WINDOW_FWHM, line_windows

    x = np.arange(10.0, 80.0, 0.005)
    centers = np.array([10.2, 33.3, 47.0, 79.95])
    fwhm = np.array([0.04, 0.25, 0.11, 0.6])
    eta = np.array([0.0, 0.4, 1.0, 0.7])
    lw = line_windows(x, centers, fwhm, eta)
    for i in range(len(centers)):
        m = lw.owner == i
        xs = x[lw.idx[m]]
        assert np.all(np.abs(xs - centers[i]) <= WINDOW_FWHM * fwhm[i] + 1e-12)
        # every grid point inside the window is there (no padding, no gap)
        inside = np.flatnonzero(np.abs(x - centers[i]) <= WINDOW_FWHM * fwhm[i])
        assert np.array_equal(np.sort(lw.idx[m]), inside)
        ref = pseudo_voigt(xs, centers[i], fwhm[i], 1.0, eta[i])
        ref /= _window_norm(fwhm[i], eta[i], WINDOW_FWHM)
        np.testing.assert_allclose(lw.val[m], ref, rtol=1e-7, atol=1e-12 * ref.max())
    # a line far from the edges keeps unit area on a fine grid
    m = lw.owner == 2
    assert np.sum(lw.val[m]) * 0.005 == pytest.approx(1.0, abs=2e-4)


def test_profile_derivatives_match_central_differences():
    from charsuite.xrd import pseudo_voigt
    from charsuite.xrd._profile_tch import WINDOW_FWHM, line_windows

    x = np.arange(20.0, 60.0, 0.01)
    c, w, e = 40.013, 0.21, 0.37
    lw = line_windows(x, np.array([c]), np.array([w]), np.array([e]), derivatives=True)
    xs = x[lw.idx]

    def prof(cc, ww, ee):  # the same window points, independent normalisation
        return pseudo_voigt(xs, cc, ww, 1.0, ee) / _window_norm(ww, ee, WINDOW_FWHM)

    for got, args_hi, args_lo, h in (
        (lw.d_center, (c + 1e-5, w, e), (c - 1e-5, w, e), 1e-5),
        (lw.d_fwhm, (c, w + 1e-6, e), (c, w - 1e-6, e), 1e-6),
        (lw.d_eta, (c, w, e + 1e-5), (c, w, e - 1e-5), 1e-5),
    ):
        num = (prof(*args_hi) - prof(*args_lo)) / (2 * h)
        scale = np.abs(num).max()
        np.testing.assert_allclose(got, num, atol=2e-5 * scale)


@pytest.fixture(scope="module", params=[None, (0.02, 0.015)], ids=["symmetric", "fcj"])
def layered_problem(request):
    """A small NMC811 + Al2O3 problem (Kα1+Kα2, fixed incidence, texture on NMC811),
    with symmetric lines and with the FCJ axial-divergence asymmetry."""
    from charsuite.datasets.xrd_independent import as_scan, independent_powder_scan
    from charsuite.xrd import _rietveld as rv
    from charsuite.xrd import _rietveld_fit as rf
    from charsuite.xrd._instrument import Instrument

    x, y, _ = independent_powder_scan(
        {"NMC811": 0.7, "Al2O3": 0.3},
        x_exchange=0.04,
        two_theta=np.arange(15, 70.001, 0.02),
        incidence_angle_deg=2.0,
        seed=2,
    )
    da = as_scan(x, y)
    inst = Instrument()
    xs, ys, wt = rv._scan_arrays(da)
    geom = rv._geometry("ka12", inst, 2.0, 500.0, 240.0, request.param)
    setups, _ = rv._phase_setups(["NMC811", "Al2O3"], None, xs, geom, {"NMC811": (0, 0, 1)})
    gspecs, fixed = rv._global_specs(
        inst, geom, instrument_given=False, refine_ka2=True, refine_zero=None
    )
    specs = gspecs + [s for ph in setups for s in rv._phase_specs(ph, mixing=True)]
    prob = rf.Problem(xs, ys, wt, setups, geom, 4, specs, fixed)
    # move away from the start values so that no parameter sits on a kink
    values = prob.values(np.zeros(0), [])
    values.update({"U": 0.01, "V": -0.004, "W": 0.006, "zero_deg": 0.03, "NMC811.march_r": 0.8})
    return prob, values


def test_model_jacobian_matches_central_differences(layered_problem):
    """∂(A·c)/∂p from line-table differences + analytic profile derivatives vs the model."""
    from charsuite.xrd import _rietveld_model as rm
    from charsuite.xrd._profile_tch import WINDOW_FWHM

    prob, values = layered_problem
    _, coef, lines = prob.model(values, derivatives=True)
    names = [s.name for s in prob.specs]
    jac = prob.model_jacobian(values, names, coef, lines)
    by = {s.name: s for s in prob.specs}
    # the model's windows (±25 FWHM) gain or lose a grid point at their edges when a
    # width changes — a jump the Jacobian (windows held fixed) rightly ignores: compare
    # away from every window edge
    step = float(np.median(np.diff(prob.x)))
    edges = []
    for pl in lines:
        center, fwhm, *_ = rm.sublines(pl.table, pl.select, prob.geom)
        edges += [center - WINDOW_FWHM * fwhm, center + WINDOW_FWHM * fwhm]
    edges = np.concatenate(edges)
    edges.sort()
    pos = np.clip(np.searchsorted(edges, prob.x), 1, len(edges) - 1)
    gap = np.minimum(np.abs(prob.x - edges[pos - 1]), np.abs(prob.x - edges[pos]))
    away = gap > 3 * step
    for j, name in enumerate(names):
        h = by[name].step * 0.05
        cols = []
        for sign in (1, -1):
            v = dict(values)
            v[name] = v[name] + sign * h
            am, _ = rm.design_matrix(prob.x, prob.phases, v, prob.geom, prob.n_bkg)
            cols.append(am @ coef)
        num = (cols[0] - cols[1]) / (2 * h)
        err = np.abs(jac[away, j] - num[away]).max() / max(np.abs(num).max(), 1e-300)
        assert err < 1e-3, (name, err)


def test_structure_factor_per_element_equals_per_atom_sum():
    """|F|² per line: the per-element sum (cached phase matrix) vs Σ_j over atoms, written out."""
    from charsuite.xrd import _structure as st
    from charsuite.xrd import list_phases, load_structure

    struct = load_structure(list_phases()["NMC811"])
    ph = st.build_phase("NMC811", struct, two_theta_max=90, wavelength=CU)
    assert ph.layered is not None
    cell = (2.875, 2.875, 14.21, 90.0, 90.0, 120.0)
    sp = st.SiteParams(b_overall=0.45, b_oxygen=0.8, x_exchange=0.06, o_z=0.2591)
    q = 2 * np.pi * np.linalg.norm(ph.hkl @ st.reciprocal_matrix(cell), axis=1)
    fmat = st.scattering_factors(ph.elements, q, 8047.8)
    got = st.line_strengths(ph, cell, sp, fmat)
    occ, frac, b = st.atom_state(ph, sp)
    s2 = (q / (4 * np.pi)) ** 2
    f2 = np.zeros(len(ph.hkl))
    for h in range(len(ph.hkl)):
        amp = 0j
        for j in range(len(occ)):
            f = fmat[ph.atom_element[j], h]
            amp += occ[j] * f * np.exp(-b[j] * s2[h]) * np.exp(2j * np.pi * ph.hkl[h] @ frac[j])
        f2[h] = abs(amp) ** 2
    want = np.bincount(ph.group, weights=f2, minlength=ph.n_lines)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9 * want.max())


@pytest.mark.parametrize(
    ("two_theta", "s_l", "h_l"), [(20.0, 0.03, 0.02), (35.0, 0.02, 0.02), (120.0, 0.03, 0.01)]
)
def test_fcj_kernel_matches_ray_tracing(two_theta, s_l, h_l):
    """FCJ kernel vs a Monte Carlo of its geometry (written here, no FCJ formula used).

    Sample point at height z ∈ [−S, S] on the axis, incident beam in the equatorial plane,
    diffracted rays uniform in azimuth on the Debye cone of half-angle 2θ, kept when they
    reach the receiving slit |z| ≤ H at radius L = 1; observed angle = in-plane angle.
    """
    from charsuite.xrd._profile_tch import fcj_kernel

    rng = np.random.default_rng(1)
    n = 2_000_000
    t = np.radians(two_theta)
    z0 = rng.uniform(-s_l, s_l, n)
    psi = rng.uniform(0, 2 * np.pi, n)
    dx, dy, dz = np.cos(t), np.sin(t) * np.cos(psi), np.sin(t) * np.sin(psi)
    keep = np.abs(z0 + dz / np.hypot(dx, dy)) <= h_l
    seen = np.degrees(np.arctan2(np.abs(dy[keep]), dx)) - two_theta
    off, w = fcj_kernel([two_theta], s_l, h_l)
    mean = float(np.sum(off * w))
    sd = float(np.sqrt(np.sum(off**2 * w) - mean**2))
    assert mean == pytest.approx(seen.mean(), rel=0.01)
    assert sd == pytest.approx(seen.std(), rel=0.01)
    # the kernel convolved with a narrow Gaussian (FWHM 0.05°) vs the ray-traced histogram
    x = np.linspace(seen.min() - 0.1, seen.max() + 0.1, 400)
    g = 0.05 / 2.3548
    hist, edges = np.histogram(seen, bins=300)
    mid = (edges[1:] + edges[:-1]) / 2
    ref = (hist / hist.sum()) @ np.exp(-0.5 * ((x[None, :] - mid[:, None]) / g) ** 2)
    got = w[0] @ np.exp(-0.5 * ((x[None, :] - off[0][:, None]) / g) ** 2)
    assert np.abs(got - ref).max() < 0.015 * ref.max()


def test_axial_divergence_option():
    """(0, 0) is the symmetric model; bad values are refused."""
    from charsuite.datasets.xrd_independent import as_scan, independent_powder_scan
    from charsuite.exceptions import ParameterError
    from charsuite.xrd import refine

    x, y, _ = independent_powder_scan({"Si": 1.0}, two_theta=np.arange(20, 60.001, 0.02), seed=4)
    da = as_scan(x, y)
    plain = refine(da, phases=["Si"], max_nfev=5)
    zero = refine(da, phases=["Si"], max_nfev=5, axial_divergence=(0.0, 0.0))
    assert zero.rwp == plain.rwp
    for bad in ((0.02,), (-0.01, 0.02), (0.6, 0.02)):
        with pytest.raises(ParameterError, match="axial_divergence"):
            refine(da, phases=["Si"], axial_divergence=bad)


def test_cli_refine_axial_divergence(tmp_path, capsys):
    """--axial-divergence S/L,H/L reaches the model; malformed or out-of-range values exit 2."""
    import json

    from charsuite.cli import main
    from charsuite.datasets.xrd import write_xy
    from charsuite.datasets.xrd_independent import independent_powder_scan

    x, y, _ = independent_powder_scan({"Si": 1.0}, two_theta=np.arange(20, 60.001, 0.02), seed=4)
    path = write_xy(tmp_path / "si.xy", x, y)
    outs = {}
    for tag, extra in (("plain", []), ("fcj", ["--axial-divergence", "0.03,0.03"])):
        out = tmp_path / f"{tag}.json"
        args = ["--quiet", "xrd", "refine", str(path), "--phases", "Si", "--json", str(out)]
        assert main(args + extra) == 0
        outs[tag] = json.loads(out.read_text())
    assert outs["fcj"]["rwp"] != outs["plain"]["rwp"]
    for bad in ("abc", "0.9,0.1"):
        assert main(["xrd", "refine", str(path), "--phases", "Si", "--axial-divergence", bad]) == 2
        assert "axial" in capsys.readouterr().err.lower()
