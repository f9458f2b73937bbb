"""Benchmark: a district's bulk signing — every transcript × homeroom, principal, seal.

Long Biên's primary pupils (34,911 by default, ``--pupils`` to scale) in classes of
35, in schools of ~1,150 pupils; each class's homeroom teacher and each principal
at the Government CA simulator (RSSP, phone confirmation after the simulators'
default delay of 1 s; ``--confirm-seconds`` for slower people, whose chunks are asked
several times before an answer), each school's seal on its own SoftHSM2 token. The batches
run on ``--processes`` Dramatiq worker processes (what ``hub worker`` starts)
against PostgreSQL and Redis; the simulators and the TSA run in this process. Timed:
from starting the homeroom batches (the workers already up) until the last seal is
on; each role's batches start when the previous role's are done. Printed besides:
the rate every 30 s, the CPU seconds of the workers (each role's, and per signature
against the engine's), of this process (simulators, TSA) and of the whole machine
with how busy it was, and of PostgreSQL and Redis within it, and how long a provider
transaction took from sending to its signatures recorded.

The workers' CPU per signature is held to the engine's own cost measured in the same
run: prepare+finish of one XML and one PDF per role on the run's sample document (the
provider's RSA signing and the TSA's token signing left out: both are the far sides'
work, done by the simulators in the run), B-B and B-T. This machine's speed drifts over
minutes (the same work has taken 20 % more CPU time from one run to the next, and once
70 % more right after a run), and the same work costs more CPU time on a busy machine
(shared caches and cores) than on a quiet one; so an engine sampler (:class:`EngineSampler`),
a process of its own started with the timed run, measures a round of the engine every
second while the workers run, and the ratio is taken against the medians of its rounds
(each role's window is printed too). The engine measured in this process with the
workers idle, before and after the run, is printed as well, with the ratio to the
faster of the two.

Before the timed run, a small school (:data:`WARM_UP`) goes through the three roles on
the workers, as the engine's own measurement warms its caches first: a worker's first
chunks load what it keeps for its life.

The school seal's provider is a SoftHSM2 token loaded into the worker process, so
for one role in three the workers' CPU holds the provider's own work — opening a
session on the token, reading the credential, the RSA signing of every digest —
that a remote provider (the people's CAs) does on its own servers. Against the
plain engine figure the seal role is charged for work no other role does. So the
token's cost is measured too (:func:`token_round`: a seal chunk's calls to the
token, per transcript; by the sampler, on the run's token, and in this process before
the run) and a third of it added to the B-T engine figure (each role is a third of the
signatures): "the B-T engine with the seal token's signing", the figure the workers' CPU
per signature is held to. The plain B-B and B-T ratios are printed as well.

A seal batch records the sealed documents B-T and leaves making them long-term (OCSP
answers, archive timestamps) to the archive job (hub/jobs/signing.py): so the signing
figures hold no long-term work. After the signing, an archive run on the same workers
makes the sealed transcripts long-term, and its time and CPU are printed apart
(``--skip-archive`` leaves it out). The seal token (SoftHSM2) is in the workers, so its
RSA signing — the provider's work — is in the workers' CPU. ``--profile DIR`` samples
each worker's event loop with pyinstrument (bench/_profiled_worker.py).

Batches are started for a whole school as the demo starts them (each chunk asks its
role holder: ``apps_may_name_signers``), not signed in as each teacher (issue 11);
``--as-people`` starts them as production does: each homeroom teacher their class's
batch and the principal the school's, signed in (their batches' steps act for them).

The transcripts' documents are one rendered sample (the signing work per document
is the same; rendering 35,000 distinct PDFs first would take longer than the run).

    .venv/bin/python bench/bulk_signing.py --processes 1
    .venv/bin/python bench/bulk_signing.py --processes 2
    .venv/bin/python bench/bulk_signing.py --processes 2 --pupils 3000   # a quick look

Scaling from 1 to 2 worker processes cannot show on a 2-core machine that one process
already keeps busy; ``--cpu-limit CORES`` gives each worker process a CPU quota (as a
pod's ``limits.cpu``), so the machine has room for both and the rates compare::

    .venv/bin/python bench/bulk_signing.py --processes 1 --pupils 1500 --cpu-limit 0.5
    .venv/bin/python bench/bulk_signing.py --processes 2 --pupils 1500 --cpu-limit 0.5
"""

import argparse
import asyncio
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from hub.auth.access import Caller  # noqa: E402
from hub.auth.people import bind, load_person  # noqa: E402
from hub.cli.worker import THREADS  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.db import models, roles  # noqa: E402
from hub.db.engine import Database  # noqa: E402
from hub.db.migrate import upgrade  # noqa: E402
from hub.demo.signing import start_demo_signing  # noqa: E402
from hub.documents import samples  # noqa: E402
from hub.domain.enums import (  # noqa: E402
    OrgLevel,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)
