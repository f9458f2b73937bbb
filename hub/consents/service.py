"""The consent service: give, agree, revoke, list, the receipt, and the check reads use.

The rule — who consents, what makes a consent valid, the text shown — is
:mod:`hub.domain.consent`; this module reads and writes the rows. A person acts only
on consents that concern them (:func:`hub.domain.consent.concerns`); any other
consent id is CONSENT_NOT_FOUND, whether it exists or not.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.access import Caller
from hub.db import models
from hub.domain import consent as rule
from hub.domain.certificates import as_utc
from hub.domain.enums import ClientKind
from hub.domain.people import Person
from hub.domain.personal_data import mask_personal_id
from hub.domain.problems import Code, HubError


@dataclass(frozen=True)
class ShownText:
    """The consent text a person reads before agreeing, and its version."""

    version: str
    text: str
    terms: rule.ConsentTerms


@dataclass(frozen=True)
class ConsentView:
    """A consent with what a person needs to recognise it."""

    consent: models.Consent
    student_name: str
    birth_date: date | None
    recipient_name: str

    def status(self, at: datetime) -> rule.ConsentStatus:
        return rule.status(self.consent, birth_date=self.birth_date, at=at)

    def pupil_agreement_required(self, at: datetime) -> bool:
        return rule.pupil_agreement_required(self.birth_date, rule.day_in_vietnam(at))


async def controller_name(session: AsyncSession) -> str:
    """The data controller named in the text: the department (Sở GDĐT) the hub serves."""
    name = await session.scalar(
        select(models.Department.name).order_by(models.Department.id).limit(1)
    )
    return name or "Sở Giáo dục và Đào tạo"


async def _recipient(session: AsyncSession, client_id: str) -> models.ApiClient:
    """The admission service ``client_id`` names, or CONSENT_INVALID."""
    client = await session.scalar(
        select(models.ApiClient).where(models.ApiClient.client_id == client_id)
    )
    if client is None or client.deleted_at is not None or client.kind is not ClientKind.ADMISSION:
        raise HubError(
            Code.CONSENT_INVALID,
            reason=f"“{client_id[:64]}” không phải một dịch vụ tuyển sinh đã đăng ký",
            details_en={"reason": f"“{client_id[:64]}” is not a registered admission service"},
        )
    return client


async def _known_years(session: AsyncSession, codes: Sequence[str]) -> None:
    known = set(
        await session.scalars(
            select(models.SchoolYear.code).where(models.SchoolYear.code.in_(list(codes)))
        )
    )
    missing = [code for code in codes if code not in known]
    if missing:
        raise HubError(
            Code.CONSENT_INVALID,
            reason=f"không có năm học {', '.join(missing)}",
            details_en={"reason": f"there is no school year {', '.join(missing)}"},
        )


async def recipients(session: AsyncSession) -> list[tuple[str, str]]:
    """The admission services a consent may name, as (client id, name), by name."""
    rows = await session.execute(
        select(models.ApiClient.client_id, models.ApiClient.name)
        .where(
            models.ApiClient.kind == ClientKind.ADMISSION,
            models.ApiClient.deleted_at.is_(None),
            models.ApiClient.disabled.is_(False),
        )
        .order_by(models.ApiClient.name, models.ApiClient.client_id)
    )
    return [(client_id, name) for client_id, name in rows]


async def text_for(
    session: AsyncSession,
    *,
    recipient: str,
    purpose: str | None,
    school_years: Sequence[str],
    until: date,
    now: datetime,
) -> ShownText:
    """The exact text (of :data:`~hub.domain.consent.TEXT_VERSION`) a person reads
    before consenting to these terms; CONSENT_INVALID when the terms cannot be given."""
    terms = rule.terms(purpose=purpose, school_years=school_years, until=until, now=now)
    client = await _recipient(session, recipient)
    await _known_years(session, terms.school_years)
    text = rule.consent_text(
        controller=await controller_name(session),
        recipient=client.name,
        recipient_id=client.client_id,
        purpose=terms.purpose,
        school_years=terms.school_years,
        first_day=rule.day_in_vietnam(terms.valid_from),
        last=until,
    )
    return ShownText(rule.TEXT_VERSION, text, terms)


async def give(
    session: AsyncSession,
    *,
    person: Person,
    student_id: int,
    recipient: str,
    purpose: str | None,
    school_years: Sequence[str],
    until: date,
    text_version: str,
    now: datetime,
) -> models.Consent:
    """Record ``person``'s consent for ``recipient`` to read the pupil's transcripts.

    ``text_version`` is the version of the text the person was shown; only the current
    one is accepted. The giver is a verified guardian, or the pupil of age (whose
    consent is their agreement too); anyone else is told GUARDIAN_NOT_VERIFIED,
    whether the pupil exists or not.
    """
    if text_version != rule.TEXT_VERSION:
        raise HubError(
            Code.CONSENT_INVALID,
            reason=f"nội dung đồng ý đã được cập nhật (phiên bản {rule.TEXT_VERSION}); "
            "vui lòng đọc lại trước khi đồng ý",
            details_en={
                "reason": f"the consent text has changed (version {rule.TEXT_VERSION}); "
                "read it again before consenting"
            },
        )
    shown = await text_for(
        session,
        recipient=recipient,
        purpose=purpose,
        school_years=school_years,
        until=until,
        now=now,
    )
    today = rule.day_in_vietnam(now)
    birth_date = await session.scalar(
        select(models.Student.birth_date).where(models.Student.id == student_id)
    )
    if not rule.may_give(person, student_id=student_id, birth_date=birth_date, on=today):
        if person.represents(student_id):  # the pupil is of age and consents alone
            raise HubError(
                Code.CONSENT_INVALID,
                reason="học sinh đã đủ 18 tuổi, tự mình đồng ý",
                details_en={"reason": "the pupil is 18 or more and consents alone"},
            )
        raise HubError(Code.GUARDIAN_NOT_VERIFIED)
    own = rule.gives_own_consent(birth_date, today)
    given = models.Consent(
        student_id=student_id,
        recipient=recipient,
        purpose=shown.terms.purpose,
        documents=shown.terms.documents,
        valid_from=shown.terms.valid_from,
        valid_until=shown.terms.valid_until,
        text_version=shown.version,
        given_by=person.personal_id,
        pupil_agreed_at=as_utc(now) if own else None,
        created_at=as_utc(now).replace(tzinfo=None),
    )
    session.add(given)
    await session.flush()
    return given


async def _concerning(
    session: AsyncSession, person: Person, consent_id: int, *, lock: bool = False
) -> models.Consent:
    """The consent ``consent_id`` if it concerns ``person``, else CONSENT_NOT_FOUND."""
    statement = select(models.Consent).where(models.Consent.id == consent_id)
    found = await session.scalar(statement.with_for_update() if lock else statement)
    if found is None or not rule.concerns(
        person, student_id=found.student_id, given_by=found.given_by
    ):
        raise HubError(Code.CONSENT_NOT_FOUND)
    return found


async def agree(
    session: AsyncSession, *, person: Person, consent_id: int, now: datetime
) -> models.Consent:
    """The pupil's own agreement to a consent given for them (signed in as themself)."""
    found = await _concerning(session, person, consent_id, lock=True)
    if person.student_id != found.student_id:
        raise HubError(Code.CONSENT_NOT_FOUND)
    # Only withdrawal and expiry matter here, which the pupil's age does not change.
    state = rule.status(found, birth_date=None, at=now)
    if state in (rule.ConsentStatus.REVOKED, rule.ConsentStatus.EXPIRED):
        raise HubError(
            Code.CONSENT_INVALID,
            reason=f"sự đồng ý {state.label.lower()}",
            details_en={"reason": f"the consent is {state.value.lower()}"},
        )
    if found.pupil_agreed_at is None:
        found.pupil_agreed_at = as_utc(now)
        await session.flush()
    return found


