"""Test tiers: ``slow`` marks book builds, browser checks, notebook (nbval) runs and the portability checks.

    python -m pytest                   # everything (the README's test command, and CI)
    python -m pytest -m "not slow"     # the authors' inner loop
"""
from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        # nbval items: each executes a chapter notebook in a kernel
        if str(getattr(item, "path", "")).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
