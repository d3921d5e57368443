"""The CONSORT checklist for randomised crossover trials, item by item, with where this report addresses each.

The items are those of the CONSORT 2010 statement as its extension to randomised crossover trials (Dwan, Li,
Altman and Elbourne, BMJ 2019;366:l4378) asks them of a crossover trial, paraphrased (the extension's own
wording is in the article). They live in one data file beside this module
(``consort_crossover_checklist.csv``: item, section, topic, requirement, whether the crossover design adds to
the item, where, note). ``where`` is one or more targets separated by ``;``:

* ``output:NAME``, a table or figure of the registry (:data:`ketapain_lib.report.registry.OUTPUTS`): the link
  names its number and goes to its page, at the output;
* ``chapter:NAME`` or ``chapter:NAME#section``, a chapter (or one of its sections) of the book;
* ``intro``, the book's first page;

or one of the statuses of :data:`STATUSES`. A test follows every link of the built page.

>>> items = checklist_items()
>>> len(items), items["item"].iloc[0]
(37, '1a')
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

CHECKLIST = Path(__file__).with_name("consort_crossover_checklist.csv")
COLUMNS = ("item", "section", "topic", "requirement", "crossover", "where", "note")
#: What the page says of an item this report cannot point to, by the status written in the data file.
STATUSES = {"not reported": "Not reported in the paper",
            "not applicable": "Not applicable",
            "paper only": "In the paper; not restated in this report (the raw data do not record it)"}
CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"


@dataclass(frozen=True)
class Link:
    """Where the report addresses an item: the page's relative address (from a chapter page) and its text."""

    href: str
    text: str


def checklist_items(path: Path | None = None) -> pd.DataFrame:
    """The checklist's items, in order, checked: every column present, every ``where`` a known target or status.

    A problem raises one ValueError naming the file, the row (as a spreadsheet numbers it, header = 1) and the
    column.
    """
    path = Path(path) if path is not None else CHECKLIST
    items = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in items.columns]
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
    for row, record in enumerate(items.itertuples(index=False), start=2):
        if record.crossover not in ("yes", "no"):
            raise ValueError(f"{path.name}:{row}: crossover: {record.crossover!r} is not yes or no")
        for column in ("item", "topic", "requirement", "where"):
            if not getattr(record, column).strip():
                raise ValueError(f"{path.name}:{row}: {column}: empty")
        try:
            links(record.where)
        except (KeyError, ValueError) as problem:
            raise ValueError(f"{path.name}:{row}: where: {problem.args[0]}") from None
    if items["item"].duplicated().any():
        raise ValueError(f"{path.name}: item {items.loc[items['item'].duplicated(), 'item'].iloc[0]} is listed twice")
    return items


def links(where: str) -> list[Link]:
    """The links of one ``where`` cell (none for a status)."""
    if where in STATUSES:
        return []
    return [_link(target.strip()) for target in where.split(";")]


def _link(target: str) -> Link:
    from .registry import OUTPUTS

    kind, _, name = target.partition(":")
    if kind == "intro" and not name:
        return Link("../intro.html", "The book's first page")
    if kind == "output":
        if name not in OUTPUTS:
            raise KeyError(f"{name!r} is not an output of the registry")
        entry = OUTPUTS[name]
        return Link(f"{entry.chapter}.html#{name}", f"{entry.number} ({_title(entry.chapter)})")
    if kind == "chapter":
        chapter, _, section = name.partition("#")
        title = _title(chapter)
        if not section:
            return Link(f"{chapter}.html", title)
        return Link(f"{chapter}.html#{section}", f"{title}: {_section(chapter, section)}")
    raise ValueError(f"{target!r} is neither output:NAME, chapter:NAME[#section], intro, nor one of "
                     f"{', '.join(STATUSES)}")


def _headings(chapter: str) -> list[tuple[int, str]]:
    source = CHAPTERS / f"{chapter}.md"
    if not source.is_file():
        raise KeyError(f"{chapter!r} is not a chapter of the book")
    return [(len(m.group(1)), m.group(2).strip()) for m in
            re.finditer(r"^(#{1,3}) (.+)$", source.read_text(encoding="utf-8"), re.MULTILINE)]


def _title(chapter: str) -> str:
    return next(text for level, text in _headings(chapter) if level == 1)


def _section(chapter: str, anchor: str) -> str:
    """The heading of ``chapter`` whose anchor (as Sphinx makes it) is ``anchor``."""
    from docutils.nodes import make_id

    for level, text in _headings(chapter):
        if level > 1 and make_id(text) == anchor:
            return text
    raise KeyError(f"{chapter!r} has no section whose anchor is {anchor!r}")


def summary(items: pd.DataFrame | None = None) -> dict[str, int]:
    """How many items this report points to, and how many have each status (:data:`STATUSES`)."""
    items = checklist_items() if items is None else items
    counts = {"items": len(items), "addressed": int((~items["where"].isin(list(STATUSES))).sum()),
              "crossover": int((items["crossover"] == "yes").sum())}
    counts.update({status: int((items["where"] == status).sum()) for status in STATUSES})
    return counts


def checklist_html(items: pd.DataFrame | None = None) -> str:
    """The checklist as the page shows it: a sentence of counts and one table row per item, linked."""
    items = checklist_items() if items is None else items
    counts = summary(items)
    sentence = (f"Of the checklist's {counts['items']} items, this report points to where it addresses "
                f"{counts['addressed']}; {counts['paper only']} are in the paper only, "
                f"{counts['not reported']} are not reported in the paper and {counts['not applicable']} "
                f"{'is' if counts['not applicable'] == 1 else 'are'} not applicable. "
                f"For {counts['crossover']} items the crossover design asks for more than a parallel trial "
                "does (marked ×).")
    rows = []
    section = None
    for record in items.itertuples(index=False):
        if record.section != section:
            section = record.section
            rows.append(f'<tr class="ketapain-checklist-section"><th colspan="4" scope="colgroup">'
                        f"{html.escape(section)}</th></tr>")
        found = links(record.where)
        where = "<br/>".join(f'<a class="reference internal ketapain-checklist-link" href="{html.escape(link.href)}">'
                             f"{html.escape(link.text)}</a>" for link in found) or \
            f'<span class="ketapain-checklist-status">{html.escape(STATUSES[record.where])}</span>'
        if record.note:
            where += f'<br/><span class="ketapain-checklist-note">{html.escape(record.note)}.</span>'
        mark = ' <span title="the crossover design adds to this item">×</span>' if record.crossover == "yes" else ""
        rows.append(f'<tr><th scope="row" class="gt_stub">{html.escape(record.item)}{mark}</th>'
                    f"<td>{html.escape(record.topic)}</td><td>{html.escape(record.requirement)}</td>"
                    f"<td>{where}</td></tr>")
    table = ('<table class="ketapain-checklist"><caption>CONSORT 2010 checklist as extended to randomised '
             "crossover trials (Dwan et al., BMJ 2019), paraphrased, with where this report addresses each "
             "item.</caption><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Topic</th>"
             '<th scope="col">What the report of a crossover trial gives</th><th scope="col">Where</th></tr>'
             f"</thead><tbody>{''.join(rows)}</tbody></table>")
    return (f'<p class="ketapain-checklist-summary">{html.escape(sentence)}</p>'
            f'<div class="ketapain-table" id="consort_checklist-frame">{table}</div>')


def checklist():
    """Display the checklist on a page (:func:`checklist_html`)."""
    from IPython.display import HTML

    return HTML(checklist_html())
