"""The HTTP surface's guards: security headers and request body limits (pure ASGI).

:class:`SecurityHeaders` adds to every response a Content-Security-Policy
(``default-src 'self'; frame-ancestors 'none'``; a page that needs another sets its
own, as the demo's GraphiQL page does: :data:`hub.web.graphiql.CSP`), ``nosniff``,
``Referrer-Policy: no-referrer``, ``Cache-Control: no-store`` on everything but
the few public documents (the SDL, the JWKS), and Strict-Transport-Security
when the hub is served over TLS (``hsts_max_age``).

:class:`BodyLimit` reads a request body up to a cap chosen by route before the
route sees any of it, and answers 413 with the stable code REQUEST_TOO_LARGE
(in the GraphQL error shape on ``/graphql``): a declared Content-Length over
the cap is refused unread, a chunked body once it passes the cap.
"""

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import Settings
from hub.domain.problems import Code, problem

CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


def csp_with_form_action(*origins: str) -> str:
    """The hub's CSP, with form submissions (and their redirects) allowed to ``origins``."""
    return CSP.replace("form-action 'self'", " ".join(["form-action 'self'", *origins]))


#: Public documents that carry no personal data and may be cached as they say.
CACHEABLE_PATHS = frozenset({"/schema.graphql", "/.well-known/jwks.json"})


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hsts = settings.hsts_max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # A route may widen the CSP for one page (the OAuth approval page posts
                # to itself, then redirects to the app; GraphiQL's styles): it sets its own.
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                if path not in CACHEABLE_PATHS or "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if self.hsts > 0:
                    headers["Strict-Transport-Security"] = f"max-age={self.hsts}; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: What a multipart form adds around an uploaded spreadsheet.
MULTIPART_ROOM = 64 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def limit_for(self, path: str, content_type: str) -> int:
        s = self.settings
        if path == "/graphql":
            multipart = content_type.startswith("multipart/")
            return s.max_upload_bytes if multipart else s.max_graphql_body_bytes
        if path == "/oauth/token":
            return s.max_token_body_bytes
        if path == "/verify":
            return s.max_upload_bytes
        if path.startswith("/imports/") or path == "/dashboard/imports":
            # A spreadsheet upload (hub.web.imports), with room for the form around it.
            return s.import_max_bytes + MULTIPART_ROOM
        return s.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope["path"]
        limit = self.limit_for(path, headers.get("content-type", ""))
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await too_large(path, limit)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                chunks = []
                first: Message = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_large(path, limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        await self.app(scope, replay, send)


def too_large(path: str, limit: int) -> JSONResponse:
    """413 with REQUEST_TOO_LARGE, shaped like the route's other errors."""
    message = problem(Code.REQUEST_TOO_LARGE, limit=limit).message
    code = Code.REQUEST_TOO_LARGE.value
    body: dict[str, object]
    if path == "/graphql":
        body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    elif path == "/oauth/token":
        body = {
            "error": "invalid_request",
            "error_description": f"request body larger than {limit} bytes",
            "code": code,
            "message": message,
        }
    else:
        body = {"code": code, "message": message}
    return JSONResponse(body, status_code=413, headers={"Connection": "close"})
