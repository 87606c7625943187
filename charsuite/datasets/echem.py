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
    "cycler_truth",
    "specific_capacity_mAh_g",
    "two_arc_impedance",
    "write_arbin_xlsx",
    "write_maccor_eis",
    "write_neware_csv",
    "write_neware_regular_csv",
    "write_novonix_csv",
    "write_pec_csv",
    "write_squidstat_cycling",
    "write_squidstat_eis",
    "write_xlsx",
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


# --- other cyclers' export layouts (Arbin Excel, Neware, PEC, Novonix, Maccor EIS) -------
#
# One small cycling run with exactly known capacities is written in each vendor's layout
# (as documented in the reader modules). Every half cycle passes I·Δt per record; the
# charge ends with a CV part whose current halves every record, so a "CC-CV" step exists.


def cycler_truth(
    *,
    n_cycles: int = 2,
    points: int = 12,
    cv_points: int = 4,
    rest_points: int = 3,
    current_mA: float = 0.8,
    ce: float = 0.97,
    dt_s: float = 60.0,
) -> dict[str, Any]:
    """Records of a CC-CV charge / CC discharge run and its exact per-cycle capacities.

    Returns
    -------
    dict
        Arrays ``time_s``, ``current_mA`` (signed, + = charge), ``voltage_V``, ``cycle``
        (from 1), ``step`` (index), ``kind`` (``"rest"``, ``"cc_chg"``, ``"cv_chg"``,
        ``"cc_dchg"``), ``step_cap_mAh`` (restarts each step), ``cycle_chg_mAh`` /
        ``cycle_dchg_mAh`` (accumulate within a cycle); lists ``charge_mAh``,
        ``discharge_mAh`` per cycle; ``dt_s``.
    """
    rec: dict[str, list] = {k: [] for k in ("i", "v", "cyc", "step", "kind", "scap", "qc", "qd")}
    step = 0
    charge, discharge = [], []
    v = 3.2
    for c in range(1, n_cycles + 1):
        qc = qd = 0.0
        segments = [
            ("rest", [0.0] * rest_points),
            ("cc_chg", [current_mA] * points),
            ("cv_chg", [current_mA * 0.5**k for k in range(1, cv_points + 1)]),
            ("rest", [0.0] * rest_points),
            ("cc_dchg", [-current_mA * ce] * points),
        ]
        total_in = sum(sum(cur) for kind, cur in segments if kind.endswith("chg") and cur[0] > 0)
        for kind, currents in segments:
            step += 1
            scap = 0.0
            for i in currents:
                dq = abs(i) * dt_s / 3600.0
                scap += dq
                if i > 0:
                    qc += dq
                elif i < 0:
                    qd += dq
                if kind == "cc_chg":
                    v += 1.0 / points
                elif kind == "cc_dchg":
                    v -= 1.0 * ce / points
                rec["i"].append(i)
                rec["v"].append(v + (0.05 if i > 0 else -0.05 if i < 0 else 0.0))
                rec["cyc"].append(c)
                rec["step"].append(step)
                rec["kind"].append(kind)
                rec["scap"].append(scap)
                rec["qc"].append(qc)
                rec["qd"].append(qd)
        charge.append(total_in * dt_s / 3600.0)
        discharge.append(current_mA * ce * points * dt_s / 3600.0)
    n = len(rec["i"])
    return {
        "time_s": np.arange(1, n + 1) * dt_s,
        "current_mA": np.array(rec["i"]),
        "voltage_V": np.round(np.array(rec["v"]), 6),
        "cycle": np.array(rec["cyc"]),
        "step": np.array(rec["step"]),
        "kind": np.array(rec["kind"]),
        "step_cap_mAh": np.array(rec["scap"]),
        "cycle_chg_mAh": np.array(rec["qc"]),
        "cycle_dchg_mAh": np.array(rec["qd"]),
        "charge_mAh": charge,
        "discharge_mAh": discharge,
        "dt_s": dt_s,
    }


