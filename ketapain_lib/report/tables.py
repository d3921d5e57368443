"""Tables of the report, as DataFrames ready to display or export.

So far: the data dictionary (generated from :mod:`ketapain_lib.rawdata.schema`, so it
cannot drift from the contract the loader enforces) and the calibration
tables of the synthetic data.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .. import formatting as fmt
from ..rawdata.schema import SCORES, TABLES, Column


def _values(column: Column) -> str:
    if column.allowed:
        return ", ".join(column.allowed)
    if column.value_range:
        low, high = (int(v) if float(v).is_integer() else v for v in column.value_range)
        return f"{low} to {high}"
    return ""


def data_dictionary() -> pd.DataFrame:
    """One row per column of every raw-data file: type, unit, allowed values, whether it may be empty.

    >>> data_dictionary().query("file == 'diary.csv' and column == 'day'")["values"].item()
    '0 to 35'
    """
    rows = []
    for table in TABLES.values():
        for column in table.columns:
            rows.append({
                "file": table.filename,
                "column": column.name,
                "type": column.kind,
                "unit": column.unit,
                "values": _values(column),
                "may be empty": "yes" if column.nullable else "no",
                "key": "yes" if column.name in table.key else "",
                "description": column.description,
            })
    return pd.DataFrame(rows)


def file_dictionary() -> pd.DataFrame:
    """One row per raw-data file: what a row is and the columns that identify it."""
    return pd.DataFrame([{"file": t.filename, "one row per": t.description, "key": ", ".join(t.key),
                          "may have no rows": "yes" if t.may_be_empty else "no"} for t in TABLES.values()])


def score_dictionary() -> pd.DataFrame:
    """The questionnaire scores of ``questionnaires.csv``: instrument, valid range, visits."""
    return pd.DataFrame([{
        "score": s.name, "instrument": s.instrument,
        "range": f"{s.value_range[0]:g} to {s.value_range[1]:g}",
        "whole numbers": "yes" if s.integer else "no (decimals allowed)",
        "collected at": ", ".join(s.visits), "description": s.description,
    } for s in SCORES])


def assumptions_table() -> pd.DataFrame:
    """The generator's parameters that the paper does not publish, one row each, in words: a normal draw's mean
    and SD in their own columns (with the decimals a questionnaire score is rounded to), any other setting as its
    value; never a raw tuple such as ``(5.8, 1.5, 1)``.

    >>> row = assumptions_table().set_index("assumption").loc["Questionnaire at inclusion: BPI, pain severity (0-10)"]
    >>> row["mean"], row["sd"], row["rounded to (decimals)"], row["value"]
    ('5.8', '1.5', '1', '')
    """
    from ..synthetic.simulate import ASSUMPTIONS
    from ..rawdata.schema import SCORE_LABELS
    from .labels import ASSUMPTION_LABELS, VALUE_LABELS

    instruments = {score.name: score.instrument for score in SCORES}
    rows = []

    def row(label: str, value: str = "", mean: str = "", sd: str = "", decimals: str = "") -> None:
        rows.append({"assumption": label, "value": value, "mean": mean, "sd": sd, "rounded to (decimals)": decimals})

    def number(value) -> str:
        return fmt.cell(value, 0) if isinstance(value, int) else fmt.as_printed(value)

    for name, value in ASSUMPTIONS.items():
        label = ASSUMPTION_LABELS.get(name, name.replace("_", " "))
        if name == "questionnaires":
            for score, (mean, sd, decimals) in value.items():
                score_label = SCORE_LABELS.get(score, score.replace("_", " "))
                row(f"Questionnaire at inclusion: {instruments.get(score, '')}, {score_label[:1].lower()}"
                    f"{score_label[1:]}", mean=number(mean), sd=number(sd), decimals=str(decimals))
        elif isinstance(value, dict):  # by sex: the height of women and of men
            for sub, (mean, sd) in value.items():
                row(f"{label.replace(', mean and SD', '')}, {ASSUMPTION_LABELS.get(sub, sub)}", mean=number(mean),
                    sd=number(sd))
        elif name.endswith("mean_sd") or "_mean_sd_" in name:
            mean, sd = value
            row(label.replace(", mean and SD", ""), mean=number(mean), sd=number(sd))
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            for drug, drug_class, change, reason in value:
                row(label.split(" (")[0], f"{drug} ({VALUE_LABELS.get(drug_class, drug_class.replace('_', ' '))}), "
                    f"{change}, for {reason}")
        elif isinstance(value, tuple):
            row(label, ", ".join(number(v) for v in value))
        else:
            row(label, number(value))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the paper's tables

def table1(trial) -> pd.DataFrame:
    """Table 1: characteristics of the randomized patients at inclusion, grouped as a journal's Table 1.

    Continuous variables as mean ± SD or median [Q1; Q3] by the Shapiro-Wilk rule
    (:func:`ketapain_lib.stats.descriptives.describe`), except where the paper prints mean ± SD (DN4);
    categories as n (%) of the randomized patients. The summary is named in each row's label; the value
    column's header gives N.
    """
    from ..formatting import fixed
    from ..stats.descriptives import describe
    from ..rawdata.schema import AETIOLOGIES, DRUG_CLASSES

    patients = trial.patients
    n = len(patients)
    bmi = patients["weight_kg"] / (patients["height_cm"].astype(float) / 100) ** 2
    rows = [("Demographics", "Women, n (%)", fmt.n_percent(int((patients["sex"] == "female").sum()), n))]
    for group, label, values, decimals, paper_mean in (
            ("Demographics", "Age (years)", patients["age_years"], 0, False),
            ("Demographics", "Weight (kg)", patients["weight_kg"], 1, False),
            ("Demographics", "Height (cm)", patients["height_cm"], 0, False),
            ("Demographics", "Body mass index (kg/m²)", bmi, 1, False),
            ("Pain history", "Years with pain", patients["pain_duration_years"], 0, False),
            ("Pain history", "DN4 score (0-10)", patients["dn4_score"], 1, True)):
        summary = describe(values, decimals=decimals)
        if paper_mean:  # the paper's own summary for this row
            summary = {"summary": "mean ± SD",
                       "text": f"{fixed(summary['mean'], decimals)} ± {fixed(summary['sd'], decimals)}"}
        rows.append((group, f"{label}, {summary['summary']}", summary["text"]))
    for aetiology in AETIOLOGIES:
        count = int((patients["pain_aetiology"] == aetiology).sum())
        if count or aetiology != "other":
            rows.append(("Cause of the neuropathic pain", aetiology_label(aetiology), fmt.n_percent(count, n)))
    for drug in DRUG_CLASSES:
        takers = trial.baseline_drugs.loc[trial.baseline_drugs["drug_class"] == drug, "patient_id"].nunique()
        rows.append(("Drugs taken at inclusion", drug_label(drug), fmt.n_percent(takers, n)))
    return pd.DataFrame(rows, columns=["group", "characteristic", f"All patients (N = {n})"])


def aetiology_label(aetiology: str) -> str:
    """The row label of a cause of the pain in Table 1: ``After surgery, n (%)``."""
    label = (f"After {aetiology}" if aetiology in ("surgery", "trauma", "chemotherapy")
             else f"{aetiology.capitalize()}" if aetiology != "other" else "Other")
    return f"{label}, n (%)"


def drug_label(drug: str) -> str:
    """The row label of a drug class taken at inclusion in Table 1: ``Paracetamol or NSAID, n (%)``."""
    label = drug.replace("_", " or ").replace("nsaid", "NSAID").capitalize().replace("nsaid", "NSAID")
    return f"{label}, n (%)"


#: Table 1's rows that the paper summarizes in its text, by the start of their label: the published keys that
#: give the paper's value, and how it prints them (a median [Q1; Q3], a mean ± SD, a percentage).
def table1_published_keys() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Label start -> (form, keys) of Table 1's rows with a published value; ``form`` is "median", "mean" or "%"."""
    from ..rawdata.schema import AETIOLOGIES, DRUG_CLASSES

    keys = {"Years with pain": ("median", ("pain_years_median", "pain_years_q1", "pain_years_q3")),
            "DN4 score (0-10)": ("mean", ("dn4_mean", "dn4_sd"))}
    keys |= {aetiology_label(a): ("%", (f"aetiology_{a}_pct",)) for a in AETIOLOGIES}
    keys |= {drug_label(d): ("%", (f"drug_{d}_pct",)) for d in DRUG_CLASSES}
    return keys


