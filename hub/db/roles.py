"""SQL twins of :mod:`hub.domain.roles`: who holds a signing role, decided in the database.

Each twin is tested against its pure rule on the same rows
(``tests/integration/test_rule_twins.py``).
"""

import functools
from typing import Any

from sqlalchemy import ScalarSelect, Select, and_, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from hub.db import models
from hub.domain.enums import StaffRole


def homeroom_teacher_id(class_id: Any) -> ScalarSelect[Any]:
    """SQL twin of :func:`hub.domain.roles.homeroom_teacher_of`: the staff id the class names."""
    return (
        select(models.SchoolClass.homeroom_teacher_id)
        .where(models.SchoolClass.id == class_id)
        .scalar_subquery()
    )


def is_principal_record() -> ColumnElement[bool]:
    """SQL twin of :func:`hub.domain.roles.principal_of`, as a condition on
    ``staff_assignments``: this row is its school's principal record (a PRINCIPAL
    assignment, and no PRINCIPAL assignment of the same school was recorded after it)."""
    later = aliased(models.StaffAssignment)
    return and_(
        models.StaffAssignment.role == StaffRole.PRINCIPAL,
        ~exists().where(
            later.school_id == models.StaffAssignment.school_id,
            later.role == StaffRole.PRINCIPAL,
            later.id > models.StaffAssignment.id,
        ),
    )


def principal_id(school_id: Any) -> ScalarSelect[Any]:
    """The staff id of the school's principal (:func:`is_principal_record`), as a subquery."""
    return (
        select(models.StaffAssignment.staff_id)
        .where(models.StaffAssignment.school_id == school_id, is_principal_record())
        .scalar_subquery()
    )


async def principal(session: AsyncSession, *, school_id: int) -> models.Staff | None:
    """The principal of the school (:func:`hub.domain.roles.principal_of`), or None."""
    return await session.scalar(_principal(), {"school_id": school_id})


async def homeroom_teacher(session: AsyncSession, *, class_id: int) -> models.Staff | None:
    """The homeroom teacher of the class (:func:`hub.domain.roles.homeroom_teacher_of`), or None."""
    return await session.scalar(_homeroom_teacher(), {"class_id": class_id})


# Built once, their values bound at each call: a bulk batch asks on every chunk it
# sends, and building the principal's subqueries costs more than running them.


@functools.cache
def _principal() -> Select[models.Staff]:
    return select(models.Staff).where(models.Staff.id == principal_id(bindparam("school_id")))


@functools.cache
def _homeroom_teacher() -> Select[models.Staff]:
    return select(models.Staff).where(models.Staff.id == homeroom_teacher_id(bindparam("class_id")))
