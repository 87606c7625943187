"""Execute every notebook in a folder with nbclient; fail on the first error."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(folder: str) -> int:
    notebooks = sorted(Path(folder).glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in {folder}")
        return 1
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            NotebookClient(
                nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}}
            ).execute()
        print(f"executed {path} in {time.perf_counter() - t0:.1f} s")
    print(f"{len(notebooks)} notebooks executed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "notebooks"))
