"""Signing-provider migration: moving staff from one provider to another, safely.

The department moves a school's or a district's staff, e.g. public schools' teachers
from a paid provider to the free Government CA (Ban Cơ yếu). In three stages:

1. :func:`plan_provider_migration` is a dry run: for each staff member in scope it
   shows the certificate they sign with now, asks the target provider whether
   they have a usable credential there, and says what would happen — SWITCH,
   ENROL (the hub can have the target enrol them), NEEDS_ENROLMENT (they must
   register with the provider first) or SKIP with the reason. It writes nothing.
2. :func:`start_provider_migration` stores the plan as a PROVIDER_MIGRATION
   :class:`~hub.db.models.Job` with one :class:`~hub.db.models.ProviderMigrationItem`
   per person, and each person is one message: :func:`migrate_teacher` finds (or
   enrols) the target credential and sends one random digest for a test
   signature; :func:`poll_test_signature` waits for the phone, verifies the raw
   signature against the credential's certificate and the certificate's path to
   a trusted root, then switches: the new certificate is recorded (or found) and
   marked ``preferred`` — the certificate the signing service picks first — and
   the old one stays as it was, so it is the fallback while the new is unusable.
3. :func:`confirm` retires the old certificates (no fallback any more);
   :func:`rollback` puts every switched person back as they were (``undo``).

Pause stops new people from starting and holds the switch of those whose test
signature arrives meanwhile (PROVEN); resume switches them and goes on. A target
provider that goes down pauses the migration until its health check answers
again. Every step is written to :class:`~hub.db.models.ProviderMigrationStep`.

Locks are taken in one order — the job row, then the items, then certificates —
and never across a provider call, so a pause or rollback waits only for a
step's short bookkeeping. A message delivered twice finds its item in a later
state and does nothing.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.signing.base import (
    Credential,
    SigningAdapter,
    SigningError,
    Transaction,
    TransactionState,
)
from hub.auth.access import Caller
from hub.auth.people import WEB_CLIENT_ID
from hub.db import models
from hub.db.engine import Database
from hub.domain.certificates import as_utc, is_valid_at, signing_certificate
from hub.domain.enums import CertificateStatus, SigningProvider
from hub.domain.problems import Code, HubError
from hub.jobs import core
from hub.jobs.core import PAUSED_BY_USER, PROVIDER_DOWN, Enrolment, EnrolmentRequest, JobState, Next
from hub.signing.service import SigningServices

KIND = "PROVIDER_MIGRATION"
#: The providers people can be moved between: remote signing services, not a USB token.
MIGRATABLE = tuple(p for p in SigningProvider if p is not SigningProvider.PKCS11)
#: What the signer's phone shows for the test signature (ASCII: some phones show no more).
TEST_DESCRIPTION = "Kiem tra chu ky so truoc khi chuyen nha cung cap"
#: Provider calls in flight at once while planning.
CONCURRENT_CALLS = 8
#: Who the steps the jobs take are recorded as, in the audit trail.
WORKER = "worker"


class Action(StrEnum):
    """What the plan says will happen to a person."""

    SWITCH = "SWITCH"  # a usable credential exists at the target
    ENROL = "ENROL"  # none yet; the hub has the target enrol them
    NEEDS_ENROLMENT = "NEEDS_ENROLMENT"  # none yet; they must register with the target
    SKIP = "SKIP"


class ItemState(StrEnum):
    PENDING = "PENDING"
    STARTING = "STARTING"
    TESTING = "TESTING"
    PROVEN = "PROVEN"
    SWITCHED = "SWITCHED"
    CONFIRMED = "CONFIRMED"
    ROLLED_BACK = "ROLLED_BACK"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


#: Items still on their way.
OPEN_ITEMS = (ItemState.PENDING, ItemState.STARTING, ItemState.TESTING, ItemState.PROVEN)
ITEMS = core.Items(models.ProviderMigrationItem, ItemState, OPEN_ITEMS)
#: The states as people count them (the API's ``pending`` and ``testing`` are two of them).
GROUPS: dict[str, tuple[ItemState, ...]] = {
    "waiting": (ItemState.PENDING, ItemState.STARTING),
    "testing": (ItemState.TESTING, ItemState.PROVEN),
    "switched": (ItemState.SWITCHED,),
    "confirmed": (ItemState.CONFIRMED,),
    "rolled_back": (ItemState.ROLLED_BACK,),
    "failed": (ItemState.FAILED,),
    "skipped": (ItemState.SKIPPED,),
    "cancelled": (ItemState.CANCELLED,),
}


class Step(StrEnum):
    """The audit trail's entries."""

    STARTED = "STARTED"
    PLANNED = "PLANNED"
    SKIPPED = "SKIPPED"
    CREDENTIAL_FOUND = "CREDENTIAL_FOUND"
    ENROLLED = "ENROLLED"
    TEST_SIGNATURE_SENT = "TEST_SIGNATURE_SENT"
    TEST_SIGNATURE_VERIFIED = "TEST_SIGNATURE_VERIFIED"
    SWITCHED = "SWITCHED"
    FAILED = "FAILED"
    PAUSED = "PAUSED"
    RESUMED = "RESUMED"
    FINISHED = "FINISHED"
    CONFIRMED = "CONFIRMED"
    ROLLED_BACK = "ROLLED_BACK"
    CANCELLED = "CANCELLED"


