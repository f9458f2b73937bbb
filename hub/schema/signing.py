"""Signing and verification in the GraphQL schema.

- ``signingProviders``: each provider's health (status, latency, last error).
- ``requestTranscriptSignatures`` / ``completeTranscriptSignatures`` /
  ``signingRequest``: sign transcripts with one phone confirmation.
- ``verifyTranscript(id)`` and ``verifyDocument(file)`` (multipart upload): the
  verdict, each signature, and reasons in Vietnamese and English.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import strawberry
from sqlalchemy import func, select
from strawberry import relay
from strawberry.file_uploads import Upload
from strawberry.types import Info

from hub.adapters.signing.base import HealthStatus
from hub.config import Mode
from hub.db import models
from hub.domain.personal_data import Kind, present
from hub.domain.signers import SignerRole
from hub.resolvers import queries
from hub.resolvers.context import context_of
from hub.schema.enums import SigningProviderType
from hub.schema.transcripts import SignerRoleType
from hub.signing import service as signing_service
from hub.signing import verification
from hub.signing.verification import (
    MAX_DOCUMENT,
    Reason,
    ReasonCode,
    SignatureReport,
    Verdict,
    VerificationResult,
)

# GraphQL enums registered on the domain classes; aliases as in hub/schema/enums.py.
VerdictType = Verdict
strawberry.enum(Verdict, name="Verdict", description="Kết luận xác thực")
ReasonCodeType = ReasonCode
strawberry.enum(ReasonCode, name="VerificationReasonCode")
HealthStatusType = HealthStatus
strawberry.enum(HealthStatus, name="ProviderStatus")

#: Largest file ``verifyDocument`` reads (a transcript PDF is well under 1 MB); a larger
#: one is answered INDETERMINATE, DOCUMENT_TOO_LARGE, by verification itself.
MAX_UPLOAD = MAX_DOCUMENT


@strawberry.type(description="Tình trạng một nhà cung cấp dịch vụ ký số")
class SigningProviderHealth:
    name: SigningProviderType
    status: HealthStatusType
    latency_ms: float | None
    last_error: str | None
    checked_at: datetime


@strawberry.type(description="Một lý do của kết luận xác thực")
class VerificationReason:
    code: ReasonCodeType
    message: str = strawberry.field(description="Tiếng Việt")
    message_en: str
    signature: int | None = strawberry.field(description="Chữ ký thứ mấy (từ 0), nếu có")

    @classmethod
    def of(cls, reason: Reason) -> VerificationReason:
        return cls(
            code=reason.code,
            message=reason.message,
            message_en=reason.message_en,
            signature=reason.signature,
        )


@strawberry.type(description="Kết quả xác thực một chữ ký")
class SignatureCheck:
    index: int
    role: SignerRoleType | None
    signer_name: str | None
    personal_id: str | None = strawberry.field(description="Mã định danh trong chứng thư số")
    school_code: str | None
    certificate_serial: str | None
    issuer: str | None
    claimed_time: datetime | None = strawberry.field(description="Thời điểm ký người ký khai")
    timestamp_time: datetime | None = strawberry.field(
        description="Thời điểm ký theo dấu thời gian"
    )
    verdict: VerdictType
    reasons: list[VerificationReason]

    @classmethod
    def of(cls, report: SignatureReport, scopes: frozenset[str]) -> SignatureCheck:
        personal_id = present(scopes, Kind.PERSONAL_ID, report.personal_id)
        return cls(
            index=report.index,
            role=report.role,
            signer_name=report.signer_name,
            personal_id=personal_id,
            school_code=report.school_code,
            certificate_serial=report.certificate_serial,
            issuer=report.issuer,
            claimed_time=report.claimed_time,
            timestamp_time=report.timestamp_time,
            verdict=report.verdict,
            reasons=[VerificationReason.of(r) for r in report.reasons],
        )


@strawberry.type(description="Kết quả xác thực một tệp học bạ (XML hoặc PDF)")
class DocumentVerification:
    kind: str
    verdict: VerdictType
    document_id: str | None
    signatures: list[SignatureCheck]
    reasons: list[VerificationReason]
    attached_xml: DocumentVerification | None = strawberry.field(
        default=None, description="PDF: học bạ XML đã ký mà tệp mang theo, được xác thực riêng"
    )
    attached_agrees: bool | None = strawberry.field(
        default=None, description="PDF: XML mang theo có cùng nội dung với PDF không"
    )

    @classmethod
    def of(cls, result: VerificationResult, scopes: frozenset[str]) -> DocumentVerification:
        return cls(
            kind=result.kind,
            verdict=result.verdict,
            document_id=result.document_id,
            signatures=[SignatureCheck.of(s, scopes) for s in result.signatures],
            reasons=[VerificationReason.of(r) for r in result.reasons],
            attached_xml=cls.of(result.attached, scopes) if result.attached else None,
            attached_agrees=result.attached_agrees,
        )


@strawberry.type(description="Kết quả xác thực học bạ: cả bản XML và bản PDF")
class TranscriptVerification:
    verdict: VerdictType
    xml: DocumentVerification
    pdf: DocumentVerification


@strawberry.enum(description="Trạng thái yêu cầu ký")
class SigningRequestState(StrEnum):
    PENDING = "PENDING"
    SIGNED = "SIGNED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


@strawberry.type(description="Một yêu cầu ký gửi tới ứng dụng ký số của người ký")
class SigningRequest:
    request_id: str
    role: SignerRoleType
    provider: SigningProviderType
    state: SigningRequestState
    transcripts: int = strawberry.field(description="Số học bạ trong yêu cầu")
    signed: int
    transaction_id: str
    expires_at: datetime = strawberry.field(description="Hạn xác nhận trên điện thoại")
    error_code: str | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None
    awaiting_otp: bool = strawberry.field(
        description="Đang chờ mã OTP nhà cung cấp gửi tới người ký: gửi lại bằng "
        "completeTranscriptSignatures(requestId, otp)"
    )
    authorize_url: str | None = strawberry.field(
        description="Khi người ký cần xác nhận tại trang của nhà cung cấp chữ ký số "
        "(CSC oauth2code): địa chỉ mở cho người ký; nhà cung cấp đưa người ký về trang ký "
        "của hub, hoặc ứng dụng gửi code và state nhận được bằng "
        "completeTranscriptSignatures(requestId, oauth2Code, state). Null nếu không chờ."
    )


async def _request_node(info: Info, request: models.SigningRequest) -> SigningRequest:
    async with context_of(info).db.unit_of_work() as session:
        rows = dict(
            (
                await session.execute(
                    select(models.SigningRequestItem.state, func.count())
                    .where(models.SigningRequestItem.request_id == request.id)
                    .group_by(models.SigningRequestItem.state)
                )
            ).all()
        )
    return SigningRequest(
        request_id=request.request_id,
        role=SignerRole(request.role),
        provider=request.provider,
        state=SigningRequestState(request.state),
        transcripts=sum(rows.values()),
        signed=rows.get(signing_service.SIGNED, 0),
        transaction_id=request.transaction["transaction_id"],
        expires_at=datetime.fromisoformat(request.transaction["expires_at"]),
        error_code=request.error_code,
        error_message=request.error_message,
        created_at=request.created_at,
        finished_at=request.finished_at,
        awaiting_otp=signing_service.awaits_otp(request),
        authorize_url=signing_service.authorize_url(
            request, issuer=context_of(info).settings.issuer
        ),
    )


@strawberry.type
class SigningQueries:
    @strawberry.field(description="Tình trạng các nhà cung cấp dịch vụ ký số (kiểm tra định kỳ)")
    async def signing_providers(
        self, info: Info, refresh: bool = False
    ) -> list[SigningProviderHealth]:
        ctx = context_of(info)
        ctx.caller  # noqa: B018 - any authenticated client may look
        providers = ctx.require_signing().providers
        if refresh or not providers.health:
            await providers.check()
        return [
            SigningProviderHealth(
                name=h.provider,
                status=h.status,
                latency_ms=h.latency_ms,
                last_error=h.last_error,
                checked_at=h.checked_at,
            )
            for h in (providers.health[p] for p in providers.adapters if p in providers.health)
        ]

    @strawberry.field(
        description="Xác thực chữ ký số của học bạ (bản XML và PDF): toàn vẹn, chuỗi chứng thư, "
        "hiệu lực và thu hồi tại thời điểm ký, dấu thời gian, đúng người ký, đúng thứ tự, đủ chữ ký"
    )
    async def verify_transcript(self, info: Info, id: relay.GlobalID) -> TranscriptVerification:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            xml, pdf = await verification.verify_transcript(
                session,
                caller=ctx.caller,
                trust=ctx.require_signing().trust,
                transcript_id=queries.node_key(id, "Transcript"),
            )
        show = ctx.caller.scopes
        worst = max((xml.verdict, pdf.verdict), key=_severity)
        return TranscriptVerification(
            verdict=worst,
            xml=DocumentVerification.of(xml, show),
            pdf=DocumentVerification.of(pdf, show),
        )

    @strawberry.field(description="Xem một yêu cầu ký và tiến độ của nó")
    async def signing_request(self, info: Info, request_id: str) -> SigningRequest:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            request = await signing_service.load_request(
                session, caller=ctx.caller, request_id=request_id
            )
        return await _request_node(info, request)


@strawberry.type
class SigningMutations:
    @strawberry.mutation(
        description="Xác thực một tệp học bạ tải lên (XML hoặc PDF, tải lên dạng multipart)"
    )
    async def verify_document(self, info: Info, file: Upload) -> DocumentVerification:
        ctx = context_of(info)
        caller = ctx.caller
        # One byte more than the limit: enough for verification to tell it is too large.
        data = await file.read(MAX_UPLOAD + 1)  # type: ignore[attr-defined]
        async with ctx.db.unit_of_work() as session:
            result = await verification.verify_upload(
                session, caller=caller, trust=ctx.require_signing().trust, document=data
            )
        return DocumentVerification.of(result, caller.scopes)

    @strawberry.mutation(
        description="Gửi yêu cầu ký các học bạ tới ứng dụng ký số của người ký: một lần xác nhận "
        "trên điện thoại cho cả nhóm"
    )
    async def request_transcript_signatures(
        self,
        info: Info,
        transcript_ids: list[relay.GlobalID],
        role: SignerRoleType,
        signer_personal_id: str | None = None,
    ) -> SigningRequest:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            request = await signing_service.request_signatures(
                session,
                caller=ctx.caller,
                signing=ctx.require_signing(),
                transcript_ids=[queries.node_key(i, "Transcript") for i in transcript_ids],
                role=role,
                signer_personal_id=signer_personal_id,
                apps_may_name_signers=ctx.settings.mode is Mode.DEMO,
            )
        return await _request_node(info, request)

    @strawberry.mutation(
        description="Hỏi kết quả yêu cầu ký; khi người ký đã xác nhận, hoàn tất chữ ký trên học bạ"
    )
    async def complete_transcript_signatures(
        self,
        info: Info,
        request_id: str,
        otp: Annotated[
            str | None,
            strawberry.argument(
                description="Mã OTP người ký nhận được, khi yêu cầu đang chờ (awaitingOtp)"
            ),
        ] = None,
        oauth2_code: Annotated[
            str | None,
            strawberry.argument(
                description="Mã (code) nhà cung cấp trả về sau khi người ký xác nhận tại "
                "authorizeUrl; kèm state"
            ),
        ] = None,
        state: Annotated[
            str | None,
            strawberry.argument(description="state nhà cung cấp trả về cùng code"),
        ] = None,
    ) -> SigningRequest:
        ctx = context_of(info)
        async with ctx.db.unit_of_work() as session:
            request = await signing_service.complete_signatures(
                session,
                caller=ctx.caller,
                signing=ctx.require_signing(),
                request_id=request_id,
                otp=otp,
                oauth2_code=oauth2_code,
                state=state,
                redirect_uri=signing_service.authorization_callback(ctx.settings.issuer),
            )
        return await _request_node(info, request)


def _severity(verdict: Verdict) -> int:
    return {Verdict.VALID: 0, Verdict.INDETERMINATE: 1, Verdict.INVALID: 2}[verdict]
