"""Powder scans written by xrayutilities alone: ground truth for the Rietveld refinement.

Nothing here imports :mod:`charsuite.xrd`: line positions, structure factors (f0 + f′ +
if″, Debye–Waller), Lorentz–polarisation and the fundamental-parameter profile (emission
lines, axial divergence, receiver slit, sample transparency, size/strain) all come from
:class:`xrayutilities.simpack.PowderModel`, so a refinement that recovers the truth here is
checked against independently written physics (HELPERS "Generality"). The structures are
the library CIFs (data, read by xrayutilities' own CIF parser) or, for the layered oxide,
an R-3m lattice built from literature parameters with the Li/Ni exchange set on the sites.

Conventions: weight fractions → xrayutilities volume fractions v_p ∝ w_p/ρ_p; Cu Kα1
(1.540598 Å) ± Kα2 (intensity ratio 0.5); Poisson noise on counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Literature NMC811 (R-3m, TM on 3a at the origin, Li on 3b, O 6c).
NMC811_TRUTH = {"a": 2.8720, "c": 14.2000, "z_O": 0.2590, "b_metal": 0.4, "b_O": 0.7}


def _library_cif(name: str) -> Path:
    # the CIF files are data shared with the library; read them directly, not via charsuite.xrd
    here = Path(__file__).resolve().parent.parent.parent / "reference_data" / "xrd" / "cif"
    if not here.exists():
        here = Path(__file__).resolve().parent.parent / "reference_data" / "xrd" / "cif"
    return here / f"{name}.cif"


def _crystal_from_cif(name: str, b_iso: float):
    """Build the xrayutilities Crystal of a library CIF with every atom's B = ``b_iso`` (Å²)."""
    import xrayutilities as xu

    cr = xu.materials.Crystal.fromCIF(str(_library_cif(name)))
    lat = cr.lattice
    wb = list(lat._wbase)
    atoms = [w[0] for w in wb]
    pos = [w[1] for w in wb]
    occ = [w[2] for w in wb]
    # B = 8π²⟨u²⟩; xrayutilities' b enters as exp(−b q²/(4π)²), the same B
    new = xu.materials.SGLattice(
        1, lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma,
        atoms=atoms, pos=pos, occ=occ, b=[b_iso] * len(atoms),
    )  # fmt: skip
    return xu.materials.Crystal(name, new)


def layered_nmc811(*, x_exchange: float, truth: dict | None = None):
    """Build the xrayutilities Crystal of Li(Ni0.8Mn0.1Co0.1)O2 with x Ni on the Li site (3b).

    Exchange model: 3b = Li(1−x) Ni(x); 3a = Ni(0.8−x) Li(x) Mn0.1 Co0.1.
    """
    import xrayutilities as xu

    t = {**NMC811_TRUTH, **(truth or {})}
    x = float(x_exchange)
    lat = xu.materials.SGLattice(
        166, t["a"], t["c"],
        atoms=["Ni", "Mn", "Co", "Li", "Li", "Ni", "O"],
        pos=["3a", "3a", "3a", "3a", "3b", "3b", ("6c", t["z_O"])],
        occ=[0.8 - x, 0.1, 0.1, x, 1 - x, x, 1.0],
        b=[t["b_metal"]] * 6 + [t["b_O"]],
    )  # fmt: skip
    return xu.materials.Crystal("NMC811", lat)


def _nmc_truth_of(name: str, nmc_truth: dict | None) -> dict | None:
    """The NMC811 overrides of layered phase ``name`` (per-name dict or one for all)."""
    if nmc_truth and isinstance(next(iter(nmc_truth.values())), dict):
        return nmc_truth.get(name)
    return nmc_truth


