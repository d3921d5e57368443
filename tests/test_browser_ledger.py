"""What a reader sees of the honest comparison, in the built book and in Chromium: targeting counts, the list of
disagreements with the paper's conclusions, computed claims, and a ledger grouped by chapter."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from shared_book import real_export_book, simulated_book  # noqa: E402
from test_book import DESKTOP, PHONE, ROOT, built, chromium  # noqa: E402,F401  (fixtures)

from ketapain_lib.synthetic import targeting# noqa: E402

pytestmark = pytest.mark.slow  # builds the book and drives a browser

sys.path.insert(0, str(ROOT / "scripts"))
from browser import Browser  # noqa: E402

SHOTS = ROOT / "_build" / "screenshots"
#: What the reader sees of a page: its visible text, the ledger's groups and the height of the page.
READ = """(() => {
  const text = e => e ? e.innerText.replace(/\\s+/g, ' ').trim() : '';
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  return {
    text: text(article),
    height: document.documentElement.scrollHeight,
    groups: Array.from(document.querySelectorAll('details.ketapain-ledger-chapter')).map(d => ({
      summary: text(d.querySelector('summary')), open: d.open,
      rows: d.querySelectorAll('tbody tr').length})),
    differs: Array.from(document.querySelectorAll('details.ketapain-ledger-differs')).map(d => ({
      open: d.open, rows: Array.from(d.querySelectorAll('tbody tr')).map(text)})),
  };
})()"""


def visible(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')


@pytest.fixture(scope="module")
def pages(built, chromium):
    _, html, _ = built
    seen = {}
    with Browser(chromium) as browser:
        for chapter in ("00_summary", "01_methods", "04_secondary_endpoints", "06_discussion", "a3_ledger"):
            for width in (DESKTOP, PHONE):
                browser.open((html / "chapters" / f"{chapter}.html").as_uri(), width=width)
                seen[(chapter, width)] = browser.evaluate(READ)
                browser.screenshot(SHOTS / f"honest_{chapter}_{width}px.png", selector="article.bd-article")
    return seen


def test_summary_headline_says_what_the_comparison_shows_on_synthetic_data(pages, built):
    text = visible(pages[("00_summary", DESKTOP)]["text"])
    assert "computes every one of the paper's" not in text  # some are recomputed from published inputs
    assert "from the paper's published planning inputs" in text and "settings of the generator" in text
    assert "matched by construction" in text and "nothing aimed at" in text
    assert not re.search(r"\d+ of the \d+ compared numbers are reproduced", text)
    assert "verified against R" in text
    page = (built[1] / "chapters" / "00_summary.html").read_text(encoding="utf-8")
    assert 'href="01_methods.html#verification-against-r"' in page


def test_every_disagreement_with_the_papers_conclusions_is_listed_where_it_occurs(pages):
    for chapter in ("00_summary", "04_secondary_endpoints", "06_discussion"):
        text = visible(pages[(chapter, DESKTOP)]["text"])
        assert "HADS depression: the paper reports no difference" in text, chapter
        assert "ketamine/magnesium worse than placebo" in text, chapter
        assert "Kenward-Roger P = 0.023" in text, chapter
        # on synthetic data the disagreement says what it is evidence of
        assert "drawn from the simulation's own assumption (Table A5, Appendix B)" in text, chapter
        assert "not evidence about the trial" in text, chapter


def test_positive_findings_are_counted_and_day7_carries_its_caveat(pages):
    for chapter in ("00_summary", "04_secondary_endpoints", "06_discussion"):
        text = visible(pages[(chapter, DESKTOP)]["text"])
        assert "only positive finding" not in text, chapter
        assert "2 positive findings: pain over the first week and PGIC sleep" in text, chapter
        assert "(s)" not in text, chapter
        assert "Kenward-Roger P = 0.084" in text and "(LOCF) P = 0.063" in text, chapter


def test_methods_counts_the_models_its_table_lists(pages):
    from ketapain_lib.stats.crossover import FORMULAS

    text = visible(pages[("01_methods", DESKTOP)]["text"])
    assert f"the {len(FORMULAS)} model formulas the report fits" in text
    assert "three models" not in text


def test_discussion_no_longer_calls_the_missing_data_analysis_not_reproduced(pages):
    text = visible(pages[("06_discussion", DESKTOP)]["text"])
    assert "not reproduced here" not in text
    assert "approaches to missing diary days" in text


def test_the_ledger_page_is_grouped_by_chapter_with_counts_per_class_and_the_rows_that_differ(pages):
    page = pages[("a3_ledger", DESKTOP)]
    groups = page["groups"]
    assert [g["summary"].split(":")[0] for g in groups] == ["Methods", "Population", "Primary endpoint",
                                                           "Secondary endpoints", "Safety", "Discussion"]
    assert not any(g["open"] for g in groups)
    for group in groups:
        assert re.search(r": \d+ numbers?; ", group["summary"]), group["summary"]
        assert any(cls in group["summary"] for cls in targeting.CLASSES), group["summary"]
    assert sum(g["rows"] for g in groups) == 114
    differs, = page["differs"]
    assert differs["open"] and len(differs["rows"]) == 16
    assert all(" differs " in row for row in differs["rows"])
    # grouped and collapsed, the page is a screen or two, not 49,000 px
    assert page["height"] < 5_000 and pages[("a3_ledger", PHONE)]["height"] < 15_000
    text = visible(page["text"])
    assert "reproduced" in text and "matched by construction" in text


def test_the_ledger_shows_the_matched_mean_of_a_cell_the_chapter_prints_as_median(built):
    page = (built[1] / "chapters" / "a3_ledger.html").read_text(encoding="utf-8")
    assert "prints this treatment&#x27;s values as median [IQR]" in page or \
        "prints this treatment's values as median [IQR]" in page


def test_a_simulated_dataset_with_dropouts_builds_and_its_ledger_has_no_reconstruction_target(tmp_path_factory,
                                                                                               chromium):
    out, data = simulated_book(tmp_path_factory)  # built with -W: no warning
    html = out / "_build" / "html" / "chapters"
    with Browser(chromium) as browser:
        browser.open((html / "a3_ledger.html").as_uri(), width=DESKTOP)
        page = browser.evaluate(READ)
        browser.screenshot(SHOTS / "honest_a3_ledger_simulated_dropouts.png", selector="article.bd-article")
    text = visible(page["text"])
    assert targeting.RECONSTRUCTION not in text
    assert targeting.CALIBRATION in text and targeting.NOT_TARGETED in text
    # nothing was written into the data folder: it holds, byte for byte, what the generator writes
    from shared_book import write_simulated

    fresh = tmp_path_factory.mktemp("regenerated")
    write_simulated(fresh / "data")
    assert {p.name: p.read_bytes() for p in data.iterdir()} == {p.name: p.read_bytes() for p in (fresh / "data").iterdir()}


def test_a_real_export_builds_with_plain_reproduced_or_differs_and_no_targeting(tmp_path_factory, chromium):
    out, _, _ = real_export_book(tmp_path_factory)  # the shipped data as a real export, with a drop-out; -W
    html = out / "_build" / "html" / "chapters"
    with Browser(chromium) as browser:
        texts = {}
        for chapter in ("00_summary", "06_discussion", "a3_ledger"):
            browser.open((html / f"{chapter}.html").as_uri(), width=DESKTOP)
            texts[chapter] = visible(browser.evaluate(READ)["text"])
        browser.screenshot(SHOTS / "honest_a3_ledger_real_export.png", selector="article.bd-article")
    for chapter, text in texts.items():
        assert "matched by construction" not in text and "Targeting" not in text, chapter
        assert not any(cls in text for cls in targeting.CLASSES), chapter
    assert re.search(r"\d+ of the \d+ compared numbers are reproduced at the paper's printed precision and \d+ "
                     r"differ", texts["00_summary"])
    assert "reproduced" in texts["a3_ledger"] and "differs" in texts["a3_ledger"]


def page_text(path: Path) -> str:
    """A built page's text without its markup (tags dropped, not replaced, so a glued value keeps its comma)."""
    import html

    page = re.sub(r"<(style|script)\b.*?</\1>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return visible(html.unescape(re.sub(r"<[^>]+>", "", page)))


def test_what_the_review_found_is_fixed_where_a_reader_looks(pages, built):
    """Review findings 2-11, 15-17, 19, 20, 23 as a reader sees them: no unfilled plural, no "Reproduced" column,
    no source line claiming calibration, the paper's numbers beside the report's where they differ."""
    texts = {chapter: visible(pages[(chapter, DESKTOP)]["text"]) for chapter in
             ("00_summary", "01_methods", "04_secondary_endpoints", "06_discussion", "a3_ledger")}
    for chapter, text in texts.items():
        assert "(s)" not in text, chapter
        assert "calibrated to the published summaries)" not in text, chapter
    assert "Computed" in texts["00_summary"] and "Reproduced" not in texts["00_summary"]
    assert "interval differs" in texts["00_summary"]
    assert "generator setting" in texts["01_methods"] and "recomputed from inputs" in texts["01_methods"]
    assert not re.search(r"\d+ reproduced", texts["01_methods"])  # no design fact, no recomputed number
    secondary = texts["04_secondary_endpoints"]
    assert "378 ± 212 against 343 ± 151" in secondary and "0.883 published, 0.636 here" in secondary
    assert "the paper counts 10 improved with an active infusion against 4 with placebo" in secondary
    assert re.search(r"PGIC sleep: ketamine/magnesium (better|worse) than placebo", secondary)
    assert "not available to this report" in secondary and "not public" not in secondary
    assert "calibrated only to the published numbers listed in Table A4" in secondary
    assert "show nothing about how well the blind held" in texts["06_discussion"]
    ledger = texts["a3_ledger"]
    assert "within the generator's calibration tolerance of 25" in ledger
    html = built[1]
    primary = page_text(html / "chapters" / "03_primary_endpoint.html")
    assert "The paper prints -0.2 (-0.6 to 0.3, P = 0.425)" in primary and "0.119 published, 0.107 here" in primary
    beyond = page_text(html / "chapters" / "07_beyond_the_paper.html")
    assert "On these synthetic data, with a flat prior" in beyond and "(s)" not in beyond
    appendix = page_text(html / "chapters" / "a2_synthetic_data.html")
    assert "only significant" not in appendix and "counts 77 calibration targets" in appendix
    safety = page_text(html / "chapters" / "05_safety.html")
    assert "The paper's abstract gives 10%, 20%, 35%" in safety
    intro = page_text(html / "intro.html")
    assert "regenerates" not in intro
    assert intro.index("The data in this book are synthetic") < intro.index("This book computes the tables")
