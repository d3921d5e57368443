"""Benchmark of the book's build cycle on the standard path, on a fresh clone of the repository.

    python benchmarks/bench_book.py [--repeat 3]

Every build is the README's command, ``jupyter-book build . -W -n --keep-going``: each page executed by a
Jupyter kernel of its own (myst-nb's cache mode), the pages a cold build lacks side by side through
jupyter-cache's ``local-parallel`` executor (as many at a time as the machine has cores). With ``--repeat`` runs each (median and
range, recorded in ``benchmarks/results.csv``), in one run so that the machine's load is shared:

* a cold build (no ``_build``, nothing cached): target 20 s on the 2-core reference machine; and its CPU time,
  which depends less on the machine's load than its wall time;
* a rebuild after a code edit in one chapter (its page executes again, in a kernel): target 6 s;
* a rebuild after a prose edit in one chapter (no execution): target 3 s;
* an unchanged rebuild, and that of a one-page book with jupyter-book's default configuration (no code, no
  extension of ours), measured alternately: the target is 1.1 times the latter;
* the export command (every table and figure, cold);
* where a page's time goes, to find the floor of a cold build: the start of a kernel that runs nothing (an
  empty notebook executed by nbclient, as myst-nb does), the imports of a page (``from ketapain_lib.report
  import book``, in a fresh interpreter) and the cells of one chapter read from a filled cache.

The clone's library is the one imported (``PYTHONPATH``), by the build and by its kernels. A benchmark, not a
test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from record import measure, record

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: The chapter whose prose and code are edited (a code cell that prints nothing, so its page stays the same).
CHAPTER = Path("chapters") / "05_safety.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "report"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(copy)], check=True)
        env = {**{k: v for k, v in os.environ.items() if k not in ("KETAPAIN_DATA", "KETAPAIN_CACHE_DIR")},
               "PYTHONPATH": str(copy)}

        def run(command: list[str], cwd: Path = copy) -> None:
            subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)

        build = [str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"]

        cold_cpu: list[float] = []

        def cold():
            shutil.rmtree(copy / "_build", ignore_errors=True)
            before = _children_cpu()
            run(build)
            cold_cpu.append(_children_cpu() - before)

        chapter = copy / CHAPTER
        edits = iter(range(1000))

        def prose_edit():
            with chapter.open("a", encoding="utf-8") as handle:
                handle.write(f"\nAn edited sentence of prose, number {next(edits)}.\n")
            run(build)

        def code_edit():
            with chapter.open("a", encoding="utf-8") as handle:
                handle.write(f"\n```{{code-cell}} ipython3\n:tags: [remove-cell]\n\nedit = {next(edits)}\n```\n")
            run(build)

        floor = Path(scratch) / "one_page_book"
        floor.mkdir()
        (floor / "_config.yml").write_text("title: One page\n", encoding="utf-8")
        (floor / "_toc.yml").write_text("format: jb-book\nroot: intro\n", encoding="utf-8")
        (floor / "intro.md").write_text("# One page\n\nNothing to execute.\n", encoding="utf-8")
        one_page = [str(BIN / "jupyter-book"), "build", "."]
        run(one_page, floor)
        rows = [measure("cold build (no _build; every page in a kernel of its own, side by side on the cores)", 20, cold,
                        args.repeat),
                _seconds("cold build, CPU time (user + sys of the build and of every kernel it started)", None,
                         cold_cpu),
                measure("rebuild after a code edit in one chapter (its page executes again)", 6, code_edit,
                        args.repeat),
                measure("rebuild after editing one chapter's prose", 3, prose_edit, args.repeat)]
        unchanged, reference = [], []
        for _ in range(args.repeat):  # alternately, so that both see the same load
            unchanged.append(measure("unchanged rebuild", None, lambda: run(build), 1))
            reference.append(measure("one page", None, lambda: run(one_page, floor), 1))
        median = sorted(float(row["median_s"]) for row in reference)[len(reference) // 2]
        rows.append(_combined(f"unchanged rebuild (target: 1.1 x the one-page book's, measured alternately: "
                              f"{1.1 * median:.3g} s)", round(1.1 * median, 2), unchanged))
        rows.append(_combined("for scale: unchanged rebuild of a one-page book, jupyter-book's defaults (no code)",
                              None, reference))
        export = [str(BIN / "python"), "-m", "ketapain_lib", "export", "--out", str(Path(scratch) / "export")]
        caches = iter(range(1000))

        def export_cold():  # a fresh report cache each time: every analysis and figure computed
            subprocess.run(export, cwd=copy, check=True, capture_output=True,
                           env={**env, "KETAPAIN_CACHE_DIR": str(Path(scratch) / f"cache{next(caches)}")})

        rows.append(measure("export command (every table and figure, cold)", 15, export_cold, args.repeat))
        rows += page_rows(copy, Path(scratch), env, args.repeat)
    record("book", rows)


def _children_cpu() -> float:
    """CPU seconds (user + sys) of this process's finished children and of the processes they waited for."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _combined(step: str, target: float | None, single: list[dict]) -> dict:
    """One row from single runs measured apart."""
    return _seconds(step, target, [float(row["median_s"]) for row in single])


def _seconds(step: str, target: float | None, seconds: list[float]) -> dict:
    """A row of the table from seconds measured otherwise than by :func:`record.measure`."""
    import statistics

    return {"step": step, "target_s": "" if target is None else f"{target:g}",
            "median_s": f"{statistics.median(seconds):.3g}", "min_s": f"{min(seconds):.3g}",
            "max_s": f"{max(seconds):.3g}", "runs": len(seconds), "cores": os.cpu_count()}


def page_rows(copy: Path, scratch: Path, env: dict, repeat: int) -> list[dict]:
    """Where a page's time goes: its kernel's start, its imports, its cells (the analyses read from the cache
    the last build filled)."""
    empty = scratch / "empty.ipynb"
    empty.write_text('{"cells": [], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", '
                     '"language": "python"}}, "nbformat": 4, "nbformat_minor": 5}', encoding="utf-8")
    python = str(BIN / "python")
    kernel = [python, "-c", "import nbformat; from nbclient import NotebookClient; "
              f"NotebookClient(nbformat.read({str(empty)!r}, as_version=4)).execute()"]
    page_env = {**env, "KETAPAIN_CACHE_DIR": str(copy / "_build" / ".jupyter_cache" / "ketapain")}
    cells = [python, "-c", "from ketapain_lib.report import book; trial = book.load_trial(); "
             "results = book.results(trial); book.glue_chapter(results, '05_safety'); "
             "book.output(results, 'adverse_events')"]

    def run(command):
        subprocess.run(command, cwd=copy / "chapters", check=True, capture_output=True, env=page_env)

    return [measure("a page's floor: a kernel started, an empty notebook executed and the kernel stopped", None,
                    lambda: run(kernel), repeat),
            measure("a page's floor: its imports (from ketapain_lib.report import book), fresh interpreter", None,
                    lambda: run([python, "-c", "from ketapain_lib.report import book"]), repeat),
            measure("a page's floor: imports and one chapter's cells, the analyses read from the cache", None,
                    lambda: run(cells), repeat)]


if __name__ == "__main__":
    main()