#: Reason codes of the migration's own (the providers' come from :class:`Code`).
NOT_AT_SOURCE = "NOT_AT_SOURCE"
ALREADY_AT_TARGET = "ALREADY_AT_TARGET"
NEEDS_ENROLMENT = "NEEDS_ENROLMENT"
ENROLMENT_FAILED = "ENROLMENT_FAILED"
TEST_SIGNATURE_INVALID = "TEST_SIGNATURE_INVALID"
CERTIFICATE_UNTRUSTED = "CERTIFICATE_UNTRUSTED"
CERTIFICATE_TAKEN = "CERTIFICATE_TAKEN"


# --- who may run one ----------------------------------------------------------------------------


def require_control(caller: Caller) -> None:
    """Whether ``caller`` may start, pause, resume, roll back or confirm a migration.

    An app needs ``staff:write`` (and the schools in its reach, checked with the job).
    An officer of the Sở signed in at the hub's own pages may too: for a person it is
    the department role that allows it, not a scope (an officer's session carries no
    write scope); a district office's officer may not, a migration being the Sở's work.
    """
    if caller.has("staff:write"):
        return
    person = caller.person
    if (
        caller.client_id == WEB_CLIENT_ID
        and person is not None
        and person.department_officer
        and caller.department_wide
    ):
        return
    raise HubError(Code.FORBIDDEN, scope="staff:write")


# --- the plan (a dry run) ----------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateSummary:
    """A certificate as the plan shows it (``certificate_id`` None: not recorded yet)."""

    certificate_id: int | None
    provider: SigningProvider
    credential_id: str
    serial_number: str
    valid_to: datetime
    status: str


@dataclass(frozen=True)
class PlannedTeacher:
    staff_id: int
    full_name: str
    school_id: int
    #: The certificate they sign with now (or their latest, when none is valid).
    current: CertificateSummary | None
    #: Whether the target provider knows them at all.
    target_account: bool
    #: Their usable credential at the target, if any.
    target: CertificateSummary | None
    action: Action
    reason_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class MigrationPlan:
    from_provider: SigningProvider
    to_provider: SigningProvider
    school_id: int | None
    district_id: int | None
    can_enrol: bool
    teachers: tuple[PlannedTeacher, ...]

    def count(self, action: Action) -> int:
        return sum(t.action is action for t in self.teachers)


async def plan_provider_migration(
    session: AsyncSession,
    *,
    caller: Caller,
    signing: SigningServices,
    from_provider: SigningProvider,
    to_provider: SigningProvider,
    school_id: int | None = None,
    district_id: int | None = None,
    can_enrol: bool = False,
) -> MigrationPlan:
    """What moving the staff in scope from one provider to another would do; writes nothing.

    The plan names each teacher, so it needs the staff scope as well as the certificates'.
    """
    caller.require("certificates:read")
    caller.require("staff:read")
    if from_provider is to_provider or not {from_provider, to_provider} <= set(MIGRATABLE):
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail="cần hai nhà cung cấp ký số từ xa khác nhau (không phải USB token)",
            details_en={"detail": "two different remote signing providers (not a USB token)"},
        )
    schools = await _schools_in_scope(session, caller, school_id, district_id)
    staff = await _staff_of(session, schools)
    certificates = await _certificates_of(session, [s.id for s in staff])
    adapter = signing.providers.adapter(to_provider)
    limit = asyncio.Semaphore(CONCURRENT_CALLS)
    now = datetime.now(UTC)

    async def plan_one(person: _Person) -> PlannedTeacher:
        rows = certificates.get(person.id, [])
        current = signing_certificate(rows, now) or _latest(rows)
        summary = _summary(current) if current else None
        planned = partial(
            PlannedTeacher,
            staff_id=person.id,
            full_name=person.full_name,
            school_id=person.school_id,
            current=summary,
        )
        if not any(r.provider is from_provider for r in rows):
            return planned(
                target_account=False,
                target=None,
                action=Action.SKIP,
                reason_code=NOT_AT_SOURCE,
                reason=f"Không dùng chữ ký số của {from_provider.label}.",
            )
        if current is not None and current.provider is to_provider and _valid(current, now):
            return planned(
                target_account=True,
                target=summary,
                action=Action.SKIP,
                reason_code=ALREADY_AT_TARGET,
                reason=f"Đang ký bằng chứng thư của {to_provider.label}.",
            )
        async with limit:
            account, credential = await _target_credential(signing, adapter, person.personal_id)
        if credential is not None:
            return planned(
                target_account=True,
                target=_credential_summary(credential),
                action=Action.SWITCH,
            )
        if can_enrol:
            return planned(target_account=account, target=None, action=Action.ENROL)
        return planned(
            target_account=account,
            target=None,
            action=Action.NEEDS_ENROLMENT,
            reason_code=NEEDS_ENROLMENT,
            reason=_needs_enrolment(to_provider),
        )

    teachers = await asyncio.gather(*(plan_one(person) for person in staff))
    return MigrationPlan(
        from_provider=from_provider,
        to_provider=to_provider,
        school_id=school_id,
        district_id=district_id,
        can_enrol=can_enrol,
        teachers=tuple(teachers),
    )


# --- starting ----------------------------------------------------------------------------------


