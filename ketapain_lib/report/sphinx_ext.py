"""Sphinx extension of the book: the data-provenance banner, and an execution cache that knows its inputs.

* **Banner.** An announcement on every page saying where the data come from,
  decided at build time from the data directory the book reads
  (``$KETAPAIN_DATA`` or the shipped synthetic data).
* **Cache invalidation.** jupyter-cache keys a notebook on its cell sources
  only, so a change in ``ketapain_lib``, the published-results file, the pins
  or the raw data would leave stale outputs. This extension hashes those
  inputs; when the hash differs from the one stamped after the last build, it
  empties the execution cache and marks every page outdated, so everything is
  executed and rendered again. An unchanged rebuild executes nothing.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from . import cache
from ..rawdata.load import DATA_DIR_ENV, SYNTHETIC_MARKER, data_dir

SYNTHETIC_BANNER = (
    "Synthetic data: every number in this book is computed from a simulated dataset calibrated to the "
    f"published summaries of the KETAPAIN trial, not from patients. Set {DATA_DIR_ENV} to a real export to "
    "build the real report."
)
STAMP = "ketapain_inputs.sha256"


def inputs_hash(directory: Path | None = None) -> str:
    """SHA-256 over the library's code and data files and the pins (:func:`cache.library_hash`) and the raw data."""
    digest = hashlib.sha256(cache.library_hash().encode())
    directory = data_dir(directory)
    paths = sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []
    for path in paths:
        digest.update(f"data:{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _announce(app, config) -> None:
    directory = data_dir()
    text = SYNTHETIC_BANNER if (directory / SYNTHETIC_MARKER).is_file() else f"Data: raw export in {directory.name}"
    options = dict(config.html_theme_options or {})
    options["announcement"] = text
    config.html_theme_options = options


def _cache_dir(app) -> Path:
    configured = getattr(app.config, "nb_execution_cache_path", "") or ""
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def _check_inputs(app, config) -> None:
    execution_cache = _cache_dir(app)
    current = inputs_hash()
    stamp = execution_cache / STAMP
    previous = stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else None
    app.ketapain_inputs_changed = previous != current
    app.ketapain_inputs_hash = current
    if app.ketapain_inputs_changed and execution_cache.exists():
        shutil.rmtree(execution_cache)  # stale outputs: every notebook must run again
    # the library's own stored results live inside the build's execution cache: one folder, wiped as one;
    # the notebook kernels the build starts inherit this variable
    os.environ[cache.CACHE_ENV] = str(execution_cache / "ketapain")


def _outdated(app, env, added, changed, removed):
    if getattr(app, "ketapain_inputs_changed", False):
        return sorted(env.found_docs - set(added) - set(changed))
    return []


def _stamp(app, exception) -> None:
    if exception is None and getattr(app, "ketapain_inputs_hash", None):
        cache = _cache_dir(app)
        cache.mkdir(parents=True, exist_ok=True)
        (cache / STAMP).write_text(app.ketapain_inputs_hash + "\n", encoding="utf-8")


def setup(app):
    app.connect("config-inited", _announce)
    app.connect("config-inited", _check_inputs)
    app.connect("env-get-outdated", _outdated)
    app.connect("build-finished", _stamp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
