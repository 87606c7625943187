import json
import subprocess
import sys

import numpy as np
import pytest

from charsuite.cli import COMMANDS, main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert "charsuite" in capsys.readouterr().out


def test_help_lists_all_groups(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for group in ("info", "xrd", "composition", "sims", "echem", "demo"):
        assert group in out


def test_help_is_lazy():
    """``charsuite --help`` imports no heavy library (its speed is measured in benchmarks, io)."""
    code = (
        "import sys; from charsuite.cli import main; "
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
        "print(sorted(m for m in ('xarray','matplotlib','pymatgen','dask','pint') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", "charsuite --help imported a heavy library: " + out.stdout


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "random"])
def test_info_bad_inputs_one_line_exit_2(tmp_path, capsys, kind):
    path = tmp_path / "f.dat"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("charsuite: error:")
    assert "Traceback" not in err


def test_debug_shows_traceback(tmp_path):
    from charsuite.exceptions import ReaderError

    with pytest.raises(ReaderError):
        main(["--debug", "info", str(tmp_path / "missing.xy")])


def test_info_json_stdout(tmp_path, capsys):
    path = tmp_path / "a.xy"
    path.write_text("\n".join(f"{10 + i * 0.1:.2f} {i}" for i in range(30)))
    assert main(["info", str(path), "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "xy" and data["dims"] == {"two_theta": 30}


def test_json_file_not_overwritten_without_force(tmp_path, capsys):
    path = tmp_path / "a.xy"
    path.write_text("\n".join(f"{10 + i * 0.1:.2f} {i}" for i in range(30)))
    out = tmp_path / "info.json"
    assert main(["info", str(path), "--json", str(out)]) == 0
    assert main(["info", str(path), "--json", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["info", str(path), "--json", str(out), "--force"]) == 0


def test_formats_command(capsys):
    assert main(["formats", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "xy" in data and data["xy"]["technique"] == "xrd"


def test_every_registered_group_imports():
    import importlib

    for module, _ in COMMANDS.values():
        assert hasattr(importlib.import_module(module), "cli")


def test_info_on_every_real_xrd_file(shared_data, capsys):
    """Every real XRD file is identified, or refused in one line with exit 2."""
    root = shared_data("xrd")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "PROVENANCE.md")
    assert files
    for path in files:
        code = main(["info", str(path)])
        captured = capsys.readouterr()
        assert code in (0, 2), path
        if code == 2:
            assert captured.err.count("\n") == 1, (path, captured.err)
            assert "Traceback" not in captured.err
