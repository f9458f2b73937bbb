"""Bulk signing batches in the GraphQL schema: start, follow, pause, resume, cancel."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry import relay
from strawberry.types import Info

from hub.config import Mode
from hub.db import models
from hub.jobs import signing as batches
from hub.resolvers import queries
from hub.resolvers.context import context_of
from hub.schema.enums import SigningProviderType
from hub.schema.transcripts import SignerRoleType


@strawberry.type(description="Một giao dịch ký đang chờ người ký xác nhận trên điện thoại")
class WaitingTransaction:
    provider: SigningProviderType
    transaction_id: str
    expires_at: datetime


@strawberry.type(description="Một học bạ trong đợt ký")
class SigningBatchItem:
    transcript_id: relay.GlobalID
    state: str
    reason_code: str | None
    reason: str | None


@strawberry.type(description="Đợt ký hàng loạt: tiến độ và lý do của từng học bạ")
class SigningBatch:
    job_id: str
    role: SignerRoleType
    state: str = strawberry.field(description="RUNNING, PAUSED, COMPLETED, CANCELLED")
    reason_code: str | None
    reason: str | None = strawberry.field(description="Vì sao đang tạm dừng (tiếng Việt)")
    total: int
    signed: int
    returned: int = strawberry.field(description="Trả lại (từ chối/quá hạn xác nhận), ký lại sau")
    failed: int
    queued: int
    waiting: int
    waiting_for: list[WaitingTransaction]
    created_at: datetime
    finished_at: datetime | None
    job: strawberry.Private[models.Job]

    @strawberry.field(description="Các học bạ của đợt ký, lọc theo trạng thái")
    async def items(
        self, info: Info, state: str | None = None, first: int = 100
    ) -> list[SigningBatchItem]:
        query = select(models.SigningBatchItem).where(models.SigningBatchItem.job_id == self.job.id)
        if state:
            query = query.where(models.SigningBatchItem.state == state)
        async with context_of(info).db.unit_of_work() as session:
            rows = await session.scalars(
                query.order_by(models.SigningBatchItem.id).limit(min(first, 1000))
            )
            return [
                SigningBatchItem(
                    transcript_id=relay.GlobalID("Transcript", str(row.transcript_id)),
                    state=row.state,
                    reason_code=row.reason_code,
                    reason=row.reason,
                )
                for row in rows
            ]


async def _batch(info: Info, job_id: str) -> SigningBatch:
    ctx = context_of(info)
    async with ctx.db.unit_of_work() as session:
        job = await batches.load(session, caller=ctx.caller, job_id=job_id)
        progress = await batches.progress(session, job)
    counts = progress.counts
    return SigningBatch(
        job_id=job.job_id,
        role=job.params["role"],
        state=job.state,
        reason_code=job.reason_code,
        reason=job.reason,
        total=job.total,
        signed=counts["SIGNED"],
        returned=counts["RETURNED"],
        failed=counts["FAILED"],
        queued=counts["QUEUED"],
        waiting=counts["WAITING"],
        waiting_for=[
            WaitingTransaction(
                provider=r.provider,
                transaction_id=r.transaction["transaction_id"],
                expires_at=datetime.fromisoformat(r.transaction["expires_at"]),
            )
            for r in progress.waiting_for
        ],
        created_at=job.created_at,
        finished_at=job.finished_at,
        job=job,
    )


@strawberry.type
class JobQueries:
    @strawberry.field(description="Tiến độ một đợt ký hàng loạt")
    async def signing_batch(self, info: Info, job_id: str) -> SigningBatch:
        return await _batch(info, job_id)


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description="Bắt đầu đợt ký hàng loạt các học bạ của một lớp hoặc cả trường đang chờ "
        "một vai trò ký; mỗi nhóm học bạ là một lần xác nhận trên điện thoại"
    )
    async def start_signing_batch(
        self,
        info: Info,
        role: SignerRoleType,
        class_id: relay.GlobalID | None = None,
        school_id: relay.GlobalID | None = None,
    ) -> SigningBatch:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            job, work = await batches.start_batch(
                session,
                caller=ctx.caller,
                signing=ctx.require_signing(),
                role=role,
                class_id=queries.node_key(class_id, "SchoolClass") if class_id else None,
                school_id=queries.node_key(school_id, "School") if school_id else None,
                apps_may_name_signers=ctx.settings.mode is Mode.DEMO,
            )
            job_id = job.job_id
        ctx.send_work(work)
        return await _batch(info, job_id)

    @strawberry.mutation(description="Tạm dừng đợt ký (các yêu cầu đang chờ vẫn được hoàn tất)")
    async def pause_signing_batch(self, info: Info, job_id: str) -> SigningBatch:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            await batches.pause(session, caller=ctx.caller, job_id=job_id)
        return await _batch(info, job_id)

    @strawberry.mutation(description="Tiếp tục đợt ký đang tạm dừng")
    async def resume_signing_batch(self, info: Info, job_id: str) -> SigningBatch:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            work = await batches.resume(session, caller=ctx.caller, job_id=job_id)
        ctx.send_work(work)
        return await _batch(info, job_id)

    @strawberry.mutation(description="Huỷ đợt ký: không gửi thêm yêu cầu ký nào")
    async def cancel_signing_batch(self, info: Info, job_id: str) -> SigningBatch:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            await batches.cancel(session, caller=ctx.caller, job_id=job_id)
        return await _batch(info, job_id)
