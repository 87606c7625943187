"""Demo files: a drifting FIB-ToF-SIMS cube of the stack with one Mn-rich inclusion."""

from __future__ import annotations

from pathlib import Path

from charsuite.datasets import DemoSample

#: Ga+ FIB sputter rates used for the generated cube (nm/scan), per layer.
RATES = {"Li": 50.0, "LiPON": 25.0, "NMC811": 15.0, "ITO": 9.0, "steel": 10.0}
MARKERS = {"Li": "Li", "LiPON": "PO2", "NMC811": "Ni", "ITO": "In", "steel": "Fe"}


def generate(data: Path, sample: DemoSample, *, force: bool = False) -> tuple[dict, dict]:
    """Write the cube; return the TOML tables and the ground truth."""
    import numpy as np

    from charsuite.datasets.tomogram import tomogram

    stack = [
        (n, t if i < len(sample.stack) - 1 else None, RATES[n])
        for i, (n, t) in enumerate(sample.stack)
    ]
    path, truth = tomogram(
        layers=stack, shape_yx=(40, 40), seed=sample.seed, path=data / "sims_cube.h5", force=force
    )
    layers = ",".join(f"{n}:{'' if t is None else t}:{MARKERS[n]}" for n, t, _ in stack)
    tables = {
        "tomogram": {
            "file": path.relative_to(data).as_posix(),
            "layers": layers,
            "species": ["Li", "PO2", "Ni", "Mn", "In", "Fe"],
            "register": True,
            "regions": "Mn",
            "regions_in": "NMC811",
        }
    }
    known = {
        "drift_max_px": float(np.abs(np.asarray(truth["drift_px"])).max()),
        "region_volume_nm3": truth["inclusion"]["volume_nm3"],
        "regions": 1,
    }
    return tables, {"tomogram": known}
