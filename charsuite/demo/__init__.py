"""``charsuite demo``: generate one NMC811 thin-film sample and run every module on it.

Each technique contributes one step module listed in :data:`STEPS`. A step module
defines ``TITLE`` and ``run(ctx: DemoContext) -> Section``: it generates its instrument
files with :mod:`charsuite.datasets` into ``ctx.data_dir``, analyses them with the public
API, and writes figures and JSON into ``ctx.outdir``. The ``files`` step runs last and
lists every generated input file with the format charsuite detected for it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from charsuite.datasets import DEMO_SAMPLE, DemoSample
from charsuite.model import Result

#: Step modules, in report order. Add a technique's step here.
STEPS: tuple[str, ...] = (
    "charsuite.demo.xrd",
    "charsuite.demo.composition",
    "charsuite.demo.sims",
    "charsuite.demo.tomogram",
    "charsuite.demo.echem",
    "charsuite.demo.files",
)


@dataclasses.dataclass(frozen=True)
class Section(Result):
    """One report section.

    Attributes
    ----------
    title, summary : str
    figures : list of (relative path, caption)
    tables : dict of caption -> {name: value}
    files : list of (relative path, description)
    results : dict
        JSON-ready numbers of the step (also written to ``<step>.json``).
    """

    title: str
    summary: str
    figures: list = dataclasses.field(default_factory=list)
    tables: dict = dataclasses.field(default_factory=dict)
    files: list = dataclasses.field(default_factory=list)
    results: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class DemoContext:
    """What a step gets: output folders, the sample, and overwrite permission."""

    outdir: Path
    sample: DemoSample
    force: bool = False
    progress: Callable[..., None] | None = None

    @property
    def data_dir(self) -> Path:
        """Folder of the generated instrument files."""
        path = self.outdir / "data"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def rel(self, path: Path) -> str:
        """Path relative to the output folder (for the report)."""
        return Path(path).resolve().relative_to(self.outdir.resolve()).as_posix()


@dataclasses.dataclass(frozen=True)
class DemoResult(Result):
    """Where the demo wrote its outputs."""

    outdir: str
    index_html: str
    summary_json: str
    sections: list


def run_demo(
    outdir: str | Path,
    *,
    force: bool = False,
    sample: DemoSample = DEMO_SAMPLE,
    progress: Callable[..., None] | None = None,
) -> DemoResult:
    """Generate the demo sample's files, analyse them, write figures, JSON and index.html.

    Parameters
    ----------
    outdir : str or Path
        Output folder (created). Existing outputs are replaced only with ``force``.
    force : bool
    sample : DemoSample
        Ground truth of the generated sample.
    progress : callable, optional
        ``progress(advance=1, total=None, description=None)``.

    Returns
    -------
    DemoResult
    """
    from charsuite.io import check_output, write_text
    from charsuite.plotting.report import render_report

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    index = check_output(outdir / "index.html", force=force)
    ctx = DemoContext(outdir=outdir, sample=sample, force=force, progress=progress)
    sections = []
    if progress:
        progress(0, total=len(STEPS))
    for modname in STEPS:
        module = importlib.import_module(modname)
        if progress:
            progress(0, description=module.TITLE)
        section = module.run(ctx)
        step = modname.rsplit(".", 1)[-1]
        write_text(
            outdir / f"{step}.json", json.dumps(section.results, indent=2) + "\n", force=force
        )
        sections.append(section)
        if progress:
            progress(1)
    summary: dict[str, Any] = {
        "sample": sample.to_dict(),
        "sections": {s.title: s.results for s in sections},
    }
    summary_path = write_text(
        outdir / "summary.json", json.dumps(summary, indent=2) + "\n", force=force
    )
    intro = (
        f"charsuite generated instrument files for one thin-film cathode ({sample.film_formula} "
        f"from a {sample.target_formula} target, {sample.film_thickness_nm:g} nm, "
        f"stack {' / '.join(n for n, _ in sample.stack)}) into data/, read them with the "
        "format registry and ran each analysis module. Figures (PNG) and numbers (JSON) are "
        "next to this page; summary.json collects all numbers with their provenance."
    )
    page = render_report(sections, title="charsuite demo report", intro=intro, outdir=outdir)
    write_text(index, page, force=force)
    return DemoResult(
        outdir=str(outdir.resolve()),
        index_html=str(index.resolve()),
        summary_json=str(summary_path.resolve()),
        sections=[s.title for s in sections],
    )
