"""The national sync on Dramatiq with a real Redis broker, the real database and the
far sides (sector database, transcript store, population database) simulated on loopback.

Each test works in a database of its own, with far sides and a worker of its own (a
run pushes every student of the database that changed since the last one and verifies
every unverified one, which must not disturb the figures other tests assert); the
worker runs in this process like the signing batches'. A test that needs an earlier
run has one done first (:func:`synced`).

Every batch is signed with the department's organisation key, on a SoftHSM2 token the
demo PKI certified and reached through the PKCS#11 adapter as configured
(``HUB_NATIONAL_SIGNER_*``, the providers file), and the far sides verify it.
"""

import asyncio
import hashlib
import secrets
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import strawberry
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from hub.adapters.national import protocol
from hub.adapters.national.errors import FarSideCode, FarSideError
from hub.adapters.national.simulator import (
    SectorDatabaseSimulator,
    SignatureCheck,
    TranscriptStoreSimulator,
)
from hub.adapters.population.simulator import PopulationSimulator
from hub.adapters.signing.pkcs11.adapter import Pkcs11Adapter
from hub.adapters.signing.pkcs11.simulator import (
    SEAL_PIN,
    SEAL_SO_PIN,
    SealToken,
    provision_seal_token,
)
from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.simulator import SimulatorServer
from hub.auth.access import Caller
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.db.migrate import upgrade
from hub.demo.national import start_national
from hub.demo.signing import providers_toml, start_demo_signing
from hub.domain.enums import IdentityStatus, OrgLevel, Ownership, SchoolLevel, Sex
from hub.domain.personal_id import compose
from hub.domain.text import fold
from hub.jobs import core, sync
from hub.jobs.core import JobRuntime
from hub.jobs.sync import Phase, SyncOptions, SyncServices
from hub.resolvers.context import Context, Reader
from hub.schema.api import HubSchema
from hub.schema.sync import SyncMutations, SyncQueries
from hub.signing.transport import BatchSigner, department_signer
from tests.conftest import _database_urls, _drop_database, _run_admin
from tests.signing_support import redis_url

DEPARTMENT = Caller("so-gddt", frozenset({"sync:run"}), OrgLevel.DEPARTMENT, None)
FAST = SyncOptions(
    student_batch=5, transcript_batch=2, identity_batch=4, retry_base_seconds=0.2, slice_seconds=0.3
)


# --- the province, the far sides, the worker -----------------------------------------------------


@pytest.fixture
async def sync_db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    url, maintenance, name = _database_urls(tmp_path_factory.mktemp("sync"))
    if maintenance and name:
        await _run_admin(maintenance, f'CREATE DATABASE "{make_url(url).database}"')
    database = Database(url)
    await upgrade(database.engine)
    yield database
    await database.dispose()
    if maintenance and name:
        await _drop_database(maintenance, name)


@dataclass
class Province:
    school_ids: list[int]
    class_ids: list[int]
    year_id: int
    students: list[int] = field(default_factory=list)


_serial = iter(range(500_000, 10_000_000))


async def add_students(
    db: Database, province: Province, count: int, *, unverified: int = 0
) -> list[int]:
    async with db.unit_of_work() as session:
        rows = []
        for n in range(count):
            sex = Sex.FEMALE if n % 2 else Sex.MALE
            name = f"Nguyễn {'Thị' if n % 2 else 'Văn'} Học Sinh {next(_serial)}"
            rows.append(
                models.Student(
                    personal_id=compose("001", 2012, sex, next(_serial)),
                    full_name=name,
                    search_name=fold(name),
                    birth_date=date(2012, 1 + n % 12, 1 + n % 28),
                    sex=sex,
                    ethnicity="Kinh",
                    school_id=province.school_ids[n % 2],
                    identity_status=IdentityStatus.UNVERIFIED
                    if n < unverified
                    else IdentityStatus.VERIFIED,
                )
            )
        session.add_all(rows)
        await session.flush()
        ids = [row.id for row in rows]
    province.students += ids
    return ids


async def add_sealed_transcripts(
    db: Database, province: Province, students: list[int]
) -> list[int]:
    async with db.unit_of_work() as session:
        rows = []
        for student_id in students:
            school = await session.scalar(
                select(models.Student.school_id).where(models.Student.id == student_id)
            )
            xml = f"<hocBa hocSinh='{student_id}'>{secrets.token_hex(8)}</hocBa>".encode()
            rows.append(
                models.Transcript(
                    document_id=str(uuid.uuid4()),
                    student_id=student_id,
                    school_year_id=province.year_id,
                    school_id=school,
                    class_id=province.class_ids[province.school_ids.index(school)],
                    version=1,
                    is_current=True,
                    state="SEALED",
                    xml=xml,
                    pdf=b"%PDF-1.7 " + xml,
                    xml_sha256=hashlib.sha256(xml).hexdigest(),
                )
            )
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def touch(db: Database, student_ids: list[int]) -> None:
    """Change the students (their ethnicity), which gives each a new change version."""
    async with db.unit_of_work() as session:
        for student in await session.scalars(
            select(models.Student).where(models.Student.id.in_(student_ids))
        ):
            student.ethnicity = "Tày" if student.ethnicity == "Kinh" else "Kinh"


