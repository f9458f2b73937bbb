"""verify_document on real signed transcripts, XML and PDF alike (RULES.md §4–§5).

Every document here is made the way the hub makes it: the XAdES / PAdES engines in
two steps, the raw value from ``sign_digest`` (what a provider returns), a B-T
timestamp from the demo PKI's TSA; certificates from the demo PKI, whose OCSP
responder answers over loopback HTTP. Each case must come out with exactly the
reason codes listed, and with the Vietnamese message a teacher would read.
"""

from datetime import UTC, datetime, timedelta

import pytest

from hub.adapters.signing.pki import GOV, HIERARCHY, DemoPKI, Issued
from hub.documents import samples
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.signing.trust import TrustStore
from hub.signing.verification import (
    ExpectedSigners,
    ReasonCode,
    Verdict,
    VerificationResult,
    document_kind,
    verify_document,
)
from tests.signing_support import (
    PRINCIPAL_ID,
    PRINCIPAL_NAME,
    TEACHER_ID,
    TEACHER_NAME,
    flip_a_content_byte,
    school_signers,
    sign_in_turn,
)

TEACHER, PRINCIPAL, SEAL = SIGNING_ORDER
SCHOOL = samples.SCHOOL

EXPECTED = ExpectedSigners(
    personal_ids={
        TEACHER: frozenset({TEACHER_ID}),
        PRINCIPAL: frozenset({PRINCIPAL_ID}),
    },
    school_code=SCHOOL.moet_code,
)


# --- Signers and documents ------------------------------------------------------------


@pytest.fixture(scope="module")
def people(pki: DemoPKI) -> dict[SignerRole, Issued]:
    """The sample school's homeroom teacher, principal and seal."""
    return dict(zip(SIGNING_ORDER, school_signers(pki), strict=True))


@pytest.fixture(scope="module")
def trust(pki: DemoPKI) -> TrustStore:
    return TrustStore(pki.roots)


@pytest.fixture(scope="module")
async def rendered() -> tuple[bytes, bytes]:
    """The sample transcript as the hub renders it: (XML, PDF carrying the XML)."""
    from hub.transcripts.service import render

    return await render(samples.secondary(11))


