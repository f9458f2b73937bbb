"""The signing page of a homeroom teacher (GVCN), a principal and whoever applies the
school's seal, after sign-in.

``GET /sign`` lists what waits for the signed-in person
(:func:`hub.signing.service.waiting_for`, the role holders read from the records): the
homeroom teacher's class's transcripts awaiting HOMEROOM_TEACHER, the principal's
school's awaiting PRINCIPAL, and, for whoever may apply the school's seal
(:func:`hub.signing.service.seal_keeper_id`), the school's transcripts the principal
signed, awaiting SCHOOL_SEAL. ``POST /sign`` signs one group as ONE provider
transaction (:func:`hub.signing.service.request_signatures`): one confirmation on the
phone for a person's signature, the button itself for the seal, whose token signs with
no phone. It goes to ``GET /sign/requests/{id}``: the request's progress, with the
steps teachers forget while it waits (pressed again meanwhile, it goes to the same
request: :func:`request_under_way`). ``sign.js`` polls
``GET /sign/requests/{id}/status``, which asks the provider once
(:func:`hub.signing.service.complete_signatures`, as the GraphQL mutation
``completeTranscriptSignatures`` does); without script the page polls when reloaded.
A request waiting for the signer's consent at their provider (a CSC ``oauth2code``
credential) links to the provider's page; the provider sends the browser back to
``GET /sign/authorized`` (the redirect URI registered for the hub, one for every
request, so the ``state`` it brings back says which request), which polls with the code
and goes to the request's page.
Every transcript that did not sign says why (a stable code) and what to do next, in
words from the catalogue (:func:`next_step_key`); so does a refusal of the whole request.

State-changing requests need the session's anti-forgery token (form field
``csrf_token`` or header ``X-CSRF-Token``), checked here as ``POST /logout`` does.
"""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.auth.access import Caller, restrict
from hub.auth.people import session_caller as person_caller
from hub.auth.sessions import SessionView, csrf_matches
from hub.db import models
from hub.domain.personal_data import Kind, unmasked
from hub.domain.problems import Code, HubError
from hub.domain.signers import SignerRole
from hub.signing import service as signing_service
from hub.web import i18n
from hub.web.pages import problem_page, render, to_login
from hub.web.services import HubServices, csrf_token_of
from hub.web.verify import readable_content, shown

log = structlog.get_logger()

#: Where every page of the signing flow sends the reader back to.
BACK = ("/sign", "sign.back")

#: What a transcript that did not get a person's signature tells them to do next, by
#: the stable code of why; :data:`SEAL_NEXT_STEP` for the seal, which no phone confirms.
#: The one place these mappings live: anything else is the table's ``other``.
NEXT_STEP = {
    Code.SIGNER_NOT_CONFIRMED: "sign.reason.not_confirmed",
    Code.SIGNER_REJECTED: "sign.reason.rejected",
    Code.CERTIFICATE_EXPIRED: "sign.reason.certificate",
    Code.CERTIFICATE_REVOKED: "sign.reason.certificate",
    Code.CREDENTIAL_NOT_FOUND: "sign.reason.certificate",
    Code.PROVIDER_UNAVAILABLE: "sign.reason.provider_down",
    Code.PROVIDER_FAILURE: "sign.reason.provider_down",
    Code.TIMESTAMP_UNAVAILABLE: "sign.reason.provider_down",
    Code.TRANSCRIPT_STATE: "sign.reason.changed",
    Code.SIGNING_ORDER: "sign.reason.changed",
    Code.BATCH_TOO_LARGE: "sign.reason.too_many",
    Code.SIGNER_OTP_WRONG: "sign.reason.otp_wrong",
    Code.SIGNER_AUTHORIZATION_REFUSED: "sign.consent.refused",
}
SEAL_NEXT_STEP = {
    Code.PROVIDER_UNAVAILABLE: "sign.seal_reason.token",
    Code.PROVIDER_FAILURE: "sign.seal_reason.token",
    Code.SIGNING_FAILED: "sign.seal_reason.token",
    Code.PROVIDER_BAD_CREDENTIALS: "sign.seal_reason.pin",
    Code.CERTIFICATE_EXPIRED: "sign.seal_reason.certificate",
    Code.CERTIFICATE_REVOKED: "sign.seal_reason.certificate",
    Code.CREDENTIAL_NOT_FOUND: "sign.seal_reason.certificate",
    Code.TIMESTAMP_UNAVAILABLE: "sign.seal_reason.timestamp",
    Code.TRANSCRIPT_STATE: "sign.seal_reason.changed",
    Code.SIGNING_ORDER: "sign.seal_reason.changed",
    Code.BATCH_TOO_LARGE: "sign.seal_reason.too_many",
}