async def plan_and_start(
    db: Database,
    *,
    caller: Caller,
    signing: SigningServices,
    from_provider: SigningProvider,
    to_provider: SigningProvider,
    school_id: int | None = None,
    district_id: int | None = None,
    can_enrol: bool = False,
) -> tuple[str, list[Next]]:
    """Plan again and start: the job's id and the messages to send once it is committed.

    The plan is made anew rather than taken from the dry run someone read: people may
    have enrolled, or left, since. It is made before the job's transaction, which is
    never held across the providers' answers.
    """
    require_control(caller)
    async with db.unit_of_work() as session:
        plan = await plan_provider_migration(
            session,
            caller=caller,
            signing=signing,
            from_provider=from_provider,
            to_provider=to_provider,
            school_id=school_id,
            district_id=district_id,
            can_enrol=can_enrol,
        )
    async with db.unit_of_work() as session:
        job, work = await start_provider_migration(session, caller=caller, plan=plan)
        return job.job_id, work


async def start_provider_migration(
    session: AsyncSession, *, caller: Caller, plan: MigrationPlan
) -> tuple[models.Job, list[Next]]:
    """Store the plan as a job, one item per person, and send the people to migrate."""
    require_control(caller)
    await _schools_in_scope(session, caller, plan.school_id, plan.district_id)
    job = await core.create(
        session,
        kind=KIND,
        client_id=caller.client_id,
        params={
            "from": plan.from_provider.value,
            "to": plan.to_provider.value,
            "school_id": plan.school_id,
            "district_id": plan.district_id,
            "can_enrol": plan.can_enrol,
        },
        total=len(plan.teachers),
        school_id=plan.school_id,
    )
    _audit(
        session,
        job,
        Step.STARTED,
        actor_of(caller),
        detail={action.value: plan.count(action) for action in Action},
    )
    items: list[models.ProviderMigrationItem] = []
    for teacher in plan.teachers:
        skip = teacher.action is Action.SKIP
        item = models.ProviderMigrationItem(
            job_id=job.id,
            staff_id=teacher.staff_id,
            school_id=teacher.school_id,
            planned=teacher.action.value,
            state=(ItemState.SKIPPED if skip else ItemState.PENDING).value,
            old_certificate_id=teacher.current.certificate_id if teacher.current else None,
            test={},
            undo={},
            reason_code=teacher.reason_code if skip else None,
            reason=teacher.reason if skip else None,
        )
        session.add(item)
        items.append(item)
    await session.flush()
    for teacher, item in zip(plan.teachers, items, strict=True):
        _audit(
            session,
            job,
            Step.SKIPPED if teacher.action is Action.SKIP else Step.PLANNED,
            actor_of(caller),
            item=item,
            code=teacher.reason_code,
            detail=_planned_detail(teacher),
        )
    await _finish_if_done(session, job)
    return job, [
        Next("migrate_teacher", (job.job_id, item.id))
        for item in items
        if item.state == ItemState.PENDING.value
    ]


# --- the steps the actors run ------------------------------------------------------------------


async def migrate_teacher(
    db: Database,
    signing: SigningServices,
    *,
    job_id: str,
    item_id: int,
    enrol: Enrolment | None,
    poll_seconds: float,
) -> list[Next]:
    """Find (or enrol) the person's target credential and send a test signature."""
    claim = uuid.uuid4().hex
    async with db.unit_of_work() as session:
        job = await core.find(session, job_id)
        if job is None or job.state != JobState.RUNNING.value:
            return []
        claimed = await core.claim(
            session,
            update(models.ProviderMigrationItem)
            .where(
                models.ProviderMigrationItem.id == item_id,
                models.ProviderMigrationItem.job_id == job.id,
                models.ProviderMigrationItem.state == ItemState.PENDING.value,
            )
            .values(state=ItemState.STARTING.value, test={"claim": claim}, updated_at=func.now()),
        )
        if not claimed:
            return []
        person = await _person(session, item_id)
        to_provider = SigningProvider(job.params["to"])

    found: list[tuple[Step, dict[str, Any]]] = []
    failure: tuple[str, str] | None = None
    down: SigningError | None = None
    test: dict[str, Any] = {}
    try:
        adapter = signing.providers.adapter(to_provider)
        _, credential = await _target_credential(signing, adapter, person.personal_id)
        if credential is not None:
            found.append((Step.CREDENTIAL_FOUND, _credential_detail(credential)))
        elif enrol is not None:
            await enrol(
                EnrolmentRequest(
                    to_provider, person.personal_id, person.full_name, person.organisation
                )
            )
            _, credential = await _target_credential(signing, adapter, person.personal_id)
            if credential is not None:
                found.append((Step.ENROLLED, _credential_detail(credential)))
        if credential is None:
            failure = (
                (ENROLMENT_FAILED, _enrolment_failed(to_provider))
                if enrol is not None
                else (NEEDS_ENROLMENT, _needs_enrolment(to_provider))
            )
        else:
            digest = os.urandom(32)
            transaction = await adapter.sign_hashes(credential, [digest], [TEST_DESCRIPTION])
            test = {
                "claim": claim,
                "digest": _b64(digest),
                "credential_id": credential.credential_id,
                "certificate": _b64(credential.certificate.public_bytes(Encoding.DER)),
                "chain": [_b64(c.public_bytes(Encoding.DER)) for c in credential.chain],
                "transaction": transaction.to_json(),
            }
            found.append(
                (
                    Step.TEST_SIGNATURE_SENT,
                    {"transaction_id": transaction.transaction_id, "user": credential.user_id},
                )
            )
    except SigningError as error:
        signing.providers.note_failure(error)
        if error.problem.code in PROVIDER_DOWN:
            down = error
        else:
            failure = (error.problem.code.value, error.problem.message)

    async with db.unit_of_work() as session:
        job = await core.lock(session, job_id)
        item = await _item(session, item_id)
        if job is None or item is None or item.state != ItemState.STARTING.value:
            return []
        if (item.test or {}).get("claim") != claim:
            return []  # the watchdog gave this person to a later delivery
        for step, detail in found:
            _audit(session, job, step, WORKER, item=item, detail=detail)
        if down is not None:
            item.state, item.test = ItemState.PENDING.value, {}
            if job.state == JobState.RUNNING.value:
                _pause(session, job, down.problem.code.value, down.problem.message, WORKER)
            return [Next("resume_migration_if_healthy", (job_id,), poll_seconds)]
        if failure is not None:
            _fail(session, job, item, *failure)
            await _finish_if_done(session, job)
            return []
        item.state, item.test = ItemState.TESTING.value, test
        return [Next("poll_test_signature", (job_id, item_id), poll_seconds)]


