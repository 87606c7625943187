"""ToF-SIMS figures: depth profiles with layer bands, co-localisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charsuite.plotting.style import PALETTE, new_figure, save_figure

__all__ = ["plot_colocalisation", "plot_depth_profile", "plot_spectrum"]

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


def _label_peaks(ax, rows, max_labels: int) -> None:
    """Label the strongest peaks with their ion (or m/z when unassigned)."""
    strongest = sorted(rows, key=lambda r: -(r.get("height") or r["counts"]))[:max_labels]
    for r in strongest:
        text = r["ion"] or f"{r['mass']:.3f}"
        ax.annotate(
            text,
            (r["mass"], r.get("height") or r["counts"]),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=6.5,
            rotation=90,
            color=PALETTE[0] if r["ion"] else "0.35",
        )


def _peak_rows(spec, peaks) -> list[dict]:
    """Rows with mass, counts, height (spectrum value at the peak) and ion label."""
    if peaks is None:
        return []
    rows = getattr(peaks, "peaks", peaks)
    mass = np.asarray(spec["mass"].values, dtype=float)
    y = np.asarray(spec.values, dtype=float)
    out = []
    for r in rows:
        r = r if isinstance(r, dict) else {"mass": r.mass, "counts": r.area, "ion": None}
        k = int(np.clip(np.searchsorted(mass, r["mass"]), 0, y.size - 1))
        out.append({**r, "height": float(y[max(k - 2, 0) : k + 3].max())})
    return out


def plot_spectrum(
    spec,
    *,
    peaks=None,
    zoom=(),
    log: bool = True,
    max_labels: int = 40,
    path: str | Path | None = None,
    force: bool = False,
    title: str | None = None,
):
    """Mass spectrum (counts vs m/z) with labelled peaks, log scale and zoom windows.

    Parameters
    ----------
    spec : xarray.DataArray
        From :func:`charsuite.sims.spectrum`.
    peaks : PeakAssignment or list of Peak, optional
        Labels the strongest ``max_labels`` peaks (ion names, or m/z when unassigned).
    zoom : sequence of (lo, hi)
        m/z windows (Th) drawn in a second row, linear scale.
    log : bool
        Logarithmic intensity axis for the full spectrum.
    path : str or Path, optional
        Save (PNG/SVG/PDF) when given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    zoom = list(zoom or ())
    n_zoom = len(zoom)
    fig, axes = new_figure(
        2 if n_zoom else 1,
        max(n_zoom, 1),
        figsize=(max(8.0, 2.6 * n_zoom), 6.4 if n_zoom else 4.0),
        squeeze=False,
    )
    top = axes[0, 0]
    if n_zoom:
        gs = axes[0, 0].get_gridspec()
        for ax in axes[0, :]:
            ax.remove()
        top = fig.add_subplot(gs[0, :])
    mass = np.asarray(spec["mass"].values, dtype=float)
    y = np.asarray(spec.values, dtype=float)
    ok = np.isfinite(mass) & (mass > 0)
    top.plot(mass[ok], np.where(y[ok] > 0, y[ok], np.nan) if log else y[ok], lw=0.6,
             color=PALETTE[7])  # fmt: skip
    if log:
        top.set_yscale("log")
    rows = _peak_rows(spec, peaks)
    _label_peaks(top, rows, max_labels)
    top.set_xlabel("m/z (Th)")
    top.set_ylabel(f"intensity ({spec.attrs.get('units', 'counts')} per sample)")
    top.set_title(title or f"{spec.attrs.get('source', '')} — {spec.attrs.get('region', '')}",
                  fontsize=9)  # fmt: skip
    for k, (lo, hi) in enumerate(zoom):
        ax = axes[1, k]
        sel = ok & (mass >= lo) & (mass <= hi)
        ax.plot(mass[sel], y[sel], lw=0.8, color=PALETTE[7])
        _label_peaks(ax, [r for r in rows if lo <= r["mass"] <= hi], max_labels)
        ax.set_xlim(lo, hi)
        ax.set_xlabel("m/z (Th)")
        ax.margins(y=0.25)
    if path is not None:
        save_figure(fig, path, force=force)
    return fig
