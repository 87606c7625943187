"""GI-XRD identification throughput on 7000-point scans against the full library.

Setup (untimed): 4 generated GI-XRD scans (2θ 10–80°, step 0.01°, 7001 points) read into
memory, one warm-up identification (fills the reference-pattern cache, imports).
"""

from __future__ import annotations

import contextlib

from benchmarks import Case

N_SCANS = 4


def _setup(workdir):
    import os

    from charsuite.datasets.xrd import generate_gixrd
    from charsuite.io import read
    from charsuite.xrd import analyze

    os.environ["CHARSUITE_CACHE_DIR"] = str(workdir / "cache")  # private disk cache
    scans = []
    for i, sub in enumerate(["sapphire", "steel", "sapphire", "steel"][:N_SCANS]):
        paths, _ = generate_gixrd(
            workdir, name=f"s{i}", formats=("xrdml",), substrate=sub, seed=i, c=14.20 + 0.01 * i
        )
        scans.append(read(paths[0]))
    analyze(scans[0], whole_pattern=False)
    return scans


def _identify(scans, *, whole_pattern=False, cache=True):
    from charsuite.xrd import analyze, clear_cache

    for da in scans:
        if not cache:
            clear_cache(disk=True)  # the naive approach: simulate the whole library for every scan
        analyze(da, whole_pattern=whole_pattern)


CASES = {
    "identify_cached": Case(
        description=f"search–match + peak-based lattice refinement of {N_SCANS} scans, cached library "
        "(target) vs re-simulating the library for every scan (baseline)",
        setup=_setup,
        baseline=lambda s: _identify(s, cache=False),
        target=lambda s: _identify(s),
        repeat=2,
    ),
    "identify_lebail": Case(
        description="as identify_cached with the Le Bail confirmation (target) vs the "
        "Pawley-type confirmation (baseline)",
        setup=_setup,
        baseline=lambda s: _identify(s, whole_pattern=True),
        target=lambda s: _identify(s, whole_pattern="lebail"),
        repeat=1,
    ),
    "identify_whole_pattern": Case(
        description="as identify_cached, with the Pawley-type whole-pattern confirmation (target) vs without (baseline)",
        setup=_setup,
        baseline=lambda s: _identify(s),
        target=lambda s: _identify(s, whole_pattern=True),
        repeat=2,
    ),
}


def _setup_peaks(workdir):
    """Scans as above, peaks already fitted (untimed): isolates search–match + refinement."""
    from charsuite.xrd._analysis import _peaks, _wavelengths

    scans = _setup(workdir)
    out = []
    for da in scans:
        l1, l2, ratio, _ = _wavelengths(da)
        _, peaks = _peaks(
            da, l1=l1, l2=l2, ratio=ratio, min_snr=4.0, profile="pseudo_voigt", resolve_snr=4.0
        )
        out.append((da, peaks, l1))
    return out


def _match_refine(state, *, cache=True):
    from charsuite.exceptions import DataError
    from charsuite.xrd import (
        clear_cache,
        list_phases,
        match_phases,
        reference_pattern,
        refine_lattice,
    )

    for da, peaks, l1 in state:
        if not cache:
            clear_cache(disk=True)
        x = da.two_theta.values
        refs = {
            n: reference_pattern(p, wavelength_angstrom=l1, two_theta_range=(7.0, 83.0))
            for n, p in list_phases().items()
        }
        acc, _, _ = match_phases(
            [p.two_theta for p in peaks],
            [p.area for p in peaks],
            refs,
            two_theta_range=(float(x[0]), float(x[-1])),
            max_zero_offset_deg=1.0,
        )
        for pm in acc:
            ref = refs[pm.name]
            pairs = {o: li for li, o, _ in pm.matched}
            with contextlib.suppress(DataError):
                refine_lattice(
                    [peaks[o].two_theta for o in pairs],
                    [ref.hkl[li] for li in pairs.values()],
                    cell=ref.cell,
                    crystal_system=ref.crystal_system,
                    wavelength_angstrom=l1,
                    refine_zero=len(pairs) > 4,
                )


CASES["match_refine_only"] = Case(
    description=f"search–match + lattice refinement only (peaks pre-fitted) of {N_SCANS} scans, cached "
    "library (target) vs re-simulating the library per scan (baseline)",
    setup=_setup_peaks,
    baseline=lambda s: _match_refine(s, cache=False),
    target=lambda s: _match_refine(s),
    repeat=3,
)


def _setup_windows(workdir):
    """The fit windows of the 4 scans (peaks found, windows built; untimed)."""
    import charsuite.xrd._batchfit as bf
    from charsuite.xrd._analysis import _peaks, _wavelengths

    scans = _setup(workdir)
    captured = []
    original = bf.fit_windows

    def capture(windows, **kw):
        captured.append((windows, kw))
        return original(windows, **kw)

    bf.fit_windows = capture
    try:
        for da in scans:
            l1, l2, ratio, _ = _wavelengths(da)
            _peaks(da, l1=l1, l2=l2, ratio=ratio, min_snr=4.0, profile="pseudo_voigt")
    finally:
        bf.fit_windows = original
    return captured


def _fit_batched(state):
    from charsuite.xrd import fit_windows

    for windows, kw in state:
        fit_windows(windows, **kw)


