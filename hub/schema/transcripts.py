"""Transcripts in the GraphQL schema: the node, its history, inputs, and the mutations that
draft, lock, reopen and correct them."""

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Self

import strawberry
from sqlalchemy import select
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.db import models
from hub.documents.xml.transcript import parse_xml
from hub.domain.certificates import as_utc
from hub.domain.lifecycle import TranscriptState, next_signer
from hub.domain.personal_data import Kind, present
from hub.domain.signers import SignerRole
from hub.resolvers import transcripts as drafting
from hub.resolvers.context import Context, context_of
from hub.resolvers.loaders import fetch
from hub.resolvers.lookahead import NOT_LOADED, merge_fields
from hub.schema.assessments import (
    PrimaryAssessmentInput,
    PrimaryTraitInput,
    SecondaryAssessmentInput,
    YearRecordInput,
)
from hub.schema.nodes import RELATIONS, HubNode, School, SchoolClass, Student, shape, to_one
from hub.schema.writes import UpsertResult, upsert_result

# GraphQL enums registered on the domain classes; aliases as in hub/schema/enums.py.
TranscriptStateType = TranscriptState
strawberry.enum(TranscriptState, name="TranscriptState", description="Trạng thái học bạ")
SignerRoleType = SignerRole
strawberry.enum(SignerRole, name="SignerRole", description="Người ký học bạ")


