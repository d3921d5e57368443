"""Sphinx extension of the book: an announcement on every page saying where the data come from.

The banner is decided at build time from the data directory the book reads
(``$KETAPAIN_DATA`` or the shipped synthetic data), so a build on a real
export never carries the synthetic-data warning and vice versa.
"""
from __future__ import annotations

from .data import DATA_DIR_ENV, SYNTHETIC_MARKER, data_dir

SYNTHETIC_BANNER = (
    "Synthetic data: every number in this book is computed from a simulated dataset calibrated to the "
    f"published summaries of the KETAPAIN trial, not from patients. Set {DATA_DIR_ENV} to a real export to "
    "build the real report."
)


def _announce(app, config) -> None:
    directory = data_dir()
    text = SYNTHETIC_BANNER if (directory / SYNTHETIC_MARKER).is_file() else f"Data: raw export in {directory.name}"
    options = dict(config.html_theme_options or {})
    options["announcement"] = text
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", _announce)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
