"""What every job shares: its state, the messages its steps ask for, and the steps every kind takes.

A job is a :class:`~hub.db.models.Job` row; the broker only carries messages naming
it. Each kind keeps its own steps in its module — :mod:`hub.jobs.signing` (bulk
signing), :mod:`hub.jobs.sync` (national sync), :mod:`hub.jobs.certificates`
(certificate refresh), :mod:`hub.jobs.migration` (signing-provider migration),
:mod:`hub.jobs.generation` (a school's transcripts) — and this module holds what
they all do the same way:

- :class:`JobState`, the one type of ``jobs.state``, and :class:`Next`, the message
  a step asks to be sent once its transaction has committed;
- :class:`JobRuntime`, the services the steps of a process run with (built at
  worker start, handed to every step by :mod:`hub.jobs.actors`);
- finding, loading and locking a job; pausing, resuming and ending it; resuming a
  job an outage paused once its providers answer again;
- jobs made of items (a batch's transcripts, a migration's people): counting them
  and finishing when none is open; jobs made of numbered parts (a refresh's
  batches, a school's classes): the parts done, in ``Job.checkpoint["done"]``;
- the watchdog's protocol (:class:`StalledWork`): every few seconds each kind is
  asked what its stalled jobs still need sent (a killed worker, a restarted Redis),
  and :func:`resend_stalled` is how a kind answers.

Locks: :func:`lock` writes the job's row first, which takes the row lock on
PostgreSQL and the database's write lock on SQLite, so two steps changing one job
take turns on both. No lock is held across a provider call.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Update, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.national.services import SyncServices
from hub.adapters.signing.base import HealthStatus
from hub.auth.access import Caller
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import OrgLevel, SigningProvider
from hub.domain.problems import Code, HubError
from hub.memo import Remembered
from hub.signing.service import SigningServices


class JobState(StrEnum):
    """Where a job is (``jobs.state``), whatever its kind."""

    RUNNING = "RUNNING"
    #: By a person (reason :data:`PAUSED_BY_USER`: it stays paused until resumed) or by an
    #: outage (any other reason: the job resumes by itself once the far side answers).
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    #: A far side refused the work as a whole (national sync): staff must look.
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    #: A provider migration whose people are all done, waiting to be confirmed or rolled back.
    SWITCHED = "SWITCHED"
    CONFIRMED = "CONFIRMED"
    ROLLED_BACK = "ROLLED_BACK"

    @property
    def final(self) -> bool:
        """Whether the job has ended (nothing can change it any more)."""
        return self not in (JobState.RUNNING, JobState.PAUSED, JobState.SWITCHED)


#: The states of a job that still has work: its messages may come, the watchdog looks at it.
OPEN = (JobState.RUNNING.value, JobState.PAUSED.value)
#: The reason of a job a person paused (it does not resume by itself).
PAUSED_BY_USER = "PAUSED_BY_USER"
#: What a provider's failure does to a job: pause it until the provider answers again.
PROVIDER_DOWN = {Code.PROVIDER_UNAVAILABLE, Code.PROVIDER_FAILURE}


@dataclass(frozen=True)
class Next:
    """A message to send once a step's transaction committed: which actor (by its name in
    :data:`hub.jobs.actors.ACTORS`), with which arguments, how much later."""

    actor: str
    args: tuple[object, ...]
    delay_seconds: float = 0.0


# --- what the workers need --------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentRequest:
    """Who to enrol at ``provider``: what a provider's registration needs."""

    provider: SigningProvider
    personal_id: str
    full_name: str
    organisation: str


#: Has the provider issue a credential for the person; the step then lists it again.
Enrolment = Callable[[EnrolmentRequest], Awaitable[None]]


@dataclass(frozen=True)
class JobRuntime:
    """What the steps of this process run with, built once at worker start (``hub worker``,
    ``hub demo``, the tests) and handed to every step: nothing is looked up in globals."""

    settings: Settings
    db: Database
    #: The signing providers and trust store; None on a worker that only syncs.
    signing: SigningServices | None = None
    #: The national systems' clients; None where their URLs are not set.
    sync: SyncServices | None = None
    #: How this process enrols people at a provider (only the demo's simulators can);
    #: None: people without a credential at the target are left for staff.
    enrolment: Enrolment | None = None

    def signing_services(self) -> SigningServices:
        if self.signing is None:
            raise RuntimeError("HUB_SIGNING_PROVIDERS_FILE is not set: no signing provider to ask")
        return self.signing

    def sync_services(self) -> SyncServices:
        if self.sync is None:
            raise RuntimeError(
                "the national systems' URLs are not set (HUB_NATIONAL_SECTOR_URL, "
                "HUB_NATIONAL_STORE_URL, HUB_POPULATION_URL)"
            )
        return self.sync


