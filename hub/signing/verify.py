"""Verify a signed transcript, XML or PDF, the same way (RULES.md §4–§5).

The format readers take the document apart (:mod:`hub.signing.verify_xml`,
:mod:`hub.signing.verify_pdf`); :func:`assess` then applies the rules to each
signature in order: intact and covering everything before it, a role stated and
in the signing order, a valid timestamp from a trusted TSA, a certificate that
chains to the trust store, was valid and not revoked when it signed, and belongs
to the person (or school) the records say holds that role; finally, whether
every signature a finished transcript needs is there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from hub.adapters.signing.pki import personal_id_of, school_code_of
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.signing.trust import TrustStore
from hub.signing.verdict import (
    ROLE_ENGLISH,
    ExtractedSignature,
    Reason,
    ReasonCode,
    SignatureReport,
    VerificationResult,
    overall,
    reason,
)


@dataclass(frozen=True)
class ExpectedSigners:
    """Who may sign each role of one transcript, from the school's records.

    People are matched by the personal ID their certificate is bound to, the seal
    by the ministry school code (see :mod:`hub.adapters.signing.pki`).
    """

    personal_ids: dict[SignerRole, frozenset[str]] = field(default_factory=dict)
    school_code: str | None = None

    def accepts(self, role: SignerRole, certificate: x509.Certificate) -> bool:
        if role is SignerRole.SCHOOL_SEAL:
            return self.school_code is not None and school_code_of(certificate) == self.school_code
        return personal_id_of(certificate) in self.personal_ids.get(role, frozenset())


def document_kind(document: bytes) -> str:
    """ "pdf" or "xml", by the first bytes."""
    head = document.lstrip()[:5]
    if head.startswith(b"%PDF"):
        return "pdf"
    return "xml"


async def verify_document(
    document: bytes,
    *,
    trust: TrustStore,
    expected: ExpectedSigners | None = None,
    required: Sequence[SignerRole] = SIGNING_ORDER,
    document_id: str | None = None,
) -> VerificationResult:
    """Read ``document`` (XML or PDF) and assess its signatures."""
    kind = document_kind(document)
    if kind == "pdf":
        from hub.signing.verify_pdf import read_pdf_signatures

        signatures, problems = await read_pdf_signatures(document)
    else:
        from hub.signing.verify_xml import read_xml_signatures

        signatures, problems = read_xml_signatures(document)
    return await assess(
        kind,
        signatures,
        problems,
        trust=trust,
        expected=expected,
        required=required,
        document_id=document_id,
    )


async def assess(
    kind: str,
    signatures: list[ExtractedSignature],
    problems: list[str],
    *,
    trust: TrustStore,
    expected: ExpectedSigners | None = None,
    required: Sequence[SignerRole] = SIGNING_ORDER,
    document_id: str | None = None,
) -> VerificationResult:
    """Apply RULES.md §4–§5 to what a format reader found."""
    document_reasons = [reason(ReasonCode.FORMAT_INVALID, detail=p) for p in problems]
    if not signatures and not problems:
        document_reasons.append(reason(ReasonCode.NOT_SIGNED))
    reports = [
        await _assess_one(signature, trust=trust, expected=expected) for signature in signatures
    ]
    roles = [s.role for s in signatures]
    if signatures and not problems:
        missing = [role for role in required if role not in roles]
        if missing:
            document_reasons.append(
                reason(
                    ReasonCode.SIGNATURES_MISSING,
                    missing=", ".join(role.label for role in missing),
                    missing_en=", ".join(ROLE_ENGLISH[role] for role in missing),
                )
            )
    every = [r for report in reports for r in report.reasons] + document_reasons
    return VerificationResult(
        kind=kind,
        verdict=overall(every),
        signatures=reports,
        reasons=every,
        document_id=document_id,
    )


async def _assess_one(
    signature: ExtractedSignature, *, trust: TrustStore, expected: ExpectedSigners | None
) -> SignatureReport:
    index = signature.index
    certificate = signature.certificate
    name = _common_name(certificate) if certificate else None
    role = signature.role
    who = f"{role.label} ({name})" if role and name else name or f"chữ ký thứ {index + 1}"
    reasons: list[Reason] = []

    def add(code: ReasonCode, **details: str) -> None:
        reasons.append(reason(code, index, signer=who, **details))

    if certificate is None:
        add(ReasonCode.SIGNATURE_INVALID)
    elif not signature.intact:
        add(ReasonCode.DOCUMENT_MODIFIED)
    if not signature.covers_previous:
        add(ReasonCode.CHANGED_AFTER_SIGNING, detail=signature.problem or "")
    if role is None:
        add(ReasonCode.ROLE_MISSING)
    elif index >= len(SIGNING_ORDER) or SIGNING_ORDER[index] is not role:
        expected_role = SIGNING_ORDER[index] if index < len(SIGNING_ORDER) else None
        add(
            ReasonCode.ORDER_WRONG,
            position=str(index + 1),
            role=role.label,
            role_en=ROLE_ENGLISH[role],
            expected=expected_role.label if expected_role else "đủ ba chữ ký",
            expected_en=ROLE_ENGLISH[expected_role] if expected_role else "three signatures",
        )
    await _check_timestamp(signature, trust, add)
    if certificate is not None:
        await _check_certificate(signature, certificate, trust, add)
        if expected is not None and role is not None and not expected.accepts(role, certificate):
            add(ReasonCode.SIGNER_MISMATCH, role=role.label, role_en=ROLE_ENGLISH[role])
    return SignatureReport(
        index=index,
        role=role,
        signer_name=name,
        personal_id=personal_id_of(certificate) if certificate else None,
        school_code=school_code_of(certificate) if certificate else None,
        certificate_serial=format(certificate.serial_number, "x") if certificate else None,
        issuer=_common_name_of(certificate.issuer) if certificate else None,
        claimed_time=signature.claimed_time,
        timestamp_time=signature.timestamp_time,
        verdict=overall(reasons),
        reasons=reasons,
    )


async def _check_timestamp(signature: ExtractedSignature, trust: TrustStore, add) -> None:  # type: ignore[no-untyped-def]
    if signature.timestamp_valid is None:
        add(ReasonCode.TIMESTAMP_MISSING)
        return
    if signature.timestamp_valid is False or signature.timestamp_certificate is None:
        add(ReasonCode.TIMESTAMP_INVALID, detail="dấu thời gian không khớp với chữ ký")
        return
    tsa_path = await trust.path(
        signature.timestamp_certificate, signature.timestamp_other_certificates
    )
    if not tsa_path.trusted:
        add(ReasonCode.TIMESTAMP_INVALID, detail="đơn vị cấp dấu thời gian không được tin cậy")


async def _check_certificate(
    signature: ExtractedSignature,
    certificate: x509.Certificate,
    trust: TrustStore,
    add,  # type: ignore[no-untyped-def]
) -> None:
    path = await trust.path(certificate, signature.other_certificates)
    if not path.trusted:
        add(ReasonCode.CHAIN_UNTRUSTED)
        return
    moment = signature.signing_time or datetime.now(UTC)
    when = moment.astimezone(UTC).strftime("%d/%m/%Y %H:%M UTC")
    for link in path.path:
        if moment < link.not_valid_before_utc:
            add(ReasonCode.CERTIFICATE_NOT_YET_VALID, when=when)
            return
        if moment > link.not_valid_after_utc:
            add(ReasonCode.CERTIFICATE_EXPIRED, when=when)
            return
    if len(path.path) < 2:
        return
    revocation = await trust.revocation(certificate, path.path[1])
    if not revocation.checked:
        add(ReasonCode.REVOCATION_UNKNOWN, detail=revocation.problem or "")
    elif revocation.revoked_at is not None and revocation.revoked_at <= moment:
        add(
            ReasonCode.CERTIFICATE_REVOKED,
            when=revocation.revoked_at.astimezone(UTC).strftime("%d/%m/%Y %H:%M UTC"),
        )


def _common_name(certificate: x509.Certificate) -> str | None:
    return _common_name_of(certificate.subject)


def _common_name_of(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None
