"""Signing transcripts through a signer's provider, wired to the transcript lifecycle.

Two calls, because a person confirms on a phone in between:

1. :func:`request_signatures` checks that the signer holds the role for every
   transcript (homeroom teacher of the class, principal of the school, or the
   school's seal), that each transcript waits for that role, prepares the XML
   (XAdES) and PDF (PAdES) signatures, and sends all their digests to the
   signer's provider as ONE transaction — one confirmation on the phone. The
   prepared documents and the provider transaction are stored, so nothing waits
   in memory.
2. :func:`complete_signatures` polls the provider once; when the signer has
   confirmed, it finishes every document with its raw signature (and a
   timestamp: PAdES/XAdES B-T) and records the signature in the lifecycle. When
   the signer rejected or did not confirm in time, the items are closed with
   that reason and the transcripts stay waiting for the same role.

Bulk signing (issue #5) runs these two steps from jobs. :func:`waiting_for` says
what waits for a person's own signature, or for the seal they may apply
(:func:`holder_id`, :func:`seal_keeper_id`): the list the signing page shows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hmac
import typing
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from pyhanko.sign.timestamps import TimeStamper
from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter

from hub.adapters.signing.base import (
    Credential,
    SigningError,
    Transaction,
    TransactionResult,
    TransactionState,
    with_redirect_uri,
)
from hub.adapters.signing.registry import SigningProviders
from hub.auth.access import Caller, restrict
from hub.db import models, roles
from hub.db.engine import Database, binary_rows
from hub.db.queries import signing_certificate_id
from hub.domain import lifecycle
from hub.domain.enums import SigningProvider
from hub.domain.lifecycle import TranscriptState
from hub.domain.people import Person
from hub.domain.problems import Code, HubError
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.signing import longterm
from hub.signing.pades import PreparedPdf, finish_pdf, prepare_pdf
from hub.signing.prepared import pack, unpack
from hub.signing.trust import TrustStore
from hub.signing.xades import PreparedXml, finish_xml, prepare_xml
from hub.transcripts import service as transcripts

log = structlog.get_logger(__name__)


ALL_PROVIDERS = tuple(SigningProvider)
#: Documents of one provider transaction finished at once (each waits for the TSA).
FINISHING_AT_ONCE = 8

#: The name a school seal's signatures are recorded under (a person's is their own).
SEAL_NAME = "con dấu của trường"
#: What a signing request and its items can be.
PENDING, SIGNED, REJECTED, EXPIRED, FAILED = "PENDING", "SIGNED", "REJECTED", "EXPIRED", "FAILED"


@dataclass
class SigningServices:
    """What signing and verification need at run time, built once per process."""

    providers: SigningProviders
    trust: TrustStore
    #: RFC 3161 timestamps for B-T signatures; None signs B-B.
    timestamper: TimeStamper | None

    async def aclose(self) -> None:
        """Close the providers' connections, the trust store's client and the TSA
        session, if it keeps one."""
        await self.providers.aclose()
        await self.trust.aclose()
        session = getattr(self.timestamper, "_session", None)
        if session is not None and hasattr(session, "close"):
            await session.close()


@dataclass(frozen=True)
class Signer:
    """Who signs: a staff member (or the school, for the seal) and their certificate."""

    staff: models.Staff | None
    school: models.School
    certificate: models.SigningCertificate

    @property
    def user_id(self) -> str:
        """How the provider knows the signer: their personal ID, or the school's code."""
        return self.staff.personal_id if self.staff else self.school.moet_code

    @property
    def name(self) -> str:
        return self.staff.full_name if self.staff else self.school.name


