"""Every list the API serves, as a file (issue 14): ``GET /exports/lists/{name}.csv|xlsx``.

The query string holds the list's GraphQL filter, field by field under the same names
(``/exports/lists/students.xlsx?schoolId=…&hasPersonalId=false``), parsed into the same
strawberry input (``StudentFilter``) and turned into SQL by the same
:mod:`hub.resolvers.queries` function as the connection. The rows are read as the
connection reads its pages — :func:`hub.resolvers.paging.page`, keyset by id, through
:func:`hub.auth.access.restrict` — a chunk at a time, and each chunk becomes the API's
nodes (``Student.from_row`` …): the masking of personal IDs, phones and e-mails and the
access-log entry of every person read are theirs, written chunk by chunk in the batched
form a GraphQL request writes. Related records (a pupil's class, a teacher's schools)
are prefetched with the node types' own relations and batch loaders, a relation that
needs a scope only for a caller holding it.

Who may ask is :func:`hub.web.exports.export_context`'s: an API client with a bearer
token, or a signed-in officer of the Sở or of a district office. Headers are in the
request's language (``?lang=en``), dates are written dd/mm/yyyy (moments in Vietnam
time), values of closed vocabularies by their names in that language. A file holds at
most :data:`ROW_LIMIT` rows of the list: beyond that the request is refused
(EXPORT_TOO_LARGE) before anything is read, and the filters narrow it.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast

from sqlalchemy import Select, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry import relay
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.nodes import SelectedField, Selection

from hub.auth.access import Caller, restrict
from hub.db import models
from hub.domain.problems import Code, HubError
from hub.resolvers import paging, queries
from hub.resolvers.context import Context
from hub.resolvers.loaders import Loaders
from hub.resolvers.lookahead import NOT_LOADED, shape
from hub.resolvers.paging import Window
from hub.schema.api import schema
from hub.schema.filters import (
    CertificateFilter,
    ClassFilter,
    SchoolFilter,
    StaffFilter,
    StudentFilter,
)
from hub.schema.nodes import (
    Certificate,
    District,
    GuardianLink,
    HubNode,
    School,
    SchoolClass,
    Staff,
    Student,
)
from hub.schema.transcripts import Transcript, TranscriptFilter
from hub.web.dashboard.desk import in_vietnam, words
from hub.web.dashboard.pupils import day
from hub.web.exports import (
    XLSX_MEDIA,
    Cell,
    Chunks,
    csv_stream,
    export_context,
    problem_response,
    release_context,
    streamed_attachment,
    xlsx_stream,
)
from hub.web.services import HubServices
from hub.web.verify import VIETNAM

#: The most rows of a list one file holds (Excel's own limit is 1,048,576 rows a sheet).
ROW_LIMIT = 200_000
#: Rows read, built, logged and written at a time.
CHUNK_SIZE = 5_000
#: Query parameters that are not filters.
NOT_FILTERS = frozenset({"lang"})
#: The largest value of a GraphQL Int.
INT_MAX = 2**31 - 1

Words = Callable[..., str]


@dataclass(frozen=True)
class Column:
    """One column of a list's file: its header's catalogue key (``exports.column.…``)
    and its cell, from one item (a node, or what :attr:`ListExport.items` gives)."""

    key: str
    cell: Callable[[Any, Words], Cell]


@dataclass(frozen=True)
class ListExport:
    """How one root list of the API becomes a file."""

    name: str
    #: The file's name without extension (ASCII, Vietnamese words).
    filename: str
    model: type
    node: type[HubNode]
    #: The list's query: ``(filter or None, dialect)`` → the connection's statement.
    statement: Callable[[Any, str], Select[Any]]
    #: The list's GraphQL filter input; None for a list without one.
    filter_type: type | None
    columns: tuple[Column, ...]
    #: The relations to prefetch on the nodes, for this caller.
    relations: Callable[[Caller], list[Selection]] = lambda caller: []
    #: The file's rows of one node (one, except the guardians: one per link).
    items: Callable[[Any], Sequence[Any]] = lambda node: [node]


def _field(name: str, *inner: Selection) -> SelectedField:
    """A selection of ``name`` (and ``inner`` below it), as GraphQL would pass it."""
    return SelectedField(name=name, directives={}, arguments={}, selections=list(inner))


def _loaded(value: Any) -> Any:
    """A relation's value, None where it was not prefetched (a scope the caller lacks)."""
    return None if value is NOT_LOADED else value


def _name(value: Any) -> Cell:
    found = _loaded(value)
    return None if found is None else cast(Cell, found.name)


def _global_id(node: Any) -> str:
    return str(relay.GlobalID(type(node).__name__, str(node.id)))


def _label(group: str, value: Enum | None, t: Words) -> Cell:
    """A value of a closed vocabulary by its name in the request's language."""
    return None if value is None else t(f"exports.{group}.{value.value}")


