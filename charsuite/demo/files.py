"""Demo step: inventory of every generated input file, as the registry detects it."""

from __future__ import annotations

from charsuite.demo import DemoContext, Section

TITLE = "Input files and detected formats"


def run(ctx: DemoContext) -> Section:
    """List ``ctx.data_dir`` with each file's detected format, technique and shape."""
    from charsuite.exceptions import CharsuiteError
    from charsuite.io import info

    rows, files = {}, []
    for path in sorted(p for p in ctx.data_dir.rglob("*") if p.is_file()):
        rel = ctx.rel(path)
        try:
            fi = info(path)
            desc = f"{fi.format} ({fi.technique}), dims {fi.dims}"
        except CharsuiteError as err:  # shown, not hidden: a demo file we cannot read is a bug
            desc = f"not readable: {err.one_line()}"
        rows[rel] = desc
        files.append((rel, desc))
    summary = (
        f"{len(files)} instrument files were generated with known ground truth; "
        "`charsuite info FILE` shows the same detection for any of them."
    )
    return Section(title=TITLE, summary=summary, files=files, results={"files": rows})
