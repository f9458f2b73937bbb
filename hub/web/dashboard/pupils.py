"""The dashboard's pupils without a verified personal ID (issue 12, part 4).

The national systems know a pupil by their 12-digit personal ID (mã định danh cá nhân):
the sector database refuses a record without one, and the national sync's identity
phase checks each one against the national population database (CSDL quốc gia về dân
cư), writing on the pupil whether it matched (``Student.identity_status``). A pupil
whose ID is missing, not checked yet, or not matched holds up their record and their
transcript; the school puts it right.

``GET /dashboard/pupils`` counts those pupils district by district, and why;
``GET /dashboard/pupils/district?district=…`` the same school by school;
``GET /dashboard/pupils/school?school=…`` lists a school's: name, class, birth date, the
personal ID masked, and why. A district office's officer sees their district's schools
only: every read goes through the caller's reach (:func:`hub.auth.access.restrict`), and
the list through ``Student`` nodes, so the masking and the access log are the API's.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.relay import GlobalID

from hub.db import models
from hub.domain.enums import IdentityStatus
from hub.domain.problems import Code, HubError
from hub.jobs import sync
from hub.resolvers import queries
from hub.resolvers.context import Context
from hub.resolvers.loaders import Loaders, fetch
from hub.resolvers.pupil_ids import (
    Reason,
    Tally,
    reason_of,
    schools_reached,
    tallies_by_district,
    tallies_by_school,
    total_of,
    without_verified_id,
)
from hub.schema.filters import StudentFilter
from hub.schema.nodes import Student
from hub.web.dashboard.desk import Desk, id_param, table_of, words
from hub.web.exports import Table


@dataclass(frozen=True)
class Pupil:
    """A pupil of a school's list: the API's ``Student`` node, their class and why."""

    student: Student
    class_name: str | None
    reason: Reason
    fields: list[str]


def day(value: date | None) -> str | None:
    """A date as people in Vietnam write it: ``04/03/2013``."""
    return None if value is None else f"{value:%d/%m/%Y}"


def pupil_routes(desk: Desk) -> list[Route]:
    """The pupils' identity pages, for :func:`hub.web.dashboard.dashboard_routes`."""

    def tally_table(
        request: Request, sheet: str, label: str, rows: list[tuple[str, Tally]]
    ) -> Table:
        t = words(request)
        headers = [t(label), t("dashboard.pupils.column.pupils")]
        headers += [t("dashboard.pupils.column.unverified"), t("dashboard.pupils.column.ratio")]
        headers += [t(f"dashboard.pupils.reason.{reason}") for reason in Reason]
        cells: list[list[Any]] = [
            [name, tally.pupils, tally.unverified, tally.ratio]
            + [tally.reasons[reason] for reason in Reason]
            for name, tally in rows
        ]
        return Table(t(sheet), headers, cells, frozenset({3}))

    def why(t: Callable[..., str], pupil: Pupil) -> str:
        text = t(f"dashboard.pupils.reason.{pupil.reason}")
        if not pupil.fields:
            return text
        named = [
            t(f"dashboard.pupils.field.{name}") if name in ("fullName", "birthDate") else name
            for name in pupil.fields
        ]
        return t("dashboard.pupils.reason_fields", reason=text, fields=", ".join(named))

    async def show(request: Request, template: str, **context: Any) -> Response:
        t = words(request)
        return await desk.show(
            request,
            template,
            reasons=list(Reason),
            reason_name=lambda reason: t(f"dashboard.pupils.reason.{reason}"),
            reason_help=lambda reason: t(f"dashboard.pupils.reason_help.{reason}"),
            why=lambda pupil: why(t, pupil),
            day=day,
            **context,
        )

    async def overview(request: Request, ctx: Context) -> Response:
        """District by district: how many pupils lack a verified personal ID, and why."""
        counted = await desk.counted(ctx, "pupils", tallies_by_district)
        by_district = counted.value
        names = await desk.districts_of(ctx, set(by_district))
        districts = sorted(
            ((names[key], tally) for key, tally in by_district.items() if key in names),
            key=lambda pair: (pair[0].name, pair[0].id),
        )
        total = total_of(tally for _, tally in districts)
        tables = {
            "districts": tally_table(
                request,
                "dashboard.pupils.sheet.districts",
                "dashboard.pupils.column.district",
                [(d.name, tally) for d, tally in districts],
            )
        }
        rows = [
            (d.name, f"/dashboard/pupils/district?district={d.id}", tally) for d, tally in districts
        ]
        return desk.export(request, tables, "hoc-sinh-chua-xac-thuc-dinh-danh") or await show(
            request, "dashboard_pupils.html", districts=rows, total=total, counted_at=counted.at
        )

    async def district(request: Request, ctx: Context) -> Response:
        """One district, school by school."""
        district_id = id_param(request, "district")
        found = None
        if district_id is not None:
            found = (await desk.districts_of(ctx, {district_id})).get(district_id)
        schools = [] if found is None else await schools_reached(ctx, district_id=district_id)
        if found is None or not schools:
            raise HubError(Code.INVALID_ARGUMENT, detail="district")
        counted = await desk.counted(
            ctx, "pupils", partial(tallies_by_school, district_id=district_id), district_id
        )
        by_school = counted.value
        rows = [(school, by_school.get(school.id, Tally())) for school in schools]
        total = total_of(tally for _, tally in rows)
        tables = {
            "schools": tally_table(
                request,
                "dashboard.pupils.sheet.schools",
                "dashboard.pupils.column.school",
                [(school.name, tally) for school, tally in rows],
            )
        }
        filename = f"hoc-sinh-chua-xac-thuc-dinh-danh-{found.code}"
        links = [
            (school.name, f"/dashboard/pupils/school?school={school.id}", tally)
            for school, tally in rows
        ]
        return desk.export(request, tables, filename) or await show(
            request,
            "dashboard_pupils_district.html",
            district=found,
            schools=links,
            total=total,
            counted_at=counted.at,
        )

    async def school(request: Request, ctx: Context) -> Response:
        """A school's pupils without a verified personal ID, the IDs masked."""
        school_id = id_param(request, "school")
        reached = [] if school_id is None else await schools_reached(ctx, school_id=school_id)
        if not reached:
            raise HubError(Code.SCHOOL_NOT_FOUND, value=request.query_params.get("school", ""))
        found = reached[0]
        statement = queries.students(
            StudentFilter(school_id=GlobalID("School", str(found.id))), ctx.reader.dialect
        ).where(without_verified_id())
        rows = await fetch(ctx, models.Student, statement.order_by(models.Student.id))
        students = [Student.from_row(row, ctx) for row in rows]
        classes = await Loaders(ctx).current_class_of_student.load_many([s.id for s in students])
        async with ctx.db.sessions() as session:
            differing = await sync.mismatched_fields(
                session,
                [s.id for s in students if s.identity_status is IdentityStatus.MISMATCH],
            )
        pupils = []
        for student, current in zip(students, classes, strict=True):
            reason = reason_of(
                has_personal_id=student.personal_id is not None, status=student.identity_status
            )
            if reason is not None:  # always: without_verified_id() chose them
                name = current.name if current is not None else None
                pupils.append(Pupil(student, name, reason, differing.get(student.id, [])))
        pupils.sort(key=lambda p: (p.class_name or "\uffff", p.student.full_name, p.student.id))
        t = words(request)
        table = table_of(
            request,
            "dashboard.pupils.sheet.pupils",
            [
                "dashboard.pupils.column.full_name",
                "dashboard.pupils.column.class",
                "dashboard.pupils.column.birth_date",
                "dashboard.pupils.column.personal_id",
                "dashboard.pupils.column.why",
            ],
            [
                [
                    p.student.full_name,
                    p.class_name,
                    day(p.student.birth_date),
                    p.student.personal_id,
                    why(t, p),
                ]
                for p in pupils
            ],
        )
        filename = f"hoc-sinh-chua-xac-thuc-dinh-danh-{found.moet_code}"
        return desk.export(request, {"pupils": table}, filename) or await show(
            request, "dashboard_pupils_school.html", school=found, pupils=pupils
        )

    return [
        Route("/dashboard/pupils", desk.page(overview)),
        Route("/dashboard/pupils/district", desk.page(district)),
        Route("/dashboard/pupils/school", desk.page(school)),
    ]
