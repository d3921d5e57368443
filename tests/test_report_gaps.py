"""Gaps left by issue 24's four parts: Figure 1's words say what the CONSORT crossover flow draws, and the first
page's paragraph about the whole-report PDF follows the file (a link only when the PDF is there)."""
from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from ketapain_lib.design import PERIODS, SEQUENCES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "scripts"))
from shared_book import shipped_book  # noqa: E402
from test_book import chromium  # noqa: E402, F401  (a fixture)
from browser import Browser  # noqa: E402

SHOTS = ROOT / "_build" / "screenshots"
DESKTOP, PHONE = 1366, 390


# --------------------------------------------------------------------------- Figure 1: caption, alt text, prose

def test_figure1_caption_and_alt_describe_the_crossover_flow():
    from ketapain_lib.report.registry import OUTPUTS

    entry = OUTPUTS["figure1_flow"]
    for words in (entry.caption, entry.alt):
        lowered = words.lower()
        for part in ("screen", "randomiz", "sequence", "period", "washout", "analysed", "raw data"):
            assert part in lowered, (part, words)
        assert "allocation in each period" not in lowered  # the old three-box diagram's words
        assert "discontinu" in lowered or "left" in lowered
    # the design's counts are computed, not typed
    assert f"{len(SEQUENCES)} sequences" in entry.caption and f"{len(PERIODS)} periods" in entry.caption
    assert f"({len(SEQUENCES)} columns)" in entry.alt and f"({len(PERIODS)} periods)" in entry.alt
    assert "CONSORT extension for randomised crossover trials" in entry.caption


def test_figure1_is_drawn_from_the_tables_the_population_chapter_names():
    """The diagram drawn from the tables of :data:`flow.SOURCES` alone is the diagram of the whole trial, and the
    chapter's sentence names every one of them (glued from the same list)."""
    from ketapain_lib.rawdata.load import load_trial
    from ketapain_lib.report import figures, flow, prose

    trial = load_trial()
    only = SimpleNamespace(**{name: getattr(trial, name) for name in flow.SOURCES})
    assert figures.to_svg(flow.flow_diagram(only)) == figures.to_svg(flow.flow_diagram(trial))
    sources = prose.flow_sources()
    assert all(words in sources for words in flow.SOURCES.values())
    markdown = (ROOT / "chapters" / "02_population.md").read_text(encoding="utf-8")
    assert "{glue:text}`flow_sources`" in markdown and "{glue:text}`ref_figure1_flow`" in markdown
    assert "drawn from the screening log and the infusion records" not in markdown


def test_a_table_the_sources_leave_out_is_not_read_by_the_diagram():
    """Without one of its sources the diagram cannot be drawn: the list is what the drawing reads."""
    from ketapain_lib.rawdata.load import load_trial
    from ketapain_lib.report import flow

    trial = load_trial()
    for missing in flow.SOURCES:
        partial = SimpleNamespace(**{name: getattr(trial, name) for name in flow.SOURCES if name != missing})
        with pytest.raises(AttributeError, match=missing):
            flow.flow_diagram(partial)


# --------------------------------------------------------------------------- the PDF link on the first page

def _page(folder: Path) -> Path:
    page = folder / "intro.html"
    page.write_text('<html><body><h1>KETAPAIN</h1>\n<p class="ketapain-pdf">placeholder\nover two lines</p>\n'
                    '<p>next</p></body></html>', encoding="utf-8")
    return page


def test_the_pdf_paragraph_links_only_to_a_pdf_printed_from_these_inputs(tmp_path):
    from ketapain_lib.report import sphinx_ext

    page = _page(tmp_path)
    pdf, stamp = tmp_path / sphinx_ext.PDF_NAME, tmp_path / "ketapain_report.sha256"
    assert not sphinx_ext.pdf_is_current(tmp_path, "abc")
    sphinx_ext.show_pdf_link(page, sphinx_ext.pdf_is_current(tmp_path, "abc"))
    text = page.read_text(encoding="utf-8")
    assert "href=" not in text and f"<code>{sphinx_ext.PDF_COMMAND}</code>" in text and "<p>next</p>" in text
    pdf.write_bytes(b"%PDF-1.4 test")
    assert not sphinx_ext.pdf_is_current(tmp_path, "abc")  # no stamp: not known to be from these inputs
    stamp.write_text("other\n", encoding="utf-8")
    assert not sphinx_ext.pdf_is_current(tmp_path, "abc")
    stamp.write_text("abc\n", encoding="utf-8")
    assert sphinx_ext.pdf_is_current(tmp_path, "abc")
    sphinx_ext.show_pdf_link(page, True)
    text = page.read_text(encoding="utf-8")
    href = re.search(r'<a class="ketapain-pdf-link" href="([^"]+)"', text).group(1)
    assert (tmp_path / href).is_file() and sphinx_ext.PDF_COMMAND not in text
    sphinx_ext.show_pdf_link(page, True)  # idempotent
    assert page.read_text(encoding="utf-8") == text
    sphinx_ext.show_pdf_link(page, False)  # and back, when the PDF goes
    assert "href=" not in page.read_text(encoding="utf-8")
    sphinx_ext.show_pdf_link(page, None)  # the printed page is the PDF: no paragraph about it
    assert "ketapain-pdf" not in page.read_text(encoding="utf-8")


