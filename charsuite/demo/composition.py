"""Demo files: RBS + ToF-ERDA (Potku layout) + PIXE results of the film."""

from __future__ import annotations

from pathlib import Path

from charsuite.datasets import DemoSample


def generate(data: Path, sample: DemoSample, *, force: bool = False) -> tuple[dict, dict]:
    """Write the film's IBA result files; return the TOML tables and the ground truth."""
    from charsuite.composition import parse_formula
    from charsuite.datasets.composition import film_results

    gen = film_results(data / "composition", sample=sample, write_settings=False)
    files, truth = gen["files"], gen["truth"]
    tables = {
        "composition": {
            "files": {k: Path(p).relative_to(data).as_posix() for k, p in files.items()},
            "rules": list(gen["rules"]),
            "basis": "Ni+Mn+Co=1",
            "oxygen": "unknown",
            # layered LiTMO2 ... charge balance with Ni3+ (see notes/iba.md)
            "oxygen_range": [2.0, 2.515],
            "depth_range": list(truth["erda_window_1e15_at_cm2"]),
            "relabel": {k: dict(v) for k, v in gen["relabel"].items()},
        }
    }
    formula, _ = parse_formula(truth["formula"].replace("Ox", ""))
    known = {f"amount:{el}": float(n) for el, n in formula.items()}
    known["film_mass_ug"] = sample.film_mass_g * 1e6
    return tables, {"composition": known}