async def revoke(
    session: AsyncSession, *, person: Person, consent_id: int, now: datetime
) -> models.Consent:
    """Withdraw a consent: reads under it stop at once. The giver, the pupil or any
    verified guardian of the pupil may; withdrawing twice changes nothing."""
    found = await _concerning(session, person, consent_id, lock=True)
    if found.revoked_at is None:
        found.revoked_at = as_utc(now)
        found.revoked_by = person.personal_id
        await session.flush()
    return found


def _views() -> Select[models.Consent, str, date | None, str]:
    return (
        select(
            models.Consent,
            models.Student.full_name,
            models.Student.birth_date,
            models.ApiClient.name,
        )
        .join(models.Student, models.Student.id == models.Consent.student_id)
        .outerjoin(models.ApiClient, models.ApiClient.client_id == models.Consent.recipient)
    )


async def concerning(session: AsyncSession, *, person: Person) -> list[ConsentView]:
    """Every consent that concerns ``person``, newest first: given by them, about them
    as a pupil, or about a child they are the verified guardian of."""
    about = set(person.child_ids)
    if person.student_id is not None:
        about.add(person.student_id)
    rows = await session.execute(
        _views()
        .where(
            or_(
                models.Consent.given_by == person.personal_id,
                models.Consent.student_id.in_(sorted(about)),
            )
        )
        .order_by(models.Consent.id.desc())
    )
    return [
        ConsentView(found, name, birth, recipient or found.recipient)
        for found, name, birth, recipient in rows
    ]


