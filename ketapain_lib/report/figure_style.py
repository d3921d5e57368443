"""The figures' shared style: treatment colours and markers, the matplotlib style, the width and smallest type.

Every figure uses the same treatment order and colours (:data:`COLOURS`, from the Okabe-Ito colour-blind-safe
palette) with a distinct marker per treatment. Every figure is :data:`WIDTH` inches wide: 4.75 in is 342 pt,
the width a figure gets on a 390 px phone (342 CSS px), so type of :data:`SMALLEST` points shows at 9.5 CSS px
there, and at 12.7 px on a desktop, where a figure shows at its own size.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from ..rawdata.schema import TREATMENTS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = dict(zip(TREATMENTS, ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")))
MARKERS = dict(zip(TREATMENTS, ("o", "s", "^", "D", "v")))
#: The report's matplotlib style, applied inside each drawing (never to the global rcParams at import).
STYLE = {"svg.hashsalt": "ketapain", "font.size": 10, "axes.titlesize": 11,
         "axes.spines.top": False, "axes.spines.right": False}
#: Width of every figure (inches).
WIDTH = 4.75
#: The smallest type in any figure (points); the phone test measures it on the pages.
SMALLEST = 9.5


def styled(draw):
    """Run ``draw`` (a figure function or a renderer) inside the report's style context."""
    @functools.wraps(draw)
    def in_style(*args, **kwargs):
        import matplotlib  # at the first drawing: a module that only names the figures imports no matplotlib

        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return in_style


def new_figure(**options) -> Figure:
    """A new matplotlib Figure, not registered with pyplot."""
    from matplotlib.figure import Figure

    return Figure(**options)
