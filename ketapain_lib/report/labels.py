"""Display labels: the one place where a program's name becomes the words a reader sees.

Tables, captions and notes never show a code (``ketamine_magnesium``), a column name (``es_total_sd_ci_low``),
a key of the published-results file (``auc35_es_...``), a constant (``design.RESPONSE_THRESHOLD``) or a model
formula. The report's code keeps its names; :func:`column_label` and :func:`text` turn them into words when a
table is laid out (:func:`ketapain_lib.report.publication.publication_table`), so a new column or value cannot
reach a page as an identifier.

The trial's own labels (treatments, diary measures, handling of missing days) are facts of the design, defined
in :mod:`ketapain_lib.design`; they are re-exported here so that the report imports every label from this module.

>>> column_label("es_total_sd_ci_low", {}), text("ketamine_magnesium vs placebo")
('Effect size (total SD), 95% CI lower', 'Ketamine/magnesium vs placebo')
>>> text("the threshold is the report's (design.RESPONSE_THRESHOLD)")
"the threshold is the report's (30% below the pain before the infusion)"
"""
from __future__ import annotations

import re
from functools import lru_cache

from .. import formatting as fmt
from ..design import (CI_LEVEL, IMPUTATION_LABELS, MEASURE_LABELS, RESPONSE_THRESHOLD, TREATMENT_LABELS,  # noqa: F401
                      TREATMENTS)

#: The confidence level of every interval, in percent as printed ("95").
CI_PERCENT = fmt.fixed(100 * CI_LEVEL, 0)
_CI = f"{CI_PERCENT}% CI"

#: Labels of the columns that recur across tables; others are spelled from their names (:func:`column_label`).
COLUMN_LABELS: dict[str, str] = {
    "p": "P", "p_sidak": "P (Šidák)", "omnibus_p": "P (omnibus, Wald)", "omnibus_p_kr": "P (omnibus, Kenward-Roger)",
    "p_wald": "P (Wald)", "p_kr": "P (Kenward-Roger)", "p_satterthwaite": "P (Satterthwaite)",
    "p_welch": "P (Welch)", "ci_low": f"{_CI}, lower", "ci_high": f"{_CI}, upper", "se": "SE", "sd": "SD", "n": "N",
    "icc": "ICC", "es_ci_low": f"Effect size, {_CI} lower", "es_ci_high": f"Effect size, {_CI} upper", "q1": "Q1",
    "q3": "Q3", "or_ci_low": f"OR, {_CI} lower", "or_ci_high": f"OR, {_CI} upper", "odds_ratio": "Odds ratio",
    "last_day": "Day", "shapiro_p": "P (Shapiro-Wilk)", "lr_chi2": "LR χ²", "df": "df", "t": "t", "z": "z",
    "F_kr": "F (Kenward-Roger)", "ndf": "Numerator df", "ddf_kr": "Denominator df (Kenward-Roger)",
    "ddf_satterthwaite": "Denominator df (Satterthwaite)", "tost_p": "P (equivalence, TOST)",
    "n_obs": "Observations", "n_patients": "Patients", "omnibus_chi2": "Omnibus χ²", "omnibus_df": "Omnibus df",
    "effect_size": "Effect size", "es_total_sd": "Effect size (total SD)",
    "es_total_sd_ci_low": f"Effect size (total SD), {_CI} lower",
    "es_total_sd_ci_high": f"Effect size (total SD), {_CI} upper",
    "same_conclusion": "Same conclusion", "n_reproduced": "N, redone", "n_published": "N, published",
    "sd_implied_by_published_n": "SD implied by the published N", "improved_active": "Improved, active",
    "improved_placebo": "Improved, placebo", "n_active": "N, active", "n_placebo": "N, placebo",
    "n_first": "N, consecutive", "mean_first": "Mean, consecutive", "sd_first": "SD, consecutive",
    "n_second": "N, separated", "mean_second": "Mean, separated", "sd_second": "SD, separated",
    "within_tolerance": "Within tolerance", "detectable_difference": "Detectable difference",
    "sd_patient": "Between-patient SD", "sd_residual": "Residual SD",
    "se_ketamine_vs_placebo": "SE, ketamine vs placebo", "n_periods": "Periods", "pct": "%",
    "rule": "Reading of \"improved\"", "loglik": "Log-likelihood",
}