def adverse_event_table(trial) -> pd.DataFrame:
    """Patients with an adverse event, by treatment, n (%) of those given it, in the layout of gtreg's ``tbl_ae``.

    An "Overall" group (any event, a treatment-related event, a serious event) heads one row per term, the
    terms by decreasing frequency across treatments; a patient counts once per row and treatment.
    """
    from ..stats.derive import with_treatment
    from ..rawdata.schema import AE_TERMS, RELATED_LEVELS, TREATMENT_LABELS, TREATMENTS

    events = with_treatment(trial.adverse_events, trial.infusions)
    given = trial.infusions.groupby(trial.infusions["treatment"].astype(str))["patient_id"].nunique()

    def row(group: str, label: str, subset: pd.DataFrame) -> dict[str, object]:
        patients = subset.groupby(subset["treatment"].astype(str))["patient_id"].nunique()
        return {"group": group, "event": label, **{TREATMENT_LABELS[t]: fmt.n_percent(int(patients.get(t, 0)),
                                                                                int(given.get(t, 0)))
                                                  for t in TREATMENTS}, "_total": int(patients.sum())}

    rows = [row("Overall", "Any adverse event", events),
            row("Overall", "Treatment-related event", events[events["relatedness"].isin(RELATED_LEVELS)]),
            row("Overall", "Serious adverse event", events[events["serious"] == "yes"])]
    terms = [row("By term", term.replace("_", " ").capitalize(), events[events["term"] == term])
             for term in AE_TERMS]
    terms = sorted((t for t in terms if t["_total"]), key=lambda t: (-t["_total"], t["event"]))
    return pd.DataFrame(rows + terms).drop(columns="_total")


