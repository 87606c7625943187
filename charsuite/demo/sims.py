"""Demo files: a fibTOF-layout TofDAQ depth profile of the sample stack."""

from __future__ import annotations

from pathlib import Path

from charsuite.datasets import DemoSample


def generate(data: Path, sample: DemoSample, *, force: bool = False) -> tuple[dict, dict]:
    """Write the TofDAQ file; return the TOML tables and the ground truth."""
    from charsuite.datasets.sims import (
        BATTERY_STACK,
        StackLayer,
        battery_layer_spec,
        make_tofdaq_stack,
    )

    thick = dict(sample.stack)
    stack = tuple(
        StackLayer(
            lay.name,
            thick.get(lay.name, lay.thickness_nm) if lay.name != "substrate" else float("inf"),
            lay.relative_rate,
            lay.levels,
        )
        for lay in BATTERY_STACK
    )
    path, truth = make_tofdaq_stack(
        data / "fibtof_stack.h5", n_scans=400, shape=(32, 32), stack=stack,
        seed=sample.seed, force=force,
    )  # fmt: skip
    tables = {
        "sims": {
            "file": path.relative_to(data).as_posix(),
            "layers": battery_layer_spec(truth),
            "species": ["NiO-", "MnO-", "CoO-"],
            "layer": "NMC811",
        }
    }
    known = {}
    last = len(truth["interfaces"]) - 1
    for k, itf in enumerate(truth["interfaces"]):
        key = "/".join(itf["between"])
        known[f"interface_scan:{key}"] = itf["scan"]
        if 0 < k < last:  # widths in nm need the rates of both neighbours (interior only)
            known[f"interface_width:{key}"] = itf["width_nm"]
    known["segregated"] = bool(truth["segregated"])
    return tables, {"sims": known}
