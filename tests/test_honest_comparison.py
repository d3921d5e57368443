"""An honest comparison with the paper: what aimed at each published number, the paper's conclusions against the
report's own tests, claims computed in the prose, counts never typed, and a ledger a reader can scan."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from ketapain_lib.design import ALPHA
from ketapain_lib.paper import conclusions
from ketapain_lib.synthetic import targeting
from ketapain_lib.paper.published import calibration_targets, published_conclusions, published_results
from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR, SYNTHETIC_MARKER, load_trial

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))


# --------------------------------------------------------------------------- fast: the targeting lists

@pytest.mark.slow
def test_the_generators_targets_are_the_published_values_it_reads(monkeypatch):
    """Trace every published value the generator reads while it makes a dataset: exactly the declared targets."""
    from ketapain_lib.synthetic import domains, simulate

    read: set[str] = set()
    original = simulate.pv

    def tracing(key: str) -> float:
        read.add(key)
        return original(key)

    monkeypatch.setattr(simulate, "pv", tracing)
    monkeypatch.setattr(domains, "pv", tracing)
    simulate.simulate_trial(seed=1, patients=40, dropouts=3)
    # the generator also asks whether a term has a published share (a key absent from the file): not a target
    read &= set(published_results().index)
    # its calibration targets include numbers built in without reading them (the screened count is the sum of
    # the others; no serious event): the calibration report checks those; every other value it reads is an aim
    calibrated = set(calibration_targets().index)
    assert read - calibrated == set(targeting.GENERATOR_AIMS)
    assert read | calibrated == set(targeting.generator_targets())


def test_the_reconstructions_targets_are_those_its_search_aims_at():
    from ketapain_lib.paper import audit_structure
    from ketapain_lib.synthetic import diary_search
    from ketapain_lib.synthetic.replay import recorded_report

    trial = load_trial()
    unreachable = frozenset(audit_structure.unreachable(trial.randomization))
    searched = {t.key for t in diary_search.targets(unreachable)}
    report = recorded_report()
    scored = set(report["key"]) - searched - unreachable  # the pre-infusion and PGIC sleep searches
    # an aim it could not reach is still an aim: it differs as a target, not as a finding
    assert searched | scored | unreachable == set(targeting.reconstruction_targets())
    assert unreachable and unreachable <= targeting.reconstruction_targets()


def test_the_class_follows_the_dataset(tmp_path, real_export):
    shipped = targeting.classes(load_trial())
    assert set(shipped.values()) == set(targeting.CLASSES)
    assert shipped["auc7_omnibus_p"] == targeting.RECONSTRUCTION
    assert shipped["flow_screened"] == targeting.CALIBRATION
    assert shipped["consecutive_p"] == targeting.NOT_TARGETED
    # one definition: every row of the calibration table is a calibration target, even when the reconstruction
    # also aimed at it; the design facts are the generator's settings; an unreachable aim stays an aim
    assert all(shipped[key] == targeting.CALIBRATION for key in calibration_targets().index)
    assert shipped["auc35_locf_mean_ketamine"] == shipped["preinfusion_pain_mean_placebo"] == targeting.CALIBRATION
    assert {shipped[key] for key in targeting.GENERATOR_SETTINGS} == {targeting.SETTING}
    assert shipped["auc35_locf_omnibus_p"] == shipped["auc35_es_ketamine_vs_ketamine_magnesium_p"] == \
        targeting.RECONSTRUCTION

    assert targeting.classes(load_trial(real_export)) is None

    simulated = tmp_path / "simulated"
    shutil.copytree(SHIPPED_DATA_DIR, simulated)
    (simulated / SYNTHETIC_MARKER).write_text((SHIPPED_DATA_DIR / SYNTHETIC_MARKER).read_text().replace(
        "--seed 20150610", "--seed 1 --patients 40 --dropouts 3"))
    classes = targeting.classes(load_trial(simulated))
    assert targeting.RECONSTRUCTION not in classes.values()
    calibrated = {k for k, v in classes.items() if v == targeting.CALIBRATION}
    # the generator's targets, and the shares of patients whose counts it targets
    assert calibrated - set(targeting.generator_targets()) == {
        k for k in calibrated if k.endswith("_pct") and k.removesuffix("_pct") + "_n" in targeting.generator_targets()}
    assert classes["ae_related_placebo_pct"] == targeting.CALIBRATION


def test_marker_settings_are_read_as_the_generator_wrote_them():
    from ketapain_lib.synthetic.simulate import replays_reconstruction

    settings = targeting.generator_settings(SHIPPED_DATA_DIR)
    assert settings == {"seed": 20150610, "patients": None, "dropouts": 0}
    assert replays_reconstruction(settings["seed"], settings["patients"])
    assert not replays_reconstruction(1, 40)
    assert targeting.generator_settings_from_text("no command here") is None


# --------------------------------------------------------------------------- fast: conclusions and prose

@pytest.fixture(scope="module")
def results():
    from ketapain_lib.report.results import Results

    return Results(load_trial())  # the session's cache: computed once, shared by the workers


def test_every_conclusion_of_the_file_has_the_reports_test():
    assert set(published_conclusions().index) == set(conclusions.TESTS)
    assert set(published_conclusions()["value"]) <= {0.0, 1.0}
    assert not set(published_conclusions().index) & set(published_results().index)


@pytest.mark.slow
def test_the_shipped_data_disagree_on_hads_depression_and_nothing_else(results):
    table = conclusions.conclusions(results)
    found = table[~table["agrees"]]
    assert list(found["key"]) == ["conclusion_hads_depression"]
    hads = results["questionnaires"].set_index("score").loc["hads_depression"]
    assert hads["omnibus_p"] < ALPHA and hads["omnibus_p_kr"] < ALPHA
    sentence = conclusions.disagreement_sentences(found)[0]
    assert "HADS depression" in sentence and "ketamine/magnesium worse than placebo" in sentence
    assert "Kenward-Roger P = 0.023" in sentence and "P = 0.008" in sentence
    # the synthetic HADS scores come from the generator's own assumption: the sentence says so
    assert found["basis"].item() == conclusions.ASSUMED
    assert "drawn from the simulation's own assumption" in sentence and "not evidence about the trial" in sentence


@pytest.mark.slow  # over a second: the full suite runs it
def test_a_conclusion_flips_when_the_data_do(results, monkeypatch):
    """The comparison reads the report's P: with HADS depression's P above ALPHA the disagreement goes."""
    questionnaires = results["questionnaires"].copy()
    questionnaires.loc[questionnaires["score"] == "hads_depression", ["omnibus_p", "omnibus_p_kr"]] = 0.5
    for column in [c for c in questionnaires.columns if c.startswith("p_sidak: ")]:
        questionnaires.loc[questionnaires["score"] == "hads_depression", column] = float("nan")
    monkeypatch.setitem(results._values, "questionnaires", questionnaires)
    assert conclusions.disagreements(results).empty


def test_the_papers_positive_findings_are_counted_from_its_conclusions():
    from ketapain_lib.report.prose import paper_positive

    positive = published_conclusions()
    n = int(positive['value'].sum())
    assert paper_positive().startswith(f"{n} positive finding{'s' if n != 1 else ''}: ")
    assert "(s)" not in paper_positive()
    assert "PGIC sleep" in paper_positive() and "first week" in paper_positive()


@pytest.mark.slow
def test_day7_conclusion_carries_the_small_sample_and_locf_caveat(results):
    from ketapain_lib.report import prose

    day7 = results["auc_table"].query("measure == 'average_pain' and last_day == 7")
    text = prose.caveat(results, "conclusion_day7")
    assert "does not hold under every analysis" in text
    kr = day7.loc[day7["imputation"] == "none", "omnibus_p_kr"].item()
    locf = day7.loc[day7["imputation"] == "locf", "omnibus_p"].item()
    from ketapain_lib import formatting as fmt
    assert f"Kenward-Roger P {fmt.p_equals(kr)}" in text and f"(LOCF) P {fmt.p_equals(locf)}" in text
    for chapter in ("00_summary", "04_secondary_endpoints", "06_discussion"):
        values = prose.VALUES[chapter](results)
        assert text in values.values(), chapter


def test_ledger_verdict_never_calls_a_targeted_match_reproduced(results):
    from ketapain_lib.paper.reproduce import RECOMPUTED_KEYS

    ledger = results["ledger"]
    aimed = ledger["targeting"].isin([targeting.CALIBRATION, targeting.RECONSTRUCTION])
    targeted = ledger[aimed & (ledger["status"] == "match")]
    assert len(targeted) and set(targeted["verdict"]) == {"matched by construction"}
    free = ledger[(ledger["targeting"] == targeting.NOT_TARGETED) & (ledger["status"] == "match")]
    assert set(free.loc[~free["key"].isin(RECOMPUTED_KEYS), "verdict"]) <= {"reproduced"}
    # the design facts the generator is built from are never "reproduced"; nor is arithmetic on published inputs
    settings = ledger[ledger["targeting"] == targeting.SETTING]
    assert len(settings) == len(targeting.GENERATOR_SETTINGS) and set(settings["verdict"]) == {"set by the generator"}
    recomputed = ledger[ledger["key"].isin(RECOMPUTED_KEYS)]
    assert "reproduced" not in set(recomputed["verdict"])
    assert set(recomputed["verdict"]) == {"recomputed from inputs", "differs"}
    assert "published planning inputs" in recomputed.set_index("key").at["samplesize_n", "reason"]


def test_the_ledger_and_the_calibration_table_count_calibration_targets_alike(results):
    """One definition: the ledger's calibration targets are the calibration table's rows plus the numbers the
    appendix names; a row within the generator's tolerance but not as printed says so in the ledger."""
    from ketapain_lib.report import prose

    ledger = results["ledger"].set_index("key")
    table = results["calibration"]
    ledger_calibration = set(ledger.index[ledger["targeting"] == targeting.CALIBRATION])
    assert set(table["key"]) <= ledger_calibration == set(targeting.calibration_keys())
    values = prose.VALUES["a2_synthetic_data"](results)
    assert values["n_calibration_rows"] == f"{len(table)} published numbers"
    assert values["n_calibration_keys"] == f"{len(ledger_calibration)} calibration targets"
    for key in ledger_calibration - set(table["key"]):
        assert ledger.at[key, "statistic"] in values["calibration_extra"], key
    # the same comparison rule, stated on both pages: the appendix's "same as printed" is the ledger's match
    for key, same, within in zip(table["key"], table["same_as_printed"], table["within_tolerance"]):
        assert same == (ledger.at[key, "status"] == "match"), key
        if within and not same:
            assert "within the generator's calibration tolerance" in ledger.at[key, "reason"], key
    assert not table.set_index("key").at["consecutive_auc_mean", "same_as_printed"]
    assert values["n_same_as_printed"] == int(table["same_as_printed"].sum()) < values["n_within_tolerance"]


