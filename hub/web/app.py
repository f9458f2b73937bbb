"""The Starlette application."""

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from strawberry.printer import print_schema

from hub.auth import revocation
from hub.config import Settings
from hub.db.engine import Database
from hub.domain.problems import MESSAGES, Code, HubError
from hub.jobs.core import Enrolment
from hub.logs import configure as configure_logging
from hub.schema.api import schema
from hub.signing.service import SigningServices
from hub.transcripts import service as transcript_service
from hub.web.admission import admission_routes
from hub.web.authorize import authorize_routes
from hub.web.changes import change_routes
from hub.web.consents import consent_routes
from hub.web.dashboard import dashboard_routes
from hub.web.family import family_routes
from hub.web.graphql import HubGraphQL
from hub.web.imports import import_routes
from hub.web.lists import list_routes
from hub.web.login import login_routes
from hub.web.metrics import MetricsMiddleware, metrics_endpoint
from hub.web.oauth import token_routes
from hub.web.outage import OutageBanner, outage_routes
from hub.web.pages import STATIC
from hub.web.security import BodyLimit, SecurityHeaders
from hub.web.services import HubServices, purpose_of
from hub.web.sign_pages import sign_routes
from hub.web.verify import verify_routes

log = structlog.get_logger()


@functools.cache
def schema_sdl() -> str:
    """The SDL printed from the code, once (the same text as ``schema.graphql``)."""
    return print_schema(schema) + "\n"


def _problem(code: Code, status: int, message: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": code.value, "message": message or MESSAGES[code]}, status_code=status
    )


def create_app(
    settings: Settings,
    db: Database | None = None,
    signing: SigningServices | None = None,
    send_jobs: Callable[[list[Any]], None] | None = None,
    enrolment: Enrolment | None = None,
    mails: Any = None,
) -> Starlette:
    """The hub as an ASGI app; ``db`` may be shared with the caller (tests, demo).

    ``signing`` connects the signing providers and the trust store; without it,
    signing and verification answer PROVIDER_UNAVAILABLE. ``send_jobs`` sends job
    messages to the broker (:func:`hub.jobs.actors.send`); ``enrolment`` is how this
    hub's workers enrol people at a provider, where they can (the demo's simulators);
    ``mails``, the demo's mail catcher (:mod:`hub.adapters.mail.simulator`), is shown at
    ``/demo/mails`` in demo mode.
    """
    configure_logging(settings)
    hub = HubServices(settings, db, signing, send_jobs, enrolment)

    async def transcript_document(request: Request) -> Response:
        """A transcript's XML or PDF for an authorised client; every copy is logged."""
        caller = await hub.caller_for(request)
        if caller is None:
            return _problem(Code.UNAUTHENTICATED, 401)
        kind = request.path_params["kind"]
        if kind not in ("xml", "pdf"):
            return _problem(Code.TRANSCRIPT_NOT_FOUND, 404)
        try:
            async with hub.db.unit_of_work() as session:
                transcript = await transcript_service.issue_copy(
                    session,
                    caller=caller,
                    document_id=request.path_params["document_id"],
                    kind=kind,
                    purpose=purpose_of(request),
                )
                body = transcript.xml if kind == "xml" else transcript.pdf
        except HubError as error:
            refused = error.problem.code in (Code.FORBIDDEN, Code.CONSENT_REQUIRED)
            status = 403 if refused else 404
            return _problem(error.problem.code, status, error.problem.message)
        media = "application/xml" if kind == "xml" else "application/pdf"
        filename = f"hoc-ba-{transcript.document_id}-v{transcript.version}.{kind}"
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    async def health(_: Request) -> Response:
        try:
            async with hub.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            # The exception text (host names, drivers' messages) is for the log only.
            log.exception("health.database_unavailable")
            return JSONResponse({"status": "unavailable", "database": "unavailable"}, 503)
        return JSONResponse({"status": "ok", "database": hub.db.dialect})

    async def jwks(_: Request) -> Response:
        return JSONResponse(hub.tokens.jwks())

    async def sdl(_: Request) -> Response:
        """The schema as SDL, for every caller in every mode (introspection may be off)."""
        return Response(
            schema_sdl(),
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        watcher = asyncio.create_task(hub.outages.watch()) if signing else None
        listener = (
            asyncio.create_task(revocation.listen_for_client_changes(hub.db.url, hub.callers))
            if hub.db.dialect == "postgresql"
            else None
        )
        yield
        await revocation.stop(listener)
        await hub.aclose()
        if watcher is not None:
            watcher.cancel()
        if db is None:
            await hub.db.dispose()

    graphql = HubGraphQL(hub)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *token_routes(hub),
            *authorize_routes(hub),
            Route("/health", health),
            Route("/metrics", metrics_endpoint(settings)),
            Route("/.well-known/jwks.json", jwks),
            Route("/schema.graphql", sdl, methods=["GET"]),
            Route("/transcripts/{document_id}.{kind:str}", transcript_document),
            *verify_routes(hub),
            *login_routes(hub),
            *consent_routes(hub),
            *family_routes(hub),
            *admission_routes(hub),
            *sign_routes(hub),
            *outage_routes(hub, mails=mails),
            *dashboard_routes(hub),
            *import_routes(hub),
            *list_routes(hub),
            *change_routes(hub),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(OutageBanner, hub=hub)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(SecurityHeaders, settings=settings)
    app.state.hub = hub
    return app
