"""Electrochemistry figures of the reference paper's kinds.

* :func:`plot_capacity_vs_cycle` — discharge capacity vs cycle per voltage window, several
  cells side by side (paper Fig. 2c / 5a,b), CE on a second axis.
* :func:`plot_voltage_profiles` — charge–discharge curves of selected cycles (Fig. 2d–i).
* :func:`plot_first_cycle_dqdv` — first-cycle curve and its dQ/dV (Fig. 3).
* :func:`plot_nyquist` — Nyquist plots of several states in Ω·cm², with fits (Fig. 4).
* :func:`plot_bode` — |Z| and phase vs frequency.
* :func:`plot_drt` — distribution of relaxation times with its peaks.
* :func:`plot_retention` — long-term retention with the 80 % line and CE (Fig. 5c).

Every function returns a matplotlib Figure; save it with
:func:`charsuite.plotting.save_figure`. No analysis happens here: inputs are the results
of :mod:`charsuite.echem`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from charsuite.plotting.style import PALETTE, new_figure

__all__ = [
    "plot_bode",
    "plot_capacity_vs_cycle",
    "plot_drt",
    "plot_first_cycle_dqdv",
    "plot_nyquist",
    "plot_retention",
    "plot_voltage_profiles",
]


def _specific(summary, key: str) -> tuple[np.ndarray, str]:
    if summary.mass_g:
        return summary.column(f"{key}_mAh_g"), "mAh g$^{-1}$"
    return summary.column(f"{key}_mAh") * 1e3, "µAh"


def plot_capacity_vs_cycle(summaries: Mapping[str, Any], *, show_ce: bool = True):
    """Discharge capacity vs cycle coloured by voltage window, one panel per cell.

    Parameters
    ----------
    summaries : mapping of str -> CycleSummary
        Panel title (e.g. "liquid (OLE)", "solid (SSE)") → summary.
    show_ce : bool
        Coulombic efficiency (%) on a right-hand axis.
    """
    n = len(summaries)
    fig, axes = new_figure(1, n, figsize=(5.0 * n, 3.8), squeeze=False)
    for ax, (title, s) in zip(axes[0], summaries.items()):
        cyc = s.column("cycle")
        q, unit = _specific(s, "discharge")
        labels = [c["voltage_window"] for c in s.cycles]
        for k, label in enumerate(dict.fromkeys(labels)):
            sel = np.array([lab == label for lab in labels])
            ax.plot(cyc[sel], q[sel], "o", ms=3, color=PALETTE[k % len(PALETTE)], label=label)
        ax.set_xlabel("cycle number")
        ax.set_ylabel(f"discharge capacity ({unit})")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        if show_ce:
            ax2 = ax.twinx()
            ax2.plot(cyc, s.column("coulombic_efficiency_pct"), ".", ms=2, color="0.5")
            ax2.set_ylabel("coulombic efficiency (%)", color="0.4")
            ax2.set_ylim(0, 110)
        ax.legend(fontsize=7, title="voltage window", title_fontsize=7, loc="lower left")
    return fig


def plot_voltage_profiles(curves: Sequence[dict], *, mass_g: float | None = None, title: str = ""):
    """Charge–discharge curves (voltage vs capacity) of selected cycles.

    Parameters
    ----------
    curves : list of dict
        From :func:`charsuite.echem.voltage_curves`.
    mass_g : float, optional
        Active mass (g) for mAh/g; otherwise µAh.
    """
    fig, ax = new_figure(figsize=(5.0, 3.8))
    cycles = sorted({c["cycle"] for c in curves})
    cmap = {c: PALETTE[k % len(PALETTE)] for k, c in enumerate(cycles)}
    for c in curves:
        q = c["capacity_mAh"] / mass_g if mass_g else c["capacity_mAh"] * 1e3
        style = "-" if c["direction"] == "charge" else "--"
        label = f"cycle {c['cycle']}" if c["direction"] == "charge" else None
        ax.plot(q, c["voltage_V"], style, color=cmap[c["cycle"]], lw=1.2, label=label)
    ax.set_xlabel("capacity (mAh g$^{-1}$)" if mass_g else "capacity (µAh)")
    ax.set_ylabel("voltage (V vs Li/Li$^+$)")
    ax.set_title(title or "charge (—) and discharge (- -)")
    ax.legend(fontsize=8)
    return fig


def plot_first_cycle_dqdv(curves: Sequence[dict], results: Sequence[Any], *, mass_g=None):
    """First-cycle voltage curve (left) and its dQ/dV (right), as paper Fig. 3.

    Parameters
    ----------
    curves : list of dict
        Half cycles of the cycle (from :func:`charsuite.echem.voltage_curves`).
    results : list of DqdvResult
        dQ/dV of the charge and discharge half cycles.
    """
    fig, (a, b) = new_figure(1, 2, figsize=(9.0, 3.8))
    for k, c in enumerate(curves):
        q = c["capacity_mAh"] / mass_g if mass_g else c["capacity_mAh"] * 1e3
        a.plot(q, c["voltage_V"], color=PALETTE[k % 2], label=c["direction"])
    a.set_xlabel("capacity (mAh g$^{-1}$)" if mass_g else "capacity (µAh)")
    a.set_ylabel("voltage (V vs Li/Li$^+$)")
    a.legend(fontsize=8)
    for k, r in enumerate(results):
        y = np.asarray(r.dqdv_mAh_g_V if (mass_g and r.dqdv_mAh_g_V) else r.dqdv_mAh_V)
        if not (mass_g and r.dqdv_mAh_g_V):
            y = y * 1e3
        b.plot(
            r.voltage_V,
            y,
            color=PALETTE[k % 2],
            label=f"{r.direction} (smooth {r.smooth_V * 1e3:g} mV)",
        )
        for p in r.peaks:
            b.axvline(p["voltage_V"], color=PALETTE[k % 2], lw=0.5, ls=":")
    b.axhline(0, color="0.6", lw=0.5)
    b.set_xlabel("voltage (V vs Li/Li$^+$)")
    b.set_ylabel("dQ/dV (mAh g$^{-1}$ V$^{-1}$)" if mass_g else "dQ/dV (µAh V$^{-1}$)")
    b.legend(fontsize=8)
    return fig


def plot_nyquist(spectra: Sequence[tuple[str, Any, Any]], *, area_cm2: float | None = None):
    """Nyquist plot (−Z″ vs Z′) of several spectra, area-normalised when an area is given.

    Parameters
    ----------
    spectra : list of (label, Dataset, EisFit or None)
        Measured spectra and optional fits (drawn as lines).
    area_cm2 : float, optional
        Multiply Z by the area to plot Ω·cm².
    """
    fig, ax = new_figure(figsize=(5.2, 4.2))
    scale = area_cm2 or 1.0
    unit = "Ω cm$^2$" if area_cm2 else "Ω"
    for k, (label, ds, fit) in enumerate(spectra):
        color = PALETTE[k % len(PALETTE)]
        zr, zi = ds["z_real"].values * scale, ds["z_imag"].values * scale
        ax.plot(zr, -zi, "o", ms=3, mfc="none", color=color, label=label)
        if fit is not None:
            f = np.geomspace(ds["frequency"].values.max(), ds["frequency"].values.min(), 300)
            z = fit.predict(f) * scale
            ax.plot(z.real, -z.imag, "-", lw=1, color=color)
    ax.set_xlabel(f"Z′ ({unit})")
    ax.set_ylabel(f"−Z″ ({unit})")
    # equal scales on both axes (semicircles look round) with the box, not the limits, adjusted,
    # so no empty negative −Z″ region appears
    x_lo, x_hi = ax.get_xlim()
    y_lo, y_hi = ax.get_ylim()
    x_lo, y_lo = min(0.0, x_lo), min(0.0, y_lo)
    box_ratio = 0.75  # height/width of the axes box in this figure size
    y_span = max((x_hi - x_lo) * box_ratio, (y_hi - y_lo) * 1.3)  # room for the legend
    x_span = y_span / box_ratio
    ax.set_xlim(x_lo, x_lo + x_span)
    ax.set_ylim(y_lo, y_lo + y_span)
    ax.set_aspect("equal", adjustable="box")
    ax.legend(fontsize=8)
    return fig


def plot_bode(ds, fit=None, *, label: str = ""):
    """Bode plot: |Z| (Ω) and phase (deg) vs frequency (Hz), with an optional fit."""
    fig, (a, b) = new_figure(2, 1, figsize=(5.2, 5.0), sharex=True)
    f = ds["frequency"].values
    z = ds["z_real"].values + 1j * ds["z_imag"].values
    a.loglog(f, np.abs(z), "o", ms=3, mfc="none", color=PALETTE[0], label=label or "data")
    b.semilogx(f, -np.degrees(np.angle(z)), "o", ms=3, mfc="none", color=PALETTE[0])
    if fit is not None:
        ff = np.geomspace(f.max(), f.min(), 300)
        zf = fit.predict(ff)
        a.loglog(ff, np.abs(zf), "-", color=PALETTE[1], label="fit " + fit.circuit)
        b.semilogx(ff, -np.degrees(np.angle(zf)), "-", color=PALETTE[1])
    a.set_ylabel("|Z| (Ω)")
    b.set_ylabel("−phase (deg)")
    b.set_xlabel("frequency (Hz)")
    a.legend(fontsize=8)
    return fig


def plot_retention(summary, *, title: str = ""):
    """Long-term capacity retention (%) with the end-of-life line and CE (paper Fig. 5c)."""
    fig, ax = new_figure(figsize=(6.0, 3.8))
    cyc = summary.column("cycle")
    ret = summary.column("retention_pct")
    ax.plot(cyc, ret, ".", ms=2, color=PALETTE[0], label="retention")
    thr = summary.cycle_life_80.get("threshold_pct", 80.0)
    ax.axhline(thr, color=PALETTE[1], ls="--", lw=1, label=f"{thr:g} %")
    life = summary.cycle_life_80.get("cycle")
    if life is not None:
        ax.axvline(life, color=PALETTE[1], lw=0.8, ls=":")
        ax.annotate(
            f"cycle life {life}", (life, thr), xytext=(5, 8), textcoords="offset points", fontsize=8
        )
    ax.set_xlabel("cycle number")
    ax.set_ylabel("capacity retention (%)")
    ax.set_ylim(0, 110)
    ax2 = ax.twinx()
    ax2.plot(cyc, summary.column("coulombic_efficiency_pct"), ".", ms=1.5, color="0.5")
    ax2.set_ylabel("coulombic efficiency (%)", color="0.4")
    ax2.set_ylim(0, 110)
    ref = summary.retention.get("reference_cycle")
    ax.set_title(title or f"100 % = discharge of cycle {ref}")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_drt(results: Sequence[tuple[str, Any]], *, area_cm2: float | None = None):
    """DRT γ(τ) of one or several spectra (log τ axis), peaks marked.

    Parameters
    ----------
    results : list of (label, DrtResult)
    area_cm2 : float, optional
        Multiply γ by the area (Ω·cm²).
    """
    fig, ax = new_figure(figsize=(5.6, 3.8))
    scale = area_cm2 or 1.0
    unit = "Ω cm$^2$" if area_cm2 else "Ω"
    for k, (label, r) in enumerate(results):
        color = PALETTE[k % len(PALETTE)]
        ax.semilogx(r.tau_s, np.asarray(r.gamma_ohm) * scale, color=color, label=label)
        for p in r.peaks:
            ax.plot(p["tau_s"], p["gamma_ohm"] * scale, "v", color=color, ms=5)
    ax.set_xlabel("relaxation time τ (s)")
    ax.set_ylabel(f"γ(ln τ) ({unit})")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return fig
