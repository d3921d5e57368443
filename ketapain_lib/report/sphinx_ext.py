"""Sphinx extension of the book: data validated first, the data-provenance banner, and a cache that knows its inputs.

* **Validation first.** Before any page is read, the data directory is
  validated; on a problem the build stops within seconds, printing the
  validator's ``file:line: column: problem`` lines, and no page is written.
  The tag ``synthetic_data`` is set for the generator's data, so pages say
  "synthetic" only when it is true (``{only} synthetic_data``).

* **Execution.** Every page is executed by a Jupyter kernel of its own, as
  ``execute_notebooks: cache`` does (myst-nb and jupyter-cache), the pages side by side through jupyter-cache's
  parallel executor (:mod:`ketapain_lib.report.execution`); each kernel
  reads the analyses from the report's one cache (:mod:`ketapain_lib.report.cache`),
  which the first page that needs an analysis fills. After the pages, the
  export is written into the HTML build for the pages' download links.
* **Banner.** An announcement on every page saying where the data come from,
  decided at build time from the data directory the book reads
  (``$KETAPAIN_DATA`` or the shipped synthetic data).
* **Cache invalidation.** jupyter-cache keys a notebook on its cell sources
  only, so a change in ``ketapain_lib``, the published-results file, the pins
  or the raw data would leave stale outputs. This extension hashes those
  inputs; when the hash differs from the one stamped after the last build, it
  empties the execution cache and marks every page outdated, so everything is
  executed and rendered again. An unchanged rebuild executes nothing.
* **The PDF's link.** The first page links to the whole-report PDF only when a copy printed from this build's
  inputs lies beside it (``scripts/make_pdf.py`` puts it there); otherwise it names the command that makes it,
  so the link is never broken.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

from . import cache, execution
from ..rawdata.location import DATA_DIR_ENV, data_dir, fingerprint, is_synthetic

SYNTHETIC_BANNER = (
    "Synthetic data: every number in this book is computed from a simulated dataset calibrated to the "
    f"published summaries of the KETAPAIN trial, not from patients. Set <code>{DATA_DIR_ENV}</code> to a real export to "
    "build the real report."
)
STAMP = "ketapain_inputs.sha256"
#: The book's folder (``references.bib`` and ``CITATION.cff`` live there).
ROOT = Path(__file__).resolve().parents[2]
#: Sphinx tag set when the data are the generator's, for ``{only} synthetic_data`` blocks in the pages.
SYNTHETIC_TAG = "synthetic_data"
#: The first line a build on bad data prints, before the validator's lines.
DATA_PROBLEMS = "KETAPAIN data problems (nothing was built):"


def inputs_hash(directory: Path | None = None) -> str:
    """SHA-256 over the library's code and data files and the pins (:func:`cache.library_hash`) and the raw data."""
    digest = hashlib.sha256(cache.library_hash().encode())
    directory = data_dir(directory)
    paths = sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []
    for path in paths:
        digest.update(f"data:{path.name}\n".encode())
        digest.update(path.read_bytes())
    benchmarks = Path(__file__).resolve().parents[2] / "benchmarks" / "results.csv"
    if benchmarks.is_file():  # shown by the environment appendix
        digest.update(b"benchmarks\n" + benchmarks.read_bytes())
    return digest.hexdigest()


def _validate_first(app, config) -> None:
    """Validate the data before any page is read, so a bad export stops the build at once, in its own words.

    Data whose bytes, with the library's, are those of the last successful build (its stamp, see
    :func:`_check_inputs`) were validated by that build and are not read again: an unchanged rebuild imports
    no pandas. The ``only`` directive then follows the data: ``synthetic_data`` is set for the generator's data.
    """
    directory = data_dir()
    if app.ketapain_inputs_changed:
        from ..rawdata.load import validate

        problems = validate(directory)
        if problems:
            # the validator's own lines and exit status 1; a traceback would bury them (jupyter-book prints one
            # for any exception), so the build ends here as the command line validator does
            print(DATA_PROBLEMS, *map(str, problems), sep="\n", file=sys.stderr)
            print(f"{len(problems)} problem(s) in {directory.name}; check it with: python -m ketapain_lib validate DIR",
                  file=sys.stderr)
            raise SystemExit(1)
    if is_synthetic(directory):
        app.tags.add(SYNTHETIC_TAG)


