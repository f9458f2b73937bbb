"""The dashboard's signing progress (issue 12, part 4): how far the school year's
transcripts have got through draft → locked → homeroom teacher → principal → seal →
published.

``GET /dashboard/signing`` shows, for each district the officer reaches, the current
school year's transcripts in each state, how many are fully signed and their share,
with a bar per district; ``?district=…`` drills into a district's schools and
``?school=…`` into a school's classes. Every level takes ``?format=csv`` or
``?format=xlsx``.

The figures come from :func:`hub.resolvers.progress.signing_progress` alone (one
GROUP BY, in the desk's resolver context, so within the officer's reach); this module
only names the rows and lays them out.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.auth.access import restrict_to
from hub.db import models
from hub.domain.lifecycle import TranscriptState
from hub.domain.problems import Code, HubError
from hub.resolvers.context import Context
from hub.resolvers.progress import (
    ProgressGrouping,
    SigningProgress,
    signing_progress,
    total_of,
)
from hub.web.dashboard.desk import Desk, id_param, words
from hub.web.dashboard.figures import Counted
from hub.web.exports import Table

PATH = "/dashboard/signing"
#: A district or a school: a place the table drills into.
Place = TypeVar("Place", models.District, models.School)


@dataclass(frozen=True)
class ProgressRow:
    """One line of the table: a district, school or class, where it drills to, its figures."""

    name: str
    link: str | None
    figures: SigningProgress


def progress_table(
    t: Callable[..., str], column: str, rows: list[ProgressRow], total: SigningProgress
) -> Table:
    """The page's table for the exports: a column per state, then the fully signed."""
    headers = [
        t(column),
        *(t(f"dashboard.signing.state.{state.value}") for state in TranscriptState),
        t("dashboard.signing.column.total"),
        t("dashboard.signing.column.fully_signed"),
        t("dashboard.signing.column.ratio"),
    ]
    lines = [(row.name, row.figures) for row in rows] + [(t("dashboard.total"), total)]
    cells: list[list[Any]] = [
        [
            name,
            *(figures.counts[state] for state in TranscriptState),
            figures.total,
            figures.fully_signed,
            figures.ratio,
        ]
        for name, figures in lines
    ]
    ratio_column = len(headers) - 1
    return Table(t("dashboard.signing.sheet.progress"), headers, cells, frozenset({ratio_column}))


