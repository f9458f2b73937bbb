"""The national sync: identities checked at the population database, student records pushed
to the ministry's sector database, sealed transcripts handed to the national transcript store.

A run is a :class:`~hub.db.models.Job` of kind NATIONAL_SYNC that goes through its
phases in order, with where it has got to in ``Job.checkpoint``:

- IDENTITY asks the population database about the students still UNVERIFIED (by
  id, in batches) and writes VERIFIED, MISMATCH or UNKNOWN on them, with a report
  of which fields differ; writing bumps their change version, so this same run
  pushes the result;
- STUDENTS pushes every student whose change version is above what earlier runs
  pushed (``since``) and at most the change counter when the phase began
  (``upper``), oldest first, in batches cut by change version;
- TRANSCRIPTS submits the current SEALED transcripts (or the ones named), by id,
  and publishes each one the store acknowledges (``transcripts.service.publish``: a
  PUBLISHED event carrying the receipt).

**Exactly once at the far side.** Before a batch is sent its range is written to
the checkpoint (``open``), and it is sent under the key ``<run>:<phase>:<batch>``.
A message delivered twice, or a step that died after sending, therefore sends the
same items — or fewer, never others — under the same key, and the far side answers
from its idempotency record without storing anything again. Recording an answer
is guarded by the same ``open`` range in one transaction with the run's row
locked: of two deliveries, one records and the other stops.

**Signed, and who left.** Every batch to the sector database and the transcript store
carries the department's transport signature (:mod:`hub.signing.transport`, made in
the clients); a far side refusing it fails the run (NATIONAL_SIGNATURE_REFUSED), a
signing provider that is down pauses it like a far side that is down, and any other
refusal of the department's key fails it with the provider's code. A pupil who leaves
the province's schools (withdrawn: no school now) is a change like any other, pushed as
a LEFT record (``enrolment``), so the sector database learns of the tombstone.

**Cancelling.** A run can be cancelled whatever it waits for: while a batch is on the
wire the step looks at the run every :data:`CANCEL_POLL_SECONDS` and, once it is
cancelled, drops the request and stops. The far side may still store what reached it;
a later run sends those records again under its own key, and the far side, which keeps
each record by version, acknowledges them without storing them twice.

**Pacing.** One message works through batches for up to ``slice_seconds`` (the
next batch is read from the database while the current one is on the wire), then
hands over to a new message. A far side that is down or failing pauses the run and
the message comes back after an exponentially growing delay; a batch the far side
refuses as a whole (4xx) fails the run. Items it rejects become
:class:`~hub.db.models.SyncDeadLetter` rows, and the run goes on; a later run that gets
an item accepted resolves its letters. Staff send refused items again on purpose with
:func:`retry_dead_letters`: a run of those items alone.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    Row,
    Select,
    String,
    case,
    func,
    insert,
    literal,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import load_only

from hub.adapters.national.errors import FarSideError, System
from hub.adapters.national.protocol import (
    ENROLLED,
    LEFT,
    MAX_STUDENTS,
    MAX_TRANSCRIPTS,
    STUDENT_FIELDS,
    BatchAnswer,
    Refusal,
    Rejection,
    TranscriptSubmission,
    rejection_message,
)
from hub.adapters.national.services import SyncServices
from hub.adapters.population import protocol as population
from hub.adapters.signing.base import SigningError
from hub.auth.access import Caller
from hub.db import models
from hub.db.engine import Database
from hub.db.queries import awaits_publication
from hub.domain.enums import IdentityStatus, OrgLevel
from hub.domain.problems import Code, HubError
from hub.jobs import core
from hub.jobs.core import JobState, Next
from hub.transcripts import service as transcript_service

KIND = "NATIONAL_SYNC"
#: The actor that runs :func:`run` (declared in :data:`hub.jobs.actors.ACTORS`).
ACTOR = "national_sync"
SCOPE = "sync:run"
#: How many identity problems a run's report lists one by one (all are counted).
ISSUES_KEPT = 1_000
#: Serialises starting runs on PostgreSQL (SQLite serialises every writer anyway).
_START_LOCK = 0x5F_6E_61_74
#: How often a step waiting on a far side looks whether its run was cancelled.
CANCEL_POLL_SECONDS = 1.0
#: The ``retry.system`` of a pause while the department's signing provider is down.
DEPARTMENT_SIGNER = "DEPARTMENT_SIGNER"


class Phase(StrEnum):
    IDENTITY = "IDENTITY"
    STUDENTS = "STUDENTS"
    TRANSCRIPTS = "TRANSCRIPTS"


DONE = "DONE"


# A run's states are every job's (:class:`~hub.jobs.core.JobState`): PAUSED while a far
# side is down (the run resumes by itself, ``checkpoint.retry``), FAILED when one refused a
# batch as a whole.


@dataclass(frozen=True)
class SyncOptions:
    """How a run cuts and paces its work; kept in the run's params so every message agrees."""

    student_batch: int = 10_000
    transcript_batch: int = 50
    identity_batch: int = 500
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    slice_seconds: float = 20.0

    def __post_init__(self) -> None:
        if not 0 < self.student_batch <= MAX_STUDENTS:
            raise ValueError(f"student_batch must be 1..{MAX_STUDENTS}")
        if not 0 < self.transcript_batch <= MAX_TRANSCRIPTS:
            raise ValueError(f"transcript_batch must be 1..{MAX_TRANSCRIPTS}")
        if not 0 < self.identity_batch <= population.MAX_REQUESTS:
            raise ValueError(f"identity_batch must be 1..{population.MAX_REQUESTS}")

    @classmethod
    def of(cls, params: dict[str, Any]) -> SyncOptions:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in params.get("options", {}).items() if k in names})

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait before the ``attempt``-th try: doubling, up to the maximum."""
        return float(min(self.retry_base_seconds * 2 ** (attempt - 1), self.retry_max_seconds))


# --- starting, stopping, looking --------------------------------------------------------------


def require_department(caller: Caller) -> None:
    """A national sync is the department's business: department-wide clients with sync:run."""
    caller.require(SCOPE)
    if not caller.department_wide:
        raise HubError(Code.FORBIDDEN, scope=f"{SCOPE}, chỉ ứng dụng cấp Sở")


