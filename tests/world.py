"""A small, fully known province for the integration tests.

District LB has a public lower-secondary school (A, 120 students, the N+1 test's
page) and a public primary school (B); district CG has a private school (C), a
directly managed upper-secondary school (D) and a school reserved for the write
tests (W), so tests that write never disturb the figures others assert.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import (
    CertificateStatus,
    GuardianRelation,
    IdentityStatus,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)
from hub.domain.personal_id import compose
from hub.domain.text import fold
from hub.seed.catalogue import CATALOGUE

NOW = datetime.now(UTC)
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Khánh", "Linh", "Minh", "Ngọc"]


@dataclass
class SchoolFacts:
    id: int
    code: str
    students: list[int] = field(default_factory=list)
    student_personal_ids: list[str] = field(default_factory=list)
    staff: list[int] = field(default_factory=list)
    staff_with_valid_certificate: int = 0
    classes: list[int] = field(default_factory=list)


@dataclass
class World:
    districts: dict[str, int]
    schools: dict[str, SchoolFacts]
    current_year_id: int


_serial = iter(range(1, 10_000_000))

#: The district of the schools the writing tests build for themselves (signing,
#: generation jobs, robustness): no figure of the shared world counts it, so those
#: schools never change what a test asserts about Long Biên or Cầu Giấy, whatever
#: order the suite runs in.
WRITERS_DISTRICT = "GHI"


async def writers_district(session: AsyncSession) -> models.District:
    """The district :data:`WRITERS_DISTRICT`, made on first use."""
    district = await session.scalar(
        select(models.District).where(models.District.code == WRITERS_DISTRICT)
    )
    if district is None:
        department = await session.scalar(select(models.Department).order_by(models.Department.id))
        district = models.District(
            department_id=department.id, code=WRITERS_DISTRICT, name="Phòng GDĐT Thử Ghi"
        )
        session.add(district)
        await session.flush()
    return district


def _person_id(year: int, sex: Sex) -> str:
    return compose("001", year, sex, next(_serial))


async def build_world(db: Database) -> World:
    async with db.unit_of_work() as session:
        department = models.Department(code="01", name="Sở GDĐT Thử nghiệm")
        session.add(department)
        await session.flush()
        districts = {
            code: models.District(department_id=department.id, code=code, name=name)
            for code, name in [("LB", "Long Biên"), ("CG", "Cầu Giấy")]
        }
        session.add_all(districts.values())
        await session.flush()
        year = models.SchoolYear(
            code="2025-2026", starts_on=date(2025, 9, 5), ends_on=date(2026, 5, 31), is_current=True
        )
        session.add(year)
        for entry in CATALOGUE:
            subject = models.Subject(
                code=entry.code, name=entry.name, comment_only=entry.comment_only
            )
            session.add(subject)
            await session.flush()
            session.add_all(
                models.SubjectPeriods(subject_id=subject.id, grade=grade, periods_per_year=periods)
                for grade, periods in entry.periods.items()
            )
        specs = [
            (
                "A",
                "LB",
                "Trường THCS Gia Thụy",
                SchoolLevel.LOWER_SECONDARY,
                Ownership.PUBLIC,
                False,
                120,
            ),
            (
                "B",
                "LB",
                "Trường Tiểu học Ngọc Thụy",
                SchoolLevel.PRIMARY,
                Ownership.PUBLIC,
                False,
                10,
            ),
            (
                "C",
                "CG",
                "Trường THCS Dịch Vọng (tư thục)",
                SchoolLevel.LOWER_SECONDARY,
                Ownership.PRIVATE,
                False,
                10,
            ),
            (
                "D",
                "CG",
                "Trường THPT Chuyên Thử nghiệm",
                SchoolLevel.UPPER_SECONDARY,
                Ownership.PUBLIC,
                True,
                10,
            ),
            (
                "W",
                "CG",
                "Trường THCS Thử Ghi",
                SchoolLevel.LOWER_SECONDARY,
                Ownership.PUBLIC,
                False,
                0,
            ),
        ]
        facts: dict[str, SchoolFacts] = {}
        for letter, district, name, level, ownership, direct, student_count in specs:
            school = models.School(
                department_id=department.id,
                district_id=districts[district].id,
                moet_code=f"01{district}{letter}",
                name=name,
                level=level,
                ownership=ownership,
                directly_managed=direct,
            )
            session.add(school)
            await session.flush()
            fact = facts[letter] = SchoolFacts(id=school.id, code=school.moet_code)
            grade0 = {SchoolLevel.PRIMARY: 1, SchoolLevel.UPPER_SECONDARY: 10}.get(level, 6)
            teachers: list[models.Staff] = []
            for t in range(5):
                sex = Sex.FEMALE if t % 2 else Sex.MALE
                teacher = models.Staff(
                    personal_id=_person_id(1980 + t, sex),
                    full_name=f"{FAMILY[t]} Thị {GIVEN[t]} ({letter})",
                    search_name="",
                    sex=sex,
                    birth_date=date(1980 + t, 3, 1),
                    assignments=[
                        models.StaffAssignment(school_id=school.id, role=StaffRole.TEACHER)
                    ],
                )
                teacher.search_name = fold(teacher.full_name)
                if t == 0:
                    teacher.assignments.append(
                        models.StaffAssignment(school_id=school.id, role=StaffRole.PRINCIPAL)
                    )
                teachers.append(teacher)
            session.add_all(teachers)
            await session.flush()
            fact.staff = [t.id for t in teachers]
            # Teachers 0–2 hold a valid certificate (two for teacher 0), teacher 3 a
            # revoked one, teacher 4 an expired one.
            certificate_plan = [
                (0, CertificateStatus.ACTIVE, NOW - timedelta(days=300), NOW + timedelta(days=400)),
                (0, CertificateStatus.ACTIVE, NOW - timedelta(days=10), NOW + timedelta(days=20)),
                (1, CertificateStatus.ACTIVE, NOW - timedelta(days=100), NOW + timedelta(days=600)),
                (2, CertificateStatus.ACTIVE, NOW - timedelta(days=100), NOW + timedelta(days=15)),
                (
                    3,
                    CertificateStatus.REVOKED,
                    NOW - timedelta(days=100),
                    NOW + timedelta(days=600),
                ),
                (4, CertificateStatus.ACTIVE, NOW - timedelta(days=800), NOW - timedelta(days=1)),
            ]
            provider = (
                SigningProvider.BCY if ownership is Ownership.PUBLIC else SigningProvider.SMARTCA
            )
            for n, (t, status, start, end) in enumerate(certificate_plan):
                session.add(
                    models.SigningCertificate(
                        staff_id=teachers[t].id,
                        provider=provider,
                        credential_id=f"cred-{letter}-{n}",
                        serial_number=f"{letter}{n:04X}",
                        subject_dn=f"CN={teachers[t].full_name}",
                        issuer_dn="CN=CA phục vụ các cơ quan Nhà nước G2 (DEMO)",
                        valid_from=start,
                        valid_to=end,
                        status=status,
                    )
                )
            fact.staff_with_valid_certificate = 3
            session.add(
                models.SigningCertificate(
                    school_id=school.id,
                    provider=SigningProvider.PKCS11,
                    credential_id=f"seal-{letter}",
                    serial_number=f"{letter}SEAL",
                    subject_dn=f"CN={name}",
                    issuer_dn="CN=Seal CA (DEMO)",
                    valid_from=NOW - timedelta(days=10),
                    valid_to=NOW + timedelta(days=700),
                    status=CertificateStatus.ACTIVE,
                )
            )
            classes = []
            for c in range(4):
                school_class = models.SchoolClass(
                    school_id=school.id,
                    school_year_id=year.id,
                    name=f"{grade0 + c}A1",
                    grade=grade0 + c,
                    homeroom_teacher_id=teachers[c].id,
                )
                teachers[c].assignments.append(
                    models.StaffAssignment(school_id=school.id, role=StaffRole.HOMEROOM)
                )
                classes.append(school_class)
            session.add_all(classes)
            await session.flush()
            fact.classes = [c.id for c in classes]
            for s in range(student_count):
                sex = Sex.FEMALE if s % 2 else Sex.MALE
                school_class = classes[s % 4]
                birth_year = 2025 - 6 - school_class.grade
                middle = "Thị" if sex is Sex.FEMALE else "Văn"
                name = f"{FAMILY[s % 8]} {middle} {GIVEN[(s // 8) % 10]}"
                personal_id = None if (letter == "A" and s == 7) else _person_id(birth_year, sex)
                student = models.Student(
                    personal_id=personal_id,
                    moet_code=f"HS{letter}{s:05d}",
                    full_name=name,
                    search_name=fold(name),
                    birth_date=date(birth_year, 1 + s % 12, 1 + s % 28),
                    sex=sex,
                    ethnicity="Kinh",
                    school_id=school.id,
                    identity_status=IdentityStatus.VERIFIED if s % 5 else IdentityStatus.UNVERIFIED,
                )
                session.add(student)
                await session.flush()
                session.add(
                    models.Enrolment(
                        student_id=student.id, class_id=school_class.id, school_year_id=year.id
                    )
                )
                for g, relation in enumerate(
                    [GuardianRelation.FATHER, GuardianRelation.MOTHER][: 1 + s % 2]
                ):
                    guardian = models.Guardian(
                        personal_id=_person_id(1985, Sex.MALE if g == 0 else Sex.FEMALE),
                        full_name=f"{FAMILY[s % 8]} Phụ Huynh {g}",
                        phone=f"09{s:04d}{g:04d}",
                    )
                    session.add(guardian)
                    await session.flush()
                    session.add(
                        models.GuardianLink(
                            student_id=student.id,
                            guardian_id=guardian.id,
                            relation=relation,
                            verified=bool(g == 0),
                        )
                    )
                fact.students.append(student.id)
                if personal_id:
                    fact.student_personal_ids.append(personal_id)
        await session.flush()
        return World(
            districts={code: d.id for code, d in districts.items()},
            schools=facts,
            current_year_id=year.id,
        )
