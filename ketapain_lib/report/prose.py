"""The values each chapter's prose states, from the same results as its tables (glued as text).

One function per chapter, registered in :data:`VALUES` under the chapter's
file name. Each returns the text a reader sees (formatted by
:mod:`ketapain_lib.formatting`, at the precision printed), or exact counts,
so that a sentence cannot disagree with the table beside it. The chapter
glues them with :func:`ketapain_lib.report.book.glue_chapter`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from .. import formatting as fmt
from ..design import (ALPHA, CARRYOVER_CODING, DAY7, FIGURE4_WINDOWS, PERIOD_DAYS, PERIODS, PRIMARY, Endpoint,
                      REFERENCE_TREATMENT, REPORT_METHOD, RESPONSE_THRESHOLD, SMALL_SAMPLE_METHOD,
                      TREATMENTS)
from ..stats import analyses, derive, interpretation, sensitivity
from ..stats.crossover import PAIRS, sidak
from ..paper.published import PAIR_KEYS
from . import tables, wording
from .labels import CI_PERCENT
from .wording import ledger_counts

Values = dict[str, str | int]


def verdict(p: float, significant: str, not_significant: str) -> str:
    """The words for a result at the report's level (P < ALPHA), so that prose follows the data.

    >>> verdict(0.2, "differ", "do not differ")
    'do not differ'
    """
    return significant if p < ALPHA else not_significant


#: The estimation methods, in words.
METHOD_WORDS = {"ML": "maximum likelihood", "REML": "restricted maximum likelihood (REML)"}


def _ci_pct() -> str:
    return CI_PERCENT


#: The carry-over coding of :data:`ketapain_lib.design.CARRYOVER_CODING`, in words.
CARRYOVER_WORDS = {
    "placebo_carries_nothing": "the treatment of the previous period, with placebo and the first period coded as "
                               "no carry-over",
    "previous_treatment": "the treatment of the previous period, placebo included (Stata's pkshape convention), "
                          "with only the first period coded as no carry-over",
}


def methods(r: Mapping) -> Values:
    """Design facts (from the raw data, via the ledger) and the planning calculation."""
    ledger = r["ledger"].set_index("key")
    planning = r["sample_size"].set_index("method").loc["normal approximation"]
    return {
        "n_patients": int(ledger.at["design_patients_planned", "reproduced"]),
        "period_days": int(ledger.at["design_period_days", "reproduced"]),
        "ketamine_mg_per_kg": fmt.fixed(ledger.at["design_ketamine_mg_per_kg", "reproduced"], 1),
        "magnesium_mg": int(ledger.at["design_magnesium_sulfate_mg", "reproduced"]),
        "n_sequences": int(r.trial.randomization["sequence"].nunique()),
        "alpha": fmt.fixed(ALPHA, 2),
        "n_normal": int(planning["n_reproduced"]),
        "n_t": int(r["sample_size"].set_index("method").at["paired t", "n_reproduced"]),
        "n_published": int(planning["n_published"]),
        "sd_implied": fmt.fixed(planning["sd_implied_by_published_n"], 0),
        "sd_pilot": fmt.fixed(planning["sd"], 0),
        "planned_difference": fmt.fixed(planning["difference"], 0),
        "planned_alpha": fmt.fixed(planning["alpha"], 2),
        "planned_power": fmt.fixed(planning["power"], 2),
        "planned_correlation": fmt.fixed(planning["correlation"], 1),
        "carryover_coding": CARRYOVER_WORDS[CARRYOVER_CODING],
        "primary_days": PRIMARY.last_day,
        "method_words": METHOD_WORDS[REPORT_METHOD],
        "published_es_widths": _published_es_widths(r["ledger"]),
        **design_counts(r),
        "n_models": len(tables.model_formulas()),
        "n_alternatives": len(analyses.MODEL_CHOICES) - 1,
        "alternative_models": "; ".join(label for label, _, _ in analyses.MODEL_CHOICES[1:]),
        "n_effect_sizes": len(PAIRS),
    }


def design_counts(r: Mapping) -> Values:
    """The design's counts, from the data: treatments, periods (infusions per patient)."""
    return {"n_treatments": int(r.trial.infusions["treatment"].nunique()),
            "n_periods": int(r.trial.infusions["period"].nunique())}


def _published_es_widths(ledger) -> str:
    """The widths of the paper's three effect-size intervals, as the paper's numbers give them."""
    published = ledger.set_index("key")["published"]
    stems = [key[: -len("_lo")] for key in published.index if key.startswith("auc35_es_") and key.endswith("_lo")]
    return ", ".join(fmt.fixed(published[f"{stem}_hi"] - published[f"{stem}_lo"], 1) for stem in stems)


# --------------------------------------------------------------------------- the paper's numbers in the prose

def data_words(r: Mapping) -> str:
    """Whose data a computed claim is about, to open its sentence: on synthetic data it says so in the sentence.

    >>> data_words(type("R", (), {"trial": type("T", (), {"is_synthetic": True})()})())
    'On these synthetic data'
    """
    return "On these synthetic data" if r.trial.is_synthetic else "On the trial's data"


def _printed_pair(ledger, key: str) -> tuple[str, str]:
    """A ledger row's published value as the paper prints it and this report's value beside it."""
    row = ledger.loc[key]
    return fmt.as_printed(row["published"]), fmt.beside_published(row["reproduced"], row["published"])


