"""The dashboard's signing providers (issue 12, part 4): are they up, and how often and
for how long were they not.

``GET /dashboard/providers`` shows every signing provider this hub signs with (or has
seen change) — its status now (UP, DEGRADED, DOWN) and since when, as the outage banner
counts it (:func:`hub.signing.outages.current`) — then, over the last ``?days=`` (7, 30
or 90; 30 by default, ``?provider=`` for one), each outage with how long it lasted and
the status changes themselves, :data:`PAGE_SIZE` a page (``?page=``). The changes are
the ones the health check records (``provider_status_changes``,
:func:`hub.signing.outages.record`). The providers' own error texts are not shown: they
are a program's words, kept in the log.

Every table exports to CSV (``?format=csv&table=status|outages|changes``) and XLSX.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.adapters.signing.base import HealthStatus
from hub.db import models
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code, HubError
from hub.resolvers.context import Context
from hub.signing import outages
from hub.web import i18n
from hub.web.dashboard.desk import Desk, words
from hub.web.exports import Table

PATH = "/dashboard/providers"
#: The spans of history an officer may look back over, in days; the first is the default.
WINDOWS = (30, 7, 90)
#: Status changes shown a page.
PAGE_SIZE = 50


def local_time(language: str, moment: datetime) -> str:
    """A moment in Vietnam time as the outage banner writes it (``14:05 ngày 07/12/2026``;
    ``14:05 on 07/12/2026`` in English)."""
    text = outages.vietnam_time(moment)
    return text if language == "vi" else text.replace(" ngày ", " on ")


def duration_text(t: Callable[..., str], length: timedelta) -> str:
    """How long something lasted, in the largest two units that matter."""
    minutes = int(length.total_seconds() // 60)
    days, hours = divmod(minutes // 60, 24)
    if days:
        return t("dashboard.providers.duration.days", days=days, hours=hours)
    if minutes >= 60:
        return t("dashboard.providers.duration.hours", hours=minutes // 60, minutes=minutes % 60)
    if minutes or length <= timedelta(0):
        return t("dashboard.providers.duration.minutes", minutes=minutes)
    return t("dashboard.providers.duration.under_a_minute")


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Change:
    """One recorded change of a provider's status, and when the next one came (None:
    it is the provider's status now)."""

    provider: SigningProvider
    sequence: int
    status: HealthStatus
    at: datetime
    until: datetime | None = None


@dataclass(frozen=True)
class Outage:
    """A stretch of time a provider was not UP: from its first change away from UP to
    its next UP (None: still going); ``status`` is the worst seen (DOWN, else DEGRADED)."""

    provider: SigningProvider
    status: HealthStatus
    started: datetime
    ended: datetime | None

    def lasted(self, now: datetime) -> timedelta:
        return (self.ended or now) - self.started

    def within(self, start: datetime, now: datetime) -> timedelta:
        """How much of it fell between ``start`` and ``now``."""
        return max(min(self.ended or now, now) - max(self.started, start), timedelta(0))


def with_next(changes: Sequence[Change]) -> list[Change]:
    """``changes`` in each provider's order, each knowing when the next one came."""
    ordered = sorted(changes, key=lambda c: (c.provider.value, c.sequence))
    followed: list[Change] = []
    for at, change in enumerate(ordered):
        following = ordered[at + 1] if at + 1 < len(ordered) else None
        same = following is not None and following.provider == change.provider
        followed.append(replace(change, until=following.at if following and same else None))
    return followed


def outages_in(changes: Sequence[Change]) -> list[Outage]:
    """The outages ``changes`` tell of, newest first. DOWN then DEGRADED is one outage,
    as :func:`hub.signing.outages.current` counts it for the banner: an outage starts at
    the first change away from UP and ends at the next UP."""
    found: list[Outage] = []
    going: dict[SigningProvider, Outage] = {}
    for change in sorted(changes, key=lambda c: (c.provider.value, c.sequence)):
        current = going.get(change.provider)
        if change.status is HealthStatus.UP:
            if current is not None:
                found.append(replace(current, ended=change.at))
                del going[change.provider]
        elif current is None:
            going[change.provider] = Outage(change.provider, change.status, change.at, None)
        elif change.status is HealthStatus.DOWN:
            going[change.provider] = replace(current, status=HealthStatus.DOWN)
    return sorted([*found, *going.values()], key=lambda o: o.started, reverse=True)


@dataclass(frozen=True)
class ProviderLine:
    """A provider's line of the status table."""

    provider: SigningProvider
    status: HealthStatus
    #: Since when it is in that status (None: no change ever recorded: up all along).
    since: datetime | None
    outages: int
    downtime: timedelta


async def history_since(
    ctx: Context, start: datetime, provider: SigningProvider | None
) -> list[Change]:
    """Every provider's changes from its last UP before ``start`` on (all of them if it
    has none), so an outage that began before ``start`` is seen whole."""
    change = models.ProviderStatusChange
    earlier = aliased(change)
    last_up_before = (
        select(func.coalesce(func.max(earlier.sequence), 0))
        .where(
            earlier.provider == change.provider,
            earlier.status == HealthStatus.UP.value,
            earlier.at < start,
        )
        .scalar_subquery()
    )
    statement = select(change.provider, change.sequence, change.status, change.at).where(
        change.sequence >= last_up_before
    )
    if provider is not None:
        statement = statement.where(change.provider == provider)
    rows = await ctx.reader.rows(statement)
    return [
        Change(
            SigningProvider(row.provider), row.sequence, HealthStatus(row.status), _aware(row.at)
        )
        for row in rows
    ]