@pytest.fixture
async def province(sync_db: Database) -> Province:
    async with sync_db.unit_of_work() as session:
        department = models.Department(code="01", name="Sở GDĐT Đồng bộ")
        session.add(department)
        await session.flush()
        district = models.District(department_id=department.id, code="SY", name="Quận Đồng Bộ")
        year = models.SchoolYear(
            code="2025-2026", starts_on=date(2025, 9, 5), ends_on=date(2026, 5, 31), is_current=True
        )
        session.add_all([district, year])
        await session.flush()
        schools = [
            models.School(
                department_id=department.id,
                district_id=district.id,
                moet_code=f"01SYNC0{n}",
                name=f"Trường THCS Đồng Bộ {n}",
                level=SchoolLevel.LOWER_SECONDARY,
                ownership=Ownership.PUBLIC,
            )
            for n in (1, 2)
        ]
        session.add_all(schools)
        await session.flush()
        classes = [
            models.SchoolClass(school_id=s.id, school_year_id=year.id, name="6A", grade=6)
            for s in schools
        ]
        session.add_all(classes)
        await session.flush()
        facts = Province([s.id for s in schools], [c.id for c in classes], year.id)
    await add_students(sync_db, facts, 30)
    return facts


#: How the PKCS#11 provider knows the department's token.
DEPARTMENT_USER = "SO-SYNC"


@dataclass(frozen=True)
class Department:
    """The department's organisation key on its token, and the providers file naming it."""

    token: SealToken
    providers_file: Path

    @property
    def signer_settings(self) -> dict[str, Any]:
        return {
            "signing_providers_file": self.providers_file,
            "national_signer_provider": "PKCS11",
            "national_signer_user": DEPARTMENT_USER,
            "national_signer_credential": self.token.key_id.hex(),
        }


def token_of(directory: Path, pki: DemoPKI, code: str, name: str) -> SealToken:
    return provision_seal_token(
        directory,
        pki=pki,
        school_name=name,
        school_code=code,
        label=f"org-{code}"[:32],
        user_pin=SEAL_PIN,
        so_pin=SEAL_SO_PIN,
    )


def providers_file(directory: Path, tokens: dict[str, SealToken]) -> Path:
    """A providers file with a [pkcs11.<user>] table per token, as an operator writes it."""
    path = directory / "providers.toml"
    tables = {
        user: {
            "module": token.module_path,
            "token_label": token.token_label,
            "pin": SEAL_PIN,
            "environment": token.environment,
        }
        for user, token in tokens.items()
    }
    path.write_text(providers_toml({"pkcs11": tables}))
    return path


