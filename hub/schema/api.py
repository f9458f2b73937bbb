"""The hub's GraphQL schema: queries, mutations and the execution extensions."""

from collections.abc import AsyncIterator
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import strawberry
import structlog
from graphql import GraphQLError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON
from strawberry.types import ExecutionContext, ExecutionResult, Info

from hub.auth.access import restrict
from hub.config import Mode
from hub.db import changes as db_changes
from hub.db import models
from hub.domain.certificates import as_utc
from hub.domain.personal_data import Kind, present
from hub.domain.problems import Code, HubError
from hub.resolvers import assessments, queries, upserts
from hub.resolvers.changes import changes_since
from hub.resolvers.context import Context
from hub.resolvers.loaders import columns_of
from hub.resolvers.lookahead import NOT_LOADED, merge_fields
from hub.resolvers.reports import (
    DIRECTLY_MANAGED,
    CoverageDimension,
    CoverageFigures,
    certificate_coverage,
)
from hub.schema.assessments import (
    PrimaryAssessmentInput,
    PrimaryTraitInput,
    RetestInput,
    SecondaryAssessmentInput,
    YearRecordInput,
)
from hub.schema.certificates_jobs import CertificateJobMutations, CertificateJobQueries
from hub.schema.errors import client_error
from hub.schema.filters import (
    CertificateFilter,
    ClassFilter,
    SchoolFilter,
    StaffFilter,
    StudentFilter,
)
from hub.schema.generation import GenerationMutations, GenerationQueries
from hub.schema.guards import RequestGuards
from hub.schema.jobs import JobMutations, JobQueries
from hub.schema.nodes import (
    NODE_TYPES,
    RELATIONS,
    Certificate,
    District,
    OwnershipType,
    School,
    SchoolClass,
    SchoolYear,
    Staff,
    Student,
    Subject,
    shape,
    to_one,
)
from hub.schema.pagination import Connection, page_size, paginate
from hub.schema.signing import SigningMutations, SigningQueries
from hub.schema.sync import SyncMutations, SyncQueries
from hub.schema.transcripts import (
    GenerationResult,
    SkippedStudent,
    Transcript,
    TranscriptFilter,
)
from hub.schema.writes import (
    AssignmentEndInput,
    GuardianLinkInput,
    Problem,
    RowResult,
    StaffInput,
    StudentInput,
    StudentWithdrawalInput,
    UpsertResult,
)
from hub.transcripts import service as transcript_service

log = structlog.get_logger()

CoverageDimensionType = strawberry.enum(
    CoverageDimension, name="CoverageDimension", description="Chiều tổng hợp báo cáo"
)
First = Annotated[int | None, strawberry.argument(description="Số bản ghi mỗi trang (≤ 500)")]


def _ctx(info: Info) -> Context:
    return info.context  # type: ignore[no-any-return]


@strawberry.enum(description="Loại thay đổi")
class ChangeOperation(StrEnum):
    UPSERT = "UPSERT"
    DELETE = "DELETE"
    LEFT = "LEFT"  # the record left the school (a pupil moved or withdrew, a teacher left)


_OPERATIONS = {
    db_changes.UPSERTED: ChangeOperation.UPSERT,
    db_changes.DELETED: ChangeOperation.DELETE,
    db_changes.LEFT: ChangeOperation.LEFT,
}
#: The node a change carries, by the changed row's model.
_FEED_NODES: dict[type, Any] = {**NODE_TYPES, models.Transcript: Transcript}


@strawberry.type(description="Một thay đổi trong nguồn thay đổi")
class Change:
    version: int = strawberry.field(description="Phiên bản thay đổi (tăng dần)")
    entity: str = strawberry.field(
        description="student | staff | guardianLink | certificate | transcript"
    )
    operation: ChangeOperation
    natural_key: JSON = strawberry.field(description="Khóa tự nhiên (dùng được cả khi đã xóa)")
    node: relay.Node | None = strawberry.field(
        description="Bản ghi hiện tại (với guardianLink: học sinh); null nếu đã xóa"
    )


