"""GI-XRD figures: measured pattern(s), reference sticks per phase with hkl, unidentified peaks.

Reproduces the layout of the reference paper's Fig. 1c: film stack and substrate-only
patterns (offset, log or linear), reference stick patterns under them, one colour per
phase, hkl labels on the strong sticks, unidentified peaks marked with a star.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_identification(
    da,
    analysis,
    *,
    path=None,
    substrate=None,
    force: bool = False,
    title: str | None = None,
    label_min_intensity: float = 8.0,
):
    """Plot a scan with the identified phases of ``analysis`` (an XRDAnalysis or its dict).

    Parameters
    ----------
    da : DataArray
        The measured scan (two_theta in deg).
    analysis : XRDAnalysis or dict
    path : str or Path, optional
        Save as PNG (atomic; ``force`` to overwrite).
    substrate : DataArray, optional
        Substrate-only scan drawn under the film scan.
    label_min_intensity : float
        Reference sticks weaker than this (% of phase maximum) are not labelled.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from charsuite.plotting.style import PALETTE, new_figure, save_figure
    from charsuite.xrd import reference_pattern, two_theta_of

    res = analysis.to_dict() if hasattr(analysis, "to_dict") else analysis
    phases = res["phases"]
    n = max(len(phases), 1)
    fig, axes = new_figure(
        2,
        1,
        figsize=(7.0, 4.2 + 0.45 * n),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 0.55 * n]},
    )
    ax, axs = axes
    x = da.two_theta.values
    y = np.asarray(da.values, float)
    units = da.attrs.get("units", "counts")
    top = float(np.nanmax(y)) if y.size else 1.0
    offset = 0.0
    if substrate is not None:
        # stacked as in the paper: substrate alone below, film stack above it
        ys = np.asarray(substrate.values, float)
        ax.plot(substrate.two_theta.values, ys, color="0.55", lw=0.7, label="substrate only")
        offset = float(np.nanmax(ys)) * 1.05
        y = y + offset
    ax.plot(x, y, color="black", lw=0.7, label=Path(res.get("file") or "scan").name)
    for pk in res["unidentified_peaks"]:
        ax.plot(
            pk["two_theta"],
            np.interp(pk["two_theta"], x, y) + top * 0.04,
            marker="*",
            color="red",
            ms=7,
            ls="none",
        )
    if res["unidentified_peaks"]:
        ax.plot([], [], marker="*", color="red", ls="none", label="unidentified")
    wl = res["wavelength_angstrom"]
    for k, ph in enumerate(phases):
        color = PALETTE[k % len(PALETTE)]
        # "cif" (the phase's CIF, also for user libraries) and "reference" (library name of
        # a second instance "name (2)") were added to the JSON later: fall back to the name
        ref = reference_pattern(
            ph.get("cif") or ph.get("reference") or ph["name"],
            wavelength_angstrom=wl,
            two_theta_range=(float(x[0]), float(x[-1])),
        )
        lat = ph.get("lattice") or {}
        if lat:
            cell = tuple(lat[c] for c in ("a", "b", "c", "alpha", "beta", "gamma"))
            pos = two_theta_of(np.array(ref.hkl, float), cell, wl) + (
                ph.get("zero_offset_deg") or 0.0
            )
        else:
            pos = ref.two_theta
        base = n - 1 - k
        for p, inten, hkl in zip(pos, ref.intensity, ref.hkl):
            if not np.isfinite(p):
                continue
            axs.vlines(p, base, base + 0.85 * inten / 100.0, color=color, lw=1.2)
            if inten >= label_min_intensity and len(phases) <= 6:
                axs.text(
                    p,
                    base + 0.88 * inten / 100.0,
                    "".join(str(v) for v in hkl),
                    fontsize=6,
                    ha="center",
                    va="bottom",
                    color=color,
                    rotation=90,
                )
        axs.text(
            1.005,
            base + 0.3,
            ph["name"],
            transform=axs.get_yaxis_transform(),
            color=color,
            fontsize=8,
            va="center",
        )
        ax.plot([], [], color=color, lw=2, label=f"{ph['name']} (FoM {ph['score']:.2f})")
    axs.set_yticks([])
    axs.set_ylim(0, n + 0.2)
    axs.set_xlabel("2θ (deg)")
    axs.set_ylabel("reference")
    ax.set_ylabel(f"intensity ({units})" + (", film offset" if offset else ""))
    alpha = res.get("incidence_angle_deg")
    ax.set_title(
        title or (f"GI-XRD, ω = {alpha:g}°, λ = {wl:.4f} Å" if alpha else f"XRD, λ = {wl:.4f} Å"),
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper right")
    ax.set_xlim(float(x[0]), float(x[-1]))
    if path is not None:
        save_figure(fig, path, force=force)
    return fig


def plot_rietveld(result, *, path=None, force: bool = False, title: str | None = None):
    """Profex-style Rietveld plot: observed, calculated, background, difference, ticks.

    Parameters
    ----------
    result : RietveldResult
        From :func:`charsuite.xrd.refine` (holds the arrays; its JSON does not).
    path : str or Path, optional
        Save as PNG (atomic; ``force`` to overwrite).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from charsuite.plotting.style import PALETTE, new_figure, save_figure

    x, yo, yc = result.two_theta, result.observed, result.calculated
    n = max(len(result.ticks), 1)
    fig, (ax, axt, axd) = new_figure(
        3,
        1,
        figsize=(7.5, 5.2),
        sharex=True,
        gridspec_kw={"height_ratios": [4, 0.25 * n + 0.2, 1.2]},
    )
    ax.plot(x, yo, ".", color="black", ms=1.5, label="observed")
    ax.plot(x, yc, color="red", lw=0.8, label="calculated")
    ax.plot(x, result.background, color="0.5", lw=0.7, label="background")
    for k, ph in enumerate(result.phases):
        color = PALETTE[k % len(PALETTE)]
        ticks = result.ticks.get(ph.name, [])
        axt.vlines(ticks, n - 1 - k, n - 0.2 - k, color=color, lw=0.8)
        label = f"{ph.name} {100 * ph.weight_fraction:.1f}({100 * ph.weight_fraction_esd:.1f}) wt%"
        ax.plot([], [], color=color, lw=2, label=f"{label}, R_B {100 * ph.bragg_r:.1f}%")
    axd.plot(x, yo - yc, color="blue", lw=0.6)
    axd.axhline(0, color="0.6", lw=0.5)
    axt.set_yticks([])
    axt.set_ylim(-0.1, n)
    axd.set_xlabel("2θ (deg)")
    axd.set_ylabel("obs − calc")
    ax.set_ylabel("intensity (counts)")
    status = "" if result.converged else " (NOT converged)"
    ax.set_title(
        title or f"Rietveld: Rwp {100 * result.rwp:.2f}%, GoF {result.gof:.2f}{status}",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper right")
    ax.set_xlim(float(x[0]), float(x[-1]))
    if path is not None:
        save_figure(fig, path, force=force)
    return fig
