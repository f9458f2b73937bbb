"""The year's learning results, as the department reports them (issue 14, part 2).

Each transcript's headline results are the grading rules' (Circular 22/2021 for
grades 6–12: learning and conduct Tốt / Khá / Đạt / Chưa đạt and lên lớp / kiểm tra lại
/ rèn luyện trong hè / ở lại lớp; Circular 27/2020 for grades 1–5: Hoàn thành xuất sắc /
tốt / Hoàn thành / Chưa hoàn thành and lên lớp / ở lại lớp), computed when the
transcript was drafted (``hub.transcripts.service``) and kept on its current version.
:func:`learning_results` counts them by district, school, level and grade from the
database's result tallies (``hub.db.tallies``), within the caller's reach: the one
place these figures come from, for the API, the dashboard and the downloads.
"""

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, select

from hub.auth.access import restrict_to
from hub.db import models
from hub.domain.enums import SchoolLevel
from hub.domain.grading.primary import YearResult
from hub.domain.grading.secondary import Level, PromotionOutcome
from hub.resolvers.context import Context


class ResultDimension(StrEnum):
    """What one row of the report stands for (several combine)."""

    DISTRICT = "DISTRICT"
    SCHOOL = "SCHOOL"
    LEVEL = "LEVEL"
    GRADE = "GRADE"


class Measure(StrEnum):
    """The three results the report counts."""

    LEARNING = "LEARNING"  # kết quả học tập (TT22) / kết quả giáo dục (TT27)
    CONDUCT = "CONDUCT"  # kết quả rèn luyện (TT22 only)
    OUTCOME = "OUTCOME"  # lên lớp, kiểm tra lại, rèn luyện trong hè, ở lại lớp


#: Every code a measure can take, in the order the report lists them: TT22's and TT27's
#: learning results (they share no code), conduct, the promotion outcomes.
CODES: dict[Measure, tuple[str, ...]] = {
    Measure.LEARNING: (*(level.value for level in Level), *(r.value for r in YearResult)),
    Measure.CONDUCT: tuple(level.value for level in Level),
    Measure.OUTCOME: tuple(outcome.value for outcome in PromotionOutcome),
}


def label_of(measure: Measure, code: str) -> str:
    """A code's Vietnamese name, as the circulars write it."""
    if measure is Measure.OUTCOME:
        return PromotionOutcome(code).label
    if code in YearResult.__members__:
        return YearResult(code).label
    return Level(code).label


@dataclass
class ResultFigures:
    """One row: its group (None for a dimension not grouped by) and the counts of each
    measure by code. ``pupils`` counts current transcripts of the year, results or not."""

    district_id: int | None = None
    school_id: int | None = None
    level: SchoolLevel | None = None
    grade: int | None = None
    pupils: int = 0
    counts: dict[Measure, Counter[str]] = field(
        default_factory=lambda: {measure: Counter() for measure in Measure}
    )

    def count(self, measure: Measure, code: str) -> int:
        return self.counts[measure][code]

    def share(self, measure: Measure, code: str) -> float:
        """A code's share of the pupils (0 without pupils)."""
        return 0.0 if self.pupils == 0 else self.count(measure, code) / self.pupils

    @property
    def promotion_rate(self) -> float:
        """Tỉ lệ lên lớp: promoted pupils over all counted."""
        return self.share(Measure.OUTCOME, PromotionOutcome.PROMOTED.value)

    @property
    def retest_rate(self) -> float:
        """Tỉ lệ kiểm tra lại: pupils to re-test over all counted."""
        return self.share(Measure.OUTCOME, PromotionOutcome.RETEST.value)

    def codes(self, measure: Measure) -> list[str]:
        """The measure's codes this row has any of, in the report's order."""
        return [code for code in CODES[measure] if self.counts[measure][code]]

    def __add__(self, other: "ResultFigures") -> "ResultFigures":
        counts = {m: self.counts[m] + other.counts[m] for m in Measure}
        return ResultFigures(pupils=self.pupils + other.pupils, counts=counts)


def total_of(rows: list[ResultFigures]) -> ResultFigures:
    """The rows added up (the report's total line)."""
    return sum(rows, ResultFigures())


async def school_year_of(ctx: Context, code: str | None) -> Any:
    """School year ``code`` (e.g. 2025-2026), or the current one: its row (id, code),
    None when there is no such year."""
    year = models.SchoolYear
    condition = year.code == code if code else year.is_current.is_(True)
    found = await ctx.reader.rows(select(year.id, year.code).where(condition))
    return found[0] if found else None


async def learning_results(
    ctx: Context,
    group_by: list[ResultDimension],
    *,
    year_id: int,
    district_id: int | None = None,
    school_id: int | None = None,
) -> list[ResultFigures]:
    """The year's results counted for each group of ``group_by`` (one row for none),
    within the caller's reach (``reports:read``), of one district or school if asked."""
    ctx.caller.require("reports:read")
    tally, school = models.ResultTally, models.School
    columns: dict[ResultDimension, Any] = {
        ResultDimension.DISTRICT: school.district_id,
        ResultDimension.SCHOOL: tally.school_id,
        ResultDimension.LEVEL: school.level,
        ResultDimension.GRADE: tally.grade,
    }
    dimensions = list(dict.fromkeys(group_by))
    keys = [columns[d].label(d.value.lower()) for d in dimensions]
    measured = {
        Measure.LEARNING: tally.learning_result,
        Measure.CONDUCT: tally.conduct_result,
        Measure.OUTCOME: tally.outcome,
    }
    # One pass over the tallies: a sum per (measure, code), a row per group.
    slots = [(measure, code) for measure in Measure for code in CODES[measure]]
    sums = [func.sum(case((measured[m] == c, tally.n), else_=0)) for m, c in slots]
    statement = (
        select(*keys, func.sum(tally.n), *sums)
        .join(school, school.id == tally.school_id)
        .where(tally.school_year_id == year_id)
        .group_by(*keys)
    )
    statement = restrict_to(statement, school, ctx.caller.school_ids)
    if district_id is not None:
        statement = statement.where(school.district_id == district_id)
    if school_id is not None:
        statement = statement.where(tally.school_id == school_id)
    figures: list[ResultFigures] = []
    names = [d.value.lower() for d in dimensions]
    for row in await ctx.reader.rows(statement):
        values = tuple(row)
        group, pupils, counts = values[: len(keys)], values[len(keys)], values[len(keys) + 1 :]
        if not pupils:
            continue
        of = dict(zip(names, group, strict=True))
        level = of.get("level")
        found = ResultFigures(
            district_id=of.get("district"),
            school_id=of.get("school"),
            level=None if level is None else SchoolLevel(level),
            grade=of.get("grade"),
            pupils=int(pupils),
        )
        for (measure, code), count in zip(slots, counts, strict=True):
            if count:
                found.counts[measure][code] = int(count)
        figures.append(found)
    return sorted(figures, key=lambda f: _order((f.district_id, f.school_id, f.level, f.grade)))


def _order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is None, 0 if value is None else value) for value in key)
