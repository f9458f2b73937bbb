"""The roles a person holds, read from the hub's records by their personal ID (issue 11).

:func:`load_person` answers "who is this person here" for a sign-in, a session and a
person-bound token; :func:`bind` narrows a program's reach to the person it acts for.
"""

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.access import Caller
from hub.db import models
from hub.db.roles import is_principal_record
from hub.domain.enums import OrgLevel
from hub.domain.people import Child, HomeroomClass, Person, SchoolRole
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
            select(models.DepartmentOfficer.full_name).where(
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
    name = next(
        (row.full_name for row in (staff, officer, guardian, pupil) if row is not None),
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
        guardian_id=guardian.id if guardian else None,
        children=children,
        student_id=pupil.id if pupil else None,
    )


def reach_of(person: Person) -> frozenset[int] | None:
    """The schools whose records the person's own roles reach (None: the department).

    A department officer reaches the department; staff reach the schools they work
    at; a guardian or pupil reaches no school's records — they read their own and
    their children's through ``me``, never a school's lists.
    """
    if person.department_officer:
        return None
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


def session_caller(person: Person) -> Caller:
    """The caller of a request made with a person's browser session."""
    reach = reach_of(person)
    return Caller(
        client_id=WEB_CLIENT_ID,
        scopes=session_scopes(person),
        org_level=OrgLevel.DEPARTMENT if reach is None else OrgLevel.SCHOOL,
        school_ids=reach,
        person=person,
    )


class OfficerError(ValueError):
    """A department role cannot be granted or revoked as asked."""


async def grant_officer(
    session: AsyncSession, *, personal_id: str, full_name: str, granted_by: str
) -> str:
    """Grant the department role (cán bộ Sở) to the person holding ``personal_id``.

    An operator's act (``hub people grant``): no app and no identity provider can
    grant it. Granting again after a revocation restores the role. Returns the name
    as stored.
    """
    if not is_well_formed(personal_id):
        raise OfficerError("a personal ID has exactly 12 digits")
    cleaned = clean_text(full_name, field="fullName", limit=200, required=True)
    if cleaned.value is None:
        raise OfficerError(cleaned.problems[0].message_en)
    name = cleaned.value
    found = await session.scalar(
        select(models.DepartmentOfficer).where(models.DepartmentOfficer.personal_id == personal_id)
    )
    if found is None:
        session.add(
            models.DepartmentOfficer(personal_id=personal_id, full_name=name, granted_by=granted_by)
        )
    else:
        found.full_name, found.granted_by, found.revoked_at = name, granted_by, None
    await session.flush()
    return name


async def revoke_officer(session: AsyncSession, *, personal_id: str) -> bool:
    """Take the department role away, at once in every API process (migration 0015).

    False when the person held no such role.
    """
    found = await session.scalar(
        select(models.DepartmentOfficer).where(
            models.DepartmentOfficer.personal_id == personal_id,
            models.DepartmentOfficer.revoked_at.is_(None),
        )
    )
    if found is None:
        return False
    found.revoked_at = datetime.now(UTC)
    await session.flush()
    return True


async def officers(session: AsyncSession) -> list[models.DepartmentOfficer]:
    """Everyone who holds or held the department role, newest grant first."""
    return list(
        (
            await session.scalars(
                select(models.DepartmentOfficer).order_by(
                    models.DepartmentOfficer.granted_at.desc(), models.DepartmentOfficer.id.desc()
                )
            )
        ).all()
    )
