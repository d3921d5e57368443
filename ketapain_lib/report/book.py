"""Helpers for the book's pages: load once, say where the data come from, show registry outputs, glue values.

A chapter's code is a few calls::

    trial = book.load_trial()
    results = book.results(trial)
    book.glue_chapter(results, "03_primary_endpoint")
    book.output(results, "primary_pairwise")

Nothing here runs at import: no formatter is registered and no style is set.
"""
from __future__ import annotations

import base64
import html
from dataclasses import replace

from typing import TYPE_CHECKING

from .. import formatting as fmt
from ..rawdata import load
from ..rawdata.load import Trial, fingerprint
from . import cache, prose, registry, views
from .wording import ledger_counts
from .export import DOWNLOADS_FOLDER
from .publication import publication_table, treatment_counts
from .results import Results

if TYPE_CHECKING:
    from IPython.display import HTML, Markdown


def _html(text: str) -> HTML:
    from IPython.display import HTML  # when a page displays, not when the library is imported

    return HTML(text)


__all__ = ["load_trial", "provenance", "results", "output", "side_by_side", "glue_chapter", "glue_values", "show", "ledger_rows", "ledger_page"]

_RESULTS: dict[str, Results] = {}
_TRIALS: dict[tuple[str, str], Trial] = {}


def load_trial(directory=None) -> Trial:
    """:func:`ketapain_lib.rawdata.load.load_trial`, read and validated once per process and data content.

    A process that runs many pages (an interactive session, the export) gives each its own copy of the
    tables (a page cannot change another's data), keyed by the folder and its fingerprint (the bytes of its
    contract files), so edited data are read again.
    """
    source = load.data_dir(directory)
    key = (str(source.resolve()), fingerprint(source))
    if key not in _TRIALS:
        _TRIALS.clear()  # one dataset at a time: a long session switching folders keeps only the latest
        _TRIALS[key] = load.load_trial(directory)
    trial = _TRIALS[key]
    return replace(trial, **{name: getattr(trial, name).copy() for name in trial.__dataclass_fields__
                             if hasattr(getattr(trial, name), "copy") and name != "source"})


def provenance(trial: Trial) -> Markdown | None:
    """A short, visible statement of where the page's data come from, for a real export (None for synthetic data).

    The site-wide banner says "synthetic" on every page; a second box would repeat it, and be untrue on the
    pages (such as the data dictionary) that hold no data.
    """
    if trial.is_synthetic:
        return None
    # the folder's name only: its full path belongs to whoever built the book and may name a secure location
    text = (f"```{{note}}\nData: the raw export in the folder `{trial.source.name}` (SHA-256 fingerprint "
            f"`{fingerprint(trial.source)}`).\n```")
    from IPython.display import Markdown

    return Markdown(text)


def show(frame, precision: int | dict[str, int] = 2):
    """Display a DataFrame as an unnumbered publication table, every cell formatted by :mod:`ketapain_lib.formatting`.

    ``precision`` is the number of decimals of every numeric column, or a
    mapping by column; P-value columns print as journals print them.
    """
    text = fmt.frame_as_text(frame, precision)
    return _html(publication_table(f"table-{cache.value_hash(text)[:12]}", "", "", text, {}))


def results(trial: Trial) -> Results:
    """The report's results for ``trial`` (:class:`~ketapain_lib.report.results.Results`), one object per data."""
    probe = Results(trial)
    return _RESULTS.setdefault(probe.key, probe)


def output(results: Results, name: str) -> HTML:
    """Display one registry output (:data:`ketapain_lib.report.registry.OUTPUTS`) with its number and caption."""
    entry = registry.OUTPUTS[name]
    caption = f"<strong>{html.escape(entry.number)}.</strong> {html.escape(entry.caption)}"
    if entry.kind == "figure":
        # vector on the page: sharp at any zoom, on a phone and in the printed PDF
        svg = base64.b64encode(registry.figure_bytes(results, name, "svg")).decode("ascii")
        return _html(f'<figure class="ketapain-figure" id="{name}"><img src="data:image/svg+xml;base64,{svg}" style="max-width:100%;height:auto" '
                    f'alt="{html.escape(entry.alt)}"/><figcaption>{caption}</figcaption>'
                    f'{_downloads(entry.path + ".png", entry.path + ".svg")}</figure>')
    made = entry.make(results)
    shown = entry.view(made)
    text = fmt.frame_as_text(shown, entry.precision)
    notes = [*([_source_note(results.trial)] if entry.from_data else []), *_model_notes(made)]
    # a view may add footnotes that depend on the data (a score analysed on the log scale)
    layout = replace(entry.layout, footnotes=entry.layout.footnotes + tuple(shown.attrs.get("footnotes", ())))
    return _html(publication_table(name, entry.number, entry.caption, text, treatment_counts(results.trial.infusions),
                                  tuple(notes), layout, **registry.table_extras(results, name, shown))
                 + (_downloads(entry.path) if entry.exported else ""))


def side_by_side(results: Results, *names: str) -> HTML:
    """Display narrow registry tables next to each other (one under another on a narrow screen)."""
    cells = "".join(f'<div class="ketapain-side-by-side-cell">{output(results, name).data}</div>' for name in names)
    return _html(f'<div class="ketapain-side-by-side">{cells}</div>')


#: The chapters' path to the HTML build's copy of the export (written by ketapain_lib.report.sphinx_ext).
DOWNLOADS = f"../{DOWNLOADS_FOLDER}"