from hub.domain.personal_id import compose  # noqa: E402
from hub.domain.signers import SIGNING_ORDER, SignerRole  # noqa: E402
from hub.jobs import archive  # noqa: E402
from hub.jobs import signing as batches  # noqa: E402
from hub.signing.pades import finish_pdf, prepare_pdf  # noqa: E402
from hub.signing.xades import finish_xml, prepare_xml  # noqa: E402
from hub.transcripts.service import render  # noqa: E402
from tests import signing_support  # noqa: E402
from tests.schools import _certificate  # noqa: E402  (the tests' active certificate)

CLASS_SIZE = 35
SCHOOL_SIZE = 1_150
#: Rounds of the engine's own cost measured before the run (each: the three roles).
ENGINE_ROUNDS = 60
#: Pupils of the school every role signs on the workers before the timed run (four
#: classes: a chunk of each role on each worker process), as the engine's own
#: measurement warms its caches first: a worker's first chunks load what it keeps
#: for its life (fonts, certificates, the seal token's session, compiled statements).
WARM_UP = 4 * CLASS_SIZE


def school_sizes(pupils: int) -> list[int]:
    """The run's schools: ``pupils`` in schools of :data:`SCHOOL_SIZE`, the last one smaller."""
    return [min(SCHOOL_SIZE, pupils - start) for start in range(0, pupils, SCHOOL_SIZE)]


