"""Re-execute the chapters and save their outputs into the paired ``.ipynb`` files.

The ``.md`` file (MyST, jupytext) is the source an author edits; the paired
``.ipynb`` holds the reviewed outputs that nbval compares against in the
tests. After a reviewed change of a number, run::

    python scripts/refresh_notebooks.py            # every chapter
    python scripts/refresh_notebooks.py chapters/02_population.md

Outputs are saved without timing metadata so the files only change when a
result changes.
"""
from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbclient

ROOT = Path(__file__).resolve().parent.parent


def refresh(markdown: Path) -> Path:
    notebook = jupytext.read(markdown)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # stable ids: the file changes only when a result does
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(markdown.parent)}})
    client.execute()
    notebook.metadata.pop("widgets", None)
    target = markdown.with_suffix(".ipynb")
    jupytext.write(notebook, target, fmt="ipynb")
    return target


def main(argv: list[str]) -> int:
    from concurrent.futures import ThreadPoolExecutor

    sources = [Path(a).resolve() for a in argv] or sorted((ROOT / "chapters").glob("*.md"))
    # each chapter runs in its own kernel process: two at a time keep both cores busy
    with ThreadPoolExecutor(max_workers=2) as pool:
        for target in pool.map(refresh, sources):
            print(f"executed {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
