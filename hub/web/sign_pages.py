"""The signing page of a homeroom teacher (GVCN) and a principal, after sign-in.

``GET /sign`` lists the transcripts waiting for the person's own signature: the
homeroom teacher's class's in the state awaiting HOMEROOM_TEACHER, the principal's
school's awaiting PRINCIPAL (:func:`hub.domain.lifecycle.state_awaiting`, the role
read from the records by :mod:`hub.db.roles`). ``POST /sign`` signs them all as ONE
provider transaction, one confirmation on the phone
(:func:`hub.signing.service.request_signatures`, the signer being the session's
person by :func:`hub.signing.service.signer_of`), and goes to
``GET /sign/requests/{id}``: the request's progress, with the steps teachers forget
while it waits. ``sign.js`` polls ``GET /sign/requests/{id}/status``, which asks the
provider once (:func:`hub.signing.service.complete_signatures`, as the GraphQL
mutation ``completeTranscriptSignatures`` does); without script the page polls when
reloaded. Every transcript that did not sign says why (a stable code) and what to do
next, in words from the catalogue (:data:`NEXT_STEP`).

State-changing requests need the session's anti-forgery token (form field
``csrf_token`` or header ``X-CSRF-Token``), checked here as ``POST /logout`` does.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.auth.access import Caller, restrict
from hub.auth.people import session_caller as person_caller
from hub.auth.sessions import csrf_matches
from hub.db import models, roles
from hub.documents.xml.transcript import TranscriptXmlError, parse_xml
from hub.domain import lifecycle
from hub.domain.personal_data import Kind, unmasked
from hub.domain.problems import Code, HubError
from hub.domain.signers import SignerRole
from hub.signing import service as signing_service
from hub.web import i18n
from hub.web.pages import problem_page, render
from hub.web.services import HubServices, csrf_token_of
from hub.web.verify import shown

log = structlog.get_logger()

#: The roles a person signs with on this page (the school seal is the school's own).
PERSONAL_ROLES = (SignerRole.HOMEROOM_TEACHER, SignerRole.PRINCIPAL)
#: Where every page of the signing flow sends the reader back to.
BACK = ("/sign", "sign.back")

#: What a transcript that did not sign tells the teacher to do next, by the stable
#: code of why (the one place this mapping lives; anything else is ``sign.reason.other``).
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
}


def next_step_key(code: str | None) -> str:
    """The catalogue key of what to do after a signature failed with ``code``."""
    try:
        return NEXT_STEP.get(Code(code), "sign.reason.other") if code else "sign.reason.other"
    except ValueError:
        return "sign.reason.other"


@dataclass(frozen=True)
class Waiting:
    """A transcript waiting for the person's signature, as the list shows it."""

    transcript_id: int
    document_id: str
    pupil: str
    class_name: str
    school_id: int
    school_name: str
    state: str


def _waiting_query(caller: Caller, role: SignerRole) -> Any:
    """The current transcripts in the state awaiting ``role`` whose role holder (by the
    records) is the caller's person; None when the person does not hold ``role``."""
    person = caller.person
    if person is None or person.staff_id is None:
        return None
    transcript = models.Transcript
    # The class as the list names it, apart from the one the role's rule reads.
    listed = aliased(models.SchoolClass)
    if role is SignerRole.HOMEROOM_TEACHER:
        holder = roles.homeroom_teacher_id(transcript.class_id) == person.staff_id
    else:
        holder = roles.principal_id(transcript.school_id) == person.staff_id
    query = (
        select(
            transcript.id,
            transcript.document_id,
            transcript.school_id,
            transcript.state,
            models.Student.full_name,
            listed.name.label("class_name"),
            models.School.name.label("school_name"),
        )
        .join(models.Student, models.Student.id == transcript.student_id)
        .join(listed, listed.id == transcript.class_id)
        .join(models.School, models.School.id == transcript.school_id)
        .where(
            transcript.is_current.is_(True),
            transcript.state == lifecycle.state_awaiting(role).value,
            holder,
        )
        .order_by(models.School.id, listed.name, models.Student.full_name)
    )
    return restrict(query, transcript, caller)


async def waiting_for(session: AsyncSession, *, caller: Caller, role: SignerRole) -> list[Waiting]:
    """The transcripts waiting for the caller's own signature in ``role``."""
    query = _waiting_query(caller, role)
    if query is None:
        return []
    return [
        Waiting(
            transcript_id=row.id,
            document_id=row.document_id,
            pupil=row.full_name,
            class_name=row.class_name,
            school_id=row.school_id,
            school_name=row.school_name,
            state=row.state,
        )
        for row in await session.execute(query)
    ]


