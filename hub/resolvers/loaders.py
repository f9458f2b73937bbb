"""Per-request data loaders: every nested field costs one batched, authorised query.

All rows are read through :func:`fetch`, so the authorisation layer and the access
log see every read.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload
from strawberry.dataloader import DataLoader

from hub.auth.access import restrict
from hub.db.models import (
    Enrolment,
    Guardian,
    GuardianLink,
    SchoolClass,
    SchoolYear,
    SigningCertificate,
    StaffAssignment,
    Student,
)
from hub.resolvers.context import Context

M = TypeVar("M")

#: Personal records whose every read is logged (RULES.md §6), by entity name.
AUDITED: dict[type, str] = {Student: "student", Guardian: "guardian"}


async def fetch(
    ctx: Context, model: type[M], statement: Select[Any], *, log_reads: bool = True
) -> list[M]:
    """Run ``statement`` over ``model`` as the caller may, logging personal reads.

    ``log_reads=False`` is for a caller that returns only part of the rows and
    logs those itself with :func:`log_reads`.
    """
    rows = await ctx.reader.scalars(restrict(statement, model, ctx.caller))
    if log_reads:
        record_reads(ctx, model, rows)
    return rows


def record_reads(ctx: Context, model: type, rows: Sequence[Any]) -> None:
    """Log that the caller was given ``rows``, if they are personal records."""
    entity = AUDITED.get(model)
    if entity is not None:
        ctx.audit.read(entity, [row.id for row in rows])


def _grouped(keys: Sequence[int], pairs: list[tuple[int, Any]]) -> list[list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for key, value in pairs:
        groups[key].append(value)
    return [groups.get(key, []) for key in keys]


class Loaders:
    """The data loaders of one request (never shared between requests)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._by_id: dict[type, DataLoader[int, Any]] = {}
        self.current_class_of_student = self._loader(self._current_classes)
        self.guardian_links_of_student = self._loader(self._guardian_links)
        self.certificates_of_staff = self._loader(self._certificates_of_staff)
        self.seals_of_school = self._loader(self._seals_of_school)
        self.assignments_of_staff = self._loader(self._assignments_of_staff)

    @staticmethod
    def _loader(load: Callable[[list[int]], Any]) -> DataLoader[int, Any]:
        return DataLoader(load_fn=load)

    def by_id(self, model: type[M]) -> DataLoader[int, M | None]:
        """Rows of ``model`` by primary key; None where missing or not visible."""
        loader = self._by_id.get(model)
        if loader is None:

            async def load(ids: list[int]) -> list[Any]:
                rows = await fetch(self.ctx, model, select(model).where(model.id.in_(ids)))  # type: ignore[attr-defined]
                found = {row.id: row for row in rows}  # type: ignore[attr-defined]
                return [found.get(i) for i in ids]

            loader = self._by_id[model] = DataLoader(load_fn=load)
        return loader

    async def _current_classes(self, student_ids: list[int]) -> list[SchoolClass | None]:
        rows = await self.ctx.reader.rows(
            restrict(
                select(Enrolment.student_id, SchoolClass)
                .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
                .join(SchoolYear, SchoolYear.id == Enrolment.school_year_id)
                .where(SchoolYear.is_current, Enrolment.student_id.in_(student_ids)),
                SchoolClass,
                self.ctx.caller,
            )
        )
        found = {student_id: school_class for student_id, school_class in rows}
        return [found.get(i) for i in student_ids]

    async def _guardian_links(self, student_ids: list[int]) -> list[list[GuardianLink]]:
        links = await fetch(
            self.ctx,
            GuardianLink,
            select(GuardianLink)
            .where(GuardianLink.student_id.in_(student_ids))
            .options(joinedload(GuardianLink.guardian))
            .order_by(GuardianLink.id),
        )
        self.ctx.audit.read("guardian", [link.guardian_id for link in links])
        return _grouped(student_ids, [(link.student_id, link) for link in links])

    async def _certificates_of_staff(self, staff_ids: list[int]) -> list[list[SigningCertificate]]:
        rows = await fetch(
            self.ctx,
            SigningCertificate,
            select(SigningCertificate)
            .where(SigningCertificate.staff_id.in_(staff_ids))
            .order_by(SigningCertificate.valid_to.desc()),
        )
        return _grouped(staff_ids, [(row.staff_id, row) for row in rows])

    async def _seals_of_school(self, school_ids: list[int]) -> list[list[SigningCertificate]]:
        rows = await fetch(
            self.ctx,
            SigningCertificate,
            select(SigningCertificate)
            .where(SigningCertificate.school_id.in_(school_ids))
            .order_by(SigningCertificate.valid_to.desc()),
        )
        return _grouped(school_ids, [(row.school_id, row) for row in rows])

    async def _assignments_of_staff(self, staff_ids: list[int]) -> list[list[StaffAssignment]]:
        rows = await fetch(
            self.ctx,
            StaffAssignment,
            select(StaffAssignment)
            .where(StaffAssignment.staff_id.in_(staff_ids))
            .order_by(StaffAssignment.school_id, StaffAssignment.role),
        )
        return _grouped(staff_ids, [(row.staff_id, row) for row in rows])
