"""The questionnaire checks: visits and periods consistent, values in range, every expected score present.

One pass over plain columns (no row objects), so that an export of many thousands of patients validates
in seconds and a small one in milliseconds.
"""
from __future__ import annotations

from collections import defaultdict

import pandas as pd

from .problems import Problem, plain_number as _fmt
from .schema import SCORES

_QUESTIONNAIRE_KEYS = frozenset({"patient_id", "visit", "period", "score"})


def check_questionnaires(shown: str, rows: pd.DataFrame, closed: dict[str, tuple[int, ...]],
                         present: bool) -> list[Problem]:
    """Problems of the questionnaire rows; ``closed`` gives each patient's periods whose end visit is due."""
    if not present:  # a missing file or column is reported already; completeness cannot be judged
        return []
    problems: list[Problem] = []
    visits_of = {s.name: s.visits for s in SCORES}
    limits_of = {s.name: (*s.value_range, s.integer) for s in SCORES}
    collected: dict[str, set] = defaultdict(set)
    for line, bad, pid, visit, period, score, value in zip(
            rows["source_line"], rows["bad_columns"], rows["patient_id"], rows["visit"], rows["period"],
            rows["score"], rows["value"]):
        if bad and bad & _QUESTIONNAIRE_KEYS:
            continue
        if visit == "inclusion" and period is not None:
            problems.append(Problem(shown, line, "period", "the inclusion visit has no period; leave it empty"))
            continue
        if visit == "end_of_period" and period is None:
            problems.append(Problem(shown, line, "period", "an end_of_period visit needs its period (1-3)"))
            continue
        if visit not in visits_of[score]:
            problems.append(Problem(shown, line, "visit", f"{score} is not collected at the {visit} visit "
                                                          f"(collected at: {', '.join(visits_of[score])})"))
            continue
        collected[pid].add((visit, period, score))
        if value is None:
            continue
        low, high, integer = limits_of[score]
        if not low <= value <= high:
            problems.append(Problem(shown, line, "value",
                                    f"{score} value {_fmt(value)} is outside its range {_fmt(low)} to {_fmt(high)}"))
        elif integer and not float(value).is_integer():
            problems.append(Problem(shown, line, "value", f"{score} value {value} must be a whole number"))
    return problems + _completeness(shown, collected, closed)


def _completeness(shown: str, collected: dict[str, set], closed: dict[str, tuple[int, ...]]) -> list[Problem]:
    problems = []
    for pid in sorted(closed):
        have = collected.get(pid, set())
        if not have:
            problems.append(Problem(shown, None, "patient_id", f"patient {pid} has no questionnaire"))
            continue
        expected = [(visit, period, score.name)
                    for score in SCORES for visit in score.visits
                    for period in ((None,) if visit == "inclusion" else closed[pid])]
        missing = [e for e in expected if e not in have]
        if missing:
            spelled = "; ".join(f"{s} at {v}{'' if p is None else f' {p}'}" for v, p, s in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            problems.append(Problem(shown, None, "score",
                                    f"patient {pid} lacks {len(missing)} expected score(s): {spelled}{more}"))
    return problems