@pytest.fixture(scope="module")
def department(pki: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> Department:
    directory = tmp_path_factory.mktemp("department")
    token = token_of(directory / "tokens", pki, DEPARTMENT_USER, "Sở GDĐT Đồng bộ")
    return Department(token, providers_file(directory, {DEPARTMENT_USER: token}))


def signer_of(department: Department) -> BatchSigner:
    """The department's signer, built from settings as a worker builds it."""
    settings = Settings(token_key_file=Path("unused.pem"), **department.signer_settings)
    signer = department_signer(settings)
    assert signer is not None
    return signer


@dataclass
class FarSides:
    sector: SectorDatabaseSimulator
    store: TranscriptStoreSimulator
    population: PopulationSimulator
    servers: dict[str, SimulatorServer]
    department: Department

    def services(self, signer: BatchSigner | None = None, *, signed: bool = True) -> SyncServices:
        """Clients of the far sides signing as the department, with ``signer``, or not at all."""
        if signed and signer is None:
            signer = signer_of(self.department)
        return SyncServices.connect(
            sector_url=self.servers["sector"].url,
            store_url=self.servers["store"].url,
            population_url=self.servers["population"].url,
            signer=signer if signed else None,
        )


@pytest.fixture
def far(pki: DemoPKI, department: Department) -> Iterator[FarSides]:
    check = SignatureCheck(roots=pki.roots, registered=[department.token.certificate])
    sides = FarSides(
        SectorDatabaseSimulator(check),
        TranscriptStoreSimulator(check),
        PopulationSimulator(),
        {},
        department,
    )
    for name, side in (
        ("sector", sides.sector),
        ("store", sides.store),
        ("population", sides.population),
    ):
        sides.servers[name] = SimulatorServer(side.app()).start()
    yield sides
    for server in sides.servers.values():
        server.stop()


class Workers:
    """The worker process, in this process: started, stopped and started again like one."""

    def __init__(self, settings: Settings, far: FarSides) -> None:
        self.settings = settings
        self.far = far
        self.worker: dramatiq.Worker | None = None
        self.broker: dramatiq.Broker | None = None
        self.retired: list[Database] = []

    def start(self) -> None:
        from hub.jobs import actors

        if self.worker is not None:
            return
        database = Database(self.settings.database_url)
        self.retired.append(database)
        runtime = JobRuntime(self.settings, database, sync=self.far.services())
        # A fresh broker and runtime, as a new process has.
        self.broker = actors.configure(self.settings, runtime)
        self.worker = dramatiq.Worker(self.broker, worker_threads=2, worker_timeout=50)
        self.worker.start()

    def stop(self, *, lose_messages: bool = False) -> None:
        """Stop (in-flight messages finish); ``lose_messages`` as a Redis restart would."""
        assert self.worker is not None and self.broker is not None
        self.worker.stop()
        if lose_messages:
            self.broker.flush_all()
        self.broker.close()
        self.worker = None

    def send(self, work: list[sync.Next]) -> None:
        from hub.jobs.actors import send

        send(work)


@pytest.fixture
async def workers(sync_db: Database, far: FarSides, province: Province) -> AsyncIterator[Workers]:
    settings = Settings(
        database_url=sync_db.url,
        redis_url=redis_url(),
        jobs_namespace=f"hub-sync-test-{uuid.uuid4().hex[:8]}",
        jobs_stall_seconds=1.0,
        token_key_file=Path("unused.pem"),
    )
    control = Workers(settings, far)
    control.start()
    yield control
    if control.worker is not None:
        control.stop(lose_messages=True)
    for database in control.retired:
        await database.engine.dispose(close=False)


@pytest.fixture
async def services(far: FarSides) -> AsyncIterator[SyncServices]:
    """Clients for calling the steps from the test's own event loop."""
    clients = far.services()
    yield clients
    await clients.aclose()


@pytest.fixture
async def synced(sync_db: Database, province: Province, workers: Workers) -> None:
    """A first run done: the province's students at the sector database (the step
    before the runs that push only what changed since)."""
    run_id, work = await start(sync_db)
    workers.send(work)
    await until(sync_db, run_id, "COMPLETED")


# --- GraphQL, with the sync's query and mutation types -------------------------------------------


@strawberry.type
class Query(SyncQueries):
    pass


@strawberry.type
class Mutation(SyncMutations):
    pass


SCHEMA = HubSchema(query=Query, mutation=Mutation)
RUNS = """{ syncRuns(first: 3) { runId state phase deadLetters total done
  students { sent accepted rejected sinceVersion throughVersion }
  transcripts { sent published rejected }
  identity { checked verified mismatched unknown byField { field count }
    issues { studentId result fields } } } }"""
RUN = """query($r: String!) { syncRun(runId: $r) { runId state reasonCode reason phase
  deadLetters nextRetryAt checkpoint students { total sent accepted rejected }
  transcripts { sent published rejected } } }"""
LETTERS = """query($r: String!, $open: Boolean!) { syncDeadLetters(runId: $r, openOnly: $open) {
  target entityId naturalKey itemVersion code message batchKey resolvedAt } }"""
START = """mutation($p: [SyncPhase!]) { startSync(phases: $p) { runId state phases } }"""


async def graphql(
    db: Database,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    caller: Caller = DEPARTMENT,
    send: Any = None,
) -> Any:
    reader = Reader(db.engine)
    context = Context(
        db=db,
        settings=Settings(database_url=db.url),
        reader=reader,
        caller_or_none=caller,
        send_jobs=send,
    )
    try:
        return await SCHEMA.execute(query, variable_values=variables, context_value=context)
    finally:
        await reader.close()


async def ok(db: Database, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    result = await graphql(db, query, variables, **kw)
    assert not result.errors, result.errors
    return result.data


# --- helpers -------------------------------------------------------------------------------------


async def start(
    db: Database, phases: tuple[Phase, ...] = tuple(Phase), options: SyncOptions = FAST
) -> tuple[str, list[sync.Next]]:
    async with db.unit_of_work() as session:
        job, work = await sync.start_sync(
            session, caller=DEPARTMENT, phases=phases, options=options
        )
        return job.job_id, work


async def job_of(db: Database, run_id: str) -> models.Job:
    async with db.sessions() as session:
        job = await session.scalar(select(models.Job).where(models.Job.job_id == run_id))
        assert job is not None
        return job


async def until(db: Database, run_id: str, *states: str, seconds: float = 15) -> models.Job:
    for _ in range(int(seconds / 0.05)):
        job = await job_of(db, run_id)
        if job.state in states:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"run did not reach {states}: {job.state} {job.reason} {job.checkpoint}")


async def versions(db: Database, student_ids: list[int]) -> dict[str, int]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(models.Student.personal_id, models.Student.change_version).where(
                models.Student.id.in_(student_ids)
            )
        )
        return dict(rows.all())


def assert_stored_once(far: FarSides, expected: dict[str, int], resubmitted: int = 0) -> None:
    """Each student is at the far side at its current version, and nothing came twice."""
    assert {pid: far.sector.students[pid]["version"] for pid in expected} == expected
    assert far.sector.resubmissions == resubmitted


# --- the tests -----------------------------------------------------------------------------------


async def test_the_far_side_stores_a_batch_sent_twice_once(far: FarSides, services) -> None:  # type: ignore[no-untyped-def]
    record = {
        "personalId": "001212000001",
        "ministryCode": None,
        "fullName": "Lê Văn Thử",
        "birthDate": "2012-01-01",
        "sex": "MALE",
        "ethnicity": "Kinh",
        "schoolCode": "01SYNC01",
        "identityStatus": "VERIFIED",
        "version": 1,
        "enrolment": "ENROLLED",
        "sourceId": 1,
    }
    row = [record[name] for name in protocol.STUDENT_FIELDS]
    invalid = [*row[:8], 2, "ENROLLED", 2]
    invalid[0] = "1"
    first = await services.sector.upsert_students("contract:1", [row, invalid])
    again = await services.sector.upsert_students("contract:1", [row])
    assert (first.replayed, again.replayed) == (False, True)
    assert first.accepted == again.accepted and list(first.accepted) == ["001212000001"]
    assert first.rejected["1"].code == protocol.Rejection.PERSONAL_ID_INVALID
    assert far.sector.applied == 1 and far.sector.resubmissions == 0