def _yes_no(value: bool | None, t: Words) -> Cell:
    return None if value is None else t("exports.yes" if value else "exports.no")


def _moment(value: datetime | None) -> Cell:
    return in_vietnam(value) or None


def _assignments(staff: Staff, t: Words) -> Cell:
    """``Trường A: Giáo viên, Hiệu trưởng; Trường B: Giáo viên``."""
    schools: dict[str, list[str]] = {}
    for assignment in _loaded(staff.assignments) or []:
        school = _name(assignment.school) or ""
        schools.setdefault(str(school), []).append(str(_label("role", assignment.role, t)))
    return "; ".join(f"{school}: {', '.join(roles)}" for school, roles in schools.items()) or None


def _owner(certificate: Certificate, t: Words) -> Cell:
    staff = _loaded(certificate.staff)
    if staff is not None:
        return cast(Cell, staff.full_name)
    return _name(certificate.school)


def _if(caller: Caller, scope: str, *selections: Selection) -> list[Selection]:
    return list(selections) if caller.has(scope) else []


def _id_column() -> Column:
    return Column("id", lambda node, t: _global_id(node))


LISTS: dict[str, ListExport] = {
    spec.name: spec
    for spec in (
        ListExport(
            name="districts",
            filename="danh-sach-phong-gddt",
            model=models.District,
            node=District,
            statement=lambda where, dialect: select(models.District),
            filter_type=None,
            columns=(
                _id_column(),
                Column("code", lambda d, t: d.code),
                Column("name", lambda d, t: d.name),
            ),
        ),
        ListExport(
            name="schools",
            filename="danh-sach-truong",
            model=models.School,
            node=School,
            statement=lambda where, dialect: queries.schools(where),
            filter_type=SchoolFilter,
            columns=(
                _id_column(),
                Column("moet_code", lambda s, t: s.moet_code),
                Column("name", lambda s, t: s.name),
                Column("level", lambda s, t: _label("level", s.level, t)),
                Column("ownership", lambda s, t: _label("ownership", s.ownership, t)),
                Column("directly_managed", lambda s, t: _yes_no(s.directly_managed, t)),
                Column("district", lambda s, t: _name(s.district)),
            ),
            relations=lambda caller: [_field("district")],
        ),
        ListExport(
            name="classes",
            filename="danh-sach-lop",
            model=models.SchoolClass,
            node=SchoolClass,
            statement=lambda where, dialect: queries.classes(where),
            filter_type=ClassFilter,
            columns=(
                _id_column(),
                Column("class", lambda c, t: c.name),
                Column("grade", lambda c, t: c.grade),
                Column("school", lambda c, t: _name(c.school)),
                Column(
                    "homeroom_teacher",
                    lambda c, t: (
                        None
                        if _loaded(c.homeroom_teacher) is None
                        else c.homeroom_teacher.full_name
                    ),
                ),
            ),
            relations=lambda caller: [
                _field("school"),
                *_if(caller, "staff:read", _field("homeroomTeacher")),
            ],
        ),
        ListExport(
            name="students",
            filename="danh-sach-hoc-sinh",
            model=models.Student,
            node=Student,
            statement=queries.students,
            filter_type=StudentFilter,
            columns=(
                _id_column(),
                Column("personal_id", lambda s, t: s.personal_id),
                Column("ministry_code", lambda s, t: s.ministry_code),
                Column("full_name", lambda s, t: s.full_name),
                Column("birth_date", lambda s, t: day(s.birth_date)),
                Column("sex", lambda s, t: _label("sex", s.sex, t)),
                Column("ethnicity", lambda s, t: s.ethnicity),
                Column("identity_status", lambda s, t: _label("identity", s.identity_status, t)),
                Column("school", lambda s, t: _name(s.school)),
                Column("class", lambda s, t: _name(s.current_class)),
            ),
            relations=lambda caller: [_field("school"), _field("currentClass")],
        ),
        ListExport(
            name="guardians",
            filename="danh-sach-cha-me-hoc-sinh",
            model=models.Student,
            node=Student,
            statement=queries.students,
            filter_type=StudentFilter,
            columns=(
                Column("student_id", lambda pair, t: _global_id(pair[0])),
                Column("student", lambda pair, t: pair[0].full_name),
                Column("class", lambda pair, t: _name(pair[0].current_class)),
                Column("guardian_id", lambda pair, t: _global_id(pair[1].guardian)),
                Column("guardian", lambda pair, t: pair[1].guardian.full_name),
                Column("relation", lambda pair, t: _label("relation", pair[1].relation, t)),
                Column("verified", lambda pair, t: _yes_no(pair[1].verified, t)),
                Column("personal_id", lambda pair, t: pair[1].guardian.personal_id),
                Column("phone", lambda pair, t: pair[1].guardian.phone),
            ),
            relations=lambda caller: [_field("currentClass"), _field("guardians")],
            items=lambda student: [
                (student, link) for link in cast(list[GuardianLink], student.guardians)
            ],
        ),
        ListExport(
            name="staff",
            filename="danh-sach-can-bo-giao-vien",
            model=models.Staff,
            node=Staff,
            statement=queries.staff,
            filter_type=StaffFilter,
            columns=(
                _id_column(),
                Column("personal_id", lambda s, t: s.personal_id),
                Column("full_name", lambda s, t: s.full_name),
                Column("birth_date", lambda s, t: day(s.birth_date)),
                Column("sex", lambda s, t: _label("sex", s.sex, t)),
                Column("email", lambda s, t: s.email),
                Column("phone", lambda s, t: s.phone),
                Column("assignments", _assignments),
            ),
            relations=lambda caller: [_field("assignments", _field("school"))],
        ),
        ListExport(
            name="certificates",
            filename="danh-sach-chung-thu-so",
            model=models.SigningCertificate,
            node=Certificate,
            statement=lambda where, dialect: queries.certificates(where),
            filter_type=CertificateFilter,
            columns=(
                _id_column(),
                Column("owner", _owner),
                Column("provider", lambda c, t: _label("provider", c.provider, t)),
                Column("serial_number", lambda c, t: c.serial_number),
                Column("subject", lambda c, t: c.subject),
                Column("issuer", lambda c, t: c.issuer),
                Column("valid_from", lambda c, t: _moment(c.valid_from)),
                Column("valid_to", lambda c, t: _moment(c.valid_to)),
                Column("status", lambda c, t: _label("certificate", c.status, t)),
                Column("valid_now", lambda c, t: _yes_no(c.is_valid, t)),
            ),
            relations=lambda caller: [
                _field("school"),
                *_if(caller, "staff:read", _field("staff")),
            ],
        ),
        ListExport(
            name="transcripts",
            filename="danh-sach-hoc-ba",
            model=models.Transcript,
            node=Transcript,
            statement=lambda where, dialect: queries.transcripts(where),
            filter_type=TranscriptFilter,
            columns=(
                _id_column(),
                Column("document_id", lambda r, t: r.document_id),
                Column("version", lambda r, t: r.version),
                Column("state", lambda r, t: _label("state", r.state, t)),
                Column(
                    "student",
                    lambda r, t: None if _loaded(r.student) is None else r.student.full_name,
                ),
                Column("class", lambda r, t: _name(r.school_class)),
                Column("school", lambda r, t: _name(r.school)),
                Column("learning_result", lambda r, t: r.learning_result),
                Column("conduct_result", lambda r, t: r.conduct_result),
                Column("outcome", lambda r, t: r.outcome),
                Column("award", lambda r, t: r.award),
                Column("updated_at", lambda r, t: _moment(r.updated_at)),
            ),
            relations=lambda caller: [
                _field("school"),
                _field("schoolClass"),
                *_if(caller, "students:read", _field("student")),
            ],
        ),
    )
}


