"""Bulk signing survives crashes: a killed worker, a restarted Redis, dropped database links.

Two real worker processes (``dramatiq hub.jobs.entry:broker``, what ``hub worker``
runs) sign through the provider simulators; a Redis server of the test's own is
restarted without persistence (every queued message lost); PostgreSQL connections
are terminated from the server side. In every case the batch completes with each
transcript signed exactly once and every item's final state explained.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from hub.adapters.signing.simulator import free_port
from hub.db import models
from hub.demo.signing import DemoSigning, start_demo_signing
from hub.domain.enums import SigningProvider
from tests import signing_support as support
from tests.schools import SigningSchool, signing_school

ROOT = Path(__file__).resolve().parents[2]
#: What ``hub worker`` runs.
WORKER = [sys.executable, "-m", "dramatiq", "hub.jobs.entry:broker"]
PER_CLASS = 12


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """A Redis of this module's own, so restarting it disturbs nobody else."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing (Debian package redis-server)"
    port = free_port("127.0.0.1")
    directory = tmp_path_factory.mktemp("redis")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    command += ["--save", "", "--appendonly", "no"]
    server = {"command": command, "url": f"redis://127.0.0.1:{port}/0"}
    server["process"] = _start_redis(command, server["url"])
    yield server
    server["process"].kill()
    server["process"].wait()


def _start_redis(command: list[str], url: str) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


@pytest.fixture(scope="module")
async def demo(tmp_path_factory) -> AsyncIterator[DemoSigning]:  # type: ignore[no-untyped-def]
    suite = start_demo_signing(tmp_path_factory.mktemp("signing"), confirm_delay=0.3)
    suite.back_offices[SigningProvider.BCY].max_batch = 4  # two transcripts a transaction
    yield suite
    await suite.aclose()


@pytest.fixture(scope="module")
async def school(db, world, demo) -> SigningSchool:  # type: ignore[no-untyped-def]
    return await signing_school(
        db,
        demo,
        code="01FAULT1",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.BCY] * 3,
        principal_provider=SigningProvider.BCY,
        per_class=PER_CLASS,
    )


@pytest.fixture(scope="module")
def jobs(settings, demo, school, redis_server, tmp_path_factory) -> Iterator["Workers"]:  # type: ignore[no-untyped-def]
    from hub.jobs import actors

    namespace = f"hub-faults-{uuid.uuid4().hex[:8]}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        **demo.worker_environment(tmp_path_factory.mktemp("worker")),
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_REDIS_URL": redis_server["url"],
        "HUB_JOBS_NAMESPACE": namespace,
        "HUB_JOBS_HEARTBEAT_MS": "2000",
        "HUB_JOBS_STALL_SECONDS": "2",
        "HUB_JOBS_POLL_SECONDS": "0.3",
        "HUB_MODE": "production",
    }
    broker = actors.configure(
        settings.model_copy(update={"redis_url": redis_server["url"], "jobs_namespace": namespace})
    )
    workers = Workers(environment)
    workers.start(2)
    yield workers
    workers.stop_all()
    broker.close()


class Workers:
    """``hub worker``-style processes, each its own session so it can be killed whole."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int) -> None:
        for _ in range(count):
            self.processes.append(
                subprocess.Popen(
                    [*WORKER, "--processes", "1", "--threads", "2"],
                    cwd=ROOT,
                    env=self.environment,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.processes.remove(process)

    def stop_all(self) -> None:
        for process in list(self.processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()


async def start(db, demo, school, class_index: int) -> str:  # type: ignore[no-untyped-def]
    """Start a homeroom batch for one class, as the school's app would."""
    from hub.jobs.actors import send

    job, work = await support.class_batch(
        db, demo, school_id=school.id, class_id=school.class_ids[class_index]
    )
    job_id = job.job_id
    send(work)
    return job_id


async def counts(db, job_id: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        job = await session.scalar(select(models.Job).where(models.Job.job_id == job_id))
        rows = await session.execute(
            select(models.SigningBatchItem.state, func.count())
            .where(models.SigningBatchItem.job_id == job.id)
            .group_by(models.SigningBatchItem.state)
        )
        return {"_state": job.state, **dict(rows.all())}  # type: ignore[dict-item]


async def wait_for(db, job_id: str, done: int, seconds: float = 90) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Until ``done`` items are signed (or the job completes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = await counts(db, job_id)
        if now.get("SIGNED", 0) >= done or now["_state"] == "COMPLETED":
            return now
        await asyncio.sleep(0.2)
    raise AssertionError(f"no progress: {await counts(db, job_id)}")


async def wait_completed(db, job_id: str, seconds: float = 90) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Until the job is COMPLETED: the last items are signed a moment before (a step marks
    the job complete after its own commit, or the watchdog does for a killed worker)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = await counts(db, job_id)
        if now["_state"] == "COMPLETED":
            return now
        await asyncio.sleep(0.2)
    raise AssertionError(f"not completed: {await counts(db, job_id)}")


async def assert_signed_exactly_once(db, school, class_index: int, job_id: str) -> None:  # type: ignore[no-untyped-def]
    final = await wait_completed(db, job_id)
    assert final == {"_state": "COMPLETED", "SIGNED": PER_CLASS}, final
    transcripts = school.transcripts[school.class_ids[class_index]]
    async with db.sessions() as session:
        events = dict(
            (
                await session.execute(
                    select(models.TranscriptEvent.transcript_id, func.count())
                    .where(
                        models.TranscriptEvent.transcript_id.in_(transcripts),
                        models.TranscriptEvent.event == "SIGNED",
                    )
                    .group_by(models.TranscriptEvent.transcript_id)
                )
            ).all()
        )
        states = set(
            await session.scalars(
                select(models.Transcript.state).where(models.Transcript.id.in_(transcripts))
            )
        )
    assert events == {t: 1 for t in transcripts}
    assert states == {"SIGNED_BY_HOMEROOM"}


async def test_a_worker_killed_mid_batch_leaves_the_batch_to_the_other(
    db, demo, school, jobs
) -> None:  # type: ignore[no-untyped-def]
    job_id = await start(db, demo, school, 0)
    await wait_for(db, job_id, 2)
    jobs.kill(jobs.processes[0])
    await assert_signed_exactly_once(db, school, 0, job_id)
    jobs.start(1)


async def test_a_redis_restart_mid_batch_loses_no_transcript(
    db, demo, school, jobs, redis_server
) -> None:  # type: ignore[no-untyped-def]
    job_id = await start(db, demo, school, 1)
    await wait_for(db, job_id, 2)
    redis.Redis.from_url(redis_server["url"]).shutdown(nosave=True)
    redis_server["process"].wait()
    await asyncio.sleep(1.0)  # the workers find the broker gone
    redis_server["process"] = _start_redis(redis_server["command"], redis_server["url"])
    await assert_signed_exactly_once(db, school, 1, job_id)


async def test_dropped_database_connections_mid_batch_are_survived(
    db, demo, school, jobs, settings
) -> None:  # type: ignore[no-untyped-def]
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        pytest.skip("terminating server connections needs PostgreSQL (CI runs it)")
    job_id = await start(db, demo, school, 2)
    await wait_for(db, job_id, 2)
    for _ in range(3):  # drop every other connection to this database, three times
        async with db.engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        await asyncio.sleep(0.5)
    await assert_signed_exactly_once(db, school, 2, job_id)
