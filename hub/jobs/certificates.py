"""Certificate refresh: what the providers now say about every certificate the hub records.

A run is a CERT_REFRESH :class:`~hub.db.models.Job`. At the start the owners of
the recorded certificates (staff members, and schools for their seals) are split
into batches of :data:`BATCH_OWNERS`, stored as ranges of owner ids in the job's
params; each batch is one message (:func:`refresh_batch`). A batch asks each
provider once per owner (``list_credentials`` for the staff member's personal ID,
or for the school's ministry code on its PKCS#11 token), outside any transaction,
then in one transaction holding the job row updates the certificate rows that
changed and adds what it found to the run's checkpoint. A batch delivered twice
finds its number in the checkpoint's ``done`` list and does nothing; the
watchdog sends again the batches a stalled run still lacks (:func:`stalled_work`)
and starts a run when the last one is older than ``HUB_CERTIFICATE_REFRESH_HOURS``
(:func:`refresh_when_due`).

The row mirrors its provider (:func:`reconcile`): the status (ACTIVE, REVOKED, or
SUSPENDED for anything else that forbids signing), the validity period, and the
serial number, subject and issuer when the provider renewed the certificate
under the same credential. A certificate the provider no longer lists, or a
provider that does not answer, is reported in the run and left as recorded: a
missing record at the provider is for staff to look into, not a revocation.
Certificates still valid but ending within 30 days (RULES.md §5) are listed as
``expiring``. Retired certificates (dropped by a provider migration) are not
asked about.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.signing.base import Credential, SigningError
from hub.auth.access import Caller
from hub.db import models
from hub.db.engine import Database
from hub.domain.certificates import as_utc, expires_soon
from hub.domain.enums import CertificateStatus, SigningProvider
from hub.domain.problems import Code, HubError, problem
from hub.jobs import core
from hub.jobs.core import JobState, Next
from hub.signing.service import SigningServices

KIND = "CERT_REFRESH"
#: The watchdog starts a run when the last one started longer ago than this.
REFRESH_INTERVAL = timedelta(hours=24)
#: Owners (staff members or schools) per message; each costs one call per provider.
BATCH_OWNERS = 50
#: Provider calls in flight at once within one batch.
CONCURRENT_CALLS = 8
#: How many expiring certificates and problems a run lists; its counts are always whole.
LISTED = 5000
#: The client id of runs the watchdog starts.
SCHEDULER = "hub-scheduler"

STAFF, SCHOOL = "staff", "school"
#: A renewed certificate the hub already records for another row: left for staff to look at.
RECORDED_TWICE = "CERTIFICATE_RECORDED_TWICE"


#: The counts a run adds up, batch by batch.
COUNTS = ("checked", "updated", "renewed", "no_longer_valid", "expiring_count", "problem_count")


# --- starting ----------------------------------------------------------------------------------


def require_department(caller: Caller, scope: str = "certificates:read") -> None:
    """Refreshing and reading refresh runs concern the whole province's certificates."""
    caller.require(scope)
    if not caller.department_wide:
        raise HubError(Code.FORBIDDEN, scope=f"{scope} (toàn Sở)")


async def start_refresh(
    session: AsyncSession,
    *,
    client_id: str,
    job_id: str | None = None,
    batch_owners: int = BATCH_OWNERS,
) -> tuple[models.Job, list[Next]]:
    """A new run over every recorded certificate that is not retired, and its batches."""
    batches: list[list[Any]] = []
    certificate = models.SigningCertificate
    for kind, owner in ((STAFF, certificate.staff_id), (SCHOOL, certificate.school_id)):
        owners = list(
            await session.scalars(
                select(owner)
                .where(owner.is_not(None), certificate.retired_at.is_(None))
                .distinct()
                .order_by(owner)
            )
        )
        for start in range(0, len(owners), batch_owners):
            chunk = owners[start : start + batch_owners]
            batches.append([kind, chunk[0], chunk[-1]])
    total = await session.scalar(select(func.count()).where(certificate.retired_at.is_(None)))
    job = await core.create(
        session,
        kind=KIND,
        client_id=client_id,
        job_id=job_id,
        params={"batches": batches},
        checkpoint=_empty_checkpoint(),
        total=total or 0,
    )
    if not batches:
        core.end(job, JobState.COMPLETED)
    return job, [Next("refresh_certificates", (job.job_id, n)) for n in range(len(batches))]


