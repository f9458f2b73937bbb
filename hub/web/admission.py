"""The admission officer's pages (issue 12, part 6): ``/admission``.

An officer of an admission service (cán bộ tuyển sinh, named by an operator:
:func:`hub.auth.people.grant_admission_officer`) looks up a pupil's transcripts with
what the family hands over: the receipt number of their consent (“Số biên nhận”, on
the receipt the family page gives) and the pupil's personal ID. Both are asked, so a
mistyped number never shows another child. The officer then reads a transcript with
its verification result (the QR code's check, :func:`verify_stored`) and downloads
its signed PDF or XML.

Every read is the service's own (:func:`hub.auth.people.admission_caller`), through
the hub's one consent check: rows through :func:`hub.auth.access.restrict`, a copy
through :func:`hub.transcripts.service.issue_copy`; each is logged against the pupil
with the consent's purpose and number. When the family's consent is not in force
the page says why, with its stable code — withdrawn (CONSENT_REVOKED), expired
(CONSENT_EXPIRED), not yet (CONSENT_PENDING); a receipt number that is no consent of
this pupil to this service says nothing of the pupil (CONSENT_REQUIRED).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.auth.access import FAMILY_COPY_STATES, Caller, restrict
from hub.auth.people import admission_caller
from hub.auth.sessions import SessionView, csrf_matches
from hub.db import models
from hub.domain import consent as rule
from hub.domain.certificates import as_utc
from hub.domain.personal_data import Kind, present, unmasked
from hub.domain.personal_id import is_well_formed
from hub.domain.problems import Code, HubError
from hub.signing.verification.records import verify_stored
from hub.transcripts import service as transcripts
from hub.web.pages import problem_message, render, to_login
from hub.web.services import HubServices, csrf_token_of
from hub.web.verify import combined, readable_content, shown, signature_rows

#: The largest receipt number (a consent's id: a 32-bit integer column).
RECEIPT_LIMIT = 2**31 - 1
#: The HTTP status of each refusal the pages explain.
STATUS = {
    Code.ADMISSION_OFFICER_REQUIRED: 403,
    Code.PERSON_UNKNOWN: 403,
    Code.ACCOUNT_LEVEL_TOO_LOW: 403,
    Code.CSRF_FAILED: 403,
    Code.FORBIDDEN: 403,
    Code.CONSENT_REQUIRED: 403,
    Code.CONSENT_REVOKED: 403,
    Code.CONSENT_EXPIRED: 403,
    Code.CONSENT_PENDING: 403,
    Code.TRANSCRIPT_NOT_FOUND: 404,
}
#: Refusals after which the officer checks what they typed against the family's papers.
CHECK_AGAIN = frozenset({Code.CONSENT_REQUIRED, Code.INVALID_ARGUMENT, Code.PERSONAL_ID_FORMAT})
#: Where a refusal sends the officer next: the lookup form.
LOOKUP = ("/admission", "admission.lookup_again")

#: A page of the officer's: the request, their session and their caller.
OfficerHandler = Callable[[Request, SessionView, Caller], Awaitable[Response]]


@dataclass(frozen=True)
class Shared:
    """A consent given to the officer's service, with the pupil it concerns."""

    consent: models.Consent
    full_name: str
    birth_date: date | None
    personal_id: str | None

    @property
    def school_years(self) -> tuple[str, ...]:
        return rule.school_years_of(self.consent)

    def summary(self) -> dict[str, str]:
        """What the pages show of the consent the reads are made under."""
        found = self.consent
        return {
            "number": str(found.id),
            "purpose": found.purpose,
            "years": ", ".join(self.school_years),
            "first_day": rule.vietnamese_day(rule.day_in_vietnam(found.valid_from)),
            "last_day": rule.vietnamese_day(rule.last_day(found.valid_until)),
        }


@dataclass(frozen=True)
class Listed:
    """A transcript the consent shares, as the pupil's page lists it."""

    document_id: str
    school_year: str
    school: str
    class_name: str
    version: int


