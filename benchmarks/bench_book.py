"""Benchmark of the book's build cycle, on a fresh copy of the repository (the environment installed).

    python benchmarks/bench_book.py

Measures, in seconds: a cold build (no _build, nothing cached), an unchanged rebuild, a rebuild after
editing one chapter's prose, the export command, and the cold execution of the "beyond the paper" chapter
alone (its simulations and imputations uncached). Targets: 40, 3, 10, 5 and 30 seconds on the 2-core
reference machine. A benchmark, not a test: it prints and asserts nothing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def execute(markdown: Path) -> float:
    import jupytext
    import nbclient

    notebook = jupytext.read(markdown)
    start = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(markdown.parent)}}).execute()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "report"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(copy)], check=True)
        build = [str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"]
        # the library's results cache of the notebooks run outside a build (the chapter timing below)
        os.environ["KETAPAIN_CACHE_DIR"] = str(Path(scratch) / "cache")
        rows = [("cold build (fresh clone)", timed(build, copy), 40)]
        rows.append(("unchanged rebuild", timed(build, copy), 3))
        chapter = copy / "chapters" / "05_safety.md"
        chapter.write_text(chapter.read_text(encoding="utf-8") + "\nAn edited sentence of prose.\n", encoding="utf-8")
        rows.append(("rebuild after editing one chapter's prose", timed(build, copy), 10))
        export = [str(BIN / "python"), "-m", "ketapain_lib", "export", "--out", str(Path(scratch) / "export")]
        rows.append(("export command", timed(export, copy), 5))
        shutil.rmtree(Path(scratch) / "cache", ignore_errors=True)  # nothing computed beforehand
        rows.append(("cold execution of the beyond-the-paper chapter", execute(copy / "chapters" /
                                                                          "07_beyond_the_paper.md"), 30))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'step':<{width}}  seconds  target")
    for name, seconds, target in rows:
        print(f"{name:<{width}}  {seconds:7.1f}  {target:6d}")


if __name__ == "__main__":
    main()
