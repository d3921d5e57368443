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
from ..design import (ALPHA, CARRYOVER_CODING, CI_LEVEL, DAY7, FIGURE4_WINDOWS, PERIOD_DAYS, PRIMARY, Endpoint,
                      REFERENCE_TREATMENT, REPORT_METHOD, RESPONSE_THRESHOLD, SMALL_SAMPLE_METHOD,
                      TREATMENTS)
from ..stats import analyses, derive, interpretation, sensitivity
from ..stats.crossover import PAIRS, sidak
from . import tables, wording
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
    return fmt.fixed(100 * CI_LEVEL, 0)


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

    *first, last = SOURCES.values()
    return f"{', '.join(first)} and {last}"


def completion(left, n_randomized: int) -> str:
    """Who completed the three periods and who left when and why, in words (from :func:`derive.discontinuations`)."""
    if left.empty:
        return (f"all {n_randomized} completed the three periods and all are analysed, on an intention-to-treat "
                "basis")
    by_period = "; ".join(f"{count} during period {period}" if period else f"{count} before any infusion"
                          for period, count in left["period"].value_counts().sort_index().items())
    reasons = ", ".join(f"{reason.replace('_', ' ')} {count}" for reason, count in
                        left["reason"].value_counts().sort_index().items())
    return (f"{n_randomized - len(left)} completed the three periods and {len(left)} discontinued ({by_period}; "
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
        "n_significant_scores_kr": int((questionnaires["omnibus_p_kr"] < ALPHA).sum()),
        "table3_agreement": wording.score_agreement(r["questionnaires"]),
        "pgic_sleep_p": fmt.p_equals(questionnaires.at["pgic_sleep", "omnibus_p"]),
        **design_counts(r),
        "paper_positive": paper_positive(),
        "day7_caveat": caveat(r, "conclusion_day7"),
        "n_other_measures": len(_other_measure_names(r["auc_table"])),
        "secondary_disagreements": chapter_disagreements(r, "04_secondary_endpoints"),
    }


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
    headline says that the pipeline computes every published statistic, and how the numbers nothing aimed at
    land.
    """
    from ..provenance.targeting import NOT_TARGETED

    compared = ledger[ledger["status"].isin(["match", "differs"])]
    n_computed = int(ledger["status"].isin(["match", "differs", "log scale"]).sum())
    n_numbers = int((ledger["status"] != "input").sum())
    if "targeting" not in ledger:
        return (f"{int((compared['status'] == 'match').sum())} of the {len(compared)} compared numbers are "
                f"reproduced at the paper's printed precision and {int((compared['status'] == 'differs').sum())} "
                "differ")
    free = compared[compared["targeting"] == NOT_TARGETED]
    targeted = compared[compared["targeting"] != NOT_TARGETED]
    within = free[free["status"] == "differs"]
    spread = (within["difference"].abs() / (2 * within["tolerance"])).median() if len(within) else 0.0
    computed = "every one of the paper's" if n_computed == n_numbers else f"{n_computed} of the paper's"
    aims = " and ".join(f"{n} {cls}s" for cls, n in targeted["targeting"].value_counts(sort=False).items())
    return (f"the pipeline computes {computed} {n_numbers} published statistics from the raw data. The data "
            f"are synthetic and were made to resemble the paper: {len(targeted)} of the compared numbers were "
            f"aimed at ({aims or 'none'}), and "
            f"{int((targeted['status'] == 'match').sum())} of them are matched by construction, which shows "
            f"nothing about the paper. Of the {len(free)} numbers nothing aimed at, "
            f"{int((free['status'] == 'match').sum())} print as the paper prints them and {len(within)} differ "
            f"(by a median of {fmt.fixed(spread, 0)} units of the paper's last printed digit). By what aimed at "
            f"each compared number: {ledger_counts(compared)}")


def paper_positive() -> str:
    """The paper's positive findings (the conclusions that report a difference), counted and named."""
    from ..provenance.conclusions import positive_findings

    found = positive_findings()
    return f"{len(found)} positive finding(s): " + " and ".join(f.lower() if not f[:4].isupper() else f
                                                                  for f in found)


