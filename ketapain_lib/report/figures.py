"""Figures of the report, as matplotlib Figures (not registered with pyplot, so a notebook shows each once).

Every figure uses the same treatment order and colours (:data:`COLOURS`, from
the Okabe-Ito colour-blind-safe palette) with a distinct marker per
treatment, axis labels with units, and sizes readable in print. Nothing is
random: confidence bands are t-based, not bootstrapped.
"""
from __future__ import annotations

import functools
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

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = dict(zip(TREATMENTS, ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")))
MARKERS = dict(zip(TREATMENTS, ("o", "s", "^", "D", "v")))
#: Colours of lines that are not a treatment (a reference line, a margin).
INK, ACCENT = "#0072B2", "#E69F00"
#: The report's matplotlib style, applied inside each drawing (never to the global rcParams at import).
STYLE = {"svg.hashsalt": "ketapain", "font.size": 10, "axes.titlesize": 11,
         "axes.spines.top": False, "axes.spines.right": False}


def styled(draw):
    """Run ``draw`` (a figure function or a renderer) inside the report's style context."""
    @functools.wraps(draw)
    def in_style(*args, **kwargs):
        import matplotlib  # at the first drawing: a module that only names the figures imports no matplotlib

        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return in_style


def _figure(**options) -> Figure:
    """A new matplotlib Figure, not registered with pyplot."""
    from matplotlib.figure import Figure

    return Figure(**options)


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


def _mean_ci(values: pd.Series) -> tuple[float, float, float]:
    clean = values.dropna().astype(float)
    mean = clean.mean()
    half = stats.t.ppf(0.5 + CI_LEVEL / 2, len(clean) - 1) * clean.std() / np.sqrt(len(clean)) if len(clean) > 1 else np.nan
    return mean, mean - half, mean + half


@styled
def flow_diagram(trial: Trial) -> Figure:
    """Figure 1: screened, excluded (with reasons), randomized, allocation per period, analysed."""
    from matplotlib import patches

    outcome = trial.screening["screening_outcome"].astype(str)
    counts = derive.flow_counts(trial.screening)
    n_screened, n_randomized = counts["screened"], counts["randomized"]
    excluded = outcome[outcome != "randomized"].value_counts().sort_index()
    per_period = trial.infusions.groupby(["period", "treatment"], observed=True).size()
    left = derive.discontinuations(trial.disposition, trial.infusions)
    primary_auc = derive.with_treatment(derive.auc(trial.diary, periods=trial.infusions), trial.infusions)
    analysed = primary_auc.dropna(subset=["auc"]).groupby("treatment", observed=True)["patient_id"].nunique()
    figure = _figure(figsize=(7.5, 6.2))
    axis = figure.add_axes([0, 0, 1, 1])
    axis.set_xlim(0, 100)
    axis.set_ylim(0, 100)
    axis.axis("off")

    def box(x, y, text, width=34, height=8):
        axis.add_patch(patches.FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                      boxstyle="round,pad=0.6", facecolor="white", edgecolor="#333333"))
        axis.text(x, y, text, ha="center", va="center", fontsize=9)

    def arrow(x0, y0, x1, y1):
        axis.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": "#333333"})

    box(35, 92, f"Screened\nn = {n_screened}")
    reasons = "\n".join(f"{reason}: n = {count}" for reason, count in excluded.items())
    box(80, 80, f"Not randomized, n = {int(excluded.sum())}\n{reasons}", width=30, height=11)
    arrow(35, 87, 35, 73)
    arrow(35, 80, 64, 80)
    box(35, 68, f"Randomized\nn = {n_randomized}")
    for column, period in enumerate(sorted(per_period.index.get_level_values(0).unique())):
        x = 17 + 33 * column
        lines = "\n".join(f"{TREATMENT_LABELS[t]}: {int(per_period.get((period, t), 0))}" for t in TREATMENTS)
        arrow(35, 63, x, 52)
        box(x, 43, f"Period {period}\n{lines}\nDiscontinued: {int((left['period'] == period).sum())}",
            width=28, height=16)
    analysed_text = ", ".join(f"{TREATMENT_LABELS[t]} {int(analysed.get(t, 0))}" for t in TREATMENTS)
    for column in range(3):
        arrow(17 + 33 * column, 33, 50, 22)
    box(50, 15, f"Analysed, intention to treat: {n_randomized} randomized\n"
                f"with a primary endpoint: {analysed_text}", width=80, height=10)
    return figure


@styled
def daily_pain(trial: Trial, measure: str = PRIMARY.measure, imputation: derive.Imputation = PRIMARY.imputation) -> Figure:
    """Figure 2: mean daily pain after each infusion by treatment, with its 95% confidence band."""
    grid = derive.locf(trial.diary, (measure,), trial.infusions) if imputation == "locf" else \
        derive.diary_grid(trial.diary, (measure,), trial.infusions)
    grid = derive.with_treatment(grid, trial.infusions)
    # one panel per arm, on a shared scale: three overlapping bands would blur into one
    figure = _figure(figsize=(7.5, 3.4))
    axes = figure.subplots(1, len(TREATMENTS), sharey=True)
    for axis, treatment in zip(axes, TREATMENTS):
        part = grid[grid["treatment"] == treatment]
        summary = pd.DataFrame([(day, *_mean_ci(values[measure])) for day, values in part.groupby("day")],
                               columns=["day", "mean", "low", "high"])
        axis.fill_between(summary["day"], summary["low"], summary["high"], color=COLOURS[treatment], alpha=0.2,
                          linewidth=0)
        axis.plot(summary["day"], summary["mean"], color=COLOURS[treatment], marker=MARKERS[treatment],
                  markersize=3, linewidth=1.6)
        axis.set_title(TREATMENT_LABELS[treatment], fontsize=10, color=COLOURS[treatment])
        axis.set_xlabel("Days after infusion")
        axis.set_xlim(0, max(DIARY_DAYS))
        axis.set_ylim(0, 10)
        axis.grid(axis="y", color="#E5E5E5", linewidth=0.6)
    axes[0].set_ylabel(f"{measure.replace('_', ' ').capitalize()} (0-10 NRS)")
    figure.tight_layout()
    return figure


@styled
def auc_by_timepoint(auc_long: pd.DataFrame, measure: str = PRIMARY.measure,
                     imputation: derive.Imputation = "none") -> Figure:
    """Figure 3: mean AUC (95% CI) at days 7, 15, 21, 28 and 35, by treatment."""
    data = auc_long[(auc_long["measure"] == measure) & (auc_long["imputation"] == imputation)]
    figure = _figure(figsize=(7.5, 4.2))
    axis = figure.add_subplot()
    offsets = dict(zip(TREATMENTS, (-0.6, 0.0, 0.6)))
    for treatment in TREATMENTS:
        rows = [(day, *_mean_ci(part["auc"])) for day, part in
                data[data["treatment"] == treatment].groupby("last_day")]
        summary = pd.DataFrame(rows, columns=["day", "mean", "low", "high"])
        axis.errorbar(summary["day"] + offsets[treatment], summary["mean"],
                      yerr=[summary["mean"] - summary["low"], summary["high"] - summary["mean"]],
                      color=COLOURS[treatment], marker=MARKERS[treatment], capsize=3, linewidth=1.4,
                      label=TREATMENT_LABELS[treatment])
    axis.set_xticks(sorted(data["last_day"].unique()))
    axis.set_xlabel("End of the window (days after infusion)")
    axis.set_ylabel("AUC of average pain (pain score-days)")
    axis.legend(frameon=False, loc="upper left")
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
    figure = _figure(figsize=(7.5, 5.8))
    axis = figure.add_subplot()
    positions = np.arange(len(wide))
    for treatment in TREATMENTS:
        axis.scatter(wide[treatment], positions, color=COLOURS[treatment], marker=MARKERS[treatment], s=28,
                     label=TREATMENT_LABELS[treatment], zorder=3)
    for position, (_, row) in zip(positions, wide.iterrows()):
        axis.plot([row.min(), row.max()], [position, position], color="#BBBBBB", linewidth=1, zorder=1)
    axis.set_yticks(positions)
    names = wide.index.astype(str).tolist()
    if flags is not None:
        flags = flags.astype("boolean").fillna(False)  # unknown (no value) is drawn as not improved
        # a symbol beside the patient, explained in the legend: bold or italic alone is easy to miss
        names = [f"{name} {'▲' if flags.at[p, 'improved_active'] else ' '}{'▽' if flags.at[p, 'improved_placebo'] else ' '}"
                 for name, p in zip(names, wide.index)]
        axis.plot([], [], " ", label="▲ improved with ketamine and/or ketamine/magnesium")
        axis.plot([], [], " ", label="▽ improved with placebo")
    labels = axis.set_yticklabels(names, family="DejaVu Sans Mono", fontsize=8)
    if flags is not None:
        for label, patient in zip(labels, wide.index):
            if flags.at[patient, "improved_active"]:
                label.set_fontweight("bold")
    axis.set_xlabel(f"AUC of average pain, days 0-{last_day} (pain score-days)")
    axis.set_ylabel("Patient")
    axis.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.45, -0.13), ncols=2, fontsize=8)
    figure.tight_layout()
    return figure


