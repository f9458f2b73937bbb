"""The sync contract between the hub and the national systems, written down once for both ends.

No public API document exists for the ministry's sector database (csdl.moet.gov.vn)
or for the national transcript store (PROVIDERS.md, "Sector and population
databases"), so the hub defines its own contract and simulates the far side
(:mod:`hub.adapters.national.simulator`).

**Batches.** ``POST /v1/students:batchUpsert`` (sector database) takes up to
:data:`MAX_STUDENTS` student records as rows, ``{"fields": STUDENT_FIELDS, "rows":
[[...], ...]}``, so that a batch of thousands costs its values and no more; ``POST
/v1/transcripts:batchSubmit`` (transcript store) takes up to :data:`MAX_TRANSCRIPTS`
:class:`TranscriptSubmission` objects, ``{"items": [...]}``, documents base64. Each
request names its batch in an ``Idempotency-Key`` header.

**Idempotency.** The far side keeps its first answer to a key and gives the same
bytes to every later request with that key (marked ``Idempotent-Replayed: true``)
without storing anything again or looking at the body: a batch delivered twice is
stored once. The hub derives the key from the run and the batch number and only
ever sends the same items, or fewer of them, under one key. Items are also
idempotent by natural key: a transcript version already held, or a student record
of the same or an older version, is acknowledged again with its first
acknowledgement and not stored twice.

**Answer** (200, :class:`BatchAnswer`), one acknowledgement per item, in columns so
that a batch of thousands costs a few strings rather than thousands of objects:
``{"batchId", "keys": [...], "ackIds": [...], "rejected": [{"key", "code",
"message"}]}``. ``keys[i]`` is the key of the request's ``i``-th item (a student
record's personal ID, a transcript's document id) and ``ackIds[i]`` its
acknowledgement id, or null when it was rejected — then ``rejected`` says why. A
rejected item is the hub's to look at (the sync's dead letters); the rest of the
batch is stored.

**Signed in transit.** Every batch carries the department's detached CMS signature over
the exact bytes of its body, base64 in the :data:`SIGNATURE` header, made with the
organisation certificate the department registered (:mod:`hub.signing.transport`).
The far side checks it before anything else — a replay included — and refuses the
batch with 401 and one of :class:`SignatureRefusal`'s codes: no signature, one that
does not verify over the body, a certificate that does not chain to the national
roots (or is outside its validity), or a certificate other than the registered one.

**Pupils who leave.** A student record's ``enrolment`` is ENROLLED, or LEFT when the
pupil attends none of the province's schools any more (moved away, withdrawn;
``schoolCode`` is then null): the tombstone of the change feed's departures, pushed
like any change and stored by version as every record is.

**Failures.** 5xx, 429 or no answer: send the same batch again later with the same
key. Any other 4xx refuses the batch as a whole (malformed, too large, not
authorised, not signed as agreed): sending it again will not help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

STUDENTS_PATH = "/v1/students:batchUpsert"
TRANSCRIPTS_PATH = "/v1/transcripts:batchSubmit"
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
#: The department's detached CMS signature over the request body, base64 of its DER.
SIGNATURE = "Batch-Signature"

MAX_STUDENTS = 10_000
MAX_TRANSCRIPTS = 100


#: One student as the sector database keeps them, keyed by personal ID: the fields of
#: each row of a students batch, in this order.
STUDENT_FIELDS = (
    "personalId",  # 12 digits
    "ministryCode",  # the ministry's student code, or null
    "fullName",
    "birthDate",  # ISO date
    "sex",  # MALE | FEMALE | null
    "ethnicity",
    "schoolCode",  # the school's ministry code
    "identityStatus",  # UNVERIFIED | VERIFIED | MISMATCH | UNKNOWN (population database)
    "version",  # the hub's change version: a lower one never overwrites a higher one
    "enrolment",  # ENROLLED | LEFT (attends none of the province's schools now)
    "sourceId",  # the hub's own id of the student, for tracing
)
PERSONAL_ID, FULL_NAME, BIRTH_DATE, SCHOOL_CODE, VERSION, ENROLMENT = 0, 2, 3, 6, 8, 9
ENROLLED, LEFT = "ENROLLED", "LEFT"


class SignatureRefusal:
    """Why the far side refused a batch's signature (HTTP 401, ``{"code", "message"}``)."""

    REQUIRED = "SIGNATURE_REQUIRED"  # no Batch-Signature header
    INVALID = "SIGNATURE_INVALID"  # not a CMS, or it does not verify over the body
    UNTRUSTED = "SIGNER_UNTRUSTED"  # no chain to the national roots, or not valid now
    NOT_REGISTERED = "SIGNER_NOT_REGISTERED"  # a valid certificate, not the department's

    ALL = (REQUIRED, INVALID, UNTRUSTED, NOT_REGISTERED)


