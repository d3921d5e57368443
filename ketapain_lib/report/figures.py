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
from ..stats import derive, distributions
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
#: Width of every figure (inches): 4.75 in is 342 pt, the width a figure gets on a 390 px phone (342 CSS px),
#: so a 9.5-point label prints at 9.5 CSS px there, and at 12.7 px on a desktop (shown at its own size).
WIDTH = 4.75
#: The smallest type in any figure (points); the phone test measures it.
SMALLEST = 9.5


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
    half = distributions.t_ppf(0.5 + CI_LEVEL / 2, len(clean) - 1) * clean.std() / np.sqrt(len(clean)) if len(clean) > 1 else np.nan
    return mean, mean - half, mean + half


def flow_counts_by_sequence(trial: Trial) -> dict:
    """The counts of the crossover flow diagram (CONSORT extension for crossover trials), from the raw data.

    Returns ``sequences`` (each sequence of :data:`~ketapain_lib.design.SEQUENCES` with its patients randomized,
    its treatment and infused patients in each period, the patients who left during each period and those
    analysed), ``left`` (the discontinued patients with the period they were in and the reason), ``gaps`` (days
    between consecutive infusions of a patient) and ``analysed`` (patients with a primary endpoint, by treatment).
    """
    from ..design import PERIODS, SEQUENCES, TREATMENT_CODES

    randomization = trial.randomization.assign(sequence=trial.randomization["sequence"].astype(str))
    infusions = trial.infusions.assign(patient_id=trial.infusions["patient_id"].astype(str),
                                       period=trial.infusions["period"].astype(int))
    sequence_of = dict(zip(randomization["patient_id"].astype(str), randomization["sequence"]))
    left = derive.discontinuations(trial.disposition, trial.infusions)
    left = left.assign(sequence=left["patient_id"].map(sequence_of))
    primary_auc = derive.with_treatment(derive.auc(trial.diary, periods=trial.infusions), trial.infusions)
    with_endpoint = primary_auc.dropna(subset=["auc"])
    analysed_patients = set(with_endpoint["patient_id"].astype(str))
    rows = []
    for sequence in SEQUENCES:
        patients = set(randomization.loc[randomization["sequence"] == sequence, "patient_id"].astype(str))
        periods = []
        for period, code in zip(PERIODS, sequence.split("-")):
            infused = infusions[(infusions["period"] == period) & infusions["patient_id"].isin(patients)]
            periods.append({"period": period, "treatment": TREATMENT_CODES[code], "code": code,
                            "infused": int(infused["patient_id"].nunique()),
                            "left": int(((left["period"] == period) & (left["sequence"] == sequence)).sum())})
        rows.append({"sequence": sequence, "randomized": len(patients), "periods": periods,
                     "left_before": int(((left["period"] == 0) & (left["sequence"] == sequence)).sum()),
                     "analysed": len(patients & analysed_patients)})
    days = infusions.sort_values(["patient_id", "period"]).groupby("patient_id")["study_day"].diff().dropna()
    analysed = with_endpoint.groupby("treatment", observed=True)["patient_id"].nunique()
    return {"sequences": rows, "left": left, "gaps": days.astype(int),
            "analysed": {t: int(analysed.get(t, 0)) for t in TREATMENTS}}


