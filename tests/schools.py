"""A school ready for signing: staff with certificates at real simulated providers.

The homeroom teacher of each class, the principal and the seal hold certificates
at the providers given; :meth:`DemoSigning.enrol_school` issues them at the
simulators, and each class gets transcripts in the READY state rendered from the
sample content (so the documents are real and every signature can be checked).
"""

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.db import models
from hub.db.engine import Database
from hub.db.queries import signing_certificate_query
from hub.demo.signing import DemoSigning
from hub.documents import samples
from hub.domain.enums import (
    CertificateStatus,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)
from hub.domain.personal_id import compose
from hub.transcripts import service as transcripts
from tests.world import writers_district


@dataclasses.dataclass
class SigningSchool:
    id: int
    code: str
    class_ids: list[int]
    teachers: list[str]  # personal IDs, one per class
    principal: str
    transcripts: dict[int, list[int]]  # class id → transcript ids

    @property
    def all_transcripts(self) -> list[int]:
        return [t for ids in self.transcripts.values() for t in ids]


_serial = iter(range(1, 1_000_000))


async def signing_school(
    db: Database,
    demo: DemoSigning,
    *,
    code: str,
    school_year_id: int,
    teacher_providers: list[SigningProvider],
    principal_provider: SigningProvider,
    per_class: int,
) -> SigningSchool:
    """One class per entry of ``teacher_providers``, each with ``per_class`` ready transcripts."""
    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department))
        district = await writers_district(session)
        school = models.School(
            department_id=department.id,
            district_id=district.id,
            moet_code=code,
            name=f"Trường THCS Ký Số {code}",
            level=SchoolLevel.LOWER_SECONDARY,
            ownership=Ownership.PUBLIC,
        )
        session.add(school)
        await session.flush()

        def person(name: str, role: StaffRole) -> models.Staff:
            return models.Staff(
                personal_id=compose("001", 1980, Sex.FEMALE, 500_000 + next(_serial)),
                full_name=name,
                search_name=name.lower(),
                assignments=[models.StaffAssignment(school_id=school.id, role=role)],
            )

        principal = person("Trần Văn Hiệu", StaffRole.PRINCIPAL)
        teachers = [
            person(f"Nguyễn Thị Chủ Nhiệm {n + 1}", StaffRole.HOMEROOM)
            for n in range(len(teacher_providers))
        ]
        session.add_all([principal, *teachers])
        await session.flush()
        for owner, provider in [
            (principal, principal_provider),
            *zip(teachers, teacher_providers, strict=True),
        ]:
            session.add(_certificate(provider, now, staff_id=owner.id))
        session.add(_certificate(SigningProvider.PKCS11, now, school_id=school.id))
        classes = [
            models.SchoolClass(
                school_id=school.id,
                school_year_id=school_year_id,
                name=f"8A{n + 1}",
                grade=8,
                homeroom_teacher_id=teacher.id,
            )
            for n, teacher in enumerate(teachers)
        ]
        session.add_all(classes)
        await session.flush()
        await demo.enrol_school(session, school.id)
        by_class: dict[int, list[int]] = {}
        for school_class in classes:
            by_class[school_class.id] = [
                await _ready_transcript(session, school, school_class, school_year_id)
                for _ in range(per_class)
            ]
        return SigningSchool(
            id=school.id,
            code=code,
            class_ids=[c.id for c in classes],
            teachers=[t.personal_id for t in teachers],
            principal=principal.personal_id,
            transcripts=by_class,
        )


async def _ready_transcript(session, school, school_class, school_year_id) -> int:  # type: ignore[no-untyped-def]
    index = next(_serial)
    document_id = str(uuid.uuid4())
    content = dataclasses.replace(
        samples.secondary(index),
        document_id=document_id,
        verification_url=f"https://hub.example/verify/{document_id}",
    )
    student = models.Student(
        personal_id=compose("001", 2012, Sex.MALE, 600_000 + index),
        full_name=content.student.full_name,
        search_name=content.student.full_name.lower(),
        birth_date=content.student.birth_date,
        sex=content.student.sex,
        school_id=school.id,
    )
    session.add(student)
    await session.flush()
    session.add(
        models.Enrolment(
            student_id=student.id, class_id=school_class.id, school_year_id=school_year_id
        )
    )
    xml, pdf = await transcripts.render(content)
    transcript = models.Transcript(
        document_id=document_id,
        student_id=student.id,
        school_year_id=school_year_id,
        school_id=school.id,
        class_id=school_class.id,
        state="READY",
        xml=xml,
        pdf=pdf,
        xml_sha256=hashlib.sha256(xml).hexdigest(),
    )
    session.add(transcript)
    await session.flush()
    return transcript.id


def _certificate(
    provider: SigningProvider, now: datetime, **owner: int
) -> models.SigningCertificate:
    return models.SigningCertificate(
        provider=provider,
        credential_id=uuid.uuid4().hex[:16],
        serial_number=uuid.uuid4().hex[:16],
        subject_dn="CN=?",
        issuer_dn="CN=?",
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=365),
        status=CertificateStatus.ACTIVE,
        **owner,
    )


async def staff_name(db: Database, personal_id: str) -> str:
    """The full name the records give a staff member."""
    async with db.sessions() as session:
        name = await session.scalar(
            select(models.Staff.full_name).where(models.Staff.personal_id == personal_id)
        )
    assert name is not None
    return name


async def default_certificate(db: Database, personal_id: str) -> models.SigningCertificate:
    """The certificate the signing service would sign with now."""
    async with db.sessions() as session:
        staff_id = await session.scalar(
            select(models.Staff.id).where(models.Staff.personal_id == personal_id)
        )
        assert staff_id is not None
        row = await session.scalar(
            signing_certificate_query(
                models.SigningCertificate.staff_id, staff_id, datetime.now(UTC)
            )
        )
    assert row is not None
    return row


async def certificate_row(db: Database, certificate_id: int) -> models.SigningCertificate:
    async with db.sessions() as session:
        row = await session.get(models.SigningCertificate, certificate_id)
    assert row is not None
    return row
