"""The reproducibility ledger: every number the paper reports, beside the number this report computes.

One row per key of the published-results file: ``published``, ``reproduced``,
``difference``, ``tolerance`` and ``status``. The tolerance is the rounding of
the published number (half a unit of its last printed digit), so ``match``
means "the paper would have printed the same number". Statuses:

* ``match``: reproduced to the published precision;
* ``differs``: computed, but not equal at that precision;
* ``input``: a number the paper takes as given (a design choice or a planning
  assumption): it is used, not reproduced;
* ``log scale``: the residuals failed the normality check, so the report's
  model was refitted on log(y) and its P value, ICC or effect size is not the
  raw-scale number the paper prints.

On synthetic data each row also says what aimed at it (``targeting``,
:mod:`ketapain_lib.synthetic.targeting`): the generator's calibration, the recorded reconstruction
(:mod:`ketapain_lib.synthetic.reconstruct`), the generator's own settings, or nothing. The reader's word for
a row, ``verdict`` (:func:`verdicts`), is "reproduced" only for a match from the raw data that nothing aimed at,
"matched by construction" for a targeted one, "set by the generator" for a design fact the generator is built
from, and "recomputed from inputs" for a number recomputed from the paper's planning inputs. A row that
differs carries its ``reason`` (:func:`reasons`); a mean or SD that the chapter's table prints as median [IQR]
says so (``printed``). On a real export there is no ``targeting`` column and every row is a genuine check.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import formatting as fmt
from ..stats import analyses, derive
from ..stats.crossover import PAIRS, sidak
from ..design import ALPHA, DAY7, FIGURE4_WINDOWS, TREATMENTS
from .calibration import achieved_statistics
from ..rawdata.load import Trial
from ..paper.published import AUC_TABLE_NUMBER, PAIR_KEYS, published_precision, published_results
from .targeting import CALIBRATION, NOT_TARGETED, SETTING, classes

#: Keys the paper states as design choices or planning inputs.
INPUT_KEYS = ("design_alpha", "samplesize_alpha", "samplesize_power", "samplesize_correlation",
              "samplesize_pilot_auc28_mean", "samplesize_pilot_auc28_sd")
#: Keys this report recomputes from the paper's published planning inputs, not from the raw data: whatever the
#: data, they come out the same.
RECOMPUTED_KEYS = ("samplesize_n", "samplesize_difference", "samplesize_reduction_pct")


def reproduced_values(trial: Trial, results: Mapping) -> dict[str, float]:
    """Every published key this report can compute, from the trial and its results (:class:`~ketapain_lib.report.results.Results`)."""
    values: dict[str, float] = dict(achieved_statistics(trial))
    published = published_results()

    # design, from the raw data
    infusions = trial.infusions
    values["design_patients_planned"] = float(len(trial.patients))
    # a period is the time followed after an infusion: the last diary day
    values["design_period_days"] = float(trial.diary["day"].max())
    active = infusions[infusions["ketamine_dose_mg"] > 0].merge(trial.patients[["patient_id", "weight_kg"]])
    values["design_ketamine_mg_per_kg"] = float((active["ketamine_dose_mg"] / active["weight_kg"]).median())
    values["design_magnesium_sulfate_mg"] = float(infusions["magnesium_sulfate_dose_mg"].max())
    values["design_alpha"] = ALPHA

    # planning: the inputs, the reduction they imply, and the sample size they give
    sample_size = results["sample_size"].set_index("method")
    for key in INPUT_KEYS:
        values[key] = float(published.at[key, "value"])
    values["samplesize_n"] = float(sample_size.at["normal approximation", "n_reproduced"])
    values["samplesize_difference"] = (published.at["samplesize_reduction_pct", "value"] / 100
                                       * published.at["samplesize_pilot_auc28_mean", "value"])
    values["samplesize_reduction_pct"] = (100 * published.at["samplesize_difference", "value"]
                                          / published.at["samplesize_pilot_auc28_mean", "value"])

    values["preinfusion_pain_p"] = float(results["preinfusion"]["omnibus_p"].item())

    primary = results["primary"]
    values["auc35_locf_omnibus_p"] = float(primary["summary"]["omnibus_p"].item())
    values["auc35_locf_icc"] = float(primary["summary"]["icc"].item())
    for _, row in primary["pairwise"].iterrows():
        stem = f"auc35_es_{PAIR_KEYS[row['comparison']]}"
        values[stem] = row["effect_size"]
        values[f"{stem}_lo"] = row["es_ci_low"]
        values[f"{stem}_hi"] = row["es_ci_high"]
        values[f"{stem}_p"] = row["p"]

    day7 = analyses.table2_row(results["auc_table"], DAY7)
    values["auc7_omnibus_p"] = float(day7["omnibus_p"])
    values["auc7_icc"] = float(day7["icc"])
    # the paper's post hoc P is Sidak-adjusted; with a non-significant omnibus test the raw P is shown
    # the paper's value follows a significant omnibus test, so it is Sidak-adjusted: compare like with like,
    # whatever the reproduced omnibus test gives
    values["auc7_ketamine_vs_placebo_p"] = float(sidak(day7["p: ketamine vs placebo"], len(PAIRS)))

    improvement = results["improvement"]
    primary_rule = improvement[improvement["rule"] == "baseline_30pct"].set_index("last_day")
    for last_day in FIGURE4_WINDOWS:
        values[f"improved_ketamine_day{last_day}_n"] = float(primary_rule.at[last_day, "improved_active"])
        values[f"improved_placebo_day{last_day}_n"] = float(primary_rule.at[last_day, "improved_placebo"])

    values["consecutive_p"] = float(results["consecutive"]["p"].item())
    questionnaires = results["questionnaires"].set_index("score")
    values["pgic_sleep_p"] = float(questionnaires.at["pgic_sleep", "omnibus_p"])
    values.update(_adverse_event_shares(trial, values))
    return values


def _adverse_event_shares(trial: Trial, counts: dict[str, float]) -> dict[str, float]:
    """The Safety section's percentages: of the counts already computed (related events, none), and of patients
    with any event by treatment (the abstract's figure)."""
    n = len(trial.patients)
    events = derive.with_treatment(trial.adverse_events, trial.infusions)
    values = {"ae_none_pct": 100.0 * counts["ae_none_n"] / n}
    for treatment in TREATMENTS:
        values[f"ae_related_{treatment}_pct"] = 100.0 * counts[f"ae_related_{treatment}_n"] / n
        values[f"abstract_ae_any_{treatment}_pct"] = 100.0 * events.loc[events["treatment"] == treatment,
                                                                        "patient_id"].nunique() / n
    return values


def _log_scale_keys(results: Mapping) -> set[str]:
    """Model-based keys whose fit was redone on the log scale (not comparable with the paper's raw scale)."""
    keys: set[str] = set()
    if results["primary"]["summary"]["transform"].item() != "none":
        keys |= {k for k in published_results().index
                 if k.startswith("auc35_es_") or k in ("auc35_locf_omnibus_p", "auc35_locf_icc")}
    day7 = analyses.table2_row(results["auc_table"], DAY7)
    if day7["transform"] != "none":
        keys |= {"auc7_omnibus_p", "auc7_icc", "auc7_ketamine_vs_placebo_p"}
    return keys


#: Published numbers whose computation depends on a coding the paper does not state, and what it leaves open.
UNKNOWN_CODINGS = {
    "improved_": "depends on the unknown definition of \"improved\": the paper does not say against what (the report "
                 "reads it as mean daily pain at least 30% below the pain before the infusion; the chapter shows "
                 "the other readings)",
    "abstract_ae_any_": "depends on the unknown meaning of the abstract's figure: it equals the share with a "
                        "treatment-related event (the row \"{related}\"), not the share with any event",
}


def reasons(trial: Trial, table: pd.DataFrame) -> list[str]:
    """Why each "differs" row of the ledger differs: a check of the audit that no dataset can pass
    (:mod:`ketapain_lib.paper.audit`), a number that the data's allocation of patients to sequences cannot
    give together with the published pairwise P values under the paper's model
    (:func:`ketapain_lib.synthetic.diary_search.unreachable`), or a coding the paper leaves unknown."""
    from ..paper.audit import audit_table
    from .diary_search import unreachable

    audit = audit_table()
    descriptions = published_results()["description"]
    failed = audit[audit["verdict"] == "inconsistent"]
    forced = unreachable(trial.randomization)
    out = []
    for key, status in zip(table["key"], table["status"]):
        if status != "differs":
            out.append("")
            continue
        found = []
        for check, keys in zip(failed["check"], failed["keys"]):
            keys = keys.split(",")
            if key in keys:
                others = [k for k in keys if k != key]
                # counted, not named: the audit chapter lists the numbers each check reads, in words
                cited = f"{fmt.count(len(others), 'other published number')}" if others else "itself"
                found.append(f"incompatible with {cited} (audit: {check})")
        if key in forced:
            # one decimal more than the paper prints, like the reproduced value beside it, so that a forced
            # 0.2724 is not read as disagreeing with a reproduced 0.2726 that both print as 0.27
            decimals = int(round(-np.log10(2 * published_precision(key)))) + 1
            found.append(f"the allocation of patients to sequences and the published pairwise P values force "
                         f"{forced[key]:.{decimals}f} under the paper's model (audit: model structure)")
        if key in RECOMPUTED_KEYS:
            found.append("recomputed from the paper's published planning inputs, not from the raw data: no dataset "
                         "changes it")
        for prefix, words in UNKNOWN_CODINGS.items():
            if key.startswith(prefix):
                treatment = key.removeprefix(prefix).removesuffix("_pct")
                related = f"ae_related_{treatment}_pct"
                found.append(words.format(related=descriptions.get(related, related)))
        out.append("; ".join(found))
    return out


def _text(value) -> str:
    return "" if pd.isna(value) else str(value)


def ledger(trial: Trial, results: Mapping) -> pd.DataFrame:
    """Published vs reproduced for every number of the published-results file, in its order.

    Columns: ``key``, ``section``, ``statistic``, ``published``,
    ``reproduced``, ``difference``, ``tolerance``, ``status``, ``compared``
    (what the report computes for it: statistic, direction, adjustment),
    ``reading`` (where the paper is ambiguous, the reading the report took,
    labelled "assumption" when it is the report's own), for a row that differs, ``reason``
    (:func:`reasons`), ``printed`` (:func:`printed_notes`), ``verdict`` (:func:`verdicts`) and, on synthetic
    data only, ``targeting``.
    """
    published = published_results()
    values = reproduced_values(trial, results)
    log_scale = _log_scale_keys(results)
    rows = []
    for key, row in published.iterrows():
        reproduced = values.get(key, float("nan"))
        tolerance = published_precision(key)
        difference = reproduced - float(row["value"])
        if key in INPUT_KEYS:
            status = "input"
        elif key in log_scale:
            status = "log scale"  # the report's model was refitted on log(y): a different quantity
        elif not np.isfinite(reproduced):
            status = "not computed"
        else:
            status = "match" if abs(difference) <= tolerance + 1e-9 else "differs"
        rows.append({"key": key, "section": row["section"], "statistic": row["description"],
                     "published": float(row["value"]), "reproduced": reproduced, "difference": difference,
                     "tolerance": tolerance, "status": status, "compared": _text(row["compared"]),
                     "reading": _text(row["reading"])})
    table = pd.DataFrame(rows)
    table["reason"] = reasons(trial, table)
    table["printed"] = printed_notes(table, results)
    targeted = classes(trial)
    if targeted is not None:  # synthetic data: say what made each number; a real export has no such field
        table.insert(table.columns.get_loc("status") + 1, "targeting", [targeted[k] for k in table["key"]])
    table.insert(table.columns.get_loc("status") + 1, "verdict", verdicts(table))
    if targeted is not None:
        table["reason"] = ["; ".join(part for part in (reason, note) if part)
                           for reason, note in zip(table["reason"], calibration_notes(table))]
    return table


#: What a reader is told for each status of a row (a targeted match is matched by construction).
VERDICTS = {"match": "reproduced", "differs": "differs", "input": "input", "log scale": "log scale",
            "not computed": "not computed"}
MATCHED_BY_CONSTRUCTION = "matched by construction"
SET_BY_GENERATOR = "set by the generator"
RECOMPUTED = "recomputed from inputs"


def verdicts(table: pd.DataFrame) -> list[str]:
    """The reader's word for each row: "reproduced" only for a match, from the raw data, that nothing aimed at.

    A generator setting is "set by the generator" (synthetic data), a match of a number recomputed from the
    paper's planning inputs (:data:`RECOMPUTED_KEYS`) is "recomputed from inputs", a targeted match is "matched
    by construction".
    """
    targeting = table["targeting"] if "targeting" in table else [NOT_TARGETED] * len(table)
    out = []
    for key, status, target in zip(table["key"], table["status"], targeting):
        if target == SETTING:
            out.append(SET_BY_GENERATOR)
        elif status == "match" and key in RECOMPUTED_KEYS:
            out.append(RECOMPUTED)
        elif status == "match" and target != NOT_TARGETED:
            out.append(MATCHED_BY_CONSTRUCTION)
        else:
            out.append(VERDICTS[status])
    return out


def calibration_notes(table: pd.DataFrame) -> list[str]:
    """For a calibration target that differs at the paper's printed precision, how it stands at the generator's
    own (wider) calibration tolerance, which the synthetic-data appendix applies: so that the two pages state
    which rule each applies."""
    from ..paper.published import calibration_targets

    tolerances = calibration_targets()["calibration_tolerance"]
    targeting = table["targeting"] if "targeting" in table else [""] * len(table)
    out = []
    for key, status, target, difference in zip(table["key"], table["status"], targeting, table["difference"]):
        if status != "differs" or target != CALIBRATION or key not in tolerances.index:
            out.append("")
            continue
        tolerance = float(tolerances[key])
        within = abs(difference) <= tolerance + 1e-9
        out.append(f"{'within' if within else 'outside'} the generator's calibration tolerance of "
                   f"{fmt.as_printed(tolerance)}, the looser rule of the synthetic-data appendix; the ledger "
                   "compares at the paper's printed precision")
    return out


#: The descriptive keys of the AUC tables and the Table 2 row that prints them: (prefix, measure, last day,
#: imputation). Table 2 prints a cell as median [IQR] when the values are skewed; the ledger compares the mean.
_TABLE2_CELLS = {"auc35_locf_": ("average_pain", 35, "locf"), "auc7_": ("average_pain", 7, "none")}


def printed_notes(table: pd.DataFrame, results: Mapping) -> list[str]:
    """For a mean or SD that the chapter's table prints as median [IQR], where the compared value is shown."""
    auc = results["auc_table"]
    out = []
    for key in table["key"]:
        note = ""
        for prefix, (measure, last_day, imputation) in _TABLE2_CELLS.items():
            stat, _, treatment = key.removeprefix(prefix).partition("_")
            if not key.startswith(prefix) or stat not in ("mean", "sd") or treatment not in TREATMENTS:
                continue
            row = auc[(auc["measure"] == measure) & (auc["last_day"] == last_day) & (auc["imputation"] == imputation)]
            cell = str(row[treatment].iloc[0]) if len(row) else ""
            if "[" in cell:
                note = (f"{AUC_TABLE_NUMBER} prints this treatment's values as median [IQR] ({cell}), "
                        f"because the Shapiro-Wilk test rejects their normality; the {stat_words(stat)} compared "
                        "here is printed in this row only")
        out.append(note)
    return out


def stat_words(stat: str) -> str:
    return {"mean": "mean", "sd": "SD"}[stat]