class StalledWork(Protocol):
    """What the watchdog asks each kind of job every few seconds: the messages its jobs
    without progress for ``stall_seconds`` still need (a killed worker's, a lost Redis's)."""

    def __call__(self, runtime: JobRuntime, *, stall_seconds: float) -> Awaitable[list[Next]]: ...


# --- one job -----------------------------------------------------------------------------------


async def create(
    session: AsyncSession, *, kind: str, client_id: str, job_id: str | None = None, **columns: Any
) -> models.Job:
    """A new RUNNING job of ``kind`` (a fresh id unless given), flushed so it has its row id."""
    job = models.Job(
        job_id=job_id or str(uuid.uuid4()),
        kind=kind,
        state=JobState.RUNNING.value,
        client_id=client_id,
        **columns,
    )
    session.add(job)
    await session.flush()
    return job


async def find(session: AsyncSession, job_id: str, *, fresh: bool = False) -> models.Job | None:
    """The job, unlocked; ``fresh`` reads its row again even if the session holds it."""
    query = select(models.Job).where(models.Job.job_id == job_id)
    if fresh:
        query = query.execution_options(populate_existing=True)
    return await session.scalar(query)


async def lock(session: AsyncSession, job_id: str) -> models.Job | None:
    """The job with its row locked for this transaction (on SQLite, the database).

    Writing first is what takes the lock, so two steps changing one job take turns
    and the second reads what the first wrote; it also marks progress (``updated_at``).
    """
    await session.execute(progress(job_id))
    return await find(session, job_id, fresh=True)


async def claim(session: AsyncSession, statement: Update) -> bool:
    """Run ``statement``, an UPDATE whose WHERE names the state the work must still be in;
    whether it changed a row. A second delivery of a message finds nothing to change.

    Writing is what takes the lock (see :func:`lock`), so the second delivery waits for
    the first to commit and then sees its state.
    """
    result = await session.execute(statement)
    # Typed as a plain Result; an UPDATE's is a CursorResult, which has the row count.
    return bool(cast("CursorResult[Any]", result).rowcount)


def acting_for(job: models.Job, *scopes: str) -> Caller:
    """Who a school's job acts as: the client that started it, with ``scopes``, within the
    school it names (recorded on what it writes, checked like any caller)."""
    return Caller(
        client_id=job.client_id,
        scopes=frozenset(scopes),
        org_level=OrgLevel.SCHOOL,
        school_ids=frozenset({job.school_id}) if job.school_id else None,
    )


def not_found(what: str, job_id: str) -> HubError:
    """The answer for a job that does not exist, is of another kind, or is not the caller's:
    the same in each case, so a caller learns nothing of others' jobs."""
    return HubError(Code.INVALID_ARGUMENT, detail=f"không có {what} {job_id}")


async def load(
    session: AsyncSession, *, kind: str, job_id: str, what: str, lock_row: bool = False
) -> models.Job:
    """The job ``job_id`` of ``kind`` (its row locked, for a control, with ``lock_row``);
    :func:`not_found` naming it ``what`` otherwise. The caller's rights are the kind's to check."""
    job = await (lock(session, job_id) if lock_row else find(session, job_id))
    if job is None or job.kind != kind:
        raise not_found(what, job_id)
    return job


async def touch(db: Database, job_id: str, *, stall_seconds: float = 0.0) -> None:
    """Note progress without a change (still waiting for a phone, a provider), so the
    watchdog does not take the job for stalled: one statement, its own transaction.

    With ``stall_seconds`` (the watchdog's, ``HUB_JOBS_STALL_SECONDS``), at most once a
    third of it for a job in this process, as often as the watchdog looks: a school's
    batch has dozens of chunks waiting on phones, each asked every few seconds, and each
    ask wrote the job's row (a row version, and a lock the job's other steps waited for).
    """
    now, last = time.monotonic(), _touched.get(job_id)
    if stall_seconds and last is not None and now - last < stall_seconds / 3:
        return
    async with db.autocommit() as connection:
        await connection.execute(progress(job_id))
    if stall_seconds:
        _touched.put(job_id, now)


