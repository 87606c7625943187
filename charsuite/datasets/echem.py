"""Squidstat-format cycling and EIS files with known ground truth.

No openly licensed Squidstat exports exist, so these generators write the layout
documented for Squidstat User Interface v2.11 exports (see the echem notes): one CSV per
run with the DC header ::

    "Step number","Step name","Elapsed Time (s)","Working Electrode (V)",
    "Working Electrode vs. NHE (V)","Current (mA)","Current Density (mA/cm²)",
    "Cumulative Charge (mAh)","Counter Electrode (V)"

in latin-1 (``²`` is byte 0xB2), header line ending CRLF and data lines LF, step numbers
like ``2_7`` (step 2, loop 7), a cumulative charge that never resets, and an
``Experiment settings and notes.txt`` beside it carrying the electrode area and mass.
``current_unit="A"`` writes the ``Current (A)`` variant of other software versions.

Cycling model: the equilibrium charge–voltage relation is a sum of logistic plateaus
(Li-rich NMC-like: 3.75, 4.0, 4.2, 4.5 V and a low-voltage Mn process at 2.3 V) plus a
small linear term; a window [V_lo, V_hi] delivers K·(F(V_hi) − F(V_lo)) mAh/g. Each
half cycle runs at constant current until its (exactly known) capacity has passed; the
voltage follows the plateau curve shifted by a polarisation ±η and is clipped at the
cut-offs. Capacities fade geometrically per window, and each discharge is CE × the
charge. Every number in the returned ground truth is what the file encodes exactly.

EIS model: Z = R0 + R1‖CPE1 + R2‖CPE2 (solid electrolyte arc + charge transfer arc), in
Ω·cm² divided by the area, with 0.2 % proportional Gaussian noise.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np

from charsuite.datasets.sample import DEMO_SAMPLE

__all__ = [
    "PLATEAUS",
    "SETTINGS_NAME",
    "specific_capacity_mAh_g",
    "two_arc_impedance",
    "write_squidstat_cycling",
    "write_squidstat_eis",
]

SETTINGS_NAME = "Experiment settings and notes.txt"
#: (voltage V, width V, weight) of each logistic plateau of the model cathode
PLATEAUS = (
    (2.3, 0.08, 0.25),
    (3.75, 0.05, 0.45),
    (4.0, 0.05, 0.25),
    (4.2, 0.04, 0.15),
    (4.5, 0.04, 0.3),
)
_LINEAR = 0.04  # weight per volt of the sloping background
_DC_HEADER = (
    "Step number",
    "Step name",
    "Elapsed Time (s)",
    "Working Electrode (V)",
    "Working Electrode vs. NHE (V)",
    "Current ({unit})",
    "Current Density (mA/cm²)",
    "Cumulative Charge (mAh)",
    "Counter Electrode (V)",
)
_EIS_HEADER = (
    "Step number",
    "Step name",
    "Elapsed Time (s)",
    "Frequency (Hz)",
    "|Z| (Ohms)",
    "Phase (deg)",
    "Z' (Ohms)",
    "-Z'' (Ohms)",
    "Working Electrode DC Voltage (V)",
)


def _F(v):
    v = np.asarray(v, dtype=float)
    out = _LINEAR * v
    for v0, w, a in PLATEAUS:
        out = out + a / (1 + np.exp(-(v - v0) / w))
    return out


def specific_capacity_mAh_g(v_lo: float, v_hi: float) -> float:
    """Model capacity (mAh/g) delivered between two voltages (V)."""
    k = 150.0 / float(_F(4.3) - _F(3.0))  # scale: 3.0–4.3 V delivers 150 mAh/g
    return float(k * (_F(v_hi) - _F(v_lo)))


def _inverse(v_lo: float, v_hi: float):
    grid = np.linspace(v_lo, v_hi, 4001)
    g = (_F(grid) - _F(v_lo)) / (_F(v_hi) - _F(v_lo))
    return lambda x: np.interp(x, g, grid)


def _write_settings(folder: Path, *, area_cm2: float, mass_g: float | None, notes: str) -> Path:
    lines = [
        "Squidstat User Interface v2.11.19.2020",
        "Device: Plus2254",
        "Channel: 1",
        "Firmware version: 1.23",
        "IR Compensation: None",
        "Maximum data averaging period (s): 10",
        "",
        "Physical parameters",
        f"Working Electrode Area (cm2): {area_cm2:.6g}",
    ]
    if mass_g is not None:
        lines.append(f"Working Electrode Mass (g): {mass_g:.6g}")
    lines += ["Electrolyte: LiPON", "Temperature (C): 25", "", "Notes", notes, ""]
    path = folder / SETTINGS_NAME
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    return path


def _experiment_folder(root: Path, name: str, start: _dt.datetime) -> Path:
    folder = Path(root) / f"{name} Plus2254 ch1 ({start:%Y-%m-%d %H_%M_%S})"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_squidstat_cycling(
    root: str | Path,
    *,
    name: str = "NMC811 windows",
    windows: tuple[tuple[float, float], ...] = (
        (3.0, 4.3),
        (3.0, 4.5),
        (2.5, 4.5),
        (2.0, 4.7),
        (1.5, 4.7),
    ),
    cycles_per_window: int = 50,
    c_rate: float | tuple[float, ...] = 1.0,
    one_c_uA_cm2: float = 40.0,
    area_cm2: float = DEMO_SAMPLE.electrode_area_cm2,
    density_g_cm3: float = DEMO_SAMPLE.film_density_g_cm3,
    thickness_nm: float = DEMO_SAMPLE.film_thickness_nm,
    loss_per_cycle: tuple[float, ...] | float = (0.0005, 0.001, 0.0015, 0.0025, 0.004),
    ce: float = 0.995,
    first_ce: float = 0.80,
    window_first_ce: float = 0.97,
    capacity_noise: float = 0.0,
    points_per_half: int = 30,
    rest_points: int = 3,
    current_unit: str = "mA",
    write_mass: bool = True,
    seed: int = DEMO_SAMPLE.seed,
) -> dict[str, Any]:
    """Write a Squidstat-layout cycling run and return its ground truth.

    Parameters
    ----------
    root : path
        Folder in which the experiment folder is created.
    name : str
        Experiment name (used in folder and file names).
    windows : tuple of (V_lo, V_hi)
        Voltage windows, run one after the other, ``cycles_per_window`` each.
    c_rate : float or tuple of float
        C-rate, or one per window (rate tests); current = c_rate × one_c_uA_cm2 × area.
    one_c_uA_cm2 : float
        1C current density (the paper: 1C = 40 µA/cm²).
    area_cm2, density_g_cm3, thickness_nm : float
        Electrode geometry; the film mass is density × thickness × area.
    loss_per_cycle : float or tuple
        Fractional discharge-capacity loss per cycle (per window).
    ce, first_ce, window_first_ce : float
        Coulombic efficiency (discharge/charge) of ordinary cycles, of the very first
        cycle and of the first cycle in each later window.
    capacity_noise : float
        Relative Gaussian scatter of each cycle's charge capacity.
    points_per_half, rest_points : int
        Records per half cycle and per rest.
    current_unit : {"mA", "A"}
    write_mass : bool
        Put the mass into the settings file.
    seed : int

    Returns
    -------
    dict
        ``csv``, ``settings``, ``mass_g``, ``area_cm2``, ``current_mA``, ``one_c_mA``,
        ``cycles`` (list of dicts: ``cycle``, ``window``, ``charge_mAh``,
        ``discharge_mAh``, ``ce_pct``), ``cycle_life_80`` (first cycle after cycle 1 of
        the first window whose discharge < 80 % of it; None if never), ``plateaus_V``.
    """
    if current_unit not in ("mA", "A"):
        raise ValueError("current_unit must be 'mA' or 'A'")
    rng = np.random.default_rng(seed)
    mass_g = density_g_cm3 * thickness_nm * 1e-7 * area_cm2
    rates = (c_rate,) * len(windows) if np.isscalar(c_rate) else tuple(c_rate)
    if len(rates) != len(windows):
        raise ValueError("give one c_rate per window")
    losses = (
        (loss_per_cycle,) * len(windows) if np.isscalar(loss_per_cycle) else tuple(loss_per_cycle)
    )
    start = _dt.datetime(2026, 3, 2, 9, 30, 0)
    folder = _experiment_folder(root, name, start)
    scale = 1e-3 if current_unit == "A" else 1.0
    rows: list[str] = []
    t, q_cum, v_now = 0.0, 0.0, 0.0
    truth_cycles = []

    def emit(step, step_name, t_k, v_k, i_k):
        rows.append(
            f"{step},{step_name},{t_k:.6f},{v_k:.6f},{v_k + 0.0:.6f},{i_k * scale:.9g},"
            f"{i_k / area_cm2:.9g},{q_cum:.12g},0.000000"
        )

    # initial OCP rest
    v_now = windows[0][0] + 0.2
    for k in range(rest_points):
        t += 60.0 if k else 0.0
        emit("1", "Open Circuit Potential", t, v_now + rng.normal(0, 3e-4), 0.0)
    cycle = 0
    for (lo, hi), loss, rate in zip(windows, losses, rates):
        current = rate * one_c_uA_cm2 * 1e-3 * area_cm2  # mA
        eta = 0.015 + 0.002 * rate  # polarisation (V)
        inv = _inverse(lo, hi)
        q_window = specific_capacity_mAh_g(lo, hi) * mass_g
        for n in range(cycles_per_window):
            cycle += 1
            q_dis_target = q_window * (1 - loss) ** n
            this_ce = first_ce if cycle == 1 else (window_first_ce if n == 0 else ce)
            q_ch = q_dis_target / this_ce * (1 + capacity_noise * rng.normal())
            q_dis = q_ch * this_ce
            for direction, q_half in ((1, q_ch), (-1, q_dis)):
                dt = q_half / current * 3600.0 / points_per_half
                step = f"{2 if direction == 1 else 3}_{cycle}"
                label = "Charge" if direction == 1 else "Discharge"
                x = np.arange(1, points_per_half + 1) / points_per_half
                if direction == 1:
                    v = np.minimum(inv(x * q_half / q_ch) + eta, hi)
                else:
                    v = np.maximum(inv(1 - x) - eta, lo)
                v = v + rng.normal(0, 3e-4, v.size)
                for k in range(points_per_half):
                    t += dt
                    q_cum += direction * current * dt / 3600.0
                    emit(step, label, t, v[k], direction * current)
                v_now = v[-1]
                # rest after each half cycle: relaxation towards the plateau
                for k in range(rest_points):
                    t += 30.0
                    relax = v_now - direction * eta * (1 - np.exp(-(k + 1)))
                    emit(f"4_{cycle}", "Rest", t, relax + rng.normal(0, 3e-4), 0.0)
            truth_cycles.append(
                {
                    "cycle": cycle,
                    "window": f"{lo:.1f}–{hi:.1f} V",
                    "charge_mAh": q_ch,
                    "discharge_mAh": q_dis,
                    "ce_pct": this_ce * 100,
                    "c_rate": rate,
                    "current_mA": current,
                }
            )
    header = ",".join(f'"{h}"' for h in _DC_HEADER).replace("{unit}", current_unit)
    csv_path = folder / f"1_{name}-Charge_Discharge {start:%Y%m%d %H%M%S}.csv"
    text = header + "\r\n" + "\n".join(rows) + "\n"
    csv_path.write_bytes(text.encode("latin-1"))
    settings = _write_settings(
        folder,
        area_cm2=area_cm2,
        mass_g=mass_g if write_mass else None,
        notes=f"{len(windows)} voltage windows, {cycles_per_window} cycles each at "
        f"{', '.join(f'{r:g}C' for r in rates)} (1C = {one_c_uA_cm2:g} uA/cm2)",
    )
    q_dis = np.array([c["discharge_mAh"] for c in truth_cycles])
    below = np.flatnonzero(q_dis[1:] < 0.8 * q_dis[0])
    return {
        "csv": csv_path,
        "settings": settings,
        "mass_g": mass_g,
        "area_cm2": area_cm2,
        "thickness_nm": thickness_nm,
        "current_mA": truth_cycles[0]["current_mA"],
        "one_c_mA": one_c_uA_cm2 * 1e-3 * area_cm2,
        "cycles": truth_cycles,
        "cycle_life_80": int(below[0]) + 2 if below.size else None,
        "plateaus_V": [p[0] for p in PLATEAUS],
        "polarisation_V": 0.015 + 0.002 * rates[0],
    }


def two_arc_impedance(frequency, params: dict[str, float]) -> np.ndarray:
    """Analytic Z (same units as the R's) of R0 + R1‖CPE(Q1, a1) + R2‖CPE(Q2, a2)."""
    w = 2 * np.pi * np.asarray(frequency, dtype=float)
    z = np.full(w.shape, params["R0"], dtype=complex)
    for k in (1, 2):
        r, q, a = params[f"R{k}"], params[f"Q{k}"], params[f"a{k}"]
        z = z + r / (1 + r * q * (1j * w) ** a)
    return z


def write_squidstat_eis(
    root: str | Path,
    *,
    name: str = "NMC811 EIS",
    params_cm2: dict[str, float] | None = None,
    area_cm2: float = DEMO_SAMPLE.electrode_area_cm2,
    f_max: float = 1e6,
    f_min: float = 0.1,
    points_per_decade: int = 10,
    noise: float = 0.002,
    seed: int = DEMO_SAMPLE.seed,
) -> dict[str, Any]:
    """Write a Squidstat-layout potentiostatic EIS file of a two-arc thin-film cell.

    Parameters
    ----------
    params_cm2 : dict
        Area-specific truth: ``R0``, ``R1``, ``R2`` (Ω·cm²), ``Q1``, ``Q2``
        (F s^(a−1) cm⁻²), ``a1``, ``a2``. Default: LiPON arc 180 Ω·cm² (Q 3e-8, α 0.93)
        and charge transfer 220 Ω·cm² (Q 2e-5, α 0.85), R0 15 Ω·cm².
    area_cm2 : float
    f_max, f_min, points_per_decade : float
        Frequency sweep (Hz), high to low.
    noise : float
        Relative Gaussian noise on Z′ and Z″ (× |Z|).

    Returns
    -------
    dict
        ``csv``, ``settings``, ``area_cm2``, ``params_cm2`` and ``params_ohm`` (the
        absolute circuit values: R/area, Q·area).
    """
    p = dict(R0=15.0, R1=180.0, Q1=3e-8, a1=0.93, R2=220.0, Q2=2e-5, a2=0.85)
    p.update(params_cm2 or {})
    absolute = {
        k: (v / area_cm2 if k.startswith("R") else v * area_cm2 if k.startswith("Q") else v)
        for k, v in p.items()
    }
    n = round(np.log10(f_max / f_min) * points_per_decade) + 1
    f = np.geomspace(f_max, f_min, n)
    z = two_arc_impedance(f, absolute)
    rng = np.random.default_rng(seed)
    z = z + np.abs(z) * noise * (rng.normal(size=n) + 1j * rng.normal(size=n))
    start = _dt.datetime(2026, 3, 1, 15, 0, 0)
    folder = _experiment_folder(root, name, start)
    t = np.cumsum(np.maximum(3.0 / f, 0.05))
    rows = [
        f"1,Potentiostatic EIS,{t[k]:.4f},{f[k]:.8g},{abs(z[k]):.8g},"
        f"{np.degrees(np.angle(z[k])):.6g},{z[k].real:.8g},{-z[k].imag:.8g},3.6500"
        for k in range(n)
    ]
    header = ",".join(f'"{h}"' for h in _EIS_HEADER)
    csv_path = folder / f"1_{name}-Potentiostatic EIS {start:%Y%m%d %H%M%S}.csv"
    csv_path.write_bytes((header + "\r\n" + "\n".join(rows) + "\n").encode("latin-1"))
    settings = _write_settings(
        folder, area_cm2=area_cm2, mass_g=None, notes="PEIS 10 mV rms, 1 MHz to 0.1 Hz"
    )
    return {
        "csv": csv_path,
        "settings": settings,
        "area_cm2": area_cm2,
        "params_cm2": p,
        "params_ohm": absolute,
    }
