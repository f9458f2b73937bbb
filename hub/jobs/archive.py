"""Archive timestamps: every sealed transcript made long-term, and kept so for decades.

A transcript sealed on its own is made PAdES B-LTA / XAdES LTA when the seal is applied
(:func:`hub.signing.service.complete_signatures`), unless the PKI could not answer
then; one sealed by a bulk-signing batch is recorded B-T
(:func:`hub.signing.service.complete_batch_signatures`) and made long-term here. A
timestamp proves something only while its TSA's certificate is valid, so before that
certificate ends a new archive timestamp must cover the old one
(:mod:`hub.signing.longterm`). This job does both, for every signed version of every
sealed or published transcript (a corrected one's earlier version stays verifiable).

A run is an ARCHIVE :class:`~hub.db.models.Job`. At the start the transcripts' ids are
split into batches of :data:`BATCH_TRANSCRIPTS` (ranges stored in the job's params);
each batch is one message (:func:`archive_batch`). A batch reads each transcript's
documents, asks :func:`hub.signing.longterm.due` whether they need a timestamp and,
if so, makes them long-term outside any transaction (OCSP, TSA), then writes them in
a transaction that first checks the documents are still the ones it read. The state
is in the documents themselves: a batch delivered twice, or run again after a crash,
finds the documents it finished not due and leaves them; the watchdog sends again the
batches a stalled run lacks (:func:`stalled_work`) and starts a run when the last one
is older than ``HUB_ARCHIVE_HOURS`` (:func:`archive_when_due`). A batch is small and
marks the run as progressing while it works (:data:`PROGRESS_SECONDS`), so a run whose
batches are only busy is never taken for stalled and sent again: a batch sent again
while the first is still at work would make its transcripts long-term a second time.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import models
from hub.db.engine import Database
from hub.domain.certificates import as_utc
from hub.domain.lifecycle import TranscriptState
from hub.jobs import core
from hub.jobs.core import JobState, Next
from hub.signing import longterm
from hub.signing.service import SigningServices

KIND = "ARCHIVE"
ACTOR = "archive_transcripts"
#: Transcripts per message; each may cost a few OCSP requests and two timestamps, and
#: ~60 ms of CPU: a batch of 20 is a second or two of a worker's time, so a batch running
#: beside a dozen others still ends well inside the watchdog's stall time.
BATCH_TRANSCRIPTS = 20
#: While a batch works, the run is marked as progressing at most this often, so the
#: watchdog never takes a run whose batches are busy for stalled and sends them again.
PROGRESS_SECONDS = 5.0
#: The client id of runs the watchdog starts.
SCHEDULER = "hub-scheduler"
#: How many problems a run lists; its counts are always whole.
LISTED = 1000
#: A transcript with every signature on it: its documents are final but for archive data.
FINISHED = (TranscriptState.SEALED.value, TranscriptState.PUBLISHED.value)
COUNTS = ("checked", "extended", "problem_count")

log = structlog.get_logger(__name__)


async def start(
    session: AsyncSession,
    *,
    client_id: str,
    job_id: str | None = None,
    batch_transcripts: int = BATCH_TRANSCRIPTS,
) -> tuple[models.Job, list[Next]]:
    """A new run over every sealed or published transcript, and its batches."""
    ids = list(
        await session.scalars(
            select(models.Transcript.id)
            .where(models.Transcript.state.in_(FINISHED))
            .order_by(models.Transcript.id)
        )
    )
    batches = [
        [ids[at], ids[min(at + batch_transcripts, len(ids)) - 1]]
        for at in range(0, len(ids), batch_transcripts)
    ]
    job = await core.create(
        session,
        kind=KIND,
        client_id=client_id,
        job_id=job_id,
        params={"batches": batches},
        checkpoint=_empty_checkpoint(),
        total=len(ids),
    )
    if not batches:
        core.end(job, JobState.COMPLETED)
    return job, [Next(ACTOR, (job.job_id, n)) for n in range(len(batches))]


async def archive_when_due(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """Start a run when the last one started more than ``HUB_ARCHIVE_HOURS`` ago (or none
    ever did), on a worker that signs (it has the trust store and a TSA). Two workers
    deciding at once give the run the same id, so only one starts."""
    hours = runtime.settings.archive_hours
    signing = runtime.signing
    if signing is None or signing.timestamper is None or hours <= 0:
        return []
    interval = timedelta(hours=hours)
    now = datetime.now(UTC)
    async with runtime.db.unit_of_work() as session:
        last = await session.scalar(
            select(func.max(models.Job.created_at)).where(models.Job.kind == KIND)
        )
        if last is not None and as_utc(last) > now - interval:
            return []
    slot = int(now.timestamp() // max(interval.total_seconds(), 1.0))
    try:
        async with runtime.db.unit_of_work() as session:
            _, work = await start(session, client_id=SCHEDULER, job_id=f"{KIND}-{slot}")
    except IntegrityError:
        return []
    return work


async def archive_batch(
    db: Database,
    signing: SigningServices,
    *,
    job_id: str,
    batch: int,
    now: datetime | None = None,
) -> list[Next]:
    """Make one batch's transcripts long-term, or renew their archive timestamps.
    ``now`` is the moment renewal is judged at (the tests run it years ahead)."""
    if signing.timestamper is None:
        raise RuntimeError("HUB_TSA_URL is not set: archive timestamps need a TSA")
    async with db.unit_of_work() as session:
        job = await core.find(session, job_id)
        if job is None or job.state != JobState.RUNNING.value or batch in core.parts_done(job):
            return []
        first, last = job.params["batches"][batch]
        rows = (
            await session.execute(
                select(models.Transcript.id, models.Transcript.xml, models.Transcript.pdf)
                .where(
                    models.Transcript.id.between(first, last),
                    models.Transcript.state.in_(FINISHED),
                )
                .order_by(models.Transcript.id)
            )
        ).all()
    moment = now or datetime.now(UTC)
    checked, extended, problems = 0, 0, []
    noted = time.monotonic()
    for transcript_id, xml, pdf in rows:
        if time.monotonic() - noted >= PROGRESS_SECONDS:
            await core.touch(db, job_id)
            noted = time.monotonic()
        checked += 1
        documents = longterm.Documents(xml, pdf)
        try:
            if not longterm.due(documents, moment):
                continue
            made = await longterm.make_long_term(
                documents, trust=signing.trust, timestamper=signing.timestamper
            )
        except (longterm.LongTermError, OSError) as error:
            # The PKI or the TSA did not answer: the next run tries again.
            log.warning("archive.later", transcript_id=transcript_id, problem=str(error)[:300])
            problems.append([transcript_id, type(error).__name__])
            continue
        if await _store(db, transcript_id, documents, made):
            extended += 1
    async with db.unit_of_work() as session:
        job = await core.lock(session, job_id)
        if job is None or job.state != JobState.RUNNING.value or batch in core.parts_done(job):
            return []
        checkpoint = {**_empty_checkpoint(), **(job.checkpoint or {})}
        checkpoint["checked"] += checked
        checkpoint["extended"] += extended
        checkpoint["problem_count"] += len(problems)
        checkpoint["problems"] = [*checkpoint["problems"], *problems][:LISTED]
        core.part_done(job, batch, checkpoint, parts="batches")
    return []


async def _store(
    db: Database, transcript_id: int, read: longterm.Documents, made: longterm.Documents
) -> bool:
    """Write ``made`` in place of ``read`` — unless the row changed since it was read
    (another delivery of the batch got there first): whether it was written."""
    async with db.unit_of_work() as session:
        transcript = await session.get(models.Transcript, transcript_id, with_for_update=True)
        if transcript is None or transcript.xml != read.xml or transcript.pdf != read.pdf:
            return False
        transcript.xml, transcript.pdf = made.xml, made.pdf
        transcript.xml_sha256 = hashlib.sha256(made.xml).hexdigest()
    return True


async def stalled_work(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """The batches a run that made no progress for a while still lacks, sent again."""
    return await core.stalled_parts(
        runtime.db, kind=KIND, actor=ACTOR, parts="batches", stall_seconds=stall_seconds
    )


def _empty_checkpoint() -> dict[str, Any]:
    return {"done": [], **dict.fromkeys(COUNTS, 0), "problems": []}