def signing_routes(desk: Desk) -> list[Route]:
    """The signing-progress page, for :func:`hub.web.dashboard.dashboard_routes`."""

    async def school_year(ctx: Context) -> models.SchoolYear | None:
        years = await ctx.reader.rows(
            select(models.SchoolYear).where(models.SchoolYear.is_current.is_(True))
        )
        return years[0] if years else None

    async def counted(
        ctx: Context,
        by: ProgressGrouping,
        *,
        district_id: int | None = None,
        school_id: int | None = None,
    ) -> Counted[Any]:
        """The figures, counted ahead for the caller's reach (:meth:`Desk.counted`)."""
        count = partial(signing_progress, by=by, district_id=district_id, school_id=school_id)
        return await desk.counted(ctx, "signing", count, by, district_id, school_id)

    async def progress_rows(
        ctx: Context,
        by: ProgressGrouping,
        places: Any,
        *,
        drill: str | None = None,
        district_id: int | None = None,
        school_id: int | None = None,
    ) -> tuple[list[ProgressRow], datetime]:
        """A row for each of ``places`` (a statement over districts, schools or classes,
        in the table's order), with its figures and, with ``drill``, the address of the
        next level down (``?{drill}={id}``); and when the figures were counted."""
        found = await counted(ctx, by, district_id=district_id, school_id=school_id)
        figures = {f.key: f for f in found.value}
        return [
            ProgressRow(
                place.name,
                None if drill is None else f"{PATH}?{drill}={place.id}",
                figures.get(place.id, SigningProgress(place.id)),
            )
            for place in await ctx.reader.rows(places)
        ], found.at

    async def by_district(ctx: Context) -> tuple[list[ProgressRow], datetime]:
        districts = restrict_to(select(models.District), models.District, ctx.caller.school_ids)
        return await progress_rows(
            ctx,
            ProgressGrouping.DISTRICT,
            districts.order_by(models.District.name),
            drill="district",
        )

    async def by_school(ctx: Context, district_id: int) -> tuple[list[ProgressRow], datetime]:
        schools = restrict_to(
            select(models.School).where(models.School.district_id == district_id),
            models.School,
            ctx.caller.school_ids,
        )
        return await progress_rows(
            ctx,
            ProgressGrouping.SCHOOL,
            schools.order_by(models.School.name),
            drill="school",
            district_id=district_id,
        )

    async def by_class(
        ctx: Context, school_id: int, year: models.SchoolYear | None
    ) -> tuple[list[ProgressRow], datetime]:
        classes = select(models.SchoolClass).where(
            models.SchoolClass.school_id == school_id,
            models.SchoolClass.school_year_id == (year.id if year else None),
        )
        return await progress_rows(
            ctx,
            ProgressGrouping.CLASS,
            classes.order_by(models.SchoolClass.grade, models.SchoolClass.name),
            school_id=school_id,
        )

    async def one_reached(ctx: Context, model: type[Place], row_id: int) -> Place | None:
        """The ``model`` row ``row_id`` if the officer reaches it."""
        statement = select(model).where(model.id == row_id)
        found = await ctx.reader.rows(restrict_to(statement, model, ctx.caller.school_ids))
        return found[0] if found else None

    async def district_of(ctx: Context, district_id: int) -> models.District:
        district = await one_reached(ctx, models.District, district_id)
        if district is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="district")
        return district

    async def school_of(ctx: Context, school_id: int, shown: str) -> models.School:
        school = await one_reached(ctx, models.School, school_id)
        if school is None:
            raise HubError(Code.SCHOOL_NOT_FOUND, value=shown)
        return school

    async def progress(request: Request, ctx: Context) -> Response:
        """The figures of the officer's districts, of one district's schools, or of one
        school's classes."""
        ctx.caller.require("reports:read")
        t = words(request)
        query = request.query_params
        district_id, school_id = id_param(request, "district"), id_param(request, "school")
        if "district" in query and district_id is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="district")
        if "school" in query and school_id is None:
            raise HubError(Code.SCHOOL_NOT_FOUND, value=query["school"])
        year = await school_year(ctx)
        district: models.District | None = None
        school: models.School | None = None
        if school_id is not None:
            school = await school_of(ctx, school_id, query["school"])
            district = await district_of(ctx, school.district_id)
            rows, counted_at = await by_class(ctx, school.id, year)
            title = t("dashboard.signing.school_title", name=school.name)
            column, address = "dashboard.signing.column.class", f"{PATH}?school={school.id}"
            filename = f"tien-do-ky-hoc-ba-{school.moet_code}"
        elif district_id is not None:
            district = await district_of(ctx, district_id)
            rows, counted_at = await by_school(ctx, district.id)
            title = t("dashboard.signing.district_title", name=district.name)
            column, address = "dashboard.column.school", f"{PATH}?district={district.id}"
            filename = f"tien-do-ky-hoc-ba-{district.code}"
        else:
            rows, counted_at = await by_district(ctx)
            title = t("dashboard.signing.title")
            column, address, filename = "dashboard.column.district", PATH, "tien-do-ky-hoc-ba"
        total = total_of([row.figures for row in rows])
        tables = {"progress": progress_table(t, column, rows, total)}
        return desk.export(request, tables, filename) or await desk.show(
            request,
            "dashboard_signing.html",
            title=title,
            year=year,
            district=district,
            school=school,
            rows=rows,
            total=total,
            counted_at=counted_at,
            column=column,
            states=[
                (state, t(f"dashboard.signing.state.{state.value}")) for state in TranscriptState
            ],
            exports_base=f"{address}{'&' if '?' in address else '?'}",
        )

    return [Route(PATH, desk.page(progress))]
