"""Figures and the HTML report. The only part of charsuite that imports matplotlib.

One module per technique (``xrd``, ``composition``, ``sims``, ``echem``) plus
:mod:`charsuite.plotting.report` (``index.html``) and :mod:`charsuite.plotting.style`.
"""

from charsuite.plotting.style import new_figure, save_figure

__all__ = ["new_figure", "save_figure"]
