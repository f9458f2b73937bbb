"""Per-request batch loaders: every relation costs one batched, authorised query.

Reads return plain SQLAlchemy Core rows, not ORM objects: a page only needs
column values, and skipping the identity map makes a 100-row page several times
cheaper. Every read passes the authorisation layer and personal reads are
logged.

The loaders are called with all the keys of a level at once by
:mod:`hub.resolvers.lookahead`, so they need no event-loop batching of single
loads (as a DataLoader does) — only one query per call and a memory of what the
request already loaded. Their statements are built once per organisation reach
and dialect and reused with the keys as a parameter, so a request pays neither
for building nor for cache-keying them (and PostgreSQL keeps one plan each).
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Row, Select, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from hub.auth.access import consented, require_read, restrict, restrict_to
from hub.db.models import (
    Enrolment,
    Guardian,
    GuardianLink,
    SchoolClass,
    SchoolYear,
    SigningCertificate,
    StaffAssignment,
)
from hub.resolvers.context import Context


def columns_of(model: type) -> list[Any]:
    """All columns of ``model``'s table, for statements returning Core rows."""
    return list(model.__table__.c)  # type: ignore[attr-defined]


async def fetch(
    ctx: Context, model: type, statement: Select[*tuple[Any, ...]]
) -> list[Row[*tuple[Any, ...]]]:
    """Run ``statement`` (a ``select(model)``) as the caller may, as Core rows.

    Reads of personal data are logged when the rows become nodes (``from_row``).
    """
    authorised = restrict(statement, model, ctx.caller)
    rows = await ctx.reader.rows(
        authorised.with_only_columns(*columns_of(model), maintain_column_froms=True)
    )
    return list(rows)


def keys_match(column: Any, dialect: str) -> ColumnElement[bool]:
    """``column`` among the ``:keys`` parameter; on PostgreSQL ``= ANY(array)``."""
    if dialect == "postgresql":
        return column == any_(bindparam("keys", type_=ARRAY(Integer)))
    return column.in_(bindparam("keys", expanding=True))


def _by_id(model: type, reach: frozenset[int] | None, dialect: str) -> Select[*tuple[Any, ...]]:
    key = model.id  # type: ignore[attr-defined]
    return restrict_to(select(*columns_of(model)).where(keys_match(key, dialect)), model, reach)


def _current_classes(reach: frozenset[int] | None, dialect: str) -> Select[*tuple[Any, ...]]:
    statement = (
        select(Enrolment.student_id, *columns_of(SchoolClass))
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .join(SchoolYear, SchoolYear.id == Enrolment.school_year_id)
        .where(SchoolYear.is_current, keys_match(Enrolment.student_id, dialect))
    )
    return restrict_to(statement, SchoolClass, reach)


def _guardian_links(reach: frozenset[int] | None, dialect: str) -> Select[*tuple[Any, ...]]:
    statement = (
        select(
            GuardianLink.id,
            GuardianLink.student_id,
            GuardianLink.relation,
            GuardianLink.verified,
            GuardianLink.verified_by,
            GuardianLink.verified_at,
            Guardian.id.label("guardian_id"),
            Guardian.full_name.label("guardian_full_name"),
            Guardian.phone.label("guardian_phone"),
            Guardian.personal_id.label("guardian_personal_id"),
        )
        .join(Guardian, Guardian.id == GuardianLink.guardian_id)
        .where(keys_match(GuardianLink.student_id, dialect))
        .order_by(GuardianLink.id)
    )
    return restrict_to(statement, GuardianLink, reach)


def _enrolments(reach: frozenset[int] | None, dialect: str) -> Select[*tuple[Any, ...]]:
    statement = (
        select(
            Enrolment.id,
            Enrolment.student_id,
            Enrolment.class_id,
            Enrolment.school_year_id,
            SchoolYear.code.label("year_code"),
            SchoolYear.starts_on.label("year_starts_on"),
            SchoolYear.ends_on.label("year_ends_on"),
            SchoolYear.is_current.label("year_is_current"),
        )
        .join(SchoolYear, SchoolYear.id == Enrolment.school_year_id)
        .where(keys_match(Enrolment.student_id, dialect))
        .order_by(SchoolYear.starts_on, Enrolment.id)
    )
    return restrict_to(statement, Enrolment, reach)