async def request_signatures(
    session: AsyncSession,
    *,
    caller: Caller,
    signing: SigningServices,
    transcript_ids: Sequence[int],
    role: SignerRole,
    signer_personal_id: str | None = None,
    apps_may_name_signers: bool = False,
) -> models.SigningRequest:
    """Send the transcripts' digests to the signer's provider as one confirmation.

    Who signs is :func:`signer_of`'s to say; ``apps_may_name_signers`` is the demo's
    and the tests' allowance for a program naming a human signer itself.
    """
    caller.require("transcripts:sign")
    signer_personal_id = signer_of(
        caller, role, signer_personal_id, apps_may_name_signers=apps_may_name_signers
    )
    if not transcript_ids:
        raise HubError(Code.INVALID_ARGUMENT, detail="cần ít nhất một học bạ")
    found = await _transcripts(session, caller, transcript_ids, role)
    school_ids = {t.school_id for t in found}
    if len(school_ids) != 1:
        raise HubError(Code.INVALID_ARGUMENT, detail="mỗi lần ký chỉ gồm học bạ của một trường")
    for transcript in found:
        lifecycle.require_turn(TranscriptState(transcript.state), role)
    if pending := sum(1 for t in found if t.pending):  # before the provider hears of it
        raise _pending(pending, role)
    signer = await find_signer(
        session, school_ids.pop(), [t.id for t in found], role, signer_personal_id
    )
    try:
        adapter = signing.providers.adapter(signer.certificate.provider)
        credential = await adapter.credential(signer.user_id, signer.certificate.credential_id)
    except SigningError as error:
        signing.providers.note_failure(error)
        raise
    _check_credential(credential, signer.certificate)
    if 2 * len(found) > credential.max_batch:
        raise HubError(Code.BATCH_TOO_LARGE, limit=credential.max_batch // 2, count=len(found))

    signing_time = datetime.now(UTC)
    items: list[dict[str, Any]] = []
    digests: list[bytes] = []
    descriptions: list[str] = []
    for position, transcript in enumerate(found):
        xml = prepare_xml(
            transcript.xml,
            role=role,
            certificate=credential.certificate,
            chain=credential.chain,
            signing_time=signing_time,
            algorithm=credential.signature_algorithm,
        )
        pdf = await prepare_pdf(
            transcript.pdf,
            role=role,
            certificate=credential.certificate,
            chain=credential.chain,
            signing_time=signing_time,
            timestamper=signing.timestamper,
            algorithm=credential.signature_algorithm,
        )
        digests += [xml.digest, pdf.digest]
        label = f"Hoc ba {transcript.document_id[:8]}"
        descriptions += [f"{label} (XML)", f"{label} (PDF)"]
        items.append(
            {
                "transcript_id": transcript.id,
                "role": role.value,
                "position": position,
                "source_sha256": transcript.xml_sha256,
                "prepared_xml": pack(xml.detached(transcript.xml)),
                "prepared_pdf": pack(pdf.detached(transcript.pdf)),
                "state": PENDING,
            }
        )
    try:
        transaction = await adapter.sign_hashes(credential, digests, descriptions)
    except SigningError as error:
        signing.providers.note_failure(error)
        raise
    request = models.SigningRequest(
        request_id=str(uuid.uuid4()),
        school_id=signer.school.id,
        role=role.value,
        staff_id=signer.staff.id if signer.staff else None,
        certificate_id=signer.certificate.id,
        provider=signer.certificate.provider,
        transaction=transaction.to_json(),
        state=PENDING,
        client_id=caller.client_id,
    )
    try:
        async with session.begin_nested():  # the request and its items, or neither
            session.add(request)
            await session.flush()
            # One statement for the items, with no ORM object for their prepared documents.
            await session.execute(
                insert(models.SigningRequestItem),
                [item | {"request_id": request.id} for item in items],
            )
    except IntegrityError:
        # Another request for them was sent meanwhile (the partial unique index on
        # pending items): this one's transaction at the provider is left to expire.
        await _refuse_pending(session, [t.id for t in found], role)
        raise
    return request


async def _refuse_pending(
    session: AsyncSession, transcript_ids: Sequence[int], role: SignerRole
) -> None:
    """SIGNATURE_PENDING if any of the transcripts is in a pending request for ``role``,
    read again (:func:`_transcripts` reads it with the documents, before anything goes
    to the provider, so that no second phone is asked)."""
    pending = await session.scalar(
        select(func.count()).where(_ITEMS.c.transcript_id.in_(transcript_ids), _pending_for(role))
    )
    if pending:
        raise _pending(pending, role)


def _pending_for(role: SignerRole) -> ColumnElement[bool]:
    """A signing request item still waiting for ``role``'s signature: at most one a
    transcript (the partial unique index on pending items)."""
    return and_(_ITEMS.c.role == role.value, _ITEMS.c.state == PENDING)


def _pending(count: int, role: SignerRole) -> HubError:
    return HubError(Code.SIGNATURE_PENDING, count=count, role=role.label)


async def complete_signatures(
    session: AsyncSession,
    *,
    caller: Caller,
    signing: SigningServices,
    request_id: str,
    otp: str | None = None,
    oauth2_code: str | None = None,
    oauth2_error: str | None = None,
    state: str | None = None,
    redirect_uri: str | None = None,
) -> models.SigningRequest:
    """Poll the provider once and, if the signer confirmed, finish and record every item;
    a seal is made long-term at once (:func:`_long_term`).

    ``otp`` is the one-time code a provider sent the signer for a request that waits
    for it (:func:`awaiting` ``"otp"``); ``oauth2_code`` (or ``oauth2_error``: the
    signer said no) is what the provider sent the signer back with after they
    authorised at :func:`authorize_url` (``"oauth2code"``), with the ``state`` it came
    back with, which must be the request's (RFC 6749 §10.12: no code from another
    flow), and the ``redirect_uri`` it was sent to (:func:`authorization_callback`).
    Either goes to the provider with this poll only and is never stored."""
    return await _complete(
        session,
        caller=caller,
        signing=signing,
        request_id=request_id,
        otp=otp,
        oauth2_code=oauth2_code,
        oauth2_error=oauth2_error,
        state=state,
        redirect_uri=redirect_uri,
        long_term=True,
    )


async def complete_batch_signatures(
    session: AsyncSession,
    *,
    caller: Caller,
    signing: SigningServices,
    request_id: str,
    answer: TransactionResult | None = None,
) -> models.SigningRequest:
    """:func:`complete_signatures` for bulk signing (:mod:`hub.jobs.signing`): a seal's
    documents are recorded as the seal made them (B-T) and left to the archive job
    (:mod:`hub.jobs.archive` finds every sealed transcript without an archive timestamp
    due) to be made long-term, so a seal batch's transaction waits for no OCSP
    responder and the batch's CPU goes to signing. ``answer``: the provider's final
    answer, already asked for (:func:`first_answer`), which is then not asked again."""
    return await _complete(
        session,
        caller=caller,
        signing=signing,
        request_id=request_id,
        long_term=False,
        answer=answer,
    )


async def first_answer(
    db: Database, *, signing: SigningServices, request_id: str, job_id: str
) -> TransactionResult | None:
    """A bulk batch's ask (:mod:`hub.jobs.signing`), made before any transaction: most
    asks find the signer has not answered yet, and need neither locks nor anything but
    the request's row, read in one statement (autocommit) for the batch ``job_id`` of
    the request's school. The provider's answer, once; None where the locked path
    (:func:`complete_batch_signatures`) must ask itself: the request is not the batch's
    or not pending, or the provider failed to answer (that path deals with it)."""
    request, job = models.SigningRequest, models.Job
    async with db.autocommit() as connection:
        row = (
            await connection.execute(
                select(request.provider, request.transaction).where(
                    request.request_id == request_id,
                    request.state == PENDING,
                    request.school_id
                    == select(job.school_id).where(job.job_id == job_id).scalar_subquery(),
                )
            )
        ).first()
    if row is None:
        return None
    try:
        return await _ask(signing, row.provider, Transaction.from_json(row.transaction))
    except SigningError:
        return None


async def _complete(
    session: AsyncSession,
    *,
    caller: Caller,
    signing: SigningServices,
    request_id: str,
    long_term: bool,
    otp: str | None = None,
    oauth2_code: str | None = None,
    oauth2_error: str | None = None,
    state: str | None = None,
    redirect_uri: str | None = None,
    answer: TransactionResult | None = None,
) -> models.SigningRequest:
    request, signer_name = await _load_request(session, caller, request_id, for_update=True)
    if request.state != PENDING:
        return request
    transaction = Transaction.from_json(request.transaction)
    given: dict[str, str] = {}
    if otp is not None:
        if awaiting(request) != "otp":
            raise HubError(Code.INVALID_ARGUMENT, detail="yêu cầu ký này không chờ mã OTP")
        code = otp.strip()
        if not code.isalnum() or not 4 <= len(code) <= 16:
            raise HubError(Code.INVALID_ARGUMENT, detail="mã OTP gồm 4–16 chữ số hoặc chữ cái")
        given["otp"] = code
    if oauth2_code is not None or oauth2_error is not None:
        if awaiting(request) != "oauth2code":
            raise HubError(
                Code.INVALID_ARGUMENT, detail="yêu cầu ký này không chờ xác nhận tại nhà cung cấp"
            )
        expected = transaction.data.get("state", "")
        if not state or not hmac.compare_digest(state.encode(), expected.encode()):
            raise HubError(Code.INVALID_ARGUMENT, detail="state không khớp với yêu cầu ký")
        if oauth2_error is not None:
            given["oauth2_error"] = oauth2_error[:100]
        else:
            assert oauth2_code is not None
            if not oauth2_code.strip() or len(oauth2_code) > 2048:
                raise HubError(Code.INVALID_ARGUMENT, detail="mã xác nhận của nhà cung cấp")
            given |= {"oauth2_code": oauth2_code.strip(), "redirect_uri": redirect_uri or ""}
    if given:
        transaction = dataclasses.replace(transaction, data={**transaction.data, **given})
    result = answer if answer is not None else await _ask(signing, request.provider, transaction)
    if result.state is TransactionState.PENDING:
        return request
    item = models.SigningRequestItem
    items = list(
        (
            await session.execute(
                binary_rows(
                    select(
                        item.id,
                        item.transcript_id,
                        item.position,
                        item.source_sha256,
                        item.prepared_xml,
                        item.prepared_pdf,
                    )
                    .where(item.request_id == request.id)
                    .order_by(item.position)
                )
            )
        ).all()
    )
    if result.state is TransactionState.SIGNED:
        await _finish(
            session, caller, signing, request, signer_name, items, result, long_term=long_term
        )
    else:
        await _close(session, request, result)
    request.finished_at = datetime.now(UTC)
    await session.flush()
    return request


async def _ask(
    signing: SigningServices, provider: SigningProvider, transaction: Transaction
) -> TransactionResult:
    """The provider's answer for ``transaction`` now. A failure that asking again would
    meet again (SIGNING_FAILED: the provider failed the transaction, or answered it with
    signatures that are not one per digest) is the answer FAILED; any other failure is
    raised, and the request stays pending."""
    try:
        return await signing.providers.adapter(provider).poll(transaction)
    except SigningError as error:
        signing.providers.note_failure(error)
        if error.problem.code is not Code.SIGNING_FAILED:
            raise
        return TransactionResult(TransactionState.FAILED, error=error)


#: Where a provider sends a signer back after they authorised a request at its site
#: (``oauth2code``), under the hub's public URL; registered for the hub's OAuth client.
AUTHORIZATION_CALLBACK = "/sign/authorized"


def awaiting(request: models.SigningRequest) -> Literal["otp", "oauth2code"] | None:
    """What a pending request waits for from its signer, besides a confirmation on the
    phone: ``otp``, the one-time code the provider sent them (a CSC credential with an
    online OTP), which they type where they sign; ``oauth2code``, their consent at the
    provider's site (:func:`authorize_url`), which comes back to
    :data:`AUTHORIZATION_CALLBACK`. None: nothing (the phone, or nothing at all)."""
    if request.state != PENDING:
        return None
    waited = request.transaction.get("data", {}).get("awaiting")
    return waited if waited in ("otp", "oauth2code") else None


def awaits_otp(request: models.SigningRequest) -> bool:
    """Whether a pending request waits for the OTP the provider sent the signer."""
    return awaiting(request) == "otp"


def authorization_callback(issuer: str) -> str:
    """The hub's redirect URI for providers: its public URL and
    :data:`AUTHORIZATION_CALLBACK`."""
    return issuer.rstrip("/") + AUTHORIZATION_CALLBACK


def authorize_url(request: models.SigningRequest, *, issuer: str) -> str | None:
    """Where the signer of a request waiting for their consent gives it (the provider's
    ``oauth2/authorize``), sending them back to the hub; None unless it waits for that."""
    if awaiting(request) != "oauth2code":
        return None
    url = str(request.transaction["data"]["authorize_url"])
    return with_redirect_uri(url, authorization_callback(issuer))


async def request_authorized_with(
    session: AsyncSession, *, caller: Caller, state: str
) -> models.SigningRequest | None:
    """The pending request, of a school the caller may sign for, whose consent came back
    with ``state``: the provider's redirect names no request (its URI is registered
    once, for every request), and the random ``state`` each request sent is what says
    which. Whichever app asked for the signature, the signer comes back to the hub."""
    if not state:
        return None
    query = select(models.SigningRequest).where(models.SigningRequest.state == PENDING)
    if caller.school_ids is not None:  # a person's schools: their requests, not the province's
        query = query.where(models.SigningRequest.school_id.in_(caller.school_ids))
    pending = await session.scalars(query.order_by(models.SigningRequest.id.desc()))
    for request in pending:
        expected = str(request.transaction.get("data", {}).get("state", ""))
        if (
            awaiting(request) == "oauth2code"
            and hmac.compare_digest(expected.encode(), state.encode())
            and caller.may_write_school(request.school_id)
        ):
            return request
    return None


async def _finish(
    session: AsyncSession,
    caller: Caller,
    signing: SigningServices,
    request: models.SigningRequest,
    signer_name: str,
    items: Sequence[Any],
    result: TransactionResult,
    *,
    long_term: bool = True,
) -> None:
    """Finish and record every item of a request its signer confirmed. ``items`` are the
    request's items as read (id, transcript_id, position, source_sha256 and the prepared
    documents); the documents move as plain rows, a few statements a request."""
    if len(result.signatures) != 2 * len(items):
        await _end(
            session,
            request,
            FAILED,
            Code.SIGNING_FAILED,
            "provider returned the wrong number of signatures",
        )
        return
    role = SignerRole(request.role)
    locked = await _lock_documents(session, [item.transcript_id for item in items])
    ready, stale = [], []
    for item in items:
        found = locked[item.transcript_id]
        if found.xml_sha256 != item.source_sha256 or not lifecycle.awaits_signature(
            TranscriptState(found.state), role
        ):
            stale.append(item.id)
        else:
            ready.append((item, found))
    if stale:
        await _set_items(session, _ITEMS.c.id.in_(stale), FAILED, Code.TRANSCRIPT_STATE)
    # Each document waits for its timestamp: the documents are finished side by side
    # (a few at a time), and only written once every one of them has its timestamp.
    gate = asyncio.Semaphore(FINISHING_AT_ONCE)

    async def finish(item: Any, found: Any) -> tuple[bytes, bytes]:
        async with gate:
            signed_xml = await finish_xml(
                unpack(PreparedXml, item.prepared_xml).attached(found.xml),
                result.signatures[2 * item.position],
                timestamper=signing.timestamper,
            )
            signed_pdf = await finish_pdf(
                unpack(PreparedPdf, item.prepared_pdf).attached(found.pdf),
                result.signatures[2 * item.position + 1],
                timestamper=signing.timestamper,
            )
            if long_term and role is SignerRole.SCHOOL_SEAL and signing.timestamper is not None:
                sealed = await _long_term(signing, longterm.Documents(signed_xml, signed_pdf))
                signed_xml, signed_pdf = sealed.xml, sealed.pdf
            return signed_xml, signed_pdf

    finished = await asyncio.gather(
        *(finish(item, found) for item, found in ready), return_exceptions=True
    )
    for outcome in finished:
        if isinstance(outcome, OSError):
            # The TSA did not answer (TimestampRequestError is an OSError). Nothing is
            # written; the provider keeps the signatures, so polling again finishes.
            raise HubError(Code.TIMESTAMP_UNAVAILABLE, detail=str(outcome)[:200]) from outcome
        if isinstance(outcome, BaseException):
            raise outcome
    signed_documents = typing.cast(list[tuple[bytes, bytes]], finished)
    await transcripts.record_signatures(
        session,
        caller=caller,
        role=role,
        signed=[
            transcripts.Signed(
                found.id,
                TranscriptState(found.state),
                xml,
                pdf,
                # A PDF signature (and the seal's long-term data) is appended to the PDF.
                pdf_kept=len(found.pdf) if pdf.startswith(found.pdf) else 0,
            )
            for (_, found), (xml, pdf) in zip(ready, signed_documents, strict=True)
        ],
        signer=signer_name,
    )
    if ready:
        await _set_items(session, _ITEMS.c.id.in_([item.id for item, _ in ready]), SIGNED)
    request.state = SIGNED


async def _lock_documents(session: AsyncSession, transcript_ids: list[int]) -> dict[int, Any]:
    """The transcripts locked in one query, in id order (as every signer of a chunk locks
    them), with their state and documents: the documents as this transaction read them
    (:data:`_DOCUMENTS_READ`) when, under the lock, the XML's digest and the PDF's length
    are still theirs; otherwise read with the lock."""
    transcript = models.Transcript
    read = session.info.get(_DOCUMENTS_READ, {})

    def locking(*columns: Any) -> Any:
        return binary_rows(
            select(transcript.id, transcript.state, transcript.xml_sha256, *columns)
            .where(transcript.id.in_(transcript_ids))
            .order_by(transcript.id)
            .with_for_update()
        )

    if all(transcript_id in read for transcript_id in transcript_ids):
        rows = await session.execute(locking(func.length(transcript.pdf).label("pdf_length")))
        locked = {}
        for row in rows:
            digest, xml, pdf = read[row.id]
            if digest != row.xml_sha256 or len(pdf) != row.pdf_length:
                break  # changed since this transaction read it
            locked[row.id] = _Locked(row.id, row.state, row.xml_sha256, xml, pdf)
        else:
            return locked
    return {row.id: row for row in await session.execute(locking(transcript.xml, transcript.pdf))}


@dataclass(frozen=True, slots=True)
class _Locked:
    """A transcript locked for recording a signature, as :func:`_lock_documents` reads it."""

    id: int
    state: str
    xml_sha256: str
    xml: bytes
    pdf: bytes


async def _long_term(signing: SigningServices, documents: longterm.Documents) -> longterm.Documents:
    """The sealed documents made long-term (PAdES B-LTA, XAdES LTA) at once; kept B-T
    when the PKI cannot answer now (the archive job, :mod:`hub.jobs.archive`, tries
    again), so an OCSP responder being down never stops a school's seal."""
    assert signing.timestamper is not None
    try:
        return await longterm.make_long_term(
            documents, trust=signing.trust, timestamper=signing.timestamper
        )
    except (longterm.LongTermError, OSError) as error:  # OSError: the TSA did not answer
        log.warning("signing.long_term_later", problem=str(error)[:300])
        return documents


#: Signing request items, written by statement (no ORM objects hold their documents).
_ITEMS = models.table_of(models.SigningRequestItem)


async def _close(
    session: AsyncSession, request: models.SigningRequest, result: TransactionResult
) -> None:
    """Close a request its signer did not confirm: rejected, expired or failed, with the
    provider's reason."""
    state = {TransactionState.REJECTED: REJECTED, TransactionState.EXPIRED: EXPIRED}.get(
        result.state, FAILED
    )
    code = result.error.problem.code if result.error else Code.SIGNING_FAILED
    message = result.error.problem.message if result.error else None
    await _end(session, request, state, code, message)


async def _end(
    session: AsyncSession,
    request: models.SigningRequest,
    state: str,
    code: Code,
    message: str | None,
) -> None:
    """End ``request`` unsigned, and every item of it still pending with it."""
    request.state, request.error_code, request.error_message = state, code.value, message
    await _set_items(
        session, and_(_ITEMS.c.request_id == request.id, _ITEMS.c.state == PENDING), state, code
    )


async def _set_items(
    session: AsyncSession, chosen: ColumnElement[bool], state: str, code: Code | None = None
) -> None:
    """One statement for the ``chosen`` items leaving PENDING."""
    await session.execute(
        update(_ITEMS).where(chosen).values(state=state, error_code=code.value if code else None)
    )


async def load_request(
    session: AsyncSession, *, caller: Caller, request_id: str, for_update: bool = False
) -> models.SigningRequest:
    """The request, if the caller may see it; ``for_update`` serialises two pollers."""
    request, _ = await _load_request(session, caller, request_id, for_update=for_update)
    return request


async def _load_request(
    session: AsyncSession, caller: Caller, request_id: str, *, for_update: bool
) -> tuple[models.SigningRequest, str]:
    """:func:`load_request`, with the name its signatures are recorded under (the
    signer's, or the school seal's), read in the same statement."""
    caller.require("transcripts:sign")
    request, staff = models.SigningRequest, models.Staff
    query = (
        select(request, staff.full_name)
        .outerjoin(staff, staff.id == request.staff_id)
        .where(request.request_id == request_id)
    )
    found = (
        await session.execute(query.with_for_update(of=request) if for_update else query)
    ).first()
    if found is None or not caller.may_write_school(found[0].school_id):
        raise HubError(Code.INVALID_ARGUMENT, detail=f"không có yêu cầu ký {request_id}")
    request_row, name = found
    return request_row, SEAL_NAME if name is None else name


async def _transcripts(
    session: AsyncSession, caller: Caller, transcript_ids: Sequence[int], role: SignerRole
) -> list[Any]:
    """The transcripts to sign, as plain rows with their documents (no ORM objects), and
    whether each is in a request still pending for ``role`` (``pending``)."""
    transcript = models.Transcript
    pending = (
        select(_ITEMS.c.id)
        .where(_ITEMS.c.transcript_id == transcript.id, _pending_for(role))
        .exists()
        .label("pending")
    )
    rows = list(
        (
            await session.execute(
                binary_rows(
                    restrict(
                        select(
                            transcript.id,
                            transcript.school_id,
                            transcript.state,
                            transcript.document_id,
                            transcript.xml,
                            transcript.pdf,
                            transcript.xml_sha256,
                            pending,
                        )
                        .where(transcript.id.in_(set(transcript_ids)))
                        .order_by(transcript.id),
                        transcript,
                        caller,
                    )
                )
            )
        ).all()
    )
    if len(rows) != len(set(transcript_ids)) or not all(
        caller.may_write_school(t.school_id) for t in rows
    ):
        raise HubError(Code.TRANSCRIPT_NOT_FOUND)
    read = session.info.setdefault(_DOCUMENTS_READ, {})
    read.update((t.id, (t.xml_sha256, t.xml, t.pdf)) for t in rows)
    return rows


#: ``session.info`` key: the documents this transaction read for a request, by transcript
#: id, with their XML's digest. A request finished in the transaction that sent it (the
#: seal's token signs at once) is finished from them rather than reading ~200 KB a
#: transcript again (:func:`_finish`).
_DOCUMENTS_READ = "hub.signing.documents_read"


def signer_of(
    caller: Caller,
    role: SignerRole,
    named: str | None,
    *,
    apps_may_name_signers: bool,
) -> str | None:
    """The personal ID of the person whose signature is asked for (None: the school seal).

    A human signature (homeroom teacher, principal) is that of the person the caller
    acts for — a person-bound token or the person's own session — and of nobody
    else: naming another person is SIGNER_NOT_CALLER. A program acting on its own may
    not name a human signer (PERSON_REQUIRED), except where ``apps_may_name_signers``
    (the demo, the tests of the flows before sign-in existed). The school seal is the
    school's machine signature and is never a person's.
    """
    if role is SignerRole.SCHOOL_SEAL:
        return None
    if caller.person is not None:
        if named and named != caller.person.personal_id:
            raise HubError(Code.SIGNER_NOT_CALLER)
        return caller.person.personal_id
    if not apps_may_name_signers:
        raise HubError(Code.PERSON_REQUIRED, role=role.label)
    return named


async def find_signer(
    session: AsyncSession,
    school_id: int,
    transcript_ids: Sequence[int],
    role: SignerRole,
    signer_personal_id: str | None,
) -> Signer:
    """The role holder for these transcripts of one school, with their active certificate
    (RULES.md §4): the school, the holder and the certificate read in one statement."""
    values: dict[str, Any] = {"school_id": school_id, "at": datetime.now(UTC)}
    if role is not SignerRole.SCHOOL_SEAL:
        if not signer_personal_id:
            raise HubError(Code.INVALID_ARGUMENT, detail="cần mã định danh của người ký")
        values |= {"personal_id": signer_personal_id, "transcript_ids": list(transcript_ids)}
    found = (await session.execute(_signer_query(role), values)).first()
    if found is None:  # nobody with that ID, or not the role's holder
        raise HubError(Code.SIGNER_NOT_ROLE_HOLDER, role=role.label, person=signer_personal_id)
    where, chosen, *holder = found
    person: models.Staff | None = holder[0] if holder else None
    if chosen is None:
        name = person.full_name if person else SEAL_NAME
        raise HubError(Code.CREDENTIAL_NOT_FOUND, provider="", credential=name)
    return Signer(person, where, chosen)


@functools.cache
def _signer_query(role: SignerRole) -> Select[*tuple[Any, ...]]:
    """:func:`find_signer`'s statement for ``role``, built once (~1 ms of subqueries and
    their cache key, on every chunk a batch sends) with its values bound at each call:
    ``school_id`` and ``at``, and for a person ``personal_id`` and ``transcript_ids``."""
    school, staff = models.School, models.Staff
    certificate = aliased(models.SigningCertificate)
    owner = models.SigningCertificate
    at: BindParameter[datetime] = bindparam("at")
    query: Select[*tuple[Any, ...]]
    if role is SignerRole.SCHOOL_SEAL:
        query = (
            select(school, certificate)
            .select_from(school)
            .outerjoin(
                certificate,
                certificate.id == signing_certificate_id(owner.school_id, school.id, at),
            )
        )
    else:
        query = (
            select(school, certificate, staff)
            .select_from(school)
            .join(
                staff,
                and_(
                    staff.personal_id == bindparam("personal_id"),
                    _holds_role(
                        role,
                        bindparam("transcript_ids", expanding=True),
                        bindparam("school_id"),
                    ),
                ),
            )
            .outerjoin(
                certificate, certificate.id == signing_certificate_id(owner.staff_id, staff.id, at)
            )
        )
    return query.where(school.id == bindparam("school_id"))


def _holds_role(role: SignerRole, transcript_ids: Any, school_id: Any) -> ColumnElement[bool]:
    """Whether a ``staff`` row holds ``role`` for every transcript (``transcript_ids``, a
    list or an expanding parameter), as a condition on it: the homeroom teacher of each
    one's class, or the principal of the school (:mod:`hub.db.roles`, the SQL twins of
    :mod:`hub.domain.roles`)."""
    if role is SignerRole.HOMEROOM_TEACHER:
        transcript = models.Transcript
        return ~exists().where(
            transcript.id.in_(transcript_ids),
            roles.homeroom_teacher_id(transcript.class_id).is_distinct_from(models.Staff.id),
        )
    return models.Staff.id == roles.principal_id(school_id)


# --- who gives each signature, and what waits for them ----------------------------------------


def seal_keeper_id(school_id: Any) -> ScalarSelect[Any]:
    """The staff id of whoever may apply the school's seal (đóng dấu), as a subquery: the
    school's principal (:func:`hub.db.roles.principal_id`) [assumed].

    The seal is the school's own signature, made by its token with no phone to confirm
    on, yet a person decides when it goes on the transcripts the principal signed. The
    records name no other keeper of the seal (no staff role says so), and the principal
    answers for the school's seal (a clerk, văn thư, keeps the stamp on the principal's
    order); when the records can name a keeper, this is the one place to read it. The
    signing page offers the seal step to this person, and the outage banner and mails
    tell this person when the seal's provider is down (:mod:`hub.signing.outages`).
    """
    return roles.principal_id(school_id)


def may_hold(person: Person, role: SignerRole) -> bool:
    """Whether ``person`` may hold ``role`` for some transcript (:func:`holder_id` decides
    for each one): the principal's signature and the seal need a school the records
    make them principal of (``Person.principal_of``, the same rule read at sign-in, as
    :func:`seal_keeper_id` says); any staff member may be named a class's homeroom
    teacher, this year's or an earlier year's."""
    if role is SignerRole.HOMEROOM_TEACHER:
        return person.staff_id is not None
    return bool(person.principal_of)


def holder_id(role: SignerRole) -> ScalarSelect[Any]:
    """The staff id of whoever gives a transcript row ``role``'s signature now, as a
    subquery correlated to ``transcripts``: the homeroom teacher its class names, its
    school's principal, or whoever may apply its school's seal (:func:`seal_keeper_id`)."""
    if role is SignerRole.HOMEROOM_TEACHER:
        return roles.homeroom_teacher_id(models.Transcript.class_id)
    if role is SignerRole.PRINCIPAL:
        return roles.principal_id(models.Transcript.school_id)
    return seal_keeper_id(models.Transcript.school_id)


@dataclass(frozen=True)
class Waiting:
    """A transcript waiting for a person's signature (or seal), as a list shows it."""

    transcript_id: int
    document_id: str
    pupil: str
    class_name: str
    school_id: int
    school_name: str
    state: str
    role: SignerRole


async def waiting_for(
    session: AsyncSession, *, caller: Caller, roles: Sequence[SignerRole] = SIGNING_ORDER
) -> list[Waiting]:
    """The current transcripts waiting for a signature in one of ``roles`` (the state
    :func:`hub.domain.lifecycle.state_awaiting` names) that the caller's person gives
    that signature to (:func:`holder_id`), of the schools the caller reaches; in signing
    order, then by school, class and pupil, each with its role. One query whatever the
    roles. Empty for a caller who is no staff member."""
    person = caller.person
    if person is None or person.staff_id is None:
        return []
    # A role the person holds nowhere has nothing waiting: its subqueries are spared.
    roles = [role for role in roles if may_hold(person, role)]
    if not roles:
        return []
    transcript = models.Transcript
    # The class as the list names it, apart from the one the homeroom rule reads.
    listed = aliased(models.SchoolClass)
    awaiting = {lifecycle.state_awaiting(role).value: role for role in roles}
    query = (
        select(
            transcript.id,
            transcript.document_id,
            transcript.school_id,
            transcript.state,
            models.Student.full_name,
            listed.name.label("class_name"),
            models.School.name.label("school_name"),
        )
        .join(models.Student, models.Student.id == transcript.student_id)
        .join(listed, listed.id == transcript.class_id)
        .join(models.School, models.School.id == transcript.school_id)
        .where(
            transcript.is_current.is_(True),
            or_(
                *(
                    and_(transcript.state == state, holder_id(role) == person.staff_id)
                    for state, role in awaiting.items()
                )
            ),
        )
        .order_by(models.School.id, listed.name, models.Student.full_name, transcript.id)
    )
    found = [
        Waiting(
            transcript_id=row.id,
            document_id=row.document_id,
            pupil=row.full_name,
            class_name=row.class_name,
            school_id=row.school_id,
            school_name=row.school_name,
            state=row.state,
            role=awaiting[row.state],
        )
        for row in await session.execute(restrict(query, transcript, caller))
    ]
    order = {role: at for at, role in enumerate(SIGNING_ORDER)}
    return sorted(found, key=lambda waiting: order[waiting.role])  # stable: keeps the rest


def _check_credential(credential: Credential, registered: models.SigningCertificate) -> None:
    """The provider's certificate must be the one the hub has on record for the signer."""
    if format(credential.certificate.serial_number, "x") != registered.serial_number.lower():
        raise HubError(
            Code.CREDENTIAL_NOT_FOUND,
            provider=credential.provider.value,
            credential=registered.credential_id,
        )
    now = datetime.now(UTC)
    if credential.certificate.not_valid_after_utc <= now or credential.status == "EXPIRED":
        raise SigningError(Code.CERTIFICATE_EXPIRED, credential.provider)
    if credential.status == "REVOKED":
        raise SigningError(Code.CERTIFICATE_REVOKED, credential.provider)
