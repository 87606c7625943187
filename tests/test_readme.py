"""The README stays true: its two commands, its tour (which runs) and its links."""

import re
import shlex
from pathlib import Path

import click
import pytest

from charsuite.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def text():
    if not README.exists():
        pytest.skip("README.md not next to tests/ (installed-package test run)")
    return README.read_text(encoding="utf-8")


def _blocks(text, language):
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def test_two_setup_commands(text):
    assert "pip install . && charsuite demo --out charsuite-demo" in text
    assert 'pip install ".[test]" && pytest' in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install --quiet . && charsuite demo" in ci
    assert 'pip install --quiet ".[test]" && pytest' in ci


def test_readme_is_short(text):
    assert len(text.encode()) <= 8 * 1024


def test_python_tour_runs(text, tmp_path, monkeypatch, capsys):
    (tour,) = _blocks(text, "python")
    assert len(tour.splitlines()) <= 20
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("tempfile.mkdtemp", lambda *a, **k: str(tmp_path))
    exec(compile(tour, "README tour", "exec"), {})
    out = capsys.readouterr().out.split("\n")
    assert out[0] == "xy deg"
    assert float(out[1]) > 0  # discharge capacity of cycle 2 in mAh/g
    assert (tmp_path / "scan.h5").exists()


def _resolve(words):
    """The click command a README shell line names, and the words after it."""
    command, ctx = cli, click.Context(cli)
    words = list(words)
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        command = command.get_command(ctx, words.pop(0))
        assert command is not None
    return command, words


def test_shell_tour_uses_real_commands_and_options(text):
    lines = [
        ln.split("#")[0].split("|")[0].strip()
        for block in _blocks(text, "bash")
        for ln in block.splitlines()
        if ln.startswith("charsuite ")
    ]
    assert len(lines) >= 5
    for line in lines:
        command, rest = _resolve(shlex.split(line)[1:])
        known = {opt for param in command.params for opt in param.opts}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, (line, word)


def test_every_command_group_named(text):
    for name in COMMANDS:
        assert f"charsuite {name}" in text, name


def test_links_point_to_files(text):
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        assert (ROOT / target).exists(), target
