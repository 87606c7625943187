"""Sphinx configuration for the charsuite documentation.

Pages that must follow the code are generated here at build time (into ``_generated/``,
not committed): the API pages list each package's ``__all__``, the formats table comes from
the reader registry, and the notebooks are copied from ``../notebooks`` and executed by myst-nb.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
import types
from pathlib import Path

import charsuite

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATED = HERE / "_generated"

project = "charsuite"
author = "charsuite developers"
copyright = "charsuite developers"
version = release = charsuite.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_click",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "pydata_sphinx_theme"
html_title = f"charsuite {release}"
html_theme_options = {"navigation_with_keys": False}
html_static_path: list[str] = []

# API reference: autosummary pages for what each package's __init__ exports.
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "undoc-members": False}
autodoc_typehints = "none"  # types are in the signature; numpydoc sections give meaning and units
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()  # ruff's D rules check the docstrings

# Markdown and notebooks.
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # every build runs the notebooks, so the figures are current
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_in_temp = True  # notebooks write their files to a temporary folder
nb_merge_streams = True
# The notebook kernels inherit this environment. CI exports MPLBACKEND=Agg, and charsuite.plotting
# builds Figure objects without pyplot, so nothing would register IPython's PNG formatter for
# them: a startup file turns the inline backend on, so a returned figure shows as an image.
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
_IPYTHONDIR = GENERATED / "ipython"
(_IPYTHONDIR / "profile_default" / "startup").mkdir(parents=True, exist_ok=True)
(_IPYTHONDIR / "profile_default" / "startup" / "00-inline-figures.py").write_text(
    'get_ipython().run_line_magic("matplotlib", "inline")\n'
)
os.environ["IPYTHONDIR"] = str(_IPYTHONDIR)

nitpicky = False  # the build has no network: no intersphinx, unresolved external types are text

PACKAGES = {
    "charsuite": "Top level: read, write, info",
    "charsuite.io": "Reading and writing files",
    "charsuite.model": "Data model, units, provenance, JSON",
    "charsuite.xrd": "GI-XRD",
    "charsuite.composition": "Ion-beam composition",
    "charsuite.sims": "ToF-SIMS",
    "charsuite.sims.tomo": "ToF-SIMS tomograms",
    "charsuite.echem": "Electrochemistry",
    "charsuite.report": "One sample, every technique: the report page",
    "charsuite.datasets": "Generated data with known truth",
    "charsuite.plotting": "Figures",
    "charsuite.testing": "Test helpers for readers",
}


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _api_pages() -> None:
    """One page per package: its docstring and an autosummary of its ``__all__``."""
    index = ["API reference", "=============", "", ".. toctree::", "   :maxdepth: 1", ""]
    for name, title in PACKAGES.items():
        module = importlib.import_module(name)
        members = sorted(getattr(module, "__all__", []))
        members = [
            m
            for m in members
            if not m.startswith("_") and not isinstance(getattr(module, m), types.ModuleType)
        ]
        page = [
            f"``{name}``: {title}",
            "=" * (len(name) + len(title) + 6),
            "",
            f".. automodule:: {name}",
            "   :no-members:",
            "",
            f".. currentmodule:: {name}",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "",
            *[f"   {m}" for m in members],
            "",
        ]
        _write_if_changed(GENERATED / "api" / f"{name}.rst", "\n".join(page))
        index.append(f"   {name}")
    _write_if_changed(GENERATED / "api" / "index.rst", "\n".join(index) + "\n")


def _formats_table() -> None:
    """The formats table, from the reader registry (``charsuite.io.list_formats()``)."""
    from charsuite.io import list_formats

    rows = [
        "| format | technique | extensions | lazy read | description |",
        "|---|---|---|---|---|",
    ]
    for name, spec in list_formats().items():
        exts = " ".join(spec.extensions)
        desc = spec.description.replace("|", "\\|")
        lazy = "native" if spec.lazy else "chunked after read"
        rows.append(f"| `{name}` | {spec.technique} | {exts} | {lazy} | {desc} |")
    _write_if_changed(GENERATED / "formats_table.md", "\n".join(rows) + "\n")


def _notebooks() -> None:
    """Copy the notebooks (stored without outputs) so myst-nb executes and renders them."""
    target = GENERATED / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        dest = target / path.name
        if not dest.exists() or dest.read_bytes() != path.read_bytes():
            shutil.copyfile(path, dest)


_api_pages()
_formats_table()
_notebooks()


# Docstrings are written to read well as plain text (``help()``) too. Two plain-text habits
# would be reStructuredText markup in Sphinx; they are translated here, once, instead of in
# every docstring:
# - ``|Z|`` (a magnitude) would be a substitution reference: it is escaped;
# - ``[1]_`` citing a reference listed in the *module* docstring would be a dangling target
#   on the function's own page: the module's definition is appended to the docstring.
_BARS = re.compile(r"(?<![\\|`])\|(\S(?:[^|\n`]*?\S)?)\|(?![_|`])")
_CITE = re.compile(r"\[(\d+)\]_")
_LITERAL = re.compile(r"(``.+?``|`[^`]+`_?)")


def _escape_bars(line: str) -> str:
    parts = _LITERAL.split(line)
    return "".join(p if i % 2 else _BARS.sub(r"\\|\1\\|", p) for i, p in enumerate(parts))


def _module_references(module_name: str) -> dict[str, list[str]]:
    doc = getattr(sys.modules.get(module_name), "__doc__", None) or ""
    refs: dict[str, list[str]] = {}
    current = None
    for line in doc.splitlines():
        match = re.match(r"\.\. \[(\d+)\]", line)
        if match:
            current = match.group(1)
            refs[current] = [line]
        elif current and line.startswith("   ") and line.strip():
            refs[current].append(line)
        else:
            current = None
    return refs


def _translate_docstring(app, what, name, obj, options, lines) -> None:
    lines[:] = [_escape_bars(line) for line in lines]
    text = "\n".join(lines)
    missing = [n for n in dict.fromkeys(_CITE.findall(text)) if f".. [{n}]" not in text]
    if not missing:
        return
    refs = _module_references(getattr(obj, "__module__", "") or "")
    found = [refs[n] for n in missing if n in refs]
    if not found:
        return
    if not re.search(r"^References\n-+$", text, flags=re.M):
        lines += ["", "References", "----------"]
    for ref in found:
        lines += ref


def setup(app):
    """Register the docstring translation before numpydoc parses the sections."""
    app.connect("autodoc-process-docstring", _translate_docstring, priority=100)