async def poll_test_signature(
    db: Database,
    signing: SigningServices,
    *,
    job_id: str,
    item_id: int,
    poll_seconds: float,
    stall_seconds: float = 0.0,
) -> list[Next]:
    """Ask once for the test signature; verify it and switch, or record why not (an ask
    finding no answer marks the migration's progress as :func:`core.touch` says)."""
    async with db.unit_of_work() as session:
        item = await _item(session, item_id)
        if item is None or item.state != ItemState.TESTING.value:
            return []
        test = dict(item.test)
    transaction = Transaction.from_json(test["transaction"])
    again = [Next("poll_test_signature", (job_id, item_id), poll_seconds)]
    failure: tuple[str, str] | None
    try:
        result = await signing.providers.adapter(transaction.provider).poll(transaction)
    except SigningError as error:
        signing.providers.note_failure(error)
        if error.problem.code in PROVIDER_DOWN:
            return again  # the phone may still confirm: ask again when it answers
        failure = (error.problem.code.value, error.problem.message)
    else:
        if result.state is TransactionState.PENDING:
            await core.touch(db, job_id, stall_seconds=stall_seconds)
            return again
        if result.state is TransactionState.SIGNED:
            failure = await _verify(signing, test, result.signatures)
        elif result.error is not None:
            failure = (result.error.problem.code.value, result.error.problem.message)
        else:
            failure = (Code.SIGNING_FAILED.value, "Ký thử không thành công.")

    async with db.unit_of_work() as session:
        job = await core.lock(session, job_id)
        item = await _item(session, item_id)
        if job is None or item is None or item.state != ItemState.TESTING.value:
            return []
        if item.test.get("claim") != test.get("claim"):
            return []
        if failure is not None:
            _fail(session, job, item, *failure)
        else:
            _audit(
                session,
                job,
                Step.TEST_SIGNATURE_VERIFIED,
                WORKER,
                item=item,
                detail={"transaction_id": transaction.transaction_id},
            )
            item.state = ItemState.PROVEN.value
            if job.state == JobState.RUNNING.value:
                await _switch(session, job, item, WORKER)
        await _finish_if_done(session, job)
    return []


async def resume_if_healthy(
    db: Database, signing: SigningServices, *, job_id: str, poll_seconds: float
) -> list[Next]:
    """Continue a migration the target's outage paused, once the target answers again."""

    async def target(session: AsyncSession, job: models.Job) -> set[SigningProvider]:
        return {SigningProvider(job.params["to"])}

    async def resume_job(session: AsyncSession, job: models.Job) -> list[Next]:
        return await _resume(session, job, WORKER)

    return await core.resume_if_healthy(
        db,
        signing,
        job_id=job_id,
        watched=target,
        resume_job=resume_job,
        again=Next("resume_migration_if_healthy", (job_id,), poll_seconds),
    )


# --- people's controls ---------------------------------------------------------------------------


async def load(
    session: AsyncSession, *, caller: Caller, job_id: str, lock: bool = False
) -> models.Job:
    """The migration, if the caller may see it; ``lock`` holds its row for a control.

    A migration lists its teachers by name: the staff scope is needed too.
    """
    caller.require("certificates:read")
    caller.require("staff:read")
    what = "đợt chuyển nhà cung cấp"
    job = await core.load(session, kind=KIND, job_id=job_id, what=what, lock_row=lock)
    if not await _may_manage(session, caller, job):
        raise core.not_found(what, job_id)
    return job


class Control(StrEnum):
    """What people may do with a migration once started."""

    PAUSE = "pause"
    RESUME = "resume"
    ROLLBACK = "rollback"
    CONFIRM = "confirm"


def controls(state: str) -> tuple[Control, ...]:
    """The controls that change a migration in ``state`` (the others leave it as it is,
    or are refused): those its page offers."""
    if state == JobState.RUNNING.value:
        return (Control.PAUSE, Control.ROLLBACK)
    if state == JobState.PAUSED.value:
        return (Control.RESUME, Control.ROLLBACK)
    if state == JobState.SWITCHED.value:
        return (Control.CONFIRM, Control.ROLLBACK)
    return ()


