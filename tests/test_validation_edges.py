"""The validator's and the generator's edges (issue 26, items 10 to 13): what a user reads for an unclosed quote
at the end of a file, a file given as the data directory, a broken link, a long valid field; and synthetic
trials of any size that can hold the design."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_validation import data, lines, messages  # noqa: E402, F401  (the fixture)

from ketapain_lib.synthetic.domains import exact_counts  # noqa: E402
from ketapain_lib.synthetic.simulate import rounding_note, simulate_trial  # noqa: E402
from ketapain_lib.rawdata.load import validate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- 10. an unclosed quote on the last line

@pytest.mark.parametrize("final_newline", [True, False])
def test_10_an_unclosed_quote_on_the_last_line_is_named(data, final_newline):
    path = data / "diary.csv"
    content = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    content[-1] = '"' + content[-1]
    path.write_text("\n".join(content) + ("\n" if final_newline else ""), encoding="utf-8")
    assert messages(data) == [f"diary.csv:{len(content)}: unclosed quote: a quote in this line is never closed, so "
                              "the field runs to the end of the file"]


def test_10_a_quote_inside_a_value_is_not_an_unclosed_quote(data):
    path = data / "concomitant_changes.csv"
    content = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    content[1] = content[1] + ' 5" long'                 # a quote inside an unquoted field: a literal character
    content[2] = ",".join(content[2].split(",")[:4])      # and a short row elsewhere
    path.write_text("\n".join(content) + "\n", encoding="utf-8")
    assert messages(data) == ["concomitant_changes.csv:3: row has 4 fields but the header has 7"]


# --------------------------------------------------------------------------- 11. a file as the data directory

def test_11_a_file_given_as_the_data_directory_is_named_a_file(tmp_path):
    file = tmp_path / "diary.csv"
    file.write_text("patient_id\n", encoding="utf-8")
    assert messages(file) == [f"{file}: is a file, not a data directory (give the folder that holds the CSV files)"]
    assert messages(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: data directory not found"]


# --------------------------------------------------------------------------- 12. what a path that is not a file is

def test_12_a_broken_link_is_named_a_broken_link(data):
    (data / "patients.csv").unlink()
    os.symlink("nowhere.csv", data / "patients.csv")
    assert messages(data) == ["patients.csv: is a broken symbolic link (its target 'nowhere.csv' does not exist); "
                              "not read"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_12_a_named_pipe_is_named_a_pipe(data):
    (data / "blinding.csv").unlink()
    os.mkfifo(data / "blinding.csv")
    assert messages(data) == ["blinding.csv: is a named pipe, not a file; not read"]


def test_12_a_long_valid_field_is_read_and_only_the_short_row_is_reported(data):
    path = data / "concomitant_changes.csv"
    content = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    header, fields = content[0].split(","), content[1].split(",")
    fields[header.index("reason")] = "x" * 200_000          # 200 KB, valid free text
    content[1] = ",".join(fields)
    content[2] = ",".join(content[2].split(",")[:4])
    path.write_text("\n".join(content) + "\n", encoding="utf-8")
    assert messages(data) == ["concomitant_changes.csv:3: row has 4 fields but the header has 7"]


# --------------------------------------------------------------------------- 13. trials of other sizes

def test_13_shares_are_rounded_to_whole_patients_by_largest_remainder():
    aetiologies = {"surgery": 45, "radiculopathy": 35, "trauma": 10, "diabetes": 5, "chemotherapy": 5}
    assert exact_counts(aetiologies, 20) == {"surgery": 9, "radiculopathy": 7, "trauma": 2, "diabetes": 1,
                                              "chemotherapy": 1}
    for n in (6, 7, 13, 30, 41):
        counts = exact_counts(aetiologies, n)
        assert sum(counts.values()) == n                     # a partition stays a partition
        assert all(abs(counts[k] - share * n / 100) < 1 for k, share in aetiologies.items())
    assert exact_counts(aetiologies, 30) == {"surgery": 14, "radiculopathy": 11, "trauma": 3, "diabetes": 1,
                                              "chemotherapy": 1}
    assert exact_counts({"antidepressant": 65, "tramadol": 20}, 30) == {"antidepressant": 20, "tramadol": 6}


def test_13_the_description_states_the_rounding():
    assert rounding_note(None) == "" and rounding_note(20) == ""
    assert rounding_note(30) == (
        "These files hold 30 patients, not the trial's 20: each published count is scaled to 30 patients and "
        "rounded to a whole patient. Shares that add up to 100% (the pain aetiologies) are rounded by largest "
        "remainder, so that they add up to 30; other shares (baseline drugs, adverse events) to the nearest whole "
        "patient, halves up; a patient with an event that no rounded term count covers gets the treatment's most "
        "frequent term. Aetiologies not a whole number of patients: surgery 14 (45% of 30 = 13.5); radiculopathy "
        "11 (35% of 30 = 10.5); diabetes 1 (5% of 30 = 1.5); chemotherapy 1 (5% of 30 = 1.5).\n\n")


def test_13_only_a_size_that_cannot_hold_the_design_is_refused():
    with pytest.raises(ValueError) as error:
        simulate_trial(patients=5)
    assert str(error.value) == "5 patient(s) cannot hold the design: its 6 sequences need at least 6 patients, one per sequence"
    with pytest.raises(ValueError) as error:
        simulate_trial(patients=8, dropouts=9)
    assert str(error.value) == "drop-outs must be 0 to the 8 patients, not 9"


@pytest.mark.slow
@pytest.mark.parametrize("patients", [7, 30])
def test_13_simulate_writes_a_valid_trial_of_another_size(tmp_path, patients):
    out = tmp_path / "trial"
    run = subprocess.run([sys.executable, "-m", "ketapain_lib", "simulate", "--patients", str(patients), "--out",
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert validate(out) == []
    assert len(lines(out / "patients.csv")) - 2 == patients      # header and final empty line
    assert rounding_note(patients) in (out / "SYNTHETIC_DATA.md").read_text(encoding="utf-8")


def test_13_the_command_line_says_why_a_size_is_refused(tmp_path):
    run = subprocess.run([sys.executable, "-m", "ketapain_lib", "simulate", "--patients", "4", "--out",
                          str(tmp_path / "x")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout) == (1, "simulate: 4 patient(s) cannot hold the design: its 6 sequences "
                                               "need at least 6 patients, one per sequence\n")