@pytest.fixture(scope="module", params=["xml", "pdf"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def unsigned(kind: str, rendered: tuple[bytes, bytes]) -> bytes:
    xml, pdf = rendered
    return xml if kind == "xml" else pdf


def turns(
    people: dict[SignerRole, Issued], teacher: Issued | None = None
) -> list[tuple[SignerRole, Issued]]:
    """The three signers in order, with ``teacher`` in the homeroom teacher's place."""
    return [
        (TEACHER, teacher or people[TEACHER]),
        (PRINCIPAL, people[PRINCIPAL]),
        (SEAL, people[SEAL]),
    ]


@pytest.fixture(scope="module")
async def signed(unsigned: bytes, people: dict[SignerRole, Issued], pki: DemoPKI) -> bytes:
    """Signed by all three, in order, B-T."""
    return await sign_in_turn(unsigned, turns(people), pki.timestamper)


def tamper(document: bytes) -> bytes:
    """Change what the first signer signed, keeping the file well-formed / parseable.

    XML: a score in ``<content>`` (Toán, first term 8.3 → 9.3); still a valid transcript.
    PDF: one byte of the first page's content stream, which sits in the unsigned
    revision and so inside every signature's byte range; offsets and lengths unchanged.
    """
    if document_kind(document) == "xml":
        assert document.count(b"<score>8.3</score>") == 1
        return document.replace(b"<score>8.3</score>", b"<score>9.3</score>")
    return flip_a_content_byte(document)


# --- Checking the outcome -----------------------------------------------------------------


def found(result: VerificationResult) -> list[tuple[ReasonCode, int | None]]:
    """Every reason as (code, signature index), in the order reported."""
    return [(r.code, r.signature) for r in result.reasons]


def assert_outcome(
    result: VerificationResult,
    verdict: Verdict,
    expected: list[tuple[ReasonCode, int | None]],
    vietnamese: str,
) -> None:
    """Exactly these reasons, this verdict, and every message in Vietnamese saying so."""
    messages = [r.message for r in result.reasons]
    assert found(result) == expected, messages
    assert result.verdict is verdict, messages
    for r in result.reasons:
        assert vietnamese in r.message, r.message
        assert r.message != r.message_en


# --- The cases ----------------------------------------------------------------------------


async def test_three_signers_in_order_are_valid(
    kind: str, signed: bytes, trust: TrustStore
) -> None:
    result = await verify_document(signed, trust=trust, expected=EXPECTED, document_id="hb-1")
    assert result.verdict is Verdict.VALID, [r.message for r in result.reasons]
    assert result.reasons == []
    assert result.kind == kind and result.document_id == "hb-1"
    assert [s.role for s in result.signatures] == list(SIGNING_ORDER)
    assert [s.signer_name for s in result.signatures] == [
        TEACHER_NAME,
        PRINCIPAL_NAME,
        SCHOOL.name,
    ]
    assert [s.personal_id for s in result.signatures] == [
        TEACHER_ID,
        PRINCIPAL_ID,
        None,
    ]
    assert result.signatures[2].school_code == SCHOOL.moet_code
    now = datetime.now(UTC)
    for report in result.signatures:
        assert report.verdict is Verdict.VALID
        assert report.timestamp_time is not None
        assert abs(report.timestamp_time - now) < timedelta(minutes=5)
        assert report.issuer == HIERARCHY[GOV][0]


async def test_a_tampered_document_is_rejected(signed: bytes, trust: TrustStore) -> None:
    # Both readers see the changed bytes through the digests: XML, the #content
    # reference of every signature; PDF, the /ByteRange digest of every signature
    # (the change is in the first revision, which every byte range covers). Nothing
    # was appended, so neither reports CHANGED_AFTER_SIGNING: the precise code is
    # DOCUMENT_MODIFIED on each of the three signatures.
    result = await verify_document(tamper(signed), trust=trust, expected=EXPECTED)
    assert_outcome(
        result,
        Verdict.INVALID,
        [(ReasonCode.DOCUMENT_MODIFIED, i) for i in range(3)],
        "Nội dung học bạ đã bị thay đổi sau khi",
    )
    assert "Giáo viên chủ nhiệm (Nguyễn Thị Lan)" in result.reasons[0].message


async def test_signers_out_of_order_are_rejected(
    unsigned: bytes, people: dict[SignerRole, Issued], trust: TrustStore, pki: DemoPKI
) -> None:
    order = [(PRINCIPAL, people[PRINCIPAL]), (TEACHER, people[TEACHER]), (SEAL, people[SEAL])]
    document = await sign_in_turn(unsigned, order, pki.timestamper)
    result = await verify_document(document, trust=trust, expected=EXPECTED)
    # The principal (1st) and the teacher (2nd) are each out of place; the seal is third.
    assert_outcome(
        result,
        Verdict.INVALID,
        [(ReasonCode.ORDER_WRONG, 0), (ReasonCode.ORDER_WRONG, 1)],
        "Thứ tự ký sai",
    )
    assert [s.role for s in result.signatures] == [PRINCIPAL, TEACHER, SEAL]
    assert "chữ ký thứ 1 phải là của Giáo viên chủ nhiệm, nhưng lại là của Hiệu trưởng" in (
        result.reasons[0].message
    )


async def test_a_signer_who_does_not_hold_the_role_is_rejected(
    unsigned: bytes, people: dict[SignerRole, Issued], trust: TrustStore, pki: DemoPKI
) -> None:
    stranger = pki.issue_person(
        GOV, full_name="Lê Văn Khách", personal_id="001090099999", organisation=SCHOOL.name
    )
    document = await sign_in_turn(unsigned, turns(people, stranger), pki.timestamper)
    result = await verify_document(document, trust=trust, expected=EXPECTED)
    assert_outcome(
        result,
        Verdict.INVALID,
        [(ReasonCode.SIGNER_MISMATCH, 0)],
        "không phải là Giáo viên chủ nhiệm của học bạ này",
    )
    assert [s.verdict for s in result.signatures] == [Verdict.INVALID, Verdict.VALID, Verdict.VALID]
    # Without the school's records nothing says who should have signed.
    without_records = await verify_document(document, trust=trust)
    assert without_records.verdict is Verdict.VALID


async def test_a_certificate_expired_when_it_signed_is_rejected(
    unsigned: bytes, people: dict[SignerRole, Issued], trust: TrustStore, pki: DemoPKI
) -> None:
    now = datetime.now(UTC)
    expired = pki.issue_person(
        GOV,
        full_name=TEACHER_NAME,
        personal_id=TEACHER_ID,
        organisation=SCHOOL.name,
        valid_from=now - timedelta(days=400),
        valid_to=now - timedelta(days=10),
    )
    document = await sign_in_turn(unsigned, turns(people, expired), pki.timestamper)
    result = await verify_document(document, trust=trust, expected=EXPECTED)
    assert_outcome(
        result,
        Verdict.INVALID,
        [(ReasonCode.CERTIFICATE_EXPIRED, 0)],
        "đã hết hạn vào thời điểm ký",
    )


async def test_a_certificate_revoked_before_it_signed_is_rejected(
    unsigned: bytes, people: dict[SignerRole, Issued], pki: DemoPKI
) -> None:
    revoked = pki.issue_person(
        GOV,
        full_name=TEACHER_NAME,
        personal_id=TEACHER_ID,
        organisation=SCHOOL.name,
    )
    pki.revoke(revoked.certificate, at=datetime.now(UTC) - timedelta(hours=1))
    document = await sign_in_turn(unsigned, turns(people, revoked), pki.timestamper)
    fresh = TrustStore(pki.roots)  # no cached answers: asks the OCSP responder over HTTP
    result = await verify_document(document, trust=fresh, expected=EXPECTED)
    assert_outcome(
        result,
        Verdict.INVALID,
        [(ReasonCode.CERTIFICATE_REVOKED, 0)],
        "đã bị thu hồi trước thời điểm ký",
    )


@pytest.fixture(scope="module")
def impostor(pki: DemoPKI) -> Issued:
    """The teacher's certificate from a look-alike PKI: same names, different keys."""
    other = DemoPKI.create(pki.base_url)
    return other.issue_person(
        GOV,
        full_name=TEACHER_NAME,
        personal_id=TEACHER_ID,
        organisation=SCHOOL.name,
    )


async def test_a_certificate_from_an_untrusted_ca_is_rejected(
    unsigned: bytes,
    people: dict[SignerRole, Issued],
    impostor: Issued,
    trust: TrustStore,
    pki: DemoPKI,
) -> None:
    document = await sign_in_turn(unsigned, turns(people, impostor), pki.timestamper)
    result = await verify_document(document, trust=trust, expected=EXPECTED)
    # The personal ID matches the records, so no SIGNER_MISMATCH: only the chain tells.
    assert_outcome(
        result,
        Verdict.INVALID,
        [(ReasonCode.CHAIN_UNTRUSTED, 0)],
        "không được cấp bởi tổ chức chứng thực được tin cậy",
    )


async def test_a_transcript_signed_by_the_teacher_only_is_incomplete(
    unsigned: bytes, people: dict[SignerRole, Issued], trust: TrustStore, pki: DemoPKI
) -> None:
    document = await sign_in_turn(unsigned, turns(people)[:1], pki.timestamper)
    result = await verify_document(document, trust=trust, expected=EXPECTED, required=SIGNING_ORDER)
    assert_outcome(
        result, Verdict.INVALID, [(ReasonCode.SIGNATURES_MISSING, None)], "Học bạ chưa đủ chữ ký"
    )
    assert "Hiệu trưởng, Con dấu của trường" in result.reasons[0].message
    assert result.signatures[0].verdict is Verdict.VALID
    partial = await verify_document(
        document, trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert partial.verdict is Verdict.VALID


async def test_signatures_without_timestamps_are_indeterminate(
    unsigned: bytes, people: dict[SignerRole, Issued], trust: TrustStore
) -> None:
    document = await sign_in_turn(unsigned, turns(people), timestamper=None)  # B-B
    result = await verify_document(document, trust=trust, expected=EXPECTED)
    assert_outcome(
        result,
        Verdict.INDETERMINATE,
        [(ReasonCode.TIMESTAMP_MISSING, i) for i in range(3)],
        "không có dấu thời gian",
    )
    assert all(s.timestamp_time is None and s.claimed_time for s in result.signatures)
