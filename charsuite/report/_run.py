"""Run the steps of a sample TOML: cache by input hash, run in parallel, isolate failures.

Stages: :func:`_plan` (hash inputs, cache keys) → :func:`_execute` per step (in a worker
process with ``jobs > 1``) → :func:`_collect` (summary dict) → write summary.json and
index.html atomically.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from charsuite.model import Result
from charsuite.report._spec import SampleSpec

SCHEMA_ID = "charsuite-report/1"
CACHE = "cache"


@dataclasses.dataclass(frozen=True)
class ReportResult(Result):
    """Where the report was written and how each step went.

    Attributes
    ----------
    outdir, index_html, summary_json : str
    steps : dict
        Step name -> ``"ok"``, ``"cached"`` or ``"failed"``.
    failed : dict
        Step name -> one-line reason.
    seconds : float
        Wall time of the run.
    """

    outdir: str
    index_html: str
    summary_json: str
    steps: dict
    failed: dict
    seconds: float


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes.

    Parameters
    ----------
    path : str or Path
        File to hash.

    Returns
    -------
    str
        The digest as 64 lowercase hex characters.
    """
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclasses.dataclass(frozen=True)
class _Plan:
    name: str
    title: str
    options: dict
    inputs: list  # [{"path", "sha256"}]
    key: str
    folder: Path


def _plan(spec: SampleSpec, outdir: Path) -> list[_Plan]:
    from charsuite import __version__
    from charsuite.model import jsonable

    hashes: dict[str, str] = {}
    plans = []
    for name, step in spec.steps().items():
        inputs = []
        for path in step["inputs"]:
            digest = hashes.setdefault(path, sha256_of(path))
            inputs.append({"path": path, "sha256": digest})
        identity = {
            "step": name,
            "inputs": [i["sha256"] for i in inputs],
            "options": jsonable(_without_paths(step["options"])),
            "sample": jsonable(spec.sample),
            "version": __version__,
        }
        key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        folder = outdir / CACHE / f"{name}-{key[:16]}"
        plans.append(_Plan(name, step["title"], step["options"], inputs, key, folder))
    return plans


def _without_paths(value: Any) -> Any:
    """Options with input paths replaced by a marker.

    Inputs enter the key by content, so a moved or copied folder keeps its cache.
    """
    from charsuite.report._spec import _PathStr

    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    return "<input>" if isinstance(value, _PathStr) else value


def _execute(name: str, options: dict, sample: dict, folder: str, scheduler: Any) -> dict:
    """Run one step into ``folder`` (a fresh temporary folder); never raises."""
    from charsuite.exceptions import CharsuiteError
    from charsuite.report._steps import FUNCTIONS

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = FUNCTIONS[name](options, sample, Path(folder), scheduler).to_dict()
            result = {"status": "ok", **out}
        except CharsuiteError as err:
            result = {"status": "failed", "reason": err.one_line()}
        except Exception as err:
            text = " ".join(f"{type(err).__name__}: {err}".split())
            result = {"status": "failed", "reason": f"internal error (please report): {text}"}
    if result["status"] != "ok":
        from charsuite.plotting.report import close_figures

        close_figures()
    notes = result.pop("notes", [])
    seen = dict.fromkeys([*notes, *(" ".join(str(w.message).split()) for w in caught)])
    result["warnings"] = list(seen)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def _cached(plan: _Plan) -> dict | None:
    path = plan.folder / "result.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _store(plan: _Plan, tmp: Path, result: dict) -> None:
    """Move a finished step folder into the cache (only successful steps are kept)."""
    from charsuite.io import write_text

    if result["status"] != "ok":
        shutil.rmtree(tmp, ignore_errors=True)
        return
    write_text(tmp / "result.json", json.dumps(result, indent=1, allow_nan=False), force=True)
    if plan.folder.exists():
        shutil.rmtree(plan.folder)
    tmp.rename(plan.folder)
    for old in plan.folder.parent.glob(f"{plan.name}-*"):
        if old != plan.folder and old.is_dir() and ".tmp" not in old.name:
            shutil.rmtree(old, ignore_errors=True)


def _run_all(
    plans: list[_Plan], spec: SampleSpec, *, jobs: int, scheduler: Any, bar: Any
) -> dict[str, dict]:
    results: dict[str, dict] = {}
    todo = []
    for plan in plans:
        hit = _cached(plan)
        if hit is not None:
            results[plan.name] = {**hit, "cached": True}
            bar.done(plan.name, "cached")
        else:
            todo.append(plan)
    tmps = {p.name: p.folder.with_name(p.folder.name + ".tmp") for p in todo}
    for tmp in tmps.values():
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    args = {p.name: (p.name, p.options, spec.sample, str(tmps[p.name]), scheduler) for p in todo}
    if jobs > 1 and len(todo) > 1:
        import concurrent.futures as cf
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no fork of dask/matplotlib threads
        with cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx) as pool:
            futures = {pool.submit(_execute, *args[p.name]): p for p in todo}
            for plan in todo:
                bar.start(plan.name)
            try:
                for fut in cf.as_completed(futures):
                    plan = futures[fut]
                    results[plan.name] = _finish(plan, tmps[plan.name], _outcome(fut), bar)
            except BaseException:  # interrupted: do not wait for the queued steps
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    else:
        for plan in todo:
            bar.start(plan.name)
            results[plan.name] = _finish(plan, tmps[plan.name], _execute(*args[plan.name]), bar)
    return {p.name: results[p.name] for p in plans}


