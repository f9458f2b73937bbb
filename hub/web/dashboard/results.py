"""The dashboard's learning results (issue 14, part 2): the year's results of learning,
conduct and promotion as the circulars classify them, district by district, then school
by school, and by level and grade.

``GET /dashboard/results`` shows the officer's districts and the levels and grades;
``?district=…`` one district's schools; ``?year=2024-2025`` another school year. Every
view takes ``?format=csv|xlsx``. The figures come from
:func:`hub.resolvers.results.learning_results` alone, as the API's ``learningResults``
does; this module names the rows and lays them out.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.auth.access import restrict_to
from hub.db import models
from hub.domain.problems import Code, HubError
from hub.resolvers.context import Context
from hub.resolvers.results import (
    CODES,
    Measure,
    ResultDimension,
    ResultFigures,
    label_of,
    learning_results,
    school_year_of,
    total_of,
)
from hub.web.dashboard.desk import Desk, id_param, words
from hub.web.exports import Table

PATH = "/dashboard/results"


@dataclass(frozen=True)
class ResultRow:
    """One line of a table: what it stands for, where it drills to, its figures."""

    name: str
    link: str | None
    figures: ResultFigures


def columns(rows: list[ResultRow], total: ResultFigures) -> list[tuple[Measure, str]]:
    """The (measure, code) columns the table needs: every code any row has, in the
    circulars' order (a primary-only district shows no conduct)."""
    present = {(m, c) for m in Measure for c in total.codes(m)}
    for row in rows:
        present |= {(m, c) for m in Measure for c in row.figures.codes(m)}
    return [(m, c) for m in Measure for c in CODES[m] if (m, c) in present]


def headings(t: Callable[..., str], shown: list[tuple[Measure, str]]) -> list[str]:
    """The result columns' headings: ``Học tập: Tốt``."""
    return [f"{t(f'dashboard.results.measure.{m.value}')}: {label_of(m, c)}" for m, c in shown]


def results_table(
    t: Callable[..., str],
    sheet: str,
    first: str,
    rows: list[ResultRow],
    total: ResultFigures,
    shown: list[tuple[Measure, str]],
) -> Table:
    """A table for the exports: the place, its pupils, a column per result, the rates."""
    header = [t(first), t("dashboard.results.column.pupils"), *headings(t, shown)]
    header += [t("dashboard.results.column.promotion"), t("dashboard.results.column.retest")]
    lines = [(row.name, row.figures) for row in rows] + [(t("dashboard.total"), total)]
    cells: list[list[Any]] = [
        [name, figures.pupils]
        + [figures.count(m, c) for m, c in shown]
        + [figures.promotion_rate, figures.retest_rate]
        for name, figures in lines
    ]
    return Table(t(sheet), header, cells, frozenset({len(header) - 2, len(header) - 1}))


def result_routes(desk: Desk) -> list[Route]:
    """The learning-results page, for :func:`hub.web.dashboard.dashboard_routes`."""

    async def places(ctx: Context, model: Any, district_id: int | None) -> dict[int, Any]:
        statement = select(model)
        if district_id is not None:
            statement = statement.where(model.district_id == district_id)
        statement = restrict_to(statement, model, ctx.caller.school_ids)
        return {row.id: row for row in await ctx.reader.rows(statement.order_by(model.name))}

    async def page(request: Request, ctx: Context) -> Response:
        ctx.caller.require("reports:read")
        t = words(request)
        query = request.query_params
        year = await school_year_of(ctx, query.get("year") or None)
        if year is None:
            raise HubError(Code.SCHOOL_YEAR_NOT_FOUND, value=query.get("year") or "hiện tại")
        district_id = id_param(request, "district")
        if "district" in query and district_id is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="district")
        district = None
        model: type[models.School] | type[models.District]
        if district_id is not None:
            district = (await desk.districts_of(ctx, {district_id})).get(district_id)
            if district is None:
                raise HubError(Code.INVALID_ARGUMENT, detail="district")
            by, model, first, drill = (
                ResultDimension.SCHOOL,
                models.School,
                "dashboard.column.school",
                None,
            )
        else:
            by, model, first, drill = (
                ResultDimension.DISTRICT,
                models.District,
                "dashboard.column.district",
                "district",
            )
        figures = await learning_results(ctx, [by], year_id=year.id, district_id=district_id)
        found = {f.school_id if by is ResultDimension.SCHOOL else f.district_id: f for f in figures}
        suffix = f"&year={year.code}" if query.get("year") else ""
        rows = [
            ResultRow(
                place.name,
                None if drill is None else f"{PATH}?{drill}={place.id}{suffix}",
                found.get(place.id, ResultFigures()),
            )
            for place in (await places(ctx, model, district_id)).values()
        ]
        total = total_of(figures)
        grades = await learning_results(
            ctx,
            [ResultDimension.LEVEL, ResultDimension.GRADE],
            year_id=year.id,
            district_id=district_id,
        )
        grade_rows = [
            ResultRow(t("dashboard.results.grade", grade=f.grade), None, f) for f in grades
        ]
        shown = columns(rows + grade_rows, total)
        tables = {
            "places": results_table(t, "dashboard.results.sheet.places", first, rows, total, shown),
            "grades": results_table(
                t,
                "dashboard.results.sheet.grades",
                "dashboard.results.column.grade",
                grade_rows,
                total,
                shown,
            ),
        }
        filename = f"ket-qua-hoc-tap-{year.code}" + (f"-{district.code}" if district else "")
        address = f"{PATH}?" + (f"district={district.id}&" if district else "")
        address += f"year={year.code}&" if query.get("year") else ""
        title = (
            t("dashboard.results.district_title", name=district.name)
            if district
            else t("dashboard.results.title")
        )
        return desk.export(request, tables, filename) or await desk.show(
            request,
            "dashboard_results.html",
            title=title,
            year=year.code,
            district=district,
            rows=rows,
            grade_rows=grade_rows,
            total=total,
            columns=shown,
            headings=headings(t, shown),
            first=first,
            exports_base=address,
        )

    return [Route(PATH, desk.page(page))]
