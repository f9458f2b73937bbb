"""The closed vocabularies of the domain (see GLOSSARY.md for the Vietnamese terms)."""

from enum import StrEnum


class SchoolLevel(StrEnum):
    """Cấp học: the level a school teaches."""

    PRESCHOOL = "PRESCHOOL"  # Mầm non
    PRIMARY = "PRIMARY"  # Tiểu học, grades 1–5
    LOWER_SECONDARY = "LOWER_SECONDARY"  # THCS, grades 6–9
    UPPER_SECONDARY = "UPPER_SECONDARY"  # THPT, grades 10–12
    CONTINUING = "CONTINUING"  # GDNN-GDTX centre


class Ownership(StrEnum):
    """Loại hình: public (công lập) or private (tư thục)."""

    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


class StaffRole(StrEnum):
    """What a staff member does at a school they are assigned to."""

    TEACHER = "TEACHER"  # Giáo viên bộ môn
    HOMEROOM = "HOMEROOM"  # Giáo viên chủ nhiệm
    PRINCIPAL = "PRINCIPAL"  # Hiệu trưởng
    VICE_PRINCIPAL = "VICE_PRINCIPAL"  # Phó hiệu trưởng
    STAFF = "STAFF"  # Nhân viên


class Sex(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class IdentityStatus(StrEnum):
    """Result of checking a student's identity against the population database."""

    UNVERIFIED = "UNVERIFIED"  # not checked yet
    VERIFIED = "VERIFIED"  # matched the population database
    MISMATCH = "MISMATCH"  # the number exists but a field differs
    UNKNOWN = "UNKNOWN"  # the population database does not know the number


class GuardianRelation(StrEnum):
    FATHER = "FATHER"
    MOTHER = "MOTHER"
    GUARDIAN = "GUARDIAN"  # người giám hộ
    OTHER = "OTHER"


class SigningProvider(StrEnum):
    """Where a certificate's key lives and how the hub asks it to sign.

    The name rows, provider transactions and the API carry; everything else about a
    provider is its registry entry (``hub.adapters.signing.providers``, ARCHITECTURE.md).
    """

    BCY = "BCY"  # Ban Cơ yếu Chính phủ remote HSM (official-duty)
    SMARTCA = "SMARTCA"  # VNPT SmartCA
    MYSIGN = "MYSIGN"  # Viettel-CA MySign
    CSC = "CSC"  # any Cloud Signature Consortium server
    PKCS11 = "PKCS11"  # a hardware token at the school (school seal)

    @property
    def label(self) -> str:
        """The provider as people know it, for messages."""
        return _PROVIDER_LABELS[self.value]


_PROVIDER_LABELS = {
    "BCY": "Ban Cơ yếu Chính phủ",
    "SMARTCA": "VNPT SmartCA",
    "MYSIGN": "Viettel MySign",
    "CSC": "CSC",
    "PKCS11": "USB token của trường",
}


class CertificateStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"


class OrgLevel(StrEnum):
    """How far an API client's organisation scope reaches."""

    DEPARTMENT = "DEPARTMENT"  # the whole Sở
    DISTRICT = "DISTRICT"  # the schools of some district offices (Phòng)
    SCHOOL = "SCHOOL"  # some schools


class ClientKind(StrEnum):
    VENDOR = "VENDOR"  # a school-management app
    ADMISSION = "ADMISSION"  # an admission office's service
    DEPARTMENT_TOOL = "DEPARTMENT_TOOL"  # the department staff's own tool


class GuardianCheck(StrEnum):
    """How a guardian ↔ pupil link was verified (issue 11): never a vendor's say-so."""

    POPULATION = "POPULATION"  # the population database (C06) confirmed the relationship
    IN_PERSON = "IN_PERSON"  # a school officer saw the papers and recorded the check


class RelationshipAnswer(StrEnum):
    """The population database's answer about one guardian ↔ pupil relationship."""

    MATCHED = "MATCHED"
    MISMATCHED = "MISMATCHED"
    UNKNOWN = "UNKNOWN"  # the database has no such citizen or no such relationship
    UNREACHABLE = "UNREACHABLE"  # no answer: ask again later
