"""The export command: every table, figure and the ledger, as recorded (fresh recomputations: the portability tier)."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from ketapain_lib.paper.published import published_results

pytestmark = pytest.mark.slow  # each test runs the export command end to end


def export(out) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ketapain_lib", "export", "--out", str(out)], capture_output=True,
                          text=True, check=False)


def test_export_names_every_figure_and_table_of_the_paper_and_stamps_no_time(shipped_export):
    """The export's files; that a fresh computation writes the same bytes is checked by the portability tier
    (fresh caches, other kernels and re-stored data, against the recorded manifest)."""
    first = shipped_export
    names = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    for figure in ("figure1_flow", "figure2_daily_pain", "figure3_auc_windows", "figure4a_patients_day7",
                   "figure4b_patients_day35"):
        assert f"figures/{figure}.png" in names and f"figures/{figure}.svg" in names
    for table in ("table1_characteristics", "table2_auc", "table3_questionnaires", "table4_concomitant_changes"):
        assert f"tables/{table}.csv" in names
    svg = (first / "figures" / "figure2_daily_pain.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg  # no timestamp


def test_export_writes_every_registry_output_and_matches_the_recorded_manifest(shipped_export):
    """Every table and figure of every chapter is exported, byte for byte as recorded (scripts/export_manifest.py)."""
    import json
    from pathlib import Path

    from ketapain_lib.report.export import DATA_SOURCE, DATASETS, MANIFEST
    from ketapain_lib.report.registry import OUTPUTS

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "scripts"))
    from export_manifest import manifest

    written = manifest(shipped_export)
    expected = set()
    for entry in (entry for entry in OUTPUTS.values() if entry.exported):  # not the build's own tables
        expected |= {f"{entry.path}.png", f"{entry.path}.svg"} if entry.kind == "figure" else {entry.path}
    expected |= {f"tables/{name}.csv" for name in DATASETS} | {MANIFEST, DATA_SOURCE}
    assert set(written) == expected
    recorded = json.loads((root / "tests" / "reference" / "export_sha256.json").read_text(encoding="utf-8"))
    changed = sorted(path for path in recorded if written.get(path) != recorded[path])
    assert changed == [] and set(written) == set(recorded), (
        f"changed: {changed}; new: {sorted(set(written) - set(recorded))}; review, then run "
        "scripts/export_manifest.py")


def test_ledger_csv_lists_every_published_number(shipped_export):
    ledger = pd.read_csv(shipped_export / "ledger.csv")
    assert list(ledger["key"]) == list(published_results().index)
    assert set(ledger["status"]) <= {"match", "differs", "input", "log scale", "not computed"}
    assert (ledger["status"] != "not computed").all()
    assert {"published", "reproduced", "difference", "tolerance"} <= set(ledger.columns)


def test_export_refuses_bad_data_with_the_validation_message(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    result = subprocess.run([sys.executable, "-m", "ketapain_lib", "export", "--out", str(tmp_path / "out"),
                             "--data", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert f"{bad}/screening.csv: file not found" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_synthetic_export_says_so_in_its_manifest_its_metadata_and_every_figure_and_keeps_plain_csvs(shipped_export):
    """Issue 24 A6: the manifest's first line, the metadata file beside the CSVs and each figure's footer (PNG and
    SVG) say "synthetic"; the CSVs stay machine-readable (no comment line, no extra column)."""
    import json

    from ketapain_lib.report.export import DATA_SOURCE, MANIFEST, SYNTHETIC_STATEMENT, manifest_files
    from ketapain_lib.report.registry import FOOTER_ID, OUTPUTS

    manifest = (shipped_export / MANIFEST).read_text(encoding="utf-8")
    assert manifest.splitlines()[0] == f"# {SYNTHETIC_STATEMENT}"
    assert all((shipped_export / name).is_file() for name in manifest_files(manifest))
    source = json.loads((shipped_export / DATA_SOURCE).read_text(encoding="utf-8"))
    assert source["synthetic"] is True and "synthetic" in source["statement"].lower()
    figures = [entry.path for entry in OUTPUTS.values() if entry.kind == "figure" and entry.exported]
    assert figures
    for path in figures:
        svg = (shipped_export / f"{path}.svg").read_text(encoding="utf-8")
        assert f'id="{FOOTER_ID}"' in svg, path  # the footer (its words drawn as glyphs)
    for csv in sorted((shipped_export / "tables").glob("*.csv")) + [shipped_export / "ledger.csv"]:
        frame = pd.read_csv(csv)
        assert not frame.columns[0].startswith("#") and "synthetic" not in " ".join(map(str, frame.columns)), csv


def test_a_real_export_carries_no_synthetic_mark(tmp_path, shipped_export):
    """The same export from a real export (no synthetic marker): no "synthetic" in the manifest, metadata or figures."""
    import json
    import shutil

    from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR, SYNTHETIC_MARKER
    from ketapain_lib.report.export import DATA_SOURCE, MANIFEST
    from ketapain_lib.report.registry import FOOTER_ID, FOOTER_INCHES

    real = tmp_path / "real"
    shutil.copytree(SHIPPED_DATA_DIR, real)
    (real / SYNTHETIC_MARKER).unlink()
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "ketapain_lib", "export", "--out", str(out), "--data", str(real)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "synthetic" not in (out / MANIFEST).read_text(encoding="utf-8").lower()
    source = json.loads((out / DATA_SOURCE).read_text(encoding="utf-8"))
    assert source["source"] == "raw export" and "synthetic" not in json.dumps(source).lower()
    assert FOOTER_ID not in (out / "figures" / "figure2_daily_pain.svg").read_text(encoding="utf-8")

    def png_height(path) -> int:  # the PNG header: width and height as big-endian integers at bytes 16-24
        return int.from_bytes(path.read_bytes()[20:24], "big")

    footer = png_height(shipped_export / "figures" / "figure2_daily_pain.png") - png_height(
        out / "figures" / "figure2_daily_pain.png")
    assert abs(footer - FOOTER_INCHES * 220) <= 1  # the synthetic figure's strip, at the PNG's 220 dpi
