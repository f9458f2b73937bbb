"""A transcript's signers checked against the hub's records: who should have signed it.

:mod:`.rules` judges a document on its own; here the expected
signers come from the school's records (the class's homeroom teacher, the
school's principal, the school's seal) and from the hub's own signing requests
(who actually signed, even if the class has a new homeroom teacher since), and
the signatures a transcript needs follow its state.
"""

from __future__ import annotations

import hashlib
import logging
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.access import Caller, restrict
from hub.db import models, roles
from hub.domain import lifecycle
from hub.domain.lifecycle import TranscriptState
from hub.domain.problems import Code, HubError
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.signing.trust import TrustStore
from hub.signing.verification.reading import MAX_DOCUMENT, bounded, document_kind
from hub.signing.verification.report import Verdict, VerificationResult, as_json
from hub.signing.verification.rules import ExpectedSigners, verify_document

#: Not structlog: ``hub verify --json`` prints the verdict on stdout, where structlog
#: writes; the standard logger writes warnings to stderr until the server configures it.
log = logging.getLogger(__name__)
#: Finding the document id of an uploaded file (to check its signers against the
#: records) may take this long; without it the file is still verified.
ID_SECONDS = 5.0


async def verify_transcript(
    session: AsyncSession, *, caller: Caller, trust: TrustStore, transcript_id: int
) -> tuple[VerificationResult, VerificationResult]:
    """Verify the stored XML and PDF of a transcript the caller may read."""
    caller.require("transcripts:read")
    transcript = await session.scalar(
        restrict(
            select(models.Transcript).where(models.Transcript.id == transcript_id),
            models.Transcript,
            caller,
        )
    )
    if transcript is None:
        raise HubError(Code.TRANSCRIPT_NOT_FOUND)
    return await _verify_stored_documents(session, trust, transcript)


async def verify_upload(
    session: AsyncSession, *, caller: Caller, trust: TrustStore, document: bytes
) -> VerificationResult:
    """Verify a file someone holds; if the hub knows the transcript, check its signers too.

    The file comes from anyone: :func:`verify_document` answers every file with a
    verdict, and finding its document id is bounded the same way.
    """
    document_id = None
    if len(document) <= MAX_DOCUMENT:
        try:
            document_id = await bounded(partial(document_id_of, document), seconds=ID_SECONDS)
        except Exception:  # too slow, or a file hostile in a new way: no id, same verdict
            log.warning("verify.document_id_unreadable", exc_info=True)
    expected = None
    if document_id is not None and caller.has("transcripts:read"):
        transcript = await session.scalar(
            restrict(
                select(models.Transcript).where(models.Transcript.document_id == document_id),
                models.Transcript,
                caller,
            )
        )
        if transcript is not None:
            expected = await expected_signers(session, transcript)
    return await verify_document(document, trust=trust, expected=expected, document_id=document_id)


async def verify_stored(
    session: AsyncSession, *, trust: TrustStore, document_id: str
) -> dict[str, object] | None:
    """The public answer for a transcript's QR code: is the hub's copy signed and current?

    It names the school, the year, the signers and the verdict of both documents, and
    whether a correction replaced this version — never the student's identity.
    """
    transcript = await session.scalar(
        select(models.Transcript).where(models.Transcript.document_id == document_id)
    )
    if transcript is None:
        return None
    school = await session.get(models.School, transcript.school_id)
    year = await session.get(models.SchoolYear, transcript.school_year_id)
    xml, pdf = await _verify_stored_documents(session, trust, transcript)
    return {
        "document_id": transcript.document_id,
        "version": transcript.version,
        "current": transcript.is_current,
        "state": transcript.state,
        "school": school.name if school else None,
        "school_year": year.code if year else None,
        "xml": as_json(xml),
        "pdf": as_json(pdf),
    }


async def _verify_stored_documents(
    session: AsyncSession, trust: TrustStore, transcript: models.Transcript
) -> tuple[VerificationResult, VerificationResult]:
    """The stored XML and PDF, against the records' signers and the signatures its state needs."""
    expected = await expected_signers(session, transcript)
    # An unsigned transcript is judged against the whole order: it is not official yet.
    required = lifecycle.signed_by(TranscriptState(transcript.state)) or SIGNING_ORDER
    # The same bytes, judged against the same signers and trust store, get the same
    # verdict until the revocation answers behind it expire; an unsure verdict is asked
    # again every time (a responder may answer now).
    key = (
        transcript.document_id,
        hashlib.sha256(transcript.xml or b"").digest(),
        hashlib.sha256(transcript.pdf or b"").digest(),
        tuple(required),
        tuple(
            sorted((role.value, tuple(sorted(ids))) for role, ids in expected.personal_ids.items())
        ),
        expected.school_code,
    )
    cached = trust.stored_verdicts.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    xml, pdf = [
        await verify_document(
            document,
            trust=trust,
            expected=expected,
            required=required,
            document_id=transcript.document_id,
        )
        for document in (transcript.xml, transcript.pdf)
    ]
    if Verdict.INDETERMINATE not in (xml.verdict, pdf.verdict):
        trust.stored_verdicts.put(key, (xml, pdf))
    return xml, pdf


async def expected_signers(session: AsyncSession, transcript: models.Transcript) -> ExpectedSigners:
    """Who may have signed: today's role holders (:mod:`hub.domain.roles`), and whoever
    signed it through the hub in that role before (a class's teacher changes, a
    principal retires; their signatures stay good)."""
    teacher = await roles.homeroom_teacher(session, class_id=transcript.class_id)
    principal = await roles.principal(session, school_id=transcript.school_id)
    homeroom = {teacher.personal_id} if teacher else set()
    principals = {principal.personal_id} if principal else set()
    signed = await session.execute(
        select(models.SigningRequestItem.role, models.Staff.personal_id)
        .join(
            models.SigningRequest, models.SigningRequest.id == models.SigningRequestItem.request_id
        )
        .join(models.Staff, models.Staff.id == models.SigningRequest.staff_id)
        .where(
            models.SigningRequestItem.transcript_id == transcript.id,
            models.SigningRequestItem.state == "SIGNED",
        )
    )
    for role, personal_id in signed:
        (homeroom if role == SignerRole.HOMEROOM_TEACHER else principals).add(personal_id)
    school = await session.get(models.School, transcript.school_id)
    return ExpectedSigners(
        personal_ids={
            SignerRole.HOMEROOM_TEACHER: frozenset(homeroom),
            SignerRole.PRINCIPAL: frozenset(principals),
        },
        school_code=school.moet_code if school else None,
    )


def document_id_of(document: bytes) -> str | None:
    """The transcript's document id, from the XML root or the XML attached to the PDF."""
    from lxml import etree

    xml = document
    if document_kind(document) == "pdf":
        xml = _attached_xml(document) or b""
    if not xml:
        return None
    try:
        root = etree.fromstring(
            xml,
            parser=etree.XMLParser(
                resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False
            ),
        )
    except (etree.XMLSyntaxError, ValueError):
        return None
    value = root.get("documentId")
    return value if value and len(value) <= 128 else None


def _attached_xml(pdf: bytes) -> bytes | None:
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    from hub.signing.verification.pdf_reader import DECODE_LIMITS

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False, decode_limits=DECODE_LIMITS)
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for position in range(0, len(names), 2):
            if str(names[position]) == "transcript.xml":
                spec = names[position + 1].get_object()
                return bytes(spec["/EF"]["/F"].get_object().data)
    except Exception:  # a damaged PDF simply has no readable attachment
        return None
    return None
