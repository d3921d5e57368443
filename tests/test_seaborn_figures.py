"""seaborn draws every statistical figure of the report, and its bands and error bars are t-based (issue 25).

Each figure of the registry is drawn with seaborn's plotting functions spied on (wrapped, so they still
draw): the statistical figures must call seaborn on their own axes, and every data artist of theirs (points,
bands, curves and error bars) must be one seaborn created. Figure 1, a diagram, stays plain matplotlib.
Figure 2's band is then checked against mean ± t(0.975, n - 1) · SD / √n, computed here with SciPy.
"""
from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import seaborn
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.container import ErrorbarContainer
from scipy import stats

from ketapain_lib.design import PRIMARY
from ketapain_lib.rawdata.schema import TREATMENTS
from ketapain_lib.report import figures, registry
from ketapain_lib.stats import derive

#: seaborn's functions the figures may draw with
SEABORN_FUNCTIONS = ("lineplot", "scatterplot", "pointplot", "stripplot", "histplot", "kdeplot", "ecdfplot",
                     "regplot", "barplot")
#: the figure that is a diagram, not a statistical figure
DIAGRAMS = {"figure1_flow"}


@contextlib.contextmanager
def _spied_seaborn():
    """Yield a list of (function name, axes, artists that call added to the axes) for every seaborn call."""
    calls: list[tuple[str, object, set[int]]] = []

    def spy(name):
        original = getattr(seaborn, name)

        def call(*args, **kwargs):
            axis = kwargs.get("ax")
            before = {id(child) for child in axis.get_children()} | {id(c) for c in axis.containers} \
                if axis is not None else set()
            result = original(*args, **kwargs)
            after = set() if axis is None else \
                {id(child) for child in axis.get_children()} | {id(c) for c in axis.containers}
            calls.append((name, axis, after - before))
            return result
        return call

    with contextlib.ExitStack() as stack:
        for name in SEABORN_FUNCTIONS:
            stack.enter_context(mock.patch.object(seaborn, name, side_effect=spy(name), autospec=False))
        yield calls


@pytest.fixture(scope="module")
def results():
    from ketapain_lib import load_trial
    from ketapain_lib.report.results import Results

    return Results(load_trial())


def _data_artists(axis) -> list:
    """The artists of ``axis`` that show data: points, bands, error bars, and lines of more than two points
    (a reference line drawn across the axes, like ``axvline``, has two)."""
    artists = [c for c in axis.collections if isinstance(c, (PathCollection, PolyCollection))]
    artists += [c for c in axis.containers if isinstance(c, ErrorbarContainer)]
    artists += [line for line in axis.lines if len(line.get_xdata()) > 2]
    return artists


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, e in registry.OUTPUTS.items() if e.kind == "figure"])
def test_every_statistical_figure_is_drawn_by_seaborn(results, name):
    with _spied_seaborn() as calls:
        figure = registry.OUTPUTS[name].make(results)
    if name in DIAGRAMS:
        assert calls == [], calls  # the flow diagram stays plain matplotlib
        return
    assert calls, f"{name}: seaborn was not called"
    assert all(axis in figure.axes for _, axis, _ in calls), f"{name}: seaborn drew outside the figure"
    by_seaborn = set().union(*(created for _, _, created in calls))
    for axis in figure.axes:
        assert any(axis is called for _, called, _ in calls), f"{name}: a panel seaborn did not draw"
        shown = _data_artists(axis)
        assert shown, f"{name}: a panel without data"
        # the forest plots' intervals are given (estimated by the models), drawn by matplotlib as given;
        # every other data artist is one seaborn drew
        given = [a for a in shown if isinstance(a, ErrorbarContainer)] if name.endswith("_forest") else []
        if name.endswith("_forest"):
            assert given, f"{name}: no intervals"
        parts_of_given = {id(part) for container in given for part in _flat(container)}
        drawn_elsewhere = [a for a in shown if id(a) not in by_seaborn | parts_of_given]
        assert not drawn_elsewhere, (name, drawn_elsewhere)


def _flat(container) -> list:
    """A container and all the artists in it (an error bar container nests tuples of artists)."""
    found = [container]
    for part in container if isinstance(container, tuple) else ():
        found += _flat(part) if part is not None else []
    return found


def _band_vertices(axis) -> np.ndarray:
    bands = [c for c in axis.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1, bands
    return np.concatenate([path.vertices for path in bands[0].get_paths()])


@pytest.mark.slow
@pytest.mark.parametrize("imputation", [PRIMARY.imputation, "none"])
def test_figure2_band_is_the_t_based_interval_of_each_days_mean(imputation):
    """Each day's band runs from mean - t·SD/√n to mean + t·SD/√n of that day's values (t at 0.975 with
    n - 1 degrees of freedom; missing values left out), and the line passes through the mean: not seaborn's
    default bootstrap interval."""
    from ketapain_lib import load_trial

    trial = load_trial()
    figure = figures.daily_pain(trial, imputation=imputation)
    measure = PRIMARY.measure
    grid = derive.locf(trial.diary, (measure,), trial.infusions) if imputation == "locf" else \
        derive.diary_grid(trial.diary, (measure,), trial.infusions)
    grid = derive.with_treatment(grid, trial.infusions)
    checked = 0
    for axis, treatment in zip(figure.axes, TREATMENTS):
        vertices = _band_vertices(axis)
        line = [line for line in axis.lines if len(line.get_xdata()) > 2]
        assert len(line) == 1
        drawn_mean = pd.Series(line[0].get_ydata(), index=line[0].get_xdata())
        for day, values in grid[grid["treatment"] == treatment].groupby("day")[measure]:
            values = values.dropna().to_numpy(dtype=float)
            n = len(values)
            if n < 2:
                continue
            mean = values.mean()
            half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n)
            at_day = vertices[np.isclose(vertices[:, 0], day), 1]
            assert at_day.size, (treatment, day)
            assert at_day.min() == pytest.approx(mean - half, abs=1e-9), (treatment, day)
            assert at_day.max() == pytest.approx(mean + half, abs=1e-9), (treatment, day)
            assert drawn_mean[day] == pytest.approx(mean, abs=1e-9), (treatment, day)
            checked += 1
    assert checked >= len(TREATMENTS) * 30  # nearly every day of every arm has a band


def test_t_interval_is_mean_plus_minus_t_sd_over_root_n():
    values = pd.Series([2.0, 5.0, np.nan, 4.0, 7.5, 3.0])
    clean = values.dropna().to_numpy()
    half = stats.t.ppf(0.975, len(clean) - 1) * clean.std(ddof=1) / np.sqrt(len(clean))
    low, high = figures.t_interval(values)
    assert (low, high) == pytest.approx((clean.mean() - half, clean.mean() + half), abs=1e-12)
    assert np.isnan(figures.t_interval([3.0])).all()  # no interval from one value
