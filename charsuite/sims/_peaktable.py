"""Peak windows in mass units (the TofDAQ ``PeakTable``), with CSV input and output."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from charsuite.exceptions import DataError, ParameterError

__all__ = ["PeakTable"]


@dataclasses.dataclass(frozen=True)
class PeakTable:
    """Peak windows: labels, centre masses, lower and upper integration limits (Th).

    The same object is read from a TofDAQ ``/PeakData/PeakTable`` dataset, built by
    :func:`charsuite.sims.assign_peaks`, and accepted by :func:`charsuite.sims.reintegrate`.

    Examples
    --------
    >>> t = PeakTable.from_spec({"In+": (114.8, 115.0)})
    >>> t.label, float(t.mass[0])
    (('In+',), 114.9)
    """

    label: tuple[str, ...]
    mass: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def from_dataset(cls, dset) -> PeakTable:
        """Read a TofDAQ compound ``PeakTable`` (label, mass, lower/upper integration limit)."""
        from charsuite.io.formats.sims.tofdaq import read_peak_table

        return cls(*read_peak_table(dset))

    @classmethod
    def from_spec(cls, peaks) -> PeakTable:
        """Build from ``[(label, mass, lower, upper), ...]``, ``{label: (lower, upper)}`` or a CSV path."""
        if isinstance(peaks, PeakTable):
            return peaks
        if isinstance(peaks, str | Path):
            return cls.read_csv(peaks)
        if isinstance(peaks, dict):
            rows = [(k, (v[0] + v[1]) / 2, v[0], v[1]) for k, v in peaks.items()]
        else:
            rows = [tuple(r) for r in peaks]
        if not rows:
            raise ParameterError("peak table is empty; give at least one (label, mass, lo, hi)")
        for r in rows:
            if len(r) != 4 or not r[2] < r[3]:
                raise ParameterError(
                    f"peak {r!r}: expected (label, mass, lower, upper) with lower < upper"
                )
        return cls(
            label=tuple(str(r[0]) for r in rows),
            mass=np.array([float(r[1]) for r in rows]),
            lower=np.array([float(r[2]) for r in rows]),
            upper=np.array([float(r[3]) for r in rows]),
        )

    def to_csv_text(self) -> str:
        """CSV with header ``label,mass_Th,lower_Th,upper_Th``."""
        lines = ["label,mass_Th,lower_Th,upper_Th"]
        for lab, m, lo, hi in zip(self.label, self.mass, self.lower, self.upper):
            safe = '"' + lab.replace('"', '""') + '"' if "," in lab or '"' in lab else lab
            lines.append(f"{safe},{m:.6f},{lo:.6f},{hi:.6f}")
        return "\n".join(lines) + "\n"

    def write_csv(self, path: str | Path, *, force: bool = False) -> Path:
        """Write :meth:`to_csv_text` (refuses to overwrite unless ``force``)."""
        from charsuite.io import write_text

        return write_text(Path(path), self.to_csv_text(), force=force)

    @classmethod
    def read_csv(cls, path: str | Path) -> PeakTable:
        """Read a peak table CSV (``label,mass_Th,lower_Th,upper_Th``; header required)."""
        import csv

        path = Path(path)
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh))
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"{path}: cannot read the peak table ({err})") from err
        if not rows or [c.strip() for c in rows[0][:4]] != [
            "label",
            "mass_Th",
            "lower_Th",
            "upper_Th",
        ]:
            raise DataError(
                f"{path}: first line is {rows[0] if rows else 'empty'}; expected the header "
                "label,mass_Th,lower_Th,upper_Th (as written by `charsuite sims peaks`)"
            )
        try:
            spec = [(r[0], float(r[1]), float(r[2]), float(r[3])) for r in rows[1:] if r]
        except (ValueError, IndexError) as err:
            raise DataError(f"{path}: bad peak row ({err}); expected label and 3 numbers") from err
        try:
            return cls.from_spec(spec)
        except ParameterError as err:
            raise DataError(f"{path}: {err}") from err
