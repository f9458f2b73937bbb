"""Transcripts in the GraphQL schema: the node, its history, lists and inputs."""

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
from hub.resolvers.context import Context
from hub.resolvers.loaders import fetch
from hub.resolvers.lookahead import NOT_LOADED
from hub.schema.nodes import RELATIONS, HubNode, School, SchoolClass, Student, to_one

TranscriptStateType = strawberry.enum(
    TranscriptState, name="TranscriptState", description="Trạng thái học bạ"
)
SignerRoleType = strawberry.enum(SignerRole, name="SignerRole", description="Người ký học bạ")


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
        ctx.audit.read("student", row.student_id, "transcript")
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
        ctx: Context = info.context
        return present(ctx.caller.scopes, Kind.DOCUMENT, _plain(asdict(parse_xml(self.xml))))

    @strawberry.field(description="Các phiên bản của học bạ này, cũ trước")
    async def history(self, info: Info) -> list["Transcript"]:
        ctx: Context = info.context
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
        ctx: Context = info.context
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