@strawberry.type(description="Một trang của nguồn thay đổi")
class ChangeFeed:
    changes: list[Change]
    next_since: int = strawberry.field(description="Gửi lại giá trị này làm `since` lần sau")
    has_more: bool


@strawberry.type(description="Độ phủ chữ ký số của một nhóm trường")
class CoverageRow:
    level: str | None = strawberry.field(
        description=f"Cấp học, hoặc {DIRECTLY_MANAGED} cho các đơn vị trực thuộc Sở"
    )
    ownership: OwnershipType | None
    district_id: strawberry.Private[int | None]
    staff_total: int = strawberry.field(description="Tổng số CBGVNV")
    with_valid_certificate: int = strawberry.field(description="Số người có chữ ký số hiệu lực")
    ratio: float = strawberry.field(description="Tỷ lệ (0–1)")
    district: District | None = strawberry.field(default=NOT_LOADED)


RELATIONS[CoverageRow] = [to_one(models.District, "district_id", District.from_row, "district")]


@strawberry.type(description="Báo cáo độ phủ chữ ký số")
class CoverageReport:
    rows: list[CoverageRow]
    total: CoverageRow


@strawberry.type(description="Một lần đọc/ghi hồ sơ cá nhân (nhật ký truy cập)")
class AccessLogEntry:
    at: datetime
    client_id: str = strawberry.field(description="Ứng dụng đã truy cập")
    action: str
    item: str | None = strawberry.field(
        description="Phần hồ sơ đã đọc: record (hồ sơ), transcript (học bạ), document (tệp học bạ)…"
    )
    purpose: str | None = strawberry.field(description="Mục đích khai báo")

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> "AccessLogEntry":
        return cls(
            at=as_utc(row.at),
            client_id=row.client_id,
            action=row.action,
            item=row.item,
            purpose=row.purpose,
        )


@strawberry.type(description="Ứng dụng đang gọi API")
class Me:
    client_id: str
    scopes: list[str]
    org_level: str
    school_count: int | None = strawberry.field(description="null: toàn Sở")


def _problems(items: list) -> list[Problem]:
    return [Problem(code=p.code, message=p.message, field=p.field) for p in items]


def _result(outcomes: list[upserts.RowOutcome]) -> UpsertResult:
    rows = [
        RowResult(
            index=o.index,
            key=o.key,
            status=o.status,
            id=None if o.entity_id is None else relay.GlobalID(o.type_name, str(o.entity_id)),
            errors=_problems(o.errors),
            warnings=_problems(o.warnings),
        )
        for o in outcomes
    ]
    counts = {status: 0 for status in upserts.RowStatus}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return UpsertResult(
        created=counts[upserts.RowStatus.CREATED],
        updated=counts[upserts.RowStatus.UPDATED],
        unchanged=counts[upserts.RowStatus.UNCHANGED],
        deleted=counts[upserts.RowStatus.DELETED],
        rejected=counts[upserts.RowStatus.REJECTED],
        rows=rows,
    )


async def _upsert(info: Info, write: upserts.Upsert, rows: list) -> UpsertResult:
    ctx = _ctx(info)
    try:
        async with ctx.db.unit_of_work() as session:
            outcomes = await write(session, ctx.caller, rows)
    except IntegrityError:
        async with ctx.db.unit_of_work() as session:
            outcomes = await write(session, ctx.caller, rows, careful=True)
    return _result(outcomes)


