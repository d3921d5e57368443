"""The report's results: every analysis of one trial, computed on first use, kept with its fitted models.

:class:`Results` is the one object that the chapters, the ledger and the
export read. Each entry of :data:`ANALYSES` is computed once per trial and
stored in the report's one cache (:mod:`ketapain_lib.report.cache`), keyed by
the library, the pins and the loaded data: the first chapter kernel that
asks for an entry computes it, the others load it. Entries keep the fitted
models (e.g. ``results["primary"]["fit"]``), so a plot of a model shows the
model of the table.

>>> from ketapain_lib.rawdata.load import load_trial
>>> results = Results(load_trial())
>>> results["primary"]["fit"].method in ("ML", "REML")
True
>>> "auc_table" in ANALYSES
True
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from ..design import PRIMARY
from ..paper import ledger, published
from ..synthetic import calibration, targeting
from ..rawdata.load import Trial
from ..stats import analyses, derive, planning, sensitivity
from . import cache

#: Every analysis of the report: name -> function of the results (so an entry may use another entry).
ANALYSES: dict[str, Callable[["Results"], object]] = {
    "auc_long": lambda r: derive.auc_all(r.trial.diary, r.trial.infusions),
    "preinfusion_pain": lambda r: derive.preinfusion_pain(r.trial.infusions),
    "primary": lambda r: analyses.primary_endpoint(r.trial),
    "model_comparison": lambda r: analyses.model_comparison(r.trial),
    "auc_table": lambda r: analyses.auc_table(r.trial, r["auc_long"]),
    "questionnaires": lambda r: analyses.questionnaire_table(r.trial),
    "preinfusion": lambda r: analyses.preinfusion_comparison(r.trial),
    "consecutive": lambda r: analyses.consecutive_comparison(r.trial),
    "improvement": lambda r: derive.improvement_counts(r["auc_long"], r["preinfusion_pain"]),
    "improvement_flags": lambda r: {
        last_day: derive.improvement(r["auc_long"].query(
            f"measure == '{PRIMARY.measure}' and last_day == {last_day} and imputation == '{PRIMARY.imputation}'"),
            r["preinfusion_pain"], last_day)
        for last_day in sorted(set(r["auc_long"]["last_day"]))},
    "missing_diary": lambda r: derive.missing_diary(r.trial.diary, r.trial.infusions),
    "adverse_events": lambda r: analyses.adverse_event_model(r.trial),
    "sample_size": lambda r: planning.planning_sample_size(published.planning_inputs()),
    "missing_data": lambda r: sensitivity.missing_data_contrasts(r.trial),
    "beyond": lambda r: analyses.beyond_the_paper(r.trial, missing_data=r["missing_data"]),
    "calibration": lambda r: calibration.calibration_report(r.trial),
    "ledger": lambda r: targeting.mark_ledger(ledger.ledger(r.trial, r), r.trial),
}


class Results(Mapping):
    """The results of every analysis of ``trial``, computed when first read and then kept.

    A read-only mapping from the names of :data:`ANALYSES` to their values
    (DataFrames, or dicts of DataFrames and fitted models). With
    ``cached=False`` nothing is read from or written to the disk cache.
    """

    def __init__(self, trial: Trial, cached: bool = True):
        self.trial = trial
        self.key = cache.value_hash(trial)
        self.cached = cached  # False: compute in memory only (what a benchmark measures)
        self._values: dict[str, object] = {}

    def __getitem__(self, name: str) -> object:
        if name not in ANALYSES:
            raise KeyError(f"no analysis named {name!r}; the report's analyses are {sorted(ANALYSES)}")
        if name not in self._values:
            compute = lambda: ANALYSES[name](self)  # noqa: E731
            self._values[name] = cache.memoize(f"results/{name}", self.key, compute) if self.cached else compute()
        return self._values[name]

    def __iter__(self):
        return iter(ANALYSES)

    def __len__(self) -> int:
        return len(ANALYSES)

    def compute_all(self, skip: tuple[str, ...] = ()) -> "Results":
        """Compute every entry now, but those in ``skip`` (what the benchmark times); return ``self``."""
        for name in ANALYSES:
            if name not in skip:
                self[name]
        return self