async def build(db: Database, demo, sizes: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    """Schools of these sizes, staff with certificates at the simulators, and READY
    transcripts."""
    xml, pdf = await render(samples.primary(1))
    digest = hashlib.sha256(xml).hexdigest()
    now = datetime.now(UTC)
    serial = iter(range(1, 10_000_000))
    school_ids = []
    async with db.unit_of_work() as session:
        department = models.Department(code="01", name="Sở GDĐT (benchmark)")
        session.add(department)
        await session.flush()
        district = models.District(department_id=department.id, code="LB", name="Long Biên")
        year = models.SchoolYear(
            code="2025-2026", starts_on=date(2025, 9, 5), ends_on=date(2026, 5, 31), is_current=True
        )
        session.add_all([district, year])
        await session.flush()
        for number, size in enumerate(sizes, start=1):
            school = models.School(
                department_id=department.id,
                district_id=district.id,
                moet_code=f"01LB{number:04d}",
                name=f"Trường Tiểu học Long Biên {number}",
                level=SchoolLevel.PRIMARY,
                ownership=Ownership.PUBLIC,
            )
            session.add(school)
            await session.flush()
            school_ids.append(school.id)

            principal = _person(school.id, StaffRole.PRINCIPAL, next(serial))
            classes = -(-size // CLASS_SIZE)
            teachers = [
                _person(school.id, StaffRole.HOMEROOM, next(serial)) for _ in range(classes)
            ]
            session.add_all([principal, *teachers])
            await session.flush()
            for owner in [principal, *teachers]:
                session.add(_certificate(SigningProvider.BCY, now, staff_id=owner.id))
            session.add(_certificate(SigningProvider.PKCS11, now, school_id=school.id))
            rows = [
                models.SchoolClass(
                    school_id=school.id,
                    school_year_id=year.id,
                    name=f"{1 + c % 5}A{c}",
                    grade=1 + c % 5,
                    homeroom_teacher_id=teacher.id,
                )
                for c, teacher in enumerate(teachers)
            ]
            session.add_all(rows)
            await session.flush()
            await demo.enrol_school(session, school.id)
            for c, school_class in enumerate(rows):
                count = min(CLASS_SIZE, size - c * CLASS_SIZE)
                students = [
                    {
                        "personal_id": compose("001", 2016, Sex.MALE, next(serial)),
                        "full_name": "Học sinh",
                        "search_name": "hoc sinh",
                        "school_id": school.id,
                    }
                    for _ in range(count)
                ]
                ids = list(
                    await session.scalars(
                        insert(models.Student).returning(models.Student.id), students
                    )
                )
                await session.execute(
                    insert(models.Transcript),
                    [
                        {
                            "document_id": str(uuid.uuid4()),
                            "student_id": student,
                            "school_year_id": year.id,
                            "school_id": school.id,
                            "class_id": school_class.id,
                            "state": "READY",
                            "xml": xml,
                            "pdf": pdf,
                            "xml_sha256": digest,
                        }
                        for student in ids
                    ],
                )
    return school_ids


async def _engine_round():  # type: ignore[no-untyped-def]
    """A coroutine function measuring one round of the engine's own work: given whether
    to timestamp (B-T; else B-B), the CPU seconds of ``prepare_xml`` + ``finish_xml`` +
    ``prepare_pdf`` + ``finish_pdf`` of the run's sample document for each role, in
    signing order, on the document as the roles before it left it (the teacher on the
    unsigned one, and so on: each role's costs more than the one before); the provider's RSA signing
    is left out (it is the provider's). With it, the demo TSA that answers in another
    thread (``DemoPKI.timestamper_apart``, whose CPU ``thread_time`` does not count)."""
    from hub.adapters.signing.pki import DemoPKI
    from hub.adapters.signing.simulator import sign_digest

    xml, pdf = await render(samples.primary(1))
    pki = DemoPKI.create("http://127.0.0.1:9")  # nobody serves its OCSP
    timestamper = pki.timestamper_apart()
    people = signing_support.school_signers(pki)
    turns = list(zip(SIGNING_ORDER, people, strict=True))
    found = []  # (role, who, xml, pdf) as each role finds the documents
    for role, who in turns:
        found.append((role, who, xml, pdf))
        xml = await signing_support.sign(xml, role, who)
        pdf = await signing_support.sign(pdf, role, who)

    async def one(stamped: bool) -> list[float]:
        stamper = timestamper if stamped else None
        each = []
        for role, who, xml, pdf in found:
            spent = 0.0
            started = time.thread_time()
            prepared_xml = prepare_xml(xml, role=role, certificate=who.certificate, chain=who.chain)
            spent += time.thread_time() - started
            signature = sign_digest(who.key, prepared_xml.digest)
            started = time.thread_time()
            await finish_xml(prepared_xml, signature, timestamper=stamper)
            prepared_pdf = await prepare_pdf(
                pdf, role=role, certificate=who.certificate, chain=who.chain, timestamper=stamper
            )
            spent += time.thread_time() - started
            signature = sign_digest(who.key, prepared_pdf.digest)
            started = time.thread_time()
            await finish_pdf(prepared_pdf, signature, timestamper=stamper)
            spent += time.thread_time() - started
            each.append(spent)
        return each

    for _ in range(3):  # warm: caches of certificates, fonts, the TSA's dummy token
        await one(False)
        await one(True)
    return one


async def engine_cost(rounds: int = ENGINE_ROUNDS) -> tuple[float, float]:
    """The engine's own CPU seconds per signature (:func:`_engine_round`), B-B (no
    timestamp, as bench/signing_xml.py and bench/signing_pdf.py measure it) and B-T
    (the engine's side of the timestamps: the requests, the tokens checked and
    embedded, without the TSA's own work, which in the run is the simulators'):
    medians of ``rounds``, measured in this process with the workers idle."""
    one = await _engine_round()
    b_b, b_t = [], []
    for _ in range(rounds):  # interleaved, so a slower moment of the machine hits both
        b_b.append(statistics.mean(await one(False)))
        b_t.append(statistics.mean(await one(True)))
    return statistics.median(b_b), statistics.median(b_t)


#: Seconds the engine sampler rests between its rounds: ~10 % of a core, so that it
#: hardly changes the load it measures under.
SAMPLER_REST = 1.0
#: How the sampler's lines of figures begin.
SAMPLE = "engine-sample"


async def engine_samples(school: str, credential_id: str) -> None:
    """The engine sampler (``--engine-sampler``): in a process of its own, a round of
    the engine (:func:`_engine_round`, B-B and B-T) and of the seal token's signing
    (:func:`token_round`, on the run's token as a worker reaches it: the settings of
    the workers' environment) every :data:`SAMPLER_REST` seconds until stopped, each
    printed as a line: the wall-clock time, the CPU seconds per signature of the three
    (the engine's averaged over the roles), and the B-T engine's of each role."""
    from hub.config import get_settings
    from hub.signing.setup import signing_services

    one = await _engine_round()
    signing = signing_services(get_settings())
    adapter = signing.providers.adapter(SigningProvider.PKCS11)
    await token_round(adapter, school, credential_id)  # opens the token's session
    while True:
        b_b, b_t = await one(False), await one(True)
        token = await token_round(adapter, school, credential_id)
        figures = [statistics.mean(b_b), statistics.mean(b_t), token, *b_t]
        print(SAMPLE, time.time(), *figures, flush=True)
        await asyncio.sleep(SAMPLER_REST)


@dataclass(frozen=True)
class Engine:
    """The engine's CPU seconds per signature as the sampler measured them."""

    b_b: float
    b_t: float
    #: The seal token's signing, per seal signature.
    token: float
    #: The B-T engine of each role.
    roles: dict[SignerRole, float]

    @property
    def with_token(self) -> float:
        """B-T with a third of the seal token's signing (one signature in three is a seal)."""
        return self.b_t + self.token / len(SIGNING_ORDER)

    def of(self, role: SignerRole) -> float:
        """``role``'s B-T engine, with the token's signing for the seal."""
        return self.roles[role] + (self.token if role is SignerRole.SCHOOL_SEAL else 0.0)


class EngineSampler:
    """The engine's cost measured throughout the run, where the workers run: the same
    prepare and finish cost more CPU time on a busy machine than on a quiet one (shared
    caches and cores), and this machine's speed drifts over minutes, so the engine
    measured before or after the run is not the engine the workers ran with. A process
    of its own (:func:`engine_samples`) whose CPU counts in the machine's, not the
    workers'."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        #: (wall-clock time, B-B, B-T, token, B-T of each role in signing order)
        self.samples: list[tuple[float, ...]] = []
        self.first = asyncio.Event()  # set once the first round is in
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, environment: dict[str, str], school: str, credential_id: str
    ) -> "EngineSampler":
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--engine-sampler",
            school,
            credential_id,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def first_round(self) -> None:
        """Wait for the sampler's first round; a sampler that ended before it stops the run."""
        ended = asyncio.create_task(self.process.wait())
        first = asyncio.create_task(self.first.wait())
        await asyncio.wait([ended, first], return_when=asyncio.FIRST_COMPLETED)
        if not first.done():
            first.cancel()
            raise SystemExit(f"the engine sampler ended (exit status {self.process.returncode})")
        ended.cancel()

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            if not line.startswith(SAMPLE.encode()):
                continue  # what else the process prints (the adapters' logs)
            self.samples.append(tuple(float(value) for value in line.split()[1:]))
            self.first.set()

    def between(self, start: float, end: float) -> Engine | None:
        """Medians of the rounds that ended between ``start`` and ``end`` (wall-clock
        times); None if none did."""
        chosen = [sample for sample in self.samples if start <= sample[0] <= end]
        if not chosen:
            return None
        b_b, b_t, token, *roles = (
            statistics.median(column) for column in list(zip(*chosen, strict=True))[1:]
        )
        return Engine(b_b, b_t, token, dict(zip(SIGNING_ORDER, roles, strict=True)))

    async def stop(self) -> None:
        self.process.terminate()
        await self.process.wait()
        await self._reading


async def token_cost(db: Database, demo, school_id: int, rounds: int = 5) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds per seal signature that the school's SoftHSM2 token spends in the
    process that calls it (:func:`token_round`), median of ``rounds``, measured here
    with the workers idle, on a token of the run."""
    school, credential_id = await _seal_credential(db, school_id)
    adapter = demo.signing.providers.adapter(SigningProvider.PKCS11)
    spent = [await token_round(adapter, school, credential_id) for _ in range(rounds + 1)]
    return statistics.median(spent[1:])  # the first opened the token's session


async def _seal_credential(db: Database, school_id: int) -> tuple[str, str]:
    """The school's code and its seal's credential id at the token."""
    async with db.sessions() as session:
        school = await session.get(models.School, school_id)
        row = await session.scalar(
            select(models.SigningCertificate).where(
                models.SigningCertificate.school_id == school_id
            )
        )
    assert school is not None and row is not None
    return school.moet_code, row.credential_id


async def token_round(adapter, school: str, credential_id: str) -> float:  # type: ignore[no-untyped-def]
    """The CPU seconds per transcript of what a worker asks of a school's seal token for
    one seal chunk: the credential read from the token, then every digest of the chunk
    signed in one session. A remote provider does this work on its own servers, so it
    is the provider's, not the engine's."""
    credential = await adapter.credential(school, credential_id)
    chunk = min(batches.MAX_CHUNK, credential.max_batch // 2)
    digests = [hashlib.sha256(bytes([n % 256, n // 256])).digest() for n in range(2 * chunk)]
    started = time.process_time()
    credential = await adapter.credential(school, credential_id)
    await adapter.sign_hashes(credential, digests, [""] * len(digests))
    return (time.process_time() - started) / chunk


def _person(school_id: int, role: StaffRole, serial: int) -> models.Staff:
    name = f"Giáo viên {serial}"
    return models.Staff(
        personal_id=compose("001", 1985, Sex.FEMALE, serial),
        full_name=name,
        search_name=name.lower(),
        assignments=[models.StaffAssignment(school_id=school_id, role=role)],
    )


def _start_workers(command: list[str], environment: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)


async def run(args: argparse.Namespace) -> None:
    from hub.jobs.actors import configure

    base = make_url(args.database_url)
    name = f"bench_sign_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    workers: list[subprocess.Popen] = []
    cgroups: list[Path] = []
    engine_bb, engine_bt = await engine_cost()
    print(
        f"engine, in this process before the run: prepare+finish of one XML and one PDF, "
        f"{1000 * engine_bb:.2f} ms CPU per signature B-B, {1000 * engine_bt:.2f} ms B-T "
        f"(the TSA's own signing left out), average of the three roles",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    demo = start_demo_signing(work, confirm_delay=args.confirm_seconds)
    try:
        db = Database(url)
        await upgrade(db.engine)
        started = time.perf_counter()
        warm_up, *school_ids = await build(db, demo, [WARM_UP, *school_sizes(args.pupils)])
        print(f"built {args.pupils:,} transcripts in {len(school_ids)} schools "
              f"in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        token = await token_cost(db, demo, school_ids[0])
        # The engine with the provider's work that the workers do besides: the seal
        # token's, one role in three.
        engine_token = engine_bt + token / len(SIGNING_ORDER)
        print(
            f"seal token (SoftHSM2, in the workers' processes): {1000 * token:.2f} ms CPU per "
            f"seal signature; the B-T engine with it: {1000 * engine_token:.2f} ms per "
            f"signature, average of the three roles",
            flush=True,
        )
        namespace = f"bench-{uuid.uuid4().hex[:6]}"
        settings = Settings(database_url=url, redis_url=args.redis_url, jobs_namespace=namespace)
        configure(settings)
        environment = {
            **os.environ,
            **demo.worker_environment(work / "worker"),
            "HUB_DATABASE_URL": url,
            "HUB_REDIS_URL": args.redis_url,
            "HUB_JOBS_NAMESPACE": namespace,
            "HUB_MODE": "production",
            # The daily certificate refresh would start at once in this new database and
            # ask the providers about every signer: not what is measured here.
            "HUB_CERTIFICATE_REFRESH_HOURS": "0",
            # The archive run is started below, after the signing, and measured apart.
            "HUB_ARCHIVE_HOURS": "0",
        }
        entry = "hub.jobs.entry:broker"
        if args.profile:
            entry = "bench._profiled_worker:broker"
            environment["HUB_BENCH_PROFILE"] = args.profile
        command = [sys.executable, "-m", "dramatiq", entry]
        command += ["--processes", str(args.processes), "--threads", str(args.threads)]
        workers.append(_start_workers(command, environment))
        await _until_ready(args.redis_url, namespace, args.processes)
        if args.cpu_limit:
            limited = _children(workers[0].pid)
            _limit_cpu(limited, args.cpu_limit, cgroups)
            print(
                f"each of the {len(limited)} worker process(es) may use {args.cpu_limit:.2f} "
                f"of a core (a cgroup's CPU quota, as a pod's limits.cpu)",
                flush=True,
            )
        scopes = frozenset({"transcripts:read", "transcripts:sign"})
        caller = Caller("bench", scopes, OrgLevel.DEPARTMENT, None)
        started = time.perf_counter()
        for role in SIGNING_ORDER:
            await _wait(
                db,
                await _start(db, demo, caller, [warm_up], role, as_people=args.as_people),
                role.value,
                started,
            )
        print(
            f"  warm-up: a school of {WARM_UP} pupils through the three roles in "
            f"{time.perf_counter() - started:.0f} s, not counted below",
            flush=True,
        )
        sampler = await EngineSampler.start(environment, *await _seal_credential(db, school_ids[0]))
        await sampler.first_round()  # taken on a machine as quiet as before
        started, run_started = time.perf_counter(), time.time()
        own_cpu, machine_cpu = time.process_time(), _machine_cpu()
        servers_cpu = {name: _cpu_of_command(name) for name in SERVERS}
        # The workers' start-up (imports, the simulators' certificates) is left out.
        booted = role_cpu = _cpu_of_tree(workers[0].pid)
        for role in SIGNING_ORDER:
            role_started, role_since = time.time(), time.perf_counter()
            job_ids = await _start(db, demo, caller, school_ids, role, as_people=args.as_people)
            # The rate is counted from the role's start: its first batches sign while the
            # later schools' are still being started.
            await _wait(db, job_ids, role.value, started, since=role_since)
            spent = _cpu_of_tree(workers[0].pid)
            meanwhile = sampler.between(role_started, time.time())
            per_signature = (spent - role_cpu) / args.pupils
            print(
                f"    workers' CPU for this role: {spent - role_cpu:.1f} s, "
                f"{1000 * per_signature:.2f} ms a signature"
                + (
                    f"; this role's B-T engine meanwhile {1000 * meanwhile.of(role):.2f} ms"
                    + (" with the seal token's signing" if role is SignerRole.SCHOOL_SEAL else "")
                    + f" ({per_signature / meanwhile.of(role):.2f}×)"
                    if meanwhile
                    else ""
                ),
                flush=True,
            )
            role_cpu = spent
        elapsed = time.perf_counter() - started
        during = sampler.between(run_started, time.time())
        await sampler.stop()
        worker_cpu = _cpu_of_tree(workers[0].pid) - booted
        own_cpu = time.process_time() - own_cpu
        machine_cpu = _machine_cpu() - machine_cpu
        servers_cpu = {name: _cpu_of_command(name) - cpu for name, cpu in servers_cpu.items()}
        async with db.sessions() as session:
            timed = models.Transcript.school_id.in_(school_ids)  # not the warm-up's
            signed = await session.scalar(
                select(func.count())
                .select_from(models.TranscriptEvent)
                .join(models.Transcript)
                .where(models.TranscriptEvent.event == "SIGNED", timed)
            )
            sealed = await session.scalar(
                select(func.count()).where(models.Transcript.state == "SEALED", timed)
            )
            # From sending a chunk to its signatures recorded, minus the phone's delay.
            waits = (
                await session.execute(
                    select(
                        models.SigningRequest.provider,
                        func.count(),
                        func.avg(
                            func.extract(
                                "epoch",
                                models.SigningRequest.finished_at
                                - models.SigningRequest.created_at,
                            )
                        ),
                    )
                    .where(models.SigningRequest.school_id.in_(school_ids))
                    .group_by(models.SigningRequest.provider)
                )
            ).all()
        print(
            f"{args.processes} process(es) × {args.threads} threads: {args.pupils:,} transcripts "
            f"× 3 roles in {elapsed:.0f} s ({elapsed / 60:.1f} min); {sealed:,} sealed, "
            f"{signed:,} signatures recorded ({signed / elapsed:.1f}/s)"
        )
        available = elapsed * (os.cpu_count() or 1)
        per_signature = worker_cpu / signed
        # This machine's speed drifts over minutes (a shared host): the engine measured
        # again now, the workers idle, and the ratios taken against the faster of the two
        # (the larger ratio: a slow moment never flatters the workers).
        after_bb, after_bt = await engine_cost()
        print(
            f"  engine again after the run: {1000 * after_bb:.2f} ms B-B, "
            f"{1000 * after_bt:.2f} ms B-T (before: {1000 * engine_bb:.2f}, "
            f"{1000 * engine_bt:.2f}); the ratios below use the faster of the two"
        )
        engine_bb, engine_bt = min(engine_bb, after_bb), min(engine_bt, after_bt)
        engine_token = engine_bt + token / len(SIGNING_ORDER)
        print(
            f"  CPU seconds: workers {worker_cpu:.0f}, simulators+TSA {own_cpu:.0f}, "
            f"whole machine {machine_cpu:.0f} of {available:.0f} available "
            f"({100 * machine_cpu / available:.0f}% busy); "
            f"per signature: workers {1000 * per_signature:.2f} ms, "
            f"machine {1000 * machine_cpu / signed:.1f} ms ("
            + ", ".join(f"{name} {1000 * cpu / signed:.2f}" for name, cpu in servers_cpu.items())
            + ")"
        )
        print(
            f"  workers' CPU per signature / engine's: {per_signature / engine_bb:.2f}× B-B "
            f"({1000 * engine_bb:.2f} ms), {per_signature / engine_bt:.2f}× B-T "
            f"({1000 * engine_bt:.2f} ms); the seals are B-T here, made long-term below"
        )
        print(
            f"  workers' CPU per signature / B-T engine with the seal token's signing: "
            f"{per_signature / engine_token:.2f}× ({1000 * engine_token:.2f} ms)"
        )
        if during:
            busy_bb, busy_bt, busy_token = during.b_b, during.b_t, during.with_token
            print(
                f"  the engine throughout the run (its own process, a round every "
                f"{SAMPLER_REST:.0f} s, {len(sampler.samples)} rounds, medians): "
                f"{1000 * busy_bb:.2f} ms B-B, {1000 * busy_bt:.2f} ms B-T, "
                f"{1000 * busy_token:.2f} ms with the seal token's signing; "
                f"workers' CPU per signature / that: {per_signature / busy_token:.2f}× "
                f"(the ratio in the same run)"
            )
        for provider, count, seconds in waits:
            print(
                f"  {provider.value:8} {count:5,} provider transactions, "
                f"{float(seconds):.1f} s from sending to recorded on average"
            )
        if not args.skip_archive:
            await _archive_run(db, workers[0].pid, sealed)
        await db.dispose()
    finally:
        for worker in workers:
            # As a service manager stops it: TERM to Dramatiq's main process, which stops
            # its own processes (a TERM to the whole group is a second TERM for those,
            # which kills them halfway through their shutdown).
            os.kill(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=120 if args.profile else 30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        await demo.aclose()
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
        for group in cgroups:  # empty once its process ended
            group.rmdir()


async def _start(  # type: ignore[no-untyped-def]
    db: Database,
    demo,
    caller: Caller,
    school_ids: list[int],
    role: SignerRole,
    *,
    as_people: bool = False,
) -> list[str]:
    """Start ``role``'s batches, the jobs' ids: in each school, as the demo starts them (a
    program naming each chunk's role holder), or ``as_people`` as production does — each
    homeroom teacher their class's, the principal the school's, signed in (the seal's
    by the program, as the school's app seals)."""
    from hub.jobs.actors import send

    job_ids = []
    for school_id in school_ids:
        for signer, class_id in await _starters(db, school_id, role, as_people):
            async with db.unit_of_work() as session:
                acting = caller
                if signer is not None:
                    acting = bind(caller, await load_person(session, signer))
                job, messages = await batches.start_batch(
                    session,
                    caller=acting,
                    signing=demo.signing,
                    role=role,
                    class_id=class_id,
                    school_id=None if class_id else school_id,
                    apps_may_name_signers=signer is None,
                )
                job_ids.append(job.job_id)
            send(messages)
    return job_ids


async def _starters(
    db: Database, school_id: int, role: SignerRole, as_people: bool
) -> list[tuple[str | None, int | None]]:
    """Who starts ``role``'s batches in a school and for which class (None: the school):
    nobody (the program) for the whole school, or (``as_people``) each class's homeroom
    teacher for it, the principal for the school."""
    if not as_people or role is SignerRole.SCHOOL_SEAL:
        return [(None, None)]
    async with db.sessions() as session:
        if role is SignerRole.PRINCIPAL:
            principal = await roles.principal(session, school_id=school_id)
            assert principal is not None
            return [(principal.personal_id, None)]
        classes = await session.execute(
            select(models.Staff.personal_id, models.SchoolClass.id)
            .join(models.SchoolClass, models.SchoolClass.homeroom_teacher_id == models.Staff.id)
            .where(models.SchoolClass.school_id == school_id)
            .order_by(models.SchoolClass.id)
        )
        return [(row.personal_id, row.id) for row in classes]


async def _archive_run(db: Database, worker_pid: int, sealed: int) -> None:
    """The archive run that makes the batches' sealed transcripts long-term (PAdES B-LTA,
    XAdES LTA: OCSP answers, archive timestamps), as the workers' daily run or
    ``hub transcripts archive`` would, on the same workers; timed and counted apart from
    the signing above, which it is not part of."""
    from hub.jobs.actors import send

    started, machine = time.perf_counter(), _machine_cpu()
    worker = _cpu_of_tree(worker_pid)
    async with db.unit_of_work() as session:
        job, work = await archive.start(session, client_id="bench")
    send(work)
    while True:
        async with db.sessions() as session:
            found = await session.get(models.Job, job.id, populate_existing=True)
        if found is not None and found.state == "COMPLETED":
            break
        await asyncio.sleep(1)
    elapsed = time.perf_counter() - started
    worker = _cpu_of_tree(worker_pid) - worker
    machine = _machine_cpu() - machine
    counts = found.checkpoint or {}
    print(
        f"long-term (the archive run, not in the signing figures above): "
        f"{counts.get('extended', 0):,} of {sealed:,} sealed transcripts made long-term "
        f"({counts.get('checked', 0):,} checked), "
        f"{counts.get('problem_count', 0)} problems, in {elapsed:.0f} s; CPU seconds: "
        f"workers {worker:.0f} ({1000 * worker / max(sealed, 1):.1f} ms per transcript), "
        f"whole machine {machine:.0f} of {elapsed * (os.cpu_count() or 1):.0f} available"
    )


async def _until_ready(redis_url: str, namespace: str, processes: int) -> None:
    """Wait until every worker process has asked Redis for work (its heartbeat is there),
    so the clock does not count their start-up."""
    client = redis.Redis.from_url(redis_url)
    try:
        for _ in range(600):
            if client.zcard(f"{namespace}:__heartbeats__") >= processes:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the worker processes did not start in 60 s")
    finally:
        client.close()


def _machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (user + system), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system = (int(v) for v in fields[:3])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


#: The servers whose CPU the run's accounting names (their processes, by command name).
SERVERS = ("postgres", "redis-server")


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """Every process in /proc: its pid, its command name and its stat fields after it
    (state, parent, … ``utime`` at 11, ``stime``, ``cutime``, ``cstime``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        command, fields = stat.split("(", 1)[1].rsplit(")", 1)
        yield int(entry.name), command, fields.split()


def _cpu_of_command(name: str) -> float:
    """CPU seconds used by the processes called ``name`` (PostgreSQL's postmaster and
    backends): their own, and that of their ended children (a backend's, once its
    connection closed and the postmaster reaped it)."""
    tick = os.sysconf("SC_CLK_TCK")
    return sum(
        sum(int(value) for value in fields[11:15]) / tick
        for _, command, fields in _processes()
        if command == name
    )


def _children(parent: int) -> list[int]:
    """The processes ``parent`` started (Dramatiq's worker processes)."""
    return sorted(pid for pid, _, fields in _processes() if int(fields[1]) == parent)


def _limit_cpu(pids: list[int], share: float, groups: list[Path]) -> None:
    """Each of ``pids`` in a cgroup of its own whose CPU quota is ``share`` of one core,
    as Kubernetes applies a pod's ``limits.cpu``: cgroup v2's ``cpu.max`` where the
    unified hierarchy has the cpu controller, else cgroup v1's CFS quota. Needs root.
    Each cgroup made goes into ``groups`` at once, to be removed after the run."""
    period = 100_000
    quota = max(1_000, round(share * period))
    unified, legacy = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")
    controllers = unified / "cgroup.subtree_control"
    v2 = controllers.exists() and "cpu" in controllers.read_text().split()
    if not v2 and not (legacy / "cpu.cfs_quota_us").exists():
        raise SystemExit("--cpu-limit needs a cgroup CPU controller (/sys/fs/cgroup)")
    for pid in pids:
        group = (unified if v2 else legacy) / f"hub-bench-{pid}"
        try:
            group.mkdir()
            groups.append(group)
            if v2:
                (group / "cpu.max").write_text(f"{quota} {period}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(period))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            (group / "cgroup.procs").write_text(str(pid))  # the process with its threads
        except PermissionError:
            raise SystemExit("--cpu-limit needs root (it writes cgroups)") from None


def _cpu_of_tree(root: int) -> float:
    """CPU seconds used by ``root`` and its descendants (the Dramatiq worker processes)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid, _, fields in _processes():
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(times.get(pid, 0.0) for pid in tree)


async def _wait(
    db: Database, job_ids: list[str], role: str, started: float, *, since: float | None = None
) -> None:
    """Until the role's batches are done, printing the rate every 30 s (from ``since``,
    the role's start, by default now)."""
    last, last_signed = since if since is not None else time.perf_counter(), 0
    while True:
        async with db.sessions() as session:
            open_jobs = await session.scalar(
                select(func.count()).where(
                    models.Job.job_id.in_(job_ids), models.Job.state != "COMPLETED"
                )
            )
            failed = await session.scalar(
                select(func.count())
                .select_from(models.SigningBatchItem)
                .join(models.Job)
                .where(
                    models.Job.job_id.in_(job_ids),
                    models.SigningBatchItem.state.in_(["FAILED", "RETURNED"]),
                )
            )
            signed = await session.scalar(
                select(func.count())
                .select_from(models.SigningBatchItem)
                .join(models.Job)
                .where(
                    models.Job.job_id.in_(job_ids),
                    models.SigningBatchItem.state == "SIGNED",
                )
            )
        now = time.perf_counter()
        if now - last >= 30:
            print(
                f"    {now - started:6.0f} s: {signed:,} signed, "
                f"{(signed - last_signed) / (now - last):.1f}/s in the last {now - last:.0f} s",
                flush=True,
            )
            last, last_signed = now, signed
        if not open_jobs:
            print(
                f"  {role:17} done at {time.perf_counter() - started:6.0f} s ({failed} not signed)"
            )
            if failed:
                async with db.sessions() as session:
                    reasons = await session.execute(
                        select(
                            models.SigningBatchItem.state,
                            models.SigningBatchItem.reason_code,
                            models.SigningBatchItem.reason,
                            func.count(),
                        )
                        .join(models.Job)
                        .where(
                            models.Job.job_id.in_(job_ids),
                            models.SigningBatchItem.state.in_(["FAILED", "RETURNED"]),
                        )
                        .group_by(
                            models.SigningBatchItem.state,
                            models.SigningBatchItem.reason_code,
                            models.SigningBatchItem.reason,
                        )
                    )
                    for state, code, reason, count in reasons:
                        print(f"    {count} {state} {code}: {reason}")
            return
        await asyncio.sleep(2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=34_911)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=THREADS, help="per process; default: hub worker's"
    )
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--skip-archive",
        action="store_true",
        help="leave out the archive run that makes the sealed transcripts long-term",
    )
    parser.add_argument(
        "--confirm-seconds",
        type=float,
        default=1.0,
        help="how long a person takes to confirm on their phone (the simulators' delay): "
        "the longer, the more asks find no answer yet",
    )
    parser.add_argument(
        "--as-people",
        action="store_true",
        help="start the batches as production does, signed in: each homeroom teacher "
        "their class's, the principal the school's (default: as the demo, a program "
        "naming each chunk's role holder)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="sample each worker's event loop with pyinstrument; reports written to DIR",
    )
    parser.add_argument(
        "--cpu-limit",
        type=float,
        metavar="CORES",
        help="let each worker process use at most CORES of a core (a cgroup quota, as a "
        "pod's limits.cpu), so that 1 and 2 processes can be compared on a machine "
        "they do not saturate",
    )
    parser.add_argument(
        "--engine-sampler",
        nargs=2,
        metavar=("SCHOOL", "CREDENTIAL"),
        help="the engine sampler's process (engine_samples), which the run starts",
    )
    arguments = parser.parse_args()
    if arguments.engine_sampler:  # rounds until the run stops it
        asyncio.run(engine_samples(*arguments.engine_sampler))
        sys.exit(0)
    if arguments.profile:
        arguments.profile = os.path.abspath(arguments.profile)
    asyncio.run(run(arguments))
