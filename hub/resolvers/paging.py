"""Keyset windows: one page of a list, or one page of children for every parent at once.

A window is the slice of a list, ordered by id, that ``first``/``after`` or
``last``/``before`` ask for. A root connection reads its window with one statement;
a connection under a node (``School.classes``) reads the windows of every parent of
the page with one statement too: the root list's query (the same filters), joined to
the parent by an :class:`Edge`, numbered per parent (``row_number() OVER (PARTITION
BY parent)``) and cut at the page size. Whether rows lie on the other side of the
cursor (Relay's ``hasPreviousPage`` when paging forward, ``hasNextPage`` backward) is
one more statement, only when a cursor is given.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, literal, select, union
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from hub.auth.access import restrict
from hub.db import models
from hub.resolvers.context import Context
from hub.resolvers.loaders import columns_of


@dataclass(frozen=True)
class Window:
    """The slice asked for: ``size`` rows after ``after`` and before ``before`` (ids),
    the first ones of that range, or the last ones when ``backward``."""

    size: int
    after: int | None = None
    before: int | None = None
    backward: bool = False


def bounded(statement: Select[Any], key: Any, window: Window) -> Select[Any]:
    """``statement`` limited to the ids between the window's cursors."""
    if window.after is not None:
        statement = statement.where(key > window.after)
    if window.before is not None:
        statement = statement.where(key < window.before)
    return statement


def ordered(key: Any, window: Window) -> Any:
    """The order rows are read in: from the cursor outwards (the page is put back
    in ascending order once read)."""
    return key.desc() if window.backward else key.asc()


def beyond_cursor(key: Any, window: Window) -> ColumnElement[bool] | None:
    """The rows on the far side of the cursor the page starts from, None without one:
    those before ``after`` when paging forward, from ``before`` on when paging back."""
    if window.backward:
        return None if window.before is None else key >= window.before
    return None if window.after is None else key <= window.after


async def page(
    ctx: Context, *, model: type, statement: Select[Any], window: Window
) -> tuple[list[Any], bool, bool]:
    """One window of ``statement`` (a ``select(model)``), as the caller may read it.

    Answers the rows in ascending id order, whether rows follow them (Relay's
    ``hasNextPage``) and whether rows precede them (``hasPreviousPage``).
    """
    key = model.id  # type: ignore[attr-defined]
    authorised = restrict(statement, model, ctx.caller)
    read = bounded(authorised, key, window).order_by(ordered(key, window))
    rows = list(
        await ctx.reader.rows(
            read.with_only_columns(*columns_of(model), maintain_column_froms=True).limit(
                window.size + 1
            )
        )
    )
    more = len(rows) > window.size
    rows = rows[: window.size]
    far = beyond_cursor(key, window)
    beyond = False
    if far is not None:
        found = authorised.where(far).with_only_columns(literal(1), maintain_column_froms=True)
        beyond = await ctx.reader.scalar(found.limit(1)) is not None
    if window.backward:
        rows.reverse()
        return rows, beyond, more
    return rows, more, beyond


@dataclass(frozen=True)
class Edge:
    """How the children of one kind of parent are reached.

    ``model`` is the children's table; ``join`` takes the children's list query and
    answers it joined to the parent, with the column that holds the parent's id.
    """

    model: type
    join: Callable[[Select[Any]], tuple[Select[Any], Any]]


def _column(column: Any) -> Callable[[Select[Any]], tuple[Select[Any], Any]]:
    """A parent named by a column of the child row (``classes.school_id``)."""
    return lambda statement: (statement, column)


def _enrolled(statement: Select[Any]) -> tuple[Select[Any], Any]:
    # Aliased: the list's own filters (a class, a grade) query enrolments in subqueries
    # that must not correlate with the join.
    enrolment = aliased(models.Enrolment)
    return statement.join(enrolment, enrolment.student_id == models.Student.id), enrolment.class_id


