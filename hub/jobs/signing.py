"""Bulk signing batches: a class's or a school's transcripts, one role, many phone confirmations.

A batch is a :class:`~hub.db.models.Job` with one :class:`~hub.db.models.SigningBatchItem`
per transcript, in chunks no bigger than one provider transaction may carry (two
digests per transcript: XML and PDF), each chunk signed by one person (a
school-wide homeroom batch has one chunk group per class and teacher). The
steps below are what the Dramatiq actors run; each reads the rows, does one
thing, writes the rows in the same transaction and says what should happen next
(:class:`~hub.jobs.core.Next`). Redelivering a message repeats a step harmlessly:

- :func:`send_chunk` sends the chunk's QUEUED items to the provider (rows locked,
  so two deliveries cannot both send) and marks them WAITING with the request id; a
  chunk nobody confirms (the seal's token signs as it is sent) is finished in the
  same step when it can be;
- :func:`poll_request` asks the provider once, before taking any lock (most asks find
  no answer yet), and applies an answer with the signing request row locked: SIGNED,
  RETURNED with the reason (rejected, not confirmed in time — the transcript stays
  ready for that role), or FAILED; with no answer yet it asks again in a delayed
  message;
- a provider that is down pauses the batch with that reason; :func:`resume_if_healthy`
  continues it when the provider's health check answers again.

A human signature (homeroom teacher, principal) is the signer's own (issue 11): the
batch is started by the signer, through an app acting for them, and holds only the
transcripts whose role that person holds; the job records the person and acts for
them, so each chunk is signed by that person or not at all — a role that moved to
someone else since the start fails its items (SIGNER_NOT_CALLER) rather than ask
the new holder's phone. Only where apps may name signers (the demo) may a program on
its own start one, and then each chunk asks the role holder, as before sign-in
existed. The school seal is the school's machine signature, whoever starts it.

A seal batch records the sealed documents as the seal made them (PAdES B-T, XAdES
B-T) and leaves making them long-term (OCSP answers, archive timestamps:
:mod:`hub.signing.longterm`) to the archive job (:mod:`hub.jobs.archive`, which
finds every sealed transcript without an archive timestamp due): the seal's
transaction waits for no OCSP responder, and a batch's CPU goes to signing. A seal
made one at a time (:func:`hub.signing.service.complete_signatures`) is still made
long-term at once.

Signing twice is impossible by construction: the lifecycle refuses a second
signature for the same role (the transcript has moved on), the transcript row is
locked while a signature is recorded, and a transcript has at most one pending
provider request per role (a partial unique index).
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import dramatiq
import structlog
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import ActorNotFound
from sqlalchemy import Case, Row, String, Update, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.signing.base import SigningError, TransactionState
from hub.auth.access import Caller, restrict
from hub.db import models, roles
from hub.db.engine import Database
from hub.domain import lifecycle
from hub.domain.enums import SigningProvider
from hub.domain.lifecycle import TranscriptState
from hub.domain.people import Person
from hub.domain.problems import Code, HubError
from hub.domain.signers import SignerRole
from hub.jobs import core
from hub.jobs.core import PAUSED_BY_USER, PROVIDER_DOWN, JobState, Next
from hub.signing import service as signing_service
from hub.signing.service import SigningServices

KIND = "SIGNING_BATCH"


class ItemState(StrEnum):
    QUEUED = "QUEUED"
    WAITING = "WAITING"
    SIGNED = "SIGNED"
    RETURNED = "RETURNED"  # back to ready: rejected or not confirmed; sign again later
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


OPEN_ITEMS = (ItemState.QUEUED.value, ItemState.WAITING.value)
ITEMS = core.Items(models.SigningBatchItem, ItemState, OPEN_ITEMS)
#: At most this many transcripts in one chunk, even where the provider takes more (a
#: seal token takes 500): a chunk is one database transaction and one stretch of work
#: on a worker, and smaller chunks spread over the worker processes. (Seal chunks of
#: 100 measured no cheaper a signature than chunks of 50.)
MAX_CHUNK = 50
#: A person confirms a chunk on their phone (the notification, opening the app, reading
#: it, the PIN): an ask sooner than this after sending finds nothing. A seal's token
#: signed while the chunk was sent, so its ask comes at once.
FIRST_ASK_SECONDS = 2.0
#: The batch items' table: a chunk's and a request's items are written by statement.
_BATCH_ITEMS = models.table_of(models.SigningBatchItem)
log = structlog.get_logger(__name__)
#: How often a batch paused by an outage asks whether the provider is back.
RESUME_CHECK_SECONDS = 3.0


def batch_caller(job: models.Job, person: Person | None = None) -> Caller:
    """The batch acts for the client that started it, on the transcripts it chose, and
    for ``person``, the one it started the batch for (:func:`acting_caller`)."""
    caller = core.acting_for(job, "transcripts:read", "transcripts:write", "transcripts:sign")
    return caller if person is None else replace(caller, person=person)


def acting_caller(job: models.Job) -> Caller:
    """:func:`batch_caller` for the person recorded at the start (:meth:`Person.recorded`):
    whose signature each chunk asks for, and whom the audit names. Each chunk asks the
    records whether that person still holds the role (:func:`_chunk_signer`, then the
    signing service's own check); nothing else of theirs is read.

    The reach stays the job's school, not the person's narrowed again: a signature
    already confirmed on the phone is still finished if the person has moved since.
    """
    person = job.params.get("person")
    return batch_caller(job, Person.recorded(person) if person else None)


# --- starting ----------------------------------------------------------------------------------


async def start_batch(
    session: AsyncSession,
    *,
    caller: Caller,
    signing: SigningServices,
    role: SignerRole,
    class_id: int | None = None,
    school_id: int | None = None,
    apps_may_name_signers: bool = False,
) -> tuple[models.Job, list[Next]]:
    """Collect the transcripts waiting for ``role`` in the class or school and chunk them.

    For a human role the caller must act for the signer (:func:`signing_service.signer_of`:
    PERSON_REQUIRED for a program on its own, unless ``apps_may_name_signers``, the
    demo's allowance), and the batch holds only the transcripts whose role holder is
    that person now.
    """
    caller.require("transcripts:sign")
    if (class_id is None) == (school_id is None):
        raise HubError(Code.INVALID_ARGUMENT, detail="cần đúng một trong classId, schoolId")
    signer = signing_service.signer_of(
        caller, role, None, apps_may_name_signers=apps_may_name_signers
    )
    query = select(models.Transcript).where(
        models.Transcript.is_current.is_(True),
        models.Transcript.state == lifecycle.state_awaiting(role).value,
    )
    if signer is not None:
        query = query.where(
            signing_service.holder_id(role)
            == select(models.Staff.id).where(models.Staff.personal_id == signer).scalar_subquery()
        )
    if class_id is not None:
        query = query.where(models.Transcript.class_id == class_id)
    else:
        query = query.where(models.Transcript.school_id == school_id)
    transcripts = list(
        await session.scalars(
            restrict(query, models.Transcript, caller).order_by(
                models.Transcript.class_id, models.Transcript.id
            )
        )
    )
    if not transcripts or not all(caller.may_write_school(t.school_id) for t in transcripts):
        raise HubError(
            Code.INVALID_ARGUMENT, detail=f"không có học bạ nào đang chờ {role.label} ký"
        )
    school = transcripts[0].school_id
    groups: dict[int | None, list[models.Transcript]] = defaultdict(list)
    for transcript in transcripts:
        groups[transcript.class_id if role is SignerRole.HOMEROOM_TEACHER else None].append(
            transcript
        )
    job = await core.create(
        session,
        kind=KIND,
        client_id=caller.client_id,
        params={
            "role": role.value,
            "class_id": class_id,
            "school_id": school_id,
            # Who started it, acted for at every step (None: a program on its own).
            "person": caller.personal_id,
            # Whether each chunk may name its role holder without a person (the demo).
            "apps_may_name_signers": apps_may_name_signers,
        },
        total=len(transcripts),
        school_id=school,
    )
    chunk = 0
    for group in groups.values():
        size = min(MAX_CHUNK, await _chunk_size(session, signing, group[0], role))
        for start in range(0, len(group), size):
            for transcript in group[start : start + size]:
                session.add(
                    models.SigningBatchItem(
                        job_id=job.id,
                        transcript_id=transcript.id,
                        chunk=chunk,
                        state=ItemState.QUEUED.value,
                    )
                )
            chunk += 1
    await session.flush()
    return job, [Next("send_chunk", (job.job_id, n)) for n in range(chunk)]


async def _chunk_size(
    session: AsyncSession,
    signing: SigningServices,
    transcript: models.Transcript,
    role: SignerRole,
) -> int:
    """How many transcripts fit one transaction of this signer's provider (two digests each)."""
    signer = await _signer_of(session, transcript, role)
    certificate = signer.certificate
    adapter = signing.providers.adapter(certificate.provider)
    credential = await adapter.credential(signer.user_id, certificate.credential_id)
    return max(1, credential.max_batch // 2)


async def _signer_of(
    session: AsyncSession, transcript: models.Transcript, role: SignerRole
) -> signing_service.Signer:
    """The role holder for a transcript, from the school's records."""
    holder = await _holder_of(session, transcript, role)
    return await signing_service.find_signer(
        session, transcript.school_id, [transcript.id], role, holder
    )


async def _holder_of(session: AsyncSession, transcript: Placed, role: SignerRole) -> str | None:
    """The personal ID of the role's holder for a transcript now (None: the seal, or nobody)."""
    holder = None
    if role is SignerRole.HOMEROOM_TEACHER:
        holder = await roles.homeroom_teacher(session, class_id=transcript.class_id)
    elif role is SignerRole.PRINCIPAL:
        holder = await roles.principal(session, school_id=transcript.school_id)
    return holder.personal_id if holder else None


class Placed(Protocol):
    """Where a transcript is: what says who holds a role for it."""

    @property
    def class_id(self) -> int: ...
    @property
    def school_id(self) -> int: ...


async def _chunk_signer(
    session: AsyncSession, job: models.Job, transcript: Placed, role: SignerRole
) -> str | None:
    """Whom a chunk is signed by: the role's holder now, who must still be the person
    who started the batch (SIGNER_NOT_CALLER once the role has moved to someone else)."""
    holder = await _holder_of(session, transcript, role)
    person = job.params.get("person")
    if role is not SignerRole.SCHOOL_SEAL and person is not None and holder != person:
        raise HubError(Code.SIGNER_NOT_CALLER)
    return holder


# --- the steps the actors run ------------------------------------------------------------------


async def send_chunk(
    db: Database, signing: SigningServices, *, job_id: str, chunk: int, poll_seconds: float
) -> list[Next]:
    """Send one chunk's queued transcripts to the signer's provider as one transaction;
    the signer's answer is asked for after :func:`first_ask_delay`."""
    async with db.unit_of_work() as session:
        job = await core.find(session, job_id)
        if job is None or job.state != JobState.RUNNING.value:
            return []
        # The chunk's queued items, locked, each with where its transcript is now: as
        # rows, written by statement (no ORM objects for the session's flushes to scan).
        transcript, items = models.Transcript, _BATCH_ITEMS
        found = (
            await session.execute(
                select(
                    items.c.id,
                    items.c.transcript_id,
                    transcript.state,
                    transcript.class_id,
                    transcript.school_id,
                )
                .join(transcript, transcript.id == items.c.transcript_id)
                .where(
                    items.c.job_id == job.id,
                    items.c.chunk == chunk,
                    items.c.state == ItemState.QUEUED.value,
                )
                .order_by(items.c.id)
                .with_for_update(skip_locked=True, of=items)
            )
        ).all()
        if not found:
            return []
        role = SignerRole(job.params["role"])
        ready, stale, placed = _still_waiting(found, role)
        if stale:
            await _close_items(
                session,
                stale,
                ItemState.FAILED,
                Code.TRANSCRIPT_STATE.value,
                "Học bạ không còn chờ người ký này (đã ký hoặc đã mở lại).",
            )
        if not ready:
            await core.finish_if_done(session, job, ITEMS)
            return []
        transcripts = [item.transcript_id for item in ready]
        try:
            request = await signing_service.request_signatures(
                session,
                caller=acting_caller(job),
                signing=signing,
                transcript_ids=transcripts,
                role=role,
                # The first one's class and school say who signs.
                signer_personal_id=await _chunk_signer(session, job, placed, role),
                apps_may_name_signers=bool(job.params.get("apps_may_name_signers")),
            )
        except SigningError as error:
            if error.problem.code in PROVIDER_DOWN:
                core.pause(job, error.problem.code.value, error.problem.message)
                return [Next("resume_if_healthy", (job_id,))]
            await _close_items(
                session, ready, ItemState.FAILED, error.problem.code.value, error.problem.message
            )
            await core.finish_if_done(session, job, ITEMS)
            return []
        except HubError as error:
            await _close_items(
                session, ready, ItemState.FAILED, error.problem.code.value, error.problem.message
            )
            await core.finish_if_done(session, job, ITEMS)
            return []
        await session.execute(  # one statement for the chunk, not one a transcript
            update(_BATCH_ITEMS)
            .where(_BATCH_ITEMS.c.id.in_([item.id for item in ready]))
            .values(
                state=ItemState.WAITING.value,
                request_id=request.request_id,
                attempts=_BATCH_ITEMS.c.attempts + 1,
            )
        )
        job.updated_at = datetime.now(UTC)
        first_ask, request_id = first_ask_delay(role, poll_seconds), request.request_id
        if first_ask == 0 and await _finished_at_once(session, signing, job, request_id):
            return []
        return [Next("poll_request", (job_id, request_id), delay_seconds=first_ask)]


async def _finished_at_once(
    session: AsyncSession, signing: SigningServices, job: models.Job, request_id: str
) -> bool:
    """The first ask of a chunk nobody confirms (:func:`first_ask_delay` 0: the seal),
    made by the step that sent it, in its transaction: a seal token signs as the chunk is
    sent, and its signatures are finished from the documents this step read, without a
    message, a transaction and the documents read again. Whether the chunk is closed.

    In a savepoint: when the answer is not there yet (a remote seal) or finishing fails
    (the TSA does not answer), the request stays waiting as it was sent, and the ask
    comes as for any chunk (:func:`poll_request`), which deals with what it meets.
    """
    caller, batch = acting_caller(job), job.id
    try:
        async with session.begin_nested():
            answered = await signing_service.complete_batch_signatures(
                session, caller=caller, signing=signing, request_id=request_id
            )
            if answered.state == signing_service.PENDING:
                return False
            await session.execute(*_closing(batch, answered))
    except HubError as error:
        log.info("signing.finished_later", request=request_id, code=error.problem.code.value)
        return False
    return True


def first_ask_delay(role: SignerRole, poll_seconds: float) -> float:
    """How long after sending a chunk its answer is first asked for: at once for the
    seal, otherwise once a person could have confirmed (:data:`FIRST_ASK_SECONDS`, and
    never later than the asks that follow, ``poll_seconds``)."""
    return 0.0 if role is SignerRole.SCHOOL_SEAL else min(poll_seconds, FIRST_ASK_SECONDS)


def poll_delay(asks: int, poll_seconds: float) -> float:
    """How long to wait before the next ask: soon at first (a quick signer answers in a
    second or two), then every ``poll_seconds``."""
    return min(poll_seconds, 0.5 * 2**asks)


async def poll_request(
    db: Database,
    signing: SigningServices,
    *,
    job_id: str,
    request_id: str,
    poll_seconds: float,
    asks: int = 0,
    stall_seconds: float = 0.0,
) -> list[Next]:
    """Ask the provider once whether the signer answered; if not, ask again later.

    The wait between asks is a delayed message, so no worker thread is held while
    a person looks at their phone; the request's rows, not the message, say what
    is waiting, and the watchdog sends the ask again if a message is lost (an ask
    finding no answer marks the batch's progress as often as the watchdog, looking
    every third of ``stall_seconds``, needs: :func:`core.touch`).
    """
    work = await _poll_once(
        db, signing, job_id=job_id, request_id=request_id, stall_seconds=stall_seconds
    )
    if work is not None:
        await complete_if_done(db, job_id)
        return work
    return [
        Next(
            "poll_request",
            (job_id, request_id, asks + 1),
            delay_seconds=poll_delay(asks, poll_seconds),
        )
    ]


async def _poll_once(
    db: Database,
    signing: SigningServices,
    *,
    job_id: str,
    request_id: str,
    stall_seconds: float = 0.0,
) -> list[Next] | None:
    """Ask the provider once; apply the signatures, or put the items back with the reason.

    None: the signer has not answered yet. The ask comes first, outside any transaction
    (:func:`signing_service.first_answer`): most find no answer yet, and then only the
    batch's progress is written, so that the watchdog does not take a long wait on a
    phone for a stalled batch.
    """
    answer = await signing_service.first_answer(
        db, signing=signing, request_id=request_id, job_id=job_id
    )
    if answer is not None and answer.state is TransactionState.PENDING:
        await core.touch(db, job_id, stall_seconds=stall_seconds)
        return None
    async with db.unit_of_work() as session:
        job = await core.find(session, job_id)
        if job is None:
            return []
        # Writing first takes the items' locks (the whole database's, on SQLite), so a
        # second delivery of this message waits here and then finds nothing WAITING.
        claimed = await core.claim(
            session,
            update(_BATCH_ITEMS)
            .where(
                _BATCH_ITEMS.c.job_id == job.id,
                _BATCH_ITEMS.c.request_id == request_id,
                _BATCH_ITEMS.c.state == ItemState.WAITING.value,
            )
            .values(updated_at=func.now()),
        )
        if not claimed:
            return []
        try:
            # A seal's documents are made long-term by the archive job (module docstring).
            request = await signing_service.complete_batch_signatures(
                session,
                caller=acting_caller(job),
                signing=signing,
                request_id=request_id,
                answer=answer,
            )
        except SigningError as error:
            if error.problem.code not in PROVIDER_DOWN:
                raise
            if job.state == JobState.PAUSED.value:
                return []  # the resume asks again for what is waiting
            if job.state != JobState.RUNNING.value:
                raise  # cancelled: what is on the phone is still finished, on a retry
            core.pause(job, error.problem.code.value, error.problem.message)
            return [Next("resume_if_healthy", (job_id,))]
        if request.state == signing_service.PENDING:
            job.updated_at = datetime.now(UTC)
            return None
        # Each item closes as its transcript's signature ended, in one statement; the
        # batch's progress, and whether that was its last open chunk, are for
        # :func:`complete_if_done` to write once this commits (:func:`poll_request`): asked
        # in here, the answer could miss a chunk closed side by side.
        await session.execute(*_closing(job.id, request))
        return []


def _closing(job: int, request: models.SigningRequest) -> tuple[Update, dict[str, Any]]:
    """The statement closing a batch's items WAITING on ``request``, each as its
    transcript's item in the request ended: SIGNED; RETURNED when the signer refused or
    let it expire (the request's reason); FAILED otherwise (the request's reason, or
    TRANSCRIPT_STATE for a transcript that changed while its signer was asked); with
    its values."""
    return _closing_statement(), {
        "b_job": job,
        "b_request": request.request_id,
        "b_request_pk": request.id,
        "returned_code": request.error_code,
        "returned_reason": request.error_message,
        "failed_code": request.error_code or Code.TRANSCRIPT_STATE.value,
        "failed_reason": request.error_message or "Học bạ đã thay đổi trong lúc chờ ký.",
    }


@functools.cache
def _closing_statement() -> Update:
    """:func:`_closing`'s statement, built once (every chunk's final step runs it)."""
    signed = models.SigningRequestItem
    outcome = (
        select(signed.state)
        .where(
            signed.request_id == bindparam("b_request_pk"),
            signed.transcript_id == _BATCH_ITEMS.c.transcript_id,
        )
        .scalar_subquery()
    )
    is_signed = outcome == signing_service.SIGNED
    returned = outcome.in_((signing_service.REJECTED, signing_service.EXPIRED))

    def reason(returned_value: str, failed_value: str) -> Case[Any]:
        return case(
            (is_signed, None),
            (returned, bindparam(returned_value, type_=String)),
            else_=bindparam(failed_value, type_=String),
        )

    return (
        update(_BATCH_ITEMS)
        .where(
            _BATCH_ITEMS.c.job_id == bindparam("b_job"),
            _BATCH_ITEMS.c.request_id == bindparam("b_request"),
            _BATCH_ITEMS.c.state == ItemState.WAITING.value,
        )
        .values(
            state=case(
                (is_signed, ItemState.SIGNED.value),
                (returned, ItemState.RETURNED.value),
                else_=ItemState.FAILED.value,
            ),
            reason_code=reason("returned_code", "failed_code"),
            reason=reason("returned_reason", "failed_reason"),
        )
    )


async def resume_if_healthy(db: Database, signing: SigningServices, *, job_id: str) -> list[Next]:
    """Continue a batch paused by a provider outage once the provider answers again;
    until then, ask again in :data:`RESUME_CHECK_SECONDS`."""
    return await core.resume_if_healthy(
        db,
        signing,
        job_id=job_id,
        watched=_providers_of,
        resume_job=_resume,
        again=Next("resume_if_healthy", (job_id,), delay_seconds=RESUME_CHECK_SECONDS),
    )


# --- people's controls ---------------------------------------------------------------------------


async def pause(session: AsyncSession, *, caller: Caller, job_id: str) -> models.Job:
    job = await load(session, caller=caller, job_id=job_id, lock=True)
    if job.state == JobState.RUNNING.value:
        core.pause(job, PAUSED_BY_USER, "Đợt ký đang tạm dừng theo yêu cầu.")
    return job


async def resume(session: AsyncSession, *, caller: Caller, job_id: str) -> list[Next]:
    job = await load(session, caller=caller, job_id=job_id, lock=True)
    if job.state != JobState.PAUSED.value:
        return []
    return await _resume(session, job)


async def cancel(session: AsyncSession, *, caller: Caller, job_id: str) -> models.Job:
    """Stop sending; what a signer already confirmed is still finished by its poll."""
    job = await load(session, caller=caller, job_id=job_id, lock=True)
    if not core.cancel(job, "Đợt ký đã bị huỷ."):
        return job
    await session.execute(
        update(models.SigningBatchItem)
        .where(
            models.SigningBatchItem.job_id == job.id,
            models.SigningBatchItem.state == ItemState.QUEUED.value,
        )
        .values(state=ItemState.CANCELLED.value, reason="Đợt ký đã bị huỷ.")
    )
    return job


async def load(
    session: AsyncSession, *, caller: Caller, job_id: str, lock: bool = False
) -> models.Job:
    """The batch, if the caller may sign in its school; ``lock`` holds its row for a control."""
    caller.require("transcripts:sign")
    job = await core.load(session, kind=KIND, job_id=job_id, what="đợt ký", lock_row=lock)
    if not caller.may_write_school(job.school_id or -1):
        raise core.not_found("đợt ký", job_id)
    return job


@dataclass
class Progress:
    counts: dict[str, int]
    waiting_for: list[models.SigningRequest]


async def progress(session: AsyncSession, job: models.Job) -> Progress:
    counts = await core.item_counts(session, job, ITEMS)
    waiting = list(
        await session.scalars(
            select(models.SigningRequest).where(
                models.SigningRequest.request_id.in_(
                    select(models.SigningBatchItem.request_id).where(
                        models.SigningBatchItem.job_id == job.id,
                        models.SigningBatchItem.state == ItemState.WAITING.value,
                    )
                ),
                models.SigningRequest.state == signing_service.PENDING,
            )
        )
    )
    return Progress(counts, waiting)


# --- the watchdog ------------------------------------------------------------------------------


async def stalled_work(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """What batches without progress for ``stall_seconds`` still need: the requests they
    wait on, and their queued chunks unless the broker still holds chunks to send; a
    batch an outage paused, its resume.

    A batch makes no progress while its chunks wait their turn behind other schools'
    (a district's batches are started together): their messages are in the queue, not
    lost, and sending each one again every ``stall_seconds`` only piled no-op copies
    at the queue's end (a district's run: hundreds every round). So queued chunks are
    sent again only once the chunks' queue has run dry (:func:`_chunks_in_queue`) —
    when a lost message (Redis restarted without persistence) is the only reason left.
    An ask after a signer's answer is sent again as before: each ask schedules the
    next, so a lost one is never followed by another.
    """
    backlog = await asyncio.to_thread(_chunks_in_queue)

    async def running(session: AsyncSession, job: models.Job) -> list[Next]:
        work = await _work_left(session, job, queued=not backlog)
        if not work and not backlog:
            await core.finish_if_done(session, job, ITEMS)
        return work

    return await core.resend_stalled(
        runtime.db,
        kind=KIND,
        stall_seconds=stall_seconds,
        running=running,
        paused=core.resume_after_outage("resume_if_healthy"),
    )


# --- helpers -----------------------------------------------------------------------------------


async def _resume(session: AsyncSession, job: models.Job) -> list[Next]:
    core.resume(job)
    return await _work_left(session, job)


async def _work_left(session: AsyncSession, job: models.Job, *, queued: bool = True) -> list[Next]:
    """The messages a batch still needs: its queued chunks (unless not ``queued``) and
    the requests it waits on."""
    chunks = (
        set(
            await session.scalars(
                select(models.SigningBatchItem.chunk).where(
                    models.SigningBatchItem.job_id == job.id,
                    models.SigningBatchItem.state == ItemState.QUEUED.value,
                )
            )
        )
        if queued
        else set()
    )
    requests = set(
        await session.scalars(
            select(models.SigningBatchItem.request_id).where(
                models.SigningBatchItem.job_id == job.id,
                models.SigningBatchItem.state == ItemState.WAITING.value,
            )
        )
    )
    return [Next("send_chunk", (job.job_id, c)) for c in sorted(chunks)] + [
        Next("poll_request", (job.job_id, r)) for r in sorted(r for r in requests if r)
    ]


def _still_waiting(
    items: Sequence[Row[*tuple[Any, ...]]], role: SignerRole
) -> tuple[list[Row[*tuple[Any, ...]]], list[Row[*tuple[Any, ...]]], Placed]:
    """Of the chunk's items as read (each with its transcript's state and place), those
    whose transcripts still wait for ``role``, the others, and where the first one
    still waiting (else the first) is."""
    ready: list[Row[*tuple[Any, ...]]] = []
    stale: list[Row[*tuple[Any, ...]]] = []
    for row in items:
        waits = lifecycle.awaits_signature(TranscriptState(row.state), role)
        (ready if waits else stale).append(row)
    return ready, stale, (ready or items)[0]


def _chunks_in_queue() -> bool:
    """Whether the broker still holds :func:`send_chunk` messages not yet taken: the
    queue's length in Redis, or in the in-process broker. A worker's prefetched
    messages are not counted, so at the queue's very end a few chunks may still be sent
    twice (harmless: a chunk's items are taken once)."""
    broker = dramatiq.get_broker()
    try:
        queue = broker.get_actor("send_chunk").queue_name
    except ActorNotFound:
        return False
    if isinstance(broker, RedisBroker):
        return bool(broker.client.llen(f"{broker.namespace}:{queue}"))
    if isinstance(broker, StubBroker) and queue in broker.queues:
        return not broker.queues[queue].empty()
    return False


async def _providers_of(session: AsyncSession, job: models.Job) -> set[SigningProvider]:
    return set(
        await session.scalars(
            select(models.SigningRequest.provider)
            .join(
                models.SigningBatchItem,
                models.SigningBatchItem.request_id == models.SigningRequest.request_id,
            )
            .where(models.SigningBatchItem.job_id == job.id)
        )
    ) or set(signing_service.ALL_PROVIDERS)


async def complete_if_done(db: Database, job_id: str) -> None:
    """Mark the batch COMPLETED if no item is open any more, after a step committed:
    two steps closing a batch's last chunks side by side each see the other's items
    still open (:func:`hub.jobs.core.complete_if_done`)."""
    await core.complete_if_done(db, job_id, kind=KIND, items=ITEMS)


async def _close_items(
    session: AsyncSession,
    items: Sequence[Row[*tuple[Any, ...]]],
    state: ItemState,
    code: str,
    message: str,
) -> None:
    """One statement for ``items`` (rows with their ``id``) leaving the batch's queue."""
    await session.execute(
        update(_BATCH_ITEMS)
        .where(_BATCH_ITEMS.c.id.in_([item.id for item in items]))
        .values(state=state.value, reason_code=code, reason=message)
    )