def _fpsettings(radiation: str, incidence_angle_deg):
    em = (
        {"emiss_wavelengths": (1.540598e-10,), "emiss_intensities": (1.0,),
         "emiss_gauss_widths": (3e-14,), "emiss_lor_widths": (3e-14,)}
        if radiation == "ka1"
        else {"emiss_wavelengths": (1.540598e-10, 1.544426e-10), "emiss_intensities": (1.0, 0.5),
              "emiss_gauss_widths": (3e-14, 3e-14), "emiss_lor_widths": (3e-14, 3e-14)}
    )  # fmt: skip
    glob = {"diffractometer_radius": 0.24, "equatorial_divergence_deg": 0.25}
    if incidence_angle_deg is not None:
        glob.update(geometry="asymmetric", geometry_incidence_angle=float(incidence_angle_deg))
    return {
        "emission": em,
        "global": glob,
        "axial": {"angI_deg": 2.5, "angD_deg": 2.5, "n_integral_points": 8},
        "absorption": {"absorption_coefficient": 3e5},  # 1/m: transparency broadening
    }


def independent_powder_scan(
    weight_fractions: dict,
    *,
    two_theta=None,
    radiation: str = "ka12",
    b_iso: float | dict = 0.5,
    crystallite_size_nm: float | dict = 150.0,
    x_exchange: float | None = None,
    nmc_truth: dict | None = None,
    incidence_angle_deg: float | None = None,
    peak_counts: float = 20000.0,
    background_counts: float = 150.0,
    seed: int = 0,
):
    """Poisson-noisy powder scan of a mixture, simulated by xrayutilities ``PowderModel``.

    Parameters
    ----------
    weight_fractions : dict
        Library phase name → weight fraction (normalised here). The name ``"NMC811"`` uses
        :func:`layered_nmc811` (with ``x_exchange``, default 0) instead of the CIF.
    two_theta : array_like, optional
        Grid (deg); default 10–80° in 0.01° steps (7001 points).
    radiation : {'ka12', 'ka1'}
    b_iso : float or dict
        B (Å²) of every atom of a CIF phase (per phase if a dict).
    crystallite_size_nm : float or dict
        Lorentzian (Scherrer) size per phase.
    x_exchange : float, optional
        Ni on the Li site of NMC811.
    nmc_truth : dict, optional
        Overrides of :data:`NMC811_TRUTH`; with a second layered phase ``"NMC811 (2)"`` in
        ``weight_fractions``, a dict of overrides per name (``{"NMC811": {...},
        "NMC811 (2)": {...}}``).
    incidence_angle_deg : float, optional
        Fixed incidence (xrayutilities ``geometry='asymmetric'``); None = symmetric.
    peak_counts, background_counts : float
        Counts of the strongest point and of the flat part of the background.
    seed : int

    Returns
    -------
    two_theta, counts : ndarray
    truth : dict
        ``weight_fractions``, ``volume_fractions``, ``cells`` (a, b, c, α, β, γ per phase),
        ``x_exchange``, ``radiation``, ``generator``.

    Examples
    --------
    >>> x, y, truth = independent_powder_scan({"Si": 0.5, "Al2O3": 0.5})  # doctest: +SKIP
    """
    import xrayutilities as xu

    x = np.arange(10.0, 80.0 + 1e-9, 0.01) if two_theta is None else np.asarray(two_theta, float)
    w = {k: float(v) for k, v in weight_fractions.items()}
    total = sum(w.values())
    w = {k: v / total for k, v in w.items()}
    crystals = {}
    for name in w:
        b = b_iso.get(name, 0.5) if isinstance(b_iso, dict) else b_iso
        # "NMC811 (2)": a second layered cell (coexisting H2/H3 of a charged cathode)
        crystals[name] = (
            layered_nmc811(x_exchange=x_exchange or 0.0, truth=_nmc_truth_of(name, nmc_truth))
            if name.split(" (")[0] == "NMC811"
            else _crystal_from_cif(name, b)
        )
    vol = {n: w[n] / crystals[n].density for n in w}
    vsum = sum(vol.values())
    powders = []
    for n, cr in crystals.items():
        size = (
            crystallite_size_nm.get(n, 150.0)
            if isinstance(crystallite_size_nm, dict)
            else crystallite_size_nm
        )
        powders.append(xu.simpack.Powder(cr, vol[n] / vsum, crystallite_size_lor=size * 1e-9))
    pm = xu.simpack.PowderModel(
        *powders, fpsettings=_fpsettings(radiation, incidence_angle_deg), I0=1.0
    )
    try:
        sim = np.asarray(pm.simulate(x), float)
    finally:
        pm.close()
    rng = np.random.default_rng(seed)
    sim = sim / sim.max() * peak_counts
    bkg = background_counts * (1.0 + 1.5 * np.exp(-(x - x[0]) / 12.0))
    counts = rng.poisson(sim + bkg).astype(float)
    truth = {
        "weight_fractions": w,
        "volume_fractions": {n: vol[n] / vsum for n in w},
        "cells": {n: tuple(float(v) for v in (cr.lattice.a, cr.lattice.b, cr.lattice.c,
                  cr.lattice.alpha, cr.lattice.beta, cr.lattice.gamma)) for n, cr in crystals.items()},
        "x_exchange": x_exchange,
        "radiation": radiation,
        "incidence_angle_deg": incidence_angle_deg,
        "generator": f"xrayutilities {xu.__version__} PowderModel",
    }  # fmt: skip
    return x, counts, truth