def differing(ledger, keys) -> str:
    """Which of some ledger rows differ from the paper at its printed precision, each with both values, in words."""
    rows = [key for key in keys if ledger.at[key, "verdict"] == "differs"]
    if not rows:
        return f"each of these {fmt.count(len(keys), 'number')} prints as the paper prints it"
    listed = "; ".join(f"{ledger.at[key, 'statistic'][0].lower() + ledger.at[key, 'statistic'][1:]}: "
                       f"{' published, '.join(_printed_pair(ledger, key))} here" for key in rows)
    return (f"{len(rows)} of these {fmt.count(len(keys), 'number')} differ from the paper at its printed "
            f"precision ({listed})" if len(rows) > 1 else
            f"1 of these {fmt.count(len(keys), 'number')} differs from the paper at its printed precision ({listed})")


#: The effect sizes of the primary endpoint, in the chapter's order (each with its interval and P).
_ES_STEMS = tuple(f"auc35_es_{stem}" for stem in PAIR_KEYS.values())


def effect_sizes_against_paper(ledger) -> Values:
    """The paper's effect sizes with their intervals and P values, and which of this report's differ."""
    ledger = ledger.set_index("key")
    printed = [f"{fmt.as_printed(ledger.at[stem, 'published'])} ({fmt.as_printed(ledger.at[stem + '_lo', 'published'])}"
               f" to {fmt.as_printed(ledger.at[stem + '_hi', 'published'])}, P "
               f"{fmt.p_equals(ledger.at[stem + '_p', 'published'])})" for stem in _ES_STEMS]
    keys = [stem + suffix for stem in _ES_STEMS for suffix in ("", "_lo", "_hi", "_p")]
    return {"es_published": fmt.and_list(printed), "es_differing": differing(ledger, keys)}


def consecutive_against_paper(ledger) -> str:
    """The paper's consecutive-ketamine comparison beside this report's, in words."""
    ledger = ledger.set_index("key")
    pub = {k: fmt.as_printed(ledger.at[k, "published"]) for k in
           ("consecutive_auc_mean", "consecutive_auc_sd", "nonconsecutive_auc_mean", "nonconsecutive_auc_sd")}
    mine = {k: fmt.beside_published(ledger.at[k, "reproduced"], ledger.at[k, "published"]) for k in pub}
    keys = [*pub, "consecutive_p"]
    return (f"the paper gives sums of {pub['consecutive_auc_mean']} ± {pub['consecutive_auc_sd']} against "
            f"{pub['nonconsecutive_auc_mean']} ± {pub['nonconsecutive_auc_sd']} pain score-days (P "
            f"{fmt.p_equals(ledger.at['consecutive_p', 'published'])}); these data give "
            f"{mine['consecutive_auc_mean']} ± {mine['consecutive_auc_sd']} against {mine['nonconsecutive_auc_mean']}"
            f" ± {mine['nonconsecutive_auc_sd']}, and {differing(ledger, keys)}")


def improvement_against_paper(r: Mapping) -> str:
    """The paper's counts of improved patients beside this report's reading, and whether the reading keeps the
    paper's message (more improvements with an active infusion than with placebo), in words."""
    ledger = r["ledger"].set_index("key")
    first, last = FIGURE4_WINDOWS
    counts = r["improvement"].set_index(["rule", "last_day"])
    published = {day: (int(ledger.at[f"improved_ketamine_day{day}_n", "published"]),
                       int(ledger.at[f"improved_placebo_day{day}_n", "published"])) for day in (first, last)}
    mine = {day: (int(counts.at[("baseline_30pct", day), "improved_active"]),
                  int(counts.at[("baseline_30pct", day), "improved_placebo"])) for day in (first, last)}
    paper_lead = [published[d][0] - published[d][1] for d in (first, last)]
    lead = [mine[d][0] - mine[d][1] for d in (first, last)]
    if all(m <= 0 for m in lead):
        reading = ("placebo does as well as the active infusions or better, which does not support the paper's "
                   "remark that some patients improved with ketamine")
    elif all(m < p for m, p in zip(lead, paper_lead)):
        reading = ("the active infusions lead placebo by less than in the paper, so these counts give less "
                   "support to its remark that some patients improved with ketamine")
    else:
        reading = "the active infusions lead placebo at least as clearly as in the paper"
    from .labels import RULE_LABELS

    matches = []
    for (rule, day), row in counts.iterrows():
        for arm, index in (("improved_active", 0), ("improved_placebo", 1)):
            if day in published and int(row[arm]) == published[day][index]:
                label = RULE_LABELS[rule]
                label = label[0].lower() + label[1:] if label[1:2].islower() else label
                matches.append(f"{label} ({'active' if index == 0 else 'placebo'}, day {day})")
    matched = ("; of the other readings' counts, these equal a published one: " + ", ".join(matches)) if matches \
        else "; no reading gives any of the published counts"
    words = (f"the paper counts {published[first][0]} improved with an active infusion against {published[first][1]} "
             f"with placebo over the first week, and {published[last][0]} against {published[last][1]} over the whole "
             f"period; this reading gives {mine[first][0]} against {mine[first][1]}, and {mine[last][0]} against "
             f"{mine[last][1]}: {reading}{matched}")
    if r.trial.is_synthetic:
        words += ("; on these synthetic data nothing aimed at these counts, so they are a property of the "
                  "simulation, not evidence about the trial")
    return words