def _plain(value: Any) -> Any:
    """The content as JSON: decimals as strings ("8.5"), enums by value, dates ISO."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


@strawberry.type(description="Một sự kiện của học bạ: lập, khoá điểm, ký, điều chỉnh, cấp bản sao")
class TranscriptEvent:
    at: datetime
    client_id: str
    event: str
    detail: str | None


@strawberry.type(description="Học bạ số của một học sinh trong một năm học (một phiên bản)")
class Transcript(HubNode):
    model = models.Transcript
    id: relay.NodeID[int]
    document_id: str = strawberry.field(description="Mã tài liệu, in trong mã QR xác thực")
    version: int
    state: TranscriptStateType
    is_current: bool = strawberry.field(description="Phiên bản mới nhất")
    correction_reason: str | None
    learning_result: str | None = strawberry.field(description="Kết quả học tập cả năm")
    conduct_result: str | None = strawberry.field(description="Kết quả rèn luyện cả năm")
    outcome: str | None = strawberry.field(description="Lên lớp / kiểm tra lại / ở lại lớp …")
    award: str | None
    created_at: datetime
    updated_at: datetime
    xml_url: str = strawberry.field(description="Tải XML (cần mã truy cập; mỗi lần tải được ghi)")
    pdf_url: str = strawberry.field(description="Tải PDF (cần mã truy cập; mỗi lần tải được ghi)")
    student_id: strawberry.Private[int]
    school_id: strawberry.Private[int]
    class_id: strawberry.Private[int]
    school_year_id: strawberry.Private[int]
    replaces_id: strawberry.Private[int | None]
    xml: strawberry.Private[bytes]
    student: Student | None = strawberry.field(default=NOT_LOADED)
    school: School | None = strawberry.field(default=NOT_LOADED)
    school_class: SchoolClass | None = strawberry.field(default=NOT_LOADED)

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        ctx.audit.read_transcript(row.student_id, row.school_year_id)
        base = ctx.settings.issuer
        return cls(
            id=row.id,
            document_id=row.document_id,
            version=row.version,
            state=TranscriptState(row.state),
            is_current=row.is_current,
            correction_reason=row.correction_reason,
            learning_result=row.learning_result,
            conduct_result=row.conduct_result,
            outcome=row.outcome,
            award=row.award,
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
            xml_url=f"{base}/transcripts/{row.document_id}.xml",
            pdf_url=f"{base}/transcripts/{row.document_id}.pdf",
            student_id=row.student_id,
            school_id=row.school_id,
            class_id=row.class_id,
            school_year_id=row.school_year_id,
            replaces_id=row.replaces_id,
            xml=row.xml,
        )

    @strawberry.field(description="Nhãn tiếng Việt của trạng thái")
    def state_label(self) -> str:
        return self.state.label

    @strawberry.field(description="Đang chờ ai ký (null nếu không chờ ký)")
    def waiting_for(self) -> SignerRoleType | None:
        return next_signer(self.state)

    @strawberry.field(description="Toàn bộ nội dung và kết quả đã tính của học bạ (JSON)")
    def results(self, info: Info) -> JSON:
        ctx = context_of(info)
        return present(ctx.caller.scopes, Kind.DOCUMENT, _plain(asdict(parse_xml(self.xml))))

    @strawberry.field(description="Các phiên bản của học bạ này, cũ trước")
    async def history(self, info: Info) -> list["Transcript"]:
        ctx = context_of(info)
        rows = await fetch(
            ctx,
            models.Transcript,
            select(models.Transcript)
            .where(
                models.Transcript.student_id == self.student_id,
                models.Transcript.school_year_id == self.school_year_id,
            )
            .order_by(models.Transcript.version),
        )
        return [Transcript.from_row(row, ctx) for row in rows]

    @strawberry.field(description="Nhật ký: lập, khoá, ký, điều chỉnh, cấp bản sao")
    async def events(self, info: Info) -> list[TranscriptEvent]:
        ctx = context_of(info)
        ctx.caller.require("transcripts:read")
        rows = await ctx.reader.rows(
            select(*models.TranscriptEvent.__table__.c)
            .where(models.TranscriptEvent.transcript_id == self.id)
            .order_by(models.TranscriptEvent.id)
        )
        return [
            TranscriptEvent(at=as_utc(r.at), client_id=r.client_id, event=r.event, detail=r.detail)
            for r in rows
        ]


RELATIONS[Transcript] = [
    to_one(models.Student, "student_id", Student.from_row, "student"),
    to_one(models.School, "school_id", School.from_row, "school"),
    to_one(models.SchoolClass, "class_id", SchoolClass.from_row, "schoolClass", "school_class"),
]


@strawberry.input(description="Lọc học bạ")
class TranscriptFilter:
    school_id: relay.GlobalID | None = None
    class_id: relay.GlobalID | None = None
    student_id: relay.GlobalID | None = None
    school_year: str | None = strawberry.field(default=None, description="Mặc định: năm hiện tại")
    state: TranscriptStateType | None = None
    current_only: bool = strawberry.field(default=True, description="Chỉ phiên bản mới nhất")


@strawberry.type(description="Học sinh không lập được học bạ và lý do")
class SkippedStudent:
    student: Student
    code: str = strawberry.field(description="Mã lý do ổn định (ví dụ TEXT_CONTROL_CHARACTERS)")
    message: str = strawberry.field(description="Lý do, tiếng Việt")
    message_en: str = strawberry.field(default="", description="The reason, in English")


@strawberry.type(description="Kết quả lập học bạ hàng loạt")
class GenerationResult:
    generated: int = strawberry.field(description="Lập mới")
    regenerated: int = strawberry.field(description="Cập nhật bản nháp theo sổ điểm")
    unchanged: int
    skipped: list[SkippedStudent]
    transcripts: list[Transcript]


@strawberry.type(description="Kết quả lập bản điều chỉnh học bạ")
class CorrectionResult:
    transcript: Transcript = strawberry.field(description="Phiên bản mới (bản nháp)")
    changes: UpsertResult | None = strawberry.field(description="Kết quả ghi các thay đổi điểm")


async def _shaped(info: Info, transcript: models.Transcript) -> Transcript:
    """``transcript`` as a node, with the relations the request selects on it."""
    ctx = context_of(info)
    node = Transcript.from_row(transcript, ctx)
    await shape(ctx, [node], [s for f in info.selected_fields for s in f.selections])
    return node


@strawberry.type
class TranscriptMutations:
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
        ctx = context_of(info)
        drafted = await drafting.generate(
            ctx, class_id=class_id, school_id=school_id, school_year=school_year
        )
        report = drafted.report
        nodes = [Transcript.from_row(row, ctx) for row in drafted.rows]
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
        return await _shaped(info, await drafting.mark_ready(context_of(info), transcript_id=id))

    @strawberry.mutation(description="Mở khoá học bạ chưa ký để sửa điểm")
    async def reopen_transcript(self, info: Info, id: relay.GlobalID) -> Transcript:
        return await _shaped(info, await drafting.reopen(context_of(info), transcript_id=id))

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
        new, outcomes = await drafting.correct(
            context_of(info),
            transcript_id=id,
            reason=reason,
            secondary_assessments=secondary_assessments,
            year_records=year_records,
            primary_assessments=primary_assessments,
            primary_traits=primary_traits,
        )
        return CorrectionResult(
            transcript=await _shaped(info, new),
            changes=upsert_result(outcomes) if outcomes else None,
        )
