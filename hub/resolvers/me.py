"""The signed-in person's own page of the API (issue 11): who they are here, their
children, their consents, and who read a child's record.

Every function needs a person-bound caller (a program acting for a signed-in person,
or the hub's own pages): a program on its own is told SESSION_REQUIRED. The schema
(``hub.schema.me``) makes the results types.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, select
from strawberry import relay

from hub.consents import service as consents
from hub.consents.service import ConsentView, ShownText
from hub.db import models
from hub.domain.people import Person
from hub.domain.problems import Code, HubError
from hub.resolvers.context import Context, Reader
from hub.resolvers.queries import node_key


def person_of(ctx: Context) -> Person:
    """The person the request acts for; SESSION_REQUIRED for a program on its own."""
    person = ctx.caller.person
    if person is None:
        raise HubError(Code.SESSION_REQUIRED)
    return person


async def consents_of(ctx: Context) -> list[ConsentView]:
    """The consents that concern the person (given by them, about them or a child)."""
    person = person_of(ctx)
    async with ctx.db.sessions() as session:
        return await consents.concerning(session, person=person)


async def consent_text(
    ctx: Context,
    *,
    recipient_client_id: str,
    purpose: str,
    school_years: list[str],
    valid_until: date,
) -> ShownText:
    """The text to show before ``giveConsent`` (any authenticated caller may read it)."""
    ctx.caller  # noqa: B018  (authenticated)
    async with ctx.db.sessions() as session:
        return await consents.text_for(
            session,
            recipient=recipient_client_id,
            purpose=purpose,
            school_years=school_years,
            until=valid_until,
            now=ctx.now,
        )


async def give_consent(
    ctx: Context,
    *,
    student_id: relay.GlobalID,
    recipient_client_id: str,
    purpose: str,
    school_years: list[str],
    valid_until: date,
    text_version: str,
) -> ConsentView:
    person = person_of(ctx)
    async with ctx.db.unit_of_work() as session:
        given = await consents.give(
            session,
            person=person,
            student_id=node_key(student_id, "Student"),
            recipient=recipient_client_id,
            purpose=purpose,
            school_years=school_years,
            until=valid_until,
            text_version=text_version,
            now=ctx.now,
        )
        return await consents.view(session, person=person, consent_id=given.id)


async def agree_to_consent(ctx: Context, *, consent_id: relay.GlobalID) -> ConsentView:
    person = person_of(ctx)
    async with ctx.db.unit_of_work() as session:
        found = await consents.agree(
            session, person=person, consent_id=node_key(consent_id, "Consent"), now=ctx.now
        )
        return await consents.view(session, person=person, consent_id=found.id)


async def revoke_consent(ctx: Context, *, consent_id: relay.GlobalID) -> ConsentView:
    person = person_of(ctx)
    async with ctx.db.unit_of_work() as session:
        found = await consents.revoke(
            session, person=person, consent_id=node_key(consent_id, "Consent"), now=ctx.now
        )
        return await consents.view(session, person=person, consent_id=found.id)


@dataclass(frozen=True)
class ChildRead:
    """One entry of the access log of a child's record, as the family sees it."""

    id: int
    at: datetime
    action: str
    client_id: str
    program: str | None
    person: str | None  # personal ID, unmasked here: the schema masks it
    person_name: str | None  # only staff and department officers are named
    purpose: str | None
    item: str | None
    consent_id: int | None
    consent_purpose: str | None


@dataclass(frozen=True)
class ChildReads:
    reads: list[ChildRead]
    has_next: bool  # more reads beyond the page, in the direction it was read
    total: int
    beyond: bool = False  # reads on the far side of the cursor the page starts from


async def child_reads(
    ctx: Context,
    *,
    student_id: relay.GlobalID,
    first: int,
    before: int | None,
    newer_than: int | None = None,
    oldest_first: bool = False,
) -> ChildReads:
    """Who read the pupil's record, newest first: for the pupil themself and their
    verified guardians; anyone else gets an empty page, never an error that would
    tell whether the pupil exists (Law 91/2025: the person's right to know)."""
    return await reads_of_child(
        ctx.reader,
        person=person_of(ctx),
        student_id=node_key(student_id, "Student"),
        first=first,
        before=before,
        newer_than=newer_than,
        oldest_first=oldest_first,
    )


async def reads_of_child(
    reader: Reader,
    *,
    person: Person,
    student_id: int,
    first: int,
    before: int | None,
    newer_than: int | None = None,
    oldest_first: bool = False,
) -> ChildReads:
    """:func:`child_reads` on ``reader`` for ``person`` (the family's page asks it too).

    The ``first`` reads older than the entry ``before`` and newer than ``newer_than``;
    with ``oldest_first`` the oldest ones of that range (a page read backward, toward
    the newest), still answered newest first.
    """
    if not person.speaks_for(student_id):
        return ChildReads([], False, 0)
    log = models.AccessLog
    of_child = and_(log.entity == "student", log.entity_id == student_id)
    page = (
        select(
            log.id,
            log.at,
            log.action,
            log.client_id,
            log.person,
            log.purpose,
            log.item,
            log.consent_id,
            models.ApiClient.name.label("program"),
            func.coalesce(
                models.Staff.full_name,
                models.DepartmentOfficer.full_name,
                models.AdmissionOfficer.full_name,
            ).label("person_name"),
            models.Consent.purpose.label("consent_purpose"),
        )
        .outerjoin(models.ApiClient, models.ApiClient.client_id == log.client_id)
        .outerjoin(models.Staff, models.Staff.personal_id == log.person)
        .outerjoin(models.DepartmentOfficer, models.DepartmentOfficer.personal_id == log.person)
        .outerjoin(models.AdmissionOfficer, models.AdmissionOfficer.personal_id == log.person)
        # Only a consent about this child is named (the log's id is not a foreign key).
        .outerjoin(
            models.Consent,
            and_(models.Consent.id == log.consent_id, models.Consent.student_id == student_id),
        )
        .where(of_child)
        .order_by(log.id.asc() if oldest_first else log.id.desc())
        .limit(first + 1)
    )
    if before is not None:
        page = page.where(log.id < before)
    if newer_than is not None:
        page = page.where(log.id > newer_than)
    rows = list(await reader.rows(page))
    if oldest_first:
        rows = [*reversed(rows[:first]), *rows[first:]]
    total = await reader.scalar(select(func.count()).select_from(log).where(of_child))
    # The cursor the page starts from: ``before`` read forward, ``newer_than`` backward.
    start = newer_than if oldest_first else before
    beyond = False
    if start is not None:
        far = (log.id <= start) if oldest_first else (log.id >= start)
        beyond = await reader.scalar(select(log.id).where(of_child, far).limit(1)) is not None
    return ChildReads(
        [
            ChildRead(
                id=row.id,
                at=row.at,
                action=row.action,
                client_id=row.client_id,
                program=row.program,
                person=row.person,
                person_name=row.person_name,
                purpose=row.purpose,
                item=row.item,
                consent_id=row.consent_id,
                consent_purpose=row.consent_purpose,
            )
            for row in rows[:first]
        ],
        len(rows) > first,
        int(total or 0),
        beyond,
    )
