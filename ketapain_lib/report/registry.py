"""The registry of outputs: every table and figure of the report, declared once.

Each :class:`Output` names the output, gives its number (the paper's where
the paper has it: "Table 2", "Figure 4A"; otherwise the report's own series,
"Table E1" in the body and "Table A1" in the appendices, numbered in the book's order), its caption, the
chapter that shows it and the function that makes it from the
:class:`~ketapain_lib.report.results.Results`. Chapters display entries by
name (:func:`ketapain_lib.report.book.output`), the export walks the whole
registry (:func:`ketapain_lib.report.export.export_all`), and a test checks
that each entry is shown by its chapter and exported.

To add a table: write the analysis (``stats``), add its line to
:data:`~ketapain_lib.report.results.ANALYSES` if it is a model, declare it
here, and call ``book.output(results, "<name>")`` in its chapter.

>>> OUTPUTS["table2_auc"].number, OUTPUTS["table2_auc"].chapter
('Table 2', '04_secondary_endpoints')
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from .. import formatting as fmt
from ..design import (ACTIVE_TREATMENTS, FIGURE4_WINDOWS, PERIODS, PRIMARY, REPORT_METHOD,
                      RESPONSE_THRESHOLD, SEQUENCES, SMALL_SAMPLE_METHOD, TREATMENT_LABELS, TREATMENTS)
from ..stats.crossover import PAIRS
from ..paper.published import AUC_TABLE_NUMBER
from . import cache, figures, tables, views
from ..paper import audit
from ..synthetic import replay
from .labels import CI_PERCENT
from .publication import Layout
from .figure_style import SMALLEST

_CI = f"{CI_PERCENT}%"
_PRIMARY = f"day-{PRIMARY.last_day} AUC of average pain"


def _identity(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


@dataclass(frozen=True)
class Output:
    """One table or figure of the report.

    ``make`` returns the output from the results: a DataFrame (exported as
    CSV, as is) or a matplotlib Figure (exported as PNG and SVG). ``view``
    turns a table into what the page shows (labels, dropped technical
    columns), ``precision`` is the decimals shown (see
    :func:`ketapain_lib.formatting.frame_as_text`), ``alt`` a figure's text alternative;
    ``from_data`` is False for a table that describes the contract, not the data (it gets no source note);
    ``exported`` is False for a table about the build, not the trial (the environment appendix's);
    ``layout`` (:class:`~ketapain_lib.report.publication.Layout`) adds a stub, spanners and footnotes;
    ``published`` gives, for a table of the paper (or its primary result), the cells the paper prints a value for
    (see :mod:`ketapain_lib.report.views`), shown in a "Published" row under the row they belong to;
    ``synthetic_rows`` marks, on synthetic data only, which rows the generator invents and which it calibrates.
    """

    name: str
    number: str
    chapter: str
    caption: str
    make: Callable
    view: Callable[[pd.DataFrame], pd.DataFrame] = field(default=_identity)
    precision: int | dict[str, int] = 2
    alt: str = ""
    export_path: str | None = None
    from_data: bool = True
    exported: bool = True
    layout: Layout = field(default_factory=Layout)
    published: Callable[[pd.DataFrame], dict[tuple[int, str], str]] | None = None
    synthetic_rows: Callable[[pd.DataFrame], tuple[tuple[str, tuple[int, ...]], ...]] | None = None

    @property
    def kind(self) -> str:
        return "figure" if self.number.startswith("Figure") else "table"

    @property
    def path(self) -> str:
        """Where the export writes it (relative to the export folder, without the figure's suffix)."""
        if self.export_path:
            return self.export_path
        return f"figures/{self.name}" if self.kind == "figure" else f"tables/{self.name}.csv"


def _drop(*columns: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: views.by_treatment_columns(frame.drop(columns=list(columns)))


def _figure4(index: int) -> Callable:
    last_day = FIGURE4_WINDOWS[index]
    return lambda r: figures.patient_auc(r["auc_long"], last_day, r["improvement_flags"][last_day],
                                         imputation=PRIMARY.imputation)


def _model_table_layout(pairs: tuple[str, ...], summary_target: str) -> Layout:
    """Tables 2 and 3 (:func:`ketapain_lib.report.views.table2_view`): treatments under one spanner, the two
    omnibus tests under another, the Sidak post hoc P under a third, each explained in a footnote."""
    treatments = tuple(TREATMENT_LABELS.values())
    post_hoc = tuple(f"p_sidak: {pair}" for pair in pairs)
    return Layout(stub="label", group="group",
                  spanners=((summary_target, treatments), ("Omnibus P", ("omnibus_p", "omnibus_p_kr")),
                            ("Post hoc P", post_hoc)),
                  labels=(("omnibus_p", "Wald"), ("omnibus_p_kr", "Kenward-Roger"),
                          *((column, column.removeprefix("p_sidak: ")) for column in post_hoc)),
                  footnotes=((views.SUMMARY_NOTE, (summary_target,)), (views.OMNIBUS_NOTE, ("Omnibus P",)),
                             (views.POST_HOC_NOTE, ("Post hoc P",))))


_POST_HOC_PAIRS = tuple(views.pair_label(f"{first} vs {second}") for first, second in PAIRS)


#: The order in which the paper lists the treatments; the supplement's three tables are numbered in it (the
#: supplement itself is not public, so the pairing of table and treatment is this report's).
PAPER_TREATMENT_ORDER = ("ketamine", "ketamine_magnesium", "placebo")
AUDIT_NOTE = ("Consistent: some dataset of the trial's shape prints these numbers; inconsistent: none can, under "
              "the stated reading; undetermined: the paper alone cannot decide.")


#: Figure 1's caption and text alternative: what the CONSORT crossover flow (:mod:`~ketapain_lib.report.flow`)
#: draws, with the design's counts; the data's counts are in the drawing and in the chapter's glued prose.
FLOW_CAPTION = (f"Flow of participants, after the CONSORT extension for randomised crossover trials: screening, "
                f"randomization to the {len(SEQUENCES)} sequences, each sequence's {len(PERIODS)} periods "
                "(treatment, patients infused, discontinuations) with the washout between them, and the patients "
                "analysed; every count from the raw data.")
FLOW_ALT = (f"Flow diagram. At the top, the patients screened and those not randomized with their reasons, then "
            f"the patients randomized. Below, one column per sequence ({len(SEQUENCES)} columns), headed by the "
            f"sequence's order of treatments and its patients; down each column one box per period "
            f"({len(PERIODS)} periods) with the treatment's letter, the patients infused and any who left, a band "
            "for the washout between periods and for the discontinuations with their reasons, the patients "
            "analysed in each sequence, and at the bottom the patients analysed by treatment and the letters' "
            "key. Every count is computed from the raw data.")


def _table1_sources(shown: pd.DataFrame) -> tuple[tuple[str, tuple[int, ...]], ...]:
    assumed, calibrated = views.table1_sources(shown)
    assumptions = OUTPUTS["generator_assumptions"].number
    return ((views.ASSUMED_NOTE.format(assumptions=assumptions), assumed), (views.CALIBRATED_NOTE, calibrated))


def table_extras(results, name: str, shown: pd.DataFrame) -> dict:
    """What :func:`~ketapain_lib.report.publication.publication_table` adds to registry table ``name`` as shown:
    the paper's values beside the report's (``published``) and, on synthetic data, the rows' sources
    (``row_notes``)."""
    entry = OUTPUTS[name]
    extras: dict = {}
    if entry.published is not None:
        extras["published"] = entry.published(shown)
    if entry.synthetic_rows is not None and results.trial.is_synthetic:
        extras["row_notes"] = entry.synthetic_rows(shown)
    return extras


def _missing_diary(treatment: str) -> Callable:
    return lambda r: r["missing_diary"][r["missing_diary"]["treatment"] == treatment].reset_index(drop=True)


def _beyond(key: str) -> Callable:
    return lambda r: r["beyond"][key]


def _margin(r) -> float:
    return float(r["beyond"]["cids"]["score_days"].iloc[0])


_ENTRIES: tuple[Output, ...] = (
    # ---- summary
    Output("key_findings", "Table", "00_summary",
           "The trial's key results: the primary endpoint, the first week and treatment-related adverse events.",
           lambda r: tables.key_findings(r["ledger"])),
    # ---- methods
    Output("sequences", "Table", "01_methods", "Patients randomized to each sequence of treatments.",
           lambda r: tables.sequence_counts(r.trial)),
    Output("model_formulas", "Table", "01_methods",
           "Fixed effects of the crossover mixed models fitted in this report; every model has a random "
           "intercept per patient.", lambda r: tables.model_formulas(),
           view=views.model_formulas_view),
    Output("effect_size_scales", "Table", "01_methods",
           f"Candidate scales of the effect size: the width of the {_CI} CI of each primary contrast in each "
           "scale.", lambda r: r["primary"]["effect_size_scales"], precision=2),
    Output("sample_size", "Table", "01_methods",
           "The planning calculation redone from the paper's published inputs.", lambda r: r["sample_size"],
           precision={"difference": 0, "sd": 0, "correlation": 1, "alpha": 2, "power": 2,
                      "sd_implied_by_published_n": 1}),
    # ---- population
    Output("figure1_flow", "Figure 1", "02_population", FLOW_CAPTION, lambda r: figures.flow_diagram(r.trial),
           alt=FLOW_ALT),
    Output("table1_characteristics", "Table 1", "02_population", "Characteristics of the patients at inclusion.",
           lambda r: tables.table1(r.trial), published=views.table1_published, synthetic_rows=_table1_sources,
           layout=Layout(stub="characteristic", group="group", labels=(("characteristic", ""),))),
    Output("preinfusion_pain", "Table", "02_population",
           "Pain before each infusion by treatment, with the omnibus P of the paper's model.",
           lambda r: r["preinfusion"], view=_drop("notes"), precision=3, published=views.preinfusion_published),
    # ---- primary endpoint
    Output("primary_descriptives", "Table", "03_primary_endpoint",
           f"The {_PRIMARY} (pain score-days, missing days carried forward) by treatment.",
           lambda r: r["primary"]["descriptives"], precision=1, published=views.primary_descriptives_published),
    Output("primary_pairwise", "Table", "03_primary_endpoint",
           f"Pairwise contrasts of the {_PRIMARY}: estimates with {_CI} CIs, P values (raw and Sidak-adjusted) "
           "and effect sizes.", lambda r: r["primary"]["pairwise"], view=_drop("first", "second"),
           precision={"estimate": 1, "se": 1, "ci_low": 1, "ci_high": 1, "z": 2, "effect_size": 2, "es_ci_low": 2,
                      "es_ci_high": 2, "es_total_sd": 2, "es_total_sd_ci_low": 2, "es_total_sd_ci_high": 2},
           published=views.primary_pairwise_published),
    Output("figure2_daily_pain", "Figure 2", "03_primary_endpoint",
           f"Mean daily average pain after each infusion, with {_CI} confidence bands; missing days carried "
           "forward.", lambda r: figures.daily_pain(r.trial),
           alt="Three panels, one per treatment (placebo, ketamine, ketamine/magnesium), each a line of mean daily "
               "pain over the period with its shaded confidence band, on the same 0-10 scale."),
    Output("primary_small_sample", "Table", "03_primary_endpoint",
           "The report's analysis (maximum likelihood, Wald tests, as Stata 13) beside the small-sample analysis "
           "(REML with Kenward-Roger and Satterthwaite degrees of freedom): P of the omnibus test and of each "
           "contrast, and whether the two agree at the report's level.", lambda r: r["primary"]["small_sample"],
           precision={"F_kr": 2}, published=views.primary_small_sample_published),
    Output("primary_model", "Table", "03_primary_endpoint",
           "The primary model: omnibus test of treatment, variance components, intraclass correlation and "
           "residual normality.", lambda r: r["primary"]["summary"], view=views.model_summary_view,
           published=views.primary_model_published,
           layout=Layout(stub="statistic", group="", labels=(("statistic", ""), ("value", "Primary model")))),
    Output("primary_interaction", "Table", "03_primary_endpoint",
           "Likelihood-ratio test of the sequence-by-treatment interaction in the primary model.",
           lambda r: r["primary"]["interaction"], precision=3),
    Output("primary_residuals_qq", "Figure", "03_primary_endpoint",
           "Normal Q-Q plot of the conditional residuals of the primary model.",
           lambda r: figures.residual_qq(r["primary"]["fit"]),
           alt="Residuals of the primary model against normal quantiles, with the reference line."),
    Output("primary_model_comparison", "Table", "03_primary_endpoint",
           f"The {_PRIMARY} under each model and estimation method: omnibus P, ICC, and each contrast's "
           "estimate and P.", lambda r: r["model_comparison"], view=views.model_comparison_view,
           precision={"icc": 2, **{f"estimate: {pair}": 1 for pair in _POST_HOC_PAIRS}},
           layout=Layout(stub="method", group="model", labels=(
               ("method", ""), ("omnibus_p", "Omnibus P"),
               *((f"{kind}: {pair}", pair) for kind in ("estimate", "p") for pair in _POST_HOC_PAIRS)),
               spanners=(("Estimate, pain score-days", tuple(f"estimate: {pair}" for pair in _POST_HOC_PAIRS)),
                         ("P", tuple(f"p: {pair}" for pair in _POST_HOC_PAIRS))),
               footnotes=((views.PAIRS_NOTE, ("Estimate, pain score-days",)),))),
    # ---- secondary endpoints
    Output("table2_auc", AUC_TABLE_NUMBER, "04_secondary_endpoints",
           "Area under the curve of average, maximal and night pain from the infusion to each day, by "
           "treatment, with the omnibus test of the paper's model and its post hoc comparisons.", lambda r: r["auc_table"],
           view=views.table2_view, precision=3, published=views.table2_published, layout=_model_table_layout(_POST_HOC_PAIRS, "AUC, pain score-days")),
    Output("figure3_auc_windows", "Figure 3", "04_secondary_endpoints",
           f"Mean AUC of average pain ({_CI} CI) by window and treatment, without imputation.",
           lambda r: figures.auc_by_timepoint(r["auc_long"]),
           alt=f"Mean area under the pain curve at each window for the {fmt.number_word(len(TREATMENTS))} "
               "treatments, with confidence intervals, growing with the length of the window."),
    Output("improvement_counts", "Table", "04_secondary_endpoints",
           "Patients improved after an active infusion and after placebo, by window, under each reading of "
           "\"improved\".", lambda r: r["improvement"], view=views.improvement_with_rules),
    Output("figure4a_patients_day7", "Figure 4A", "04_secondary_endpoints",
           f"Each patient's AUC over days 0-{FIGURE4_WINDOWS[0]} under each treatment (missing days carried "
           f"forward), patients sorted by their placebo AUC; ▲ marks a patient improved with ketamine and/or "
           f"ketamine/magnesium, ▽ with placebo (at least {fmt.fixed(100 * RESPONSE_THRESHOLD, 0)}% below the pain "
           "before the infusion).", _figure4(0),
           alt="One row per patient with a marker per treatment for the area under the curve over the first week."),
    Output("figure4b_patients_day35", "Figure 4B", "04_secondary_endpoints",
           f"The same over days 0-{FIGURE4_WINDOWS[1]}.", _figure4(1),
           alt="One row per patient with a marker per treatment for the area under the curve over the period."),
    Output("consecutive_ketamine", "Table", "04_secondary_endpoints",
           f"Sum of the {fmt.number_word(len(ACTIVE_TREATMENTS))} ketamine AUCs for patients whose ketamine "
           "infusions were consecutive and for those whose ketamine infusions placebo separated.", lambda r: r["consecutive"],
           precision={"mean_first": 1, "sd_first": 1, "mean_second": 1, "sd_second": 1, "difference": 1, "t": 2}),
    Output("table3_questionnaires", "Table 3", "04_secondary_endpoints",
           "Questionnaire scores at the end of each period, by treatment, with the omnibus test of the paper's "
           "model and its post hoc comparisons.", lambda r: r["questionnaires"], view=views.table3_view, precision=3,
           published=views.table3_published,
           layout=_model_table_layout(_POST_HOC_PAIRS, "Score at the end of the period")),
    *(Output(f"missing_diary_{treatment}", f"Supplementary Table {number}", "04_secondary_endpoints",
             f"Missing diary entries of average pain after the {TREATMENT_LABELS[treatment].lower()} infusion, "
             "by day.", _missing_diary(treatment), view=views.missing_diary_view, published=views.none_published,
             layout=Layout(stub="day", group="", labels=(("day", "Day"),),
                           footnotes=((views.MISSING_NOTE, (TREATMENT_LABELS[treatment],)),)))
      for number, treatment in enumerate(PAPER_TREATMENT_ORDER, start=1)),
    # ---- safety
    Output("adverse_events", "Table", "05_safety",
           "Patients with adverse events during each treatment's period: overall and by term.",
           lambda r: tables.adverse_event_table(r.trial),
           layout=Layout(stub="event", group="group", labels=(("event", ""),),
                         spanners=(("Patients, n (%)", tuple(TREATMENT_LABELS.values())),),
                         footnotes=((views.AE_NOTE, ("Patients, n (%)",)),))),
    Output("adverse_events_relatedness", "Table", "05_safety",
           "Adverse events by relatedness to the study drug, as the investigators judged it, and treatment.",
           lambda r: tables.relatedness_table(r.trial), view=views.relatedness_view,
           layout=Layout(stub="relatedness", group="", spanners=(("Events", tuple(TREATMENT_LABELS.values())),),
                         footnotes=((views.RELATED_NOTE, ("Events",)),))),
    Output("adverse_events_model", "Table", "05_safety",
           "Logistic mixed model of a treatment-related adverse event in a period: odds ratios against placebo.",
           lambda r: r["adverse_events"]["fixed_effects"], view=views.odds_ratio_view, precision=2,
           layout=Layout(stub="comparison", group="", labels=(("comparison", ""),),
                         footnotes=((views.ODDS_RATIO_NOTE, ("p",)),))),
    Output("table4_concomitant_changes", "Table 4", "05_safety", "Changes of concomitant analgesic drugs.",
           lambda r: tables.table4(r.trial), published=views.none_published),
    # ---- beyond the paper
    Output("missing_data_forest", "Figure", "07_beyond_the_paper",
           f"Treatment contrasts of the {_PRIMARY} ({_CI} CI) under each approach to the missing diary days; "
           "the dashed lines mark one point sustained over the period.",
           lambda r: figures.forest(r["beyond"]["missing_data"], "approach", margin=_margin(r)),
           alt="Forest plot with one panel per comparison and one row per approach to the missing diary days."),
    Output("missing_data_contrasts", "Table", "07_beyond_the_paper",
           f"Treatment contrasts of the {_PRIMARY} under each approach to the missing diary days.",
           _beyond("missing_data"), precision={"estimate": 1, "se": 1, "ci_low": 1, "ci_high": 1}),
    Output("model_choice_forest", "Figure", "07_beyond_the_paper",
           f"Treatment contrasts of the {_PRIMARY} ({_CI} CI) under each model and estimation method.",
           lambda r: figures.forest(r["beyond"]["model_choices"], "model"),
           alt="Forest plot with one panel per comparison and one row per model and estimation method."),
    Output("equivalence_and_bayes", "Table", "07_beyond_the_paper",
           "Each contrast against the clinically important differences: equivalence tests and Bayesian "
           "probabilities of benefit.", _beyond("honest_reading"), view=views.equivalence_view, precision=3,
           layout=Layout(stub="clinically important difference", group="contrast",
                         labels=(("clinically important difference", "Clinically important difference "
                                  "(pain score-days)"), ("tost_p", "P (TOST)"), ("flat: any", "Flat prior, any"),
                                 ("flat: important", "Flat prior, important"), ("sceptical: any", "Sceptical, any"),
                                 ("sceptical: important", "Sceptical, important")),
                         spanners=(("Equivalence", ("tost_p", "equivalent")),
                                   ("Probability of a benefit", ("flat: any", "flat: important", "sceptical: any",
                                                                 "sceptical: important"))),
                         footnotes=((views.EQUIVALENCE_NOTE, ("Equivalence",)),
                                    (views.BENEFIT_NOTE, ("Probability of a benefit",))))),
    Output("power_curve", "Figure", "07_beyond_the_paper",
           "Exact power of the achieved design against the true benefit of ketamine over placebo; the "
           "dashed line marks one point sustained over the period.",
           lambda r: figures.power_curve(r["beyond"]["power_curve"], margin=_margin(r)),
           alt="Exact power against the true benefit of ketamine over placebo."),
    Output("design_precision", "Table", "07_beyond_the_paper",
           f"Variance components of the primary endpoint's model refitted by {SMALL_SAMPLE_METHOD} (as the power "
           f"calculation uses them; the primary model's table is by {REPORT_METHOD}) and the smallest benefit "
           "detected with 80% and 90% power.",
           lambda r: r["beyond"]["variance_components"].join(r["beyond"]["detectable"], how="cross"),
           precision={"sd_patient": 1, "sd_residual": 1, "icc": 2, "power": 2, "detectable_difference": 1,
                      "se_ketamine_vs_placebo": 1}),
    Output("responders", "Table", "07_beyond_the_paper",
           "Responders by treatment: mean daily pain over the period at least 30% (50%) below the pain before "
           "the infusion.", _beyond("responders"), precision=1),
    # ---- the paper audited
    Output("audit", "Table", "08_audit",
           "Every consistency check of the published numbers: what it reads, its verdict, the tolerance it allows "
           "and what it finds.", lambda r: audit.audit_table(), view=lambda frame: frame.drop(columns="keys"),
           from_data=False,
           layout=Layout(group="section", labels=(("published", "Published numbers"),),
                         footnotes=((AUDIT_NOTE, ("verdict",)),))),
    Output("reconstruction", "Table", "08_audit",
           "The numbers the reconstruction aimed at: published, given by the reconstructed (shipped synthetic) data, "
           "and, where the data's allocation of patients to sequences cannot give them, the value it forces.",
           lambda r: replay.recorded_report(), view=views.reconstruction_view, from_data=False,
           layout=Layout(group="", footnotes=((views.RECONSTRUCTION_NOTE, ("status",)),))),
    # ---- appendices
    Output("file_dictionary", "Table", "a1_data_dictionary", "The files of a raw-data export.",
           lambda r: tables.file_dictionary(), from_data=False, layout=Layout(code=("file", "key"))),
    Output("data_dictionary", "Table", "a1_data_dictionary", "Every column of every file, with its type and "
           "valid values.", lambda r: tables.data_dictionary(), from_data=False,
           layout=Layout(code=("file", "column", "values", "key"))),
    Output("score_dictionary", "Table", "a1_data_dictionary", "The questionnaire scores: instruments, ranges "
           "and visits.", lambda r: tables.score_dictionary(), from_data=False,
           layout=Layout(code=("score", "collected at"))),
    Output("calibration", "Table", "a2_synthetic_data",
           "Each published summary the generator is calibrated to, beside the value the shipped data achieve.",
           lambda r: r["calibration"], view=views.calibration_view),
    Output("generator_assumptions", "Table", "a2_synthetic_data",
           "The generator's parameters that the paper does not publish.", lambda r: tables.assumptions_table()),
    Output("ledger", "Table", "a3_ledger",
           "Every number the paper publishes, beside the number this report computes.", lambda r: r["ledger"],
           view=views.ledger_view, precision={"computed": 3, "difference": 3}, export_path="ledger.csv"),
    Output("environment", "Table", "a4_environment",
           "Python and the pinned packages, with the versions installed where this book was built.",
           lambda r: tables.environment_table(), from_data=False, exported=False, layout=Layout(code=("package",))),
    Output("benchmarks", "Table", "a4_environment",
           "The latest measurements of the benchmark scripts: each step's median and range against its target, "
           "on the machine that recorded them.", lambda r: tables.benchmark_table(), from_data=False,
           exported=False),
)

def _numbered(entries: tuple[Output, ...]) -> tuple[Output, ...]:
    """Give the outputs the paper does not have their own series, in the book's order: "Table E1" in the body,
    "Table A1" in the appendices (their ``number`` is declared as just "Table" or "Figure")."""
    counts: dict[tuple[str, str], int] = {}
    numbered = []
    for entry in entries:
        if entry.number in ("Table", "Figure"):
            series = "A" if entry.chapter.startswith("a") else "E"
            counts[(entry.number, series)] = counts.get((entry.number, series), 0) + 1
            entry = replace(entry, number=f"{entry.number} {series}{counts[(entry.number, series)]}")
        numbered.append(entry)
    return tuple(numbered)


#: The registry, by name, in the order of the book.
OUTPUTS: dict[str, Output] = {entry.name: entry for entry in _numbered(_ENTRIES)}
if len(OUTPUTS) != len(_ENTRIES):  # pragma: no cover - a duplicated name would hide an output
    raise RuntimeError("duplicated output names in the registry")


def for_chapter(chapter: str) -> list[Output]:
    """The outputs a chapter shows, in order."""
    return [entry for entry in OUTPUTS.values() if entry.chapter == chapter]


#: The files of a figure: SVG (on the pages, and exported) and PNG (exported).
FIGURE_FORMATS: dict[str, Callable] = {"svg": figures.to_svg, "png": figures.to_png}


def figure_bytes(results, name: str, suffix: str) -> bytes:
    """The bytes of figure ``name`` as ``suffix`` (:data:`FIGURE_FORMATS`), rendered once per results.

    Drawing dominates a figure's cost, and a build needs each figure on its page and in the export: the bytes
    are kept in the report's cache under the results' key, so the page and the export share one rendering
    (also across the kernels of the pages). A process also keeps the figures it drew for the latest results,
    so its second format saves the same figure again: the bytes are those of a new drawing (a test checks it),
    at a fraction of the cost.
    """
    if not results.cached:
        return FIGURE_FORMATS[suffix](stamped(results, OUTPUTS[name].make(results)))
    return cache.memoize(f"figures/{name}.{suffix}", results.key,
                         lambda: FIGURE_FORMATS[suffix](_held_figure(results, name)))


#: The footer of every figure drawn from synthetic data (none on a real export's figures).
#: Short enough to fit a figure's width (4.75 in) in the smallest type a phone still reads.
SYNTHETIC_FOOTER = "Synthetic data from a seeded simulation, not patients' data."
#: The SVG id of the footer (its words are drawn as glyphs).
FOOTER_ID = "ketapain-synthetic-footer"
#: The height added under a figure for its footer, in inches.
FOOTER_INCHES = 0.22


def stamped(results, figure):
    """``figure`` with :data:`SYNTHETIC_FOOTER` in a strip added under it when the data are synthetic: the
    pages and the export show the same drawing, so a figure copied out of either still says what it shows."""
    if not results.trial.is_synthetic:
        return figure
    height = figure.get_figheight()
    figure.set_figheight(height + FOOTER_INCHES)
    scale = height / (height + FOOTER_INCHES)
    for axes in figure.axes:  # the drawing keeps its size; the strip is added below it
        box = axes.get_position()
        axes.set_position([box.x0, 1 - (1 - box.y0) * scale, box.width, box.height * scale])
    figure.text(0.01, 0.4 * FOOTER_INCHES / (height + FOOTER_INCHES), SYNTHETIC_FOOTER, ha="left", va="center",
                fontsize=SMALLEST, color="#555555", style="italic", gid=FOOTER_ID)
    return figure


_HELD: dict[tuple[str, str], object] = {}  # this process's drawn figures, by (results key, figure name)


def _held_figure(results, name: str):
    if any(key != results.key for key, _ in _HELD):
        _HELD.clear()  # one results at a time: a long session switching data keeps only the latest drawings
    if (results.key, name) not in _HELD:
        _HELD[(results.key, name)] = stamped(results, OUTPUTS[name].make(results))
    return _HELD[(results.key, name)]

