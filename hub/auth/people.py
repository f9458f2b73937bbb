"""The roles a person holds, read from the hub's records by their personal ID (issue 11).

:func:`load_person` answers "who is this person here" for a sign-in, a session and a
person-bound token; :func:`bind` narrows a program's reach to the person it acts for;
:func:`admission_caller` is an admission officer reading as their admission service.
"""

from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.access import SCOPES, Caller
from hub.auth.client_reach import load_caller
from hub.db import models
from hub.db.roles import is_principal_record
from hub.domain.enums import ClientKind, OrgLevel
from hub.domain.people import AdmissionService, Child, HomeroomClass, Person, SchoolRole
from hub.domain.personal_id import is_well_formed
from hub.domain.text import clean_text


async def load_person(session: AsyncSession, personal_id: str, full_name: str = "") -> Person:
    """The person holding ``personal_id`` with every role the records give them.

    ``full_name`` (from the identity provider) is used only when no record names the
    person; a person with no role at all comes back with :attr:`Person.known` false.
    """
    staff = (
        await session.execute(
            select(models.Staff.id, models.Staff.full_name).where(
                models.Staff.personal_id == personal_id
            )
        )
    ).first()
    schools: tuple[SchoolRole, ...] = ()
    homeroom: tuple[HomeroomClass, ...] = ()
    principal_of: frozenset[int] = frozenset()
    if staff is not None:
        assignment = models.StaffAssignment
        rows = (
            await session.execute(
                select(assignment.school_id, models.School.name, assignment.role)
                .join(models.School, models.School.id == assignment.school_id)
                .where(assignment.staff_id == staff.id)
                .order_by(assignment.school_id, assignment.role)
            )
        ).all()
        schools = tuple(SchoolRole(row.school_id, row.name, row.role) for row in rows)
        principal_of = frozenset(
            (
                await session.scalars(
                    select(assignment.school_id).where(
                        assignment.staff_id == staff.id, is_principal_record()
                    )
                )
            ).all()
        )
        classes = (
            await session.execute(
                select(
                    models.SchoolClass.id,
                    models.SchoolClass.name,
                    models.SchoolClass.school_id,
                    models.School.name.label("school_name"),
                )
                .join(models.School, models.School.id == models.SchoolClass.school_id)
                .join(models.SchoolYear, models.SchoolYear.id == models.SchoolClass.school_year_id)
                .where(
                    models.SchoolClass.homeroom_teacher_id == staff.id,
                    models.SchoolYear.is_current.is_(True),
                )
                .order_by(models.SchoolClass.id)
            )
        ).all()
        homeroom = tuple(
            HomeroomClass(row.id, row.name, row.school_id, row.school_name) for row in classes
        )
    officer = (
        await session.execute(
            select(models.DepartmentOfficer.full_name, models.DepartmentOfficer.district_id).where(
                models.DepartmentOfficer.personal_id == personal_id,
                models.DepartmentOfficer.revoked_at.is_(None),
            )
        )
    ).first()
    guardian = (
        await session.execute(
            select(models.Guardian.id, models.Guardian.full_name).where(
                models.Guardian.personal_id == personal_id
            )
        )
    ).first()
    office_school_ids: frozenset[int] = frozenset()
    if officer is not None and officer.district_id is not None:
        office_school_ids = frozenset(
            (
                await session.scalars(
                    select(models.School.id).where(models.School.district_id == officer.district_id)
                )
            ).all()
        )
    children: tuple[Child, ...] = ()
    if guardian is not None:
        link = models.GuardianLink
        links = (
            await session.execute(
                select(
                    models.Student.id,
                    models.Student.full_name,
                    models.Student.birth_date,
                    models.Student.school_id,
                    link.relation,
                )
                .join(link, link.student_id == models.Student.id)
                .where(link.guardian_id == guardian.id, link.verified.is_(True))
                .order_by(models.Student.id)
            )
        ).all()
        children = tuple(
            Child(row.id, row.full_name, row.birth_date, row.school_id, row.relation)
            for row in links
        )
    pupil = (
        await session.execute(
            select(models.Student.id, models.Student.full_name).where(
                models.Student.personal_id == personal_id
            )
        )
    ).first()
    admits = (
        await session.execute(
            select(models.AdmissionOfficer.full_name, models.AdmissionOfficer.client_id).where(
                models.AdmissionOfficer.personal_id == personal_id,
                models.AdmissionOfficer.revoked_at.is_(None),
            )
        )
    ).first()
    name = next(
        (row.full_name for row in (staff, officer, guardian, pupil, admits) if row is not None),
        full_name,
    )
    return Person(
        personal_id=personal_id,
        full_name=name,
        staff_id=staff.id if staff else None,
        schools=schools,
        homeroom_classes=homeroom,
        principal_of=principal_of,
        department_officer=officer is not None,
        office_district_id=None if officer is None else officer.district_id,
        office_school_ids=office_school_ids,
        guardian_id=guardian.id if guardian else None,
        children=children,
        student_id=pupil.id if pupil else None,
        admission=None if admits is None else await _admission_service(session, admits.client_id),
    )