def test_a_forced_value_is_printed_finely_enough_to_tell_it_from_the_reproduced_one(results):
    ledger = results["ledger"].set_index("key")
    reason = ledger.at["auc35_locf_omnibus_p", "reason"]
    forced = re.search(r"force (\S+) under", reason).group(1)
    assert len(forced.split(".")[1]) == 4  # one digit more than the paper's three


def test_a_mean_the_chapter_prints_as_median_says_so(results):
    ledger = results["ledger"].set_index("key")
    auc7 = results["auc_table"].query("measure == 'average_pain' and last_day == 7 and imputation == 'none'")
    for treatment in ("ketamine", "placebo"):
        shown_as_median = "[" in auc7[treatment].item()
        assert bool(ledger.at[f"auc7_mean_{treatment}", "printed"]) == shown_as_median, treatment


def test_the_ledgers_chapter_groups_follow_the_chapters():
    from ketapain_lib.report.book import CHAPTER_TITLES

    sources = {path.stem: path.read_text(encoding="utf-8") for path in (ROOT / "chapters").glob("*.md")}
    for section, chapter in conclusions.SECTION_CHAPTERS.items():
        assert f'book.ledger_rows(results, "{section}")' in sources[chapter], section
        assert re.search(rf"^# {re.escape(CHAPTER_TITLES[chapter])}$", sources[chapter], re.M), chapter


