"""The book's pages executed side by side, each by a Jupyter kernel, with jupyter-cache's own parallel executor.

With ``execute_notebooks: cache``, myst-nb executes the pages that the execution cache does not hold one after
another, as Sphinx reads them. Before Sphinx reads any page (``env-before-read-docs``), :func:`execute_pages`
adds the pages the cache does not hold to the cache's project, read by myst-nb's own reader plugin for MyST
notebooks, and runs them with jupyter-cache's ``local-parallel`` executor: one Jupyter kernel per page, in the
page's folder, as many at a time as the machine has cores, each stored in the cache that myst-nb then reads.
Nothing else changes: myst-nb matches each page to its cached notebook by the page's code, as on any rebuild,
and executes itself, in a kernel, any page the executor could not (its error is then reported by myst-nb, as
without this step). A single page to execute (a chapter's edit) is left to myst-nb: a pool would only add the
start of a process.

Only public interfaces are used: :func:`jupyter_cache.get_cache`, the cache's ``add_nb_to_project`` and
``match_cache_notebook``, :func:`jupyter_cache.executors.load_executor`, and myst-nb's
:func:`~myst_nb.core.read.is_myst_markdown_notebook` and its jupyter-cache reader plugin
(:func:`~myst_nb.core.read.myst_nb_reader_plugin`). myst-nb's ``execution_in_temp`` chooses the executor
that runs each page in a temporary folder (``temp-parallel``), as myst-nb itself would.
"""
from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

#: jupyter-cache's name for myst-nb's reader of MyST markdown notebooks (an entry point of myst-nb).
MYST_READER = {"type": "plugin", "name": "myst_nb_md"}
#: jupyter-cache's executors that run notebooks in parallel: each in its own folder, or each in a temporary one.
PARALLEL_EXECUTOR = "local-parallel"
PARALLEL_EXECUTOR_IN_TEMP = "temp-parallel"
#: The build's line for a page executed here (myst-nb's own says "Executed notebook in").
EXECUTED = "{page}: Executed in a Jupyter kernel of its own, beside other pages (jupyter-cache's {executor} executor)"


def execution_cache(app) -> Path:
    """Where myst-nb keeps the executed pages: the configured folder, else ``.jupyter_cache`` beside the build's
    output (jupyter-book: ``_build/.jupyter_cache``), as myst-nb decides it."""
    configured = getattr(app.config, "nb_execution_cache_path", "") or ""
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def pages_to_execute(app, cache, docnames) -> list[Path]:
    """The MyST notebooks among ``docnames`` whose code the execution ``cache`` does not hold."""
    from myst_nb.core.read import is_myst_markdown_notebook, myst_nb_reader_plugin

    excluded = app.config.nb_execution_excludepatterns
    pages = []
    for docname in sorted(docnames):
        path = Path(app.env.doc2path(docname))
        # matched from the right, as myst-nb matches its execution exclude patterns
        if path.suffix != ".md" or any(PurePosixPath(path.as_posix()).match(pattern) for pattern in excluded):
            continue
        if not is_myst_markdown_notebook(path.read_text(encoding="utf-8")):
            continue
        try:
            cache.match_cache_notebook(myst_nb_reader_plugin(str(path)))
        except KeyError:  # not in the cache: to execute
            pages.append(path)
    return pages


def execute_pages(app, env, docnames) -> None:
    """Execute the pages Sphinx is about to read that the cache lacks, side by side (see the module's text)."""
    if app.config.nb_execution_mode != "cache":
        return
    from jupyter_cache import get_cache

    cache = get_cache(execution_cache(app))
    pages = pages_to_execute(app, cache, docnames)
    if len(pages) < 2:
        return
    from jupyter_cache.executors import load_executor
    from sphinx.util import logging as sphinx_logging

    for path in pages:
        cache.add_nb_to_project(str(path), read_data=MYST_READER)
    log = logging.getLogger(__name__)
    log.setLevel(logging.WARNING)  # the executor's progress lines would repeat myst-nb's per page
    name = PARALLEL_EXECUTOR_IN_TEMP if app.config.nb_execution_in_temp else PARALLEL_EXECUTOR
    executor = load_executor(name, cache, logger=log)
    result = executor.run_and_cache(filter_uris=[str(p) for p in pages], timeout=app.config.nb_execution_timeout,
                                    allow_errors=app.config.nb_execution_allow_errors)
    report = sphinx_logging.getLogger(__name__)
    for uri in sorted(result.succeeded):
        report.info(EXECUTED.format(page=uri, executor=name))
