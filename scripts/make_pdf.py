"""Make a PDF of the whole report, offline: the book as one HTML page, printed by headless Chromium.

    python scripts/make_pdf.py                      # writes _build/pdf/ketapain_report.pdf (and a copy in _build/html)
    python scripts/make_pdf.py --path-output DIR    # beside an HTML build made with --path-output DIR

It builds the book with Sphinx's ``singlehtml`` builder (the chapters' executed outputs come from the same
cache as the HTML build, so nothing runs twice), then prints that page with Debian's Chromium
(``apt-get install chromium``) at A4, backgrounds on, without the browser's header and footer. The print
style sheet of the book keeps tables and figures inside the page.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ketapain_lib.report.sphinx_ext import PDF_NAME, pdf_is_current, show_pdf_link  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path-output", type=Path, default=ROOT,
                        help="the folder holding _build (jupyter-book's --path-output): its execution cache is reused")
    output = parser.parse_args().path_output.resolve()
    OUT = output / "_build" / "pdf" / PDF_NAME  # noqa: N806 (the one output path)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("make_pdf: Debian's chromium is needed (apt-get install chromium)")
        return 1
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    build = subprocess.run([str(jupyter_book), "build", str(ROOT), "--builder", "singlehtml", "--path-output",
                            str(output)], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    if build.returncode != 0:
        print(build.stdout[-3000:] + build.stderr[-3000:])
        return 1
    # the single page is the root document's (index.html only redirects to it)
    root = next(line.split(":", 1)[1].strip() for line in (ROOT / "_toc.yml").read_text(encoding="utf-8").splitlines()
                if line.startswith("root:"))
    page = output / "_build" / "singlehtml" / f"{root}.html"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
                    "--virtual-time-budget=20000", f"--print-to-pdf={OUT}", page.as_uri()],
                   capture_output=True, text=True, timeout=300, check=False)
    if not OUT.is_file() or OUT.stat().st_size < 10_000:
        print(f"make_pdf: Chromium did not write {OUT}")
        return 1
    # the book's first page links to the PDF beside it: a copy in the HTML build, with the inputs' stamp of the
    # build it was printed from (the HTML build removes a copy whose stamp is no longer its own)
    html = output / "_build" / "html"
    if html.is_dir():
        shutil.copyfile(OUT, html / OUT.name)
        stamp = output / "_build" / ".jupyter_cache" / "ketapain_inputs.sha256"
        if stamp.is_file():
            shutil.copyfile(stamp, html / f"{OUT.stem}.sha256")
        # the first page now links to the copy (the build shows the command that makes it while there is none)
        show_pdf_link(html / f"{root}.html", pdf_is_current(html))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB) and its copy in {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
