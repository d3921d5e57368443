"""The book: builds offline without a Sphinx warning, caches execution correctly, and renders in a browser."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from shared_book import copy_of, real_export_book, run_build, shipped_book  # noqa: E402
from test_validation import set_cell  # noqa: E402

from ketapain_lib.report import registry, sphinx_ext  # noqa: E402
from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR, SYNTHETIC_MARKER
from ketapain_lib.rawdata.schema import TABLES

pytestmark = pytest.mark.slow  # builds the book and drives a browser

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ["00_summary", "01_methods", "02_population", "03_primary_endpoint", "04_secondary_endpoints", "05_safety",
            "06_discussion", "07_beyond_the_paper", "08_audit", "a1_data_dictionary", "a2_synthetic_data",
            "a3_ledger", "a4_environment"]
#: Every page the build executes: the chapters above and the appendices without tables of the registry (the
#: CONSORT checklist).
EXECUTED = sorted(p.stem for p in (ROOT / "chapters").glob("*.md"))
FIGURES = {"02_population": 1, "03_primary_endpoint": 2, "04_secondary_endpoints": 3, "07_beyond_the_paper": 3}  # at least
#: myst-nb's line for a page it starts executing, and the line of the pages executed side by side
EXECUTING = re.compile(r"Executing notebook|: Executed in a Jupyter kernel")
#: the line for a page executed by a kernel of its own: myst-nb's, or jupyter-cache's parallel executor's
EXECUTED_PAGE = re.compile(r"chapters/(\w+)\.md: Executed (?:notebook in|in a Jupyter kernel of its own)")


def build(out: Path, data: Path | None = None) -> str:
    """Build the book into ``out`` from ``data`` (default: the shipped data) with ``-W``; its log."""
    log, status = run_build(out, data)
    assert status == 0, log[-4000:]
    return log


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, str]:
    """The session's one build of the shipped book (:func:`shared_book.shipped_book`): (folder, HTML, log)."""
    out, log = shipped_book(tmp_path_factory)
    return out, out / "_build" / "html", log


def test_build_has_no_sphinx_warning(built):
    _, _, log = built
    # Sphinx's messages ("file:line: WARNING: ..."); a kernel's own log lines on its stderr ("[IPKernelApp]
    # WARNING | ...", or ipykernel's shutdown race "ERROR:tornado.general:...", ipykernel PR 1518) are not the
    # book's, and never reach a page
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log)  # Sphinx colours its messages even into a pipe
    sphinx_warnings = [line for line in plain.splitlines() if re.search(r"(^|: )(WARNING|ERROR|CRITICAL): ", line)]
    assert sphinx_warnings == []


