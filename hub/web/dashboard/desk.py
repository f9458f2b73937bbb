"""What every page of the department's dashboard shares (issue 12, part 4).

A page of the dashboard is a handler ``(request, ctx) -> Response`` wrapped by
:meth:`Desk.page` (reading: HTML, or ``?format=csv|xlsx`` of its tables) or
:meth:`Desk.action` (a form's POST, which changes something and sends the browser on).
The desk turns away whoever is not an officer, gives the handler a resolver
:class:`~hub.resolvers.context.Context` of its own — so the caller's reach, the
masking and the access log are the ones every GraphQL read goes through — and turns a
:class:`~hub.domain.problems.HubError` into a page in the reader's language.

Officers of the Sở reach the whole department; officers of a district office (``hub
people grant --district``) reach their district's schools, through the same
``Caller.school_ids`` every read is filtered by (:func:`hub.auth.access.visible`). What
only the Sở runs — provider migrations, national sync — is an action with
``whole_department=True``.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from hub.auth.access import Caller, restrict_to
from hub.auth.people import session_caller
from hub.auth.sessions import SAFE_METHODS, csrf_matches
from hub.db import models
from hub.domain.certificates import as_utc
from hub.domain.problems import Code, HubError
from hub.resolvers.context import Context
from hub.web import i18n
from hub.web.dashboard.figures import Counted, Figures
from hub.web.exports import Table, csv_response, xlsx_response
from hub.web.pages import problem_message, problem_page, render, to_login
from hub.web.services import HubServices, csrf_token_of, purpose_of
from hub.web.verify import VIETNAM

#: What the access log says the dashboard read for, unless the browser says otherwise.
PURPOSE = "Theo dõi triển khai học bạ số (bảng điều khiển của Sở)"
#: The largest id a row can have (a 32-bit integer column).
ID_LIMIT = 2**31 - 1
FORMATS = ("csv", "xlsx")
HOME = ("/dashboard", "dashboard.home")

Handler = Callable[[Request, Context], Awaitable[Response]]
T = TypeVar("T")


@dataclass(frozen=True)
class Section:
    """One entry of the dashboard's menu: its address and its catalogue key."""

    path: str
    key: str


#: The dashboard's menu, in the order an officer works through it.
SECTIONS: tuple[Section, ...] = (
    Section("/dashboard", "dashboard.nav.coverage"),
    Section("/dashboard/signing", "dashboard.nav.signing"),
    Section("/dashboard/results", "dashboard.nav.results"),
    Section("/dashboard/providers", "dashboard.nav.providers"),
    Section("/dashboard/migrations", "dashboard.nav.migrations"),
    Section("/dashboard/batches", "dashboard.nav.batches"),
    Section("/dashboard/sync", "dashboard.nav.sync"),
    Section("/dashboard/pupils", "dashboard.nav.pupils"),
    Section("/dashboard/imports", "dashboard.nav.imports"),
)


def section_of(path: str) -> Section:
    """The part of the menu a page belongs to: the section whose address begins its own
    (the coverage's drill-downs belong to the first)."""
    inner = [s for s in SECTIONS[1:] if path == s.path or path.startswith(s.path + "/")]
    return inner[0] if inner else SECTIONS[0]


def percent(language: str, ratio: float) -> str:
    """A ratio as people read it: ``75,3%`` in Vietnamese, ``75.3%`` in English."""
    text = f"{ratio * 100:.1f}%"
    return text if language == "en" else text.replace(".", ",")


def number(language: str, value: int) -> str:
    """A count with thousands grouped: ``30.638`` in Vietnamese, ``30,638`` in English."""
    text = f"{value:,}"
    return text if language == "en" else text.replace(",", ".")


def moment(language: str, at: datetime) -> str:
    """A moment in Vietnam time as the reader reads it: ``14:05:07 ngày 07/12/2026``."""
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(VIETNAM)
    joined = "on" if language == "en" else "ngày"
    return f"{local:%H:%M:%S} {joined} {local:%d/%m/%Y}"