def responders_against_paper(r: Mapping) -> str:
    """Whether the responder counts side with the paper's remark that some patients improved with ketamine."""
    responders = r["beyond"]["responders"].set_index(["threshold", "treatment"])["responders"]
    placebo = int(responders[("30% reduction", "placebo")])
    active = {t: int(responders[("30% reduction", t)]) for t in TREATMENTS if t != "placebo"}
    if placebo >= max(active.values()):
        words = ("placebo has at least as many responders as either active infusion, which gives no support to the "
                 "paper's remark, from its Figure 4 counts, that some patients improved with ketamine")
    else:
        words = "an active infusion has more responders than placebo, in line with the paper's Figure 4 counts"
    if r.trial.is_synthetic:
        words += "; on these synthetic data this is a property of the simulation, not evidence about the trial"
    return words


def score_directions(r: Mapping) -> str:
    """For each score of Table 3 whose omnibus test is significant, which way the treatments lie, in words."""
    from ..paper.conclusions import TESTS, direction

    table = r["questionnaires"]
    names = wording.score_names(table)
    parts = []
    for name, (_, row) in zip(names, table.iterrows()):
        if row["omnibus_p"] >= ALPHA:
            continue
        test = TESTS[f"conclusion_{row['score']}"](r)
        words = direction(test)
        if not words:
            words = ("no post hoc comparison sets a treatment apart from placebo (means "
                     + ", ".join(f"{t.replace('_magnesium', '/magnesium')} {fmt.fixed(c, 1)}"
                                 for t, c in test.centres.items()) + ")")
        better = "higher" if test.higher_is_better else "lower"
        parts.append(f"{name}: {words} ({better} is better)")
    return "; ".join(parts) if parts else "no score differs"


def safety_abstract(r: Mapping) -> Values:
    """The abstract's adverse-event shares beside this report's shares of patients with any event and with a
    related event, in words (the Safety chapter states where the abstract's figure comes from)."""
    ledger = r["ledger"].set_index("key")
    order = [t for t in TREATMENTS]
    abstract = ", ".join(f"{fmt.as_printed(ledger.at[f'abstract_ae_any_{t}_pct', 'published'])}%" for t in order)
    any_event = ", ".join(f"{fmt.fixed(ledger.at[f'abstract_ae_any_{t}_pct', 'reproduced'], 0)}%" for t in order)
    related = ", ".join(f"{fmt.fixed(ledger.at[f'ae_related_{t}_pct', 'reproduced'], 0)}%" for t in order)
    same = all(abs(ledger.at[f"abstract_ae_any_{t}_pct", "published"] - ledger.at[f"ae_related_{t}_pct", "published"])
               < 1e-9 for t in order)
    treatments = ", ".join(t.replace("_magnesium", "/magnesium") for t in order)
    source = ("the paper's results section gives the same shares for treatment-related events only, so the "
              "abstract's figure is read as the share with a related event" if same else
              "the paper's results section gives other shares for treatment-related events")
    return {"safety_abstract": (f"The paper's abstract gives {abstract} ({treatments}) as the patients reporting at "
                                f"least one adverse event; this report's shares with any event are {any_event}, and "
                                f"with a treatment-related event {related}: {source}")}


def population(r: Mapping) -> Values:
    counts = derive.flow_counts(r.trial.screening)
    p = r["preinfusion"]["omnibus_p"].item()
    return {"n_screened": counts["screened"], "n_randomized": counts["randomized"],
            "n_not_randomized": counts["not_randomized"],
            "completion": completion(derive.discontinuations(r.trial.disposition, r.trial.infusions),
                                     counts["randomized"]), "preinfusion_p": fmt.p_equals(p),
            "preinfusion_verdict": verdict(p, "differed between", "were comparable across"),
            "flow_sources": flow_sources(),
            "population_disagreements": chapter_disagreements(r, "02_population")}


def flow_sources() -> str:
    """The raw tables Figure 1 is drawn from, each with what it gives the diagram, in words."""
    from .flow import SOURCES

    return fmt.and_list(list(SOURCES.values()))


def completion(left, n_randomized: int) -> str:
    """Who completed every period and who left when and why, in words (from :func:`derive.discontinuations`)."""
    periods = f"the {fmt.number_word(len(PERIODS))} periods"
    if left.empty:
        return (f"all {n_randomized} completed {periods} and all are analysed, on an intention-to-treat "
                "basis")
    by_period = "; ".join(f"{count} during period {period}" if period else f"{count} before any infusion"
                          for period, count in left["period"].value_counts().sort_index().items())
    reasons = ", ".join(f"{reason.replace('_', ' ')} {count}" for reason, count in
                        left["reason"].value_counts().sort_index().items())
    return (f"{n_randomized - len(left)} completed {periods} and {len(left)} discontinued ({by_period}; "
            f"reasons: {reasons}). All {n_randomized} are analysed on an intention-to-treat basis: the mixed "
            "models use every period each patient has, with no imputation of the periods after a discontinuation")


