"""The validator's hardening for real exports: one message per cause, no traceback, nothing read outside the data."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_validation import checksums, data, lines, messages, set_cell  # noqa: E402, F401  (the fixture)

from ketapain_lib.rawdata.read import MAX_ECHO_CHARS  # noqa: E402


def test_a_very_long_integer_is_a_message_not_a_traceback(data):
    set_cell(data / "diary.csv", 2, "average_pain", "9" * 5000)
    found = messages(data)
    assert len(found) == 1 and found[0].startswith("diary.csv:2: average_pain: value '")
    assert "is too long to be a number" in found[0] and len(found[0]) < 200  # clipped, not echoed whole


@pytest.mark.parametrize("digits", ["\u0665", "\uff15"])   # Arabic-Indic five, full-width five
def test_only_ascii_digits_are_numbers(data, digits):
    set_cell(data / "diary.csv", 2, "average_pain", digits)
    assert messages(data) == [f"diary.csv:2: average_pain: value {digits!r} is not an integer"]


def test_a_long_value_is_clipped_in_the_message(data):
    set_cell(data / "patients.csv", 2, "sex", "x" * 100_000)
    (message,) = messages(data)
    assert f"{'x' * MAX_ECHO_CHARS}'... (100000 characters)" in message and len(message) < 300


def test_two_patients_with_one_randomization_number(data):
    path = data / "randomization.csv"
    first = lines(path)[1].split(",")
    set_cell(path, 3, "randomization_number", first[lines(path)[0].split(",").index("randomization_number")])
    assert messages(data) == [f"randomization.csv:3: randomization_number: randomization number "
                              f"{first[1]} is also given at line 2"]


def test_overlapping_periods_are_refused(data):
    path = data / "infusions.csv"
    header = lines(path)[0].split(",")
    row = lines(path)[2].split(",")          # a patient's period 2
    day_before = int(lines(path)[1].split(",")[header.index("study_day")])
    set_cell(path, 3, "study_day", str(day_before + 10))
    (message,) = messages(data)
    assert message.startswith(f"infusions.csv:3: study_day: period {row[header.index('period')]} starts on day "
                              f"{day_before + 10}, inside period 1") and "overlap" in message


def test_one_blank_last_line_is_accepted_and_two_are_not(data):
    path = data / "patients.csv"
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n", encoding="utf-8")
    assert messages(data) == []
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert len(messages(data)) == 1 and messages(data)[0].endswith("blank line")


def test_a_header_only_patients_file_gives_one_message_not_thousands(data):
    path = data / "patients.csv"
    path.write_text(lines(path)[0] + "\n", encoding="utf-8")
    found = messages(data)
    assert found[0] == "patients.csv:2: file has a header but no data rows"
    assert not any("unknown patient" in m for m in found) and len(found) < 30, found[:5]


def test_a_trailing_comma_on_every_row_is_summarized(data):
    path = data / "diary.csv"
    content = lines(path)
    path.write_text("\n".join([content[0]] + [line + "," if line else line for line in content[1:]]),
                    encoding="utf-8")
    found = messages(data)
    assert len(found) <= 5, found
    assert any("more line(s) like it" in m for m in found)


def test_a_folder_or_a_link_out_of_the_data_is_not_read(data, tmp_path):
    (data / "blinding.csv").unlink()
    (data / "blinding.csv").mkdir()
    assert messages(data) == ["blinding.csv: is a directory, not a file; not read"]
    (data / "blinding.csv").rmdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("top secret\n", encoding="utf-8")
    os.symlink(secret, data / "blinding.csv")
    (message,) = messages(data)
    assert message == "blinding.csv: is a link to a file outside the data directory; not read"
    assert "secret" not in message.replace("blinding.csv", "")


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_the_export_never_writes_into_the_data_directory(data):
    before = checksums(data)
    result = subprocess.run([sys.executable, "-m", "ketapain_lib", "export", "--out", str(data / "out"),
                             "--data", str(data)], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "never writes into or around the data directory" in result.stdout
    assert "Traceback" not in result.stderr and checksums(data) == before


def test_a_real_exports_page_note_does_not_publish_the_full_path(tmp_path):
    import dataclasses

    from ketapain_lib import load_trial
    from ketapain_lib.report import book

    secure = tmp_path / "secure" / "ketapain_export"
    real = dataclasses.replace(load_trial(), source=secure, is_synthetic=False)
    text = book.provenance(real).data
    assert "ketapain_export" in text and str(secure.parent) not in text and "Synthetic" not in text


def test_an_export_folder_is_refused_if_it_holds_foreign_files_and_replaced_if_it_is_a_previous_export(tmp_path):
    from ketapain_lib.report.export import MANIFEST, prepare_output_folder

    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "old.csv").write_text("stale\n", encoding="utf-8")
    (out / MANIFEST).write_text("tables/old.csv\n", encoding="utf-8")
    prepare_output_folder(out, data)
    assert list(out.rglob("*")) == []  # the previous export's files, and only they, are gone
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not empty and not a previous export .it holds notes.txt"):
        prepare_output_folder(out, data)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
@pytest.mark.parametrize("target", ["/proc/ketapain_export", "/sys/ketapain_export", "a_file"])
def test_an_unwritable_export_folder_is_one_line_before_any_data_are_loaded(tmp_path, target):
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    out = target if target.startswith("/") else str(tmp_path / target)
    result = subprocess.run([sys.executable, "-m", "ketapain_lib", "export", "--out", out, "--data",
                             str(tmp_path / "no_such_data")], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and result.stdout.startswith("export: ") and result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr and "no_such_data" not in result.stdout  # refused before loading
