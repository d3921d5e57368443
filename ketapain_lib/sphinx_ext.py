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
import shutil
from pathlib import Path

from .data import DATA_DIR_ENV, SYNTHETIC_MARKER, data_dir

SYNTHETIC_BANNER = (
    "Synthetic data: every number in this book is computed from a simulated dataset calibrated to the "
    f"published summaries of the KETAPAIN trial, not from patients. Set {DATA_DIR_ENV} to a real export to "
    "build the real report."
)
STAMP = "ketapain_inputs.sha256"
LIBRARY = Path(__file__).resolve().parent


def inputs_hash(directory: Path | None = None) -> str:
    """SHA-256 over the library's code and data files, the pins, and the raw data the book reads."""
    digest = hashlib.sha256()
    files = sorted(p for p in LIBRARY.rglob("*") if p.is_file() and p.suffix in (".py", ".csv"))
    requirements = LIBRARY.parent / "requirements.txt"
    directory = data_dir(directory)
    groups = (("library", LIBRARY, files), ("requirements", LIBRARY.parent, [requirements]),
              ("data", directory, sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []))
    for label, root, paths in groups:
        for path in paths:
            if path.is_file():
                digest.update(f"{label}:{path.relative_to(root)}\n".encode())
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
    cache = _cache_dir(app)
    current = inputs_hash()
    stamp = cache / STAMP
    previous = stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else None
    app.ketapain_inputs_changed = previous != current
    app.ketapain_inputs_hash = current
    if app.ketapain_inputs_changed and cache.exists():
        shutil.rmtree(cache)  # stale outputs: every notebook must run again


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
