"""Wrong-silent tables and parameters: refused instead of summarised.

SurfaceLab TXT rows must be in acquisition order with the header's width (a shuffled,
reversed or duplicated export, or one extra value, once shifted 104 of 106 species onto
their neighbours); NaN/inf options are refused by the CLI; an all-zero formula has no
capacity.
"""

from __future__ import annotations

import numpy as np
import pytest

from charsuite.cli import main
from charsuite.datasets.sims import make_surfacelab_txt
from charsuite.exceptions import DataError, ParameterError, ReaderError
from charsuite.io import read


def _rows(path):
    lines = path.read_text().splitlines()
    h = next(i for i, line in enumerate(lines) if line.startswith("#Data Point #"))
    return lines[: h + 1], lines[h + 1 :]


def _mutate(path, how):
    head, rows = _rows(path)
    rows = [r for r in rows if r.strip()]
    if how == "reversed":
        rows = rows[::-1]
    elif how == "shuffled":
        rng = np.random.default_rng(4)
        rows = [rows[i] for i in rng.permutation(len(rows))]
    elif how == "duplicated":
        rows = rows[:5] + rows[4:]
    elif how == "extra-value":
        parts = rows[3].split("\t")
        rows[3] = "\t".join([*parts[:6], "17", *parts[6:]])
    elif how == "missing-value":
        parts = rows[3].rstrip("\t").split("\t")
        rows[3] = "\t".join(parts[:6] + parts[7:])
    path.write_text("\n".join(head + rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("reversed", "order"),
        ("shuffled", "order"),
        ("duplicated", "order"),
        ("extra-value", "columns"),
        ("missing-value", "columns"),
    ],
)
def test_surfacelab_mutations_refused(tmp_path, how, words, capsys):
    path, _ = make_surfacelab_txt(tmp_path / "p.txt")
    read(path)  # the intact file reads
    _mutate(path, how)
    with pytest.raises(ReaderError, match=words):
        read(path)
    assert main(["sims", "profile", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("charsuite: error:")


def test_surfacelab_real_exports_still_read(shared_data):
    folder = shared_data("sims") / "X-LAB-UHasselt+ToFSIMS-depth-profiling-of-PSCs"
    files = sorted(folder.rglob("*NF.txt"))
    assert files, f"no SurfaceLab *NF.txt exports under {folder}"
    for path in files[:4]:
        da = read(path)
        assert np.all(np.diff(da.sputter_time.values) > 0)


@pytest.mark.parametrize(
    "argv",
    [
        ["composition", "capacity", "LiNiO2", "--electrons", "nan"],
        ["composition", "capacity", "LiNiO2", "--electrons", "inf"],
        ["composition", "capacity", "LiNiO2", "--electrons", "-inf"],
        ["composition", "capacity", "LiNiOx", "--oxygen", "nan"],
        ["composition", "capacity", "LiNiOx", "--oxygen", "2:inf"],
        ["composition", "capacity", "Li0Ni0O0"],
        ["sims", "correlate", "missing.h5", "--alpha", "nan"],
    ],
)
def test_non_finite_parameters_refused(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("charsuite: error:"), err


def test_every_float_option_refuses_nan():
    """Walk every command: each float-typed option is wrapped to refuse NaN/inf."""
    import click

    from charsuite.cli import COMMANDS, FiniteFloat, cli

    ctx = click.Context(cli)
    seen = 0

    def walk(cmd):
        nonlocal seen
        for p in cmd.params:
            types = p.type.types if isinstance(p.type, click.Tuple) else [p.type]
            for t in types:
                assert not isinstance(t, click.types.FloatParamType), (cmd.name, p.name)
                seen += isinstance(t, FiniteFloat)
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    for name in COMMANDS:
        walk(cli.get_command(ctx, name))
    assert seen >= 3


def test_zero_formula_capacity_refused():
    from charsuite.composition import theoretical_capacity

    with pytest.raises(DataError, match="positive mass"):
        theoretical_capacity("Li0Ni0O0")
    with pytest.raises(ParameterError, match="finite"):
        theoretical_capacity("LiNiO2", electrons=float("nan"))
