"""The numbers the paper publishes: the one place they live in the project.

They come from ``published_results.csv`` (beside this module) (one row per number, with
the paper's section and, for the numbers the synthetic generator is
calibrated to, an absolute ``calibration_tolerance``). Code never types a
published number: it reads it from here, and the book shows it only as
"published" beside the value it reproduces.

The same file records the paper's conclusions, those stated only in words included: rows whose unit is
``conclusion`` (:data:`CONCLUSION_UNIT`), with value 1 where the paper reports a difference (a finding) and 0
where it reports none. :func:`published_results` leaves them out (they are not numbers to reproduce);
:func:`published_conclusions` reads them, and :mod:`ketapain_lib.paper.conclusions` compares each with the
report's own test.

>>> published_value("flow_screened")
23.0
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from .. import formatting as fmt

PUBLISHED_FILE = "published_results.csv"
#: The paper's own number of its table of AUCs (Table 2 of the article), where the ledger's notes point a reader.
AUC_TABLE_NUMBER = "Table 2"


@lru_cache(maxsize=1)
def _published_text() -> pd.DataFrame:
    """The file as printed (values as text, so that their printed precision is kept)."""
    with resources.files(__package__).joinpath(PUBLISHED_FILE).open("rb") as handle:
        frame = pd.read_csv(handle, dtype=str)
    if frame["key"].duplicated().any():
        raise ValueError(f"{PUBLISHED_FILE}: duplicated keys {sorted(frame.loc[frame['key'].duplicated(), 'key'])}")
    return frame.set_index("key")


@lru_cache(maxsize=1)
def _published() -> pd.DataFrame:
    frame = _published_text().astype({"unit": "string", "section": "string", "description": "string",
                                      "compared": "string", "reading": "string"})
    frame.index = frame.index.astype("string")
    return frame.astype({"value": float, "calibration_tolerance": float})


#: The unit of the rows that record a conclusion of the paper rather than a number.
CONCLUSION_UNIT = "conclusion"


def published_results() -> pd.DataFrame:
    """All published numbers, indexed by ``key``: value, unit, section, description, calibration_tolerance."""
    frame = _published()
    return frame[(frame["unit"] != CONCLUSION_UNIT).fillna(True)].copy()


def published_conclusions() -> pd.DataFrame:
    """The paper's conclusions, indexed by ``key``: ``value`` (1: a difference reported, 0: none), section and
    description.

    >>> int(published_conclusions().at["conclusion_hads_depression", "value"])
    0
    """
    frame = _published()
    return frame[(frame["unit"] == CONCLUSION_UNIT).fillna(False)].copy()


def published_value(key: str) -> float:
    """One published number by key; ``KeyError`` names the unknown key."""
    try:
        return float(_published().at[key, "value"])
    except KeyError:
        raise KeyError(f"{key!r} is not in {PUBLISHED_FILE}") from None


def published_decimals(key: str) -> int:
    """The decimals the paper prints for ``key``.

    >>> published_decimals("auc35_locf_omnibus_p"), published_decimals("flow_screened")
    (3, 0)
    """
    return fmt.decimals_of(str(_published_text().at[key, "value"]).strip())


def published_precision(key: str) -> float:
    """Half a unit of the last digit the paper prints for ``key``: the rounding a match must allow.

    >>> published_precision("auc35_locf_omnibus_p"), published_precision("flow_screened")
    (0.0005, 0.5)
    """
    return 0.5 * 10.0 ** (-published_decimals(key))


def within_tolerance(difference, tolerance):
    """Whether a difference from a published number is within ``tolerance`` (scalars or arrays alike), with a
    tiny allowance so that 45.00000000001 % still counts as the exact 45 %: the one rule of the ledger, the
    calibration and the targeting notes.

    >>> within_tolerance(0.0005, published_precision("auc35_locf_omnibus_p")), within_tolerance(0.6, 0.5)
    (True, False)
    """
    return abs(difference) <= tolerance + 1e-9


def calibration_targets() -> pd.DataFrame:
    """The published numbers the synthetic generator is calibrated to (those with a tolerance)."""
    frame = published_results()
    return frame[frame["calibration_tolerance"].notna()]


#: The report's contrasts (first - second) and the paper's labels of the same numbers (key stems): the paper
#: writes "placebo versus ketamine/magnesium" for the effect size it prints as ketamine/magnesium minus placebo.
PAIR_KEYS = {"ketamine vs placebo": "ketamine_vs_placebo",
             "ketamine_magnesium vs placebo": "placebo_vs_ketamine_magnesium",
             "ketamine vs ketamine_magnesium": "ketamine_vs_ketamine_magnesium"}


def planning_inputs() -> dict[str, float]:
    """The inputs of the paper's sample-size calculation, and the number of patients it states."""
    keys = {"difference": "samplesize_difference", "sd": "samplesize_pilot_auc28_sd", "alpha": "samplesize_alpha",
            "power": "samplesize_power", "correlation": "samplesize_correlation", "n": "samplesize_n"}
    return {name: published_value(key) for name, key in keys.items()}