async def _admission_service(session: AsyncSession, client_id: str) -> AdmissionService | None:
    """The admission service ``client_id`` with what its own caller reads; None when it
    is no longer an enabled admission client."""
    client = (
        await session.execute(
            select(models.ApiClient.name, models.ApiClient.kind).where(
                models.ApiClient.client_id == client_id
            )
        )
    ).first()
    if client is None or client.kind is not ClientKind.ADMISSION:
        return None
    service = await load_caller(session, client_id, frozenset(SCOPES))
    if service is None:  # disabled or deleted
        return None
    return AdmissionService(
        client_id=client_id,
        name=client.name,
        scopes=service.scopes,
        org_level=service.org_level,
        school_ids=service.school_ids,
    )


def reach_of(person: Person) -> frozenset[int] | None:
    """The schools whose records the person's own roles reach (None: the department).

    A department officer reaches the department, a district office's officer that
    district's schools (and any they work at); staff reach the schools they work at;
    a guardian or pupil reaches no school's records — they read their own and their
    children's through ``me``, never a school's lists.
    """
    if person.department_officer and person.office_district_id is None:
        return None
    if person.department_officer:
        return person.office_school_ids | person.staff_school_ids
    return person.staff_school_ids


def bind(caller: Caller, person: Person) -> Caller:
    """``caller`` acting for ``person``: the client's reach narrowed to the person's."""
    own = reach_of(person)
    if own is None:
        school_ids = caller.school_ids
    elif caller.school_ids is None:
        school_ids = own
    else:
        school_ids = caller.school_ids & own
    return replace(caller, school_ids=school_ids, person=person)


#: What a person may do with the hub's own pages (a browser session, no app between):
#: staff read their schools' records and sign; a principal also drafts and locks; a
#: department officer reads reports and runs the department's work. A guardian or a
#: pupil reads only their own and their children's data, through ``me``.
STAFF_SCOPES = frozenset(
    {
        "students:read",
        "staff:read",
        "certificates:read",
        "assessments:read",
        "transcripts:read",
        "transcripts:sign",
    }
)
PRINCIPAL_SCOPES = STAFF_SCOPES | {"transcripts:write", "students:write"}
OFFICER_SCOPES = STAFF_SCOPES | {"reports:read", "sync:run", "audit:read", "changes:read"}


def session_scopes(person: Person) -> frozenset[str]:
    """The scopes a person's own browser session carries, from their roles."""
    scopes: frozenset[str] = frozenset()
    if person.is_staff:
        scopes |= PRINCIPAL_SCOPES if person.principal_of else STAFF_SCOPES
    if person.department_officer:
        scopes |= OFFICER_SCOPES
    return scopes


#: The client id the audit log names for the hub's own pages (no app between).
WEB_CLIENT_ID = "hub-web"


def admission_caller(person: Person) -> Caller | None:
    """The caller of an admission officer's reads: their admission service itself,
    acting for them — its client id, so that the consent check every read of it passes
    (:func:`hub.auth.access.consented`, :func:`hub.consents.service.require_consent`)
    counts the consents given to that service alone, its scopes and its reach. The
    officer's other roles add nothing to it. None for a person who is no such officer.
    """
    service = person.admission
    if service is None:
        return None
    return Caller(
        client_id=service.client_id,
        scopes=service.scopes,
        org_level=service.org_level,
        school_ids=service.school_ids,
        person=person,
        kind=ClientKind.ADMISSION,
    )


def reads_as_admission_service(person: Person) -> bool:
    """Whether every read of the person's browser session is their admission service's:
    an admission officer holding no other role. A teacher or a parent who also admits
    keeps their own session; ``/admission`` reads as the service for them."""
    return (
        person.admission is not None
        and not person.is_staff
        and not person.department_officer
        and not person.children
        and person.student_id is None
    )


def session_caller(person: Person) -> Caller:
    """The caller of a request made with a person's browser session."""
    admission = admission_caller(person) if reads_as_admission_service(person) else None
    if admission is not None:
        return admission
    reach = reach_of(person)
    return Caller(
        client_id=WEB_CLIENT_ID,
        scopes=session_scopes(person),
        org_level=(
            OrgLevel.DEPARTMENT
            if reach is None
            else OrgLevel.DISTRICT
            if person.office_district_id is not None
            else OrgLevel.SCHOOL
        ),
        school_ids=reach,
        person=person,
    )


class OfficerError(ValueError):
    """A department or admission role cannot be granted or revoked as asked."""


