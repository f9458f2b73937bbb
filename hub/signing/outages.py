"""Signing-provider outages told, not discovered (issue 12, part 3).

The seeds' first complaint: when the Government CA's HSM server is down, teachers
get an error with no cause and nobody tells them. The providers' health check
(:meth:`hub.adapters.signing.registry.SigningProviders.check`) already knows; this
module makes it known:

- :func:`record` writes each change of a provider's status to
  ``provider_status_changes`` (migration 0016), numbered per provider, so every API
  process and the department's dashboard read one history, and exactly one process
  records — and tells — each change;
- :func:`notices_for` decides the banner a signed-in person sees: the providers they
  sign with (their own certificates, their school's seal when they apply it,
  :func:`hub.signing.service.seal_keeper_id`) that are down or degraded;
- :func:`mails_for` writes, in Vietnamese, the mail to everyone who signs with a
  provider that just went down or came back (once per change, never on every check);
- :class:`Outages` ties them to the web app: one check (:meth:`Outages.check`), the
  loop in the app's lifespan, and the current statuses the pages read (cached a moment).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.mail.smtp import Mail, Mailer
from hub.adapters.signing.base import Health, HealthStatus
from hub.adapters.signing.registry import CHECK_INTERVAL, SigningProviders
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import CertificateStatus, SigningProvider
from hub.domain.people import Person
from hub.signing.service import seal_keeper_id

log = structlog.get_logger(__name__)

VIETNAM = timezone(timedelta(hours=7))
#: The statuses a person is told about on every page.
TOLD = (HealthStatus.DOWN, HealthStatus.DEGRADED)
#: How long a process keeps the statuses it read before reading them again.
BOARD_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """A provider's current status and since when: for DOWN or DEGRADED, the first
    change of the outage (DOWN then DEGRADED is one outage), else the last change."""

    provider: SigningProvider
    status: HealthStatus
    since: datetime
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A change this process recorded: from ``before`` (None: the first one known)."""

    provider: SigningProvider
    before: HealthStatus | None
    after: HealthStatus
    at: datetime
    detail: str | None


class Telling(StrEnum):
    """What a change is worth telling people by mail."""

    DOWN = "DOWN"  # signing with the provider stopped
    BACK = "BACK"  # it works again


def worth_telling(before: HealthStatus | None, after: HealthStatus) -> Telling | None:
    """Whether people are mailed about a change: when the provider goes down and when it
    comes back from down. A slow provider (DEGRADED) still signs: the banner says so,
    but nobody is mailed for it, nor for a provider first seen up."""
    if after is HealthStatus.DOWN and before is not HealthStatus.DOWN:
        return Telling.DOWN
    if before is HealthStatus.DOWN and after is not HealthStatus.DOWN:
        return Telling.BACK
    return None


def notices_for(
    signs_with: Iterable[SigningProvider], statuses: Mapping[SigningProvider, ProviderStatus]
) -> list[ProviderStatus]:
    """The banner for a person who signs with ``signs_with``: those of their providers
    that are down or degraded, down first, then by provider; empty: no banner."""
    told = [
        statuses[provider]
        for provider in set(signs_with)
        if provider in statuses and statuses[provider].status in TOLD
    ]
    return sorted(told, key=lambda s: (s.status is not HealthStatus.DOWN, s.provider.value))


