"""Absent-phase scans built with pymatgen from published structures (a fresh held-out set).

``PYTHONPATH=. python -m benchmarks.xrd_generality --n 0 --absent 50 --absent-set pymatgen``

The xrayutilities absent sets (:data:`benchmarks.xrd_generality.ABSENT_MATERIALS` and
``..._HELD_OUT``) were both looked at while the decide stage was developed. This set was
written afterwards and is reported without tuning on it: compounds that are neither library
phases nor xrayutilities materials of those lists, each built with
:meth:`pymatgen.core.Structure.from_spacegroup` from a published cell and Wyckoff
positions (ICSD-type room-temperature values, rounded as published; references in
:data:`STRUCTURES`). Several are isostructural with a library phase at a few per cent in
cell (calcite/MnCO3, hematite and eskolaite/Al2O3, cassiterite and MgF2/rutile, the
spinels Li4Ti5O12, LiNi0.5Mn1.5O4, MgAl2O4 and NiFe2O4/LiMn2O4, Fe3O4, ZnFe2O4, Y2O3/In2O3)
— the cases a search–match gets wrong.

The scan is computed without charsuite.xrd code: pymatgen's
:class:`~pymatgen.analysis.diffraction.xrd.XRDCalculator` (Cu Kα1; |F|² with its atomic
scattering factors, Lorentz–polarisation, multiplicities; unscaled) gives the sticks, each
phase's intensity per unit volume is ∝ Σ sticks / V_cell² × volume fraction (weight
fraction / density), Kα2 is added at λ = 1.544426 Å with ratio 0.5, each line is a
pseudo-Voigt (η = 0.5) of FWHM² = U tan²θ + V tanθ + W plus Scherrer size broadening,
over a linear background, with Poisson noise. A library phase (in half of the cases, at
10–40 wt %) comes from its library CIF file read by pymatgen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _o1(x):
    """Fd-3m position (x, x, x) given in origin choice 2 (as published) → pymatgen's origin 1."""
    return (x + 0.125, x + 0.125, x + 0.125)


