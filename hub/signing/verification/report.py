"""What a verification says: an overall verdict, each signature, and the reasons.

The format readers (XML: :mod:`.xml_reader`, PDF: :mod:`.pdf_reader`) only take
a document apart: for each signature they report an :class:`ExtractedSignature` —
who claims to have signed, in which role, whether the bytes are intact and what
the timestamp says. The rules of RULES.md §5 (chain to a trusted root, validity
and revocation at signing time) and §4 (the right people, in the right order, all
three) are then applied the same way to both formats by :mod:`.rules`.

Every reason has a stable code and a message in Vietnamese (for the teacher or
admission officer) and English (for foreign admission offices and logs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cryptography import x509

from hub.domain.signers import SignerRole
from hub.signing.trust import Evidence


class Verdict(StrEnum):
    VALID = "VALID"  # every check passed
    INVALID = "INVALID"  # something is proven wrong (changed, untrusted, revoked, …)
    INDETERMINATE = "INDETERMINATE"  # nothing proven wrong, but something could not be checked


class ReasonCode(StrEnum):
    NOT_SIGNED = "NOT_SIGNED"
    FORMAT_INVALID = "FORMAT_INVALID"
    DOCUMENT_MODIFIED = "DOCUMENT_MODIFIED"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    CHANGED_AFTER_SIGNING = "CHANGED_AFTER_SIGNING"
    CHAIN_UNTRUSTED = "CHAIN_UNTRUSTED"
    CERTIFICATE_EXPIRED = "CERTIFICATE_EXPIRED"
    CERTIFICATE_NOT_YET_VALID = "CERTIFICATE_NOT_YET_VALID"
    CERTIFICATE_REVOKED = "CERTIFICATE_REVOKED"
    REVOCATION_UNKNOWN = "REVOCATION_UNKNOWN"
    TIMESTAMP_MISSING = "TIMESTAMP_MISSING"
    TIMESTAMP_INVALID = "TIMESTAMP_INVALID"
    TIMESTAMP_EXPIRED = "TIMESTAMP_EXPIRED"
    ARCHIVE_TIMESTAMP_INVALID = "ARCHIVE_TIMESTAMP_INVALID"
    ATTACHMENT_INVALID = "ATTACHMENT_INVALID"
    ATTACHMENT_MISMATCH = "ATTACHMENT_MISMATCH"
    ROLE_MISSING = "ROLE_MISSING"
    SIGNER_MISMATCH = "SIGNER_MISMATCH"
    ORDER_WRONG = "ORDER_WRONG"
    SIGNATURES_MISSING = "SIGNATURES_MISSING"
    # The file itself could not be taken apart (it comes from anyone): damaged, hostile,
    # or beyond what a transcript ever is. Nothing about its signatures was checked.
    DOCUMENT_MALFORMED = "DOCUMENT_MALFORMED"
    DOCUMENT_TOO_COMPLEX = "DOCUMENT_TOO_COMPLEX"
    DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"


#: code → (Vietnamese, English, what the code makes of the verdict)
REASONS: dict[ReasonCode, tuple[str, str, Verdict]] = {
    ReasonCode.NOT_SIGNED: (
        "Tài liệu không có chữ ký số nào.",
        "The document carries no digital signature.",
        Verdict.INVALID,
    ),
    ReasonCode.FORMAT_INVALID: (
        "Tệp không phải học bạ số hợp lệ (XML hoặc PDF): {detail}.",
        "The file is not a valid digital transcript (XML or PDF): {detail}.",
        Verdict.INVALID,
    ),
    ReasonCode.DOCUMENT_MODIFIED: (
        "Nội dung học bạ đã bị thay đổi sau khi {signer} ký.",
        "The transcript was changed after {signer} signed it.",
        Verdict.INVALID,
    ),
    ReasonCode.SIGNATURE_INVALID: (
        "Chữ ký của {signer} không khớp với chứng thư số đi kèm.",
        "The signature of {signer} does not verify with its certificate.",
        Verdict.INVALID,
    ),
    ReasonCode.CHANGED_AFTER_SIGNING: (
        "Tệp có thay đổi sau chữ ký cuối cùng không phải là chữ ký hợp lệ: {detail}.",
        "The file was modified after the last signature by something other than a signature: "
        "{detail}.",
        Verdict.INVALID,
    ),
    ReasonCode.CHAIN_UNTRUSTED: (
        "Chứng thư số của {signer} không được cấp bởi tổ chức chứng thực được tin cậy.",
        "The certificate of {signer} does not chain to a trusted root.",
        Verdict.INVALID,
    ),
    ReasonCode.CERTIFICATE_EXPIRED: (
        "Chứng thư số của {signer} đã hết hạn vào thời điểm ký ({when}).",
        "The certificate of {signer} had expired when it signed ({when}).",
        Verdict.INVALID,
    ),
    ReasonCode.CERTIFICATE_NOT_YET_VALID: (
        "Chứng thư số của {signer} chưa có hiệu lực vào thời điểm ký ({when}).",
        "The certificate of {signer} was not yet valid when it signed ({when}).",
        Verdict.INVALID,
    ),
    ReasonCode.CERTIFICATE_REVOKED: (
        "Chứng thư số của {signer} đã bị thu hồi trước thời điểm ký ({when}).",
        "The certificate of {signer} was revoked before it signed ({when}).",
        Verdict.INVALID,
    ),
    ReasonCode.REVOCATION_UNKNOWN: (
        "Không kiểm tra được tình trạng thu hồi chứng thư số của {signer}: {detail}.",
        "Could not check whether the certificate of {signer} was revoked: {detail}.",
        Verdict.INDETERMINATE,
    ),
    ReasonCode.TIMESTAMP_MISSING: (
        "Chữ ký của {signer} không có dấu thời gian; thời điểm ký chỉ do người ký khai.",
        "The signature of {signer} has no timestamp; its time is only claimed by the signer.",
        Verdict.INDETERMINATE,
    ),
    ReasonCode.TIMESTAMP_INVALID: (
        "Dấu thời gian trên chữ ký của {signer} không hợp lệ: {detail}.",
        "The timestamp on the signature of {signer} is not valid: {detail}.",
        Verdict.INVALID,
    ),
    ReasonCode.TIMESTAMP_EXPIRED: (
        "Chữ ký của {signer} chỉ được chứng minh đến {when}: chứng thư số của đơn vị cấp "
        "dấu thời gian đã hết hạn ({detail}) mà học bạ không có dấu thời gian lưu trữ mới hơn.",
        "The signature of {signer} is proven only until {when}: the timestamping certificate "
        "has expired ({detail}) and no later archive timestamp covers the transcript.",
        Verdict.INDETERMINATE,
    ),
    ReasonCode.ARCHIVE_TIMESTAMP_INVALID: (
        "Dấu thời gian lưu trữ trên chữ ký của {signer} không hợp lệ: {detail}.",
        "An archive timestamp on the signature of {signer} is not valid: {detail}.",
        Verdict.INVALID,
    ),
    ReasonCode.ATTACHMENT_INVALID: (
        "Học bạ XML đã ký đi kèm trong tệp PDF không hợp lệ.",
        "The signed XML transcript carried in the PDF is not valid.",
        Verdict.INVALID,
    ),
    ReasonCode.ATTACHMENT_MISMATCH: (
        "Học bạ XML đã ký đi kèm trong tệp PDF không khớp nội dung với học bạ PDF.",
        "The signed XML transcript carried in the PDF does not say what the PDF says.",
        Verdict.INVALID,
    ),
    ReasonCode.ROLE_MISSING: (
        "Chữ ký của {signer} không ghi vai trò người ký.",
        "The signature of {signer} does not state the signer's role.",
        Verdict.INVALID,
    ),
    ReasonCode.SIGNER_MISMATCH: (
        "{signer} không phải là {role} của học bạ này theo hồ sơ của trường.",
        "{signer} is not the {role_en} of this transcript according to school records.",
        Verdict.INVALID,
    ),
    ReasonCode.ORDER_WRONG: (
        "Thứ tự ký sai: chữ ký thứ {position} phải là của {expected}, nhưng lại là của {role}.",
        "Wrong signing order: signature {position} should be the {expected_en}'s, "
        "but it is the {role_en}'s.",
        Verdict.INVALID,
    ),
    ReasonCode.SIGNATURES_MISSING: (
        "Học bạ chưa đủ chữ ký: còn thiếu chữ ký của {missing}.",
        "The transcript is not fully signed: missing {missing_en}.",
        Verdict.INVALID,
    ),
    ReasonCode.DOCUMENT_MALFORMED: (
        "Tệp bị hỏng hoặc không đúng định dạng nên không đọc được ({detail}); "
        "chưa kiểm tra được chữ ký nào.",
        "The file is damaged or malformed and cannot be read ({detail_en}); "
        "no signature could be checked.",
        Verdict.INVALID,
    ),
    ReasonCode.DOCUMENT_TOO_COMPLEX: (
        "Tệp có cấu trúc phức tạp bất thường, vượt quá giới hạn kiểm tra ({detail}); "
        "chưa kiểm tra được chữ ký. Học bạ số do hệ thống lập không bao giờ như vậy.",
        "The file is unusually complex, beyond what verification accepts ({detail_en}); "
        "its signatures were not checked. A transcript the hub issued never is.",
        Verdict.INDETERMINATE,
    ),
    ReasonCode.DOCUMENT_TOO_LARGE: (
        "Tệp lớn hơn giới hạn {limit} byte nên chưa được kiểm tra chữ ký. "
        "Học bạ số do hệ thống lập nhỏ hơn nhiều.",
        "The file is larger than the limit of {limit} bytes; its signatures were not "
        "checked. A transcript the hub issued is far smaller.",
        Verdict.INDETERMINATE,
    ),
}

ROLE_ENGLISH: dict[SignerRole, str] = {
    SignerRole.HOMEROOM_TEACHER: "homeroom teacher",
    SignerRole.PRINCIPAL: "principal",
    SignerRole.SCHOOL_SEAL: "school seal",
}


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    message: str  # Vietnamese
    message_en: str
    #: Which signature it is about (0-based, signing order), or None for the document.
    signature: int | None = None

    @property
    def weight(self) -> Verdict:
        return REASONS[self.code][2]


#: Longest detail a reason repeats: some details quote the file (a field name, an Id),
#: and a file comes from anyone.
DETAIL_LIMIT = 300


def reason(code: ReasonCode, signature: int | None = None, /, **details: str) -> Reason:
    vietnamese, english, _ = REASONS[code]
    details.setdefault("signer", "người ký")
    details.setdefault("detail", "")
    details.setdefault("detail_en", details["detail"])
    details = {key: _bounded(value) for key, value in details.items()}
    return Reason(code, vietnamese.format(**details), english.format(**details), signature)


def _bounded(value: str) -> str:
    return value if len(value) <= DETAIL_LIMIT else value[: DETAIL_LIMIT - 1] + "…"


class DocumentRejected(Exception):
    """A format reader gives up on the whole file: ``code`` is DOCUMENT_MALFORMED or
    DOCUMENT_TOO_COMPLEX, ``detail`` / ``detail_en`` say why in a few stable words
    (never an exception's text: that stays in the server log)."""

    def __init__(self, code: ReasonCode, detail: str, detail_en: str) -> None:
        super().__init__(detail_en)
        self.code = code
        self.detail = detail
        self.detail_en = detail_en

    def reason(self) -> Reason:
        return reason(self.code, detail=self.detail, detail_en=self.detail_en)


@dataclass
class ExtractedSignature:
    """One signature as a format reader found it, before any trust decision.

    ``covers_previous`` is False when this signature does not protect what came
    before it (XML: it does not reference the content and every earlier
    signature; PDF: an earlier revision was changed by something other than
    adding this signature).
    """

    index: int
    role: SignerRole | None
    certificate: x509.Certificate | None
    #: Other certificates carried with the signature (intermediates, maybe the root).
    other_certificates: list[x509.Certificate] = field(default_factory=list)
    #: The signing time the signer claims (XAdES SigningTime, CMS signingTime).
    claimed_time: datetime | None = None
    #: The time proven by a valid RFC 3161 timestamp over the signature value.
    timestamp_time: datetime | None = None
    #: None: no timestamp; False: a timestamp that does not verify.
    timestamp_valid: bool | None = None
    #: The TSA certificate and the certificates its token carried, for its chain check.
    timestamp_certificate: x509.Certificate | None = None
    timestamp_other_certificates: list[x509.Certificate] = field(default_factory=list)
    #: Validation data the document carries (PDF DSS, XAdES values), shared by all its
    #: signatures: checked offline before any network is asked.
    evidence: Evidence = field(default_factory=Evidence)
    #: The archive timestamps covering this signature (PDF document timestamps, XAdES
    #: archive timestamps), oldest first.
    archive_stamps: list[Stamp] = field(default_factory=list)
    #: A PDF's attachments, shared by all its signatures: the XML it was rendered with
    #: (covered by every signature) and the fully signed XML its first document
    #: timestamp carries (:func:`hub.signing.longterm._carry`); None when absent.
    source_xml: bytes | None = None
    carried_xml: bytes | None = None
    #: Digests and signature value verify.
    intact: bool = False
    covers_previous: bool = True
    #: Technical detail when something does not verify (for logs and support).
    problem: str | None = None

    @property
    def signing_time(self) -> datetime | None:
        """The time to judge the certificate at: the timestamp's, else the claimed one."""
        return self.timestamp_time or self.claimed_time


@dataclass(frozen=True)
class Stamp:
    """An archive timestamp as a reader found it: valid when its token verifies and is
    over what it must cover; whether its TSA is trusted is the assessor's question."""

    valid: bool
    time: datetime | None
    certificate: x509.Certificate | None
    other_certificates: list[x509.Certificate] = field(default_factory=list)
    problem: str | None = None


@dataclass
class SignatureReport:
    index: int
    role: SignerRole | None
    signer_name: str | None
    personal_id: str | None
    school_code: str | None
    certificate_serial: str | None
    issuer: str | None
    claimed_time: datetime | None
    timestamp_time: datetime | None
    verdict: Verdict
    reasons: list[Reason]


@dataclass
class VerificationResult:
    kind: str  # "xml" or "pdf"
    verdict: Verdict
    signatures: list[SignatureReport]
    #: Every reason, the document's and the signatures', in order.
    reasons: list[Reason]
    document_id: str | None = None
    #: A sealed PDF's verdict on the signed XML it carries, and whether that XML says
    #: what the PDF's signatures cover (None: the PDF carries none).
    attached: VerificationResult | None = None
    attached_agrees: bool | None = None


def overall(reasons: list[Reason]) -> Verdict:
    """INVALID if any reason proves a fault, else INDETERMINATE if any is unsure, else VALID."""
    weights = {r.weight for r in reasons}
    if Verdict.INVALID in weights:
        return Verdict.INVALID
    if Verdict.INDETERMINATE in weights:
        return Verdict.INDETERMINATE
    return Verdict.VALID


def as_json(result: VerificationResult) -> dict[str, object]:
    """The result as plain JSON (``hub verify --json`` and the public /verify endpoints)."""

    def reasons(items: list[Reason]) -> list[dict[str, object]]:
        return [
            {
                "code": r.code.value,
                "message": r.message,
                "message_en": r.message_en,
                "signature": r.signature,
            }
            for r in items
        ]

    return {
        "kind": result.kind,
        "verdict": result.verdict.value,
        "document_id": result.document_id,
        "signatures": [
            {
                "index": s.index,
                "role": s.role.value if s.role else None,
                "signer": s.signer_name,
                "school_code": s.school_code,
                "certificate_serial": s.certificate_serial,
                "issuer": s.issuer,
                "claimed_time": s.claimed_time.isoformat() if s.claimed_time else None,
                "timestamp_time": s.timestamp_time.isoformat() if s.timestamp_time else None,
                "verdict": s.verdict.value,
                "reasons": reasons(s.reasons),
            }
            for s in result.signatures
        ],
        "reasons": reasons(result.reasons),
        **(
            {"attached_xml": as_json(result.attached), "attached_agrees": result.attached_agrees}
            if result.attached is not None
            else {}
        ),
    }
