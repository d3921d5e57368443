"""Words for a set of tests: which are significant (with their post hoc comparisons), and where two analyses
of the same data disagree. Used by :mod:`ketapain_lib.report.prose` for Tables 2 and 3.
"""
from __future__ import annotations

from .. import formatting as fmt
from ..design import ALPHA


def disagreements(table):
    """Rows whose omnibus tests (Wald vs Kenward-Roger) lead to different conclusions at ALPHA."""
    return table[(table["omnibus_p"] < ALPHA) != (table["omnibus_p_kr"] < ALPHA)]


def omnibus_agreement(table) -> str:
    differ = disagreements(table)
    if differ.empty:
        return "lead to the same conclusion in every row"
    return (f"lead to different conclusions in {fmt.count(len(differ), 'row')}: "
            + "; ".join(table2_row_names(differ)))


def score_agreement(table) -> str:
    differ = disagreements(table)
    if differ.empty:
        return "agree on every score"
    return "disagree on " + ", ".join(differ["score"].str.replace("_", " "))


def significant_tests(table, names: list[str], what: str) -> str:
    """Every significant omnibus test of a table, named, with its Sidak post hoc comparisons, in words.

    ``names`` labels each row of ``table`` (which has ``omnibus_p`` and the ``p_sidak: <comparison>`` columns
    of :func:`ketapain_lib.stats.analyses.auc_table`); ``what`` names the rows ("scores").
    """
    significant = [(name, row) for name, (_, row) in zip(names, table.iterrows()) if row["omnibus_p"] < ALPHA]
    if not significant:
        return (f"the treatments differ significantly in none of the {len(table)} {what} (every omnibus P ≥ "
                f"{fmt.fixed(ALPHA, 2)})")
    parts = []
    for name, row in significant:
        post_hoc = ", ".join(f"{column.removeprefix('p_sidak: ').replace('_magnesium', '/magnesium')} P "
                             f"{fmt.p_equals(row[column])}" for column in table.columns if column.startswith("p_sidak: "))
        parts.append(f"{name} (omnibus P {fmt.p_equals(row['omnibus_p'])}; Sidak post hoc: {post_hoc})")
    return (f"the treatments differ significantly in {len(significant)} of the {len(table)} {what}: "
            + "; ".join(parts))


def table2_row_names(auc_table) -> list[str]:
    from ..design import IMPUTATION_LABELS, MEASURE_LABELS

    return [f"{MEASURE_LABELS[m].lower()} to day {d} ({IMPUTATION_LABELS[i]})"
            for m, d, i in zip(auc_table["measure"], auc_table["last_day"], auc_table["imputation"])]


def score_names(questionnaires) -> list[str]:
    from ..rawdata.schema import SCORE_LABELS

    return [f"{instrument} {SCORE_LABELS[score].split(' (')[0].lower()}"
            for instrument, score in zip(questionnaires["instrument"], questionnaires["score"])]


def ledger_counts(table) -> str:
    """The results of some ledger rows in words, by targeting class where the data have one: "3 reproduced,
    2 differ" or "5 numbers nothing aimed at: 3 reproduced, 2 differ; 4 calibration targets: 4 matched by
    construction"."""
    from ..paper.ledger import RECOMPUTED, VERDICTS
    from ..synthetic.targeting import CLASSES, MATCHED_BY_CONSTRUCTION

    def words(rows) -> str:
        counts = rows["verdict"].value_counts()
        # "set by the generator" restates its class ("generator setting"): it is not repeated
        order = (VERDICTS["match"], MATCHED_BY_CONSTRUCTION, RECOMPUTED,
                 *(words for status, words in VERDICTS.items() if status != "match"))
        return ", ".join(f"{int(counts[v])} {'differ' if v == 'differs' and counts[v] != 1 else v}"
                         for v in order if v in counts)

    if "targeting" not in table:
        return words(table)
    parts = []
    for cls in CLASSES:
        rows = table[table["targeting"] == cls]
        if len(rows):
            counted = words(rows)
            parts.append(f"{cls} {len(rows)}" + (f" ({counted})" if counted else ""))
    return "; ".join(parts)
