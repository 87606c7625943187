"""Generators of ion-beam-analysis result files with known ground truth.

Writers for every composition format charsuite reads (layouts as documented in the
reader modules; GUPIX and NDF files are written from the documented layouts, not copied
from any third-party file) and :func:`film_results`, which writes a consistent
RBS + ToF-ERDA + PIXE result set for a film such as the demo sample. All randomness
uses ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from charsuite.datasets.sample import DEMO_SAMPLE, DemoSample

__all__ = [
    "film_results",
    "write_composition_sheet",
    "write_gupix_out",
    "write_idf",
    "write_ndf_prf",
    "write_ndf_res",
    "write_potku_depth",
    "write_rump_lcm",
]

_Z = {
    "H": 1,
    "Li": 3,
    "C": 6,
    "O": 8,
    "F": 9,
    "Si": 14,
    "Ti": 22,
    "Cr": 24,
    "Mn": 25,
    "Fe": 26,
    "Co": 27,
    "Ni": 28,
    "Cu": 29,
    "Zn": 30,
    "In": 49,
    "Sn": 50,
    "Pt": 78,
}


def write_composition_sheet(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write a charsuite composition sheet; the format follows the suffix (.csv/.toml/.json).

    ``rows``: dicts with keys element, quantity, value, uncertainty, unit, technique, layer.
    """
    path = Path(path)
    cols = ("element", "quantity", "value", "uncertainty", "unit", "technique", "layer")
    suffix = path.suffix.lower()
    if suffix == ".json":
        doc = {"charsuite_composition": 1, "amounts": [dict(r) for r in rows]}
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    elif suffix == ".toml":
        out = ["charsuite_composition = 1", ""]
        for r in rows:
            out.append("[[amount]]")
            for c in cols:
                if c in r and r[c] is not None:
                    v = r[c]
                    out.append(f"{c} = {json.dumps(v) if isinstance(v, str) else repr(float(v))}")
            out.append("")
        path.write_text("\n".join(out), encoding="utf-8")
    else:
        out = [
            "# charsuite composition sheet (see charsuite.io.formats.iba.composition_sheet)",
            ",".join(cols),
        ]
        for r in rows:
            out.append(",".join("" if r.get(c) is None else str(r.get(c)) for c in cols))
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def write_gupix_out(
    path: str | Path,
    concentrations_ppm: Mapping[str, tuple[float, float, float]],
    *,
    flags: Mapping[str, str] | None = None,
    lod_ppm: Mapping[str, float] | None = None,
    beam_energy_keV: float = 2000.0,
    layer_thickness_ug_cm2: float = 228.0,
) -> Path:
    """Write a GUPIX-style ``.out`` with the final table (layout of GUPIX 2.2.0).

    ``concentrations_ppm``: element → (ppm by mass, %Stat error, %Fit error).
    """
    flags = dict(flags or {})
    lod_ppm = dict(lod_ppm or {})
    lines = [
        " Windows GUPIX Version 2.2.0 (charsuite synthetic output)",
        " File: film.spo",
        " Chi**2=   1.137",
        " Fit region has 900 chan",
        " Detector resolution at 5.9 keV (eV):  135.0",
        f" Proton energy(keV): {beam_energy_keV:.0f}",
        f" Layer thickness(ug/cm2): {layer_thickness_ug_cm2:.1f}",
        "",
        "       Layer         H   Yield Det. Filter",
        " Element     Area  value  /uC/ Eff. Trans.     Conc.  %Stat.  %Fit      LOD",
        "  Z Sym  #  counts ( -4)   ppm (-3)  (-5)       ppm    Error  Error     ppm",
        "  - ---  -  ------ ----- ----- ---- ------     -----   -----  -----    -----  -",
    ]
    for el, (ppm, stat, fit) in concentrations_ppm.items():
        z = _Z[el]
        line = "L" if z > 45 else "K"
        area = ppm * 0.33 if ppm > 0 else 0.0
        lod = lod_ppm.get(el, 50.0 + 2.0 * z)
        flag = flags.get(el, "Y" if ppm > 3 * lod else ("?" if ppm > 0 else "N"))
        lines.append(
            f" {z:2d} {el + line:<4s} 1 {area:7.1f}   120  2559 1000  35005 {ppm:9.1f}"
            f"  {stat:6.2f} {fit:6.2f} {lod:8.1f}  {flag}"
        )
    lines += ["", " Note: matrix iterated; concentrations sum to unity.", ""]
    Path(path).write_text("\n".join(lines), encoding="latin-1")
    return Path(path)


