"""The verification rules (RULES.md §4–§5) on signatures as the format readers report them.

Real certificates from the demo PKI, real OCSP/CRL answers over loopback HTTP; the
format readers are tested in test_xades.py / test_pades.py.
"""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hub.adapters.signing.pki import GOV, VNPT, DemoPKI, Issued
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.signing import trust as trust_module
from hub.signing.trust import TrustStore
from hub.signing.verification.report import ExtractedSignature, ReasonCode, Verdict
from hub.signing.verification.rules import ExpectedSigners, assess

TEACHER_ID, PRINCIPAL_ID, SCHOOL_CODE = "001085012345", "001075054321", "01234567"


@pytest.fixture(scope="module")
def people(pki: DemoPKI) -> dict[SignerRole, Issued]:
    return {
        SignerRole.HOMEROOM_TEACHER: pki.issue_person(
            GOV, full_name="Nguyễn Thị Lan", personal_id=TEACHER_ID, organisation="THCS Demo"
        ),
        SignerRole.PRINCIPAL: pki.issue_person(
            GOV, full_name="Trần Văn Minh", personal_id=PRINCIPAL_ID, organisation="THCS Demo"
        ),
        SignerRole.SCHOOL_SEAL: pki.issue_seal(
            GOV, school_name="THCS Demo", school_code=SCHOOL_CODE
        ),
    }


@pytest.fixture(scope="module")
def trust(pki: DemoPKI) -> TrustStore:
    return TrustStore(pki.roots)


EXPECTED = ExpectedSigners(
    personal_ids={
        SignerRole.HOMEROOM_TEACHER: frozenset({TEACHER_ID}),
        SignerRole.PRINCIPAL: frozenset({PRINCIPAL_ID}),
    },
    school_code=SCHOOL_CODE,
)


def signed(
    index: int, role: SignerRole | None, issued: Issued, pki: DemoPKI, **changes
) -> ExtractedSignature:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    values = {
        "index": index,
        "role": role,
        "certificate": issued.certificate,
        "other_certificates": list(issued.chain),
        "claimed_time": now,
        "timestamp_time": now,
        "timestamp_valid": True,
        "timestamp_certificate": pki.tsa.certificate,
        "timestamp_other_certificates": list(pki.tsa.chain),
        "intact": True,
    }
    values.update(changes)
    return ExtractedSignature(**values)


def codes(result) -> set[ReasonCode]:  # type: ignore[no-untyped-def]
    return {r.code for r in result.reasons}


async def test_three_signers_in_order_are_valid(pki, people, trust) -> None:  # type: ignore[no-untyped-def]
    signatures = [signed(i, role, people[role], pki) for i, role in enumerate(SIGNING_ORDER)]
    result = await assess("xml", signatures, [], trust=trust, expected=EXPECTED)
    assert result.verdict is Verdict.VALID, result.reasons
    assert [s.personal_id for s in result.signatures] == [TEACHER_ID, PRINCIPAL_ID, None]
    assert result.signatures[2].school_code == SCHOOL_CODE