def relatedness_table(trial) -> pd.DataFrame:
    """Adverse events (events, not patients) by relatedness to the study drug and treatment."""
    from ..stats.derive import with_treatment
    from ..rawdata.schema import RELATEDNESS, TREATMENT_LABELS, TREATMENTS

    events = with_treatment(trial.adverse_events, trial.infusions)
    table = pd.crosstab(events["relatedness"], events["treatment"]).reindex(index=list(RELATEDNESS),
                                                                           columns=list(TREATMENTS), fill_value=0)
    table.columns = [TREATMENT_LABELS[t] for t in table.columns]
    return table.rename_axis("relatedness").reset_index()


def table4(trial) -> pd.DataFrame:
    """Table 4: changes in concomitant treatment during the trial, with the treatment of the period."""
    from ..stats.derive import with_treatment
    from ..rawdata.schema import TREATMENT_LABELS

    changes = with_treatment(trial.concomitant_changes, trial.infusions)
    return pd.DataFrame({
        "patient": changes["patient_id"].astype(str), "period": changes["period"].astype(int),
        "treatment of the period": changes["treatment"].astype(str).map(TREATMENT_LABELS),
        "day": changes["day"].astype(int), "drug": changes["drug"].astype(str),
        "change": changes["change"].astype(str), "reason": changes["reason"].astype(str)})


def sequence_counts(trial) -> pd.DataFrame:
    """Patients randomized to each sequence of treatments (sequence as spelled in the randomization file)."""
    counts = trial.randomization["sequence"].astype(str).value_counts().sort_index()
    return pd.DataFrame({"sequence": counts.index, "patients": counts.to_numpy()})


def model_formulas() -> pd.DataFrame:
    """The fixed effects of each crossover model the report fits (:data:`ketapain_lib.stats.crossover.FORMULAS`)."""
    from ..stats.crossover import FORMULAS

    return pd.DataFrame({"model": list(FORMULAS),
                         "fixed effects": [f.format(treatment="treatment") for f in FORMULAS.values()]})


#: The results a reader wants first, as keys of the published-results file, in the order shown.
KEY_FINDINGS = (
    "auc35_locf_omnibus_p", "auc35_es_ketamine_vs_placebo", "auc35_es_placebo_vs_ketamine_magnesium",
    "auc35_es_ketamine_vs_ketamine_magnesium", "auc7_omnibus_p", "auc7_ketamine_vs_placebo_p",
    "ae_related_placebo_pct", "ae_related_ketamine_pct", "ae_related_ketamine_magnesium_pct",
)


def key_findings(ledger: pd.DataFrame) -> pd.DataFrame:
    """The trial's key results (:data:`KEY_FINDINGS`), published beside computed, from the ledger.

    An effect size carries its confidence interval in the same row (the ledger's ``_lo`` and ``_hi`` rows), and its
    result says when the interval differs even if the estimate does not, so the summary is no cleaner than the
    ledger. The column is "computed", not "reproduced": a value matched by construction reproduces nothing.
    """
    rows = ledger.set_index("key")
    out = []
    for key in KEY_FINDINGS:
        row = rows.loc[key]
        published = fmt.as_printed(row["published"])
        computed = fmt.beside_published(row["reproduced"], row["published"])
        result = row["verdict"]
        bounds = [f"{key}_lo", f"{key}_hi"]
        if all(bound in rows.index for bound in bounds):
            low, high = (rows.loc[bound] for bound in bounds)
            published += f" ({fmt.as_printed(low['published'])} to {fmt.as_printed(high['published'])})"
            computed += (f" ({fmt.beside_published(low['reproduced'], low['published'])} to "
                         f"{fmt.beside_published(high['reproduced'], high['published'])})")
            interval = {low["verdict"], high["verdict"]}
            if "differs" in interval:
                result = f"estimate {result}; interval differs"
            elif interval != {result}:
                result = f"estimate {result}; interval {', '.join(sorted(interval))}"
        out.append({"result": row["statistic"], "section": row["section"], "published": published,
                    "computed": computed, "status": result})
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- the build, not the trial

