"""``POST /oauth/token``, ``/oauth/revoke``, ``/oauth/introspect``.

Grants: client credentials (RFC 6749 §4.4) for a program acting on its own;
authorization code with PKCE (§4.1, RFC 7636) and refresh token (§6) for an app
acting for a person (:mod:`hub.auth.grants`, :mod:`hub.web.authorize`).
Revocation (RFC 7009) and introspection (RFC 7662) for apps and resource servers.

Access tokens are JWTs (RFC 9068, :mod:`hub.auth.tokens`). Failed client
authentications are throttled per client id and per source address
(:mod:`hub.auth.throttle`), and an unknown client id costs the same work as a
known one (:func:`hub.auth.clients.authenticate`).
"""

import base64
import binascii
from typing import Any
from urllib.parse import unquote

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.auth import grants
from hub.auth.clients import authenticate, find_client
from hub.auth.people import load_person
from hub.auth.throttle import Limits, TokenThrottle
from hub.auth.tokens import InvalidToken
from hub.db.models import ApiClient
from hub.domain.personal_data import mask_personal_id
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


GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")


def token_routes(hub: HubServices) -> list[Route]:
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

    async def authenticated(request: Request, form: Any) -> ApiClient | Response:
        """The client authenticating the request (throttled), or the error to answer."""
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
        return client

    async def for_person(form: Any, client: ApiClient) -> Response:
        """The authorization-code and refresh-token grants: tokens bound to a person."""
        grant_type = form.get("grant_type")
        # A refusal commits what it found out (a code spent by a wrong verifier, a
        # grant revoked because a used token came back): it is caught inside.
        refused: grants.GrantError | None = None
        async with hub.db.unit_of_work() as session:
            try:
                if grant_type == "authorization_code":
                    approval = await grants.redeem_code(
                        session,
                        client_id=client.client_id,
                        code=str(form.get("code") or ""),
                        redirect_uri=str(form.get("redirect_uri") or ""),
                        verifier=str(form.get("code_verifier") or ""),
                    )
                else:
                    narrowed = frozenset(str(form.get("scope") or "").split()) or None
                    approval = await grants.rotate_refresh_token(
                        session,
                        client_id=client.client_id,
                        token=str(form.get("refresh_token") or ""),
                        scopes=narrowed,
                    )
                person = await load_person(session, approval.personal_id)
                if not person.known:
                    await grants.revoke_family(session, approval.family)
                    raise grants.GrantError("invalid_grant", "the person holds no role any more")
                scopes = approval.scopes & frozenset(client.scopes.split())
                refresh = await grants.issue_refresh_token(
                    session, approval, settings.refresh_token_days
                )
            except grants.GrantError as error:
                refused = error
        if refused is not None:
            log.info("token.refused", client_id=client.client_id, grant=grant_type)
            return oauth_error(refused.error, refused.description)
        access_token, lifetime = hub.tokens.issue(
            client.client_id,
            scopes,
            credentials_version=client.credentials_version,
            person=approval.personal_id,
            family=approval.family,
            lifetime_seconds=settings.person_token_lifetime_seconds,
        )
        log.info("token.issued", client_id=client.client_id, grant=grant_type, for_person=True)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": lifetime,
                "refresh_token": refresh,
                "scope": " ".join(sorted(scopes)),
            },
            headers=NO_STORE,
        )

    async def token(request: Request) -> Response:
        """OAuth2 token endpoint, JWT access tokens (RFC 9068)."""
        form = await request.form()
        grant_type = form.get("grant_type")
        if grant_type not in GRANT_TYPES:
            return oauth_error("unsupported_grant_type", f"supported: {' '.join(GRANT_TYPES)}")
        client = await authenticated(request, form)
        if isinstance(client, Response):
            return client
        if grant_type != "client_credentials":
            return await for_person(form, client)
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

    async def revoke(request: Request) -> Response:
        """RFC 7009: a refresh token's grant is revoked; anything else is ignored (200)."""
        form = await request.form()
        client = await authenticated(request, form)
        if isinstance(client, Response):
            return client
        async with hub.db.unit_of_work() as session:
            await grants.revoke_token(
                session, client_id=client.client_id, token=str(form.get("token") or "")
            )
        return Response(status_code=200, headers=NO_STORE)

    async def introspect(request: Request) -> Response:
        """RFC 7662 for resource servers: whether an access token is active, and its grant.

        The person is named by a masked personal ID unless the asking client may
        read personal IDs (scope ``personal-ids:read``).
        """
        form = await request.form()
        client = await authenticated(request, form)
        if isinstance(client, Response):
            return client
        try:
            claims = hub.tokens.verify(str(form.get("token") or ""))
        except InvalidToken:
            return JSONResponse({"active": False}, headers=NO_STORE)
        async with hub.db.sessions() as session:
            owner = await find_client(session, claims.client_id)
            revoked = claims.family is not None and await grants.family_revoked(
                session, claims.family
            )
        if (
            owner is None
            or owner.disabled
            or owner.deleted_at is not None
            or owner.credentials_version != claims.credentials_version
            or revoked
        ):
            return JSONResponse({"active": False}, headers=NO_STORE)
        body: dict[str, Any] = {
            "active": True,
            "client_id": claims.client_id,
            "scope": " ".join(sorted(claims.scopes)),
            "exp": claims.expires_at,
            "token_type": "Bearer",
            "iss": settings.issuer,
        }
        if claims.person is not None:
            full = "personal-ids:read" in client.scopes.split()
            body["sub"] = claims.person if full else mask_personal_id(claims.person)
        return JSONResponse(body, headers=NO_STORE)

    return [
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/revoke", revoke, methods=["POST"]),
        Route("/oauth/introspect", introspect, methods=["POST"]),
    ]
