"""The demo report page (``index.html``): one section per module, figures and numbers."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
figure{display:inline-block;margin:.5em;vertical-align:top}
figure img{max-width:520px;border:1px solid #eee}
figcaption{font-size:.85em;color:#555;max-width:520px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .6em;
text-align:left;font-size:.9em}code{background:#f4f4f4;padding:0 .2em}
.files{font-size:.85em}.note{color:#555}
"""


def render_report(sections: Sequence[Any], *, title: str, intro: str, outdir: Path) -> str:
    """Return the HTML of the report.

    Parameters
    ----------
    sections : sequence of charsuite.demo.Section
        Each with ``title``, ``summary``, ``figures`` [(relpath, caption)], ``tables``
        {caption: {key: value}}, ``files`` [(relpath, description)].
    title, intro : str
    outdir : Path
        Folder the relative paths refer to.
    """
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>",
        "<ul>",
    ]
    parts += [
        f"<li><a href='#{_anchor(s.title)}'>{html.escape(s.title)}</a></li>" for s in sections
    ]
    parts.append("</ul>")
    for s in sections:
        parts.append(f"<h2 id='{_anchor(s.title)}'>{html.escape(s.title)}</h2>")
        parts.append(f"<p>{html.escape(s.summary)}</p>")
        for caption, table in s.tables.items():
            parts.append(f"<table><caption>{html.escape(caption)}</caption>")
            for key, value in table.items():
                parts.append(f"<tr><th>{html.escape(str(key))}</th><td>{_fmt(value)}</td></tr>")
            parts.append("</table>")
        for rel, caption in s.figures:
            parts.append(
                f"<figure><a href='{html.escape(rel)}'><img src='{html.escape(rel)}' "
                f"alt='{html.escape(caption)}'></a><figcaption>{html.escape(caption)}"
                "</figcaption></figure>"
            )
        if s.files:
            parts.append("<ul class='files'>")
            parts += [
                f"<li><a href='{html.escape(rel)}'><code>{html.escape(rel)}</code></a> — "
                f"{html.escape(desc)}</li>"
                for rel, desc in s.files
            ]
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return html.escape(f"{value:.6g}")
    if isinstance(value, dict | list):
        return f"<code>{html.escape(json.dumps(value))}</code>"
    return html.escape(str(value))
