"""What makes a signed transcript VALID, INVALID or INDETERMINATE (RULES.md §4–§5).

The same rules for XML and PDF: :mod:`.reading` takes the file apart, and
:func:`assess` judges each signature in order — intact and covering everything
before it, a role stated and in the signing order, a valid timestamp from a
trusted TSA, a certificate that chains to the trust store, was valid and not
revoked when it signed, and belongs to the person (or school) the records say
holds that role (:class:`ExpectedSigners`, filled by :mod:`.records`) — and
finally whether every signature a finished transcript needs is there.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from hub.adapters.signing.certificates import personal_id_of, school_code_of
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.signing.trust import TrustStore
from hub.signing.verification.reading import read_untrusted
from hub.signing.verification.report import (
    ROLE_ENGLISH,
    ExtractedSignature,
    Reason,
    ReasonCode,
    SignatureReport,
    Verdict,
    VerificationResult,
    overall,
    reason,
)
from hub.signing.xades import CONTENT, canonical, parse_document

#: Not structlog: ``hub verify --json`` prints the verdict on stdout, where structlog
#: writes; the standard logger writes warnings to stderr until the server configures it.
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpectedSigners:
    """Who may sign each role of one transcript, from the school's records.

    People are matched by the personal ID their certificate is bound to, the seal
    by the ministry school code (see :mod:`hub.adapters.signing.certificates`).
    """

    personal_ids: dict[SignerRole, frozenset[str]] = field(default_factory=dict)
    school_code: str | None = None

    def accepts(self, role: SignerRole, certificate: x509.Certificate) -> bool:
        if role is SignerRole.SCHOOL_SEAL:
            return self.school_code is not None and school_code_of(certificate) == self.school_code
        return personal_id_of(certificate) in self.personal_ids.get(role, frozenset())


async def verify_document(
    document: bytes,
    *,
    trust: TrustStore,
    expected: ExpectedSigners | None = None,
    required: Sequence[SignerRole] = SIGNING_ORDER,
    document_id: str | None = None,
    at: datetime | None = None,
) -> VerificationResult:
    """Read ``document`` (XML or PDF) and assess its signatures, as of ``at`` (now when
    None; a later date asks whether the document will still prove itself then).

    ``document`` may come from anyone: whatever it holds, the answer is a verdict,
    never an exception — a file that cannot be read as a whole is INVALID
    (DOCUMENT_MALFORMED) or INDETERMINATE (DOCUMENT_TOO_LARGE, DOCUMENT_TOO_COMPLEX).
    """
    kind, signatures, problems, refusal = await read_untrusted(document)
    if refusal is not None:
        return VerificationResult(
            kind=kind,
            verdict=overall([refusal]),
            signatures=[],
            reasons=[refusal],
            document_id=document_id,
        )
    result = await assess(
        kind,
        signatures,
        problems,
        trust=trust,
        expected=expected,
        required=required,
        document_id=document_id,
        at=at,
    )
    carried = next((s.carried_xml for s in signatures if s.carried_xml), None)
    if kind != "pdf" or carried is None:
        return result
    # The signed XML a sealed PDF carries: verified as a document of its own, and
    # compared with the XML the PDF's signatures cover (hub.signing.longterm._carry).
    attached = await verify_document(
        carried, trust=trust, expected=expected, required=required, document_id=document_id, at=at
    )
    agrees = same_content(carried, signatures[0].source_xml)
    extra = [reason(ReasonCode.ATTACHMENT_INVALID)] if attached.verdict is Verdict.INVALID else []
    extra += [] if agrees else [reason(ReasonCode.ATTACHMENT_MISMATCH)]
    every = [*result.reasons, *extra]
    return dataclasses.replace(
        result, verdict=overall(every), reasons=every, attached=attached, attached_agrees=agrees
    )


def same_content(signed: bytes, source: bytes | None) -> bool:
    """Whether two transcript XMLs hold the same ``<content>`` (exclusive C14N): what
    the XML signatures cover against what the PDF signatures cover."""
    if source is None:
        return False
    try:
        contents = [parse_document(document).find(CONTENT) for document in (signed, source)]
    except (ValueError, etree.XMLSyntaxError):
        return False
    if any(content is None for content in contents):
        return False
    return canonical(contents[0]) == canonical(contents[1])  # type: ignore[arg-type]


async def assess(
    kind: str,
    signatures: list[ExtractedSignature],
    problems: list[str],
    *,
    trust: TrustStore,
    expected: ExpectedSigners | None = None,
    required: Sequence[SignerRole] = SIGNING_ORDER,
    document_id: str | None = None,
    at: datetime | None = None,
) -> VerificationResult:
    """Apply RULES.md §4–§5 to what a format reader found, as of ``at`` (default now)."""
    at = at or datetime.now(UTC)
    document_reasons = [reason(ReasonCode.FORMAT_INVALID, detail=p) for p in problems]
    if not signatures and not problems:
        document_reasons.append(reason(ReasonCode.NOT_SIGNED))
    reports = [
        await _assess_guarded(signature, trust=trust, expected=expected, at=at)
        for signature in signatures
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


async def _assess_guarded(
    signature: ExtractedSignature,
    *,
    trust: TrustStore,
    expected: ExpectedSigners | None,
    at: datetime,
) -> SignatureReport:
    """:func:`_assess_one`, whose certificates came with the file: one that the checks
    cannot even read (cryptography parses extensions lazily) makes that signature
    INVALID with a stable reason, in the server log with its traceback."""
    try:
        return await _assess_one(signature, trust=trust, expected=expected, at=at)
    except Exception:
        log.exception("verify.signature_unassessable: index=%s", signature.index)
        problem = reason(
            ReasonCode.DOCUMENT_MALFORMED,
            signature.index,
            detail=f"chữ ký thứ {signature.index + 1} hoặc chứng thư số của nó hỏng",
            detail_en=f"signature {signature.index + 1} or its certificate is damaged",
        )
        return SignatureReport(
            index=signature.index,
            role=signature.role,
            signer_name=None,
            personal_id=None,
            school_code=None,
            certificate_serial=None,
            issuer=None,
            claimed_time=signature.claimed_time,
            timestamp_time=signature.timestamp_time,
            verdict=overall([problem]),
            reasons=[problem],
        )


class _AddReason(Protocol):
    """Records one reason against the signature being assessed."""

    def __call__(self, code: ReasonCode, **details: str) -> None: ...


async def _assess_one(
    signature: ExtractedSignature,
    *,
    trust: TrustStore,
    expected: ExpectedSigners | None,
    at: datetime,
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
    await _check_timestamps(signature, trust, add, at)
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


async def _check_timestamps(
    signature: ExtractedSignature, trust: TrustStore, add: _AddReason, at: datetime
) -> None:
    """The signature timestamp proves when the signature existed, as long as its TSA's
    certificate is valid; each archive timestamp proves the one before it existed
    while that one's TSA was still valid (PAdES-LTA, XAdES LTA). So, walking the chain
    from the signature timestamp: each timestamp's TSA chains to the trust store, was
    not revoked before the next timestamp (or ``at``, for the last), and was valid
    until then. A TSA's revocation is judged when an answer is at hand — the
    document's evidence, or the network when allowed; the signer's is RULES.md §5's."""
    if signature.timestamp_valid is None:
        add(ReasonCode.TIMESTAMP_MISSING)
        return
    if signature.timestamp_valid is False or signature.timestamp_certificate is None:
        add(ReasonCode.TIMESTAMP_INVALID, detail="dấu thời gian không khớp với chữ ký")
        return
    for stamp in signature.archive_stamps:
        if not stamp.valid or stamp.time is None or stamp.certificate is None:
            add(ReasonCode.ARCHIVE_TIMESTAMP_INVALID, detail=stamp.problem or "")
            return
    chain = [
        (
            signature.timestamp_time,
            signature.timestamp_certificate,
            signature.timestamp_other_certificates,
        ),
        *((s.time, s.certificate, s.other_certificates) for s in signature.archive_stamps),
    ]
    for position, (moment, certificate, carried) in enumerate(chain):
        assert moment is not None and certificate is not None  # checked above
        code = (
            ReasonCode.TIMESTAMP_INVALID if position == 0 else ReasonCode.ARCHIVE_TIMESTAMP_INVALID
        )
        until = chain[position + 1][0] if position + 1 < len(chain) else at
        assert until is not None
        path = await trust.path(certificate, [*carried, *signature.evidence.certificates])
        if not path.trusted:
            add(code, detail="đơn vị cấp dấu thời gian không được tin cậy")
            return
        lapsed = [link for link in path.path if link.not_valid_after_utc < until]
        if lapsed:
            first = min(lapsed, key=lambda link: link.not_valid_after_utc)
            add(
                ReasonCode.TIMESTAMP_EXPIRED,
                when=first.not_valid_after_utc.strftime("%d/%m/%Y"),
                detail=_common_name(first) or first.subject.rfc4514_string(),
            )
            return
        if len(path.path) < 2:
            continue
        revocation = await trust.revocation(
            certificate, path.path[1], evidence=signature.evidence, since=moment
        )
        if revocation.revoked_at is not None and revocation.revoked_at <= until:
            add(code, detail="chứng thư số của đơn vị cấp dấu thời gian đã bị thu hồi")
            return


