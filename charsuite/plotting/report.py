"""The report page (``index.html``) from a report summary (``summary.json``'s dict).

One section per step: status, summary, warnings next to the result, the numbers as tables
(value ± 1σ and unit; "n/e" where the method gives no uncertainty), the figures (PNG, with a
PDF link for print) and a provenance footer per figure (input files with SHA-256, charsuite
version, options). The page is self-contained apart from the figure files.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
figure{display:inline-block;margin:.5em;vertical-align:top;max-width:540px}
figure img{max-width:540px;border:1px solid #eee}
figcaption{font-size:.85em;color:#444}
footer.prov{font-size:.75em;color:#666;margin-top:.3em;word-break:break-all}
table{border-collapse:collapse;margin:.6em 1em .6em 0;display:inline-table;vertical-align:top}
caption{font-weight:600;text-align:left;padding:.2em 0}
td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left;font-size:.9em}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{font-size:.7em;padding:.1em .5em;border-radius:.3em;vertical-align:middle;color:#fff}
.ok{background:#2e7d32}.cached{background:#558b2f}.failed{background:#c62828}
.reason{border-left:4px solid #c62828;background:#fdecea;padding:.4em .8em}
.warnings{border-left:4px solid #f9a825;background:#fff8e1;padding:.3em .8em;font-size:.9em}
.note{color:#555;font-size:.9em}code{background:#f4f4f4;padding:0 .2em}
"""


def render_report(summary: Mapping[str, Any], *, title: str, intro: str = "") -> str:
    """Return the HTML page of a report summary.

    Parameters
    ----------
    summary : mapping
        The dict written to ``summary.json`` (schema ``charsuite-report/1``, see
        ``charsuite/report/schema.md``); figure paths are relative to the page.
    title, intro : str

    Returns
    -------
    str
    """
    steps = summary["steps"]
    truth = summary.get("truth") or {}
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<link rel='icon' href='data:,'>",  # no favicon request (a 404 in the console)
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    if intro:
        parts.append(f"<p>{_e(intro)}</p>")
    parts.append(_sample_table(summary.get("sample", {})))
    parts.append(_overview(steps))
    for name, step in steps.items():
        parts.append(_section(name, step, summary, truth.get(name) or {}))
    parts.append(
        f"<p class='note'>charsuite {_e(summary.get('charsuite_version', ''))}; all numbers are "
        "in <a href='summary.json'>summary.json</a> (schema "
        f"<code>{_e(summary.get('schema', ''))}</code>); ± 1σ is one standard uncertainty, "
        "<i>n/e</i> = not estimated by the method.</p></body></html>"
    )
    return "\n".join(parts)


def save_page_figure(fig: Any, folder: Path, name: str) -> tuple[Path, Path]:
    """Save ``fig`` as ``folder/name.png`` (the page) and ``.pdf`` (print), then close it."""
    import matplotlib.pyplot as plt

    from charsuite.plotting.style import save_figure

    folder.mkdir(parents=True, exist_ok=True)
    try:
        png = save_figure(fig, folder / f"{name}.png", force=True)
        pdf = save_figure(fig, folder / f"{name}.pdf", force=True)
    finally:
        plt.close(fig)
    return png, pdf


