"""Execute the book's notebooks beside Sphinx: two processes, one import, each analysis computed once.

myst-nb executes each notebook in a kernel of its own, one after the other: every page pays for a kernel,
for importing pandas, SciPy and matplotlib, and for loading the shared analyses. Here a driver process,
forked as soon as the build knows its inputs changed (:mod:`ketapain_lib.report.sphinx_ext` loads first),
imports the report while Sphinx starts up; the notebooks that jupyter-cache does not hold yet are then
executed by its two forked worker processes, which share its imports (and a copy of the loaded trial),
while Sphinx, in the parent, reads each page as soon as its notebook is stored. In order:

1. the analyses of :data:`ketapain_lib.report.results.ANALYSES`, one task each, the slowest first; then
   the ledger (which reads the others) beside every figure drawn once as SVG
   (:func:`ketapain_lib.report.registry.figure_bytes`), for its page and the export;
2. the notebooks, in the order Sphinx reads them, cell by cell, in an IPython shell inside each worker.
   Each is stored in jupyter-cache under the notebook's own hash as soon as it is done, where myst-nb's
   ``cache`` mode finds it: the same outputs as a kernel's (a test of the book compares them with the
   reviewed notebooks), hence the same pages. Sphinx waits for a page's notebook before reading the page
   (:meth:`Prerun.wait_for`);
3. while Sphinx writes the pages, the export's PNGs, each from the figure its worker drew for the SVG
   (the same bytes as a new drawing, without drawing again), then the export itself, which the build waits
   for before it ends (:meth:`Prerun.finish`).

A notebook that fails here is left out of the cache, so myst-nb runs it in a kernel as usual and reports
its error in its own words; so does every notebook if a shared step fails.

Examples
--------
In ``_config.yml`` this runs through :mod:`ketapain_lib.report.sphinx_ext`; from Python::

    running = Prerun(downloads)               # the driver starts at once: imports, analyses, figures
    running.run(notebooks, cache_path)        # the notebooks Sphinx found to run
    running.wait_for(path)                    # seconds, or the error that left it to myst-nb
    running.finish()                          # the export is written
"""
from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import threading
import time
from pathlib import Path

#: Worker processes: the machine's two cores.
PROCESSES = 2
#: The slowest analyses, started first, each late enough that what it reads is done ("beyond" reads
#: "missing_data", the slowest on large trials); the others follow in the order of ``ANALYSES``.
FIRST_ANALYSES = ("missing_data", "auc_table", "questionnaires", "model_comparison", "beyond")
#: Analyses that read most others: computed once all the others are stored, so that none is computed twice.
LAST_ANALYSES = ("ledger",)
#: The slowest figures to draw, started first beside the ledger; the others follow in the registry's order.
FIRST_FIGURES = ("model_choice_forest", "figure2_daily_pain", "missing_data_forest", "figure4a_patients_day7",
                 "figure4b_patients_day35")
#: How long a worker waits for the other at the start of the PNG step before drawing on its own (seconds).
BARRIER_SECONDS = 60


