"""The paper's conclusions beside the report's own tests: where this report's data disagree with the paper.

The published-results file records every conclusion the paper states, including those stated only in words
(:func:`~ketapain_lib.paper.published.published_conclusions`: 1 where the paper reports a difference, 0
where it reports none). :func:`conclusions` sets each beside the report's test of the same question at the
report's level (:data:`ketapain_lib.design.ALPHA`), with the small-sample (Kenward-Roger) test and the other
handling of missing diary days where the report has them, so that a conclusion that rests on one choice of
analysis says so.

>>> sorted(TESTS)[:2]
['conclusion_bpi_interference', 'conclusion_bpi_severity']
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from .. import formatting as fmt
from ..design import ALPHA, IMPUTATION_LABELS, NOT_TARGETED, TREATMENT_LABELS
from .published import published_conclusions

#: The chapter that states each section's results (the chapters call ``book.ledger_rows`` with these sections).
SECTION_CHAPTERS = {"Study Treatment": "01_methods", "Statistical Analysis": "01_methods",
                    "Sample Size": "01_methods", "Patient Characteristics": "02_population",
                    "Primary Endpoint": "03_primary_endpoint", "Secondary Endpoints": "04_secondary_endpoints",
                    "Safety": "05_safety", "Discussion": "06_discussion"}

#: Scores on which a higher value is better (on every other score of Table 3, higher is worse).
HIGHER_IS_BETTER = ("sf36_physical", "sf36_mental")


@dataclass(frozen=True)
class Test:
    """The report's test of one conclusion: its P (a finding when P < ALPHA), the other analyses of the same
    question (name -> P), and the centre of each treatment (for the direction of a finding)."""

    p: float
    others: dict[str, float]
    centres: dict[str, float] | None = None
    higher_is_better: bool = False
    #: for a count-based conclusion (no test): the count, a finding when above 0
    count: int | None = None
    #: each active treatment's post hoc (Sidak) P against placebo, where the report computes one
    against_placebo: dict[str, float] | None = None


def _against_placebo(row: pd.Series) -> dict[str, float]:
    return {column.removeprefix("p_sidak: ").removesuffix(" vs placebo"): float(row[column]) for column in row.index
            if column.startswith("p_sidak: ") and column.endswith(" vs placebo") and pd.notna(row[column])}


def _auc_row(r: Mapping, measure: str, last_day: int, imputation: str) -> pd.Series:
    table = r["auc_table"]
    rows = table[(table["measure"] == measure) & (table["last_day"] == last_day) & (table["imputation"] == imputation)]
    return rows.iloc[0]


def _auc_centres(r: Mapping, measure: str, last_day: int, imputation: str) -> dict[str, float]:
    frame = r["auc_long"]
    chosen = frame[(frame["measure"] == measure) & (frame["last_day"] == last_day) & (frame["imputation"] == imputation)]
    return {str(k): float(v) for k, v in chosen.groupby("treatment", observed=True)["auc"].mean().items()}


def _window(measure: str, last_day: int, imputation: str) -> Callable[[Mapping], Test]:
    """A Table 2 row: the Wald test, its Kenward-Roger version, and the row with the other imputation."""
    other = "none" if imputation == "locf" else "locf"

    def test(r: Mapping) -> Test:
        row, alternative = _auc_row(r, measure, last_day, imputation), _auc_row(r, measure, last_day, other)
        return Test(float(row["omnibus_p"]),
                    {"Kenward-Roger": float(row["omnibus_p_kr"]),
                     IMPUTATION_LABELS[other]: float(alternative["omnibus_p"])},
                    _auc_centres(r, measure, last_day, imputation), against_placebo=_against_placebo(row))
    return test


def _primary_pair(comparison: str) -> Callable[[Mapping], Test]:
    def test(r: Mapping) -> Test:
        pairwise = r["primary"]["pairwise"].set_index("comparison")
        small = r["primary"]["small_sample"].set_index("test")
        return Test(float(pairwise.at[comparison, "p"]), {"Kenward-Roger": float(small.at[comparison, "p_kr"])})
    return test


def _score(score: str) -> Callable[[Mapping], Test]:
    def test(r: Mapping) -> Test:
        from ..stats import derive

        row = r["questionnaires"].set_index("score").loc[score]
        ends = r.trial.questionnaires
        ends = ends[(ends["visit"] == "end_of_period") & (ends["score"] == score)]
        centres = derive.with_treatment(ends, r.trial.infusions).groupby("treatment", observed=True)["value"].mean()
        return Test(float(row["omnibus_p"]), {"Kenward-Roger": float(row["omnibus_p_kr"])},
                    {str(k): float(v) for k, v in centres.items()}, score in HIGHER_IS_BETTER,
                    against_placebo=_against_placebo(row))
    return test


def _consecutive(r: Mapping) -> Test:
    row = r["consecutive"].iloc[0]
    return Test(float(row["p"]), {"Welch's t test": float(row["p_welch"])})


def _preinfusion(r: Mapping) -> Test:
    return Test(float(r["preinfusion"]["omnibus_p"].item()), {})


def _serious(r: Mapping) -> Test:
    events = r.trial.adverse_events
    return Test(float("nan"), {}, count=int((events["serious"] == "yes").sum()))


#: The report's test of each conclusion of the published-results file, by key.
TESTS: dict[str, Callable[[Mapping], Test]] = {
    "conclusion_preinfusion_pain": _preinfusion,
    "conclusion_primary": _window("average_pain", 35, "locf"),
    "conclusion_primary_ketamine_vs_placebo": _primary_pair("ketamine vs placebo"),
    "conclusion_primary_ketamine_magnesium_vs_placebo": _primary_pair("ketamine_magnesium vs placebo"),
    "conclusion_primary_ketamine_vs_ketamine_magnesium": _primary_pair("ketamine vs ketamine_magnesium"),
    "conclusion_day7": _window("average_pain", 7, "none"),
    "conclusion_day15": _window("average_pain", 15, "none"),
    "conclusion_day21": _window("average_pain", 21, "none"),
    "conclusion_day28": _window("average_pain", 28, "none"),
    "conclusion_maximal_pain_day35": _window("maximal_pain", 35, "locf"),
    "conclusion_night_pain_day35": _window("night_pain", 35, "locf"),
    "conclusion_consecutive": _consecutive,
    **{f"conclusion_{score}": _score(score) for score in
       ("bpi_severity", "bpi_interference", "mcgill_total", "npsi_total", "pgic_global", "pgic_sleep",
        "hads_anxiety", "hads_depression", "sf36_physical", "sf36_mental", "psqi_global")},
    "conclusion_no_serious_events": _serious,
}


#: A difference the paper reports with its direction: (treatment, the treatment it lies below).
EXPECTED_BELOW = {"conclusion_day7": ("ketamine", "placebo")}


#: The published numbers behind a conclusion: on synthetic data, a conclusion whose number was aimed at was
#: made to hold (its targeting in the ledger).
CONCLUSION_NUMBERS = {
    "conclusion_preinfusion_pain": ("preinfusion_pain_p",), "conclusion_primary": ("auc35_locf_omnibus_p",),
    "conclusion_primary_ketamine_vs_placebo": ("auc35_es_ketamine_vs_placebo_p",),
    "conclusion_primary_ketamine_magnesium_vs_placebo": ("auc35_es_placebo_vs_ketamine_magnesium_p",),
    "conclusion_primary_ketamine_vs_ketamine_magnesium": ("auc35_es_ketamine_vs_ketamine_magnesium_p",),
    "conclusion_day7": ("auc7_omnibus_p", "auc7_ketamine_vs_placebo_p"), "conclusion_consecutive": ("consecutive_p",),
    "conclusion_pgic_sleep": ("pgic_sleep_p",), "conclusion_no_serious_events": ("ae_serious_n",),
}
#: The conclusions whose data the synthetic generator draws from its own assumptions
#: (:data:`ketapain_lib.synthetic.assumptions.ASSUMPTIONS`), not from anything the paper publishes, in words.
ASSUMED_DATA = {
    "conclusion_maximal_pain_day35": "the gap between maximal and average pain",
    "conclusion_night_pain_day35": "the gap between night and average pain",
    **{f"conclusion_{score}": f"the {words} scores" for score, words in (
        ("bpi_severity", "BPI severity"), ("bpi_interference", "BPI interference"), ("mcgill_total", "McGill"),
        ("npsi_total", "NPSI"), ("pgic_global", "PGIC global"), ("pgic_sleep", "PGIC sleep"),
        ("hads_anxiety", "HADS anxiety"), ("hads_depression", "HADS depression"),
        ("sf36_physical", "SF-36 physical"), ("sf36_mental", "SF-36 mental"), ("psqi_global", "PSQI"))},
}
#: What a conclusion rests on, on synthetic data (``basis`` of :func:`conclusions`; empty on a real export).
TARGETED, ASSUMED, EMERGED = "targeted", "assumption", "emerged"


def basis(key: str, targeting: Mapping[str, str] | None) -> str:
    """On synthetic data (``targeting``: the ledger's class by key), what the report's test of a conclusion rests
    on: a published number the data were made to hit (``targeted``), data drawn from the generator's own
    assumption (``assumption``), or data nothing aimed at (``emerged``); on a real export (None), nothing.

    >>> basis("conclusion_hads_depression", {"pgic_sleep_p": "reconstruction target"})
    'assumption'
    >>> basis("conclusion_pgic_sleep", {"pgic_sleep_p": "reconstruction target"}), basis("conclusion_day15", None)
    ('targeted', '')
    """
    if targeting is None:
        return ""
    if any(targeting.get(number, NOT_TARGETED) != NOT_TARGETED for number in CONCLUSION_NUMBERS.get(key, ())):
        return TARGETED
    return ASSUMED if key in ASSUMED_DATA else EMERGED


def qualifier(key: str, basis_: str, assumptions_table: str = "the synthetic-data appendix") -> str:
    """What a disagreement on synthetic data is evidence of, in words ("" on a real export).

    >>> qualifier("conclusion_hads_depression", "assumption", "Table A5")[:60]
    'on these synthetic data, the HADS depression scores are draw'
    >>> qualifier("conclusion_day15", "")
    ''
    """
    if basis_ == ASSUMED:
        return (f"on these synthetic data, {ASSUMED_DATA[key]} are drawn from the simulation's own assumption "
                f"({assumptions_table}), not calibrated to anything the paper publishes: this disagreement reflects "
                "that assumption, not evidence about the trial")
    if basis_ == TARGETED:
        return ("on these synthetic data, the published number behind this conclusion was a target of the "
                "simulation: the disagreement is a property of the simulated data, not evidence about the trial")
    if basis_ == EMERGED:
        return ("on these synthetic data, nothing aimed at this result: the disagreement is a property of the "
                "simulated data, not evidence about the trial")
    return ""


def _finding(test: Test) -> bool:
    return test.count > 0 if test.count is not None else test.p < ALPHA


def direction(test: Test) -> str:
    """Which treatments differ from placebo, and which way, in words (for a finding the paper does not report)."""
    if not test.centres or "placebo" not in test.centres:
        return ""
    placebo = test.centres["placebo"]
    parts = []
    for treatment, centre in test.centres.items():
        p = (test.against_placebo or {}).get(treatment)
        if treatment == "placebo" or p is None or p >= ALPHA:
            continue  # only the treatments the post hoc comparison sets apart from placebo
        better = (centre > placebo) == test.higher_is_better
        label = TREATMENT_LABELS[treatment]
        parts.append(f"{label[0].lower() + label[1:]} {'better' if better else 'worse'} than placebo (mean "
                     f"{fmt.fixed(centre, 1)} against {fmt.fixed(placebo, 1)}, Sidak P {fmt.p_equals(p)})")
    return "; ".join(parts)


def _report_words(test: Test) -> str:
    if test.count is not None:
        return fmt.count(test.count, "serious adverse event")
    return f"P {fmt.p_equals(test.p)}: {'a difference' if test.p < ALPHA else 'no difference'}"


def conclusions(r: Mapping) -> pd.DataFrame:
    """Every conclusion of the paper beside the report's test, in the file's order.

    Columns: ``key``, ``section``, ``chapter``, ``conclusion`` (the paper's, in words), ``paper`` ("a
    difference" or "no difference"), ``report`` (the report's P and verdict in words), ``p``, ``agrees``,
    ``others`` (the other analyses of the same question, in words), ``changes`` (True where one of them reaches
    the other verdict at the report's level), ``direction`` (for a finding: which way each treatment lies
    from placebo), ``basis`` (on synthetic data, what the test rests on: :func:`basis`).
    """
    ledger = r["ledger"]
    targeting = dict(zip(ledger["key"], ledger["targeting"])) if "targeting" in ledger else None
    rows = []
    for key, row in published_conclusions().iterrows():
        test = TESTS[key](r)
        paper_finding = bool(row["value"])
        finding = _finding(test)
        below = EXPECTED_BELOW.get(key)
        same_way = below is None or not finding or test.centres[below[0]] < test.centres[below[1]]
        changes = [name for name, p in test.others.items() if (p < ALPHA) != finding]
        rows.append({"key": key, "section": row["section"], "chapter": SECTION_CHAPTERS[row["section"]],
                     "conclusion": row["description"], "paper": "a difference" if paper_finding else "no difference",
                     "report": _report_words(test), "p": test.p, "agrees": finding == paper_finding and same_way,
                     "others": "; ".join(f"{name} P {fmt.p_equals(p)}" for name, p in test.others.items()),
                     "changes": "; ".join(f"{name} P {fmt.p_equals(test.others[name])}" for name in changes),
                     "direction": direction(test) if finding else "",
                     "basis": basis(key, targeting)})
    return pd.DataFrame(rows)


def disagreements(r: Mapping, chapter: str | None = None) -> pd.DataFrame:
    """The conclusions the report's own tests do not support (of one chapter, or all)."""
    table = conclusions(r)
    table = table[~table["agrees"]]
    return table if chapter is None else table[table["chapter"] == chapter]


def disagreement_sentences(table: pd.DataFrame, assumptions_table: str = "the synthetic-data appendix") -> list[str]:
    """One sentence per disagreement: what the paper concludes, what the report's test gives, the other
    analyses of the same question and, on synthetic data, what the disagreement is evidence of
    (:func:`qualifier`)."""
    out = []
    for _, row in table.iterrows():
        subject, _, claim = row["conclusion"].partition(": ")
        claim = claim or "no finding"
        sentence = f"{subject}: the paper reports {claim}; this report's test gives {row['report']}"
        if row["direction"]:
            sentence += f", {row['direction']}"
        if row["others"]:
            sentence += f" ({row['others']})"
        words = qualifier(row["key"], row.get("basis", ""), assumptions_table)
        if words:
            sentence += f"; {words}"
        out.append(sentence)
    return out


def positive_findings() -> list[str]:
    """The paper's positive findings (the conclusions that report a difference), by their descriptions."""
    table = published_conclusions()
    return [text.partition(":")[0] for text in table.loc[table["value"] == 1, "description"]]