async def start_sync(
    session: AsyncSession,
    *,
    caller: Caller,
    phases: Sequence[Phase] = tuple(Phase),
    transcript_ids: Sequence[int] | None = None,
    retry: Retry | None = None,
    options: SyncOptions | None = None,
) -> tuple[models.Job, list[Next]]:
    """Open a run (one at a time) continuing from where earlier runs got to; with
    ``retry``, a run of the items an earlier run could not deliver (:class:`Retry`)."""
    require_department(caller)
    chosen = [phase.value for phase in Phase if phase in set(phases)]
    if not chosen:
        raise HubError(Code.INVALID_ARGUMENT, detail="cần ít nhất một phần việc để đồng bộ")
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _START_LOCK})
    # Written first, which takes the write lock (SQLite): the check below then sees all runs.
    job = await core.create(
        session,
        kind=KIND,
        client_id=caller.client_id,
        params={
            "phases": chosen,
            "transcript_ids": sorted(set(transcript_ids)) if transcript_ids else None,
            "retry_of": None if retry is None else asdict(retry),
            "options": asdict(options or SyncOptions()),
        },
        checkpoint={},
    )
    busy = await session.scalar(
        select(models.Job.job_id).where(
            models.Job.kind == KIND, models.Job.state.in_(core.OPEN), models.Job.id != job.id
        )
    )
    if busy:
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail=f"lượt đồng bộ {busy} chưa xong; chờ lượt đó kết thúc hoặc huỷ nó trước",
        )
    # A retry goes through every change version, sending only the items it retries; so a
    # run continues from the latest run that was not a retry.
    since = 0
    if retry is None:
        earlier = await session.execute(
            select(models.Job.params, models.Job.checkpoint)
            .where(models.Job.kind == KIND, models.Job.id != job.id)
            .order_by(models.Job.id.desc())
            .limit(50)
        )
        since = max(
            [
                int(checkpoint.get("students", {}).get("after", 0))
                for params, checkpoint in earlier.all()
                if not params.get("retry_of")
            ],
            default=0,
        )
    identity_total = (
        await session.scalar(select(func.count()).where(*_unverified())) or 0
        if Phase.IDENTITY.value in chosen
        else 0
    )
    transcripts_total = (
        await session.scalar(select(func.count()).where(*_sealed(job.params))) or 0
        if Phase.TRANSCRIPTS.value in chosen
        else 0
    )
    job.checkpoint = {
        "phase": chosen[0],
        "retry": None,
        "identity": {
            "total": identity_total,
            "after_id": 0,
            "checked": 0,
            "verified": 0,
            "mismatched": 0,
            "unknown": 0,
            "by_field": {},
            "issues": [],
        },
        "students": {
            "since": since,
            "upper": None,
            "total": None,
            "after": since,
            "open": None,
            "next_batch": 0,
            "sent": 0,
            "accepted": 0,
            "rejected": 0,
        },
        "transcripts": {
            "total": transcripts_total,
            "after_id": 0,
            "open": None,
            "next_batch": 0,
            "sent": 0,
            "published": 0,
            "rejected": 0,
        },
    }
    job.total = identity_total + transcripts_total
    return job, [Next(ACTOR, (job.job_id,))]


async def cancel_sync(session: AsyncSession, *, caller: Caller, job_id: str) -> models.Job:
    """Stop a run; what the far sides already acknowledged stays recorded."""
    job = await load_run(session, caller=caller, job_id=job_id, lock=True)
    core.cancel(job, "Lượt đồng bộ đã bị huỷ.")
    return job


async def load_run(
    session: AsyncSession, *, caller: Caller, job_id: str, lock: bool = False
) -> models.Job:
    """The run, for the department; ``lock`` holds its row for a control."""
    require_department(caller)
    return await core.load(session, kind=KIND, job_id=job_id, what="lượt đồng bộ", lock_row=lock)


async def recent_runs(session: AsyncSession, *, caller: Caller, first: int) -> list[models.Job]:
    require_department(caller)
    return list(
        await session.scalars(
            select(models.Job)
            .where(models.Job.kind == KIND)
            .order_by(models.Job.id.desc())
            .limit(max(1, min(first, 100)))
        )
    )


async def dead_letter_counts(session: AsyncSession, job_ids: Sequence[int]) -> dict[int, int]:
    """How many items each run could not deliver (resolved later or not)."""
    tallies = await dead_letter_tallies(session, job_ids)
    return {job_id: refused for job_id, (refused, _) in tallies.items()}