#: name → (space group, lattice parameters (a, b, c, α, β, γ), [(species, (x, y, z))], ref)
STRUCTURES = {
    "LiFePO4": ("Pnma", (10.332, 6.010, 4.692, 90, 90, 90), [
        ("Li", (0, 0, 0)), ("Fe", (0.2822, 0.25, 0.9747)), ("P", (0.0948, 0.25, 0.4182)),
        ("O", (0.0967, 0.25, 0.7428)), ("O", (0.4571, 0.25, 0.2060)),
        ("O", (0.1656, 0.0465, 0.2848))], "Streltsov et al. 1993, Acta Cryst. B49, 147"),
    "CeO2": ("Fm-3m", (5.411, 5.411, 5.411, 90, 90, 90), [
        ("Ce", (0, 0, 0)), ("O", (0.25, 0.25, 0.25))], "fluorite; Wyckoff 1963"),
    "ZnS": ("F-43m", (5.4093, 5.4093, 5.4093, 90, 90, 90), [
        ("Zn", (0, 0, 0)), ("S", (0.25, 0.25, 0.25))], "sphalerite; Wyckoff 1963"),
    "CaCO3": ("R-3c", (4.989, 4.989, 17.062, 90, 90, 120), [
        ("Ca", (0, 0, 0)), ("C", (0, 0, 0.25)), ("O", (0.2578, 0, 0.25))],
        "calcite; Maslen et al. 1995, Acta Cryst. B51, 929"),
    "Fe2O3": ("R-3c", (5.0356, 5.0356, 13.7489, 90, 90, 120), [
        ("Fe", (0, 0, 0.35530)), ("O", (0.3059, 0, 0.25))],
        "hematite; Blake et al. 1966, Am. Mineral. 51, 123"),
    "Cr2O3": ("R-3c", (4.9588, 4.9588, 13.5942, 90, 90, 120), [
        ("Cr", (0, 0, 0.3475)), ("O", (0.3060, 0, 0.25))], "eskolaite; Finger & Hazen 1980"),
    "SnO2": ("P4_2/mnm", (4.7374, 4.7374, 3.1864, 90, 90, 90), [
        ("Sn", (0, 0, 0)), ("O", (0.3056, 0.3056, 0))], "cassiterite; Bolzan et al. 1997"),
    "MgF2": ("P4_2/mnm", (4.6230, 4.6230, 3.0520, 90, 90, 90), [
        ("Mg", (0, 0, 0)), ("F", (0.3030, 0.3030, 0))], "sellaite; Baur 1976"),
    "Li2O": ("Fm-3m", (4.6114, 4.6114, 4.6114, 90, 90, 90), [
        ("O", (0, 0, 0)), ("Li", (0.25, 0.25, 0.25))], "antifluorite; Wyckoff 1963"),
    "MgAl2O4": ("Fd-3m", (8.0831, 8.0831, 8.0831, 90, 90, 90), [
        ("Mg", _o1(0.125)), ("Al", _o1(0.5)), ("O", _o1(0.2613))],
        "spinel, u = 0.2613 (origin 2); Yamanaka & Takeuchi 1983"),
    "Li4Ti5O12": ("Fd-3m", (8.3595, 8.3595, 8.3595, 90, 90, 90), [
        ("Li", _o1(0.125)), ({"Li": 1 / 6, "Ti": 5 / 6}, _o1(0.5)), ("O", _o1(0.2625))],
        "spinel, u = 0.2625 (origin 2); Kataoka et al. 2009"),
    "LiNi0.5Mn1.5O4": ("Fd-3m", (8.1700, 8.1700, 8.1700, 90, 90, 90), [
        ("Li", _o1(0.125)), ({"Ni": 0.25, "Mn": 0.75}, _o1(0.5)), ("O", _o1(0.2630))],
        "disordered spinel, u = 0.263 (origin 2); Kim et al. 2004"),
    "NiFe2O4": ("Fd-3m", (8.3390, 8.3390, 8.3390, 90, 90, 90), [
        ("Fe", _o1(0.125)), ({"Ni": 0.5, "Fe": 0.5}, _o1(0.5)), ("O", _o1(0.2575))],
        "inverse spinel, u = 0.2575 (origin 2); Hastings & Corliss 1953"),
    "Y2O3": ("Ia-3", (10.604, 10.604, 10.604, 90, 90, 90), [
        ("Y", (0.25, 0.25, 0.25)), ("Y", (0.9715, 0, 0.25)), ("O", (0.3905, 0.1520, 0.3805))],
        "bixbyite; Paton & Maslen 1965"),
    "KCl": ("Fm-3m", (6.2931, 6.2931, 6.2931, 90, 90, 90), [
        ("K", (0, 0, 0)), ("Cl", (0.5, 0.5, 0.5))], "sylvite; Wyckoff 1963"),
    "CsCl": ("Pm-3m", (4.123, 4.123, 4.123, 90, 90, 90), [
        ("Cs", (0, 0, 0)), ("Cl", (0.5, 0.5, 0.5))], "B2; Wyckoff 1963"),
    "CrN": ("Fm-3m", (4.148, 4.148, 4.148, 90, 90, 90), [
        ("Cr", (0, 0, 0)), ("N", (0.5, 0.5, 0.5))], "rock salt; Wyckoff 1963"),
    "SiC": ("F-43m", (4.3596, 4.3596, 4.3596, 90, 90, 90), [
        ("Si", (0, 0, 0)), ("C", (0.25, 0.25, 0.25))], "3C-SiC; Wyckoff 1963"),
    "Ni": ("Fm-3m", (3.5238, 3.5238, 3.5238, 90, 90, 90), [("Ni", (0, 0, 0))], "Wyckoff 1963"),
    "Zn": ("P6_3/mmc", (2.6649, 2.6649, 4.9468, 90, 90, 120), [
        ("Zn", (1 / 3, 2 / 3, 0.25))], "Wyckoff 1963"),
    "Mg": ("P6_3/mmc", (3.2094, 3.2094, 5.2105, 90, 90, 120), [
        ("Mg", (1 / 3, 2 / 3, 0.25))], "Wyckoff 1963"),
    "Mg(OH)2": ("P-3m1", (3.142, 3.142, 4.766, 90, 90, 120), [
        ("Mg", (0, 0, 0)), ("O", (1 / 3, 2 / 3, 0.2216)), ("H", (1 / 3, 2 / 3, 0.4303))],
        "brucite; Zigan & Rothbauer 1967"),
    "CuO": ("C2/c", (4.6837, 3.4226, 5.1288, 90, 99.54, 90), [
        ("Cu", (0.25, 0.25, 0)), ("O", (0, 0.4184, 0.25))], "tenorite; Åsbrink & Norrby 1970"),
    "MoS2": ("P6_3/mmc", (3.161, 3.161, 12.295, 90, 90, 120), [
        ("Mo", (1 / 3, 2 / 3, 0.25)), ("S", (1 / 3, 2 / 3, 0.621))], "2H; Dickinson & Pauling 1923"),
    "Cu2O": ("P1", (4.2696, 4.2696, 4.2696, 90, 90, 90), [
        ("O", (0, 0, 0)), ("O", (0.5, 0.5, 0.5)), ("Cu", (0.25, 0.25, 0.25)),
        ("Cu", (0.75, 0.75, 0.25)), ("Cu", (0.75, 0.25, 0.75)), ("Cu", (0.25, 0.75, 0.75))],
        "cuprite, all atoms listed; Restori & Schwarzenbach 1986"),
}  # fmt: skip

