"""Publication tables: every table of the book as a journal prints one, made with great_tables.

A registry table (:data:`ketapain_lib.report.registry.OUTPUTS`) arrives as text, each cell already
formatted by :mod:`ketapain_lib.formatting` at its printed precision (P values as journals print them).
:func:`publication_table` lays it out:

* a title with the table's number and caption;
* column labels a reader understands (``P (omnibus, Wald)``, ``95% CI, lower``), each treatment's column
  with its N (the patients given that treatment);
* row groups where the first column repeats (the measure of Table 2, the file of the data dictionary);
* source notes: where the data come from, and the fitting notes of the table's models;
* a frame that scrolls sideways on a narrow screen instead of clipping the table;
* no program identifier: column names and every cell are put in words by :mod:`ketapain_lib.report.labels`
  (but for the columns a layout declares ``code``: the data contract's names, shown as code);
* numbers that never break across lines (each numeric cell is ``white-space: nowrap``);
* for the paper's tables and its primary result, a "Published" row under each row the paper prints a value of,
  holding the published value beside the reproduced one, on screen and in print.

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

from .. import formatting as fmt
from .labels import TREATMENT_LABELS, column_label, text as words

#: Tables at least this long are split into row groups when their first column repeats.
GROUP_MIN_ROWS = 8
#: A cell that is a number as printed (``0.042``, ``12 (60%)``, ``5 [3; 12]``, ``-0.3 to 0.6``, ``< 0.001``,
#: ``185 ± 100``): it never breaks across lines.
NUMERIC_CELL = re.compile(r"^(?:[<>≤≥=]\s?)?[-−+]?\d[\d.,]*%?(?:\s?(?:±|to|;|\(|\)|\[|\]|%|[-−+]?\d[\d.,]*%?|\s))*$")
#: The label of the row that gives the paper's values under the row it publishes (:func:`publication_table`).
PUBLISHED_ROW = "Published"
#: The column of row labels added to a table that has none, to hold the word "Published".
ROW_LABEL = " "
PUBLISHED_NOTE = ("Published: the value the paper prints for the cell above, where it prints one; the other cells "
                  "of a Published row are empty because the paper gives no value for them.")
NOT_PUBLISHED_NOTE = ("Published: the paper prints none of this table's values in its text (its table is not "
                      "available as text), so no published value stands beside them.")


#: A command a reader types (``python -m ketapain_lib watch``): kept as typed, in code type, inside a cell's words.
COMMAND = re.compile(r"python -m [\w.]+(?: [a-z]+)?")


def _words_but_commands(value: str) -> str:
    """:func:`ketapain_lib.report.labels.text` on a cell, but for the commands in it (:data:`COMMAND`)."""
    parts, end = [], 0
    for match in COMMAND.finditer(value):
        parts += [words(value[end:match.start()]), match.group(0)]
        end = match.end()
    return "".join(parts + [words(value[end:])])


#: A slash between two words ("ketamine/magnesium"): a line may break after it, as after a space (never
#: inside a word), so that a column of such names does not make a table wider than the page.
_SLASH = re.compile(r"(?<=[A-Za-z])/(?=[A-Za-z])")


def _slash_html(value: str) -> str:
    """A cell's text, escaped, with a break opportunity (``<wbr>``, no character) after each slash between words.

    >>> _slash_html("Ketamine/magnesium vs placebo & 0.5/1")
    'Ketamine/<wbr>magnesium vs placebo &amp; 0.5/1'
    """
    return _SLASH.sub("/<wbr>", html_text.escape(value))


def _command_html(value: str) -> str:
    """A cell's text, escaped, with its commands in ``<code>``.

    >>> _command_html("rebuild in the watch loop (python -m ketapain_lib watch) & more")
    'rebuild in the watch loop (<code>python -m ketapain_lib watch</code>) &amp; more'
    """
    parts, end = [], 0
    for match in COMMAND.finditer(value):
        parts += [html_text.escape(value[end:match.start()]), f"<code>{html_text.escape(match.group(0))}</code>"]
        end = match.end()
    return "".join(parts + [html_text.escape(value[end:])])


def _is_numeric(cell: str) -> bool:
    """Whether a cell holds only a number as printed (with its interval, percentage or relation).

    >>> [_is_numeric(c) for c in ("0.042", "12 (60%)", "5 [3; 12]", "-0.3 to 0.6", "< 0.001", "185 ± 100", "Day 7")]
    [True, True, True, True, True, True, False]
    """
    return bool(NUMERIC_CELL.match(cell.strip()))


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
    labels, or stands unmarked with no targets; ``code`` columns hold names a reader types or matches (the
    data contract's files and columns), shown as code and never put in words.
    """

    stub: str | None = None
    group: str | None = None
    spanners: tuple[tuple[str, tuple[str, ...]], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    footnotes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    code: tuple[str, ...] = ()


def with_published_rows(text: pd.DataFrame, published: dict[tuple[int, str], str], label_column: str,
                        group: str | None = None) -> tuple[pd.DataFrame, list[int]]:
    """``text`` with a "Published" row under every row the paper prints a value of (``published``: (row, column)
    -> the value as printed), and the positions of those rows. The published row repeats its row's group.

    >>> frame = pd.DataFrame({"arm": ["A", "B"], "mean": ["185.2", "196.0"]})
    >>> shown, rows = with_published_rows(frame, {(1, "mean"): "196"}, "arm")
    >>> shown.to_dict("list"), rows
    ({'arm': ['A', 'B', 'Published'], 'mean': ['185.2', '196.0', '196']}, [2])
    """
    rows, marked = [], []
    for position, row in enumerate(text.to_dict("records")):
        rows.append(row)
        cells = {column: value for (at, column), value in published.items() if at == position}
        if cells:
            marked.append(len(rows))
            rows.append({column: ("" if column not in (group, label_column) else row[column]) for column in text.columns}
                        | {label_column: PUBLISHED_ROW} | cells)
    return pd.DataFrame(rows, columns=text.columns), marked


def publication_table(name: str, number: str, caption: str, text: pd.DataFrame, treatment_n: dict[str, int],
                      notes: tuple[str, ...] = (), layout: Layout = Layout(),
                      published: dict[tuple[int, str], str] | None = None,
                      row_notes: tuple[tuple[str, tuple[int, ...]], ...] = ()) -> str:
    """The HTML of one table: ``text`` (every cell formatted) under its number and caption, with notes.

    ``notes`` are source notes (where the data come from, the models' fitting notes); ``layout`` adds a stub,
    row groups, spanners and footnotes. ``published`` ((row, column) -> the paper's value as printed) adds a
    "Published" row under each row the paper prints (an empty mapping: a note says the paper prints none of
    the table's values; None: the table is not the paper's). ``row_notes`` are footnotes marked on rows (by
    position in ``text``). Every identifier-shaped text is put in words (:func:`ketapain_lib.report.labels.text`),
    but in the ``layout.code`` columns (names a reader types or matches, shown as code); numbers never wrap.
    """
    from great_tables import GT, loc, style

    text, group, commands, positions, published_rows = _prepared_text(text, layout, published)
    table = GT(text, id=name, groupname_col=group, rowname_col=layout.stub)
    if caption:
        table = table.tab_header(title=fmt.unbroken(f"{number}. {words(caption)}" if number else words(caption)))
    labels = {column: column_label(str(column), treatment_n) for column in text.columns
              if column not in (group, layout.stub)}
    labels.update((column, label) for column, label in layout.labels if column in labels)
    labels = {column: fmt.unbroken(label) for column, label in labels.items()}  # "Ketamine (N = 20)" on one line
    table = table.cols_label(**labels) if labels else table
    spanners = [label for label, _ in layout.spanners]
    if layout.stub:  # a table with row labels: its value columns centred under their headers, as journals print
        table = table.cols_align("center", columns=list(labels))
    for label, columns in layout.spanners:
        table = table.tab_spanner(label, columns=list(columns), id=label)
    table = _footnotes(table, text, group, layout, row_notes, positions, spanners)
    table = _styled_cells(table, text, group, layout, published_rows, commands)
    for note in notes:
        table = table.tab_source_note(fmt.unbroken(words(note)))
    if published is not None:
        table = table.tab_source_note(PUBLISHED_NOTE if published else NOT_PUBLISHED_NOTE)
    table = table.opt_footnote_marks("letters").opt_horizontal_padding(scale=0.4)  # narrow cells fit the column
    table = table.tab_options(table_font_size="12px", heading_title_font_size="14px", heading_align="left",
                              table_width="100%", container_overflow_x="auto", data_row_padding="3px",
                              column_labels_font_weight="bold", row_group_font_weight="bold",
                              source_notes_font_size="12px", table_margin_left="0",
                              table_margin_right="0")
    return (f'<div class="ketapain-table" id="{html_text.escape(name)}-frame" style="overflow-x:auto;max-width:100%">'
            f"{pinned(table.as_raw_html())}</div>")


#: The cells of a table's caption, source notes and footnotes (each spans every column).
_SPANNING_CELL = re.compile(r'(<td\b[^>]*\bclass="[^"]*\b(?:gt_title|gt_sourcenote|gt_footnote)\b[^"]*"[^>]*>)(.*?)(</td>)',
                            re.DOTALL)


def pinned(table_html: str) -> str:
    """The caption, source notes and footnotes of a table's HTML each wrapped in ``span.ketapain-pinned``: on a
    narrow screen they stay in view, wrapped to the frame's width, while the table scrolls sideways under them
    (``ketapain.css``), instead of scrolling away with half the caption off-screen.

    >>> pinned('<td colspan="3" class="gt_heading gt_title" id="t-title">Table 9. A demo.</td>')
    '<td colspan="3" class="gt_heading gt_title" id="t-title"><span class="ketapain-pinned">Table 9. A demo.</span></td>'
    """
    return _SPANNING_CELL.sub(lambda m: f'{m.group(1)}<span class="ketapain-pinned">{m.group(2).strip()}</span>'
                              f"{m.group(3)}", table_html)


def _styled_cells(table, text: pd.DataFrame, group: str | None, layout: Layout, published_rows: list[int],
                  commands: list[str]):
    """Numbers on one line, the Published rows in italics, commands and code columns in code type."""
    from great_tables import loc, style

    for column in (c for c in text.columns if c not in (group, layout.stub, *layout.code)):
        numeric = [i for i, value in enumerate(text[column]) if _is_numeric(value)]
        if numeric:  # a number is one line: "0.425", never "0./42/5"
            table = table.tab_style(style.css("white-space:nowrap;"), locations=loc.body(columns=column, rows=numeric))
    if published_rows:
        table = table.tab_style([style.text(style="italic", color="#4a4a4a"), style.css("white-space:nowrap;")],
                                locations=loc.body(rows=published_rows))
        if layout.stub:
            table = table.tab_style(style.text(style="italic", color="#4a4a4a"), locations=loc.stub(rows=published_rows))
    for column in commands:  # a command a reader types, in a sentence: shown as code, as it is typed
        table = table.fmt(_command_html, columns=column)
    for column in (c for c in text.columns if c not in (group, layout.stub, *layout.code, *commands)):
        if any(_SLASH.search(value) for value in text[column]):  # "ketamine/magnesium" may wrap after its slash
            table = table.fmt(_slash_html, columns=column)
    for code in layout.code:
        if code in text.columns:
            table = table.fmt(_code_html, columns=code)
    return table


def _footnotes(table, text: pd.DataFrame, group: str | None, layout: Layout, row_notes, positions: list[int],
               spanners: list[str]):
    """The layout's footnotes on column and spanner labels, and the row notes on their rows' labels."""
    from great_tables import loc

    label_column = layout.stub or next((c for c in text.columns if c != group), None)
    for note, targets in layout.footnotes:
        # a target is a column, a spanner, or a row label (the stub's or the first column's text: "Day 15 (log)")
        columns = [target for target in targets if target in text.columns]
        rows = [i for i, value in enumerate(text[label_column]) if value in targets] if label_column else []
        locations = ([loc.column_labels(columns=columns)] if columns else []) + \
            ([loc.spanner_labels(ids=[t for t in targets if t in spanners])] if set(targets) & set(spanners) else []) + \
            ([loc.stub(rows=rows) if layout.stub else loc.body(columns=label_column, rows=rows)] if rows else [])
        table = table.tab_footnote(fmt.unbroken(words(note)), locations=locations or None)
    for note, rows in row_notes:
        if rows:
            where = loc.stub(rows=[positions[r] for r in rows]) if layout.stub else \
                loc.body(columns=[c for c in text.columns if c != group][0], rows=[positions[r] for r in rows])
            table = table.tab_footnote(fmt.unbroken(words(note)), locations=where)
    return table


def _code_html(value: str) -> str:
    """A name a reader types, in code type; a long one may break after an underscore, never inside a word
    (``<wbr>`` adds no character: the name copies as it is typed)."""
    return f"<code>{html_text.escape(value).replace('_', '_<wbr>')}</code>" if value else value


def _prepared_text(text: pd.DataFrame, layout: Layout, published: dict[tuple[int, str], str] | None):
    """The cells in words (codes and identifiers put in words, relations and ranges unbroken), the group column,
    the columns holding commands, the original rows' places and the Published rows added under them."""
    text = text.reset_index(drop=True).astype(str)
    group = _group_column(text) if layout.group is None else (layout.group or None)
    commands = [column for column in text.columns if column not in layout.code
                and any(COMMAND.search(value) for value in text[column])]
    for column in text.columns:
        if column not in layout.code:  # in words; "P = 0.03", "(0-10)" in a sentence never broken (numbers: nowrap)
            text[column] = [value if _is_numeric(value) else fmt.unbroken(_words_but_commands(value))
                            for value in text[column]]
    if group is not None and group not in layout.code:  # a code such as average_pain heads its rows as "Average
        text[group] = [value[:1].upper() + value[1:] for value in text[group]]  # pain"; a file name stays as on disk
    positions = list(range(len(text)))
    published_rows: list[int] = []
    if published:
        label_column = layout.stub or next(c for c in text.columns if c != group)
        if any(column == label_column for _, column in published):  # no column of row labels: one is added
            label_column = ROW_LABEL
            text.insert(0 if group is None else 1, ROW_LABEL, "")
        text, published_rows = with_published_rows(text, published, label_column, group)
        positions = [i for i in range(len(text)) if i not in published_rows]  # the original rows' new places
    return text, group, commands, positions, published_rows
