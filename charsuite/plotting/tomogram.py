"""Tomogram figures: orthogonal slices and isosurfaces, one colour per species.

The render reproduces the reference paper's elemental tomogram (Fig. 1b): each species
is drawn in its own colour (:data:`charsuite.plotting.style.PALETTE`), as an additive
RGB composite on three orthogonal slices and as isosurfaces in a 3D view.
"""

from __future__ import annotations

from pathlib import Path


def _rgb(planes, colours):
    """Additive composite of (..., n_species) planes, each scaled to its 99.5th percentile."""
    import numpy as np
    from matplotlib.colors import to_rgb

    out = np.zeros((*planes.shape[:2], 3))
    for j in range(planes.shape[-1]):
        p = np.nan_to_num(planes[..., j].astype(float))
        hi = np.percentile(p, 99.5) or 1.0
        out += np.clip(p / hi, 0, 1)[..., None] * np.asarray(to_rgb(colours[j]))
    return np.clip(out, 0, 1)


def _binned(tomo, max_size):
    """Sum-bin a tomogram so no axis exceeds ``max_size`` voxels (for rendering)."""
    import numpy as np

    factors = {d: max(1, int(np.ceil(tomo.sizes[d] / max_size))) for d in ("depth", "y", "x")}
    if any(f > 1 for f in factors.values()):
        tomo = tomo.coarsen(factors, boundary="trim").mean()
    return tomo


