"""What a step returns: numbers (value, uncertainty, unit), tables, figures and notes."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any


def _plain(value: Any) -> tuple[Any, float | None]:
    """Split an ``uncertainties`` number into (nominal, std); plain numbers give (x, None)."""
    if hasattr(value, "nominal_value"):
        return float(value.nominal_value), float(value.std_dev)
    if isinstance(value, bool | int | str) or value is None:
        return value, None
    if hasattr(value, "dtype") and value.dtype.kind in "iub":  # numpy integer / bool
        return value.item(), None
    try:
        return float(value), None
    except (TypeError, ValueError):
        return str(value), None


@dataclasses.dataclass
class StepOutput:
    """Collects a step's results; :meth:`to_dict` is what the cache and the page store.

    ``numbers`` rows are ``{"key", "label", "value", "uncertainty", "unit", "table"}``;
    ``uncertainty`` is ``None`` where the method gives none (the page says so).
    """

    out: Path
    numbers: list = dataclasses.field(default_factory=list)
    figures: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    summary: str = ""

    def number(
        self,
        key: str,
        label: str,
        value: Any,
        unit: str = "",
        *,
        uncertainty: float | None = None,
        table: str = "Results",
    ) -> None:
        """Add one number (an ``uncertainties`` value carries its own 1σ)."""
        nominal, std = _plain(value)
        if uncertainty is not None:
            std = float(uncertainty)
        if isinstance(nominal, float) and not math.isfinite(nominal):
            nominal = None
        row = {"key": key, "label": label, "value": nominal, "uncertainty": std, "unit": unit}
        self.numbers.append({**row, "table": table})

    def figure(self, fig: Any, name: str, caption: str, inputs: list[str]) -> None:
        """Save ``fig`` as PNG (page) and PDF (print) in the step folder and close it."""
        from charsuite.plotting.report import save_page_figure

        png, pdf = save_page_figure(fig, self.out, name)
        self.figures.append(
            {"png": png.name, "pdf": pdf.name, "caption": caption, "inputs": list(inputs)}
        )

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "summary": self.summary,
            "numbers": self.numbers,
            "figures": self.figures,
            "notes": self.notes,
        }
