"""ketapain_lib: data, derivations, statistics, tables and figures of the KETAPAIN reproducible report.

The book's chapters call this library; nothing in a chapter computes on its own.

>>> import ketapain_lib
>>> trial = ketapain_lib.load_trial()   # $KETAPAIN_DATA or the shipped synthetic data
"""
from .rawdata.load import DataValidationError, Problem, Trial, load_trial, validate

__version__ = "0.1.0"
__all__ = ["DataValidationError", "Problem", "Trial", "load_trial", "validate", "__version__"]