#: atoms per conventional cell of each structure (checks the space-group setting, together
#: with the strongest lines checked against the published patterns when the list was written)
CELL_ATOMS = {
    "LiFePO4": 28, "CeO2": 12, "ZnS": 8, "CaCO3": 30, "Fe2O3": 30, "Cr2O3": 30, "SnO2": 6,
    "MgF2": 6, "Li2O": 12, "MgAl2O4": 56, "Li4Ti5O12": 56, "LiNi0.5Mn1.5O4": 56,
    "NiFe2O4": 56, "Y2O3": 80, "KCl": 8, "CsCl": 2, "CrN": 8, "SiC": 8, "Ni": 4, "Zn": 2,
    "Mg": 2, "Mg(OH)2": 5, "CuO": 8, "MoS2": 6, "Cu2O": 6,
}  # fmt: skip

#: absent materials of the pymatgen set, in a fixed order
PYMATGEN_MATERIALS = tuple(STRUCTURES)

_KA1, _KA2 = 1.540598, 1.544426


def build_structure(name: str):
    """pymatgen Structure of one entry of :data:`STRUCTURES` (setting checked by atom count)."""
    from pymatgen.core import Lattice, Structure

    sg, (a, b, c, al, be, ga), sites, _ = STRUCTURES[name]
    lat = Lattice.from_parameters(a, b, c, al, be, ga)
    st = Structure.from_spacegroup(sg, lat, [s for s, _ in sites], [x for _, x in sites])
    if len(st) != CELL_ATOMS[name]:
        raise ValueError(f"{name}: {len(st)} atoms, expected {CELL_ATOMS[name]} (setting?)")
    return st


def _sticks(structure, lo, hi):
    """Kα1 line positions (deg) and intensities per unit volume (arbitrary, common scale)."""
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    pat = XRDCalculator(wavelength="CuKa1").get_pattern(
        structure, scaled=False, two_theta_range=(lo - 1, hi + 1)
    )
    return np.asarray(pat.x), np.asarray(pat.y) / structure.volume**2


def _pv(x, c, fwhm, eta=0.5):
    g = np.exp(-4 * np.log(2) * ((x - c) / fwhm) ** 2) * 2 * np.sqrt(np.log(2) / np.pi) / fwhm
    lor = 2 / np.pi * fwhm / (4 * (x - c) ** 2 + fwhm**2)
    return eta * lor + (1 - eta) * g


def _profile(tt, pos, inten, size_nm, caglioti):
    """Pattern of sticks: Kα1 + Kα2 pseudo-Voigt lines, Caglioti + Scherrer width."""
    u, v, w = caglioti
    y = np.zeros_like(tt)
    for p, i in zip(pos, inten):
        th = np.radians(p / 2)
        inst = np.sqrt(max(u * np.tan(th) ** 2 + v * np.tan(th) + w, 1e-6))
        size = np.degrees(0.9 * _KA1 / (size_nm * 10 * np.cos(th)))
        fw = np.hypot(inst, size)
        p2 = np.degrees(2 * np.arcsin(np.clip(_KA2 / _KA1 * np.sin(th), -1, 1)))
        y += i * (_pv(tt, p, fw) + 0.5 * _pv(tt, p2, fw))
    return y


def simulate_pymatgen_absent_case(case_seed: int, workdir: Path, materials=PYMATGEN_MATERIALS):
    """Write the scan of one pymatgen absent-phase case; its truth (module docstring)."""
    from pymatgen.core import Structure

    rng = np.random.default_rng(case_seed)
    absent = materials[case_seed % len(materials)]
    # the library CIF files (data), read by pymatgen, not through charsuite.xrd
    cif_dir = Path(__file__).resolve().parent.parent / "reference_data" / "xrd" / "cif"
    cifs = sorted(cif_dir.glob("*.cif"))
    extra_cif = cifs[int(rng.integers(len(cifs)))] if rng.random() < 0.5 else None
    tt = np.arange(10.0, 80.0, 0.01)
    caglioti = (rng.uniform(0.002, 0.01), rng.uniform(-0.004, 0.0), rng.uniform(0.001, 0.004))
    phases = [(build_structure(absent), 1.0, rng.uniform(40, 200))]
    if extra_cif is not None:
        st = Structure.from_file(str(extra_cif))
        phases.append((st, rng.uniform(0.1, 0.4), 100.0))
    y = np.zeros_like(tt)
    for st, wt, size in phases:
        pos, inten = _sticks(st, tt[0], tt[-1])
        y += wt / float(st.density) * _profile(tt, pos, inten, size, caglioti)
    counts = rng.uniform(2e3, 3e4)
    bg = rng.uniform(30, 300) * (1 + rng.uniform(-0.3, 0.3) * (tt - 45) / 35)
    y = rng.poisson(y / y.max() * counts + bg).astype(float)
    path = workdir / f"pmg{case_seed}.xy"
    np.savetxt(path, np.c_[tt, y], fmt="%.6g")
    return {
        "path": path,
        "absent": absent,
        "library_phase": extra_cif.stem if extra_cif is not None else None,
    }