async def _check_certificate(
    signature: ExtractedSignature,
    certificate: x509.Certificate,
    trust: TrustStore,
    add: _AddReason,
) -> None:
    path = await trust.path(
        certificate, [*signature.other_certificates, *signature.evidence.certificates]
    )
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
    revocation = await trust.revocation(
        certificate, path.path[1], evidence=signature.evidence, since=moment
    )
    if not revocation.checked:
        add(ReasonCode.REVOCATION_UNKNOWN, detail=_revocation_detail(revocation.problem))
    elif revocation.revoked_at is not None and revocation.revoked_at <= moment:
        add(
            ReasonCode.CERTIFICATE_REVOKED,
            when=revocation.revoked_at.astimezone(UTC).strftime("%d/%m/%Y %H:%M UTC"),
        )


def _revocation_detail(problem: str | None) -> str:
    """Where the revocation check failed, without the exception's words (logged instead):
    "OCSP http://…: ConnectError(…)" → "OCSP http://… gave no usable answer"."""
    if not problem:
        return ""
    log.info("verify.revocation_unknown: problem=%s", problem)
    parts = []
    for part in problem.split("; "):
        where, colon, _ = part.partition(": ")
        if colon and where.startswith(("OCSP ", "CRL ")):
            parts.append(f"{where} gave no usable answer")
        else:
            parts.append(part)
    return "; ".join(parts)


def _common_name(certificate: x509.Certificate) -> str | None:
    return _common_name_of(certificate.subject)


def _common_name_of(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None