# --------------------------------------------------------------------------- fast: counts in prose

NUMBER_WORDS = r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|\d+)"
NOUNS = (r"(?:models?|tables?|analys[ei]s|patients?|periods?|treatments?|infusions?|sequences?|numbers?|rows?|"
         r"scores?|contrasts?|approaches|imputations?|chapters?|alternatives?|tests?|findings?|measures?|arms?|"
         r"windows?|checks?|intervals?|effect sizes?|conclusions?|formulas?)")
#: a number word or digits, then up to two words, then a noun that is counted ("three models", "4 patients");
#: digits after "day" ("day-7 contrast") name a day, not a count
COUNT = re.compile(rf"(?<!day-)(?<!day )\b{NUMBER_WORDS}\b(?:[\s-]+[A-Za-z/]+){{0,2}}?[\s-]+{NOUNS}\b", re.I)
PROSE_CHAPTERS = [path.stem for path in sorted((ROOT / "chapters").glob("*.md"))]


def typed_counts(markdown: str) -> list[str]:
    """Counts typed in a chapter's prose: code cells, glued values, roles and mathematics left out."""
    text = re.sub(r"\A---.*?\n---\n", "", markdown, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\{[a-z:]+\}`[^`]*`", "GLUED", text)
    text = re.sub(r"\$[^$]*\$", "", text)
    return [m.group(0) for m in COUNT.finditer(text)]


def test_the_count_detector_finds_typed_counts():
    assert typed_counts("The fixed effects of the three models, as fitted.") == ["three models"]
    assert typed_counts("Of the 24 published conclusions") == ["24 published conclusions"]
    assert typed_counts("its day-7 contrast, and {glue:text}`n_models` models") == []


@pytest.mark.parametrize("chapter", PROSE_CHAPTERS)
def test_no_count_is_typed_in_chapter_prose(chapter):
    markdown = (ROOT / "chapters" / f"{chapter}.md").read_text(encoding="utf-8")
    assert typed_counts(markdown) == []


@pytest.mark.slow  # over a second: the full suite runs it
def test_glued_counts_equal_their_source(results):
    from ketapain_lib.report import prose, tables
    from ketapain_lib.stats import analyses

    methods = prose.VALUES["01_methods"](results)
    from ketapain_lib.stats.crossover import FORMULAS

    assert methods["n_models"] == len(tables.model_formulas()) == len(FORMULAS)
    assert methods["n_alternatives"] == len(analyses.MODEL_CHOICES) - 1
    assert methods["n_treatments"] == results.trial.infusions["treatment"].nunique()
    assert methods["n_periods"] == results.trial.infusions["period"].nunique()
    secondary = prose.VALUES["04_secondary_endpoints"](results)
    assert secondary["n_other_measures"] == results["auc_table"]["measure"].nunique() - 1
    discussion = prose.VALUES["06_discussion"](results)
    assert discussion["n_missing_approaches"] == results["beyond"]["missing_data"]["approach"].nunique()
    ledger = results["ledger"]
    assert discussion["n_ledger"] == len(ledger) == len(published_results())


@pytest.mark.slow
def test_a_real_export_has_no_targeting_only_reproduced_or_differs(real_export):
    """The same data without the generator's marker: a real export. No targeting field anywhere."""
    from ketapain_lib.report import book, prose
    from ketapain_lib.report.results import Results

    results = Results(load_trial(real_export), cached=False)
    ledger = results["ledger"]
    assert "targeting" not in ledger
    assert set(ledger["verdict"]) <= {"reproduced", "differs", "input", "log scale", "not computed",
                                      "recomputed from inputs"}
    # a real export's design facts are checks of its data, and its disagreements carry no synthetic qualifier
    assert ledger.set_index("key").at["design_period_days", "verdict"] == "reproduced"
    assert set(conclusions.conclusions(results)["basis"]) == {""}
    assert all("synthetic" not in s for s in conclusions.disagreement_sentences(conclusions.disagreements(results)))
    headline = prose.comparison_headline(ledger)
    assert re.fullmatch(r"\d+ of the \d+ compared numbers are reproduced at the paper's printed precision and \d+ "
                        r"differ", headline)
    page = book.ledger_page(results).data
    assert "Targeting" not in page and "matched by construction" not in page
    assert not any(cls in page for cls in targeting.CLASSES)


def test_readings_of_the_icc_and_of_the_estimation_method_follow_the_numbers():
    import pandas as pd

    from ketapain_lib.report.prose import icc_reading, method_reading

    assert icc_reading(0.89) != icc_reading(0.3) and "between patients rather" in icc_reading(0.89)
    same = pd.DataFrame({"model": ["a", "a"], "method": ["ML", "REML"], "estimate: K vs P": [-7.5, -7.5]})
    differ = same.assign(**{"estimate: K vs P": [-7.5, -6.0]})
    assert "not the estimates" in method_reading(same)
    assert "changes the estimates" in method_reading(differ)


# --------------------------------------------------------------------------- fast: each chapter states its own

@pytest.mark.parametrize("chapter, key", [("02_population", "population_disagreements"),
                                          ("05_safety", "safety_disagreements")])
def test_population_and_safety_state_their_own_disagreements(results, monkeypatch, chapter, key):
    """The Population and Safety chapters glue the sentence 03 and 04 glue: their conclusions (pre-infusion
    pain, no serious adverse event) agree on the shipped data, and a flipped test shows in its own chapter."""
    from ketapain_lib.report import prose

    markdown = (ROOT / "chapters" / f"{chapter}.md").read_text(encoding="utf-8")
    assert f"{{glue:text}}`{key}`" in markdown
    assert prose.VALUES[chapter](results)[key] == prose.chapter_disagreements(results, chapter)
    assert "agree with every conclusion" in prose.VALUES[chapter](results)[key]
    own = [k for k, test in conclusions.TESTS.items() if conclusions.SECTION_CHAPTERS[
        published_conclusions().at[k, "section"]] == chapter]
    assert own, chapter
    flipped = (conclusions.Test(0.001, {}) if chapter == "02_population"
               else conclusions.Test(float("nan"), {}, count=1))  # a difference; one serious event
    monkeypatch.setitem(conclusions.TESTS, own[0], lambda r: flipped)
    stated = prose.VALUES[chapter](results)[key]
    assert stated.startswith("this report's tests disagree with 1 conclusion of the paper"), stated
    assert published_conclusions().at[own[0], "description"].split(":")[0] in stated
    other = "05_safety" if chapter == "02_population" else "02_population"
    assert "agree with every conclusion" in prose.chapter_disagreements(results, other)


# --------------------------------------------------------------------------- fast: counts glued from their source

def test_the_audits_count_of_scores_is_the_designs(results):
    from ketapain_lib.paper.audit_structure import N
    from ketapain_lib.report import prose

    assert prose.VALUES["08_audit"](results)["n_audit_patients"] == N == results.trial.patients["patient_id"].nunique()
    markdown = (ROOT / "chapters" / "08_audit.md").read_text(encoding="utf-8")
    assert "a mean of\n{glue:text}`n_audit_patients` pain scores" in markdown


def test_the_benchmarks_sizes_are_read_from_the_benchmark_table(tmp_path, monkeypatch):
    """The environment appendix's sizes and growth come from ``benchmarks/results.csv``: another table, other
    words."""
    from ketapain_lib.report import prose, tables

    shipped = tables.benchmark_growth()
    assert shipped == prose.VALUES["a4_environment"](None)
    recorded = tables.benchmark_sizes()
    assert shipped["bench_sizes"] == " and ".join(f"{size:,}" for size in recorded[1:])
    markdown = (ROOT / "chapters" / "a4_environment.md").read_text(encoding="utf-8")
    for key in ("bench_sizes", "growth_factor", "growth_from", "growth_to", "growth_all", "growth_fit"):
        assert f"{{glue:text}}`{key}`" in markdown, key
    rows = ["group,step,target_s,median_s,min_s,max_s,runs,cores"]
    for size, fit, every in ((20, 0.01, 4.0), (500, 0.02, 5.0), (1500, 0.09, 30.0)):
        rows += [f'analyses,"{size:,} patients: one fit of the primary model",,{fit},{fit},{fit},5,2',
                 f'analyses,"{size:,} patients: every analysis of the report, one process",,{every},{every},{every},3,2']
    other = tmp_path / "results.csv"
    other.write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setattr(tables, "BENCHMARK_RESULTS", other)
    assert tables.benchmark_growth() == {"bench_sizes": "500 and 1,500", "growth_from": "500", "growth_to": "1,500",
                                         "growth_factor": "3", "growth_all": "6.0", "growth_fit": "4.5",
                                         "growth_reading": "faster than linear"}
    monkeypatch.setattr(tables, "BENCHMARK_RESULTS", tmp_path / "absent.csv")
    assert tables.benchmark_growth()["growth_all"] == "not measured"