def _announce(app, config) -> None:
    directory = data_dir()
    text = SYNTHETIC_BANNER if is_synthetic(directory) else \
        f"Data: the raw export in the folder {directory.name} (fingerprint {fingerprint(directory)})"
    options = dict(config.html_theme_options or {})
    options["announcement"] = text
    config.html_theme_options = options


def _stamped_hash(app) -> str | None:
    """The inputs hash stamped by the last successful build, if any."""
    stamp = execution.execution_cache(app) / STAMP
    return stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else None


def _check_inputs(app, config=None) -> None:
    """Compare the inputs' hash with the last successful build's; if they differ, empty the execution cache."""
    execution_cache = execution.execution_cache(app)
    current = inputs_hash()
    previous = _stamped_hash(app)
    app.ketapain_inputs_changed = previous != current
    app.ketapain_inputs_hash = current
    if app.ketapain_inputs_changed and execution_cache.exists():
        shutil.rmtree(execution_cache)  # stale outputs: every notebook must run again
    # the library's own stored results live inside the build's execution cache: one folder, wiped as one;
    # the notebook kernels the build starts inherit this variable, so they all read and fill one cache
    os.environ[cache.CACHE_ENV] = str(execution_cache / "ketapain")


def _downloads(app) -> Path:
    """The folder of the HTML build that holds the export, which the pages' download links point to."""
    from .export import DOWNLOADS_FOLDER

    return Path(app.outdir) / DOWNLOADS_FOLDER


def _write_downloads(app, exception) -> None:
    """Write the export (:mod:`ketapain_lib.report.export`) into the HTML build for the pages' download links,
    when it is missing or the inputs changed; it reads the analyses and figures the pages' kernels stored."""
    from .export import MANIFEST

    if exception is not None or app.builder.name != "html":
        return  # the single-page build for the PDF has no download links to serve
    folder = _downloads(app)
    if getattr(app, "ketapain_inputs_changed", True) or not (folder / MANIFEST).is_file():
        from . import book
        from .export import export_all

        trial = book.load_trial()
        export_all(trial, str(folder), book.results(trial))


def _outdated(app, env, added, changed, removed):
    if getattr(app, "ketapain_inputs_changed", False):
        return sorted(env.found_docs - set(added) - set(changed))
    return []


def _stamp(app, exception) -> None:
    """Stamp the inputs' hash after a successful build; an unchanged stamp is not written again (a file watcher,
    such as the live preview's, then sees nothing change)."""
    if exception is None and getattr(app, "ketapain_inputs_hash", None) and app.ketapain_inputs_changed:
        cache = execution.execution_cache(app)
        cache.mkdir(parents=True, exist_ok=True)
        (cache / STAMP).write_text(app.ketapain_inputs_hash + "\n", encoding="utf-8")


def _static(app, config) -> None:
    """The book's style sheet (``report/static/ketapain.css``): plain glued numbers, scrolling table frames; and
    MathJax served from the build (:func:`_copy_mathjax`), not from a CDN: the formulas render offline."""
    config.html_static_path = [*config.html_static_path, str(Path(__file__).parent / "static")]
    app.add_css_file("ketapain.css")
    config.mathjax_path = f"{MATHJAX_FOLDER}/{MATHJAX_BUNDLE}"  # relative: under the build's _static folder


#: Where the build keeps its copy of MathJax (under ``_static``), and the component it loads: TeX and MathML
#: input, HTML output, the bundle Sphinx would otherwise fetch from a CDN.
MATHJAX_FOLDER, MATHJAX_BUNDLE = "mathjax", "tex-mml-chtml.js"
#: The parts of MathJax's ``es5`` folder the bundle loads: itself, its fonts, and the TeX packages it loads on
#: demand (``\require``, autoloaded macros).
MATHJAX_PARTS = (MATHJAX_BUNDLE, "output/chtml/fonts/woff-v2", "input/tex/extensions")


