"""A school whose people sign in (issue 11): staff, a pupil, her guardians, an officer.

The teacher is the homeroom teacher of the school's one class; the mother's link to
the pupil is verified (an officer's in-person check), the stepfather's is not; the
department officer holds an operator-granted role; the stranger and the level-one
teacher exist only at the identity provider or with too low an account level.
"""

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.people import grant_officer
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import (
    GuardianCheck,
    GuardianRelation,
    Ownership,
    SchoolLevel,
    Sex,
    StaffRole,
)
from hub.domain.personal_id import compose
from hub.domain.text import fold
from tests.world import writers_district

_serial = iter(range(7_100_000, 7_900_000))


def new_personal_id(year: int, sex: Sex = Sex.FEMALE) -> str:
    """A personal ID no other test person holds."""
    return compose("001", year, sex, next(_serial))


async def new_district_officer(
    db: Database, *, district_code: str, full_name: str, born: int, sex: Sex = Sex.FEMALE
) -> tuple[str, str]:
    """A new officer of the district office ``district_code`` (Phòng GDĐT), granted as
    ``hub people grant --district`` grants it: their personal ID and name as stored."""
    personal_id = new_personal_id(born, sex)
    async with db.unit_of_work() as session:
        name = await grant_officer(
            session,
            personal_id=personal_id,
            full_name=full_name,
            granted_by="test",
            district_code=district_code,
        )
    return personal_id, name


async def enrolled_pupil(
    session: AsyncSession,
    school_class: models.SchoolClass,
    *,
    full_name: str,
    personal_id: str | None,
    birth_date: date,
    **fields: Any,
) -> models.Student:
    """A pupil of ``school_class``'s school (a girl, unless ``fields`` say otherwise),
    enrolled in the class for its school year."""
    student = models.Student(
        personal_id=personal_id,
        full_name=full_name,
        search_name=fold(full_name),
        birth_date=birth_date,
        school_id=school_class.school_id,
        **{"sex": Sex.FEMALE, **fields},
    )
    session.add(student)
    await session.flush()
    session.add(
        models.Enrolment(
            student_id=student.id,
            class_id=school_class.id,
            school_year_id=school_class.school_year_id,
        )
    )
    return student


@dataclass
class People:
    school_id: int
    class_id: int
    student_id: int
    teacher: str
    principal: str
    officer: str
    guardian: str
    pupil: str
    unverified_guardian: str
    stranger: str
    teacher_level_one: str
    #: personal ID → full name, as the records (and the identity providers) hold them.
    names: dict[str, str] = field(default_factory=dict)


async def people_school(db: Database, *, code: str) -> People:
    """Build the school ``code…`` and its people in the writers' district."""
    names = {
        "teacher": "Lê Thị Chủ Nhiệm",
        "principal": "Trần Văn Hiệu Trưởng",
        "low": "Phạm Thị Mức Một",
        "pupil": "Nguyễn Thị Học Trò",
        "mother": "Nguyễn Thị Mẹ",
        "stepfather": "Vũ Văn Chưa Xác Thực",
        "officer": "Đỗ Văn Cán Bộ Sở",
        "stranger": "Người Lạ",
    }
    async with db.unit_of_work() as session:
        district = await writers_district(session)
        year = await session.scalar(select(models.SchoolYear).where(models.SchoolYear.is_current))
        assert year is not None
        school = models.School(
            department_id=district.department_id,
            district_id=district.id,
            moet_code=f"{code}{secrets.token_hex(3)}",
            name=f"Trường THCS Đăng Nhập {code}",
            level=SchoolLevel.LOWER_SECONDARY,
            ownership=Ownership.PUBLIC,
        )
        session.add(school)
        await session.flush()

        def staff(name: str, pid: str) -> models.Staff:
            return models.Staff(personal_id=pid, full_name=name, search_name=fold(name))

        teacher = staff(names["teacher"], new_personal_id(1985))
        principal = staff(names["principal"], new_personal_id(1975, Sex.MALE))
        low = staff(names["low"], new_personal_id(1990))
        session.add_all([teacher, principal, low])
        await session.flush()
        session.add_all(
            models.StaffAssignment(staff_id=member.id, school_id=school.id, role=role)
            for member, role in [
                (teacher, StaffRole.HOMEROOM),
                (principal, StaffRole.PRINCIPAL),
                (low, StaffRole.TEACHER),
            ]
        )
        school_class = models.SchoolClass(
            school_id=school.id,
            school_year_id=year.id,
            name="6A9",
            grade=6,
            homeroom_teacher_id=teacher.id,
        )
        session.add(school_class)
        pupil = new_personal_id(2013)
        student = await enrolled_pupil(
            session,
            school_class,
            full_name=names["pupil"],
            personal_id=pupil,
            birth_date=date(2013, 3, 4),
        )
        mother = models.Guardian(personal_id=new_personal_id(1986), full_name=names["mother"])
        stepfather = models.Guardian(
            personal_id=new_personal_id(1980, Sex.MALE), full_name=names["stepfather"]
        )
        session.add_all([mother, stepfather])
        await session.flush()
        session.add_all(
            [
                models.GuardianLink(
                    student_id=student.id,
                    guardian_id=mother.id,
                    relation=GuardianRelation.MOTHER,
                    verified=True,
                    verified_by=GuardianCheck.IN_PERSON,
                    verified_at=datetime.now(UTC),
                ),
                models.GuardianLink(
                    student_id=student.id,
                    guardian_id=stepfather.id,
                    relation=GuardianRelation.GUARDIAN,
                    verified=False,
                ),
            ]
        )
        officer = new_personal_id(1970, Sex.MALE)
        session.add(
            models.DepartmentOfficer(
                personal_id=officer, full_name=names["officer"], granted_by="test"
            )
        )
        await session.flush()
        stranger = new_personal_id(1999)
        by_id = {
            teacher.personal_id: names["teacher"],
            principal.personal_id: names["principal"],
            low.personal_id: names["low"],
            pupil: names["pupil"],
            mother.personal_id or "": names["mother"],
            stepfather.personal_id or "": names["stepfather"],
            officer: names["officer"],
            stranger: names["stranger"],
        }
        return People(
            school_id=school.id,
            class_id=school_class.id,
            student_id=student.id,
            teacher=teacher.personal_id,
            principal=principal.personal_id,
            officer=officer,
            guardian=mother.personal_id or "",
            pupil=pupil,
            unverified_guardian=stepfather.personal_id or "",
            stranger=stranger,
            teacher_level_one=low.personal_id,
            names=by_id,
        )
