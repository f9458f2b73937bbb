"""Pupils without a verified personal ID, counted (issue 12 part 4; issue 14 part 2).

The national systems know a pupil by their 12-digit personal ID (mã định danh cá nhân):
the sector database refuses a record without one, and the national sync's identity
phase checks each one against the national population database, writing on the pupil
whether it matched (``Student.identity_status``). A pupil whose ID is missing, not
checked yet, or not matched holds up their record and their transcript.

This module is where those pupils are counted, school by school and district by
district, from the database's pupil tallies (``hub.db.tallies``), within the caller's
reach: for the API's report, the dashboard and the downloads alike.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from hub.auth.access import restrict_to
from hub.db import models
from hub.domain.enums import IdentityStatus
from hub.resolvers.context import Context


class Reason(StrEnum):
    """Why the hub cannot vouch for a pupil's personal ID."""

    MISSING = "MISSING"  # none on record
    UNVERIFIED = "UNVERIFIED"  # not checked against the population database yet
    MISMATCH = "MISMATCH"  # the number exists there, but the name or birth date differs
    UNKNOWN = "UNKNOWN"  # the population database does not know the number


def reason_of(*, has_personal_id: bool, status: IdentityStatus) -> Reason | None:
    """Why a pupil's personal ID is not verified; None when the population database
    matched it (the national sync's identity phase, :mod:`hub.jobs.sync`)."""
    if not has_personal_id:
        return Reason.MISSING
    if status is IdentityStatus.VERIFIED:
        return None
    return Reason(status.value)


def without_verified_id() -> ColumnElement[bool]:
    """The SQL twin of :func:`reason_of` is not None."""
    student = models.Student
    return or_(student.personal_id.is_(None), student.identity_status != IdentityStatus.VERIFIED)


@dataclass
class Tally:
    """Pupils of a group, and how many of them lack a verified personal ID, by reason."""

    pupils: int = 0
    reasons: Counter[Reason] = field(default_factory=Counter)

    @property
    def unverified(self) -> int:
        return sum(self.reasons.values())

    @property
    def ratio(self) -> float:
        return 0.0 if self.pupils == 0 else self.unverified / self.pupils

    def add(self, other: "Tally") -> None:
        self.pupils += other.pupils
        self.reasons.update(other.reasons)


async def _tallies(ctx: Context, key: Any, *, district_id: int | None = None) -> dict[int, Tally]:
    """The tallies of the schools the caller reaches (of one district), added up by
    ``key`` (a column of ``schools``) in the database."""
    ctx.caller.require("reports:read")
    tally, school = models.PupilTally, models.School
    statement = (
        select(key, tally.has_personal_id, tally.identity_status, func.sum(tally.n))
        .join(school, school.id == tally.school_id)
        .group_by(key, tally.has_personal_id, tally.identity_status)
    )
    if district_id is not None:
        statement = statement.where(school.district_id == district_id)
    tallies: dict[int, Tally] = {}
    for group, has_id, status, count in await ctx.reader.rows(
        restrict_to(statement, school, ctx.caller.school_ids)
    ):
        if not count:
            continue
        found = tallies.setdefault(group, Tally())
        found.pupils += int(count)
        reason = reason_of(has_personal_id=bool(has_id), status=IdentityStatus(status))
        if reason is not None:
            found.reasons[reason] += int(count)
    return tallies


async def tallies_by_school(ctx: Context, *, district_id: int | None = None) -> dict[int, Tally]:
    """Each school's tally, of the schools the caller reaches (of one district)."""
    return await _tallies(ctx, models.School.id, district_id=district_id)


async def tallies_by_district(ctx: Context) -> dict[int, Tally]:
    """Each district's tally, of the schools the caller reaches (a district whose
    schools have no pupils has an empty one)."""
    counted = await _tallies(ctx, models.School.district_id)
    reached = restrict_to(
        select(models.School.district_id).distinct(), models.School, ctx.caller.school_ids
    )
    return {row[0]: counted.get(row[0], Tally()) for row in await ctx.reader.rows(reached)}


async def schools_reached(
    ctx: Context, *, district_id: int | None = None, school_id: int | None = None
) -> list[Any]:
    """The schools the caller reaches (of one district, or the one school), by name."""
    statement = select(models.School)
    if district_id is not None:
        statement = statement.where(models.School.district_id == district_id)
    if school_id is not None:
        statement = statement.where(models.School.id == school_id)
    statement = restrict_to(statement, models.School, ctx.caller.school_ids)
    return list(await ctx.reader.rows(statement.order_by(models.School.name, models.School.id)))


def total_of(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return total