def _downloads(*paths: str) -> str:
    """Download links to the export's files of an output (CSV; PNG and SVG), for a chapter page."""
    links = " · ".join(f'<a class="ketapain-download" href="{DOWNLOADS}/{path}" download>{path.rsplit(".", 1)[1].upper()}</a>'
                       for path in paths)
    return f'<p class="ketapain-downloads">Download: {links}</p>'



def _source_note(trial: Trial) -> str:
    """The source line under a table of data. On synthetic data it claims no calibration for the table's cells: the
    simulation is calibrated only to the numbers of the calibration table, and every other value follows from its
    own assumptions (a table may say which of its cells are calibrated in its footnotes)."""
    if trial.is_synthetic:
        return (f"Source: synthetic data from a seeded simulation, not patients. The simulation is calibrated only "
                f"to the published numbers listed in {registry.OUTPUTS['calibration'].number} (Appendix B); any "
                f"other value here follows from its own assumptions ({registry.OUTPUTS['generator_assumptions'].number})"
                " and says nothing about the trial.")
    return f"Source: the raw export in the folder {trial.source.name}."


def _model_notes(made) -> list[str]:
    """The fitting notes of a table's models (singular fit, log refit, dropped terms), as one source note."""
    if "notes" not in getattr(made, "columns", ()):
        return []
    notes = sorted({note for text in made["notes"].dropna() for note in str(text).split("; ") if note})
    return ["Model notes: " + "; ".join(notes) + "."] if notes else []


def glue_chapter(results: Results, chapter: str) -> None:
    """Glue the values a chapter's prose states (:data:`ketapain_lib.report.prose.VALUES`) and the numbers of
    the report's tables and figures (:func:`references`)."""
    glue_values({**prose.VALUES[chapter](results), **references()})


def references() -> dict[str, str]:
    """The number of every registry output, glued as ``ref_<name>`` so that prose cites "Table E11" by name."""
    return {f"ref_{name}": entry.number for name, entry in registry.OUTPUTS.items()}


def glue_values(values: dict[str, str | int]) -> None:
    """Glue values for ``{glue:text}`` in prose, without displaying them.

    Each value is the text a reader sees (made by
    :mod:`ketapain_lib.formatting`, at the precision printed) or an
    exact integer: a float is refused, because its last bits would depend on
    the machine and the stored notebook would compare them.
    """
    from myst_nb import glue

    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"glue {name!r}: format it first (got {type(value).__name__} {value!r})")
        glue(name, value if isinstance(value, str) else int(value), display=False)


#: The ledger's note (its last column) keeps a readable width: on a phone the table scrolls in its frame
#: rather than squeezing the note to a few letters a line (a page hundreds of screens tall).
LEDGER_STYLE = ("<style>details.ketapain-ledger td:last-child, details.ketapain-ledger th:last-child "
                "{min-width: 18em;}</style>")


def _ledger_table(results: Results, table) -> str:
    shown = views.ledger_view(table).drop(columns="section")
    return LEDGER_STYLE + show(shown, {"computed": 3, "difference": 3}).data


def ledger_rows(results: Results, section: str | None = None):
    """The ledger (published beside computed) for one section of the paper, ready to display."""
    table = results["ledger"]
    if section is not None:
        table = table[table["section"] == section]
    table_html = _ledger_table(results, table)
    if section is None:
        return _html(table_html)
    # within a chapter, collapsed under a one-line count: the prose carries the result, the rows are for checking
    summary = (f"Published beside computed: {fmt.count(len(table), 'number')} of this section "
               f"({ledger_counts(table)})")
    return _html(f'<details class="ketapain-ledger"><summary>{html.escape(summary)}</summary>{table_html}</details>')


def ledger_page(results: Results):
    """The ledger appendix: the rows that differ first (open), then every row grouped by the chapter that
    states it, one collapsed group per chapter under its counts, then the numbered table as exported (collapsed).

    Plain HTML ``<details>``: it works offline and in any browser, and a reader opens only what they check.
    """
    from ..paper.conclusions import SECTION_CHAPTERS

    table = results["ledger"]
    chapters = [SECTION_CHAPTERS[section] for section in table["section"]]
    differ = table[table["verdict"] == "differs"]
    parts = [f'<details class="ketapain-ledger ketapain-ledger-differs" open><summary>'
             f'{html.escape(f"Only the rows that differ: {len(differ)} of {len(table)}")}</summary>'
             f'{_ledger_table(results, differ)}</details>']
    for chapter in sorted(set(chapters)):
        rows = table[[c == chapter for c in chapters]]
        title = CHAPTER_TITLES[chapter]
        summary = f"{title}: {fmt.count(len(rows), 'number')}; {ledger_counts(rows)}"
        parts.append(f'<details class="ketapain-ledger ketapain-ledger-chapter" id="ledger-{chapter}"><summary>'
                     f'{html.escape(summary)} <a href="{chapter}.html">(chapter)</a></summary>'
                     f'{_ledger_table(results, rows)}</details>')
    whole = output(results, "ledger").data
    parts.append(f'<details class="ketapain-ledger ketapain-ledger-whole"><summary>'
                 f'{html.escape("The whole ledger in one table, as exported")}</summary>{whole}</details>')
    return _html("".join(parts))


#: The title of each chapter that states published numbers, as its page heads it (a test compares them).
CHAPTER_TITLES = {"01_methods": "Methods", "02_population": "Population", "03_primary_endpoint": "Primary endpoint",
                  "04_secondary_endpoints": "Secondary endpoints", "05_safety": "Safety", "06_discussion": "Discussion"}
