"""The Starlette application."""

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

import orjson
import structlog
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from hub.auth.access import Caller
from hub.auth.clients import CallerCache, authenticate
from hub.auth.tokens import InvalidToken, TokenIssuer, load_signing_key
from hub.config import Settings
from hub.db.engine import Database
from hub.domain.problems import MESSAGES, Code, HubError
from hub.resolvers.context import Context, Reader
from hub.resolvers.loaders import Loaders
from hub.schema.api import schema
from hub.schema.signing import MAX_UPLOAD
from hub.signing import verification
from hub.signing.service import SigningServices
from hub.signing.verdict import as_json
from hub.signing.verify import verify_document
from hub.transcripts import service as transcript_service
from hub.web.metrics import MetricsMiddleware, metrics

log = structlog.get_logger()


class HubGraphQL(GraphQL):
    """Strawberry's ASGI app with the hub's per-request context."""

    def __init__(self, hub: "HubServices") -> None:
        super().__init__(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)
        self.hub = hub

    def encode_json(self, data: object) -> bytes:
        """orjson: a page of 100 students serialises several times faster than with json."""
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        ctx = Context(
            db=self.hub.db,
            settings=self.hub.settings,
            reader=Reader(self.hub.db.engine),
            caller_or_none=await self.hub.caller_for(request),
            # Header values are ASCII: Vietnamese purposes arrive percent-encoded.
            purpose=unquote(request.headers.get("x-hub-purpose", "")) or None,
            signing=self.hub.signing,
            send_jobs=self.hub.send_jobs,
        )
        ctx.loaders = Loaders(ctx)
        return ctx


class HubServices:
    """The long-lived parts every request uses."""

    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        signing: SigningServices | None = None,
        send_jobs: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url, echo=settings.sql_echo)
        self.signing = signing
        self.send_jobs = send_jobs
        self.tokens = TokenIssuer(
            load_signing_key(settings),
            issuer=settings.issuer,
            lifetime_seconds=settings.token_lifetime_seconds,
        )
        self.callers = CallerCache()

    async def caller_for(self, request: Request | WebSocket) -> Caller | None:
        """The client behind a request's bearer token; None without a valid one."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        try:
            claims = self.tokens.verify(header[7:].strip())
        except InvalidToken:
            return None
        return await self.callers.get(self.db, claims.client_id, claims.scopes)


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="hub"'} if status == 401 else None
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers=headers,
    )


def _client_credentials(request: Request, form: Any) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 §2.3.1) or client_secret_post."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    if form.get("client_id") and form.get("client_secret"):
        return str(form["client_id"]), str(form["client_secret"])
    return None


def _problem(code: Code, status: int, message: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": code.value, "message": message or MESSAGES[code]}, status_code=status
    )


def create_app(
    settings: Settings,
    db: Database | None = None,
    signing: SigningServices | None = None,
    send_jobs: Callable[[list[Any]], None] | None = None,
) -> Starlette:
    """The hub as an ASGI app; ``db`` may be shared with the caller (tests, demo).

    ``signing`` connects the signing providers and the trust store; without it,
    signing and verification answer PROVIDER_UNAVAILABLE. ``send_jobs`` sends job
    messages to the broker (:func:`hub.jobs.actors.send`).
    """
    hub = HubServices(settings, db, signing, send_jobs)

    async def token(request: Request) -> Response:
        """OAuth2 client-credentials grant (RFC 6749 §4.4), JWT access tokens (RFC 9068)."""
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
        credentials = _client_credentials(request, form)
        if credentials is None:
            return _oauth_error("invalid_client", "client authentication required", 401)
        async with hub.db.unit_of_work() as session:
            client = await authenticate(session, *credentials)
        if client is None:
            log.info("token.refused", client_id=credentials[0])
            return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
        granted = frozenset(client.scopes.split())
        asked = frozenset(str(form.get("scope", "")).split()) or granted
        if not asked <= granted:
            return _oauth_error(
                "invalid_scope", f"not granted: {' '.join(sorted(asked - granted))}"
            )
        access_token, lifetime = hub.tokens.issue(client.client_id, asked)
        log.info("token.issued", client_id=client.client_id, scope=" ".join(sorted(asked)))
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": lifetime,
                "scope": " ".join(sorted(asked)),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

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
                )
                body = transcript.xml if kind == "xml" else transcript.pdf
        except HubError as error:
            status = 403 if error.problem.code is Code.FORBIDDEN else 404
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

    async def verify_stored(request: Request) -> Response:
        """The QR code's target: anyone holding a transcript checks the hub's copy.

        No token needed; the answer names the signers and the verdict, not the student.
        """
        if hub.signing is None:
            return _problem(Code.PROVIDER_UNAVAILABLE, 503, "Chưa cấu hình xác thực chữ ký số.")
        async with hub.db.unit_of_work() as session:
            found = await verification.verify_stored(
                session, trust=hub.signing.trust, document_id=request.path_params["document_id"]
            )
        if found is None:
            return _problem(Code.TRANSCRIPT_NOT_FOUND, 404)
        return JSONResponse(found)

    async def verify_upload(request: Request) -> Response:
        """Verify a file anyone holds (the body: a transcript XML or PDF, at most 10 MB)."""
        if hub.signing is None:
            return _problem(Code.PROVIDER_UNAVAILABLE, 503, "Chưa cấu hình xác thực chữ ký số.")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPLOAD:
                return _problem(Code.INVALID_ARGUMENT, 413, "Tệp lớn hơn 10 MB.")
        result = await verify_document(body, trust=hub.signing.trust)
        return JSONResponse(as_json(result))

    async def health(_: Request) -> Response:
        try:
            async with hub.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            return JSONResponse({"status": "unavailable", "database": str(error)}, 503)
        return JSONResponse({"status": "ok", "database": hub.db.dialect})

    async def jwks(_: Request) -> Response:
        return JSONResponse(hub.tokens.jwks())

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        watcher = asyncio.create_task(signing.providers.watch()) if signing else None
        yield
        if watcher is not None:
            watcher.cancel()
        if db is None:
            await hub.db.dispose()

    graphql = HubGraphQL(hub)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/oauth/token", token, methods=["POST"]),
            Route("/health", health),
            Route("/metrics", metrics),
            Route("/.well-known/jwks.json", jwks),
            Route("/transcripts/{document_id}.{kind:str}", transcript_document),
            Route("/verify/{document_id}", verify_stored),
            Route("/verify", verify_upload, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(MetricsMiddleware)
    app.state.hub = hub
    return app
