"""Every page is executed by a Jupyter kernel, the kernels share one report cache safely, and nothing needs fork.

* The report's cache (:func:`ketapain_lib.report.cache.memoize`) computes an entry once when several
  processes ask for it at the same time (a lock), and no reader ever sees half an entry (atomic writes).
* No code of the project forks: multiprocessing's ``fork`` start method is named nowhere, and a whole book
  build and the export run in a Python whose start method is ``spawn`` and whose ``os.fork`` fails.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ketapain_lib.report import cache

sys.path.insert(0, str(Path(__file__).parent))
from shared_book import SPAWN_ONLY, book_env, shared_build  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

RUN_EXPORT = SPAWN_ONLY + "from ketapain_lib.__main__ import main\nsys.exit(main(sys.argv[1:]))\n"


def _compute_once(arguments: tuple[str, str]) -> object:
    """A worker of the concurrency test: ask for one entry whose computation is slow and leaves a trace."""
    folder, trace = arguments
    os.environ[cache.CACHE_ENV] = folder

    def compute():
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # long enough for the other workers to ask meanwhile
        return {"value": list(range(100_000))}

    return cache.memoize("test/concurrent", "entry", compute)


@pytest.mark.slow  # starts three processes
def test_an_entry_asked_for_by_concurrent_processes_is_computed_once(tmp_path):
    trace = tmp_path / "computed.txt"
    arguments = (str(tmp_path / "cache"), str(trace))
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        values = pool.map(_compute_once, [arguments] * 3, chunksize=1)
    assert len(trace.read_text(encoding="utf-8").split()) == 1, "the entry was computed more than once"
    assert values == [{"value": list(range(100_000))}] * 3
    stored = list((tmp_path / "cache").rglob("*.pickle"))
    assert len(stored) == 1
    assert not list((tmp_path / "cache").rglob("*.partial")), "a temporary file was left behind"


def test_an_entry_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A computation that fails stores nothing (the next reader computes again), and leaves no temporary file."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))

    def failing():
        raise ValueError("no result")

    with pytest.raises(ValueError, match="no result"):
        cache.memoize("test/failing", "entry", failing)
    assert not list(tmp_path.rglob("*.pickle")) and not list(tmp_path.rglob("*.partial"))
    assert cache.memoize("test/failing", "entry", lambda: 42) == 42
    assert cache.memoize("test/failing", "entry", failing) == 42  # read back, not computed


def test_a_failed_write_leaves_the_previous_entry_and_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    path = tmp_path / "entry.pickle"
    cache._write_atomic(path, b"whole")

    def broken(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        cache._write_atomic(path, b"half")
    assert path.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.pickle"]


def test_no_code_of_the_project_names_the_fork_start_method():
    """The library, scripts, benchmarks and tests start processes by spawn-safe means only."""
    pattern = re.compile(r"""get_context\(\s*["']fork|set_start_method\(\s*["']fork|os\.fork\(|["']forkserver["']""")
    found = []
    for folder in ("ketapain_lib", "scripts", "benchmarks", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.resolve() == Path(__file__).resolve():
                continue  # this test names them to look for them
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_book_executes_its_pages_in_kernels_only():
    """The book's configuration: myst-nb's cache mode, jupyter-book's own extensions (not restated), the report's
    extension through local_extensions; the library holds no code that runs a page outside a kernel."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "cache"
    assert "extensions" not in config["sphinx"].get("config", {})
    # the report's own extensions, and nothing else, load through local_extensions
    assert config["sphinx"]["local_extensions"] == {"ketapain_lib.report.sphinx_ext": "./",
                                                    "ketapain_lib.report.reader_html": "./"}
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "ketapain_lib").rglob("*.py"))
    for shortcut in ("InteractiveShell", "cache_notebook_bundle", "check_validity", "display_trap"):
        assert shortcut not in sources, shortcut
    assert not (ROOT / "ketapain_lib" / "report" / "prerun.py").exists()
    assert not (ROOT / "ketapain_lib" / "report" / "watch.py").exists()


@pytest.fixture(scope="module")
def spawn_build(tmp_path_factory) -> tuple[Path, str, int]:
    """The session's cold build of the shipped book, made in a Python that cannot fork
    (:data:`shared_book.SPAWN_ONLY`): (folder, log, status)."""
    out, log, status, _ = shared_build(tmp_path_factory, "shipped")
    return out, log, status


@pytest.mark.slow  # a whole cold build of the book, and the export
def test_the_whole_book_builds_and_exports_under_the_spawn_start_method(spawn_build, tmp_path):
    out, log, status = spawn_build
    env = book_env()
    assert status == 0, log[-4000:]
    assert "relies on fork" not in log
    from test_book import EXECUTED_PAGE

    pages = sorted(p.stem for p in (ROOT / "chapters").glob("*.md"))
    assert sorted(EXECUTED_PAGE.findall(log)) == pages  # every page by a kernel of its own
    # side by side, by jupyter-cache's parallel executor, whose pool of processes started by spawn
    assert sorted(re.findall(r"chapters/(\w+)\.md: Executed in a Jupyter kernel of its own, beside", log)) == pages
    html = out / "_build" / "html"
    assert all((html / "chapters" / f"{page}.html").is_file() for page in pages)
    sys.path.insert(0, str(ROOT / "scripts"))
    from export_manifest import manifest

    recorded = json.loads((ROOT / "tests" / "reference" / "export_sha256.json").read_text(encoding="utf-8"))
    assert manifest(html / "downloads") == recorded  # the build's export for the download links, byte for byte
    export = subprocess.run([sys.executable, "-c", RUN_EXPORT, "ketapain_lib", "export", "--out",
                             str(tmp_path / "export")], capture_output=True, text=True, cwd=ROOT, check=False,
                            env={**env, cache.CACHE_ENV: str(tmp_path / "cache")})
    assert export.returncode == 0, (export.stdout + export.stderr)[-4000:]
    assert manifest(tmp_path / "export") == recorded


@pytest.mark.slow  # a live preview over a built copy of the book
def test_the_live_preview_publishes_a_prose_edit_without_executing(spawn_build, tmp_path):
    """The README's preview: sphinx-autobuild over jupyter-book's generated conf.py, sharing the build's
    execution cache. Its first build executes nothing (the pages are in the cache); a prose edit is published;
    the build's own files do not set it rebuilding again and again."""
    import shutil

    built, _, status = spawn_build
    assert status == 0
    book = tmp_path / "book"
    shutil.copytree(ROOT / "chapters", book / "chapters", ignore=shutil.ignore_patterns("*.ipynb"))
    for name in ("intro.md", "references.md", "_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(ROOT / name, book / name)
    shutil.copytree(built / "_build", book / "_build")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^\.venv/bin/jupyter-book config sphinx \. && (\.venv/bin/sphinx-autobuild .+)$", readme,
                        re.MULTILINE)
    assert command, "the README's preview command"
    bin_folder = Path(sys.executable).parent
    subprocess.run([str(bin_folder / "jupyter-book"), "config", "sphinx", "."], cwd=book, check=True,
                   capture_output=True)
    arguments = command.group(1).replace('"', "").split()
    arguments[0] = str(bin_folder / "sphinx-autobuild")
    arguments = [str(ROOT / "ketapain_lib") if argument == "ketapain_lib" else argument for argument in arguments]
    preview = subprocess.Popen([*arguments, "--port", "0"], cwd=book, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**book_env(), "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []

    def until(text: str) -> str:
        for line in preview.stdout:
            lines.append(line)
            if text in line:
                return line
        raise AssertionError("the preview ended:\n" + "".join(lines[-40:]))

    try:
        address = re.search(r"http://[\w.:]+", until("Serving on")).group(0)
        for _ in range(120):  # the server answers once it watches the files
            try:
                urllib.request.urlopen(address, timeout=5).close()
                break
            except OSError:
                time.sleep(0.5)
        first = len(lines)
        with (book / "chapters" / "05_safety.md").open("a", encoding="utf-8") as page:
            page.write("\nA sentence the preview must publish.\n")
        until("Rebuilding")
        until("build succeeded")
        time.sleep(3)  # a rebuild set off by the build's own files would start now
    finally:
        preview.terminate()
        rest, _ = preview.communicate(timeout=30)
        lines.append(rest)
    log = "".join(lines)
    from test_book import EXECUTING

    assert not EXECUTING.search(log), log[-3000:]
    assert "".join(lines[first:]).count("Rebuilding") == 1, log[-3000:]
    assert "A sentence the preview must publish." in \
        (book / "_build" / "html" / "chapters" / "05_safety.html").read_text(encoding="utf-8")
