"""What a reader sees (issue 24, part B): the crossover flow diagram, the CONSORT checklist, a phone's screen,
formulas offline, print, the PDF and the citation.

The browser checks run in Debian's Chromium (``scripts/browser.py``) on a build of the book made for this module;
the screenshots they take are kept in ``_build/screenshots/`` (named in each test).
"""
from __future__ import annotations

import base64
import csv
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from shared_book import SIMULATED, copy_of, shipped_book, simulated_book  # noqa: E402
from test_book import build, chromium  # noqa: E402, F401  (a function and a fixture)
from test_reader_tables import ONE_LINE  # noqa: E402  (the measure of numbers that must hold one line)
from browser import Browser  # noqa: E402

from ketapain_lib.report import consort, figures, flow, registry, sphinx_ext  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "_build" / "screenshots"
DESKTOP, PHONE = 1366, 390
#: The smallest figure type a reader gets on a phone, in CSS pixels.
LEGIBLE_PX = 9.0


# --------------------------------------------------------------------------- fast checks (no build)

def _simulated(tmp_path: Path) -> Path:
    """The generated trial of the shared books on other data (:data:`shared_book.SIMULATED`), written by the
    command line."""
    out = tmp_path / "simulated"
    result = subprocess.run([sys.executable, "-m", "ketapain_lib", "simulate", "--patients",
                             str(SIMULATED["patients"]), "--dropouts", str(SIMULATED["dropouts"]), "--seed",
                             str(SIMULATED["seed"]), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return out


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _svg_texts(svg: bytes) -> list[str]:
    """The text lines of a matplotlib SVG, in order (drawn as glyph paths, each line preceded by its text as a
    comment)."""
    return re.findall(r"<!-- (.*?) -->", svg.decode("utf-8"), re.DOTALL)


@pytest.mark.slow  # over a second (it draws every figure or generates a trial): the full suite runs it
def test_flow_counts_are_those_of_the_raw_files_with_dropouts(tmp_path):
    """Figure 1's counts per sequence and period, recounted from the CSV files with the csv module."""
    from ketapain_lib import load_trial

    data = _simulated(tmp_path)
    counted = flow.flow_counts_by_sequence(load_trial(data))
    sequence_of = {r["patient_id"]: r["sequence"] for r in _rows(data / "randomization.csv")}
    infused = Counter((sequence_of[r["patient_id"]], int(r["period"])) for r in _rows(data / "infusions.csv"))
    last = {}
    for r in _rows(data / "infusions.csv"):
        last[r["patient_id"]] = max(last.get(r["patient_id"], 0), int(r["period"]))
    left = Counter((sequence_of[r["patient_id"]], last.get(r["patient_id"], 0)) for r in _rows(data / "disposition.csv")
                   if r["status"] == "discontinued")
    assert sum(left.values()) == 3
    assert sum(row["randomized"] for row in counted["sequences"]) == len(sequence_of) == 40
    for row in counted["sequences"]:
        assert row["randomized"] == sum(1 for s in sequence_of.values() if s == row["sequence"])
        assert [p["code"] for p in row["periods"]] == row["sequence"].split("-")
        for cell in row["periods"]:
            assert cell["infused"] == infused[(row["sequence"], cell["period"])], (row["sequence"], cell)
            assert cell["left"] == left[(row["sequence"], cell["period"])], (row["sequence"], cell)


@pytest.mark.slow  # over a second (it draws every figure or generates a trial): the full suite runs it
def test_flow_diagram_draws_sequences_periods_washout_and_discontinuations(tmp_path):
    """CONSORT for crossover trials: randomized -> six sequences -> each period with its treatment, the washout
    between periods, the discontinuations in the period they happened -> analysed. Not three period boxes
    fanning out from "Randomized"."""
    from ketapain_lib import load_trial

    data = _simulated(tmp_path)
    trial = load_trial(data)
    texts = _svg_texts(figures.to_svg(figures.flow_diagram(trial)))
    counted = flow.flow_counts_by_sequence(trial)
    joined = "\n".join(texts)
    assert "Randomized\nn = 40" in joined
    for row in counted["sequences"]:
        assert f"{row['sequence']}\nn = {row['randomized']}" in joined
        for cell in row["periods"]:
            text = f"Period {cell['period']}\n{cell['code']}: {cell['infused']}"
            assert text + ("\nleft: " if cell["left"] else "") in joined, text
    assert joined.count("Washout: 35 days") == 2  # between periods 1-2 and 2-3
    for period, group in counted["left"].groupby("period"):
        assert f"Discontinued during period {period}: {len(group)}" in joined.replace("\n", " ")
    assert "Analysed, intention to treat: all 40 randomized;" in joined


@pytest.mark.slow  # over a second (it draws every figure or generates a trial): the full suite runs it
def test_every_figure_is_drawn_for_a_phone_width():
    """Each figure is at most 4.75 in (342 pt) wide, the width it gets at 390 px, and no text is below 9.5 pt;
    the browser test measures the same on the pages."""
    from ketapain_lib import load_trial
    from ketapain_lib.report.results import Results

    results = Results(load_trial())
    for name, entry in registry.OUTPUTS.items():
        if entry.kind != "figure":
            continue
        svg = registry.figure_bytes(results, name, "svg")
        width = float(re.search(rb'<svg[^>]* width="([\d.]+)pt"', svg).group(1))
        assert width <= figures.WIDTH * 72 + 0.5, (name, width)
        sizes = _font_sizes(svg)
        assert sizes and min(sizes) >= figures.SMALLEST - 1e-6, (name, min(sizes))


def _font_sizes(svg: bytes) -> list[float]:
    """Font sizes (points) of the texts of a matplotlib SVG: each glyph group is scaled by size / 100."""
    return [100 * float(s) for s in re.findall(rb"scale\(([\d.]+) -[\d.]+\)", svg)]


def test_checklist_items_each_have_a_target_or_a_status():
    items = consort.checklist_items()
    assert len(items) == 37 and items["item"].iloc[-1] == "25"
    counts = consort.summary(items)
    assert counts["addressed"] + sum(counts[s] for s in consort.STATUSES) == counts["items"]
    for item in ("13a", "13b"):  # the participant flow, per sequence and period: Figure 1
        assert consort.links(items.set_index("item").at[item, "where"])[0].text.startswith("Figure 1 ")


def test_a_broken_checklist_row_is_refused_naming_file_row_and_column(tmp_path):
    path = tmp_path / "checklist.csv"
    text = consort.CHECKLIST.read_text(encoding="utf-8").replace("output:figure1_flow,\n", "output:figure9,\n", 1)
    path.write_text(text, encoding="utf-8")
    row = next(i for i, line in enumerate(text.splitlines(), start=1) if "output:figure9," in line)
    with pytest.raises(ValueError, match=rf"^checklist.csv:{row}: where: 'figure9' is not an output of the registry$"):
        consort.checklist_items(path)


def test_citation_file_is_cff_1_2_with_the_trial_as_preferred_citation():
    """CITATION.cff (validated once with cffconvert 2.0.0: "valid according to schema version 1.2.0"; its
    jsonschema pin conflicts with the book's, so the suite checks the schema's required fields itself) and
    references.bib name the same trial report and its eleven authors."""
    import yaml

    record = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert record["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "type", "version", "preferred-citation", "references"):
        assert record[key], key
    paper = record["preferred-citation"]
    assert paper["type"] == "article" and paper["doi"] == "10.1097/ALN.0000000000003345"
    assert all(set(a) >= {"family-names", "given-names"} for a in paper["authors"]) and len(paper["authors"]) == 11
    entry = sphinx_ext.bibtex_entry("pickering2020ketapain")
    assert "others" not in entry and "doi     = {10.1097/ALN.0000000000003345}" in entry
    families = [a["family-names"] for a in paper["authors"]]
    named = re.search(r"author\s*=\s*\{(.*)\},\n", entry).group(1).split(" and ")
    assert [n.split(",")[0] for n in named] == families


# --------------------------------------------------------------------------- the built book



@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The session's one build of the shipped book (the HTML folder); read, never written to."""
    out, _ = shipped_book(tmp_path_factory)
    return out / "_build" / "html"


def _pages(html: Path) -> list[Path]:
    extra = [html / name for name in ("search.html", "genindex.html") if (html / name).is_file()]
    return sorted([html / "intro.html", html / "references.html", *extra, *(html / "chapters").glob("*.html")])


MEASURE_PHONE = r"""(() => {
  const box = e => e.getBoundingClientRect();
  const brokenWords = cell => {
    const out = [];
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const re = /[^\s\-\u2013\/_]+/g; let m;  // a name may break after an underscore
      while ((m = re.exec(node.data))) {
        const r = document.createRange(); r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
        const tops = new Set(Array.from(r.getClientRects()).filter(x => x.width > 0).map(x => Math.round(x.top)));
        if (tops.size > 1) out.push(m[0]);
      }
    }
    return out;
  };
  // every cell of every table (labels, values, prose columns, headers), not only the row labels (review, 27)
  const labels = Array.from(document.querySelectorAll(
      'div.ketapain-table th, div.ketapain-table td, table.ketapain-checklist th, table.ketapain-checklist td'))
    .filter(c => !c.querySelector('th, td'));
  const frames = Array.from(document.querySelectorAll('div.ketapain-table')).map(frame => {
    const scroller = [frame, ...frame.querySelectorAll('div')].find(e => e.scrollWidth > e.clientWidth + 1);
    if (!scroller) return {id: frame.id, scrolls: false};
    const first = () => Array.from(frame.querySelectorAll(
        'tbody tr:not(.gt_group_heading_row):not(.ketapain-checklist-section) > :first-child'))
      .filter(c => c.getBoundingClientRect().height > 0);
    const left0 = box(scroller).left;
    // the caption, source notes and footnotes: each wholly inside the frame's visible width (review, 29)
    const pinned = () => Array.from(frame.querySelectorAll('.gt_title, .gt_sourcenote, .gt_footnote'))
      .filter(c => box(c).height > 0).map(c => c.querySelector('.ketapain-pinned') || c)
      .filter(c => box(c).left < box(scroller).left - 1.5 || box(c).right > box(scroller).right + 1.5)
      .map(c => c.textContent.trim().slice(0, 40));
    const clipped = pinned();
    scroller.scrollLeft = scroller.scrollWidth;
    const scrolled = scroller.scrollLeft;
    const stuck = first().every(c => Math.abs(box(c).left - left0) <= 1.5);
    const clippedScrolled = pinned();
    const labelWidth = Math.max(...first().map(c => box(c).width));
    scroller.scrollLeft = 0;
    return {id: frame.id, scrolls: true, scrolled, stuck, labelWidth, frameWidth: box(scroller).width,
            clipped: clipped.concat(clippedScrolled)};
  });
  const figures = Array.from(document.querySelectorAll('figure.ketapain-figure img')).map(img => ({
    id: img.closest('figure').id, shown: box(img).width, src: img.getAttribute('src')}));
  return {viewport: window.innerWidth, page: document.documentElement.scrollWidth,
          broken: labels.map(c => [c.textContent.trim().slice(0, 60), brokenWords(c)]).filter(x => x[1].length),
          frames, figures};
})()"""


@pytest.fixture(scope="module")
def phone(built, chromium) -> dict[str, dict]:
    """Every page of the book at 390 px, measured (and photographed, whole page, top)."""
    measured = {}
    with Browser(chromium) as browser:
        for page in _pages(built):
            browser.open(page.as_uri(), width=PHONE, height=844)
            measured[page.stem] = browser.evaluate(MEASURE_PHONE)
            measured[page.stem]["lines"] = browser.evaluate(ONE_LINE)
            browser.open(page.as_uri(), width=DESKTOP)  # words broken inside a cell at desktop width too (27)
            measured[page.stem]["broken_desktop"] = browser.evaluate(MEASURE_PHONE)["broken"]
        for page, selector in (("08_audit", "#audit-frame"), ("a1_data_dictionary", "#data_dictionary-frame")):
            browser.open((built / "chapters" / f"{page}.html").as_uri(), width=DESKTOP, height=2400)
            if browser.evaluate(f"!!document.querySelector('{selector}')"):
                browser.screenshot(SHOTS / f"look_{page}_words_1366px.png", selector=selector)
        browser.open((built / "chapters" / "00_summary.html").as_uri(), width=PHONE, height=2400)
        browser.screenshot(SHOTS / "look_summary_tableE1_390px.png", selector="div.ketapain-table")
        for page, frame in (("03_primary_endpoint", "primary_pairwise-frame"), ("a3_ledger", "ledger-frame")):
            browser.open((built / "chapters" / f"{page}.html").as_uri(), width=PHONE, height=2400)
            browser.evaluate(f"(() => {{ const f = document.querySelector('#{frame}');"
                             "const s = [f, ...f.querySelectorAll('div')].find(e => e.scrollWidth > e.clientWidth + 1);"
                             "if (s) s.scrollLeft = 10000; })()")
            browser.screenshot(SHOTS / f"look_{frame}_scrolled_390px.png", selector=f"#{frame}")
        browser.open((built / "chapters" / "04_secondary_endpoints.html").as_uri(), width=PHONE, height=2400)
        browser.evaluate("(() => { const f = document.querySelector('#table2_auc-frame');"
                         "const s = [f, ...f.querySelectorAll('div')].find(e => e.scrollWidth > e.clientWidth + 1);"
                         "s.scrollLeft = 10000; })()")
        browser.screenshot(SHOTS / "look_table2_scrolled_390px.png", selector="#table2_auc-frame")
        browser.open((built / "chapters" / "02_population.html").as_uri(), width=PHONE, height=2400)
        browser.screenshot(SHOTS / "look_figure1_flow_390px.png", selector="#figure1_flow")
    return measured


@pytest.mark.slow
def test_on_a_phone_no_page_is_wider_than_the_screen(phone):
    wide = {page: m["page"] for page, m in phone.items() if m["page"] > m["viewport"] + 1}
    assert wide == {}


@pytest.mark.slow
def test_on_a_phone_wide_tables_scroll_and_keep_their_label_column(phone):
    """A table wider than the screen scrolls in its frame; its label column stays where it was (sticky) and
    leaves most of the frame to the values. Screenshot: look_table2_scrolled_390px.png (Table 2 scrolled right)."""
    scrolling = [(page, f) for page, m in phone.items() for f in m["frames"] if f["scrolls"]]
    assert len(scrolling) >= 5  # Tables 1-3 and others are wider than a phone
    assert [(page, f["id"]) for page, f in scrolling if not (f["scrolled"] > 0 and f["stuck"])] == []
    assert [(page, f["id"], f["labelWidth"]) for page, f in scrolling if f["labelWidth"] > 0.5 * f["frameWidth"]] == []


@pytest.mark.slow
def test_table_cells_break_between_words_only_on_a_phone_and_at_desktop_width(phone):
    """27: no word of any table cell (labels, values, verdicts, types, headers) breaks letter by letter, at 390
    and at 1366 px. Screenshots: look_summary_tableE1_390px.png, look_08_audit_words_1366px.png,
    look_a1_data_dictionary_words_1366px.png."""
    assert {page: m["broken"] for page, m in phone.items() if m["broken"]} == {}
    assert {page: m["broken_desktop"] for page, m in phone.items() if m["broken_desktop"]} == {}


@pytest.mark.slow
def test_on_a_phone_numbers_in_prose_and_headers_hold_one_line(phone):
    """28 at 390 px: "P = 0.008", "(N = 20)", "(0-21)" never split."""
    found = [item | {"page": page} for page, m in phone.items() for item in m["lines"]]
    assert len(found) > 150
    assert [item for item in found if item["lines"] != 1] == []


@pytest.mark.slow
def test_on_a_phone_a_wide_tables_caption_and_notes_stay_in_view(phone):
    """29: a table wider than the screen scrolls under its caption, source notes and footnotes, which stay wholly
    in view (wrapped to the screen), before and after scrolling; the ledger scrolls with its label column stuck.
    Screenshots: look_primary_pairwise-frame_scrolled_390px.png, look_ledger-frame_scrolled_390px.png."""
    scrolling = {f["id"]: f for m in phone.values() for f in m["frames"] if f["scrolls"]}
    assert {"primary_pairwise-frame", "table2_auc-frame", "ledger-frame"} <= set(scrolling)
    assert {name: f["clipped"] for name, f in scrolling.items() if f["clipped"]} == {}
    assert scrolling["ledger-frame"]["stuck"] and scrolling["ledger-frame"]["scrolled"] > 0


@pytest.mark.slow
def test_the_banners_code_is_readable_on_its_ground(built, chromium):
    """22 (banner): the environment variable in the synthetic-data banner, in code type, has a contrast of at
    least 4.5:1 (WCAG AA) against the ground it is drawn on. Screenshot: look_banner_1366px.png."""
    with Browser(chromium) as browser:
        browser.open((built / "chapters" / "00_summary.html").as_uri(), width=DESKTOP)
        ratio = browser.evaluate(r"""(() => {
          const code = document.querySelector('.bd-header-announcement code');
          if (!code) return null;
          const rgba = s => s.match(/[\d.]+/g).map(Number).concat([1]).slice(0, 4);
          const ground = e => { const layers = [];
            for (let n = e; n; n = n.parentElement) { const c = rgba(getComputedStyle(n).backgroundColor);
              if (c[3] > 0) layers.push(c); if (c[3] >= 1) break; }
            let out = [255, 255, 255];
            for (const c of layers.reverse()) out = out.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
            return out; };
          const lum = c => { const l = c.slice(0, 3).map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
          const fg = rgba(getComputedStyle(code).color), bg = ground(code);
          const a = lum(fg), b = lum(bg);
          return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        })()""")
        browser.screenshot(SHOTS / "look_banner_1366px.png", selector=".bd-header-announcement")
    assert ratio is not None and ratio >= 4.5, ratio


@pytest.mark.slow
def test_on_a_phone_figure_text_is_at_least_9_css_pixels(phone):
    """The smallest text of each figure as shown at 390 px: its size in the SVG times the width shown over the
    SVG's own width. Screenshot: look_figure1_flow_390px.png."""
    smallest = {}
    for m in phone.values():
        for figure in m["figures"]:
            svg = base64.b64decode(figure["src"].split(",", 1)[1])
            intrinsic = float(re.search(rb'viewBox="0 0 ([\d.]+) [\d.]+"', svg).group(1))
            smallest[figure["id"]] = min(_font_sizes(svg)) * figure["shown"] / intrinsic
    assert len(smallest) >= 9  # every figure of the registry
    assert {name: round(px, 2) for name, px in smallest.items() if px < LEGIBLE_PX} == {}


@pytest.mark.slow
def test_figure_1_on_the_page_is_the_crossover_flow(built):
    page = (built / "chapters" / "02_population.html").read_text(encoding="utf-8")
    svg = base64.b64decode(re.search(r'id="figure1_flow"><img src="data:image/svg\+xml;base64,([^"]+)"', page).group(1))
    texts = _svg_texts(svg)
    assert sum(bool(re.fullmatch(r"[PKM]-[PKM]-[PKM]", t)) for t in texts) == 6
    assert sum(bool(re.fullmatch(r"Period [123]", t)) for t in texts) == 18
    assert texts.count("Randomized") == 1 and sum(t.startswith("Washout:") for t in texts) == 2


@pytest.mark.slow
def test_checklist_page_links_every_item_to_a_place_that_exists(built, chromium):
    """Every link of the checklist page leads to a page of the build and to an element with that id; items
    without a link say why. Screenshots: look_checklist_1366px.png, look_checklist_390px.png."""
    page = built / "chapters" / "a5_consort_checklist.html"
    text = page.read_text(encoding="utf-8")
    hrefs = re.findall(r'<a class="reference internal ketapain-checklist-link" href="([^"]+)"', text)
    items = consort.checklist_items()
    assert len(hrefs) == sum(len(consort.links(w)) for w in items["where"]) > 30
    for href in hrefs:
        target, _, anchor = href.partition("#")
        path = (page.parent / target).resolve()
        assert path.is_file(), href
        if anchor:
            assert f'id="{anchor}"' in path.read_text(encoding="utf-8"), href
    for status, wording in consort.STATUSES.items():
        assert text.count(wording.replace("'", "&#x27;")) == int((items["where"] == status).sum())
    assert "chapters/a5_consort_checklist" in (ROOT / "_toc.yml").read_text(encoding="utf-8")
    with Browser(chromium) as browser:
        for width in (DESKTOP, PHONE):
            browser.open(page.as_uri(), width=width, height=2400)
            rows = browser.evaluate("document.querySelectorAll('table.ketapain-checklist tbody tr:not(.ketapain-checklist-section)').length")
            assert rows == len(items)
            browser.screenshot(SHOTS / f"look_checklist_{width}px.png", selector="#consort_checklist-frame")


@pytest.mark.slow
def test_formulas_render_offline_and_no_page_loads_a_script_from_the_network(built, chromium):
    """MathJax is served from the build: no page names an http(s) script, and with every http(s) request blocked
    Chromium typesets each formula of Methods. Screenshot: look_methods_math_1366px.png."""
    for page in _pages(built):
        remote = re.findall(r'<script[^>]+src="(https?://[^"]+)"', page.read_text(encoding="utf-8"))
        assert remote == [], (page.name, remote)
    assert (built / "_static" / sphinx_ext.MATHJAX_FOLDER / sphinx_ext.MATHJAX_BUNDLE).is_file()
    with Browser(chromium) as browser:
        browser.command("Network.enable")
        browser.command("Network.setBlockedURLs", urls=["http://*", "https://*"])
        browser.open((built / "chapters" / "01_methods.html").as_uri(), width=DESKTOP)
        typeset = browser.evaluate("""new Promise(done => { const t0 = Date.now(); const poll = () => {
            const math = document.querySelectorAll('span.math, div.math').length;
            const out = document.querySelectorAll('mjx-container mjx-math').length;
            if ((math && out >= math) || Date.now() - t0 > 15000) done({math, out}); else setTimeout(poll, 50); };
            poll(); })""")
        assert typeset["math"] >= 2 and typeset["out"] == typeset["math"], typeset
        browser.screenshot(SHOTS / "look_methods_math_1366px.png", selector="mjx-container")


@pytest.mark.slow
def test_one_search_box_at_both_widths(built, chromium):
    with Browser(chromium) as browser:
        for width in (DESKTOP, PHONE):
            browser.open((built / "chapters" / "03_primary_endpoint.html").as_uri(), width=width)
            shown = browser.evaluate("Array.from(document.querySelectorAll('.search-button__button, form.bd-search'))"
                                     ".filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length")
            assert shown == 1, width
            browser.screenshot(SHOTS / f"look_search_{width}px.png")


@pytest.mark.slow
def test_in_print_the_banner_and_the_published_values_show(built, chromium):
    """Under print media (Chromium's emulation), the synthetic-data banner and the published column of the key
    findings show, and no print rule hides a published value. Screenshot: look_print_summary.png."""
    with Browser(chromium) as browser:
        browser.command("Emulation.setEmulatedMedia", media="print")
        browser.open((built / "chapters" / "00_summary.html").as_uri(), width=800)
        seen = browser.evaluate("""(() => {
          const visible = e => !!e && e.getBoundingClientRect().height > 0 && getComputedStyle(e).visibility !== 'hidden';
          const banner = document.querySelector('.bd-header-announcement');
          const published = Array.from(document.querySelectorAll('div.ketapain-table th, div.ketapain-table td'))
            .filter(c => /published/i.test(c.textContent));
          return {print: matchMedia('print').matches, banner: visible(banner), text: banner ? banner.textContent : '',
                  published: published.length, hidden: published.filter(c => !visible(c)).length};
        })()""")
        assert seen["print"] and seen["banner"] and "Synthetic data" in seen["text"], seen
        assert seen["published"] >= 1 and seen["hidden"] == 0, seen
        browser.screenshot(SHOTS / "look_print_summary.png")
        # the collapsed extracts of published beside reproduced under each chapter print open
        for media in ("screen", "print"):
            browser.command("Emulation.setEmulatedMedia", media=media)
            browser.open((built / "chapters" / "03_primary_endpoint.html").as_uri(), width=800)
            shown = browser.evaluate("Array.from(document.querySelectorAll('details.ketapain-ledger:not([open]) table'))"
                                     ".map(t => t.checkVisibility())")
            assert shown and all(shown) == (media == "print"), (media, shown)


@pytest.mark.slow
def test_summary_carries_the_bibtex_and_the_bibliography_names_the_authors(built):
    import html

    summary = html.unescape(re.sub(r"<[^>]+>", "", (built / "chapters" / "00_summary.html").read_text(encoding="utf-8")))
    assert "@article{pickering2020ketapain," in summary and "@software{ketapain-reproduced," in summary
    references = (built / "references.html").read_text(encoding="utf-8")
    for family in ("Pickering", "Pereira", "Morel", "Corriger", "Giron", "Marcaillou", "Bidar-Beauvallot",
                   "Chandeze", "Lambert", "Bernard", "Delage"):
        assert family in references, family
    assert "and others" not in references


@pytest.mark.slow
def test_the_pdf_is_linked_from_the_first_page_and_the_link_resolves(built, chromium, tmp_path):
    """scripts/make_pdf.py prints the report offline, every chapter's title in it, and places it beside the first
    page, which links to it; the HTML build drops a copy printed from other inputs, and the page then states the
    command instead of a broken link. On a copy of the shared build, whose execution cache the PDF's single-page
    build reuses. Screenshots: look_intro_pdf_link_1366px.png, look_intro_pdf_command_1366px.png."""
    from ketapain_lib.report.sphinx_ext import PDF_COMMAND
    from test_book import CHAPTERS

    out = copy_of(built.parent.parent, tmp_path / "book")
    built = out / "_build" / "html"

    def without_pdf(shot: str) -> None:
        intro = (built / "intro.html").read_text(encoding="utf-8")
        assert "ketapain-pdf-link" not in intro and not (built / "ketapain_report.pdf").exists()
        with Browser(chromium) as browser:
            browser.open((built / "intro.html").as_uri(), width=DESKTOP)
            assert browser.evaluate("document.querySelector('p.ketapain-pdf code').textContent") == PDF_COMMAND
            assert browser.evaluate("document.querySelectorAll('p.ketapain-pdf a').length") == 0
            browser.screenshot(SHOTS / shot, selector="p.ketapain-pdf")

    without_pdf("look_intro_pdf_command_1366px.png")  # a plain build: the command, no link
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_pdf.py"), "--path-output", str(out)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    single_page = (out / "_build" / "singlehtml" / "intro.html").read_text(encoding="utf-8")
    titles = [re.search(r"^# (.+)$", (ROOT / "chapters" / f"{chapter}.md").read_text(encoding="utf-8"),
                        re.MULTILINE).group(1) for chapter in CHAPTERS]
    assert [title for title in titles if title.replace("&", "&amp;") not in single_page] == []
    intro = (built / "intro.html").read_text(encoding="utf-8")
    href = re.search(r'<a class="ketapain-pdf-link" href="([^"]+)"', intro).group(1)
    pdf = built / href
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 100_000
    with Browser(chromium) as browser:
        browser.open((built / "intro.html").as_uri(), width=DESKTOP)
        assert browser.evaluate("document.querySelector('a.ketapain-pdf-link').href").endswith(href)
        browser.screenshot(SHOTS / "look_intro_pdf_link_1366px.png", selector="p.ketapain-pdf")
    stamp = pdf.with_suffix(".sha256")
    stamp.write_text("another build\n", encoding="utf-8")
    build(out)  # an unchanged rebuild: the stamp no longer matches, so the copy goes
    assert not pdf.exists()
    without_pdf("look_intro_pdf_stale_1366px.png")


@pytest.mark.slow
def test_the_book_builds_on_simulated_data_with_dropouts(tmp_path_factory):
    """The same pages build with -W on `simulate --patients 40 --dropouts 3`; Figure 1 draws each drop-out in
    the period where it happened."""
    out, data = simulated_book(tmp_path_factory)
    page = (out / "_build" / "html" / "chapters" / "02_population.html").read_text(encoding="utf-8")
    svg = base64.b64decode(re.search(r'id="figure1_flow"><img src="data:image/svg\+xml;base64,([^"]+)"', page).group(1))
    joined = " ".join(_svg_texts(svg)).replace("\n", " ")
    left = [r for r in _rows(data / "disposition.csv") if r["status"] == "discontinued"]
    assert joined.count("left: ") >= 1 and "Randomized n = 40" in joined
    assert sum(int(n) for n in re.findall(r"Discontinued during period \d: (\d+)", joined)) == len(left)


#: 8 pt in CSS pixels: the smallest type a printed table should use.
PRINT_SMALLEST_PX = 8 * 96 / 72


@pytest.mark.slow
def test_in_print_table_text_is_at_least_8_points_and_the_contents_list_does_not_print(built, chromium):
    """31: under print media at an A4 page's width (794 px), every text of Tables 2, 3 and the audit's table is at
    least 8 pt (10.7 px) as laid out, and the theme's print-only in-page contents list is not printed.
    Screenshot: look_print_secondary.png."""
    measure = r"""(() => {
      const sizes = [];
      for (const frame of document.querySelectorAll('div.ketapain-table')) {
        const walker = document.createTreeWalker(frame, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const element = walker.currentNode.parentElement;
          if (!walker.currentNode.data.trim() || element.closest('.gt_footnote_marks')) continue;
          if (element.getBoundingClientRect().height === 0) continue;
          sizes.push([frame.id, parseFloat(getComputedStyle(element).fontSize), walker.currentNode.data.trim().slice(0, 30)]);
        }
      }
      const toc = document.querySelector('#jb-print-toc');
      return {print: matchMedia('print').matches, sizes,
              toc: !!toc && toc.getBoundingClientRect().height > 0 && getComputedStyle(toc).display !== 'none'};
    })()"""
    with Browser(chromium) as browser:
        browser.command("Emulation.setEmulatedMedia", media="print")
        seen = {}
        for page in ("04_secondary_endpoints", "08_audit", "a3_ledger"):
            browser.open((built / "chapters" / f"{page}.html").as_uri(), width=794)
            seen[page] = browser.evaluate(measure)
            if page == "04_secondary_endpoints":
                browser.screenshot(SHOTS / "look_print_secondary.png")
        browser.command("Emulation.setEmulatedMedia", media="")
    for page, found in seen.items():
        assert found["print"] and not found["toc"], page
        assert len(found["sizes"]) > 50, page
        assert [s for s in found["sizes"] if s[1] < PRINT_SMALLEST_PX - 0.05] == [], page
    tables = {frame for found in seen.values() for frame, _, _ in found["sizes"]}
    assert {"table2_auc-frame", "table3_questionnaires-frame"} <= tables
