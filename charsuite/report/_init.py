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


def detect(folder: str | Path, *, max_files: int = 500) -> Detected:
    """Sniff every file below ``folder`` (symlinks followed, hidden files skipped).

    Parameters
    ----------
    folder : str or Path
        Folder searched recursively.
    max_files : int
        Examine at most this many files (the first in sorted path order).

    Returns
    -------
    Detected
        ``files``: relative path → format, technique, kind and reader warnings;
        ``unread``: relative path → why no reader accepted it.
    """
    import warnings

    from charsuite.exceptions import CharsuiteError
    from charsuite.io import info

    files, unread = {}, {}
    paths = sorted(p for p in Path(folder).rglob("*") if p.is_file() and not _hidden(p, folder))
    for path in paths[:max_files]:
        rel = path.relative_to(folder).as_posix()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")  # reader notes (truncated file ...) are kept
                fi = info(path)
        except CharsuiteError as err:
            unread[rel] = err.one_line()
            continue
        notes = [" ".join(str(w.message).split()) for w in caught]
        files[rel] = {"format": fi.format, "technique": fi.technique, "kind": _kind(fi),
                      "warnings": notes}  # fmt: skip
    return Detected(files=files, unread=unread)


def _hidden(path: Path, root: str | Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _kind(fi) -> str:
    """The registry's technique (xrd, composition, sims, echem).

    Echem is split into impedance (a frequency axis) and cycling.
    """
    if fi.technique != "echem":
        return fi.technique
    names = {n.lower() for n in [*fi.variables, *fi.coords, *fi.dims]}
    if any("freq" in n for n in names):
        return "eis"
    return "cycling" if "voltage" in names else "echem-metadata"  # e.g. settings files


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_text(folder: str | Path, *, base: str | Path | None = None) -> str:
    """Return the starting TOML for ``folder``.

    Parameters
    ----------
    folder : str or Path
        Folder of instrument exports (searched recursively).
    base : str or Path, optional
        Folder the TOML will live in; paths are written relative to it (default ``folder``).

    Returns
    -------
    str
        The TOML text, with the detected files listed in comments.

    Examples
    --------
    >>> print(init_text("exports"))  # doctest: +SKIP
    """
    import os

    det = detect(folder)
    if base is not None:  # re-anchor the paths on the TOML's folder
        moved = {
            Path(os.path.relpath(Path(folder, rel).resolve(), Path(base).resolve())).as_posix(): row
            for rel, row in det.files.items()
        }
        det = Detected(files=moved, unread=det.unread)
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
    lines += _commented("sample", skip={"name"})
    lines += _xrd(by.get("xrd", []))
    # a Potku set: every depth.* file reads the whole set; prefer depth.total
    comp = sorted(by.get("composition", []), key=lambda r: not r.endswith("depth.total"))
    comp = [(rel, det.files[rel]["format"]) for rel in comp]
    lines += _composition(comp)
    lines += _sims(by.get("sims", []))
    lines += _echem(by.get("cycling", []), by.get("eis", []))
    for rel, reason in det.unread.items():
        lines.append(f"# not recognised: {rel} ({reason})")
    for rel, row in det.files.items():
        lines.append(f"# detected: {rel}: {row['format']} ({row['technique']}, {row['kind']})")
    return "\n".join(lines) + "\n"


#: default or example value per key, as TOML (written commented out)
EXAMPLES = {
    "stack": '["NMC811:600 nm", "ITO:180 nm", "glass"]',
    "film_thickness": '"600 nm"',
    "density": '"4.8 g/cm^3"',
    "area": '"1 cm^2"',
    "target": '"LiNi0.8Mn0.1Co0.1O2"',
    "incidence_angle": '"1 deg"',
    "instrument_fwhm": '"0.05 deg"',
    "phases": '["NMC811"]',
    "rules": '["Li from ERDA", "Ni,Mn,Co ratios from PIXE", "metal total from RBS"]',
    "basis": '"Ni+Mn+Co=1"',
    "oxygen": '"unknown"',
    "oxygen_range": "[2.0, 2.5]",
    "electrons": "1.0",
    "depth_range": "[200.0, 600.0]",
    "relabel": '{ERDA = {Mn = "Ni+Mn+Co"}}',
    "composition.layers": '{RBS = "film"}',
    "sims.layers": '"Li:300nm,LiPON:500nm,NMC811:600nm,ITO:180nm,substrate"',
    "tomogram.layers": '"Li:300:Li,LiPON:500:PO2,NMC811:600:Ni,ITO:180:In,steel::Fe"',
    "species": '["NiO-", "MnO-", "CoO-"]',
    "layer": '"NMC811"',
    "dead_time": "true",
    "variable": '"counts"',
    "register": "true",
    "mass": '"0.1 mg"',
    "one_c": '"40 uA/cm^2"',
    "circuit": '"R0-p(R1,CPE1)-p(R2,CPE2)"',
    "profile_cycles": "[1, 2, 10]",
}

#: reader format -> composition label
_LABELS = {"potku-depth": "ERDA", "gupix-out": "PIXE", "rump-lcm": "RBS", "idf": "RBS",
           "ndf-res": "RBS", "ndf-prf": "RBS"}  # fmt: skip


def _commented(table: str, *, skip: set) -> list[str]:
    from charsuite.report._spec import SCHEMA

    out = []
    for key, (kind, _, help_) in SCHEMA[table].items():
        if key in skip:
            continue
        bare = kind.startswith("qty:") and "bare number" not in help_
        unit = f"; bare number: {kind[4:].replace('**', '^')}" if bare else ""
        example = EXAMPLES.get(f"{table}.{key}", EXAMPLES.get(key, "..."))
        out.append(f"# {key} = {example}  # {help_}{unit}")
    return out


def _xrd(files: list[str]) -> list[str]:
    if not files:
        return []
    lines = ["", "[xrd]", f"film = {_q(files[0])}"]
    if len(files) > 1:
        lines.append(f"substrate = {_q(files[1])}  # check: the substrate-alone scan")
    lines += [f"# other XRD file: {_q(f)}" for f in files[2:]]
    return lines + _commented("xrd", skip={"film", "substrate"})


def _sims(files: list[str]) -> list[str]:
    if not files:
        return []
    lines = ["", "[sims]", f"file = {_q(files[0])}", *_commented("sims", skip={"file"})]
    lines += ["", "# [tomogram]  # a 3D cube", f"# file = {_q(files[-1])}"]
    lines += _commented("tomogram", skip={"file"})
    return lines + [f"# another SIMS file: {_q(f)}" for f in files[1:]]


def _composition(files: list[tuple[str, str]]) -> list[str]:
    if not files:
        return []
    lines = ["", "[composition]", "# one file per technique label (RBS, ERDA, PIXE, ...)"]
    labels: dict[str, str] = {}
    for rel, fmt in files:
        label = _LABELS.get(fmt, Path(rel).stem.upper())
        if label in labels:
            lines.append(f"# another {label} file: {_q(rel)}")
            continue
        labels[label] = rel
    entries = ", ".join(f"{_q(k) if not k.isalnum() else k} = {_q(v)}" for k, v in labels.items())
    lines.append(f"files = {{{entries}}}")
    return lines + _commented("composition", skip={"files"})


def _echem(cycling: list[str], eis: list[str]) -> list[str]:
    if not cycling and not eis:
        return []
    lines = ["", "[echem]", *_commented("echem", skip=set())]
    for rel in cycling:
        lines += ["", "[[echem.cycling]]", f"file = {_q(rel)}", f"label = {_q(Path(rel).stem)}"]
    for rel in eis:
        lines += ["", "[[echem.eis]]", f"file = {_q(rel)}", f"label = {_q(Path(rel).stem)}"]
    if cycling:
        lines += ["", "# [echem.dqdv]", f"# file = {_q(cycling[0])}", "# [echem.cycle_life]",
                  f"# file = {_q(cycling[0])}"]  # fmt: skip
    return lines


def write_init(folder: str | Path, path: str | Path | None = None, *, force: bool = False) -> Path:
    """Write the starting TOML (default ``FOLDER/sample.toml``) and return its path.

    Parameters
    ----------
    folder : str or Path
        Folder of instrument exports (searched recursively).
    path : str or Path, optional
        Destination TOML; default ``folder/sample.toml``.
    force : bool
        Replace an existing file.

    Returns
    -------
    Path
        The written path.
    """
    from charsuite.io import write_text

    path = Path(path) if path is not None else Path(folder) / "sample.toml"
    return write_text(path, init_text(folder, base=path.parent), force=force)