def close_figures() -> None:
    """Close every open figure (after a step failed half-way through its plots)."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _anchor(name: str) -> str:
    return "step-" + "".join(c if c.isalnum() else "-" for c in name.lower())


def _sample_table(sample: Mapping[str, Any]) -> str:
    rows = [("name", sample.get("name"), "")]
    stack = " / ".join(
        f"{n} ({t:g} nm)" if t is not None else str(n) for n, t in sample.get("stack") or []
    )
    rows += [
        ("stack (top to substrate)", stack, ""),
        ("film thickness", sample.get("film_thickness_nm"), "nm"),
        ("density", sample.get("density_g_cm3"), "g/cm³"),
        ("electrode area", sample.get("area_cm2"), "cm²"),
        ("target composition", sample.get("target"), ""),
    ]
    body = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(_value(v))}</td><td>{_e(u)}</td></tr>"
        for k, v, u in rows
        if v not in (None, "")
    )
    return f"<table class='sample'><caption>Sample</caption>{body}</table>"


def _overview(steps: Mapping[str, Any]) -> str:
    rows = []
    for name, step in steps.items():
        status = "cached" if step.get("cached") and step["status"] == "ok" else step["status"]
        reason = step.get("reason", "")
        rows.append(
            f"<tr><td><a href='#{_anchor(name)}'>{_e(step['title'])}</a></td>"
            f"<td><span class='status {status}'>{status}</span></td>"
            f"<td class='num'>{step.get('seconds', 0):.2f}</td><td>{_e(reason)}</td></tr>"
        )
    head = "<tr><th>step</th><th>status</th><th>time (s)</th><th>reason</th></tr>"
    return f"<table class='overview'><caption>Steps</caption>{head}{''.join(rows)}</table>"


def _section(name: str, step: Mapping[str, Any], summary: Mapping, truth: Mapping) -> str:
    status = "cached" if step.get("cached") and step["status"] == "ok" else step["status"]
    parts = [
        f"<section id='{_anchor(name)}' data-step='{_e(name)}' data-status='{_e(step['status'])}'>",
        f"<h2>{_e(step['title'])} <span class='status {status}'>{status}</span></h2>",
    ]
    if step["status"] != "ok":
        parts.append(f"<p class='reason'>Failed: {_e(step.get('reason', ''))}</p>")
    elif step.get("summary"):
        parts.append(f"<p>{_e(step['summary'])}</p>")
    if step.get("warnings"):
        items = "".join(f"<li>{_e(w)}</li>" for w in step["warnings"])
        parts.append(f"<div class='warnings'><b>Warnings</b><ul>{items}</ul></div>")
    parts += _tables(step.get("numbers") or [], truth)
    for fig in step.get("figures") or []:
        parts.append(_figure(fig, step, summary))
    if step["status"] != "ok":
        parts.append(_inputs(step))
    parts.append("</section>")
    return "\n".join(parts)


def _tables(numbers: list, truth: Mapping) -> list[str]:
    groups: dict[str, list] = {}
    for row in numbers:
        groups.setdefault(row.get("table") or "Results", []).append(row)
    out = []
    for caption, rows in groups.items():
        has_truth = any(r["key"] in truth for r in rows)
        head = "<th>quantity</th><th>value</th><th>± 1σ</th><th>unit</th>"
        head += "<th>ground truth</th>" if has_truth else ""
        body = []
        for r in rows:
            unc = r.get("uncertainty")
            cells = [
                f"<th>{_e(r['label'])}</th>",
                f"<td class='num'>{_e(_value(r['value'], unc))}</td>",
                f"<td class='num'>{_e(_value(unc, unc)) if unc is not None else 'n/e'}</td>",
                f"<td>{_e(r.get('unit', ''))}</td>",
            ]
            if has_truth:
                cells.append(f"<td class='num'>{_e(_value(truth.get(r['key'], '')))}</td>")
            body.append(f"<tr data-key='{_e(r['key'])}'>{''.join(cells)}</tr>")
        out.append(
            f"<table class='numbers'><caption>{_e(caption)}</caption><tr>{head}</tr>"
            f"{''.join(body)}</table>"
        )
    return out


def _value(value: Any, unc: Any = None) -> str:
    """Format a number; with an uncertainty, to its second significant digit."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if unc and math.isfinite(unc) and unc > 0:
            digits = max(0, 1 - math.floor(math.log10(unc)))
            return f"{value:.{digits}f}" if digits < 10 else f"{value:.3g}"
        return f"{value:.4g}"
    return str(value)


def _figure(fig: Mapping[str, Any], step: Mapping[str, Any], summary: Mapping) -> str:
    sha = {i["path"]: i["sha256"] for i in step.get("inputs", [])}
    files = "; ".join(f"{p.rsplit('/', 1)[-1]} (sha256 {sha.get(p, '?')})" for p in fig["inputs"])
    options = "; ".join(_options(step.get("options") or {}))
    return (
        f"<figure><a href='{_e(fig['png'])}'><img src='{_e(fig['png'])}' alt='{_e(fig['caption'])}'>"
        f"</a><figcaption>{_e(fig['caption'])} (<a href='{_e(fig['pdf'])}'>PDF</a>)</figcaption>"
        f"<footer class='prov'>input: {_e(files)} · charsuite {_e(summary.get('charsuite_version'))}"
        f" · options: {_e(options) or 'defaults'}</footer></figure>"
    )


def _inputs(step: Mapping[str, Any]) -> str:
    items = "".join(
        f"<li><code>{_e(i['path'])}</code> sha256 {_e(i['sha256'])}</li>" for i in step["inputs"]
    )
    return f"<ul class='note'>{items}</ul>"


def _options(options: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Flatten options to ``table.key = value`` strings; input paths are left out (above)."""
    out = []
    for key, value in options.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _options(value, name + ".")
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            for i, item in enumerate(value):
                out += _options(item, f"{name}[{i}].")
        elif key not in ("file", "film", "substrate", "files") and value is not None:
            out.append(f"{name.removesuffix('[]')} = {value}")
    return out