@strawberry.type
class Query(SigningQueries, JobQueries, SyncQueries, CertificateJobQueries, GenerationQueries):
    node: relay.Node | None = relay.node(description="Bản ghi bất kỳ theo ID toàn cục")

    @strawberry.field(description="Ứng dụng đang gọi: phạm vi và quyền")
    def me(self, info: Info) -> Me:
        caller = _ctx(info).caller
        return Me(
            client_id=caller.client_id,
            scopes=sorted(caller.scopes),
            org_level=caller.org_level.value,
            school_count=None if caller.school_ids is None else len(caller.school_ids),
        )

    @strawberry.field(description="Phòng GDĐT")
    async def districts(
        self, info: Info, first: First = None, after: str | None = None
    ) -> Connection[District]:
        return await paginate(
            info,
            model=models.District,
            statement=select(models.District),
            build=District.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="Trường học")
    async def schools(
        self,
        info: Info,
        filter: SchoolFilter | None = None,
        first: First = None,
        after: str | None = None,
    ) -> Connection[School]:
        return await paginate(
            info,
            model=models.School,
            statement=queries.schools(filter),
            build=School.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="Lớp học")
    async def classes(
        self,
        info: Info,
        filter: ClassFilter | None = None,
        first: First = None,
        after: str | None = None,
    ) -> Connection[SchoolClass]:
        return await paginate(
            info,
            model=models.SchoolClass,
            statement=queries.classes(filter),
            build=SchoolClass.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="Học sinh")
    async def students(
        self,
        info: Info,
        filter: StudentFilter | None = None,
        first: First = None,
        after: str | None = None,
    ) -> Connection[Student]:
        return await paginate(
            info,
            model=models.Student,
            statement=queries.students(filter, _ctx(info).reader.dialect),
            build=Student.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="Cán bộ, giáo viên, nhân viên")
    async def staff(
        self,
        info: Info,
        filter: StaffFilter | None = None,
        first: First = None,
        after: str | None = None,
    ) -> Connection[Staff]:
        return await paginate(
            info,
            model=models.Staff,
            statement=queries.staff(filter, _ctx(info).reader.dialect),
            build=Staff.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="Chứng thư số")
    async def certificates(
        self,
        info: Info,
        filter: CertificateFilter | None = None,
        first: First = None,
        after: str | None = None,
    ) -> Connection[Certificate]:
        return await paginate(
            info,
            model=models.SigningCertificate,
            statement=queries.certificates(filter),
            build=Certificate.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="Học bạ số")
    async def transcripts(
        self,
        info: Info,
        filter: TranscriptFilter | None = None,
        first: First = None,
        after: str | None = None,
    ) -> Connection[Transcript]:
        return await paginate(
            info,
            model=models.Transcript,
            statement=queries.transcripts(filter),
            build=Transcript.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="Năm học")
    async def school_years(self, info: Info) -> list[SchoolYear]:
        _ctx(info).caller  # noqa: B018  (any authenticated client)
        rows = await _ctx(info).reader.rows(
            select(*columns_of(models.SchoolYear)).order_by(models.SchoolYear.starts_on)
        )
        return [SchoolYear.from_row(row) for row in rows]

    @strawberry.field(description="Danh mục môn học")
    async def subjects(self, info: Info) -> list[Subject]:
        _ctx(info).caller  # noqa: B018  (any authenticated client)
        rows = await _ctx(info).reader.rows(
            select(*columns_of(models.Subject)).order_by(models.Subject.code)
        )
        return [Subject(code=r.code, name=r.name, comment_only=r.comment_only) for r in rows]

    @strawberry.field(description="Nguồn thay đổi để đồng bộ: mọi thay đổi sau phiên bản `since`")
    async def changes(self, info: Info, since: int = 0, first: First = None) -> ChangeFeed:
        ctx = _ctx(info)
        size = page_size(ctx, first)
        records = await changes_since(ctx, since=since, first=size + 1)
        has_more = len(records) > size
        records = records[:size]
        nodes = [
            None if r.model is None else _FEED_NODES[r.model].from_row(r.row, ctx) for r in records
        ]
        feed = merge_fields([s for f in info.selected_fields for s in f.selections], "ChangeFeed")
        changes = merge_fields(feed.get("changes", []), "Change")
        await shape(ctx, nodes, changes.get("node", []))
        return ChangeFeed(
            changes=[
                Change(
                    version=r.version,
                    entity=r.entity,
                    operation=_OPERATIONS[r.operation],
                    natural_key=present(ctx.caller.scopes, Kind.DOCUMENT, r.natural_key),
                    node=node,
                )
                for r, node in zip(records, nodes, strict=True)
            ],
            next_since=records[-1].version if records else since,
            has_more=has_more,
        )

    @strawberry.field(description="Độ phủ chữ ký số theo cấp học / loại hình / phòng GDĐT")
    async def certificate_coverage(
        self, info: Info, group_by: list[CoverageDimensionType]
    ) -> CoverageReport:
        figures = await certificate_coverage(_ctx(info), [CoverageDimension(d) for d in group_by])

        def row(f: CoverageFigures) -> CoverageRow:
            return CoverageRow(
                level=f.level,
                ownership=f.ownership,  # type: ignore[arg-type]
                district_id=f.district_id,
                staff_total=f.staff_total,
                with_valid_certificate=f.with_valid_certificate,
                ratio=round(f.ratio, 4),
            )

        staff_total = sum(f.staff_total for f in figures)
        valid = sum(f.with_valid_certificate for f in figures)
        total = CoverageRow(
            level=None,
            ownership=None,
            district_id=None,
            staff_total=staff_total,
            with_valid_certificate=valid,
            ratio=round(valid / staff_total, 4) if staff_total else 0.0,
        )
        rows = [row(f) for f in figures]
        report = merge_fields([s for f in info.selected_fields for s in f.selections], "")
        for name, shaped in (("rows", rows), ("total", [total])):
            await shape(_ctx(info), shaped, report.get(name, []))
        return CoverageReport(rows=rows, total=total)

    @strawberry.field(description="Cán bộ của một trường chưa có chữ ký số hiệu lực")
    async def staff_without_valid_certificate(
        self, info: Info, school_id: relay.GlobalID, first: First = None, after: str | None = None
    ) -> Connection[Staff]:
        _ctx(info).caller.require("reports:read")
        statement = queries.staff(
            StaffFilter(school_id=school_id, has_valid_certificate=False), _ctx(info).reader.dialect
        )
        return await paginate(
            info,
            model=models.Staff,
            statement=statement,
            build=Staff.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Ai đã truy cập hồ sơ của một học sinh (RULES §6), theo thứ tự thời gian"
    )
    async def student_access_log(
        self, info: Info, student_id: relay.GlobalID, first: First = None, after: str | None = None
    ) -> Connection[AccessLogEntry]:
        statement = select(models.AccessLog).where(
            models.AccessLog.entity == "student",
            models.AccessLog.entity_id == queries.node_key(student_id, "Student"),
        )
        return await paginate(
            info,
            model=models.AccessLog,
            statement=statement,
            build=AccessLogEntry.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="Học sinh của một trường chưa có mã định danh cá nhân")
    async def students_without_personal_id(
        self, info: Info, school_id: relay.GlobalID, first: First = None, after: str | None = None
    ) -> Connection[Student]:
        _ctx(info).caller.require("reports:read")
        statement = queries.students(
            StudentFilter(school_id=school_id, has_personal_id=False), _ctx(info).reader.dialect
        )
        return await paginate(
            info,
            model=models.Student,
            statement=statement,
            build=Student.from_row,
            first=first,
            after=after,
        )


