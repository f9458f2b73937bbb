"""``POST /oauth/token``: the OAuth2 client-credentials grant (RFC 6749 §4.4).

Access tokens are JWTs (RFC 9068, :mod:`hub.auth.tokens`). Failed client
authentications are throttled per client id and per source address
(:mod:`hub.auth.throttle`), and an unknown client id costs the same work as a
known one (:func:`hub.auth.clients.authenticate`).
"""

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.auth.clients import authenticate
from hub.auth.throttle import Limits, TokenThrottle
from hub.domain.problems import Code, problem
from hub.web.services import HubServices

log = structlog.get_logger()

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(
    error: str,
    description: str,
    status: int = 400,
    *,
    code: Code | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An RFC 6749 §5.2 error body, with the hub's stable code when there is one."""
    body: dict[str, Any] = {"error": error, "error_description": description}
    if code is not None:
        body |= {"code": code.value, "message": message}
    all_headers = dict(NO_STORE)
    if status == 401:
        all_headers["WWW-Authenticate"] = 'Basic realm="hub"'
    all_headers |= headers or {}
    return JSONResponse(body, status_code=status, headers=all_headers)


def client_credentials(request: Request, form: Any) -> tuple[str, str] | None:
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


def too_many_attempts(seconds: int) -> JSONResponse:
    return oauth_error(
        "slow_down",
        f"too many failed attempts; retry after {seconds} s",
        429,
        code=Code.TOO_MANY_REQUESTS,
        message=problem(Code.TOO_MANY_REQUESTS, seconds=seconds).message,
        headers={"Retry-After": str(seconds)},
    )


def token_endpoint(hub: HubServices) -> Callable[[Request], Awaitable[Response]]:
    settings = hub.settings
    throttle = TokenThrottle(
        hub.db,
        Limits(
            per_client=settings.token_failures_per_client,
            per_address=settings.token_failures_per_address,
            window_seconds=settings.token_failure_window_seconds,
        ),
    )
    hub.throttle = throttle

    async def token(request: Request) -> Response:
        """OAuth2 client-credentials grant (RFC 6749 §4.4), JWT access tokens (RFC 9068)."""
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return oauth_error("unsupported_grant_type", "only client_credentials is supported")
        credentials = client_credentials(request, form)
        if credentials is None:
            return oauth_error("invalid_client", "client authentication required", 401)
        client_id, secret = credentials
        address = request.client.host if request.client else "unknown"
        wait = await throttle.attempt(client_id, address)
        if wait is not None:
            log.warning("token.throttled", client_id=client_id, address=address, retry=wait)
            return too_many_attempts(wait)
        async with hub.db.unit_of_work() as session:
            client = await authenticate(session, client_id, secret)
        if client is None:
            log.info("token.refused", client_id=client_id, address=address)
            return oauth_error("invalid_client", "unknown client or wrong secret", 401)
        await throttle.succeeded(client_id, address)
        granted = frozenset(client.scopes.split())
        asked = frozenset(str(form.get("scope", "")).split()) or granted
        if not asked <= granted:
            return oauth_error("invalid_scope", f"not granted: {' '.join(sorted(asked - granted))}")
        access_token, lifetime = hub.tokens.issue(
            client.client_id, asked, credentials_version=client.credentials_version
        )
        log.info("token.issued", client_id=client.client_id, scope=" ".join(sorted(asked)))
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": lifetime,
                "scope": " ".join(sorted(asked)),
            },
            headers=NO_STORE,
        )

    return token
