"""Views: how a result's frame is laid out on the page, without changing what the export writes.

A registry entry (:data:`ketapain_lib.report.registry.OUTPUTS`) makes a frame from the results; its view
turns that frame into what a journal would print: treatment codes as labels (whose headers then give N),
pairs abbreviated, a confidence interval in one cell, technical columns left to the CSV. The notes below
are the tables' footnotes, stated once.
"""
from __future__ import annotations

import pandas as pd

from .. import formatting as fmt
from ..design import TREATMENT_LABELS, TREATMENTS
from .labels import PAIR_ABBREVIATIONS

def relatedness_view(table: pd.DataFrame) -> pd.DataFrame:
    """The relatedness table with its levels capitalised and a total row."""
    shown = table.copy()
    shown["relatedness"] = shown["relatedness"].str.capitalize()
    total = {"relatedness": "All events", **{c: int(shown[c].sum()) for c in shown.columns[1:]}}
    return pd.concat([shown, pd.DataFrame([total])], ignore_index=True)


def _comparison_words(term: str) -> str:
    """A model term naming a treatment against the reference in words, every treatment as the book writes it
    ("ketamine_magnesium vs placebo" and "ketamine magnesium vs placebo" both as "Ketamine/magnesium vs placebo").

    >>> _comparison_words("ketamine magnesium vs placebo"), _comparison_words("ketamine_magnesium")
    ('Ketamine/magnesium vs placebo', 'Ketamine/magnesium')
    """
    from ..design import TREATMENT_LABELS

    spoken = {label.lower().replace("/", " "): label for label in TREATMENT_LABELS.values()}
    parts = [TREATMENT_LABELS.get(part.strip(), spoken.get(part.strip().replace("_", " "), part.strip()))
             for part in term.split(" vs ")]
    text = " vs ".join([parts[0], *(part.lower() for part in parts[1:])])
    return text[:1].upper() + text[1:]


def odds_ratio_view(fixed_effects: pd.DataFrame) -> pd.DataFrame:
    """The odds ratios of a logistic model against placebo: comparison, OR, 95% CI and P (no intercept)."""
    shown = fixed_effects[fixed_effects["term"] != "Intercept"]
    return pd.DataFrame({
        "comparison": [_comparison_words(term) for term in shown["term"]],
        "odds_ratio": shown["odds_ratio"].to_numpy(),
        "95% CI": [fmt.interval(low, high, 2) for low, high in zip(shown["or_ci_low"], shown["or_ci_high"])],
        "p": shown["p"].to_numpy()})


def improvement_with_rules(counts: pd.DataFrame) -> pd.DataFrame:
    """Improvement counts with the meaning of each rule (:data:`ketapain_lib.stats.derive.IMPROVEMENT_RULES`)."""
    from ..stats.derive import IMPROVEMENT_RULES

    rules = pd.DataFrame({"rule": list(IMPROVEMENT_RULES), "meaning": list(IMPROVEMENT_RULES.values())})
    return counts.merge(rules, on="rule")


def missing_diary_view(missing: pd.DataFrame) -> pd.DataFrame:
    """One treatment's missing diary entries by day, as n (%) of the patients expected that day.

    The column is named by the treatment's label, so that its header gives N.
    """
    from ..design import TREATMENT_LABELS

    label = TREATMENT_LABELS[str(missing["treatment"].iloc[0])]
    return pd.DataFrame({"day": missing["day"].astype(int).to_numpy(),
                         label: [fmt.n_percent(int(k), int(n)) for k, n in zip(missing["n_missing"], missing["n_expected"])]})