def write_ndf_res(
    path: str | Path,
    layers: Sequence[tuple[float, Mapping[str, float]]],
    *,
    density_1e22_at_cm3: float = 9.4,
) -> Path:
    """Write an NDF-style ``.RES`` with molecule and element layer tables.

    ``layers``: (thickness 1e15 at/cm², {element: at.%}) from the surface.
    """
    elements: list[str] = []
    for _, comp in layers:
        elements += [e for e in comp if e not in elements]
    head = "Layer  t (1e15at/cm2) t (nm) r(1e22at/cm3) "
    out = [
        " NDF v10.0a (charsuite synthetic output)",
        " N.P. Barradas, C. Jeynes, NIMB 266 (2008) 1875",
        " Stopping powers: SRIM",
        " Partial chisquared:    1.21",
        "",
        head + "".join(f"{e:>10s}" for e in elements),
    ]
    body = []
    for i, (t, comp) in enumerate(layers, start=1):
        nm = t * 1e15 / (density_1e22_at_cm3 * 1e22) * 1e7
        body.append(
            f"{i:4d} {t:12.3f} {nm:12.3f} {density_1e22_at_cm3:6.3f} "
            + "".join(f"{comp.get(e, 0.0):10.4f}" for e in elements)
        )
    out += [*body, "", head + "".join(f"{e:>10s}" for e in elements), *body]
    totals = [sum(t * c.get(e, 0.0) / 100 for t, c in layers) for e in elements]
    out.append(" Total (1e15at/cm2):  " + "".join(f"{v:12.4E}" for v in totals))
    Path(path).write_text("\n".join(out) + "\n", encoding="latin-1")
    return Path(path)


def write_ndf_prf(
    path: str | Path,
    layers: Sequence[tuple[float, Sequence[float]]],
    molecules: Sequence[tuple[float, str]],
) -> Path:
    """Write an NDF-style ``.PRF``: layer count, rows, and the molecules footer.

    ``molecules``: (density 1e22 at/cm³, NDF name such as ``"Si1o2"``) per column.
    """
    out = [str(len(layers))]
    for t, conc in layers:
        out.append(f"{t:12.3f} " + " ".join(f"{c:10.4f}" for c in conc))
    out.append("thickness(1e15at/cm2), comp_molecules...")
    out.append(f"molecules  {len(molecules)}")
    out += [f"{d:.3f} {name}" for d, name in molecules]
    out.append("written by charsuite.datasets.composition (synthetic)")
    Path(path).write_text("\n".join(out) + "\n", encoding="latin-1")
    return Path(path)


def write_idf(
    path: str | Path,
    layers: Sequence[tuple[float, Mapping[str, float]]],
    *,
    technique: str = "RBS",
    percent: bool = False,
    simnra: bool = True,
) -> Path:
    """Write an IDF / SIMNRA-style ``.xnra`` layer structure.

    ``layers``: (thickness 1e15 at/cm², {element or isotope: fraction}). ``percent``
    writes fractions ×100 labelled "fraction" (as pyIBA does).
    """
    ns = ' xmlns:simnra="http://www.simnra.com/simnra"' if simnra else ""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<idf xmlns="http://idf.schemas.itn.pt"{ns}>',
        "<attributes><idfversion>1.01</idfversion>",
        "<simnra:simnraversionnr>7.04</simnra:simnraversionnr>" if simnra else "",
        "</attributes><sample><structure><layeredstructure>",
        f"<nlayers>{len(layers)}</nlayers><layers>",
    ]
    for t, comp in layers:
        out.append(
            f'<layer><layerthickness units="1e15at/cm2"> {t:.14E}</layerthickness><layerelements>'
        )
        for el, f in comp.items():
            value = f * 100 if percent else f
            out.append(
                f'<layerelement><name>{el}</name><concentration units="fraction"> {value:.14E}'
                "</concentration></layerelement>"
            )
        out.append("</layerelements></layer>")
    out += [
        "</layers></layeredstructure></structure><spectra><spectrum>",
        '<beam><beamparticle>4He</beamparticle><beamenergy units="keV"> 2.0E+0003</beamenergy>'
        "</beam>",
        f"<reactions><technique>{technique}</technique></reactions>",
        "</spectrum></spectra></sample></idf>",
    ]
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")
    return Path(path)


def write_rump_lcm(path: str | Path, layers: Sequence[tuple[str, Mapping[str, float]]]) -> Path:
    """Write a RUMP ``.lcm``.

    ``layers``: (thickness with unit, e.g. ``"330 A"`` or ``"1200 /CM2"``, {element: relative
    amount}).
    """
    out = ["Sim Reset"]
    for i, (thick, comp) in enumerate(layers, start=1):
        out.append(f"Layer {i}" if i == 1 else "Next")
        out.append(f" Thick {thick}")
        out.append(" Composition " + " ".join(f"{e} {v:g}" for e, v in comp.items()) + " /")
    out.append("Maxpth 1000")
    Path(path).write_text("\n".join(out) + "\n", encoding="latin-1")
    return Path(path)


