"""Write the XRD reference CIFs of charsuite from literature cell parameters.

Run from the repository root: ``python reference_data/xrd/generate_cifs.py``. Every phase
below is built with :meth:`pymatgen.core.Structure.from_spacegroup` from the space group,
cell and Wyckoff positions cited next to it, and written with ``CifWriter`` into
``reference_data/xrd/cif/<name>.cif`` (the file name is the phase name used by
``charsuite.xrd``). ``phases.json`` records role (film / substrate / degradation /
standard), source and the expected number of sites, which the tests check.

Conventions: R-3m layered oxides with the transition metal at 3a (0,0,0), Li at 3b
(0,0,1/2), O at 6c (0,0,z) with z ≈ 0.26 (hexagonal axes); Fd-3m phases in origin
choice 2 (``Fd-3m:2``).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (space group, lattice (a, b, c, alpha, beta, gamma), species, coords, role, source)
PHASES = {
    "NMC811": (
        "R-3m",
        (2.872, 2.872, 14.20, 90, 90, 120),
        [{"Ni": 0.78, "Mn": 0.10, "Co": 0.10, "Li": 0.02}, {"Li": 0.98, "Ni": 0.02}, "O"],
        [[0, 0, 0], [0, 0, 0.5], [0, 0, 0.2586]],
        "film",
        "LiNi0.8Mn0.1Co0.1O2, typical literature cell (a 2.870-2.874, c 14.19-14.21 A), 2% Li/Ni exchange",
    ),
    "LiNiO2": (
        "R-3m",
        (2.878, 2.878, 14.190, 90, 90, 120),
        ["Ni", "Li", "O"],
        [[0, 0, 0], [0, 0, 0.5], [0, 0, 0.2584]],
        "film",
        "LiNiO2 R-3m, literature cell (cf. COD 1533770)",
    ),
    "LiCoO2": (
        "R-3m",
        (2.8156, 2.8156, 14.0542, 90, 90, 120),
        ["Co", "Li", "O"],
        [[0, 0, 0], [0, 0, 0.5], [0, 0, 0.2604]],
        "film",
        "LiCoO2 R-3m (cf. COD 4505482)",
    ),
    "In2O3": (
        "Ia-3",
        (10.117, 10.117, 10.117, 90, 90, 90),
        ["In", "In", "O"],
        [[0.25, 0.25, 0.25], [0.4668, 0, 0.25], [0.3905, 0.1529, 0.3832]],
        "substrate",
        "In2O3 bixbyite (ITO host), Marezio 1966 positions (cf. COD 1538147)",
    ),
    "Pt": (
        "Fm-3m",
        (3.9231,) * 3 + (90, 90, 90),
        ["Pt"],
        [[0, 0, 0]],
        "substrate",
        "Pt fcc a=3.9231 A",
    ),
    "Al2O3": (
        "R-3c",
        (4.7602, 4.7602, 12.9933, 90, 90, 120),
        ["Al", "O"],
        [[0, 0, 0.35216], [0.30624, 0, 0.25]],
        "substrate",
        "corundum / sapphire, Lewis et al. 1982 (cf. COD 2300448)",
    ),
    "Ti": (
        "P6_3/mmc",
        (2.9508, 2.9508, 4.6855, 90, 90, 120),
        ["Ti"],
        [[1 / 3, 2 / 3, 0.25]],
        "substrate",
        "alpha-Ti (cf. COD 9008517)",
    ),
    "Fe": (
        "Im-3m",
        (2.8665,) * 3 + (90, 90, 90),
        ["Fe"],
        [[0, 0, 0]],
        "substrate",
        "alpha-Fe, ferritic steel proxy (cf. COD 9008536)",
    ),
    "NiO": (
        "Fm-3m",
        (4.1771,) * 3 + (90, 90, 90),
        ["Ni", "O"],
        [[0, 0, 0], [0.5, 0.5, 0.5]],
        "degradation",
        "NiO rock salt (cf. COD 1010093)",
    ),
    "MnO": (
        "Fm-3m",
        (4.445,) * 3 + (90, 90, 90),
        ["Mn", "O"],
        [[0, 0, 0], [0.5, 0.5, 0.5]],
        "degradation",
        "MnO rock salt",
    ),
    "LiF": (
        "Fm-3m",
        (4.0263,) * 3 + (90, 90, 90),
        ["Li", "F"],
        [[0, 0, 0], [0.5, 0.5, 0.5]],
        "degradation",
        "LiF rock salt (cathode-electrolyte interphase product)",
    ),
    "LiMn2O4": (
        "Fd-3m:2",
        (8.245,) * 3 + (90, 90, 90),
        ["Li", "Mn", "O"],
        [[0.125, 0.125, 0.125], [0.5, 0.5, 0.5], [0.2625, 0.2625, 0.2625]],
        "degradation",
        "LiMn2O4 spinel, origin choice 2: Li 8a, Mn 16d, O 32e x=0.2625",
    ),
    "Li2MnO3": (
        "C2/m",
        (4.937, 8.532, 5.030, 90, 109.46, 90),
        ["Li", "Li", "Li", "Mn", "O", "O"],
        [
            [0, 0.5, 0],
            [0, 0, 0.5],
            [0, 0.6606, 0.5],
            [0, 0.1667, 0],
            [0.2189, 0, 0.2273],
            [0.2540, 0.3212, 0.2233],
        ],
        "degradation",
        "Li2MnO3 C2/m, Strobel & Lambert-Andron 1988 (cf. COD 1008373)",
    ),
    "Li2CO3": (
        "C2/c",
        (8.359, 4.973, 6.194, 90, 114.72, 90),
        ["Li", "C", "O", "O"],
        [[0.1965, 0.4484, 0.8338], [0, 0.0657, 0.25], [0, 0.3229, 0.25], [0.1459, -0.0636, 0.3127]],
        "degradation",
        "Li2CO3 zabuyelite, approximate literature positions (replace by COD 2310703)",
    ),
    "Si": (
        "Fd-3m:2",
        (5.431179,) * 3 + (90, 90, 90),
        ["Si"],
        [[0.125, 0.125, 0.125]],
        "standard",
        "Si, SRM 640-type cell, origin choice 2",
    ),
}


def main() -> None:
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter

    out = HERE / "cif"
    out.mkdir(exist_ok=True)
    table = {}
    for name, (sg, cell, species, coords, role, source) in PHASES.items():
        lattice = Lattice.from_parameters(*cell)
        s = Structure.from_spacegroup(sg, lattice, species, coords, tol=1e-3)
        CifWriter(s, symprec=None).write_file(out / f"{name}.cif")
        table[name] = {
            "space_group": sg,
            "cell": list(cell),
            "role": role,
            "source": source,
            "n_sites": len(s),
            "density_g_cm3": round(float(s.density), 4),
        }
    (HERE / "phases.json").write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
