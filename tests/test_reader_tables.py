"""What a reader sees in the tables (issue 24: A5, A6, B3, B4), on the built book in Chromium, and the pieces below it.

* A5: the paper's values stand in a "Published" row under the rows of its tables (Tables 1-4, Supplementary Tables
  1-3) and of the primary result, on screen and in print;
* A6: on synthetic data Table 1 marks the rows the generator invents apart from those it calibrates (no mark on a
  real export);
* B3: no program identifier (snake_case name, module path, model formula) in the visible text of any page;
* B4: at 1366 px every numeric cell holds one line; degrees of freedom and counts print at their own precision.

The review of the merged work (notes/review.md) added: formulas and raw tuples in words (21); no CDN script or
Thebe configuration in any page (38); prose numbers ("P = 0.273"), headers ("Ketamine (N = 20)") and ranges
("(0-21)") on one line (28); Table 2's log-scale note marked on its rows (25); "Ketamine/magnesium" as everywhere
in Table E17 (26); the data dictionary's file names as on disk (24); the bibliography's acronyms and the two
Stata manuals told apart, the data fingerprint called what it is (39).
"""
from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_book import CHAPTERS, DESKTOP, ROOT, built, chromium  # noqa: E402,F401 - the shared build and browser

from ketapain_lib import formatting as fmt  # noqa: E402
from ketapain_lib.report import labels, publication, registry, views  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from browser import Browser  # noqa: E402

SHOTS = ROOT / "_build" / "screenshots"
#: The paper's tables and the primary result: each must show the paper's values beside the report's.
PAPER_TABLES = [name for name, entry in registry.OUTPUTS.items() if entry.published is not None]

#: Identifier-shaped tokens: a snake_case name, a module path or constant (``design.RESPONSE_THRESHOLD``,
#: ``ketapain_lib.report``), a patsy term or formula (``C(period)``, ``y ~ treatment``).
IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b"
                        r"|\b(?:design|stats|report|paper|synthetic|rawdata|formatting|ketapain_lib|pd|np)\.[A-Za-z_]\w*"
                        r"|\bC\(\s*\w+|\bTreatment\(|\w\s+~\s+\w"
                        # a formula or a model's term as the statistics modules write it (review, finding 21)
                        r"|\b(?:sqrt|log|exp)\(\s*\w|\b[a-z]+ \(omnibus\)"
                        # a raw Python tuple of numbers: "(5.8, 1.5, 1)"
                        r"|\(-?\d[\d.]*(?:, -?\d[\d.]*){2,}\)")

#: The text of a page a reader reads: every text node but those of code (names a reader types or matches: the
#: data contract's columns, a command, an environment variable), scripts, styles and mathematics.
VISIBLE_TEXT = """(() => {
  const skip = 'code, pre, kbd, samp, script, style, noscript, template, .math, mjx-container, .MathJax';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (element && !element.closest(skip)) parts.push(walker.currentNode.textContent);
  }
  return parts.join(' ');
})()"""

#: Every numeric cell of every publication table, with the number of lines its text takes on the screen.
NUMERIC_LINES = r"""(() => {
  const NUMBER = new RegExp(%s);
  const cells = [];
  for (const cell of document.querySelectorAll('div.ketapain-table td')) {
    const text = cell.textContent.trim();
    if (!NUMBER.test(text)) continue;
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = [...range.getClientRects()].filter(r => r.width > 0).map(r => r.top).sort((a, b) => a - b);
    let lines = tops.length ? 1 : 0;
    for (let i = 1; i < tops.length; i++) if (tops[i] - tops[i - 1] > 4) lines++;
    cells.push({table: cell.closest('div.ketapain-table').id, text: text, lines: lines});
  }
  return cells;
})()""" % repr(publication.NUMERIC_CELL.pattern.replace("\\s", "\\s"))