def caveat(r: Mapping, key: str) -> str:
    """How the report's conclusion on one question holds under the small-sample test and the other handling
    of missing days, in words: the sentence that states the conclusion carries it."""
    from ..provenance.conclusions import conclusions

    row = conclusions(r).set_index("key").loc[key]
    if not row["others"]:
        return "no other analysis of this question is computed"
    if not row["changes"]:
        return f"the other analyses agree: {row['others'].replace('; ', ', ')}"
    verdict_words = "a difference" if row["p"] < ALPHA else "no difference"
    return (f"this conclusion ({verdict_words} at the {fmt.fixed(ALPHA, 2)} level) does not hold under every "
            f"analysis: {row['changes']}")


def chapter_disagreements(r: Mapping, chapter: str) -> str:
    """Where this report's tests disagree with the conclusions the paper states in a chapter, in words."""
    from ..provenance.conclusions import disagreement_sentences, disagreements

    found = disagreements(r, chapter)
    if found.empty:
        return "this report's tests agree with every conclusion the paper states here"
    return (f"this report's tests disagree with {len(found)} conclusion(s) of the paper: "
            + "; ".join(disagreement_sentences(found)))


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
    }


def all_disagreements(r: Mapping) -> str:
    """Every disagreement between the paper's stated conclusions and this report's tests, in words."""
    from ..provenance.conclusions import conclusions, disagreement_sentences

    table = conclusions(r)
    found = table[~table["agrees"]]
    if found.empty:
        return (f"this report's tests, at the {fmt.fixed(ALPHA, 2)} level, agree with each of the {len(table)} "
                "conclusions the paper states")
    return (f"this report's tests, at the {fmt.fixed(ALPHA, 2)} level, disagree with {len(found)} of the "
            f"{len(table)} conclusions the paper states: " + "; ".join(disagreement_sentences(found)))


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
    }


def _primary_reading(summary) -> str:
    """This data's primary result in words, so that the chapter's opening follows it rather than the paper."""
    words = verdict(summary["omnibus_p"], "the three treatments differ (omnibus P {p}), and this chapter asks by "
                    "how much", "the three treatments do not differ (omnibus P {p}), and this chapter asks what "
                    "that excludes")
    return words.format(p=fmt.p_equals(summary["omnibus_p"]))


def audit(r: Mapping) -> Values:
    """The audit's counts and its inconsistencies in words (the checks read only the published numbers)."""
    from ..provenance.audit import audit_table

    table = audit_table()
    counts = table["verdict"].value_counts()
    found = table[table["verdict"] == "inconsistent"]
    from ..provenance.replay import recorded_changes, recorded_report

    report, changes = recorded_report(), recorded_changes()
    status = report["status"].value_counts() if report is not None else {}
    # a diary entry is one day's average pain (the maximal pain raised with it is not counted again)
    files = (changes.loc[changes["column"] != "maximal_pain", "file"].value_counts() if changes is not None else {})
    reconstruction = {"n_targeted": 0 if report is None else len(report),
                      **{f"n_{s}": int(status.get(s, 0)) for s in ("met", "unmet", "unreachable")},
                      **{f"n_changed_{name}": int(files.get(f"{name}.csv", 0)) for name in
                         ("diary", "infusions", "questionnaires")},
                      "unmet_numbers": _described(report, "unmet")}
    from ..provenance.audit_structure import N

    return {**reconstruction, "n_audit_patients": N, "n_checks": len(table), **{f"n_{v}": int(counts.get(v, 0)) for v in ("consistent", "inconsistent",
                                                                               "undetermined")},
            "inconsistencies": "; ".join(f"{check} - {detail}" for check, detail in
                                         zip(found["check"], found["detail"])) or "none"}


def _described(report, status: str) -> str:
    """The published numbers of the reconstruction report with this status, by their descriptions."""
    from ..provenance.published import published_results

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


VALUES: dict[str, Callable[[Mapping], Values]] = {
    "00_summary": summary,
    "01_methods": methods,
    "02_population": population,
    "03_primary_endpoint": primary,
    "04_secondary_endpoints": secondary,
    "05_safety": safety,
    "06_discussion": discussion,
    "07_beyond_the_paper": beyond,
    "08_audit": audit,
    "a3_ledger": ledger_page,
    "a4_environment": lambda r: tables.benchmark_growth(),
}