async def refresh_if_due(
    db: Database, *, stall_seconds: float = 0.0, interval: timedelta = REFRESH_INTERVAL
) -> list[Next]:
    """Start a run when the last one started more than ``interval`` ago (or none ever did).

    Every worker process's watchdog calls this every few seconds. Two processes
    deciding at the same moment give the run the same id (the interval's number),
    so the second insert fails and only one run starts.
    """
    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        last = await session.scalar(
            select(func.max(models.Job.created_at)).where(models.Job.kind == KIND)
        )
        if last is not None and as_utc(last) > now - interval:
            return []
        running = await session.scalar(
            select(func.count()).where(
                models.Job.kind == KIND, models.Job.state == JobState.RUNNING.value
            )
        )
        if running:
            return []
    slot = int(now.timestamp() // max(interval.total_seconds(), 1.0))
    try:
        async with db.unit_of_work() as session:
            _, work = await start_refresh(session, client_id=SCHEDULER, job_id=f"{KIND}-{slot}")
    except IntegrityError:
        return []
    return work


async def refresh_when_due(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """Start a refresh when one is due (:func:`refresh_if_due`, every
    ``HUB_CERTIFICATE_REFRESH_HOURS``), on a worker that can ask the providers: a worker
    that only syncs, or one where the refresh is switched off (0 hours), starts none."""
    hours = runtime.settings.certificate_refresh_hours
    if runtime.signing is None or hours <= 0:
        return []
    return await refresh_if_due(
        runtime.db, stall_seconds=stall_seconds, interval=timedelta(hours=hours)
    )


# --- the step the actor runs -------------------------------------------------------------------


@dataclass(frozen=True)
class _Asked:
    """One certificate row and whom to ask about it."""

    certificate_id: int
    provider: SigningProvider
    user_id: str


async def refresh_batch(
    db: Database, signing: SigningServices, *, job_id: str, batch: int
) -> list[Next]:
    """Ask the providers about one batch of owners and record what they say."""
    async with db.unit_of_work() as session:
        job = await core.find(session, job_id)
        if job is None or job.state != JobState.RUNNING.value or batch in core.parts_done(job):
            return []
        kind, first, last = job.params["batches"][batch]
        asked = await _batch_certificates(session, kind, first, last)
    answers = await _ask(signing, {(a.provider, a.user_id) for a in asked})
    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        job = await core.lock(session, job_id)
        if job is None or job.state != JobState.RUNNING.value or batch in core.parts_done(job):
            return []
        findings = _Findings()
        rows = list(
            await session.scalars(
                select(models.SigningCertificate)
                .where(models.SigningCertificate.id.in_([a.certificate_id for a in asked]))
                .order_by(models.SigningCertificate.id)
            )
        )
        users = {a.certificate_id: a.user_id for a in asked}
        for row in rows:
            await _apply(session, row, answers[(row.provider, users[row.id])], findings)
            if row.status is CertificateStatus.ACTIVE and expires_soon(row.valid_to, now):
                findings.expiring.append([row.id, as_utc(row.valid_to).isoformat()])
        _merge(job, batch, findings)
    return []


# --- how a row follows its provider ------------------------------------------------------------


@dataclass(frozen=True)
class Reconciled:
    """What the provider says a recorded certificate now is."""

    status: CertificateStatus
    serial_number: str
    subject_dn: str
    issuer_dn: str
    valid_from: datetime
    valid_to: datetime
    credential_id: str


def reconcile(row: models.SigningCertificate, credentials: list[Credential]) -> Reconciled | None:
    """The row as its provider lists it: the same credential, or the same certificate.

    A provider that renewed the certificate keeps the credential and changes the
    certificate (new serial and dates); a provider that moved the certificate to a
    new credential id still lists the same serial number.
    """
    serial = row.serial_number.lower()
    match = next((c for c in credentials if c.credential_id == row.credential_id), None)
    if match is None:
        match = next(
            (c for c in credentials if format(c.certificate.serial_number, "x") == serial), None
        )
    if match is None:
        return None
    certificate = match.certificate
    return Reconciled(
        status=recorded_status(match.status, certificate),
        serial_number=format(certificate.serial_number, "x"),
        subject_dn=certificate.subject.rfc4514_string()[:500],
        issuer_dn=certificate.issuer.rfc4514_string()[:500],
        valid_from=certificate.not_valid_before_utc,
        valid_to=certificate.not_valid_after_utc,
        credential_id=match.credential_id,
    )


def recorded_status(reported: str, certificate: x509.Certificate) -> CertificateStatus:
    """The hub's status for what a provider reports (adapters say ACTIVE, REVOKED, EXPIRED…).

    An expired certificate is not revoked: it stays ACTIVE and its end date says it
    is over. A provider calling a certificate expired before its end date, or
    disabled, suspended or anything else, has stopped it: SUSPENDED.
    """
    word = reported.strip().upper()
    if word == "ACTIVE":
        return CertificateStatus.ACTIVE
    if word == "REVOKED":
        return CertificateStatus.REVOKED
    if word == "EXPIRED" and certificate.not_valid_after_utc <= datetime.now(UTC):
        return CertificateStatus.ACTIVE
    return CertificateStatus.SUSPENDED


@dataclass
class _Findings:
    checked: int = 0
    updated: int = 0
    renewed: int = 0
    no_longer_valid: int = 0
    expiring: list[list[Any]] = field(default_factory=list)
    problems: list[list[Any]] = field(default_factory=list)

    def problem(self, row: models.SigningCertificate, code: str, message: str) -> None:
        self.problems.append([row.id, row.provider.value, code, message])


async def _apply(
    session: AsyncSession,
    row: models.SigningCertificate,
    answer: list[Credential] | SigningError,
    findings: _Findings,
) -> None:
    if isinstance(answer, SigningError):
        findings.problem(row, answer.problem.code.value, answer.problem.message)
        return
    findings.checked += 1
    now_says = reconcile(row, answer)
    if now_says is None:
        missing = problem(
            Code.CREDENTIAL_NOT_FOUND,
            provider=row.provider.label,
            credential=row.credential_id,
        )
        findings.problem(row, missing.code.value, missing.message)
        return
    renewed = now_says.serial_number != row.serial_number.lower()
    if renewed and await _recorded_elsewhere(session, row, now_says):
        findings.problem(
            row,
            RECORDED_TWICE,
            f"Chứng thư gia hạn (số sê-ri {now_says.serial_number}) đã được ghi ở một bản ghi "
            "khác; cần kiểm tra lại.",
        )
        return
    was_valid = row.status is CertificateStatus.ACTIVE
    changes: dict[str, Any] = {}
    if row.status is not now_says.status:
        changes["status"] = now_says.status
    if as_utc(row.valid_from) != now_says.valid_from:
        changes["valid_from"] = now_says.valid_from
    if as_utc(row.valid_to) != now_says.valid_to:
        changes["valid_to"] = now_says.valid_to
    if renewed:
        changes |= {
            "serial_number": now_says.serial_number,
            "subject_dn": now_says.subject_dn,
            "issuer_dn": now_says.issuer_dn,
        }
    if row.credential_id != now_says.credential_id:
        changes["credential_id"] = now_says.credential_id
    for name, value in changes.items():
        setattr(row, name, value)
    findings.updated += bool(changes)
    findings.renewed += renewed
    findings.no_longer_valid += was_valid and now_says.status is not CertificateStatus.ACTIVE


async def _recorded_elsewhere(
    session: AsyncSession, row: models.SigningCertificate, now_says: Reconciled
) -> bool:
    other = await session.scalar(
        select(models.SigningCertificate.id).where(
            models.SigningCertificate.issuer_dn == now_says.issuer_dn,
            models.SigningCertificate.serial_number == now_says.serial_number,
            models.SigningCertificate.id != row.id,
        )
    )
    return other is not None


# --- reading runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    job: models.Job
    checked: int
    updated: int
    renewed: int
    no_longer_valid: int
    expiring_count: int
    #: (certificate id, valid to) of the certificates ending within 30 days, up to LISTED.
    expiring: list[tuple[int, datetime]]
    problem_count: int
    #: (certificate id, provider, code, message), up to LISTED.
    problems: list[tuple[int, str, str, str]]
    batches_done: int
    batches: int


def summary(job: models.Job) -> RunSummary:
    checkpoint = job.checkpoint or {}
    return RunSummary(
        job=job,
        **{name: int(checkpoint.get(name, 0)) for name in COUNTS},
        expiring=[(int(i), datetime.fromisoformat(at)) for i, at in checkpoint.get("expiring", [])],
        problems=[tuple(p) for p in checkpoint.get("problems", [])],
        batches_done=len(checkpoint.get("done", [])),
        batches=len(job.params.get("batches", [])),
    )


async def runs(session: AsyncSession, *, caller: Caller, first: int = 10) -> list[models.Job]:
    """The latest runs, newest first."""
    require_department(caller)
    return list(
        await session.scalars(
            select(models.Job)
            .where(models.Job.kind == KIND)
            .order_by(models.Job.created_at.desc(), models.Job.id.desc())
            .limit(max(1, min(first, 100)))
        )
    )


async def load(session: AsyncSession, *, caller: Caller, job_id: str) -> models.Job:
    require_department(caller)
    return await core.load(session, kind=KIND, job_id=job_id, what="lần cập nhật chứng thư")


# --- the watchdog ------------------------------------------------------------------------------


async def stalled_work(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """The batches a run that made no progress for a while still lacks, sent again."""
    return await core.stalled_parts(
        runtime.db,
        kind=KIND,
        actor="refresh_certificates",
        parts="batches",
        stall_seconds=stall_seconds,
    )


# --- helpers -----------------------------------------------------------------------------------


def _empty_checkpoint() -> dict[str, Any]:
    return {"done": [], **dict.fromkeys(COUNTS, 0), "expiring": [], "problems": []}


async def _batch_certificates(
    session: AsyncSession, kind: str, first: int, last: int
) -> list[_Asked]:
    certificate = models.SigningCertificate
    if kind == STAFF:
        query = (
            select(certificate.id, certificate.provider, models.Staff.personal_id)
            .join(models.Staff, models.Staff.id == certificate.staff_id)
            .where(certificate.staff_id.between(first, last))
        )
    else:
        query = (
            select(certificate.id, certificate.provider, models.School.moet_code)
            .join(models.School, models.School.id == certificate.school_id)
            .where(certificate.school_id.between(first, last))
        )
    rows = await session.execute(query.where(certificate.retired_at.is_(None)))
    return [_Asked(row[0], row[1], row[2]) for row in rows]


async def _ask(
    signing: SigningServices, owners: set[tuple[SigningProvider, str]]
) -> dict[tuple[SigningProvider, str], list[Credential] | SigningError]:
    """Each (provider, user)'s credentials, or the provider's refusal; side by side.

    A refusal is not noted as the provider's health (``note_failure``): a school
    whose seal token is not connected says nothing about the other schools' tokens.
    """
    limit = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(provider: SigningProvider, user_id: str) -> list[Credential] | SigningError:
        async with limit:
            try:
                return await signing.providers.adapter(provider).list_credentials(user_id)
            except SigningError as error:
                return error

    keys = sorted(owners)
    answers = await asyncio.gather(*(one(p, u) for p, u in keys))
    return dict(zip(keys, answers, strict=True))


def _merge(job: models.Job, batch: int, findings: _Findings) -> None:
    checkpoint = {**_empty_checkpoint(), **(job.checkpoint or {})}
    added = {
        "checked": findings.checked,
        "updated": findings.updated,
        "renewed": findings.renewed,
        "no_longer_valid": findings.no_longer_valid,
        "expiring_count": len(findings.expiring),
        "problem_count": len(findings.problems),
    }
    for name, count in added.items():
        checkpoint[name] = int(checkpoint[name]) + count
    checkpoint["expiring"] = [*checkpoint["expiring"], *findings.expiring][:LISTED]
    checkpoint["problems"] = [*checkpoint["problems"], *findings.problems][:LISTED]
    core.part_done(job, batch, checkpoint, parts="batches")
