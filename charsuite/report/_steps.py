"""One function per report step: read the step's files, call the public API, fill a StepOutput.

Every step is a top-level function ``step(opts, sample, out) -> StepOutput`` so that it can
run in a worker process. ``opts`` holds the step's validated TOML tables (see
:data:`charsuite.report._spec.STEPS`), ``sample`` the ``[sample]`` values, ``out`` the folder
for its figures. Only public names of the domain packages are used. No science here: the
numbers come from :mod:`charsuite.xrd`, :mod:`charsuite.composition`, :mod:`charsuite.sims`
and :mod:`charsuite.echem`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charsuite.report._output import StepOutput


def _need(sample: dict, key: str, what: str) -> float:
    from charsuite.exceptions import ParameterError

    if sample.get(key) is None:
        name = key.rsplit("_", 2)[0] if key.count("_") > 1 else key
        raise ParameterError(f"{what} needs [sample] {name.replace('_nm', '')}")
    return sample[key]


def xrd(opts: dict, sample: dict, out: Path, scheduler: Any = None) -> StepOutput:
    """GI-XRD of the film (and substrate): phases, layered lattice, texture, size."""
    from charsuite.io import read
    from charsuite.plotting.xrd import plot_identification
    from charsuite.xrd import analyze

    o = opts["xrd"]
    res = StepOutput(out=out)
    film = read(o["film"])
    kwargs = {
        "film_thickness_nm": sample.get("film_thickness_nm"),
        "incidence_angle_deg": o.get("incidence_angle"),
        "instrument_fwhm_deg": o.get("instrument_fwhm"),
        "phases": o.get("phases"),
    }
    analysis = analyze(film, **kwargs)
    sub = read(o["substrate"]) if "substrate" in o else None
    sub_res = (
        analyze(sub, incidence_angle_deg=o.get("incidence_angle")) if sub is not None else None
    )
    omega = analysis.incidence_angle_deg
    title = f"GI-XRD ω = {omega:g}°" if omega else "XRD"
    fig = plot_identification(film, analysis, substrate=sub, title=title)
    inputs = [o["film"], *([o["substrate"]] if sub is not None else [])]
    res.figure(fig, "xrd_pattern", "Pattern with reference sticks and hkl labels", inputs)
    for p in analysis.phases:
        score = p.get("score") if isinstance(p, dict) else None
        res.number(f"phase:{p['name']}", p["name"], score, "", table="Phases (film), match score")
    if sub_res is not None:
        for p in sub_res.phases:
            res.number(f"substrate_phase:{p['name']}", p["name"], p.get("score"), "",
                       table="Phases (substrate alone), match score")  # fmt: skip
    res.number("unidentified_peaks", "unidentified peaks", len(analysis.unidentified_peaks), "")
    _layered(res, analysis.layered or {})
    rwp = (analysis.whole_pattern or {}).get("rwp")
    res.number("whole_pattern_rwp", "whole-pattern Rwp", rwp, "")
    names = ", ".join(p["name"] for p in analysis.phases) or "none"
    res.summary = f"Phases identified in the film scan: {names}."
    return res


def _layered(res: StepOutput, lay: dict) -> None:
    if not lay:
        res.notes.append("no layered (R-3m) phase was refined")
        return
    tex = lay.get("texture") or {}
    size = lay.get("crystallite_size_nm") or {}
    table = "Layered phase (R-3m)"
    res.number("a_angstrom", "a", lay.get("a"), "Å", uncertainty=lay.get("a_err"), table=table)
    res.number("c_angstrom", "c", lay.get("c"), "Å", uncertainty=lay.get("c_err"), table=table)
    res.number("c_over_a", "c/a", lay.get("c_over_a"), "", table=table)
    res.number("shift_003_deg", "(003) shift vs reference", lay.get("shift_003_deg"), "°",
               table=table)  # fmt: skip
    res.number("i003_i104", "I(003)/I(104)", lay.get("i003_i104"), "", table=table)
    res.number("march_r", "March r (texture)", tex.get("march_r"), "", table=table)
    res.number("crystallite_size_nm", "crystallite size (Scherrer)", size.get("mean_nm"), "nm",
               uncertainty=size.get("std_nm"), table=table)  # fmt: skip


def composition(opts: dict, sample: dict, out: Path, scheduler: Any = None) -> StepOutput:
    """Merge RBS / ERDA / PIXE result files into one formula; capacity and loading."""
    import warnings

    from charsuite.composition import DisagreementWarning, amounts_from, combine
    from charsuite.io import read, resolve_format
    from charsuite.plotting.composition import plot_composition

    o = opts["composition"]
    res = StepOutput(out=out)
    amounts = {}
    relabel, layers = o.get("relabel", {}), o.get("layers", {})
    for label, path in o["files"].items():
        kwargs = {}
        if "depth_range" in o and resolve_format(path) == "potku-depth":
            kwargs["depth_range"] = tuple(o["depth_range"])
        amounts[label] = amounts_from(
            read(path, **kwargs), layer=layers.get(label), relabel=relabel.get(label)
        )
    oxygen = o.get("oxygen", "unknown")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisagreementWarning)  # listed in result.warnings
        result = combine(
            amounts,
            rules=o.get("rules", []),
            basis=o.get("basis", "Ni+Mn+Co=1"),
            oxygen=oxygen,
            target=sample.get("target"),
        )
    res.notes += list(result.warnings)
    inputs = list(o["files"].values())
    title = "film vs target (1σ)" if sample.get("target") else "film (1σ)"
    res.figure(plot_composition(result, title=title), "composition", "Composition per formula "
               f"unit ({result.basis}){' vs target' if sample.get('target') else ''}", inputs)  # fmt: skip
    _amounts(res, result)
    _capacity(res, result, o, sample)
    res.summary = (
        f"{result.formula_with_uncertainty} (basis {result.basis}, oxygen {result.oxygen_policy})."
    )
    return res


def _amounts(res: StepOutput, result: Any) -> None:
    at = result.at_pct()
    for el, n in result.amounts.items():
        src = result.sources.get(el, "")
        res.number(f"amount:{el}", f"{el} ({src})", n, "per f.u.", table="Amounts per formula unit")
        res.number(f"at_pct:{el}", el, at[el], "at.%", table="Atomic percent (measured elements)")
    for el, row in ((result.target or {}).get("elements") or {}).items():
        if row.get("relative_pct") is None:
            continue
        table = "Film vs target"
        res.number(f"target:{el}", f"{el} target", row["target"], "per f.u.", table=table)
        res.number(f"vs_target_pct:{el}", f"{el} film vs target", row["relative_pct"], "%",
                   table=table)  # fmt: skip


def _capacity(res: StepOutput, result: Any, o: dict, sample: dict) -> None:
    from charsuite.composition import film_loading

    n = o.get("electrons", 1.0)
    table = "Capacity and loading"
    if o.get("oxygen", "unknown") == "unknown" and "oxygen_range" not in o:
        res.notes.append("oxygen unknown and no oxygen_range given: no capacity computed")
    elif "oxygen_range" in o:
        x = tuple(o["oxygen_range"])
        cap = result.capacity(electrons=n, oxygen=x)
        hi, lo = cap.capacity_range_mAh_g[0], cap.capacity_range_mAh_g[1]
        res.number("capacity_low_mAh_g", f"capacity, n = {n:g}, O = {x[1]:g}", lo, "mAh/g",
                   table=table)  # fmt: skip
        res.number("capacity_high_mAh_g", f"capacity, n = {n:g}, O = {x[0]:g}", hi, "mAh/g",
                   table=table)  # fmt: skip
    else:
        cap = result.capacity(electrons=n)
        res.number("capacity_mAh_g", f"capacity, n = {n:g}", cap.capacity_mAh_g, "mAh/g",
                   table=table)  # fmt: skip
    keys = ("density_g_cm3", "film_thickness_nm", "area_cm2")
    if all(sample.get(k) for k in keys):
        load = film_loading(density_g_cm3=sample["density_g_cm3"],
                            thickness_nm=sample["film_thickness_nm"], area_cm2=sample["area_cm2"])  # fmt: skip
        res.number("film_mass_ug", "film mass (density × thickness × area)", load.mass_g * 1e6,
                   "µg", table=table)  # fmt: skip
        res.number("loading_mg_cm2", "loading", load.loading_mg_cm2, "mg/cm²", table=table)


def sims(opts: dict, sample: dict, out: Path, scheduler: Any = None) -> StepOutput:
    """Depth profile, interfaces and depth calibration, co-localisation in one layer."""
    from charsuite.plotting.sims import plot_colocalisation, plot_depth_profile
    from charsuite.sims import calibrate_depth, colocalise, depth_profile, layer_maps, open_cube
    from charsuite.sims.tomo import compute_context

    o = opts["sims"]
    res = StepOutput(out=out)
    with compute_context(scheduler):
        cube = open_cube(o["file"])
        profile = depth_profile(cube, dead_time=o.get("dead_time", True))
    cal = None
    if "layers" in o:
        cal = calibrate_depth(profile, o["layers"], variable=o.get("variable", "counts"))
    fig = plot_depth_profile(profile, calibration=cal, title="ToF-SIMS depth profile")
    res.figure(fig, "sims_profile", "Depth profile (log counts vs depth, layer bands)", [o["file"]])
    for itf in cal.interfaces if cal else []:
        key = f"{itf.between[0]}/{itf.between[1]}"
        table = "Interfaces (50 % points)"
        res.number(f"interface_scan:{key}", f"{key} position", itf.scan, "scan", table=table)
        res.number(f"interface_depth:{key}", f"{key} depth", itf.depth_nm, "nm", table=table)
        res.number(f"interface_width:{key}", f"{key} width", itf.width_nm, "nm",
                   uncertainty=itf.width_err_nm, table=table)  # fmt: skip
    for lay in cal.layers if cal else []:
        res.number(f"rate:{lay.name}", lay.name, lay.sputter_rate_nm_per_scan, "nm/scan",
                   table="Sputter rates")  # fmt: skip
    if "species" in o:
        coloc = colocalise(cube, species=o["species"], layer=o.get("layer"), calibration=cal)
        maps = layer_maps(cube, coloc.species, *coloc.scans)
        res.figure(plot_colocalisation(coloc, maps=maps), "sims_coloc",
                   f"Co-localisation of {', '.join(coloc.species)}", [o["file"]])  # fmt: skip
        table = f"Co-localisation in {coloc.layer or 'the selected scans'}"
        res.number("dispersion_index", "dispersion index", coloc.dispersion_index, "", table=table)
        res.number("p_value", "p value (χ² dispersion test)", coloc.p_value, "", table=table)
        res.number("segregated", f"segregated (α = {coloc.alpha:g})", coloc.segregated, "",
                   table=table)  # fmt: skip
        for b, r in coloc.pearson_by_binning.items():
            res.number(f"pearson:{b}", f"Pearson r, binning {b}", _mean(r), "", table=table)
    res.summary = (
        f"{profile.sizes.get('depth', '?')} scans, {profile.sizes.get('species', '?')} species."
    )
    return res


def _mean(value: Any) -> Any:
    if isinstance(value, dict):
        vals = [float(v) for v in value.values()]
        return sum(vals) / len(vals) if vals else None
    return value


def tomogram(opts: dict, sample: dict, out: Path, scheduler: Any = None) -> StepOutput:
    """Register, z-correct and render a 3D tomogram; find segregated regions."""
    import numpy as np

    from charsuite.plotting.tomogram import plot_tomogram
    from charsuite.sims.tomo import find_regions, reconstruct, segment_layers

    o = opts["tomogram"]
    res = StepOutput(out=out)
    rendered = {}
    tomo, result = reconstruct(
        o["file"],
        register=o.get("register", True),
        layers=o.get("layers"),
        species=o.get("species"),
        render=lambda t: rendered.setdefault("fig", plot_tomogram(t)),
        scheduler=scheduler,
    )
    if "fig" in rendered:
        res.figure(rendered["fig"], "tomogram", "Orthogonal slices and isosurfaces, one colour per "
                   "species", [o["file"]])  # fmt: skip
    tomo = tomo.compute()
    table = "Reconstruction"
    res.number("slices", "slices", result.shape[0], "", table=table)
    res.number("voxel_z_nm", "voxel size z", result.voxel_nm[0], "nm", table=table)
    if result.registration:
        shifts = np.abs(np.asarray(result.registration["shifts_px"]))
        res.number(
            "drift_max_px", "largest drift corrected", float(shifts.max()), "px", table=table
        )
    zc = result.zcorrection or {}
    for name, rate in zip(zc.get("layers", []), zc.get("rates_nm_per_scan", [])):
        res.number(f"rate:{name}", name, rate, "nm/scan", table="Sputter rates (z-correction)")
    if "regions" in o and o.get("layers"):
        markers = [part.split(":")[2] for part in o["layers"].split(",")]
        names = [part.split(":")[0] for part in o["layers"].split(",")]
        host = segment_layers(tomo, markers) == names.index(o.get("regions_in", names[0]))
        regions = find_regions(tomo, o["regions"], mask=host.compute()).regions
        table = f"{o['regions']} segregation in {o.get('regions_in', names[0])}"
        res.number("regions", "regions found", len(regions), "", table=table)
        if regions:
            res.number("region_volume_nm3", "largest region volume", regions[0].volume_nm3, "nm³",
                       table=table)  # fmt: skip
    res.summary = f"{result.shape[0]} slices on a {result.voxel_nm[0]:.2g} nm grid."
    return res


def _mass(opts: dict, sample: dict) -> dict:
    """Normalisation for capacities: explicit [echem] mass, else the film geometry."""
    echem = opts.get("echem") or {}
    if "mass" in echem:
        return {"mass_g": echem["mass"] * 1e-3}
    if sample.get("density_g_cm3") and sample.get("film_thickness_nm"):
        geo = {
            "density_g_cm3": sample["density_g_cm3"],
            "thickness_nm": sample["film_thickness_nm"],
        }
        if sample.get("area_cm2"):
            geo["area_cm2"] = sample["area_cm2"]
        return geo
    return {}


def _one_c(opts: dict) -> dict:
    one_c = (opts.get("echem") or {}).get("one_c")
    return {"one_c_uA_cm2": one_c} if one_c else {}


def cycling(opts: dict, sample: dict, out: Path, scheduler: Any = None) -> StepOutput:
    """Capacity vs cycle per voltage window and charge–discharge curves."""
    from charsuite.echem import cycle_summary, voltage_curves
    from charsuite.io import read
    from charsuite.plotting import echem as plots

    res = StepOutput(out=out)
    runs = opts["echem.cycling[]"]
    summaries, datasets = {}, {}
    for run in runs:
        label = run.get("label") or Path(run["file"]).stem
        ds = read(run["file"])
        datasets[label] = ds
        summaries[label] = s = cycle_summary(
            ds, window_groups=run.get("window_groups", True), **_mass(opts, sample), **_one_c(opts)
        )
        _windows(res, label, s)
    files = [r["file"] for r in runs]
    res.figure(plots.plot_capacity_vs_cycle(summaries), "capacity_vs_cycle",
               "Discharge capacity vs cycle per voltage window, CE in grey", files)  # fmt: skip
    label, ds = next(iter(datasets.items()))
    picks = (opts.get("echem") or {}).get("profile_cycles") or [1]
    fig = plots.plot_voltage_profiles(
        voltage_curves(ds, cycles=picks), mass_g=summaries[label].mass_g
    )
    res.figure(fig, "voltage_profiles", f"Charge–discharge curves, cycles {picks} of {label}",
               [runs[0]["file"]])  # fmt: skip
    res.summary = f"{len(runs)} cycling file(s); capacities per {'gram' if summaries[label].mass_g else 'cell'}."
    return res


def _windows(res: StepOutput, label: str, s: Any) -> None:
    unit = "mAh/g" if s.mass_g else "mAh"
    key = "discharge_mAh_g" if s.mass_g else "discharge_mAh"
    if s.mass_g:
        res.number(f"mass_ug:{label}", f"{label}: active mass", s.mass_g * 1e6, "µg",
                   table="Normalisation")  # fmt: skip
    cycles = s.column("cycle").tolist()
    for w in s.windows or []:
        table = f"{label}: per voltage window"
        first = s.cycles[cycles.index(w["cycles"][0])][key]
        win = w["voltage_window"]
        res.number(
            f"first_discharge:{label}:{win}", f"{win}: first discharge", first, unit, table=table
        )
        res.number(f"retention:{label}:{win}", f"{win}: retention", w["final_retention_pct"], "%",
                   table=table)  # fmt: skip
        res.number(f"ce:{label}:{win}", f"{win}: mean CE", w["mean_coulombic_efficiency_pct"], "%",
                   table=table)  # fmt: skip
    if not s.windows:
        res.number(f"first_discharge:{label}", f"{label}: first discharge", s.cycles[0][key], unit)


def cycle_life(opts: dict, sample: dict, out: Path, scheduler: Any = None) -> StepOutput:
    """Long-term retention, cycle life at 80 %, mean CE."""
    import numpy as np

    from charsuite.echem import cycle_summary
    from charsuite.io import read
    from charsuite.plotting import echem as plots

    o = opts["echem.cycle_life"]
    res = StepOutput(out=out)
    s = cycle_summary(read(o["file"]), **_mass(opts, sample), **_one_c(opts))
    res.figure(plots.plot_retention(s, title=o.get("label", "")), "retention",
               "Retention with the 80 % line and CE", [o["file"]])  # fmt: skip
    key, unit = ("discharge_mAh_g", "mAh/g") if s.mass_g else ("discharge_mAh", "mAh")
    res.number("initial_discharge", "initial discharge", s.cycles[0][key], unit)
    res.number("cycle_life_80", "cycle life (80 %, 3-cycle persistence)",
               (s.cycle_life_80 or {}).get("cycle"), "cycles")  # fmt: skip
    ce = np.nanmean(s.column("coulombic_efficiency_pct"))
    res.number("mean_ce_pct", "mean coulombic efficiency", float(ce), "%")
    res.number("average_loss_per_cycle_pct", "average loss per cycle",
               s.retention.get("average_loss_per_cycle_pct"), "%")  # fmt: skip
    res.summary = f"{len(s.cycles)} cycles."
    return res


def dqdv(opts: dict, sample: dict, out: Path, scheduler: Any = None) -> StepOutput:
    """First-cycle curve and its dQ/dV with peak positions."""
    from charsuite.echem import cycle_summary, voltage_curves
    from charsuite.echem import dqdv as dqdv_
    from charsuite.io import read
    from charsuite.plotting import echem as plots

    o = opts["echem.dqdv"]
    res = StepOutput(out=out)
    ds = read(o["file"])
    cycle, smooth = o.get("cycle", 1), o.get("smooth", 0.02)
    mass = cycle_summary(ds, **_mass(opts, sample)).mass_g
    results = [
        dqdv_(ds, cycle=cycle, direction=d, smooth_V=smooth, mass_g=mass)
        for d in ("charge", "discharge")
    ]
    fig = plots.plot_first_cycle_dqdv(voltage_curves(ds, cycles=[cycle]), results, mass_g=mass)
    res.figure(
        fig, "dqdv", f"Cycle {cycle} and its dQ/dV ({smooth * 1e3:g} mV smoothing)", [o["file"]]
    )
    for r in results:
        for i, p in enumerate(r.peaks):
            res.number(f"peak:{r.direction}:{i}", f"{r.direction} peak {i + 1}", p["voltage_V"], "V",
                       table="dQ/dV peaks")  # fmt: skip
        res.number(f"integral_ratio:{r.direction}", f"{r.direction}: ∫dQ/dV / capacity",
                   r.integral_mAh / r.capacity_mAh, "", table="Checks")  # fmt: skip
    res.summary = f"Cycle {cycle}, {sum(len(r.peaks) for r in results)} peaks."
    return res


def eis(opts: dict, sample: dict, out: Path, scheduler: Any = None) -> StepOutput:
    """Equivalent-circuit fits (Nyquist) and distribution of relaxation times."""
    from charsuite.echem import DEFAULT_CIRCUIT, drt, fit_spectra
    from charsuite.io import read
    from charsuite.plotting import echem as plots

    runs = opts["echem.eis[]"]
    res = StepOutput(out=out)
    circuit = (opts.get("echem") or {}).get("circuit", DEFAULT_CIRCUIT)
    labels = [r.get("label") or Path(r["file"]).stem for r in runs]
    spectra = [read(r["file"]) for r in runs]
    fits = fit_spectra(spectra, circuit=circuit)
    drts = [drt(sp) for sp in spectra]
    area = sample.get("area_cm2")
    files = [r["file"] for r in runs]
    res.figure(plots.plot_nyquist(list(zip(labels, spectra, fits)), area_cm2=area), "nyquist",
               f"Nyquist plots with {circuit} fits", files)  # fmt: skip
    res.figure(plots.plot_drt(list(zip(labels, drts)), area_cm2=area), "drt",
               "Distribution of relaxation times", files)  # fmt: skip
    scale, unit = (area, "Ω·cm²") if area else (1.0, "Ω")
    for label, fit, d in zip(labels, fits, drts):
        table = f"{label}: {circuit}"
        for name, value in fit.parameters.items():
            if not name.startswith("R"):
                continue
            err = fit.parameters_err.get(name)
            res.number(f"{label}:{name}", name, value * scale, unit,
                       uncertainty=None if err is None else err * scale, table=table)  # fmt: skip
        res.number(f"{label}:rmse", "fit RMSE", fit.rmse_ohm, "Ω", table=table)
        res.number(f"{label}:drt_total", "DRT total polarisation", d.total_polarisation_ohm * scale,
                   unit, table=table)  # fmt: skip
    res.summary = f"{len(runs)} spectra fitted with {circuit}."
    return res


#: step name -> function (same keys as :data:`charsuite.report._spec.STEPS`)
FUNCTIONS = {
    "xrd": xrd,
    "composition": composition,
    "sims": sims,
    "tomogram": tomogram,
    "cycling": cycling,
    "cycle_life": cycle_life,
    "dqdv": dqdv,
    "eis": eis,
}