#: Every number with its relation or range in the text a reader reads (prose, headers, captions, notes), across
#: the pieces of a sentence ("P " then a glued "= 0.273"), with the lines it takes on the screen: "P = 0.273",
#: "(N = 20)", "P < 0.001", "(0-10)", "35–38". Code and mathematics are not read.
ONE_LINE = r"""(() => {
  const RELATION = /[A-Za-z\u03c7\u00b2][ \u00a0\u2060]*[=<>\u2264\u2265][ \u00a0\u2060]*[-\u2212]?\d[\d.,]*%?|\(?\d+(?:[.,]\d+)?[-\u2011\u2013\u2060]+\d+(?:[.,]\d+)?\)?/g;
  const skip = 'code, pre, kbd, samp, script, style, .math, mjx-container, .MathJax';
  const found = [];
  for (const block of document.querySelectorAll('article p, article li, article td, article th, article figcaption, article dt, article dd, .bd-header-announcement')) {
    if (block.closest(skip) || block.querySelector('p, li, td, th')) continue;
    if (!block.getClientRects().length) continue;
    const nodes = []; let text = '';
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.parentElement.closest(skip)) continue;
      nodes.push([node, text.length]); text += node.data;
    }
    let m;
    while ((m = RELATION.exec(text))) {
      const at = offset => { let k = nodes.length - 1; while (k > 0 && nodes[k][1] > offset) k--;
                             return [nodes[k][0], Math.min(offset - nodes[k][1], nodes[k][0].data.length)]; };
      const range = document.createRange();
      range.setStart(...at(m.index)); range.setEnd(...at(m.index + m[0].length));
      const tops = [...range.getClientRects()].filter(r => r.width > 0).map(r => r.top).sort((a, b) => a - b);
      let lines = tops.length ? 1 : 0;
      for (let i = 1; i < tops.length; i++) if (tops[i] - tops[i - 1] > 4) lines++;
      found.push({text: m[0], lines, where: block.tagName.toLowerCase()});
    }
  }
  return found;
})()"""

#: Each table's "Published" rows (their cells' text) and whether a reader sees them (laid out, not collapsed).
PUBLISHED_ROWS = """(() => {
  const tables = {};
  for (const frame of document.querySelectorAll('div.ketapain-table')) {
    const rows = [...frame.querySelectorAll('tbody tr')].filter(row => {
      const first = row.querySelector('th.gt_stub, td');
      return first && first.textContent.trim() === 'Published';
    });
    tables[frame.id.replace(/-frame$/, '')] = {
      rows: rows.map(row => [...row.querySelectorAll('th, td')].map(c => c.textContent.trim())),
      seen: rows.every(row => row.getBoundingClientRect().height > 0 && !row.closest('details:not([open])')),
      notes: frame.querySelector('tfoot') ? frame.querySelector('tfoot').textContent : ''};
  }
  return tables;
})()"""

#: Table 1's row labels, each with its footnote marks.
TABLE1_MARKS = """(() => [...document.querySelectorAll('#table1_characteristics tbody th.gt_stub')].map(stub => ({
  label: stub.firstChild ? stub.firstChild.textContent.trim() : '',
  marks: [...stub.querySelectorAll('.gt_footnote_marks')].map(m => m.textContent.trim())})))()"""


@pytest.fixture(scope="module")
def shipped_trial():
    from ketapain_lib.report import book

    return book.load_trial()


@pytest.fixture(scope="module")
def shipped_results(shipped_trial):
    from ketapain_lib.report import book

    return book.results(shipped_trial)


