"""Benchmark the national sync: students pushed from PostgreSQL to the sector database, end to end.

    .venv/bin/python bench/national_sync.py                      # 200,000 students
    .venv/bin/python bench/national_sync.py --students 2300000   # Hà Nội's 2.3 M

A database of its own (``bench_sync_<hex>``, created next to ``--database-url`` and
dropped afterwards) gets N students, each with its own change version, loaded with
COPY. The far sides (sector database, transcript store, population database
simulators) run in a separate process on loopback; the job runs on Dramatiq with
the Redis broker and an in-process worker, exactly as the tests run it. The figure
is students per second from ``startSync`` to the run's COMPLETED, over everything:
the messages, the keyset reads by change version, orjson, HTTP/1.1 keep-alive, the
far side storing each record, the checkpoint commits. The bar (issue 5) is
≥ 50,000 rows/s for 2.3 M students. The far side's counts are checked, so a fast
run that lost or doubled records does not pass.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import dramatiq
import httpx
import psycopg
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.adapters.signing.simulator import free_port  # noqa: E402
from hub.auth.access import Caller  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.db import models  # noqa: E402
from hub.db.engine import Database  # noqa: E402
from hub.db.migrate import upgrade  # noqa: E402
from hub.domain.enums import OrgLevel, Ownership, SchoolLevel, Sex  # noqa: E402
from hub.domain.personal_id import compose  # noqa: E402
from hub.jobs import sync  # noqa: E402
from hub.jobs.core import OPEN, JobRuntime  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_ROWS_PER_SECOND = 50_000
SCHOOLS = 200
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Khánh", "Linh", "Minh", "Ngọc", "Thảo"]
CALLER = Caller("bench", frozenset({sync.SCOPE}), OrgLevel.DEPARTMENT, None)


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(base: str) -> str:
    """A fresh database next to ``base``; its SQLAlchemy URL."""
    name = f"bench_sync_{secrets.token_hex(4)}"
    with psycopg.connect(_plain(base), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(base: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_plain(base), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def load(url: str, students: int) -> float:
    """Migrate and fill the database; seconds spent (not counted in the figure)."""
    started = time.perf_counter()
    db = Database(url)
    await upgrade(db.engine)
    async with db.unit_of_work() as session:
        department = models.Department(code="01", name="Sở GDĐT Hà Nội (bench)")
        session.add(department)
        await session.flush()
        district = models.District(department_id=department.id, code="BE", name="Quận Bench")
        session.add(district)
        await session.flush()
        session.add_all(
            models.School(
                department_id=department.id,
                district_id=district.id,
                moet_code=f"01BE{n:05d}",
                name=f"Trường Bench {n}",
                level=SchoolLevel.PRIMARY,
                ownership=Ownership.PUBLIC,
            )
            for n in range(SCHOOLS)
        )
        await session.flush()
        schools = list(await session.scalars(select(models.School.id)))
    await db.dispose()
    columns = (
        "personal_id, moet_code, full_name, search_name, birth_date, sex, ethnicity, "
        "school_id, identity_status, needs_review, change_version"
    )
    with psycopg.connect(_plain(url)) as connection:
        with connection.cursor().copy(f"COPY students ({columns}) FROM STDIN") as copy:
            for n in range(students):
                sex = Sex.FEMALE if n % 2 else Sex.MALE
                year = 2008 + n % 12
                name = f"{FAMILY[n % 10]} {'Thị' if n % 2 else 'Văn'} {GIVEN[(n // 10) % 11]}"
                copy.write_row(
                    (
                        compose("001", year, sex, n),
                        f"HS{n:09d}",
                        name,
                        name.lower(),
                        date(year, 1 + n % 12, 1 + n % 28),
                        sex.value,
                        "Kinh",
                        schools[n % SCHOOLS],
                        "VERIFIED",
                        False,
                        n + 1,
                    )
                )
        connection.execute("UPDATE change_counter SET value = %s WHERE id = 1", (students,))
        connection.commit()
        connection.execute("ANALYZE students")
    return time.perf_counter() - started


def serve_far_sides(ports: tuple[int, int, int]) -> None:
    """In the child process: the three simulators, each on its port, until terminated."""
    from hub.adapters.national.simulator import SectorDatabaseSimulator, TranscriptStoreSimulator
    from hub.adapters.population.simulator import PopulationSimulator
    from hub.adapters.signing.simulator import SimulatorServer

    apps = (SectorDatabaseSimulator(), TranscriptStoreSimulator(), PopulationSimulator())
    for side, port in zip(apps, ports, strict=True):
        SimulatorServer(side.app(), port=port).start()
    while True:
        time.sleep(3600)


def start_far_sides() -> tuple[multiprocessing.process.BaseProcess, list[str]]:
    ports = (free_port("127.0.0.1"), free_port("127.0.0.1"), free_port("127.0.0.1"))
    process = multiprocessing.get_context("spawn").Process(
        target=serve_far_sides, args=(ports,), daemon=True
    )
    process.start()
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    deadline = time.monotonic() + 30
    for url in urls:
        while True:
            try:
                httpx.get(f"{url}/_sim/received", timeout=0.5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    process.terminate()
                    raise RuntimeError("the far sides did not start") from None
                time.sleep(0.1)
    return process, urls


async def timed_run(db: Database, phases: tuple[sync.Phase, ...], options: sync.SyncOptions):  # type: ignore[no-untyped-def]
    from hub.jobs.actors import send

    started = time.perf_counter()
    async with db.unit_of_work() as session:
        job, work = await sync.start_sync(session, caller=CALLER, phases=phases, options=options)
        run_id = job.job_id
    send(work)
    while True:
        async with db.sessions() as session:
            job = await session.scalar(select(models.Job).where(models.Job.job_id == run_id))
        assert job is not None
        if job.state not in OPEN:
            return job, time.perf_counter() - started
        await asyncio.sleep(0.02)


async def bench(args: argparse.Namespace, url: str, far: list[str]) -> None:
    from hub.jobs import actors

    settings = Settings(
        database_url=url,
        redis_url=args.redis_url,
        jobs_namespace=f"hub-bench-sync-{uuid.uuid4().hex[:8]}",
    )
    services = sync.SyncServices.connect(sector_url=far[0], store_url=far[1], population_url=far[2])
    broker = actors.configure(settings, JobRuntime(settings, Database(url), sync=services))
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    db = Database(url)
    options = sync.SyncOptions(student_batch=args.batch, slice_seconds=30.0)
    try:
        job, seconds = await timed_run(db, tuple(sync.Phase), options)
        students = job.checkpoint["students"]
        async with httpx.AsyncClient() as client:
            received = (await client.get(f"{far[0]}/_sim/received")).json()
        rate = args.students / seconds
        print(
            f"\nfull run: {args.students:,} students in {seconds:.2f} s = {rate:,.0f} rows/s "
            f"(batches of {args.batch:,}: {students['next_batch']}; state {job.state})"
        )
        print(f"far side: {received}")
        if (
            job.state != "COMPLETED"
            or students["accepted"] != args.students
            or received["students"] != args.students
            or received["applied"] != args.students
            or received["resubmissions"]
        ):
            raise SystemExit(f"WRONG: the far side does not hold each student once: {received}")
        empty, empty_seconds = await timed_run(db, tuple(sync.Phase), options)
        print(
            f"incremental run with nothing changed: {empty_seconds * 1000:.0f} ms "
            f"({empty.checkpoint['students']['sent']} sent)"
        )
        async with db.unit_of_work() as session:
            changed = max(1, args.students // 100)
            await session.execute(
                text(
                    "UPDATE students SET ethnicity = 'Tày', change_version = "
                    "(SELECT value FROM change_counter WHERE id = 1) + id "
                    "WHERE id <= :n"
                ),
                {"n": changed},
            )
            await session.execute(
                text("UPDATE change_counter SET value = value + :n + 1 WHERE id = 1"),
                {"n": changed},
            )
        part, part_seconds = await timed_run(db, (sync.Phase.STUDENTS,), options)
        print(
            f"incremental run after 1% changed: {part.checkpoint['students']['sent']:,} sent "
            f"in {part_seconds:.2f} s"
        )
        verdict = "OK" if rate >= TARGET_ROWS_PER_SECOND else "BELOW TARGET"
        print(f"target ≥ {TARGET_ROWS_PER_SECOND:,} rows/s: {verdict}")
    finally:
        worker.stop()
        broker.flush_all()
        broker.close()
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=sync.SyncOptions().student_batch)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    url = create_database(args.database_url)
    process = None
    try:
        print(f"loading {args.students:,} students into {make_url(url).database} …")
        print(f"loaded in {asyncio.run(load(url, args.students)):.1f} s (not counted)")
        process, far = start_far_sides()
        asyncio.run(bench(args, url, far))
    finally:
        if process is not None:
            process.terminate()
            process.join(5)
        if not args.keep:
            drop_database(args.database_url, url)


if __name__ == "__main__":
    main()
