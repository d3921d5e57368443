"""Execute the book's notebooks before Sphinx reads them: two processes, one import, each analysis computed once.

myst-nb executes each notebook in a kernel of its own, one after the other: every page pays for a kernel,
for importing pandas, SciPy and matplotlib, and for loading the shared analyses. Here, before Sphinx reads
any page, the notebooks that jupyter-cache does not hold yet are executed by two forked worker processes
that share the parent's imports (and a copy of the loaded trial). In order:

1. the analyses of :data:`ketapain_lib.report.results.ANALYSES`, one task each, the slowest first and the
   ledger (which reads the others) last, each stored in the report's cache;
2. every figure drawn once as SVG (:func:`ketapain_lib.report.registry.figure_bytes`), for its page and
   the export;
3. the notebooks, cell by cell, in an IPython shell inside each worker. Their outputs (display data,
   results, streams) are stored in jupyter-cache under the notebook's own hash, where myst-nb's ``cache``
   mode finds them: the same outputs as a kernel's (a test of the book compares them with the reviewed
   notebooks), hence the same pages;
4. in the background while Sphinx reads and writes the pages in the parent, the export's PNGs, then the
   export itself, which the build waits for before it ends.

A notebook that fails here is left out of the cache, so myst-nb runs it in a kernel as usual and reports
its error in its own words.

Examples
--------
In ``_config.yml`` this runs through :mod:`ketapain_lib.report.sphinx_ext`; from Python::

    executed, wait = prerun_notebooks(notebooks, cache_path)   # [(path, seconds or error)], a no-op here
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path

#: Worker processes: the machine's two cores.
PROCESSES = 2
#: The slowest analyses, started first, each late enough that what it reads is done ("beyond" reads
#: "missing_data", the slowest on large trials); the others follow in the order of ``ANALYSES``.
FIRST_ANALYSES = ("missing_data", "auc_table", "questionnaires", "model_comparison", "beyond")
#: Analyses that read most others: computed once all the others are stored, so that none is computed twice.
LAST_ANALYSES = ("ledger",)


def notebooks_to_run(app) -> list[tuple[str, object]]:
    """The book's notebooks (as myst-nb reads them) that jupyter-cache does not hold, as (path, notebook)."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import create_nb_reader

    cache = get_cache(app.env.mystnb_config.execution_cache_path)
    source = Path(app.srcdir)
    todo = []
    for path in sorted([*source.glob("*.md"), *source.glob("chapters/*.md")]):
        text = path.read_text(encoding="utf-8")
        reader = create_nb_reader(str(path), app.env.myst_config, app.env.mystnb_config, text)
        if reader is None:
            continue
        notebook = reader.read(text)
        try:
            cache.match_cache_notebook(notebook)
        except KeyError:
            todo.append((str(path), notebook))
    return todo


def prerun_notebooks(notebooks: list[tuple[str, object]], cache_path: str,
                     downloads: str | None = None) -> tuple[list[tuple[str, object]], Callable[[], None]]:
    """Execute ``notebooks`` in :data:`PROCESSES` forked workers and store them in jupyter-cache.

    Returns (path, seconds) for each notebook stored, or (path, error message) for one left to myst-nb, and a
    function that waits for the export. With ``downloads``, the export (every table as CSV, every figure as
    PNG and SVG, the ledger) is written there by the same workers, for the pages' download links: its PNGs
    are drawn in the background while Sphinx, in this process, reads and writes the pages (one core each),
    and the returned function waits for them (call it before the build ends).
    """
    if not notebooks:
        return [], lambda: None
    from .registry import OUTPUTS

    figures = [name for name, entry in OUTPUTS.items() if entry.kind == "figure"]
    # the longest pages first, so that neither worker is left with a long one at the end
    ordered = sorted(notebooks, key=lambda item: -len(item[1].cells))
    pool = _forked_pool(PROCESSES)
    try:
        _analyses_in(pool)
        # each figure drawn once for the pages (SVG), stored in the report's cache
        pool.starmap(_render_figure, [(name, "svg") for name in figures], chunksize=1)
        executed = pool.starmap(_execute, ordered, chunksize=1)
        # the export's PNGs, while this process stores the pages and Sphinx reads and writes them
        rasters = [pool.apply_async(_render_figure, (name, "png")) for name in figures] if downloads else []
    except BaseException:
        pool.terminate()
        raise
    report = _store(ordered, executed, cache_path)

    def wait_for_downloads() -> None:
        try:
            for raster in rasters:
                raster.get()
            if downloads:
                pool.apply(export_downloads, (downloads,))  # the files only: every figure is drawn
        finally:
            pool.close()
            pool.join()
    return report, wait_for_downloads


