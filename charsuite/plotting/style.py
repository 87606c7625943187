"""House style and atomic figure saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Colours per species/phase used across figures (colour-blind safe, Okabe–Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.grid": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "figure.constrained_layout.use": True,
}


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (6.4, 4.0), **kw):
    """Return ``(fig, axes)`` in house style with the non-interactive Agg backend.

    Uses :class:`matplotlib.figure.Figure` directly (no pyplot state), so figures are
    garbage-collected and safe in threads.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    figsize : (float, float)
        Inches.
    **kw
        Passed to ``Figure.subplots``.

    Returns
    -------
    (Figure, Axes or ndarray of Axes)

    Examples
    --------
    >>> fig, ax = new_figure()
    >>> type(fig).__name__
    'Figure'
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(_RC):
        fig = Figure(figsize=figsize)
        axes = fig.subplots(nrows, ncols, **kw)
    return fig, axes


def save_figure(fig: Any, path: str | Path, *, force: bool = False) -> Path:
    """Save ``fig`` atomically (temporary file + rename) and return the path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or Path
        Output file; the format follows the extension (``.png``, ``.pdf``, ``.svg``).
    force : bool
        Replace an existing file.

    Returns
    -------
    Path
        The file written.
    """
    import matplotlib as mpl

    from charsuite.io import atomic_path

    path = Path(path)
    with mpl.rc_context(_RC), atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    return path
