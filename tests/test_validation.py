"""Bad raw data: every kind of fault gets the exact message a user sees, and the files are never touched."""
from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ketapain_lib import DataValidationError, load_trial, validate
from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR
from ketapain_lib.rawdata.schema import TABLES

PATIENTS_HEADER = "patient_id,sex,age_years,weight_kg,height_cm,pain_duration_years,pain_aetiology,dn4_score"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A private copy of the shipped synthetic data, to corrupt."""
    target = tmp_path / "export"
    shutil.copytree(SHIPPED_DATA_DIR, target)
    return target


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def set_line(path: Path, number: int, text: str) -> None:
    """Replace physical line ``number`` (1 = header) of a CSV file."""
    content = lines(path)
    content[number - 1] = text
    path.write_text("\n".join(content), encoding="utf-8")


def set_cell(path: Path, number: int, column: str, value: str) -> None:
    header = lines(path)[0].split(",")
    fields = lines(path)[number - 1].split(",")
    fields[header.index(column)] = value
    set_line(path, number, ",".join(fields))


def find_line(path: Path, prefix: str) -> int:
    """Physical line number of the first line starting with ``prefix``."""
    return next(i for i, text in enumerate(lines(path), 1) if text.startswith(prefix))


def checksums(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def messages(directory: Path) -> list[str]:
    """Problems as the user reads them, with the directory prefix removed."""
    return [str(p).replace(f"{directory}{os.sep}", "") for p in validate(directory)]


# --------------------------------------------------------------------------- one fault at a time

def test_shipped_data_are_valid():
    assert validate() == []


def test_out_of_range_score(data):
    set_cell(data / "diary.csv", 2, "average_pain", "11")
    assert messages(data) == ["diary.csv:2: average_pain: value '11' is outside the range 0 to 10"]


def test_non_integer_score(data):
    set_cell(data / "diary.csv", 3, "maximal_pain", "6.5")
    assert messages(data) == ["diary.csv:3: maximal_pain: value '6.5' is not an integer"]


def test_text_in_a_numeric_column(data):
    set_cell(data / "patients.csv", 2, "weight_kg", "heavy")
    assert messages(data) == ["patients.csv:2: weight_kg: value 'heavy' is not a number"]


def test_unknown_treatment(data):
    set_cell(data / "infusions.csv", 2, "treatment", "morphine")
    assert messages(data) == [
        "infusions.csv:2: treatment: unknown value 'morphine' (allowed: placebo, ketamine, ketamine_magnesium)"]


def test_missing_column(data):
    path = data / "blinding.csv"
    path.write_text("\n".join(",".join(line.split(",")[:2]) for line in lines(path)[:-1]) + "\n", encoding="utf-8")
    assert messages(data) == ["blinding.csv:1: guess: required column is missing"]


def test_extra_column(data):
    path = data / "patients.csv"
    content = lines(path)
    path.write_text("\n".join([content[0] + ",comment"] + [c + ",ok" for c in content[1:-1]]) + "\n",
                    encoding="utf-8")
    assert messages(data) == [f"patients.csv:1: comment: unexpected column (expected: {PATIENTS_HEADER})"]


def test_duplicated_diary_day(data):
    path = data / "diary.csv"
    content = lines(path)
    content.insert(3, content[1])  # day 0 of P01, period 1, given a second time on line 4
    path.write_text("\n".join(content), encoding="utf-8")
    assert messages(data) == [
        "diary.csv:4: day: duplicate row for (patient_id=P01, period=1, day=0); first given at line 2"]


def test_patient_with_two_placebo_periods(data):
    path = data / "infusions.csv"
    placebo_line = find_line(path, "P03,")
    rows = [lines(path)[n - 1].split(",") for n in range(placebo_line, placebo_line + 3)]
    placebo = next(r for r in rows if r[3] == "placebo")
    other = next(r for r in rows if r[3] == "ketamine")
    other_line = placebo_line + rows.index(other)
    for column, value in (("treatment", "placebo"), ("ketamine_dose_mg", "0")):
        set_cell(path, other_line, column, value)
    sequence = lines(data / "randomization.csv")[find_line(data / "randomization.csv", "P03,") - 1].split(",")[2]
    placebo_period_line = placebo_line + rows.index(placebo)
    first, second = sorted([(int(placebo[1]), placebo_period_line), (int(other[1]), other_line)])
    rand_line = find_line(data / "randomization.csv", "P03,")
    assert sorted(messages(data)) == sorted([
        f"infusions.csv:{other_line}: treatment: placebo in period {other[1]} contradicts sequence {sequence} "
        f"of randomization.csv:{rand_line} (expects ketamine)",
        f"infusions.csv:{second[1]}: treatment: patient P03 receives placebo in periods {first[0]} and {second[0]} "
        f"(lines {first[1]} and {second[1]}); each treatment must be given once",
    ])


def test_diary_row_for_an_unknown_patient(data):
    set_cell(data / "diary.csv", 2, "patient_id", "P99")
    assert messages(data) == ["diary.csv:2: patient_id: unknown patient 'P99' (not in patients.csv)"]


def test_empty_file(data):
    (data / "blinding.csv").write_text("", encoding="utf-8")
    assert messages(data) == ["blinding.csv:1: file is empty (expected a header line: patient_id,period,guess)"]


def test_missing_file(data):
    (data / "concomitant_changes.csv").unlink()
    assert messages(data) == ["concomitant_changes.csv: file not found (expected the concomitant_changes table)"]


def test_semicolon_delimiter(data):
    path = data / "randomization.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    assert messages(data) == ["randomization.csv:1: columns are separated by a semicolon, not a comma "
                              "(expected header: patient_id,randomization_number,sequence)"]


def test_not_utf8(data):
    path = data / "screening.csv"
    line = find_line(path, "S")
    content = lines(path)
    fields = content[line - 1].split(",")
    fields[3] = "refus\u00e9"
    content[line - 1] = ",".join(fields)
    path.write_bytes("\n".join(content).encode("latin-1"))
    assert messages(data) == [f"screening.csv:{line}: file is not valid UTF-8 (byte 0xE9); re-export it as UTF-8"]


def test_row_with_missing_field(data):
    set_line(data / "diary.csv", 5, "P01,1,3,4,5")
    assert messages(data) == ["diary.csv:5: row has 5 fields but the header has 6"]


def test_missing_required_value(data):
    set_cell(data / "patients.csv", 3, "sex", "")
    assert messages(data) == ["patients.csv:3: sex: missing value (the column is required)"]


def test_questionnaire_score_out_of_its_range(data):
    path = data / "questionnaires.csv"
    line = find_line(path, "P02,end_of_period,2,hads_anxiety,")
    set_cell(path, line, "value", "25")
    assert messages(data) == [f"questionnaires.csv:{line}: value: hads_anxiety value 25 is outside its range 0 to 21"]


def test_questionnaire_on_an_unexpected_visit(data):
    path = data / "questionnaires.csv"
    path.write_text(path.read_text(encoding="utf-8") + "P01,inclusion,,pgic_global,4\n", encoding="utf-8")
    last = len(lines(path)) - 1
    assert messages(data) == [f"questionnaires.csv:{last}: visit: pgic_global is not collected at the inclusion "
                              "visit (collected at: end_of_period)"]


def test_missing_period(data):
    path = data / "infusions.csv"
    line = find_line(path, "P02,3,")
    content = lines(path)
    del content[line - 1]
    path.write_text("\n".join(content), encoding="utf-8")
    questionnaire_line = find_line(data / "questionnaires.csv", "P02,end_of_period,3,")
    expected = [
        f"disposition.csv:{find_line(data / 'disposition.csv', 'P02,')}: status: patient P02 is 'completed' but has "
        "no infusion for period(s) 3 in infusions.csv (a missing period needs status 'discontinued')",
        f"diary.csv:{find_line(data / 'diary.csv', 'P02,3,')}: period: patient P02 has no infusion in period 3 "
        "(36 rows, the first here)",
        f"questionnaires.csv:{questionnaire_line}: period: patient P02 has no infusion in period 3 "
        "(14 rows, the first here)",
    ]
    events = [i for i, text in enumerate(lines(data / "adverse_events.csv"), 1) if ",P02,3," in text]
    if events:  # the adverse events of that period, if the patient had any, are orphans too
        count = f" ({len(events)} rows, the first here)" if len(events) > 1 else ""
        expected.append(f"adverse_events.csv:{events[0]}: period: patient P02 has no infusion in period 3{count}")
    expected.append(
        f"blinding.csv:{find_line(data / 'blinding.csv', 'P02,3,')}: period: patient P02 has no infusion in period 3")
    assert messages(data) == expected


def test_ketamine_dose_not_matching_weight(data):
    path = data / "infusions.csv"
    line = next(i for i, t in enumerate(lines(path), 1) if ",ketamine," in t)
    set_cell(path, line, "ketamine_dose_mg", "90")
    pid = lines(path)[line - 1].split(",")[0]
    weight = lines(data / "patients.csv")[find_line(data / "patients.csv", pid + ",") - 1].split(",")[3]
    assert messages(data) == [
        f"infusions.csv:{line}: ketamine_dose_mg: 90 mg of ketamine is not 0.5 mg/kg of the recorded weight "
        f"{weight} kg (expected about {0.5 * float(weight):.1f} mg)"]


def test_randomized_person_without_patient_id(data):
    path = data / "screening.csv"
    line = next(i for i, text in enumerate(lines(path), 1) if ",randomized,P01," in text)
    set_cell(path, line, "patient_id", "")
    assert messages(data) == [
        f"screening.csv:{line}: patient_id: a randomized person must have a patient id",
        "patients.csv:2: patient_id: patient P01 has no randomized row in screening.csv",
    ]


def test_blank_line_and_stray_spaces(data):
    path = data / "baseline_drugs.csv"
    content = lines(path)
    content.insert(2, "")
    path.write_text("\n".join(content), encoding="utf-8")
    set_cell(data / "patients.csv", 4, "sex", " male")
    assert messages(data) == ["patients.csv:4: sex: value ' male' has leading or trailing spaces",
                              "baseline_drugs.csv:3: blank line"]


def test_missing_data_directory(tmp_path):
    assert messages(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: data directory not found"]


# --------------------------------------------------------------------------- several faults at once

PLANTED = {
    "diary.csv": ("average_pain", "12", "value '12' is outside the range 0 to 10"),
    "patients.csv": ("dn4_score", "2", "value '2' is outside the range 4 to 10"),
    "adverse_events.csv": ("relatedness", "likely", "unknown value 'likely'"),
    "blinding.csv": ("guess", "saline", "unknown value 'saline'"),
    "questionnaires.csv": ("score", "bdi_total", "unknown value 'bdi_total'"),
}


@pytest.fixture
def corrupted(data: Path) -> Path:
    for file, (column, value, _) in PLANTED.items():
        set_cell(data / file, 7, column, value)
    return data


def test_every_planted_fault_is_named_at_once(corrupted):
    result = messages(corrupted)
    for file, (column, _, message) in PLANTED.items():
        assert any(m.startswith(f"{file}:7: {column}: {message}") for m in result), (file, result)


def test_loading_bad_data_raises_with_every_problem(corrupted):
    with pytest.raises(DataValidationError) as caught:
        load_trial(corrupted)
    assert len(caught.value.problems) >= len(PLANTED)
    assert "diary.csv:7: average_pain" in str(caught.value)


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_nothing_is_written_into_the_data_directory(corrupted):
    before = checksums(corrupted)
    mtimes = {p.name: p.stat().st_mtime_ns for p in corrupted.iterdir()}
    validate(corrupted)
    with pytest.raises(DataValidationError):
        load_trial(corrupted)
    run_cli("validate", str(corrupted))
    assert checksums(corrupted) == before
    assert {p.name: p.stat().st_mtime_ns for p in corrupted.iterdir()} == mtimes
    assert sorted(p.name for p in corrupted.iterdir()) == sorted(before)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ketapain_lib", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_cli_validate_lists_problems_without_traceback(corrupted):
    result = run_cli("validate", str(corrupted))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    listed = result.stdout.strip().split("\n")
    assert [line.replace(f"{corrupted}{os.sep}", "") for line in listed] == messages(corrupted)
    assert f"problem(s) found in {corrupted}" in result.stderr


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_cli_validate_ok_on_shipped_data():
    result = run_cli("validate")
    assert (result.returncode, result.stdout) == (0, "OK\n")


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_data_directory_from_environment(corrupted):
    result = run_cli("validate", env={"KETAPAIN_DATA": str(corrupted)})
    assert result.returncode == 1 and "diary.csv:7: average_pain" in result.stdout


@pytest.mark.parametrize("table_column", [(t.filename, c) for t in TABLES.values() for c in t.column_names],
                         ids=lambda tc: f"{tc[0]}-{tc[1]}")
@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_every_missing_column_is_one_clean_message(data, table_column):
    filename, column = table_column
    path = data / filename
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    index = rows[0].index(column)
    path.write_text("".join(",".join(r[:index] + r[index + 1:]) + "\n" for r in rows), encoding="utf-8")
    assert messages(data) == [f"{filename}:1: {column}: required column is missing"]


def test_unclosed_quote_is_located_where_it_starts(data):
    path = data / "diary.csv"
    content = lines(path)
    content[1] = content[1].replace("P01,", '"P01,', 1)
    path.write_text("\n".join(content), encoding="utf-8")
    last = len(content) - 1 if content[-1] == "" else len(content)
    assert messages(data)[0] == ("diary.csv:2: unclosed quote: a quote in this line is never closed, so the field "
                                 f"runs to the end of the file (line {last})")