def _day7_against_paper(day7, ledger) -> str:
    """The paper's day-7 P values beside the reproduced conclusion, in words."""
    published = ledger.set_index("key")["published"]
    paper_omnibus, paper_k_p = published["auc7_omnibus_p"], published["auc7_ketamine_vs_placebo_p"]
    same = (paper_omnibus < ALPHA) == (day7["omnibus_p"] < ALPHA)
    return (f"it reports omnibus P {fmt.p_equals(paper_omnibus)} and, for ketamine against placebo, "
            f"P {fmt.p_equals(paper_k_p)}, {'significant' if paper_omnibus < ALPHA else 'not significant'}; "
            f"this reproduction {'reaches the same conclusion' if same else 'does not reproduce that conclusion'}")


def _other_measures(auc_table) -> str:
    """The whole-period results for the measures other than the primary one, in words."""
    parts = []
    for measure in _other_measure_names(auc_table):
        row = analyses.table2_row(auc_table, Endpoint(measure, PRIMARY.last_day, PRIMARY.imputation))
        parts.append(f"{measure.replace('_', ' ')}, omnibus P {fmt.p_equals(row['omnibus_p'])} "
                     f"({verdict(row['omnibus_p'], 'a significant difference', 'no significant difference')})")
    return "; ".join(parts)


def _other_measure_names(auc_table) -> list[str]:
    """The diary measures of Table 2 other than the primary endpoint's, in the table's order."""
    return [m for m in dict.fromkeys(auc_table["measure"]) if m != PRIMARY.measure]


def _count_of(counts, arm: str) -> str:
    """``"12 of 20"``: patients improved with an arm, of those with a value for it."""
    return f"{int(counts[f'improved_{arm}'])} of {int(counts[f'n_{arm}'])}"


def agreement(small_sample) -> str:
    """Where the report's Wald tests and the Kenward-Roger tests lead to different conclusions, in words."""
    differ = small_sample.loc[~small_sample["same_conclusion"], "test"].tolist()
    if not differ:
        return "lead to the same conclusion for the omnibus test and for every contrast"
    return "lead to different conclusions for " + ", ".join(differ)


def _effect_sizes(pairwise) -> Values:
    values: Values = {}
    for key, comparison in (("k_p", "ketamine vs placebo"), ("km_p", "ketamine_magnesium vs placebo"),
                            ("k_km", "ketamine vs ketamine_magnesium")):
        row = pairwise.loc[comparison]
        values.update({f"es_{key}": fmt.fixed(row["effect_size"], 2), f"es_{key}_low": fmt.fixed(row["es_ci_low"], 2),
                       f"es_{key}_high": fmt.fixed(row["es_ci_high"], 2), f"p_{key}": fmt.p_equals(row["p"])})
    return values


def icc_reading(icc: float) -> str:
    """What an intraclass correlation says about where the variation lies, in words that follow it."""
    return ("most of the variation in pain lies between patients rather than between the periods of one patient"
            if icc > 0.5 else "most of the variation in pain lies between the periods of one patient rather than "
            "between patients")


def method_reading(comparison) -> str:
    """Whether the estimation method (ML or REML) changes the estimates as well as their standard errors."""
    import numpy as np

    estimates = comparison[[c for c in comparison.columns if str(c).startswith("estimate: ")]]
    same = all(np.allclose(group.to_numpy(dtype=float), group.to_numpy(dtype=float)[0], rtol=1e-6, atol=1e-9)
               for _, group in estimates.groupby(comparison["model"].to_numpy()))
    return ("the estimation method changes the standard errors, and so the P values, not the estimates" if same
            else "the estimation method changes the estimates as well as their standard errors")


def primary(r: Mapping) -> Values:
    summary = r["primary"]["summary"].iloc[0]
    pairwise = r["primary"]["pairwise"].set_index("comparison")
    interaction_p = r["primary"]["interaction"]["p"].item()
    small = r["primary"]["small_sample"]
    omnibus_kr = small.iloc[0]
    return {
        **_effect_sizes(pairwise),
        "method_words": METHOD_WORDS[summary["method"]],
        "small_sample_method_words": METHOD_WORDS[SMALL_SAMPLE_METHOD],
        "omnibus_p_kr": fmt.p_equals(omnibus_kr["p_kr"]),
        "omnibus_ddf_kr": fmt.fixed(omnibus_kr["ddf_kr"], 1),
        "omnibus_f_kr": fmt.fixed(omnibus_kr["F_kr"], 2),
        "small_sample_agreement": agreement(small),
        "primary_days": PRIMARY.last_day,
        "omnibus_p": fmt.p_equals(summary["omnibus_p"]),
        "icc": fmt.fixed(summary["icc"], 2),
        "shapiro_p": fmt.p_equals(summary["shapiro_p"]),
        "interaction_p": fmt.p_equals(interaction_p),
        "method": summary["method"],
        "ci_pct": _ci_pct(),
        "omnibus_verdict": verdict(summary["omnibus_p"], "differ", "do not differ"),
        "normality_verdict": verdict(summary["shapiro_p"], "depart from", "are compatible with"),
        "interaction_verdict": verdict(interaction_p, "significant", "not significant"),
        **design_counts(r),
        "primary_caveat": caveat(r, "conclusion_primary"),
        "primary_disagreements": chapter_disagreements(r, "03_primary_endpoint"),
        "icc_reading": icc_reading(summary["icc"]),
        "method_reading": method_reading(r["model_comparison"]),
        **effect_sizes_against_paper(r["ledger"]),
    }


