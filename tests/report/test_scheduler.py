"""The ToF-SIMS steps run on a dask.distributed scheduler given by address (--scheduler)."""

from __future__ import annotations

import json

import pytest

from charsuite.cli import main
from charsuite.datasets.tomogram import tomogram

LAYERS = "Li:160:Li,LiPON:60:PO2,NMC811:120:Ni,ITO:45:In,steel::Fe"


def test_tomogram_step_on_a_scheduler_equals_local(tmp_path):
    distributed = pytest.importorskip("distributed")
    tomogram(path=tmp_path / "cube.h5", n_scans=150, shape_yx=(40, 40), chunk_scans=16)
    (tmp_path / "s.toml").write_text(
        f'[sample]\nname = "cube"\n[tomogram]\nfile = "cube.h5"\nlayers = "{LAYERS}"\n'
        'species = ["Li", "Ni", "Mn"]\n'
    )
    assert main(["--quiet", "report", str(tmp_path / "s.toml"), "--out", str(tmp_path / "a"),
                 "--jobs", "1"]) == 0  # fmt: skip
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cl:
        args = ["--quiet", "report", str(tmp_path / "s.toml"), "--out", str(tmp_path / "b")]
        assert main([*args, "--jobs", "1", "--scheduler", cl.scheduler_address]) == 0
    a, b = (json.loads((tmp_path / d / "summary.json").read_text()) for d in "ab")
    assert a["steps"]["tomogram"]["numbers"] == b["steps"]["tomogram"]["numbers"]
    assert b["steps"]["tomogram"]["status"] == "ok"