#: Short names of the pairwise comparisons in the post hoc columns (spelled out in a footnote).
PAIR_ABBREVIATIONS: dict[str, str] = {"ketamine": "K", "ketamine_magnesium": "K/M", "placebo": "P"}
#: Names of the models of :data:`ketapain_lib.stats.crossover.FORMULAS`.
MODEL_LABELS: dict[str, str] = {"paper": "The paper's model", "period": "Period instead of carry-over",
                                "no_carryover": "Sequence only, no carry-over", "treatment_only": "Treatment only"}
#: The terms of the models' formulas, in words.
TERM_LABELS: dict[str, str] = {"treatment": "treatment", "sequence": "sequence", "period": "period",
                               "carryover": "carry-over (none as reference)"}
#: The readings of "improved" (:data:`ketapain_lib.stats.derive.IMPROVEMENT_RULES`).
RULE_LABELS: dict[str, str] = {
    "baseline_30pct": f"{fmt.fixed(100 * RESPONSE_THRESHOLD, 0)}% below the pain before the infusion",
    "baseline_any": "Any reduction from the pain before the infusion",
    "versus_placebo": "Lower AUC than with the comparator"}
#: The design's constants a note may cite, as what they mean.
CONSTANT_LABELS: dict[str, str] = {"design.RESPONSE_THRESHOLD": RULE_LABELS["baseline_30pct"]}
#: The generator's assumptions (:data:`ketapain_lib.synthetic.assumptions.ASSUMPTIONS`), in words.
ASSUMPTION_LABELS: dict[str, str] = {
    "female_share": "Share of women", "age_mean_sd_years": "Age, mean and SD (years)",
    "height_mean_sd_cm": "Height, mean and SD (cm)", "bmi_mean_sd": "Body mass index, mean and SD (kg/m²)",
    "dn4_probabilities_4_to_10": "DN4 score, probabilities of 4 to 10",
    "auc7_mean_sd_ketamine_magnesium": "Day-7 AUC with ketamine/magnesium, mean and SD",
    "auc7_draws": "Draws of the day-7 noise, the closest to the published P kept",
    "maximal_minus_average_mean_sd": "Maximal minus average pain, mean and SD (points)",
    "night_minus_average_mean_sd": "Night minus average pain, mean and SD (points)",
    "daily_noise_sd_points": "Day-to-day noise, SD (points)", "daily_noise_autocorrelation": "Day-to-day noise, "
    "autocorrelation", "diary_missing_probability_day1_day35": "Probability of a missing diary day, day 1 and day 35",
    "diary_partial_missing_probability": "Probability of a partly missing diary day",
    "diary_dropout_periods": "Periods with a diary drop-out",
    "preinfusion_pain_patient_correlation": "Correlation of a patient's pain before the infusions",
    "blinding_correct_guess_probability": "Probability of a correct guess of the treatment",
    "questionnaires": "Questionnaire at inclusion, mean, SD and decimals",
    "pgic_sleep_ketamine_shift": "Shift of the PGIC sleep item with ketamine",
    "concomitant_changes": "Change of a concomitant drug (drug, class, change, reason)",
    "female": "women", "male": "men",
}
#: Codes that appear as values (drug classes, terms) whose words are not their name with spaces.
VALUE_LABELS: dict[str, str] = {"paracetamol_nsaid": "paracetamol or NSAID", "ketamine_magnesium": "ketamine/magnesium"}