def secondary(r: Mapping) -> Values:
    day7 = analyses.table2_row(r["auc_table"], DAY7)
    consecutive = r["consecutive"].iloc[0]
    improvement = r["improvement"].set_index(["rule", "last_day"])
    questionnaires = r["questionnaires"].set_index("score")
    first, last = FIGURE4_WINDOWS
    return {
        "day7_omnibus_p": fmt.p_equals(day7["omnibus_p"]),
        "day7_k_p": fmt.p_equals(day7[f"p: ketamine vs {REFERENCE_TREATMENT}"]),
        "day7_k_p_sidak": fmt.p_equals(sidak(day7[f"p: ketamine vs {REFERENCE_TREATMENT}"], len(PAIRS))),
        "day7_verdict": verdict(day7["omnibus_p"], "differ", "do not differ"),
        "day7_omnibus_p_kr": fmt.p_equals(day7["omnibus_p_kr"]),
        "day7_against_paper": _day7_against_paper(day7, r["ledger"]),
        "other_measures_day35": _other_measures(r["auc_table"]),
        "n_table2_rows": len(r["auc_table"]),
        "table2_agreement": wording.omnibus_agreement(r["auc_table"]),
        "n_consecutive": int(consecutive["n_first"]),
        "n_separated": int(consecutive["n_second"]),
        "consecutive_p": fmt.p_equals(consecutive["p"]),
        "consecutive_verdict": verdict(consecutive["p"], "differed", "did not differ"),
        **{f"improved_{arm}_{day}": _count_of(improvement.loc[("baseline_30pct", day)], arm)
           for arm in ("active", "placebo") for day in (first, last)},
        "response_pct": fmt.fixed(100 * RESPONSE_THRESHOLD, 0),
        "table2_significant": wording.significant_tests(r["auc_table"], wording.table2_row_names(r["auc_table"]),
                                                        "rows"),
        "table3_significant": wording.significant_tests(r["questionnaires"],
                                                        wording.score_names(r["questionnaires"]), "scores"),
        "pgic_sleep_published": fmt.p_equals(r["ledger"].set_index("key").at["pgic_sleep_p", "published"]),
        "n_significant_scores_kr": _scores_differ(int((questionnaires["omnibus_p_kr"] < ALPHA).sum())),
        "table3_directions": score_directions(r),
        "consecutive_against_paper": consecutive_against_paper(r["ledger"]),
        "improvement_against_paper": improvement_against_paper(r),
        "table3_agreement": wording.score_agreement(r["questionnaires"]),
        "pgic_sleep_p": fmt.p_equals(questionnaires.at["pgic_sleep", "omnibus_p"]),
        **design_counts(r),
        "paper_positive": paper_positive(),
        "day7_caveat": caveat(r, "conclusion_day7"),
        "n_other_measures": len(_other_measure_names(r["auc_table"])),
        "secondary_disagreements": chapter_disagreements(r, "04_secondary_endpoints"),
    }


def _scores_differ(n: int) -> str:
    """``"2 scores differ"``, ``"1 score differs"``."""
    return f"{fmt.count(n, 'score')} {'differs' if n == 1 else 'differ'}"


def safety(r: Mapping) -> Values:
    trial = r.trial
    events = derive.with_treatment(trial.adverse_events, trial.infusions)
    related = derive.related_adverse_events(trial.adverse_events, trial.infusions)
    patients_related = related.groupby("treatment", observed=True)["patient_id"].nunique()
    model = r["adverse_events"]["summary"].iloc[0]
    n = len(trial.patients)
    return {
        "n_events": len(events),
        "n_serious": int((events["serious"] == "yes").sum()),
        "n_none": n - int(events["patient_id"].nunique()),
        "n_patients": n,
        **{f"related_{treatment}": int(patients_related.get(treatment, 0))
           for treatment in TREATMENTS},
        "glmm_p": fmt.p_equals(model["omnibus_p"]),
        "glmm_verdict": verdict(model["omnibus_p"], "differs", "does not differ significantly"),
        "safety_disagreements": chapter_disagreements(r, "05_safety"),
    }


def _ledger_counts(r: Mapping) -> Values:

    ledger = r["ledger"]
    counts = ledger["status"].value_counts()
    return {"n_match": int(counts.get("match", 0)), "n_differs": int(counts.get("differs", 0)),
            "n_input": int(counts.get("input", 0)), "n_ledger": len(ledger),
            "ledger_by_class": ledger_counts(ledger[ledger["status"].isin(["match", "differs"])]),
            "comparison_headline": comparison_headline(ledger)}