async def dead_letter_tallies(
    session: AsyncSession, job_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """For each run, how many items it could not deliver and how many of those no later
    run has delivered yet (one query)."""
    letter = models.SyncDeadLetter
    still_open = func.count(case((letter.resolved_at.is_(None), letter.id)))
    rows = await session.execute(
        select(letter.job_id, func.count(), still_open)
        .where(letter.job_id.in_(list(job_ids)))
        .group_by(letter.job_id)
    )
    return {job_id: (refused, left) for job_id, refused, left in rows.all()}


async def dead_letters(
    session: AsyncSession,
    *,
    caller: Caller,
    job_id: str,
    first: int = 100,
    after_id: int = 0,
    open_only: bool = False,
) -> list[models.SyncDeadLetter]:
    job = await load_run(session, caller=caller, job_id=job_id)
    return await letters_of(session, job, first=first, after_id=after_id, open_only=open_only)


async def letters_of(
    session: AsyncSession,
    job: models.Job,
    *,
    first: int = 100,
    after_id: int = 0,
    open_only: bool = False,
) -> list[models.SyncDeadLetter]:
    """The refused items of a run already loaded (:func:`load_run`), in order, after
    ``after_id`` (``open_only``: those no later run delivered yet)."""
    letter = models.SyncDeadLetter
    query = select(letter).where(letter.job_id == job.id, letter.id > after_id)
    if open_only:
        query = query.where(letter.resolved_at.is_(None))
    return list(await session.scalars(query.order_by(letter.id).limit(max(1, min(first, 1000)))))


async def dead_letter(
    session: AsyncSession, *, caller: Caller, letter_id: int
) -> tuple[models.SyncDeadLetter, models.Job]:
    """One refused item and the run that met it, for the department."""
    require_department(caller)
    found = (
        await session.execute(
            select(models.SyncDeadLetter, models.Job)
            .join(models.Job, models.Job.id == models.SyncDeadLetter.job_id)
            .where(models.SyncDeadLetter.id == letter_id)
        )
    ).one_or_none()
    if found is None:
        raise HubError(Code.INVALID_ARGUMENT, detail=f"không có bản ghi bị từ chối số {letter_id}")
    return found[0], found[1]


async def refusals_of_item(
    session: AsyncSession, letter: models.SyncDeadLetter
) -> list[tuple[models.SyncDeadLetter, str]]:
    """Every refusal of the same item by the same system, oldest first, each with its
    run's id: the item's history of attempts."""
    row = models.SyncDeadLetter
    found = await session.execute(
        select(row, models.Job.job_id)
        .join(models.Job, models.Job.id == row.job_id)
        .where(row.target == letter.target, row.entity_id == letter.entity_id)
        .order_by(row.id)
    )
    return [(refusal, job_id) for refusal, job_id in found.all()]


async def attempts(
    session: AsyncSession, letters: Sequence[models.SyncDeadLetter]
) -> dict[int, int]:
    """How many times each letter's item has been refused in a row: its own refusal and
    every later one, up to the run that delivered it (or up to now, while none has).

    A delivery resolves every open letter of the item at once, with one time, so the
    refusals of one stretch are those resolved at the same moment (or all still open).
    """
    if not letters:
        return {}
    row = models.SyncDeadLetter
    found = await session.execute(
        select(row.id, row.target, row.entity_id, row.resolved_at).where(
            row.entity_id.in_(sorted({letter.entity_id for letter in letters}))
        )
    )
    stretches: dict[tuple[str, int, datetime | None], list[int]] = {}
    for refusal_id, target, entity_id, resolved_at in found.all():
        stretches.setdefault((target, entity_id, resolved_at), []).append(refusal_id)
    return {
        letter.id: sum(
            1
            for other in stretches.get((letter.target, letter.entity_id, letter.resolved_at), [])
            if other >= letter.id
        )
        for letter in letters
    }


@dataclass(frozen=True)
class Retry:
    """What a retry run sends: the items run ``run_id`` (row ``job``) could not deliver
    and no run has delivered since — of its letters ``letter_ids`` only, when named.

    Which items those are is asked again at every batch (:func:`_retried`): an item
    another run delivered meanwhile is not sent twice, and a run of a whole province's
    refusals carries no list of them.
    """

    job: int
    run_id: str
    letter_ids: list[int] | None = None


def _retried(params: dict[str, Any], model: Any, entity: str) -> list[Any]:
    """For a retry run, the condition that a row of ``model`` is one of its items."""
    retry = params.get("retry_of")
    if not retry:
        return []
    letter = models.SyncDeadLetter
    waiting = select(letter.entity_id).where(
        letter.job_id == retry["job"], letter.entity == entity, letter.resolved_at.is_(None)
    )
    if retry["letter_ids"]:
        waiting = waiting.where(letter.id.in_(retry["letter_ids"]))
    return [model.id.in_(waiting)]


async def retry_dead_letters(
    session: AsyncSession,
    *,
    caller: Caller,
    job_id: str,
    letter_ids: Sequence[int] | None = None,
    options: SyncOptions | None = None,
) -> tuple[models.Job, list[Next]]:
    """Send again what the national systems refused in run ``job_id`` and no later run
    delivered: the letters named, or all of the run's still open.

    The items go in a run of their own (:func:`start_sync` with a :class:`Retry`), so
    they are sent, answered and recorded as any run's are: an item now accepted resolves
    its letters, one refused again is a letter of the new run (:func:`attempts` counts
    them).
    """
    job = await load_run(session, caller=caller, job_id=job_id)
    letter = models.SyncDeadLetter
    query = select(letter.entity).where(letter.job_id == job.id, letter.resolved_at.is_(None))
    if letter_ids is not None:
        query = query.where(letter.id.in_(list(letter_ids)))
    entities = set(await session.scalars(query.distinct()))
    if not entities:
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail="không còn bản ghi nào chờ gửi lại: các bản ghi đã được gửi thành công",
        )
    phases = [
        phase
        for phase, entity in ((Phase.STUDENTS, "student"), (Phase.TRANSCRIPTS, "transcript"))
        if entity in entities
    ]
    chosen = None if letter_ids is None else sorted(set(letter_ids))
    return await start_sync(
        session,
        caller=caller,
        phases=phases,
        retry=Retry(job=job.id, run_id=job.job_id, letter_ids=chosen),
        options=options,
    )