def _hms(seconds: float, *, ms: bool = False) -> str:
    """``h:mm:ss`` (hours may exceed 24) or ``hh:mm:ss.xxx``."""
    h, rem = divmod(float(seconds), 3600.0)
    m, s = divmod(rem, 60.0)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}" if ms else f"{int(h):02d}:{int(m):02d}:{s:02.0f}"


def _xlsx_cell(ref: str, value: Any) -> str:
    if isinstance(value, str):
        text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'
    return f'<c r="{ref}"><v>{value!r}</v></c>'


def _col_letter(k: int) -> str:
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(65 + r) + out
    return out


def write_xlsx(path: str | Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """Write a minimal Office Open XML workbook (inline strings, numbers; '' = empty).

    Written by hand (a few XML parts in a zip) so the test fixtures need no Excel writer
    library; the files open in Excel, LibreOffice, openpyxl and calamine.
    """
    import zipfile

    path = Path(path)
    names = list(sheets)
    ct = "".join(
        f'<Override PartName="/xl/worksheets/sheet{k + 1}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for k in range(len(names))
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        f'officedocument.spreadsheetml.sheet.main+xml"/>{ct}</Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    wb_sheets = "".join(
        f'<sheet name="{n}" sheetId="{k + 1}" r:id="rId{k + 1}"/>' for k, n in enumerate(names)
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<sheets>{wb_sheets}</sheets></workbook>"
    )
    wb_rels = "".join(
        f'<Relationship Id="rId{k + 1}" Type="http://schemas.openxmlformats.org/'
        f'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{k + 1}.xml"/>'
        for k in range(len(names))
    )
    wb_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{wb_rels}</Relationships>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", content_types)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        for k, name in enumerate(names):
            body = []
            for r, row in enumerate(sheets[name], start=1):
                cells = "".join(
                    _xlsx_cell(f"{_col_letter(c)}{r}", v) for c, v in enumerate(row) if v != ""
                )
                body.append(f'<row r="{r}">{cells}</row>')
            zf.writestr(
                f"xl/worksheets/sheet{k + 1}.xml",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f"<sheetData>{''.join(body)}</sheetData></worksheet>",
            )
    return path


def write_arbin_xlsx(
    path: str | Path, truth: dict[str, Any], *, channel: int = 5, rows_per_sheet: int = 10**6
) -> Path:
    """Arbin MITS Pro Excel layout: ``Global_Info`` + ``Channel_<n>_<k>`` sheets (A, Ah)."""
    header = [
        "Data_Point",
        "Test_Time(s)",
        "Step_Time(s)",
        "Step_Index",
        "Cycle_Index",
        "Voltage(V)",
        "Current(A)",
        "Charge_Capacity(Ah)",
        "Discharge_Capacity(Ah)",
    ]
    t = truth["time_s"]
    step_start = {}
    rows = []
    for k in range(t.size):
        s = int(truth["step"][k])
        step_start.setdefault(s, t[k] - truth["dt_s"])
        rows.append(
            [
                k + 1,
                float(t[k]),
                float(t[k] - step_start[s]),
                s,
                int(truth["cycle"][k]),
                float(truth["voltage_V"][k]),
                float(truth["current_mA"][k]) * 1e-3,
                float(truth["cycle_chg_mAh"][k]) * 1e-3,
                float(truth["cycle_dchg_mAh"][k]) * 1e-3,
            ]
        )
    info = [
        ["", "", "", "TEST REPORT"],
        ["", "", "", "generated_arbin_run"],
        ["Channel", "Start DateTime", "Schedule File Name", "Creator", "Software Version"],
        [channel, "03/02/2026 09:30:00", "cccv_test.sdu", "charsuite", "PV7.0 Build: test"],
    ]
    sheets: dict[str, list[list[Any]]] = {"Global_Info": info}
    for part, start in enumerate(range(0, len(rows), rows_per_sheet), start=1):
        sheets[f"Channel_{channel}_{part}"] = [header, *rows[start : start + rows_per_sheet]]
    return write_xlsx(path, sheets)


def write_neware_csv(path: str | Path, truth: dict[str, Any], *, mass_mg: float = 2.0) -> Path:
    """Neware BTSDA 8 record export (A, Ah, step capacities, ``Cumulative Time``)."""
    names = {"rest": "Rest", "cc_chg": "CC Chg", "cv_chg": "CV Chg", "cc_dchg": "CC DChg"}
    lines = [
        "DataPoint,Cycle Index,Step Index,Step Type,Time,Cumulative Time,Current(A),"
        "Voltage(V),Capacity(Ah),Spec. Cap.(mAh/g),Chg. Cap.(Ah),DChg. Cap.(Ah),Date"
    ]
    start = _dt.datetime(2026, 3, 2, 9, 30, 0)
    step_start: dict[int, float] = {}
    for k in range(truth["time_s"].size):
        t = float(truth["time_s"][k])
        s = int(truth["step"][k])
        step_start.setdefault(s, t - truth["dt_s"])
        i = float(truth["current_mA"][k])
        cap = float(truth["step_cap_mAh"][k])
        chg, dchg = (cap, 0.0) if i > 0 else (0.0, cap) if i < 0 else (0.0, 0.0)
        lines.append(
            f"{k + 1},{truth['cycle'][k]},{s},{names[truth['kind'][k]]},"
            f"{_hms(t - step_start[s])},{_hms(t)},{i * 1e-3:.8f},{truth['voltage_V'][k]:.4f},"
            f"{cap * 1e-3:.10f},{cap / (mass_mg * 1e-3):.4f},{chg * 1e-3:.10f},"
            f"{dchg * 1e-3:.10f},{start + _dt.timedelta(seconds=t):%Y-%m-%d %H:%M:%S}"
        )
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def write_neware_regular_csv(path: str | Path, truth: dict[str, Any]) -> Path:
    """Neware BTSDA "regular export": cycle, step and record layers nested in one CSV.

    Cycle rows (``Cycle ID``, charge/discharge capacity of the cycle), step rows after one
    empty field (``Step ID``, ``Step Name``, step capacity), record rows after two
    (``Record ID``, time in step, V, mA, step capacity in mAh, ``Realtime``). The current
    is unsigned, as BTSDA writes it; the step name says discharge.
    """
    names = {"rest": "Rest", "cc_chg": "CC_Chg", "cv_chg": "CV_Chg", "cc_dchg": "CC_DChg"}
    lines = [
        "Cycle ID,Cap_Chg(mAh),Cap_DChg(mAh),Charge/Discharge Efficiency(%)",
        ",Step ID,Step Name,Step Time(h:min:s.ms),Capacity(mAh)",
        ",,Record ID,Time(h:min:s.ms),Voltage(V),Current(mA),Capacity(mAh),Realtime",
    ]
    start = _dt.datetime(2026, 3, 2, 9, 30, 0)
    cyc, step = np.asarray(truth["cycle"]), np.asarray(truth["step"])
    cap, t_all = np.asarray(truth["step_cap_mAh"]), np.asarray(truth["time_s"])
    cur = np.asarray(truth["current_mA"])
    record = 0
    for c in dict.fromkeys(cyc.tolist()):
        in_c = cyc == c
        steps = list(dict.fromkeys(step[in_c].tolist()))
        q_step = {s: float(cap[in_c & (step == s)].max()) for s in steps}
        sign = {s: float(np.sign(cur[in_c & (step == s)].mean())) for s in steps}
        q_ch = sum(q for s, q in q_step.items() if sign[s] > 0)
        q_di = sum(q for s, q in q_step.items() if sign[s] < 0)
        eff = q_di / q_ch * 100 if q_ch else 0.0
        lines.append(f"{c},{q_ch:.6f},{q_di:.6f},{eff:.3f}")
        for s in steps:
            idx = np.flatnonzero(in_c & (step == s))
            t0 = float(t_all[idx[0]]) - truth["dt_s"]
            kind = names[truth["kind"][idx[0]]]
            lines.append(f",{s},{kind},{_hms(float(t_all[idx[-1]]) - t0)},{q_step[s]:.6f}")
            for k in idx:
                record += 1
                t = float(t_all[k])
                lines.append(
                    f",,{record},{_hms(t - t0)},{truth['voltage_V'][k]:.4f},{abs(cur[k]):.6f},"
                    f"{cap[k]:.6f},{start + _dt.timedelta(seconds=t):%Y-%m-%d %H:%M:%S.%f}"
                )
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def write_pec_csv(path: str | Path, truth: dict[str, Any], *, cells: int = 1) -> Path:
    """PEC CSV export: ``Key:,value`` header, ``Test,Cell,...`` table (V, A, mAh).

    With ``cells > 1`` the same run is written for each cell (``Cell`` = 1, 2, ...), the
    current of cell ``c`` scaled by ``c``.
    """
    head = [
        "Request Year:,2026",
        "Test:,4711",
        "TestRegime Name:,CCCV generic",
        "TestRegime CellSize:,20 mAh",
        f"Number Of Cells:,{cells}",
        "Chemistry:,Li-ion NMC",
        "Start Time:,03/02/2026 09:30:00",
        "#RESULTS CHECK",
        "Check 1:,a,b,c,d",
        "#END RESULTS CHECK",
        "Operator Instructions:,",
    ]
    cols = (
        "Test,Cell,Rack,Shelf,Position,Cell ID,Step,Instruction Name,Cycle,"
        "Total Time (Hours in hh:mm:ss.xxx),Step Time (Seconds),Real Time,Voltage (V),"
        "Current (A),Charge Capacity (mAh),Discharge Capacity (mAh),"
    )
    kinds = {"rest": "Rest", "cc_chg": "Charge", "cv_chg": "Charge CV", "cc_dchg": "Discharge"}
    start = _dt.datetime(2026, 3, 2, 9, 30, 0)
    rows = []
    for c in range(1, cells + 1):
        for k in range(truth["time_s"].size):
            t = float(truth["time_s"][k])
            rows.append(
                f"4711,{c},R1,001,{c},cell_{c},{truth['step'][k]},{kinds[truth['kind'][k]]},"
                f"{truth['cycle'][k] - 1},{_hms(t, ms=True)},{t:.3f},"
                f"{start + _dt.timedelta(seconds=t):%m/%d/%Y %H:%M:%S},"
                f"{truth['voltage_V'][k]:.6f},{c * truth['current_mA'][k] * 1e-3:.8g},"
                f"{c * truth['cycle_chg_mAh'][k]:.9f},{c * truth['cycle_dchg_mAh'][k]:.9f},"
            )
    Path(path).write_text("\n".join([*head, cols, *rows]) + "\n", encoding="utf-8")
    return Path(path)


def write_novonix_csv(
    path: str | Path,
    truth: dict[str, Any],
    *,
    signed: bool = True,
    quoted: bool = True,
    mass_g: float = 0.0125,
) -> Path:
    """Novonix HPC export: [Summary]/[Protocol]/[Data]; capacity runs on through CC→CV.

    ``signed=False`` writes the discharge current positive (sign only in Step Type);
    ``quoted=True`` wraps every data line in double quotes as some exports do.
    """
    codes = {"rest": 0, "cc_chg": 7, "cv_chg": 8, "cc_dchg": 2}
    head = [
        "[Summary]",
        "Novonix HPC data file",
        "Novonix",
        "Channel: 07",
        "Cell: generated_cell.csv",
        f"Mass (g): {mass_g:.4f}",
        "Capacity (Ah): 0.02",
        "Area (cm2): 1.540",
        "Started: 2026-03-02 9:30:00 AM",
        "Version: 2.2.1.6",
        "[End Summary]",
        "[Protocol]",
        "[1: CC-CV_charge: 5 C/xx to 4.2 V]",
        "[End Protocol]",
        "[Data]",
        "Date and Time,Cycle Number,Step Type,Run Time (h),Step Time (h),Current (A),"
        "Potential (V),Capacity (Ah),Temperature (°C),Energy (Wh),Step Number",
    ]
    start = _dt.datetime(2026, 3, 2, 9, 30, 0)
    rows = []
    run_cap, prev_kind, step_no, step_t0 = 0.0, None, 0, 0.0
    for k in range(truth["time_s"].size):
        t = float(truth["time_s"][k])
        kind = truth["kind"][k]
        i = float(truth["current_mA"][k])
        if kind != prev_kind:
            # CC→CV of one CC-CV step keeps counting; any other new step restarts
            if not (prev_kind == "cc_chg" and kind == "cv_chg"):
                run_cap = 0.0
                step_no += 1
            step_t0 = t - truth["dt_s"]
            prev_kind = kind
        run_cap += abs(i) * truth["dt_s"] / 3600.0
        stamp = start + _dt.timedelta(seconds=t)
        cur = i if signed else abs(i)
        line = (
            f"{stamp:%Y-%m-%d} {stamp:%I:%M:%S %p}".replace(" 0", " ", 1)
            + f",{truth['cycle'][k]},{codes[kind]},{t / 3600:.7f},{(t - step_t0) / 3600:.7f},"
            f"{cur * 1e-3:.10f},{truth['voltage_V'][k]:.8f},{run_cap * 1e-3:.10f},25.0,0.0,"
            f"{step_no}"
        )
        rows.append(f'"{line}"' if quoted else line)
    text = "\n".join(head) + "\n" + "\n".join(rows) + "\n"
    if quoted:
        text = text.replace(head[-1], f'"{head[-1]}"')
    Path(path).write_text(text, encoding="utf-8")
    return Path(path)


def write_maccor_eis(
    path: str | Path,
    *,
    params: dict[str, float] | None = None,
    f_max: float = 1e5,
    f_min: float = 1.0,
    points_per_decade: int = 5,
) -> dict[str, Any]:
    """Maccor AC impedance export (``.EDAnnnn``) of a two-arc cell; Z in Ω, Z″ < 0."""
    p = params or {"R0": 0.02, "R1": 0.015, "Q1": 0.05, "a1": 0.9, "R2": 0.03, "Q2": 2.0, "a2": 0.8}
    n = int(np.rint(np.log10(f_max / f_min) * points_per_decade)) + 1
    f = np.round(np.logspace(np.log10(f_max), np.log10(f_min), n), 5)  # as written
    z = two_arc_impedance(f, p)
    lines = [
        "MACCOR, INC.    AC Impedance Test",
        "Frequency Sweep:   Open Circut Voltage",
        "EIS 1.000FRA default",
        "GENERATED_0001.EDA0001.001",
        "Line 4",
        "Line 5",
        "Start Date:  Monday, March 2, 2026 Start Time:   09:30",
        "Line 7",
        "0.0005  2  0  0  0  0  0  10  1000  1  10  0  0.1  1  0  3000  0  1  191  20",
        "",
        "Freq(Hz)\tPolar(V)\ttime(sec)\tZ'(a)\tZ''(b)\tPhase_Angle\tZ-Mag\tC(F)\tStatus\t"
        "irg\tVMag\tIMag\tV-DC\tisg\trc",
        "",
    ]
    for k in range(n):
        w = 2 * np.pi * f[k]
        lines.append(
            f"{f[k]:.5f}\t{w:.6f}\t{10.0 + k:.6f}\t{z[k].real:.6f}\t{z[k].imag:.6f}\t"
            f"{np.degrees(np.angle(z[k])):.6f}\t{abs(z[k]):.6f}\t{1 / (w * z[k].imag):.6f}\t"
            "10.0\t\t\t\t3.900000"
        )
    Path(path).write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return {"path": Path(path), "frequency": f, "z": z, "params": p}
