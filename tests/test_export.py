"""The export command: every table, figure and the ledger, as recorded (fresh recomputations: the portability tier)."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from ketapain_lib.provenance.published import published_results

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

    from ketapain_lib.report.export import DATASETS, MANIFEST
    from ketapain_lib.report.registry import OUTPUTS

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "scripts"))
    from export_manifest import manifest

    written = manifest(shipped_export)
    expected = set()
    for entry in (entry for entry in OUTPUTS.values() if entry.exported):  # not the build's own tables
        expected |= {f"{entry.path}.png", f"{entry.path}.svg"} if entry.kind == "figure" else {entry.path}
    expected |= {f"tables/{name}.csv" for name in DATASETS} | {MANIFEST}
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
