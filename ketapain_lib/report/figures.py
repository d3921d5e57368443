"""Figures of the report, as matplotlib Figures (not registered with pyplot, so a notebook shows each once).

seaborn draws every statistical figure onto the Figure's axes: the means and
their bands and error bars (``lineplot``, which aggregates the raw values
itself), the points (``scatterplot``) and the curves. The bands and error bars
are t-based, as the paper's are (:func:`t_interval`, given to seaborn as its
``errorbar``): nothing is bootstrapped, so nothing is random. Where a figure
shows estimates and intervals computed elsewhere (the forest plots), seaborn
draws the estimates and matplotlib the given intervals. Every figure uses the
same treatment order and colours (:data:`COLOURS`, from the Okabe-Ito
colour-blind-safe palette) with a distinct marker per treatment, axis labels
with units, and a width and type legible on a phone and in print
(:mod:`.figure_style`); seaborn's own themes are not applied. Figure 1, a
diagram rather than a statistical figure, lives in :mod:`.flow`.
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..design import CI_LEVEL, DIARY_DAYS, PRIMARY, REFERENCE_TREATMENT
from .. import formatting as fmt
from scipy import stats

from ..stats import derive
from ..rawdata.load import Trial
from ..rawdata.schema import TREATMENT_LABELS, TREATMENTS
from .figure_style import COLOURS, MARKERS, SMALLEST, STYLE, WIDTH, new_figure as _figure, styled  # noqa: F401

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Colours of lines that are not a treatment (a reference line, a margin).
INK, ACCENT = "#0072B2", "#E69F00"


@styled
def to_png(figure: Figure, dpi: int = 220) -> bytes:
    """PNG bytes of a figure at twice a screen's resolution (sharp on a high-density screen and in print),
    without the metadata that would vary between builds."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