#: Formulas and model terms that the statistics modules write into their tables' cells and notes, in words.
PHRASE_LABELS: dict[str, str] = {
    "sqrt(2 x residual variance)": "the square root of twice the residual variance",
    "sqrt(between- + within-patient variance)": "the square root of the between-patient plus the within-patient "
                                                "variance",
    "treatment (omnibus)": "Treatment, omnibus test",
    "the log(y + 1) scale": "the log scale (of the value plus one)",
    "the log(y) scale": "the log scale",
    "log(y + 1)": "the logarithm of the value plus one",
    "log(y)": "the logarithm of the value",
}

_IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")


def column_label(name: str, treatment_n: dict[str, int] | None = None) -> str:
    """The label of a column: a known one, a treatment with its N, or the name in words.

    >>> column_label("omnibus_p", {}), column_label("Placebo", {"Placebo": 20})
    ('P (omnibus, Wald)', 'Placebo (N\\xa0=\\xa020)')
    >>> column_label("p: ketamine_magnesium vs placebo", {}), column_label("ci width: ketamine vs placebo")
    ('P, ketamine/magnesium vs placebo', 'CI width, ketamine vs placebo')
    """
    treatment_n = treatment_n or {}
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    if name in treatment_n:
        return fmt.unbroken(f"{name} (N = {treatment_n[name]})")  # never "Ketamine (N =" / "20)"
    if ": " in name:
        kind, rest = name.split(": ", 1)
        kind = COLUMN_LABELS.get(kind, kind.replace("_", " ").replace("ci ", "CI "))
        return _capital(f"{kind}, {_words(rest)}")
    return _capital(_words(name))


def comparison(text_: str) -> str:
    """A pair ``first vs second`` of treatment codes in words.

    >>> comparison("ketamine vs ketamine_magnesium")
    'Ketamine vs ketamine/magnesium'
    """
    return _capital(" vs ".join(TREATMENT_LABELS.get(part, part).lower() for part in text_.split(" vs ")))


def formula(fixed_effects: str) -> str:
    """A model formula's fixed effects in words (``treatment + C(sequence)`` as ``Treatment + sequence``).

    >>> formula("treatment + C(sequence) + C(carryover, Treatment('none'))")
    'Treatment + sequence + carry-over (none as reference)'
    """
    terms = []
    for term in re.split(r"\s*\+\s*", fixed_effects.strip()):
        inner = re.fullmatch(r"C\((\w+)(?:,.*)?\)", term)
        name = inner.group(1) if inner else term
        terms.append(TERM_LABELS.get(name, _words(name)))
    return _capital(" + ".join(terms))


def text(value: str) -> str:
    """Any text of a table cell or note with its identifiers in words: treatment codes and pairs, keys of the
    published-results file (as their description), the design's constants, other names with spaces."""
    if not isinstance(value, str):
        return value
    if value in TREATMENT_LABELS:  # every treatment alike: "Placebo", "Ketamine/magnesium"
        return TREATMENT_LABELS[value]
    if " vs " in value and all(part in TREATMENT_LABELS for part in value.split(" vs ")):
        return comparison(value)  # every pair alike: "Ketamine vs placebo", "Ketamine/magnesium vs placebo"
    for phrase, words in PHRASE_LABELS.items():
        value = value.replace(phrase, words)
    if "_" not in value and "design." not in value:
        return value
    for table in (MODEL_LABELS, RULE_LABELS, ASSUMPTION_LABELS):
        if value in table:
            return table[value]
    for constant, words in CONSTANT_LABELS.items():
        value = value.replace(constant, words)
    return _IDENTIFIER.sub(lambda match: _word(match.group(0)), value)


def _word(name: str) -> str:
    descriptions = _descriptions()
    if name in descriptions:
        return descriptions[name]
    if name in ASSUMPTION_LABELS:
        return ASSUMPTION_LABELS[name]
    return _words(name)


def _words(name: str) -> str:
    for code, words in VALUE_LABELS.items():
        name = name.replace(code, words)
    return name.replace("_", " ")


def _capital(label: str) -> str:
    return label[:1].upper() + label[1:]


@lru_cache(maxsize=1)
def _descriptions() -> dict[str, str]:
    from ..paper.published import published_results

    return {str(key): str(description) for key, description in published_results()["description"].items()}
