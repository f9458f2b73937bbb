"""The transcript service: generate, lock, reopen, sign, correct and issue copies.

Every state change goes through :mod:`hub.domain.lifecycle` and leaves a
:class:`~hub.db.models.TranscriptEvent`; every issued copy (download) is logged
the same way.
"""

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from reportlab.platypus.doctemplate import LayoutError
from sqlalchemy import LargeBinary, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from hub.auth.access import Caller, family_may_copy, restrict
from hub.auth.people import WEB_CLIENT_ID
from hub.consents import service as consents
from hub.db import models
from hub.documents.content import TranscriptContent
from hub.documents.pdf import render_pdf
from hub.documents.xml.transcript import TranscriptXmlError, build_xml, parse_xml
from hub.domain import lifecycle
from hub.domain.lifecycle import TranscriptState
from hub.domain.people import Person
from hub.domain.personal_data import UNMASKED_BY, Kind, unmasked
from hub.domain.problems import Code, HubError, Problem, problem
from hub.domain.signers import SignerRole
from hub.domain.text import COMMENT_LIMIT, clean_text
from hub.transcripts.assemble import Enrolled, Gradebook, build_content, enrolled, gradebook

#: The standard logger (as verification's): ``hub transcripts generate`` draws a progress
#: bar on stdout, where structlog writes.
log = logging.getLogger(__name__)


class Event:
    """The names of transcript events (stable: they are kept in the history)."""

    GENERATED = "GENERATED"
    REGENERATED = "REGENERATED"
    READY = "READY"
    REOPENED = "REOPENED"
    SIGNED = "SIGNED"
    PUBLISHED = "PUBLISHED"
    CORRECTED = "CORRECTED"
    ISSUED = "ISSUED"  # a copy or extract was downloaded


@dataclass
class Skipped:
    student: models.Student
    problem: Problem
    #: The student's data could not be drafted (rather than: no personal ID, locked).
    unrendered: bool = False


class DraftRefused(HubError):
    """A single transcript (a correction's new version) cannot be drafted, for the
    reason a class's drafting would have skipped its student with."""

    def __init__(self, refused: Problem) -> None:
        Exception.__init__(self, refused.message)
        self.problem = refused


@dataclass
class GenerationReport:
    generated: int = 0
    regenerated: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    transcripts: list[models.Transcript] = field(default_factory=list)


def _event(
    session: AsyncSession,
    transcript: models.Transcript,
    caller: Caller,
    name: str,
    detail: str | None = None,
) -> None:
    session.add(models.TranscriptEvent(**_event_row(transcript.id, caller, name, detail)))


def _event_row(transcript_id: int, caller: Caller, name: str, detail: str | None) -> dict[str, Any]:
    """A history entry's columns: what happened to a transcript, by whom (the client, and
    the person it acted for)."""
    return {
        "transcript_id": transcript_id,
        "client_id": caller.client_id,
        "person": caller.personal_id,
        "event": name,
        "detail": detail,
    }


async def render(content: TranscriptContent) -> tuple[bytes, bytes]:
    """The XML and the PDF (carrying the XML) of ``content``, off the event loop."""

    def both() -> tuple[bytes, bytes]:
        xml = build_xml(content)
        return xml, render_pdf(content, xml=xml)

    return await asyncio.to_thread(both)


def _summary(content: TranscriptContent) -> dict[str, str | None]:
    """The headline results kept as columns, for lists and reports."""
    if content.secondary is not None:
        results = content.secondary
        learning = results.learning_after_retest or results.learning_year
        conduct = results.conduct_after_training or results.conduct_year
        return {
            "learning_result": learning and learning.value,
            "conduct_result": conduct and conduct.value,
            "outcome": results.outcome and results.outcome.value,
            "award": results.award and results.award.value,
        }
    assert content.primary is not None
    year = content.primary.year_result
    promoted = content.primary.promoted
    return {
        "learning_result": year and year.value,
        "conduct_result": None,
        "outcome": None if promoted is None else ("PROMOTED" if promoted else "RETAINED"),
        "award": None,
    }