@styled
def to_svg(figure: Figure) -> bytes:
    """SVG bytes of a figure, with no date and fixed element ids (``svg.hashsalt``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def t_interval(values) -> tuple[float, float]:
    """The t-based confidence interval (level :data:`~ketapain_lib.design.CI_LEVEL`) of the mean of ``values``:
    mean ± t(1 - α/2, n - 1) · SD / √n, the ``errorbar`` seaborn draws (missing values left out; no interval
    for fewer than two values)."""
    clean = pd.Series(values, dtype=float).dropna()
    if len(clean) < 2:
        return np.nan, np.nan
    mean = clean.mean()
    half = stats.t.ppf(0.5 + CI_LEVEL / 2, len(clean) - 1) * clean.std() / np.sqrt(len(clean))
    return mean - half, mean + half


def _seaborn():
    """seaborn, imported at the first drawing (a page that only shows stored figures never imports it)."""
    import seaborn

    return seaborn


def flow_diagram(trial: Trial) -> Figure:
    """Figure 1: the flow of participants of a crossover trial (:func:`ketapain_lib.report.flow.flow_diagram`)."""
    from . import flow

    return flow.flow_diagram(trial)


@styled
def daily_pain(trial: Trial, measure: str = PRIMARY.measure, imputation: derive.Imputation = PRIMARY.imputation) -> Figure:
    """Figure 2: mean daily pain after each infusion by treatment, with its 95% confidence band."""
    grid = derive.locf(trial.diary, (measure,), trial.infusions) if imputation == "locf" else \
        derive.diary_grid(trial.diary, (measure,), trial.infusions)
    grid = derive.with_treatment(grid, trial.infusions)
    # one panel per arm, on a shared scale: three overlapping bands would blur into one; one above another, so
    # that the figure keeps its type legible at a phone's width
    figure = _figure(figsize=(WIDTH, 1.2 + 1.55 * len(TREATMENTS)))
    axes = figure.subplots(len(TREATMENTS), 1, sharex=True, sharey=True)
    sns = _seaborn()
    for axis, treatment in zip(axes, TREATMENTS):
        part = grid.loc[grid["treatment"] == treatment, ["day", measure]]
        # seaborn averages each day's values and draws the t-based band around the mean
        sns.lineplot(data=part, x="day", y=measure, estimator="mean", errorbar=t_interval, err_style="band",
                     color=COLOURS[treatment], marker=MARKERS[treatment], markersize=3, markeredgewidth=1,
                     markeredgecolor=COLOURS[treatment], linewidth=1.6, err_kws={"alpha": 0.2, "linewidth": 0},
                     legend=False, ax=axis)
        axis.set_xlabel("")
        axis.set_title(TREATMENT_LABELS[treatment], fontsize=10, color=COLOURS[treatment], loc="left")
        axis.set_xlim(0, max(DIARY_DAYS))
        axis.set_ylim(0, 10)
        axis.grid(axis="y", color="#E5E5E5", linewidth=0.6)
        axis.set_ylabel(f"{measure.replace('_', ' ').capitalize()} (0-10)")
    axes[-1].set_xlabel("Days after infusion")
    figure.tight_layout()
    return figure


@styled
def auc_by_timepoint(auc_long: pd.DataFrame, measure: str = PRIMARY.measure,
                     imputation: derive.Imputation = "none") -> Figure:
    """Figure 3: mean AUC (95% CI) at days 7, 15, 21, 28 and 35, by treatment."""
    data = auc_long[(auc_long["measure"] == measure) & (auc_long["imputation"] == imputation)]
    figure = _figure(figsize=(WIDTH, 3.9))
    axis = figure.add_subplot()
    offsets = dict(zip(TREATMENTS, (-0.6, 0.0, 0.6)))
    sns = _seaborn()
    for treatment in TREATMENTS:
        part = data.loc[data["treatment"] == treatment, ["last_day", "auc"]]
        # each treatment a little to the side of the window's day, so that the error bars do not overlap
        part = part.assign(day=part["last_day"] + offsets[treatment])
        sns.lineplot(data=part, x="day", y="auc", estimator="mean", errorbar=t_interval, err_style="bars",
                     color=COLOURS[treatment], marker=MARKERS[treatment], markeredgewidth=1,
                     markeredgecolor=COLOURS[treatment], linewidth=1.4, err_kws={"capsize": 3, "linewidth": 1.4},
                     label=TREATMENT_LABELS[treatment], legend=False, ax=axis)
    axis.set_xticks(sorted(data["last_day"].unique()))
    axis.set_xlabel("End of the window (days after infusion)")
    axis.set_ylabel("AUC of average pain (pain score-days)")
    axis.legend(frameon=False, loc="upper left", fontsize=SMALLEST)
    figure.tight_layout()
    return figure


@styled
def patient_auc(auc_long: pd.DataFrame, last_day: int, flags: pd.DataFrame | None = None,
                measure: str = PRIMARY.measure, imputation: derive.Imputation = "none") -> Figure:
    """Figure 4: each patient's AUC under each treatment at one time point (patients sorted by placebo AUC).

    ``flags`` (from :func:`ketapain_lib.stats.derive.improvement`) marks patients
    improved with an active treatment (▲, bold label) or with placebo (▽), explained in the legend.
    """
    data = auc_long[(auc_long["measure"] == measure) & (auc_long["last_day"] == last_day)
                    & (auc_long["imputation"] == imputation)]
    wide = data.pivot(index="patient_id", columns="treatment", values="auc")[list(TREATMENTS)]
    wide = wide.sort_values([REFERENCE_TREATMENT], kind="stable")
    figure = _figure(figsize=(WIDTH, 2.4 + 0.17 * len(wide)))
    axis = figure.add_subplot()
    positions = np.arange(len(wide))
    sns = _seaborn()
    for treatment in TREATMENTS:
        sns.scatterplot(x=wide[treatment].to_numpy(), y=positions, color=COLOURS[treatment],
                        marker=MARKERS[treatment], s=28, edgecolor="face", linewidth=1,
                        label=TREATMENT_LABELS[treatment], zorder=3, legend=False, ax=axis)
    # each patient's range across the treatments, behind the points
    axis.hlines(positions, wide.min(axis=1), wide.max(axis=1), color="#BBBBBB", linewidth=1, zorder=1)
    axis.set_yticks(positions)
    names = wide.index.astype(str).tolist()
    if flags is not None:
        flags = flags.astype("boolean").fillna(False)  # unknown (no value) is drawn as not improved
        # a symbol beside the patient, explained in the legend: bold or italic alone is easy to miss
        names = [f"{name} {'▲' if flags.at[p, 'improved_active'] else ' '}{'▽' if flags.at[p, 'improved_placebo'] else ' '}"
                 for name, p in zip(names, wide.index)]
        axis.plot([], [], " ", label="▲ improved with ketamine and/or ketamine/magnesium")
        axis.plot([], [], " ", label="▽ improved with placebo")
    labels = axis.set_yticklabels(names, family="DejaVu Sans Mono", fontsize=SMALLEST)
    if flags is not None:
        for label, patient in zip(labels, wide.index):
            if flags.at[patient, "improved_active"]:
                label.set_fontweight("bold")
    axis.set_xlabel(f"AUC of average pain, days 0-{last_day} (pain score-days)")
    axis.set_ylabel("Patient")
    axis.legend(frameon=False, loc="upper right", bbox_to_anchor=(1.0, -0.08 - 0.9 / (2.4 + 0.17 * len(wide))),
                ncols=1, fontsize=SMALLEST)
    figure.tight_layout()
    return figure


@styled
def residual_qq(fit) -> Figure:
    """Normal Q-Q plot of a crossover fit's conditional residuals, with the Shapiro-Wilk result."""
    residuals = np.sort(np.asarray(fit.resid, dtype=float))
    n = len(residuals)
    theoretical = stats.norm.ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))  # Blom plotting positions
    figure = _figure(figsize=(WIDTH, 4.2))
    axis = figure.add_subplot()
    sns = _seaborn()
    sns.scatterplot(x=theoretical, y=residuals, s=16, color="#333333", edgecolor="face", linewidth=1,
                    ax=axis)
    slope, intercept = np.std(residuals, ddof=1), np.mean(residuals)
    line = np.array([theoretical.min(), theoretical.max()])
    sns.lineplot(x=line, y=intercept + slope * line, color=INK, linewidth=1.2, errorbar=None, ax=axis)
    normality = fit.residual_normality()
    axis.set_title(f"Shapiro-Wilk W = {fmt.fixed(normality['W'], 3)}, P {fmt.p_equals(normality['p'])}", fontsize=10)
    axis.set_xlabel("Standard normal quantile")
    axis.set_ylabel("Conditional residual (pain score-days)")
    figure.tight_layout()
    return figure