def _assigned(statement: Select[Any]) -> tuple[Select[Any], Any]:
    assignment = aliased(models.StaffAssignment)
    link = (
        select(assignment.school_id.label("school_id"), assignment.staff_id.label("staff_id"))
        .distinct()  # one row per school even for two roles there
        .subquery()
    )
    return statement.join(link, link.c.staff_id == models.Staff.id), link.c.school_id


def _school_certificates(statement: Select[Any]) -> tuple[Select[Any], Any]:
    """A school's seals and the personal certificates of the staff assigned to it (as
    ``certificates(filter: {schoolId})`` reads them)."""
    certificate = aliased(models.SigningCertificate)
    assignment = aliased(models.StaffAssignment)
    link = union(
        select(certificate.school_id.label("school_id"), certificate.id.label("certificate_id"))
        .where(certificate.school_id.is_not(None)),
        select(assignment.school_id, certificate.id)
        .join(assignment, assignment.staff_id == certificate.staff_id),
    ).subquery()  # fmt: skip
    joined = statement.join(link, link.c.certificate_id == models.SigningCertificate.id)
    return joined, link.c.school_id


SCHOOLS_OF_DISTRICT = Edge(models.School, _column(models.School.district_id))
CLASSES_OF_SCHOOL = Edge(models.SchoolClass, _column(models.SchoolClass.school_id))
STAFF_OF_SCHOOL = Edge(models.Staff, _assigned)
TRANSCRIPTS_OF_SCHOOL = Edge(models.Transcript, _column(models.Transcript.school_id))
CERTIFICATES_OF_SCHOOL = Edge(models.SigningCertificate, _school_certificates)
STUDENTS_OF_CLASS = Edge(models.Student, _enrolled)
TRANSCRIPTS_OF_STUDENT = Edge(models.Transcript, _column(models.Transcript.student_id))


@dataclass
class Pages:
    """The window of children of each parent, with what Relay's page info needs."""

    rows: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    following: set[int] = field(default_factory=set)  # parents with rows after their page
    preceding: set[int] = field(default_factory=set)  # … and before it
    counts: dict[int, int] | None = None  # children per parent, every page (when asked)


async def children(
    ctx: Context,
    *,
    edge: Edge,
    statement: Select[Any],
    parents: Sequence[int],
    window: Window,
    count: bool,
) -> Pages:
    """The window of children of every parent in ``parents``: one statement for the
    pages, one for the counts when asked, one for the far side of a cursor when given.

    ``statement`` is the children's list query with its filters; authorisation (scope,
    reach, consent) is added here as for a root list.
    """
    model = edge.model
    key = model.id  # type: ignore[attr-defined]
    authorised = restrict(statement, model, ctx.caller)
    joined, parent = edge.join(authorised)
    joined = joined.where(parent.in_(list(parents)))
    position = func.row_number().over(partition_by=parent, order_by=ordered(key, window))
    numbered = (
        bounded(joined, key, window)
        .with_only_columns(
            *columns_of(model),
            parent.label("parent_key"),
            position.label("position"),
            maintain_column_froms=True,
        )
        .subquery()
    )
    read = (
        select(numbered)
        .where(numbered.c.position <= window.size + 1)
        .order_by(numbered.c.parent_key, numbered.c.position)
    )
    pages = Pages()
    for row in await ctx.reader.rows(read):
        if row.position > window.size:
            (pages.preceding if window.backward else pages.following).add(row.parent_key)
        else:
            pages.rows[row.parent_key].append(row)
    if window.backward:
        for rows in pages.rows.values():
            rows.reverse()
    far = beyond_cursor(key, window)
    if far is not None:
        found = joined.where(far).with_only_columns(parent, maintain_column_froms=True).distinct()
        beyond = {row[0] for row in await ctx.reader.rows(found)}
        (pages.following if window.backward else pages.preceding).update(beyond)
    if count:
        counted = joined.with_only_columns(
            parent.label("parent_key"), maintain_column_froms=True
        ).subquery()
        totals = await ctx.reader.rows(
            select(counted.c.parent_key, func.count()).group_by(counted.c.parent_key)
        )
        pages.counts = {row[0]: int(row[1]) for row in totals}
    return pages