def comparison_headline(ledger) -> str:
    """What the comparison with the paper shows, in words that follow the data.

    On a real export: how many compared numbers are reproduced and how many differ. On synthetic data, where
    the generator and the reconstruction aimed at most numbers, a match of a targeted number says nothing: the
    headline says how many published statistics the pipeline computes from the raw data (and how many it
    recomputes from the paper's planning inputs instead), and how the numbers nothing aimed at land.
    """
    from ..paper.reproduce import RECOMPUTED_KEYS
    from ..synthetic.targeting import NOT_TARGETED, SETTING

    compared = ledger[ledger["status"].isin(["match", "differs"])]
    if "targeting" not in ledger:
        return (f"{int((compared['status'] == 'match').sum())} of the {len(compared)} compared numbers are "
                f"reproduced at the paper's printed precision and {int((compared['status'] == 'differs').sum())} "
                "differ")
    recomputed = ledger["key"].isin(RECOMPUTED_KEYS)
    from_data = ledger["status"].isin(["match", "differs", "log scale"]) & ~recomputed
    settings = compared[compared["targeting"] == SETTING]
    free = compared[(compared["targeting"] == NOT_TARGETED) & ~compared["key"].isin(RECOMPUTED_KEYS)]
    targeted = compared[~compared["targeting"].isin([NOT_TARGETED, SETTING])]
    within = free[free["status"] == "differs"]
    spread = (within["difference"].abs() / (2 * within["tolerance"])).median() if len(within) else 0.0
    aims = " and ".join(fmt.count(n, cls) for cls, n in targeted["targeting"].value_counts(sort=False).items())
    n_free_match = int((free["status"] == "match").sum())
    return (f"the pipeline computes {fmt.count(int(from_data.sum()), 'published statistic')} from the raw data "
            f"and recomputes {int(recomputed.sum())} from the paper's published planning inputs. The data are "
            f"synthetic and were made to resemble the paper: {fmt.count(len(settings), 'number')} of the design "
            f"{'is a setting' if len(settings) == 1 else 'are settings'} of the generator, "
            f"{len(targeted)} of the compared numbers were aimed at ({aims or 'none'}), and "
            f"{int((targeted['status'] == 'match').sum())} of them are matched by construction, which shows "
            f"nothing about the paper; the others differ. Of the {fmt.count(len(free), 'number')} from the raw data "
            f"that nothing aimed at, {n_free_match} {'prints' if n_free_match == 1 else 'print'} as the paper "
            f"prints {'it' if n_free_match == 1 else 'them'} and {len(within)} "
            f"{'differs' if len(within) == 1 else 'differ'} (by a median of "
            f"{fmt.count(round(spread), 'unit')} of the paper's last printed digit). By what aimed at each "
            f"compared number: {ledger_counts(compared)}")


def paper_positive() -> str:
    """The paper's positive findings (the conclusions that report a difference), counted and named."""
    from ..paper.conclusions import positive_findings

    found = positive_findings()
    return f"{fmt.count(len(found), 'positive finding')}: " + " and ".join(f.lower() if not f[:4].isupper() else f
                                                                         for f in found)


def caveat(r: Mapping, key: str) -> str:
    """How the report's conclusion on one question holds under the small-sample test and the other handling
    of missing days, in words: the sentence that states the conclusion carries it."""
    from ..paper.conclusions import conclusions

    row = conclusions(r).set_index("key").loc[key]
    if not row["others"]:
        return "no other analysis of this question is computed"
    if not row["changes"]:
        return f"the other analyses agree: {row['others'].replace('; ', ', ')}"
    verdict_words = "a difference" if row["p"] < ALPHA else "no difference"
    return (f"this conclusion ({verdict_words} at the {fmt.fixed(ALPHA, 2)} level) does not hold under every "
            f"analysis: {row['changes']}")


def assumptions_reference() -> str:
    """Where the generator's assumptions are listed, by the number of their table."""
    from . import registry

    return f"{registry.OUTPUTS['generator_assumptions'].number}, Appendix B"


def chapter_disagreements(r: Mapping, chapter: str) -> str:
    """Where this report's tests disagree with the conclusions the paper states in a chapter, in words."""
    from ..paper.conclusions import disagreement_sentences, disagreements

    found = disagreements(r, chapter)
    if found.empty:
        return "this report's tests agree with every conclusion the paper states here"
    return (f"this report's tests disagree with {fmt.count(len(found), 'conclusion')} of the paper: "
            + "; ".join(disagreement_sentences(found, assumptions_reference())))


def discussion(r: Mapping) -> Values:
    summary = r["primary"]["summary"].iloc[0]
    day7 = analyses.table2_row(r["auc_table"], DAY7)
    unsure = derive.unsure_of_treatment(r.trial.blinding)
    return {
        "primary_days": PRIMARY.last_day,
        "primary_p": fmt.p_equals(summary["omnibus_p"]),
        "primary_verdict": verdict(summary["omnibus_p"], "differed", "did not differ"),
        "icc": fmt.fixed(summary["icc"], 2),
        "day7_p": fmt.p_equals(day7["omnibus_p"]),
        "day7_verdict": verdict(day7["omnibus_p"], "a significant", "no significant"),
        **_ledger_counts(r),
        "day7_caveat": caveat(r, "conclusion_day7"),
        "primary_caveat": caveat(r, "conclusion_primary"),
        "all_disagreements": all_disagreements(r),
        "paper_positive": paper_positive(),
        "n_missing_approaches": int(r["missing_data"]["approach"].nunique()),
        "icc_reading": icc_reading(summary["icc"]),
        "blinding_low": fmt.fixed(100 * unsure.min(), 0),
        "blinding_high": fmt.fixed(100 * unsure.max(), 0),
        "blinding_basis": blinding_basis(r["ledger"]),
    }


