"""The book builds offline, without a single Sphinx warning, and every page says where its data come from."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ketapain_lib import sphinx_ext
from ketapain_lib.data import SHIPPED_DATA_DIR, SYNTHETIC_MARKER
from ketapain_lib.schema import TABLES

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ["01_methods", "02_population", "03_primary_endpoint", "04_secondary_endpoints", "05_safety",
            "06_discussion", "a1_data_dictionary", "a2_synthetic_data"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "-n",
                             "--keep-going"], capture_output=True, text=True, cwd=ROOT, check=False,
                            env={k: v for k, v in os.environ.items() if k != "KETAPAIN_DATA"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html", result.stdout + result.stderr


def test_build_has_no_sphinx_warning(built):
    _, log = built
    sphinx_warnings = [line for line in log.splitlines()
                       if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line) and "IPKernelApp" not in line]
    assert sphinx_warnings == []


def test_every_chapter_is_built_with_the_synthetic_data_banner_and_no_error(built):
    html, _ = built
    for chapter in CHAPTERS:
        page = (html / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        assert sphinx_ext.SYNTHETIC_BANNER.split(":")[0] in page, chapter
        assert "Synthetic data." in page, chapter  # the admonition of the page itself
        assert "Traceback" not in page and "output error" not in page, chapter
    assert "data in this book are synthetic" in (html / "intro.html").read_text(encoding="utf-8")


def test_data_dictionary_page_lists_every_column_of_the_contract(built):
    html, _ = built
    page = (html / "chapters" / "a1_data_dictionary.html").read_text(encoding="utf-8")
    for table in TABLES.values():
        assert table.filename in page
        for column in table.column_names:
            assert f"<td>{column}</td>" in page, (table.name, column)


def test_calibration_page_shows_every_target(built):
    from ketapain_lib.published import calibration_targets

    html, _ = built
    page = (html / "chapters" / "a2_synthetic_data.html").read_text(encoding="utf-8")
    for key in calibration_targets().index:
        assert f"<td>{key}</td>" in page, key


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
