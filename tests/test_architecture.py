"""Who may import whom (../shared/notes/design.md), checked on the source."""

import ast
from pathlib import Path

import charsuite

PKG = Path(charsuite.__file__).parent
BASE = {"charsuite", "charsuite._version", "charsuite.exceptions"}
ALLOWED = {
    "model": {"model"},
    "io": {"model", "io"},
    "xrd": {"model", "io", "xrd"},
    "composition": {"model", "io", "composition"},
    "sims": {"model", "io", "sims"},
    "echem": {"model", "io", "echem", "composition"},
    "testing": {"model", "io", "testing"},
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def _modules():
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        yield (rel.parts[0] if len(rel.parts) > 1 else rel.stem), path


def test_only_plotting_imports_matplotlib():
    offenders = [
        str(p.relative_to(PKG))
        for sub, p in _modules()
        if sub != "plotting" and any(m.split(".")[0] == "matplotlib" for m in _imports(p))
    ]
    assert not offenders, offenders


def test_layering():
    offenders = []
    for sub, path in _modules():
        if sub not in ALLOWED:
            continue
        for mod in _imports(path):
            if not mod.startswith("charsuite") or mod in BASE:
                continue
            target = mod.split(".")[1]
            if target not in ALLOWED[sub]:
                offenders.append(f"{path.relative_to(PKG)} imports {mod}")
    assert not offenders, offenders


def test_nothing_imports_cli():
    offenders = [
        str(p.relative_to(PKG))
        for sub, p in _modules()
        if sub not in ("cli", "__main__")
        and any(m.startswith("charsuite.cli") for m in _imports(p))
    ]
    assert not offenders, offenders