@styled
def forest(contrasts: pd.DataFrame, group: str = "approach", margin: float | None = None) -> Figure:
    """Forest plot of treatment contrasts (estimate and CI) under each approach or model.

    ``contrasts`` has ``comparison``, ``estimate``, ``ci_low``, ``ci_high`` and
    the ``group`` column; one panel per comparison, one row per group value
    (in order of first appearance). ``margin`` draws the clinically important
    difference either side of zero.
    """
    comparisons = list(dict.fromkeys(contrasts["comparison"]))
    groups = list(dict.fromkeys(contrasts[group]))
    figure = _figure(figsize=(WIDTH, 1.0 + (0.5 + 0.36 * len(groups)) * len(comparisons)))
    axes = figure.subplots(len(comparisons), 1, sharex=True, squeeze=False)[:, 0]
    sns = _seaborn()
    for axis, comparison in zip(axes, comparisons):
        part = contrasts[contrasts["comparison"] == comparison].set_index(group).loc[groups]
        positions = np.arange(len(groups))[::-1]
        # each row's name above its interval, across the panel: names beside the axis would leave the data a
        # sliver of a phone-width figure
        for position, name in zip(positions, groups):
            axis.text(0.0, position + 0.22, name, transform=axis.get_yaxis_transform(), ha="left", va="bottom",
                      fontsize=SMALLEST, color="#555555")
        # the intervals are given (computed by the models), not aggregated: matplotlib draws them as given,
        # seaborn the estimates on them
        axis.errorbar(part["estimate"], positions, xerr=[part["estimate"] - part["ci_low"],
                                                         part["ci_high"] - part["estimate"]],
                      fmt="none", ecolor="#333333", capsize=3)
        sns.scatterplot(x=part["estimate"].to_numpy(), y=positions, color="#333333", marker="o", s=16,
                        edgecolor="face", linewidth=1, zorder=3, legend=False, ax=axis)
        axis.axvline(0, color="#999999", linewidth=1)
        if margin is not None:
            for sign in (-1, 1):
                axis.axvline(sign * margin, color=ACCENT, linewidth=1, linestyle="--")
        axis.set_yticks([])
        axis.set_ylim(-0.6, len(groups) - 0.1)
        axis.spines["left"].set_visible(False)
        axis.set_title(comparison.replace("_", "/"), fontsize=10, loc="left")
    axes[-1].set_xlabel("Difference in AUC of average pain (pain score-days)")
    figure.tight_layout()
    return figure


@styled
def power_curve(curve: pd.DataFrame, margin: float | None = None) -> Figure:
    """Exact power of the achieved design (:func:`ketapain_lib.stats.power.exact_power`) against the true benefit."""
    figure = _figure(figsize=(WIDTH, 3.6))
    axis = figure.add_subplot()
    _seaborn().lineplot(data=curve, x="delta", y="power", color=INK, errorbar=None, ax=axis)
    axis.axhline(0.8, color="#999999", linewidth=1, linestyle=":")
    axis.axhline(0.9, color="#999999", linewidth=1, linestyle=":")
    if margin is not None:
        axis.axvline(margin, color=ACCENT, linewidth=1, linestyle="--")
    axis.set_xlabel("True benefit of ketamine over placebo (pain score-days)")
    axis.set_ylabel("Power (two-sided 5% test)")
    axis.set_ylim(0, 1.02)
    figure.tight_layout()
    return figure
