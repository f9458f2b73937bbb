"""``/oauth/authorize``: a signed-in person lets an app act for them (issue 11).

``GET`` checks the request (a registered app, its exact redirect URI, PKCE S256,
scopes the app holds), sends a person with no session to ``/login`` and back, and
shows the approval page in Vietnamese; ``POST`` (with the session's anti-forgery
token) records the answer and sends the browser back to the app with a one-time
code (:mod:`hub.auth.grants`) or ``error=access_denied``. Until the redirect URI is
known to be the app's, errors are shown here, never sent anywhere (RFC 6749 §4.1.2.1).
"""

from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hub.auth.access import SCOPES
from hub.auth.grants import app_client, issue_code, redirect_uris_of
from hub.auth.people import load_person
from hub.auth.sessions import csrf_matches
from hub.db.models import ApiClient
from hub.domain.problems import Code
from hub.web import i18n
from hub.web.pages import problem_page, render, to_login
from hub.web.security import csp_with_form_action
from hub.web.services import HubServices, csrf_token_of

PARAMETERS = ("client_id", "redirect_uri", "scope", "state", "code_challenge")


def _back(redirect_uri: str, issuer: str, **parameters: str | None) -> RedirectResponse:
    """Back to the app with ``parameters`` and ``iss`` (RFC 9207)."""
    query = urlencode({k: v for k, v in parameters.items() if v is not None} | {"iss": issuer})
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=303)


def authorize_routes(hub: HubServices) -> list[Route]:
    issuer = hub.settings.issuer

    async def checked(
        request: Request,
        params: QueryParams | FormData,
    ) -> tuple[ApiClient, str, frozenset[str]] | Response:
        """The app, its redirect URI and the scopes asked, or the answer refusing them."""
        client_id = str(params.get("client_id") or "")
        redirect_uri = str(params.get("redirect_uri") or "")
        async with hub.db.sessions() as session:
            client = await app_client(session, client_id)
        if client is None or redirect_uri not in redirect_uris_of(client):
            wrong = i18n.translate(i18n.language_of(request), "authorize.unknown_client")
            return problem_page(request, Code.INVALID_ARGUMENT, 400, detail=wrong)
        state = str(params.get("state") or "") or None
        if params.get("response_type", "code") != "code":
            return _back(redirect_uri, issuer, error="unsupported_response_type", state=state)
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return _back(
                redirect_uri,
                issuer,
                error="invalid_request",
                error_description="PKCE S256 is required",
                state=state,
            )
        held = frozenset(client.scopes.split())
        asked = frozenset(str(params.get("scope") or "").split()) or held
        if not asked <= held:
            return _back(redirect_uri, issuer, error="invalid_scope", state=state)
        return client, redirect_uri, asked

    async def authorize(request: Request) -> Response:
        params: QueryParams | FormData = (
            request.query_params if request.method == "GET" else await request.form()
        )
        found = await checked(request, params)
        if isinstance(found, Response):
            return found
        client, redirect_uri, asked = found
        current = await hub.session_of(request)
        if current is None:
            if request.method != "GET":
                return problem_page(request, Code.SESSION_REQUIRED, 401)
            return to_login(f"/oauth/authorize?{request.url.query}")
        async with hub.db.sessions() as session:
            person = await load_person(session, current.personal_id, current.full_name)
        state = str(params.get("state") or "") or None
        if not person.known:
            return _back(redirect_uri, issuer, error="access_denied", state=state)
        if request.method == "GET":
            context: dict[str, Any] = {
                "app": client.name,
                "person": person.full_name,
                "scopes": [(scope, SCOPES.get(scope, scope)) for scope in sorted(asked)],
                "fields": {name: params.get(name) or "" for name in PARAMETERS},
                "scope": " ".join(sorted(asked)),
                "csrf_token": current.csrf_token,
            }
            page = render(request, "authorize.html", **context)
            target = urlsplit(redirect_uri)
            page.headers["Content-Security-Policy"] = csp_with_form_action(
                f"{target.scheme}://{target.netloc}"
            )
            return page
        if not csrf_matches(current.csrf_token, await csrf_token_of(request)):
            return problem_page(request, Code.CSRF_FAILED, 403)
        if params.get("decision") != "allow":
            return _back(redirect_uri, issuer, error="access_denied", state=state)
        async with hub.db.unit_of_work() as session:
            code = await issue_code(
                session,
                client_id=client.client_id,
                personal_id=person.personal_id,
                scopes=asked,
                redirect_uri=redirect_uri,
                code_challenge=str(params.get("code_challenge")),
            )
        return _back(redirect_uri, issuer, code=code, state=state)

    return [Route("/oauth/authorize", authorize, methods=["GET", "POST"])]
