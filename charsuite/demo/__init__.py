"""``charsuite demo``: generate one NMC811 thin-film sample, then run ``charsuite report`` on it.

One code path: each technique module in :data:`GENERATORS` writes its instrument files with
:mod:`charsuite.datasets` into ``OUT/data`` and returns its sample-TOML tables and ground
truth; :func:`run_demo` writes ``OUT/data/sample.toml`` and calls
:func:`charsuite.report.build_report` on it, exactly as a user would with real files. The
ground truth is shown next to each number in the page.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from pathlib import Path
from typing import Any

from charsuite.datasets import DEMO_SAMPLE, DemoSample
from charsuite.model import Result

#: File generators, in report order. Each defines ``generate(data, sample, *, force)``.
GENERATORS: tuple[str, ...] = (
    "charsuite.demo.xrd",
    "charsuite.demo.composition",
    "charsuite.demo.sims",
    "charsuite.demo.tomogram",
    "charsuite.demo.echem",
)


@dataclasses.dataclass(frozen=True)
class DemoResult(Result):
    """Where the demo wrote its outputs.

    Attributes
    ----------
    outdir, index_html, summary_json, toml : str
    steps : dict
        Step name -> status (``ok``, ``cached``, ``failed``).
    failed : dict
        Step name -> one-line reason.
    """

    outdir: str
    index_html: str
    summary_json: str
    toml: str
    steps: dict
    failed: dict


def write_sample(
    data: str | Path, *, sample: DemoSample = DEMO_SAMPLE, force: bool = False
) -> tuple[Path, dict]:
    """Generate the demo sample's instrument files and its ``sample.toml`` in ``data``.

    Returns
    -------
    (Path, dict)
        The TOML path and the ground truth ``{step: {number key: value}}``.
    """
    from charsuite.io import write_text

    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Any] = {
        "sample": {
            "name": sample.name,
            "stack": [f"{n}:{t:g} nm" for n, t in sample.stack[:-1]] + [sample.stack[-1][0]],
            "film_thickness": f"{sample.film_thickness_nm:g} nm",
            "density": f"{sample.film_density_g_cm3:g} g/cm^3",
            "area": f"{sample.electrode_area_cm2:g} cm^2",
            "target": sample.target_formula,
        }
    }
    truth: dict[str, dict] = {}
    for modname in GENERATORS:
        part, known = importlib.import_module(modname).generate(data, sample, force=force)
        tables.update(part)
        truth.update(known)
    header = f"# Demo sample written by `charsuite demo` (ground truth: {sample.film_formula})\n"
    path = write_text(data / "sample.toml", header + dumps_toml(tables), force=force)
    return path, truth


def run_demo(
    outdir: str | Path,
    *,
    force: bool = False,
    sample: DemoSample = DEMO_SAMPLE,
    jobs: int = 1,
    progress: bool = False,
) -> DemoResult:
    """Generate the demo sample's files and TOML, then build its report.

    Parameters
    ----------
    outdir : str or Path
        Output folder; instrument files and ``sample.toml`` go to ``outdir/data``.
    force : bool
        Replace existing outputs.
    sample : DemoSample
        Ground truth of the generated sample.
    jobs : int
        Worker processes for the report steps.
    progress : bool
        Progress rows on stderr.

    Returns
    -------
    DemoResult

    Examples
    --------
    >>> run_demo("charsuite-demo").failed  # doctest: +SKIP
    {}
    """
    from charsuite.io import check_output
    from charsuite.report import build_report

    outdir = Path(outdir)
    check_output(outdir / "index.html", force=force)
    toml, truth = _sample_files(outdir / "data", sample=sample, force=force)
    intro = (
        f"charsuite generated instrument files for one thin-film cathode ({sample.film_formula} "
        f"from a {sample.target_formula} target, {sample.film_thickness_nm:g} nm, stack "
        f"{' / '.join(n for n, _ in sample.stack)}) and the sample file data/sample.toml, then "
        "ran `charsuite report data/sample.toml` on them. The ground truth of the generator "
        "is shown next to each number it fixes."
    )
    res = build_report(toml, outdir, force=force, jobs=jobs, progress=progress,
                       title="charsuite demo report", intro=intro, truth=truth)  # fmt: skip
    return DemoResult(
        outdir=res.outdir, index_html=res.index_html, summary_json=res.summary_json,
        toml=str(toml.resolve()), steps=res.steps, failed=res.failed,
    )  # fmt: skip


def _sample_files(data: Path, *, sample: DemoSample, force: bool) -> tuple[Path, dict]:
    """Reuse ``data`` when it holds this sample from this charsuite version, else generate.

    The generators are deterministic but stamp their history with the time, so
    regenerating would change the files' SHA-256 and defeat the report cache; the ground
    truth is kept next to the files in ``truth.json``.
    """
    from charsuite import __version__
    from charsuite.io import write_text
    from charsuite.model import jsonable

    stamp = data / "truth.json"
    identity = {"charsuite_version": __version__, "sample": jsonable(sample.to_dict())}
    try:
        saved = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    if (data / "sample.toml").is_file() and {k: saved.get(k) for k in identity} == identity:
        return data / "sample.toml", saved["truth"]
    toml, truth = write_sample(data, sample=sample, force=force)
    text = json.dumps({**identity, "truth": jsonable(truth)}, indent=1)
    write_text(stamp, text + "\n", force=True)
    return toml, json.loads(text)["truth"]


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"


def dumps_toml(tables: dict[str, dict]) -> str:
    """Write the sample tables as TOML (no writer in the standard library; this subset suffices).

    Lists of tables become ``[[table.key]]``, tables under ``echem`` become ``[echem.key]``,
    other nested tables are inline.
    """
    lines: list[str] = []
    for name, table in tables.items():
        subs = {k: v for k, v in table.items() if name == "echem" and isinstance(v, dict | list)}
        subs = {
            k: v for k, v in subs.items() if isinstance(v, dict) or (v and isinstance(v[0], dict))
        }
        lines.append(f"[{name}]")
        lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if k not in subs]
        for key, value in subs.items():
            for item in value if isinstance(value, list) else [value]:
                bracket = ("[[", "]]") if isinstance(value, list) else ("[", "]")
                lines += ["", f"{bracket[0]}{name}.{key}{bracket[1]}"]
                lines += [f"{_key(k)} = {_value(v)}" for k, v in item.items()]
        lines.append("")
    return "\n".join(lines)
