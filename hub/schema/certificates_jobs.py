"""Certificate refresh runs and signing-provider migrations in the GraphQL schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.db import models
from hub.domain.personal_data import Kind, present
from hub.jobs import certificates as refresh
from hub.jobs import migration
from hub.resolvers import queries
from hub.resolvers.context import Context, context_of
from hub.schema.enums import SigningProviderType

# The GraphQL enum is registered on the domain class; alias as in hub/schema/enums.py.
MigrationActionType = migration.Action
strawberry.enum(
    migration.Action,
    name="ProviderMigrationAction",
    description="SWITCH: đã có chứng thư ở nhà cung cấp mới; ENROL: hệ thống sẽ đăng ký; "
    "NEEDS_ENROLMENT: người này phải tự đăng ký trước; SKIP: không làm gì (xem lý do)",
)


def _gid(type_name: str, key: int | None) -> relay.GlobalID | None:
    return None if key is None else relay.GlobalID(type_name, str(key))


# --- certificate refresh -----------------------------------------------------------------------


@strawberry.type(description="Một chứng thư số còn hiệu lực nhưng hết hạn trong 30 ngày tới")
class ExpiringCertificate:
    certificate_id: relay.GlobalID
    provider: SigningProviderType
    owner_name: str = strawberry.field(description="Cán bộ, hoặc trường (con dấu)")
    staff_id: relay.GlobalID | None
    school_id: relay.GlobalID | None = strawberry.field(description="Trường, khi là con dấu")
    valid_to: datetime


@strawberry.type(description="Một chứng thư số không kiểm tra được ở nhà cung cấp, và vì sao")
class CertificateRefreshProblem:
    certificate_id: relay.GlobalID
    provider: SigningProviderType
    code: str
    message: str


@strawberry.type(description="Một lần cập nhật trạng thái, hạn dùng chứng thư số từ nhà cung cấp")
class CertificateRefreshRun:
    job_id: str
    state: str = strawberry.field(description="RUNNING, COMPLETED")
    total: int = strawberry.field(description="Số chứng thư cần kiểm tra")
    checked: int = strawberry.field(description="Số chứng thư nhà cung cấp đã trả lời")
    updated: int = strawberry.field(description="Số chứng thư có thay đổi được ghi lại")
    renewed: int = strawberry.field(description="Số chứng thư nhà cung cấp đã gia hạn")
    no_longer_valid: int = strawberry.field(description="Số chứng thư vừa bị thu hồi/tạm dừng")
    expiring_count: int = strawberry.field(description="Số chứng thư hết hạn trong 30 ngày")
    problem_count: int
    expiring: list[ExpiringCertificate]
    problems: list[CertificateRefreshProblem]
    created_at: datetime
    finished_at: datetime | None


async def _run(info: Info, job: models.Job) -> CertificateRefreshRun:
    found = refresh.summary(job)
    owners: dict[int, Any] = {}
    if found.expiring:
        async with context_of(info).db.unit_of_work() as session:
            rows = await session.execute(
                select(
                    models.SigningCertificate.id,
                    models.SigningCertificate.provider,
                    models.SigningCertificate.staff_id,
                    models.SigningCertificate.school_id,
                    models.Staff.full_name,
                    models.School.name,
                )
                .outerjoin(models.Staff, models.Staff.id == models.SigningCertificate.staff_id)
                .outerjoin(models.School, models.School.id == models.SigningCertificate.school_id)
                .where(models.SigningCertificate.id.in_([i for i, _ in found.expiring]))
            )
            owners = {row[0]: row for row in rows}
    for owner in owners.values():
        if owner[2] is not None:
            context_of(info).audit.read("staff", owner[2], "certificate")
    return CertificateRefreshRun(
        job_id=job.job_id,
        state=job.state,
        total=job.total,
        checked=found.checked,
        updated=found.updated,
        renewed=found.renewed,
        no_longer_valid=found.no_longer_valid,
        expiring_count=found.expiring_count,
        problem_count=found.problem_count,
        expiring=[
            ExpiringCertificate(
                certificate_id=relay.GlobalID("Certificate", str(certificate_id)),
                provider=owners[certificate_id][1],
                owner_name=owners[certificate_id][4] or owners[certificate_id][5] or "",
                staff_id=_gid("Staff", owners[certificate_id][2]),
                school_id=_gid("School", owners[certificate_id][3]),
                valid_to=valid_to,
            )
            for certificate_id, valid_to in found.expiring
            if certificate_id in owners
        ],
        problems=[
            CertificateRefreshProblem(
                certificate_id=relay.GlobalID("Certificate", str(certificate_id)),
                provider=SigningProviderType(provider),
                code=code,
                message=message,
            )
            for certificate_id, provider, code, message in found.problems
        ],
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


# --- provider migration ------------------------------------------------------------------------


@strawberry.type(description="Một chứng thư số trong kế hoạch chuyển nhà cung cấp")
class MigrationCertificate:
    certificate_id: relay.GlobalID | None = strawberry.field(
        description="Chứng thư đã ghi trong hệ thống; trống nếu chưa ghi (ở nhà cung cấp mới)"
    )
    provider: SigningProviderType
    credential_id: str
    serial_number: str
    valid_to: datetime
    status: str


def _certificate(summary: migration.CertificateSummary | None) -> MigrationCertificate | None:
    if summary is None:
        return None
    return MigrationCertificate(
        certificate_id=_gid("Certificate", summary.certificate_id),
        provider=summary.provider,
        credential_id=summary.credential_id,
        serial_number=summary.serial_number,
        valid_to=summary.valid_to,
        status=summary.status,
    )


@strawberry.type(description="Một cán bộ trong kế hoạch: chứng thư hiện tại và việc sẽ làm")
class PlannedTeacher:
    staff_id: relay.GlobalID
    full_name: str
    school_id: relay.GlobalID
    current: MigrationCertificate | None = strawberry.field(
        description="Chứng thư đang dùng để ký (hoặc gần nhất, nếu không còn cái nào hiệu lực)"
    )
    target_account: bool = strawberry.field(description="Nhà cung cấp mới đã có tài khoản này")
    target: MigrationCertificate | None = strawberry.field(
        description="Chứng thư dùng được ở nhà cung cấp mới"
    )
    action: MigrationActionType
    reason_code: str | None
    reason: str | None


@strawberry.type(description="Kế hoạch chuyển nhà cung cấp chữ ký số (chạy thử: chưa đổi gì)")
class ProviderMigrationPlan:
    from_provider: SigningProviderType
    to_provider: SigningProviderType
    can_enrol: bool = strawberry.field(description="Hệ thống đăng ký được ở nhà cung cấp mới")
    switch: int
    enrol: int
    needs_enrolment: int
    skip: int
    teachers: list[PlannedTeacher]


def _plan(plan: migration.MigrationPlan, ctx: Context) -> ProviderMigrationPlan:
    for teacher in plan.teachers:
        ctx.audit.read("staff", teacher.staff_id, "certificate")
    return ProviderMigrationPlan(
        from_provider=plan.from_provider,
        to_provider=plan.to_provider,
        can_enrol=plan.can_enrol,
        switch=plan.count(migration.Action.SWITCH),
        enrol=plan.count(migration.Action.ENROL),
        needs_enrolment=plan.count(migration.Action.NEEDS_ENROLMENT),
        skip=plan.count(migration.Action.SKIP),
        teachers=[
            PlannedTeacher(
                staff_id=relay.GlobalID("Staff", str(t.staff_id)),
                full_name=t.full_name,
                school_id=relay.GlobalID("School", str(t.school_id)),
                current=_certificate(t.current),
                target_account=t.target_account,
                target=_certificate(t.target),
                action=t.action,
                reason_code=t.reason_code,
                reason=t.reason,
            )
            for t in plan.teachers
        ],
    )


@strawberry.type(description="Một cán bộ trong đợt chuyển nhà cung cấp, và đã đến đâu")
class MigrationTeacher:
    staff_id: relay.GlobalID
    full_name: str
    planned: MigrationActionType
    state: str = strawberry.field(
        description="PENDING, STARTING, TESTING (chờ ký thử), PROVEN, SWITCHED, CONFIRMED, "
        "ROLLED_BACK, SKIPPED, FAILED, CANCELLED"
    )
    old_certificate_id: relay.GlobalID | None
    new_certificate_id: relay.GlobalID | None
    reason_code: str | None
    reason: str | None


@strawberry.type(description="Một bước trong nhật ký của đợt chuyển")
class MigrationStep:
    at: datetime
    step: str
    staff_id: relay.GlobalID | None
    actor: str = strawberry.field(description="Ứng dụng đã yêu cầu, hoặc worker")
    code: str | None
    detail: JSON


@strawberry.type(description="Đợt chuyển nhà cung cấp chữ ký số: tiến độ, từng người, nhật ký")
class ProviderMigration:
    job_id: str
    state: str = strawberry.field(
        description="RUNNING, PAUSED, SWITCHED (xong, chờ xác nhận), CONFIRMED, ROLLED_BACK"
    )
    reason_code: str | None
    reason: str | None = strawberry.field(description="Vì sao đang tạm dừng (tiếng Việt)")
    from_provider: SigningProviderType
    to_provider: SigningProviderType
    total: int
    pending: int
    testing: int = strawberry.field(description="Đang chờ ký thử trên điện thoại")
    switched: int
    confirmed: int
    rolled_back: int
    failed: int
    skipped: int
    cancelled: int
    created_at: datetime
    finished_at: datetime | None
    job: strawberry.Private[models.Job]

    @strawberry.field(description="Các cán bộ của đợt chuyển, lọc theo trạng thái")
    async def teachers(
        self, info: Info, state: str | None = None, first: int = 100
    ) -> list[MigrationTeacher]:
        async with context_of(info).db.unit_of_work() as session:
            people = await migration.movers(
                session, self.job, states=[state] if state else [], first=min(first, 1000)
            )
        for person in people:
            context_of(info).audit.read("staff", person.item.staff_id, "certificate")
        return [
            MigrationTeacher(
                staff_id=relay.GlobalID("Staff", str(person.item.staff_id)),
                full_name=person.full_name,
                planned=migration.Action(person.item.planned),
                state=person.item.state,
                old_certificate_id=_gid("Certificate", person.item.old_certificate_id),
                new_certificate_id=_gid("Certificate", person.item.new_certificate_id),
                reason_code=person.item.reason_code,
                reason=person.item.reason,
            )
            for person in people
        ]

    @strawberry.field(description="Nhật ký từng bước, theo thứ tự thời gian")
    async def steps(self, info: Info, first: int = 500) -> list[MigrationStep]:
        async with context_of(info).db.unit_of_work() as session:
            rows = await migration.steps(session, self.job, first=min(first, 5000))
            return [
                MigrationStep(
                    at=row.at,
                    step=row.step,
                    staff_id=_gid("Staff", row.staff_id),
                    actor=row.actor,
                    code=row.code,
                    detail=present(context_of(info).caller.scopes, Kind.DOCUMENT, row.detail),
                )
                for row in rows
            ]


async def _migration(info: Info, job_id: str) -> ProviderMigration:
    ctx = context_of(info)
    async with ctx.db.unit_of_work() as session:
        job = await migration.load(session, caller=ctx.caller, job_id=job_id)
        found = await migration.progress(session, job)
    state = migration.ItemState
    return ProviderMigration(
        job_id=job.job_id,
        state=job.state,
        reason_code=job.reason_code,
        reason=job.reason,
        from_provider=job.params["from"],
        to_provider=job.params["to"],
        total=job.total,
        pending=found.waiting,
        testing=found.testing,
        switched=found.of(state.SWITCHED),
        confirmed=found.of(state.CONFIRMED),
        rolled_back=found.of(state.ROLLED_BACK),
        failed=found.of(state.FAILED),
        skipped=found.of(state.SKIPPED),
        cancelled=found.of(state.CANCELLED),
        created_at=job.created_at,
        finished_at=job.finished_at,
        job=job,
    )


def _scope(school_id: relay.GlobalID | None, district_id: relay.GlobalID | None) -> dict[str, Any]:
    """A migration's scope as the service takes it."""
    return {
        "school_id": queries.node_key(school_id, "School") if school_id else None,
        "district_id": queries.node_key(district_id, "District") if district_id else None,
    }


