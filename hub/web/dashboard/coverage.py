"""The department's dashboard (issue 12, part 4): how many staff can sign, for the Sở.

``GET /dashboard`` shows seed 003's table — staff (CBGV) and staff holding a valid
personal certificate, by level and public/private, with the ratio and a bar each — and
the same figures by district. ``GET /dashboard/coverage?district=…`` drills into one
district: its table and its schools. ``GET /dashboard/staff?school=…`` lists a school's
staff without a valid certificate, their personal IDs masked. Every page takes
``?format=csv`` (``&table=…`` picks one of its tables) or ``?format=xlsx`` (all its
tables, a sheet each).

Only a department officer (cán bộ Sở) signed in with their own session sees it. The
figures are the API's: the pages call the resolvers behind ``certificateCoverage`` and
``staffWithoutValidCertificate`` in a :class:`~hub.resolvers.context.Context` of their
own, so the caller's reach, the validity rule (:mod:`hub.domain.certificates` and its
SQL twin), the masking (:mod:`hub.domain.personal_data`) and the access log are the
ones every GraphQL read goes through — for the pages and for their exports alike.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from strawberry.relay import GlobalID

from hub.auth.access import Caller, visible
from hub.db import models
from hub.domain.enums import Ownership, SchoolLevel
from hub.domain.problems import Code, HubError
from hub.resolvers import queries
from hub.resolvers.context import Context, Reader
from hub.resolvers.loaders import fetch
from hub.resolvers.reports import (
    DIRECTLY_MANAGED,
    CoverageDimension,
    CoverageFigures,
    certificate_coverage,
)
from hub.schema.filters import StaffFilter
from hub.schema.nodes import Staff
from hub.web import i18n
from hub.web.exports import Table, csv_response, xlsx_response
from hub.web.pages import problem_page, render
from hub.web.services import HubServices, purpose_of

#: The rows of the department's table, in seed 003's order after the levels it omits.
LEVELS = (
    SchoolLevel.PRESCHOOL.value,
    SchoolLevel.PRIMARY.value,
    SchoolLevel.LOWER_SECONDARY.value,
    SchoolLevel.UPPER_SECONDARY.value,
    SchoolLevel.CONTINUING.value,
    DIRECTLY_MANAGED,
)
#: What the access log says the dashboard read for, unless the browser says otherwise.
PURPOSE = "Theo dõi độ phủ chữ ký số (bảng điều khiển của Sở)"
#: The largest id a row can have (a 32-bit integer column).
ID_LIMIT = 2**31 - 1
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Share:
    """Staff of a group and how many of them hold a valid personal certificate."""

    staff_total: int
    with_valid_certificate: int

    @property
    def ratio(self) -> float:
        return 0.0 if self.staff_total == 0 else self.with_valid_certificate / self.staff_total

    def __add__(self, other: "Share") -> "Share":
        return Share(
            self.staff_total + other.staff_total,
            self.with_valid_certificate + other.with_valid_certificate,
        )


NONE = Share(0, 0)


@dataclass(frozen=True)
class LevelRow:
    """One row of seed 003's table; ``level`` None is the total (Tổng hợp)."""

    level: str | None
    public: Share | None
    private: Share | None


def coverage_by_level(figures: Sequence[CoverageFigures]) -> list[LevelRow]:
    """Figures grouped by level and ownership as seed 003's table, its total last.

    The total adds the rows up, as the API's ``total`` does.
    """
    cells = {
        (f.level, f.ownership): Share(f.staff_total, f.with_valid_certificate) for f in figures
    }
    known = [level for level in LEVELS if any(key[0] == level for key in cells)]
    others = sorted({str(key[0]) for key in cells} - set(LEVELS))
    rows = [
        LevelRow(
            level,
            cells.get((level, Ownership.PUBLIC)),
            cells.get((level, Ownership.PRIVATE)),
        )
        for level in known + others
    ]
    public = [row.public for row in rows if row.public is not None]
    private = [row.private for row in rows if row.private is not None]
    rows.append(
        LevelRow(
            None,
            sum(public, NONE) if public else None,
            sum(private, NONE) if private else None,
        )
    )
    return rows


def percent(language: str, ratio: float) -> str:
    """A ratio as people read it: ``75,3%`` in Vietnamese, ``75.3%`` in English."""
    text = f"{ratio * 100:.1f}%"
    return text if language == "en" else text.replace(".", ",")


def number(language: str, value: int) -> str:
    """A count with thousands grouped: ``30.638`` in Vietnamese, ``30,638`` in English."""
    text = f"{value:,}"
    return text if language == "en" else text.replace(",", ".")


