"""Demo step: RBS + ToF-ERDA + PIXE results of the film merged into one formula."""

from __future__ import annotations

from charsuite.demo import DemoContext, Section

TITLE = "Composition from RBS / ToF-ERDA / PIXE"


def _fmt(x) -> str:
    return format(x, ".2uP") if hasattr(x, "std_dev") else f"{x:.4g}"


def run(ctx: DemoContext) -> Section:
    """Generate the film's IBA result files, merge them, report formula, capacity, loading."""
    from charsuite.composition import amounts_from, combine, film_loading
    from charsuite.datasets.composition import film_results
    from charsuite.io import read
    from charsuite.plotting.composition import plot_composition, plot_depth_profile
    from charsuite.plotting.style import save_figure

    sample = ctx.sample
    gen = film_results(ctx.data_dir / "composition", sample=sample, write_settings=False)
    files, truth = gen["files"], gen["truth"]
    erda_ds = read(files["ERDA"], depth_range=truth["erda_window_1e15_at_cm2"])
    sources = {
        "RBS": amounts_from(read(files["RBS"])),
        "ERDA": amounts_from(erda_ds, relabel=gen["relabel"]["ERDA"]),
        "PIXE": amounts_from(read(files["PIXE"])),
    }
    result = combine(
        sources,
        rules=gen["rules"],
        basis="Ni+Mn+Co=1",
        oxygen="unknown",
        target=sample.target_formula,
    )
    x_range = (2.0, 2.515)  # layered LiTMO2 ... charge balance with Ni3+ (see notes)
    cap_range = result.capacity(electrons=1.0, oxygen=x_range)
    cap_layered = result.capacity(electrons=1.0, oxygen=2.0)
    loading = film_loading(
        density_g_cm3=sample.film_density_g_cm3,
        thickness_nm=sample.film_thickness_nm,
        area_cm2=sample.electrode_area_cm2,
    )
    areal = dict(result.areal_densities_1e15_at_cm2 or {})
    iba_loading = dict(
        zip(x_range, result.loading(area_cm2=sample.electrode_area_cm2, oxygen=x_range))
    )

    fig = plot_composition(result, title="film vs target (1σ)")
    bars = save_figure(fig, ctx.outdir / "composition_bars.png", force=ctx.force)
    fig = plot_depth_profile(
        erda_ds,
        labels={"Mn": "Ni+Mn+Co (heavy cut)"},
        title="ToF-ERDA (Potku files), averaging window",
    )
    prof = save_figure(fig, ctx.outdir / "composition_erda_profile.png", force=ctx.force)

    at = result.at_pct()
    table = {}
    for el, n in result.amounts.items():
        t = (result.target or {}).get("elements", {}).get(el, {})
        table[el] = (
            f"{_fmt(n)} per f.u. ({_fmt(at[el])} at.% of measured), {result.sources[el]}"
            + (f"; target {t['target']:.3g}, {_fmt(t['relative_pct'])} %" if t else "")
        )
    li_excess = result.target["elements"]["Li"]["relative_pct"]
    q_hi, q_lo = cap_range.capacity_range_mAh_g[0], cap_range.capacity_range_mAh_g[1]
    results = {
        "formula": result.formula,
        "formula_with_uncertainty": result.formula_with_uncertainty,
        "ground_truth_formula": truth["formula"],
        "basis": result.basis,
        "oxygen_policy": result.oxygen_policy,
        "rules": gen["rules"],
        "amounts_per_formula_unit": {
            e: {
                "value": float(getattr(n, "nominal_value", n)),
                "uncertainty": float(getattr(n, "std_dev", 0.0)),
            }
            for e, n in result.amounts.items()
        },
        "li_excess_over_target_pct": {
            "value": li_excess.nominal_value,
            "uncertainty": li_excess.std_dev,
        },
        "metal_areal_density_1e15_at_cm2": float(
            sum(getattr(areal[m], "nominal_value", areal[m]) for m in ("Ni", "Mn", "Co"))
        ),
        "capacity_mAh_g_n1_x2": cap_layered.capacity_mAh_g.nominal_value,
        "capacity_range_mAh_g_n1_x2_to_2p515": [q_lo.nominal_value, q_hi.nominal_value],
        "film_mass_ug": loading.mass_g * 1e6,
        "loading_mg_cm2": loading.loading_mg_cm2,
        "loading_from_areal_densities_mg_cm2_x2_to_2p515": [
            iba_loading[x].loading_mg_cm2.nominal_value for x in x_range
        ],
        "mass_table": result.mass_table,
        "warnings": result.warnings,
    }
    summary = (
        f"Merged {', '.join(gen['rules'])}: {result.formula_with_uncertainty} "
        f"(ground truth {truth['formula']}); Li excess over the "
        f"{sample.target_formula} target {_fmt(li_excess)} %. Oxygen is unknown (ITO below), "
        f"so capacity is a range: {q_lo.nominal_value:.1f}–{q_hi.nominal_value:.1f} mAh/g for "
        f"n = 1 and x = {x_range[0]}–{x_range[1]}; film mass {loading.mass_g * 1e6:.3f} µg "
        f"({loading.loading_mg_cm2:.4f} mg/cm², density × thickness × area)."
    )
    return Section(
        title=TITLE,
        summary=summary,
        figures=[
            (ctx.rel(bars), "Film composition per formula unit (Ni+Mn+Co = 1) vs target"),
            (ctx.rel(prof), "ToF-ERDA depth profiles and the averaging window"),
        ],
        tables={"Composition (1σ)": table},
        files=[(ctx.rel(p), t) for t, p in files.items()],
        results=results,
    )
