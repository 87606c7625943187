"""Write the XRD reference CIFs of charsuite from literature cell parameters.

Run from the repository root: ``python reference_data/xrd/generate_cifs.py``. Every phase
below is built with :meth:`pymatgen.core.Structure.from_spacegroup` from the space group,
cell and Wyckoff positions cited next to it, and written with ``CifWriter`` into
``reference_data/xrd/cif/<name>.cif`` (the file name is the phase name used by
``charsuite.xrd``). ``phases.json`` records role (film / substrate / degradation / coating /
impurity / standard), source and the expected number of sites, which the tests check.

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
    "ZrO2": (
        "P2_1/c",
        (5.1505, 5.2116, 5.3173, 90, 99.230, 90),
        ["Zr", "O", "O"],
        [[0.2754, 0.0395, 0.2083], [0.0700, 0.3317, 0.3447], [0.4496, 0.7569, 0.4792]],
        "coating",
        "monoclinic ZrO2 (baddeleyite) P2_1/c, Howard, Hill & Reichert, Acta Cryst. B44 (1988) 116 "
        "(cathode coating, precursor)",
    ),
    "ZnO": (
        "P6_3mc",
        (3.2498, 3.2498, 5.2066, 90, 90, 120),
        ["Zn", "O"],
        [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.3819]],
        "impurity",
        "ZnO wurtzite P6_3mc, Kisi & Elcombe, Acta Cryst. C45 (1989) 1867 (u = 0.3819)",
    ),
    "ZnFe2O4": (
        "Fd-3m:2",
        (8.441,) * 3 + (90, 90, 90),
        ["Zn", "Fe", "O"],
        [[0.125, 0.125, 0.125], [0.5, 0.5, 0.5], [0.26, 0.26, 0.26]],
        "impurity",
        "ZnFe2O4 normal spinel, origin choice 2: Zn 8a, Fe 16d, O 32e x = 0.260 (u = 0.385 in "
        "origin 1); a = 8.441 A (ICDD PDF 22-1012)",
    ),
    "Fe3O4": (
        "Fd-3m:2",
        (8.3941,) * 3 + (90, 90, 90),
        ["Fe", "Fe", "O"],
        [[0.125, 0.125, 0.125], [0.5, 0.5, 0.5], [0.2549, 0.2549, 0.2549]],
        "impurity",
        "Fe3O4 magnetite inverse spinel, origin choice 2, Fleet, Acta Cryst. B37 (1981) 917 "
        "(a = 8.3941 A, O x = 0.2549)",
    ),
    "TiO2-rutile": (
        "P4_2/mnm",
        (4.5937, 4.5937, 2.9587, 90, 90, 90),
        ["Ti", "O"],
        [[0, 0, 0], [0.3048, 0.3048, 0]],
        "impurity",
        "TiO2 rutile P4_2/mnm, Burdett et al., J. Am. Chem. Soc. 109 (1987) 3639 (15 K cell "
        "4.587/2.954 scaled to the room-temperature 4.5937/2.9587 A)",
    ),
    "TiO2-anatase": (
        "I4_1/amd",
        (3.7845, 3.7845, 9.5143, 90, 90, 90),
        ["Ti", "O"],
        [[0, 0, 0], [0, 0, 0.2081]],
        "impurity",
        "TiO2 anatase I4_1/amd origin choice 1: Ti 4a (0,0,0), O 8e (0,0,0.2081), Horn, Schwerdtfeger "
        "& Meagher, Z. Kristallogr. 136 (1972) 273",
    ),
    "Bi2O3": (
        "P2_1/c",
        (5.8486, 8.1661, 7.5097, 90, 67.023, 90),
        ["Bi", "Bi", "O", "O", "O"],
        [
            [0.52, 0.1875, 0.635],
            [0.04, 0.043, 0.225],
            [0.615, 0.278, 0.316],
            [0.631, 0.027, 0.113],
            [0.024, 0.084, 0.46],
        ],
        "impurity",
        "alpha-Bi2O3 (bismite) P2_1/c in the acute-beta setting of L. G. Sillen, "
        "Naturwissenschaften 28 (1940) 206 (COD 1010004 / AMCSD 0016940 positions; the 1940 O "
        "positions are approximate, Bi-O down to 1.7 A, the Bi positions dominate the X-ray "
        "intensities); room-temperature cell a 5.8486, b 8.1661, c 7.5097 A, beta 112.977 "
        "(= 180 - 67.023) deg (precursor)",
    ),
    "V2O5": (
        "Pmmn:2",
        (11.512, 3.564, 4.368, 90, 90, 90),
        ["V", "O", "O", "O"],
        [
            [0.10118, 0.25, 0.89184],
            [0.1043, 0.25, 0.5313],
            [0.25, 0.25, 0.001],
            [-0.0727, 0.25, 0.0031],
        ],
        "impurity",
        "V2O5 (shcherbinaite) Pmmn origin choice 2, R. Enjalbert & J. Galy, Acta Cryst. C42 "
        "(1986) 1467 (V=O 1.58 A, V-O 1.78/1.88/2.02 A; precursor)",
    ),
    "MnCO3": (
        "R-3c",
        (4.7682, 4.7682, 15.6354, 90, 90, 120),
        ["Mn", "C", "O"],
        [[0, 0, 0], [0, 0, 0.25], [0.2700, 0, 0.25]],
        "impurity",
        "MnCO3 rhodochrosite R-3c (calcite type): Mn 6b, C 6a, O 18e; cell of H. Effenberger, "
        "K. Mereiter & J. Zemann, Z. Kristallogr. 156 (1981) 233; x(O) = 0.270 from C-O = 1.29 A "
        "(precursor)",
    ),
    "Al": (
        "Fm-3m",
        (4.0495,) * 3 + (90, 90, 90),
        ["Al"],
        [[0, 0, 0]],
        "substrate",
        "Al fcc a = 4.0495 A (current collector; NIST SRM-type room-temperature value)",
    ),
    "LaB6": (
        "Pm-3m",
        (4.156826,) * 3 + (90, 90, 90),
        ["La", "B"],
        [[0, 0, 0], [0.1975, 0.5, 0.5]],
        "standard",
        "LaB6 NIST SRM 660c (line position and shape standard): a = 4.156826 A certified at "
        "22.5 C (certificate; SRM 660b: 4.15691 A); La 1a, B 6f x = 0.1975 (as in xrayutilities' "
        "LaB6; cf. COD 1000057)",
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


#: Solid solutions whose cell varies beyond the default 1 % search window (isotropic
#: strain allowed in search-match). Li_xMn2O4, 0 <= x <= 1: a = 8.03-8.25 A (lambda-MnO2 to
#: LiMn2O4; T. Ohzuku, M. Kitagawa, T. Hirai, J. Electrochem. Soc. 137 (1990) 769).
MAX_STRAIN = {"LiMn2O4": 0.03}

#: Declared ranges of the cell lengths (A) of phases whose cell changes strongly and
#: anisotropically in use (``charsuite.xrd._library.phase_cell_range``): the layered R-3m
#: cathodes along their published charge curves, Li(1-x)MO2. The search-match, the decide
#: stage's cell test (0.5 % beyond the range) and the Rietveld bounds use them.
CELL_RANGE = {
    "LiMn2O4": {
        "a": [8.03, 8.25],
        "source": "Li(x)Mn2O4, 0 <= x <= 1: a = 8.03 A (lambda-MnO2) to 8.245 A (LiMn2O4) "
        "(T. Ohzuku, M. Kitagawa, T. Hirai, J. Electrochem. Soc. 137, 769 (1990)); the cubic "
        "spinel does not expand beyond LiMn2O4 (Li(1+x)Mn2O4 turns tetragonal)",
    },
    "NMC811": {
        "a": [2.810, 2.876],
        "c": [13.73, 14.48],
        "source": "Li(1-x)Ni0.8Mn0.1Co0.1O2 on charge to 4.3-4.5 V: c grows from 14.20 to "
        "14.467(1) A near x = 0.5 and collapses to 14.030(1) A at 4.3 V (Kondrakov et al., "
        "J. Phys. Chem. C 121, 3286 (2017)), to 13.732(2) A at x(Li) = 0.25 (H2-H3-like "
        "collapse; Kondrakov et al., J. Phys. Chem. C 121, 24381 (2017); Ryu et al., Chem. "
        "Mater. 30, 1155 (2018); de Biasi et al., J. Phys. Chem. C 121, 26163 (2017)); a shrinks from 2.872 to about 2.81-2.82 A; a up to 2.876 A for "
        "cycled, Li/Ni-exchanged (degraded) material",
    },
    "LiNiO2": {
        "a": [2.810, 2.882],
        "c": [14.15, 14.48],
        "source": "Li(1-x)NiO2, H1-M-H2 solid solution (0 <= x <= 0.75): a 2.878 -> about "
        "2.81 A, c 14.19 -> about 14.47 A (W. Li, J. N. Reimers, J. R. Dahn, Solid State "
        "Ionics 67, 123 (1993); Bianchini et al., Angew. Chem. Int. Ed. 58, 10434 (2019)); "
        "Li-deficient Li(1-z)Ni(1+z)O2 down to c 14.15 A. The H3 phase (c about 13.4-13.6 A, "
        "x > 0.75, reached through a two-phase region) is a separate phase, not covered",
    },
    "LiCoO2": {
        "a": [2.805, 2.818],
        "c": [14.04, 14.46],
        "source": "Li(1-x)CoO2, 0 <= x <= 0.5 (to 4.2 V): c 14.05 -> about 14.45 A, a 2.816 -> "
        "about 2.807 A (J. N. Reimers, J. R. Dahn, J. Electrochem. Soc. 139, 2091 (1992); "
        "G. G. Amatucci, J.-M. Tarascon, L. C. Klein, J. Electrochem. Soc. 143, 1114 (1996)); "
        "the monoclinic distortion near x = 0.5 and the H1-3/O1 phases beyond are not covered",
    },
}

#: Fault-broadened superstructure reflections (``charsuite.xrd._library.fault_broadened_lines``):
#: the i-th Miller index not a multiple of m.
FAULT_BROADENED = {
    "Li2MnO3": {
        "index": 1,
        "modulus": 3,
        "note": "C2/m reflections with k not a multiple of 3 come from the Li/Mn honeycomb order "
        "within the transition-metal layers; stacking faults broaden and weaken them (Breger et "
        "al., J. Solid State Chem. 178, 2575 (2005); Boulineau et al., Solid State Ionics 180, "
        "1652 (2010)). They may be absent from a real pattern.",
    },
}


def main() -> None:
    """Write the generated CIFs of the library next to this script."""
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter

    out = HERE / "cif"
    out.mkdir(exist_ok=True)
    table = {}
    for name, (sg, cell, species, coords, role, source) in PHASES.items():
        lattice = Lattice.from_parameters(*cell)
        s = Structure.from_spacegroup(sg, lattice, species, coords, tol=1e-3)
        text = str(CifWriter(s, symprec=None))
        header = (
            f"# charsuite reference phase {name} ({sg}), role: {role}\n"
            f"# Source of cell and positions: {source}\n"
            f"# Cell (a, b, c, alpha, beta, gamma) = {cell}; written by "
            "reference_data/xrd/generate_cifs.py (pymatgen Structure.from_spacegroup)\n"
        )
        (out / f"{name}.cif").write_text(header + text)
        table[name] = {
            "space_group": sg,
            "cell": list(cell),
            "role": role,
            "source": source,
            "n_sites": len(s),
            "density_g_cm3": round(float(s.density), 4),
        }
        if name in MAX_STRAIN:
            table[name]["max_strain"] = MAX_STRAIN[name]
        if name in CELL_RANGE:
            table[name]["cell_range"] = CELL_RANGE[name]
        if name in FAULT_BROADENED:
            table[name]["fault_broadened"] = FAULT_BROADENED[name]
    (HERE / "phases.json").write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
