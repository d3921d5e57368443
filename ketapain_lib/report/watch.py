"""The author's preview loop: rebuild the book whenever one of its sources changes, in one warm process.

``python -m ketapain_lib watch`` builds the book as the README's command does (``jupyter-book build . -W -n
--keep-going``, here in this process), then looks at the book's files every ``--interval`` seconds:

* a page, the table of contents, the configuration or the bibliography changed: the book is built again in
  this process, whose imports (jupyter-book, Sphinx and its extensions: 2 to 3 seconds of every command-line
  build, a whole unchanged rebuild) are already done. Sphinx reads and writes what changed; myst-nb runs a
  page whose code changed in a kernel, from its cache otherwise;
* the library, the pins or the data changed: the process starts itself again, so that the build (and the
  pre-execution it forks) imports the edited library, and every page is executed again
  (:mod:`ketapain_lib.report.sphinx_ext`).

Each build ends with one line, ``[ketapain watch] built in 0.84 s``, then the loop waits for the next change;
Ctrl-C stops it. A failed build prints its errors and the loop goes on.
"""
from __future__ import annotations

import copy
import gc
import os
import sys
import time
from pathlib import Path

from ..rawdata.location import data_dir

#: The book's own sources: a change is rebuilt in the running process.
BOOK_PATTERNS = ("*.md", "chapters/*.md", "_toc.yml", "_config.yml", "*.bib")
#: What the pages are computed from: a change restarts the process, whose modules must be the edited ones.
LIBRARY_PATTERNS = ("ketapain_lib/**/*.py", "ketapain_lib/**/*.csv", "requirements.txt")
#: The command line of the build, as the README gives it.
BUILD_ARGUMENTS = ("-W", "-n", "--keep-going")
#: The line that ends each build (a benchmark waits for it).
BUILT = "[ketapain watch] built in"


def snapshot(root: Path, patterns: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """(modification time, size) of every file matching ``patterns`` under ``root``, by path."""
    found = {}
    for pattern in patterns:
        for path in root.glob(pattern):
            if path.is_file() and "_build" not in path.parts and "__pycache__" not in path.parts:
                stat = path.stat()
                found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


def _data_snapshot() -> dict[str, tuple[int, int]]:
    folder = data_dir()
    return snapshot(folder, ("*",)) if folder.is_dir() else {}


_PRISTINE: dict[str, object] = {}  # Sphinx's mutable option defaults, as they were before the first build


def _restore_sphinx_defaults() -> None:
    """Put Sphinx's mutable option defaults back as they were before the first build.

    Sphinx keeps each option's default as one object, and the themes extend some of them in place (they append
    their folders to the default ``templates_path``): a second build in the same process would start from the
    first one's additions, find its configuration changed and write every page again.
    """
    from sphinx.config import Config

    if not _PRISTINE:
        _PRISTINE.update((name, copy.deepcopy(option.default)) for name, option in Config.config_values.items()
                         if isinstance(option.default, (list, dict, set)))
    for name, pristine in _PRISTINE.items():
        default = Config.config_values[name].default
        default.clear()
        default.update(pristine) if isinstance(default, (dict, set)) else default.extend(pristine)


def build(root: Path) -> bool:
    """Build the book in this process, as ``jupyter-book build`` does; whether it succeeded."""
    from jupyter_book.cli.main import build as jupyter_book_build

    _restore_sphinx_defaults()
    start = time.perf_counter()
    try:
        jupyter_book_build.main(args=[str(root), *BUILD_ARGUMENTS], standalone_mode=False)
        succeeded = True
    except SystemExit as stop:  # jupyter-book ends a failed build with sys.exit
        succeeded = stop.code in (0, None)
    except Exception as error:  # noqa: BLE001 - the author fixes the page and saves again
        print(f"[ketapain watch] the build failed: {type(error).__name__}: {error}", file=sys.stderr)
        succeeded = False
    # the build freezes the heap for a quick exit (sphinx_ext._quick_exit); this process goes on
    gc.unfreeze()
    state = "built" if succeeded else "failed"
    print(f"[ketapain watch] {state} in {time.perf_counter() - start:.2f} s; watching for changes (Ctrl-C stops)",
          flush=True)
    return succeeded


def watch(root: Path, interval: float = 0.25) -> int:
    """Build, then rebuild on every change of the book's sources until interrupted (see the module).

    A folder without a ``_config.yml`` or a non-positive interval is refused in one line (exit status 2).
    """
    root = root.resolve()
    if not (root / "_config.yml").is_file():
        print(f"watch: {root} is not a book: it has no _config.yml", file=sys.stderr)
        return 2
    if not interval > 0:
        print(f"watch: --interval must be a positive number of seconds, not {interval}", file=sys.stderr)
        return 2
    os.chdir(root)
    pages, library = snapshot(root, BOOK_PATTERNS), (snapshot(root, LIBRARY_PATTERNS), _data_snapshot())
    build(root)
    try:
        while True:
            time.sleep(interval)
            if (snapshot(root, LIBRARY_PATTERNS), _data_snapshot()) != library:
                print("[ketapain watch] the library, the pins or the data changed: starting again", flush=True)
                os.execv(sys.executable, [sys.executable, "-m", "ketapain_lib", "watch", str(root),
                                          "--interval", str(interval)])
            current = snapshot(root, BOOK_PATTERNS)
            if current != pages:
                pages = current
                build(root)
    except KeyboardInterrupt:
        return 0
