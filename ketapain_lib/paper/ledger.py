"""The reproducibility ledger: every number the paper reports, beside the number this report computes.

One row per key of the published-results file: ``published``, ``reproduced`` (:mod:`.reproduce`),
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

The reader's word for a row, ``verdict`` (:func:`verdicts`), is "reproduced" for a match and "recomputed from
inputs" for a number recomputed from the paper's planning inputs. A row that differs carries its ``reason``
(:func:`reasons`); a mean or SD that the chapter's table prints as median [IQR] says so (``printed``). This is
the ledger of a real export, where every row is a genuine check. On synthetic data the synthetic layer adds what
aimed at each row (:func:`ketapain_lib.synthetic.targeting.mark_ledger`), and a targeted match is "matched by
construction", never "reproduced".
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import formatting as fmt
from ..design import DAY7, PRIMARY, TREATMENTS
from ..rawdata.load import Trial
from ..stats import analyses
from .audit_structure import unreachable
from .published import (AUC_TABLE_NUMBER, published_decimals, published_precision, published_results,
                        within_tolerance)
from .reproduce import INPUT_KEYS, RECOMPUTED_KEYS, reproduced_values


def log_scale_keys(results: Mapping) -> set[str]:
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
    (:func:`~ketapain_lib.paper.audit_structure.unreachable`), or a coding the paper leaves unknown."""
    from .audit import audit_table

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
            # one decimal more than the paper prints, so that a forced 0.2724 is not read as disagreeing with a
            # reproduced 0.2726 that both print as 0.27
            decimals = published_decimals(key) + 1
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
    (:func:`reasons`), ``printed`` (:func:`printed_notes`) and ``verdict`` (:func:`verdicts`). On synthetic
    data, :func:`ketapain_lib.synthetic.targeting.mark_ledger` adds ``targeting``.
    """
    published = published_results()
    values = reproduced_values(trial, results)
    log_scale = log_scale_keys(results)
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
            status = "match" if within_tolerance(difference, tolerance) else "differs"
        rows.append({"key": key, "section": row["section"], "statistic": row["description"],
                     "published": float(row["value"]), "reproduced": reproduced, "difference": difference,
                     "tolerance": tolerance, "status": status, "compared": _text(row["compared"]),
                     "reading": _text(row["reading"])})
    table = pd.DataFrame(rows)
    table["reason"] = reasons(trial, table)
    table["printed"] = printed_notes(table, results)
    table.insert(table.columns.get_loc("status") + 1, "verdict", verdicts(table))
    return table


#: What a reader is told for each status of a row (on synthetic data, targeting.mark_ledger words targeted matches).
VERDICTS = {"match": "reproduced", "differs": "differs", "input": "input", "log scale": "log scale",
            "not computed": "not computed"}
RECOMPUTED = "recomputed from inputs"


def verdicts(table: pd.DataFrame) -> list[str]:
    """The reader's word for each row, from its status: "reproduced" for a match, "recomputed from inputs" for a
    match of a number recomputed from the paper's planning inputs (:data:`RECOMPUTED_KEYS`), which no dataset
    changes. On synthetic data, :func:`ketapain_lib.synthetic.targeting.mark_ledger` then words the rows that
    something aimed at."""
    return [RECOMPUTED if status == "match" and key in RECOMPUTED_KEYS else VERDICTS[status]
            for key, status in zip(table["key"], table["status"])]


#: The descriptive keys of the AUC tables and the endpoint of the Table 2 row that prints them. Table 2 prints a
#: cell as median [IQR] when the values are skewed; the ledger compares the mean.
_TABLE2_CELLS = {"auc35_locf_": PRIMARY, "auc7_": DAY7}
#: The words for a compared statistic.
_STAT_WORDS = {"mean": "mean", "sd": "SD"}


def printed_notes(table: pd.DataFrame, results: Mapping) -> list[str]:
    """For a mean or SD that the chapter's table prints as median [IQR], where the compared value is shown."""
    out = []
    for key in table["key"]:
        note = ""
        for prefix, endpoint in _TABLE2_CELLS.items():
            stat, _, treatment = key.removeprefix(prefix).partition("_")
            if not key.startswith(prefix) or stat not in _STAT_WORDS or treatment not in TREATMENTS:
                continue
            cell = str(analyses.table2_row(results["auc_table"], endpoint)[treatment])
            if "[" in cell:
                note = (f"{AUC_TABLE_NUMBER} prints this treatment's values as median [IQR] ({cell}), "
                        f"because the Shapiro-Wilk test rejects their normality; the {_STAT_WORDS[stat]} compared "
                        "here is printed in this row only")
        out.append(note)
    return out
