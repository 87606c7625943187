"""Reference phases (CIFs) and their simulated, cached powder patterns.

The built-in library lives in ``reference_data/xrd/cif`` (written by
``reference_data/xrd/generate_cifs.py`` from literature cells; roles and sources in
``reference_data/xrd/phases.json``). Users add phases by passing CIF paths or folders
(``library=``); a phase is named after its file stem.

Patterns are simulated with :class:`pymatgen.analysis.diffraction.xrd.XRDCalculator`
(atomic form factors f0 without anomalous dispersion, unpolarised Lorentz–polarisation
factor) and cached per (CIF content, wavelength, 2θ range, cell override) in memory and on
disk (:func:`cache_dir`, JSON), so repeated identification — also across CLI runs — does not
re-simulate.

hkl convention: three-index (h, k, l); hexagonal/trigonal four-index (h, k, i, l) labels
from pymatgen are reduced to (h, k, l). pymatgen merges symmetry-equivalent reflections
into one family representative.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from charsuite.exceptions import DataError, ParameterError
from charsuite.io import check_regular
from charsuite.model import Result, reference_data_dir

#: Space-group number ranges → crystal system.
_SYSTEMS = (
    (2, "triclinic"),
    (15, "monoclinic"),
    (74, "orthorhombic"),
    (142, "tetragonal"),
    (167, "trigonal"),
    (194, "hexagonal"),
    (230, "cubic"),
)


def crystal_system(space_group_number: int) -> str:
    """Crystal system of an International Tables space-group number.

    Parameters
    ----------
    space_group_number : int
        1–230.

    Returns
    -------
    str
        ``"triclinic"`` … ``"cubic"``.

    Raises
    ------
    ParameterError
        A number outside 1–230.

    Examples
    --------
    >>> crystal_system(166)
    'trigonal'
    """
    for last, name in _SYSTEMS:
        if space_group_number <= last:
            return name
    raise ParameterError(f"space-group number {space_group_number} not in 1..230")


@dataclasses.dataclass(frozen=True)
class ReferencePattern(Result):
    """Simulated stick pattern of one phase.

    Attributes
    ----------
    name, role, space_group : str
    crystal_system : str
    cell : tuple
        (a, b, c, α, β, γ) in Å and degrees, as used for the simulation.
    wavelength_angstrom : float
    two_theta, d_angstrom, intensity : ndarray
        Peak positions (deg), d-spacings (Å), relative intensities (max 100).
    hkl : list of tuple
        One representative (h, k, l) per peak.
    multiplicity : ndarray
    density_g_cm3 : float
    composition : dict
        Element → amount per formula unit (for optical constants).
    """

    name: str
    role: str
    space_group: str
    crystal_system: str
    cell: tuple
    wavelength_angstrom: float
    two_theta: np.ndarray
    d_angstrom: np.ndarray
    intensity: np.ndarray
    hkl: list
    multiplicity: np.ndarray
    density_g_cm3: float
    composition: dict

    def in_range(self, lo: float, hi: float, *, min_intensity: float = 0.0) -> np.ndarray:
        """Boolean mask of peaks inside [lo, hi] (deg) with intensity ≥ ``min_intensity``."""
        return (self.two_theta >= lo) & (self.two_theta <= hi) & (self.intensity >= min_intensity)


def builtin_dir() -> Path:
    """Folder of the built-in reference CIFs."""
    return reference_data_dir() / "xrd" / "cif"


@lru_cache(maxsize=1)
def _roles() -> dict:
    path = reference_data_dir() / "xrd" / "phases.json"
    return json.loads(path.read_text()) if path.exists() else {}


def phase_role(name: str) -> str:
    """Role of a built-in phase (film, substrate, degradation, standard) or ``user``."""
    return _roles().get(name, {}).get("role", "user")


def phase_max_strain(name: str) -> float | None:
    """Isotropic strain window of a built-in solid-solution phase (``phases.json``), or None.

    Parameters
    ----------
    name : str
        Phase name.

    Returns
    -------
    float or None
        The phase's ``max_strain`` (fractional strain) from ``phases.json``; None when
        not declared or the phase is not built in.
    """
    v = _roles().get(name, {}).get("max_strain")
    return None if v is None else float(v)


def phase_cell_range(name: str) -> dict[str, tuple[float, float]] | None:
    """Declared range of the cell lengths of a built-in phase (``phases.json``), or None.

    A phase whose cell changes strongly and anisotropically in use — a layered cathode on
    charge, whose c grows by ≈ 2 % and then collapses while a shrinks by ≈ 2 % — declares
    ``"cell_range": {"a": [lo, hi], "c": [lo, hi], "source": "..."}`` (Å, from published
    cells along the charge curve). The search–match aligns it with one scale per cell
    length over that range (:func:`charsuite.xrd.match_phases`), the decide stage measures
    its cell against the range instead of the library cell, and the Rietveld refinement
    bounds the cell by it. An undeclared length keeps the library value (a length equal to
    a declared one by symmetry, b of a hexagonal cell, follows it).

    Parameters
    ----------
    name : str
        Phase name.

    Returns
    -------
    dict or None
        Cell length ('a', 'b', 'c') → (lo, hi) in Å; None when nothing is declared or the
        phase is not built in.
    """
    v = _roles().get(name, {}).get("cell_range")
    if not v:
        return None
    return {k: (float(r[0]), float(r[1])) for k, r in v.items() if k in ("a", "b", "c")}


def cell_length_bounds(cell, cell_range: dict) -> np.ndarray:
    """Allowed (lo, hi) of a, b, c (Å, shape (3, 2)) under a declared cell range.

    An undeclared length takes the range of a declared length of equal library value (b of
    a hexagonal or tetragonal cell follows a), else the library value itself (lo = hi).
    """
    lens = [float(v) for v in cell[:3]]
    out = np.empty((3, 2))
    for k, name in enumerate("abc"):
        rng = cell_range.get(name)
        if rng is None:
            twin = [m for j, m in enumerate("abc") if m in cell_range and lens[j] == lens[k]]
            rng = cell_range[twin[0]] if twin else (lens[k], lens[k])
        out[k] = (float(rng[0]), float(rng[1]))
    return out


def fault_broadened_lines(name: str, hkl) -> np.ndarray:
    """Mask of a built-in phase's fault-broadened superstructure reflections.

    ``phases.json`` may declare ``"fault_broadened": {"index": i, "modulus": m}``: the
    reflections whose i-th Miller index is not a multiple of m (Li2MnO3, C2/m: k ≠ 3n, the
    Li/Mn honeycomb order in the transition-metal layers) are broadened and weakened by
    stacking faults and may be absent from a real pattern [1]_. Other phases: all False.

    References
    ----------
    .. [1] J. Bréger et al., J. Solid State Chem. 178, 2575 (2005); A. Boulineau et al.,
       Solid State Ionics 180, 1652 (2010).
    """
    rule = _roles().get(name, {}).get("fault_broadened")
    h = np.asarray(hkl, int).reshape(-1, 3)
    if not rule:
        return np.zeros(len(h), bool)
    return h[:, int(rule["index"])] % int(rule["modulus"]) != 0


def list_phases(library: str | Path | list | tuple | None = None) -> dict[str, Path]:
    """Return ``{phase name: CIF path}`` of the built-in library plus user CIFs.

    Parameters
    ----------
    library : path, folder, or list of them, optional
        Extra CIFs; a folder contributes every ``*.cif`` in it. A user CIF with the same
        stem as a built-in phase replaces it.

    Returns
    -------
    dict of str to Path
        Phase name (the CIF's file stem) mapped to its CIF path.

    Raises
    ------
    ParameterError
        A given path does not exist or holds no CIF.
    """
    phases = {p.stem: p for p in sorted(builtin_dir().glob("*.cif"))}
    extra = [] if library is None else library
    if isinstance(extra, str | Path):
        extra = [extra]
    for item in extra:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.glob("*.cif") if f.is_file())
            if not found:
                raise ParameterError(
                    f"{p}: folder holds no *.cif files; pass CIFs or a folder with CIFs"
                )
            phases.update({f.stem: f for f in found})
        elif p.is_file():
            phases[p.stem] = p
        else:
            raise ParameterError(f"{p}: no such CIF file or folder")
    return phases


def select_phases(names, library=None) -> dict[str, Path]:
    """Subset of :func:`list_phases` by name (case-insensitive); unknown names raise."""
    allp = list_phases(library)
    if names is None:
        return allp
    lower = {k.lower(): k for k in allp}
    out = {}
    for n in names:
        key = lower.get(str(n).lower())
        if key is None:
            raise ParameterError(
                f"phase {n!r} is not in the library; available: {', '.join(sorted(allp))}. "
                "Add a CIF with --library PATH"
            )
        out[key] = allp[key]
    return out


# A CIF of a crystal structure is kilobytes (the largest in COD, protein-sized cells, a few
# MB); a file far beyond that is not a structure and is refused before pymatgen parses it.
MAX_CIF_BYTES = 32 * 2**20


def _digest(path: Path) -> str:
    st = check_regular(path, format="cif")  # a FIFO or device named *.cif would block
    if st.st_size > MAX_CIF_BYTES:
        raise DataError(
            f"CIF is {st.st_size / 2**20:.0f} MiB, larger than any crystal structure "
            f"({MAX_CIF_BYTES // 2**20} MiB); pass the CIF of the phase",
            path=path,
        )
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


@lru_cache(maxsize=128)
def _structure(path_str: str, digest: str):
    import warnings

    from pymatgen.io.cif import CifParser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structs = CifParser(path_str).parse_structures(primitive=False)
    except Exception as err:  # pymatgen raises many kinds on bad CIFs
        raise DataError(f"cannot parse CIF ({err}); check the file", path=path_str) from err
    if not structs:
        raise DataError("CIF holds no structure", path=path_str)
    return structs[0]


def load_structure(path: str | Path):
    """Pymatgen Structure of a CIF (cached by content).

    Parameters
    ----------
    path : str or Path
        CIF file.

    Returns
    -------
    pymatgen.core.Structure
        A copy of the first structure in the CIF (conventional cell).

    Raises
    ------
    DataError
        If the CIF cannot be parsed or holds no structure.
    """
    return _structure(str(path), _digest(path)).copy()


def space_group(struct) -> tuple[str, int]:
    """Space-group symbol and number of a structure (spglib through pymatgen).

    Parameters
    ----------
    struct : pymatgen.core.Structure
        The structure (a library CIF loaded with :func:`load_structure`).

    Returns
    -------
    (str, int)
        Hermann–Mauguin symbol and International Tables number; ``("P1", 1)`` when the
        symmetry search fails (disordered or odd cells).
    """
    import warnings

    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # spglib deprecation chatter
            sga = SpacegroupAnalyzer(struct, symprec=1e-2)
            return sga.get_space_group_symbol(), sga.get_space_group_number()
    except Exception:  # disordered or odd cells: fall back to lattice-based guess
        return "P1", 1


def dispersion_factor(struct, hkls, two_theta, wavelength):
    """Return |F(f0 + f′ + if″)|² / |F(f0)|² per reflection (xrayutilities f′, f″ tables).

    pymatgen's stick intensities use f0 only; Ni, Co and Mn have f′ ≈ −2…−3 e under Cu Kα,
    which changes e.g. I(003)/I(104) of NMC811 by ≈ 5 % (``shared/notes/xrd.md`` §3.1). The
    ratio is evaluated for the representative hkl of each pymatgen family.

    Parameters
    ----------
    struct : pymatgen.core.Structure
        The structure.
    hkls : sequence of (h, k, l)
        One representative reflection per line.
    two_theta : array_like
        The lines' 2θ (deg).
    wavelength : float
        Wavelength (Å).

    Returns
    -------
    numpy.ndarray
        The factor per line (1 where an element has no xrayutilities table or |F(f0)|² ≈ 0).
    """
    import xrayutilities as xu

    en = xu.utilities.lam2en(wavelength)
    q = 4 * np.pi * np.sin(np.radians(two_theta / 2)) / wavelength
    frac = np.array([site.frac_coords for site in struct.sites])
    h = np.array(hkls, dtype=float)
    phase = np.exp(2j * np.pi * h @ frac.T)  # (n_refl, n_sites)
    f0 = np.zeros(phase.shape)
    fd = np.zeros(phase.shape, complex)
    for j, site in enumerate(struct.sites):
        for sp, occ in site.species.items():
            el = getattr(xu.materials.elements, str(getattr(sp, "element", sp).symbol), None)
            if el is None:
                return np.ones(len(hkls))
            f0[:, j] += occ * np.asarray(el.f0(q), float)
            fd[:, j] += occ * np.asarray(el.f(q, en), complex)
    a0 = np.abs((f0 * phase).sum(1)) ** 2
    ad = np.abs((fd * phase).sum(1)) ** 2
    return np.where(a0 > 1e-9 * a0.max(), ad / np.maximum(a0, 1e-30), 1.0)


#: unscaled pymatgen intensity (|F|² × LP × multiplicity, e²) below which a line is absent
MIN_ABSOLUTE_INTENSITY = 1e-6


@lru_cache(maxsize=512)
def _simulate(path_str, digest, wavelength, lo, hi, cell_override, role, name, anomalous=True):
    seeded = _seeded.get(
        (path_str, digest, wavelength, lo, hi, cell_override, role, name, anomalous)
    )
    if seeded is not None:
        return seeded
    import warnings
    from types import SimpleNamespace

    from pymatgen.analysis.diffraction.xrd import XRDCalculator
    from pymatgen.core import Lattice

    struct = _structure(path_str, digest).copy()
    sg_symbol, sg_number = _phase_symmetry(path_str, digest)
    if cell_override is not None:
        struct = struct.copy()
        struct.lattice = Lattice.from_parameters(*cell_override)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pat = XRDCalculator(wavelength=wavelength).get_pattern(
                struct, two_theta_range=(lo, hi), scaled=False
            )
        except (ZeroDivisionError, ValueError):
            # pymatgen normalises by the strongest line and unpacks the first one: it fails
            # when no reflection falls in the range; that is an empty pattern, not an error
            pat = None
    raw = np.zeros(0) if pat is None else np.asarray(pat.y, float)
    if raw.size == 0 or not np.all(np.isfinite(raw)) or raw.max() < MIN_ABSOLUTE_INTENSITY:
        # no line, or only systematically absent ones (|F|² ~ 1e-28 from rounding, which
        # pymatgen's scaling to 100 would turn into a strong line): an empty pattern
        pat, raw = SimpleNamespace(x=[], y=[], d_hkls=[], hkls=[]), np.zeros(0)
    hkls = []
    mult = []
    rhombo = sg_symbol.startswith("R")
    for fam in pat.hkls:
        h = fam[0]["hkl"]
        hkl = (h[0], h[1], h[3]) if len(h) == 4 else tuple(h)
        hkls.append(_obverse(hkl) if rhombo else tuple(int(v) for v in hkl))
        mult.append(sum(f["multiplicity"] for f in fam))
    intens = 100.0 * raw / raw.max() if raw.size else raw  # pymatgen's scaled intensities
    if anomalous and len(hkls):
        intens = intens * dispersion_factor(struct, hkls, np.asarray(pat.x, float), wavelength)
        intens = 100.0 * intens / intens.max()
    lat = struct.lattice
    comp = {str(el): float(v) for el, v in struct.composition.fractional_composition.items()}
    return ReferencePattern(
        name=name,
        role=role,
        space_group=sg_symbol,
        crystal_system=crystal_system(sg_number),
        cell=tuple(float(v) for v in (*lat.abc, *lat.angles)),
        wavelength_angstrom=float(wavelength),
        two_theta=np.asarray(pat.x, dtype=float),
        d_angstrom=np.asarray(pat.d_hkls, dtype=float),
        intensity=intens,
        hkl=hkls,
        multiplicity=np.asarray(mult, dtype=float),
        density_g_cm3=float(struct.density),
        composition=comp,
    )


def _obverse(hkl) -> tuple:
    """Relabel a pymatgen family representative to a member obeying −h + k + l = 3n.

    pymatgen merges all index permutations/sign changes with equal d into one "family"
    (e.g. (102) and (012) of R-3m); pick the member allowed by the obverse rhombohedral
    condition, preferring non-negative indices.
    """
    h, k, el = (int(v) for v in hkl)
    i = -h - k
    cands = []
    for p, q in ((h, k), (k, i), (i, h)):
        for a, b in ((p, q), (q, p), (-p, -q), (-q, -p)):
            cands += [(a, b, el), (a, b, -el)]
    ok = [c for c in cands if (-c[0] + c[1] + c[2]) % 3 == 0] or [(h, k, el)]
    return max(ok, key=lambda c: (sum(v >= 0 for v in c), c[2] >= 0, c))


@lru_cache(maxsize=128)
def _phase_symmetry(path_str, digest):
    return space_group(_structure(path_str, digest))


def reference_pattern(
    phase: str | Path,
    *,
    wavelength_angstrom: float = 1.540598,
    two_theta_range: tuple[float, float] = (5.0, 120.0),
    cell: tuple | None = None,
    library=None,
    cache: bool = True,
    anomalous: bool = True,
) -> ReferencePattern:
    """Simulated stick pattern of a library phase or a CIF path.

    Parameters
    ----------
    phase : str or Path
        Phase name (see :func:`list_phases`) or a CIF path.
    wavelength_angstrom : float
        Single wavelength (Kα1); Kα2 is added by the profile code, not here.
    two_theta_range : (float, float)
        deg.
    cell : tuple, optional
        (a, b, c, α, β, γ) replacing the CIF cell (fractional coordinates kept).
    library : optional
        Extra CIFs (see :func:`list_phases`).
    cache : bool
        False re-simulates (used by the benchmark baseline).
    anomalous : bool
        Correct the pymatgen (f0-only) intensities for anomalous dispersion f′ + if″.

    Returns
    -------
    ReferencePattern
    """
    p = Path(phase)
    if p.suffix.lower() == ".cif" and p.is_file():
        name, path = p.stem, p
    else:
        name, path = next(iter(select_phases([str(phase)], library).items()))
    if not 0.1 < wavelength_angstrom < 5:
        raise ParameterError(f"wavelength {wavelength_angstrom} Å outside 0.1–5 Å")
    args = (
        str(path),
        _digest(path),
        float(wavelength_angstrom),
        float(two_theta_range[0]),
        float(two_theta_range[1]),
        None if cell is None else tuple(float(v) for v in cell),
        phase_role(name),
        name,
        bool(anomalous),
    )
    if not cache:
        return _simulate.__wrapped__(*args)
    if args in _memo_keys:
        return _simulate(*args)
    disk = _disk_load(args)
    if disk is not None:
        _memo_keys.add(args)
        return _simulate_seed(args, disk)
    pat = _simulate(*args)
    _memo_keys.add(args)
    _disk_save(args, pat)
    return pat


#: Bump when the simulation or hkl labelling changes (invalidates the disk cache).
CACHE_VERSION = 3
_memo_keys: set = set()
_seeded: dict = {}


def cache_dir() -> Path | None:
    """Disk cache of simulated patterns: ``$CHARSUITE_CACHE_DIR/xrd`` or ``~/.cache/charsuite/xrd``.

    ``CHARSUITE_CACHE_DIR=off`` disables it. Unwritable locations are silently skipped.
    """
    import os

    root = os.environ.get("CHARSUITE_CACHE_DIR")
    if root and root.lower() == "off":
        return None
    base = Path(root) if root else Path.home() / ".cache" / "charsuite"
    return base / "xrd"


def _disk_key(args) -> str:
    from charsuite._version import __version__

    text = json.dumps([CACHE_VERSION, __version__, *args[1:]], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _disk_load(args):
    d = cache_dir()
    if d is None:
        return None
    path = d / f"{args[7]}-{_disk_key(args)}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    try:
        return ReferencePattern(
            name=data["name"],
            role=data["role"],
            space_group=data["space_group"],
            crystal_system=data["crystal_system"],
            cell=tuple(data["cell"]),
            wavelength_angstrom=data["wavelength_angstrom"],
            two_theta=np.asarray(data["two_theta"], float),
            d_angstrom=np.asarray(data["d_angstrom"], float),
            intensity=np.asarray(data["intensity"], float),
            hkl=[tuple(h) for h in data["hkl"]],
            multiplicity=np.asarray(data["multiplicity"], float),
            density_g_cm3=data["density_g_cm3"],
            composition=data["composition"],
        )
    except (KeyError, TypeError, ValueError):
        return None


def _disk_save(args, pat: ReferencePattern) -> None:
    import os
    import tempfile

    d = cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(pat.to_dict(), fh)
        os.replace(tmp, d / f"{args[7]}-{_disk_key(args)}.json")
    except OSError:
        return  # read-only home etc.: the in-memory cache still works


def _simulate_seed(args, pat):
    """Put a disk-loaded pattern into the in-memory cache of ``_simulate``."""
    _seeded[args] = pat
    return pat


def clear_cache(*, disk: bool = False) -> None:
    """Forget all in-memory cached structures and patterns (and the disk cache if ``disk``).

    Parameters
    ----------
    disk : bool
        Also delete the ``*.json`` pattern files in the disk cache folder, if there is one.

    Returns
    -------
    None
    """
    _simulate.cache_clear()
    _memo_keys.clear()
    _seeded.clear()
    if disk and cache_dir() is not None and cache_dir().is_dir():
        for f in cache_dir().glob("*.json"):
            f.unlink(missing_ok=True)
    _structure.cache_clear()
    _phase_symmetry.cache_clear()