async def school_year(session: AsyncSession, *, code: str | None) -> models.SchoolYear:
    """The school year ``code`` (e.g. 2025-2026), or the current one."""
    found = await session.scalar(
        select(models.SchoolYear).where(
            models.SchoolYear.code == code if code else models.SchoolYear.is_current
        )
    )
    if found is None:
        raise HubError(Code.SCHOOL_YEAR_NOT_FOUND, value=code or "hiện tại")
    return found


async def current_transcripts(
    session: AsyncSession, *, school_year_id: int, student_ids: list[int]
) -> dict[int, models.Transcript]:
    rows = await session.scalars(
        select(models.Transcript).where(
            models.Transcript.school_year_id == school_year_id,
            models.Transcript.student_id.in_(student_ids),
            models.Transcript.is_current,
        )
    )
    return {t.student_id: t for t in rows}


async def _write_version(
    session: AsyncSession,
    *,
    caller: Caller,
    place: Enrolled,
    book: Gradebook,
    school_year: models.SchoolYear,
    current: models.Transcript | None,
    base_url: str,
    today: date,
    report: GenerationReport,
) -> None:
    """Create or refresh the draft of one student; a locked transcript is left alone."""
    student = place.student
    if student.personal_id is None:
        report.skipped.append(Skipped(student, problem(Code.PERSONAL_ID_MISSING)))
        return
    if current is not None and not lifecycle.may_regenerate(TranscriptState(current.state)):
        report.skipped.append(
            Skipped(student, problem(Code.TRANSCRIPT_LOCKED, year=school_year.code))
        )
        return
    replaces = None
    if current is not None and current.replaces_id is not None:
        replaced = await session.get(models.Transcript, current.replaces_id)
        replaces = replaced.document_id if replaced else None
    # One student's data never breaks the class: everything that reads or renders it
    # happens before anything is written, and whatever goes wrong skips this student
    # with a stable code (the rest of the class is drafted, nothing of this one changes).
    try:
        content = build_content(
            place,
            book,
            school_year=school_year,
            document_id=current.document_id if current else str(uuid.uuid4()),
            version=current.version if current else 1,
            replaces=replaces,
            correction_reason=current.correction_reason if current else None,
            base_url=base_url,
            generated_on=today,
        )
        unprintable = printable_problem(content)
        if unprintable is not None:
            report.skipped.append(Skipped(student, unprintable, unrendered=True))
            return
        if current is not None and _unchanged(current, content):
            report.unchanged += 1
            report.transcripts.append(current)
            return
        xml, pdf = await render(content)
    except Exception as error:
        report.skipped.append(Skipped(student, _unrendered(error, student), unrendered=True))
        return
    values = {
        "xml": xml,
        "pdf": pdf,
        "xml_sha256": hashlib.sha256(xml).hexdigest(),
        "class_id": place.school_class.id,
        "school_id": place.school.id,
        **_summary(content),
    }
    if current is None:
        current = models.Transcript(
            document_id=content.document_id,
            student_id=student.id,
            school_year_id=school_year.id,
            version=1,
            state=TranscriptState.DRAFT.value,
            is_current=True,
            **values,
        )
        session.add(current)
        await session.flush()
        _event(session, current, caller, Event.GENERATED)
        report.generated += 1
    else:
        for name, value in values.items():
            setattr(current, name, value)
        _event(session, current, caller, Event.REGENERATED)
        report.regenerated += 1
    report.transcripts.append(current)


def _unchanged(current: models.Transcript, content: TranscriptContent) -> bool:
    """Whether the stored draft already says what ``content`` says (the date aside).
    A stored document that cannot be read back is simply drafted again."""
    try:
        stored = parse_xml(current.xml)
    except TranscriptXmlError:
        return False
    return replace(content, generated_on=stored.generated_on) == stored


#: The people-typed text a transcript prints, with the column that keeps it and the
#: field name the write API uses: text the write gate would refuse today (control
#: characters, only invisible characters, longer than its column) may still be in
#: rows written before the gate, and is refused here with the same code.
def _limit(column: Any) -> int:
    return column.type.length or COMMENT_LIMIT


