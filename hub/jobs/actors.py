"""The Dramatiq actors, and how the hub sends them work.

Every actor is a thin shell around a step in :mod:`hub.jobs.signing`: it runs the
step against this process's :class:`Runtime` (database, signing providers) and
sends the messages the step asks for. Actors are declared on a placeholder
broker and bound to the real one by :func:`configure`, so importing this module
never connects anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import dramatiq
import structlog
from dramatiq.brokers.stub import StubBroker

from hub.config import Settings, get_settings
from hub.db.engine import Database
from hub.jobs import certificates, migration
from hub.jobs import signing as batches
from hub.jobs import sync as national
from hub.jobs.broker import make_broker
from hub.jobs.signing import Next
from hub.signing.service import SigningServices

log = structlog.get_logger(__name__)

#: Every actor of the hub is declared on this broker (``broker=PLACEHOLDER``), so that
#: importing an actor module connects nowhere; :func:`configure` binds them all.
PLACEHOLDER = StubBroker()
SIGNING_QUEUE = "signing"
#: Asks after signers' answers have their own queue and go first (lower priority
#: numbers run first): finishing confirmed work must not wait behind a backlog of
#: chunks still to be sent.
SIGNING_POLL_QUEUE = "signing-poll"
FIRST, LATER = 0, 10
#: The modules declaring actors; each worker process imports them all.
ACTOR_MODULES = (
    "hub.jobs.actors",
    "hub.jobs.sync_actors",
    "hub.jobs.certificate_actors",
    "hub.jobs.migration_actors",
    "hub.jobs.generation_actors",
)

#: For each kind of job, what its stalled jobs still need sent (see :class:`Watchdog`).
STALLED_WORK: list[Callable[..., Awaitable[list[Next]]]] = [
    batches.stalled_work,
    national.stalled_work,
    certificates.stalled_work,
    migration.stalled_work,
]


@dataclass
class Runtime:
    """What the steps need in this process: settings, database, signing providers."""

    settings: Settings
    db: Database
    #: None on a worker that only syncs (no signing providers configured).
    signing: SigningServices | None


_runtime: Runtime | None = None
_lock = threading.Lock()


def set_runtime(runtime: Runtime) -> None:
    """Use these parts (``hub demo`` and the tests pass their own)."""
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    """The parts for this worker process, built from the settings on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            from hub.signing.setup import signing_services

            settings = get_settings()
            _runtime = Runtime(
                settings, Database(settings.database_url), signing_services(settings)
            )
        return _runtime


def _signing() -> SigningServices:
    services = runtime().signing
    if services is None:
        raise RuntimeError("HUB_SIGNING_PROVIDERS_FILE is not set: nothing to sign with")
    return services


@dramatiq.actor(broker=PLACEHOLDER, queue_name=SIGNING_QUEUE, priority=LATER)
async def send_chunk(job_id: str, chunk: int) -> None:
    rt = runtime()
    work = await batches.send_chunk(rt.db, _signing(), job_id=job_id, chunk=chunk)
    if not work:  # nothing left waiting on this chunk: it may have been the batch's last
        await batches.complete_if_done(rt.db, job_id)
    send(work)


@dramatiq.actor(broker=PLACEHOLDER, queue_name=SIGNING_POLL_QUEUE, priority=FIRST)
async def poll_request(job_id: str, request_id: str, asks: int = 0) -> None:
    rt = runtime()
    send(
        await batches.poll_request(
            rt.db,
            _signing(),
            job_id=job_id,
            request_id=request_id,
            poll_seconds=rt.settings.jobs_poll_seconds,
            asks=asks,
        )
    )


@dramatiq.actor(broker=PLACEHOLDER, queue_name=SIGNING_POLL_QUEUE, priority=FIRST)
async def resume_if_healthy(job_id: str) -> None:
    rt = runtime()
    send(await batches.resume_if_healthy(rt.db, _signing(), job_id=job_id))


def configure(settings: Settings) -> dramatiq.Broker:
    """Make the broker for ``settings`` the global one and bind every actor to it."""
    import importlib

    for module in ACTOR_MODULES:
        importlib.import_module(module)
    broker = make_broker(settings)
    broker.add_middleware(Watchdog(settings.jobs_stall_seconds))
    dramatiq.set_broker(broker)
    for name in PLACEHOLDER.get_declared_actors():
        actor = PLACEHOLDER.get_actor(name)
        actor.broker = broker
        broker.declare_actor(actor)
    return broker


def send(work: Iterable[Next]) -> None:
    """Send the messages a step asked for (after its transaction committed)."""
    for step in work:
        PLACEHOLDER.get_actor(step.actor).send_with_options(
            args=step.args, delay=int(step.delay_seconds * 1000) or None
        )


class Watchdog(dramatiq.Middleware):
    """In every worker process, every ``interval`` seconds, send again what stalled jobs need."""

    def __init__(self, stall_seconds: float) -> None:
        self.stall_seconds = stall_seconds
        self._stop = threading.Event()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        threading.Thread(target=self._run, name="hub-watchdog", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()

    def _run(self) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        interval = max(1.0, self.stall_seconds / 3)
        while not self._stop.wait(interval):
            loop = get_event_loop_thread()
            if loop is None:
                continue
            try:
                for find in STALLED_WORK:
                    send(loop.run_coroutine(find(runtime().db, stall_seconds=self.stall_seconds)))
            except Exception:  # the database may be away for a moment: try next round
                log.exception("jobs_watchdog_failed")
