"""Rietveld refinement of a 3-phase, 7001-point scan to convergence, on one core.

Setup (untimed): one Al2O3 + Si + NiO scan (2θ 10–80°, 0.01°, Cu Kα1+Kα2) written by the
xrayutilities-only generator (:mod:`charsuite.datasets.xrd_independent`).

Target: :func:`charsuite.xrd.refine` (variable projection; per phase scale, cell, B,
size, strain; U, V, W, displacement, 6 Chebyshev terms), run to its convergence test.
Baseline: xrayutilities ``PowderModel.fit`` (lmfit leastsq with finite differences,
``maxfev=200``) on the same scan and phases, refining phase volumes, free cell parameters,
the Lorentzian crystallite size and a 4-term polynomial background (its nearest model;
xrayutilities has no B/U, V, W refinement in the FP profile), one worker process. Both
sides run with BLAS/LAPACK limited to one thread (threadpoolctl).
"""

from __future__ import annotations

from benchmarks import Case

PHASES = {"Al2O3": 0.5, "Si": 0.3, "NiO": 0.2}


def _setup(workdir):
    from charsuite.datasets.xrd_independent import as_scan, independent_powder_scan

    x, y, truth = independent_powder_scan(PHASES, b_iso=0.5, seed=21)
    return as_scan(x, y, truth=truth)


def _charsuite(da):
    from threadpoolctl import threadpool_limits

    from charsuite.xrd import refine

    with threadpool_limits(limits=1):
        res = refine(da, phases=list(PHASES))
    assert res.converged, res.message


def _xrayutilities(da):
    import numpy as np
    import xrayutilities as xu

    from charsuite.datasets.xrd_independent import _crystal_from_cif

    xu.config.NTHREADS = 1
    powders = []
    for name in PHASES:
        cr = _crystal_from_cif(name, 0.5)
        cr.name = name
        powders.append(xu.simpack.Powder(cr, 1.0 / len(PHASES), crystallite_size_lor=100e-9))
    pm = xu.simpack.PowderModel(*powders, I0=float(da.max()) * 10)
    pm.set_background("polynomial", p=[float(np.percentile(da.values, 10)), 0.0, 0.0, 0.0])
    params = pm.create_fitparameters()
    for p in params.values():
        p.set(vary=False)
    for name in PHASES:
        params[f"phase_{name}_volume"].set(vary=True, min=0)
        params[f"phase_{name}_a"].set(vary=True)
        params[f"phase_{name}_b"].set(expr=f"phase_{name}_a")
        if name == "Al2O3":
            params[f"phase_{name}_c"].set(vary=True)
        elif f"phase_{name}_c" in params:
            params[f"phase_{name}_c"].set(expr=f"phase_{name}_a")
    params["emission_crystallite_size_lor"].set(vary=True, min=1e-9, max=1e-6)
    params["primary_beam_intensity"].set(vary=True)
    for k in range(4):
        params[f"background_coeff_{k}"].set(vary=True)
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(limits=1):
            pm.fit(params, da.two_theta.values, da.values, std=np.sqrt(np.maximum(da.values, 1)))
    finally:
        pm.close()


CASES = {
    "three_phase_7000": Case(
        description="Rietveld, Al2O3+Si+NiO, 7001 points, to convergence: charsuite.xrd.refine "
        "(target) vs xrayutilities PowderModel.fit (lmfit, finite differences; baseline)",
        setup=_setup,
        baseline=_xrayutilities,
        target=_charsuite,
        repeat=1,
    ),
}
