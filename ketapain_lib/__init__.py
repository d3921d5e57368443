"""ketapain_lib: data, derivations, statistics, tables and figures of the KETAPAIN reproducible report.

The book's chapters call this library; nothing in a chapter computes on its own.

>>> import ketapain_lib
>>> trial = ketapain_lib.load_trial()   # $KETAPAIN_DATA or the shipped synthetic data
"""
__version__ = "0.1.0"
__all__ = ["DataValidationError", "Problem", "Trial", "load_trial", "validate", "__version__"]


def __getattr__(name: str):
    # the loaders are imported on first use: importing the package (as the book's Sphinx extension does on
    # every build, also one that executes nothing) then costs no pandas import
    if name in __all__:
        from .rawdata import load

        return getattr(load, name)
    raise AttributeError(f"module 'ketapain_lib' has no attribute {name!r}")
