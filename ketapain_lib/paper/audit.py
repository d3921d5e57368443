"""The paper audited: every applicable consistency test (:mod:`ketapain_lib.paper.consistency`) run on the
published numbers (:mod:`ketapain_lib.paper.published`), one row per test.

Each row names the section of the paper, the kind of check, the published numbers it reads (as printed), the
verdict, the tolerance it allowed (half a unit of the last printed digit of each number, so that a verdict
never depends on rounding) and what it found. Verdicts:

* ``consistent`` - some dataset of the trial's shape can print these numbers;
* ``inconsistent`` - none can, under the stated reading;
* ``undetermined`` - the numbers alone cannot decide (the detail says what is missing).

``keys`` lists the published-results keys a check reads, so that the ledger can cite the check for each.

The facts of the design (20 patients, scales 0-10, AUC of an integer diary on a day grid) come from
:mod:`ketapain_lib.design`; nothing here reads the data.

>>> table = audit_table()
>>> len(table) >= 60 and set(table["verdict"]) <= set(VERDICTS)
True
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from .. import formatting as fmt
from ..design import AUC_WINDOWS, CI_LEVEL, PERIOD_DAYS, SEQUENCES, TREATMENTS
from . import audit_structure as structure
from .audit_structure import N  # the patients whose numbers the paper summarizes
from . import consistency as test
from scipy import stats
from .published import planning_inputs, published_precision, published_results, published_value

VERDICTS = ("consistent", "inconsistent", "undetermined")
PAIN_SCALE = (0, 10)
#: The AUC of an integer diary by the trapezoidal rule on whole days is a multiple of 1/2.
AUC_UNIT = 0.5


def _printed(key: str) -> str:
    return fmt.as_printed(published_value(key))


def _row(key_section: str, check: str, keys: tuple[str, ...], verdict: str, detail: str,
         tolerance: str | None = None) -> dict[str, str]:
    descriptions = published_results()["description"]
    numbers = "; ".join(f"{descriptions[key]}: {_printed(key)}" for key in keys)
    tolerance = tolerance or "; ".join(sorted({f"±{fmt.as_printed(published_precision(k))}" for k in keys}))
    section = str(published_results().at[key_section, "section"])
    return {"section": section, "check": check, "published": numbers, "verdict": verdict, "tolerance": tolerance,
            "detail": detail, "keys": ",".join(keys)}


def _says(condition: bool) -> str:
    return "consistent" if condition else "inconsistent"


# --------------------------------------------------------------------------- means and SDs (GRIM, GRIMMER)

#: The published means with their SD, n and the grid and bounds of their values.
MEANS = (
    *((f"preinfusion_pain_mean_{t}", f"preinfusion_pain_sd_{t}", N, 1.0, PAIN_SCALE) for t in TREATMENTS),
    ("dn4_mean", "dn4_sd", N, 1.0, (0, 10)),
    *((f"auc35_locf_mean_{t}", f"auc35_locf_sd_{t}", N, AUC_UNIT, (0, 10 * PERIOD_DAYS)) for t in TREATMENTS),
    *((f"auc7_mean_{t}", f"auc7_sd_{t}", N, AUC_UNIT, (0, 10 * AUC_WINDOWS[0])) for t in ("ketamine", "placebo")),
    ("consecutive_auc_mean", "consecutive_auc_sd", 12, AUC_UNIT, (0, 20 * PERIOD_DAYS)),
    ("nonconsecutive_auc_mean", "nonconsecutive_auc_sd", 8, AUC_UNIT, (0, 20 * PERIOD_DAYS)),
)


def means_and_sds() -> list[dict[str, str]]:
    rows = []
    for mean_key, sd_key, n, unit, (low, high) in MEANS:
        mean, sd = published_value(mean_key), published_value(sd_key)
        half_mean, half_sd = published_precision(mean_key), published_precision(sd_key)
        grid = "integers" if unit == 1 else f"multiples of {fmt.as_printed(unit)}"
        rows.append(_row(mean_key, "GRIM: mean of values on a grid", (mean_key,),
                         _says(test.grim(mean, half_mean, n, unit)),
                         f"n = {n} values, {grid}: the mean moves in steps of {fmt.as_printed(unit / n)}"))
        ceiling = test.max_sd(mean + (half_mean if mean < (low + high) / 2 else -half_mean), n, low, high)
        feasible = test.grimmer(mean, half_mean, sd, half_sd, n, unit) and sd - half_sd <= ceiling
        rows.append(_row(sd_key, "GRIMMER: SD with its mean, within the scale", (mean_key, sd_key), _says(feasible),
                         f"n = {n}, {grid} between {low} and {high}: the largest possible SD is "
                         f"{fmt.fixed(ceiling, 1)}; a sum of squares of the parity of the sum exists"
                         + ("" if feasible else " - it does not")))
    return rows


# --------------------------------------------------------------------------- percentages of n

def percentages() -> list[dict[str, str]]:
    rows = []
    for key, row in published_results().iterrows():
        if str(row["unit"]) != "%" or key.startswith("samplesize_"):
            continue
        counts = test.percent_of(float(row["value"]), published_precision(key), N)
        rows.append(_row(key, "Percentage of the patients", (key,), _says(bool(counts)),
                         f"of n = {N}: " + (fmt.count(counts[0], "patient") if counts else "no whole number of patients")))
    for count_key, percent_key in (("ae_related_placebo_n", "ae_related_placebo_pct"),
                                   ("ae_related_ketamine_n", "ae_related_ketamine_pct"),
                                   ("ae_related_ketamine_magnesium_n", "ae_related_ketamine_magnesium_pct"),
                                   ("ae_none_n", "ae_none_pct")):
        count, percent = int(published_value(count_key)), published_value(percent_key)
        rows.append(_row(count_key, "Count against its percentage", (count_key, percent_key),
                         _says(count in test.percent_of(percent, published_precision(percent_key), N)),
                         f"{count} of {N} is {fmt.percent(count, N)}"))
    return rows


# --------------------------------------------------------------------------- sums, orders and subgroups

def sums_and_subgroups() -> list[dict[str, str]]:
    v = published_value
    aetiologies = [k for k in published_results().index if k.startswith("aetiology_")]
    total = sum(v(k) for k in aetiologies)
    slack = sum(published_precision(k) for k in aetiologies)
    rows = [
        _row("flow_screened", "Flow: screened = refused + ineligible + randomized",
             ("flow_screened", "flow_refused", "flow_ineligible", "flow_randomized"),
             _says(v("flow_screened") == v("flow_refused") + v("flow_ineligible") + v("flow_randomized")),
             f"{fmt.as_printed(v('flow_refused') + v('flow_ineligible') + v('flow_randomized'))} against "
             f"{_printed('flow_screened')}", "exact counts"),
        _row("flow_randomized", "Flow: randomized = analysed + discontinued",
             ("flow_randomized", "flow_analysed", "flow_discontinued"),
             _says(v("flow_randomized") == v("flow_analysed") + v("flow_discontinued")),
             "every randomized patient is accounted for", "exact counts"),
        _row(aetiologies[0], "Causes of pain add up to 100%", tuple(aetiologies), _says(abs(total - 100) <= slack),
             f"they sum to {fmt.as_printed(total)}%"),
        _row("pain_years_median", "Quartiles in order", ("pain_years_q1", "pain_years_median", "pain_years_q3"),
             _says(v("pain_years_q1") <= v("pain_years_median") <= v("pain_years_q3")), "Q1 ≤ median ≤ Q3"),
        _consecutive_groups(), _consecutive_sums(), _consecutive_spread(),
        *_any_event_against_terms(),
    ]
    return rows


def _consecutive_groups() -> dict[str, str]:
    """12 patients with consecutive ketamine periods: 4 of the 6 sequences have them, so 20 patients spread over
    the sequences (3 or 4 each, as the randomization allows) give 12 to 14."""
    n = int(published_value("consecutive_n"))
    # 6 sequences, 20 patients: two sequences get 4 and four get 3; the 4 consecutive sequences hold 12 to 14
    low, high = 4 * 3, 2 * 4 + 2 * 3
    return _row("consecutive_n", "Consecutive ketamine periods: count against the design", ("consecutive_n",),
                _says(low <= n <= high), f"4 of the 6 sequences put the two ketamine periods side by side; with 3 or "
                f"4 patients per sequence they hold {low} to {high} patients", "exact counts")


def _consecutive_sums() -> dict[str, str]:
    """The mean of the two groups' sums must be the sum of the ketamine and ketamine/magnesium means."""
    v, h = published_value, published_precision
    n1 = int(v("consecutive_n"))
    n2 = N - n1
    pooled = (n1 * v("consecutive_auc_mean") + n2 * v("nonconsecutive_auc_mean")) / N
    pooled_slack = (n1 * h("consecutive_auc_mean") + n2 * h("nonconsecutive_auc_mean")) / N
    both = v("auc35_locf_mean_ketamine") + v("auc35_locf_mean_ketamine_magnesium")
    both_slack = h("auc35_locf_mean_ketamine") + h("auc35_locf_mean_ketamine_magnesium")
    gap = abs(pooled - both)
    return _row("consecutive_auc_mean", "Subgroups against the whole: mean of the ketamine sums",
                ("consecutive_auc_mean", "nonconsecutive_auc_mean", "auc35_locf_mean_ketamine",
                 "auc35_locf_mean_ketamine_magnesium"), _says(gap <= pooled_slack + both_slack),
                f"the two groups' sums average {fmt.fixed(pooled, 1)}, but the ketamine and ketamine/magnesium "
                f"means add up to {fmt.as_printed(both)}: a gap of {fmt.fixed(gap, 1)} where rounding allows "
                f"{fmt.fixed(pooled_slack + both_slack, 1)}")