@pytest.fixture(scope="module")
def reader(built, chromium) -> dict:
    """Every chapter at 1366 px: its visible text, its numeric cells' lines and its Published rows, and the
    primary chapter in print; screenshots of what each check looks at."""
    _, html, _ = built
    seen: dict = {"text": {}, "numbers": {}, "published": {}}
    with Browser(chromium) as browser:
        for page in sorted(html.rglob("*.html")):  # every page a reader opens, the chapters' and the others
            if "_static" in page.parts or page.name in ("genindex.html", "search.html", "index.html"):
                continue  # the theme's generated index and search pages, and the redirect to the first page
            name = page.relative_to(html).with_suffix("").as_posix()
            if not name.startswith("chapters/"):
                browser.open(page.as_uri(), width=DESKTOP)
                seen["text"][name] = browser.evaluate(VISIBLE_TEXT)
                seen.setdefault("lines", {})[name] = browser.evaluate(ONE_LINE)
                seen.setdefault("html", {})[name] = page.read_text(encoding="utf-8")
        for chapter in CHAPTERS:
            browser.open((html / "chapters" / f"{chapter}.html").as_uri(), width=DESKTOP)
            seen["text"][chapter] = browser.evaluate(VISIBLE_TEXT)
            seen.setdefault("lines", {})[chapter] = browser.evaluate(ONE_LINE)
            seen.setdefault("html", {})[chapter] = (html / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
            seen["numbers"][chapter] = browser.evaluate(NUMERIC_LINES)
            seen["published"][chapter] = browser.evaluate(PUBLISHED_ROWS)
            if chapter == "02_population":
                seen["table1_marks"] = browser.evaluate(TABLE1_MARKS)
                browser.screenshot(SHOTS / "a6_table1_marks_1366px.png", selector="#table1_characteristics-frame")
            if chapter == "03_primary_endpoint":
                browser.screenshot(SHOTS / "a5_primary_published_1366px.png", selector="#primary_pairwise-frame")
                browser.screenshot(SHOTS / "a6_figure_footer_1366px.png", selector="#figure2_daily_pain")
            if chapter == "04_secondary_endpoints":
                browser.screenshot(SHOTS / "a5_b4_table2_published_1366px.png", selector="#table2_auc-frame")
            if chapter == "01_methods":
                browser.screenshot(SHOTS / "b3_methods_tables_1366px.png", selector="#model_formulas-frame")
        browser.open((html / "chapters" / "03_primary_endpoint.html").as_uri(), width=DESKTOP)
        browser.command("Emulation.setEmulatedMedia", media="print")
        seen["print"] = browser.evaluate(PUBLISHED_ROWS)
        browser.screenshot(SHOTS / "a5_primary_published_print.png", selector="#primary_pairwise-frame")
        browser.command("Emulation.setEmulatedMedia", media="")
    return seen


# --------------------------------------------------------------------------- B3: no identifier on any page

@pytest.mark.slow
def test_no_program_identifier_in_the_visible_text_of_any_page(reader):
    found = {chapter: sorted({m.group(0) for m in IDENTIFIER.finditer(text)})
             for chapter, text in reader["text"].items()}
    assert {chapter: tokens for chapter, tokens in found.items() if tokens} == {}
    assert all(len(text) > 500 for text in reader["text"].values()), "a page's text was not read"
    assert set(CHAPTERS) | {"intro", "references"} <= set(reader["text"])


def test_the_identifier_pattern_finds_what_the_review_found():
    """The scan can fail: each identifier the review saw on a page is caught, and plain prose is not."""
    for token in ("ketamine_magnesium", "baseline_30pct", "design.RESPONSE_THRESHOLD", "auc35_es_ketamine_vs_placebo",
                  "treatment + C(period) + C(sequence)", "y ~ treatment", "ketapain_lib.report",
                  "sqrt(2 x residual variance)", "refitted on the log(y) scale", "treatment (omnibus)",
                  "bpi severity (5.8, 1.5, 1)"):
        assert IDENTIFIER.search(token), token
    for prose in ("Ketamine/magnesium vs placebo", "P (Welch)", "Effect size (total SD), 95% CI lower",
                  "30% below the pain before the infusion", "e.g. the day-7 AUC", "12 (60%)",
                  "Treatment, omnibus test", "Anxiety (0-21)", "Ketamine (N = 20)", "sequences (3, 4)"):
        assert not IDENTIFIER.search(prose), prose


def test_labels_put_every_identifier_of_a_table_in_words():
    """Column names, values and notes of the report's frames come out without an identifier."""
    for name in ("es_total_sd_ci_low", "p_welch", "n_first", "sd_implied_by_published_n", "p: ketamine_magnesium vs "
                 "placebo", "ci width: ketamine vs ketamine_magnesium"):
        assert not IDENTIFIER.search(labels.column_label(name, {})), name
    for value in ("ketamine_magnesium", "ketamine vs ketamine_magnesium", "baseline_30pct", "versus_placebo",
                  "no_carryover", "female_share", "the threshold is the report's (design.RESPONSE_THRESHOLD)",
                  "incompatible with samplesize_difference, samplesize_pilot_auc28_sd"):
        assert not IDENTIFIER.search(labels.text(value)), value
    assert labels.text("incompatible with samplesize_pilot_auc28_sd").startswith("incompatible with ")
    from ketapain_lib.stats.crossover import FORMULAS

    for formula in FORMULAS.values():
        assert not IDENTIFIER.search(labels.formula(formula.format(treatment="treatment"))), formula


def test_a_table_keeps_the_names_of_its_code_columns_and_puts_the_others_in_words():
    text = pd.DataFrame({"column": ["patient_id"], "values": ["ketamine_magnesium"]})
    html = publication.publication_table("demo", "Table 9", "A demo.", text, {},
                                         layout=publication.Layout(code=("column",)))
    assert "<code>patient_<wbr>id</code>" in html and ">Ketamine/<wbr>magnesium<" in html and "ketamine_magnesium" not in html


# --------------------------------------------------------------------------- B4: one line per number, own precision

@pytest.mark.slow
def test_every_numeric_cell_holds_one_line_at_desktop_width(reader):
    cells = [cell | {"chapter": chapter} for chapter, found in reader["numbers"].items() for cell in found]
    assert len(cells) > 1000, "the numeric cells were not found"
    assert {cell["table"] for cell in cells} >= {"table2_auc-frame", "primary_small_sample-frame"}
    assert [cell for cell in cells if cell["lines"] != 1] == []


def test_numeric_cells_are_marked_not_to_wrap_and_text_cells_are_not():
    text = pd.DataFrame({"label": ["Day 7"], "p": ["0.425"], "se": ["9.4"], "ci": ["-0.3 to 0.6"],
                         "note": ["a long note that may wrap"]})
    html = publication.publication_table("demo", "", "", text, {})
    nowrap = re.findall(r"<td style=\"white-space:nowrap;\" headers=\"demo-(\w+)\"", html)
    assert nowrap == ["p", "se", "ci"]


def test_degrees_of_freedom_print_decimals_only_when_not_whole_and_counts_are_integers():
    frame = pd.DataFrame({"ndf": [2.0], "ddf_kr": [35.0], "ddf_satterthwaite": [33.4712], "n": [20.0],
                          "n_periods": [24.0], "estimate": [1.23456]})
    shown = fmt.frame_as_text(frame, {"estimate": 1}).iloc[0].to_dict()
    assert shown == {"ndf": "2", "ddf_kr": "35", "ddf_satterthwaite": "33.5", "n": "20", "n_periods": "24",
                     "estimate": "1.2"}


@pytest.mark.slow
def test_the_primary_contrasts_print_estimates_at_one_decimal_and_effect_sizes_at_two(shipped_results):
    entry = registry.OUTPUTS["primary_pairwise"]
    text = fmt.frame_as_text(entry.view(entry.make(shipped_results)), entry.precision)
    assert all(re.fullmatch(r"-?\d+\.\d", value) for value in text["estimate"])
    assert all(re.fullmatch(r"-?\d+\.\d\d", value) for value in text["effect_size"])


# --------------------------------------------------------------------------- A5: published beside reproduced

@pytest.mark.slow
def test_the_papers_tables_show_the_published_values_beside_the_reproduced_on_screen(reader, shipped_results):
    """Each paper table's page shows a Published row holding every value the paper prints for it (as the
    published-results file gives it); a table whose values the paper's text does not print says so."""
    chapters = {name: registry.OUTPUTS[name].chapter for name in PAPER_TABLES}
    for name in PAPER_TABLES:
        entry = registry.OUTPUTS[name]
        expected = entry.published(entry.view(entry.make(shipped_results)))
        shown = reader["published"][chapters[name]][name]
        if not expected:
            assert shown["rows"] == [] and "prints none of this table" in shown["notes"], name
            continue
        assert shown["seen"], f"{name}: the Published rows are not visible"
        assert len(shown["rows"]) == len({row for row, _ in expected}), name
        in_rows = [cell for row in shown["rows"] for cell in row]
        assert [value for value in expected.values() if value not in in_rows] == [], name
    # the primary result, Tables 1-3 and the pain before the infusions have values; Table 4 and the supplement none
    with_values = {name for name in PAPER_TABLES if reader["published"][chapters[name]][name]["rows"]}
    assert {"table1_characteristics", "table2_auc", "table3_questionnaires", "primary_pairwise",
            "primary_descriptives", "primary_model"} <= with_values


@pytest.mark.slow
def test_the_published_values_print(reader):
    printed = reader["print"]
    for name in ("primary_descriptives", "primary_pairwise", "primary_model", "primary_small_sample"):
        assert printed[name]["rows"] and printed[name]["seen"], name


def test_published_rows_sit_under_their_row_and_repeat_its_group():
    text = pd.DataFrame({"group": ["A", "A"], "label": ["Day 7", "Day 35"], "p": ["0.048", "0.296"]})
    shown, rows = publication.with_published_rows(text, {(1, "p"): "0.296"}, "label", "group")
    assert rows == [2] and shown.iloc[2].tolist() == ["A", "Published", "0.296"]


@pytest.mark.slow
def test_published_cells_come_from_the_published_results_file(shipped_results):
    """Table 2's day-35 row gets the paper's mean ± SD of each treatment: the file's values, as printed."""
    from ketapain_lib.design import TREATMENT_LABELS, TREATMENTS
    from ketapain_lib.paper.published import published_value

    entry = registry.OUTPUTS["table2_auc"]
    shown = entry.view(entry.make(shipped_results))
    cells = views.table2_published(shown)
    for treatment in TREATMENTS:
        expected = (f"{fmt.as_printed(published_value(f'auc35_locf_mean_{treatment}'))} ± "
                    f"{fmt.as_printed(published_value(f'auc35_locf_sd_{treatment}'))}")
        assert expected in [value for (_, column), value in cells.items() if column == TREATMENT_LABELS[treatment]]


# --------------------------------------------------------------------------- A6: what the generator invents

@pytest.mark.slow
def test_table1_marks_the_invented_rows_apart_from_the_calibrated_ones(reader):
    marks = {row["label"]: row["marks"] for row in reader["table1_marks"] if row["label"] != "Published"}
    invented = [label for label, found in marks.items() if found == ["a"]]
    calibrated = [label for label, found in marks.items() if found == ["b"]]
    assert [label.split(" (")[0].split(",")[0] for label in invented] == ["Women", "Age", "Weight", "Height",
                                                                         "Body mass index"]
    assert len(calibrated) == len(marks) - len(invented) and calibrated


def test_a_real_export_gets_no_synthetic_mark(shipped_trial):
    """The same Table 1 from a real export (the synthetic flag off) has no row marked; from synthetic data it has."""
    entry = registry.OUTPUTS["table1_characteristics"]
    synthetic = SimpleNamespace(trial=shipped_trial)
    real = SimpleNamespace(trial=replace(shipped_trial, is_synthetic=False))
    shown = entry.view(entry.make(synthetic))
    assert "row_notes" not in registry.table_extras(real, "table1_characteristics", shown)
    notes = dict(registry.table_extras(synthetic, "table1_characteristics", shown)["row_notes"])
    assert all(notes.values()) and len(notes) == 2


@pytest.mark.slow
def test_the_books_figures_carry_the_synthetic_footer_as_the_exported_ones_do(built):
    """The pages show the export's drawing (one rendering): each figure of the shipped book has the footer."""
    import base64

    _, html, _ = built
    sources = [match for chapter in CHAPTERS for match in re.findall(
        r'<figure class="ketapain-figure" id="(\w+)"><img src="data:image/svg\+xml;base64,([^"]+)"',
        (html / "chapters" / f"{chapter}.html").read_text(encoding="utf-8"))]
    assert len(sources) == sum(entry.kind == "figure" for entry in registry.OUTPUTS.values())
    assert [name for name, data in sources if registry.FOOTER_ID not in base64.b64decode(data).decode("utf-8")] == []


# --------------------------------------------------------------------------- the review's findings (notes/review.md)

@pytest.mark.slow
def test_numbers_in_prose_headers_and_notes_hold_one_line_at_desktop_width(reader):
    """28: "P = 0.273" in a sentence (the "P " of the chapter and the glued "= 0.273"), "Ketamine (N = 20)" in a
    header, "(0-21)" in a row label never split across lines at 1366 px (390 px: tests/test_reader_look.py)."""
    found = [item | {"page": page} for page, items in reader["lines"].items() for item in items]
    texts = {item["text"].replace("\u00a0", " ").replace("\u2060", "") for item in found}
    assert len(found) > 150, "the numbers of the prose were not found"
    assert {"where": "th"} in [{"where": item["where"]} for item in found if re.match(r"N\W+=", item["text"])]
    assert any(re.fullmatch(r"P\s*=\s*0\.\d{3}", text) for text in texts)
    assert any(re.fullmatch(r"\(0\W+(?:10|21)\)", text) for text in texts)
    assert [item for item in found if item["lines"] != 1] == []


def test_relations_and_ranges_are_made_unbreakable_where_they_are_laid_out():
    """28: the one rule (formatting.unbroken) and where it applies: column labels, cells, captions and notes."""
    assert fmt.unbroken("omnibus P = 0.273") == "omnibus P\u00a0=\u00a00.273"
    assert fmt.unbroken("Anxiety (0-21)") == "Anxiety (0\u201121)"
    assert labels.column_label("Ketamine", {"Ketamine": 20}) == "Ketamine (N\u00a0=\u00a020)"
    assert fmt.unbroken_after("omnibus P ", "= 0.273") == ("omnibus P\u00a0", "=\u00a00.273")
    text = pd.DataFrame({"label": ["Anxiety (0-21)"], "Ketamine": ["4.0"]})
    html = publication.publication_table("demo", "Table 9", "Tested at P = 0.05.", text, {"Ketamine": 20},
                                         notes=("Model notes: residuals not normal (Shapiro-Wilk P = 0.045).",))
    for shown in ("Anxiety (0\u201121)", "Ketamine (N\u00a0=\u00a020)", "Tested at P\u00a0=\u00a00.05.",
                  "Shapiro-Wilk P\u00a0=\u00a00.045"):
        assert shown in html, shown


@pytest.mark.slow
def test_no_page_names_a_cdn_or_any_remote_script_or_stylesheet(reader):
    """38: Thebe is off: no page holds "unpkg", Thebe's configuration, or a script/stylesheet from http(s)."""
    assert len(reader["html"]) >= len(CHAPTERS) + 2
    for page, text in reader["html"].items():
        assert "unpkg" not in text and "THEBE_JS_URL" not in text and "x-thebe-config" not in text, page
        remote = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(https?://[^"]+)"', text)
        assert [url for url in remote if not url.startswith("https://github.com")] == [], (page, remote)


def test_formulas_terms_and_tuples_are_put_in_words():
    """21: Table E4's scales, the omnibus term, the log refit note and Table A5's tuples reach a page in words."""
    for value in ("SD of a within-patient difference, sqrt(2 x residual variance) (the report's)",
                  "total SD, sqrt(between- + within-patient variance)", "treatment (omnibus)",
                  "refitted on the log(y) scale", "refitted on the log(y + 1) scale"):
        assert IDENTIFIER.search(value), value  # the scan would catch it
        assert not IDENTIFIER.search(labels.text(value)), labels.text(value)
    from ketapain_lib.report import tables

    assumptions = tables.assumptions_table()
    assert list(assumptions.columns) == ["assumption", "value", "mean", "sd", "rounded to (decimals)"]
    for column in assumptions.columns:
        assert not any(IDENTIFIER.search(labels.text(value)) for value in assumptions[column]), column
        assert not any(value.startswith("(") for value in assumptions[column]), column
    severity = assumptions.set_index("assumption").loc["Questionnaire at inclusion: BPI, pain severity (0-10)"]
    from ketapain_lib.synthetic.assumptions import ASSUMPTIONS

    mean, sd, decimals = ASSUMPTIONS["questionnaires"]["bpi_severity"]
    assert (severity["mean"], severity["sd"], severity["rounded to (decimals)"]) == (
        fmt.as_printed(mean), fmt.as_printed(sd), str(decimals))


@pytest.mark.slow
def test_table2_marks_its_log_scale_note_on_the_rows_analysed_on_the_log_scale(reader):
    """25: the log-scale footnote has a mark, and every "(log)" row carries it; the note is said once."""
    page = reader["html"]["04_secondary_endpoints"]
    frame = re.search(r'<div class="ketapain-table" id="table2_auc-frame".*?</table>', page, re.DOTALL).group(0)
    marks = dict(re.findall(r'<span class="gt_footnote_marks"[^>]*>(\w+)</span>\s*(Analysed on the log scale)',
                            frame))
    assert len(marks) == 1, "the log-scale note has no mark"
    mark = next(iter(marks))
    logged = re.findall(r'<th[^>]*class="gt_row gt_left gt_stub"[^>]*>([^<]*\(log\))(.*?)</th>', frame, re.DOTALL)
    assert logged and all(f">{mark}<" in rest for _, rest in logged), logged
    assert "log(y)" not in frame and frame.count("Analysed on the log scale") == 1


def test_table_e17_writes_ketamine_magnesium_as_the_book_does():
    """26: the odds-ratio table's comparisons, whatever the model's spelling of the term."""
    frame = pd.DataFrame({"term": ["Intercept", "ketamine vs placebo", "ketamine magnesium vs placebo",
                                   "ketamine_magnesium"], "odds_ratio": [1.0, 2.0, 3.0, 3.0],
                          "or_ci_low": [0.5] * 4, "or_ci_high": [5.0] * 4, "p": [0.5] * 4})
    assert list(views.odds_ratio_view(frame)["comparison"]) == ["Ketamine vs placebo",
                                                                 "Ketamine/magnesium vs placebo", "Ketamine/magnesium"]


@pytest.mark.slow
def test_the_data_dictionary_heads_each_file_with_its_name_as_on_disk(reader):
    """24: the group headers are the file names exactly (lower case, in code type), those of the schema."""
    from ketapain_lib.rawdata.schema import TABLES

    page = reader["html"]["a1_data_dictionary"]
    frame = re.search(r'id="data_dictionary-frame".*?</table>', page, re.DOTALL).group(0)
    headers = [header.replace("<wbr>", "") for header in re.findall(r'<th class="gt_group_heading"[^>]*>(.*?)</th>', frame)]
    assert headers == [f"<code>{table.filename}</code>" for table in TABLES.values()]


def test_references_protect_acronyms_and_tell_the_two_stata_manuals_apart():
    """39: BibTeX keeps GRIM, GRIMMER, SPRITE in capitals; the Stata manuals cite as 2013a and 2013b."""
    from ketapain_lib.report import sphinx_ext

    for key, acronym in (("brown2017grim", "{GRIM}"), ("anaya2016grimmer", "{GRIMMER}"),
                         ("heathers2018sprite", "({SPRITE})")):
        assert acronym in sphinx_ext.bibtex_entry(key), key
    years = {key: re.search(r"year\s*=\s*\{(\w+)\}", sphinx_ext.bibtex_entry(key)).group(1)
             for key in ("stata13me", "stata13r")}
    assert len(set(years.values())) == 2 and {year[:4] for year in years.values()} == {"2013"}


@pytest.mark.slow
def test_the_bibliography_and_the_summary_say_what_they_show(reader):
    """39: the references page prints the acronyms in capitals and two distinct Stata citations; the Summary calls
    the data's fingerprint the beginning of a SHA-256, not a SHA-256."""
    references = reader["text"]["references"]
    for acronym in ("GRIM", "GRIMMER", "SPRITE"):
        assert re.search(rf"\b{acronym}\b", references), acronym
    methods = reader["text"]["01_methods"]
    assert "StataCorp, 2013a" in methods and "StataCorp, 2013b" in methods
    assert re.search(r"SHA-256 fingerprint that begins with the hex digits\s+[0-9a-f]{8,}", reader["text"]["00_summary"])
