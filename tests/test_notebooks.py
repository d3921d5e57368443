"""The chapters: one source per chapter, and a stored result that nbval really checks.

An author edits ``chapters/NAME.md``; the paired ``chapters/NAME.ipynb`` holds the reviewed outputs that
nbval compares with a fresh run. These tests make the pair one source (the suite fails as soon as a cell of
the ``.md`` and of the ``.ipynb`` differ) and show that nbval fails when a printed number changes.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: where myst-nb's glue keeps a value's text in the stored notebook
GLUED = "application/papermill.record/text/plain"
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))


def _cells(notebook) -> list[tuple[str, str, list[str]]]:
    return [(cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", []))) for cell in notebook.cells]


@pytest.mark.parametrize("markdown", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_markdown_and_paired_notebook_hold_the_same_cells(markdown):
    paired = markdown.with_suffix(".ipynb")
    assert paired.is_file(), f"{paired.name} is missing: run scripts/refresh_notebooks.py {markdown.name}"
    source = _cells(jupytext.read(markdown))
    stored = _cells(jupytext.read(paired))
    assert source == stored, (f"{markdown.name} and {paired.name} differ: run "
                              f"scripts/refresh_notebooks.py chapters/{markdown.name} after reviewing the change")


def test_every_glued_value_is_text_at_its_printed_precision():
    # a float glued whole would be compared to its last bit, which depends on the machine's BLAS kernels
    for paired in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in json.loads(paired.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                if "scrapbook" in output.get("metadata", {}):
                    text = output["data"][GLUED]
                    assert re.fullmatch(r"'.*'|\"[^\"]*\"|-?\d+", text, re.S), (paired.name, text)


@pytest.mark.slow
def test_nbval_fails_when_a_printed_number_changes(tmp_path):
    chapter = ROOT / "chapters" / "03_primary_endpoint.ipynb"
    notebook = json.loads(chapter.read_text(encoding="utf-8"))
    planted = None
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get(GLUED)
            if planted is None and "scrapbook" in output.get("metadata", {}) and re.search(r"\d'$", text or ""):
                digit = text[-2]
                output["data"][GLUED] = text[:-2] + str((int(digit) + 1) % 10) + "'"
                planted = (text, output["data"][GLUED])
    assert planted is not None, "no glued number found to change"
    copy = tmp_path / chapter.name
    copy.write_text(json.dumps(notebook), encoding="utf-8")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                             "--nbval", "--nbval-current-env", str(copy)], capture_output=True, text=True,
                            cwd=ROOT / "chapters", env=env, check=False, timeout=600)
    assert result.returncode != 0, f"nbval accepted a planted change {planted}"
    assert "mismatch" in result.stdout.lower() or "failed" in result.stdout.lower(), result.stdout[-2000:]