From = Annotated[
    SigningProviderType, strawberry.argument(name="from", description="Nhà cung cấp cũ")
]
To = Annotated[SigningProviderType, strawberry.argument(description="Nhà cung cấp mới")]


@strawberry.type
class CertificateJobQueries:
    @strawberry.field(description="Các lần cập nhật chứng thư số gần nhất (mới nhất trước)")
    async def certificate_refresh_runs(
        self, info: Info, first: int = 10
    ) -> list[CertificateRefreshRun]:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            jobs = await refresh.runs(session, caller=ctx.caller, first=first)
        return [await _run(info, job) for job in jobs]

    @strawberry.field(description="Một lần cập nhật chứng thư số")
    async def certificate_refresh_run(self, info: Info, job_id: str) -> CertificateRefreshRun:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            job = await refresh.load(session, caller=ctx.caller, job_id=job_id)
        return await _run(info, job)

    @strawberry.field(
        description="Chạy thử việc chuyển cán bộ của một trường hoặc một phòng GDĐT sang nhà "
        "cung cấp chữ ký số khác: từng người, chứng thư hiện tại, tài khoản ở nhà cung cấp "
        "mới và việc sẽ làm. Không thay đổi gì."
    )
    async def plan_provider_migration(
        self,
        info: Info,
        from_provider: From,
        to: To,
        school_id: relay.GlobalID | None = None,
        district_id: relay.GlobalID | None = None,
    ) -> ProviderMigrationPlan:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            plan = await migration.plan_provider_migration(
                session,
                caller=ctx.caller,
                signing=ctx.require_signing(),
                from_provider=from_provider,
                to_provider=to,
                can_enrol=ctx.enrolment is not None,
                **_scope(school_id, district_id),
            )
        return _plan(plan, ctx)

    @strawberry.field(description="Tiến độ một đợt chuyển nhà cung cấp chữ ký số")
    async def provider_migration(self, info: Info, job_id: str) -> ProviderMigration:
        return await _migration(info, job_id)