def _outcome(future: Any) -> dict:
    """A worker's result; a worker that died (killed, out of memory) fails only its step."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool as err:
        reason = " ".join(f"the worker process died ({err})".split())
        return {"status": "failed", "reason": reason, "warnings": [], "seconds": 0.0}


def _finish(plan: _Plan, tmp: Path, result: dict, bar: Any) -> dict:
    _store(plan, tmp, result)
    bar.done(plan.name, result["status"])
    return {**result, "cached": False}


def _collect(spec: SampleSpec, plans: list[_Plan], results: dict, outdir: Path) -> dict:
    from charsuite import __version__
    from charsuite.model import jsonable

    steps = {}
    for plan in plans:
        res = dict(results[plan.name])
        folder = plan.folder.relative_to(outdir).as_posix()
        for fig in res.get("figures", []):
            fig["png"] = f"{folder}/{Path(fig['png']).name}"
            fig["pdf"] = f"{folder}/{Path(fig['pdf']).name}"
        steps[plan.name] = {
            "title": plan.title,
            "inputs": plan.inputs,
            "options": jsonable(plan.options),
            "cache_key": plan.key,
            **res,
        }
    return {
        "schema": SCHEMA_ID,
        "charsuite_version": __version__,
        "toml": spec.path,
        "sample": jsonable(spec.sample),
        "steps": steps,
    }


class _NoBar:
    def start(self, name: str) -> None:
        pass

    def done(self, name: str, status: str) -> None:
        pass


class _RichBar:
    """One rich progress row per step, on stderr (see :func:`build_report`)."""

    def __init__(self, plans: list[_Plan]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
            console=Console(stderr=True),
        )  # fmt: skip
        self.tasks = {p.name: self.progress.add_task(p.name, total=1) for p in plans}

    def start(self, name: str) -> None:
        self.progress.update(self.tasks[name], description=f"{name}: running")

    def done(self, name: str, status: str) -> None:
        self.progress.update(self.tasks[name], completed=1, description=f"{name}: {status}")


def build_report(
    spec: SampleSpec | str | Path,
    outdir: str | Path,
    *,
    force: bool = False,
    jobs: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    title: str | None = None,
    intro: str = "",
    truth: dict | None = None,
) -> ReportResult:
    """Analyse every file a sample TOML names and write ``index.html`` and ``summary.json``.

    Parameters
    ----------
    spec : SampleSpec, str or Path
        A validated spec or the TOML file (see :func:`load_spec`).
    outdir : str or Path
        Output folder; step results are cached in ``outdir/cache`` by input SHA-256,
        options and charsuite version, so a rerun redoes only changed steps.
    force : bool
        Replace an existing index.html / summary.json.
    jobs : int
        Steps run in this many worker processes (1 = in this process).
    scheduler : str, optional
        dask.distributed scheduler address for the ToF-SIMS steps.
    progress : bool
        Show one rich progress row per step on stderr.
    title, intro : str, optional
        Page title and introduction.
    truth : dict, optional
        ``{step: {number key: value}}`` shown next to the results (the demo's ground truth).

    Returns
    -------
    ReportResult
        A failed step does not raise: it is listed in ``failed`` and shown in the page.

    Raises
    ------
    ParameterError
        Invalid TOML (before anything is written).
    OutputExistsError
        index.html or summary.json exists and ``force`` is false.

    Examples
    --------
    >>> r = build_report("sample.toml", "report", jobs=2)  # doctest: +SKIP
    >>> r.failed  # doctest: +SKIP
    {}
    """
    from charsuite.io import check_output, write_text
    from charsuite.plotting.report import render_report
    from charsuite.report._spec import load_spec

    start = time.perf_counter()
    spec = spec if isinstance(spec, SampleSpec) else load_spec(spec)
    outdir = Path(outdir)
    index, summary_path = outdir / "index.html", outdir / "summary.json"
    if outdir.exists():
        check_output(index, force=force)
        check_output(summary_path, force=force)
    (outdir / CACHE).mkdir(parents=True, exist_ok=True)
    plans = _plan(spec, outdir)
    bar = _RichBar(plans) if progress else _NoBar()
    with getattr(bar, "progress", contextlib.nullcontext()):
        results = _run_all(plans, spec, jobs=jobs, scheduler=scheduler, bar=bar)
    summary = _collect(spec, plans, results, outdir)
    if truth:
        summary["truth"] = truth
    summary["seconds"] = round(time.perf_counter() - start, 3)
    text = json.dumps(summary, indent=1, ensure_ascii=False, allow_nan=False)
    write_text(summary_path, text + "\n", force=True)
    page_title = title or f"charsuite report: {spec.sample['name']}"
    write_text(index, render_report(summary, title=page_title, intro=intro), force=True)
    return ReportResult(
        outdir=str(outdir.resolve()),
        index_html=str(index.resolve()),
        summary_json=str(summary_path.resolve()),
        steps={k: "cached" if v.get("cached") else v["status"] for k, v in results.items()},
        failed={k: v["reason"] for k, v in results.items() if v["status"] == "failed"},
        seconds=summary["seconds"],
    )