async def mismatched_fields(
    session: AsyncSession, student_ids: Sequence[int], *, runs: int = 20
) -> dict[int, list[str]]:
    """The fields (``fullName``, ``birthDate``) the population database last said differ,
    for those of ``student_ids`` the latest ``runs`` runs' identity reports name (each
    keeps :data:`ISSUES_KEPT`). The caller has already decided it may see these pupils."""
    wanted = set(student_ids)
    found: dict[int, list[str]] = {}
    if not wanted:
        return found
    checkpoints = await session.scalars(
        select(models.Job.checkpoint)
        .where(models.Job.kind == KIND)
        .order_by(models.Job.id.desc())
        .limit(runs)
    )
    for checkpoint in checkpoints:
        for issue in (checkpoint or {}).get("identity", {}).get("issues", []):
            student = issue.get("studentId")
            if student in wanted and student not in found:
                found[student] = list(issue.get("fields", []))
    return found


@dataclass(frozen=True)
class Progress:
    done: int
    total: int


def progress(job: models.Job) -> Progress:
    """Items handled so far out of those known (the students' count is known once their
    phase begins, so the total may grow once)."""
    checkpoint = job.checkpoint or {}
    identity = checkpoint.get("identity", {})
    students = checkpoint.get("students", {})
    transcripts = checkpoint.get("transcripts", {})
    done = identity.get("checked", 0) + students.get("sent", 0) + transcripts.get("sent", 0)
    return Progress(done, max(job.total, done))


# --- the step the actor runs -------------------------------------------------------------------


class _Outcome(StrEnum):
    PHASE_DONE = "PHASE_DONE"
    SLICE_OVER = "SLICE_OVER"  # time to hand over to a fresh message
    STOPPED = "STOPPED"  # the run ended, or another delivery of this message moved it on


@dataclass
class _Run:
    """A run as read with its row locked."""

    id: int
    job_id: str
    state: str
    client_id: str
    params: dict[str, Any]
    checkpoint: dict[str, Any]


async def run(db: Database, services: SyncServices, *, job_id: str) -> list[Next]:
    """Work on a run for one slice; the messages to send when the slice ends."""
    async with db.unit_of_work() as session:
        current = await _claim(session, job_id, wake=True)
        if current is None:
            return []
        if current.state == JobState.PAUSED.value:
            await session.execute(
                update(models.Job)
                .where(models.Job.id == current.id)
                .values(state=JobState.RUNNING.value, reason_code=None, reason=None)
            )
    options = SyncOptions.of(current.params)
    deadline = time.monotonic() + options.slice_seconds
    phase = current.checkpoint["phase"]
    steps: dict[str, Callable[..., Awaitable[_Outcome]]] = {
        Phase.IDENTITY: _verify_identities,
        Phase.STUDENTS: _push_students,
        Phase.TRANSCRIPTS: _submit_transcripts,
    }
    try:
        while phase != DONE:
            outcome = await steps[phase](db, services, job_id, options, deadline)
            if outcome is _Outcome.STOPPED:
                return []
            if outcome is _Outcome.SLICE_OVER:
                return [Next(ACTOR, (job_id,))]
            phase = _next_phase(current.params, phase)
    except _RunEnded:
        return []
    except FarSideError as error:
        return await _wait_or_fail(db, job_id, _Stop.of_far_side(error), options)
    except SigningError as error:
        return await _wait_or_fail(db, job_id, _Stop.of_signer(error), options)
    return []


@dataclass(frozen=True)
class _Stop:
    """Why a slice could not go on: a far side's failure or the department's signer's."""

    code: str
    message: str
    retryable: bool
    system: str
    detail: str

    @classmethod
    def of_far_side(cls, error: FarSideError) -> _Stop:
        return cls(
            error.code.value, error.message, error.retryable, error.system.value, error.detail
        )

    @classmethod
    def of_signer(cls, error: SigningError) -> _Stop:
        """A provider that is down is waited out; any other refusal of the department's key
        (revoked, expired, not found, bad credentials) needs staff."""
        code = error.problem.code
        return cls(
            code.value,
            error.problem.message,
            code in core.PROVIDER_DOWN,
            DEPARTMENT_SIGNER,
            error.detail,
        )


class _RunEnded(Exception):
    """The run was cancelled (or ended otherwise) while a step waited on a far side."""


async def _unless_ended(db: Database, job_id: str, waiting: Awaitable[T]) -> T:
    """``waiting``'s result, or :class:`_RunEnded` as soon as the run is no longer open:
    a far side that does not answer cannot keep a cancelled run (and its worker) waiting
    until the request times out."""
    task = asyncio.ensure_future(waiting)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=CANCEL_POLL_SECONDS)
            if done:
                return task.result()
            async with db.engine.connect() as connection:
                state = await connection.scalar(
                    select(models.Job.state).where(models.Job.job_id == job_id)
                )
            if state not in core.OPEN:
                raise _RunEnded(job_id)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _wait_or_fail(db: Database, job_id: str, stop: _Stop, options: SyncOptions) -> list[Next]:
    """Pause the run and come back later (doubling the wait), or fail it for staff to see."""
    async with db.unit_of_work() as session:
        current = await _claim(session, job_id)
        if current is None:
            return []
        if not stop.retryable:
            await _save(
                session,
                current,
                state=JobState.FAILED.value,
                reason_code=stop.code,
                reason=stop.message,
                finished_at=_now(),
            )
            return []
        attempt = int((current.checkpoint.get("retry") or {}).get("attempt", 0)) + 1
        delay = options.retry_delay(attempt)
        current.checkpoint["retry"] = {
            "attempt": attempt,
            "at": time.time() + delay,
            "system": stop.system,
            "detail": stop.detail[:300],
        }
        await _save(
            session,
            current,
            state=JobState.PAUSED.value,
            reason_code=stop.code,
            reason=f"{stop.message} Lần thử {attempt}; thử lại sau {delay:g} giây.",
        )
    return [Next(ACTOR, (job_id,), delay)]


