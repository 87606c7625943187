"""ToF-SIMS figures: depth profiles with layer bands, co-localisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.plotting.style import PALETTE, new_figure, save_figure

__all__ = ["plot_colocalisation", "plot_depth_profile"]

_BAND = ("#f2f2f2", "#e0e0e0")


def plot_depth_profile(
    profile,
    *,
    calibration=None,
    species=None,
    variable: str = "intensity",
    x: str = "auto",
    path: str | Path | None = None,
    force: bool = False,
    title: str | None = None,
):
    """Log intensity vs depth (nm) or scan, with labelled layer bands (reference-paper style).

    Parameters
    ----------
    profile : xarray.Dataset
        From :func:`charsuite.sims.depth_profile`.
    calibration : DepthCalibration, optional
        Adds layer bands, interface markers and a nm axis.
    species : list of str, optional
    variable : str
        ``intensity``, ``counts`` or ``smoothed``.
    x : {"auto", "depth_nm", "scan", "time"}
        ``auto`` = nm when calibrated, else scans.
    path : str or Path, optional
        Save (PNG/SVG/PDF) when given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = new_figure(figsize=(7.0, 4.2))
    da = profile[variable] if variable in profile else profile["counts"]
    chosen = list(species) if species is not None else [str(s) for s in da.species.values]
    n = da.sizes["depth"]
    scans = np.arange(n, dtype=float)
    use_nm = x == "depth_nm" or (
        x == "auto" and calibration is not None and calibration.depth_nm is not None
    )
    if use_nm:
        xs = np.asarray(calibration.depth_nm)
        xlabel = "depth (nm)"
    elif x == "time" and "sputter_time" in profile.coords:
        xs = np.asarray(profile["sputter_time"].values, dtype=float)
        xlabel = "sputter time (s)"
    else:
        xs = scans
        xlabel = "scan"

    def to_x(s):
        return np.interp(s, scans, xs)

    if calibration is not None:
        span = float(xs[-1] - xs[0]) or 1.0
        for k, lay in enumerate(calibration.layers):
            a, b = to_x(lay.start_scan), to_x(lay.end_scan)
            ax.axvspan(a, b, color=_BAND[k % 2], zorder=0, lw=0)
            narrow = (b - a) / span < 0.08  # stagger labels of thin layers so they do not overlap
            ax.text(
                (a + b) / 2,
                1.01 + (0.05 if narrow and k % 2 else 0.0),
                lay.name,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        for itf in calibration.interfaces:
            ax.axvline(to_x(itf.scan), color="0.4", lw=0.7, ls="--", zorder=1)
    for i, s in enumerate(chosen):
        y = np.asarray(da.sel(species=s).values, dtype=float)
        y = np.where(y > 0, y, np.nan)
        ax.plot(xs, y, color=PALETTE[i % len(PALETTE)], lw=1.2, label=s, zorder=2)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    units = da.attrs.get("units", "counts")
    norm = profile.attrs.get("normalization", "none")
    ylabel = "intensity (counts per scan)" if units == "counts" else f"intensity ({units})"
    if norm not in (None, "none"):
        ylabel += f", normalised: {norm}"
    ax.set_ylabel(ylabel)
    ax.set_xlim(xs[0], xs[-1])
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    if title:
        ax.set_title(title, pad=16)
    if path is not None:
        save_figure(fig, path, force=force)
    return fig


def plot_colocalisation(result, *, maps=None, path: str | Path | None = None, force: bool = False):
    """Pearson r vs binning for each pair, and (optionally) fraction maps of each species.

    Parameters
    ----------
    result : Colocalisation
    maps : ndarray (y, x, species), optional
        Layer maps from :func:`charsuite.sims.layer_maps` (shown as fraction maps).
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ncols = 1 + (len(result.species) if maps is not None else 0)
    fig, axes = new_figure(1, ncols, figsize=(3.2 * ncols, 3.2), squeeze=False)
    ax = axes[0, 0]
    bins = sorted(int(b) for b in result.pearson_by_binning)
    pairs = list(result.pearson_by_binning[str(bins[0])])
    for i, pair in enumerate(pairs):
        ax.plot(
            bins,
            [result.pearson_by_binning[str(b)][pair] for b in bins],
            "o-",
            color=PALETTE[i % len(PALETTE)],
            label=pair,
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(bins, [f"{b}×{b}" for b in bins])
    ax.set_xlabel("lateral binning (pixels)")
    ax.set_ylabel("Pearson r (dimensionless)")
    ax.set_ylim(-1.05, 1.05)
    ax.axhline(0, color="0.6", lw=0.6)
    verdict = "segregated" if result.segregated else "not segregated"
    ax.set_title(
        f"{result.layer or 'layer'}: {verdict}\nX²/dof={result.dispersion_index:.2f}, p={result.p_value:.2g}",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    if maps is not None:
        total = maps.sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = maps / total[..., None]
        for j, s in enumerate(result.species):
            a = axes[0, 1 + j]
            im = a.imshow(frac[..., j], cmap="viridis", origin="upper")
            a.set_title(f"{s} / sum (fraction)", fontsize=9)
            a.set_xlabel("x (px)")
            a.set_ylabel("y (px)")
            fig.colorbar(im, ax=a, shrink=0.8, label="fraction (dimensionless)")
    if path is not None:
        save_figure(fig, path, force=force)
    return fig
