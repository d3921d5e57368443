"""Where the raw data are, and what they are: the folder to read, the generator's marker, a fingerprint.

Separate from :mod:`.load` so that finding and naming a data directory imports nothing heavy (no pandas):
the book's Sphinx extension asks these questions on every build, including builds that execute nothing.

>>> data_dir() == SHIPPED_DATA_DIR or DATA_DIR_ENV in __import__("os").environ
True
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .schema import TABLES

#: The synthetic dataset that ships with the project.
SHIPPED_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "synthetic"
#: Marker file the generator writes; a real export does not have it.
SYNTHETIC_MARKER = "SYNTHETIC_DATA.md"
DATA_DIR_ENV = "KETAPAIN_DATA"


def is_synthetic(directory: str | os.PathLike | None = None) -> bool:
    """Whether a data directory holds the generator's data (its marker file), not a real export."""
    return (data_dir(directory) / SYNTHETIC_MARKER).is_file()


def fingerprint(directory: str | os.PathLike | None = None) -> str:
    """A short SHA-256 fingerprint of a data directory's contract files (names and bytes), to name a dataset.

    The book prints it, with the folder's name, instead of the folder's full path.
    """
    directory = data_dir(directory)
    digest = hashlib.sha256()
    for table in TABLES.values():
        path = directory / table.filename
        digest.update(f"{table.filename}\n".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def data_dir(directory: str | os.PathLike | None = None) -> Path:
    """The data directory to read: argument, else ``$KETAPAIN_DATA``, else the shipped synthetic data."""
    if directory is not None:
        return Path(directory)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    return SHIPPED_DATA_DIR
