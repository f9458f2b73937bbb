"""Bulk signing batches on Dramatiq with a real Redis broker and the real database.

The worker runs in this process (its own event loop, database engine and
provider adapters, as a worker process would have); the providers are the
simulators on loopback. Each test signs a school of its own. Crash faults with
separate worker processes are in tests/integration/test_signing_batch_faults.py.
"""

import asyncio
import itertools
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select, update
from strawberry.relay import GlobalID

from hub.adapters.signing.simulator import Phone, PhoneAnswer
from hub.auth.access import Caller
from hub.db import models
from hub.demo.signing import DemoSigning
from hub.domain.enums import OrgLevel, SigningProvider
from hub.domain.lifecycle import TranscriptState
from hub.domain.signers import SignerRole
from hub.jobs.core import Next
from hub.web.app import create_app
from tests import signing_support as support
from tests.helpers import data, gql, register, token_for
from tests.schools import SigningSchool, signing_school
from tests.signing_support import BATCH, START, until_done

CONTROL = "mutation($j: String!) { %s(jobId: $j) { state reasonCode reason } }"

demo = support.demo
worker = support.worker
_schools = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
def small_transactions(demo: DemoSigning) -> None:
    """Small transactions, so a class takes several chunks (two digests per transcript);
    SmartCA's SP769 API does not say its limit, so the hub keeps to 50 digests there."""
    for provider in (SigningProvider.BCY, SigningProvider.MYSIGN, SigningProvider.CSC):
        demo.back_offices[provider].max_batch = 4


@pytest.fixture
async def school(db, world, demo) -> SigningSchool:  # type: ignore[no-untyped-def]
    """The test's own school: three classes of five ready transcripts, their homeroom
    teachers at Ban Cơ yếu, MySign and CSC, the principal at SmartCA."""
    return await signing_school(
        db,
        demo,
        code=f"01BATCH{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.BCY, SigningProvider.MYSIGN, SigningProvider.CSC],
        principal_provider=SigningProvider.SMARTCA,
        per_class=5,
    )


@pytest.fixture
async def hub(settings, db, demo, worker) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    from hub.jobs.actors import send

    app = create_app(settings, db, signing=demo.signing, send_jobs=send)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture
async def vendor(db, hub, school) -> str:  # type: ignore[no-untyped-def]
    return await token_for(hub, *await register(db, org=OrgLevel.SCHOOL, schools=[school.code]))


async def signatures_recorded(db, transcript_ids: list[int]) -> dict[int, int]:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        rows = await session.execute(
            select(models.TranscriptEvent.transcript_id, func.count())
            .where(
                models.TranscriptEvent.transcript_id.in_(transcript_ids),
                models.TranscriptEvent.event == "SIGNED",
            )
            .group_by(models.TranscriptEvent.transcript_id)
        )
        return dict(rows.all())


def class_gid(class_id: int) -> str:
    return str(GlobalID("SchoolClass", str(class_id)))


async def signed_by_the_homeroom_teachers(hub, vendor, school: SigningSchool) -> None:  # type: ignore[no-untyped-def]
    """Every class's transcripts signed by its homeroom teacher, a batch per class (the
    steps before the principal's)."""
    jobs = [
        data(await gql(hub, vendor, START, {"role": "HOMEROOM_TEACHER", "c": class_gid(c)}))[
            "startSigningBatch"
        ]["jobId"]
        for c in school.class_ids
    ]
    for job_id in jobs:
        batch = await until_done(hub, vendor, job_id)
        assert (batch["signed"], batch["failed"]) == (5, 0), batch["items"]