def test_the_first_pages_source_shows_the_command_not_a_link():
    """A build without the extension's rewriting still has no broken link: the source states the command."""
    from ketapain_lib.report import sphinx_ext

    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    paragraph = re.search(r'<p class="ketapain-pdf">.*?</p>', intro, re.S).group(0)
    assert "href" not in paragraph and sphinx_ext.PDF_COMMAND in paragraph.replace("\n", " ")


# --------------------------------------------------------------------------- the synthetic footer beside Figure 1

@pytest.mark.slow  # over a second (it draws every figure or generates a trial): the full suite runs it
def test_the_synthetic_footer_overlaps_no_part_of_any_figure():
    """The footer's strip lies under each figure's drawing (Figure 1's lowest box and legend included), inside
    the figure: its words and the drawing's never share a pixel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ketapain_lib.rawdata.load import load_trial
    from ketapain_lib.report.registry import FOOTER_ID, OUTPUTS, stamped
    from ketapain_lib.report.results import Results

    results = Results(load_trial())
    checked = []
    for name, entry in OUTPUTS.items():
        if entry.kind != "figure":
            continue
        figure = stamped(results, entry.make(results))
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        renderer = canvas.get_renderer()
        footers = [text for text in figure.texts if text.get_gid() == FOOTER_ID]
        assert len(footers) == 1, name
        footer = footers[0].get_window_extent(renderer)
        assert 0 <= footer.x0 and footer.x1 <= figure.bbox.x1 and 0 <= footer.y0, name
        drawn = [axes.get_tightbbox(renderer) for axes in figure.axes if axes.get_visible()]
        drawn += [artist.get_window_extent(renderer) for artist in (*figure.legends, *figure.texts)
                  if artist.get_gid() != FOOTER_ID]
        assert drawn, name
        assert all(box.y0 >= footer.y1 for box in drawn), name  # y grows upwards: everything above the footer
        checked.append(name)
    assert "figure1_flow" in checked


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The session's one build of the shipped book (the HTML folder)."""
    out, _ = shipped_book(tmp_path_factory)
    return out / "_build" / "html"


#: Figure 1 as a reader sees it: the image's box, the SVG's own size, and what the page says beside it.
FIGURE1 = """(() => {
  const figure = document.querySelector('figure#figure1_flow');
  const img = figure.querySelector('img');
  const box = img.getBoundingClientRect();
  const svg = atob(img.src.split(',')[1]);
  const view = svg.match(/viewBox="0 0 ([\\d.]+) ([\\d.]+)"/);
  return {left: box.left, right: box.right, width: box.width, height: box.height, viewport: window.innerWidth,
          ratio: parseFloat(view[2]) / parseFloat(view[1]), footer: svg.includes('ketapain-synthetic-footer'),
          alt: img.alt, caption: figure.querySelector('figcaption').textContent.replace(/\\s+/g, ' ').trim(),
          prose: document.querySelector('article').textContent.replace(/\\s+/g, ' ').replace(/\u2019/g, "'")};
})()"""


@pytest.mark.slow
def test_figure1_reads_whole_with_its_footer_on_a_desktop_and_a_phone(built, chromium):
    """Figure 1 at 1366 and 390 px: inside the viewport, not cropped or stretched (the shown box keeps the SVG's
    proportions, footer strip included), its caption and alt text the registry's, and the chapter's sentence on
    its sources with the counts glued. Screenshots: gaps_figure1_flow_1366px.png, gaps_figure1_flow_390px.png."""
    from ketapain_lib.rawdata.load import load_trial
    from ketapain_lib.report import prose
    from ketapain_lib.report.registry import OUTPUTS
    from ketapain_lib.report.results import Results

    entry = OUTPUTS["figure1_flow"]
    values = prose.VALUES["02_population"](Results(load_trial()))
    with Browser(chromium) as browser:
        for width in (DESKTOP, PHONE):
            browser.open((built / "chapters" / "02_population.html").as_uri(), width=width)
            seen = browser.evaluate(FIGURE1)
            assert seen["left"] >= 0 and seen["right"] <= seen["viewport"], width
            assert seen["height"] == pytest.approx(seen["width"] * seen["ratio"], rel=0.01), width
            assert seen["footer"] and seen["alt"] == entry.alt
            assert seen["caption"] == f"{entry.number}. {entry.caption}"
            assert values["flow_sources"] in seen["prose"]
            assert f"Of {values['n_screened']} people screened" in seen["prose"]
            browser.screenshot(SHOTS / f"gaps_figure1_flow_{width}px.png", selector="#figure1_flow")