def by_treatment_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename treatment-code columns to their labels (for display)."""
    from ..rawdata.schema import TREATMENT_LABELS

    return frame.rename(columns=TREATMENT_LABELS)




POST_HOC_NOTE = ("Sidak-adjusted P of each pairwise comparison, shown only after a significant omnibus test "
                 "(P < 0.05), as the paper's methods state; K, ketamine; K/M, ketamine/magnesium; P, placebo.")


SUMMARY_NOTE = ("Mean ± SD, or median [Q1; Q3] where the Shapiro-Wilk test rejects normality (P < 0.05).")


OMNIBUS_NOTE = ("Omnibus test of treatment in the paper's crossover model: Wald test of the maximum-likelihood fit "
                "(the paper's analysis, as Stata 13), and the Kenward-Roger F test of the REML fit (this report's "
                "small-sample analysis).")


PAIRS_NOTE = "K, ketamine; K/M, ketamine/magnesium; P, placebo: the first minus the second."


EQUIVALENCE_NOTE = ("Two one-sided tests (TOST) of the contrast against ± the clinically important difference; "
                    "equivalent when P < 0.05.")


BENEFIT_NOTE = ("Posterior probability that the active treatment lowers the AUC (any) or lowers it by at least the "
                "clinically important difference (important), with a flat prior or a sceptical prior centred "
                "on no effect.")


MISSING_NOTE = "Patients without an entry that day, n (%) of the N patients given the treatment."
AE_NOTE = ("A patient counts once per row and treatment; % of the N patients given the treatment. Related: "
           "possibly, probably or certainly related to the study drug.")
RELATED_NOTE = "Events, not patients: a patient may have several."
ODDS_RATIO_NOTE = ("Random-intercept logistic model fitted by maximum likelihood (adaptive Gauss-Hermite "
                   "quadrature); Wald test and 95% CI. Treatment is the only fixed effect: the paper's sequence "
                   "and carry-over terms cannot be estimated from so few events.")
RECONSTRUCTION_NOTE = ("Met: prints as published; unreachable: with the published P values against placebo, the paper's "
                       "model on this allocation forces another value (see the model-structure check).")
LOG_NOTE = ("Analysed on the log scale: the residuals on the original scale failed the normality check (the "
            "model notes give the test).")


def pair_label(comparison: str) -> str:
    first, second = comparison.split(" vs ")
    return f"{PAIR_ABBREVIATIONS[first]} vs {PAIR_ABBREVIATIONS[second]}"


def _omnibus_and_post_hoc(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """The columns shared by Tables 2 and 3: treatments, omnibus P (Wald, Kenward-Roger), Sidak post hoc P."""
    from ..design import TREATMENT_LABELS, TREATMENTS

    shown = pd.DataFrame({"label": labels})
    for treatment in TREATMENTS:
        shown[TREATMENT_LABELS[treatment]] = frame[treatment].to_numpy()
    shown["omnibus_p"] = frame["omnibus_p"].to_numpy()
    shown["omnibus_p_kr"] = frame["omnibus_p_kr"].to_numpy()
    for column in frame.columns:
        if column.startswith("p_sidak: "):
            shown[f"p_sidak: {pair_label(column.removeprefix('p_sidak: '))}"] = frame[column].to_numpy()
    # the note is marked on the rows analysed on the log scale ("Day 15 (log)"), not left without a mark
    logged = tuple(label for label, transform in zip(labels, frame["transform"]) if transform != "none")
    shown.attrs["footnotes"] = ((LOG_NOTE, tuple(dict.fromkeys(logged))),) if logged else ()
    return shown


def _stub(label: str, transform: str) -> str:
    return f"{label} (log)" if transform != "none" else label


def table2_view(auc: pd.DataFrame) -> pd.DataFrame:
    """Table 2 as the paper prints it: rows grouped by measure and handling of missing days, one row per window.

    Columns: each treatment's AUC summary (pain score-days), the omnibus P (Wald, Kenward-Roger) and the
    Sidak post hoc P; the ICC, the raw pairwise P values and the models' notes stay in the CSV.
    """
    from ..design import IMPUTATION_LABELS, MEASURE_LABELS, PAIN_MEASURES

    order = auc.assign(_measure=auc["measure"].map(PAIN_MEASURES.index),
                       _imputation=auc["imputation"].map(list(IMPUTATION_LABELS).index))
    order = order.sort_values(["_measure", "_imputation", "last_day"], kind="stable")
    windows = [_stub(f"Day {day}", t) for day, t in zip(order["last_day"], order["transform"])]
    shown = _omnibus_and_post_hoc(order, windows)
    shown.insert(0, "group", [f"{MEASURE_LABELS[m]}, {IMPUTATION_LABELS[i]}"
                              for m, i in zip(order["measure"], order["imputation"])])
    return shown


def table3_view(questionnaires: pd.DataFrame) -> pd.DataFrame:
    """Table 3 as printed: scores grouped by instrument, with the columns of :func:`table2_view`."""
    from ..rawdata.schema import INSTRUMENT_NAMES, SCORE_LABELS

    labels = [_stub(SCORE_LABELS.get(name, name), t) for name, t in
              zip(questionnaires["score"], questionnaires["transform"])]
    shown = _omnibus_and_post_hoc(questionnaires, labels)
    shown.insert(0, "group", questionnaires["instrument"].map(INSTRUMENT_NAMES).fillna(questionnaires["instrument"])
                 .to_numpy())
    return shown


def model_summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """A one-model summary (:meth:`CrossoverFit.to_frame`) as two columns, statistic and value, each at its
    printed precision (P values as journals print them; variances in squared pain score-days)."""
    row = summary.iloc[0]
    labels = {"model": "Model", "method": "Estimation", "transform": "Scale of the outcome",
              "n_obs": "Observations", "n_patients": "Patients", "omnibus_chi2": "Omnibus χ² (Wald)",
              "omnibus_df": "Omnibus df", "omnibus_p": "Omnibus P (Wald)",
              "patient_variance": "Between-patient variance", "residual_variance": "Residual variance",
              "icc": "Intraclass correlation", "loglik": "Log-likelihood",
              "shapiro_w": "Shapiro-Wilk W (residuals)", "shapiro_p": "Shapiro-Wilk P (residuals)"}
    decimals = {"omnibus_chi2": 2, "patient_variance": 0, "residual_variance": 0, "icc": 2, "loglik": 1,
                "shapiro_w": 3}
    rows = []
    for column, label in labels.items():
        value = row[column]
        text = (fmt.pvalue(value) if column.endswith("_p") else fmt.cell(value, decimals.get(column, 0))
                if not isinstance(value, str) else {"none": "original"}.get(value, value))
        rows.append({"statistic": label, "value": text})
    return pd.DataFrame(rows)


def model_comparison_view(comparison: pd.DataFrame) -> pd.DataFrame:
    """The primary endpoint under each model: rows grouped by model, pairs abbreviated as in Tables 2 and 3."""
    shown = comparison.copy()
    shown.columns = [_abbreviate_pair(str(column)) for column in shown.columns]
    return shown


def _abbreviate_pair(column: str) -> str:
    """``estimate: ketamine vs placebo`` as ``estimate: K vs P`` (see :data:`PAIR_ABBREVIATIONS`)."""
    if ": " not in column or " vs " not in column:
        return column
    kind, comparison = column.split(": ", 1)
    return f"{kind}: {pair_label(comparison)}"


def equivalence_view(reading: pd.DataFrame) -> pd.DataFrame:
    """Equivalence tests and probabilities of benefit, one row per contrast and clinically important
    difference, with the CI in one cell and probabilities as plain decimals (they are not P values)."""
    return pd.DataFrame({
        "contrast": [c.replace("ketamine_magnesium", "ketamine/magnesium").replace(" - ", " minus ").capitalize()
                     for c in reading["contrast"]],
        "clinically important difference": [f"{cid} ({fmt.fixed(days, 0)})" for cid, days in
                                            zip(reading["cid"], reading["cid_score_days"])],
        "estimate (95% CI)": [f"{fmt.fixed(e, 1)} ({fmt.interval(lo, hi, 1)})" for e, lo, hi in
                              zip(reading["estimate"], reading["ci_low"], reading["ci_high"])],
        "tost_p": reading["tost_p"].to_numpy(),
        "equivalent": reading["equivalent"].map({True: "yes", False: "no"}).to_numpy(),
        "flat: any": reading["p_benefit_flat"].to_numpy(),
        "flat: important": reading["p_important_benefit_flat"].to_numpy(),
        "sceptical: any": reading["p_benefit_sceptical"].to_numpy(),
        "sceptical: important": reading["p_important_benefit_sceptical"].to_numpy()})


def ledger_view(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger as a reader checks it: published values and tolerances as the paper prints them, the result
    in the reader's words ("reproduced" only for a match nothing aimed at, "matched by construction" for a
    targeted one), what made the data aim at the number (synthetic data only), and one note saying what is
    compared, the reading taken where the paper is ambiguous, where the chapter prints the value otherwise, and
    why a row differs."""
    columns = ["section", "statistic", "published", "reproduced", "difference", "tolerance", "verdict",
               *(["targeting"] if "targeting" in ledger else [])]
    # "computed", not "reproduced": a value matched by construction is computed, and reproduces nothing
    shown = ledger[columns].rename(columns={"verdict": "result", "reproduced": "computed"}).copy()
    reasons = ledger["reason"] if "reason" in ledger else [""] * len(ledger)
    printed = ledger["printed"] if "printed" in ledger else [""] * len(ledger)
    shown["note"] = ["; ".join(part for part in (c, r, p, f"differs: {why}" if why else "")
                               if isinstance(part, str) and part)
                     for c, r, p, why in zip(ledger["compared"], ledger["reading"], printed, reasons)]
    for column in ("published", "tolerance"):
        shown[column] = [fmt.as_printed(v) for v in shown[column]]
    return shown