def _printed_text(content: TranscriptContent) -> list[tuple[str | None, str, int, bool, bool]]:
    """(value, field, limit, multiline, required) of every free text ``content`` prints."""
    student, school = content.student, content.school
    texts: list[tuple[str | None, str, int, bool, bool]] = [
        (student.full_name, "fullName", _limit(models.Student.full_name), False, True),
        (student.ethnicity, "ethnicity", _limit(models.Student.ethnicity), False, False),
        (student.ministry_code, "ministryCode", _limit(models.Student.moet_code), False, False),
        (content.class_name, "className", _limit(models.SchoolClass.name), False, True),
        (school.name, "schoolName", _limit(models.School.name), False, True),
        (school.district, "district", _limit(models.District.name), False, False),
        (school.department, "department", _limit(models.Department.name), False, False),
        (content.homeroom_teacher, "homeroomTeacher", _limit(models.Staff.full_name), False, False),
        (content.principal, "principal", _limit(models.Staff.full_name), False, False),
        (content.homeroom_comment, "homeroomComment", COMMENT_LIMIT, True, False),
        (content.principal_approval, "principalApproval", COMMENT_LIMIT, True, False),
        (content.correction_reason, "correctionReason", COMMENT_LIMIT, True, False),
    ]
    if content.primary is not None:
        texts += [
            (subject.comment, "comment", COMMENT_LIMIT, True, False)
            for subject in content.primary.subjects
        ]
    return texts


def printable_problem(content: TranscriptContent) -> Problem | None:
    """The first text of ``content`` the write gate would refuse, as its problem."""
    for value, field_name, limit, multiline, required in _printed_text(content):
        if value is None and not required:
            continue
        checked = clean_text(
            value, field=field_name, limit=limit, multiline=multiline, required=required
        )
        if checked.problems:
            return checked.problems[0]
    return None


def _unrendered(error: Exception, student: models.Student) -> Problem:
    """Why a student's transcript could not be drafted, as a stable code. Only the code
    and its message reach the client; an unexpected error is logged with its traceback
    under a reference the message repeats."""
    if isinstance(error, TranscriptXmlError):
        log.info("transcripts.content_invalid: student=%s %s", student.id, str(error)[:500])
        return problem(Code.TRANSCRIPT_CONTENT_INVALID)
    if isinstance(error, LayoutError):
        log.info("transcripts.layout_overflow: student=%s", student.id)
        return problem(Code.TRANSCRIPT_LAYOUT_OVERFLOW)
    reference = uuid.uuid4().hex[:12]
    log.error(
        "transcripts.draft_failed: student=%s reference=%s",
        student.id,
        reference,
        exc_info=(type(error), error, error.__traceback__),
    )
    return problem(Code.TRANSCRIPT_DRAFT_FAILED, reference=reference)