def mathjax_source() -> Path:
    """MathJax's ``es5`` folder, from the pinned ``django-static-mathjax`` package (MathJax 3.2.2, Apache-2.0,
    no dependencies; its module is ``mathjax``)."""
    import importlib.util

    spec = importlib.util.find_spec("mathjax")
    folder = Path(spec.origin).parent / "static" / "mathjax" / "es5" if spec and spec.origin else None
    if folder is None or not (folder / MATHJAX_BUNDLE).is_file():
        raise RuntimeError("MathJax is missing: install the pinned django-static-mathjax (pip install -r "
                           "requirements.txt); the book serves its formulas without a CDN")
    return folder


def _copy_mathjax(app) -> None:
    """Copy MathJax's parts (:data:`MATHJAX_PARTS`) into the build's ``_static`` folder, for the HTML builders
    (the pages, and the single page that scripts/make_pdf.py prints). A part already there is not copied again."""
    if app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / MATHJAX_FOLDER
    for part in MATHJAX_PARTS:
        origin, copy = source / part, target / part
        if origin.is_dir():
            for path in sorted(origin.rglob("*")):
                destination = copy / path.relative_to(origin)
                if path.is_file() and not (destination.is_file() and destination.stat().st_size == path.stat().st_size):
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, destination)
        elif not (copy.is_file() and copy.stat().st_size == origin.stat().st_size):
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, copy)


def bibtex_entry(key: str, bibliography: Path | None = None) -> str:
    """The BibTeX entry ``key`` of the book's bibliography (``references.bib``), as written there.

    >>> bibtex_entry("pickering2020ketapain").splitlines()[0]
    '@article{pickering2020ketapain,'
    """
    text = (bibliography or ROOT / "references.bib").read_text(encoding="utf-8")
    start = text.find("{" + key + ",")
    if start < 0:
        raise ValueError(f"references.bib: no entry with the key {key!r}")
    start = text.rfind("@", 0, start)
    depth, end = 0, start
    for end in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            break
    return text[start:end + 1]