async def test_missing_signatures_make_an_official_transcript_incomplete(
    pki, people, trust
) -> None:  # type: ignore[no-untyped-def]
    signatures = [signed(0, SignerRole.HOMEROOM_TEACHER, people[SignerRole.HOMEROOM_TEACHER], pki)]
    result = await assess("pdf", signatures, [], trust=trust, expected=EXPECTED)
    assert result.verdict is Verdict.INVALID
    assert codes(result) == {ReasonCode.SIGNATURES_MISSING}
    assert "Hiệu trưởng" in result.reasons[0].message
    partial = await assess(
        "pdf", signatures, [], trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert partial.verdict is Verdict.VALID


async def test_wrong_order_is_rejected(pki, people, trust) -> None:  # type: ignore[no-untyped-def]
    order = [SignerRole.PRINCIPAL, SignerRole.HOMEROOM_TEACHER, SignerRole.SCHOOL_SEAL]
    signatures = [signed(i, role, people[role], pki) for i, role in enumerate(order)]
    result = await assess("xml", signatures, [], trust=trust, expected=EXPECTED)
    assert result.verdict is Verdict.INVALID
    assert codes(result) == {ReasonCode.ORDER_WRONG}
    assert "Thứ tự ký sai" in result.reasons[0].message


async def test_a_signer_who_does_not_hold_the_role_is_rejected(pki, people, trust) -> None:  # type: ignore[no-untyped-def]
    stranger = pki.issue_person(
        GOV, full_name="Lê Văn Khách", personal_id="001090099999", organisation="THCS Demo"
    )
    signatures = [
        signed(0, SignerRole.HOMEROOM_TEACHER, stranger, pki),
        signed(1, SignerRole.PRINCIPAL, people[SignerRole.PRINCIPAL], pki),
        signed(2, SignerRole.SCHOOL_SEAL, people[SignerRole.SCHOOL_SEAL], pki),
    ]
    result = await assess("xml", signatures, [], trust=trust, expected=EXPECTED)
    assert codes(result) == {ReasonCode.SIGNER_MISMATCH}
    assert result.signatures[0].verdict is Verdict.INVALID
    assert result.signatures[1].verdict is Verdict.VALID


async def test_untrusted_chain_is_rejected(pki, people, trust) -> None:  # type: ignore[no-untyped-def]
    other = DemoPKI.create(pki.base_url)  # same names, different keys: an impostor CA
    impostor = other.issue_person(
        GOV, full_name="Nguyễn Thị Lan", personal_id=TEACHER_ID, organisation="THCS Demo"
    )
    signatures = [signed(0, SignerRole.HOMEROOM_TEACHER, impostor, pki)]
    result = await assess(
        "xml", signatures, [], trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert codes(result) == {ReasonCode.CHAIN_UNTRUSTED}


async def test_expired_certificate_at_signing_time_is_rejected(pki, trust) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    expired = pki.issue_person(
        VNPT,
        full_name="Phạm Hết Hạn",
        personal_id=TEACHER_ID,
        organisation="THCS Demo",
        valid_from=now - timedelta(days=400),
        valid_to=now - timedelta(days=10),
    )
    signatures = [signed(0, SignerRole.HOMEROOM_TEACHER, expired, pki)]
    result = await assess(
        "xml", signatures, [], trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert codes(result) == {ReasonCode.CERTIFICATE_EXPIRED}
    # Signed while it was valid (a timestamp proves when): still good today.
    earlier = signed(
        0,
        SignerRole.HOMEROOM_TEACHER,
        expired,
        pki,
        timestamp_time=now - timedelta(days=20),
        claimed_time=now - timedelta(days=20),
    )
    result = await assess(
        "xml", [earlier], [], trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert result.verdict is Verdict.VALID, result.reasons


async def test_revocation_counts_only_before_the_signing_time(pki) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    issued = pki.issue_person(
        GOV, full_name="Đỗ Thu Hồi", personal_id=TEACHER_ID, organisation="THCS Demo"
    )
    pki.revoke(issued.certificate, at=now - timedelta(hours=1))
    trust = TrustStore(pki.roots)  # a fresh cache: asks the OCSP responder over HTTP
    after = [signed(0, SignerRole.HOMEROOM_TEACHER, issued, pki)]
    result = await assess(
        "xml", after, [], trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert codes(result) == {ReasonCode.CERTIFICATE_REVOKED}
    assert "thu hồi" in result.reasons[0].message
    before = [
        signed(
            0,
            SignerRole.HOMEROOM_TEACHER,
            issued,
            pki,
            timestamp_time=now - timedelta(hours=2),
            claimed_time=now - timedelta(hours=2),
        )
    ]
    result = await assess(
        "xml", before, [], trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert result.verdict is Verdict.VALID, result.reasons


async def test_revocation_falls_back_to_the_crl_and_says_when_it_cannot_tell(pki, people) -> None:  # type: ignore[no-untyped-def]
    issued = pki.issue_person(
        GOV, full_name="Vũ Danh Sách", personal_id=TEACHER_ID, organisation="THCS Demo"
    )
    pki.revoke(issued.certificate, at=datetime.now(UTC) - timedelta(hours=1))
    async with httpx.AsyncClient() as client:
        answer = await trust_module._ask_crl(
            client, pki.crl_url(GOV), issued.certificate, issued.chain[0]
        )
    assert answer.kind == "crl"
    assert answer.result.checked and answer.result.revoked_at is not None
    offline = TrustStore(pki.roots, fetch_revocation=False)
    teacher = people[SignerRole.HOMEROOM_TEACHER]
    result = await assess(
        "xml",
        [signed(0, SignerRole.HOMEROOM_TEACHER, teacher, pki)],
        [],
        trust=offline,
        expected=EXPECTED,
        required=SIGNING_ORDER[:1],
    )
    assert result.verdict is Verdict.INDETERMINATE
    assert codes(result) == {ReasonCode.REVOCATION_UNKNOWN}


async def test_tampering_missing_timestamp_and_missing_role(pki, people, trust) -> None:  # type: ignore[no-untyped-def]
    teacher = people[SignerRole.HOMEROOM_TEACHER]
    broken = signed(0, SignerRole.HOMEROOM_TEACHER, teacher, pki, intact=False)
    result = await assess(
        "xml", [broken], [], trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert codes(result) == {ReasonCode.DOCUMENT_MODIFIED}
    untimed = signed(
        0, SignerRole.HOMEROOM_TEACHER, teacher, pki, timestamp_valid=None, timestamp_time=None
    )
    result = await assess(
        "xml", [untimed], [], trust=trust, expected=EXPECTED, required=SIGNING_ORDER[:1]
    )
    assert result.verdict is Verdict.INDETERMINATE
    assert codes(result) == {ReasonCode.TIMESTAMP_MISSING}
    anonymous = signed(0, None, teacher, pki)
    result = await assess("xml", [anonymous], [], trust=trust, required=SIGNING_ORDER[:1])
    assert ReasonCode.ROLE_MISSING in codes(result)
    nothing = await assess("xml", [], [], trust=trust)
    assert codes(nothing) == {ReasonCode.NOT_SIGNED}


async def test_the_order_message_names_who_should_have_signed_at_each_place(trust) -> None:  # type: ignore[no-untyped-def]
    order = [SignerRole.PRINCIPAL, SignerRole.HOMEROOM_TEACHER, SignerRole.SCHOOL_SEAL]
    signatures = [
        ExtractedSignature(index=i, role=r, certificate=None) for i, r in enumerate(order)
    ]
    result = await assess("xml", signatures, [], trust=trust)
    wrong = [r for r in result.reasons if r.code is ReasonCode.ORDER_WRONG]
    assert [r.signature for r in wrong] == [0, 1]
    assert "chữ ký thứ 2 phải là của Hiệu trưởng, nhưng lại là của Giáo viên chủ nhiệm" in (
        wrong[1].message
    )
    assert "signature 1 should be the homeroom teacher's" in wrong[0].message_en
