"""The archive job on Dramatiq, real Redis, real database, the demo PKI over HTTP.

Sealed transcripts whose seal was applied while the PKI could not answer are still
B-T: a run makes them long-term (PAdES B-LTA, XAdES LTA) so they verify with the PKI
offline; a second run finds nothing due; a run years later (before the first TSA's
certificate ends, with the TSA of that decade) renews their archive timestamps, after
which they verify ten years on. The module works in a database of its own: a run reads
every sealed transcript of its database.
"""

import asyncio
import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import SigningProvider
from hub.jobs import archive
from hub.jobs.actors import send
from hub.jobs.core import JobRuntime
from hub.signing.trust import TrustStore
from hub.signing.verification import Verdict, verify_document
from tests import signing_support as support
from tests.conftest import database_of_its_own, settings_of_its_own
from tests.schools import SigningSchool, signing_school
from tests.world import World, build_world

TEN_YEARS_ON = datetime.now(UTC) + timedelta(days=3653)
RENEWED_AT = datetime(2029, 6, 1, tzinfo=UTC)

demo = support.demo


@pytest.fixture(scope="module")
def settings(settings, tmp_path_factory) -> Settings:  # type: ignore[no-untyped-def]
    return settings_of_its_own(settings, tmp_path_factory.mktemp("archive-job"))


@pytest.fixture(scope="module")
async def db(settings: Settings) -> AsyncIterator[Database]:
    async for database in database_of_its_own(settings):
        yield database


@pytest.fixture(scope="module")
async def world(db: Database) -> World:
    return await build_world(db)


@pytest.fixture(scope="module")
async def school(db, world, demo) -> tuple[SigningSchool, dict[int, tuple[bytes, bytes]]]:  # type: ignore[no-untyped-def]
    """A school of two transcripts, and each one's documents sealed B-T."""
    school = await signing_school(
        db,
        demo,
        code="01ARCHV1",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.BCY],
        principal_provider=SigningProvider.BCY,
        per_class=2,
    )
    signers = support.school_signers(demo.pki)
    sealed = {}
    async with db.sessions() as session:
        for transcript_id in school.all_transcripts:
            transcript = await session.get(models.Transcript, transcript_id)
            assert transcript is not None
            sealed[transcript_id] = (
                await support.sign_all(transcript.xml, signers, demo.pki.timestamper),
                await support.sign_all(transcript.pdf, signers, demo.pki.timestamper),
            )
    return school, sealed


@pytest.fixture
async def sealed_while_offline(db, school) -> SigningSchool:  # type: ignore[no-untyped-def]
    """The school, its transcripts sealed B-T (the PKI did not answer then) at the start
    of each test, whatever an earlier test's runs made of them."""
    built, sealed = school
    async with db.unit_of_work() as session:
        for transcript_id, (xml, pdf) in sealed.items():
            transcript = await session.get(models.Transcript, transcript_id)
            assert transcript is not None
            transcript.xml, transcript.pdf, transcript.state = xml, pdf, "SEALED"
    return built  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def runtime(settings, demo, school, tmp_path_factory) -> JobRuntime:  # type: ignore[no-untyped-def]
    return support.signing_runtime(settings, demo, tmp_path_factory.mktemp("worker"))


@pytest.fixture(scope="module")
async def worker(runtime) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    async with support.running_worker(runtime) as started:
        yield started


async def run_to_the_end(db: Database) -> models.Job:
    """A run started as ``hub transcripts archive`` does, followed until it ends."""
    async with db.unit_of_work() as session:
        job, work = await archive.start(session, client_id="cli", batch_transcripts=1)
    send(work)
    for _ in range(600):
        async with db.sessions() as session:
            found = await session.scalar(select(models.Job).where(models.Job.job_id == job.job_id))
        if found is not None and found.state == "COMPLETED":
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"the archive run did not end: {found and found.checkpoint}")


async def documents(db: Database, school: SigningSchool) -> list[tuple[bytes, bytes]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(models.Transcript.xml, models.Transcript.pdf).where(
                models.Transcript.id.in_(school.all_transcripts)
            )
        )
        return [(row.xml, row.pdf) for row in rows]


async def verdicts(db, school, demo, at=None) -> set[Verdict]:  # type: ignore[no-untyped-def]
    offline = TrustStore(demo.pki.roots, fetch_revocation=False)
    return {
        (await verify_document(document, trust=offline, at=at)).verdict
        for pair in await documents(db, school)
        for document in pair
    }


async def test_a_run_makes_sealed_transcripts_long_term_once(
    db, demo, sealed_while_offline, worker
):
    assert await verdicts(db, sealed_while_offline, demo) == {Verdict.INDETERMINATE}
    first = await run_to_the_end(db)
    assert (first.total, first.checkpoint["checked"], first.checkpoint["extended"]) == (2, 2, 2)
    assert await verdicts(db, sealed_while_offline, demo) == {Verdict.VALID}
    before = await documents(db, sealed_while_offline)
    again = await run_to_the_end(db)
    assert (again.checkpoint["checked"], again.checkpoint["extended"]) == (2, 0)
    assert await documents(db, sealed_while_offline) == before


async def test_a_run_years_later_renews_the_archive_timestamps(
    db, demo, runtime, sealed_while_offline, worker
):
    await run_to_the_end(db)  # long-term first
    assert await verdicts(db, sealed_while_offline, demo, at=TEN_YEARS_ON) == {
        Verdict.INDETERMINATE
    }
    later = demo.pki.another_tsa(
        valid_to=datetime(2040, 1, 1, tzinfo=UTC), clock=lambda: RENEWED_AT
    )
    signing = dataclasses.replace(runtime.signing, timestamper=later)
    async with db.unit_of_work() as session:
        job, work = await archive.start(session, client_id="cli", batch_transcripts=1)
    for message in work:  # run where the clock says 2029: directly, as the actor would
        await archive.archive_batch(
            db, signing, job_id=job.job_id, batch=message.args[1], now=RENEWED_AT
        )
        # A batch delivered twice does nothing the second time.
        await archive.archive_batch(
            db, signing, job_id=job.job_id, batch=message.args[1], now=RENEWED_AT
        )
    async with db.sessions() as session:
        ended = await session.scalar(select(models.Job).where(models.Job.job_id == job.job_id))
    assert ended is not None and ended.state == "COMPLETED"
    assert ended.checkpoint["extended"] == 2
    assert await verdicts(db, sealed_while_offline, demo, at=TEN_YEARS_ON) == {Verdict.VALID}


async def test_hub_transcripts_archive_runs_one_to_the_end(settings, runtime, sealed_while_offline):
    """The command an operator runs: a run over the module's sealed transcripts, here with
    an in-process worker (no HUB_REDIS_URL), followed to the end and summed up."""
    worker = runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_TOKEN_KEY_FILE": str(settings.token_key_file),
        "HUB_SIGNING_PROVIDERS_FILE": str(worker.signing_providers_file),
        "HUB_TSA_URL": str(worker.tsa_url),
        "HUB_TRUST_ROOTS": json.dumps([str(path) for path in worker.trust_roots]),
    }
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub.cli", "transcripts", "archive"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Lần lưu trữ" in run.stdout
    assert re.search(r"COMPLETED: kiểm tra 2/2 · thêm dấu thời gian lưu trữ \d", run.stdout)