def report_bibtex(citation: Path | None = None) -> str:
    """A BibTeX entry for this reproducible report, made from ``CITATION.cff`` (its one citation record)."""
    import yaml

    record = yaml.safe_load((citation or ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    authors = " and ".join("{" + a["name"] + "}" if "name" in a else f"{a['family-names']}, {a['given-names']}"
                           for a in record["authors"])
    fields = {"author": authors, "title": record["title"], "version": str(record["version"]),
              "note": "Cite with the fingerprint of the data it read (see This build)"}
    body = ",\n".join(f"  {name:<7} = {{{value}}}" for name, value in fields.items())
    return f"@software{{ketapain-reproduced,\n{body}\n}}"


def _bibtex_directive():
    """``{ketapain-bibtex}``: the BibTeX entries named in its argument (keys of ``references.bib``, or ``report``
    for this report, from ``CITATION.cff``), as one literal block: the citation has one source."""
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class BibtexEntries(SphinxDirective):
        required_arguments = 1
        final_argument_whitespace = True

        def run(self):
            entries = [report_bibtex() if key == "report" else bibtex_entry(key) for key in self.arguments[0].split()]
            self.env.note_dependency(str(ROOT / "references.bib"))
            self.env.note_dependency(str(ROOT / "CITATION.cff"))
            text = "\n\n".join(entries)
            block = nodes.literal_block(text, text, language="bibtex")
            block["classes"].append("ketapain-bibtex")
            return [block]

    return BibtexEntries


def _theme(app, config) -> None:
    """One search box: the theme's sidebar field (on a phone, its button in the page's header). The navbar's
    persistent search field, which the theme also shows above the page on a wide screen, is dropped."""
    options = dict(config.html_theme_options or {})
    options["navbar_persistent"] = []
    config.html_theme_options = options


#: The whole-report PDF that scripts/make_pdf.py places in the HTML build (the first page links to it), with the
#: inputs' stamp of the build it was printed from.
PDF_NAME = "ketapain_report.pdf"


def _drop_stale_pdf(app, exception) -> None:
    """Remove the HTML build's copy of the PDF when it was printed from other inputs (data, library, pins): the
    link then fails visibly until scripts/make_pdf.py prints the report again, instead of serving other data."""
    if exception is not None or app.builder.name != "html":
        return
    pdf = Path(app.outdir) / PDF_NAME
    current = getattr(app, "ketapain_inputs_hash", None)
    if pdf.is_file() and current and not pdf_is_current(Path(app.outdir), current):
        pdf.unlink()
        pdf.with_suffix(".sha256").unlink(missing_ok=True)


#: The first page's paragraph about the PDF (``<p class="ketapain-pdf">`` in ``intro.md``), in its two states:
#: a link when a PDF printed from this build's inputs lies beside the page, otherwise the command that makes it.
#: The link is never broken: the paragraph follows the file.
PDF_PARAGRAPH = re.compile(r'<p class="ketapain-pdf">.*?</p>', re.S)
PDF_COMMAND = "python scripts/make_pdf.py"
PDF_LINKED = ('<p class="ketapain-pdf">The whole report as one PDF, for reading offline and printing: '
              f'<a class="ketapain-pdf-link" href="{PDF_NAME}" download>download the PDF</a> (printed from the '
              'same executed chapters as these pages).</p>')
PDF_TO_MAKE = ('<p class="ketapain-pdf">The whole report as one PDF, for reading offline and printing, is made by '
               f'the command <code>{PDF_COMMAND}</code>, which prints the same executed chapters and places the PDF '
               'beside this page, with a link to it here.</p>')


def pdf_is_current(html_dir: Path, inputs_hash: str | None = None) -> bool:
    """Whether the HTML build in ``html_dir`` holds a PDF printed from its inputs (its stamp is ``inputs_hash``,
    or, without one, any stamp)."""
    pdf = Path(html_dir) / PDF_NAME
    stamp = pdf.with_suffix(".sha256")
    if not (pdf.is_file() and stamp.is_file()):
        return False
    return inputs_hash is None or stamp.read_text(encoding="utf-8").strip() == inputs_hash.strip()


def show_pdf_link(page: Path, linked: bool | None) -> None:
    """Write the PDF paragraph of ``page`` (the first page of a build) in its state: the link (``linked``), the
    command that makes the PDF (not ``linked``), or nothing (None: the printed single page, which is the PDF)."""
    page = Path(page)
    if not page.is_file():
        return
    text = page.read_text(encoding="utf-8")
    state = "" if linked is None else PDF_LINKED if linked else PDF_TO_MAKE
    changed = PDF_PARAGRAPH.sub(lambda _: state, text)
    if changed != text:
        page.write_text(changed, encoding="utf-8")


def _pdf_paragraph(app, exception) -> None:
    """After :func:`_drop_stale_pdf`: the first page links to the PDF only when one from these inputs is there."""
    if exception is not None or app.builder.name not in ("html", "singlehtml"):
        return
    page = Path(app.outdir) / f"{app.config.root_doc}.html"
    if app.builder.name == "singlehtml":
        show_pdf_link(page, None)
    else:
        show_pdf_link(page, pdf_is_current(Path(app.outdir), getattr(app, "ketapain_inputs_hash", None)))


def _quick_exit(app, exception) -> None:
    """The build is over: freeze the heap, so that the interpreter's exit skips a last collection over every
    page's objects (about a second of a cold build's wall time)."""
    import gc

    gc.freeze()


def setup(app):
    # _config.yml loads this extension through sphinx.local_extensions, after jupyter-book's own; the inputs are
    # checked once the configuration (where the execution cache lives) is known, then the data are validated
    app.connect("config-inited", _check_inputs, priority=90)
    app.connect("config-inited", _validate_first, priority=100)
    app.connect("config-inited", _announce)
    app.connect("config-inited", _static)
    app.connect("config-inited", _theme)
    app.add_directive("ketapain-bibtex", _bibtex_directive())
    app.connect("builder-inited", _copy_mathjax)
    app.connect("env-get-outdated", _outdated)
    # after the outdated pages are known (and a stale cache emptied), before the first is read
    app.connect("env-before-read-docs", execution.execute_pages)
    app.connect("build-finished", _write_downloads)
    app.connect("build-finished", _stamp)
    app.connect("build-finished", _drop_stale_pdf)
    app.connect("build-finished", _pdf_paragraph, priority=600)  # after the stale copy is dropped
    app.connect("build-finished", _quick_exit, priority=999)  # after every other handler
    return {"parallel_read_safe": True, "parallel_write_safe": True}