@styled
def flow_diagram(trial: Trial) -> Figure:
    """Figure 1: the flow of participants of a crossover trial, as the CONSORT extension for randomised crossover
    trials draws it (Dwan et al., BMJ 2019): screened and excluded, randomized, each sequence with its patients,
    each period with its treatment, the interval to the next infusion, the discontinuations in the period they
    happened, and the patients analysed. Every count comes from the raw data (screening, randomization,
    infusions, disposition, diary)."""
    from matplotlib import patches

    from ..design import PERIOD_DAYS, PERIODS, TREATMENT_CODES

    counts = derive.flow_counts(trial.screening)
    outcome = trial.screening["screening_outcome"].astype(str)
    reasons = trial.screening.loc[outcome != "randomized", "reason"].astype(str).value_counts().sort_index()
    flow = flow_counts_by_sequence(trial)
    sequences, left, gaps = flow["sequences"], flow["left"], flow["gaps"]

    def reason_text(frame: pd.DataFrame) -> str:
        tally = frame["reason"].str.replace("_", " ").value_counts().sort_index()
        return ", ".join(f"{reason} {count}" for reason, count in tally.items())

    size, line = SMALLEST, SMALLEST * 1.3  # type and line height (points)
    width = WIDTH * 72
    margin, gap = 4.0, 4.0
    column = (width - 2 * margin - (len(sequences) - 1) * gap) / len(sequences)
    centres = [margin + column / 2 + i * (column + gap) for i in range(len(sequences))]
    interval = (f"next infusion {fmt.fixed(float(gaps.median()), 0)} days later (median; range "
                f"{int(gaps.min())}-{int(gaps.max())})") if len(gaps) else "no second infusion"
    # the diagram is laid out from the top, in points; the figure's height follows from what it holds
    items: list[tuple] = []  # (kind, y_top, height, payload)
    y = 0.0

    def add(kind, height, payload):
        nonlocal y
        items.append((kind, y, height, payload))
        y += height

    excluded_lines = [f"Not randomized, n = {counts['not_randomized']}",
                      *(f"{reason}: {count}" for reason, count in reasons.items())]
    add("top", max(2, len(excluded_lines)) * line + 10, excluded_lines)
    add("gap", 12, None)
    add("randomized", 2 * line + 6, None)
    before = left[left["period"] == 0]
    if len(before):
        add("band", line * 2 + 4, f"Left before the first infusion: {len(before)} ({reason_text(before)})")
    add("gap", 10, None)
    add("sequences", 2 * line + 6, None)
    for period in PERIODS:
        add("gap", 8, None)
        during = left[left["period"] == period]
        add("period", (3 if len(during) else 2) * line + 6, period)
        if len(during):
            add("gap", 4, None)
            add("band", line * 2 + 4, f"Discontinued during period {period}: {len(during)} ({reason_text(during)})")
        if period != PERIODS[-1]:
            add("gap", 4, None)
            add("band", line * 2 + 4, f"Washout: {PERIOD_DAYS} days of diary after the infusion; {interval}")
    add("gap", 8, None)
    add("analysed", 2 * line + 6, None)
    add("gap", 6, None)
    analysed_text = ", ".join(f"{TREATMENT_LABELS[t].lower()} {n}" for t, n in flow["analysed"].items())
    add("summary", 3 * line + 6, [f"Analysed, intention to treat: all {counts['randomized']} randomized;",
                                  f"with a primary endpoint: {analysed_text}"])
    add("gap", 4, None)
    add("legend", line, " · ".join(f"{code} {TREATMENT_LABELS[t].lower()}" for code, t in TREATMENT_CODES.items()))
    height = y + 4
    figure = _figure(figsize=(WIDTH, height / 72))
    axis = figure.add_axes([0, 0, 1, 1])
    axis.set_xlim(0, width)
    axis.set_ylim(height, 0)  # y grows downwards, as the layout
    axis.axis("off")
    ink = "#333333"

    def box(x, top, w, h, text, face="white", colour=ink, weight="normal"):
        axis.add_patch(patches.FancyBboxPatch((x - w / 2, top), w, h, boxstyle="round,pad=0,rounding_size=3",
                                              facecolor=face, edgecolor=colour, linewidth=0.8, zorder=2))
        axis.text(x, top + h / 2, text, ha="center", va="center", fontsize=size, color=ink, weight=weight,
                  linespacing=1.15, zorder=3)

    def arrow(x0, y0, x1, y1):
        axis.annotate("", xy=(x1, y1), xytext=(x0, y0),
                      arrowprops={"arrowstyle": "-|>", "color": ink, "linewidth": 0.8, "mutation_scale": 7,
                                  "shrinkA": 0, "shrinkB": 0}, zorder=1)

    full = width - 2 * margin
    previous_bottom: list[float] | None = None
    for kind, top, h, payload in items:
        if kind == "top":
            left_w = 118
            box(margin + left_w / 2, top + (h - 2 * line - 6) / 2, left_w, 2 * line + 6, f"Screened\nn = {counts['screened']}")
            right_x = margin + left_w + 16
            right_w = width - margin - right_x
            box(right_x + right_w / 2, top, right_w, h, "\n".join(payload))
            arrow(margin + left_w, top + h / 2, right_x, top + h / 2)
            screened_bottom = top + (h - 2 * line - 6) / 2 + 2 * line + 6
        elif kind == "randomized":
            box(margin + 118 / 2, top, 118, h, f"Randomized\nn = {counts['randomized']}", weight="bold")
            arrow(margin + 118 / 2, screened_bottom, margin + 118 / 2, top)
            randomized_bottom = top + h
        elif kind == "band":
            box(width / 2, top, full, h, _wrap(payload, full, size), face="#F4F4F4", colour="#999999")
        elif kind == "sequences":
            # one rail from the randomization to the sequences, an arrow down to each
            rail = randomized_bottom + (top - randomized_bottom) / 2
            axis.plot([margin + 118 / 2] * 2, [randomized_bottom, rail], color=ink, linewidth=0.8, zorder=1)
            axis.plot([centres[0], centres[-1]], [rail, rail], color=ink, linewidth=0.8, zorder=1)
            for centre, row in zip(centres, sequences):
                box(centre, top, column, h, f"{row['sequence']}\nn = {row['randomized']}", weight="bold")
                arrow(centre, rail, centre, top)
            previous_bottom = [top + h] * len(sequences)
        elif kind == "period":
            for i, (centre, row) in enumerate(zip(centres, sequences)):
                cell = row["periods"][payload - 1]
                text = f"Period {payload}\n{cell['code']}: {cell['infused']}" + (f"\nleft: {cell['left']}" if cell["left"] else "")
                box(centre, top, column, h, text, face="#FFFFFF" if not cell["left"] else "#FFF1DD",
                    colour=COLOURS[cell["treatment"]])
                arrow(centre, previous_bottom[i], centre, top)
            previous_bottom = [top + h] * len(sequences)
        elif kind == "analysed":
            for i, (centre, row) in enumerate(zip(centres, sequences)):
                box(centre, top, column, h, f"Analysed\n{row['analysed']}")
                arrow(centre, previous_bottom[i], centre, top)
            previous_bottom = [top + h] * len(sequences)
        elif kind == "summary":
            box(width / 2, top, full, h, "\n".join(_wrap(text, full, size) for text in payload), weight="normal")
        elif kind == "legend":
            axis.text(width / 2, top + h / 2, payload, ha="center", va="center", fontsize=size, color=ink)
    return figure


