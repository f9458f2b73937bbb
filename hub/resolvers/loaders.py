"""Per-request batch loaders: every relation costs one batched, authorised query.

Reads return plain SQLAlchemy Core rows, not ORM objects: a page only needs
column values, and skipping the identity map makes a 100-row page several times
cheaper. All rows are read through :func:`fetch`, so the authorisation layer and
the access log see every read.

The loaders are called with all the keys of a level at once by
:mod:`hub.resolvers.lookahead`, so they need no event-loop batching of single
loads (as a DataLoader does) — only one query per call and a memory of what the
request already loaded.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Integer, Row, Select, any_, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

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

#: Personal records whose every read is logged (RULES.md §6), by entity name.
AUDITED: dict[type, str] = {Student: "student", Guardian: "guardian"}


def columns_of(model: type) -> list[Any]:
    """All columns of ``model``'s table, for statements returning Core rows."""
    return list(model.__table__.c)  # type: ignore[attr-defined]


async def fetch(
    ctx: Context, model: type, statement: Select[Any], *, log_reads: bool = True
) -> list[Row[Any]]:
    """Run ``statement`` (a ``select(model)``) as the caller may, as Core rows.

    Personal reads are logged; ``log_reads=False`` is for a caller that returns
    only part of the rows and logs those itself with :func:`record_reads`.
    """
    authorised = restrict(statement, model, ctx.caller)
    rows = await ctx.reader.rows(
        authorised.with_only_columns(*columns_of(model), maintain_column_froms=True)
    )
    if log_reads:
        record_reads(ctx, model, rows)
    return list(rows)


def record_reads(ctx: Context, model: type, rows: Sequence[Any]) -> None:
    """Log that the caller was given ``rows``, if they are personal records."""
    entity = AUDITED.get(model)
    if entity is not None:
        ctx.audit.read(entity, [row.id for row in rows])


def key_in(column: Any, keys: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """``column IN keys``; on PostgreSQL as ``= ANY(array)``: one parameter, one plan."""
    if dialect == "postgresql":
        return column == any_(literal(list(keys), ARRAY(Integer)))
    return column.in_(keys)


class BatchLoader:
    """Loads the values of many keys in one query and remembers them for the request."""

    def __init__(self, load: Callable[[list[int]], Awaitable[list[Any]]]) -> None:
        self._load = load
        self._known: dict[int, Any] = {}

    async def load_many(self, keys: Sequence[int]) -> list[Any]:
        missing = [key for key in dict.fromkeys(keys) if key not in self._known]
        if missing:
            self._known.update(zip(missing, await self._load(missing), strict=True))
        return [self._known[key] for key in keys]


def _grouped(keys: Sequence[int], pairs: list[tuple[int, Any]]) -> list[list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for key, value in pairs:
        groups[key].append(value)
    return [groups.get(key, []) for key in keys]


class Loaders:
    """The data loaders of one request (never shared between requests)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._by_id: dict[type, BatchLoader] = {}
        self.current_class_of_student = BatchLoader(self._current_classes)
        self.guardian_links_of_student = BatchLoader(self._guardian_links)
        self.certificates_of_staff = BatchLoader(self._certificates_of_staff)
        self.seals_of_school = BatchLoader(self._seals_of_school)
        self.assignments_of_staff = BatchLoader(self._assignments_of_staff)

    def _in(self, column: Any, keys: Sequence[int]) -> ColumnElement[bool]:
        return key_in(column, keys, self.ctx.reader.dialect)

    def by_id(self, model: type) -> BatchLoader:
        """Rows of ``model`` by primary key; None where missing or not visible."""
        loader = self._by_id.get(model)
        if loader is None:

            async def load(ids: list[int]) -> list[Any]:
                key = model.id  # type: ignore[attr-defined]
                rows = await fetch(self.ctx, model, select(model).where(self._in(key, ids)))
                found = {row.id: row for row in rows}
                return [found.get(i) for i in ids]

            loader = self._by_id[model] = BatchLoader(load)
        return loader

    async def _current_classes(self, student_ids: list[int]) -> list[Any]:
        statement = restrict(
            select(Enrolment.student_id, *columns_of(SchoolClass))
            .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
            .join(SchoolYear, SchoolYear.id == Enrolment.school_year_id)
            .where(SchoolYear.is_current, self._in(Enrolment.student_id, student_ids)),
            SchoolClass,
            self.ctx.caller,
        )
        found = {row.student_id: row for row in await self.ctx.reader.rows(statement)}
        return [found.get(i) for i in student_ids]

    async def _guardian_links(self, student_ids: list[int]) -> list[list[Any]]:
        statement = restrict(
            select(
                GuardianLink.student_id,
                GuardianLink.relation,
                GuardianLink.verified,
                Guardian.id.label("guardian_id"),
                Guardian.full_name.label("guardian_full_name"),
                Guardian.phone.label("guardian_phone"),
                Guardian.personal_id.label("guardian_personal_id"),
            )
            .join(Guardian, Guardian.id == GuardianLink.guardian_id)
            .where(self._in(GuardianLink.student_id, student_ids))
            .order_by(GuardianLink.id),
            GuardianLink,
            self.ctx.caller,
        )
        links = await self.ctx.reader.rows(statement)
        self.ctx.audit.read("guardian", [link.guardian_id for link in links])
        return _grouped(student_ids, [(link.student_id, link) for link in links])

    async def _certificates_of_staff(self, staff_ids: list[int]) -> list[list[Any]]:
        rows = await fetch(
            self.ctx,
            SigningCertificate,
            select(SigningCertificate)
            .where(self._in(SigningCertificate.staff_id, staff_ids))
            .order_by(SigningCertificate.valid_to.desc()),
        )
        return _grouped(staff_ids, [(row.staff_id, row) for row in rows])

    async def _seals_of_school(self, school_ids: list[int]) -> list[list[Any]]:
        rows = await fetch(
            self.ctx,
            SigningCertificate,
            select(SigningCertificate)
            .where(self._in(SigningCertificate.school_id, school_ids))
            .order_by(SigningCertificate.valid_to.desc()),
        )
        return _grouped(school_ids, [(row.school_id, row) for row in rows])

    async def _assignments_of_staff(self, staff_ids: list[int]) -> list[list[Any]]:
        rows = await fetch(
            self.ctx,
            StaffAssignment,
            select(StaffAssignment)
            .where(self._in(StaffAssignment.staff_id, staff_ids))
            .order_by(StaffAssignment.school_id, StaffAssignment.role),
        )
        return _grouped(staff_ids, [(row.staff_id, row) for row in rows])
