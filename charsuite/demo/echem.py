"""Demo step: electrochemistry of the demo film (Squidstat-format files, known truth)."""

from __future__ import annotations

from charsuite.demo import DemoContext, Section

TITLE = "Electrochemistry: capacity, dQ/dV, cycle life and impedance"

#: the reference paper's voltage windows (upper cut-off raised, then lower cut-off lowered)
WINDOWS = ((3.0, 4.3), (3.0, 4.5), (3.0, 4.7), (2.5, 4.7), (2.0, 4.7), (1.5, 4.7))


def run(ctx: DemoContext) -> Section:
    """Generate cycling and EIS files for the demo film, analyse them, draw the figures."""
    import numpy as np

    from charsuite.datasets.echem import write_squidstat_cycling, write_squidstat_eis
    from charsuite.echem import cycle_summary, dqdv, drt, fit_spectra, voltage_curves
    from charsuite.io import read
    from charsuite.plotting import echem as plots
    from charsuite.plotting import save_figure

    s = ctx.sample
    geometry = dict(
        area_cm2=s.electrode_area_cm2,
        density_g_cm3=s.film_density_g_cm3,
        thickness_nm=s.film_thickness_nm,
    )
    root = ctx.data_dir / "echem"
    sse = write_squidstat_cycling(
        root / "SSE", name="NMC811 SSE windows", windows=WINDOWS, cycles_per_window=50,
        loss_per_cycle=(0.0004, 0.0006, 0.001, 0.0012, 0.0015, 0.002), points_per_half=40,
        seed=s.seed, **geometry,
    )  # fmt: skip
    ole = write_squidstat_cycling(
        root / "OLE", name="NMC811 OLE windows", windows=WINDOWS, cycles_per_window=50,
        loss_per_cycle=(0.002, 0.006, 0.012, 0.02, 0.03, 0.04), ce=0.97, window_first_ce=0.9,
        points_per_half=40, seed=s.seed + 1, **geometry,
    )  # fmt: skip
    loss = 1 - 0.8 ** (1 / 902.5)
    long = write_squidstat_cycling(
        root / "long", name="NMC811 SSE 4C", windows=((1.5, 4.3),), cycles_per_window=1000,
        c_rate=4.0, loss_per_cycle=loss, ce=0.9879, first_ce=0.9879, window_first_ce=0.9879,
        capacity_noise=2e-4, points_per_half=5, rest_points=1, seed=s.seed + 2, **geometry,
    )  # fmt: skip
    slow = write_squidstat_cycling(
        root / "C10", name="NMC811 SSE C10", windows=((1.5, 4.7),), cycles_per_window=1,
        c_rate=0.1, points_per_half=400, seed=s.seed + 3, **geometry,
    )  # fmt: skip
    states = {
        "after 3.0–4.3 V": dict(R1=180.0, R2=120.0),
        "after 3.0–4.7 V": dict(R1=182.0, R2=200.0),
        "after 1.5–4.7 V": dict(R1=185.0, R2=300.0),
    }
    eis_truth = {
        label: write_squidstat_eis(
            root / f"EIS {k}",
            name=f"NMC811 EIS {k}",
            params_cm2=p,
            seed=s.seed + 10 + k,
            area_cm2=s.electrode_area_cm2,
        )
        for k, (label, p) in enumerate(states.items())
    }

    norm = dict(density_g_cm3=s.film_density_g_cm3, thickness_nm=s.film_thickness_nm)
    ds_sse, ds_ole = read(sse["csv"]), read(ole["csv"])
    sum_sse = cycle_summary(ds_sse, window_groups=True, one_c_uA_cm2=40.0, **norm)
    sum_ole = cycle_summary(ds_ole, window_groups=True, one_c_uA_cm2=40.0, **norm)
    sum_long = cycle_summary(read(long["csv"]), one_c_uA_cm2=40.0, **norm)
    ds_slow = read(slow["csv"])
    dq = [
        dqdv(ds_slow, cycle=1, direction=d, smooth_V=0.02, mass_g=slow["mass_g"])
        for d in ("charge", "discharge")
    ]
    spectra = [read(t["csv"]) for t in eis_truth.values()]
    fits = fit_spectra(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)")
    drts = [drt(sp) for sp in spectra]

    out = ctx.outdir / "echem"
    out.mkdir(parents=True, exist_ok=True)
    figs = []

    def save(fig, name, caption):
        path = save_figure(fig, out / name, force=ctx.force)
        figs.append((ctx.rel(path), caption))

    save(
        plots.plot_capacity_vs_cycle({"liquid electrolyte (OLE)": sum_ole, "LiPON (SSE)": sum_sse}),
        "capacity_vs_cycle.png",
        "Discharge capacity vs cycle over six voltage windows at 1C (40 µA/cm²), liquid vs "
        "solid electrolyte, CE in grey (paper Fig. 2c/5a,b).",
    )
    picks = [1, 50, 151, 300]
    save(
        plots.plot_voltage_profiles(voltage_curves(ds_sse, cycles=picks), mass_g=sum_sse.mass_g),
        "voltage_profiles.png",
        f"Charge–discharge curves of cycles {picks} of the SSE cell (paper Fig. 2d–i).",
    )
    save(
        plots.plot_first_cycle_dqdv(voltage_curves(ds_slow, cycles=[1]), dq, mass_g=slow["mass_g"]),
        "first_cycle_dqdv.png",
        "First cycle at C/10, 1.5–4.7 V, and its dQ/dV (20 mV Gaussian smoothing) (paper Fig. 3).",
    )
    save(
        plots.plot_nyquist(list(zip(states, spectra, fits)), area_cm2=s.electrode_area_cm2),
        "nyquist.png",
        "Nyquist plots after cycling in three windows with R0-p(R1,CPE1)-p(R2,CPE2) fits, "
        "Ω·cm² (paper Fig. 4b).",
    )
    save(
        plots.plot_drt(list(zip(states, drts)), area_cm2=s.electrode_area_cm2),
        "drt.png",
        "Distribution of relaxation times of the three spectra (Ω·cm²): the LiPON arc stays, "
        "the charge-transfer arc grows.",
    )
    save(
        plots.plot_retention(sum_long, title="1000 cycles at 4C, 1.5–4.3 V"),
        "retention_1000_cycles.png",
        "Long-term retention with the 80 % line and CE (paper Fig. 5c).",
    )

    ce_long = float(np.nanmean(sum_long.column("coulombic_efficiency_pct")))
    eis_rows = {}
    for (label, truth), fit in zip(eis_truth.items(), fits):
        eis_rows[label] = {
            "R1_ohm_cm2": fit.area_normalized["R1_ohm_cm2"],
            "R1_true_ohm_cm2": truth["params_cm2"]["R1"],
            "R2_ohm_cm2": fit.area_normalized["R2_ohm_cm2"],
            "R2_true_ohm_cm2": truth["params_cm2"]["R2"],
            "C1_eff_F_cm2": fit.area_normalized.get("CPE1_C_eff_F_cm2"),
            "C2_eff_F_cm2": fit.area_normalized.get("CPE2_C_eff_F_cm2"),
            "drt_total_ohm_cm2": drts[len(eis_rows)].total_polarisation_ohm * s.electrode_area_cm2,
        }
    windows = {
        w["voltage_window"]: {
            "first_discharge_mAh_g": sum_sse.cycles[
                sum_sse.column("cycle").tolist().index(w["cycles"][0])
            ]["discharge_mAh_g"],
            "retention_pct": w["final_retention_pct"],
            "mean_ce_pct": w["mean_coulombic_efficiency_pct"],
        }
        for w in sum_sse.windows
    }
    results = {
        "film_mass_ug": sum_sse.mass_g * 1e6,
        "sse_windows": windows,
        "long_term": {
            "cycle_life_80": sum_long.cycle_life_80["cycle"],
            "cycle_life_80_true": long["cycle_life_80"],
            "mean_ce_pct": ce_long,
            "initial_discharge_mAh_g": sum_long.cycles[0]["discharge_mAh_g"],
            "average_loss_per_cycle_pct": sum_long.retention["average_loss_per_cycle_pct"],
        },
        "dqdv_c10_peaks_V": {r.direction: [round(p["voltage_V"], 3) for p in r.peaks] for r in dq},
        "dqdv_integral_vs_capacity": {r.direction: r.integral_mAh / r.capacity_mAh for r in dq},
        "eis": eis_rows,
    }
    tables = {
        "Long-term cycling (truth: cycle life 904, CE 98.79 %)": {
            "cycle life (80 %, 3 cycles persistence)": sum_long.cycle_life_80["cycle"],
            "mean CE (%)": round(ce_long, 3),
            "average loss per cycle (%)": round(
                sum_long.retention["average_loss_per_cycle_pct"], 4
            ),
        },
        "EIS fits (Ω·cm², fitted / true)": {
            label: f"R1 {r['R1_ohm_cm2']:.0f}/{r['R1_true_ohm_cm2']:.0f}, "
            f"R2 {r['R2_ohm_cm2']:.0f}/{r['R2_true_ohm_cm2']:.0f}"
            for label, r in eis_rows.items()
        },
        "SSE first discharge per window (mAh/g)": {
            k: round(v["first_discharge_mAh_g"], 1) for k, v in windows.items()
        },
    }
    summary = (
        f"Squidstat-format files were generated for the {s.film_thickness_nm:g} nm film "
        f"(mass {sum_sse.mass_g * 1e6:.1f} µg = {s.film_density_g_cm3:g} g/cm³ × "
        f"{s.film_thickness_nm:g} nm × {s.electrode_area_cm2:g} cm²), read with the registry "
        "and analysed with charsuite.echem: per-cycle capacities and CE by current-sign "
        "segmentation, retention per voltage window, cycle life at 80 %, dQ/dV and "
        "two-arc impedance fits in Ω·cm²."
    )
    return Section(title=TITLE, summary=summary, figures=figs, tables=tables, results=results)
