"""What jobs made of numbered parts share (a certificate refresh's batches, a school's
classes being drafted): the parts done are listed in ``Job.checkpoint["done"]``, merged
with the job's row locked, and the watchdog sends again the parts a stalled job lacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import models
from hub.db.engine import Database
from hub.jobs.signing import Next

RUNNING = "RUNNING"


def done(job: models.Job | None) -> set[int]:
    """The parts of ``job`` already done."""
    return set(((job.checkpoint if job else None) or {}).get("done", []))


async def locked_job(session: AsyncSession, job_id: str) -> models.Job | None:
    """The job with its row locked for this transaction (on SQLite, the database).

    Writing first takes the lock, so two parts merging at once take turns.
    """
    await session.execute(
        update(models.Job).where(models.Job.job_id == job_id).values(updated_at=func.now())
    )
    return await session.scalar(
        select(models.Job)
        .where(models.Job.job_id == job_id)
        .execution_options(populate_existing=True)
    )


async def stalled_parts(
    db: Database, *, kind: str, actor: str, parts: str, stall_seconds: float
) -> list[Next]:
    """For each RUNNING job of ``kind`` without progress for ``stall_seconds``, ``actor``
    again for every part (the list ``Job.params[parts]``) it has not done."""
    cutoff = datetime.now(UTC) - timedelta(seconds=stall_seconds)
    work: list[Next] = []
    async with db.unit_of_work() as session:
        stalled = await session.scalars(
            select(models.Job).where(
                models.Job.kind == kind,
                models.Job.state == RUNNING,
                models.Job.updated_at < cutoff,
            )
        )
        for job in stalled:
            job.updated_at = datetime.now(UTC)
            finished = done(job)
            work += [
                Next(actor, (job.job_id, n))
                for n in range(len(job.params[parts]))
                if n not in finished
            ]
    return work