def plot_tomogram(
    tomogram,
    path: str | Path | None = None,
    *,
    species=None,
    max_size: int = 96,
    isosurfaces: bool = True,
    depth: float | None = None,
    force: bool = False,
):
    """Orthogonal slices (RGB, one colour per species) and 3D isosurfaces.

    Parameters
    ----------
    tomogram : xarray.DataArray
        (depth, y, x, species); depth in nm or scans, y/x in µm. May be dask-backed: it
        is binned to at most ``max_size`` voxels per axis before loading.
    path : str or Path, optional
        Save the PNG here (atomically).
    species : list of str, optional
        Species to draw (default: up to the first 8).
    max_size : int
        Voxels per axis after binning.
    isosurfaces : bool
        Add the 3D isosurface panel (marching cubes at the 50 % level of each species).
    depth : float, optional
        Depth (in the tomogram's depth units) of the lateral slice. Default: the slice with
        the most lateral structure, i.e. the largest sum over species of the index of
        dispersion var/mean over pixels, each divided by that species' median over depth.
    force : bool

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    from charsuite.plotting.style import PALETTE, new_figure, save_figure

    names = [str(s) for s in tomogram["species"].values]
    species = list(species) if species is not None else names[: len(PALETTE)]
    tomo = _binned(tomogram.sel(species=species), max_size)
    vol = np.asarray(tomo.values, float)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(species))]
    zu = tomo["depth"].attrs.get("units", "")
    yu = tomo["y"].attrs.get("units", "µm")
    z, y, x = (np.asarray(tomo[d].values, float) for d in ("depth", "y", "x"))
    ncols = 4 if isosurfaces else 3
    fig, _ = new_figure(1, ncols, figsize=(3.4 * ncols, 3.6))
    fig.clear()
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(3)]
    iy, ix = len(y) // 2, len(x) // 2
    if depth is not None:
        iz = int(np.argmin(np.abs(z - depth)))
    else:
        mean = vol.mean(axis=(1, 2))
        dispersion = np.where(mean > 0, vol.var(axis=(1, 2)) / np.maximum(mean, 1e-12), 0.0)
        # relative to each species' typical (median over depth) dispersion: binning and
        # resampling change the Poisson baseline, and a laterally non-uniform but featureless
        # layer should not win over a localised inclusion
        typical = np.median(dispersion, axis=0)
        excess = dispersion / np.where(typical > 0, typical, 1.0)
        iz = int(np.argmax(excess.sum(axis=1)))
    extent_xy = (x[0], x[-1], y[-1], y[0])
    axes[0].imshow(_rgb(vol[iz], colours), extent=extent_xy, aspect="auto")
    axes[0].set(xlabel=f"x ({yu})", ylabel=f"y ({yu})", title=f"depth = {z[iz]:.0f} {zu}")
    axes[1].imshow(_rgb(vol[:, iy], colours), extent=(x[0], x[-1], z[-1], z[0]), aspect="auto")
    axes[1].set(xlabel=f"x ({yu})", ylabel=f"depth ({zu})", title=f"y = {y[iy]:.2f} {yu}")
    axes[2].imshow(_rgb(vol[:, :, ix], colours), extent=(y[0], y[-1], z[-1], z[0]), aspect="auto")
    axes[2].set(xlabel=f"y ({yu})", ylabel=f"depth ({zu})", title=f"x = {x[ix]:.2f} {yu}")
    handles = [
        __import__("matplotlib.patches", fromlist=["Patch"]).Patch(color=c, label=s)
        for s, c in zip(species, colours)
    ]
    axes[2].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    if isosurfaces:
        from mpl_toolkits.mplot3d.art3d import Poly3DCollection
        from skimage.measure import marching_cubes

        ax3 = fig.add_subplot(1, ncols, 4, projection="3d")
        dz = float(np.median(np.diff(z))) if len(z) > 1 else 1.0
        dy = float(np.median(np.diff(y))) if len(y) > 1 else 1.0
        dx = float(np.median(np.diff(x))) if len(x) > 1 else 1.0
        from scipy import ndimage

        for j, s in enumerate(species):
            v = ndimage.gaussian_filter(vol[..., j], 1.0)
            bg, hi = np.median(v), np.percentile(v, 99.5)
            level = bg + 0.5 * (hi - bg)
            if not v.min() < level < v.max():
                continue
            verts, faces, _, _ = marching_cubes(v, level=level, spacing=(dz, dy, dx), step_size=2)
            tri = verts[faces][:, :, ::-1]  # (x, y, z)
            ax3.add_collection3d(
                Poly3DCollection(tri, facecolor=colours[j], alpha=0.35, linewidth=0, label=s)
            )
        ax3.set_xlim(0, len(x) * dx)
        ax3.set_ylim(0, len(y) * dy)
        ax3.set_zlim(len(z) * dz, 0)
        ax3.set_xlabel(f"x ({yu})")
        ax3.set_ylabel(f"y ({yu})")
        ax3.set_zlabel(f"depth ({zu})", labelpad=8)
        ax3.set_box_aspect(None, zoom=0.8)  # keeps the axis labels inside the panel
        ax3.locator_params(axis="x", nbins=3)
        ax3.locator_params(axis="y", nbins=3)
        ax3.set_title("isosurfaces (50 % level)")
    if path is not None:
        save_figure(fig, path, force=force)
    return fig


def plot_mva(result, path: str | Path | None = None, *, depth_index=None, force: bool = False):
    """Loadings (spectra over species) and score images of an MVA result."""
    import numpy as np

    from charsuite.plotting.style import PALETTE, new_figure, save_figure

    k = result.n_components
    fig, axes = new_figure(2, k, figsize=(3.0 * k, 5.6), squeeze=False)
    scores = result.scores
    iz = scores.sizes["depth"] // 2 if depth_index is None else depth_index
    img = np.asarray(scores.isel(depth=iz).values)
    yu = scores["y"].attrs.get("units", "µm")
    for c in range(k):
        ax = axes[0, c]
        ax.bar(range(len(result.species)), result.loadings[c], color=PALETTE[c % len(PALETTE)])
        ax.set_xticks(range(len(result.species)), result.species, rotation=90, fontsize=7)
        ax.set_ylabel("loading (dimensionless)")
        ax.set_title(f"{result.method.upper()} {c + 1}")
        y, x = scores["y"].values, scores["x"].values
        axes[1, c].imshow(img[..., c], extent=(x[0], x[-1], y[-1], y[0]), cmap="viridis")
        axes[1, c].set(xlabel=f"x ({yu})", ylabel=f"y ({yu})")
    if path is not None:
        save_figure(fig, path, force=force)
    return fig