def vietnam_time(moment: datetime) -> str:
    """``14:05 ngày 07/12/2026``: a moment as a teacher reads it (Vietnam time)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(VIETNAM):%H:%M} ngày {aware.astimezone(VIETNAM):%d/%m/%Y}"


# --- the history in the database ---------------------------------------------------------


async def current(session: AsyncSession) -> dict[SigningProvider, ProviderStatus]:
    """Every provider's last recorded status; a provider never recorded is not listed
    (it has been up as far as anyone saw)."""
    change = models.ProviderStatusChange
    last = (
        select(change.provider, func.max(change.sequence).label("sequence"))
        .group_by(change.provider)
        .subquery()
    )
    rows = (
        await session.scalars(
            select(change).join(
                last, (last.c.provider == change.provider) & (last.c.sequence == change.sequence)
            )
        )
    ).all()
    statuses: dict[SigningProvider, ProviderStatus] = {}
    for row in rows:
        status = HealthStatus(row.status)
        since = row.at
        if status in TOLD:
            since = await _outage_start(session, row.provider) or row.at
        statuses[row.provider] = ProviderStatus(row.provider, status, _aware(since), row.detail)
    return statuses


async def _outage_start(session: AsyncSession, provider: SigningProvider) -> datetime | None:
    change = models.ProviderStatusChange
    last_up = (
        select(func.coalesce(func.max(change.sequence), 0))
        .where(change.provider == provider, change.status == HealthStatus.UP.value)
        .scalar_subquery()
    )
    return await session.scalar(
        select(change.at)
        .where(change.provider == provider, change.sequence > last_up)
        .order_by(change.sequence)
        .limit(1)
    )


async def history(
    session: AsyncSession, *, provider: SigningProvider | None = None, limit: int = 50
) -> list[models.ProviderStatusChange]:
    """The latest recorded changes, newest first (of one provider, or of all)."""
    query = select(models.ProviderStatusChange)
    if provider is not None:
        query = query.where(models.ProviderStatusChange.provider == provider)
    order = (models.ProviderStatusChange.at.desc(), models.ProviderStatusChange.id.desc())
    return list((await session.scalars(query.order_by(*order).limit(limit))).all())


async def record(db: Database, health: Sequence[Health]) -> list[StatusChange]:
    """Write each provider whose checked status differs from its last recorded one; the
    changes this process recorded (another process that recorded the same change
    first took its number: this one skips it)."""
    async with db.sessions() as session:
        known = await current(session)
        last_numbers = await session.execute(
            select(
                models.ProviderStatusChange.provider,
                func.max(models.ProviderStatusChange.sequence),
            ).group_by(models.ProviderStatusChange.provider)
        )
        numbers: dict[SigningProvider, int] = {p: n for p, n in last_numbers.all()}
    changes: list[StatusChange] = []
    for answer in health:
        before = known.get(answer.provider)
        if before is None and answer.status is HealthStatus.UP:
            continue
        if before is not None and before.status is answer.status:
            continue
        detail = answer.last_error[:500] if answer.last_error else None
        try:
            async with db.unit_of_work() as session:
                session.add(
                    models.ProviderStatusChange(
                        provider=answer.provider,
                        sequence=numbers.get(answer.provider, 0) + 1,
                        status=answer.status.value,
                        at=answer.checked_at,
                        detail=detail,
                    )
                )
        except IntegrityError:
            continue
        change = StatusChange(
            answer.provider,
            before.status if before else None,
            answer.status,
            answer.checked_at,
            detail,
        )
        log.warning(
            "signing_provider_status_changed",
            provider=answer.provider.value,
            before=change.before.value if change.before else None,
            after=answer.status.value,
            error=detail,
        )
        changes.append(change)
    return changes


# --- who signs with a provider --------------------------------------------------------------


def _usable() -> list[object]:
    certificate = models.SigningCertificate
    return [certificate.status == CertificateStatus.ACTIVE, certificate.retired_at.is_(None)]


async def providers_of(session: AsyncSession, person: Person) -> set[SigningProvider]:
    """The providers ``person`` signs with: their own usable certificates', and the seal's
    of each school whose seal they apply (:func:`seal_keeper_id`)."""
    certificate = models.SigningCertificate
    if person.staff_id is None:
        return set()
    owners = or_(
        certificate.staff_id == person.staff_id,
        seal_keeper_id(certificate.school_id) == person.staff_id,
    )
    rows = await session.scalars(
        select(certificate.provider).distinct().where(owners, *_usable())  # type: ignore[arg-type]
    )
    return set(rows.all())


async def people_signing_with(
    session: AsyncSession, provider: SigningProvider
) -> list[tuple[str, str]]:
    """(email, full name) of everyone with an email in the records who signs with
    ``provider``: a usable certificate of their own there, or their school's seal there
    when they apply it (:func:`seal_keeper_id`); one each, by name."""
    certificate, staff = models.SigningCertificate, models.Staff
    own = select(certificate.staff_id).where(certificate.provider == provider, *_usable())  # type: ignore[arg-type]
    keepers = select(seal_keeper_id(certificate.school_id)).where(
        certificate.provider == provider,
        certificate.school_id.is_not(None),
        *_usable(),  # type: ignore[arg-type]
    )
    rows = await session.execute(
        select(staff.email, staff.full_name)
        .where(
            or_(staff.id.in_(own), staff.id.in_(keepers)),
            staff.email.is_not(None),
            staff.email != "",
        )
        .order_by(staff.full_name, staff.id)
    )
    return [(email, name) for email, name in rows.all() if email]


# --- the mails --------------------------------------------------------------------------------

SUBJECTS = {
    Telling.DOWN: "[Học bạ số] Hệ thống ký số {provider} đang gián đoạn",
    Telling.BACK: "[Học bạ số] Hệ thống ký số {provider} đã hoạt động lại",
}
BODIES = {
    Telling.DOWN: (
        "Kính gửi thầy/cô {name},\n\n"
        "Hệ thống ký số {provider} đang gián đoạn từ {since}. Trong thời gian này chưa ký "
        "số được bằng chữ ký {provider}.\n\n"
        "Các lô ký đã gửi đang tạm dừng và sẽ tự tiếp tục khi hệ thống hoạt động lại. "
        "Thầy/cô không cần ký lại. Hệ thống Học bạ số sẽ gửi thư báo khi {provider} "
        "hoạt động trở lại.\n\n"
        "Thư này được gửi tự động từ hệ thống Học bạ số của Sở GDĐT; xin đừng trả lời thư."
    ),
    Telling.BACK: (
        "Kính gửi thầy/cô {name},\n\n"
        "Hệ thống ký số {provider} đã hoạt động lại từ {since}. Các lô ký đang tạm dừng "
        "tự tiếp tục; thầy/cô chỉ cần xác nhận trên điện thoại khi được hỏi như thường "
        "lệ, không cần ký lại.\n\n"
        "Thư này được gửi tự động từ hệ thống Học bạ số của Sở GDĐT; xin đừng trả lời thư."
    ),
}


def mails_for(change: StatusChange, people: Sequence[tuple[str, str]]) -> list[Mail]:
    """The mails telling ``people`` about ``change``: none if it is not worth telling."""
    telling = worth_telling(change.before, change.after)
    if telling is None:
        return []
    values = {"provider": change.provider.label, "since": vietnam_time(change.at)}
    return [
        Mail(
            to=email,
            to_name=name,
            subject=SUBJECTS[telling].format(**values),
            body=BODIES[telling].format(name=name, **values),
        )
        for email, name in people
    ]


# --- the web app's part -------------------------------------------------------------------------


class Outages:
    """The health check that records and tells, and the statuses the pages read."""

    def __init__(
        self, *, db: Database, providers: SigningProviders | None, mailer: Mailer | None
    ) -> None:
        self.db = db
        self.providers = providers
        self.mailer = mailer
        self._board: dict[SigningProvider, ProviderStatus] = {}
        self._board_read_at = float("-inf")

    async def check(self) -> list[StatusChange]:
        """Ask every provider once, record what changed and mail who signs with it."""
        if self.providers is None:
            return []
        changes = await record(self.db, await self.providers.check())
        self._board_read_at = float("-inf")
        for change in changes:
            await self.tell(change)
        return changes

    async def tell(self, change: StatusChange) -> int:
        """Mail everyone who signs with the changed provider; how many mails went out."""
        if self.mailer is None or worth_telling(change.before, change.after) is None:
            return 0
        async with self.db.sessions() as session:
            people = await people_signing_with(session, change.provider)
        sent = await self.mailer.send(mails_for(change, people))
        log.info("signing_provider_outage_mailed", provider=change.provider.value, sent=sent)
        return sent

    async def watch(self, interval: timedelta = CHECK_INTERVAL) -> None:
        """:meth:`check` every ``interval`` until cancelled (the web app's lifespan)."""
        while True:
            try:
                await self.check()
            except Exception:  # a provider or the database broke: log, keep watching
                log.exception("signing_provider_health_check_failed")
            await asyncio.sleep(interval.total_seconds())

    async def statuses(self) -> dict[SigningProvider, ProviderStatus]:
        """The current statuses, read again at most every :data:`BOARD_SECONDS`."""
        if time.monotonic() - self._board_read_at > BOARD_SECONDS:
            async with self.db.sessions() as session:
                self._board = await current(session)
            self._board_read_at = time.monotonic()
        return self._board

    async def any_told(self) -> bool:
        """Whether some provider is down or degraded (cheap: the cached statuses)."""
        return any(s.status in TOLD for s in (await self.statuses()).values())

    async def notices(self, person: Person) -> list[ProviderStatus]:
        """The banner's lines for ``person``; empty without an outage of their providers."""
        statuses = await self.statuses()
        if not any(s.status in TOLD for s in statuses.values()):
            return []
        async with self.db.sessions() as session:
            signs_with = await providers_of(session, person)
        return notices_for(signs_with, statuses)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
