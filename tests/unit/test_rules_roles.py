"""Who holds a signing role has one home (issue 10): homeroom teacher, principal, seal."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.domain.enums import CertificateStatus, StaffRole
from hub.domain.roles import homeroom_teacher_of, principal_of, seal_certificate_of

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Assignment:
    id: int
    staff_id: int
    school_id: int
    role: StaffRole


@dataclass
class Klass:
    homeroom_teacher_id: int | None


@dataclass
class Cert:
    id: int
    school_id: int | None
    staff_id: int | None = None
    status: CertificateStatus = CertificateStatus.ACTIVE
    valid_from: datetime = NOW - timedelta(days=1)
    valid_to: datetime = NOW + timedelta(days=365)
    retired_at: datetime | None = None
    preferred: bool = False


def test_the_class_record_names_its_homeroom_teacher():
    assert homeroom_teacher_of(Klass(7)) == 7
    assert homeroom_teacher_of(Klass(None)) is None


def test_a_school_with_two_principal_records_has_the_one_recorded_last():
    records = [
        Assignment(10, staff_id=3, school_id=1, role=StaffRole.PRINCIPAL),
        Assignment(11, staff_id=1, school_id=1, role=StaffRole.TEACHER),
        Assignment(14, staff_id=9, school_id=1, role=StaffRole.PRINCIPAL),
        Assignment(15, staff_id=2, school_id=1, role=StaffRole.VICE_PRINCIPAL),
        Assignment(20, staff_id=5, school_id=2, role=StaffRole.PRINCIPAL),
    ]
    assert principal_of(1, records) == 9
    assert principal_of(1, reversed(records)) == 9
    assert principal_of(2, records) == 5


def test_a_school_without_a_principal_record_has_none():
    records = [Assignment(1, staff_id=1, school_id=1, role=StaffRole.VICE_PRINCIPAL)]
    assert principal_of(1, records) is None
    assert principal_of(1, []) is None


def test_the_seal_is_the_schools_own_valid_certificate():
    staff_certificate = Cert(1, school_id=None, staff_id=4, preferred=True)
    retired = Cert(2, school_id=1, preferred=True, retired_at=NOW - timedelta(hours=1))
    seal = Cert(3, school_id=1)
    other_school = Cert(4, school_id=2, preferred=True)
    candidates = [staff_certificate, retired, seal, other_school]
    assert seal_certificate_of(1, candidates, NOW) is seal
    assert seal_certificate_of(3, candidates, NOW) is None