def _consecutive_spread() -> dict[str, str]:
    """The SD of the sums over all patients, from the groups (within + between) and from the two treatments'
    SDs with the published ICC as their correlation."""
    v = published_value
    n1 = int(v("consecutive_n"))
    n2 = N - n1
    m1, m2, s1, s2 = (v(k) for k in ("consecutive_auc_mean", "nonconsecutive_auc_mean", "consecutive_auc_sd",
                                     "nonconsecutive_auc_sd"))
    grand = (n1 * m1 + n2 * m2) / N
    from_groups = ((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2 + n1 * (m1 - grand) ** 2 + n2 * (m2 - grand) ** 2) / (N - 1)
    sd_k, sd_km, icc = v("auc35_locf_sd_ketamine"), v("auc35_locf_sd_ketamine_magnesium"), v("auc35_locf_icc")
    from_treatments = sd_k ** 2 + sd_km ** 2 + 2 * icc * sd_k * sd_km
    ratio = (from_groups / from_treatments) ** 0.5
    return _row("consecutive_auc_sd", "Subgroups against the whole: spread of the ketamine sums",
                ("consecutive_auc_sd", "nonconsecutive_auc_sd", "auc35_locf_sd_ketamine",
                 "auc35_locf_sd_ketamine_magnesium", "auc35_locf_icc"), _says(abs(ratio - 1) <= 0.05),
                f"SD of the sums {fmt.fixed(from_groups ** 0.5, 0)} from the groups, "
                f"{fmt.fixed(from_treatments ** 0.5, 0)} from the treatments' SDs with the ICC as their correlation",
                "±5% (the ICC stands in for the correlation of the two ketamine AUCs)")


def _any_event_against_terms() -> list[dict[str, str]]:
    """The abstract's "at least one adverse event" share of a treatment cannot be below any single term's."""
    rows = []
    terms = published_results().index
    for treatment in TREATMENTS:
        any_key = f"abstract_ae_any_{treatment}_pct"
        term_keys = [k for k in terms if k.startswith(f"ae_pct_{treatment}_")
                     and k.removeprefix(f"ae_pct_{treatment}_").split("_")[0] != "magnesium"]
        largest = max(term_keys, key=published_value)
        ok = published_value(any_key) >= published_value(largest)
        rows.append(_row(any_key, "Any adverse event against each term", (any_key, largest), _says(ok),
                         f"at least one event in {_printed(any_key)}% of patients, but "
                         f"{largest.removeprefix(f'ae_pct_{treatment}_').replace('_', ' ')} alone in "
                         f"{_printed(largest)}%" + ("" if not ok else ": possible")))
    return rows


# --------------------------------------------------------------------------- CIs, P values and tests

#: The effect sizes of the primary endpoint, as (key prefix, P key).
EFFECT_SIZES = ("auc35_es_ketamine_vs_placebo", "auc35_es_placebo_vs_ketamine_magnesium",
                "auc35_es_ketamine_vs_ketamine_magnesium")


def intervals_and_p() -> list[dict[str, str]]:
    rows = []
    for key in EFFECT_SIZES:
        estimate, low, high = (published_value(k) for k in (key, f"{key}_lo", f"{key}_hi"))
        half = published_precision(key)
        centre = (low + high) / 2
        rows.append(_row(key, "CI symmetric around its estimate", (key, f"{key}_lo", f"{key}_hi"),
                         _says(abs(centre - estimate) <= 2 * half + test.EPS),
                         f"the CI's centre is {fmt.fixed(centre, 2)}, the estimate {_printed(key)}"))
        p_low, p_high = test.p_from_ci(estimate, low, high, half, CI_LEVEL)
        p = published_value(f"{key}_p")
        rows.append(_row(f"{key}_p", "P implied by the CI (normal, Wald)", (key, f"{key}_lo", f"{key}_hi", f"{key}_p"),
                         _says(p_low - published_precision(f"{key}_p") <= p <= p_high + published_precision(f"{key}_p")),
                         f"the CI implies P between {fmt.fixed(p_low, 3)} and {fmt.fixed(p_high, 3)}"))
    first, second, third = (published_value(k) for k in EFFECT_SIZES)
    # ketamine - ketamine/magnesium = (ketamine - placebo) - (ketamine/magnesium - placebo)
    as_labelled = first + second
    as_signed = first - second
    slack = 3 * published_precision(EFFECT_SIZES[0])
    rows.append(_row(EFFECT_SIZES[2], "Effect sizes add up (one common scale)", EFFECT_SIZES,
                     _says(abs(as_signed - third) <= slack),
                     f"read as labelled (placebo minus ketamine/magnesium), K - K/M = {fmt.fixed(as_labelled, 1)}, "
                     f"not {_printed(EFFECT_SIZES[2])}; read as ketamine/magnesium minus placebo (the sign of the "
                     f"means), {fmt.fixed(as_signed, 1)}: the label's order is reversed"))
    rows += [*_effect_size_scale(), *_model_structure(), _omnibus_primary(), _omnibus_day7(), _consecutive_test(), _sample_size(),
             _sample_size_difference()]
    return rows


def _omnibus_primary() -> dict[str, str]:
    z_k = -test.z_of_p(published_value("auc35_es_ketamine_vs_placebo_p"))
    z_km = test.z_of_p(published_value("auc35_es_placebo_vs_ketamine_magnesium_p"))
    implied = test.omnibus_from_pairwise(z_k, z_km)
    implied_k_km = 2 * stats.norm.sf(abs(z_k - z_km))
    p = published_value("auc35_locf_omnibus_p")
    ok = abs(implied - p) <= 0.005 and abs(implied_k_km - published_value("auc35_es_ketamine_vs_ketamine_magnesium_p")) <= 0.005
    return _row("auc35_locf_omnibus_p", "Omnibus P against the pairwise P (balanced crossover)",
                ("auc35_locf_omnibus_p", "auc35_es_ketamine_vs_placebo_p", "auc35_es_placebo_vs_ketamine_magnesium_p",
                 "auc35_es_ketamine_vs_ketamine_magnesium_p"), _says(ok),
                f"the two contrasts against placebo imply an omnibus P of {fmt.fixed(implied, 3)} and a ketamine vs "
                f"ketamine/magnesium P of {fmt.fixed(implied_k_km, 3)}", "±0.005 (equal SEs assumed)")


def _omnibus_day7() -> dict[str, str]:
    z_k = -test.z_of_p(published_value("auc7_ketamine_vs_placebo_p"))
    roots = test.second_contrast_for_omnibus(z_k, published_value("auc7_omnibus_p"))
    if not roots:
        return _row("auc7_omnibus_p", "Omnibus P against the pairwise P (balanced crossover)",
                    ("auc7_omnibus_p", "auc7_ketamine_vs_placebo_p"), "inconsistent",
                    "no second contrast gives this omnibus P", "±0.0005")
    others = [(2 * stats.norm.sf(abs(z)), 2 * stats.norm.sf(abs(z_k - z))) for z in roots]
    smallest = min(min(pair) for pair in others)
    return _row("auc7_omnibus_p", "Omnibus P against the pairwise P (balanced crossover)",
                ("auc7_omnibus_p", "auc7_ketamine_vs_placebo_p"), "consistent",
                "possible only if one more pairwise contrast is significant: "
                + " or ".join(f"ketamine/magnesium vs placebo P {fmt.fixed(a, 3)} with ketamine vs "
                              f"ketamine/magnesium P {fmt.fixed(b, 3)}" for a, b in others)
                + f" (smallest {fmt.fixed(smallest, 3)}); the paper reports only ketamine vs placebo",
                "equal SEs assumed")


def _consecutive_test() -> dict[str, str]:
    v, h = published_value, published_precision
    n1 = int(v("consecutive_n"))
    ranges = test.t_test_p(v("consecutive_auc_mean"), v("consecutive_auc_sd"), n1, v("nonconsecutive_auc_mean"),
                           v("nonconsecutive_auc_sd"), N - n1, h("consecutive_auc_mean"), h("consecutive_auc_sd"))
    p = v("consecutive_p")
    ok = any(low - h("consecutive_p") <= p <= high + h("consecutive_p") for low, high in ranges.values())
    return _row("consecutive_p", "P against the groups' summaries (t tests)",
                ("consecutive_p", "consecutive_auc_mean", "consecutive_auc_sd", "nonconsecutive_auc_mean",
                 "nonconsecutive_auc_sd", "consecutive_n"), _says(ok),
                "; ".join(f"{name.capitalize()}'s t test gives P {fmt.fixed(low, 2)} to {fmt.fixed(high, 2)}"
                          for name, (low, high) in ranges.items())
                + " (a rank test is not excluded)")


def _sample_size() -> dict[str, str]:
    from ..stats.planning import crossover_sample_size

    inputs = planning_inputs()
    corners = test.corners((inputs["difference"] - 0.5, inputs["difference"] + 0.5),
                            (inputs["sd"] - 0.5, inputs["sd"] + 0.5))
    needed = {method: sorted({crossover_sample_size(d, sd, inputs["correlation"], inputs["alpha"], inputs["power"])[key]
                              for d, sd in corners}) for method, key in (("normal", "n_normal"), ("paired t", "n_t"))}
    stated = int(inputs["n"])
    keys = ("samplesize_n", "samplesize_difference", "samplesize_pilot_auc28_sd", "samplesize_alpha",
            "samplesize_power", "samplesize_correlation")
    ok = any(values[0] <= stated <= values[-1] for values in needed.values())
    return _row("samplesize_n", "Sample size from its stated inputs", keys, _says(ok),
                "the inputs give " + " and ".join(f"{'-'.join(map(str, sorted({v[0], v[-1]})))} patients by the {m} "
                                                  "formula" for m, v in needed.items()) + f", not {stated}")


def _effect_size_scale() -> list[dict[str, str]]:
    """What SD the effect sizes are standardized by, from the difference of the treatments' means."""
    v = published_value
    means = {t: v(f"auc35_locf_mean_{t}") for t in TREATMENTS}
    pairs = (("ketamine", "placebo"), ("ketamine_magnesium", "placebo"), ("ketamine", "ketamine_magnesium"))
    rows = []
    for key, (first, second) in zip(EFFECT_SIZES, pairs):
        difference = means[first] - means[second]
        scale = abs(difference / v(key)) if v(key) else float("nan")
        rows.append(_row(key, "Effect size against the difference of the means", (key, f"auc35_locf_mean_{first}",
                                                                                  f"auc35_locf_mean_{second}"),
                         "undetermined", f"the means differ by {fmt.as_printed(difference)} pain score-days, so the "
                         f"effect size implies an SD near {fmt.fixed(scale, 0)}, far from the SDs of the AUC "
                         "(90-100): the paper does not say what it standardizes by (model-adjusted contrasts?)"))
    return rows


def _sample_size_difference() -> dict[str, str]:
    v = published_value
    implied = v("samplesize_pilot_auc28_mean") * v("samplesize_reduction_pct") / 100
    keys = ("samplesize_difference", "samplesize_pilot_auc28_mean", "samplesize_reduction_pct")
    return _row("samplesize_difference", "Difference = reduction × pilot mean", keys,
                _says(abs(implied - v("samplesize_difference")) <= 0.5 + 0.5 * 0.35 + 164 * 0.005),
                f"{_printed('samplesize_reduction_pct')}% of {_printed('samplesize_pilot_auc28_mean')} is "
                f"{fmt.fixed(implied, 1)}")


def _model_structure() -> list[dict[str, str]]:
    """Given the two pairwise P values against placebo, the design fixes the omnibus P, the third pairwise P and
    every effect size with its CI (:mod:`ketapain_lib.paper.audit_structure`)."""
    keys = ("auc35_es_ketamine_vs_placebo_p", "auc35_es_placebo_vs_ketamine_magnesium_p", "auc35_locf_icc",
            *structure.IMPLIED_KEYS.values())
    rows = []
    for model, words in structure.STRUCTURE_MODELS.items():
        candidates, compatible, (_, (allocation, missed)) = structure.compatible_allocations(model)
        if compatible.any():
            detail = (f"{int(compatible.sum())} of the {len(candidates)} allocations give every one of them, e.g. "
                      f"{'/'.join(map(str, candidates[np.argmax(compatible)]))} patients in {'/'.join(SEQUENCES)}")
        else:
            detail = (f"none of the {len(candidates)} allocations does; the closest ({'/'.join(map(str, allocation))}) "
                      f"still misses {', '.join(published_results().at[key, 'description'] for key in missed)}")
        rows.append(_row("auc35_locf_omnibus_p", f"Model structure: the primary P values, effect sizes and CIs "
                         f"together, under {words}", keys, _says(bool(compatible.any())),
                         detail + " (effect sizes read as the contrast over the SD of a within-patient difference)"))
    return rows


#: The checks, in the order the chapter shows them.
CHECKS: tuple[Callable[[], list[dict[str, str]]], ...] = (means_and_sds, percentages, sums_and_subgroups,
                                                          intervals_and_p)


def audit_table() -> pd.DataFrame:
    """Every check on every published number, grouped by the paper's sections in the paper's order."""
    return _audit_table().copy()


@lru_cache(maxsize=1)
def _audit_table() -> pd.DataFrame:
    # the published numbers do not change within a process: one audit serves the table and the prose
    rows = [row for check in CHECKS for row in check()]
    table = pd.DataFrame(rows, columns=["section", "check", "published", "verdict", "tolerance", "detail", "keys"])
    order = list(dict.fromkeys(published_results()["section"]))
    return (table.assign(_order=table["section"].map(order.index)).sort_values("_order", kind="stable")
            .drop(columns="_order").reset_index(drop=True))