def reconstruction_view(report: pd.DataFrame) -> pd.DataFrame:
    """The reconstruction's targets as a reader checks them: the published number as printed, the number the
    reconstructed data give (one decimal more), and for an unreachable one the value the design forces."""
    from ..paper.published import published_results

    descriptions = published_results()["description"]
    decimals = [len(fmt.as_printed(v).split(".")[1]) + 1 if "." in fmt.as_printed(v) else 1 for v in report["published"]]
    return pd.DataFrame({
        "number": [descriptions[key] for key in report["key"]],
        "published": [fmt.as_printed(v) for v in report["published"]],
        "reconstructed": [fmt.fixed(v, d) for v, d in zip(report["achieved"], decimals)],
        "status": report["status"].to_numpy(),
        "forced by the design": ["" if pd.isna(v) else fmt.fixed(v, d) for v, d in zip(report["implied"], decimals)]})


# --------------------------------------------------------------------------- the paper's values beside the report's
# Each function below takes a table as its view shows it and gives the cells the paper prints a value for:
# (row position, column) -> the published value as printed (:func:`ketapain_lib.formatting.as_printed`), read from
# the published-results file. :func:`ketapain_lib.report.publication.publication_table` puts them in a
# "Published" row under the row they belong to.

def _printed(*keys: str) -> list[str] | None:
    """The published values of ``keys`` as printed, or None if one of them is not in the published-results file."""
    from ..paper.published import published_results

    values = published_results()["value"]
    if not all(key in values.index for key in keys):
        return None
    return [fmt.as_printed(values[key]) for key in keys]


