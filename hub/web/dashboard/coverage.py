"""The dashboard's coverage pages (issue 12, part 4): how many staff can sign.

``GET /dashboard`` shows seed 003's table — staff (CBGV) and staff holding a valid
personal certificate, by level and public/private, with the ratio and a bar each — and
the same figures by district. ``GET /dashboard/coverage?district=…`` drills into one
district: its table and its schools. ``GET /dashboard/staff?school=…`` lists a school's
staff without a valid certificate, their personal IDs masked. Every page takes
``?format=csv`` (``&table=…`` picks one of its tables) or ``?format=xlsx`` (all its
tables, a sheet each).

Only an officer sees it (:class:`~hub.web.dashboard.desk.Desk`). The figures are the
API's: the pages call the resolvers behind ``certificateCoverage`` and
``staffWithoutValidCertificate`` in the desk's resolver context, so the caller's reach,
the validity rule (:mod:`hub.domain.certificates` and its SQL twin), the masking
(:mod:`hub.domain.personal_data`) and the access log are the ones every GraphQL read
goes through — for the pages and for their exports alike.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.relay import GlobalID

from hub.auth.access import restrict_to
from hub.db import models
from hub.domain.enums import Ownership, SchoolLevel
from hub.domain.problems import Code, HubError
from hub.resolvers import queries
from hub.resolvers.context import Context
from hub.resolvers.loaders import fetch
from hub.resolvers.reports import (
    DIRECTLY_MANAGED,
    CoverageDimension,
    CoverageFigures,
    certificate_coverage,
)
from hub.schema.filters import StaffFilter
from hub.schema.nodes import Staff
from hub.web.dashboard.desk import Desk, id_param, table_of, words
from hub.web.exports import Table

#: The rows of the department's table, in seed 003's order after the levels it omits.
LEVELS = (
    SchoolLevel.PRESCHOOL.value,
    SchoolLevel.PRIMARY.value,
    SchoolLevel.LOWER_SECONDARY.value,
    SchoolLevel.UPPER_SECONDARY.value,
    SchoolLevel.CONTINUING.value,
    DIRECTLY_MANAGED,
)


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


async def coverage_of(
    district_id: int | None, ctx: Context
) -> tuple[list[CoverageFigures], list[CoverageFigures]]:
    """A page's figures, counted together: by level and ownership, then by district (the
    department) or by school (``district_id``'s)."""
    levels = [CoverageDimension.LEVEL, CoverageDimension.OWNERSHIP]
    if district_id is None:
        return (
            await certificate_coverage(ctx, levels),
            await certificate_coverage(ctx, [CoverageDimension.DISTRICT]),
        )
    return (
        await certificate_coverage(ctx, levels, district_id=district_id),
        await certificate_coverage(ctx, [], district_id=district_id, by_school=True),
    )


def coverage_routes(desk: Desk) -> list[Route]:
    """The coverage pages, for :func:`hub.web.dashboard.dashboard_routes`."""

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

    async def show(request: Request, template: str, **context: Any) -> Response:
        return await desk.show(
            request, template, level_name=partial(level_name, words(request)), **context
        )

    async def overview(request: Request, ctx: Context) -> Response:
        """Seed 003's table for the whole department, then its districts."""
        counted = await desk.counted(ctx, "coverage", partial(coverage_of, None))
        by_level, by_district = counted.value
        levels = coverage_by_level(by_level)
        names = await desk.districts_of(ctx, {f.district_id for f in by_district if f.district_id})
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
        return desk.export(request, tables, "do-phu-chu-ky-so") or await show(
            request,
            "dashboard_overview.html",
            levels=levels,
            districts=districts,
            counted_at=counted.at,
        )

    async def district(request: Request, ctx: Context) -> Response:
        """One district's table and its schools, each linking to its staff list."""
        district_id = id_param(request, "district")
        if district_id is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="district")
        found = (await desk.districts_of(ctx, {district_id})).get(district_id)
        if found is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="district")
        counted = await desk.counted(
            ctx, "coverage", partial(coverage_of, district_id), district_id
        )
        by_level, by_school_figures = counted.value
        levels = coverage_by_level(by_level)
        by_school = {
            f.school_id: Share(f.staff_total, f.with_valid_certificate) for f in by_school_figures
        }
        statement = restrict_to(
            select(models.School).where(models.School.district_id == district_id),
            models.School,
            ctx.caller.school_ids,
        )
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
        return desk.export(request, tables, f"do-phu-chu-ky-so-{found.code}") or await show(
            request,
            "dashboard_district.html",
            district=found,
            levels=levels,
            schools=schools,
            counted_at=counted.at,
        )

    async def staff(request: Request, ctx: Context) -> Response:
        """A school's staff without a valid certificate (``staffWithoutValidCertificate``)."""
        ctx.caller.require("reports:read")
        school_id = id_param(request, "school")
        statement = select(models.School).where(models.School.id == (school_id or 0))
        schools = await ctx.reader.rows(
            restrict_to(statement, models.School, ctx.caller.school_ids)
        )
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
        table = table_of(
            request,
            "dashboard.sheet.staff",
            [
                "dashboard.column.full_name",
                "dashboard.column.personal_id",
                "dashboard.column.email",
                "dashboard.column.phone",
            ],
            [[p.full_name, p.personal_id, p.email, p.phone] for p in people],
        )
        filename = f"can-bo-chua-co-chu-ky-so-{school.moet_code}"
        return desk.export(request, {"staff": table}, filename) or await show(
            request, "dashboard_staff.html", school=school, people=people
        )

    return [
        Route("/dashboard", desk.page(overview)),
        Route("/dashboard/coverage", desk.page(district)),
        Route("/dashboard/staff", desk.page(staff)),
    ]