async def test_a_run_verifies_identities_pushes_students_and_publishes_transcripts(
    sync_db: Database, province: Province, far: FarSides, workers: Workers
) -> None:
    db = sync_db
    unverified = await add_students(db, province, 6, unverified=6)
    sealed = await add_sealed_transcripts(db, province, province.students[:3])
    async with db.sessions() as session:
        people = {
            s.id: s
            for s in await session.scalars(
                select(models.Student).where(models.Student.id.in_(unverified))
            )
        }
    # Two match, one's name is spelt differently, one's birth date differs, two are unknown.
    for n, student_id in enumerate(unverified[:4]):
        s = people[student_id]
        name = s.full_name.upper() if n == 1 else s.full_name  # case does not matter
        if n == 2:
            name = s.full_name.replace("Nguyễn", "Nguyên")
        born = date(2011, 2, 3) if n == 3 else s.birth_date
        far.population.add_citizen(s.personal_id, name, born)  # type: ignore[arg-type]

    # Only department-wide clients with sync:run may start a run.
    school_app = Caller("vendor", frozenset({"sync:run"}), OrgLevel.SCHOOL, frozenset({1}))
    for refused in (
        school_app,
        Caller("x", frozenset({"changes:read"}), OrgLevel.DEPARTMENT, None),
    ):
        result = await graphql(db, START, {"p": None}, caller=refused, send=workers.send)
        assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]

    started = (await ok(db, START, {"p": None}, send=workers.send))["startSync"]
    assert started["phases"] == ["IDENTITY", "STUDENTS", "TRANSCRIPTS"]
    # One run at a time.
    again = await graphql(db, START, {"p": ["STUDENTS"]}, send=workers.send)
    assert [e.extensions["code"] for e in again.errors] == ["INVALID_ARGUMENT"]
    await until(db, started["runId"], "COMPLETED")

    async with db.sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    select(models.Student.id, models.Student.identity_status).where(
                        models.Student.id.in_(unverified)
                    )
                )
            ).all()
        )
    assert [statuses[i] for i in unverified] == [
        IdentityStatus.VERIFIED,
        IdentityStatus.VERIFIED,
        IdentityStatus.MISMATCH,
        IdentityStatus.MISMATCH,
        IdentityStatus.UNKNOWN,
        IdentityStatus.UNKNOWN,
    ]
    run = (await ok(db, RUNS))["syncRuns"][0]
    assert run["runId"] == started["runId"] and run["state"] == "COMPLETED"
    assert run["identity"] | {"issues": None, "byField": None} == {
        "checked": 6,
        "verified": 2,
        "mismatched": 2,
        "unknown": 2,
        "issues": None,
        "byField": None,
    }
    assert sorted((f["field"], f["count"]) for f in run["identity"]["byField"]) == [
        ("birthDate", 1),
        ("fullName", 1),
    ]
    assert [i["fields"] for i in run["identity"]["issues"]] == [["fullName"], ["birthDate"], [], []]
    # Every student went to the sector database once, with the identity just found.
    assert run["students"] | {"sinceVersion": None, "throughVersion": None} == {
        "sent": 36,
        "accepted": 36,
        "rejected": 0,
        "sinceVersion": None,
        "throughVersion": None,
    }
    assert_stored_once(far, await versions(db, province.students))
    pid = people[unverified[2]].personal_id
    assert far.sector.students[pid]["identityStatus"] == "MISMATCH"
    # The sealed transcripts are in the national store, once each, and PUBLISHED.
    assert run["transcripts"] == {"sent": 3, "published": 3, "rejected": 0}
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(
                    models.Transcript.document_id,
                    models.Transcript.state,
                    models.TranscriptEvent.detail,
                )
                .join(
                    models.TranscriptEvent,
                    models.TranscriptEvent.transcript_id == models.Transcript.id,
                )
                .where(
                    models.Transcript.id.in_(sealed), models.TranscriptEvent.event == "PUBLISHED"
                )
            )
        ).all()
    assert len(rows) == 3 and {state for _, state, _ in rows} == {"PUBLISHED"}
    for document_id, _, detail in rows:
        stored = far.store.documents[(document_id, 1)]
        assert stored.ack_id in detail
    assert len(far.store.documents) == 3 and far.store.resubmissions == 0
    # Every batch went signed with the department's key, and every signature verified.
    assert far.sector.signed >= 1 and far.store.signed >= 1
    assert far.sector.signature_refusals == far.store.signature_refusals == []