@styled
def residual_qq(fit) -> Figure:
    """Normal Q-Q plot of a crossover fit's conditional residuals, with the Shapiro-Wilk result."""
    residuals = np.sort(np.asarray(fit.resid, dtype=float))
    n = len(residuals)
    theoretical = stats.norm.ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))  # Blom plotting positions
    figure = _figure(figsize=(4.8, 4.2))
    axis = figure.add_subplot()
    axis.scatter(theoretical, residuals, s=16, color="#333333")
    slope, intercept = np.std(residuals, ddof=1), np.mean(residuals)
    line = np.array([theoretical.min(), theoretical.max()])
    axis.plot(line, intercept + slope * line, color=INK, linewidth=1.2)
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
    figure = _figure(figsize=(7.5, 1.0 + 0.45 * len(groups) * len(comparisons)))
    axes = figure.subplots(len(comparisons), 1, sharex=True, squeeze=False)[:, 0]
    for axis, comparison in zip(axes, comparisons):
        part = contrasts[contrasts["comparison"] == comparison].set_index(group).loc[groups]
        positions = np.arange(len(groups))[::-1]
        axis.errorbar(part["estimate"], positions, xerr=[part["estimate"] - part["ci_low"],
                                                         part["ci_high"] - part["estimate"]],
                      fmt="o", color="#333333", capsize=3, markersize=4)
        axis.axvline(0, color="#999999", linewidth=1)
        if margin is not None:
            for sign in (-1, 1):
                axis.axvline(sign * margin, color=ACCENT, linewidth=1, linestyle="--")
        axis.set_yticks(positions)
        axis.set_yticklabels(groups)
        axis.set_title(comparison.replace("_", "/"), fontsize=10, loc="left")
    axes[-1].set_xlabel("Difference in AUC of average pain (pain score-days)")
    figure.tight_layout()
    return figure


@styled
def power_curve(curve: pd.DataFrame, margin: float | None = None) -> Figure:
    """Exact power of the achieved design (:func:`ketapain_lib.stats.power.exact_power`) against the true benefit."""
    figure = _figure(figsize=(6.0, 3.8))
    axis = figure.add_subplot()
    axis.plot(curve["delta"], curve["power"], color=INK)
    axis.axhline(0.8, color="#999999", linewidth=1, linestyle=":")
    axis.axhline(0.9, color="#999999", linewidth=1, linestyle=":")
    if margin is not None:
        axis.axvline(margin, color=ACCENT, linewidth=1, linestyle="--")
    axis.set_xlabel("True benefit of ketamine over placebo (pain score-days)")
    axis.set_ylabel("Power (two-sided 5% test)")
    axis.set_ylim(0, 1.02)
    figure.tight_layout()
    return figure
