import runpy
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "notebooks" / "sims_depth_profile.py"


def test_depth_profile_script_runs(tmp_path, capsys, recwarn):
    module = runpy.run_path(str(SCRIPT))
    module["main"]([])
    out = capsys.readouterr().out
    assert "LiPON/NMC811" in out and "wrote" in out
    png = Path(out.strip().splitlines()[-1].split("wrote ")[1])
    assert png.stat().st_size > 10_000
