"""The family's pages (issue 12, part 5): ``GET /family`` for a verified guardian or a
pupil signed in with their own account, and the consent forms it posts.

For each child (or the pupil themself): the finished transcripts to download, who read
the record and why, and the consents given for it — each with its receipt and a button
to withdraw it at once. A consent to an admission service is given in two steps, the
second showing the exact text and its version with a box the person ticks themself
(Law 91/2025: consent is explicit; silence and pre-ticked boxes are not consent). A
pupil of 7 or more agrees to a consent given for them with "Em đồng ý".

The rules are the services': :mod:`hub.consents.service` gives, agrees and withdraws;
:func:`hub.resolvers.me.reads_of_child` reads the access log; the transcripts listed are
those :func:`hub.auth.access.family_may_copy` lets the person have. Every form posts the
session's anti-forgery token (``csrf_token``); the pages need no JavaScript.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hub.auth.sessions import SessionView, csrf_matches
from hub.consents import service as consents
from hub.consents.service import ConsentView
from hub.db import models
from hub.domain import consent as rule
from hub.domain.certificates import as_utc
from hub.domain.lifecycle import TranscriptState
from hub.domain.people import Person
from hub.domain.personal_data import mask_personal_id
from hub.domain.problems import Code, HubError
from hub.resolvers.context import Reader
from hub.resolvers.me import ChildReads, reads_of_child
from hub.transcripts import service as transcripts
from hub.web import i18n
from hub.web.pages import problem_message, problem_page, render, to_login
from hub.web.services import HubServices, csrf_token_of

#: How many entries of a child's access log the page shows (newest first).
READS_SHOWN = 50
#: The largest id a consent row can have (a 32-bit integer column).
ID_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class Pupil:
    """A child of the signed-in person, or the pupil themself, as the page shows them."""

    student_id: int
    full_name: str
    own: bool  # the signed-in person is this pupil


@dataclass(frozen=True)
class ConsentForm:
    """What a person filled in to give a consent (kept when the form comes back)."""

    student_id: int | None
    recipient: str
    purpose: str
    school_years: tuple[str, ...]
    until: str

    @classmethod
    def read(cls, fields: QueryParams | FormData) -> "ConsentForm":
        student = fields.get("student")
        return cls(
            student_id=int(student) if isinstance(student, str) and student.isdigit() else None,
            recipient=str(fields.get("recipient") or ""),
            purpose=str(fields.get("purpose") or ""),
            school_years=tuple(str(year) for year in fields.getlist("years")),
            until=str(fields.get("until") or ""),
        )

    def until_date(self) -> date | None:
        try:
            return date.fromisoformat(self.until)
        except ValueError:
            return None


def pupils_of(person: Person) -> list[Pupil]:
    """The pupils whose page the person sees: themself as a pupil, then their children."""
    found = [Pupil(child.student_id, child.full_name, own=False) for child in person.children]
    if person.student_id is not None:
        found.insert(0, Pupil(person.student_id, person.full_name, own=True))
    return found


def _in_vietnam(at: datetime) -> str:
    local = as_utc(at).astimezone(rule.VIETNAM)
    return f"{rule.vietnamese_day(local.date())} {local:%H:%M}"


def _consent_row(view: ConsentView, person: Person, now: datetime) -> dict[str, Any]:
    found = view.consent
    state = view.status(now)
    return {
        "id": found.id,
        "student_id": found.student_id,
        "recipient": view.recipient_name,
        "purpose": found.purpose,
        "years": ", ".join(rule.school_years_of(found)),
        "first_day": rule.vietnamese_day(rule.day_in_vietnam(found.valid_from)),
        "last_day": rule.vietnamese_day(rule.last_day(found.valid_until)),
        "status_key": f"family.status.{state.value}",
        "revocable": state not in (rule.ConsentStatus.REVOKED, rule.ConsentStatus.EXPIRED),
        "awaits_me": state is rule.ConsentStatus.AWAITING_PUPIL
        and person.student_id == found.student_id
        and found.pupil_agreed_at is None,
    }


def _read_rows(reads: ChildReads) -> list[dict[str, Any]]:
    return [
        {
            "at": _in_vietnam(read.at),
            "program": read.program or read.client_id,
            "person": read.person_name or (mask_personal_id(read.person) if read.person else None),
            "purpose": read.purpose,
            "consent_id": read.consent_id,
            "consent_purpose": read.consent_purpose,
        }
        for read in reads.reads
    ]


def family_routes(hub: HubServices) -> list[Route]:
    """The family's pages, for :func:`hub.web.app.create_app`."""

    async def signed_in(request: Request) -> tuple[SessionView, Person] | None:
        """The browser session and its person (any roles), or None without a session."""
        current = await hub.session_of(request)
        if current is None:
            return None
        person = await hub.callers.person(hub.db, current.personal_id, current.full_name)
        return current, person

    async def page(
        request: Request,
        current: SessionView,
        person: Person,
        *,
        status: int = 200,
        form: ConsentForm | None = None,
        error: str | None = None,
    ) -> Response:
        now = datetime.now(UTC)
        pupils = pupils_of(person)
        async with hub.db.sessions() as session:
            views = await consents.concerning(session, person=person)
            recipients = await consents.recipients(session)
            school_years = list(
                await session.scalars(
                    select(models.SchoolYear.code).order_by(models.SchoolYear.code.desc())
                )
            )
            listed = {
                pupil.student_id: await transcripts.family_transcripts(
                    session, person=person, student_id=pupil.student_id
                )
                for pupil in pupils
            }
        reader = Reader(hub.db.engine)
        try:
            reads = {
                pupil.student_id: _read_rows(
                    await reads_of_child(
                        reader,
                        person=person,
                        student_id=pupil.student_id,
                        first=READS_SHOWN,
                        before=None,
                    )
                )
                for pupil in pupils
            }
        finally:
            await reader.close()
        rows = [_consent_row(view, person, now) for view in views]
        return render(
            request,
            "family_page.html",
            status,
            person=person,
            pupils=pupils,
            transcripts=listed,
            reads=reads,
            consents=rows,
            recipients=recipients,
            school_years=school_years,
            csrf_token=current.csrf_token,
            form=form,
            error=error,
            today=rule.day_in_vietnam(now).isoformat(),
            state_keys={state.value: f"family.state.{state.value}" for state in TranscriptState},
        )

    async def family(request: Request) -> Response:
        """The family's page: each child's transcripts, reads and consents."""
        found = await signed_in(request)
        if found is None:
            return to_login(request.url.path)
        current, person = found
        if not person.known:
            return problem_page(request, Code.PERSON_UNKNOWN, 403)
        return await page(request, current, person)

    async def preview(request: Request) -> Response:
        """The exact consent text for the terms filled in, with the box to tick."""
        found = await signed_in(request)
        if found is None:
            return to_login(request.url.path)
        current, person = found
        if not person.known:
            return problem_page(request, Code.PERSON_UNKNOWN, 403)
        form = ConsentForm.read(request.query_params)
        return await confirmation(request, current, person, form)

    async def confirmation(
        request: Request,
        current: SessionView,
        person: Person,
        form: ConsentForm,
        *,
        status: int = 200,
        missing_tick: bool = False,
    ) -> Response:
        pupil = next((p for p in pupils_of(person) if p.student_id == form.student_id), None)
        until = form.until_date()
        if pupil is None:
            return await page(
                request, current, person, status=400, form=form, error=_text(request, "pupil")
            )
        if until is None:
            return await page(
                request, current, person, status=400, form=form, error=_text(request, "until")
            )
        try:
            async with hub.db.sessions() as session:
                shown = await consents.text_for(
                    session,
                    recipient=form.recipient,
                    purpose=form.purpose,
                    school_years=form.school_years,
                    until=until,
                    now=datetime.now(UTC),
                )
        except HubError as error:
            return await page(
                request,
                current,
                person,
                status=400,
                form=form,
                error=problem_message(request, error.problem),
            )
        return render(
            request,
            "family_consent.html",
            status,
            pupil=pupil,
            form=form,
            shown=shown,
            csrf_token=current.csrf_token,
            missing_tick=missing_tick,
        )

    async def checked_post(
        request: Request,
    ) -> tuple[SessionView, Person, FormData] | Response:
        """The session, its person and the form of a POST whose anti-forgery token
        matches; otherwise the response that refuses it."""
        found = await signed_in(request)
        if found is None:
            return to_login(request.url.path)
        current, person = found
        form = await request.form()
        if not csrf_matches(current.csrf_token, await csrf_token_of(request)):
            return problem_page(request, Code.CSRF_FAILED, 403)
        if not person.known:
            return problem_page(request, Code.PERSON_UNKNOWN, 403)
        return current, person, form

    async def give(request: Request) -> Response:
        """Record the consent whose text the person read and ticked."""
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        current, person, fields = checked
        form = ConsentForm.read(fields)
        until = form.until_date()
        if fields.get("agree") != "yes" or until is None or form.student_id is None:
            return await confirmation(request, current, person, form, status=400, missing_tick=True)
        try:
            async with hub.db.unit_of_work() as session:
                await consents.give(
                    session,
                    person=person,
                    student_id=form.student_id,
                    recipient=form.recipient,
                    purpose=form.purpose,
                    school_years=form.school_years,
                    until=until,
                    text_version=str(fields.get("text_version") or ""),
                    now=datetime.now(UTC),
                )
        except HubError as error:
            return await page(
                request,
                current,
                person,
                status=400,
                form=form,
                error=problem_message(request, error.problem),
            )
        return _back(form.student_id)

    def on_consent(
        act: Callable[..., Awaitable[models.Consent]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            checked = await checked_post(request)
            if isinstance(checked, Response):
                return checked
            current, person, _ = checked
            consent_id = request.path_params["consent_id"]
            try:
                if consent_id > ID_LIMIT:
                    raise HubError(Code.CONSENT_NOT_FOUND)
                async with hub.db.unit_of_work() as session:
                    found = await act(
                        session, person=person, consent_id=consent_id, now=datetime.now(UTC)
                    )
                    student_id = found.student_id
            except HubError as error:
                status = 404 if error.problem.code is Code.CONSENT_NOT_FOUND else 400
                return await page(
                    request,
                    current,
                    person,
                    status=status,
                    error=problem_message(request, error.problem),
                )
            return _back(student_id)

        return handler

    return [
        Route("/family", family, methods=["GET"]),
        Route("/family/consents/new", preview, methods=["GET"]),
        Route("/family/consents", give, methods=["POST"]),
        Route(
            "/family/consents/{consent_id:int}/revoke",
            on_consent(consents.revoke),
            methods=["POST"],
        ),
        Route(
            "/family/consents/{consent_id:int}/agree", on_consent(consents.agree), methods=["POST"]
        ),
    ]


def _text(request: Request, problem: str) -> str:
    return i18n.translate(i18n.language_of(request), f"family.error.{problem}")


def _back(student_id: int) -> Response:
    """After a change, the page again (post/redirect/get), at the pupil's consents."""
    return RedirectResponse(f"/family#consents-{student_id}", status_code=303)