def _officer_name(personal_id: str, full_name: str) -> str:
    """The name to store for an officer, or OfficerError for a malformed ID or name."""
    if not is_well_formed(personal_id):
        raise OfficerError("a personal ID has exactly 12 digits")
    cleaned = clean_text(full_name, field="fullName", limit=200, required=True)
    if cleaned.value is None:
        raise OfficerError(cleaned.problems[0].message_en)
    return cleaned.value


_Grant = TypeVar("_Grant", models.DepartmentOfficer, models.AdmissionOfficer)
"""A role an operator grants by personal ID: one row a person, revoked in place."""


async def _grant(
    session: AsyncSession,
    record: type[_Grant],
    *,
    personal_id: str,
    **fields: object,
) -> None:
    """Give the person holding ``personal_id`` the role ``record`` stores, with
    ``fields``: a new row, or their old one overwritten and no longer revoked."""
    found = await session.scalar(select(record).where(record.personal_id == personal_id))
    if found is None:
        session.add(record(personal_id=personal_id, **fields))
    else:
        for field, value in fields.items():
            setattr(found, field, value)
        found.revoked_at = None
    await session.flush()


async def _revoke(session: AsyncSession, record: type[_Grant], *, personal_id: str) -> bool:
    """Mark the person's unrevoked ``record`` row revoked now; False when there is none."""
    found = await session.scalar(
        select(record).where(record.personal_id == personal_id, record.revoked_at.is_(None))
    )
    if found is None:
        return False
    found.revoked_at = datetime.now(UTC)
    await session.flush()
    return True


async def _newest_grant_first(session: AsyncSession, record: type[_Grant]) -> list[_Grant]:
    """Every ``record`` row, revoked or not, newest grant first."""
    return list(
        (
            await session.scalars(
                select(record).order_by(record.granted_at.desc(), record.id.desc())
            )
        ).all()
    )


async def grant_officer(
    session: AsyncSession,
    *,
    personal_id: str,
    full_name: str,
    granted_by: str,
    district_code: str | None = None,
) -> str:
    """Grant the department role (cán bộ Sở) to the person holding ``personal_id``, or
    with ``district_code`` the role of that district office's officer (Phòng GDĐT).

    An operator's act (``hub people grant``): no app and no identity provider can
    grant it. Granting again after a revocation restores the role (with the district
    given now). Returns the name as stored.
    """
    name = _officer_name(personal_id, full_name)
    district_id = None
    if district_code is not None:
        district_id = await session.scalar(
            select(models.District.id).where(models.District.code == district_code)
        )
        if district_id is None:
            raise OfficerError(f"no district has the code {district_code!r}")
    await _grant(
        session,
        models.DepartmentOfficer,
        personal_id=personal_id,
        full_name=name,
        granted_by=granted_by,
        district_id=district_id,
    )
    return name


async def revoke_officer(session: AsyncSession, *, personal_id: str) -> bool:
    """Take the department role away, at once in every API process (migration 0015).

    False when the person held no such role.
    """
    return await _revoke(session, models.DepartmentOfficer, personal_id=personal_id)


async def officers(session: AsyncSession) -> list[models.DepartmentOfficer]:
    """Everyone who holds or held the department role, newest grant first."""
    return await _newest_grant_first(session, models.DepartmentOfficer)


async def grant_admission_officer(
    session: AsyncSession, *, personal_id: str, full_name: str, client_id: str, granted_by: str
) -> str:
    """Make the person holding ``personal_id`` an officer of the admission service
    ``client_id`` (cán bộ tuyển sinh): signed in, they read on ``/admission`` what the
    service reads, under the families' consents given to it.

    An operator's act (``hub people grant --admission``), as the department role is. A
    person is an officer of one service at a time: granting another moves them, and
    granting again after a revocation restores the role. Returns the name as stored.
    """
    name = _officer_name(personal_id, full_name)
    kind = await session.scalar(
        select(models.ApiClient.kind).where(
            models.ApiClient.client_id == client_id, models.ApiClient.deleted_at.is_(None)
        )
    )
    if kind is not ClientKind.ADMISSION:
        raise OfficerError(f"no admission service has the client id {client_id!r}")
    await _grant(
        session,
        models.AdmissionOfficer,
        personal_id=personal_id,
        full_name=name,
        granted_by=granted_by,
        client_id=client_id,
    )
    return name


async def revoke_admission_officer(session: AsyncSession, *, personal_id: str) -> bool:
    """Take the admission officer's role away, at once in every API process (migration
    0018). False when the person held no such role."""
    return await _revoke(session, models.AdmissionOfficer, personal_id=personal_id)


async def admission_officers(session: AsyncSession) -> list[models.AdmissionOfficer]:
    """Everyone who is or was an admission service's officer, newest grant first."""
    return await _newest_grant_first(session, models.AdmissionOfficer)
