"""The outage banner on every page, and the demo's caught mails (issue 12, part 3).

A signed-in person who signs with a provider that is down or degraded sees, on every
page, what is wrong, since when, and that nothing needs signing again.
:class:`OutageBanner` finds those lines before the page runs (a page's
:func:`hub.web.pages.render` is synchronous) and leaves them in the request's state,
where ``render`` hands them to ``base.html``; it costs nothing while every provider is
up (the statuses are cached a moment, :class:`hub.signing.outages.Outages`). An open
page learns of an outage at once: ``static/outage.js`` asks ``GET /status/banner``
every 5 s and shows or hides the banner; without JavaScript it shows on the next page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.adapters.signing.base import HealthStatus
from hub.config import Mode
from hub.signing.outages import ProviderStatus, vietnam_time
from hub.web import i18n
from hub.web.pages import render

if TYPE_CHECKING:
    from hub.web.services import HubServices

#: Where the banner's script asks; also what ``base.html`` names.
BANNER_PATH = "/status/banner"
#: Requests that are not pages: no banner is looked up for them.
NOT_PAGES = (
    "/graphql",
    "/static/",
    "/oauth/",
    "/status/",
    "/metrics",
    "/health",
    "/.well-known/",
    "/transcripts/",
    "/schema.graphql",
)


def banner_lines(language: str, notices: list[ProviderStatus]) -> list[str]:
    """The banner's sentences in ``language``, one per provider in trouble."""
    return [
        i18n.translate(
            language,
            "outage.down" if notice.status is HealthStatus.DOWN else "outage.degraded",
            provider=notice.provider.label,
            since=_since(language, notice),
        )
        for notice in notices
    ]


def _since(language: str, notice: ProviderStatus) -> str:
    if language == "vi":
        return vietnam_time(notice.since)
    return vietnam_time(notice.since).replace(" ngày ", " on ")


async def banner_of(hub: HubServices, request: Request) -> list[str] | None:
    """The banner's lines for the request's signed-in person (empty: none to show);
    None without a session."""
    current = await hub.session_of(request)
    if current is None:
        return None
    person = await hub.callers.person(hub.db, current.personal_id, current.full_name)
    return banner_lines(i18n.language_of(request), await hub.outages.notices(person))


class OutageBanner:
    """Pure ASGI: before a page with a session cookie, put its banner (and that the
    page should keep asking) in the request's state for :func:`render`."""

    def __init__(self, app: ASGIApp, *, hub: HubServices) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path: str = scope["path"]
            if not path.startswith(NOT_PAGES):
                request = Request(scope)
                if self.hub.sessions.cookie_name in request.cookies:
                    state = scope.setdefault("state", {})
                    state["outage_poll"] = BANNER_PATH
                    if await self.hub.outages.any_told():
                        state["outage_banner"] = await banner_of(self.hub, request) or []
        await self.app(scope, receive, send)


def outage_routes(hub: HubServices, *, mails: Any = None) -> list[Route]:
    """``GET /status/banner``, and ``GET /demo/mails`` when ``mails`` (a
    :class:`hub.adapters.mail.simulator.MailCatcher`) is given in demo mode."""

    async def banner(request: Request) -> Response:
        lines = await banner_of(hub, request)
        if lines is None:
            return JSONResponse({"lines": []}, status_code=401)
        return JSONResponse({"lines": lines}, headers={"Cache-Control": "no-store"})

    async def caught_mails(request: Request) -> Response:
        caught = list(reversed(mails.mails))
        return render(request, "demo_mails.html", mails=caught, when=vietnam_time)

    routes = [Route(BANNER_PATH, banner, methods=["GET"])]
    if mails is not None and hub.settings.mode is Mode.DEMO:
        routes.append(Route("/demo/mails", caught_mails, methods=["GET"]))
    return routes
