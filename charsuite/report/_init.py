"""``charsuite report --init FOLDER``: a starting sample TOML from the files in a folder.

Each regular file is sniffed with :func:`charsuite.io.info` (format and technique, the
registry's order: explicit > sniff > extension); files the registry cannot read are listed
as comments. Options are written as commented defaults from :data:`SCHEMA`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from charsuite.model import Result


@dataclasses.dataclass(frozen=True)
class Detected(Result):
    """What ``--init`` found: file -> (format, technique, TOML table), and unread files."""

    files: dict
    unread: dict


#: technique reported by the registry -> TOML table it goes to
_TABLE = {"xrd": "xrd", "iba": "composition", "sims": "sims", "echem": "echem"}


def detect(folder: str | Path, *, max_files: int = 500) -> Detected:
    """Sniff every file below ``folder`` (symlinks followed, hidden files skipped)."""
    from charsuite.exceptions import CharsuiteError
    from charsuite.io import info

    files, unread = {}, {}
    paths = sorted(p for p in Path(folder).rglob("*") if p.is_file() and not _hidden(p, folder))
    for path in paths[:max_files]:
        rel = path.relative_to(folder).as_posix()
        try:
            fi = info(path)
        except CharsuiteError as err:
            unread[rel] = err.one_line()
            continue
        files[rel] = {"format": fi.format, "technique": fi.technique, "kind": _kind(fi)}
    return Detected(files=files, unread=unread)


def _hidden(path: Path, root: str | Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _kind(fi) -> str:
    """Echem files: impedance (has a frequency axis) or cycling."""
    if fi.technique != "echem":
        return fi.technique
    names = {n.lower() for n in [*fi.variables, *fi.coords, *fi.dims]}
    return "eis" if any("freq" in n for n in names) else "cycling"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_text(folder: str | Path) -> str:
    """Return the starting TOML for ``folder`` (paths relative to it).

    Examples
    --------
    >>> print(init_text("exports"))  # doctest: +SKIP
    """
    from charsuite.report._spec import SCHEMA

    det = detect(folder)
    by: dict[str, list[str]] = {}
    for rel, row in det.files.items():
        by.setdefault(row["kind"], []).append(rel)
    lines = [
        f"# Sample TOML written by `charsuite report --init {Path(folder).name}`.",
        "# Paths are relative to this file's folder. Quantities are strings with units",
        '# ("600 nm", "4.8 g/cm^3"); a bare number is in the unit given in the comment.',
        "",
        "[sample]",
        f"name = {_q(Path(folder).resolve().name)}",
    ]
    lines += _commented(SCHEMA["sample"], skip={"name"})
    lines += _xrd(by.get("xrd", []), SCHEMA)
    lines += _composition(by.get("iba", []), SCHEMA)
    for i, rel in enumerate(by.get("sims", [])):
        lines += [
            "",
            "[sims]" if i == 0 else "# [sims] (another file)",
            f"{'' if i == 0 else '# '}file = {_q(rel)}",
        ]
        lines += _commented(SCHEMA["sims"], skip={"file"}) if i == 0 else []
    lines += _echem(by.get("cycling", []), by.get("eis", []), SCHEMA)
    for rel, reason in det.unread.items():
        lines.append(f"# not recognised: {rel} ({reason})")
    for rel, row in det.files.items():
        lines.append(f"# detected: {rel}: {row['format']} ({row['technique']})")
    return "\n".join(lines) + "\n"


def _commented(schema: dict, *, skip: set) -> list[str]:
    out = []
    for key, (kind, _, help_) in schema.items():
        if key in skip:
            continue
        unit = f" [{kind[4:].replace('**', '^')}]" if kind.startswith("qty:") else ""
        out.append(f"# {key} = ...  # {help_}{unit}")
    return out


def _xrd(files: list[str], schema: dict) -> list[str]:
    if not files:
        return []
    lines = ["", "[xrd]", f"film = {_q(files[0])}"]
    if len(files) > 1:
        lines.append(f"substrate = {_q(files[1])}  # check: the substrate-alone scan")
    lines += [f"# other XRD file: {_q(f)}" for f in files[2:]]
    return lines + _commented(schema["xrd"], skip={"film", "substrate"})


def _composition(files: list[str], schema: dict) -> list[str]:
    if not files:
        return []
    lines = ["", "[composition]", "# label each file with its technique (RBS, ERDA, PIXE, ...)"]
    entries = ", ".join(f"{_label(f, i)} = {_q(f)}" for i, f in enumerate(files))
    lines.append(f"files = {{{entries}}}")
    return lines + _commented(schema["composition"], skip={"files"})


def _label(rel: str, index: int) -> str:
    name = Path(rel).name
    for tech in ("ERDA", "RBS", "PIXE", "NRA"):
        if tech.lower() in rel.lower():
            return f"{tech}{index}" if index else tech
    return _q(name)


def _echem(cycling: list[str], eis: list[str], schema: dict) -> list[str]:
    if not cycling and not eis:
        return []
    lines = ["", "[echem]", *_commented(schema["echem"], skip=set())]
    for rel in cycling:
        lines += ["", "[[echem.cycling]]", f"file = {_q(rel)}", f"label = {_q(Path(rel).stem)}"]
    for rel in eis:
        lines += ["", "[[echem.eis]]", f"file = {_q(rel)}", f"label = {_q(Path(rel).stem)}"]
    if cycling:
        lines += ["", "# [echem.dqdv]", f"# file = {_q(cycling[0])}", "# [echem.cycle_life]",
                  f"# file = {_q(cycling[0])}"]  # fmt: skip
    return lines


def write_init(folder: str | Path, path: str | Path | None = None, *, force: bool = False) -> Path:
    """Write the starting TOML (default ``FOLDER/sample.toml``) and return its path."""
    from charsuite.io import write_text

    path = Path(path) if path is not None else Path(folder) / "sample.toml"
    return write_text(path, init_text(folder), force=force)