async def pause(session: AsyncSession, *, caller: Caller, job_id: str) -> models.Job:
    """Start nobody new and switch nobody until resumed."""
    require_control(caller)
    job = await load(session, caller=caller, job_id=job_id, lock=True)
    if job.state in core.OPEN:
        _pause(
            session,
            job,
            PAUSED_BY_USER,
            "Đợt chuyển nhà cung cấp đang tạm dừng theo yêu cầu.",
            actor_of(caller),
        )
    return job


async def resume(session: AsyncSession, *, caller: Caller, job_id: str) -> list[Next]:
    require_control(caller)
    job = await load(session, caller=caller, job_id=job_id, lock=True)
    if job.state != JobState.PAUSED.value:
        return []
    return await _resume(session, job, actor_of(caller))


async def confirm(session: AsyncSession, *, caller: Caller, job_id: str) -> models.Job:
    """Keep the new providers for good: the old certificates are retired (no fallback)."""
    require_control(caller)
    job = await load(session, caller=caller, job_id=job_id, lock=True)
    if job.state == JobState.CONFIRMED.value:
        return job
    if job.state != JobState.SWITCHED.value:
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail="chỉ xác nhận được khi mọi người đã chuyển xong (trạng thái SWITCHED)",
            details_en={"detail": "a migration is confirmed once everyone is done (SWITCHED)"},
        )
    now = datetime.now(UTC)
    source = SigningProvider(job.params["from"])
    for item in await _items(session, job, [ItemState.SWITCHED]):
        old = list(
            await session.scalars(
                select(models.SigningCertificate).where(
                    models.SigningCertificate.staff_id == item.staff_id,
                    models.SigningCertificate.provider == source,
                    models.SigningCertificate.retired_at.is_(None),
                    models.SigningCertificate.id != item.new_certificate_id,
                )
            )
        )
        for row in old:
            row.retired_at = now
        item.state = ItemState.CONFIRMED.value
        item.undo = {**item.undo, "retired": [row.id for row in old]}
        _audit(
            session,
            job,
            Step.CONFIRMED,
            actor_of(caller),
            item=item,
            detail={"retired": [row.id for row in old], "default": item.new_certificate_id},
        )
    core.end(job, JobState.CONFIRMED)
    _audit(session, job, Step.CONFIRMED, actor_of(caller))
    return job


async def rollback(session: AsyncSession, *, caller: Caller, job_id: str) -> models.Job:
    """Put everyone switched back on their old default; stop everyone else."""
    require_control(caller)
    job = await load(session, caller=caller, job_id=job_id, lock=True)
    if job.state == JobState.ROLLED_BACK.value:
        return job
    if job.state == JobState.CONFIRMED.value:
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail="đợt chuyển đã được xác nhận, không hoàn tác được",
            details_en={"detail": "the migration was confirmed: it cannot be rolled back"},
        )
    now = datetime.now(UTC)
    for item in await _items(session, job, [ItemState.SWITCHED]):
        await _undo_switch(session, item, now)
        item.state = ItemState.ROLLED_BACK.value
        _audit(
            session,
            job,
            Step.ROLLED_BACK,
            actor_of(caller),
            item=item,
            detail={"default": item.old_certificate_id, "withdrawn": item.new_certificate_id},
        )
    for item in await _items(session, job, OPEN_ITEMS):
        item.state, item.reason_code = ItemState.CANCELLED.value, "ROLLED_BACK"
        item.reason = "Đợt chuyển đã được hoàn tác trước khi đến lượt người này."
        _audit(session, job, Step.CANCELLED, actor_of(caller), item=item)
    core.end(job, JobState.ROLLED_BACK)
    _audit(session, job, Step.ROLLED_BACK, actor_of(caller))
    return job


@dataclass(frozen=True)
class Progress:
    """How many of a migration's people are in each state (every state, zero or not)."""

    counts: dict[str, int]

    def of(self, *states: ItemState) -> int:
        return sum(self.counts.get(state.value, 0) for state in states)

    @property
    def waiting(self) -> int:
        """Not started yet, or being started."""
        return self.of(*GROUPS["waiting"])

    @property
    def testing(self) -> int:
        """Waiting for the test signature on the phone, or proven and held by a pause."""
        return self.of(*GROUPS["testing"])

    @property
    def finished(self) -> int:
        """Done with, one way or another: switched, confirmed, rolled back, skipped,
        failed or cancelled."""
        return sum(self.counts.values()) - self.of(*OPEN_ITEMS)


async def progress(session: AsyncSession, job: models.Job) -> Progress:
    return (await progress_of(session, [job]))[job.id]


async def progress_of(session: AsyncSession, jobs: Sequence[models.Job]) -> dict[int, Progress]:
    """The progress of each of ``jobs`` (by row id), counted in one query for a list."""
    item = models.ProviderMigrationItem
    counts = {job.id: {state.value: 0 for state in ItemState} for job in jobs}
    if counts:
        rows = await session.execute(
            select(item.job_id, item.state, func.count())
            .where(item.job_id.in_(list(counts)))
            .group_by(item.job_id, item.state)
        )
        for job_id, state, count in rows.all():
            counts[job_id][state] = count
    return {job_id: Progress(found) for job_id, found in counts.items()}


async def recent(session: AsyncSession, *, caller: Caller, first: int = 30) -> list[models.Job]:
    """The latest migrations the caller may see, newest first."""
    caller.require("certificates:read")
    caller.require("staff:read")
    jobs = await session.scalars(
        select(models.Job)
        .where(models.Job.kind == KIND)
        .order_by(models.Job.created_at.desc(), models.Job.id.desc())
        .limit(min(first, 200))
    )
    return [job for job in jobs if await _may_manage(session, caller, job)]