def as_scan(two_theta, counts, *, truth: dict | None = None):
    """Wrap a generated scan as a charsuite 1D DataArray (σ = √counts)."""
    import xarray as xr

    sig = np.sqrt(np.maximum(counts, 1.0))
    return xr.DataArray(
        np.asarray(counts, float),
        dims=("two_theta",),
        coords={"two_theta": np.asarray(two_theta, float), "intensity_sigma": ("two_theta", sig)},
        name="intensity",
        attrs={"units": "counts", "technique": "xrd", "metadata": {"truth": truth or {}}},
    )


def absent_phase_scan(case_seed: int, directory, *, materials) -> dict:
    """Write one absent-phase scan (``benchmarks/xrd_generality.py --absent``); its truth.

    The main phase is the xrayutilities material ``materials[case_seed % len(materials)]``
    (one not in the library), with crystallite size 40–200 nm; in half of the cases a
    library phase (drawn from the library CIFs, read by xrayutilities' CIF parser) is added
    at volume weight 0.1–0.4 with 100 nm crystallites. Cu Kα1+Kα2 by PowderModel's
    defaults, 2θ 10–80° in 0.01° steps, peak counts 2·10³–3·10⁴ over a flat background of
    30–300 counts, Poisson noise. All draws come from ``numpy.random.default_rng(case_seed)``.

    Parameters
    ----------
    case_seed : int
        Seed of the case (``seed * 100000 + i`` in the benchmark).
    directory : path-like
        Where ``absent<case_seed>.xy`` is written.
    materials : sequence of str
        xrayutilities material names to draw the absent phase from.

    Returns
    -------
    dict
        ``path``, ``absent`` (material name) and ``library_phase`` (name or None).
    """
    import xrayutilities as xu
    from xrayutilities.simpack import Powder, PowderModel

    rng = np.random.default_rng(case_seed)
    absent = materials[case_seed % len(materials)]
    library = sorted(p.stem for p in _library_cif("_").parent.glob("*.cif"))
    extra = str(rng.choice(library)) if rng.random() < 0.5 else None
    tt = np.arange(10.0, 80.0, 0.01)
    size = rng.uniform(40, 200) * 1e-9
    powders = [Powder(getattr(xu.materials, absent), 1.0, crystallite_size_gauss=size)]
    if extra:
        mat = xu.materials.Crystal.fromCIF(str(_library_cif(extra)))
        powders.append(Powder(mat, rng.uniform(0.1, 0.4), crystallite_size_gauss=100e-9))
    pm = PowderModel(*powders, I0=1.0)
    try:
        y = pm.simulate(tt)
    finally:
        pm.close()
    counts = rng.uniform(2e3, 3e4)
    y = rng.poisson(y / y.max() * counts + rng.uniform(30, 300)).astype(float)
    path = Path(directory) / f"absent{case_seed}.xy"
    np.savetxt(path, np.c_[tt, y], fmt="%.6g")
    return {"path": path, "absent": absent, "library_phase": extra}
