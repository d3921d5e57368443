"""How a dataset relates to each published number: did whatever made the data aim at it?

A synthetic dataset is made to resemble the paper, so a published number it reproduces may say nothing. One
definition serves every page (the calibration table of the synthetic-data appendix, the ledger, the chapters):

* ``generator setting``: a design fact the generator is built from (the number of patients, the length of a
  period, the doses: :data:`GENERATOR_SETTINGS`); the data hold it because the generator put it there;
* ``calibration target``: the generator (:mod:`ketapain_lib.synthetic.simulate`) aims at the number: a published
  number with a calibration tolerance (:func:`~ketapain_lib.paper.published.calibration_targets`, the rows
  of the calibration table), a share of patients whose count is one, or the day-7 P value whose closest draw it
  keeps (:data:`GENERATOR_AIMS`). A number the generator aims at stays a calibration target when the
  reconstruction also keeps it;
* ``reconstruction target``: the recorded diary search (:mod:`ketapain_lib.synthetic.reconstruct`) aimed at the
  number (met, unmet, or unreachable under the design: an aim it could not reach still differs as a target,
  not as a finding); it applies only to a dataset on which the generator replays that search (the trial's own
  size and the default seed, :func:`~ketapain_lib.synthetic.simulate.replays_reconstruction`);
* ``not targeted``: nothing aimed at it; it emerged from the data.

A match of a targeted number is "matched by construction", never "reproduced"; a generator setting is "set by
the generator" (:func:`mark_ledger` words the paper's ledger so). A real export (no generator's marker file) has
no targeting at all: :func:`classes` returns None, and its ledger says "reproduced" or "differs".

>>> CALIBRATION, RECONSTRUCTION, SETTING, NOT_TARGETED
('calibration target', 'reconstruction target', 'generator setting', 'not targeted')
>>> generator_settings_from_text("python -m ketapain_lib simulate --seed 1 --patients 40 --dropouts 3 --out DIR")
{'seed': 1, 'patients': 40, 'dropouts': 3}
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .. import formatting as fmt
from ..design import NOT_TARGETED  # shared with the paper's conclusions
from ..paper.ledger import VERDICTS

CALIBRATION = "calibration target"
RECONSTRUCTION = "reconstruction target"
SETTING = "generator setting"
#: The classes in the order a reader meets them (most constrained first).
CLASSES = (SETTING, CALIBRATION, RECONSTRUCTION, NOT_TARGETED)

#: Published design facts the generator is built from (:mod:`ketapain_lib.design`'s period, doses; its number of
#: patients): on synthetic data they are settings, not results.
GENERATOR_SETTINGS = ("design_patients_planned", "design_period_days", "design_ketamine_mg_per_kg",
                      "design_magnesium_sulfate_mg")

#: Published numbers the generator aims at without a calibration tolerance: among a few draws of the day-7
#: noise it keeps the one whose paired test is closest to this P value (``simulate._auc_targets``).
GENERATOR_AIMS = ("auc7_ketamine_vs_placebo_p",)


def generator_targets() -> frozenset[str]:
    """The published keys the generator aims at: the calibration targets and :data:`GENERATOR_AIMS`."""
    from ..paper.published import calibration_targets

    return frozenset(calibration_targets().index) | frozenset(GENERATOR_AIMS)


def reconstruction_targets() -> frozenset[str]:
    """The published keys the recorded reconstruction aimed at (met, unmet or unreachable), from its recorded
    report."""
    from .replay import recorded_report

    report = recorded_report()
    if report is None:
        return frozenset()
    return frozenset(report.loc[report["status"].isin(["met", "unmet", "unreachable"]), "key"])


def calibration_keys() -> frozenset[str]:
    """Every published key the generator aims at, as the ledger classes it: the calibration table's rows, the
    shares of patients whose counts are among them, and :data:`GENERATOR_AIMS`."""
    from ..paper.published import published_results

    generated = generator_targets()
    return frozenset(key for key in published_results().index if _aimed(key, generated))


def _aimed(key: str, targets: frozenset[str]) -> bool:
    # a share of the patients is its count over the randomized patients: aiming at one aims at the other
    return key in targets or (key.endswith("_pct") and key.removesuffix("_pct") + "_n" in targets)


_OPTION = re.compile(r"--(seed|patients|dropouts)\s+(\d+)")


def generator_settings_from_text(text: str) -> dict[str, int | None] | None:
    """The generator's settings in a marker file's regeneration command, or None when it names none."""
    command = next((line for line in text.splitlines() if "ketapain_lib simulate" in line), None)
    if command is None:
        return None
    found = {name: int(value) for name, value in _OPTION.findall(command)}
    if "seed" not in found:
        return None
    return {"seed": found["seed"], "patients": found.get("patients"), "dropouts": found.get("dropouts", 0)}


def generator_settings(directory: str | Path) -> dict[str, int | None] | None:
    """The settings the generator wrote a synthetic data folder with (its marker file), or None."""
    from ..rawdata.location import SYNTHETIC_MARKER

    marker = Path(directory) / SYNTHETIC_MARKER
    return generator_settings_from_text(marker.read_text(encoding="utf-8")) if marker.is_file() else None


def classes(trial) -> dict[str, str] | None:
    """The targeting class of every published key for this trial's data; None for a real export.

    A synthetic folder whose marker names no generator settings is treated as replaying the reconstruction
    (the cautious reading: more numbers counted as targeted, none claimed as emerged).
    """
    from ..paper.published import published_results
    from .simulate import replays_reconstruction

    if not trial.is_synthetic:
        return None
    settings = generator_settings(trial.source)
    replayed = settings is None or replays_reconstruction(settings["seed"], settings["patients"])
    reconstructed = reconstruction_targets() if replayed else frozenset()
    calibrated = calibration_keys()

    def aim(key: str) -> str:
        if key in GENERATOR_SETTINGS:
            return SETTING
        if key in calibrated:
            return CALIBRATION
        return RECONSTRUCTION if _aimed(key, reconstructed) else NOT_TARGETED

    return {key: aim(key) for key in published_results().index}


MATCHED_BY_CONSTRUCTION = "matched by construction"
SET_BY_GENERATOR = "set by the generator"


def mark_ledger(table: pd.DataFrame, trial) -> pd.DataFrame:
    """The paper's ledger (:func:`ketapain_lib.paper.ledger.ledger`) of this trial, with what aimed at each row.

    On synthetic data: a ``targeting`` column (:func:`classes`) after ``verdict``; the verdict of a generator
    setting becomes "set by the generator", and that of a targeted match (other than a number recomputed from the
    paper's planning inputs, which no dataset changes) "matched by construction"; the reason of a calibration
    target that differs says how it stands at the generator's own tolerance (:func:`calibration_notes`). A real
    export's ledger is returned as it is. A match recomputed from the paper's planning inputs keeps its verdict
    ("recomputed from inputs"): no dataset changes it, whatever made the data.
    """
    targeted = classes(trial)
    if targeted is None:
        return table
    table = table.copy()
    table.insert(table.columns.get_loc("verdict") + 1, "targeting", [targeted[k] for k in table["key"]])
    reproduced = VERDICTS["match"]  # a number recomputed from planning inputs keeps its own verdict
    table["verdict"] = [SET_BY_GENERATOR if target == SETTING
                        else MATCHED_BY_CONSTRUCTION if verdict == reproduced and target != NOT_TARGETED
                        else verdict
                        for target, verdict in zip(table["targeting"], table["verdict"])]
    table["reason"] = ["; ".join(part for part in (reason, note) if part)
                       for reason, note in zip(table["reason"], calibration_notes(table))]
    return table


def calibration_notes(table: pd.DataFrame) -> list[str]:
    """For a calibration target that differs at the paper's printed precision, how it stands at the generator's
    own (wider) calibration tolerance, which the synthetic-data appendix applies: so that the two pages state
    which rule each applies. ``table`` is a ledger with its ``targeting`` column (:func:`mark_ledger`)."""
    from ..paper.published import calibration_targets, within_tolerance

    tolerances = calibration_targets()["calibration_tolerance"]
    out = []
    for key, status, target, difference in zip(table["key"], table["status"], table["targeting"],
                                               table["difference"]):
        if status != "differs" or target != CALIBRATION or key not in tolerances.index:
            out.append("")
            continue
        tolerance = float(tolerances[key])
        within = within_tolerance(difference, tolerance)
        out.append(f"{'within' if within else 'outside'} the generator's calibration tolerance of "
                   f"{fmt.as_printed(tolerance)}, the looser rule of the synthetic-data appendix; the ledger "
                   "compares at the paper's printed precision")
    return out