def _check_typed(*, receipt: str, personal_id: str) -> None:
    """Refuse a lookup whose receipt number is no number or whose personal ID is
    malformed, before anything is read (both answered with status 400)."""
    if not (receipt.isascii() and receipt.isdigit()) or int(receipt) > RECEIPT_LIMIT:
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail="số biên nhận là một số, in trên biên nhận sự đồng ý",
            details_en={"detail": "the receipt number is a number printed on the receipt"},
        )
    if not is_well_formed(personal_id):
        raise HubError(Code.PERSONAL_ID_FORMAT)


def _in_vietnam(at: datetime) -> str:
    local = as_utc(at).astimezone(rule.VIETNAM)
    return f"{rule.vietnamese_day(local.date())} {local:%H:%M}"


async def shared_with(
    session: AsyncSession, caller: Caller, *, consent_id: int, personal_id: str | None = None
) -> Shared:
    """The consent ``consent_id`` given to ``caller``'s service, in force now — of the
    pupil holding ``personal_id`` when one is given; otherwise the refusal that says
    why. Whether the consent lets a row through stays the shared check's
    (:func:`hub.auth.access.consented`): this names the cause for the officer."""
    if consent_id > RECEIPT_LIMIT:
        raise HubError(Code.CONSENT_REQUIRED)
    statement = (
        select(
            models.Consent,
            models.Student.full_name,
            models.Student.birth_date,
            models.Student.personal_id,
        )
        .join(models.Student, models.Student.id == models.Consent.student_id)
        .where(models.Consent.id == consent_id, models.Consent.recipient == caller.client_id)
    )
    if personal_id is not None:
        statement = statement.where(models.Student.personal_id == personal_id)
    row = (await session.execute(statement)).first()
    if row is None:
        raise HubError(Code.CONSENT_REQUIRED)
    shared = Shared(*row)
    found = shared.consent
    now = datetime.now(UTC)
    state = rule.status(found, birth_date=shared.birth_date, at=now)
    if state is rule.ConsentStatus.REVOKED:
        raise HubError(
            Code.CONSENT_REVOKED, consent=found.id, at=_in_vietnam(found.revoked_at or now)
        )
    if state is rule.ConsentStatus.EXPIRED:
        last = rule.vietnamese_day(rule.last_day(found.valid_until))
        raise HubError(Code.CONSENT_EXPIRED, consent=found.id, last_day=last)
    if state is rule.ConsentStatus.NOT_STARTED:
        first = rule.vietnamese_day(rule.day_in_vietnam(found.valid_from))
        raise HubError(
            Code.CONSENT_PENDING,
            consent=found.id,
            reason=f"có hiệu lực từ ngày {first}",
            details_en={"reason": f"it starts on {first}"},
        )
    if state is rule.ConsentStatus.AWAITING_PUPIL:
        raise HubError(
            Code.CONSENT_PENDING,
            consent=found.id,
            reason="học sinh chưa xác nhận đồng ý bằng tài khoản của mình",
            details_en={"reason": "the pupil has not yet agreed with their own account"},
        )
    return shared


def _transcripts_of(caller: Caller, shared: Shared) -> Any:
    """The pupil's finished transcripts of the consent's school years, as ``caller`` may
    read them (the shared consent check included)."""
    return restrict(
        select(
            models.Transcript,
            models.SchoolYear.code,
            models.School.name,
            models.SchoolClass.name,
        )
        .join(models.SchoolYear, models.SchoolYear.id == models.Transcript.school_year_id)
        .join(models.School, models.School.id == models.Transcript.school_id)
        .join(models.SchoolClass, models.SchoolClass.id == models.Transcript.class_id)
        .where(
            models.Transcript.student_id == shared.consent.student_id,
            models.Transcript.state.in_(sorted(FAMILY_COPY_STATES)),
            models.SchoolYear.code.in_(shared.school_years),
        ),
        models.Transcript,
        caller,
    )


async def _shared_transcript(
    session: AsyncSession, caller: Caller, *, consent_id: int, document_id: str
) -> tuple[Shared, Any]:
    """The consent ``consent_id`` given to ``caller``'s service (:func:`shared_with`)
    and the row of the transcript ``document_id`` it shares (the transcript, its school
    year's code, its school's and its class's names); CONSENT_REQUIRED when the consent
    shares no such transcript."""
    shared = await shared_with(session, caller, consent_id=consent_id)
    row = (
        await session.execute(
            _transcripts_of(caller, shared).where(models.Transcript.document_id == document_id)
        )
    ).first()
    if row is None:
        raise HubError(Code.CONSENT_REQUIRED)
    return shared, row


