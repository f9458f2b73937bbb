"""A person's consent receipts over HTTP (issue 11): ``GET /me/consents/{id}.json`` and
``GET /me/consents/{id}.pdf``.

The caller is a person: a person-bound bearer token, or the browser session, both
through :meth:`hub.web.services.HubServices.caller_for`. A consent that does not
concern the person answers 404 CONSENT_NOT_FOUND, whether it exists or not.
"""

import asyncio
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.consents import service as consents
from hub.documents.pdf.receipt import render_receipt
from hub.domain.problems import MESSAGES, Code, HubError
from hub.web.services import HubServices

_STATUS = {Code.UNAUTHENTICATED: 401, Code.SESSION_REQUIRED: 401, Code.CONSENT_NOT_FOUND: 404}


def _problem(code: Code) -> JSONResponse:
    return JSONResponse(
        {"code": code.value, "message": MESSAGES[code]},
        status_code=_STATUS.get(code, 400),
        headers={"Cache-Control": "no-store"},
    )


def consent_routes(hub: HubServices) -> list[Route]:
    """The receipt routes, for :func:`hub.web.app.create_app`."""

    async def receipt(request: Request) -> Response:
        """A consent's receipt, as JSON for programs or a printable PDF."""
        caller = await hub.caller_for(request)
        if caller is None:
            return _problem(Code.UNAUTHENTICATED)
        if caller.person is None:
            return _problem(Code.SESSION_REQUIRED)
        kind = request.path_params["kind"]
        consent_id = request.path_params["consent_id"]
        if kind not in ("json", "pdf") or not (consent_id.isascii() and consent_id.isdigit()):
            return _problem(Code.CONSENT_NOT_FOUND)
        if len(consent_id) > 10 or int(consent_id) > 2**31 - 1:
            return _problem(Code.CONSENT_NOT_FOUND)
        try:
            async with hub.db.sessions() as session:
                found = await consents.receipt(
                    session,
                    person=caller.person,
                    consent_id=int(consent_id),
                    now=datetime.now(UTC),
                    base_url=hub.settings.issuer,
                )
        except HubError as error:
            return _problem(error.problem.code)
        if kind == "json":
            return JSONResponse(found.as_json(), headers={"Cache-Control": "no-store"})
        body = await asyncio.to_thread(render_receipt, found)
        return Response(
            body,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="dong-y-{found.consent_id}.pdf"',
                "Cache-Control": "no-store",
            },
        )

    return [Route("/me/consents/{consent_id}.{kind}", receipt, methods=["GET"])]
