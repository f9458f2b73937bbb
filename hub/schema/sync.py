"""The national sync in the GraphQL schema: runs, their progress and report, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.db import models
from hub.domain.personal_data import Kind, present
from hub.domain.problems import Code, HubError
from hub.jobs import sync
from hub.jobs.core import JobState
from hub.resolvers import queries
from hub.resolvers.context import Context, context_of

# The GraphQL enum is registered on the domain class; alias as in hub/schema/enums.py.
SyncPhaseType = sync.Phase
strawberry.enum(
    sync.Phase,
    name="SyncPhase",
    description="Phần việc của một lượt đồng bộ: xác thực danh tính, hồ sơ học sinh, học bạ",
)


@strawberry.type(description="Số hồ sơ học sinh đã gửi lên cơ sở dữ liệu ngành trong lượt này")
class SyncStudents:
    total: int | None = strawberry.field(description="Số hồ sơ cần gửi (biết khi bắt đầu gửi)")
    sent: int
    accepted: int
    rejected: int
    since_version: int = strawberry.field(description="Gửi các thay đổi sau phiên bản này")
    through_version: int | None = strawberry.field(description="… đến hết phiên bản này")
    done_through_version: int = strawberry.field(description="Đã xong đến phiên bản này")


@strawberry.type(description="Số học bạ đã gửi kho học bạ số quốc gia trong lượt này")
class SyncTranscripts:
    total: int
    sent: int
    published: int
    rejected: int


@strawberry.type(description="Số học sinh lệch ở một trường thông tin")
class FieldCount:
    field: str
    count: int


@strawberry.type(description="Một học sinh không khớp hoặc không có trong CSDL dân cư")
class IdentityIssue:
    student_id: relay.GlobalID
    result: str = strawberry.field(description="MISMATCH hoặc UNKNOWN")
    fields: list[str] = strawberry.field(description="Trường thông tin lệch: fullName, birthDate")


@strawberry.type(description="Báo cáo xác thực danh tính với cơ sở dữ liệu quốc gia về dân cư")
class IdentityReport:
    total: int
    checked: int
    verified: int
    mismatched: int
    unknown: int
    by_field: list[FieldCount]
    issues: list[IdentityIssue] = strawberry.field(
        description=f"Từng học sinh cần rà soát (tối đa {sync.ISSUES_KEPT})"
    )


@strawberry.type(description="Một lượt đồng bộ dữ liệu lên các hệ thống quốc gia")
class SyncRun:
    run_id: str
    state: str = strawberry.field(description="RUNNING, PAUSED, COMPLETED, FAILED, CANCELLED")
    reason_code: str | None
    reason: str | None = strawberry.field(description="Vì sao tạm dừng hoặc thất bại")
    phases: list[SyncPhaseType]
    phase: str = strawberry.field(description="Phần việc đang làm (DONE khi đã xong)")
    total: int
    done: int
    identity: IdentityReport
    students: SyncStudents
    transcripts: SyncTranscripts
    dead_letters: int = strawberry.field(description="Số bản ghi bị hệ thống quốc gia từ chối")
    next_retry_at: datetime | None = strawberry.field(description="Lần thử lại kế tiếp")
    checkpoint: JSON = strawberry.field(description="Điểm dừng để chạy tiếp (JSON)")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: models.Job, dead_letters: int) -> SyncRun:
        checkpoint: dict[str, Any] = job.checkpoint
        identity, students = checkpoint["identity"], checkpoint["students"]
        transcripts, retry = checkpoint["transcripts"], checkpoint.get("retry")
        progress = sync.progress(job)
        return cls(
            run_id=job.job_id,
            state=job.state,
            reason_code=job.reason_code,
            reason=job.reason,
            phases=[sync.Phase(p) for p in job.params["phases"]],
            phase=checkpoint["phase"],
            total=progress.total,
            done=progress.done,
            identity=IdentityReport(
                total=identity["total"],
                checked=identity["checked"],
                verified=identity["verified"],
                mismatched=identity["mismatched"],
                unknown=identity["unknown"],
                by_field=[FieldCount(field=k, count=v) for k, v in identity["by_field"].items()],
                issues=[
                    IdentityIssue(
                        student_id=relay.GlobalID("Student", str(issue["studentId"])),
                        result=issue["result"],
                        fields=issue["fields"],
                    )
                    for issue in identity["issues"]
                ],
            ),
            students=SyncStudents(
                total=students["total"],
                sent=students["sent"],
                accepted=students["accepted"],
                rejected=students["rejected"],
                since_version=students["since"],
                through_version=students["upper"],
                done_through_version=students["after"],
            ),
            transcripts=SyncTranscripts(
                total=transcripts["total"],
                sent=transcripts["sent"],
                published=transcripts["published"],
                rejected=transcripts["rejected"],
            ),
            dead_letters=dead_letters,
            next_retry_at=datetime.fromtimestamp(retry["at"], UTC)
            if retry and job.state == JobState.PAUSED.value
            else None,
            checkpoint=JSON(checkpoint),
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


@strawberry.type(description="Một bản ghi bị hệ thống quốc gia từ chối, chờ cán bộ xử lý")
class SyncDeadLetter:
    id: int
    target: str = strawberry.field(description="SECTOR_DATABASE hoặc TRANSCRIPT_STORE")
    entity_id: relay.GlobalID = strawberry.field(description="Học sinh hoặc học bạ")
    natural_key: str | None = strawberry.field(description="Mã định danh hoặc mã tài liệu")
    item_version: int
    code: str
    message: str
    batch_key: str
    created_at: datetime
    resolved_at: datetime | None = strawberry.field(
        description="Khi một lượt sau gửi lại thành công"
    )

    @classmethod
    def of(cls, letter: models.SyncDeadLetter, ctx: Context) -> SyncDeadLetter:
        node = "Student" if letter.entity == "student" else "Transcript"
        key = letter.natural_key
        if letter.entity == "student":  # a student's natural key is their personal ID
            key = present(ctx.caller.scopes, Kind.PERSONAL_ID, key)
            ctx.audit.read("student", letter.entity_id, "sync-dead-letter")
        return cls(
            id=letter.id,
            target=letter.target,
            entity_id=relay.GlobalID(node, str(letter.entity_id)),
            natural_key=key,
            item_version=letter.item_version,
            code=letter.code,
            message=letter.message,
            batch_key=letter.batch_key,
            created_at=letter.created_at,
            resolved_at=letter.resolved_at,
        )


async def _runs(info: Info, jobs: list[models.Job]) -> list[SyncRun]:
    async with context_of(info).db.unit_of_work() as session:
        counts = await sync.dead_letter_counts(session, [job.id for job in jobs])
    return [SyncRun.of(job, counts.get(job.id, 0)) for job in jobs]


async def _run(info: Info, run_id: str) -> SyncRun:
    ctx = context_of(info)
    async with ctx.db.unit_of_work() as session:
        job = await sync.load_run(session, caller=ctx.caller, job_id=run_id)
    return (await _runs(info, [job]))[0]


@strawberry.type
class SyncQueries:
    @strawberry.field(description="Các lượt đồng bộ gần nhất, mới nhất trước (ứng dụng cấp Sở)")
    async def sync_runs(self, info: Info, first: int = 20) -> list[SyncRun]:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            jobs = await sync.recent_runs(session, caller=ctx.caller, first=first)
        return await _runs(info, jobs)

    @strawberry.field(description="Một lượt đồng bộ: tiến độ, báo cáo, điểm dừng")
    async def sync_run(self, info: Info, run_id: str) -> SyncRun:
        return await _run(info, run_id)

    @strawberry.field(
        description="Các bản ghi bị từ chối trong một lượt đồng bộ, theo thứ tự; "
        "openOnly: chỉ những bản ghi chưa được gửi lại thành công"
    )
    async def sync_dead_letters(
        self, info: Info, run_id: str, first: int = 100, after: int = 0, open_only: bool = False
    ) -> list[SyncDeadLetter]:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            letters = await sync.dead_letters(
                session,
                caller=ctx.caller,
                job_id=run_id,
                first=first,
                after_id=after,
                open_only=open_only,
            )
        return [SyncDeadLetter.of(letter, ctx) for letter in letters]


@strawberry.type
class SyncMutations:
    @strawberry.mutation(
        description="Bắt đầu một lượt đồng bộ lên hệ thống quốc gia, tiếp từ lượt trước: xác thực "
        "danh tính học sinh chưa xác thực, gửi hồ sơ học sinh đã thay đổi, gửi các học bạ đã "
        "đóng dấu (hoặc chỉ các học bạ chỉ định)"
    )
    async def start_sync(
        self,
        info: Info,
        phases: list[SyncPhaseType] | None = None,
        transcript_ids: list[relay.GlobalID] | None = None,
    ) -> SyncRun:
        ctx = context_of(info)
        if ctx.send_jobs is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="máy chủ này không chạy công việc nền")
        async with ctx.db.unit_of_work() as session:
            job, work = await sync.start_sync(
                session,
                caller=ctx.caller,
                phases=[sync.Phase(p) for p in phases] if phases else tuple(sync.Phase),
                transcript_ids=[queries.node_key(t, "Transcript") for t in transcript_ids]
                if transcript_ids
                else None,
            )
            run_id = job.job_id
        ctx.send_jobs(work)
        return await _run(info, run_id)

    @strawberry.mutation(description="Huỷ một lượt đồng bộ đang chạy hoặc đang chờ thử lại")
    async def cancel_sync(self, info: Info, run_id: str) -> SyncRun:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            await sync.cancel_sync(session, caller=ctx.caller, job_id=run_id)
        return await _run(info, run_id)