def in_vietnam(at: datetime | None, shown: str = "%d/%m/%Y %H:%M") -> str:
    """A moment as people in Vietnam read it (UTC+7): ``08/12/2026 09:15``; nothing for
    None."""
    return "" if at is None else as_utc(at).astimezone(VIETNAM).strftime(shown)


def id_param(request: Request, name: str, source: Any = None) -> int | None:
    """A row id from the query (or from ``source``, a form), None unless well formed."""
    value = str((source if source is not None else request.query_params).get(name, ""))
    return int(value) if value.isdigit() and 0 < int(value) <= ID_LIMIT else None


def exporting(request: Request) -> bool:
    """Whether the request asks for a page's tables as a file (all their rows)."""
    return request.query_params.get("format") in FORMATS


def words(request: Request) -> Callable[..., str]:
    """``t`` for handlers: the catalogue in the request's language."""
    return partial(i18n.translate, i18n.language_of(request))


class Desk:
    """The officer's pages' common ground, made once per app by ``dashboard_routes``."""

    def __init__(self, hub: HubServices) -> None:
        self.hub = hub
        self.figures = Figures(hub.settings.dashboard_refresh_seconds)

    async def officer(self, request: Request) -> Caller | Response:
        """The officer behind the request, or the response that turns it away: to the
        sign-in page without a session, a 403 page for anyone else.

        A form's POST carries the session's anti-forgery token as a field (pages work
        without JavaScript), checked here; other requests go through
        :meth:`HubServices.caller_for` (a session, or an app's person-bound token)."""
        hub = self.hub
        current = await hub.session_of(request)
        if request.method in SAFE_METHODS:
            caller = await hub.caller_for(request)
        elif current is None:
            caller = None
        elif not csrf_matches(current.csrf_token, await csrf_token_of(request)):
            return problem_page(request, Code.CSRF_FAILED, 403, link=HOME)
        else:
            person = await hub.callers.person(hub.db, current.personal_id, current.full_name)
            caller = session_caller(person) if person.known else None
        if caller is None:
            if current is None:
                return to_login(request.url.path if request.method in SAFE_METHODS else HOME[0])
            return problem_page(request, Code.PERSON_UNKNOWN, 403)
        if caller.person is None or not caller.person.department_officer:
            return problem_page(request, Code.FORBIDDEN, 403, scope="reports:read")
        return caller

    def reading(self, request: Request, caller: Caller) -> AbstractAsyncContextManager[Context]:
        """A resolver context for one page, its reads logged as a GraphQL request's."""
        return self.context(caller, (purpose_of(request) or PURPOSE)[:200])

    async def counted(
        self, ctx: Context, name: str, count: Callable[[Context], Awaitable[T]], *args: Hashable
    ) -> Counted[T]:
        """Figures that name nobody (counts, ratios), counted by ``count`` for the
        caller's reach and kept a while (:mod:`hub.web.dashboard.figures`): officers of
        the same reach share them. A count that runs in the background has a context
        of its own, the request's being gone by then."""
        caller = ctx.caller
        if self.figures.seconds <= 0:
            return await self.figures.get(None, partial(count, ctx))

        async def fresh() -> T:
            async with self.context(caller, PURPOSE) as own:
                return await count(own)

        return await self.figures.get((name, args, caller.school_ids), fresh)

    @asynccontextmanager
    async def context(self, caller: Caller, purpose: str) -> AsyncIterator[Context]:
        """A resolver context reading as ``caller``, its reads logged for ``purpose``,
        with this server's signing providers, job sender and enrolment, as the GraphQL
        endpoint gives its resolvers."""
        ctx = self.hub.context(caller, purpose)
        try:
            yield ctx
            await ctx.audit.flush(ctx.reader, caller=caller, purpose=purpose)
        finally:
            await ctx.reader.close()

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A page an officer reads (GET), as HTML or as a file of its tables."""

        async def endpoint(request: Request) -> Response:
            if request.query_params.get("format", "html") not in (*FORMATS, "html"):
                return problem_page(request, Code.INVALID_ARGUMENT, 400, link=HOME, detail="format")
            return await self._run(request, handler, whole_department=False)

        return endpoint

    def action(
        self, handler: Handler, *, whole_department: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """A form's POST that changes something (the handler answers with a redirect,
        303, to the page that shows the outcome). ``whole_department``: only an officer
        of the Sở may do it, not a district office's."""

        async def endpoint(request: Request) -> Response:
            return await self._run(request, handler, whole_department=whole_department)

        return endpoint

    async def _run(self, request: Request, handler: Handler, *, whole_department: bool) -> Response:
        found = await self.officer(request)
        if isinstance(found, Response):
            return found
        if whole_department and not found.department_wide:
            return problem_page(request, Code.FORBIDDEN, 403, link=HOME, scope="department")
        try:
            async with self.reading(request, found) as ctx:
                return await handler(request, ctx)
        except HubError as error:
            return self.refusal(request, error)

    def refusal(self, request: Request, error: HubError) -> Response:
        """The page saying why a request stopped, in the reader's language."""
        found = error.problem
        status = {Code.FORBIDDEN: 403, Code.INVALID_ARGUMENT: 400}.get(found.code, 409)
        if found.code.value.endswith("NOT_FOUND"):
            status = 404
        return render(
            request,
            "problem.html",
            status,
            code=found.code.value,
            message=problem_message(request, found),
            link=HOME,
        )

    def export(self, request: Request, tables: dict[str, Table], filename: str) -> Response | None:
        """The file the address asks for (``?format=csv&table=…`` or ``?format=xlsx``),
        or None for the page itself."""
        wanted = request.query_params.get("format")
        if wanted == "xlsx":
            return xlsx_response(list(tables.values()), f"{filename}.xlsx")
        if wanted == "csv":
            key = request.query_params.get("table") or next(iter(tables))
            if key not in tables:
                raise HubError(Code.INVALID_ARGUMENT, detail="table")
            return csv_response(tables[key], f"{filename}-{key}.csv")
        return None

    async def show(self, request: Request, template: str, **context: Any) -> Response:
        """A dashboard page: ``template`` with the menu, the number formats and the
        session's anti-forgery token for its forms."""
        language = i18n.language_of(request)
        current = await self.hub.session_of(request)
        return render(
            request,
            template,
            sections=SECTIONS,
            here=section_of(request.url.path).path,
            csrf_token=current.csrf_token if current else "",
            percent=partial(percent, language),
            number=partial(number, language),
            moment=partial(moment, language),
            **context,
        )

    async def districts_of(self, ctx: Context, ids: set[int]) -> dict[int, models.District]:
        """The districts ``ids`` the caller reaches (a district office: its own), by id."""
        statement = select(models.District).where(models.District.id.in_(sorted(ids)))
        rows = await ctx.reader.rows(restrict_to(statement, models.District, ctx.caller.school_ids))
        return {row.id: row for row in rows}


async def school_names(ctx: Context, ids: set[int]) -> dict[int, str]:
    """The names of the schools ``ids``, by id."""
    if not ids:
        return {}
    rows = await ctx.reader.rows(
        select(models.School.id, models.School.name).where(models.School.id.in_(sorted(ids)))
    )
    return {row.id: row.name for row in rows}


def table_of(
    request: Request,
    name: str,
    columns: Sequence[str],
    rows: list[list[Any]],
    ratios: frozenset[int] = frozenset(),
) -> Table:
    """A table for the exports, its sheet name and column headers from the catalogue
    (``ratios``: the columns holding ratios, shown as percentages)."""
    t = words(request)
    return Table(t(name), [t(column) for column in columns], rows, ratios)
