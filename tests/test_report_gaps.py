"""Gaps left by issue 24's four parts: Figure 1's words say what the CONSORT crossover flow draws, and the first
page's paragraph about the whole-report PDF follows the file (a link only when the PDF is there)."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from ketapain_lib.design import PERIODS, SEQUENCES

ROOT = Path(__file__).resolve().parent.parent


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
