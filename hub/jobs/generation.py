"""Drafting a whole school's transcripts as a job, class by class.

Drafting a transcript takes ~25 ms (its XML and its PDF), so a school of 1,150
pupils is half a minute: too long for a request. A run is a
TRANSCRIPT_GENERATION :class:`~hub.db.models.Job` whose params list the school's
classes for the year; each class is one message (:func:`generate_class`), which
drafts (or refreshes) that class's transcripts with
:func:`hub.transcripts.service.generate` and adds its counts to the job's
checkpoint in the same transaction. Drafting is idempotent (an unchanged draft
is left as it is), the class's row is locked while it is drafted so two
deliveries of one message take turns, and the second finds the class in the
checkpoint's ``done`` list and stops; the watchdog sends again the classes a
stalled run still lacks (:func:`stalled_work`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.access import Caller
from hub.db import models
from hub.db.engine import Database
from hub.domain.problems import Code, HubError
from hub.jobs import core
from hub.jobs.core import JobState, Next
from hub.transcripts import service as transcripts

KIND = "TRANSCRIPT_GENERATION"
#: How many skipped students a run lists one by one (all are counted).
LISTED = 1000
COUNTS = ("generated", "regenerated", "unchanged", "skipped_count")


async def start_generation(
    session: AsyncSession,
    *,
    caller: Caller,
    school_id: int,
    school_year: str | None,
    base_url: str,
    today: date,
) -> tuple[models.Job, list[Next]]:
    """A run over every class of the school in the year, one message per class."""
    caller.require("transcripts:write")
    school = await session.get(models.School, school_id)
    if school is None or not caller.may_write_school(school_id):
        raise HubError(Code.INVALID_ARGUMENT, detail=f"không có trường {school_id}")
    year = await transcripts.school_year(session, code=school_year)
    class_ids = list(
        await session.scalars(
            select(models.SchoolClass.id)
            .where(
                models.SchoolClass.school_id == school_id,
                models.SchoolClass.school_year_id == year.id,
            )
            .order_by(models.SchoolClass.id)
        )
    )
    pupils = await session.scalar(
        select(func.count()).where(
            models.Enrolment.class_id.in_(class_ids),
            models.Enrolment.school_year_id == year.id,
        )
    )
    job = await core.create(
        session,
        kind=KIND,
        client_id=caller.client_id,
        params={
            "school_year_id": year.id,
            "class_ids": class_ids,
            "base_url": base_url,
            "today": today.isoformat(),
        },
        checkpoint={"done": [], **dict.fromkeys(COUNTS, 0), "skipped": []},
        total=pupils or 0,
        school_id=school_id,
    )
    if not class_ids:
        core.end(job, JobState.COMPLETED)
    return job, [Next("generate_class", (job.job_id, n)) for n in range(len(class_ids))]


def job_caller(job: models.Job) -> Caller:
    """The run acts for the client that started it, in the school it named."""
    return core.acting_for(job, "transcripts:read", "transcripts:write")


async def generate_class(db: Database, *, job_id: str, index: int) -> list[Next]:
    """Draft one class's transcripts and add what happened to the run."""
    async with db.unit_of_work() as session:
        job = await core.find(session, job_id)
        if job is None or job.state != JobState.RUNNING.value:
            return []
        class_id = job.params["class_ids"][index]
        # Writing first takes the class's row lock (the database's, on SQLite): a second
        # delivery of this message waits here, then finds the class done.
        await session.execute(
            update(models.SchoolClass)
            .where(models.SchoolClass.id == class_id)
            .values(id=models.SchoolClass.id)
        )
        if index in core.parts_done(await core.find(session, job_id, fresh=True)):
            return []
        year = await session.get(models.SchoolYear, job.params["school_year_id"])
        if year is None:
            raise HubError(Code.SCHOOL_YEAR_NOT_FOUND, value=str(job.params["school_year_id"]))
        report = await transcripts.generate(
            session,
            caller=job_caller(job),
            school_year=year,
            class_ids=[class_id],
            base_url=job.params["base_url"],
            today=date.fromisoformat(job.params["today"]),
        )
        job = await core.lock(session, job_id)
        assert job is not None
        checkpoint = dict(job.checkpoint or {})
        for name, value in (
            ("generated", report.generated),
            ("regenerated", report.regenerated),
            ("unchanged", report.unchanged),
            ("skipped_count", len(report.skipped)),
        ):
            checkpoint[name] = int(checkpoint.get(name, 0)) + value
        listed = checkpoint.get("skipped", [])
        room = max(0, LISTED - len(listed))
        checkpoint["skipped"] = listed + [
            [s.student.id, s.problem.code.value, s.problem.message] for s in report.skipped[:room]
        ]
        core.part_done(job, index, checkpoint, parts="class_ids")
    return []


# --- reading runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    job: models.Job
    classes: int
    classes_done: int
    generated: int
    regenerated: int
    unchanged: int
    skipped_count: int
    #: (student id, code, message), up to LISTED.
    skipped: list[tuple[int, str, str]]


def summary(job: models.Job) -> RunSummary:
    checkpoint: dict[str, Any] = job.checkpoint or {}
    return RunSummary(
        job=job,
        classes=len(job.params.get("class_ids", [])),
        classes_done=len(checkpoint.get("done", [])),
        **{name: int(checkpoint.get(name, 0)) for name in COUNTS},
        skipped=[(int(s), str(c), str(m)) for s, c, m in checkpoint.get("skipped", [])],
    )


async def load(session: AsyncSession, *, caller: Caller, job_id: str) -> models.Job:
    caller.require("transcripts:read")
    job = await core.load(session, kind=KIND, job_id=job_id, what="lần lập học bạ")
    if not caller.may_write_school(job.school_id or -1):
        raise core.not_found("lần lập học bạ", job_id)
    return job


# --- the watchdog ------------------------------------------------------------------------------


async def stalled_work(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """The classes a run that made no progress for a while still lacks, sent again."""
    return await core.stalled_parts(
        runtime.db,
        kind=KIND,
        actor="generate_class",
        parts="class_ids",
        stall_seconds=stall_seconds,
    )
