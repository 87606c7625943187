"""Rietveld stage 1: structure model of one phase (reflections, |F|², cell, site parameters).

The atoms come from the library CIF (pymatgen, full cell, P1 expansion); scattering factors
f = f0(q) + f′ + i f″ from the xrayutilities tables (International Tables f0 fits, Henke /
Chantler f′, f″). The structure factor is summed here in numpy rather than with
xrayutilities' ``Crystal.StructureFactor`` because the refinement changes occupancies,
O z and B hundreds of times per fit, and one vectorised phase matrix per phase is reused.

Conventions: hkl of the full cell; every hkl of the reciprocal sphere is kept (no
symmetry merging needed); reflections with the same d under the cell's metric symmetry
are grouped into one line, so the powder multiplicity is implicit. 1/d² = |B*ᵀh|².
F_h = Σ_j o_j f_j(s) exp(−B_j s²) exp(2πi h·r_j), s = sin θ/λ = 1/(2d).

References
----------
.. [1] International Tables for Crystallography Vol. C (2006), §6.1.1 (structure factor,
   Debye–Waller factor B = 8π²⟨u²⟩).
.. [2] A. Rougier, P. Gravereau, C. Delmas, J. Electrochem. Soc. 143, 1168 (1996) (Li/Ni
   exchange in layered LiNiO2).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from charsuite.exceptions import DataError

_ATOMIC_MASS_CACHE: dict[str, float] = {}


def _element(species) -> str:
    return getattr(species, "symbol", None) or str(species).rstrip("0123456789+-")


def _atomic_mass(symbol: str) -> float:
    if symbol not in _ATOMIC_MASS_CACHE:
        from pymatgen.core import Element

        _ATOMIC_MASS_CACHE[symbol] = float(Element(symbol).atomic_mass)
    return _ATOMIC_MASS_CACHE[symbol]


def cell_system(lattice_params) -> str:
    """Metric system of a cell (a, b, c, α, β, γ) used for the refinable cell parameters."""
    a, b, c, al, be, ga = (float(v) for v in lattice_params)

    def eq(x, y, tol=1e-4):
        return abs(x - y) <= tol * max(abs(x), 1.0)

    right = eq(al, 90) and eq(be, 90)
    if right and eq(ga, 120) and eq(a, b):
        return "hexagonal"
    if right and eq(ga, 90):
        if eq(a, b) and eq(b, c):
            return "cubic"
        return "tetragonal" if eq(a, b) else "orthorhombic"
    if eq(al, 90) and eq(ga, 90):
        return "monoclinic"
    return "triclinic"


#: Refinable cell parameters per metric system (the others follow by symmetry).
CELL_FREE = {
    "cubic": ("a",),
    "tetragonal": ("a", "c"),
    "hexagonal": ("a", "c"),
    "orthorhombic": ("a", "b", "c"),
    "monoclinic": ("a", "b", "c", "beta"),
    "triclinic": ("a", "b", "c", "alpha", "beta", "gamma"),
}


def full_cell(system: str, free: dict) -> tuple:
    """(a, b, c, α, β, γ) from the free parameters of a metric system."""
    a = free["a"]
    if system == "cubic":
        return a, a, a, 90.0, 90.0, 90.0
    if system == "tetragonal":
        return a, a, free["c"], 90.0, 90.0, 90.0
    if system == "hexagonal":
        return a, a, free["c"], 90.0, 90.0, 120.0
    if system == "orthorhombic":
        return a, free["b"], free["c"], 90.0, 90.0, 90.0
    if system == "monoclinic":
        return a, free["b"], free["c"], 90.0, free["beta"], 90.0
    return a, free["b"], free["c"], free["alpha"], free["beta"], free["gamma"]


def reciprocal_matrix(cell) -> np.ndarray:
    """Rows = a*, b*, c* (1/Å, no 2π) in a Cartesian frame, for cell (a, b, c, α, β, γ)."""
    a, b, c, al, be, ga = cell
    al, be, ga = np.radians([al, be, ga])
    va = np.array([a, 0.0, 0.0])
    vb = np.array([b * np.cos(ga), b * np.sin(ga), 0.0])
    cx = c * np.cos(be)
    cy = c * (np.cos(al) - np.cos(be) * np.cos(ga)) / np.sin(ga)
    vc = np.array([cx, cy, np.sqrt(max(c * c - cx * cx - cy * cy, 1e-12))])
    return np.linalg.inv(np.array([va, vb, vc])).T


def cell_volume(cell) -> float:
    """Cell volume (Å³)."""
    return float(1.0 / abs(np.linalg.det(reciprocal_matrix(cell))))


@dataclasses.dataclass(frozen=True)
class LayeredSites:
    """Index sets of an R-3m layered oxide (exchange model of ``shared/notes/rietveld.md`` §3).

    ``li_site``/``tm_site``: atom indices of Li and Ni on the Li slab (3b) and on the
    transition-metal slab (3a); ``o_atoms`` with ``o_sign`` = ±1 so that z_j = z0_j ± Δz.
    """

    li_on_li: np.ndarray
    ni_on_li: np.ndarray
    li_on_tm: np.ndarray
    ni_on_tm: np.ndarray
    o_atoms: np.ndarray
    o_sign: np.ndarray
    x0: float
    z0: float


@dataclasses.dataclass(frozen=True)
class PhaseStructure:
    """Atoms and reflections of one phase, fixed for a refinement.

    Attributes
    ----------
    name : str
    system : str
        Metric system (``cubic`` … ``triclinic``).
    cell0 : tuple
        Starting (a, b, c, α, β, γ) (Å, deg).
    elements : tuple of str
        Distinct elements; ``atom_element`` indexes into it.
    atom_element, occupancy, frac, b_iso : ndarray
        Per atom of the full cell.
    cell_mass : float
        Σ o_j m_j of the cell (g/mol), i.e. Z·M of Hill & Howard.
    hkl : ndarray (n, 3)
        All reflections up to the 2θ limit (with margin).
    group : ndarray (n,)
        Index of the line (equal d) each hkl belongs to.
    layered : LayeredSites or None
    """

    name: str
    system: str
    cell0: tuple
    elements: tuple
    atom_element: np.ndarray
    occupancy: np.ndarray
    frac: np.ndarray
    b_iso: np.ndarray
    cell_mass: float
    hkl: np.ndarray
    group: np.ndarray
    n_lines: int
    layered: LayeredSites | None


def _atoms(struct):
    elems, el_idx, occ, frac = [], [], [], []
    for site in struct.sites:
        for sp, o in site.species.items():
            sym = _element(sp)
            if sym not in elems:
                elems.append(sym)
            el_idx.append(elems.index(sym))
            occ.append(float(o))
            frac.append(np.asarray(site.frac_coords, float) % 1.0)
    return tuple(elems), np.array(el_idx), np.array(occ), np.array(frac)


def _hkl_sphere(cell, d_min: float) -> np.ndarray:
    """Every (h, k, l) ≠ 0 with d ≥ d_min."""
    bstar = reciprocal_matrix(cell)
    # |h| = |G·a| ≤ |a|/d_min along each axis
    a_len = np.linalg.norm(np.linalg.inv(bstar.T), axis=1)
    lim = [int(np.ceil(al / d_min)) for al in a_len]
    grids = np.meshgrid(*[np.arange(-m, m + 1) for m in lim], indexing="ij")
    hkl = np.stack([g.ravel() for g in grids], axis=1)
    hkl = hkl[np.any(hkl != 0, axis=1)]
    inv_d = np.linalg.norm(hkl @ bstar, axis=1)
    return hkl[inv_d <= 1.0 / d_min]


def _group_lines(cell, hkl) -> tuple[np.ndarray, int]:
    """Group reflections with equal 1/d² (relative 1e-7) at the starting cell."""
    inv_d2 = np.sum((hkl @ reciprocal_matrix(cell)) ** 2, axis=1)
    key = np.round(np.log(inv_d2) * 1e6).astype(np.int64)
    _, group = np.unique(key, return_inverse=True)
    return group, int(group.max()) + 1 if len(group) else 0


def _layered_sites(elements, el_idx, occ, frac, system) -> LayeredSites | None:
    """Recognise an R-3m layered oxide LiMO2 (TM slab at z = 0, Li slab at z = 1/2)."""
    if system != "hexagonal" or not {"Li", "Ni", "O"} <= set(elements):
        return None
    z = frac[:, 2]
    sym = np.array(elements)[el_idx]
    # the slab a metal atom belongs to: 3a at z ≡ 0 (mod 1/3), 3b at z ≡ 1/6 (mod 1/3)
    phase3 = np.round((z * 3) % 1.0 * 2) % 2  # 0 → 3a, 1 → 3b
    metal = sym != "O"
    if not np.all(
        np.isclose((z[metal] * 6) % 1.0, 0, atol=1e-3)
        | np.isclose((z[metal] * 6) % 1.0, 1, atol=1e-3)
    ):
        return None
    on_b = metal & (phase3 == 1)
    on_a = metal & (phase3 == 0)
    li_b = np.flatnonzero(on_b & (sym == "Li"))
    ni_b = np.flatnonzero(on_b & (sym == "Ni"))
    li_a = np.flatnonzero(on_a & (sym == "Li"))
    ni_a = np.flatnonzero(on_a & (sym == "Ni"))
    if len(li_b) == 0 or len(ni_a) == 0 or occ[li_b].mean() < 0.5:
        return None
    o = np.flatnonzero(sym == "O")
    zo = z[o]
    ref = zo[np.argmin(np.abs(zo - 0.25))]
    # O 6c: z = ±z0 + t, t ∈ {0, 1/3, 2/3}
    d = (zo - ref) * 3
    sign = np.where(np.isclose(d, np.round(d), atol=1e-3), 1.0, -1.0)
    if len(ni_b) == 0 or len(li_a) == 0:
        return None
    x0 = float(occ[ni_b].mean())
    return LayeredSites(li_b, ni_b, li_a, ni_a, o, sign, x0, float(ref))


def build_phase(name: str, struct, *, two_theta_max: float, wavelength: float) -> PhaseStructure:
    """Atoms and reflections of a pymatgen structure for 2θ ≤ ``two_theta_max`` (deg)."""
    lat = struct.lattice
    cell0 = (lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma)
    system = cell_system(cell0)
    elements, el_idx, occ, frac = _atoms(struct)
    if not len(occ):
        raise DataError(f"phase {name}: CIF holds no atoms")
    # 3 % margin on 1/d so that a refined (larger) cell keeps its reflections in range
    s_max = np.sin(np.radians(min(two_theta_max, 179.0) / 2)) / wavelength * 1.03
    hkl = _hkl_sphere(cell0, 1.0 / (2 * s_max))
    group, n_lines = _group_lines(cell0, hkl)
    mass = float(sum(o * _atomic_mass(elements[e]) for e, o in zip(el_idx, occ)))
    layered = _layered_sites(elements, el_idx, occ, frac, system)
    return PhaseStructure(
        name=name,
        system=system,
        cell0=tuple(float(v) for v in cell0),
        elements=elements,
        atom_element=el_idx,
        occupancy=occ,
        frac=frac,
        b_iso=np.zeros(len(occ)),
        cell_mass=mass,
        hkl=hkl,
        group=group,
        n_lines=n_lines,
        layered=layered,
    )


def scattering_factors(elements, q, energy_ev) -> np.ndarray:
    """f0(q) + f′ + i f″ per element (rows) at each q (4π sin θ/λ, 1/Å): xrayutilities."""
    import xrayutilities as xu

    out = np.empty((len(elements), len(q)), complex)
    for i, el in enumerate(elements):
        atom = getattr(xu.materials.elements, el)
        out[i] = atom.f0(q) + atom.f1(energy_ev) + 1j * atom.f2(energy_ev)
    return out


@dataclasses.dataclass(frozen=True)
class SiteParams:
    """Refinable site parameters: overall B (Å²) or per-slab B, exchange x, O Δz."""

    b_overall: float = 0.0
    b_oxygen: float | None = None
    x_exchange: float | None = None
    o_z: float | None = None


def atom_state(ph: PhaseStructure, sp: SiteParams):
    """(occupancy, frac, B) of every atom for the given site parameters."""
    occ = ph.occupancy.copy()
    frac = ph.frac
    b = np.full(len(occ), sp.b_overall)
    lay = ph.layered
    if lay is not None:
        if sp.x_exchange is not None:
            dx = sp.x_exchange - lay.x0
            # constrained: Li slab Li(1−x)Ni(x); TM slab Ni(n−x)Li(x); sums per site conserved
            occ[lay.ni_on_li] += dx
            occ[lay.li_on_li] -= dx
            occ[lay.li_on_tm] += dx
            occ[lay.ni_on_tm] -= dx
        if sp.o_z is not None:
            frac = frac.copy()
            frac[lay.o_atoms, 2] += lay.o_sign * (sp.o_z - lay.z0)
        if sp.b_oxygen is not None:
            b[lay.o_atoms] = sp.b_oxygen
    return occ, frac, b


def phase_matrix(ph: PhaseStructure, frac) -> np.ndarray:
    """exp(2πi h·r_j) for every hkl (rows) and atom (columns)."""
    return np.exp(2j * np.pi * (ph.hkl @ frac.T))


def line_strengths(
    ph: PhaseStructure, cell, sp: SiteParams, fmat, texture=None, *, phases=None
) -> np.ndarray:
    """Σ over the hkl of each line of |F_h|²·P_h (e², per cell; no 1/V²).

    ``fmat`` = :func:`scattering_factors` evaluated at each hkl's q (rows per element);
    ``texture`` = per-hkl March–Dollase weight or None; ``phases`` = :func:`phase_matrix`
    at the current atom positions (computed when None; callers cache it, since only O z
    moves the atoms).

    F_h = Σ_e f_e(s) exp(−B_e s²) Σ_{j∈e} o_j exp(2πi h·r_j): the atoms are summed per
    element first (one complex matrix product), because B is uniform per element in this
    model (overall B, and B(O) for the oxygen of a layered phase).
    """
    occ, frac, b = atom_state(ph, sp)
    inv_d2 = np.sum((ph.hkl @ reciprocal_matrix(cell)) ** 2, axis=1)
    s2 = inv_d2 / 4.0
    if phases is None:
        phases = phase_matrix(ph, frac)
    n_el = len(ph.elements)
    b_el = np.zeros(n_el)
    b_el[ph.atom_element] = b
    if not np.array_equal(b_el[ph.atom_element], b):  # B not uniform per element
        amp = fmat[ph.atom_element].T * (occ[None, :] * np.exp(-np.outer(s2, b)))
        f2 = np.abs(np.sum(amp * phases, axis=1)) ** 2
    else:
        by_el = np.zeros((len(occ), n_el))
        by_el[np.arange(len(occ)), ph.atom_element] = occ
        geo = phases @ by_el  # (n_hkl, n_el): Σ_{j∈e} o_j exp(2πi h·r_j)
        f = np.sum(fmat.T * np.exp(-np.outer(s2, b_el)) * geo, axis=1)
        f2 = f.real**2 + f.imag**2
    if texture is not None:
        f2 = f2 * texture
    return np.bincount(ph.group, weights=f2, minlength=ph.n_lines)


def line_d(ph: PhaseStructure, cell) -> np.ndarray:
    """Return d (Å) of every line."""
    inv_d2 = np.sum((ph.hkl @ reciprocal_matrix(cell)) ** 2, axis=1)
    first = np.zeros(ph.n_lines, int)
    first[ph.group[::-1]] = np.arange(len(ph.group))[::-1]
    return 1.0 / np.sqrt(inv_d2[first])


def line_hkl(ph: PhaseStructure) -> np.ndarray:
    """One representative hkl per line (the one with most non-negative indices)."""
    score = np.sum(ph.hkl >= 0, axis=1) * 1000 - np.abs(ph.hkl).sum(axis=1)
    order = np.lexsort((-score, ph.group))
    first = np.ones(len(order), bool)
    first[1:] = ph.group[order][1:] != ph.group[order][:-1]
    return ph.hkl[order][first]


def strength_bound(ph: PhaseStructure, fmat) -> np.ndarray:
    """Per line Σ_h (Σ_j o_j |f_j|)², the largest Σ|F|² the line can have."""
    bound = np.sum(np.abs(fmat[ph.atom_element]).T * ph.occupancy[None, :], axis=1) ** 2
    return np.bincount(ph.group, weights=bound, minlength=ph.n_lines)


def allowed_lines(ph: PhaseStructure, strength, fmat, bound=None) -> np.ndarray:
    """Lines whose Σ|F|² exceeds 10⁻⁹ of the bound Σ_h (Σ_j o_j |f_j|)² (not extinct).

    ``bound`` = :func:`strength_bound` (computed from ``fmat`` when None).
    """
    total = strength_bound(ph, fmat) if bound is None else bound
    return strength > 1e-9 * total