# --- phase IDENTITY ------------------------------------------------------------------------------

_IDENTITY_OUTCOMES = {
    population.MATCHED: IdentityStatus.VERIFIED,
    population.MISMATCHED: IdentityStatus.MISMATCH,
    population.UNKNOWN: IdentityStatus.UNKNOWN,
}


def _unverified() -> list[Any]:
    return [
        models.Student.identity_status == IdentityStatus.UNVERIFIED,
        models.Student.personal_id.is_not(None),
    ]


async def _verify_identities(
    db: Database, services: SyncServices, job_id: str, options: SyncOptions, deadline: float
) -> _Outcome:
    student = models.Student
    while True:
        async with db.unit_of_work() as session:
            current = await _claim(session, job_id)
            if current is None:
                return _Outcome.STOPPED
            after = current.checkpoint["identity"]["after_id"]
            asked = (
                await session.execute(
                    select(student.id, student.personal_id, student.full_name, student.birth_date)
                    .where(*_unverified(), student.id > after)
                    .order_by(student.id)
                    .limit(options.identity_batch)
                )
            ).all()
            if not asked:
                _finish_phase(current, Phase.IDENTITY)
                await _save(session, current, **_state_after(current))
                return _Outcome.PHASE_DONE
        answers = await _unless_ended(
            db,
            job_id,
            services.population.verify(
                [
                    {
                        "ref": str(row.id),
                        "personalId": row.personal_id,
                        "fullName": row.full_name,
                        "birthDate": row.birth_date.isoformat() if row.birth_date else None,
                    }
                    for row in asked
                ]
            ),
        )
        async with db.unit_of_work() as session:
            current = await _claim(session, job_id)
            if current is None or current.checkpoint["identity"]["after_id"] != after:
                return _Outcome.STOPPED
            await _record_identities(session, current, asked, answers)
            await _save(session, current)
        if time.monotonic() > deadline:
            return _Outcome.SLICE_OVER


async def _record_identities(
    session: AsyncSession,
    current: _Run,
    asked: Sequence[Row[*tuple[Any, ...]]],
    answers: dict[str, population.IdentityResult],
) -> None:
    """Write each answer on its student, unless the student changed since it was asked."""
    report = current.checkpoint["identity"]
    sent = {row.id: row for row in asked}
    students = await session.scalars(
        select(models.Student)
        .where(models.Student.id.in_(list(sent)), *_unverified())
        .with_for_update()
    )
    now = _now()
    for student in students:
        row = sent[student.id]
        answer = answers.get(str(student.id))
        unchanged = (student.personal_id, student.full_name, student.birth_date) == (
            row.personal_id,
            row.full_name,
            row.birth_date,
        )
        if answer is None or answer["result"] not in _IDENTITY_OUTCOMES or not unchanged:
            continue
        status = _IDENTITY_OUTCOMES[answer["result"]]
        student.identity_status, student.identity_verified_at = status, now
        if status is IdentityStatus.VERIFIED:
            report["verified"] += 1
            continue
        report["mismatched" if status is IdentityStatus.MISMATCH else "unknown"] += 1
        for name in answer.get("fields", []):
            report["by_field"][name] = report["by_field"].get(name, 0) + 1
        if len(report["issues"]) < ISSUES_KEPT:
            report["issues"].append(
                {"studentId": student.id, "result": status.value, "fields": answer["fields"]}
            )
    report["checked"] += len(asked)
    report["after_id"] = asked[-1].id
    current.checkpoint["retry"] = None


# --- phase STUDENTS ------------------------------------------------------------------------------

#: A student as the sector database takes them (``STUDENT_FIELDS``), read straight into the
#: batch: no object per row on the hot path, the enums as their stored text.
_STUDENT_ROW = (
    models.Student.personal_id,
    models.Student.moet_code,
    models.Student.full_name,
    models.Student.birth_date,
    type_coerce(models.Student.sex, String),
    models.Student.ethnicity,
    models.School.moet_code,
    type_coerce(models.Student.identity_status, String),
    models.Student.change_version,
    case((models.Student.school_id.is_(None), literal(LEFT)), else_=literal(ENROLLED)),
    models.Student.id,
)
_VERSION = STUDENT_FIELDS.index("version")


def _students_in(params: dict[str, Any], after: int, through: int) -> list[Any]:
    """Students with ``after < change_version <= through`` (a retry's items only)."""
    version = models.Student.change_version
    return [version > after, version <= through, *_retried(params, models.Student, "student")]


async def _student_rows(
    connection: AsyncConnection,
    *,
    params: dict[str, Any],
    after: int,
    through: int,
    limit: int | None,
) -> Sequence[Row[*tuple[Any, ...]]]:
    """The run's students in the range (:func:`_students_in`), oldest change first; a pupil
    at no school now (withdrawn, moved away) too, as LEFT."""
    query = (
        select(*_STUDENT_ROW)
        .outerjoin(models.School, models.School.id == models.Student.school_id)
        .where(*_students_in(params, after, through))
        .order_by(models.Student.change_version)
    )
    return await _rows(connection, query if limit is None else query.limit(limit))


async def _rows(connection: AsyncConnection, query: Select[*tuple[Any, ...]]) -> Sequence[Any]:
    """The rows of ``query`` in the connection's transaction, as cheaply as the database allows.

    On PostgreSQL psycopg runs the compiled statement itself and its plain tuples go
    straight into the batch's JSON: half the CPU of SQLAlchemy's result rows, on the
    path every student of the province takes.
    """
    if connection.dialect.name != "postgresql":
        return (await connection.execute(query)).all()
    # IN lists (a retry's letters) rendered as plain parameters: the raw cursor cannot expand.
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    raw = await connection.get_raw_connection()
    cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]  # None only once closed
    try:
        await cursor.execute(compiled.string, compiled.params)
        return await cursor.fetchall()
    finally:
        await cursor.close()