#: When this process last noted each job's progress (:func:`touch`), in monotonic seconds;
#: the least recently touched forgotten first (forgetting only means touching once more).
_touched: Remembered[float] = Remembered(None, 1024)


def pause(job: models.Job, code: str, message: str) -> None:
    """Pause ``job`` for ``code`` (:data:`PAUSED_BY_USER`, or an outage's code) with a
    message a person reads."""
    job.state, job.reason_code, job.reason = JobState.PAUSED.value, code, message
    job.updated_at = _now()


def resume(job: models.Job) -> None:
    job.state, job.reason_code, job.reason = JobState.RUNNING.value, None, None
    job.updated_at = _now()


def paused_by_outage(job: models.Job | None) -> bool:
    """Whether ``job`` waits for a far side to answer again (and resumes by itself)."""
    return (
        job is not None and job.state == JobState.PAUSED.value and job.reason_code != PAUSED_BY_USER
    )


def end(
    job: models.Job, state: JobState, code: str | None = None, message: str | None = None
) -> None:
    """Move ``job`` to ``state`` with the reason (none by default); a final state is the end."""
    job.state, job.reason_code, job.reason = state.value, code, message
    job.updated_at = _now()
    if state.final:
        job.finished_at = job.updated_at


def cancel(job: models.Job, message: str) -> bool:
    """Cancel ``job`` if it is still open (its row locked); whether it was."""
    if job.state not in OPEN:
        return False
    end(job, JobState.CANCELLED, JobState.CANCELLED.value, message)
    return True


async def resume_if_healthy(
    db: Database,
    signing: SigningServices,
    *,
    job_id: str,
    watched: Callable[[AsyncSession, models.Job], Awaitable[set[SigningProvider]]],
    resume_job: Callable[[AsyncSession, models.Job], Awaitable[list[Next]]],
    again: Next,
) -> list[Next]:
    """Continue a job an outage paused once none of its providers (``watched``) is down,
    with ``resume_job`` (its row locked); until then, ask again with ``again``.

    The health check runs outside any transaction: no lock waits for a provider.
    """
    async with db.unit_of_work() as session:
        job = await find(session, job_id)
        if not paused_by_outage(job):
            return []
        assert job is not None
        providers = await watched(session, job)
    health = await signing.providers.check()
    if any(h.provider in providers and h.status is HealthStatus.DOWN for h in health):
        await touch(db, job_id)
        return [again]
    async with db.unit_of_work() as session:
        job = await lock(session, job_id)
        if not paused_by_outage(job):
            return []
        assert job is not None
        return await resume_job(session, job)


# --- jobs made of items ------------------------------------------------------------------------


@dataclass(frozen=True)
class Items:
    """A kind's item table (a row per transcript, per person …: ``job_id`` and ``state``
    columns), every state an item can be in, and the states of items still on their way."""

    model: Any
    states: type[StrEnum]
    open: tuple[str, ...]


async def item_counts(session: AsyncSession, job: models.Job, items: Items) -> dict[str, int]:
    """How many of the job's items are in each state (every state, zero or not)."""
    counts = {state.value: 0 for state in items.states}
    rows = await session.execute(
        select(items.model.state, func.count())
        .where(items.model.job_id == job.id)
        .group_by(items.model.state)
    )
    counts.update(dict(rows.all()))
    return counts


async def finish_if_done(
    session: AsyncSession, job: models.Job, items: Items, *, done: JobState = JobState.COMPLETED
) -> bool:
    """Move an open job to ``done`` when none of its items is open any more; whether it did.

    Inside a step this sees only what this transaction sees: two steps closing a job's
    last items side by side may each miss the end, which :func:`complete_if_done`, run
    after the commit, catches (unless the job's row is locked around every item change).
    """
    await session.flush()
    job.updated_at = _now()
    if job.state not in OPEN:
        return False
    left = await session.scalar(
        select(func.count()).where(items.model.job_id == job.id, items.model.state.in_(items.open))
    )
    if left:
        return False
    end(job, done)
    return True


async def complete_if_done(db: Database, job_id: str, *, kind: str, items: Items) -> None:
    """After a step committed: mark the job's progress (``updated_at``, as :func:`touch`),
    and the job COMPLETED if none of its items is open.

    One statement, its own transaction: of steps closing a job's last items side by
    side, the last to commit sees every item closed.
    """
    async with db.autocommit() as connection:
        await connection.execute(_completing(kind, items), {"job": job_id, "now": _now()})