async def view(session: AsyncSession, *, person: Person, consent_id: int) -> ConsentView:
    """One consent that concerns ``person``, else CONSENT_NOT_FOUND."""
    row = (await session.execute(_views().where(models.Consent.id == consent_id))).first()
    if row is None or not rule.concerns(
        person, student_id=row[0].student_id, given_by=row[0].given_by
    ):
        raise HubError(Code.CONSENT_NOT_FOUND)
    found, name, birth, recipient = row
    return ConsentView(found, name, birth, recipient or found.recipient)


async def receipt(
    session: AsyncSession,
    *,
    person: Person,
    consent_id: int,
    now: datetime,
    base_url: str,
) -> rule.Receipt:
    """The receipt of a consent that concerns ``person``: its terms, the full text of
    the version shown, who gave it (masked), the pupil's agreement, any withdrawal."""
    shown = await view(session, person=person, consent_id=consent_id)
    found = shown.consent
    first_day = rule.day_in_vietnam(found.valid_from)
    years = rule.school_years_of(found)
    controller = await controller_name(session)
    text = rule.consent_text(
        controller=controller,
        recipient=shown.recipient_name,
        recipient_id=found.recipient,
        purpose=found.purpose,
        school_years=years,
        first_day=first_day,
        last=rule.last_day(found.valid_until),
        version=found.text_version,
    )
    link = f"{base_url}/me/consents/{found.id}"
    return rule.Receipt(
        consent_id=found.id,
        student_id=found.student_id,
        student_name=shown.student_name,
        recipient_id=found.recipient,
        recipient_name=shown.recipient_name,
        purpose=found.purpose,
        school_years=years,
        valid_from=as_utc(found.valid_from),
        valid_until=as_utc(found.valid_until),
        text_version=found.text_version,
        text=text,
        given_by=mask_personal_id(found.given_by),
        given_at=as_utc(found.created_at),
        pupil_agreement_required=shown.pupil_agreement_required(now),
        pupil_agreed_at=found.pupil_agreed_at and as_utc(found.pupil_agreed_at),
        revoked_at=found.revoked_at and as_utc(found.revoked_at),
        revoked_by=found.revoked_by and mask_personal_id(found.revoked_by),
        status=shown.status(now),
        controller=controller,
        issued_at=as_utc(now),
        urls={"json": f"{link}.json", "pdf": f"{link}.pdf"},
    )


async def require_consent(
    session: AsyncSession,
    caller: Caller,
    *,
    student_id: int,
    school_year_code: str,
    at: datetime | None = None,
) -> int:
    """The id of the consent under which ``caller`` (an admission service) reads the
    pupil's transcript of ``school_year_code`` now (the latest given of those in
    force); CONSENT_REQUIRED, which says nothing of the pupil, when there is none."""
    moment = as_utc(at or datetime.now(UTC))
    rows = await session.execute(
        select(models.Consent, models.Student.birth_date)
        .join(models.Student, models.Student.id == models.Consent.student_id)
        .where(
            models.Consent.student_id == student_id,
            models.Consent.recipient == caller.client_id,
        )
        .order_by(models.Consent.id.desc())
    )
    for found, birth_date in rows:
        if rule.is_valid(
            found,
            recipient=caller.client_id,
            school_year=school_year_code,
            at=moment,
            birth_date=birth_date,
        ):
            return found.id
    raise HubError(Code.CONSENT_REQUIRED)
