"""Publication tables: every table of the book as a journal prints one, made with great_tables.

A registry table (:data:`ketapain_lib.report.registry.OUTPUTS`) arrives as text, each cell already
formatted by :mod:`ketapain_lib.formatting` at its printed precision (P values as journals print them).
:func:`publication_table` lays it out:

* a title with the table's number and caption;
* column labels a reader understands (``P (omnibus, Wald)``, ``95% CI, lower``), each treatment's column
  with its N (the patients given that treatment);
* row groups where the first column repeats (the measure of Table 2, the file of the data dictionary);
* source notes: where the data come from, and the fitting notes of the table's models;
* a frame that scrolls sideways on a narrow screen instead of clipping the table.

The HTML is deterministic: the table's id is its registry name, so the same results give the same page.

>>> import pandas as pd
>>> html = publication_table("demo", "Table 9", "A demonstration.", pd.DataFrame({"p": ["0.012"]}), {})
>>> "Table 9. A demonstration." in html and ">P<" in html
True
"""
from __future__ import annotations

import html as html_text
import re
from dataclasses import dataclass

import pandas as pd

from ..design import TREATMENT_LABELS

#: Labels of the columns that recur across tables; others are spelled from their names.
LABELS = {
    "p": "P", "p_sidak": "P (Šidák)", "omnibus_p": "P (omnibus, Wald)", "omnibus_p_kr": "P (omnibus, Kenward-Roger)",
    "p_wald": "P (Wald)", "p_kr": "P (Kenward-Roger)", "p_satterthwaite": "P (Satterthwaite)",
    "ci_low": "95% CI, lower", "ci_high": "95% CI, upper", "se": "SE", "sd": "SD", "n": "N", "icc": "ICC",
    "es_ci_low": "Effect size, 95% CI lower", "es_ci_high": "Effect size, 95% CI upper", "q1": "Q1", "q3": "Q3",
    "or_ci_low": "OR, 95% CI lower", "or_ci_high": "OR, 95% CI upper", "odds_ratio": "Odds ratio",
    "last_day": "Day", "shapiro_p": "P (Shapiro-Wilk)", "lr_chi2": "LR χ²", "df": "df", "t": "t", "z": "z",
    "F_kr": "F (Kenward-Roger)", "ndf": "Numerator df", "ddf_kr": "Denominator df (Kenward-Roger)",
    "ddf_satterthwaite": "Denominator df (Satterthwaite)", "tost_p": "P (equivalence, TOST)",
    "n_obs": "Observations", "n_patients": "Patients", "omnibus_chi2": "Omnibus χ²", "omnibus_df": "Omnibus df",
}
#: Tables at least this long are split into row groups when their first column repeats.
GROUP_MIN_ROWS = 8


def column_label(name: str, treatment_n: dict[str, int]) -> str:
    """The label of a column: a known one, a treatment with its N, or the name spelled out.

    >>> column_label("omnibus_p", {}), column_label("Placebo", {"Placebo": 20})
    ('P (omnibus, Wald)', 'Placebo (N = 20)')
    >>> column_label("p: ketamine_magnesium vs placebo", {})
    'P, ketamine/magnesium vs placebo'
    """
    if name in LABELS:
        return LABELS[name]
    if name in treatment_n:
        return f"{name} (N = {treatment_n[name]})"
    label = name.replace("ketamine_magnesium", "ketamine/magnesium")
    label = re.sub(r"^p: ", "P, ", label)
    label = re.sub(r"^(\w+): ", lambda m: m.group(1).replace("_", " ") + ", ", label)
    label = label.replace("_", " ")
    return label[:1].upper() + label[1:]


def treatment_counts(infusions: pd.DataFrame) -> dict[str, int]:
    """Patients given each treatment, by the treatment's label (the column names of the report's tables)."""
    counts = infusions.groupby(infusions["treatment"].astype(str))["patient_id"].nunique()
    return {TREATMENT_LABELS[code]: int(n) for code, n in counts.items() if code in TREATMENT_LABELS}


def _group_column(text: pd.DataFrame) -> str | None:
    """The first column, if it repeats in runs that split a long table into a few groups."""
    if len(text) < GROUP_MIN_ROWS or text.shape[1] < 3:
        return None
    first = text.iloc[:, 0]
    runs = (first != first.shift()).sum()
    return text.columns[0] if runs == first.nunique() and 1 < runs <= len(text) / 2 else None