@dataclass(frozen=True)
class Mover:
    """A person of a migration, as a list shows them: how far they got, and why not further."""

    item: models.ProviderMigrationItem
    full_name: str
    school_name: str


async def movers(
    session: AsyncSession,
    job: models.Job,
    *,
    states: Sequence[str] = (),
    first: int | None = None,
) -> list[Mover]:
    """The migration's people in the order they were planned (only those in ``states``,
    when given)."""
    item = models.ProviderMigrationItem
    query = (
        select(item, models.Staff.full_name, models.School.name)
        .join(models.Staff, models.Staff.id == item.staff_id)
        .outerjoin(models.School, models.School.id == item.school_id)
        .where(item.job_id == job.id)
        .order_by(item.id)
    )
    if states:
        query = query.where(item.state.in_(list(states)))
    if first is not None:
        query = query.limit(first)
    rows = await session.execute(query)
    return [Mover(row, name, school or "") for row, name, school in rows.all()]


async def steps(
    session: AsyncSession, job: models.Job, *, whole_job: bool = False, first: int = 500
) -> list[models.ProviderMigrationStep]:
    """The migration's audit trail in order (``whole_job``: only the job's own steps, not
    each person's)."""
    step = models.ProviderMigrationStep
    query = select(step).where(step.job_id == job.id)
    if whole_job:
        query = query.where(step.staff_id.is_(None))
    return list(await session.scalars(query.order_by(step.id).limit(first)))


# --- the watchdog ------------------------------------------------------------------------------


async def stalled_work(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """What migrations that made no progress for a while still need, sent again.

    A person left STARTING by a worker that died is given back (PENDING) after
    twice the stall time: the next delivery lists the target's credentials again,
    so an enrolment that did happen is found, not repeated.
    """

    async def running(session: AsyncSession, job: models.Job) -> list[Next]:
        given_up = datetime.now(UTC) - timedelta(seconds=2 * stall_seconds)
        await session.execute(
            update(models.ProviderMigrationItem)
            .where(
                models.ProviderMigrationItem.job_id == job.id,
                models.ProviderMigrationItem.state == ItemState.STARTING.value,
                models.ProviderMigrationItem.updated_at < given_up,
            )
            .values(state=ItemState.PENDING.value, test={})
        )
        work = await _work_left(session, job)
        await _finish_if_done(session, job)
        return work

    return await core.resend_stalled(
        runtime.db,
        kind=KIND,
        stall_seconds=stall_seconds,
        running=running,
        paused=core.resume_after_outage("resume_migration_if_healthy"),
    )


# --- switching and undoing ---------------------------------------------------------------------


async def _switch(
    session: AsyncSession, job: models.Job, item: models.ProviderMigrationItem, actor: str
) -> None:
    """Make the proven certificate the person's default; the old one stays as fallback."""
    certificate = x509.load_der_x509_certificate(base64.b64decode(item.test["certificate"]))
    serial = format(certificate.serial_number, "x")
    issuer = certificate.issuer.rfc4514_string()[:500]
    row = await session.scalar(
        select(models.SigningCertificate).where(
            models.SigningCertificate.issuer_dn == issuer,
            models.SigningCertificate.serial_number == serial,
        )
    )
    undo: dict[str, Any] = {}
    if row is None:
        row = models.SigningCertificate(
            staff_id=item.staff_id,
            provider=SigningProvider(job.params["to"]),
            credential_id=item.test["credential_id"],
            serial_number=serial,
            subject_dn=certificate.subject.rfc4514_string()[:500],
            issuer_dn=issuer,
            valid_from=certificate.not_valid_before_utc,
            valid_to=certificate.not_valid_after_utc,
            status=CertificateStatus.ACTIVE,
            preferred=False,
        )
        session.add(row)
        await session.flush()
        undo["created"] = True
    elif row.staff_id != item.staff_id:
        _fail(
            session,
            job,
            item,
            CERTIFICATE_TAKEN,
            "Chứng thư ở nhà cung cấp mới đã được ghi cho một người khác; cần kiểm tra lại.",
        )
        return
    else:
        undo["row"] = {
            "preferred": row.preferred,
            "retired_at": as_utc(row.retired_at).isoformat() if row.retired_at else None,
        }
        row.retired_at = None
    others = list(
        await session.scalars(
            select(models.SigningCertificate).where(
                models.SigningCertificate.staff_id == item.staff_id,
                models.SigningCertificate.preferred.is_(True),
                models.SigningCertificate.id != row.id,
            )
        )
    )
    for other in others:
        other.preferred = False
    row.preferred = True
    undo["preferred"] = [other.id for other in others]
    item.new_certificate_id, item.undo = row.id, undo
    item.state = ItemState.SWITCHED.value
    item.reason_code = item.reason = None
    _audit(
        session,
        job,
        Step.SWITCHED,
        actor,
        item=item,
        detail={
            "default": row.id,
            "provider": row.provider.value,
            "serial_number": serial,
            "fallback": item.old_certificate_id,
        },
    )


async def _undo_switch(
    session: AsyncSession, item: models.ProviderMigrationItem, now: datetime
) -> None:
    undo = item.undo or {}
    row = await session.get(models.SigningCertificate, item.new_certificate_id)
    if row is not None:
        if undo.get("created"):
            row.preferred, row.retired_at = False, now
        else:
            before = undo.get("row", {})
            row.preferred = bool(before.get("preferred", False))
            retired = before.get("retired_at")
            row.retired_at = datetime.fromisoformat(retired) if retired else None
    for certificate_id in undo.get("preferred", []):
        other = await session.get(models.SigningCertificate, certificate_id)
        if other is not None:
            other.preferred = True


# --- helpers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    id: int
    personal_id: str
    full_name: str
    school_id: int
    organisation: str = ""


async def _schools_in_scope(
    session: AsyncSession, caller: Caller, school_id: int | None, district_id: int | None
) -> list[int]:
    if (school_id is None) == (district_id is None):
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail="cần đúng một trong schoolId, districtId",
            details_en={"detail": "exactly one of schoolId, districtId"},
        )
    query = select(models.School.id)
    if school_id is not None:
        query = query.where(models.School.id == school_id)
    else:
        query = query.where(models.School.district_id == district_id)
    schools = list(await session.scalars(query.order_by(models.School.id)))
    if not schools:
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail="không có trường nào trong phạm vi này",
            details_en={"detail": "there is no school within this scope"},
        )
    if not all(caller.may_write_school(s) for s in schools):
        raise HubError(Code.FORBIDDEN, scope="các trường trong phạm vi chuyển đổi")
    return schools


