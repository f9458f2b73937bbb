"""The Dramatiq actors, every one declared here, and how the hub sends them work.

Each actor is a thin shell around a step of its job kind: it runs the step with
this process's :class:`~hub.jobs.core.JobRuntime` and sends the messages
(:class:`~hub.jobs.core.Next`) the step asks for. :data:`ACTORS` lists them all
and :data:`STALLED_WORK` what the watchdog asks each kind; :func:`configure`
declares them on the broker for this process's settings. Importing this module
declares nothing and connects nowhere.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dramatiq
import structlog
from dramatiq.middleware.asyncio import AsyncIO

from hub.config import Settings
from hub.db import tallies
from hub.db.engine import Database
from hub.jobs import archive, certificates, generation, imports, migration, signing, sync
from hub.jobs.broker import make_broker
from hub.jobs.core import JobRuntime, Next, StalledWork

log = structlog.get_logger(__name__)

SIGNING_QUEUE = "signing"
#: Asks after signers' answers have their own queue and go first (lower priority
#: numbers run first): finishing confirmed work must not wait behind a backlog of
#: chunks still to be sent.
SIGNING_POLL_QUEUE = "signing-poll"
SYNC_QUEUE = "sync"
#: The certificate refresh, the archive timestamps and the provider migrations.
CERTIFICATES_QUEUE = "certificates"
TRANSCRIPTS_QUEUE = "transcripts"
#: Spreadsheet imports (issue 14): a part's rows through the vendor writes.
IMPORTS_QUEUE = "imports"
FIRST, LATER = 0, 10

Step = Callable[..., Awaitable[list[Next]]]


@dataclass(frozen=True)
class Actor:
    """An actor: its name (what :class:`~hub.jobs.core.Next` names), its queue, and the
    step it runs, called with the runtime and the message's arguments."""

    name: str
    queue: str
    step: Step
    priority: int = 0


# --- the steps, as the actors call them ----------------------------------------------------------


async def _send_chunk(rt: JobRuntime, job_id: str, chunk: int) -> list[Next]:
    work = await signing.send_chunk(
        rt.db,
        rt.signing_services(),
        job_id=job_id,
        chunk=chunk,
        poll_seconds=rt.settings.jobs_poll_seconds,
    )
    if not work:  # nothing left waiting on this chunk: it may have been the batch's last
        await signing.complete_if_done(rt.db, job_id)
    return work


async def _poll_request(rt: JobRuntime, job_id: str, request_id: str, asks: int = 0) -> list[Next]:
    return await signing.poll_request(
        rt.db,
        rt.signing_services(),
        job_id=job_id,
        request_id=request_id,
        poll_seconds=rt.settings.jobs_poll_seconds,
        asks=asks,
        stall_seconds=rt.settings.jobs_stall_seconds,
    )


async def _resume_batch(rt: JobRuntime, job_id: str) -> list[Next]:
    return await signing.resume_if_healthy(rt.db, rt.signing_services(), job_id=job_id)


async def _national_sync(rt: JobRuntime, job_id: str) -> list[Next]:
    return await sync.run(rt.db, rt.sync_services(), job_id=job_id)


async def _refresh_certificates(rt: JobRuntime, job_id: str, batch: int) -> list[Next]:
    return await certificates.refresh_batch(
        rt.db, rt.signing_services(), job_id=job_id, batch=batch
    )


async def _archive_transcripts(rt: JobRuntime, job_id: str, batch: int) -> list[Next]:
    return await archive.archive_batch(rt.db, rt.signing_services(), job_id=job_id, batch=batch)


async def _migrate_teacher(rt: JobRuntime, job_id: str, item_id: int) -> list[Next]:
    return await migration.migrate_teacher(
        rt.db,
        rt.signing_services(),
        job_id=job_id,
        item_id=item_id,
        enrol=rt.enrolment,
        poll_seconds=rt.settings.jobs_poll_seconds,
    )


async def _poll_test_signature(rt: JobRuntime, job_id: str, item_id: int) -> list[Next]:
    return await migration.poll_test_signature(
        rt.db,
        rt.signing_services(),
        job_id=job_id,
        item_id=item_id,
        poll_seconds=rt.settings.jobs_poll_seconds,
        stall_seconds=rt.settings.jobs_stall_seconds,
    )


async def _resume_migration(rt: JobRuntime, job_id: str) -> list[Next]:
    return await migration.resume_if_healthy(
        rt.db, rt.signing_services(), job_id=job_id, poll_seconds=rt.settings.jobs_poll_seconds
    )


async def _generate_class(rt: JobRuntime, job_id: str, index: int) -> list[Next]:
    return await generation.generate_class(rt.db, job_id=job_id, index=index)


async def _import_part(rt: JobRuntime, job_id: str, part: int) -> list[Next]:
    return await imports.write_part(rt.db, job_id=job_id, part=part)


async def _import_finish(rt: JobRuntime, job_id: str) -> list[Next]:
    return await imports.finish(rt.db, job_id=job_id)