SIGNATURE_MESSAGES = {
    SignatureRefusal.REQUIRED: "Lô dữ liệu không có chữ ký số của Sở.",
    SignatureRefusal.INVALID: "Chữ ký số của lô dữ liệu không hợp lệ với nội dung gửi kèm.",
    SignatureRefusal.UNTRUSTED: (
        "Chứng thư số ký lô dữ liệu không do tổ chức được tin cậy cấp hoặc đã hết hiệu lực."
    ),
    SignatureRefusal.NOT_REGISTERED: (
        "Chứng thư số ký lô dữ liệu không phải chứng thư tổ chức Sở đã đăng ký."
    ),
}


class TranscriptSubmission(TypedDict):
    """One sealed transcript version with its signed documents."""

    documentId: str
    version: int
    personalId: str
    schoolCode: str
    schoolYear: str  # e.g. 2025-2026
    xmlSha256: str
    xml: str  # base64
    pdf: str  # base64


class Rejection:
    """Why the far side refused one item: these codes, or any other it chooses."""

    PERSONAL_ID_INVALID = "PERSONAL_ID_INVALID"
    RECORD_INCOMPLETE = "RECORD_INCOMPLETE"
    PERSONAL_ID_UNKNOWN = "PERSONAL_ID_UNKNOWN"
    SCHOOL_UNKNOWN = "SCHOOL_UNKNOWN"
    DOCUMENT_INVALID = "DOCUMENT_INVALID"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    DOCUMENT_CONFLICT = "DOCUMENT_CONFLICT"
    #: The hub's own, for an item it could not send or that came back without an answer.
    PERSONAL_ID_MISSING = "PERSONAL_ID_MISSING"
    NOT_ACKNOWLEDGED = "NOT_ACKNOWLEDGED"


REJECTION_MESSAGES = {
    Rejection.PERSONAL_ID_INVALID: "Mã định danh cá nhân không hợp lệ (phải gồm đúng 12 chữ số).",
    Rejection.RECORD_INCOMPLETE: (
        "Hồ sơ thiếu họ tên hoặc ngày sinh, hoặc tình trạng theo học không khớp với mã trường."
    ),
    Rejection.PERSONAL_ID_UNKNOWN: "Mã định danh cá nhân không có trong cơ sở dữ liệu quốc gia.",
    Rejection.SCHOOL_UNKNOWN: "Mã trường không có trong cơ sở dữ liệu ngành.",
    Rejection.DOCUMENT_INVALID: "Tệp học bạ (XML hoặc PDF) trống hoặc không đọc được.",
    Rejection.CHECKSUM_MISMATCH: "Mã băm của tệp XML không khớp với nội dung gửi kèm.",
    Rejection.DOCUMENT_CONFLICT: (
        "Kho đã lưu phiên bản này của học bạ với nội dung khác; cần lập bản điều chỉnh."
    ),
    Rejection.PERSONAL_ID_MISSING: "Học sinh chưa có mã định danh cá nhân nên chưa thể gửi.",
    Rejection.NOT_ACKNOWLEDGED: (
        "Hệ thống nhận không trả lời về bản ghi này (trái thoả thuận kết nối); "
        "báo bộ phận kỹ thuật của Sở."
    ),
}


def rejection_message(code: str, fallback: str | None = None) -> str:
    """The Vietnamese message for ``code``; the far side's own text for a code we do not know."""
    return REJECTION_MESSAGES.get(code) or fallback or f"Bị từ chối ({code})."


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class BatchAnswer:
    """The far side's answer to one batch, by item key."""

    batch_id: str
    replayed: bool
    accepted: dict[str, str]  # key → acknowledgement id
    rejected: dict[str, Refusal]

    @classmethod
    def decode(cls, body: Any, *, replayed: bool) -> BatchAnswer:
        keys, acks = body["keys"], body["ackIds"]
        if len(keys) != len(acks):
            raise ValueError("keys and ackIds differ in length")
        accepted = {key: ack for key, ack in zip(keys, acks, strict=True) if ack is not None}
        rejected = {
            item["key"]: Refusal(
                item.get("code") or "REJECTED",
                rejection_message(item.get("code") or "REJECTED", item.get("message")),
            )
            for item in body.get("rejected", [])
        }
        return cls(str(body["batchId"]), replayed, accepted, rejected)