def notebooks_to_run(app) -> list[tuple[str, object]]:
    """The book's notebooks (as myst-nb reads them) that jupyter-cache does not hold, as (path, notebook),
    in the order Sphinx reads them (by document name)."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import create_nb_reader

    cache = get_cache(app.env.mystnb_config.execution_cache_path)
    source = Path(app.srcdir)
    todo = []
    for path in sorted([*source.glob("*.md"), *source.glob("chapters/*.md")],
                       key=lambda p: p.relative_to(source).with_suffix("").as_posix()):
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


class Prerun:
    """The pre-execution, in a process of its own forked at once (the *driver*): it imports the report, loads
    the trial and computes the analyses and figures while Sphinx, in this process, starts up and finds the
    notebooks to run (:meth:`run`); it then executes them in its two forked workers, stores each in
    jupyter-cache, and with ``downloads`` writes the export there (every table as CSV, every figure as PNG and
    SVG, the ledger), for the pages' download links.
    """

    def __init__(self, downloads: str | None = None):
        self.started = time.perf_counter()
        context = multiprocessing.get_context("fork")
        self._connection, driver_end = context.Pipe()
        self._driver = context.Process(target=_drive, args=(driver_end, downloads), name="ketapain-prerun")
        self._driver.start()
        driver_end.close()
        self._notebooks: list[tuple[str, object]] = []
        self._outcomes: dict[str, object] = {}
        self._done: dict[str, threading.Event] = {}
        self._listener: threading.Thread | None = None
        atexit.register(self.stop)  # a build that stops early (bad data, an error) does not wait for it

    def run(self, notebooks: list[tuple[str, object]], cache_path: str) -> None:
        """Hand the driver the notebooks (path, notebook) to execute and store in the jupyter-cache at
        ``cache_path``; a thread of this process then follows their progress."""
        self._notebooks = list(notebooks)
        self._done = {_key(path): threading.Event() for path, _ in self._notebooks}
        self._connection.send((self._notebooks, cache_path))
        self._listener = threading.Thread(target=self._listen, daemon=True)
        self._listener.start()

    def wait_for(self, path: str) -> object:
        """Seconds the notebook at ``path`` took, or the error that left it to myst-nb, once it is stored;
        None for a page this pre-execution does not run."""
        done = self._done.get(_key(path))
        if done is None:
            return None
        done.wait()
        return self._outcomes[_key(path)]

    def outcomes(self) -> list[tuple[str, object]]:
        """(path, seconds or error) of every notebook, once all are stored."""
        return [(path, self.wait_for(path)) for path, _ in self._notebooks]

    def finish(self) -> None:
        """Wait for the export, and for the driver to end."""
        if self._listener is not None:
            self._listener.join()
        self._driver.join()

    def stop(self) -> None:
        """End the driver and its workers now, whatever they are doing."""
        if self._driver.is_alive():
            self._driver.terminate()
            self._driver.join()

    def _listen(self) -> None:
        error = "not executed"
        try:
            while True:
                message = self._connection.recv()
                if message[0] == "end":
                    error = message[1] or error
                    break
                _, path, outcome = message
                self._outcomes[_key(path)] = outcome
                self._done[_key(path)].set()
        except (EOFError, OSError):
            error = "the pre-execution's process ended"
        finally:
            for path, _ in self._notebooks:  # every page left is myst-nb's, which reports any error itself
                self._outcomes.setdefault(_key(path), error)
                self._done[_key(path)].set()


def _drive(connection, downloads: str | None) -> None:
    """The driver process: the shared steps, then the notebooks it is sent, then the export."""
    from .registry import OUTPUTS

    error = None
    try:
        # what the library imports only when it first draws or displays, every page needs: imported once, here
        import great_tables  # noqa: F401
        import IPython.core.interactiveshell  # noqa: F401
        import matplotlib.figure  # noqa: F401
        from IPython.display import HTML  # noqa: F401

        with _forked_pool(PROCESSES) as pool:
            phases = analysis_phases()
            pool.starmap(_task, [("analysis", name) for name in phases[0]], chunksize=1)
            # the ledger reads the other analyses, the figures too: beside each other, neither waits for the other
            figures = _slowest_first([name for name, entry in OUTPUTS.items() if entry.kind == "figure"], FIRST_FIGURES)
            # queued before the pages, which start as the last of them do: a page that finds a figure still
            # being drawn draws it too (the same bytes, stored once)
            drawn = pool.starmap_async(_task, [*(("analysis", name) for name in phases[1]),
                                               *(("svg", name) for name in figures)], chunksize=1)
            notebooks, cache_path = connection.recv()
            _execute_and_store(pool, notebooks, cache_path, connection)
            drawn.get()
            if downloads and notebooks:
                # each worker first draws the PNGs of the figures it holds from their SVGs, then any left
                pool.map(_held_pngs, range(PROCESSES), chunksize=1)
                pool.starmap(_task, [("png", name) for name in figures], chunksize=1)
                pool.apply(export_downloads, (downloads,))  # the files only: every figure is drawn
    except BaseException as failure:  # noqa: BLE001 - the pages then go to myst-nb, which reports it
        error = f"pre-execution stopped ({type(failure).__name__}: {failure})"
    try:
        connection.send(("end", error))
    except (BrokenPipeError, OSError):
        pass  # the build is over


def _execute_and_store(pool, notebooks: list, cache_path: str, connection) -> None:
    """Execute ``notebooks`` in ``pool`` in their order, storing each in jupyter-cache as soon as it is done."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(cache_path)
    for (path, _), (notebook, outcome) in zip(notebooks, pool.imap(_execute_task, notebooks, chunksize=1)):
        if notebook is not None:
            cache.cache_notebook_bundle(CacheBundleIn(notebook, path, data={"execution_seconds": outcome}),
                                        check_validity=False, overwrite=True)
        connection.send(("page", path, outcome))


def _key(path: str) -> str:
    return str(Path(path).resolve())


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

    ordered = _slowest_first(ANALYSES, FIRST_ANALYSES)
    return [[name for name in ordered if name not in LAST_ANALYSES], list(LAST_ANALYSES)]


def _slowest_first(names, slowest: tuple[str, ...]) -> list[str]:
    """``names`` with those of ``slowest`` first, in its order: two workers then end together."""
    return [*(name for name in slowest if name in names), *(name for name in names if name not in slowest)]