@dataclass
class _Items:
    """One batch as sent, and where in its rows recording the answer finds what it needs."""

    payload: Sequence[Any]
    sent: Sequence[Row[*tuple[Any, ...]]]  # the rows sent, in order
    unsendable: Sequence[Row[*tuple[Any, ...]]]  # the rows that could not be sent: no personal ID
    key: int  # positions in a row: the item's key at the far side,
    entity_id: int  # the hub's id,
    version: int  # the version sent

    @property
    def count(self) -> int:
        return len(self.sent) + len(self.unsendable)


def _student_items(rows: Sequence[Row[*tuple[Any, ...]]]) -> _Items:
    positions = {"key": 0, "entity_id": len(STUDENT_FIELDS) - 1, "version": _VERSION}
    if all(row[0] is not None for row in rows):
        return _Items(rows, rows, [], **positions)
    sent = [row for row in rows if row[0] is not None]
    return _Items(sent, sent, [row for row in rows if row[0] is None], **positions)


async def _push_students(
    db: Database, services: SyncServices, job_id: str, options: SyncOptions, deadline: float
) -> _Outcome:
    async with db.unit_of_work() as session:
        current = await _claim(session, job_id)
        if current is None:
            return _Outcome.STOPPED
        state = current.checkpoint["students"]
        params = current.params
        if state["upper"] is None:  # the phase begins: fix its range
            upper: int = await session.scalar(select(models.ChangeCounter.value)) or 0
            state["upper"] = upper
            state["total"] = await session.scalar(
                select(func.count()).where(*_students_in(params, state["after"], upper))
            )
        if state["open"] is None:
            rows = await _student_rows(
                await session.connection(),
                params=params,
                after=state["after"],
                through=state["upper"],
                limit=options.student_batch,
            )
            if not rows:
                _finish_phase(current, Phase.STUDENTS)
                await _save(session, current, **_state_after(current))
                return _Outcome.PHASE_DONE
            state["open"] = _open(state["next_batch"], rows[-1][_VERSION])
        else:  # sent before, answer not recorded: the same range again, under the same key
            rows = await _student_rows(
                await session.connection(),
                params=params,
                after=state["after"],
                through=state["open"]["through"],
                limit=None,
            )
        await _save(session, current, **_total(current))
        letters_open = await _open_letters(session, System.SECTOR_DATABASE)
    upper, batch, through = state["upper"], state["open"]["batch"], state["open"]["through"]
    # The next batch is read on a connection of its own while the current one is on the wire.
    async with db.engine.connect() as reader:
        while True:
            key = batch_key(job_id, Phase.STUDENTS, batch)
            items = _student_items(rows)
            sending = (
                _unless_ended(db, job_id, services.sector.upsert_students(key, items.payload))
                if items.payload
                else None
            )
            answer, following = await _together(
                sending,
                _read(
                    reader,
                    _student_rows,
                    params=params,
                    after=through,
                    through=upper,
                    limit=options.student_batch,
                ),
            )
            async with db.unit_of_work() as session:
                current = await _claim(session, job_id)
                state = current.checkpoint["students"] if current else None
                if current is None or state is None or state["open"] != _open(batch, through):
                    return _Outcome.STOPPED
                recorded = await _record_answer(
                    session,
                    current,
                    target=System.SECTOR_DATABASE,
                    entity="student",
                    key=key,
                    items=items,
                    answer=answer,
                    letters_open=letters_open,
                )
                state["accepted"] += recorded.accepted
                state["sent"] += items.count
                state["rejected"] += items.count - recorded.accepted
                state["after"], state["next_batch"] = through, batch + 1
                if following:
                    state["open"] = _open(batch + 1, following[-1][_VERSION])
                else:
                    state["open"] = None
                    _finish_phase(current, Phase.STUDENTS)
                await _save(session, current, **_state_after(current))
            if not following:
                return _Outcome.PHASE_DONE
            if time.monotonic() > deadline:
                return _Outcome.SLICE_OVER
            rows, batch, through = following, batch + 1, following[-1][_VERSION]


# --- phase TRANSCRIPTS ---------------------------------------------------------------------------


def _sealed(params: dict[str, Any]) -> list[Any]:
    """The run's transcripts: those awaiting publication (of the ones named, or a
    retry's items)."""
    conditions = [awaits_publication(), *_retried(params, models.Transcript, "transcript")]
    if ids := params.get("transcript_ids"):
        conditions.append(models.Transcript.id.in_(list(ids)))
    return conditions


async def _transcript_rows(
    connection: AsyncConnection,
    *,
    params: dict[str, Any],
    after: int,
    through: int | None,
    limit: int | None,
) -> Sequence[Row[*tuple[Any, ...]]]:
    transcript = models.Transcript
    query = (
        select(
            transcript.id,
            transcript.document_id,
            transcript.version,
            transcript.xml,
            transcript.pdf,
            transcript.xml_sha256,
            models.Student.personal_id,
            models.School.moet_code,
            models.SchoolYear.code,
        )
        .join(models.Student, models.Student.id == transcript.student_id)
        .join(models.School, models.School.id == transcript.school_id)
        .join(models.SchoolYear, models.SchoolYear.id == transcript.school_year_id)
        .where(*_sealed(params), transcript.id > after)
        .order_by(transcript.id)
    )
    if through is not None:
        query = query.where(transcript.id <= through)
    return (await connection.execute(query if limit is None else query.limit(limit))).all()