def _mean_sd(mean_key: str, sd_key: str) -> str | None:
    printed = _printed(mean_key, sd_key)
    return f"{printed[0]} ± {printed[1]}" if printed else None


def _cells(found: dict[tuple[int, str], str | None]) -> dict[tuple[int, str], str]:
    return {at: value for at, value in found.items() if value}


def table1_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """Table 1: the median [Q1; Q3] of the years with pain, the DN4 mean ± SD, each cause's and drug's percentage."""
    from .tables import table1_published_keys

    value_column = shown.columns[-1]
    found = {}
    for position, label in enumerate(shown["characteristic"]):
        for start, (form, keys) in table1_published_keys().items():
            printed = _printed(*keys) if label.startswith(start.split(",")[0] + ",") else None
            if printed:
                found[(position, value_column)] = (f"{printed[0]} [{printed[1]}; {printed[2]}]" if form == "median"
                                                   else f"{printed[0]} ± {printed[1]}" if form == "mean"
                                                   else f"{printed[0]}%")
    return _cells(found)


def table1_sources(shown: pd.DataFrame) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Table 1's rows the synthetic generator takes from its own assumptions (no published value to calibrate
    to: sex, age, weight, height, body mass index) and the rows calibrated to a published value."""
    published = {row for row, _ in table1_published(shown)}
    return (tuple(r for r in range(len(shown)) if r not in published), tuple(sorted(published)))


ASSUMED_NOTE = ("Synthetic data: drawn from the generator's own assumptions ({assumptions}); the paper publishes no "
                "value to calibrate this row to.")
CALIBRATED_NOTE = "Synthetic data: calibrated to the value the paper publishes (the Published row)."


def _by_treatment(columns: dict[str, str], mean: str, sd: str, treatments=TREATMENTS) -> dict[str, str | None]:
    """Each treatment's column (by label) -> the paper's mean ± SD (keys ``mean``/``sd`` formatted by treatment)."""
    return {TREATMENT_LABELS[t]: _mean_sd(mean.format(t=t), sd.format(t=t)) for t in treatments
            if TREATMENT_LABELS[t] in columns}


def preinfusion_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """The pain before each infusion: the paper's mean ± SD by treatment and the omnibus P."""
    cells = _by_treatment(shown.columns, "preinfusion_pain_mean_{t}", "preinfusion_pain_sd_{t}")
    cells["omnibus_p"] = (_printed("preinfusion_pain_p") or [None])[0]
    return _cells({(0, column): value for column, value in cells.items()})


def _model_table_published(shown: pd.DataFrame, rows: dict[tuple[str, str], dict[str, str | None]]):
    found = {}
    for position, (group, label) in enumerate(zip(shown["group"], shown["label"])):
        for column, value in rows.get((group, label.removesuffix(" (log)")), {}).items():
            found[(position, column)] = value
    return _cells(found)