def test_every_chapter_is_built_with_the_synthetic_data_banner_and_no_error(built):
    _, html, _ = built
    for chapter in CHAPTERS:
        page = (html / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        assert sphinx_ext.SYNTHETIC_BANNER.split(":")[0] in page, chapter
        assert "Traceback" not in page and "output error" not in page and "stderr" not in page, chapter
        assert "Synthetic data." not in page, chapter  # the banner says it once; no second box repeats it
    assert "data in this book are synthetic" in (html / "intro.html").read_text(encoding="utf-8")


def test_data_dictionary_page_lists_every_column_of_the_contract(built):
    _, html, _ = built
    page = (html / "chapters" / "a1_data_dictionary.html").read_text(encoding="utf-8")
    for table in TABLES.values():
        assert table.filename in page
        for column in table.column_names:
            assert re.search(rf"<td[^>]*><code>{re.escape(column.replace('_', '_<wbr>'))}</code></td>", page), (table.name, column)


def _as_in_a_cell(description: str) -> str:
    """A description as a table cell's HTML holds it: escaped, a break opportunity after a slash between words."""
    return re.sub(r"(?<=[A-Za-z])/(?=[A-Za-z])", "/<wbr>", description.replace("&", "&amp;"))


def test_calibration_page_shows_every_target(built):
    from ketapain_lib.paper.published import calibration_targets

    _, html, _ = built
    page = (html / "chapters" / "a2_synthetic_data.html").read_text(encoding="utf-8")
    for description in calibration_targets()["description"]:  # by description: a key is an identifier (issue 24 B3)
        assert re.search(rf"<td[^>]*>{re.escape(_as_in_a_cell(description))}</td>", page), description


def test_ledger_page_lists_every_published_number(built):
    from ketapain_lib.paper.published import published_results

    _, html, _ = built
    page = (html / "chapters" / "a3_ledger.html").read_text(encoding="utf-8")
    for description in published_results()["description"]:
        assert re.search(rf"<td[^>]*>{re.escape(_as_in_a_cell(description))}</td>", page), description


def test_glued_prose_numbers_are_rendered(built):
    _, html, _ = built
    page = (html / "chapters" / "03_primary_endpoint.html").read_text(encoding="utf-8")
    # a P value glued as text, at its printed precision: "= 0.358" or "< 0.001"
    # (the spaces of "P = 0.358" are non-breaking: ketapain_lib.report.reader_html)
    assert re.search(r"omnibus P[ \u00a0]<span class=\"pasted-text\">(=[ \u00a0]0\.\d{3}|&lt;[ \u00a0]0\.001)</span>",
                     page), \
        "glued P value missing"


def test_a_corrupted_export_stops_the_build_within_seconds_with_the_validators_lines(tmp_path):
    import time

    bad = tmp_path / "bad"
    shutil.copytree(SHIPPED_DATA_DIR, bad)
    set_cell(bad / "infusions.csv", 2, "preinfusion_pain", "44")
    env = {**os.environ, "KETAPAIN_DATA": str(bad)}
    start = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--path-output",
                             str(tmp_path / "out"), "-W", "-n", "--keep-going"], capture_output=True, text=True,
                            cwd=ROOT, check=False, env=env)
    assert time.perf_counter() - start < 10
    assert result.returncode != 0
    assert f"{bad}/infusions.csv:2: preinfusion_pain: value '44' is outside the range 0 to 10" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not list((tmp_path / "out").rglob("*.html"))  # no page written, with holes or without


def test_banner_follows_the_data_directory(tmp_path, monkeypatch):
    class Config:
        html_theme_options = {"announcement": "placeholder"}

    real_export = tmp_path / "export"
    shutil.copytree(SHIPPED_DATA_DIR, real_export)
    (real_export / SYNTHETIC_MARKER).unlink()
    monkeypatch.setenv("KETAPAIN_DATA", str(real_export))
    config = Config()
    sphinx_ext._announce(None, config)
    assert "Synthetic" not in config.html_theme_options["announcement"]
    monkeypatch.delenv("KETAPAIN_DATA")
    sphinx_ext._announce(None, config)
    assert config.html_theme_options["announcement"] == sphinx_ext.SYNTHETIC_BANNER


# --------------------------------------------------------------------------- in a real browser

sys.path.insert(0, str(ROOT / "scripts"))
from browser import Browser  # noqa: E402

#: A desktop screen and a phone, in CSS pixels.
DESKTOP, PHONE = 1366, 390
#: The screenshots the report's review asks for: (page, element) at both widths, kept in _build/screenshots/.
SCREENSHOTS = {"table1": ("02_population", "#table1_characteristics-frame"),
               "table2": ("04_secondary_endpoints", "#table2_auc-frame"),
               "adverse_events": ("05_safety", "#adverse_events-frame"),
               "figure2": ("03_primary_endpoint", "#figure2_daily_pain")}
#: What each page looks like to a reader, measured in the browser (CSS pixels).
MEASURE = """(() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const box = e => e.getBoundingClientRect();
  const text = e => e ? e.textContent.replace(/\\s+/g, ' ').trim() : '';
  return {
    h1: document.querySelectorAll('h1').length,
    broken: /Traceback|ansi-red-fg/.test(document.body.innerHTML),
    article_right: box(article).right, viewport: window.innerWidth,
    page_width: document.documentElement.scrollWidth,
    bare_tables: Array.from(document.querySelectorAll('article table'))
      .filter(t => !t.closest('div.ketapain-table')).length,
    tables: Array.from(document.querySelectorAll('div.ketapain-table')).map(frame => ({
      id: frame.id, title: text(frame.querySelector('.gt_title')), right: box(frame).right,
      width: frame.clientWidth, content: frame.querySelector('table').scrollWidth,
      overflow: getComputedStyle(frame).overflowX, ledger_extract: !!frame.closest('details.ketapain-ledger')})),
    figures: Array.from(document.querySelectorAll('figure.ketapain-figure')).map(figure => {
      const img = figure.querySelector('img');
      return {id: figure.id, caption: text(figure.querySelector('figcaption')), alt: img.alt,
              vector: img.src.startsWith('data:image/svg+xml;base64,'), right: box(img).right, loaded: img.naturalWidth > 0};
    }),
    downloads: Array.from(document.querySelectorAll('a.ketapain-download')).map(a => a.getAttribute('href')),
    internal: Array.from(document.querySelectorAll('a.reference.internal')).map(a => a.getAttribute('href')),
  };
})()"""
NUMBERED = re.compile(r"^(Supplementary )?(Table|Figure) ([A-Z]?\d+[A-Z]?)\. [A-Z]")


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed by the test setup when missing (CI runs as root)."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
                       capture_output=True, check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("Debian's chromium is needed for the browser test: apt-get install chromium")
    return found


