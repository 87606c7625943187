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


def _is_package(module: str) -> bool:
    return (PKG.parent.joinpath(*module.split(".")) / "__init__.py").exists()


def _private_target(module: str, name: str) -> str | None:
    """The package whose private part ``from module import name`` reaches (None: public)."""
    parts = module.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_"):
            return ".".join(parts[:i])
    if name.startswith("_") and name != "__version__":
        return module if _is_package(module) else ".".join(parts[:-1])
    return None


def _owner(path: Path) -> str:
    """The package a source file belongs to, e.g. ``charsuite.io.formats.echem``."""
    return ".".join(path.relative_to(PKG.parent).parent.parts)


def _private_imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("charsuite"):
            for alias in node.names:
                target = _private_target(node.module, alias.name)
                if target:
                    yield f"{node.module}.{alias.name}", target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("charsuite"):
                    target = _private_target(alias.name, "")
                    if target:
                        yield alias.name, target


# Private modules shared on purpose by the whole package.
SHARED_PRIVATE = {"charsuite"}  # charsuite._version

# Imports that modules being rewritten by other helpers still make (round of issue 15). Each
# needs a public name in the target package's __init__; remove the entry when it has one.
KNOWN: dict[str, set[str]] = {}


def test_no_underscore_imports_across_packages():
    """A module uses ``_private`` names of its own package (or a parent package) only."""
    offenders, used = [], set()
    for _, path in _modules():
        owner, rel = _owner(path), str(path.relative_to(PKG.parent))
        for name, target in _private_imports(path):
            inside = owner == target or owner.startswith(target + ".")
            if inside or target in SHARED_PRIVATE:
                continue
            if target in KNOWN.get(rel, set()):
                used.add((rel, target))
                continue
            offenders.append(f"{rel}: {name} (private to {target})")
    assert not offenders, "\n".join(offenders)
    stale = {(f, t) for f, ts in KNOWN.items() for t in ts} - used
    assert not stale, f"remove from KNOWN (fixed): {stale}"


def test_the_check_sees_private_imports():
    """The AST walk finds both spellings (a private module, a private name)."""
    assert _private_target("charsuite.xrd._peaks", "find_peaks") == "charsuite.xrd"
    assert _private_target("charsuite.io.formats.echem.arbin_csv", "_cumulative") == (
        "charsuite.io.formats.echem"
    )
    assert _private_target("charsuite.xrd", "find_peaks") is None
    assert _private_target("charsuite._version", "__version__") == "charsuite"