def _logged(caller: Caller, shared: Shared, item: str) -> models.AccessLog:
    """The access-log entry of a read under ``shared``: against the pupil, with the
    consent's number and purpose (Law 91/2025: who read what, why, under what)."""
    return models.AccessLog(
        client_id=caller.client_id,
        person=caller.personal_id,
        consent_id=shared.consent.id,
        action="read",
        entity="student",
        entity_id=shared.consent.student_id,
        item=item,
        purpose=shared.consent.purpose,
    )


def _service_name(caller: Caller) -> str:
    person = caller.person
    return person.admission.name if person is not None and person.admission else ""


def admission_routes(hub: HubServices) -> list[Route]:
    """The admission officer's pages, for :func:`hub.web.app.create_app`."""

    def refused(request: Request, error: HubError) -> Response:
        code = error.problem.code
        return render(
            request,
            "problem.html",
            STATUS.get(code, 400),
            code=code.value,
            message=problem_message(request, error.problem),
            link=LOOKUP,
        )

    async def officer(request: Request) -> tuple[SessionView, Caller] | Response:
        """The session and the officer's caller (their service acting for them), or the
        response that turns the request away."""
        current = await hub.session_of(request)
        if current is None:
            return to_login("/admission")
        person = await hub.callers.person(hub.db, current.personal_id, current.full_name)
        if not person.known:
            return refused(request, HubError(Code.PERSON_UNKNOWN))
        caller = admission_caller(person)
        if caller is None:
            return refused(request, HubError(Code.ADMISSION_OFFICER_REQUIRED))
        level = hub.settings.staff_min_account_level
        # The officer reads children's records: the account level staff sign in with.
        if current.account_level is not None and current.account_level < level:
            return refused(request, HubError(Code.ACCOUNT_LEVEL_TOO_LOW, level=level))
        return current, caller

    def for_officer(handler: OfficerHandler) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint running ``handler`` for the officer behind the request, or the
        response :func:`officer` turns the request away with."""

        async def endpoint(request: Request) -> Response:
            found = await officer(request)
            if isinstance(found, Response):
                return found
            return await handler(request, *found)

        return endpoint

    def form(
        request: Request,
        current: SessionView,
        caller: Caller,
        *,
        status: int = 200,
        receipt: str = "",
        pupil: str = "",
        error: HubError | None = None,
    ) -> Response:
        return render(
            request,
            "admission.html",
            status,
            service=_service_name(caller),
            officer=caller.person.full_name if caller.person else "",
            csrf_token=current.csrf_token,
            receipt=receipt,
            pupil=pupil,
            error=None if error is None else problem_message(request, error.problem),
            error_code=None if error is None else error.problem.code.value,
            check_again=error is not None and error.problem.code in CHECK_AGAIN,
        )

    async def home(request: Request, current: SessionView, caller: Caller) -> Response:
        """The lookup form: the receipt number and the pupil's personal ID."""
        return form(request, current, caller)

    async def lookup(request: Request, current: SessionView, caller: Caller) -> Response:
        """The pupil's transcripts the consent shares with the service, or why not."""
        fields = await request.form()
        if not csrf_matches(current.csrf_token, await csrf_token_of(request)):
            return refused(request, HubError(Code.CSRF_FAILED))
        receipt = str(fields.get("receipt") or "").strip()
        personal_id = str(fields.get("pupil") or "").strip()
        try:
            _check_typed(receipt=receipt, personal_id=personal_id)
            async with hub.db.unit_of_work() as session:
                shared = await shared_with(
                    session, caller, consent_id=int(receipt), personal_id=personal_id
                )
                rows = (
                    await session.execute(
                        _transcripts_of(caller, shared)
                        .where(models.Transcript.is_current.is_(True))
                        .order_by(models.SchoolYear.code.desc())
                    )
                ).all()
                session.add(_logged(caller, shared, "record"))
        except HubError as error:
            return form(
                request,
                current,
                caller,
                status=STATUS.get(error.problem.code, 400),
                receipt=receipt,
                pupil=personal_id,
                error=error,
            )
        listed = [
            Listed(found.document_id, year, school, class_name, found.version)
            for found, year, school, class_name in rows
        ]
        return render(
            request,
            "admission_pupil.html",
            service=_service_name(caller),
            pupil=shared.full_name,
            birth_date=shown(shared.birth_date),
            personal_id=present(caller.scopes, Kind.PERSONAL_ID, shared.personal_id),
            consent=shared.summary(),
            transcripts=listed,
            copies=unmasked(caller.scopes, Kind.SIGNED_FILE),
        )

    async def transcript(request: Request, _: SessionView, caller: Caller) -> Response:
        """One shared transcript: its verification result and what it says."""
        document_id = request.path_params["document_id"]
        try:
            async with hub.db.unit_of_work() as session:
                shared, row = await _shared_transcript(
                    session,
                    caller,
                    consent_id=request.path_params["consent_id"],
                    document_id=document_id,
                )
                found_transcript, year, school, class_name = row
                current = None
                if not found_transcript.is_current:
                    newer = (
                        await session.execute(
                            _transcripts_of(caller, shared).where(
                                models.Transcript.school_year_id == found_transcript.school_year_id,
                                models.Transcript.is_current.is_(True),
                            )
                        )
                    ).first()
                    current = None if newer is None else newer[0].document_id
                verified = (
                    await verify_stored(session, trust=hub.signing.trust, document_id=document_id)
                    if hub.signing is not None
                    else None
                )
                xml = found_transcript.xml
                session.add(_logged(caller, shared, "transcript"))
        except HubError as error:
            return refused(request, error)
        content = readable_content(xml)
        results: list[dict[str, Any]] = (
            [verified["xml"], verified["pdf"]] if verified is not None else []  # type: ignore[list-item]
        )
        signed = next((r for r in results if r["kind"] == "pdf"), results[0] if results else None)
        return render(
            request,
            "admission_transcript.html",
            consent=shared.summary(),
            pupil=shared.full_name,
            document_id=document_id,
            school_year=year,
            school=school,
            class_name=class_name,
            version=found_transcript.version,
            current=current,
            superseded=not found_transcript.is_current,
            verdict=combined([r["verdict"] for r in results]) if results else None,
            results=results,
            signatures=signature_rows(signed) if signed else [],
            content=content,
            shown=shown,
            personal_id=present(
                caller.scopes, Kind.PERSONAL_ID, content.student.personal_id if content else None
            ),
            copies=unmasked(caller.scopes, Kind.SIGNED_FILE),
        )

    async def download(request: Request, _: SessionView, caller: Caller) -> Response:
        """The transcript's signed PDF or XML, the copy logged against the pupil."""
        kind = request.path_params["kind"]
        document_id = request.path_params["document_id"]
        try:
            if kind not in ("pdf", "xml"):
                raise HubError(Code.TRANSCRIPT_NOT_FOUND)
            async with hub.db.unit_of_work() as session:
                shared, _ = await _shared_transcript(
                    session,
                    caller,
                    consent_id=request.path_params["consent_id"],
                    document_id=document_id,
                )
                copy = await transcripts.issue_copy(
                    session,
                    caller=caller,
                    document_id=document_id,
                    kind=kind,
                    purpose=shared.consent.purpose,
                )
                body = copy.xml if kind == "xml" else copy.pdf
                version = copy.version
        except HubError as error:
            return refused(request, error)
        media = "application/xml" if kind == "xml" else "application/pdf"
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": (
                    f'attachment; filename="hoc-ba-{document_id}-v{version}.{kind}"'
                ),
                "Cache-Control": "no-store",
            },
        )

    shared_path = "/admission/consents/{consent_id:int}/transcripts"
    return [
        Route("/admission", for_officer(home), methods=["GET"]),
        Route("/admission", for_officer(lookup), methods=["POST"]),
        Route(f"{shared_path}/{{document_id}}.{{kind}}", for_officer(download), methods=["GET"]),
        Route(f"{shared_path}/{{document_id}}", for_officer(transcript), methods=["GET"]),
    ]
