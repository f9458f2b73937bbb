"""The demo's sign-in: simulated VNeID and provincial SSO on loopback, with demo people.

The teacher, principal, a guardian and their child from the demo school, a
department officer the demo grants the role to, and an officer of the demo's admission
service are citizens at both simulators, so a newcomer signs in as each of them by
picking the name on the simulator's page.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.identity.oidc.simulator import Simulation as OIDCSimulation
from hub.adapters.identity.oidc.simulator import simulate as simulate_oidc
from hub.adapters.identity.vneid import load_rp_key
from hub.adapters.identity.vneid.simulator import VNeIDSimulation
from hub.adapters.identity.vneid.simulator import simulate as simulate_vneid
from hub.config import Settings
from hub.db import models, roles
from hub.db.engine import Database
from hub.domain.enums import ClientKind, OrgLevel, Sex
from hub.domain.personal_id import compose

#: The department officer the demo creates (the operator grants the role in production).
OFFICER_NAME = "Đỗ Minh Cán Bộ Sở"
OFFICER_ID = compose("001", 1978, Sex.MALE, 990_001)
#: The demo's admission service (an API client of kind ADMISSION, kept between runs so
#: the consents given to it stay) and its officer, named as an operator would with
#: ``hub people grant --admission``.
ADMISSION_SERVICE_NAME = "Cổng tuyển sinh lớp 10 (bản chạy thử)"
ADMISSION_OFFICER_NAME = "Phan Thị Tuyển Sinh"
ADMISSION_OFFICER_ID = compose("001", 1984, Sex.FEMALE, 990_002)
#: What the simulators say of a demo person whose birth date the records do not hold.
UNKNOWN_BIRTH_DATE = date(1980, 1, 1)


@dataclass(frozen=True)
class DemoPerson:
    role: str  # what the demo prints: "Giáo viên chủ nhiệm 6A1"
    full_name: str
    personal_id: str
    birth_date: date | None
    account_level: int = 2


@dataclass
class DemoIdentity:
    """The identity simulators running, and the settings that point the hub at them."""

    people: list[DemoPerson]
    vneid: VNeIDSimulation
    oidc: OIDCSimulation
    settings: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        self.vneid.stop()
        self.oidc.stop()


async def demo_people(settings: Settings, school_code: str) -> list[DemoPerson]:
    """The demo school's teacher, principal, a verified guardian and child, an officer
    (granted the department role here, as an operator would with ``hub people grant``)
    and the demo admission service's officer."""
    db = Database(settings.database_url)
    found: list[DemoPerson] = []
    try:
        async with db.unit_of_work() as session:
            school = await session.scalar(
                select(models.School).where(models.School.moet_code == school_code)
            )
            assert school is not None
            school_class = await session.scalar(
                select(models.SchoolClass)
                .join(models.SchoolYear, models.SchoolYear.id == models.SchoolClass.school_year_id)
                .where(
                    models.SchoolClass.school_id == school.id,
                    models.SchoolYear.is_current.is_(True),
                    models.SchoolClass.homeroom_teacher_id.is_not(None),
                )
                .order_by(models.SchoolClass.grade, models.SchoolClass.name)
            )
            if school_class is not None:
                teacher = await roles.homeroom_teacher(session, class_id=school_class.id)
                if teacher is not None:
                    found.append(
                        DemoPerson(
                            f"Giáo viên chủ nhiệm lớp {school_class.name}",
                            teacher.full_name,
                            teacher.personal_id,
                            teacher.birth_date,
                        )
                    )
                link = await session.execute(
                    select(models.Guardian, models.Student)
                    .join(
                        models.GuardianLink, models.GuardianLink.guardian_id == models.Guardian.id
                    )
                    .join(models.Student, models.Student.id == models.GuardianLink.student_id)
                    .join(models.Enrolment, models.Enrolment.student_id == models.Student.id)
                    .where(
                        models.Enrolment.class_id == school_class.id,
                        models.GuardianLink.verified.is_(True),
                        models.Guardian.personal_id.is_not(None),
                        models.Student.personal_id.is_not(None),
                    )
                    .order_by(models.Student.id)
                    .limit(1)
                )
                pair = link.first()
                if pair is not None:
                    guardian, child = pair
                    found.append(
                        DemoPerson(
                            f"Cha mẹ của em {child.full_name}",
                            guardian.full_name,
                            guardian.personal_id or "",
                            None,
                        )
                    )
                    found.append(
                        DemoPerson(
                            f"Học sinh lớp {school_class.name}",
                            child.full_name,
                            child.personal_id or "",
                            child.birth_date,
                            account_level=1,
                        )
                    )
            principal = await roles.principal(session, school_id=school.id)
            if principal is not None:
                found.insert(
                    1,
                    DemoPerson(
                        f"Hiệu trưởng {school.name}",
                        principal.full_name,
                        principal.personal_id,
                        principal.birth_date,
                    ),
                )
            officer = await session.scalar(
                select(models.DepartmentOfficer).where(
                    models.DepartmentOfficer.personal_id == OFFICER_ID
                )
            )
            if officer is None:
                session.add(
                    models.DepartmentOfficer(
                        personal_id=OFFICER_ID, full_name=OFFICER_NAME, granted_by="hub demo"
                    )
                )
            found.append(DemoPerson("Cán bộ Sở GDĐT", OFFICER_NAME, OFFICER_ID, None))
            await _admission_officer(session)
            found.append(
                DemoPerson(
                    f"Tuyển sinh: cán bộ của {ADMISSION_SERVICE_NAME}",
                    ADMISSION_OFFICER_NAME,
                    ADMISSION_OFFICER_ID,
                    None,
                )
            )
    finally:
        await db.dispose()
    return found


async def _admission_officer(session: AsyncSession) -> None:
    """The demo admission service (made once) and its officer: a guardian consents to
    it on ``/family``, and the officer reads the shared transcript on ``/admission``."""
    from hub.auth.clients import create_client
    from hub.auth.people import grant_admission_officer

    client_id = await session.scalar(
        select(models.ApiClient.client_id).where(
            models.ApiClient.name == ADMISSION_SERVICE_NAME,
            models.ApiClient.kind == ClientKind.ADMISSION,
            models.ApiClient.deleted_at.is_(None),
        )
    )
    if client_id is None:
        created = await create_client(
            session,
            name=ADMISSION_SERVICE_NAME,
            kind=ClientKind.ADMISSION,
            scopes=["transcripts:read", "personal-ids:read"],
            org_level=OrgLevel.DEPARTMENT,
        )
        client_id = created.client_id
    await grant_admission_officer(
        session,
        personal_id=ADMISSION_OFFICER_ID,
        full_name=ADMISSION_OFFICER_NAME,
        client_id=client_id,
        granted_by="hub demo",
    )


def start_identity(settings: Settings, people: list[DemoPerson]) -> DemoIdentity:
    """Start both simulators on loopback with ``people`` as their citizens."""
    callback = f"{settings.issuer}/auth/callback"
    vneid = simulate_vneid(load_rp_key(settings).public_key(), redirect_uris=[callback])
    oidc = simulate_oidc(redirect_uris=[callback])
    for person in people:
        born = person.birth_date or UNKNOWN_BIRTH_DATE
        vneid.add_citizen(
            person.personal_id, person.full_name, born, account_level=person.account_level
        )
        oidc.add_user(person.personal_id, person.full_name, born)
    return DemoIdentity(people, vneid, oidc, settings=vneid.settings | oidc.settings)