@pytest.fixture(scope="module")
def rendered(built, chromium) -> dict[tuple[str, int], dict]:
    """Every chapter at a desktop and a phone width, measured in one browser session; screenshots on the way."""
    _, html, _ = built
    shots = ROOT / "_build" / "screenshots"
    measured = {}
    with Browser(chromium) as browser:
        for width in (DESKTOP, PHONE):
            for chapter in CHAPTERS:
                browser.open((html / "chapters" / f"{chapter}.html").as_uri(), width=width)
                measured[(chapter, width)] = browser.evaluate(MEASURE)
                for name, (page, selector) in SCREENSHOTS.items():
                    if page == chapter:
                        browser.screenshot(shots / f"{name}_{width}px.png", selector=selector)
                browser.screenshot(shots / f"{chapter}_{width}px.png")
    return measured


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_in_a_browser_with_its_tables_and_figures(rendered, chapter):
    page = rendered[(chapter, DESKTOP)]
    assert page["h1"] >= 1, "the page did not render"
    assert not page["broken"], "an error is shown on the page"
    assert page["bare_tables"] == 0, "a table outside a publication-table frame"
    assert len(page["figures"]) >= FIGURES.get(chapter, 0)
    for figure in page["figures"]:
        assert figure["vector"] and figure["loaded"] and figure["alt"], figure["id"]
    if chapter != "06_discussion":
        assert page["tables"], "no table on the page"
    shown = {entry.number for entry in registry.OUTPUTS.values() if entry.chapter == chapter}
    titles = {match.group(0)[:-3] for match in (NUMBERED.match(t["title"]) for t in page["tables"]) if match}
    captions = {match.group(0)[:-3] for match in (NUMBERED.match(f["caption"]) for f in page["figures"]) if match}
    assert shown == titles | captions, "the page's numbered tables and figures differ from the registry's"


def test_every_table_and_figure_has_a_number_and_a_caption(rendered):
    """Every table (but the collapsed extracts of the ledger under each chapter) and every figure."""
    unnumbered = [(chapter, table["id"], table["title"][:60]) for (chapter, width), page in rendered.items()
                  if width == DESKTOP for table in page["tables"]
                  if not table["ledger_extract"] and not NUMBERED.match(table["title"])]
    unnumbered += [(chapter, figure["id"], figure["caption"][:60]) for (chapter, width), page in rendered.items()
                   if width == DESKTOP for figure in page["figures"] if not NUMBERED.match(figure["caption"])]
    assert unnumbered == []


def test_no_table_or_figure_overflows_the_article_at_desktop_width(rendered):
    wide = [(chapter, table["id"], table["content"], table["width"]) for (chapter, width), page in rendered.items()
            if width == DESKTOP for table in page["tables"]
            if table["content"] > table["width"] + 1 or table["right"] > page["article_right"] + 1]
    wide += [(chapter, figure["id"], figure["right"], page["article_right"]) for (chapter, width), page in
             rendered.items() if width == DESKTOP for figure in page["figures"]
             if figure["right"] > page["article_right"] + 1]
    assert wide == []


