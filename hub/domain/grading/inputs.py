"""Scores and ratings as school apps send them: checks with Vietnamese problems, storage form.

The rules themselves live in :mod:`secondary` and :mod:`primary`; here they
become a problem (stable code + Vietnamese message) or None, so a batch can
report every bad row without stopping at the first.
"""

from decimal import Decimal
from enum import StrEnum

from hub.domain.grading.primary import is_test_score
from hub.domain.grading.secondary import score_in_scale, score_precise_enough
from hub.domain.problems import Code, Problem, problem


def secondary_score_problem(value: Decimal, field: str) -> Problem | None:
    """A TT22 score: 0–10 with at most one decimal (6.5 yes, 6.55 no, 10.5 no)."""
    if not score_in_scale(value):
        return problem(Code.SCORE_OUT_OF_RANGE, field=field, value=value)
    if not score_precise_enough(value):
        return problem(Code.SCORE_PRECISION, field=field, value=value)
    return None


def primary_test_score_problem(value: int, field: str) -> Problem | None:
    """A TT27 periodic test score: a whole number of points, 0–10."""
    if not is_test_score(value):
        return problem(Code.TEST_SCORE_INVALID, field=field, value=value)
    return None


def to_tenths(value: Decimal) -> int:
    """6.5 → 65: the exact integer form scores are stored in."""
    return int(value * 10)


def from_tenths(tenths: int) -> Decimal:
    """65 → Decimal('6.5')."""
    return Decimal(tenths).scaleb(-1)


class PrimaryPeriod(StrEnum):
    """When a primary pupil is assessed (Circular 27/2020, Art. 6–7)."""

    MID_1 = "MID_1"  # giữa học kì I
    END_1 = "END_1"  # cuối học kì I
    MID_2 = "MID_2"  # giữa học kì II
    END_YEAR = "END_YEAR"  # cuối năm học


#: Qualities and competencies are rated at the end of semester I and of the year only.
TRAIT_PERIODS = (PrimaryPeriod.END_1, PrimaryPeriod.END_YEAR)
