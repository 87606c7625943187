"""Composition figures: formula bar chart against a target, and ERDA depth profiles.

The reference paper gives the film composition only as a formula in its text
(Li1.95Ni0.83Mn0.08Co0.09Ox, oxygen not determinable); these figures show where the
numbers come from and how they compare with the sputter target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charsuite.plotting.style import PALETTE, new_figure, save_figure


def plot_composition(result: Any, *, ax=None, title: str | None = None):
    """Bar chart of amounts per formula unit (1σ error bars), with the target if compared.

    Parameters
    ----------
    result : CompositionResult
        From :func:`charsuite.composition.combine`.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    if ax is None:
        fig, ax = new_figure(figsize=(6.0, 3.8))
    else:
        fig = ax.figure
    elements = list(result.amounts)
    values = [float(getattr(v, "nominal_value", v)) for v in result.amounts.values()]
    errors = [float(getattr(v, "std_dev", 0.0)) for v in result.amounts.values()]
    x = np.arange(len(elements))
    target = (result.target or {}).get("elements", {})
    width = 0.38 if target else 0.6
    ax.bar(
        x - (width / 2 if target else 0),
        values,
        width,
        yerr=errors,
        capsize=3,
        color=PALETTE[0],
        label=f"film {result.formula}",
    )
    if target:
        tv = [float(target[e]["target"]) if e in target else np.nan for e in elements]
        ax.bar(
            x + width / 2,
            tv,
            width,
            color=PALETTE[1],
            alpha=0.8,
            label=f"target {result.target['formula']}",
        )
        for i, e in enumerate(elements):
            rel = target.get(e, {}).get("relative_pct")
            if rel is not None:
                ax.annotate(
                    f"{float(getattr(rel, 'nominal_value', rel)):+.0f}%",
                    (x[i], max(values[i] + errors[i], tv[i])),
                    textcoords="offset points",
                    xytext=(0, 3),
                    ha="center",
                    fontsize=8,
                )
    ax.set_xticks(x, elements)
    ax.set_ylabel(f"amount per formula unit ({result.basis})")
    ax.set_xlabel("element")
    if result.oxygen_unknown:
        ax.text(
            0.99,
            0.97,
            "O: unknown (Ox)",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
    ax.legend(fontsize=8, loc="upper center")
    if title:
        ax.set_title(title)
    return fig


def plot_depth_profile(
    dataset: Any, *, ax=None, elements=None, labels=None, title: str | None = None
):
    """ToF-ERDA depth profiles (Potku files) with the averaging window shaded.

    Parameters
    ----------
    dataset : xarray.Dataset
        From the ``potku-depth`` reader (variables ``profile_fraction`` over ``depth``).
    elements : list of str, optional
        Which profiles to draw (default all).
    labels : dict, optional
        Legend text per element, e.g. ``{"Mn": "Ni+Mn+Co (heavy cut)"}``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        fig, ax = new_figure(figsize=(6.0, 3.8))
    else:
        fig = ax.figure
    prof = dataset["profile_fraction"]
    depth = dataset["depth"].values
    names = elements or [str(e) for e in dataset["element"].values]
    for i, el in enumerate(names):
        ax.step(
            depth,
            prof.sel(element=el).values * 100,
            where="mid",
            color=PALETTE[i % len(PALETTE)],
            label=(labels or {}).get(el, el),
        )
    meta = dataset.attrs.get("metadata", {})
    lo, hi = meta.get("depth_from_1e15_at_cm2"), meta.get("depth_to_1e15_at_cm2")
    if lo is not None and hi is not None:
        ax.axvspan(lo, hi, color="0.85", zorder=0, label="averaging window")
    ax.set_xlabel("depth (1e15 at/cm²)")
    ax.set_ylabel("concentration (at.%)")
    ax.legend(fontsize=8, ncols=2)
    if title:
        ax.set_title(title)
    return fig


def save_composition_figure(result: Any, path: str | Path, *, force: bool = False) -> Path:
    """Draw :func:`plot_composition` and save it (PNG/SVG/PDF by suffix)."""
    return save_figure(plot_composition(result), path, force=force)