async def test_a_class_is_signed_in_chunks_each_transcript_exactly_once(
    hub, vendor, school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    first = school.class_ids[0]
    transactions = len(demo.back_offices[SigningProvider.BCY].transactions)
    started = data(
        await gql(hub, vendor, START, {"role": "HOMEROOM_TEACHER", "c": class_gid(first)})
    )
    job = started["startSigningBatch"]
    assert job["total"] == 5
    batch = await until_done(hub, vendor, job["jobId"])
    assert batch == batch | {"state": "COMPLETED", "signed": 5, "failed": 0, "returned": 0}
    # Five transcripts, two per transaction: three confirmations on the teacher's phone.
    assert len(demo.back_offices[SigningProvider.BCY].transactions) - transactions == 3
    assert await signatures_recorded(db, school.transcripts[first]) == {
        t: 1 for t in school.transcripts[first]
    }


async def test_a_rejection_or_no_answer_returns_those_transcripts_and_the_rest_go_on(
    hub, vendor, school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    office = demo.back_offices[SigningProvider.MYSIGN]
    earlier = {t.transaction_id for t in office.transactions.values()}  # other schools'
    # Unanswered requests expire after 1.5 s, as a real one does after its deadline.
    office.phone = Phone(answer=PhoneAnswer.IGNORE, expires_after=1.5)
    second = school.class_ids[1]
    started = data(
        await gql(hub, vendor, START, {"role": "HOMEROOM_TEACHER", "c": class_gid(second)})
    )
    job_id = started["startSigningBatch"]["jobId"]
    seen: list[str] = []
    try:
        for _ in range(300):
            # The teacher refuses the first request, lets the second run out, confirms the rest.
            for transaction in list(office.transactions.values()):
                if transaction.transaction_id in seen or transaction.transaction_id in earlier:
                    continue
                seen.append(transaction.transaction_id)
                if len(seen) == 1:
                    office.reject(transaction.transaction_id)
                elif len(seen) > 2:
                    office.approve(transaction.transaction_id)
            batch = data(await gql(hub, vendor, BATCH, {"j": job_id}))["signingBatch"]
            if batch["state"] == "COMPLETED":
                break
            await asyncio.sleep(0.05)
    finally:
        office.phone = Phone(confirm_delay=0.2)
    assert batch["state"] == "COMPLETED"
    assert len(seen) == 3  # five transcripts, two per transaction
    # Two chunks (three or four transcripts) come back with their reasons, the rest signed.
    returned_count = batch["returned"]
    assert returned_count in (3, 4), batch["items"]
    assert (batch["signed"], batch["failed"]) == (5 - returned_count, 0), batch["items"]
    returned = [i for i in batch["items"] if i["state"] == "RETURNED"]
    reasons = {i["reasonCode"]: i["reason"] for i in returned}
    assert set(reasons) == {"SIGNER_REJECTED", "SIGNER_NOT_CONFIRMED"}
    assert "từ chối" in reasons["SIGNER_REJECTED"]
    assert "xác nhận" in reasons["SIGNER_NOT_CONFIRMED"]
    async with db.sessions() as session:
        states = dict(
            (
                await session.execute(
                    select(models.Transcript.id, models.Transcript.state).where(
                        models.Transcript.id.in_(school.transcripts[second])
                    )
                )
            ).all()
        )
    assert sorted(states.values()) == ["READY"] * returned_count + ["SIGNED_BY_HOMEROOM"] * (
        5 - returned_count
    )
    # The returned transcripts go in the next batch, and are signed once.
    again = data(
        await gql(hub, vendor, START, {"role": "HOMEROOM_TEACHER", "c": class_gid(second)})
    )
    assert again["startSigningBatch"]["total"] == returned_count
    done = await until_done(hub, vendor, again["startSigningBatch"]["jobId"])
    assert done["signed"] == returned_count
    assert set((await signatures_recorded(db, school.transcripts[second])).values()) == {1}


async def test_a_broken_provider_answer_fails_its_transcripts_and_the_batch_ends(
    hub, vendor, school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    """The CSC server answers the third class's teacher with one signature too few: each
    chunk's transcripts fail with SIGNING_FAILED (the same answer would come at every
    ask), the batch completes instead of asking for ever, and a later batch signs them."""
    third = school.class_ids[2]
    faults = demo.back_offices[SigningProvider.CSC].faults
    faults.signature_missing = True
    try:
        started = data(
            await gql(hub, vendor, START, {"role": "HOMEROOM_TEACHER", "c": class_gid(third)})
        )
        batch = await until_done(hub, vendor, started["startSigningBatch"]["jobId"])
    finally:
        faults.signature_missing = False
    assert batch == batch | {"state": "COMPLETED", "signed": 0, "failed": 5}, batch["items"]
    assert {i["reasonCode"] for i in batch["items"]} == {"SIGNING_FAILED"}
    assert await signatures_recorded(db, school.transcripts[third]) == {}
    again = data(await gql(hub, vendor, START, {"role": "HOMEROOM_TEACHER", "c": class_gid(third)}))
    done = await until_done(hub, vendor, again["startSigningBatch"]["jobId"])
    assert (done["signed"], done["failed"]) == (5, 0), done["items"]


async def test_a_provider_outage_pauses_the_batch_until_it_answers_again(
    hub, vendor, school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    third = school.class_ids[2]
    office = demo.back_offices[SigningProvider.CSC]
    office.phone = Phone(confirm_delay=1.0)
    started = data(
        await gql(hub, vendor, START, {"role": "HOMEROOM_TEACHER", "c": class_gid(third)})
    )
    job_id = started["startSigningBatch"]["jobId"]
    for _ in range(100):  # the requests are on the teacher's phone…
        batch = data(await gql(hub, vendor, BATCH, {"j": job_id}))["signingBatch"]
        if batch["waiting"]:
            break
        await asyncio.sleep(0.05)
    demo.servers["csc"].stop()  # …when the provider goes down
    try:
        for _ in range(100):
            batch = data(await gql(hub, vendor, BATCH, {"j": job_id}))["signingBatch"]
            if batch["state"] == "PAUSED":
                break
            await asyncio.sleep(0.1)
        assert batch["state"] == "PAUSED", batch
        assert batch["reasonCode"] == "PROVIDER_UNAVAILABLE"
        assert "Không kết nối được máy chủ ký số CSC" in batch["reason"]
    finally:
        office.phone = Phone(confirm_delay=0.2)
        demo.servers["csc"].start()
    batch = await until_done(hub, vendor, job_id)
    assert (batch["signed"], batch["failed"]) == (5, 0), batch["items"]
    assert set((await signatures_recorded(db, school.transcripts[third])).values()) == {1}


async def test_a_school_batch_can_be_paused_resumed_and_cancelled(
    hub, vendor, school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    await signed_by_the_homeroom_teachers(hub, vendor, school)
    office = demo.back_offices[SigningProvider.SMARTCA]
    # The principal's phone does not answer until the test approves, so no timing decides
    # whether the batch can finish before it is cancelled.
    office.phone = Phone(answer=PhoneAnswer.IGNORE, expires_after=600)
    school_gid = str(GlobalID("School", str(school.id)))
    try:
        started = data(await gql(hub, vendor, START, {"role": "PRINCIPAL", "s": school_gid}))
        job_id = started["startSigningBatch"]["jobId"]
        assert started["startSigningBatch"]["total"] == 15
        paused = data(await gql(hub, vendor, CONTROL % "pauseSigningBatch", {"j": job_id}))
        assert paused["pauseSigningBatch"]["state"] == "PAUSED"
        await asyncio.sleep(0.5)  # a chunk being sent as the pause came in may still land
        at_pause = data(await gql(hub, vendor, BATCH, {"j": job_id}))["signingBatch"]
        await asyncio.sleep(1.0)
        batch = data(await gql(hub, vendor, BATCH, {"j": job_id}))["signingBatch"]
        # Nothing more is sent while paused (what was on the phone may still finish).
        assert batch["state"] == "PAUSED" and batch["queued"] == at_pause["queued"]
        resumed = data(await gql(hub, vendor, CONTROL % "resumeSigningBatch", {"j": job_id}))
        assert resumed["resumeSigningBatch"]["state"] == "RUNNING"
        for _ in range(100):  # after the resume, the batch's chunk waits on the phone
            batch = data(await gql(hub, vendor, BATCH, {"j": job_id}))["signingBatch"]
            if batch["waiting"] and not batch["queued"]:
                break
            await asyncio.sleep(0.1)
        assert batch["waiting"] and batch["waitingFor"], batch
        cancelled = data(await gql(hub, vendor, CONTROL % "cancelSigningBatch", {"j": job_id}))
        assert cancelled["cancelSigningBatch"]["state"] == "CANCELLED"
        # The principal confirms what is already on the phone: it is still finished.
        for waiting in batch["waitingFor"]:
            office.approve(office.transaction(waiting["transactionId"]).transaction_id)
    finally:
        office.phone = Phone(confirm_delay=0.2)
    for _ in range(200):
        batch = data(await gql(hub, vendor, BATCH, {"j": job_id}))["signingBatch"]
        if not batch["waiting"]:
            break
        await asyncio.sleep(0.1)
    assert batch["state"] == "CANCELLED"
    states = {i["state"] for i in batch["items"]}
    assert states <= {"SIGNED", "CANCELLED"}, batch["items"]
    assert batch["signed"] + sum(i["state"] == "CANCELLED" for i in batch["items"]) == 15
    recorded = await signatures_recorded(db, school.all_transcripts)
    assert max(recorded.values()) <= 2  # homeroom + at most one principal signature each


async def test_a_transcript_that_moved_on_after_the_start_fails_and_its_chunk_signs_the_rest(
    hub, vendor, school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    """Between the batch's start and its chunk's turn, the chunk's first transcript was
    signed another way: that one fails with TRANSCRIPT_STATE (read with the chunk's
    items, under their lock), the others go to the teacher's phone and are signed."""
    from hub.jobs.actors import send

    first = school.class_ids[0]
    moved, *rest = sorted(school.transcripts[first])
    job, work = await support.class_batch(db, demo, school_id=school.id, class_id=first)
    async with db.unit_of_work() as session:
        await session.execute(
            update(models.Transcript)
            .where(models.Transcript.id == moved)
            .values(state=TranscriptState.SIGNED_BY_HOMEROOM.value)
        )
    send(work)
    batch = await until_done(hub, vendor, job.job_id)
    assert batch == batch | {"state": "COMPLETED", "signed": 4, "failed": 1}
    items = {int(GlobalID.from_id(i["transcriptId"]).node_id): i for i in batch["items"]}
    assert items[moved]["reasonCode"] == "TRANSCRIPT_STATE"
    assert await signatures_recorded(db, [moved, *rest]) == {t: 1 for t in rest}


async def test_a_transcript_that_changed_while_its_signer_was_asked_fails_and_the_rest_sign(
    hub, vendor, school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    """A transcript reopened while its chunk waited on the teacher's phone is not
    signed when the teacher confirms: its item fails with TRANSCRIPT_STATE and says so;
    the chunk's other transcript is signed (each item closes as its own signature ended)."""
    from hub.jobs import signing as batches

    office = demo.back_offices[SigningProvider.BCY]
    office.phone = Phone(answer=PhoneAnswer.IGNORE, expires_after=60)
    first = school.class_ids[0]  # its teacher signs at Ban Cơ yếu
    job, _ = await support.class_batch(db, demo, school_id=school.id, class_id=first)
    earlier = set(office.transactions)  # other schools'
    try:
        asked = await batches.send_chunk(
            db, demo.signing, job_id=job.job_id, chunk=0, poll_seconds=0.1
        )
        (poll,) = asked
        request_id = str(poll.args[1])
        async with db.unit_of_work() as session:
            chunk = list(
                await session.scalars(
                    select(models.SigningBatchItem.transcript_id)
                    .where(models.SigningBatchItem.request_id == request_id)
                    .order_by(models.SigningBatchItem.transcript_id)
                )
            )
            changed, kept = chunk  # two transcripts a transaction of four digests
            await session.execute(
                update(models.Transcript)
                .where(models.Transcript.id == changed)
                .values(xml_sha256="0" * 64)  # as a correction writes it again
            )
        (transaction,) = set(office.transactions) - earlier
        office.approve(transaction)
        for _ in range(100):
            if not await batches.poll_request(
                db, demo.signing, job_id=job.job_id, request_id=request_id, poll_seconds=0.1
            ):
                break
            await asyncio.sleep(0.1)
    finally:
        office.phone = Phone(confirm_delay=0.2)
    async with db.sessions() as session:
        items = {
            row.transcript_id: row
            for row in await session.scalars(
                select(models.SigningBatchItem).where(
                    models.SigningBatchItem.request_id == request_id
                )
            )
        }
    assert (items[changed].state, items[changed].reason_code) == ("FAILED", "TRANSCRIPT_STATE")
    assert "thay đổi" in items[changed].reason
    assert (items[kept].state, items[kept].reason_code, items[kept].reason) == (
        "SIGNED",
        None,
        None,
    )
    assert await signatures_recorded(db, chunk) == {kept: 1}


async def test_an_ask_finding_no_answer_marks_progress_once_a_third_of_the_stall_time(
    school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    """A chunk waiting on a phone is asked every few seconds; each ask finding no answer
    marks the batch's progress so that the watchdog does not take it for stalled, but
    at most once a third of the watchdog's stall time (a job's row is written by every
    chunk's asks otherwise); without a stall time given, each ask marks it."""
    from datetime import UTC, datetime, timedelta

    from hub.jobs import signing as batches

    office = demo.back_offices[SigningProvider.BCY]
    office.phone = Phone(answer=PhoneAnswer.IGNORE, expires_after=60)
    job, _ = await support.class_batch(db, demo, school_id=school.id, class_id=school.class_ids[0])
    long_ago = datetime.now(UTC) - timedelta(hours=1)

    async def asked_once(**stall: float) -> bool:
        """One ask after the job's progress was set long ago: whether it marked progress."""
        async with db.unit_of_work() as session:
            await session.execute(
                update(models.Job)
                .where(models.Job.job_id == job.job_id)
                .values(updated_at=long_ago)
            )
        again = await batches.poll_request(
            db, demo.signing, job_id=job.job_id, request_id=request_id, poll_seconds=0.1, **stall
        )
        assert [step.actor for step in again] == ["poll_request"]  # nothing answered yet
        async with db.sessions() as session:
            marked = await session.scalar(
                select(models.Job.updated_at).where(models.Job.job_id == job.job_id)
            )
        assert marked is not None
        return marked.replace(tzinfo=marked.tzinfo or UTC) > long_ago

    try:
        (poll,) = await batches.send_chunk(
            db, demo.signing, job_id=job.job_id, chunk=0, poll_seconds=0.1
        )
        request_id = str(poll.args[1])
        assert await asked_once(stall_seconds=30.0)  # the first ask of this process marks it
        assert not await asked_once(stall_seconds=30.0)  # within 10 s: left as it was
        assert await asked_once()  # no stall time given: every ask marks it
        assert await asked_once(stall_seconds=0.03)  # once 10 ms have passed
    finally:
        office.phone = Phone(confirm_delay=0.2)


async def test_a_seal_chunk_is_finished_by_the_step_that_sends_it_or_asked_after_a_tsa_outage(
    hub, vendor, school, db, demo
) -> None:  # type: ignore[no-untyped-def]
    """The seal's token signs as its chunk is sent, so the same step finishes and records
    the seals: no ask follows. With the TSA down, that step leaves the request waiting
    instead (nothing sealed, nothing lost) and the ask finishes it once the TSA is back."""
    from hub.jobs import signing as batches
    from hub.jobs.actors import send

    first, second = school.class_ids[:2]
    for class_id in (first, second):
        for role in (SignerRole.HOMEROOM_TEACHER, SignerRole.PRINCIPAL):
            job, work = await support.class_batch(
                db, demo, school_id=school.id, class_id=class_id, role=role
            )
            send(work)
            assert (await until_done(hub, vendor, job.job_id))["signed"] == 5

    async def seal(class_id: int) -> tuple[str, list[Next]]:
        job, _ = await support.class_batch(
            db, demo, school_id=school.id, class_id=class_id, role=SignerRole.SCHOOL_SEAL
        )
        asked = await batches.send_chunk(
            db, demo.signing, job_id=job.job_id, chunk=0, poll_seconds=0.1
        )
        return job.job_id, asked

    async def states(class_id: int) -> list[str]:
        async with db.sessions() as session:
            return list(
                await session.scalars(
                    select(models.Transcript.state).where(
                        models.Transcript.id.in_(school.transcripts[class_id])
                    )
                )
            )

    _, asked = await seal(first)
    assert asked == []  # nothing left to ask
    assert await states(first) == ["SEALED"] * 5

    demo.servers["pki"].stop()  # the TSA
    try:
        job_id, asked = await seal(second)
    finally:
        demo.servers["pki"].start()
    (ask,) = asked
    assert (ask.actor, ask.delay_seconds) == ("poll_request", 0.0)
    assert await states(second) == ["SIGNED_BY_PRINCIPAL"] * 5
    request_id = str(ask.args[1])
    assert (
        await batches.poll_request(
            db, demo.signing, job_id=job_id, request_id=request_id, poll_seconds=0.1
        )
        == []
    )
    assert await states(second) == ["SEALED"] * 5
    assert set((await signatures_recorded(db, school.transcripts[second])).values()) == {3}


async def test_documents_read_earlier_in_a_transaction_are_used_only_while_unchanged(
    school, db
) -> None:  # type: ignore[no-untyped-def]
    """A request finished in the transaction that sent it locks its transcripts without
    reading their documents again, unless one changed since the transaction read it
    (another transaction wrote it meanwhile): then all are read with the lock."""
    from hub.signing import service

    ids = sorted(school.transcripts[school.class_ids[2]])[:2]
    caller = Caller(
        "school-app",
        frozenset({"transcripts:read", "transcripts:write", "transcripts:sign"}),
        OrgLevel.SCHOOL,
        frozenset({school.id}),
    )
    async with db.unit_of_work() as session:
        read = await service._transcripts(session, caller, ids, SignerRole.HOMEROOM_TEACHER)
        kept = await service._lock_documents(session, ids)
        assert [kept[t.id].pdf for t in read] == [t.pdf for t in read]
    async with db.unit_of_work() as session:
        read = await service._transcripts(session, caller, ids, SignerRole.HOMEROOM_TEACHER)
        async with db.unit_of_work() as other:  # written meanwhile, PDF only
            await other.execute(
                update(models.Transcript)
                .where(models.Transcript.id == ids[0])
                .values(pdf=read[0].pdf + b"%changed\n")
            )
        locked = await service._lock_documents(session, ids)
        assert locked[ids[0]].pdf.endswith(b"%changed\n")


async def test_a_signed_pdf_appended_to_the_row_is_the_whole_document_in_the_row_and_session(
    school, db
) -> None:  # type: ignore[no-untyped-def]
    """record_signatures sends a PDF as what its signature appended (on PostgreSQL) and
    the row then holds the whole signed PDF, as does a transcript the session had loaded."""
    from hub.transcripts import service as transcripts

    transcript_id = sorted(school.transcripts[school.class_ids[2]])[-1]
    async with db.unit_of_work() as session:
        loaded = await session.get(models.Transcript, transcript_id)
        assert loaded is not None
        source, revision = loaded.pdf, b"\n% a signature's revision\n"
        caller = Caller("school-app", frozenset({"transcripts:sign"}), OrgLevel.SCHOOL, None)
        await transcripts.record_signatures(
            session,
            caller=caller,
            role=SignerRole.HOMEROOM_TEACHER,
            signed=[
                transcripts.Signed(
                    transcript_id,
                    TranscriptState(loaded.state),
                    loaded.xml,
                    source + revision,
                    pdf_kept=len(source),
                )
            ],
            signer="Nguyễn Thị Lan",
        )
        assert loaded.pdf == source + revision
    async with db.sessions() as session:
        stored = await session.scalar(
            select(models.Transcript.pdf).where(models.Transcript.id == transcript_id)
        )
    assert stored == source + revision
