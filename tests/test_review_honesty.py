"""The fresh-eyes review's findings on honesty (1-11, 15-17, 19, 20, 23): the computed text says what a number is
on synthetic data, sets the paper's numbers beside the report's where they differ, and never leaves a plural
unfilled."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ketapain_lib import formatting as fmt
from ketapain_lib.paper import conclusions
from ketapain_lib.synthetic import targeting
from ketapain_lib.rawdata.load import load_trial

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results():
    from ketapain_lib.report.results import Results

    return Results(load_trial())  # the session's cache: computed once, shared by the workers


@pytest.fixture(scope="module")
def values(results):
    from ketapain_lib.report import prose

    return {chapter: make(results) for chapter, make in prose.VALUES.items()}


# --------------------------------------------------------------------------- finding 23: plurals

def test_the_plural_helper_agrees_with_the_count():
    assert fmt.count(1, "number") == "1 number"
    assert fmt.count(3, "number") == "3 numbers"
    assert fmt.count(0, "conclusion") == "0 conclusions"
    assert fmt.count(2.0, "analysis", "analyses") == "2 analyses"
    assert fmt.count(1, "published number") == "1 published number"
    assert fmt.count(20.0) == "20"  # without a noun, the old behaviour
    assert fmt.plural(1, "point") == "point" and fmt.plural(2, "point") == "points"


def test_no_glued_text_leaves_a_plural_unfilled(values):
    for chapter, glued in values.items():
        for name, text in glued.items():
            assert "(s)" not in str(text), (chapter, name, text)


def test_the_ledgers_groups_and_table_rows_say_numbers_not_number_s(results):
    from ketapain_lib.report import book, wording

    page = book.ledger_page(results).data
    assert "(s)" not in page and "numbers" in page
    section = book.ledger_rows(results, "Sample Size").data
    assert "(s)" not in section and "Published beside computed" in section
    one = wording.omnibus_agreement(results["auc_table"].head(0))
    assert "(s)" not in one


# --------------------------------------------------------------------------- findings 1, 11: synthetic qualifiers

def test_the_hads_disagreement_says_it_reflects_the_simulations_assumption(values):
    for chapter, name in (("00_summary", "summary_disagreements"), ("06_discussion", "all_disagreements"),
                          ("04_secondary_endpoints", "secondary_disagreements")):
        text = values[chapter][name]
        assert "HADS depression" in text, chapter
        assert "drawn from the simulation's own assumption (Table A5, Appendix B)" in text, chapter
        assert "not evidence about the trial" in text, chapter


def test_a_conclusions_basis_follows_what_aimed_at_its_number():
    shipped = {"pgic_sleep_p": targeting.RECONSTRUCTION, "consecutive_p": targeting.NOT_TARGETED}
    assert conclusions.basis("conclusion_pgic_sleep", shipped) == conclusions.TARGETED
    assert conclusions.basis("conclusion_consecutive", shipped) == conclusions.EMERGED
    assert conclusions.basis("conclusion_hads_depression", shipped) == conclusions.ASSUMED
    assert conclusions.basis("conclusion_hads_depression", None) == ""
    assert conclusions.qualifier("conclusion_hads_depression", "") == ""
    # every conclusion drawn from an assumption names a score or a diary measure the generator assumes
    from ketapain_lib.synthetic.assumptions import ASSUMPTIONS

    scores = {key.removeprefix("conclusion_") for key in conclusions.ASSUMED_DATA} - {"maximal_pain_day35",
                                                                                      "night_pain_day35"}
    assert scores <= set(ASSUMPTIONS["questionnaires"])


def test_the_blinding_shares_are_calibration_targets_on_synthetic_data(values, results):
    text = values["06_discussion"]["blinding_basis"]
    assert "calibration targets" in text and "matched by construction" in text
    assert "show nothing about how well the blind held" in text
    discussion = (ROOT / "chapters" / "06_discussion.md").read_text(encoding="utf-8")
    assert "At the end of the trial, asked which infusion" in discussion  # as the data dictionary describes it
    assert "After each period, the share" not in discussion


# --------------------------------------------------------------------------- findings 2, 3, 16: one definition

def test_the_headline_separates_raw_data_from_published_inputs_and_settings(values, results):
    from ketapain_lib.paper.reproduce import RECOMPUTED_KEYS

    text = values["00_summary"]["summary_comparison"]
    assert "every one of the paper's" not in text
    assert f"recomputes {len(RECOMPUTED_KEYS)} from the paper's published planning inputs" in text
    n_settings = len(targeting.GENERATOR_SETTINGS)
    assert f"{n_settings} numbers of the design are settings of the generator" in text
    ledger = results["ledger"]
    aimed = ledger[ledger["status"].isin(["match", "differs"])
                   & ledger["targeting"].isin([targeting.CALIBRATION, targeting.RECONSTRUCTION])]
    assert f"{len(aimed)} of the compared numbers were aimed at" in text
    assert values["06_discussion"]["comparison_headline"] == text
    # no "reproduced" for a number the generator set or arithmetic on published inputs
    assert not re.search(r"generator setting \d+ \([^)]*reproduced", text)


def test_methods_design_facts_are_set_by_the_generator_in_the_ledger(results):
    ledger = results["ledger"].set_index("key")
    for key in targeting.GENERATOR_SETTINGS:
        assert ledger.at[key, "verdict"] == "set by the generator", key
    assert ledger.at["samplesize_difference", "verdict"] == "recomputed from inputs"


# --------------------------------------------------------------------------- findings 4, 10, 20: tables

def test_the_source_line_claims_no_calibration_for_a_tables_cells(results):
    from ketapain_lib.report import book

    html = book.output(results, "table3_questionnaires").data
    assert "calibrated to the published summaries)" not in html
    assert "calibrated only to the published numbers listed in Table A4" in html
    assert "follows from its own assumptions (Table A5)" in html


def test_the_key_findings_carry_the_intervals_and_say_computed(results):
    from ketapain_lib.report import tables

    table = tables.key_findings(results["ledger"])
    assert "reproduced" not in table.columns and "computed" in table.columns
    row = table[table["result"].str.startswith("Effect size ketamine versus placebo")].iloc[0]
    ledger = results["ledger"].set_index("key")
    assert fmt.as_printed(ledger.at["auc35_es_ketamine_vs_placebo_lo", "published"]) in row["published"]
    assert fmt.beside_published(ledger.at["auc35_es_ketamine_vs_placebo_lo", "reproduced"],
                                ledger.at["auc35_es_ketamine_vs_placebo_lo", "published"]) in row["computed"]
    differs = ledger.at["auc35_es_ketamine_vs_placebo_lo", "verdict"] == "differs"
    assert ("interval differs" in row["status"]) == differs and differs


def test_the_ketamine_magnesium_effect_size_has_one_direction_on_every_page(results):
    from ketapain_lib.report import tables

    label = results["ledger"].set_index("key").at["auc35_es_placebo_vs_ketamine_magnesium", "statistic"]
    assert label.startswith("Effect size ketamine/magnesium versus placebo")
    assert label in set(tables.key_findings(results["ledger"])["result"])
    pairs = results["primary"]["pairwise"]["comparison"]
    assert "ketamine_magnesium vs placebo" in set(pairs)  # the Primary chapter's direction


def test_the_ledger_table_calls_its_column_computed(results):
    from ketapain_lib.report import views

    shown = views.ledger_view(results["ledger"])
    assert "computed" in shown.columns and "reproduced" not in shown.columns


def test_the_intro_does_not_claim_regeneration_before_its_warning():
    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    assert "regenerates" not in intro
    assert intro.index("{only} synthetic_data") < intro.index("This book computes")
    assert intro.splitlines()[0] == "# KETAPAIN, reproduced"  # the book's title is kept


# --------------------------------------------------------------------------- findings 5-9, 15, 17, 19

def test_beyond_claims_say_whose_data_in_the_sentence(values):
    assert values["07_beyond_the_paper"]["data_words"] == "On these synthetic data"
    beyond = (ROOT / "chapters" / "07_beyond_the_paper.md").read_text(encoding="utf-8")
    for claim in ("ketamine minus placebo is", "with a flat prior, the", "a true benefit of one point",
                  "the smallest benefit detected"):
        assert re.search(r"\{glue:text\}`data_words(_lower)?`,\s+" + re.escape(claim).replace(r"\ ", r"\s+"),
                         beyond), claim
    assert "the precision the trial actually" not in beyond


def test_individual_courses_and_responders_are_set_against_the_paper(values, results):
    text = values["04_secondary_endpoints"]["improvement_against_paper"]
    ledger = results["ledger"].set_index("key")
    published = int(ledger.at["improved_ketamine_day7_n", "published"])
    assert f"the paper counts {published} improved with an active infusion" in text
    assert "less support to its remark that some patients improved with ketamine" in text
    assert "lower AUC than with the comparator (placebo, day 7)" in text
    assert "not evidence about the trial" in text
    responders = values["07_beyond_the_paper"]["responders_against_paper"]
    assert "no support to the paper's remark" in responders


def test_safety_explains_the_abstracts_adverse_event_shares(values):
    text = values["05_safety"]["safety_abstract"]
    assert "10%, 20%, 35%" in text and "20%, 30%, 40%" in text
    assert "treatment-related events only" in text
    assert "{glue:text}`safety_abstract`" in (ROOT / "chapters" / "05_safety.md").read_text(encoding="utf-8")


def test_primary_prose_states_the_papers_intervals_and_which_differ(values):
    primary = values["03_primary_endpoint"]
    assert primary["es_published"].startswith("-0.2 (-0.6 to 0.3, P = 0.425)")
    assert "differ from the paper at its printed precision" in primary["es_differing"]
    assert "0.119 published, 0.107 here" in primary["es_differing"]
    assert "-0.6 published, -0.70 here" in primary["es_differing"]


def test_consecutive_prose_states_the_papers_numbers(values):
    text = values["04_secondary_endpoints"]["consecutive_against_paper"]
    assert "378 ± 212 against 343 ± 151" in text and "P = 0.883" in text
    assert "0.883 published, 0.636 here" in text


def test_the_pgic_sleep_result_has_a_direction(values):
    text = values["04_secondary_endpoints"]["table3_directions"]
    assert re.search(r"PGIC sleep: ketamine/magnesium (better|worse) than placebo \(mean \d\.\d against \d\.\d, "
                     r"Sidak P = 0\.031\) \(lower is better\)", text)


def test_appendix_b_and_secondary_drop_the_unsupported_claims():
    appendix = (ROOT / "chapters" / "a2_synthetic_data.md").read_text(encoding="utf-8")
    assert "only significant" not in appendix
    secondary = (ROOT / "chapters" / "04_secondary_endpoints.md").read_text(encoding="utf-8")
    assert "not public" not in secondary and "not available to this report" in secondary


@pytest.mark.slow
def test_a_real_export_gets_no_synthetic_qualifier(real_export):
    from ketapain_lib.report import prose
    from ketapain_lib.report.results import Results

    results = Results(load_trial(real_export), cached=False)
    assert prose.data_words(results) == "On the trial's data"
    for name in ("improvement_against_paper",):
        assert "synthetic" not in prose.VALUES["04_secondary_endpoints"](results)[name]
    assert "synthetic" not in prose.VALUES["00_summary"](results)["summary_disagreements"]
    assert "synthetic" not in prose.VALUES["06_discussion"](results)["blinding_basis"]