def environment_table():
    """Python and the report's direct requirements (``requirements.in``, each at the version the lock
    ``requirements.txt`` pins), with the versions installed in the running environment."""
    import platform
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    import pandas as pd

    requirements = Path(__file__).resolve().parents[2] / "requirements.in"
    rows = [{"package": "python", "pinned": "3.11", "installed": ".".join(platform.python_version_tuple()[:2])}]
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, pinned = line.split("==")
            try:
                installed = version(name)
            except PackageNotFoundError:
                installed = "not installed"
            rows.append({"package": name, "pinned": pinned, "installed": installed})
    return pd.DataFrame(rows)


#: Where the benchmark scripts record their measurements (``benchmarks/record.py``).
BENCHMARK_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results.csv"


def _benchmark_results() -> pd.DataFrame:
    """The benchmark table as recorded (text cells), or an empty one with its step and median columns."""
    if not BENCHMARK_RESULTS.is_file():
        return pd.DataFrame(columns=["step", "median_s"])
    return pd.read_csv(BENCHMARK_RESULTS, dtype=str, keep_default_na=False)


def benchmark_table():
    """The latest measurements of ``benchmarks/`` (``results.csv``): each step's median and range against its target.

    The file is written by the benchmark scripts on the machine that ran them (its core count is a column);
    the book shows it as recorded and measures nothing itself.
    """
    table = _benchmark_results()
    if table.empty:
        return pd.DataFrame({"note": ["no benchmark recorded yet: run the scripts of benchmarks/"]})
    met = [("yes" if float(m) <= float(t) else "no") if t else "" for m, t in zip(table["median_s"], table["target_s"])]
    return pd.DataFrame({"step": table["step"], "median (s)": table["median_s"],
                         "range (s)": table["min_s"] + "-" + table["max_s"], "runs": table["runs"],
                         "target (s)": table["target_s"], "target met": met, "cores": table["cores"]})


#: The benchmark steps whose growth with the trial's size the environment appendix states.
GROWTH_STEPS = {"growth_all": "every analysis of the report, one process", "growth_fit": "one fit of the primary model"}
#: A benchmark step measured at one trial size: "2,000 patients: one fit of the primary model".
SIZED_STEP = re.compile(r"^(\d[\d,]*) patients: (.+)$")


def benchmark_sizes(table: pd.DataFrame | None = None) -> list[int]:
    """The trial sizes (patients) the benchmarks measured the report's analyses at, smallest first."""
    table = _benchmark_results() if table is None else table
    sizes = {int(m.group(1).replace(",", "")) for m in map(SIZED_STEP.match, table["step"]) if m}
    return sorted(sizes)


def benchmark_growth() -> dict[str, str]:
    """How the analyses' time grows with the trial's size, between the two largest generated trials, in words.

    The sizes are those the benchmark table records (the shipped trial's :data:`~ketapain_lib.paper.
    audit_structure.N` patients, the others made by the generator). Values as text for the prose:
    ``bench_sizes`` (the generated trials' sizes), ``growth_from``, ``growth_to`` and ``growth_factor`` (their
    ratio), ``growth_all`` and ``growth_fit`` (the medians' ratios) and ``growth_reading``: a ratio of medians
    near the ratio of sizes is linear growth, below it the fixed costs (imports, per-model set-up) still weigh.
    "not measured" without the benchmark rows.
    """
    from ..paper.audit_structure import N

    table = _benchmark_results()
    medians = dict(zip(table["step"], table["median_s"]))
    generated = [size for size in benchmark_sizes(table) if size != N]
    values = {"bench_sizes": fmt.and_list([f"{size:,}" for size in generated]) or "no size"}
    small, large = (generated[-2:] if len(generated) >= 2 else (None, None))
    factor = large / small if small else None
    values.update(growth_from=f"{small:,}" if small else "not measured",
                  growth_to=f"{large:,}" if large else "not measured",
                  growth_factor=fmt.fixed(factor, 0) if factor else "not measured")
    ratios = []
    for key, step in GROWTH_STEPS.items():
        low, high = (medians.get(f"{size:,} patients: {step}") for size in (small, large)) if small else (None, None)
        ratio = float(high) / float(low) if low and high else None
        values[key] = fmt.fixed(ratio, 1) if ratio is not None else "not measured"
        ratios += [ratio] if ratio is not None else []
    values["growth_reading"] = ("at most linear" if ratios and max(ratios) <= 1.05 * factor else
                                "faster than linear" if ratios else "not measured")
    return values


