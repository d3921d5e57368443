"""Drop-outs: the contract records them, the validator checks them, and the analyses take them (intention to treat).

KETAPAIN had no drop-out, but an intention-to-treat analysis must take them, as must an interim export. A
patient who discontinues keeps the periods begun before, and nothing after; only a discontinuation explains
a missing period.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_validation import data, find_line, lines, messages, set_line  # noqa: E402, F401  (the fixture)

from ketapain_lib import load_trial  # noqa: E402
from ketapain_lib.stats import derive  # noqa: E402


def drop_rows(path: Path, prefix: str) -> int:
    """Remove the lines starting with ``prefix``; return how many."""
    content = lines(path)
    kept = [text for text in content if not text.startswith(prefix)]
    path.write_text("\n".join(kept), encoding="utf-8")
    return len(content) - len(kept)


def discontinue_p02_after_period_2(data: Path, day: str = "50", reason: str = "adverse_event") -> None:
    set_line(data / "disposition.csv", find_line(data / "disposition.csv", "P02,"), f"P02,discontinued,{day},{reason}")
    for name in ("infusions", "diary", "blinding", "concomitant_changes"):
        drop_rows(data / f"{name}.csv", "P02,3,")
    content = lines(data / "adverse_events.csv")  # rows start with the event id, then patient and period
    (data / "adverse_events.csv").write_text("\n".join(t for t in content if ",P02,3," not in t), encoding="utf-8")
    for visit in ("end_of_period,2,", "end_of_period,3,"):
        drop_rows(data / "questionnaires.csv", f"P02,{visit}")


def test_a_discontinued_patient_without_later_periods_is_valid(data):
    discontinue_p02_after_period_2(data)
    assert messages(data) == []


def test_completed_patient_missing_a_period_is_refused_at_the_disposition(data):
    drop_rows(data / "infusions.csv", "P02,3,")
    found = messages(data)
    assert found[0] == (f"disposition.csv:{find_line(data / 'disposition.csv', 'P02,')}: status: patient P02 is "
                        "'completed' but has no infusion for period(s) 3 in infusions.csv (a missing period needs "
                        "status 'discontinued')")


def test_a_gap_is_not_explained_by_a_discontinuation(data):
    set_line(data / "disposition.csv", find_line(data / "disposition.csv", "P02,"), "P02,discontinued,80,other")
    for name in ("infusions", "diary", "blinding"):
        drop_rows(data / f"{name}.csv", "P02,2,")
    assert any("patient P02 has no infusion for period(s) 2 but has a later one" in m for m in messages(data))


def test_an_infusion_after_the_discontinuation_day_is_refused(data):
    discontinue_p02_after_period_2(data, day="20")
    line = find_line(data / "infusions.csv", "P02,2,")
    assert f"infusions.csv:{line}: study_day: patient P02 is infused on study day 36, after discontinuing on day 20 " \
           f"(disposition.csv:{find_line(data / 'disposition.csv', 'P02,')})" in messages(data)


@pytest.mark.parametrize("column, day, reason", [("discontinuation_study_day", "", "adverse_event"),
                                                 ("discontinuation_reason", "50", "")])
def test_a_discontinuation_needs_its_day_and_reason(data, column, day, reason):
    discontinue_p02_after_period_2(data, day=day, reason=reason)
    line = find_line(data / "disposition.csv", "P02,")
    assert messages(data) == [f"disposition.csv:{line}: {column}: patient P02 discontinued: {column} is required"]


def test_a_completed_patient_has_no_discontinuation_day(data):
    line = find_line(data / "disposition.csv", "P03,")
    set_line(data / "disposition.csv", line, "P03,completed,12,")
    assert messages(data) == [f"disposition.csv:{line}: discontinuation_study_day: patient P03 completed the trial; "
                              "leave discontinuation_study_day empty"]


def test_a_period_without_diary_rows_is_missing_not_dropped(data):
    removed = drop_rows(data / "diary.csv", "P02,3,")
    assert removed == 36 and messages(data) == []
    trial = load_trial(data)
    treatment = trial.infusions.set_index(["patient_id", "period"]).at[("P02", 3), "treatment"]
    missing = derive.missing_diary(trial.diary, trial.infusions).set_index(["treatment", "day"])
    shipped = load_trial()
    before = derive.missing_diary(shipped.diary, shipped.infusions).set_index(["treatment", "day"])
    assert (missing.loc[treatment, "n_expected"] == 20).all()
    assert ((missing.loc[treatment, "n_missing"] - before.loc[treatment, "n_missing"]) == 1).sum() >= 30
    primary = derive.auc(trial.diary, periods=trial.infusions).set_index(["patient_id", "period"])
    assert len(primary) == 60 and pd.isna(primary.at[("P02", 3), "auc"])


def test_improvement_of_a_missing_period_is_unknown_not_no():
    auc_values = pd.DataFrame({"patient_id": ["P01"] * 3 + ["P02"] * 2,
                               "treatment": ["placebo", "ketamine", "ketamine_magnesium", "placebo", "ketamine"],
                               "auc": [35 * 5.0, 35 * 2.0, 35 * 5.0, 35 * 2.0, float("nan")]})
    start = auc_values.assign(pain=5.0)[["patient_id", "treatment", "pain"]]
    flags = derive.improvement(auc_values, start, 35)
    assert flags.loc["P01"].tolist() == [True, False]
    assert pd.isna(flags.at["P02", "improved_active"]) and bool(flags.at["P02", "improved_placebo"])


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_figure1_and_the_analyses_take_the_dropout(data):
    from ketapain_lib.report import figures
    from ketapain_lib.report.results import Results

    discontinue_p02_after_period_2(data)
    trial = load_trial(data)
    texts = [text.get_text() for text in figures.flow_diagram(trial).axes[0].texts]
    # the discontinuation is drawn in the period where it happened, and nowhere else
    bands = [t for t in texts if t.startswith("Discontinued during period")]
    assert len(bands) == 1 and bands[0].startswith("Discontinued during period 2: 1 ")
    assert any("intention to treat: all 20 randomized" in t for t in texts)
    results = Results(trial, cached=False)
    assert len(results["primary"]["fit"].data) == 59  # every available period: 20 x 3 - 1
    assert results["questionnaires"]["omnibus_p"].notna().all()
    improvement = results["improvement"].set_index(["rule", "last_day"]).loc[("baseline_30pct", 35)]
    assert improvement["n"] == 20 and improvement["n_placebo"] + improvement["n_active"] <= 40