def _certificates(owner: Any) -> Callable[[frozenset[int] | None, str], Select[*tuple[Any, ...]]]:
    def build(reach: frozenset[int] | None, dialect: str) -> Select[*tuple[Any, ...]]:
        statement = (
            select(*columns_of(SigningCertificate))
            .where(keys_match(owner, dialect))
            .order_by(SigningCertificate.valid_to.desc())
        )
        return restrict_to(statement, SigningCertificate, reach)

    return build


def _assignments(reach: frozenset[int] | None, dialect: str) -> Select[*tuple[Any, ...]]:
    statement = (
        select(*columns_of(StaffAssignment))
        .where(keys_match(StaffAssignment.staff_id, dialect))
        .order_by(StaffAssignment.school_id, StaffAssignment.role)
    )
    return restrict_to(statement, StaffAssignment, reach)


STATEMENTS: dict[str, Callable[[frozenset[int] | None, str], Select[*tuple[Any, ...]]]] = {
    "current_classes": _current_classes,
    "guardian_links": _guardian_links,
    "enrolments_of_student": _enrolments,
    "certificates_of_staff": _certificates(SigningCertificate.staff_id),
    "seals_of_school": _certificates(SigningCertificate.school_id),
    "assignments_of_staff": _assignments,
}


@lru_cache(maxsize=4096)
def prepared(name: str, model: type | None, reach: frozenset[int] | None, dialect: str) -> Any:
    """The loader statement ``name`` (or by-id of ``model``) for one reach and dialect."""
    if model is not None:
        return _by_id(model, reach, dialect)
    return STATEMENTS[name](reach, dialect)


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
    """The batch loaders of one request (never shared between requests)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._by_id: dict[type, BatchLoader] = {}
        self.current_class_of_student = BatchLoader(self._current_classes)
        self.guardian_links_of_student = BatchLoader(self._guardian_links)
        self.certificates_of_staff = self._lists_of(
            SigningCertificate, "certificates_of_staff", owner="staff_id"
        )
        self.seals_of_school = self._lists_of(
            SigningCertificate, "seals_of_school", owner="school_id"
        )
        self.assignments_of_staff = self._lists_of(
            StaffAssignment, "assignments_of_staff", owner="staff_id"
        )
        self.enrolments_of_student = self._lists_of(
            Enrolment, "enrolments_of_student", owner="student_id"
        )
        #: The children of every parent at one place of the query (``School.classes``),
        #: by that place: data loaders batching a list's items (see
        #: ``hub.schema.pagination.paginate_children``).
        self.edges: dict[tuple[str, tuple[str, ...]], Any] = {}

    async def _run(self, model: type, name: str, keys: list[int], *, by_id: bool = False) -> Any:
        """Authorise, then run the prepared statement ``name`` for ``keys``."""
        require_read(model, self.ctx.caller)
        statement = prepared(
            name, model if by_id else None, self.ctx.caller.school_ids, self.ctx.reader.dialect
        )
        consent = consented(model, self.ctx.caller)  # an admission service's transcripts
        if consent is not None:
            statement = statement.where(consent)
        return await self.ctx.reader.rows(statement, {"keys": keys})

    def by_id(self, model: type) -> BatchLoader:
        """Rows of ``model`` by primary key; None where missing or not visible."""
        loader = self._by_id.get(model)
        if loader is None:

            async def load(ids: list[int]) -> list[Any]:
                rows = await self._run(model, "by_id", ids, by_id=True)
                found = {row.id: row for row in rows}
                return [found.get(i) for i in ids]

            loader = self._by_id[model] = BatchLoader(load)
        return loader

    async def _current_classes(self, student_ids: list[int]) -> list[Any]:
        rows = await self._run(SchoolClass, "current_classes", student_ids)
        found = {row.student_id: row for row in rows}
        return [found.get(i) for i in student_ids]

    async def _guardian_links(self, student_ids: list[int]) -> list[list[Any]]:
        links = await self._run(GuardianLink, "guardian_links", student_ids)
        return _grouped(student_ids, [(link.student_id, link) for link in links])

    def _lists_of(self, model: type, name: str, *, owner: str) -> BatchLoader:
        """A loader of the ``model`` rows each key owns (through column ``owner``)."""

        async def load(keys: list[int]) -> list[list[Any]]:
            rows = await self._run(model, name, keys)
            return _grouped(keys, [(getattr(row, owner), row) for row in rows])

        return BatchLoader(load)