async def generate(
    session: AsyncSession,
    *,
    caller: Caller,
    school_year: models.SchoolYear,
    class_ids: list[int],
    base_url: str,
    today: date,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationReport:
    """Draft (or refresh) the transcripts of every student of ``class_ids`` in ``school_year``."""
    caller.require("transcripts:write")
    places = await enrolled(session, school_year=school_year, class_ids=class_ids)
    book = await gradebook(session, school_year=school_year, students=places)
    current = await current_transcripts(
        session, school_year_id=school_year.id, student_ids=[p.student.id for p in places]
    )
    report = GenerationReport()
    for done, place in enumerate(places, start=1):
        await _write_version(
            session,
            caller=caller,
            place=place,
            book=book,
            school_year=school_year,
            current=current.get(place.student.id),
            base_url=base_url,
            today=today,
            report=report,
        )
        if progress is not None:
            progress(done, len(places))
    await session.flush()
    return report


async def load(session: AsyncSession, *, caller: Caller, transcript_id: int) -> models.Transcript:
    """A transcript the caller may act on, or TRANSCRIPT_NOT_FOUND (not FORBIDDEN)."""
    found = await session.scalar(
        restrict(
            select(models.Transcript).where(models.Transcript.id == transcript_id),
            models.Transcript,
            caller,
        )
    )
    if found is None or not caller.may_write_school(found.school_id):
        raise HubError(Code.TRANSCRIPT_NOT_FOUND)
    return found


async def mark_ready(
    session: AsyncSession, *, caller: Caller, transcript_id: int
) -> models.Transcript:
    """Lock the scores of a draft (:func:`hub.domain.lifecycle.mark_ready`): refused for a
    student without a personal ID, and for a transcript without any result."""
    caller.require("transcripts:write")
    transcript = await load(session, caller=caller, transcript_id=transcript_id)
    student = await session.get(models.Student, transcript.student_id)
    state = lifecycle.mark_ready(
        TranscriptState(transcript.state),
        has_personal_id=student is not None and student.personal_id is not None,
        has_results=_has_results(transcript),
    )
    transcript.state = state.value
    _event(session, transcript, caller, Event.READY)
    return transcript


def _has_results(transcript: models.Transcript) -> bool:
    """Whether the drafted document records any result (a document that cannot be read
    back records none the hub can vouch for)."""
    try:
        return parse_xml(transcript.xml).has_results
    except TranscriptXmlError:
        return False


async def mark_ready_all(
    session: AsyncSession, *, caller: Caller, transcript_ids: Sequence[int]
) -> list[tuple[int, Problem | None]]:
    """Lock several drafts at once, each by :func:`mark_ready`: one refused (no personal ID,
    no result, not a draft) is answered with its problem and never blocks the others."""
    outcomes: list[tuple[int, Problem | None]] = []
    for transcript_id in transcript_ids:
        try:  # a refusal is raised before anything is written
            await mark_ready(session, caller=caller, transcript_id=transcript_id)
        except HubError as refused:
            outcomes.append((transcript_id, refused.problem))
        else:
            outcomes.append((transcript_id, None))
    return outcomes


async def reopen(session: AsyncSession, *, caller: Caller, transcript_id: int) -> models.Transcript:
    caller.require("transcripts:write")
    transcript = await load(session, caller=caller, transcript_id=transcript_id)
    transcript.state = lifecycle.reopen(TranscriptState(transcript.state)).value
    _event(session, transcript, caller, Event.REOPENED)
    return transcript


@dataclass(frozen=True, slots=True)
class Signed:
    """A transcript's documents as one role signed them (:func:`record_signatures`)."""

    transcript_id: int
    #: The state the transcript was in when signed (its row locked since it was read).
    state: TranscriptState
    xml: bytes
    pdf: bytes
    #: How many leading bytes of ``pdf`` are the row's PDF as read under its lock: a PDF
    #: signature is an incremental update, appended (0: none are, it is written whole).
    pdf_kept: int = 0


#: The transcript columns a signature writes, and the parameter each is written from.
_SIGNED_COLUMNS = {
    "state": "signed_state",
    "xml": "signed_xml",
    "pdf": "signed_pdf",
    "xml_sha256": "signed_sha256",
}


async def record_signatures(
    session: AsyncSession,
    *,
    caller: Caller,
    role: SignerRole,
    signed: Sequence[Signed],
    signer: str,
) -> None:
    """Keep the documents as ``role`` signed them and move each transcript on.

    Called by the signing engine once a provider returned the signatures, the rows
    locked; the order homeroom teacher → principal → seal is enforced here. One UPDATE,
    executed for all the rows at once (pipelined on PostgreSQL), writes the transcripts
    and one INSERT their histories, however many a provider transaction signed: no ORM
    objects for documents of ~100 KB each. A transcript this session had loaded is
    given the values written.
    """
    if not signed:
        return
    # On PostgreSQL a signed PDF goes as what its signature appended, and the row keeps
    # what it had (a transcript's PDF is ~150 KB, its signature's update a few KB); on
    # SQLite, whose || makes text of bytes, whole.
    appends = session.get_bind().dialect.name == "postgresql"
    rows = [
        {
            "signed_id": one.transcript_id,
            "signed_state": lifecycle.sign(one.state, role).value,
            "signed_xml": one.xml,
            "signed_pdf": one.pdf[one.pdf_kept :] if appends else one.pdf,
            "signed_kept": one.pdf_kept,
            "signed_sha256": hashlib.sha256(one.xml).hexdigest(),
        }
        for one in signed
    ]
    table = models.table_of(models.Transcript)
    values: dict[str, Any] = {column: bindparam(value) for column, value in _SIGNED_COLUMNS.items()}
    if appends:
        values["pdf"] = func.substr(table.c.pdf, 1, bindparam("signed_kept")).concat(
            bindparam("signed_pdf", type_=LargeBinary)
        )
    await session.execute(
        update(table).where(table.c.id == bindparam("signed_id")).values(values), rows
    )
    await session.execute(
        insert(models.TranscriptEvent),
        [
            _event_row(one.transcript_id, caller, Event.SIGNED, f"{role.value}: {signer}")
            for one in signed
        ],
    )
    for one, row in zip(signed, rows, strict=True):
        loaded = session.identity_map.get(identity_key(models.Transcript, one.transcript_id))
        if loaded is not None:  # what the session holds says what was written
            written = row | {"signed_pdf": one.pdf}  # the whole PDF, however it was sent
            for column, value in _SIGNED_COLUMNS.items():
                set_committed_value(loaded, column, written[value])


async def publish(
    session: AsyncSession, *, caller: Caller, transcript: models.Transcript, receipt: str
) -> bool:
    """Record that the national transcript store accepted ``transcript`` (RULES.md §4): it is
    PUBLISHED, its history keeps the store's receipt. A receipt for a transcript already
    published (or no longer sealed) changes nothing; the answer says whether this one
    published it. The caller holds the transcript's row lock."""
    if not lifecycle.may_publish(TranscriptState(transcript.state)):
        return False
    transcript.state = lifecycle.publish(TranscriptState(transcript.state)).value
    _event(
        session,
        transcript,
        caller,
        Event.PUBLISHED,
        f"Kho học bạ số quốc gia, biên nhận {receipt}",
    )
    return True


async def correct(
    session: AsyncSession, *, caller: Caller, transcript_id: int, reason: str
) -> models.Transcript:
    """Open a correction: a new draft version replacing a signed transcript.

    The signed version is kept as it is (immutable) and stays verifiable; the
    gradebook of that student and year is writable again until the new version
    is locked, and the new version must be signed again in the same order.
    """
    caller.require("transcripts:write")
    checked = clean_text(reason, field="reason", limit=COMMENT_LIMIT, multiline=True)
    if checked.problems:
        raise HubError.of(checked.problems[0])
    if checked.value is None:
        raise HubError(Code.CORRECTION_REASON_REQUIRED)
    old = await load(session, caller=caller, transcript_id=transcript_id)
    if not old.is_current:
        raise HubError(Code.TRANSCRIPT_STATE, state="đã có bản thay thế", action="điều chỉnh lại")
    if not lifecycle.may_correct(TranscriptState(old.state)):
        raise HubError(
            Code.TRANSCRIPT_STATE,
            state=TranscriptState(old.state).label,
            action="lập bản điều chỉnh (bản chưa ký thì sửa trực tiếp)",
        )
    old.is_current = False
    new = models.Transcript(
        document_id=str(uuid.uuid4()),
        student_id=old.student_id,
        school_year_id=old.school_year_id,
        school_id=old.school_id,
        class_id=old.class_id,
        version=old.version + 1,
        replaces_id=old.id,
        correction_reason=checked.value,
        is_current=True,
        state=TranscriptState.DRAFT.value,
        xml=old.xml,
        pdf=old.pdf,
        xml_sha256=old.xml_sha256,
        learning_result=old.learning_result,
        conduct_result=old.conduct_result,
        outcome=old.outcome,
        award=old.award,
    )
    session.add(new)
    await session.flush()
    _event(session, old, caller, Event.CORRECTED, f"thay bằng phiên bản {new.version}: {reason}")
    _event(session, new, caller, Event.CORRECTED, f"thay thế phiên bản {old.version}: {reason}")
    return new


async def regenerate_one(
    session: AsyncSession,
    *,
    caller: Caller,
    transcript: models.Transcript,
    base_url: str,
    today: date,
) -> GenerationReport:
    """Rebuild one student's current draft from the gradebook (after a correction)."""
    year = await session.get(models.SchoolYear, transcript.school_year_id)
    assert year is not None
    places = [
        p
        for p in await enrolled(session, school_year=year, class_ids=[transcript.class_id])
        if p.student.id == transcript.student_id
    ]
    book = await gradebook(session, school_year=year, students=places)
    report = GenerationReport()
    for place in places:
        await _write_version(
            session,
            caller=caller,
            place=place,
            book=book,
            school_year=year,
            current=transcript,
            base_url=base_url,
            today=today,
            report=report,
        )
    refused = [skipped for skipped in report.skipped if skipped.unrendered]
    if refused:
        # A correction whose documents cannot be drafted is refused as a whole (the
        # unit of work rolls it back), with the code the class's drafting would give.
        raise DraftRefused(refused[0].problem)
    await session.flush()
    return report


async def issue_copy(
    session: AsyncSession,
    *,
    caller: Caller,
    document_id: str,
    kind: str,
    purpose: str | None = None,
) -> models.Transcript:
    """A transcript's document for download, the copy logged against the pupil (RULES.md §4).

    A signed file carries the pupil's full personal ID under the signatures, which no
    mask can touch, so only a client allowed to see personal IDs may have one
    (:mod:`hub.domain.personal_data`). An admission service has a copy only under a
    consent in force for it and the transcript's school year; without one it is told
    CONSENT_REQUIRED whether the document exists or not, and the log names the
    consent a copy was issued under. The pupil and their verified guardians have a copy
    of the pupil's finished transcript on the hub's own pages, or through an app that
    holds ``transcripts:read`` for them (:func:`hub.auth.access.family_may_copy`).
    """
    # The family's own path is the hub's pages (a person's session) or an app holding
    # the scope to read transcripts for that person, never an app without it.
    acting_as_family = caller.client_id == WEB_CLIENT_ID or caller.has("transcripts:read")
    transcript = (
        await _family_copy(session, caller.person, document_id) if acting_as_family else None
    )
    family = transcript is not None
    if not family:
        transcript = await _scoped_copy(session, caller, document_id)
    consent_id: int | None = None
    if caller.reads_under_consent and not family:
        if transcript is None:
            raise HubError(Code.CONSENT_REQUIRED)
        year = await session.get(models.SchoolYear, transcript.school_year_id)
        consent_id = await consents.require_consent(
            session,
            caller,
            student_id=transcript.student_id,
            school_year_code=year.code if year else "",
        )
    if transcript is None:
        raise HubError(Code.TRANSCRIPT_NOT_FOUND)
    _event(session, transcript, caller, Event.ISSUED, kind)
    session.add(
        models.AccessLog(
            client_id=caller.client_id,
            person=caller.personal_id,
            consent_id=consent_id,
            action="read",
            entity="student",
            entity_id=transcript.student_id,
            item=f"document-{kind}",
            purpose=(purpose or "bản sao học bạ")[:200],
        )
    )
    return transcript


async def _family_copy(
    session: AsyncSession, person: Person | None, document_id: str
) -> models.Transcript | None:
    """The transcript ``document_id`` when ``person`` may have a copy as family."""
    if person is None:
        return None
    found = await session.scalar(
        select(models.Transcript).where(models.Transcript.document_id == document_id)
    )
    if found is None or not family_may_copy(person, student_id=found.student_id, state=found.state):
        return None
    return found


async def _scoped_copy(
    session: AsyncSession, caller: Caller, document_id: str
) -> models.Transcript | None:
    """The transcript ``document_id`` if ``caller``'s scopes and reach let it have a copy."""
    caller.require("transcripts:read")
    if not unmasked(caller.scopes, Kind.SIGNED_FILE):
        caller.require(UNMASKED_BY[Kind.SIGNED_FILE] or "")
    return await session.scalar(
        restrict(
            select(models.Transcript).where(models.Transcript.document_id == document_id),
            models.Transcript,
            caller,
        )
    )


@dataclass(frozen=True)
class FamilyTranscript:
    """A pupil's transcript as the family's page lists it."""

    document_id: str
    school_year: str
    state: TranscriptState
    version: int


async def family_transcripts(
    session: AsyncSession, *, person: Person, student_id: int
) -> list[FamilyTranscript]:
    """The current versions of the pupil's transcripts ``person`` may have a copy of
    (:func:`hub.auth.access.family_may_copy`), newest school year first."""
    rows = await session.execute(
        select(models.Transcript, models.SchoolYear.code)
        .join(models.SchoolYear, models.SchoolYear.id == models.Transcript.school_year_id)
        .where(models.Transcript.student_id == student_id, models.Transcript.is_current)
        .order_by(models.SchoolYear.code.desc())
    )
    return [
        FamilyTranscript(found.document_id, code, TranscriptState(found.state), found.version)
        for found, code in rows
        if family_may_copy(person, student_id=student_id, state=found.state)
    ]
