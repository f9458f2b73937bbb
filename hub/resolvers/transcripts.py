"""The transcript mutations' work: drafting from the gradebook, locking, reopening, correcting.

Each function runs one unit of work through :mod:`hub.transcripts.service` and returns
rows and outcomes; the schema (``hub.schema.transcripts``) makes them nodes.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from strawberry import relay

from hub.auth.access import restrict
from hub.db import models
from hub.domain.problems import Code, HubError
from hub.resolvers import assessments
from hub.resolvers.context import Context
from hub.resolvers.queries import node_key
from hub.resolvers.upserts import RowOutcome
from hub.transcripts import service


@dataclass(frozen=True)
class Drafted:
    """What :func:`generate` drafted: the report and the drafted transcripts' rows."""

    report: service.GenerationReport
    rows: Sequence[Any]


async def generate(
    ctx: Context,
    *,
    class_id: relay.GlobalID | None,
    school_id: relay.GlobalID | None,
    school_year: str | None,
) -> Drafted:
    """Draft (or bring up to date) the transcripts of one class or of a whole school.

    Only the classes of schools the caller may write are drafted.
    """
    if (class_id is None) == (school_id is None):
        raise HubError(Code.INVALID_ARGUMENT, detail="cần đúng một trong classId, schoolId")
    async with ctx.db.unit_of_work() as session:
        year = await service.school_year(session, code=school_year)
        classes = select(models.SchoolClass).where(models.SchoolClass.school_year_id == year.id)
        if class_id is not None:
            classes = classes.where(models.SchoolClass.id == node_key(class_id, "SchoolClass"))
        elif school_id is not None:
            classes = classes.where(models.SchoolClass.school_id == node_key(school_id, "School"))
        class_ids = [
            c.id
            for c in await session.scalars(restrict(classes, models.SchoolClass, ctx.caller))
            if ctx.caller.may_write_school(c.school_id)
        ]
        report = await service.generate(
            session,
            caller=ctx.caller,
            school_year=year,
            class_ids=class_ids,
            base_url=ctx.settings.issuer,
            today=ctx.now.date(),
        )
        await session.flush()
        rows = await session.execute(
            select(*models.Transcript.__table__.c)
            .where(models.Transcript.id.in_([t.id for t in report.transcripts]))
            .order_by(models.Transcript.id)
        )
        return Drafted(report=report, rows=rows.all())


async def mark_ready(ctx: Context, *, transcript_id: relay.GlobalID) -> models.Transcript:
    """Lock the gradebook: the transcript waits for its signatures."""
    async with ctx.db.unit_of_work() as session:
        transcript = await service.mark_ready(
            session, caller=ctx.caller, transcript_id=node_key(transcript_id, "Transcript")
        )
        await session.flush()
        await session.refresh(transcript)
    return transcript


async def reopen(ctx: Context, *, transcript_id: relay.GlobalID) -> models.Transcript:
    """Unlock an unsigned transcript so its scores can be changed."""
    async with ctx.db.unit_of_work() as session:
        transcript = await service.reopen(
            session, caller=ctx.caller, transcript_id=node_key(transcript_id, "Transcript")
        )
        await session.flush()
        await session.refresh(transcript)
    return transcript


async def correct(
    ctx: Context,
    *,
    transcript_id: relay.GlobalID,
    reason: str,
    secondary_assessments: Sequence[Any] | None = None,
    year_records: Sequence[Any] | None = None,
    primary_assessments: Sequence[Any] | None = None,
    primary_traits: Sequence[Any] | None = None,
) -> tuple[models.Transcript, list[RowOutcome]]:
    """Open a new version of a signed transcript with ``reason``, write the gradebook
    changes that come with it (one verdict per row, numbered across the lists) and draft
    it again; it is signed again in order."""
    outcomes: list[RowOutcome] = []
    async with ctx.db.unit_of_work() as session:
        new = await service.correct(
            session,
            caller=ctx.caller,
            transcript_id=node_key(transcript_id, "Transcript"),
            reason=reason,
        )
        await session.flush()
        for write, rows in (
            (assessments.upsert_secondary_assessments, secondary_assessments),
            (assessments.upsert_year_records, year_records),
            (assessments.upsert_primary_assessments, primary_assessments),
            (assessments.upsert_primary_traits, primary_traits),
        ):
            if rows:
                offset = len(outcomes)
                for outcome in await write(session, ctx.caller, rows, careful=True):
                    outcome.index += offset
                    outcomes.append(outcome)
        await service.regenerate_one(
            session,
            caller=ctx.caller,
            transcript=new,
            base_url=ctx.settings.issuer,
            today=ctx.now.date(),
        )
        await session.refresh(new)
    return new, outcomes