async def _transcript(info: Info, transcript: models.Transcript) -> Transcript:
    ctx = _ctx(info)
    node = Transcript.from_row(transcript, ctx)
    await shape(ctx, [node], [s for f in info.selected_fields for s in f.selections])
    return node


@strawberry.type(description="Kết quả lập bản điều chỉnh học bạ")
class CorrectionResult:
    transcript: Transcript = strawberry.field(description="Phiên bản mới (bản nháp)")
    changes: UpsertResult | None = strawberry.field(description="Kết quả ghi các thay đổi điểm")


@strawberry.type
class Mutation(
    SigningMutations, JobMutations, SyncMutations, CertificateJobMutations, GenerationMutations
):
    @strawberry.mutation(
        description="Lập (hoặc cập nhật bản nháp) học bạ của một lớp hoặc cả trường theo sổ điểm"
    )
    async def generate_transcripts(
        self,
        info: Info,
        class_id: relay.GlobalID | None = None,
        school_id: relay.GlobalID | None = None,
        school_year: str | None = None,
    ) -> GenerationResult:
        ctx = _ctx(info)
        if (class_id is None) == (school_id is None):
            raise HubError(Code.INVALID_ARGUMENT, detail="cần đúng một trong classId, schoolId")
        async with ctx.db.unit_of_work() as session:
            year = await transcript_service.school_year(session, code=school_year)
            classes = select(models.SchoolClass).where(models.SchoolClass.school_year_id == year.id)
            if class_id is not None:
                classes = classes.where(
                    models.SchoolClass.id == queries.node_key(class_id, "SchoolClass")
                )
            else:
                classes = classes.where(
                    models.SchoolClass.school_id == queries.node_key(school_id, "School")  # type: ignore[arg-type]
                )
            class_ids = [
                c.id
                for c in await session.scalars(restrict(classes, models.SchoolClass, ctx.caller))
                if ctx.caller.may_write_school(c.school_id)
            ]
            report = await transcript_service.generate(
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
            nodes = [Transcript.from_row(row, ctx) for row in rows]
            skipped = [
                SkippedStudent(
                    student=Student.from_row(s.student, ctx),
                    code=s.problem.code.value,
                    message=s.problem.message,
                    message_en=s.problem.message_en,
                )
                for s in report.skipped
            ]
        result = merge_fields([s for f in info.selected_fields for s in f.selections], "")
        await shape(ctx, nodes, result.get("transcripts", []))
        await shape(
            ctx,
            [s.student for s in skipped],
            merge_fields(result.get("skipped", []), "").get("student", []),
        )
        return GenerationResult(
            generated=report.generated,
            regenerated=report.regenerated,
            unchanged=report.unchanged,
            skipped=skipped,
            transcripts=nodes,
        )

    @strawberry.mutation(description="Khoá điểm: học bạ sẵn sàng để ký")
    async def mark_transcript_ready(self, info: Info, id: relay.GlobalID) -> Transcript:
        ctx = _ctx(info)
        async with ctx.db.unit_of_work() as session:
            transcript = await transcript_service.mark_ready(
                session, caller=ctx.caller, transcript_id=queries.node_key(id, "Transcript")
            )
            await session.flush()
            await session.refresh(transcript)
        return await _transcript(info, transcript)

    @strawberry.mutation(description="Mở khoá học bạ chưa ký để sửa điểm")
    async def reopen_transcript(self, info: Info, id: relay.GlobalID) -> Transcript:
        ctx = _ctx(info)
        async with ctx.db.unit_of_work() as session:
            transcript = await transcript_service.reopen(
                session, caller=ctx.caller, transcript_id=queries.node_key(id, "Transcript")
            )
            await session.flush()
            await session.refresh(transcript)
        return await _transcript(info, transcript)

    @strawberry.mutation(
        description="Lập bản điều chỉnh của học bạ đã ký: phiên bản mới có lý do, "
        "ghi các thay đổi điểm kèm theo và lập lại bản nháp; phải ký lại theo thứ tự"
    )
    async def correct_transcript(
        self,
        info: Info,
        id: relay.GlobalID,
        reason: str,
        secondary_assessments: list[SecondaryAssessmentInput] | None = None,
        year_records: list[YearRecordInput] | None = None,
        primary_assessments: list[PrimaryAssessmentInput] | None = None,
        primary_traits: list[PrimaryTraitInput] | None = None,
    ) -> CorrectionResult:
        ctx = _ctx(info)
        outcomes: list[upserts.RowOutcome] = []
        async with ctx.db.unit_of_work() as session:
            new = await transcript_service.correct(
                session,
                caller=ctx.caller,
                transcript_id=queries.node_key(id, "Transcript"),
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
            await transcript_service.regenerate_one(
                session,
                caller=ctx.caller,
                transcript=new,
                base_url=ctx.settings.issuer,
                today=ctx.now.date(),
            )
            await session.refresh(new)
        return CorrectionResult(
            transcript=await _transcript(info, new),
            changes=_result(outcomes) if outcomes else None,
        )

    @strawberry.mutation(
        description="Ghi điểm/đánh giá môn học theo học kì (THCS, THPT), tối đa 1.000 dòng"
    )
    async def upsert_secondary_assessments(
        self, info: Info, rows: list[SecondaryAssessmentInput]
    ) -> UpsertResult:
        return await _upsert(info, assessments.upsert_secondary_assessments, rows)

    @strawberry.mutation(description="Ghi rèn luyện, số buổi nghỉ, nhận xét cả năm")
    async def upsert_year_records(self, info: Info, rows: list[YearRecordInput]) -> UpsertResult:
        return await _upsert(info, assessments.upsert_year_records, rows)

    @strawberry.mutation(description="Ghi kết quả kiểm tra lại (THCS, THPT)")
    async def upsert_retests(self, info: Info, rows: list[RetestInput]) -> UpsertResult:
        return await _upsert(info, assessments.upsert_retests, rows)

    @strawberry.mutation(description="Ghi mức đạt được và điểm kiểm tra định kì (tiểu học)")
    async def upsert_primary_assessments(
        self, info: Info, rows: list[PrimaryAssessmentInput]
    ) -> UpsertResult:
        return await _upsert(info, assessments.upsert_primary_assessments, rows)

    @strawberry.mutation(description="Ghi đánh giá phẩm chất, năng lực (tiểu học)")
    async def upsert_primary_traits(
        self, info: Info, rows: list[PrimaryTraitInput]
    ) -> UpsertResult:
        return await _upsert(info, assessments.upsert_primary_traits, rows)

    @strawberry.mutation(description="Ghi tối đa 1.000 học sinh; khóa: mã định danh cá nhân")
    async def upsert_students(self, info: Info, rows: list[StudentInput]) -> UpsertResult:
        return await _upsert(info, upserts.upsert_students, rows)

    @strawberry.mutation(description="Ghi tối đa 1.000 cán bộ; khóa: mã định danh cá nhân")
    async def upsert_staff(self, info: Info, rows: list[StaffInput]) -> UpsertResult:
        return await _upsert(info, upserts.upsert_staff, rows)

    @strawberry.mutation(description="Ghi tối đa 1.000 liên kết cha mẹ/người giám hộ ↔ học sinh")
    async def upsert_guardian_links(
        self, info: Info, rows: list[GuardianLinkInput]
    ) -> UpsertResult:
        return await _upsert(info, upserts.upsert_guardian_links, rows)

    @strawberry.mutation(
        description="Kết thúc phân công của cán bộ tại trường của ứng dụng (nghỉ, chuyển công tác)"
    )
    async def end_staff_assignments(
        self, info: Info, rows: list[AssignmentEndInput]
    ) -> UpsertResult:
        return await _upsert(info, upserts.end_staff_assignments, rows)

    @strawberry.mutation(description="Học sinh rời trường của ứng dụng (chuyển đi, thôi học)")
    async def withdraw_students(
        self, info: Info, rows: list[StudentWithdrawalInput]
    ) -> UpsertResult:
        return await _upsert(info, upserts.withdraw_students, rows)


class RequestLifecycle(SchemaExtension):
    """Close the request's read session and write its access log when it ends."""

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        ctx: Context = self.execution_context.context
        try:
            yield
            if ctx.caller_or_none is not None:
                await ctx.audit.flush(
                    ctx.reader,
                    client_id=ctx.caller_or_none.client_id,
                    purpose=(ctx.purpose or self.execution_context.operation_name or "")[:200],
                )
        finally:
            await ctx.reader.close()


class HubErrors(SchemaExtension):
    """Kept for schemas assembled from parts (tests): :class:`HubSchema` now gives every
    error its stable code (:mod:`hub.schema.errors`), whatever its extensions."""


class HubSchema(strawberry.Schema):
    """Every error a client sees is presented by :func:`hub.schema.errors.client_error`.

    That is also where they are logged (a refusal as an event, a crash with its
    traceback and correlation id), so strawberry's own error log is not used.
    """

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:  # type: ignore[override]
        result = await super().execute(*args, **kwargs)
        if result.errors:
            context = kwargs.get("context_value", args[2] if len(args) > 2 else None)
            settings = getattr(context, "settings", None)
            production = settings is not None and settings.mode is Mode.PRODUCTION
            result.errors = [client_error(e, production=production) for e in result.errors]
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logged when presented (:meth:`execute`)."""


schema = HubSchema(
    query=Query,
    mutation=Mutation,
    extensions=[RequestLifecycle, RequestGuards],
)