def _refused(name: str, detail: str, english: str) -> HubError:
    return HubError(
        Code.INVALID_ARGUMENT,
        detail=f"bộ lọc {name}: {detail}",
        details_en={"detail": f"filter {name}: {english}"},
    )


def _value(name: str, kind: Any, text: str) -> Any:
    """``text`` as a value of the GraphQL input type ``kind`` (as the API coerces it)."""
    if kind is relay.GlobalID:
        try:
            return relay.GlobalID.from_id(text)
        except Exception as error:  # strawberry's own error names nothing of ours
            raise _refused(name, "không phải ID hợp lệ", "not a valid ID") from error
    if kind is bool:
        if text not in ("true", "false"):
            raise _refused(name, "chỉ nhận true hoặc false", "true or false only")
        return text == "true"
    if kind is int:
        digits = text.removeprefix("-")
        if not digits.isdigit() or len(digits) > 10 or abs(int(text)) > INT_MAX:
            raise _refused(name, "cần một số nguyên", "an integer is expected")
        return int(text)
    if kind is datetime:
        try:
            return datetime.fromisoformat(text)
        except ValueError as error:
            raise _refused(
                name, "cần thời điểm ISO 8601", "an ISO 8601 date-time is expected"
            ) from error
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(text)
        except ValueError as error:
            allowed = ", ".join(member.value for member in kind)
            raise _refused(name, f"chỉ nhận {allowed}", f"one of {allowed}") from error
    return text