def _store(ordered: list, executed: list, cache_path: str) -> list[tuple[str, object]]:
    """Store each executed notebook in jupyter-cache; (path, seconds), or (path, error) for one that failed."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(cache_path)
    report = []
    for (path, _), (notebook, outcome) in zip(ordered, executed):
        if notebook is not None:
            cache.cache_notebook_bundle(CacheBundleIn(notebook, path, data={"execution_seconds": outcome}),
                                        check_validity=False, overwrite=True)
        report.append((path, outcome))
    return report


def export_downloads(folder: str) -> int:
    """The export of the book's data into the HTML build's download folder (:mod:`ketapain_lib.report.export`);
    files written."""
    from . import book
    from .export import export_all

    trial = book.load_trial()
    return len(export_all(trial, folder, book.results(trial)))


def analysis_phases() -> list[list[str]]:
    """The analyses of :data:`~ketapain_lib.report.results.ANALYSES` in two phases: every one but
    :data:`LAST_ANALYSES`, the slowest first (:data:`FIRST_ANALYSES`), then those."""
    from .results import ANALYSES

    ordered = [*FIRST_ANALYSES, *(name for name in ANALYSES if name not in FIRST_ANALYSES)]
    return [[name for name in ordered if name not in LAST_ANALYSES], list(LAST_ANALYSES)]


def compute_analyses(directory=None, processes: int = PROCESSES) -> None:
    """Every analysis of the report for the data in ``directory``, as the build computes them: in ``processes``
    forked workers that store each one in the report's cache (``$KETAPAIN_CACHE_DIR``), the slowest first.

    The build's pre-execution starts with this step; the analysis benchmark times it beside the one-process
    :meth:`~ketapain_lib.report.results.Results.compute_all`.
    """
    with _forked_pool(processes, directory) as pool:
        _analyses_in(pool, directory)


def _forked_pool(processes: int, directory=None):
    """Worker processes forked from this one once it has imported the report and loaded the trial (which the
    workers then share) and frozen its heap."""
    from . import book

    book.load_trial(directory)  # read and validated once, here: the forked workers get copies of it
    # the parent's objects (imports, the trial) go to the permanent generation: the workers' collections, one per
    # page when its namespace is reset, then scan only what the pages made (and the forked pages share memory)
    gc.freeze()
    try:
        return multiprocessing.get_context("fork").Pool(processes)
    finally:
        gc.unfreeze()


def _analyses_in(pool, directory=None) -> None:
    """Every analysis stored in the report's cache by ``pool``: one task each, in :func:`analysis_phases`."""
    for phase in analysis_phases():
        pool.starmap(_compute_analysis, [(name, directory) for name in phase], chunksize=1)


def _compute_analysis(name: str, directory=None) -> None:
    # the workers are forked after the parent loaded the trial: book.load_trial hands them its copy, so no
    # task sends the data through a pipe
    from . import book

    book.results(book.load_trial(directory))[name]


def _render_figure(name: str, suffix: str) -> None:
    from . import book, registry

    registry.figure_bytes(book.results(book.load_trial()), name, suffix)


_SHELL: list = []  # the worker's one shell, made on first use


def _shell():
    """The worker's IPython shell, whose displays and results are collected instead of printed."""
    if _SHELL:
        return _SHELL[0]
    from IPython.core.displayhook import DisplayHook
    from IPython.core.interactiveshell import InteractiveShell

    class ResultHook(DisplayHook):
        """Keeps a cell's result as a mime bundle, as a kernel's ``execute_result`` carries it."""

        results: list = []

        def __call__(self, result=None):
            if result is not None:
                self.results.append(self.shell.display_formatter.format(result))

    shell = InteractiveShell.instance()
    hook = ResultHook(shell=shell)
    shell.displayhook = hook
    shell.display_trap.hook = hook
    _SHELL.append(shell)
    return shell


def _execute(path: str, notebook) -> tuple[object, object]:
    """Run the code cells of ``notebook`` in a fresh namespace; (notebook with outputs, seconds) or (None, error)."""
    import nbformat
    from IPython.utils.capture import capture_output

    shell = _shell()
    shell.reset(new_session=False)
    os.chdir(Path(path).parent)
    start = time.perf_counter()
    count = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        shell.displayhook.results = []
        with capture_output() as captured:
            outcome = shell.run_cell(cell.source, store_history=False)
        if not outcome.success:
            error = outcome.error_in_exec or outcome.error_before_exec
            return None, f"cell {count}: {type(error).__name__}: {error}"
        outputs = [nbformat.v4.new_output("stream", name=name, text=text)
                   for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)) if text]
        outputs += [nbformat.v4.new_output("display_data", data=shown.data, metadata=shown.metadata)
                    for shown in captured.outputs]
        outputs += [nbformat.v4.new_output("execute_result", data=data, metadata=metadata, execution_count=count)
                    for data, metadata in shell.displayhook.results]
        cell.outputs = outputs
        cell.execution_count = count
    return notebook, time.perf_counter() - start