def _fit_scipy(state):
    """The same windows, one scipy.optimize.least_squares (trf, analytic Jacobian) each."""
    import numpy as np
    from scipy.optimize import least_squares

    from charsuite.xrd._batchfit import _evaluate

    for windows, kw in state:
        opts = dict(
            profile=kw["profile"],
            ka2_ratio=kw["ka2_ratio"],
            l1=kw["wavelength_ka1"],
            l2=kw["wavelength_ka2"],
        )
        for wd in windows:
            n = (len(wd["p0"]) - 2) // 4
            args = (wd["x"][None], np.array([wd["xc"]]), 1 / wd["sigma"][None], wd["y"][None])

            def fun(p, args=args, n=n, opts=opts):
                return _evaluate(p[None], *args, n=n, **opts)[0][0]

            def jac(p, args=args, n=n, opts=opts):
                return _evaluate(p[None], *args, n=n, **opts)[1][0]

            least_squares(
                fun,
                wd["p0"],
                jac=jac,
                bounds=(wd["lb"], wd["ub"]),
                x_scale="jac",
                max_nfev=60 * len(wd["p0"]),
            )


CASES["peak_fitting"] = Case(
    description=f"profile fitting of every peak window of {N_SCANS} scans: batched bounded "
    "Levenberg–Marquardt (target) vs scipy least_squares per window, same model and analytic "
    "Jacobian (baseline)",
    setup=_setup_windows,
    baseline=_fit_scipy,
    target=_fit_batched,
    repeat=3,
)


# --------------------------------------------------------------------------- identify per scan
#: Real labelled scans (``../shared/data/xrd``) timed per scan, plus one generated GI scan.
REAL_SCANS = (
    "m3wolf__electrolab/corundum.xye",
    "m3wolf__electrolab/corundum.brml",
    "CederGroupHub__dara/NiO_0p2030-Li2CO3_0p2999-TiO2_0p5025--8min.xrdml",
    "CederGroupHub__dara/ZnO_0p4006-In2O3_0p6008--8min.xrdml",
    "CederGroupHub__dara/Li2CO3_0p9001-ZrO2_0p1000--8min.xrdml",
    "CederGroupHub__dara/NiO_0p6007-Bi2O3_0p4008--8min.xrdml",
    "CederGroupHub__dara/V2O5_0p4005-NiO_0p6016--8min.xrdml",
    "tlinnala__XRD-data/Si-reference_GIXRD.xrdml",
    "njszym__XRD-AutoAnalyzer/LiMn2O4+LiF+Li2MnO3.xy",
    "nims-dpfc__M-DaC_XRD/XRD_RIGAKU.ras",
)
#: main before the Rietveld speed work (issue #12 bar: identify --refine ≤ 1.5 s per scan)
PRE_SPEED_MAIN = "00579ba"
#: main before the Rietveld work (identify without refinement must be as fast as this)
PRE_RIETVELD = "909a666"


def _shared_xrd():
    import os
    from pathlib import Path

    roots = (
        [Path(os.environ["CHARSUITE_SHARED_DATA"])] if "CHARSUITE_SHARED_DATA" in os.environ else []
    )
    roots += [p / "shared" / "data" for p in Path(__file__).resolve().parents]
    for root in roots:
        if (root / "xrd").is_dir():
            return root / "xrd"
    raise SystemExit(
        "../shared/data/xrd not found: the identify-per-scan cases need the real scans"
    )


def _generated_gi(workdir):
    """One generated GI scan, written by the *current* checkout in a subprocess (both sides
    of a ``baseline_rev`` case must analyse the same bytes)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys; from pathlib import Path; from charsuite.datasets.xrd import generate_gixrd; "
        "p, _ = generate_gixrd(Path(sys.argv[1]), name='g0', formats=('xrdml',), "
        "substrate='sapphire', seed=0, c=14.20); print(p[0])"
    )
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, "-c", code, str(workdir)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def _setup_scans(workdir, *, refine):
    import os
    import warnings

    from charsuite.io import read
    from charsuite.xrd import analyze

    os.environ["CHARSUITE_CACHE_DIR"] = str(workdir / "cache")
    warnings.filterwarnings("ignore")
    d = _shared_xrd()
    scans = [read(d / f) for f in REAL_SCANS] + [read(_generated_gi(workdir))]
    kw = {"refine": True} if refine else {}
    analyze(scans[0], **kw)  # warm-up: library cache, imports
    return scans, kw


def _analyze_all(state):
    from charsuite.xrd import analyze

    scans, kw = state
    for da in scans:
        analyze(da, **kw)


N_IDENTIFY = len(REAL_SCANS) + 1


def _identify_case(*, refine: bool, rev: str, what: str, repeat: int) -> Case:
    """Same scans, same call on both sides; the baseline imports charsuite at ``rev``."""
    return Case(
        description=f"xrd identify {what} of {N_IDENTIFY} scans ({len(REAL_SCANS)} real labelled + "
        f"1 generated GI): this checkout (target) vs main at {rev} (baseline)",
        setup=lambda w: _setup_scans(w, refine=refine),
        baseline=_analyze_all,
        target=_analyze_all,
        repeat=repeat,
        baseline_rev=rev,
        items=N_IDENTIFY,
    )


#: issue #12 bar: ≤ 1.5 s per scan with refinement on 2 cores
CASES["identify_refine_per_scan"] = _identify_case(
    refine=True,
    rev=PRE_SPEED_MAIN,
    what="with Rietveld refinement (before the speed work)",
    repeat=1,
)
#: issue #12 bar: without refinement as fast as before the Rietveld work (ratio ≤ 1)
CASES["identify_no_refine_per_scan"] = _identify_case(
    refine=False, rev=PRE_RIETVELD, what="without refinement (before the Rietveld work)", repeat=2
)