@strawberry.type
class CertificateJobMutations:
    @strawberry.mutation(
        description="Hỏi mọi nhà cung cấp trạng thái, hạn dùng của các chứng thư số đã ghi "
        "(việc này cũng tự chạy định kỳ)"
    )
    async def start_certificate_refresh(self, info: Info) -> CertificateRefreshRun:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            refresh.require_department(ctx.caller)
            job, work = await refresh.start_refresh(session, client_id=ctx.caller.client_id)
            job_id = job.job_id
        ctx.send_work(work)
        async with ctx.db.unit_of_work() as session:
            job = await refresh.load(session, caller=ctx.caller, job_id=job_id)
        return await _run(info, job)

    @strawberry.mutation(
        description="Chuyển cán bộ sang nhà cung cấp mới theo kế hoạch (lập lại lúc bắt đầu): "
        "mỗi người ký thử một lần, rồi chứng thư mới thành mặc định, chứng thư cũ giữ làm dự "
        "phòng đến khi xác nhận"
    )
    async def start_provider_migration(
        self,
        info: Info,
        from_provider: From,
        to: To,
        school_id: relay.GlobalID | None = None,
        district_id: relay.GlobalID | None = None,
    ) -> ProviderMigration:
        ctx = context_of(info)
        job_id, work = await migration.plan_and_start(
            ctx.db,
            caller=ctx.caller,
            signing=ctx.require_signing(),
            from_provider=from_provider,
            to_provider=to,
            can_enrol=ctx.enrolment is not None,
            **_scope(school_id, district_id),
        )
        ctx.send_work(work)
        return await _migration(info, job_id)

    @strawberry.mutation(description="Tạm dừng: không bắt đầu, không chuyển thêm ai")
    async def pause_provider_migration(self, info: Info, job_id: str) -> ProviderMigration:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            await migration.pause(session, caller=ctx.caller, job_id=job_id)
        return await _migration(info, job_id)

    @strawberry.mutation(description="Tiếp tục đợt chuyển đang tạm dừng")
    async def resume_provider_migration(self, info: Info, job_id: str) -> ProviderMigration:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            work = await migration.resume(session, caller=ctx.caller, job_id=job_id)
        ctx.send_work(work)
        return await _migration(info, job_id)

    @strawberry.mutation(
        description="Hoàn tác: mọi người đã chuyển trở lại chứng thư mặc định cũ; người chưa "
        "chuyển thì dừng"
    )
    async def rollback_provider_migration(self, info: Info, job_id: str) -> ProviderMigration:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            await migration.rollback(session, caller=ctx.caller, job_id=job_id)
        return await _migration(info, job_id)

    @strawberry.mutation(
        description="Xác nhận: giữ nhà cung cấp mới, bỏ chứng thư cũ (không còn dự phòng)"
    )
    async def confirm_provider_migration(self, info: Info, job_id: str) -> ProviderMigration:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            await migration.confirm(session, caller=ctx.caller, job_id=job_id)
        return await _migration(info, job_id)