def write_potku_depth(
    folder: str | Path,
    fractions: Mapping[str, Any],
    *,
    depth: Any = None,
    rates: Mapping[str, float] | None = None,
    target_density_g_cm3: float = 3.8,
    window: tuple[float, float] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Write ``depthfiles/depth.<El>`` + ``depth.total`` (erd_depth layout) into ``folder``.

    Parameters
    ----------
    folder : path
        Measurement folder; files go to ``folder/depthfiles``; with ``window`` a
        ``depth_profile_settings.ini`` is written to ``folder``.
    fractions : mapping
        Element label (file suffix, e.g. ``"Li"`` or ``"Mn"``) → callable(depth) giving
        the true atomic fraction (the callables should sum to 1 inside the sample).
    depth : array, optional
        Bin centres, 1e15 at/cm² (default −190 … 1990 step 20, as Potku's sample).
    rates : mapping, optional
        Expected events per bin at fraction 1 for each element (detection efficiency).
    """
    folder = Path(folder)
    out = folder / "depthfiles"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    depth = np.arange(-190.0, 2000.0, 20.0) if depth is None else np.asarray(depth, float)
    rates = dict(rates or {})
    names = list(fractions)
    true = np.stack([np.clip(np.asarray(fractions[n](depth), float), 0, None) for n in names], 1)
    lam = true * np.array([rates.get(n, 300.0) for n in names])
    events = rng.poisson(lam)
    weighted = events / np.array([rates.get(n, 300.0) for n in names])
    total = weighted.sum(axis=1)
    frac = np.divide(
        weighted, total[:, None], out=np.zeros_like(weighted), where=total[:, None] > 0
    )
    mean_mass_g_per_at = 14.0 / 6.02214076e23
    mass = depth * 1e15 * mean_mass_g_per_at * 1e6  # µg/cm²
    nm = mass * 1e-6 / target_density_g_cm3 * 1e7
    for k, n in enumerate(names):
        sig = np.divide(
            frac[:, k], np.sqrt(events[:, k]), out=np.zeros(depth.size), where=events[:, k] > 0
        )
        rows = [
            f"{d:10.3f} {m:10.3f} {x:10.3f} {f:10.5f} {f * 4.1e28:14.5e} {s:10.5f} {e:10d}"
            for d, m, x, f, s, e in zip(depth, mass, nm, frac[:, k], sig, events[:, k])
        ]
        (out / f"depth.{n}").write_text("\n".join(rows) + "\n")
    tot_rows = [
        f"{d:7.2f} {m:10.3f} {x:10.3f} {f:10.4e}"
        for d, m, x, f in zip(depth, mass, nm, frac.sum(axis=1))
    ]
    (out / "depth.total").write_text("\n".join(tot_rows) + "\n")
    if window is not None:
        (folder / "depth_profile_settings.ini").write_text(
            "[default]\nuse_settings = \n\n[depth_profile_settings]\n"
            "depth_step_for_output = 20.0\n"
            f"depths_for_concentration_from = {window[0]:.1f}\n"
            f"depths_for_concentration_to = {window[1]:.1f}\n"
        )
    return {"files": sorted(str(p) for p in out.iterdir()), "events": events}


def _film_numbers(sample: DemoSample, oxygen: float) -> dict[str, Any]:
    from charsuite.composition import molar_mass, parse_formula

    amounts, _ = parse_formula(sample.film_formula)
    full = {**amounts, "O": oxygen}
    mass = molar_mass(full)
    atoms_per_fu = sum(full.values())
    fu_cm3 = sample.film_density_g_cm3 * 6.02214076e23 / mass
    fu_areal = fu_cm3 * sample.film_thickness_nm * 1e-7 / 1e15  # 1e15 f.u./cm²
    return {"amounts": amounts, "full": full, "fu_areal": fu_areal, "nu": atoms_per_fu}


def film_results(
    outdir: str | Path,
    *,
    sample: DemoSample = DEMO_SAMPLE,
    oxygen_true: float = 2.1,
    noise: bool = True,
    seed: int | None = None,
    write_settings: bool = True,
) -> dict[str, Any]:
    """Write RBS, ToF-ERDA and PIXE results of the film with realistic uncertainties.

    * ``rbs_results.csv`` (charsuite sheet): metal total ``Ni+Mn+Co`` areal density
      (RBS cannot separate Ni/Mn/Co), ±2 %; the oxygen of the film is not given (ITO
      below). Also the film thickness row.
    * ``erda/depthfiles/depth.*`` (Potku layout): Li, O and the heavy "Mn" cut that
      holds all transition metals (they are not mass-resolved), with a
      ``depth_profile_settings.ini`` window inside the film.
    * ``pixe.out`` (GUPIX layout): Ni, Mn, Co ppm by mass (±1 %/±5 %/±5 %), Fe not
      detected (``N``).

    Parameters
    ----------
    outdir : path
    sample : DemoSample
        Ground truth (film formula, thickness, density).
    oxygen_true : float
        O per formula unit used to build the film (unknown to the analysis).
    noise : bool
        Draw each RBS/PIXE value from N(truth, σ); False writes them exactly. ERDA event
        counts are always Poisson draws (that is what sets their σ).
    seed : int, optional
        Default ``sample.seed``.
    write_settings : bool
        Write Potku's ``depth_profile_settings.ini`` with the window (else pass
        ``depth_range=truth["erda_window_1e15_at_cm2"]`` when reading).

    Returns
    -------
    dict
        ``{"files": {"RBS", "ERDA", "PIXE": path}, "truth": {...}, "rules": [...],
        "relabel": {"ERDA": {"Mn": "Ni+Mn+Co"}}}``.
    """
    from charsuite.composition import atomic_mass

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(sample.seed if seed is None else seed)
    nums = _film_numbers(sample, oxygen_true)
    a = nums["amounts"]
    metals = ("Ni", "Mn", "Co")
    tm = sum(a[m] for m in metals)

    def draw(value: float, rel: float) -> float:
        return float(value * (1 + rel * rng.standard_normal())) if noise else float(value)

    # RBS: metal areal density of the film (1e15 at/cm²)
    tm_areal = nums["fu_areal"] * tm
    rbs_rows = [
        {
            "element": "Ni+Mn+Co",
            "quantity": "areal_density",
            "value": round(draw(tm_areal, 0.02), 2),
            "uncertainty": round(0.02 * tm_areal, 2),
            "unit": "1e15 at/cm2",
            "technique": "RBS",
            "layer": "film",
        },
        {
            "element": "",
            "quantity": "thickness",
            "value": round(nums["fu_areal"] * nums["nu"], 1),
            "uncertainty": "",
            "unit": "1e15 at/cm2",
            "technique": "RBS",
            "layer": "film",
        },
    ]
    rbs = write_composition_sheet(outdir / "rbs_results.csv", rbs_rows)

    # ToF-ERDA: Potku depth profiles through the film into ITO
    film_depth = nums["fu_areal"] * nums["nu"]
    full = nums["full"]
    nu = nums["nu"]
    step = float(round(film_depth / 80.0))
    depth = np.arange(-5 * step, 1.6 * film_depth, step)

    def profile(frac_film: float, frac_ito: float):
        return lambda d: np.where(
            (d >= 0) & (d <= film_depth), frac_film, np.where(d > film_depth, frac_ito, 0.0)
        )

    fr = {
        "Li": profile(full["Li"] / nu, 0.0),
        "O": profile(full["O"] / nu, 0.6),
        "Mn": profile(tm / nu, 0.0),
        "In": profile(0.0, 0.36),
        "Sn": profile(0.0, 0.04),
    }
    window = (round(0.15 * film_depth, -1), round(0.85 * film_depth, -1))
    write_potku_depth(
        outdir / "erda",
        fr,
        depth=depth,
        rates={"Li": 60.0, "O": 120.0, "Mn": 200.0, "In": 250.0, "Sn": 250.0},
        window=window if write_settings else None,
        seed=int(rng.integers(2**31)),
    )

    # PIXE: mass fractions of the metals in a matrix with O at x = oxygen_true
    mass_fu = sum(n * atomic_mass(e) for e, n in full.items())
    ppm = {m: a[m] * atomic_mass(m) / mass_fu * 1e6 for m in metals}
    rel = {"Ni": 0.01, "Mn": 0.05, "Co": 0.05}
    conc = {m: (draw(ppm[m], rel[m]), rel[m] * 60, rel[m] * 100) for m in metals}
    conc["Fe"] = (0.0, 0.0, 0.0)
    pixe = write_gupix_out(
        outdir / "pixe.out",
        conc,
        flags={"Fe": "N"},
        layer_thickness_ug_cm2=sample.film_density_g_cm3 * sample.film_thickness_nm * 0.1,
    )
    return {
        "files": {"RBS": rbs, "ERDA": outdir / "erda" / "depthfiles" / "depth.total", "PIXE": pixe},
        "truth": {
            "formula": sample.film_formula,
            "amounts": dict(a),
            "oxygen_true": oxygen_true,
            "metal_areal_density_1e15_at_cm2": tm_areal,
            "film_areal_density_1e15_at_cm2": film_depth,
            "erda_window_1e15_at_cm2": window,
        },
        "rules": ["Li from ERDA", "Ni,Mn,Co ratios from PIXE", "metal total from RBS"],
        "relabel": {"ERDA": {"Mn": "Ni+Mn+Co"}},
    }
