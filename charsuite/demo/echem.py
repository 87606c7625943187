"""Demo files: Squidstat-format cycling and impedance runs of the demo film (known truth)."""

from __future__ import annotations

from pathlib import Path

from charsuite.datasets import DemoSample

#: the reference paper's voltage windows (upper cut-off raised, then lower cut-off lowered)
WINDOWS = ((3.0, 4.3), (3.0, 4.5), (3.0, 4.7), (2.5, 4.7), (2.0, 4.7), (1.5, 4.7))

#: impedance states: label -> arc resistances (Ω·cm²)
STATES = {
    "after 3.0–4.3 V": {"R1": 180.0, "R2": 120.0},
    "after 3.0–4.7 V": {"R1": 182.0, "R2": 200.0},
    "after 1.5–4.7 V": {"R1": 185.0, "R2": 300.0},
}


def generate(data: Path, sample: DemoSample, *, force: bool = False) -> tuple[dict, dict]:
    """Write cycling and EIS files; return the TOML tables and the ground truth."""
    from charsuite.datasets.echem import write_squidstat_cycling, write_squidstat_eis

    s = sample
    geometry = {"area_cm2": s.electrode_area_cm2, "density_g_cm3": s.film_density_g_cm3,
                "thickness_nm": s.film_thickness_nm}  # fmt: skip
    root = data / "echem"
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
    eis = {
        label: write_squidstat_eis(
            root / f"EIS {k}",
            name=f"NMC811 EIS {k}",
            params_cm2=p,
            seed=s.seed + 10 + k,
            area_cm2=s.electrode_area_cm2,
        )
        for k, (label, p) in enumerate(STATES.items())
    }

    def rel(path) -> str:
        return Path(path).relative_to(data).as_posix()

    tables = {
        "echem": {
            "one_c": "40 uA/cm^2",
            "circuit": "R0-p(R1,CPE1)-p(R2,CPE2)",
            "profile_cycles": [1, 50, 151, 300],
            "cycling": [
                {"file": rel(sse["csv"]), "label": "LiPON (SSE)"},
                {"file": rel(ole["csv"]), "label": "liquid electrolyte (OLE)"},
            ],
            "cycle_life": {"file": rel(long["csv"]), "label": "1000 cycles at 4C, 1.5–4.3 V"},
            "dqdv": {"file": rel(slow["csv"]), "cycle": 1, "smooth": "20 mV"},
            "eis": [{"file": rel(t["csv"]), "label": label} for label, t in eis.items()],
        }
    }
    truth = {
        "cycle_life": {"cycle_life_80": long["cycle_life_80"], "mean_ce_pct": 98.79},
        "eis": {
            f"{label}:{name}": value for label, p in STATES.items() for name, value in p.items()
        },
        "cycling": {"mass_ug:LiPON (SSE)": s.film_mass_g * 1e6},
    }
    return tables, truth
