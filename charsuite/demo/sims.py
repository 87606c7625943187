"""Demo step: FIB-ToF-SIMS depth profile, interfaces, depth calibration and co-localisation."""

from __future__ import annotations

import warnings

from charsuite.demo import DemoContext, Section

TITLE = "ToF-SIMS depth profile and transition-metal co-localisation"


def run(ctx: DemoContext) -> Section:
    """Generate the sample's fibTOF file, profile it, find interfaces, test co-localisation."""
    from charsuite.datasets.sims import (
        BATTERY_STACK,
        StackLayer,
        battery_layer_spec,
        make_tofdaq_stack,
    )
    from charsuite.plotting.sims import plot_colocalisation, plot_depth_profile
    from charsuite.sims import calibrate_depth, colocalise, depth_profile, layer_maps, open_cube

    thick = dict(ctx.sample.stack)
    stack = tuple(
        StackLayer(
            lay.name,
            thick.get(lay.name, lay.thickness_nm) if lay.name != "substrate" else float("inf"),
            lay.relative_rate,
            lay.levels,
        )
        for lay in BATTERY_STACK
    )
    path, truth = make_tofdaq_stack(
        ctx.data_dir / "fibtof_stack.h5",
        n_scans=400,
        shape=(32, 32),
        stack=stack,
        seed=ctx.sample.seed,
        force=ctx.force,
    )
    cube = open_cube(path)
    profile = depth_profile(cube, dead_time=True)
    spec = battery_layer_spec(truth)
    with (
        warnings.catch_warnings()
    ):  # the substrate has no thickness: its rate is borrowed (stated below)
        warnings.simplefilter("ignore")
        cal = calibrate_depth(profile, spec, variable="counts")
    fig1 = ctx.outdir / "sims_depth_profile.png"
    plot_depth_profile(
        profile, calibration=cal, path=fig1, force=ctx.force, title="FIB-ToF-SIMS depth profile"
    )
    coloc = colocalise(cube, species=["NiO-", "MnO-", "CoO-"], layer="NMC811", calibration=cal)
    fig2 = ctx.outdir / "sims_colocalisation.png"
    plot_colocalisation(
        coloc, maps=layer_maps(cube, coloc.species, *coloc.scans), path=fig2, force=ctx.force
    )
    interfaces = {}
    for itf, tr in zip(cal.interfaces, truth["interfaces"]):
        key = f"{itf.between[0]}/{itf.between[1]}"
        interfaces[key] = {
            "scan": round(itf.scan, 2),
            "true_scan": round(tr["scan"], 2),
            "depth_nm": round(itf.depth_nm, 1),
            "width_nm": round(itf.width_nm, 1),
            "true_width_nm": tr["width_nm"],
        }
    rates = {lay.name: round(lay.sputter_rate_nm_per_scan, 3) for lay in cal.layers}
    results = {
        "file": ctx.rel(path),
        "layers": spec,
        "interfaces": interfaces,
        "sputter_rate_nm_per_scan": rates,
        "nmc811_segregated": coloc.segregated,
        "nmc811_dispersion_index": round(coloc.dispersion_index, 3),
        "nmc811_p_value": coloc.p_value,
        "pearson_by_binning": coloc.pearson_by_binning,
    }
    summary = (
        f"A fibTOF-layout TofDAQ file ({truth['n_scans']} scans, 32×32 pixels, Li⁺ and five negative ions "
        "in two polarities) was generated for the sample stack and read lazily. Depth profiles were "
        "summed in one streamed pass with Poisson dead-time correction; interfaces are the 50 % points "
        "between adjacent plateaus and layer thicknesses give per-layer sputter rates (the substrate "
        "borrows the ITO rate). Inside NMC811, NiO⁻/MnO⁻/CoO⁻ correlate increasingly with binning and "
        f"the χ² dispersion test finds them {'segregated' if coloc.segregated else 'not segregated'} "
        f"(p = {coloc.p_value:.2g}), as in the reference paper."
    )
    return Section(
        title=TITLE,
        summary=summary,
        figures=[
            (ctx.rel(fig1), "Depth profile (log counts vs depth, layer bands)"),
            (ctx.rel(fig2), "Co-localisation in NMC811"),
        ],
        tables={"Interfaces (found vs generated)": interfaces, "Sputter rates (nm/scan)": rates},
        files=[(ctx.rel(path), "TofDAQ HDF5 (fibTOF layout), generated")],
        results=results,
    )
