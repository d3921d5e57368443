"""Hand-computed checks of the diary derivations the calibration relies on (LOCF, AUC)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ketapain_lib.stats import derive


def diary(values_by_day: dict[int, float | None], patient: str = "P01", period: int = 1) -> pd.DataFrame:
    days = sorted(values_by_day)
    return pd.DataFrame({"patient_id": patient, "period": period, "day": days,
                         "average_pain": pd.array([values_by_day[d] for d in days], dtype="Int64")})


def test_constant_pain_over_35_days():
    frame = diary({d: 5 for d in range(36)})
    assert derive.auc(frame, last_day=35)["auc"].item() == 175.0
    assert derive.auc(frame, last_day=7, imputation="none")["auc"].item() == 35.0


def test_locf_fills_gaps_missing_last_days_and_a_missing_first_day():
    # day 0 missing -> takes day 1 (4); days 3-4 missing -> carry 6; days 34-35 missing -> carry 2
    values = {d: 3 for d in range(36)}
    values.update({0: None, 1: 4, 2: 6, 3: None, 4: None, 33: 2, 34: None, 35: None})
    filled = derive.locf(diary(values), ("average_pain",)).set_index("day")["average_pain"]
    assert filled[[0, 1, 2, 3, 4, 5, 33, 34, 35]].tolist() == [4, 4, 6, 6, 6, 3, 2, 2, 2]


def test_auc_without_imputation_bridges_a_gap_and_does_not_extrapolate():
    frame = diary({0: 2, 1: None, 2: 4, 3: 4})
    # trapezoids (0..2): (2+4)/2*2 = 6, (2..3): 4 -> 10 ; missing day 1 bridged linearly
    assert derive.auc(frame, last_day=3, imputation="none")["auc"].item() == 10.0
    # with LOCF: day 1 = 2 -> (2+2)/2 + (2+4)/2 + 4 = 9
    assert derive.auc(frame, last_day=3, imputation="locf")["auc"].item() == 9.0
    shortened = diary({0: 2, 1: 2, 2: 2, 3: None})
    assert derive.auc(shortened, last_day=3, imputation="none")["auc"].item() == 4.0


def test_days_absent_from_the_file_count_as_missing():
    with_rows = diary({0: 2, 1: None, 2: 4})
    without_rows = diary({0: 2, 2: 4})
    for imputation in ("locf", "none"):
        assert derive.auc(with_rows, last_day=2, imputation=imputation)["auc"].item() == \
            derive.auc(without_rows, last_day=2, imputation=imputation)["auc"].item()


def test_a_period_without_any_entry_has_no_auc():
    frame = diary({d: None for d in range(36)})
    assert np.isnan(derive.auc(frame)["auc"].item())


def test_unknown_imputation_is_refused():
    with pytest.raises(ValueError, match="imputation must be 'locf' or 'none'"):
        derive.auc(diary({0: 1, 1: 1}), imputation="mean")


def test_consecutive_ketamine_periods():
    randomization = pd.DataFrame({"patient_id": ["P01", "P02", "P03"], "sequence": ["P-K-M", "K-P-M", "M-K-P"]})
    assert derive.consecutive_ketamine(randomization).to_dict() == {"P01": True, "P02": False, "P03": True}
