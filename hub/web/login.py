"""People sign in: ``GET /login``, ``GET /auth/callback``, ``POST /logout``, ``GET /me``.

The identity provider says who signed in (:mod:`hub.adapters.identity`); the hub's own
records say what that person may do (:func:`hub.auth.people.load_person`). Nothing is
logged as a success and no session is created unless every check passed: the
callback's state belongs to an unused, fresh attempt started by the same browser (its
``hub_login`` cookie, :mod:`hub.auth.sessions`); the provider's answer is
valid; the personal ID is in the records; staff signed in at the account level the
department asks for (VNeID level 2 by default).
"""

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.adapters.identity.base import IdentityError, query_parameters
from hub.auth.people import load_person
from hub.auth.sessions import (
    browser_key,
    csrf_matches,
    safe_return_to,
)
from hub.domain.people import Person
from hub.domain.personal_data import mask_personal_id
from hub.domain.problems import MESSAGES, Code
from hub.web.pages import problem_page, render
from hub.web.services import HubServices, csrf_token_of

log = structlog.get_logger()

#: Problems of a sign-in and the HTTP status their page answers with.
STATUS = {
    Code.LOGIN_CANCELLED: 400,
    Code.LOGIN_EXPIRED: 400,
    Code.IDENTITY_ANSWER_INVALID: 502,
    Code.IDENTITY_PROVIDER_UNAVAILABLE: 503,
    Code.PERSON_UNKNOWN: 403,
    Code.ACCOUNT_LEVEL_TOO_LOW: 403,
}


def me_json(person: Person, provider: str | None = None) -> dict[str, Any]:
    """What ``GET /me`` tells a person about themself (personal IDs masked)."""
    return {
        "fullName": person.full_name,
        "personalId": mask_personal_id(person.personal_id),
        "signedInWith": provider,
        "roles": {
            "schools": [
                {"schoolId": role.school_id, "school": role.school_name, "role": role.role.value}
                for role in person.schools
            ],
            "homeroomClasses": [
                {
                    "classId": c.class_id,
                    "class": c.class_name,
                    "schoolId": c.school_id,
                    "school": c.school_name,
                }
                for c in person.homeroom_classes
            ],
            "principalOf": sorted(person.principal_of),
            "departmentOfficer": person.department_officer,
            "pupil": person.student_id is not None,
        },
        "guardianships": [
            {
                "studentId": child.student_id,
                "fullName": child.full_name,
                "birthDate": child.birth_date.isoformat() if child.birth_date else None,
                "schoolId": child.school_id,
                "relation": child.relation.value,
            }
            for child in person.children
        ],
    }


def login_routes(hub: HubServices) -> list[Route]:
    """The sign-in routes of the web app."""
    settings = hub.settings
    callback_uri = f"{settings.issuer}/auth/callback"

    async def login(request: Request) -> Response:
        providers = hub.identity_providers
        if not providers:
            return problem_page(request, Code.IDENTITY_PROVIDER_UNAVAILABLE, 503, provider="—")
        chosen = request.query_params.get("provider")
        next_path = safe_return_to(request.query_params.get("next"))
        if chosen is None and len(providers) > 1:
            return render(request, "login.html", providers=list(providers.values()), next=next_path)
        provider = providers.get(chosen) if chosen else next(iter(providers.values()))
        if provider is None:
            return render(
                request, "login.html", 404, providers=list(providers.values()), next=next_path
            )
        try:
            # An OpenID provider is asked for its discovery document here: it may be down.
            started = await provider.start(callback_uri)
        except IdentityError as error:
            log.info(
                "login.refused", provider=provider.name, code=error.code.value, detail=error.detail
            )
            return problem_page(
                request, error.code, STATUS.get(error.code, 400), provider=provider.label
            )
        browser = browser_key(request.cookies.get(hub.sessions.login_cookie_name))
        await hub.sessions.begin_login(provider.name, started.pending, next_path, browser=browser)
        response = RedirectResponse(
            started.url, status_code=302, headers={"Cache-Control": "no-store"}
        )
        response.set_cookie(**hub.sessions.login_cookie(browser))  # type: ignore[arg-type]
        return response

    async def callback(request: Request) -> Response:
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        # The first state finds the attempt; the provider's adapter refuses one given twice.
        state = query_parameters(raw_query).get("state", [""])[0]
        browser = request.cookies.get(hub.sessions.login_cookie_name)
        started = (
            await hub.sessions.take_login(state, callback_uri, browser=browser) if state else None
        )
        if started is None:
            log.info("login.refused", code=Code.LOGIN_EXPIRED.value)
            return problem_page(request, Code.LOGIN_EXPIRED, 400)
        provider = hub.identity_providers.get(started.provider)
        if provider is None:
            return problem_page(request, Code.LOGIN_EXPIRED, 400)
        try:
            identity = await provider.finish(raw_query, started.pending)
        except IdentityError as error:
            log.info(
                "login.refused", provider=provider.name, code=error.code.value, detail=error.detail
            )
            return problem_page(
                request, error.code, STATUS.get(error.code, 400), provider=provider.label
            )
        async with hub.db.sessions() as session:
            person = await load_person(session, identity.personal_id, identity.full_name)
        if not person.known:
            log.info("login.refused", provider=provider.name, code=Code.PERSON_UNKNOWN.value)
            return problem_page(request, Code.PERSON_UNKNOWN, 403)
        level = settings.staff_min_account_level
        if (
            person.acts_for_an_organisation
            and identity.account_level is not None
            and identity.account_level < level
        ):
            log.info("login.refused", provider=provider.name, code="ACCOUNT_LEVEL_TOO_LOW")
            return problem_page(request, Code.ACCOUNT_LEVEL_TOO_LOW, 403, level=level)
        token = await hub.sessions.create(identity, person.full_name)
        log.info(
            "login.succeeded",
            provider=provider.name,
            person=mask_personal_id(person.personal_id),
        )
        response = RedirectResponse(started.return_to, status_code=303)
        response.set_cookie(**hub.sessions.cookie(token))  # type: ignore[arg-type]
        return response

    async def logout(request: Request) -> Response:
        current = await hub.session_of(request)
        if current is None:
            return RedirectResponse("/", status_code=303)
        if not csrf_matches(current.csrf_token, await csrf_token_of(request)):
            return problem_page(request, Code.CSRF_FAILED, 403)
        await hub.sessions.end(current.id)
        provider = hub.identity_providers.get(current.provider)
        target = "/"
        if provider is not None:
            target = await provider.logout_url(current.logout_hint, f"{settings.issuer}/") or "/"
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(hub.sessions.cookie_name, path="/")
        log.info("logout", provider=current.provider)
        return response

    async def me(request: Request) -> Response:
        caller = await hub.caller_for(request)
        if caller is None or caller.person is None:
            return JSONResponse(
                {"code": Code.SESSION_REQUIRED.value, "message": MESSAGES[Code.SESSION_REQUIRED]},
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        current = await hub.session_of(request)
        body = me_json(caller.person, current.provider if current else None)
        if current is not None:
            body["csrfToken"] = current.csrf_token
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    handlers: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/login", login, ["GET"]),
        ("/auth/callback", callback, ["GET"]),
        ("/logout", logout, ["POST"]),
        ("/me", me, ["GET"]),
    ]
    return [Route(path, handler, methods=methods) for path, handler, methods in handlers]