def _transcript_items(rows: Sequence[Row[*tuple[Any, ...]]]) -> _Items:
    payload: list[TranscriptSubmission] = []
    sent, unsendable = [], []
    for row in rows:
        _, document_id, version, xml, pdf, sha, personal_id, moet, year = row
        if personal_id is None:
            unsendable.append(row)
            continue
        payload.append(
            {
                "documentId": document_id,
                "version": version,
                "personalId": personal_id,
                "schoolCode": moet,
                "schoolYear": year,
                "xmlSha256": sha,
                "xml": base64.b64encode(xml).decode("ascii"),
                "pdf": base64.b64encode(pdf).decode("ascii"),
            }
        )
        sent.append(row)
    return _Items(payload, sent, unsendable, key=1, entity_id=0, version=2)


async def _submit_transcripts(
    db: Database, services: SyncServices, job_id: str, options: SyncOptions, deadline: float
) -> _Outcome:
    async with db.unit_of_work() as session:
        current = await _claim(session, job_id)
        if current is None:
            return _Outcome.STOPPED
        params = current.params
        state = current.checkpoint["transcripts"]
        if state["open"] is None:
            rows = await _transcript_rows(
                await session.connection(),
                params=params,
                after=state["after_id"],
                through=None,
                limit=options.transcript_batch,
            )
            if not rows:
                _finish_phase(current, Phase.TRANSCRIPTS)
                await _save(session, current, **_state_after(current))
                return _Outcome.PHASE_DONE
            state["open"] = _open(state["next_batch"], rows[-1].id)
        else:
            rows = await _transcript_rows(
                await session.connection(),
                params=params,
                after=state["after_id"],
                through=state["open"]["through"],
                limit=None,
            )
        await _save(session, current)
        letters_open = await _open_letters(session, System.TRANSCRIPT_STORE)
    batch, through = state["open"]["batch"], state["open"]["through"]
    caller = _run_caller(current)
    async with db.engine.connect() as reader:
        while True:
            key = batch_key(job_id, Phase.TRANSCRIPTS, batch)
            items = _transcript_items(rows)
            sending = (
                _unless_ended(db, job_id, services.store.submit_transcripts(key, items.payload))
                if items.payload
                else None
            )
            answer, following = await _together(
                sending,
                _read(
                    reader,
                    _transcript_rows,
                    params=params,
                    after=through,
                    through=None,
                    limit=options.transcript_batch,
                ),
            )
            async with db.unit_of_work() as session:
                current = await _claim(session, job_id)
                state = current.checkpoint["transcripts"] if current else None
                if current is None or state is None or state["open"] != _open(batch, through):
                    return _Outcome.STOPPED
                recorded = await _record_answer(
                    session,
                    current,
                    target=System.TRANSCRIPT_STORE,
                    entity="transcript",
                    key=key,
                    items=items,
                    answer=answer,
                    letters_open=letters_open,
                    with_acks=True,
                )
                state["published"] += await _publish(session, caller, recorded.acks)
                state["sent"] += items.count
                state["rejected"] += items.count - recorded.accepted
                state["after_id"], state["next_batch"] = through, batch + 1
                if following:
                    state["open"] = _open(batch + 1, following[-1].id)
                else:
                    state["open"] = None
                    _finish_phase(current, Phase.TRANSCRIPTS)
                await _save(session, current, **_state_after(current))
            if not following:
                return _Outcome.PHASE_DONE
            if time.monotonic() > deadline:
                return _Outcome.SLICE_OVER
            rows, batch, through = following, batch + 1, following[-1].id


async def _publish(session: AsyncSession, caller: Caller, accepted: dict[int, str]) -> int:
    """Mark the acknowledged transcripts PUBLISHED, each with the store's receipt."""
    if not accepted:
        return 0
    transcripts = await session.scalars(
        select(models.Transcript)
        .options(load_only(models.Transcript.id, models.Transcript.state))
        .where(models.Transcript.id.in_(list(accepted)))
        .order_by(models.Transcript.id)
        .with_for_update()
    )
    published = 0
    for transcript in transcripts:
        if await transcript_service.publish(
            session, caller=caller, transcript=transcript, receipt=accepted[transcript.id]
        ):
            published += 1
    return published


# --- what every batch shares ---------------------------------------------------------------------


def batch_key(job_id: str, phase: Phase, batch: int) -> str:
    """The idempotency key of a batch: the same run, phase and number, the same key."""
    return f"{job_id}:{phase.value.lower()}:{batch}"


@dataclass
class _Recorded:
    accepted: int
    acks: dict[int, str]  # the accepted rows' ids → acknowledgement ids, when asked for


async def _record_answer(
    session: AsyncSession,
    current: _Run,
    *,
    target: System,
    entity: str,
    key: str,
    items: _Items,
    answer: BatchAnswer | None,
    letters_open: bool,
    with_acks: bool = False,
) -> _Recorded:
    """Dead letters for what was refused, letters resolved for what now went through."""
    acknowledged = answer.accepted if answer else {}
    refused = answer.rejected if answer else {}
    at_key, at_id = items.key, items.entity_id
    missing = [row for row in items.sent if row[at_key] not in acknowledged]
    accepted = len(items.sent) - len(missing)
    acks = {}
    if with_acks or (letters_open and accepted):
        acks = {
            row[at_id]: acknowledged[row[at_key]]
            for row in items.sent
            if row[at_key] in acknowledged
        }
    not_acknowledged = Refusal(
        Rejection.NOT_ACKNOWLEDGED, rejection_message(Rejection.NOT_ACKNOWLEDGED)
    )
    no_id = Refusal(Rejection.PERSONAL_ID_MISSING, rejection_message(Rejection.PERSONAL_ID_MISSING))
    refusals = [(row, no_id) for row in items.unsendable] + [
        (row, refused.get(row[at_key], not_acknowledged)) for row in missing
    ]
    if refusals:
        schools = await _schools_of(session, entity, [row[at_id] for row, _ in refusals])
        await session.execute(
            insert(models.SyncDeadLetter),
            [
                {
                    "job_id": current.id,
                    "target": target.value,
                    "entity": entity,
                    "entity_id": row[at_id],
                    "natural_key": row[at_key],
                    "item_version": row[items.version],
                    "school_id": schools.get(row[at_id]),
                    "batch_key": key,
                    "code": refusal.code[:40],
                    "message": refusal.message,
                }
                for row, refusal in refusals
            ],
        )
    if letters_open and acks:
        letter = models.SyncDeadLetter
        await session.execute(
            update(letter)
            .where(
                letter.target == target.value,
                letter.entity_id.in_(list(acks)),
                letter.resolved_at.is_(None),
            )
            .values(resolved_at=_now())
        )
    current.checkpoint["retry"] = None
    return _Recorded(accepted, acks if with_acks else {})