async def test_the_next_run_pushes_only_what_changed(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    before = far.sector.applied
    changed = province.students[3:6]
    await touch(db, changed)
    run_id, work = await start(db, (Phase.STUDENTS,))
    workers.send(work)
    job = await until(db, run_id, "COMPLETED")
    assert job.checkpoint["students"]["sent"] == 3
    assert far.sector.applied - before == 3
    assert_stored_once(far, await versions(db, province.students))


async def test_a_message_delivered_twice_stores_each_batch_once(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None, services
) -> None:  # type: ignore[no-untyped-def]
    db = sync_db
    workers.stop()  # this test is the worker: two deliveries of one message, at once
    try:
        await touch(db, province.students[:12])
        run_id, _ = await start(db, (Phase.STUDENTS,), SyncOptions(student_batch=5))
        far.sector.faults.slow_seconds = 0.1  # both deliveries are on the wire together
        replays = far.sector.replays
        first, second = await asyncio.gather(
            sync.run(db, services, job_id=run_id), sync.run(db, services, job_id=run_id)
        )
        assert first == second == []  # one finished the run, the other stopped
        job = await job_of(db, run_id)
        assert job.state == "COMPLETED" and job.checkpoint["students"]["sent"] == 12
        assert far.sector.replays > replays  # the second delivery's batch was a replay…
        assert_stored_once(far, await versions(db, province.students))  # …stored once
        # A message for a finished run does nothing at all.
        requests = far.sector.requests
        assert await sync.run(db, services, job_id=run_id) == []
        assert far.sector.requests == requests
    finally:
        far.sector.faults.slow_seconds = 0
        workers.start()


async def test_a_far_side_down_mid_run_is_retried_with_back_off_until_it_is_back(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    await touch(db, province.students[:30])
    far.sector.faults.slow_seconds = 0.2
    batches = len(far.sector.answers)
    run_id, work = await start(db, (Phase.STUDENTS,))
    workers.send(work)
    server = far.servers["sector"]
    try:
        for _ in range(200):
            if len(far.sector.answers) > batches:
                break
            await asyncio.sleep(0.01)
        server.stop()  # the ministry's server goes away mid-run
        for _ in range(200):
            job = await job_of(db, run_id)
            if (job.checkpoint.get("retry") or {}).get("attempt", 0) >= 3:
                break
            await asyncio.sleep(0.05)
        assert job.state in ("PAUSED", "RUNNING"), job.reason
        assert job.checkpoint["retry"]["attempt"] >= 3  # waited 0.2 s, 0.4 s, 0.8 s…
        assert job.reason_code == "NATIONAL_SYSTEM_UNAVAILABLE"
        assert "Không kết nối được Cơ sở dữ liệu ngành giáo dục" in (job.reason or "")
        assert 0 < job.checkpoint["students"]["sent"] < 30
        run = (await ok(db, RUN, {"r": run_id}))["syncRun"]
        assert run["nextRetryAt"] is not None or run["state"] == "RUNNING"
    finally:
        server.start()
        far.sector.faults.slow_seconds = 0
    job = await until(db, run_id, "COMPLETED")
    assert job.checkpoint["students"]["sent"] == 30 and job.checkpoint["retry"] is None
    assert_stored_once(far, await versions(db, province.students))
    # A 5xx is waited out the same way.
    await touch(db, province.students[:3])
    far.sector.faults.fail_next = 2
    run_id, work = await start(db, (Phase.STUDENTS,))
    workers.send(work)
    job = await until(db, run_id, "COMPLETED")
    assert far.sector.faults.fail_next == 0 and job.checkpoint["students"]["accepted"] == 3


async def test_rejected_items_are_dead_letters_staff_see_until_a_later_run_delivers_them(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    rejected_students = province.students[6:8]
    await touch(db, province.students[6:10])
    transcripts = await add_sealed_transcripts(db, province, province.students[6:9])
    async with db.sessions() as session:
        pids = list(
            await session.scalars(
                select(models.Student.personal_id)
                .where(models.Student.id.in_(rejected_students))
                .order_by(models.Student.id)
            )
        )
        refused_document = await session.scalar(
            select(models.Transcript.document_id).where(models.Transcript.id == transcripts[0])
        )
    far.sector.faults.reject = {pid: "PERSONAL_ID_UNKNOWN" for pid in pids}
    far.store.faults.reject = {refused_document: "DOCUMENT_CONFLICT"}
    try:
        run_id, work = await start(db, (Phase.STUDENTS, Phase.TRANSCRIPTS))
        workers.send(work)
        await until(db, run_id, "COMPLETED")
    finally:
        far.sector.faults.reject, far.store.faults.reject = {}, {}
    run = (await ok(db, RUN, {"r": run_id}))["syncRun"]
    assert run["deadLetters"] == 3
    assert run["students"] == {"total": 4, "sent": 4, "accepted": 2, "rejected": 2}
    assert run["transcripts"] == {"sent": 3, "published": 2, "rejected": 1}
    letters = (await ok(db, LETTERS, {"r": run_id, "open": True}))["syncDeadLetters"]
    assert [(x["target"], x["code"]) for x in letters] == [
        ("SECTOR_DATABASE", "PERSONAL_ID_UNKNOWN"),
        ("SECTOR_DATABASE", "PERSONAL_ID_UNKNOWN"),
        ("TRANSCRIPT_STORE", "DOCUMENT_CONFLICT"),
    ]
    assert "không có trong cơ sở dữ liệu quốc gia" in letters[0]["message"]
    # Personal IDs masked for a client without personal-ids:read.
    assert {x["naturalKey"] for x in letters[:2]} == {"••••••••" + p[-4:] for p in pids}
    assert letters[2]["naturalKey"] == refused_document
    async with db.sessions() as session:
        state = await session.scalar(
            select(models.Transcript.state).where(models.Transcript.id == transcripts[0])
        )
    assert state == "SEALED"  # not published: it goes again with the next run

    # Put right at the far side; the next run delivers them and the letters are resolved.
    await touch(db, rejected_students)
    later, work = await start(db, (Phase.STUDENTS, Phase.TRANSCRIPTS))
    workers.send(work)
    await until(db, later, "COMPLETED")
    assert (await ok(db, LETTERS, {"r": run_id, "open": True}))["syncDeadLetters"] == []
    resolved = (await ok(db, LETTERS, {"r": run_id, "open": False}))["syncDeadLetters"]
    assert all(x["resolvedAt"] for x in resolved) and len(resolved) == 3
    assert far.store.documents[(refused_document, 1)]
    assert_stored_once(far, await versions(db, province.students))


async def test_an_interrupted_run_resumes_from_its_checkpoint(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    everyone = province.students
    await touch(db, everyone)
    far.sector.faults.slow_seconds = 0.1
    batches = len(far.sector.answers)
    run_id, work = await start(db, (Phase.STUDENTS,), replace(FAST, student_batch=3))
    workers.send(work)
    try:
        for _ in range(300):
            job = await job_of(db, run_id)
            if job.checkpoint["students"]["next_batch"] >= 2:
                break
            await asyncio.sleep(0.01)
        workers.stop(lose_messages=True)  # the worker goes, and Redis forgets the messages
        stopped = await job_of(db, run_id)
        done = stopped.checkpoint["students"]
        assert stopped.state == "RUNNING" and 0 < done["sent"] < len(everyone), done
        assert done["after"] < done["upper"]
    finally:
        far.sector.faults.slow_seconds = 0
        workers.start()  # a new worker: its watchdog finds the silent run and resumes it
    job = await until(db, run_id, "COMPLETED")
    assert job.checkpoint["students"]["sent"] == len(everyone)
    keys = [k for k in far.sector.answers if k.startswith(run_id)]
    assert len(far.sector.answers) - batches == len(keys) == -(-len(everyone) // 3)
    assert_stored_once(far, await versions(db, everyone))
    assert (await job_of(db, run_id)).checkpoint["students"]["accepted"] == len(everyone)
    async with db.sessions() as session:
        letters = await session.scalar(select(func.count()).select_from(models.SyncDeadLetter))
    assert letters == 0  # the interrupted run refused nothing


async def test_a_batch_refused_as_a_whole_fails_the_run_for_staff_to_see(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    await touch(db, province.students[:2])
    far.sector.faults.server_error = 401
    try:
        run_id, work = await start(db, (Phase.STUDENTS,))
        workers.send(work)
        job = await until(db, run_id, "FAILED")
    finally:
        far.sector.faults.server_error = None
    assert job.reason_code == "NATIONAL_SYSTEM_REFUSED"
    assert "kiểm tra cấu hình kết nối" in (job.reason or "")
    # The next run continues from where this one stopped.
    run_id, work = await start(db, (Phase.STUDENTS,))
    workers.send(work)
    job = await until(db, run_id, "COMPLETED")
    assert job.checkpoint["students"]["accepted"] == 2
    assert_stored_once(far, await versions(db, province.students))
    async with db.sessions() as session:  # nothing is left running
        assert not await session.scalar(
            select(func.count()).where(
                models.Job.kind == sync.KIND, models.Job.state.in_(core.OPEN)
            )
        )


async def test_a_paused_run_can_be_cancelled(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    await touch(db, province.students[:2])
    server = far.servers["sector"]
    server.stop()
    try:
        run_id, work = await start(db, (Phase.STUDENTS,))
        workers.send(work)
        await until(db, run_id, "PAUSED")
        cancel = "mutation($r: String!) { cancelSync(runId: $r) { state reason } }"
        cancelled = (await ok(db, cancel, {"r": run_id}))["cancelSync"]
        assert cancelled == {"state": "CANCELLED", "reason": "Lượt đồng bộ đã bị huỷ."}
    finally:
        server.start()
    await asyncio.sleep(0.5)  # the delayed retry comes, and leaves the cancelled run alone
    assert (await job_of(db, run_id)).state == "CANCELLED"
    run_id, work = await start(db, (Phase.STUDENTS,))  # the next run takes it from there
    workers.send(work)
    job = await until(db, run_id, "COMPLETED")
    assert job.checkpoint["students"]["accepted"] == 2


# --- signed in transit, pupils who leave, a stuck run cancelled --------------------------------


class SignsOtherBytes(BatchSigner):
    """The department's real key and certificate, signing bytes other than the body sent:
    a batch changed on the way, as the far side sees it."""

    async def sign(self, body: bytes) -> bytes:
        return await super().sign(body + b" ")


async def test_every_batch_carries_the_departments_signature_which_the_far_side_checks(
    far: FarSides, services, department: Department, pki: DemoPKI, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    record = [
        "001212000002", None, "Lê Thị Ký", "2012-02-02", "FEMALE", "Kinh", "01SYNC01",
        "VERIFIED", 1, "ENROLLED", 1,
    ]  # fmt: skip
    answer = await services.sector.upsert_students("signed:1", [record])
    assert list(answer.accepted) == ["001212000002"]
    assert far.sector.signed == 1 and far.sector.signature_refusals == []

    # Refused, before anything is stored or replayed: no signature; a signature over other
    # bytes; a key the national roots do not vouch for; a valid key that is not the
    # department's registered one (a school's seal).
    stranger = DemoPKI.create("http://127.0.0.1:9")  # another CA, never trusted here
    school = token_of(tmp_path / "tokens", pki, "01SYNC01", "Trường THCS Đồng Bộ 1")
    outsider = token_of(tmp_path / "tokens", stranger, "SO-KHAC", "Sở khác")
    others = providers_file(tmp_path, {"01SYNC01": school, "SO-KHAC": outsider})

    def signer(user: str, token: SealToken, kind: type[BatchSigner] = BatchSigner) -> BatchSigner:
        settings = Settings(
            token_key_file=Path("unused.pem"),
            signing_providers_file=others
            if token is not department.token
            else department.providers_file,
            national_signer_provider="PKCS11",
            national_signer_user=user,
            national_signer_credential=token.key_id.hex(),
        )
        built = department_signer(settings)
        assert built is not None
        return kind(adapter=built.adapter, user_id=user, credential_id=built.credential_id)

    refusal = protocol.SignatureRefusal
    cases = [
        (None, refusal.REQUIRED),
        (signer(DEPARTMENT_USER, department.token, SignsOtherBytes), refusal.INVALID),
        (signer("SO-KHAC", outsider), refusal.UNTRUSTED),
        (signer("01SYNC01", school), refusal.NOT_REGISTERED),
    ]
    for n, (wrong, code) in enumerate(cases):
        clients = far.services(wrong, signed=wrong is not None)
        try:
            with pytest.raises(FarSideError) as refused:
                # The key already answered: a replay needs a good signature as well.
                await clients.sector.upsert_students("signed:1" if n % 2 else f"bad:{n}", [record])
        finally:
            await clients.aclose()
        assert refused.value.code is FarSideCode.SIGNATURE_REFUSED, refused.value
        assert not refused.value.retryable and code in refused.value.detail
        assert "từ chối chữ ký số của Sở" in refused.value.message
    assert far.sector.signature_refusals == [code for _, code in cases]
    assert far.sector.applied == 1 and far.sector.replays == 0


async def test_a_run_whose_signature_is_refused_fails_and_the_next_signed_run_delivers(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    await touch(db, province.students[:4])
    workers.stop()  # this test is the worker, with a signer that signs the wrong bytes
    applied = far.sector.applied
    try:
        good = signer_of(far.department)
        wrong = far.services(SignsOtherBytes(adapter=good.adapter, user_id=good.user_id,
                                             credential_id=good.credential_id))  # fmt: skip
        try:
            run_id, _ = await start(db, (Phase.STUDENTS,))
            assert await sync.run(db, wrong, job_id=run_id) == []
        finally:
            await wrong.aclose()
    finally:
        workers.start()
    job = await job_of(db, run_id)
    assert (job.state, job.reason_code) == ("FAILED", "NATIONAL_SIGNATURE_REFUSED")
    assert "từ chối chữ ký số của Sở" in (job.reason or "") and "SIGNATURE_INVALID" in (
        job.reason or ""
    )
    assert (
        far.sector.applied == applied and far.sector.signature_refusals[-1] == "SIGNATURE_INVALID"
    )
    run = (await ok(db, RUN, {"r": run_id}))["syncRun"]
    assert run["reasonCode"] == "NATIONAL_SIGNATURE_REFUSED"
    # Signed again as it should be, the next run takes the same changes through.
    run_id, work = await start(db, (Phase.STUDENTS,))
    workers.send(work)
    job = await until(db, run_id, "COMPLETED")
    assert job.checkpoint["students"]["accepted"] == 4
    assert_stored_once(far, await versions(db, province.students))


async def test_a_pupil_who_leaves_the_provinces_schools_is_pushed_as_a_tombstone(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    leaving = province.students[:2]
    async with db.unit_of_work() as session:  # withdrawn, as withdrawStudents leaves them
        for student in await session.scalars(
            select(models.Student).where(models.Student.id.in_(leaving))
        ):
            student.school_id = None
    run_id, work = await start(db, (Phase.STUDENTS,))
    workers.send(work)
    job = await until(db, run_id, "COMPLETED")
    done = job.checkpoint["students"]
    assert (done["sent"], done["accepted"], done["rejected"]) == (2, 2, 0)
    pids = await versions(db, leaving)
    assert_stored_once(far, await versions(db, province.students))
    for pid in pids:
        assert far.sector.students[pid]["enrolment"] == "LEFT"
        assert far.sector.students[pid]["schoolCode"] is None
    assert far.sector.departed == set(pids)
    async with db.sessions() as session:  # the change feed's tombstones, the same departures
        left = await session.scalar(
            select(func.count()).where(
                models.Tombstone.entity == "student", models.Tombstone.operation == "left"
            )
        )
    assert left == 2
    # Back at one of the province's schools: enrolled again at the sector database.
    async with db.unit_of_work() as session:
        student = await session.get(models.Student, leaving[0])
        assert student is not None
        student.school_id = province.school_ids[1]
    run_id, work = await start(db, (Phase.STUDENTS,))
    workers.send(work)
    await until(db, run_id, "COMPLETED")
    back = next(iter(await versions(db, leaving[:1])))
    assert far.sector.students[back]["enrolment"] == "ENROLLED"
    assert far.sector.students[back]["schoolCode"] == "01SYNC02"
    assert far.sector.departed == set(pids) - {back}


async def test_a_run_stuck_waiting_on_a_far_side_is_cancelled_at_once(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None, services
) -> None:  # type: ignore[no-untyped-def]
    db = sync_db
    await touch(db, province.students[:3])
    workers.stop()  # this test is the worker: the step it runs must end when cancelled
    far.sector.faults.slow_seconds = 8  # well past the time the cancel must take
    try:
        run_id, _ = await start(db, (Phase.STUDENTS,))
        requests = far.sector.requests
        stuck = asyncio.ensure_future(sync.run(db, services, job_id=run_id))
        for _ in range(200):
            if far.sector.requests > requests:
                break
            await asyncio.sleep(0.01)
        assert far.sector.requests > requests and not stuck.done()  # on the wire, waiting
        cancel = "mutation($r: String!) { cancelSync(runId: $r) { state reason } }"
        cancelled = (await ok(db, cancel, {"r": run_id}))["cancelSync"]
        assert cancelled["state"] == "CANCELLED"
        began = time.monotonic()
        assert await asyncio.wait_for(stuck, timeout=5) == []
        assert time.monotonic() - began < sync.CANCEL_POLL_SECONDS + 1.5
    finally:
        far.sector.faults.slow_seconds = 0
        workers.start()
    job = await job_of(db, run_id)
    assert job.state == "CANCELLED" and job.checkpoint["students"]["sent"] == 0
    # The next run takes the changes through.
    run_id, work = await start(db, (Phase.STUDENTS,))
    workers.send(work)
    job = await until(db, run_id, "COMPLETED")
    assert job.checkpoint["students"]["accepted"] == 3


async def test_the_departments_token_unplugged_pauses_the_run_until_it_signs_again(
    sync_db: Database, province: Province, far: FarSides, workers: Workers, synced: None
) -> None:
    db = sync_db
    await touch(db, province.students[:2])
    token = far.department.token
    unplugged = BatchSigner(
        adapter=Pkcs11Adapter(
            module_path=token.module_path,
            token_label="not-plugged-in",
            user_pin=SEAL_PIN,
            environment=token.environment,
        ),
        user_id=DEPARTMENT_USER,
        credential_id=token.key_id.hex(),
    )
    workers.stop()  # this test is the worker, its department token not plugged in
    requests = far.sector.requests
    try:
        clients = far.services(unplugged)
        try:
            run_id, _ = await start(db, (Phase.STUDENTS,))
            again = await sync.run(db, clients, job_id=run_id)
        finally:
            await clients.aclose()
    finally:
        workers.start()
    job = await job_of(db, run_id)
    assert (job.state, job.reason_code) == ("PAUSED", "PROVIDER_UNAVAILABLE")
    assert job.checkpoint["retry"]["system"] == sync.DEPARTMENT_SIGNER
    assert [(n.actor, n.args) for n in again] == [(sync.ACTOR, (run_id,))]
    assert again[0].delay_seconds > 0 and far.sector.requests == requests  # nothing sent
    # Plugged in again (the workers sign with the token): the run resumes by itself.
    job = await until(db, run_id, "COMPLETED")
    assert job.checkpoint["students"]["accepted"] == 2


async def test_the_demo_starts_the_national_systems_so_a_signed_run_works_out_of_the_box(
    sync_db: Database, province: Province, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sync_db
    unverified = await add_students(db, province, 3, unverified=3)
    suite = start_demo_signing(tmp_path / "signing", confirm_delay=0.2)
    national = await start_national(
        db, suite, directory=tmp_path / "national", department_user="SO-DEMO"
    )
    try:
        assert national.signed
        # What the demo prints for `hub sync national` in another terminal is all it needs.
        for name, value in {"HUB_DATABASE_URL": db.url, **national.environment()}.items():
            monkeypatch.setenv(name, value)
        services = SyncServices.from_settings(Settings(token_key_file=Path("unused.pem")))
        assert services is not None and services.signer is not None
        try:
            run_id, work = await start(db)
            while work:
                work = await sync.run(db, services, job_id=run_id)
        finally:
            await services.aclose()
        job = await job_of(db, run_id)
        assert job.state == "COMPLETED", job.reason
        # The population database knows the province's pupils as recorded.
        assert job.checkpoint["identity"]["verified"] == len(unverified)
        assert set(national.sector.students) == set(await versions(db, province.students))
        assert national.sector.signed >= 1 and national.sector.signature_refusals == []
    finally:
        national.stop()
        await suite.aclose()


async def test_the_batch_signature_is_a_detached_cms_that_openssl_verifies(
    department: Department, pki: DemoPKI, tmp_path: Path
) -> None:
    """Checked by an implementation the hub does not use to make it: OpenSSL's ``cms``."""
    signer = signer_of(department)
    try:
        body = '{"fields":[],"rows":[["Lê Thị Ký"]]}'.encode()
        (tmp_path / "body.json").write_bytes(body)
        (tmp_path / "batch.p7s").write_bytes(await signer.sign(body))
    finally:
        await signer.aclose()
    (tmp_path / "roots.pem").write_bytes(pki.roots_pem())

    def openssl(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "cms", *arguments, "-inform", "DER", "-in", "batch.p7s"],
            cwd=tmp_path, capture_output=True, text=True, check=False,
        )  # fmt: skip

    def verify(content: str) -> subprocess.CompletedProcess[str]:
        return openssl("-verify", "-binary", "-purpose", "any", "-content", content,
                       "-CAfile", "roots.pem", "-out", "/dev/null")  # fmt: skip

    verified = verify("body.json")
    assert verified.returncode == 0, verified.stderr
    (tmp_path / "changed.json").write_bytes(body.replace("Ký".encode(), "Kỳ".encode()))
    assert verify("changed.json").returncode != 0
    printed = openssl("-cmsout", "-print").stdout
    assert "eContent: <ABSENT>" in printed  # detached: the body travels as itself
    for attribute in (
        "contentType",
        "messageDigest",
        "signingTime",
        "id-smime-aa-signingCertificateV2",
    ):
        assert attribute in printed, attribute