def compute_analyses(directory=None, processes: int = PROCESSES) -> None:
    """Every analysis of the report for the data in ``directory``, as the build computes them: in ``processes``
    forked workers that store each one in the report's cache (``$KETAPAIN_CACHE_DIR``), the slowest first.

    The build's pre-execution starts with these phases; the analysis benchmark times this beside the
    one-process :meth:`~ketapain_lib.report.results.Results.compute_all`.
    """
    with _forked_pool(processes, directory) as pool:
        for phase in analysis_phases():
            pool.starmap(_task, [("analysis", name, directory) for name in phase], chunksize=1)


_BARRIER: list = []  # the workers' meeting point at the PNG step, made before they are forked


def _forked_pool(processes: int, directory=None):
    """Worker processes forked from this one once it has imported the report and loaded the trial (which the
    workers then share) and frozen its heap."""
    from . import book

    book.load_trial(directory)  # read and validated once, here: the forked workers get copies of it
    context = multiprocessing.get_context("fork")
    _BARRIER[:] = [context.Barrier(processes)]
    # the parent's objects (imports, the trial) go to the permanent generation: the workers' collections then
    # scan only what they made (and the forked workers share those pages of memory)
    gc.freeze()
    try:
        return context.Pool(processes)
    finally:
        gc.unfreeze()


def _task(kind: str, name: str, directory=None) -> None:
    """One step of the pre-execution in a worker: an analysis stored in the report's cache, or a figure drawn
    as ``kind`` (svg, png) and stored there. The workers were forked after the parent loaded the trial:
    book.load_trial hands them its copy, so no task sends the data through a pipe."""
    from . import book, registry

    results = book.results(book.load_trial(directory))
    if kind == "analysis":
        results[name]
    else:
        registry.figure_bytes(results, name, kind)


def _held_pngs(_: int) -> None:
    """The PNG of every figure this worker drew (as SVG), from the same drawing. Each of the pool's workers
    takes one of these tasks: each waits for the others first."""
    from . import book, registry

    try:
        _BARRIER[0].wait(BARRIER_SECONDS)
    except threading.BrokenBarrierError:
        pass  # a worker was replaced: the figures it held are drawn again by the next step
    results = book.results(book.load_trial())
    for name in registry.held_figures(results):
        registry.figure_bytes(results, name, "png")


_SHELL: list = []  # the worker's one shell, made on first use


def _shell():
    """The worker's IPython shell, whose displays and results are collected instead of printed."""
    if _SHELL:
        return _SHELL[0]
    from IPython.core.displayhook import DisplayHook
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class ResultHook(DisplayHook):
        """Keeps a cell's result as a mime bundle, as a kernel's ``execute_result`` carries it."""

        results: list = []

        def __call__(self, result=None):
            if result is not None:
                self.results.append(self.shell.display_formatter.format(result))

        def flush(self):
            # a namespace reset ends with DisplayHook.flush: it forgets the output history, which this hook never
            # fills, and runs a full collection (a tenth of a page's time); the pages' garbage is collected
            # as Python always does, by generations
            pass

    settings = Config()
    settings.HistoryManager.enabled = False  # a page's cells are not the user's history (nor a thread's work)
    shell = InteractiveShell.instance(config=settings)
    hook = ResultHook(shell=shell)
    shell.displayhook = hook
    shell.display_trap.hook = hook
    _SHELL.append(shell)
    # what the worker holds before its first page (the analyses, the figures) lives on: the collections during
    # the pages then scan only what the pages made
    gc.freeze()
    return shell


def _execute_task(item: tuple[str, object]) -> tuple[object, object]:
    return _execute(*item)


def _execute(path: str, notebook) -> tuple[object, object]:
    """Run the code cells of ``notebook`` in a fresh namespace; (notebook with outputs, seconds) or (None, error).

    The outputs are those a kernel's messages give (``nbformat.v4.output_from_msg``), built without
    validating each against the notebook schema: jupyter-cache stores them, and nbval compares them.
    """
    from IPython.utils.capture import capture_output
    from nbformat import NotebookNode

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
        outputs = [NotebookNode(output_type="stream", name=name, text=text)
                   for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)) if text]
        outputs += [NotebookNode(output_type="display_data", metadata=shown.metadata, data=shown.data)
                    for shown in captured.outputs]
        outputs += [NotebookNode(output_type="execute_result", metadata=metadata, data=data, execution_count=count)
                    for data, metadata in shell.displayhook.results]
        cell.outputs = outputs
        cell.execution_count = count
    return notebook, time.perf_counter() - start