def provider_routes(desk: Desk) -> list[Route]:
    """The providers' page, for :func:`hub.web.dashboard.dashboard_routes`."""

    def chosen(request: Request) -> tuple[int, SigningProvider | None, int]:
        query = request.query_params
        days_text = query.get("days", str(WINDOWS[0]))
        if not days_text.isdigit() or int(days_text) not in WINDOWS:
            raise HubError(Code.INVALID_ARGUMENT, detail="days")
        provider = None
        if query.get("provider"):
            if query["provider"] not in SigningProvider.__members__:
                raise HubError(Code.INVALID_ARGUMENT, detail="provider")
            provider = SigningProvider(query["provider"])
        page_text = query.get("page", "1")
        if not page_text.isdigit() or not 0 < int(page_text) < 100_000:
            raise HubError(Code.INVALID_ARGUMENT, detail="page")
        return int(days_text), provider, int(page_text)

    async def health(request: Request, ctx: Context) -> Response:
        """Now, the outages and the changes of the window asked for."""
        ctx.caller.require("reports:read")
        days, only, page = chosen(request)
        t, language = words(request), i18n.language_of(request)
        now = ctx.now
        start = now - timedelta(days=days)
        # Status and "since" as the outage banner reads them (one rule, in outages.py).
        async with ctx.db.sessions() as session:
            statuses = await outages.current(session)
        changes = with_next(await history_since(ctx, start, only))
        found = outages_in(changes)
        signing = desk.hub.signing
        known = set(signing.providers.adapters if signing else ()) | set(statuses)
        lines = [
            ProviderLine(
                provider,
                statuses[provider].status if provider in statuses else HealthStatus.UP,
                statuses[provider].since if provider in statuses else None,
                sum(1 for o in found if o.provider is provider),
                sum((o.within(start, now) for o in found if o.provider is provider), timedelta()),
            )
            for provider in SigningProvider
            if provider in known and only in (None, provider)
        ]
        recent = sorted(
            (c for c in changes if c.at >= start), key=lambda c: (c.at, c.sequence), reverse=True
        )
        pages = max(1, -(-len(recent) // PAGE_SIZE))
        page = min(page, pages)

        def when(moment: datetime | None, missing: str) -> str:
            return t(missing) if moment is None else local_time(language, moment)

        def status_name(status: HealthStatus) -> str:
            return t(f"dashboard.providers.status.{status.value}")

        tables = {
            "status": Table(
                t("dashboard.providers.sheet.status"),
                [
                    t("dashboard.providers.column.provider"),
                    t("dashboard.providers.column.status"),
                    t("dashboard.providers.column.since"),
                    t("dashboard.providers.column.outages", days=days),
                    t("dashboard.providers.column.downtime", days=days),
                    t("dashboard.providers.column.downtime_minutes", days=days),
                ],
                [
                    [
                        line.provider.label,
                        status_name(line.status),
                        when(line.since, "dashboard.providers.never_changed"),
                        line.outages,
                        duration_text(t, line.downtime),
                        int(line.downtime.total_seconds() // 60),
                    ]
                    for line in lines
                ],
            ),
            "outages": Table(
                t("dashboard.providers.sheet.outages"),
                [
                    t("dashboard.providers.column.provider"),
                    t("dashboard.providers.column.worst"),
                    t("dashboard.providers.column.started"),
                    t("dashboard.providers.column.ended"),
                    t("dashboard.providers.column.lasted"),
                    t("dashboard.providers.column.lasted_minutes"),
                ],
                [
                    [
                        o.provider.label,
                        status_name(o.status),
                        local_time(language, o.started),
                        when(o.ended, "dashboard.providers.still_going"),
                        duration_text(t, o.lasted(now)),
                        int(o.lasted(now).total_seconds() // 60),
                    ]
                    for o in found
                ],
            ),
            "changes": Table(
                t("dashboard.providers.sheet.changes"),
                [
                    t("dashboard.providers.column.provider"),
                    t("dashboard.providers.column.status"),
                    t("dashboard.providers.column.from"),
                    t("dashboard.providers.column.until"),
                    t("dashboard.providers.column.lasted"),
                    t("dashboard.providers.column.lasted_minutes"),
                ],
                [
                    [
                        c.provider.label,
                        status_name(c.status),
                        local_time(language, c.at),
                        when(c.until, "dashboard.providers.until_now"),
                        duration_text(t, (c.until or now) - c.at),
                        int(((c.until or now) - c.at).total_seconds() // 60),
                    ]
                    for c in recent
                ],
            ),
        }
        filters = {"days": str(days)} | ({"provider": only.value} if only else {})
        shown = slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)

        def page_link(number: int) -> str:
            return f"{PATH}?{urlencode(filters | {'page': str(number)})}#changes-title"

        return desk.export(request, tables, f"he-thong-ky-so-{days}-ngay") or await desk.show(
            request,
            "dashboard_providers.html",
            days=days,
            windows=sorted(WINDOWS),
            only=only,
            providers=list(SigningProvider),
            lines=lines,
            status_rows=list(zip(lines, tables["status"].rows, strict=True)),
            outage_rows=list(zip(found, tables["outages"].rows, strict=True)),
            change_rows=list(zip(recent, tables["changes"].rows, strict=True))[shown],
            changes_total=len(recent),
            page=page,
            pages=pages,
            previous=page_link(page - 1) if page > 1 else None,
            next=page_link(page + 1) if page < pages else None,
            exports_base=f"{PATH}?{urlencode(filters)}&",
        )

    return [Route(PATH, desk.page(health))]