async def _may_manage(session: AsyncSession, caller: Caller, job: models.Job) -> bool:
    try:
        await _schools_in_scope(session, caller, job.params["school_id"], job.params["district_id"])
    except HubError:
        return False
    return True


async def _staff_of(session: AsyncSession, schools: list[int]) -> list[_Person]:
    """Everyone assigned to the schools, once each (at the first of their schools)."""
    rows = await session.execute(
        select(
            models.Staff.id,
            models.Staff.personal_id,
            models.Staff.full_name,
            func.min(models.StaffAssignment.school_id),
        )
        .join(models.StaffAssignment, models.StaffAssignment.staff_id == models.Staff.id)
        .where(models.StaffAssignment.school_id.in_(schools))
        .group_by(models.Staff.id, models.Staff.personal_id, models.Staff.full_name)
        .order_by(models.Staff.id)
    )
    return [_Person(*row) for row in rows]


async def _certificates_of(
    session: AsyncSession, staff_ids: list[int]
) -> dict[int, list[models.SigningCertificate]]:
    rows = await session.scalars(
        select(models.SigningCertificate).where(
            models.SigningCertificate.staff_id.in_(staff_ids),
            models.SigningCertificate.retired_at.is_(None),
        )
    )
    grouped: dict[int, list[models.SigningCertificate]] = {}
    for row in rows:
        assert row.staff_id is not None
        grouped.setdefault(row.staff_id, []).append(row)
    return grouped


async def _person(session: AsyncSession, item_id: int) -> _Person:
    row = (
        await session.execute(
            select(
                models.Staff.id,
                models.Staff.personal_id,
                models.Staff.full_name,
                models.School.id,
                models.School.name,
            )
            .select_from(models.ProviderMigrationItem)
            .join(models.Staff, models.Staff.id == models.ProviderMigrationItem.staff_id)
            # Every item is written with its teacher's school from the plan.
            .join(models.School, models.School.id == models.ProviderMigrationItem.school_id)
            .where(models.ProviderMigrationItem.id == item_id)
        )
    ).one()
    return _Person(*row)


async def _target_credential(
    signing: SigningServices, adapter: SigningAdapter, personal_id: str
) -> tuple[bool, Credential | None]:
    """(whether the target knows the person, their usable credential there if any)."""
    try:
        credentials = await adapter.list_credentials(personal_id)
    except SigningError as error:
        if error.problem.code in (Code.PROVIDER_USER_UNKNOWN, Code.CREDENTIAL_NOT_FOUND):
            return False, None
        signing.providers.note_failure(error)
        raise
    now = datetime.now(UTC)
    usable = [
        c
        for c in credentials
        if c.status == "ACTIVE"
        and c.certificate.not_valid_before_utc <= now < c.certificate.not_valid_after_utc
    ]
    best = max(usable, key=lambda c: c.certificate.not_valid_after_utc, default=None)
    return bool(credentials), best


async def _verify(
    signing: SigningServices, test: dict[str, Any], signatures: Sequence[bytes]
) -> tuple[str, str] | None:
    """Why the test signature does not prove the credential, or None when it does."""
    certificate = x509.load_der_x509_certificate(base64.b64decode(test["certificate"]))
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in test["chain"]]
    key = certificate.public_key()
    if len(signatures) != 1 or not isinstance(key, rsa.RSAPublicKey):
        return TEST_SIGNATURE_INVALID, "Nhà cung cấp trả về chữ ký thử không đúng dạng."
    try:
        key.verify(
            signatures[0],
            base64.b64decode(test["digest"]),
            padding.PKCS1v15(),
            utils.Prehashed(hashes.SHA256()),
        )
    except InvalidSignature:
        return (
            TEST_SIGNATURE_INVALID,
            "Chữ ký thử không khớp với chứng thư của nhà cung cấp mới; chưa chuyển.",
        )
    path = await signing.trust.path(certificate, chain)
    if not path.trusted:
        return (
            CERTIFICATE_UNTRUSTED,
            f"Chứng thư ở nhà cung cấp mới không thuộc tổ chức cung cấp dịch vụ tin cậy "
            f"({path.problem}).",
        )
    return None