@functools.cache
def _completing(kind: str, items: Items) -> Update:
    """:func:`complete_if_done`'s statement for a kind, built once (a step of every chunk
    runs it); ``job`` and ``now`` are bound at each call."""
    done = ~(
        select(items.model.id)
        .where(items.model.job_id == models.Job.id, items.model.state.in_(items.open))
        .exists()
    )
    now = bindparam("now", type_=models.Job.updated_at.type)
    return (
        update(models.Job)
        .where(
            models.Job.job_id == bindparam("job"),
            models.Job.kind == kind,
            models.Job.state.in_(OPEN),
        )
        .values(
            state=case((done, JobState.COMPLETED.value), else_=models.Job.state),
            reason_code=case((done, None), else_=models.Job.reason_code),
            reason=case((done, None), else_=models.Job.reason),
            finished_at=case((done, now), else_=models.Job.finished_at),
            updated_at=now,
        )
    )


# --- jobs made of numbered parts ---------------------------------------------------------------


def parts_done(job: models.Job | None) -> set[int]:
    """The parts of ``job`` already done."""
    return set(((job.checkpoint if job else None) or {}).get("done", []))


def part_done(job: models.Job, part: int, checkpoint: dict[str, Any], *, parts: str) -> None:
    """Record ``part`` as done with ``checkpoint`` (the job's, with what the part added;
    the job's row locked); the job is COMPLETED once every part of ``params[parts]`` is."""
    checkpoint["done"] = [*checkpoint.get("done", []), part]
    job.checkpoint = checkpoint
    job.updated_at = _now()
    if len(checkpoint["done"]) >= len(job.params[parts]):
        end(job, JobState.COMPLETED)


async def stalled_parts(
    db: Database, *, kind: str, actor: str, parts: str, stall_seconds: float
) -> list[Next]:
    """``actor`` again for every part (of ``params[parts]``) that a stalled job of ``kind``
    has not done."""

    async def missing(session: AsyncSession, job: models.Job) -> list[Next]:
        done = parts_done(job)
        return [
            Next(actor, (job.job_id, n)) for n in range(len(job.params[parts])) if n not in done
        ]

    return await resend_stalled(db, kind=kind, stall_seconds=stall_seconds, running=missing)


# --- the watchdog ------------------------------------------------------------------------------


def _nothing(job: models.Job) -> list[Next]:
    return []


async def resend_stalled(
    db: Database,
    *,
    kind: str,
    stall_seconds: float,
    running: Callable[[AsyncSession, models.Job], Awaitable[list[Next]]],
    paused: Callable[[models.Job], list[Next]] = _nothing,
) -> list[Next]:
    """What the open jobs of ``kind`` without progress for ``stall_seconds`` still need:
    ``running`` says it for a running job (its row locked), ``paused`` for a paused one.

    Each is marked as progress, so the next round waits ``stall_seconds`` again. Redis
    keeps nothing across a restart here and a killed worker's messages come back only
    after its heartbeat times out; the rows know what is left, and the steps are
    idempotent, so sending it again is all recovery needs.
    """
    cutoff = _now() - timedelta(seconds=stall_seconds)
    work: list[Next] = []
    async with db.unit_of_work() as session:
        stalled = list(
            await session.scalars(
                select(models.Job.job_id)
                .where(
                    models.Job.kind == kind,
                    models.Job.state.in_(OPEN),
                    models.Job.updated_at < cutoff,
                )
                .order_by(models.Job.id)
            )
        )
        for job_id in stalled:
            job = await lock(session, job_id)
            if job is None or job.state not in OPEN:
                continue
            work += await running(session, job) if job.state == JobState.RUNNING else paused(job)
    return work


def resume_after_outage(actor: str) -> Callable[[models.Job], list[Next]]:
    """For :func:`resend_stalled`: ``actor`` (its resume-if-healthy step) again for a job an
    outage paused; nothing for one a person paused."""

    def again(job: models.Job) -> list[Next]:
        return [Next(actor, (job.job_id,))] if paused_by_outage(job) else []

    return again


def progress(job_id: str) -> Update:
    """The statement marking that ``job_id`` made progress now (``updated_at``)."""
    return update(models.Job).where(models.Job.job_id == job_id).values(updated_at=func.now())


def _now() -> datetime:
    return datetime.now(UTC)