def blinding_basis(ledger) -> str:
    """What the blinding shares are evidence of: on synthetic data, calibration targets (matched by construction
    or not); on a real export, the patients' answers."""
    rows = ledger[ledger["key"].str.startswith("blinding_")]
    if "targeting" not in rows:
        return "these shares are computed from the patients' answers in the export"
    verdicts = ", ".join(sorted(set(rows["verdict"])))
    classes = ", ".join(sorted(set(rows["targeting"])))
    return (f"on these synthetic data both shares are {classes}s of the simulation ({verdicts}), so they show "
            "nothing about how well the blind held")


def all_disagreements(r: Mapping) -> str:
    """Every disagreement between the paper's stated conclusions and this report's tests, in words."""
    from ..paper.conclusions import conclusions, disagreement_sentences

    table = conclusions(r)
    found = table[~table["agrees"]]
    if found.empty:
        return (f"this report's tests, at the {fmt.fixed(ALPHA, 2)} level, agree with each of the {len(table)} "
                "conclusions the paper states")
    return (f"this report's tests, at the {fmt.fixed(ALPHA, 2)} level, disagree with {len(found)} of the "
            f"{len(table)} conclusions the paper states: "
            + "; ".join(disagreement_sentences(found, assumptions_reference())))


def _missing_data(missing) -> Values:
    locf = missing[(missing["approach"] == "LOCF (paper)") & (missing["comparison"] == "ketamine vs placebo")].iloc[0]
    return {
        "n_imputations": sensitivity.N_IMPUTATIONS,
        "n_approaches": int(missing["approach"].nunique()),
        "n_significant_missing": int((missing["p"] < ALPHA).sum()),
        "n_contrasts_missing": len(missing),
        "n_complete_periods": int(missing.loc[missing["approach"] == "complete case", "n_periods"].iloc[0]),
        "n_periods": int(locf["n_periods"]),
    }


def _reading(reading, cids) -> Values:
    first_cid = cids["cid"].iloc[0]
    k = reading[(reading["contrast"] == f"ketamine - {REFERENCE_TREATMENT}") & (reading["cid"] == first_cid)].iloc[0]
    km = reading[(reading["contrast"] == f"ketamine_magnesium - {REFERENCE_TREATMENT}")
                 & (reading["cid"] == first_cid)].iloc[0]
    return {
        "cid_points": fmt.cell(interpretation.CID_POINTS),
        "cid1": fmt.fixed(cids["score_days"].iloc[0], 0),
        "cid2": fmt.fixed(cids["score_days"].iloc[1], 0),
        "cid_relative_pct": fmt.fixed(100 * interpretation.CID_RELATIVE, 0),
        "k_estimate": fmt.fixed(k["estimate"], 1), "k_low": fmt.fixed(k["ci_low"], 1),
        "k_high": fmt.fixed(k["ci_high"], 1),
        "k_tost_p": fmt.p_equals(k["tost_p"]),
        "k_equivalence": "within" if k["equivalent"] else "not shown to be within",
        "k_p_important_flat": fmt.fixed(k["p_important_benefit_flat"], 3),
        "k_p_important_sceptical": fmt.fixed(k["p_important_benefit_sceptical"], 3),
        "k_p_benefit_flat": fmt.fixed(k["p_benefit_flat"], 2),
        "km_tost_p": fmt.p_equals(km["tost_p"]),
        "km_p_important_flat": fmt.fixed(km["p_important_benefit_flat"], 3),
        "sceptical_tail_pct": fmt.fixed(100 * interpretation.SCEPTICAL_TAIL, 0),
    }


def beyond(r: Mapping) -> Values:
    results = r["beyond"]
    power_at_cid = results["power_at_cid"]
    detectable = results["detectable"].set_index("power")
    planning = r["sample_size"].set_index("method").loc["normal approximation"]
    responders = results["responders"].set_index(["threshold", "treatment"])
    return {
        **_missing_data(results["missing_data"]),
        **_reading(results["honest_reading"], results["cids"]),
        "ci_pct": _ci_pct(),
        "power_cid1": fmt.fixed(power_at_cid["power"].iloc[0], 2),
        "power_cid2": fmt.fixed(power_at_cid["power"].iloc[1], 2),
        "detectable80": fmt.fixed(detectable.at[0.8, "detectable_difference"], 0),
        "detectable90": fmt.fixed(detectable.at[0.9, "detectable_difference"], 0),
        "n_planning": int(planning["n_reproduced"]),
        "n_published": int(planning["n_published"]),
        **{f"resp30_{treatment}": int(responders.at[("30% reduction", treatment), "responders"])
           for treatment in TREATMENTS},
        "period_days": PERIOD_DAYS,
        "primary_reading": _primary_reading(r["primary"]["summary"].iloc[0]),
        "method_reading": method_reading(r["model_comparison"]),
        "data_words": data_words(r),
        "data_words_lower": data_words(r)[0].lower() + data_words(r)[1:],
        "responders_against_paper": responders_against_paper(r),
    }


def _primary_reading(summary) -> str:
    """This data's primary result in words, so that the chapter's opening follows it rather than the paper."""
    words = verdict(summary["omnibus_p"], "the {k} treatments differ (omnibus P {p}), and this chapter asks by "
                    "how much", "the {k} treatments do not differ (omnibus P {p}), and this chapter asks what "
                    "that excludes")
    return words.format(p=fmt.p_equals(summary["omnibus_p"]), k=fmt.number_word(len(TREATMENTS)))