async def _resume(session: AsyncSession, job: models.Job, actor: str) -> list[Next]:
    core.resume(job)
    _audit(session, job, Step.RESUMED, actor)
    for item in await _items(session, job, [ItemState.PROVEN]):
        await _switch(session, job, item, actor)
    work = await _work_left(session, job)
    await _finish_if_done(session, job)
    return work


async def _work_left(session: AsyncSession, job: models.Job) -> list[Next]:
    items = await _items(session, job, [ItemState.PENDING, ItemState.TESTING])
    return [
        Next(
            "migrate_teacher" if item.state == ItemState.PENDING.value else "poll_test_signature",
            (job.job_id, item.id),
        )
        for item in items
    ]


async def _finish_if_done(session: AsyncSession, job: models.Job) -> None:
    """Everyone done: the migration waits to be confirmed or rolled back (SWITCHED)."""
    if await core.finish_if_done(session, job, ITEMS, done=JobState.SWITCHED):
        counts = await core.item_counts(session, job, ITEMS)
        _audit(session, job, Step.FINISHED, WORKER, detail={k: v for k, v in counts.items() if v})


def _pause(session: AsyncSession, job: models.Job, code: str, message: str, actor: str) -> None:
    core.pause(job, code, message)
    _audit(session, job, Step.PAUSED, actor, code=code, detail={"reason": message})


def _fail(
    session: AsyncSession,
    job: models.Job,
    item: models.ProviderMigrationItem,
    code: str,
    message: str,
) -> None:
    item.state, item.reason_code, item.reason = ItemState.FAILED.value, code, message
    _audit(session, job, Step.FAILED, WORKER, item=item, code=code, detail={"reason": message})


def actor_of(caller: Caller) -> str:
    """Who took a step, as the history records it: the program's id, and the personal
    ID of the person it acted for (an officer on the hub's pages, a person-bound app)."""
    return caller.client_id if caller.person is None else f"{caller.client_id}/{caller.personal_id}"


def _audit(
    session: AsyncSession,
    job: models.Job,
    step: Step,
    actor: str,
    *,
    item: models.ProviderMigrationItem | None = None,
    code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        models.ProviderMigrationStep(
            job_id=job.id,
            item_id=item.id if item else None,
            staff_id=item.staff_id if item else None,
            step=step.value,
            code=code,
            detail=detail or {},
            actor=actor,
        )
    )


async def _items(
    session: AsyncSession, job: models.Job, states: Sequence[ItemState]
) -> list[models.ProviderMigrationItem]:
    """The job's items in ``states``, locked (the job's row is locked first)."""
    return list(
        await session.scalars(
            select(models.ProviderMigrationItem)
            .where(
                models.ProviderMigrationItem.job_id == job.id,
                models.ProviderMigrationItem.state.in_([s.value for s in states]),
            )
            .order_by(models.ProviderMigrationItem.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


async def _item(session: AsyncSession, item_id: int) -> models.ProviderMigrationItem | None:
    return await session.scalar(
        select(models.ProviderMigrationItem)
        .where(models.ProviderMigrationItem.id == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _valid(row: models.SigningCertificate, at: datetime) -> bool:
    return is_valid_at(row, at)


def _latest(rows: Sequence[models.SigningCertificate]) -> models.SigningCertificate | None:
    return max(rows, key=lambda r: as_utc(r.valid_to), default=None)


def _summary(row: models.SigningCertificate) -> CertificateSummary:
    return CertificateSummary(
        certificate_id=row.id,
        provider=row.provider,
        credential_id=row.credential_id,
        serial_number=row.serial_number,
        valid_to=as_utc(row.valid_to),
        status=row.status.value,
    )


def _credential_summary(credential: Credential) -> CertificateSummary:
    return CertificateSummary(
        certificate_id=None,
        provider=credential.provider,
        credential_id=credential.credential_id,
        serial_number=format(credential.certificate.serial_number, "x"),
        valid_to=credential.certificate.not_valid_after_utc,
        status=credential.status,
    )


def _credential_detail(credential: Credential) -> dict[str, Any]:
    return {
        "credential_id": credential.credential_id,
        "serial_number": format(credential.certificate.serial_number, "x"),
        "valid_to": credential.certificate.not_valid_after_utc.isoformat(),
    }


def _planned_detail(teacher: PlannedTeacher) -> dict[str, Any]:
    detail: dict[str, Any] = {"action": teacher.action.value}
    if teacher.current:
        detail["current"] = {
            "certificate_id": teacher.current.certificate_id,
            "provider": teacher.current.provider.value,
            "serial_number": teacher.current.serial_number,
        }
    if teacher.target:
        detail["target"] = {
            "credential_id": teacher.target.credential_id,
            "serial_number": teacher.target.serial_number,
        }
    return detail


def _needs_enrolment(provider: SigningProvider) -> str:
    return (
        f"Chưa có chứng thư số dùng được ở {provider.label}: người này cần đăng ký "
        "dịch vụ ký số trước khi chuyển."
    )


def _enrolment_failed(provider: SigningProvider) -> str:
    return (
        f"Đã yêu cầu {provider.label} cấp chứng thư số nhưng chưa có chứng thư "
        "dùng được; thử lại sau hoặc liên hệ nhà cung cấp."
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