def parse_filter(filter_type: type | None, params: Sequence[tuple[str, str]]) -> Any:
    """The list's GraphQL filter input from a query string, by the input's field names
    (``schoolId``); None when no filter is given. An unknown name, a name given twice
    or a value the field's type refuses is INVALID_ARGUMENT, naming the parameter."""
    fields = {}
    if filter_type is not None:
        definition = filter_type.__strawberry_definition__  # type: ignore[attr-defined]
        converter = schema.config.name_converter
        fields = {converter.get_graphql_name(f): f for f in definition.fields}
    given: dict[str, Any] = {}
    for name, text in params:
        if name in NOT_FILTERS:
            continue
        found = fields.get(name)
        if found is None:
            known = ", ".join(fields) or "—"
            raise _refused(name, f"không có (các bộ lọc: {known})", f"no such filter ({known})")
        if found.python_name in given:
            raise _refused(name, "chỉ được gửi một lần", "may be given once only")
        kind = found.type
        if isinstance(kind, StrawberryOptional):
            kind = kind.of_type
        if isinstance(kind, StrawberryEnumDefinition):
            kind = kind.wrapped_cls
        given[found.python_name] = _value(name, kind, text)
    if filter_type is None or not given:
        return None
    return filter_type(**given)


async def count(ctx: Context, spec: ListExport, statement: Select[Any]) -> int:
    """The rows of the list the caller may read (as the connection's ``totalCount``);
    FORBIDDEN without the list's scope."""
    counted = restrict(statement, spec.model, ctx.caller).order_by(None)
    total = await ctx.reader.scalar(select(func.count()).select_from(counted.subquery()))
    return int(total or 0)


async def chunks(
    ctx: Context, spec: ListExport, statement: Select[Any], t: Words, size: int
) -> Chunks:
    """The file's rows, ``size`` of the list's rows at a time, read by key as the
    connection pages them; each chunk's reads are logged before it is given out, and
    the context is released at the end."""
    try:
        after: int | None = None
        while True:
            rows, more, _ = await paging.page(
                ctx, model=spec.model, statement=statement, window=Window(size=size, after=after)
            )
            ctx.loaders = Loaders(ctx)  # what a chunk loaded is not kept for the next
            nodes = [spec.node.from_row(row, ctx) for row in rows]
            if nodes:
                await shape(ctx, nodes, spec.relations(ctx.caller))
            cells = [
                [column.cell(item, t) for column in spec.columns]
                for node in nodes
                for item in spec.items(node)
            ]
            await ctx.audit.flush(ctx.reader, caller=ctx.caller, purpose=ctx.purpose)
            if cells:
                yield cells
            if not more or not rows:
                return
            after = rows[-1].id
    finally:
        # Shielded: a download the client gave up on still closes its connection (the
        # chunks it was given are logged already).
        await asyncio.shield(release_context(ctx))


def list_routes(
    hub: HubServices, *, row_limit: int = ROW_LIMIT, chunk_size: int = CHUNK_SIZE
) -> list[Route]:
    """The list exports, for :func:`hub.web.app.create_app`."""

    async def export(request: Request) -> Response:
        spec = LISTS.get(request.path_params["name"])
        kind = request.path_params["kind"]
        if spec is None or kind not in ("csv", "xlsx"):
            return problem_response(
                HubError(
                    Code.INVALID_ARGUMENT,
                    detail=f"không có danh sách {request.url.path.rsplit('/', 1)[-1]!r} "
                    f"(có: {', '.join(LISTS)}; định dạng csv hoặc xlsx)",
                    details_en={
                        "detail": f"no such list (there are: {', '.join(LISTS)}; csv or xlsx)"
                    },
                ).problem,
                404,
            )
        try:
            ctx = await export_context(hub, request)
        except HubError as error:
            return problem_response(error.problem)
        if ctx is None:
            return problem_response(HubError(Code.UNAUTHENTICATED).problem)
        try:
            where = parse_filter(spec.filter_type, list(request.query_params.multi_items()))
            statement = spec.statement(where, ctx.reader.dialect)
            total = await count(ctx, spec, statement)
            if total > row_limit:
                raise HubError(Code.EXPORT_TOO_LARGE, count=total, limit=row_limit)
        except HubError as error:
            await release_context(ctx)
            return problem_response(error.problem)
        except BaseException:
            await release_context(ctx)
            raise
        t = words(request)
        headers = [t(f"exports.column.{column.key}") for column in spec.columns]
        rows: Chunks = chunks(ctx, spec, statement, t, chunk_size)
        today = datetime.now(VIETNAM).strftime("%Y%m%d")
        filename = f"{spec.filename}-{today}.{kind}"
        if kind == "csv":
            return streamed_attachment(
                csv_stream(headers, rows), "text/csv; charset=utf-8", filename
            )
        sheet = t(f"exports.sheet.{spec.name}")
        return streamed_attachment(xlsx_stream(sheet, headers, rows), XLSX_MEDIA, filename)

    return [Route("/exports/lists/{name}.{kind:str}", export, methods=["GET"])]
