"""Sample report: one TOML naming a sample's files → every analysis → index.html + summary.json.

Stages (private modules): ``_spec`` reads and validates the TOML (errors name key and
line); ``_steps`` holds one function per step, calling only the public domain APIs;
``_run`` hashes inputs, reuses cached steps, runs the others in parallel and isolates
failures; the page is drawn by :mod:`charsuite.plotting.report`; ``_init`` writes a
starting TOML from a folder. The summary.json schema is in ``schema.md`` next to this file.

Examples
--------
>>> from charsuite.report import build_report, load_spec
>>> spec = load_spec("sample.toml")  # doctest: +SKIP
>>> build_report(spec, "report", jobs=2).failed  # doctest: +SKIP
{}
"""

from __future__ import annotations

from charsuite.report._init import Detected, detect, init_text, write_init
from charsuite.report._run import SCHEMA_ID, ReportResult, build_report, sha256_of
from charsuite.report._spec import SCHEMA, STEPS, SampleSpec, load_spec

__all__ = [
    "SCHEMA",
    "SCHEMA_ID",
    "STEPS",
    "Detected",
    "ReportResult",
    "SampleSpec",
    "build_report",
    "detect",
    "init_text",
    "load_spec",
    "sha256_of",
    "write_init",
]