def test_on_a_phone_every_table_scrolls_in_its_own_frame_and_the_page_does_not(rendered):
    for (chapter, width), page in rendered.items():
        if width != PHONE:
            continue
        assert page["page_width"] <= page["viewport"] + 1, f"{chapter}: the page scrolls sideways"
        for table in page["tables"]:
            assert table["overflow"] == "auto", (chapter, table["id"])
            assert table["right"] <= page["viewport"] + 1, (chapter, table["id"])
        for figure in page["figures"]:
            assert figure["right"] <= page["viewport"] + 1, (chapter, figure["id"])


def test_every_link_and_download_resolves(built, rendered):
    _, html, _ = built
    for (chapter, width), page in rendered.items():
        if width != DESKTOP:
            continue
        folder = html / "chapters"
        if chapter not in ("06_discussion", "a4_environment"):  # pages without an exported output
            assert page["downloads"], f"{chapter}: no download link"
        for href in page["downloads"] + [h.split("#")[0] for h in page["internal"] if h.split("#")[0]]:
            assert (folder / href).resolve().is_file(), f"{chapter}: broken link {href}"


def test_the_screenshots_of_the_review_are_taken_at_both_widths(rendered):
    shots = ROOT / "_build" / "screenshots"
    for name in SCREENSHOTS:
        for width in (DESKTOP, PHONE):
            assert (shots / f"{name}_{width}px.png").stat().st_size > 5_000, (name, width)


def test_every_published_number_is_shown_in_the_chapter_where_it_belongs():
    from ketapain_lib.paper.published import published_results

    sources = "".join((ROOT / "chapters" / f"{chapter}.md").read_text(encoding="utf-8") for chapter in CHAPTERS)
    for section in sorted(set(published_results()["section"])):
        assert f'book.ledger_rows(results, "{section}")' in sources, section


def test_executed_pages_hold_exactly_the_reviewed_outputs(built):
    """Every chapter, executed by the build in a kernel of its own (myst-nb's cache mode) and stored in
    jupyter-cache, holds the paired notebook's reviewed outputs, which nbval re-executes in kernels too. Equal
    outputs (type, text, data, metadata) make the same pages, byte for byte."""
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(built[0] / "_build" / ".jupyter_cache")
    records = {Path(record.uri).stem: record for record in cache.list_cache_records()}
    assert set(CHAPTERS) <= set(records)
    for chapter in CHAPTERS:
        executed = cache.get_cache_bundle(records[chapter].pk).nb
        stored = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)

        def outputs(notebook):
            return [[(o.output_type, o.get("name"), o.get("text"), dict(o.get("data", {})), dict(o.get("metadata", {})))
                     for o in cell.outputs] for cell in notebook.cells if cell.cell_type == "code"]
        assert outputs(executed) == outputs(stored), chapter


# --------------------------------------------------------------------------- rebuilds (each over a copy of the
# shared book: the shared build is never written to)

def test_an_unchanged_rebuild_executes_nothing(built, tmp_path):
    out, _, first_log = built
    assert sorted(re.findall(EXECUTED_PAGE, first_log)) == EXECUTED  # each page by a kernel of its own
    unchanged = build(copy_of(out, tmp_path))
    assert not EXECUTING.search(unchanged)


def test_a_real_export_with_a_dropout_executes_everything_again(built, tmp_path_factory):
    """The shipped book rebuilt from "a real export" (no synthetic marker) in which P02 left during period 2.

    jupyter-cache alone would keep the stale outputs; the book re-executes every page, builds with -W,
    reports the drop-out, and stops calling its data synthetic.
    """
    _, html, _ = built
    out, log, data = real_export_book(tmp_path_factory)
    rebuilt = out / "_build" / "html"
    # every page executes again, each in a kernel of its own
    assert sorted(re.findall(EXECUTED_PAGE, log)) == EXECUTED
    before = (html / "chapters" / "03_primary_endpoint.html").read_text(encoding="utf-8")
    assert (rebuilt / "chapters" / "03_primary_endpoint.html").read_text(encoding="utf-8") != before
    population = (rebuilt / "chapters" / "02_population.html").read_text(encoding="utf-8")
    assert "19 completed the three periods and 1 discontinued (1 during period 2; reasons: adverse event 1)" in \
        population
    intro = (rebuilt / "intro.html").read_text(encoding="utf-8")
    assert "data in this book are synthetic" not in intro and "reads a raw export" in intro
    assert "Synthetic data." not in population and str(data) not in population
