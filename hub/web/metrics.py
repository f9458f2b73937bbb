"""Prometheus metrics: requests, latency and SQL statements per request."""

import hmac
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import Mode, Settings
from hub.db.engine import StatementCounter, current_statements
from hub.domain.problems import MESSAGES, Code

REQUESTS = Counter("hub_http_requests_total", "HTTP requests", ["method", "path", "status"])
LATENCY = Histogram(
    "hub_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "path"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STATEMENTS = Histogram(
    "hub_sql_statements_per_request",
    "SQL statements sent while serving one request",
    ["path"],
    buckets=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256),
)
KNOWN_PATHS = {
    "/graphql",
    "/oauth/token",
    "/health",
    "/metrics",
    "/.well-known/jwks.json",
    "/schema.graphql",
}


class MetricsMiddleware:
    """Counts, times and tallies SQL for every HTTP request (pure ASGI, no buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
        method = scope["method"]
        status = 500
        counter = StatementCounter()
        token = current_statements.set(counter)
        started = time.perf_counter()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            current_statements.reset(token)
            LATENCY.labels(method, path).observe(time.perf_counter() - started)
            REQUESTS.labels(method, path, str(status)).inc()
            STATEMENTS.labels(path).observe(counter.count)


async def metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """``/metrics``: open in demo mode; in production only with ``Bearer metrics_token``
    (closed altogether while no token is set)."""
    if settings.mode is not Mode.PRODUCTION:
        return metrics
    expected = (settings.metrics_token or "").encode()

    async def guarded(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        given = header[7:].strip().encode() if header.lower().startswith("bearer ") else b""
        if not expected or not hmac.compare_digest(given, expected):
            return JSONResponse(
                {"code": Code.UNAUTHENTICATED.value, "message": MESSAGES[Code.UNAUTHENTICATED]},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return await metrics(request)

    return guarded