#: The words of a request's states for the seal, where a person's would speak of a phone.
SEAL_STATES = {
    signing_service.PENDING: "sign.seal.state_pending",
    signing_service.SIGNED: "sign.seal.state_signed",
}


def next_step_key(code: str | None, role: SignerRole) -> str:
    """The catalogue key of what to do after ``role``'s signature failed with ``code``."""
    if role is SignerRole.SCHOOL_SEAL:
        steps, other = SEAL_NEXT_STEP, "sign.seal_reason.other"
    else:
        steps, other = NEXT_STEP, "sign.reason.other"
    try:
        return steps.get(Code(code), other) if code else other
    except ValueError:  # a code this hub no longer has
        return other


def state_text(language: str, state: str, role: SignerRole | None = None) -> str:
    """A transcript's or a request's state in words (a seal request's as the seal's)."""
    key = SEAL_STATES.get(state) if role is SignerRole.SCHOOL_SEAL else None
    return i18n.translate(language, key or f"sign.state.{state.lower()}")


async def is_own_request(
    session: AsyncSession, caller: Caller, request: models.SigningRequest
) -> bool:
    """Whether the page shows ``request`` to the caller: it asked for their own
    signature, or for the seal of a school whose seal they may apply now (a seal is the
    school's, so whoever applies it may follow any seal request of the school)."""
    person = caller.person
    if person is None or person.staff_id is None:
        return False
    if request.role == SignerRole.SCHOOL_SEAL:
        keeper = await session.scalar(select(signing_service.seal_keeper_id(request.school_id)))
        return keeper == person.staff_id
    return request.staff_id == person.staff_id


async def request_under_way(
    session: AsyncSession, caller: Caller, role: SignerRole, school_id: int
) -> str | None:
    """The newest request for ``role`` at the school that the page shows the caller
    (:func:`is_own_request`) and that still waits for its provider, if any: pressing
    "sign all" again (a double click, another tab, a page closed while the phone waited)
    leads there, rather than asking a second time for the same signatures."""
    pending = await session.scalars(
        select(models.SigningRequest)
        .where(
            models.SigningRequest.school_id == school_id,
            models.SigningRequest.role == role.value,
            models.SigningRequest.state == signing_service.PENDING,
        )
        .order_by(models.SigningRequest.id.desc())
    )
    for signing_request in pending:
        if await is_own_request(session, caller, signing_request):
            return signing_request.request_id
    return None