async def _schools_of(session: AsyncSession, entity: str, ids: list[int]) -> dict[int, int | None]:
    """Each entity's school; None for a student who attends no school now."""
    model = models.Student if entity == "student" else models.Transcript
    rows = await session.execute(select(model.id, model.school_id).where(model.id.in_(ids)))
    return {entity_id: school for entity_id, school in rows.all()}


async def _claim(session: AsyncSession, job_id: str, *, wake: bool = False) -> _Run | None:
    """Lock the run's row (SQLite: the database) and read it, if it is still running.

    Writing first is what takes the lock, so a second delivery of a message waits
    here and then reads what the first one recorded. ``wake`` also claims a run
    paused for a far side (the delayed message that retries it).
    """
    states = core.OPEN if wake else (JobState.RUNNING.value,)
    claimed = await core.claim(
        session,
        update(models.Job)
        .where(models.Job.job_id == job_id, models.Job.kind == KIND, models.Job.state.in_(states))
        .values(updated_at=_now()),
    )
    if not claimed:
        return None
    job = models.Job
    row = (
        await session.execute(
            select(job.id, job.state, job.client_id, job.params, job.checkpoint).where(
                job.job_id == job_id
            )
        )
    ).one()
    return _Run(row.id, job_id, row.state, row.client_id, row.params, row.checkpoint)


async def _save(session: AsyncSession, current: _Run, **values: Any) -> None:
    await session.execute(
        update(models.Job)
        .where(models.Job.id == current.id)
        .values(checkpoint=current.checkpoint, updated_at=_now(), **values)
    )


def _next_phase(params: dict[str, Any], phase: str) -> str:
    phases: list[str] = params["phases"]
    index = phases.index(phase) + 1
    return phases[index] if index < len(phases) else DONE


def _finish_phase(current: _Run, phase: Phase) -> None:
    current.checkpoint["phase"] = _next_phase(current.params, phase.value)
    current.checkpoint["retry"] = None


def _state_after(current: _Run) -> dict[str, Any]:
    """The run's columns after a phase may have ended: completed once every phase is done."""
    values = _total(current)
    if current.checkpoint["phase"] == DONE:
        values |= {
            "state": JobState.COMPLETED.value,
            "finished_at": _now(),
            "reason_code": None,
            "reason": None,
        }
    return values


def _total(current: _Run) -> dict[str, Any]:
    checkpoint = current.checkpoint
    total = (
        checkpoint["identity"]["total"]
        + (checkpoint["students"]["total"] or 0)
        + checkpoint["transcripts"]["total"]
    )
    return {"total": total}


def _open(batch: int, through: int) -> dict[str, int]:
    return {"batch": batch, "through": through}


def _run_caller(current: _Run) -> Caller:
    """The run acts for the client that started it (recorded on the transcripts' events)."""
    return Caller(
        client_id=current.client_id,
        scopes=frozenset({SCOPE}),
        org_level=OrgLevel.DEPARTMENT,
        school_ids=None,
    )


async def _open_letters(session: AsyncSession, target: System) -> bool:
    """Whether any item of ``target`` waits for a later run to get it accepted."""
    letter = models.SyncDeadLetter
    return (
        await session.scalar(
            select(letter.id)
            .where(letter.target == target.value, letter.resolved_at.is_(None))
            .limit(1)
        )
    ) is not None


T = TypeVar("T")
U = TypeVar("U")


async def _together(first: Awaitable[T] | None, second: Awaitable[U]) -> tuple[T | None, U]:
    """Both results (None for no ``first``); if one fails the other is cancelled and the
    failure raised."""
    a = asyncio.ensure_future(_nothing() if first is None else first)
    b = asyncio.ensure_future(second)
    try:
        first_result, second_result = await asyncio.gather(a, b)
    except BaseException:
        a.cancel()
        b.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
        raise
    return first_result, second_result


async def _nothing() -> None:
    return None


async def _read(reader: AsyncConnection, query: Callable[..., Awaitable[T]], **arguments: Any) -> T:
    """Run a read on the slice's own connection (while a batch is on the wire), in a
    transaction of its own: no snapshot is held between batches."""
    async with reader.begin():
        return await query(reader, **arguments)


def _now() -> datetime:
    return datetime.now(UTC)


# --- the watchdog ------------------------------------------------------------------------------


async def stalled_work(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """Runs to send a message for again: running ones silent for ``stall_seconds``, paused
    ones whose delayed retry is that long overdue (Redis may have lost the messages)."""

    async def running(session: AsyncSession, job: models.Job) -> list[Next]:
        return [Next(ACTOR, (job.job_id,))]

    def paused(job: models.Job) -> list[Next]:
        retry_at = float(((job.checkpoint or {}).get("retry") or {}).get("at", 0))
        return [Next(ACTOR, (job.job_id,))] if retry_at <= time.time() - stall_seconds else []

    return await core.resend_stalled(
        runtime.db, kind=KIND, stall_seconds=stall_seconds, running=running, paused=paused
    )