def _wrap(text: str, width_pt: float, size: float) -> str:
    """``text`` broken into lines that fit ``width_pt`` points at ``size`` (an average glyph is 0.55 em wide)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, max(10, int(width_pt / (0.55 * size)) - 2)))


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
    for axis, treatment in zip(axes, TREATMENTS):
        part = grid[grid["treatment"] == treatment]
        summary = pd.DataFrame([(day, *_mean_ci(values[measure])) for day, values in part.groupby("day")],
                               columns=["day", "mean", "low", "high"])
        axis.fill_between(summary["day"], summary["low"], summary["high"], color=COLOURS[treatment], alpha=0.2,
                          linewidth=0)
        axis.plot(summary["day"], summary["mean"], color=COLOURS[treatment], marker=MARKERS[treatment],
                  markersize=3, linewidth=1.6)
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
    theoretical = distributions.norm_ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))  # Blom plotting positions
    figure = _figure(figsize=(WIDTH, 4.2))
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
    figure = _figure(figsize=(WIDTH, 1.0 + (0.5 + 0.36 * len(groups)) * len(comparisons)))
    axes = figure.subplots(len(comparisons), 1, sharex=True, squeeze=False)[:, 0]
    for axis, comparison in zip(axes, comparisons):
        part = contrasts[contrasts["comparison"] == comparison].set_index(group).loc[groups]
        positions = np.arange(len(groups))[::-1]
        # each row's name above its interval, across the panel: names beside the axis would leave the data a
        # sliver of a phone-width figure
        for position, name in zip(positions, groups):
            axis.text(0.0, position + 0.22, name, transform=axis.get_yaxis_transform(), ha="left", va="bottom",
                      fontsize=SMALLEST, color="#555555")
        axis.errorbar(part["estimate"], positions, xerr=[part["estimate"] - part["ci_low"],
                                                         part["ci_high"] - part["estimate"]],
                      fmt="o", color="#333333", capsize=3, markersize=4)
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