def sign_routes(hub: HubServices) -> list[Route]:
    """The signing page's routes."""

    async def signed_in(request: Request) -> Caller | None:
        """The person of the browser session (a bearer token is not a person's page)."""
        if request.headers.get("authorization"):
            return None
        caller = await hub.caller_for(request)
        return caller if caller is not None and caller.person is not None else None

    async def overview(request: Request) -> Response:
        caller = await signed_in(request)
        if caller is None:
            return to_login(request.url.path)
        current = await hub.session_of(request)
        groups = []
        async with hub.db.sessions() as session:
            waiting = await signing_service.waiting_for(session, caller=caller)
        for role, school_id in dict.fromkeys((row.role, row.school_id) for row in waiting):
            of_school = [row for row in waiting if (row.role, row.school_id) == (role, school_id)]
            groups.append(
                {
                    "role": role.value,
                    "seal": role is SignerRole.SCHOOL_SEAL,
                    "school_id": school_id,
                    "school": of_school[0].school_name,
                    "rows": of_school,
                }
            )
        return render(
            request,
            "sign_list.html",
            person=caller.person,
            groups=groups,
            csrf_token=current.csrf_token if current else "",
            state_text=partial(state_text, i18n.language_of(request)),
        )

    async def form_post(request: Request) -> Response | tuple[Caller, SessionView, FormData]:
        """A form posted from a page: the session's person as the caller, once the form's
        anti-forgery field matches the session's; else the answer to give."""
        current = await hub.session_of(request)
        if current is None:
            return to_login(request.url.path)
        form = await request.form()
        if not csrf_matches(current.csrf_token, await csrf_token_of(request)):
            return problem_page(request, Code.CSRF_FAILED, 403, link=BACK)
        # The token was sent as a form field: the caller is the session's person.
        person = await hub.callers.person(hub.db, current.personal_id, current.full_name)
        if not person.known:
            return to_login(request.url.path)
        return person_caller(person), current, form

    async def sign_all(request: Request) -> Response:
        posted = await form_post(request)
        if isinstance(posted, Response):
            return posted
        caller, _, form = posted
        try:
            role = SignerRole(str(form.get("role", "")))
            school_id = int(str(form.get("school_id", "")))
        except ValueError:
            return problem_page(request, Code.INVALID_ARGUMENT, 400, link=BACK, detail="role")
        if hub.signing is None:
            return problem_page(request, Code.PROVIDER_UNAVAILABLE, 503, link=BACK, provider="—")
        try:
            async with hub.db.unit_of_work() as session:
                ids = [
                    row.transcript_id
                    for row in await signing_service.waiting_for(
                        session, caller=caller, roles=[role]
                    )
                    if row.school_id == school_id
                ]
                if not ids:
                    # Signed meanwhile (another tab, a batch), or never the person's to
                    # give: the list says what waits now.
                    return RedirectResponse("/sign", status_code=303)
                under_way = await request_under_way(session, caller, role, school_id)
                if under_way is not None:
                    return RedirectResponse(f"/sign/requests/{under_way}", status_code=303)
                signing_request = await signing_service.request_signatures(
                    session,
                    caller=caller,
                    signing=hub.signing,
                    transcript_ids=ids,
                    role=role,
                )
                request_id = signing_request.request_id
        except HubError as error:
            # The provider's own words stay in the log: the page says what to do next.
            code = error.problem.code.value
            log.info("sign_page.refused", code=code, role=role.value)
            return render(
                request,
                "problem.html",
                409,
                code=code,
                message=i18n.translate(i18n.language_of(request), next_step_key(code, role)),
                link=BACK,
            )
        log.info("sign_page.requested", request=request_id, transcripts=len(ids), role=role.value)
        return RedirectResponse(f"/sign/requests/{request_id}", status_code=303)

    async def progress(
        caller: Caller, request_id: str, language: str, **given: str | None
    ) -> dict[str, Any] | None:
        """Ask the provider once (with what the signer ``given``, when the request waits
        for it: the ``otp`` they typed, the ``oauth2_code`` or ``oauth2_error`` and
        ``state`` their provider sent them back with) and say where the request stands;
        None if the page does not show it to the caller (:func:`is_own_request`)."""
        assert hub.signing is not None
        async with hub.db.sessions() as session:
            try:
                signing_request = await signing_service.load_request(
                    session, caller=caller, request_id=request_id
                )
            except HubError:
                return None
            if not await is_own_request(session, caller, signing_request):
                return None
        role = SignerRole(signing_request.role)
        trouble: str | None = None
        try:
            async with hub.db.unit_of_work() as session:
                await signing_service.complete_signatures(
                    session,
                    caller=caller,
                    signing=hub.signing,
                    request_id=request_id,
                    redirect_uri=signing_service.authorization_callback(hub.settings.issuer),
                    **given,
                )
        except HubError as error:
            # The provider or the TSA did not answer this time: the request stays
            # pending and the next poll tries again.
            trouble = error.problem.code.value
        async with hub.db.sessions() as session:
            signing_request = await signing_service.load_request(
                session, caller=caller, request_id=request_id
            )
            items = (
                await session.execute(
                    select(
                        models.SigningRequestItem.transcript_id,
                        models.SigningRequestItem.state,
                        models.SigningRequestItem.error_code,
                        models.Student.full_name,
                        models.SchoolClass.name.label("class_name"),
                    )
                    .join(
                        models.Transcript,
                        models.Transcript.id == models.SigningRequestItem.transcript_id,
                    )
                    .join(models.Student, models.Student.id == models.Transcript.student_id)
                    .join(models.SchoolClass, models.SchoolClass.id == models.Transcript.class_id)
                    .where(models.SigningRequestItem.request_id == signing_request.id)
                    .order_by(models.SigningRequestItem.position)
                )
            ).all()
        seal = role is SignerRole.SCHOOL_SEAL
        state = signing_request.state
        total = len(items)
        signed = sum(1 for item in items if item.state == signing_service.SIGNED)
        failures = [
            {
                "transcriptId": item.transcript_id,
                "pupil": item.full_name,
                "class": item.class_name,
                "code": item.error_code or Code.SIGNING_FAILED.value,
                "message": i18n.translate(language, next_step_key(item.error_code, role)),
            }
            for item in items
            if item.state not in (signing_service.SIGNED, signing_service.PENDING)
        ]
        progress_key = "sign.seal.progress" if seal else "sign.progress"
        return {
            "requestId": request_id,
            "role": role.value,
            "seal": seal,
            "state": state,
            "stateText": state_text(language, state, role),
            "pending": state == signing_service.PENDING,
            "awaitingOtp": signing_service.awaits_otp(signing_request),
            "authorizeUrl": signing_service.authorize_url(
                signing_request, issuer=hub.settings.issuer
            ),
            "signed": signed,
            "total": total,
            "progressText": i18n.translate(language, progress_key, signed=signed, total=total),
            "failures": failures,
            "trouble": trouble,
            "troubleText": (
                i18n.translate(language, next_step_key(trouble, role)) if trouble else None
            ),
            "items": [
                {
                    "transcriptId": item.transcript_id,
                    "pupil": item.full_name,
                    "class": item.class_name,
                    "state": item.state,
                    "stateText": state_text(language, item.state, role),
                }
                for item in items
            ],
        }

    async def request_page(request: Request) -> Response:
        caller = await signed_in(request)
        if caller is None:
            return to_login(request.url.path)
        if hub.signing is None:
            return problem_page(request, Code.PROVIDER_UNAVAILABLE, 503, link=BACK, provider="—")
        language = i18n.language_of(request)
        status = await progress(caller, request.path_params["request_id"], language)
        if status is None:
            return problem_page(request, Code.INVALID_ARGUMENT, 404, link=BACK, detail="yêu cầu ký")
        current = await hub.session_of(request)
        return render(
            request,
            "sign_request.html",
            report=status,
            csrf_token=current.csrf_token if current else "",
        )

    async def give_otp(request: Request) -> Response:
        """The one-time code the provider sent the signer, typed on the page: it goes to
        the provider with one poll and is kept nowhere; then the page as usual."""
        posted = await form_post(request)
        if isinstance(posted, Response):
            return posted
        caller, current, form = posted
        if hub.signing is None:
            return problem_page(request, Code.PROVIDER_UNAVAILABLE, 503, link=BACK, provider="—")
        request_id = request.path_params["request_id"]
        status = await progress(
            caller,
            request_id,
            i18n.language_of(request),
            otp=str(form.get("otp") or ""),
        )
        if status is None:
            return problem_page(request, Code.INVALID_ARGUMENT, 404, link=BACK, detail="yêu cầu ký")
        if status["trouble"]:
            return render(
                request, "sign_request.html", report=status, csrf_token=current.csrf_token
            )
        return RedirectResponse(f"/sign/requests/{request_id}", status_code=303)

    async def authorized(request: Request) -> Response:
        """Where the signer's provider sends them back after they said yes (``code``) or
        no (``error``) to a request at its site: one poll with it, then the request's
        page. The code goes to the provider with that poll and is kept nowhere."""
        caller = await signed_in(request)
        if caller is None:
            return to_login(f"{request.url.path}?{request.url.query}")
        if hub.signing is None:
            return problem_page(request, Code.PROVIDER_UNAVAILABLE, 503, link=BACK, provider="—")
        query = request.query_params
        async with hub.db.sessions() as session:
            found = await signing_service.request_authorized_with(
                session, caller=caller, state=query.get("state", "")
            )
        if found is None:
            return problem_page(request, Code.INVALID_ARGUMENT, 404, link=BACK, detail="yêu cầu ký")
        answer = (
            {"oauth2_error": query["error"]}
            if "error" in query
            else {"oauth2_code": query.get("code", "")}
        )
        status = await progress(
            caller,
            found.request_id,
            i18n.language_of(request),
            state=query.get("state", ""),
            **answer,
        )
        if status is None:
            return problem_page(request, Code.INVALID_ARGUMENT, 404, link=BACK, detail="yêu cầu ký")
        log.info("sign_page.authorized", request=found.request_id, refused="error" in query)
        return RedirectResponse(f"/sign/requests/{found.request_id}", status_code=303)

    async def request_status(request: Request) -> Response:
        caller = await signed_in(request)
        if caller is None:
            return JSONResponse({"code": Code.SESSION_REQUIRED.value}, status_code=401)
        if hub.signing is None:
            return JSONResponse({"code": Code.PROVIDER_UNAVAILABLE.value}, status_code=503)
        language = i18n.language_of(request)
        status = await progress(caller, request.path_params["request_id"], language)
        if status is None:
            return JSONResponse({"code": Code.INVALID_ARGUMENT.value}, status_code=404)
        return JSONResponse(status, headers={"Cache-Control": "no-store"})

    async def preview(request: Request) -> Response:
        caller = await signed_in(request)
        if caller is None:
            return to_login(request.url.path)
        try:
            transcript_id = int(request.path_params["transcript_id"])
        except ValueError:
            return problem_page(request, Code.TRANSCRIPT_NOT_FOUND, 404, link=BACK)
        async with hub.db.sessions() as session:
            row = (
                await session.execute(
                    restrict(
                        select(
                            models.Transcript,
                            models.Student.full_name,
                            models.SchoolClass.name.label("class_name"),
                        )
                        .join(models.Student, models.Student.id == models.Transcript.student_id)
                        .join(
                            models.SchoolClass,
                            models.SchoolClass.id == models.Transcript.class_id,
                        )
                        .where(models.Transcript.id == transcript_id),
                        models.Transcript,
                        caller,
                    )
                )
            ).first()
        if row is None or not caller.may_write_school(row.Transcript.school_id):
            return problem_page(request, Code.TRANSCRIPT_NOT_FOUND, 404, link=BACK)
        transcript = row.Transcript
        return render(
            request,
            "sign_preview.html",
            transcript=transcript,
            pupil=row.full_name,
            class_name=row.class_name,
            state=state_text(i18n.language_of(request), transcript.state),
            content=readable_content(transcript.xml),
            shown=shown,
            # The file carries the pupil's full personal ID under no mask: linked only
            # for a session that may download it (:func:`hub.transcripts.service.issue_copy`).
            may_download=unmasked(caller.scopes, Kind.SIGNED_FILE),
        )

    handlers: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/sign", overview, ["GET"]),
        ("/sign", sign_all, ["POST"]),
        ("/sign/preview/{transcript_id}", preview, ["GET"]),
        ("/sign/requests/{request_id}", request_page, ["GET"]),
        ("/sign/requests/{request_id}/status", request_status, ["GET"]),
        ("/sign/requests/{request_id}/otp", give_otp, ["POST"]),
        (signing_service.AUTHORIZATION_CALLBACK, authorized, ["GET"]),
    ]
    return [Route(path, handler, methods=methods) for path, handler, methods in handlers]
