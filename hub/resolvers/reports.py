"""Aggregate reports the department asks for (seed 003's coverage table)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import case, distinct, func, select

from hub.auth.access import visible
from hub.db import models
from hub.db.queries import certificate_valid_at
from hub.domain.enums import Ownership
from hub.resolvers.context import Context

#: In the department's tables, schools directly managed by the Sở form a row of
#: their own ("Trực thuộc") instead of sitting under their level.
DIRECTLY_MANAGED = "DIRECTLY_MANAGED"


class CoverageDimension(StrEnum):
    LEVEL = "LEVEL"
    OWNERSHIP = "OWNERSHIP"
    DISTRICT = "DISTRICT"


@dataclass(frozen=True)
class CoverageFigures:
    level: str | None
    ownership: Ownership | None
    district_id: int | None
    staff_total: int
    with_valid_certificate: int
    school_id: int | None = None

    @property
    def ratio(self) -> float:
        return 0.0 if self.staff_total == 0 else self.with_valid_certificate / self.staff_total


async def certificate_coverage(
    ctx: Context,
    group_by: list[CoverageDimension],
    *,
    at: datetime | None = None,
    district_id: int | None = None,
    by_school: bool = False,
) -> list[CoverageFigures]:
    """Staff and staff holding a valid personal certificate, grouped as asked.

    A staff member assigned to several schools of one group counts once in it.
    ``district_id`` keeps the schools of one district; ``by_school`` groups by school
    within the other dimensions (the dashboard's drill-down, not in the GraphQL enum).
    """
    ctx.caller.require("reports:read")
    at = at or datetime.now(UTC)
    valid = (
        select(models.SigningCertificate.staff_id)
        .where(models.SigningCertificate.staff_id.is_not(None), certificate_valid_at(at))
        .distinct()
        .subquery()
    )
    school = models.School
    columns: dict[CoverageDimension, Any] = {
        CoverageDimension.LEVEL: case(
            (school.directly_managed, DIRECTLY_MANAGED), else_=school.level
        ).label("level"),
        CoverageDimension.OWNERSHIP: school.ownership.label("ownership"),
        CoverageDimension.DISTRICT: school.district_id.label("district_id"),
    }
    dimensions = [columns[d] for d in dict.fromkeys(group_by)]
    if by_school:
        dimensions.append(school.id.label("school_id"))
    assignment = models.StaffAssignment
    statement = (
        select(
            *dimensions,
            func.count(distinct(assignment.staff_id)),
            func.count(distinct(valid.c.staff_id)),
        )
        .select_from(assignment)
        .join(school, school.id == assignment.school_id)
        .outerjoin(valid, valid.c.staff_id == assignment.staff_id)
        .group_by(*dimensions)
        .order_by(*dimensions)
    )
    condition = visible(models.School, ctx.caller)
    if condition is not None:
        statement = statement.where(condition)
    if district_id is not None:
        statement = statement.where(school.district_id == district_id)
    figures = []
    for row in await ctx.reader.rows(statement):
        values = row._mapping
        level = values.get("level")
        ownership = values.get("ownership")
        figures.append(
            CoverageFigures(
                level=None if level is None else str(level),
                ownership=None if ownership is None else Ownership(ownership),
                district_id=values.get("district_id"),
                staff_total=row[-2],
                with_valid_certificate=row[-1],
                school_id=values.get("school_id"),
            )
        )
    return figures
