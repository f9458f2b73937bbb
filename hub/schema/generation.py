"""Drafting a whole school's transcripts as a background job, in the GraphQL schema."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from hub.jobs import generation
from hub.resolvers import queries
from hub.resolvers.context import context_of


@strawberry.type(description="Học sinh chưa lập được học bạ và lý do")
class SkippedInGeneration:
    student_id: relay.GlobalID
    code: str
    message: str


@strawberry.type(description="Một lần lập học bạ cả trường, chạy nền theo từng lớp")
class TranscriptGeneration:
    job_id: str
    state: str = strawberry.field(description="RUNNING, COMPLETED")
    total: int = strawberry.field(description="Số học sinh của các lớp")
    classes: int
    classes_done: int
    generated: int = strawberry.field(description="Lập mới")
    regenerated: int = strawberry.field(description="Cập nhật bản nháp")
    unchanged: int = strawberry.field(description="Không thay đổi")
    skipped_count: int = strawberry.field(description="Chưa lập được (xem skipped)")
    skipped: list[SkippedInGeneration]
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: generation.RunSummary) -> TranscriptGeneration:
        job = run.job
        return cls(
            job_id=job.job_id,
            state=job.state,
            total=job.total,
            classes=run.classes,
            classes_done=run.classes_done,
            generated=run.generated,
            regenerated=run.regenerated,
            unchanged=run.unchanged,
            skipped_count=run.skipped_count,
            skipped=[
                SkippedInGeneration(
                    student_id=relay.GlobalID("Student", str(student)), code=code, message=message
                )
                for student, code, message in run.skipped
            ],
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


async def _run(info: Info, job_id: str) -> TranscriptGeneration:
    ctx = context_of(info)
    async with ctx.db.sessions() as session:
        job = await generation.load(session, caller=ctx.caller, job_id=job_id)
        return TranscriptGeneration.of(generation.summary(job))


@strawberry.type
class GenerationQueries:
    @strawberry.field(description="Tiến độ một lần lập học bạ cả trường")
    async def transcript_generation(self, info: Info, job_id: str) -> TranscriptGeneration:
        return await _run(info, job_id)


@strawberry.type
class GenerationMutations:
    @strawberry.mutation(
        description="Lập (hoặc cập nhật bản nháp) học bạ của cả trường theo sổ điểm, chạy nền "
        "theo từng lớp; theo dõi bằng transcriptGeneration(jobId)"
    )
    async def start_transcript_generation(
        self, info: Info, school_id: relay.GlobalID, school_year: str | None = None
    ) -> TranscriptGeneration:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            job, work = await generation.start_generation(
                session,
                caller=ctx.caller,
                school_id=queries.node_key(school_id, "School"),
                school_year=school_year,
                base_url=ctx.settings.issuer,
                today=ctx.now.date(),
            )
            job_id = job.job_id
        ctx.send_work(work)
        return await _run(info, job_id)
