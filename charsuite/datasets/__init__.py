"""Generators of example instrument files with known ground truth.

One module per technique (``xrd``, ``composition``, ``sims``, ``echem``) plus
:mod:`charsuite.datasets.sample`, the demo sample they all describe. Every generator is
deterministic (explicit ``seed``) and returns its ground truth as a dict next to the
file(s) it wrote.
"""

from charsuite.datasets.sample import DEMO_SAMPLE, DemoSample

__all__ = ["DEMO_SAMPLE", "DemoSample"]