def table2_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """Table 2: the day-35 AUC of average pain with missing days carried forward (mean ± SD, omnibus P) and the
    day-7 AUC without imputation (ketamine's and placebo's mean ± SD, omnibus P, ketamine vs placebo P)."""
    from ..design import DAY7, IMPUTATION_LABELS, MEASURE_LABELS, PRIMARY
    from ..stats.crossover import PAIRS

    def group(endpoint) -> str:
        return f"{MEASURE_LABELS[endpoint.measure]}, {IMPUTATION_LABELS[endpoint.imputation]}"

    primary = _by_treatment(shown.columns, "auc35_locf_mean_{t}", "auc35_locf_sd_{t}")
    primary["omnibus_p"] = (_printed("auc35_locf_omnibus_p") or [None])[0]
    day7 = _by_treatment(shown.columns, "auc7_mean_{t}", "auc7_sd_{t}", ("ketamine", "placebo"))
    day7["omnibus_p"] = (_printed("auc7_omnibus_p") or [None])[0]
    day7[f"p_sidak: {pair_label(' vs '.join(PAIRS[0]))}"] = (_printed("auc7_ketamine_vs_placebo_p") or [None])[0]
    return _model_table_published(shown, {(group(PRIMARY), f"Day {PRIMARY.last_day}"): primary,
                                          (group(DAY7), f"Day {DAY7.last_day}"): day7})


def table3_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """Table 3: the omnibus P of the PGIC sleep item, the one score whose P the paper's text prints."""
    from ..rawdata.schema import INSTRUMENT_NAMES, SCORE_LABELS

    return _model_table_published(shown, {(INSTRUMENT_NAMES["PGIC"], SCORE_LABELS["pgic_sleep"]):
                                          {"omnibus_p": (_printed("pgic_sleep_p") or [None])[0]}})


def none_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """A table of the paper whose values its text does not print (Table 4, the supplement's tables)."""
    return {}


def primary_descriptives_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """The primary endpoint by treatment: the paper's mean and SD."""
    found = {}
    for position, treatment in enumerate(shown["treatment"]):
        printed = _printed(f"auc35_locf_mean_{treatment}", f"auc35_locf_sd_{treatment}")
        if printed:
            found[(position, "mean")], found[(position, "sd")] = printed
    return _cells(found)


def primary_pairwise_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """The primary contrasts: the paper's effect size, its 95% CI and P."""
    from ..paper.published import PAIR_KEYS

    found = {}
    for position, comparison in enumerate(shown["comparison"]):
        stem = f"auc35_es_{PAIR_KEYS[comparison]}" if comparison in PAIR_KEYS else None
        printed = _printed(stem, f"{stem}_lo", f"{stem}_hi", f"{stem}_p") if stem else None
        if printed:
            for column, value in zip(("effect_size", "es_ci_low", "es_ci_high", "p"), printed):
                found[(position, column)] = value
    return _cells(found)


def primary_small_sample_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """The small-sample table: the paper's P (a Wald test of the maximum-likelihood fit) in the Wald column."""
    from ..paper.published import PAIR_KEYS

    found = {}
    for position, test in enumerate(shown["test"]):
        key = ("auc35_locf_omnibus_p" if "omnibus" in test else
               f"auc35_es_{PAIR_KEYS[test]}_p" if test in PAIR_KEYS else None)
        printed = _printed(key) if key else None
        if printed:
            found[(position, "p_wald")] = printed[0]
    return _cells(found)


def primary_model_published(shown: pd.DataFrame) -> dict[tuple[int, str], str]:
    """The primary model's summary: the paper's omnibus P and intraclass correlation."""
    keys = {"Omnibus P (Wald)": "auc35_locf_omnibus_p", "Intraclass correlation": "auc35_locf_icc"}
    return _cells({(position, "value"): (_printed(keys[statistic]) or [None])[0]
                   for position, statistic in enumerate(shown["statistic"]) if statistic in keys})


def model_formulas_view(formulas: pd.DataFrame) -> pd.DataFrame:
    """The models' fixed effects in words (:func:`ketapain_lib.report.labels.formula`), not as formulas."""
    from .labels import MODEL_LABELS, formula

    return pd.DataFrame({"model": [MODEL_LABELS.get(m, m) for m in formulas["model"]],
                         "fixed effects": [formula(f) for f in formulas["fixed effects"]]})


def calibration_view(calibration: pd.DataFrame) -> pd.DataFrame:
    """The calibration targets by their description (their keys stay in the CSV)."""
    return calibration.drop(columns=[c for c in ("section", "key") if c in calibration.columns])
