"""Benchmark of the book's build cycle, on a fresh clone of the repository (the environment installed).

    python benchmarks/bench_book.py [--repeat 3]

Times, with ``--repeat`` runs each (median and range, recorded in ``benchmarks/results.csv``): a cold build
(no ``_build``, nothing cached), a rebuild after a change in the library (every page executes again), an
unchanged rebuild, a rebuild after editing one chapter's prose, and the export command. Targets: 15, 15,
1.5, 2 and 15 seconds on the 2-core reference machine. Then the author's preview loop
(``python -m ketapain_lib watch``): from saving an edit of one chapter's prose to the end of the rebuild in
the warm process, against the prose edit's target; and, for scale, the unchanged rebuild of a one-page book
with jupyter-book's default configuration (no code, no extension of ours): the command's own floor on this
machine. A benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from record import measure, record

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "report"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(copy)], check=True)
        build = [str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"]

        def cold():
            shutil.rmtree(copy / "_build", ignore_errors=True)
            run(build, copy)

        library_file = copy / "ketapain_lib" / "report" / "prose.py"
        edits = iter(range(1000))

        def library_change():
            with library_file.open("a", encoding="utf-8") as handle:
                handle.write(f"# benchmark edit {next(edits)}\n")
            run(build, copy)

        chapter = copy / "chapters" / "05_safety.md"

        def prose_edit():
            with chapter.open("a", encoding="utf-8") as handle:
                handle.write(f"\nAn edited sentence of prose, number {next(edits)}.\n")
            run(build, copy)

        export = [str(BIN / "python"), "-m", "ketapain_lib", "export", "--out", str(Path(scratch) / "export")]
        watched = watch_rows(copy, chapter, edits, args.repeat)
        floor = Path(scratch) / "one_page_book"
        floor.mkdir()
        (floor / "_config.yml").write_text("title: One page\n", encoding="utf-8")
        (floor / "_toc.yml").write_text("format: jb-book\nroot: intro\n", encoding="utf-8")
        (floor / "intro.md").write_text("# One page\n\nNothing to execute.\n", encoding="utf-8")
        one_page = [str(BIN / "jupyter-book"), "build", "."]
        run(one_page, floor)
        rows = [measure("cold build (no _build)", 15, cold, args.repeat),
                measure("rebuild after a library change (every page executes)", 15, library_change, args.repeat),
                measure("unchanged rebuild", 1.5, lambda: run(build, copy), args.repeat),
                measure("rebuild after editing one chapter's prose", 2, prose_edit, args.repeat),
                measure("export command (every table and figure, cold)", 15,
                        lambda: run(export, copy), args.repeat), *watched,
                measure("for scale: unchanged rebuild of a one-page book, jupyter-book's defaults (no code)", None,
                        lambda: run(one_page, floor), args.repeat)]
    record("book", rows)


def watch_rows(copy: Path, chapter: Path, edits, repeat: int) -> list:
    """The preview loop's latency: from saving a prose edit to the end of its rebuild, in the warm process."""
    from ketapain_lib.report.watch import BUILT

    watcher = subprocess.Popen([str(BIN / "python"), "-u", "-m", "ketapain_lib", "watch", ".", "--interval", "0.1"],
                               cwd=copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def until_built() -> None:
        for line in watcher.stdout:
            if line.startswith(BUILT):
                return
            if "[ketapain watch] failed" in line:
                raise RuntimeError(line)
        raise RuntimeError("the watch loop ended")

    def prose_edit() -> None:
        with chapter.open("a", encoding="utf-8") as handle:
            handle.write(f"\nAn edited sentence of prose, number {next(edits)}.\n")
        until_built()

    try:
        until_built()  # the first build of the loop
        return [measure("rebuild after editing one chapter's prose, in the watch loop (python -m ketapain_lib "
                        "watch)", 2, prose_edit, repeat)]
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)


if __name__ == "__main__":
    main()