def sign_routes(hub: HubServices) -> list[Route]:
    """The signing page's routes."""

    async def signed_in(request: Request) -> Caller | None:
        """The person of the browser session (a bearer token is not a person's page)."""
        if request.headers.get("authorization"):
            return None
        caller = await hub.caller_for(request)
        return caller if caller is not None and caller.person is not None else None

    def sign_in(request: Request) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    def label(language: str, state: str) -> str:
        return i18n.translate(language, f"sign.state.{state.lower()}")

    async def overview(request: Request) -> Response:
        caller = await signed_in(request)
        if caller is None:
            return sign_in(request)
        current = await hub.sessions.current(request.cookies.get(hub.sessions.cookie_name))
        groups = []
        async with hub.db.sessions() as session:
            for role in PERSONAL_ROLES:
                rows = await waiting_for(session, caller=caller, role=role)
                for school_id in dict.fromkeys(row.school_id for row in rows):
                    of_school = [row for row in rows if row.school_id == school_id]
                    groups.append(
                        {
                            "role": role.value,
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
            state_text=partial(label, i18n.language_of(request)),
        )

    async def sign_all(request: Request) -> Response:
        current = await hub.sessions.current(request.cookies.get(hub.sessions.cookie_name))
        if current is None:
            return sign_in(request)
        form = await request.form()
        if not csrf_matches(current.csrf_token, await csrf_token_of(request)):
            return problem_page(request, Code.CSRF_FAILED, 403, link=BACK)
        # The token was sent as a form field: the caller is the session's person.
        person = await hub.callers.person(hub.db, current.personal_id, current.full_name)
        if not person.known:
            return sign_in(request)
        caller = person_caller(person)
        try:
            role = SignerRole(str(form.get("role", "")))
            school_id = int(str(form.get("school_id", "")))
        except ValueError:
            return problem_page(request, Code.INVALID_ARGUMENT, 400, link=BACK, detail="role")
        if role not in PERSONAL_ROLES:
            return problem_page(request, Code.INVALID_ARGUMENT, 400, link=BACK, detail="role")
        if hub.signing is None:
            return problem_page(request, Code.PROVIDER_UNAVAILABLE, 503, link=BACK, provider="—")
        try:
            async with hub.db.unit_of_work() as session:
                ids = [
                    row.transcript_id
                    for row in await waiting_for(session, caller=caller, role=role)
                    if row.school_id == school_id
                ]
                signing_request = await signing_service.request_signatures(
                    session,
                    caller=caller,
                    signing=hub.signing,
                    transcript_ids=ids,
                    role=role,
                )
                request_id = signing_request.request_id
        except HubError as error:
            log.info("sign_page.refused", code=error.problem.code.value)
            return render(
                request,
                "problem.html",
                409,
                code=error.problem.code.value,
                message=error.problem.message,
                link=BACK,
            )
        log.info("sign_page.requested", request=request_id, transcripts=len(ids), role=role.value)
        return RedirectResponse(f"/sign/requests/{request_id}", status_code=303)

    async def progress(caller: Caller, request_id: str, language: str) -> dict[str, Any] | None:
        """Ask the provider once and say where the request stands; None if it is not the
        caller's own request."""
        assert hub.signing is not None
        trouble: str | None = None
        try:
            async with hub.db.unit_of_work() as session:
                await signing_service.complete_signatures(
                    session, caller=caller, signing=hub.signing, request_id=request_id
                )
        except HubError as error:
            # The provider or the TSA did not answer this time: the request stays
            # pending and the next poll tries again.
            trouble = error.problem.code.value
        async with hub.db.sessions() as session:
            try:
                signing_request = await signing_service.load_request(
                    session, caller=caller, request_id=request_id
                )
            except HubError:
                return None
            assert caller.person is not None
            if signing_request.staff_id != caller.person.staff_id:
                return None
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
        state = signing_request.state
        total = len(items)
        signed = sum(1 for item in items if item.state == signing_service.SIGNED)
        failures = [
            {
                "transcriptId": item.transcript_id,
                "pupil": item.full_name,
                "class": item.class_name,
                "code": item.error_code or Code.SIGNING_FAILED.value,
                "message": i18n.translate(language, next_step_key(item.error_code)),
            }
            for item in items
            if item.state not in (signing_service.SIGNED, signing_service.PENDING)
        ]
        return {
            "requestId": request_id,
            "state": state,
            "stateText": label(language, state),
            "pending": state == signing_service.PENDING,
            "signed": signed,
            "total": total,
            "progressText": i18n.translate(language, "sign.progress", signed=signed, total=total),
            "failures": failures,
            "trouble": trouble,
            "troubleText": (i18n.translate(language, next_step_key(trouble)) if trouble else None),
            "items": [
                {
                    "transcriptId": item.transcript_id,
                    "pupil": item.full_name,
                    "class": item.class_name,
                    "state": item.state,
                    "stateText": label(language, item.state),
                }
                for item in items
            ],
        }

    async def request_page(request: Request) -> Response:
        caller = await signed_in(request)
        if caller is None:
            return sign_in(request)
        if hub.signing is None:
            return problem_page(request, Code.PROVIDER_UNAVAILABLE, 503, link=BACK, provider="—")
        language = i18n.language_of(request)
        status = await progress(caller, request.path_params["request_id"], language)
        if status is None:
            return problem_page(request, Code.INVALID_ARGUMENT, 404, link=BACK, detail="yêu cầu ký")
        return render(request, "sign_request.html", report=status)

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
            return sign_in(request)
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
        try:
            content = parse_xml(transcript.xml)
        except TranscriptXmlError:
            content = None
        return render(
            request,
            "sign_preview.html",
            transcript=transcript,
            pupil=row.full_name,
            class_name=row.class_name,
            state=label(i18n.language_of(request), transcript.state),
            content=content,
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
    ]
    return [Route(path, handler, methods=methods) for path, handler, methods in handlers]
