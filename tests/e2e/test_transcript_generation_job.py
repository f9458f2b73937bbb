"""Drafting a whole school's transcripts as a job: a worker on real Redis, class by class.

Each test drafts a school of its own (:func:`school`).
"""

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import date

import dramatiq
import httpx
import pytest
from sqlalchemy import func, select
from strawberry.relay import GlobalID

from hub.auth.access import Caller
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import OrgLevel, Ownership, SchoolLevel, Sex, StaffRole
from hub.domain.personal_id import compose
from hub.jobs import generation
from hub.jobs.core import JobRuntime
from hub.web.app import create_app
from tests import signing_support as support
from tests.helpers import data, gql, register, token_for
from tests.world import writers_district

START = """mutation($s: ID!) { startTranscriptGeneration(schoolId: $s) {
  jobId state total classes } }"""
RUN = """query($j: String!) { transcriptGeneration(jobId: $j) {
  jobId state total classes classesDone generated regenerated unchanged skippedCount
  skipped { studentId code message } finishedAt } }"""
PUPILS = (3, 4)  # per class; the second class has one pupil without a personal ID
_schools = itertools.count(1)
#: Serial numbers of the personal IDs given here.
_serial = itertools.count(700_000)


@pytest.fixture
async def school(db, world) -> models.School:  # type: ignore[no-untyped-def]
    """The test's own school: two classes of :data:`PUPILS`, none drafted yet."""
    number = next(_schools)
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department))
        district = await writers_district(session)
        school = models.School(
            department_id=department.id,
            district_id=district.id,
            moet_code=f"01GENJOB{number}",
            name="Trường THCS Lập Học Bạ",
            level=SchoolLevel.LOWER_SECONDARY,
            ownership=Ownership.PUBLIC,
        )
        session.add(school)
        await session.flush()
        principal = models.Staff(
            personal_id=compose("001", 1975, Sex.MALE, next(_serial)),
            full_name="Lê Văn Hiệu Trưởng",
            search_name="le van hieu truong",
            assignments=[models.StaffAssignment(school_id=school.id, role=StaffRole.PRINCIPAL)],
        )
        session.add(principal)
        for number, pupils in enumerate(PUPILS, start=1):
            school_class = models.SchoolClass(
                school_id=school.id,
                school_year_id=world.current_year_id,
                name=f"6A{number}",
                grade=6,
            )
            session.add(school_class)
            await session.flush()
            for n in range(pupils):
                numbered = not (number == 2 and n == 0)
                personal_id = compose("001", 2014, Sex.FEMALE, next(_serial)) if numbered else None
                student = models.Student(
                    personal_id=personal_id,
                    full_name=f"Học Sinh {number}.{n}",
                    search_name=f"hoc sinh {number}.{n}",
                    school_id=school.id,
                )
                session.add(student)
                await session.flush()
                session.add(
                    models.Enrolment(
                        student_id=student.id,
                        class_id=school_class.id,
                        school_year_id=world.current_year_id,
                    )
                )
        return school


@pytest.fixture(scope="module")
async def worker(settings) -> AsyncIterator[dramatiq.Worker]:  # type: ignore[no-untyped-def]
    jobs_settings = support.jobs_settings(settings)
    runtime = JobRuntime(jobs_settings, Database(jobs_settings.database_url))
    async with support.running_worker(runtime, threads=2) as worker:
        yield worker


@pytest.fixture(scope="module")
async def hub(settings, db, worker) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    from hub.jobs.actors import send

    app = create_app(settings, db, send_jobs=send)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def until_done(hub, token, job_id: str) -> dict:  # type: ignore[no-untyped-def]
    for _ in range(300):
        run = data(await gql(hub, token, RUN, {"j": job_id}))["transcriptGeneration"]
        if run["state"] == "COMPLETED":
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"the run did not finish: {run}")


async def test_a_school_is_drafted_class_by_class_in_the_background(hub, db, school) -> None:  # type: ignore[no-untyped-def]
    client = await register(db, org=OrgLevel.SCHOOL, schools=[school.moet_code])
    vendor = await token_for(hub, *client)
    school_gid = str(GlobalID("School", str(school.id)))
    started = data(await gql(hub, vendor, START, {"s": school_gid}))["startTranscriptGeneration"]
    assert (started["total"], started["classes"]) == (sum(PUPILS), 2)
    run = await until_done(hub, vendor, started["jobId"])
    assert run["classesDone"] == 2 and run["finishedAt"]
    assert (run["generated"], run["skippedCount"]) == (sum(PUPILS) - 1, 1)
    [skipped] = run["skipped"]
    assert skipped["code"] == "PERSONAL_ID_MISSING" and skipped["message"]
    async with db.sessions() as session:
        drafted = await session.scalar(
            select(func.count()).where(
                models.Transcript.school_id == school.id, models.Transcript.is_current.is_(True)
            )
        )
    assert drafted == sum(PUPILS) - 1

    # Again: the drafts are unchanged, and nothing is written twice.
    again = data(await gql(hub, vendor, START, {"s": school_gid}))["startTranscriptGeneration"]
    rerun = await until_done(hub, vendor, again["jobId"])
    assert (rerun["generated"], rerun["unchanged"]) == (0, sum(PUPILS) - 1)


async def test_a_class_delivered_twice_is_drafted_once(db, school) -> None:  # type: ignore[no-untyped-def]
    """At-least-once delivery: the second delivery of a class's message changes nothing."""
    caller = Caller(
        "test",
        frozenset({"transcripts:read", "transcripts:write"}),
        OrgLevel.SCHOOL,
        frozenset({school.id}),
    )
    async with db.unit_of_work() as session:
        job, work = await generation.start_generation(
            session,
            caller=caller,
            school_id=school.id,
            school_year=None,
            base_url="http://hub.test",
            today=date.today(),
        )
        job_id = job.job_id
    assert len(work) == 2
    await asyncio.gather(*(generation.generate_class(db, job_id=job_id, index=0) for _ in range(2)))
    await generation.generate_class(db, job_id=job_id, index=1)
    async with db.sessions() as session:
        run = generation.summary(await generation.load(session, caller=caller, job_id=job_id))
    assert run.job.state == "COMPLETED" and run.classes_done == 2
    assert sorted(run.job.checkpoint["done"]) == [0, 1]
    assert run.generated + run.regenerated + run.unchanged == sum(PUPILS) - 1