@dataclass(frozen=True)
class Layout:
    """How a table is laid out beyond its columns, in the names of the displayed frame's columns.

    ``stub`` holds the row labels; ``group`` heads groups of rows (default: found by :func:`_group_column`;
    ``""`` for none); ``spanners`` put a label over adjacent columns; ``labels`` override column labels;
    ``footnotes`` are (text, targets) pairs: the text is marked a, b, c... on those columns' or spanners'
    labels, or stands unmarked with no targets.
    """

    stub: str | None = None
    group: str | None = None
    spanners: tuple[tuple[str, tuple[str, ...]], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    footnotes: tuple[tuple[str, tuple[str, ...]], ...] = ()


#: great_tables' own (get, set) cell functions for pandas, once :func:`_scalar_cell_access` has replaced them
_CELL_ACCESS: list[tuple] = []


def _scalar_cell_access() -> None:
    """Let great_tables read and write a pandas table's cells one at a time through ``DataFrame.iat``.

    great_tables 1.1 escapes every cell into its output table with ``DataFrame.iloc[row, column] = text``
    (``_tbl_data._set_cell``), about 0.2 ms a cell for its string columns: most of the time a table takes.
    ``iat`` stores the same value at the same position (unique column names, which every table here has)
    eight times faster. The two functions are registered for ``pandas.DataFrame`` on great_tables' own
    dispatchers; a test checks that every table of the book comes out the same, byte for byte, either way.
    """
    if _CELL_ACCESS:
        return
    try:
        from great_tables import _tbl_data
    except ImportError:  # pragma: no cover - another great_tables layout: its own access, only slower
        return
    if not hasattr(_tbl_data, "_set_cell") or not hasattr(_tbl_data, "_get_cell"):  # pragma: no cover
        return
    _CELL_ACCESS.append((_tbl_data._get_cell.dispatch(pd.DataFrame), _tbl_data._set_cell.dispatch(pd.DataFrame)))

    def get_cell(data: pd.DataFrame, row: int, column: str):
        return data.iat[row, _position(data, column)]

    def set_cell(data: pd.DataFrame, row: int, column: str, value) -> None:
        data.iat[row, _position(data, column)] = value

    _tbl_data._get_cell.register(pd.DataFrame, get_cell)
    _tbl_data._set_cell.register(pd.DataFrame, set_cell)


def _position(data: pd.DataFrame, column: str) -> int:
    position = data.columns.get_loc(column)
    if not isinstance(position, int):  # great_tables' own check: a repeated column name is not one cell
        raise ValueError(f"column {column!r} appears more than once")
    return position


def publication_table(name: str, number: str, caption: str, text: pd.DataFrame, treatment_n: dict[str, int],
                      notes: tuple[str, ...] = (), layout: Layout = Layout()) -> str:
    """The HTML of one table: ``text`` (every cell formatted) under its number and caption, with notes.

    ``notes`` are source notes (where the data come from, the models' fitting notes); ``layout`` adds a stub,
    row groups, spanners and footnotes.
    """
    from great_tables import GT, loc

    _scalar_cell_access()
    text = text.reset_index(drop=True).astype(str)
    group = _group_column(text) if layout.group is None else (layout.group or None)
    if group is not None:  # a code such as average_pain heads its rows as "Average pain"
        text[group] = [value.replace("_", " ").capitalize() if re.fullmatch(r"[a-z_]+", value)
                       else value[:1].upper() + value[1:] for value in text[group]]
    table = GT(text, id=name, groupname_col=group, rowname_col=layout.stub)
    if caption:
        table = table.tab_header(title=f"{number}. {caption}" if number else caption)
    labels = {column: column_label(str(column), treatment_n) for column in text.columns
              if column not in (group, layout.stub)}
    labels.update((column, label) for column, label in layout.labels if column in labels)
    table = table.cols_label(**labels) if labels else table
    spanners = [label for label, _ in layout.spanners]
    if layout.stub:  # a table with row labels: its value columns centred under their headers, as journals print
        table = table.cols_align("center", columns=list(labels))
    for label, columns in layout.spanners:
        table = table.tab_spanner(label, columns=list(columns), id=label)
    for note, targets in layout.footnotes:
        columns = [target for target in targets if target not in spanners]
        locations = ([loc.column_labels(columns=columns)] if columns else []) + \
            ([loc.spanner_labels(ids=[t for t in targets if t in spanners])] if len(columns) < len(targets) else [])
        table = table.tab_footnote(note, locations=locations or None)
    for note in notes:
        table = table.tab_source_note(note)
    table = table.opt_footnote_marks("letters").opt_horizontal_padding(scale=0.4)  # narrow cells fit the column
    table = table.tab_options(table_font_size="12px", heading_title_font_size="14px", heading_align="left",
                              table_width="100%", container_overflow_x="auto", data_row_padding="3px",
                              column_labels_font_weight="bold", row_group_font_weight="bold",
                              source_notes_font_size="12px", table_margin_left="0",
                              table_margin_right="0")
    return (f'<div class="ketapain-table" id="{html_text.escape(name)}-frame" style="overflow-x:auto;max-width:100%">'
            f"{table.as_raw_html()}</div>")