#: Every actor of the hub.
ACTORS: tuple[Actor, ...] = (
    Actor("send_chunk", SIGNING_QUEUE, _send_chunk, priority=LATER),
    Actor("poll_request", SIGNING_POLL_QUEUE, _poll_request, priority=FIRST),
    Actor("resume_if_healthy", SIGNING_POLL_QUEUE, _resume_batch, priority=FIRST),
    Actor(sync.ACTOR, SYNC_QUEUE, _national_sync),
    Actor("refresh_certificates", CERTIFICATES_QUEUE, _refresh_certificates),
    Actor(archive.ACTOR, CERTIFICATES_QUEUE, _archive_transcripts),
    Actor("migrate_teacher", CERTIFICATES_QUEUE, _migrate_teacher),
    Actor("poll_test_signature", CERTIFICATES_QUEUE, _poll_test_signature),
    Actor("resume_migration_if_healthy", CERTIFICATES_QUEUE, _resume_migration),
    Actor("generate_class", TRANSCRIPTS_QUEUE, _generate_class),
    Actor(imports.ACTOR, IMPORTS_QUEUE, _import_part),
    Actor(imports.FINISH_ACTOR, IMPORTS_QUEUE, _import_finish),
)


async def _compact_tallies(runtime: JobRuntime, *, stall_seconds: float) -> list[Next]:
    """Fold the report tallies' deltas once enough have piled up (hub.db.tallies)."""
    await tallies.compact_when_due(runtime.db)
    return []


#: What every worker's watchdog asks every few seconds (:class:`Watchdog`): each kind's
#: stalled work, whether a certificate refresh or an archive run is due, and whether the
#: report tallies want compacting.
STALLED_WORK: tuple[StalledWork, ...] = (
    signing.stalled_work,
    sync.stalled_work,
    certificates.stalled_work,
    certificates.refresh_when_due,
    archive.stalled_work,
    archive.archive_when_due,
    migration.stalled_work,
    generation.stalled_work,
    imports.stalled_work,
    _compact_tallies,
)


# --- the broker ----------------------------------------------------------------------------------


def worker_runtime(settings: Settings) -> JobRuntime:
    """The runtime of a worker process (``hub worker``), from its settings: a worker runs
    only what it is configured for (no signing providers: it only syncs, and so on)."""
    from hub.signing.setup import signing_services

    return JobRuntime(
        settings=settings,
        db=Database(settings.database_url),
        signing=signing_services(settings),
        sync=sync.SyncServices.from_settings(settings),
    )


def configure(settings: Settings, runtime: JobRuntime | None = None) -> dramatiq.Broker:
    """Make the broker for ``settings`` the global one and declare every actor on it.

    ``runtime`` is what the actors' steps run with where this process works on the
    jobs (a worker, ``hub demo``, the tests); a process that only sends (the web
    app) gives none, and its actors refuse to run.
    """
    broker = make_broker(settings)
    if runtime is not None:
        # Before AsyncIO: on shutdown the watchdog stops before the event loop it uses.
        broker.add_middleware(Watchdog(runtime, settings.jobs_stall_seconds), before=AsyncIO)
    dramatiq.set_broker(broker)
    for actor in ACTORS:
        _declare(actor, runtime, broker)
    return broker


def _declare(
    actor: Actor, runtime: JobRuntime | None, broker: dramatiq.Broker
) -> dramatiq.Actor[..., None]:
    """Declare ``actor`` on ``broker``: it runs the step with ``runtime`` and sends the
    messages the step asks for."""

    async def run(*args: Any) -> None:
        if runtime is None:
            raise RuntimeError(f"{actor.name}: this process only sends jobs (no runtime)")
        send(await actor.step(runtime, *args), broker)

    run.__name__ = run.__qualname__ = actor.name
    return dramatiq.actor(
        run,
        broker=broker,
        actor_name=actor.name,
        queue_name=actor.queue,
        priority=actor.priority,
    )


def send(work: Iterable[Next], broker: dramatiq.Broker | None = None) -> None:
    """Send the messages a step asked for (after its transaction committed), through
    ``broker`` or the one :func:`configure` made global."""
    broker = broker or dramatiq.get_broker()
    for step in work:
        broker.get_actor(step.actor).send_with_options(
            args=step.args, delay=int(step.delay_seconds * 1000) or None
        )


class Watchdog(dramatiq.Middleware):
    """In every worker process, every third of ``stall_seconds``, send again what stalled
    jobs need (:data:`STALLED_WORK`)."""

    def __init__(self, runtime: JobRuntime, stall_seconds: float) -> None:
        self.runtime = runtime
        self.stall_seconds = stall_seconds
        self._stop = threading.Event()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        threading.Thread(target=self._run, args=(broker,), name="hub-watchdog", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()

    def _run(self, broker: dramatiq.Broker) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        interval = max(1.0, self.stall_seconds / 3)
        while not self._stop.wait(interval):
            loop = get_event_loop_thread()
            if loop is None:
                continue
            try:
                for stalled_work in STALLED_WORK:
                    work = loop.run_coroutine(
                        stalled_work(self.runtime, stall_seconds=self.stall_seconds)
                    )
                    send(work, broker)
            except Exception:  # the database may be away for a moment: try next round
                if self._stop.is_set() or not threading.main_thread().is_alive():
                    return  # the worker is stopping (or killed) and took the event loop
                log.exception("jobs_watchdog_failed")