def audit(r: Mapping) -> Values:
    """The audit's counts and its inconsistencies in words (the checks read only the published numbers)."""
    from ..paper.audit import audit_table

    table = audit_table()
    counts = table["verdict"].value_counts()
    found = table[table["verdict"] == "inconsistent"]
    from ..synthetic.replay import recorded_changes, recorded_report

    report, changes = recorded_report(), recorded_changes()
    status = report["status"].value_counts() if report is not None else {}
    # a diary entry is one day's average pain (the maximal pain raised with it is not counted again)
    files = (changes.loc[changes["column"] != "maximal_pain", "file"].value_counts() if changes is not None else {})
    reconstruction = {"n_targeted": 0 if report is None else len(report),
                      **{f"n_{s}": int(status.get(s, 0)) for s in ("met", "unmet", "unreachable")},
                      **{f"n_changed_{name}": int(files.get(f"{name}.csv", 0)) for name in
                         ("diary", "infusions", "questionnaires")},
                      "unmet_numbers": _described(report, "unmet")}
    from ..paper.audit_structure import N

    return {**reconstruction, "n_audit_patients": N, "n_checks": len(table), **{f"n_{v}": int(counts.get(v, 0)) for v in ("consistent", "inconsistent",
                                                                               "undetermined")},
            "inconsistencies": "; ".join(f"{check} - {detail}" for check, detail in
                                         zip(found["check"], found["detail"])) or "none"}


def _described(report, status: str) -> str:
    """The published numbers of the reconstruction report with this status, by their descriptions."""
    from ..paper.published import published_results

    if report is None:
        return "none"
    descriptions = published_results()["description"]
    chosen = [descriptions[key] for key in report.loc[report["status"] == status, "key"]]
    return "; ".join(chosen) or "none"


def ledger_page(r: Mapping) -> Values:
    return _ledger_counts(r)


#: The values each chapter glues, by chapter file name.
def summary(r: Mapping) -> Values:
    """The landing summary: the primary and day-7 results in words, and the build's provenance."""
    from .. import __version__
    from ..rawdata.load import fingerprint

    primary_p = r["primary"]["summary"].iloc[0]["omnibus_p"]
    day7 = analyses.table2_row(r["auc_table"], DAY7)
    statuses = r["ledger"]["status"]
    return {
        "summary_primary": (f"the {r.trial.infusions['treatment'].nunique()} infusions {verdict(primary_p, 'differed', 'did not differ')} in pain over the "
                            f"{PRIMARY.last_day} days after them (omnibus P {fmt.p_equals(primary_p)})"),
        "summary_day7": (f"over the first week, omnibus P {fmt.p_equals(day7['omnibus_p'])} "
                         f"({verdict(day7['omnibus_p'], 'a significant difference', 'no significant difference')})"),
        "library_version": __version__,
        "data_fingerprint": fingerprint(r.trial.source),
        "data_kind": "synthetic data" if r.trial.is_synthetic else f"the raw export in the folder {r.trial.source.name}",
        "summary_n_match": int((statuses == "match").sum()),
        "summary_n_compared": int(statuses.isin(["match", "differs"]).sum()),
        "summary_day7_caveat": caveat(r, "conclusion_day7"),
        "summary_primary_caveat": caveat(r, "conclusion_primary"),
        "summary_comparison": comparison_headline(r["ledger"]),
        "summary_disagreements": all_disagreements(r),
        "summary_positive": paper_positive(),
    }


def synthetic_appendix(r: Mapping) -> Values:
    """Appendix B: how the calibration table relates to the ledger's calibration targets (one definition,
    :func:`ketapain_lib.synthetic.targeting.calibration_keys`), and how many rows meet each comparison rule."""
    from ..paper.published import calibration_targets, published_results
    from ..synthetic.targeting import calibration_keys

    table = r["calibration"]
    listed = set(calibration_targets().index)
    more = sorted(calibration_keys() - listed, key=list(published_results().index).index)
    descriptions = published_results()["description"]
    extra = "; ".join(descriptions[key] for key in more)
    return {"n_calibration_rows": fmt.count(len(table), "published number"),
            "n_calibration_keys": fmt.count(len(calibration_keys()), "calibration target"),
            "calibration_extra": (f"{fmt.count(len(more), 'more number')} that follow from these rows or that the "
                                  f"generator aims at without a tolerance of its own ({extra})" if more else
                                  "no other number"),
            "n_within_tolerance": int(table["within_tolerance"].sum()),
            "n_same_as_printed": int(table["same_as_printed"].sum())}


VALUES: dict[str, Callable[[Mapping], Values]] = {
    "00_summary": summary,
    "01_methods": methods,
    "02_population": population,
    "03_primary_endpoint": primary,
    "04_secondary_endpoints": secondary,
    "05_safety": lambda r: {**safety(r), **safety_abstract(r)},
    "06_discussion": discussion,
    "07_beyond_the_paper": beyond,
    "08_audit": audit,
    "a2_synthetic_data": synthetic_appendix,
    "a3_ledger": ledger_page,
    "a4_environment": lambda r: tables.benchmark_growth(),
}