def _id_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) <= ID_LIMIT else None


def dashboard_routes(hub: HubServices) -> list[Route]:
    """The dashboard's pages, for :func:`hub.web.app.create_app`."""

    async def officer(request: Request) -> Caller | Response:
        """The officer behind the request, or the response that turns the request away:
        to the sign-in page without a session, a 403 page for anyone else."""
        caller = await hub.caller_for(request)
        if caller is None:
            cookie = request.cookies.get(hub.sessions.cookie_name)
            if await hub.sessions.current(cookie) is None:
                target = f"/login?{urlencode({'next': request.url.path})}"
                return RedirectResponse(target, 303, headers={"Cache-Control": "no-store"})
            return problem_page(request, Code.PERSON_UNKNOWN, 403)
        if caller.person is None or not caller.person.department_officer:
            return problem_page(request, Code.FORBIDDEN, 403, scope="reports:read")
        return caller

    @asynccontextmanager
    async def reading(request: Request, caller: Caller) -> AsyncIterator[Context]:
        """A resolver context for one page, its reads logged as a GraphQL request's."""
        purpose = (purpose_of(request) or PURPOSE)[:200]
        ctx = Context(
            db=hub.db,
            settings=hub.settings,
            reader=Reader(hub.db.engine),
            caller_or_none=caller,
            purpose=purpose,
        )
        try:
            yield ctx
            await ctx.audit.flush(ctx.reader, caller=caller, purpose=purpose)
        finally:
            await ctx.reader.close()

    def page(handler: Callable[[Request, Context], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            found = await officer(request)
            if isinstance(found, Response):
                return found
            if request.query_params.get("format", "html") not in (*FORMATS, "html"):
                return problem_page(
                    request,
                    Code.INVALID_ARGUMENT,
                    400,
                    link=("/dashboard", "dashboard.home"),
                    detail="format",
                )
            try:
                async with reading(request, found) as ctx:
                    response: Response = await handler(request, ctx)
            except HubError as error:
                return refusal(request, error)
            return response

        return endpoint

    def refusal(request: Request, error: HubError) -> Response:
        """The page saying why a request stopped, in the reader's language."""
        found = error.problem
        english = i18n.language_of(request) == "en" and found.message_en
        status = {Code.FORBIDDEN: 403, Code.INVALID_ARGUMENT: 400}.get(found.code, 404)
        return render(
            request,
            "problem.html",
            status,
            code=found.code.value,
            message=found.message_en if english else found.message,
            link=("/dashboard", "dashboard.home"),
        )

    def words(request: Request) -> Callable[..., str]:
        return partial(i18n.translate, i18n.language_of(request))

    def level_name(t: Callable[..., str], level: str | None) -> str:
        return t("dashboard.total") if level is None else t(f"dashboard.level.{level}")

    def level_table(request: Request, rows: list[LevelRow]) -> Table:
        t = words(request)
        cells: list[list[Any]] = []
        for row in rows:
            line: list[Any] = [level_name(t, row.level)]
            for share in (row.public, row.private):
                line += (
                    [None, None, None]
                    if share is None
                    else [share.staff_total, share.with_valid_certificate, share.ratio]
                )
            cells.append(line)
        headers = [t("dashboard.column.level")]
        for ownership in ("public", "private"):
            kind = t(f"dashboard.ownership.{ownership}")
            headers += [
                f"{kind}: {t('dashboard.column.staff_total')}",
                f"{kind}: {t('dashboard.column.with_valid_certificate')}",
                f"{kind}: {t('dashboard.column.ratio')}",
            ]
        return Table(t("dashboard.sheet.levels"), headers, cells, frozenset({3, 6}))

    def share_table(
        request: Request, name: str, label: str, rows: list[tuple[str, Share]]
    ) -> Table:
        t = words(request)
        headers = [
            t(label),
            t("dashboard.column.staff_total"),
            t("dashboard.column.with_valid_certificate"),
            t("dashboard.column.ratio"),
        ]
        cells: list[list[Any]] = [
            [title, share.staff_total, share.with_valid_certificate, share.ratio]
            for title, share in rows
        ]
        return Table(t(name), headers, cells, frozenset({3}))

    def export(request: Request, tables: dict[str, Table], filename: str) -> Response | None:
        """The file the address asks for, or None for the page itself."""
        wanted = request.query_params.get("format")
        if wanted == "xlsx":
            return xlsx_response(list(tables.values()), f"{filename}.xlsx")
        if wanted == "csv":
            key = request.query_params.get("table") or next(iter(tables))
            if key not in tables:
                raise HubError(Code.INVALID_ARGUMENT, detail="table")
            return csv_response(tables[key], f"{filename}-{key}.csv")
        return None

    def show(request: Request, template: str, **context: Any) -> Response:
        language = i18n.language_of(request)
        return render(
            request,
            template,
            percent=partial(percent, language),
            number=partial(number, language),
            level_name=partial(level_name, words(request)),
            **context,
        )

    async def districts_of(ctx: Context, ids: set[int]) -> dict[int, models.District]:
        rows = await ctx.reader.rows(
            select(models.District).where(models.District.id.in_(sorted(ids)))
        )
        return {row.id: row for row in rows}

    async def overview(request: Request, ctx: Context) -> Response:
        """Seed 003's table for the whole department, then its districts."""
        levels = coverage_by_level(
            await certificate_coverage(ctx, [CoverageDimension.LEVEL, CoverageDimension.OWNERSHIP])
        )
        by_district = await certificate_coverage(ctx, [CoverageDimension.DISTRICT])
        names = await districts_of(ctx, {f.district_id for f in by_district if f.district_id})
        districts = [
            (names[f.district_id], Share(f.staff_total, f.with_valid_certificate))
            for f in by_district
            if f.district_id in names
        ]
        districts.sort(key=lambda pair: pair[0].name)
        tables = {
            "levels": level_table(request, levels),
            "districts": share_table(
                request,
                "dashboard.sheet.districts",
                "dashboard.column.district",
                [(d.name, share) for d, share in districts],
            ),
        }
        return export(request, tables, "do-phu-chu-ky-so") or show(
            request, "dashboard_overview.html", levels=levels, districts=districts
        )

    async def district(request: Request, ctx: Context) -> Response:
        """One district's table and its schools, each linking to its staff list."""
        district_id = _id_param(request, "district")
        if district_id is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="district")
        found = (await districts_of(ctx, {district_id})).get(district_id)
        if found is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="district")
        levels = coverage_by_level(
            await certificate_coverage(
                ctx,
                [CoverageDimension.LEVEL, CoverageDimension.OWNERSHIP],
                district_id=district_id,
            )
        )
        by_school = {
            f.school_id: Share(f.staff_total, f.with_valid_certificate)
            for f in await certificate_coverage(ctx, [], district_id=district_id, by_school=True)
        }
        statement = select(models.School).where(models.School.district_id == district_id)
        condition = visible(models.School, ctx.caller)
        if condition is not None:
            statement = statement.where(condition)
        schools = [
            (school, by_school.get(school.id, NONE))
            for school in await ctx.reader.rows(statement.order_by(models.School.name))
        ]
        tables = {
            "levels": level_table(request, levels),
            "schools": share_table(
                request,
                "dashboard.sheet.schools",
                "dashboard.column.school",
                [(school.name, share) for school, share in schools],
            ),
        }
        return export(request, tables, f"do-phu-chu-ky-so-{found.code}") or show(
            request, "dashboard_district.html", district=found, levels=levels, schools=schools
        )

    async def staff(request: Request, ctx: Context) -> Response:
        """A school's staff without a valid certificate (``staffWithoutValidCertificate``)."""
        ctx.caller.require("reports:read")
        school_id = _id_param(request, "school")
        statement = select(models.School).where(models.School.id == (school_id or 0))
        condition = visible(models.School, ctx.caller)
        if condition is not None:
            statement = statement.where(condition)
        schools = await ctx.reader.rows(statement)
        if school_id is None or not schools:
            raise HubError(Code.SCHOOL_NOT_FOUND, value=request.query_params.get("school", ""))
        school = schools[0]
        unsigned = queries.staff(
            StaffFilter(school_id=GlobalID("School", str(school.id)), has_valid_certificate=False),
            ctx.reader.dialect,
        )
        rows = await fetch(
            ctx, models.Staff, unsigned.order_by(models.Staff.full_name, models.Staff.id)
        )
        people = [Staff.from_row(row, ctx) for row in rows]
        t = words(request)
        table = Table(
            t("dashboard.sheet.staff"),
            [
                t("dashboard.column.full_name"),
                t("dashboard.column.personal_id"),
                t("dashboard.column.email"),
                t("dashboard.column.phone"),
            ],
            [[p.full_name, p.personal_id, p.email, p.phone] for p in people],
        )
        filename = f"can-bo-chua-co-chu-ky-so-{school.moet_code}"
        return export(request, {"staff": table}, filename) or show(
            request, "dashboard_staff.html", school=school, people=people
        )

    return [
        Route("/dashboard", page(overview)),
        Route("/dashboard/coverage", page(district)),
        Route("/dashboard/staff", page(staff)),
    ]
