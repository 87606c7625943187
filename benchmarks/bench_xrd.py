"""GI-XRD identification throughput on 7000-point scans against the full library.

Setup (untimed): 4 generated GI-XRD scans (2θ 10–80°, step 0.01°, 7001 points) read into
memory, one warm-up identification (fills the reference-pattern cache, imports).
"""

from __future__ import annotations

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
    from charsuite.xrd import analyze
    from charsuite.xrd.library import clear_cache

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
    "identify_whole_pattern": Case(
        description="as identify_cached, with the Pawley-type whole-pattern confirmation (target) vs without (baseline)",
        setup=_setup,
        baseline=lambda s: _identify(s),
        target=lambda s: _identify(s, whole_pattern=True),
        repeat=2,
    ),
}
