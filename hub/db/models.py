"""The hub's tables as SQLAlchemy 2 declarative models.

Natural keys (personal ID, ministry codes) are unique columns; surrogate integer
keys are what foreign keys and global IDs use. Rows that downstream systems sync
(students, staff, guardian links, certificates) carry ``change_version``, set from
one monotonic counter by :mod:`hub.db.changes`.
"""

from datetime import date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hub.domain.enums import (
    CertificateStatus,
    ClientKind,
    GuardianCheck,
    GuardianRelation,
    IdentityStatus,
    OrgLevel,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type, name: str) -> Enum:
    """Enums are stored as checked strings so SQLite and PostgreSQL agree."""
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=24)


def _provider() -> Enum:
    """A signing provider, stored as a plain string: the registry
    (``hub.adapters.signing.providers``) says which exist, so a new provider needs no
    migration to widen a check constraint (ARCHITECTURE.md)."""
    return Enum(
        SigningProvider, name="provider", native_enum=False, create_constraint=False, length=24
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements that write many rows at once without the
    ORM's per-statement work (no session objects are synchronised: the caller holds none
    of those rows, or gives them the values written)."""
    return cast(Table, model.__table__)


class Tracked:
    """Mixin for rows the change feed publishes."""

    change_version: Mapped[int] = mapped_column(BigInteger, index=True, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Department(Base):
    """Sở GDĐT: the hub's owner, one per province."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class District(Base):
    """Phòng GDĐT: a district office managing primary and lower-secondary schools."""

    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class School(Base):
    """Trường / cơ sở giáo dục."""

    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    moet_code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[SchoolLevel] = mapped_column(_enum(SchoolLevel, "school_level"))
    ownership: Mapped[Ownership] = mapped_column(_enum(Ownership, "ownership"))
    directly_managed: Mapped[bool] = mapped_column(Boolean, default=False)


class SchoolYear(Base):
    """Năm học, e.g. 2025-2026."""

    __tablename__ = "school_years"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(9), unique=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)


class Staff(Tracked, Base):
    """Cán bộ, giáo viên, nhân viên: keyed by personal ID."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[Sex | None] = mapped_column(_enum(Sex, "sex"))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)

    assignments: Mapped[list["StaffAssignment"]] = relationship(
        back_populates="staff", cascade="all, delete-orphan"
    )


class StaffAssignment(Base):
    """A staff member's role at a school (one row per school × role)."""

    __tablename__ = "staff_assignments"
    __table_args__ = (UniqueConstraint("staff_id", "school_id", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole, "staff_role"))

    staff: Mapped[Staff] = relationship(back_populates="assignments")


class SchoolClass(Base):
    """Lớp học of one school year, with its homeroom teacher (GVCN)."""

    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("school_id", "school_year_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    name: Mapped[str] = mapped_column(String(32))
    grade: Mapped[int] = mapped_column(SmallInteger)
    homeroom_teacher_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)


class Student(Tracked, Base):
    """Học sinh, keyed by personal ID; ``school_id`` is the school they attend now."""

    __tablename__ = "students"
    __table_args__ = (Index("ix_students_school_id_id", "school_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    personal_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    moet_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[Sex | None] = mapped_column(_enum(Sex, "sex"))
    ethnicity: Mapped[str | None] = mapped_column(String(50))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    identity_status: Mapped[IdentityStatus] = mapped_column(
        _enum(IdentityStatus, "identity_status"), default=IdentityStatus.UNVERIFIED
    )
    identity_verified_at: Mapped[datetime | None]
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)


class Enrolment(Base):
    """A student's class in a school year (one per student per year)."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("student_id", "school_year_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))

    student: Mapped[Student] = relationship(lazy="raise")


class Guardian(Base):
    """Cha mẹ học sinh / người giám hộ."""

    __tablename__ = "guardians"
    id: Mapped[int] = mapped_column(primary_key=True)
    personal_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)


class GuardianLink(Tracked, Base):
    """Who is a student's legal representative, and whether that was verified."""

    __tablename__ = "guardian_links"
    __table_args__ = (UniqueConstraint("student_id", "guardian_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"))
    relation: Mapped[GuardianRelation] = mapped_column(_enum(GuardianRelation, "relation"))
    verified: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        doc="Set by the hub alone: the population database confirmed the relationship or "
        "a school officer recorded an in-person check (``verified_by``).",
    )
    verified_by: Mapped[GuardianCheck | None] = mapped_column(
        _enum(GuardianCheck, "guardian_check")
    )
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The in-person check as the officer recorded it (who, which papers), or the
    #: population database's last answer (``RelationshipAnswer``) and when it came.
    verification: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    guardian: Mapped[Guardian] = relationship(lazy="raise")
    student: Mapped[Student] = relationship(lazy="raise")


class Subject(Base):
    """Môn học / hoạt động giáo dục in the subject catalogue."""

    __tablename__ = "subjects"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    comment_only: Mapped[bool] = mapped_column(Boolean)


class SubjectPeriods(Base):
    """How many periods a subject has per year in a grade (decides ĐĐGtx count)."""

    __tablename__ = "subject_periods"
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    grade: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    periods_per_year: Mapped[int] = mapped_column(Integer)


class SigningCertificate(Tracked, Base):
    """Chứng thư số: a staff member's personal certificate or a school's seal."""

    __tablename__ = "signing_certificates"
    __table_args__ = (
        UniqueConstraint("issuer_dn", "serial_number"),
        CheckConstraint("(staff_id IS NULL) <> (school_id IS NULL)", name="one_owner"),
        # Who holds a valid certificate, read from the index alone (the coverage report).
        Index(
            "ix_signing_certificates_active_staff",
            "staff_id",
            "valid_to",
            "valid_from",
            "retired_at",
            postgresql_where=text("status = 'ACTIVE' AND staff_id IS NOT NULL"),
            sqlite_where=text("status = 'ACTIVE' AND staff_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), index=True
    )
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    provider: Mapped[SigningProvider] = mapped_column(_provider())
    credential_id: Mapped[str] = mapped_column(String(128))
    serial_number: Mapped[str] = mapped_column(String(64))
    subject_dn: Mapped[str] = mapped_column(String(500))
    issuer_dn: Mapped[str] = mapped_column(String(500))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[CertificateStatus] = mapped_column(
        _enum(CertificateStatus, "certificate_status")
    )
    #: The owner's default certificate, chosen first while valid; a signing-provider
    #: migration sets it on the new certificate (the old one stays as fallback).
    preferred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    #: When the hub stopped signing with this certificate (a confirmed provider migration
    #: dropped it, or a rolled-back one withdrew it), though its provider may still honour it.
    retired_at: Mapped[datetime | None]


class ApiClient(Base):
    """A machine client (vendor app, admission service, department tool)."""

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ClientKind] = mapped_column(_enum(ClientKind, "client_kind"))
    secret_hash: Mapped[str] = mapped_column(String(256))
    scopes: Mapped[str] = mapped_column(Text, doc="space-separated OAuth2 scopes")
    org_level: Mapped[OrgLevel] = mapped_column(_enum(OrgLevel, "org_level"))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    credentials_version: Mapped[int] = mapped_column(
        Integer,
        default=1,
        server_default="1",
        doc="Raised by every disable, delete and secret rotation; a token carries the "
        "version it was issued under (claim ``cver``) and is refused once it differs.",
    )
    deleted_at: Mapped[datetime | None] = mapped_column(
        DateTime,
        doc="Soft delete: the row stays so the access log's client ids keep a name.",
    )
    redirect_uris: Mapped[str | None] = mapped_column(
        Text,
        doc="Space-separated redirect URIs of an app that acts for people (authorization "
        "code with PKCE); exact match, no wildcards.",
    )

    grants: Mapped[list["ApiClientGrant"]] = relationship(cascade="all, delete-orphan")


class ClientsRevision(Base):
    """The single row counting changes to any API client's credentials or state.

    API processes on SQLite (no LISTEN/NOTIFY) read it at most every second and
    forget their cached callers when it moved.
    """

    __tablename__ = "api_clients_revision"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class TokenFailure(Base):
    """Failed client authentications at ``/oauth/token`` in the current window.

    One row per client id and one per source address (``kind``: ``client`` or
    ``address``); shared by every API process through the database.
    """

    __tablename__ = "token_failures"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[float] = mapped_column(Float, index=True, doc="Unix time")


class ApiClientGrant(Base):
    """One district or school inside an API client's organisation scope."""

    __tablename__ = "api_client_grants"
    __table_args__ = (
        CheckConstraint("(district_id IS NULL) <> (school_id IS NULL)", name="one_org"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    api_client_id: Mapped[int] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))


class ChangeCounter(Base):
    """The single row holding the last change version handed out."""

    __tablename__ = "change_counter"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Tombstone(Base):
    """A deleted tracked row, kept so downstream systems learn of the deletion.

    One row per school the deleted record belonged to, so the change feed can be
    authorised like any other read.
    """

    __tablename__ = "tombstones"
    id: Mapped[int] = mapped_column(primary_key=True)
    change_version: Mapped[int] = mapped_column(BigInteger, index=True)
    entity: Mapped[str] = mapped_column(String(32))
    natural_key: Mapped[str] = mapped_column(Text, doc="JSON object of the natural key")
    school_id: Mapped[int | None] = mapped_column(Integer, index=True)
    deleted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    operation: Mapped[str] = mapped_column(
        String(16),
        default="deleted",
        server_default="deleted",
        doc="deleted: the row is gone; left: the record left this school (moved, withdrawn)",
    )


class AccessLog(Base):
    """Who read or wrote a student's personal data, through which client, for what."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    client_id: Mapped[str] = mapped_column(String(64))
    person: Mapped[str | None] = mapped_column(
        String(12), index=True, doc="The personal ID of the person the program acted for."
    )
    consent_id: Mapped[int | None] = mapped_column(
        Integer, doc="The consent an admission service read under (``consents.id``)."
    )
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str | None] = mapped_column(String(200))
    item: Mapped[str | None] = mapped_column(
        String(32), doc="What of the person was read: record, transcript, guardians, document…"
    )


class SubjectAssessment(Base):
    """One secondary student's assessments in one subject and semester (Circular 22/2021).

    Scores are stored as integer tenths (6.5 → 65) so both databases keep them
    exact. A scored subject fills the ``*_tenths`` columns, a comment-only one the
    ``*_rating`` columns (PASS / FAIL).
    """

    __tablename__ = "subject_assessments"
    __table_args__ = (
        UniqueConstraint("student_id", "school_year_id", "subject_id", "semester"),
        CheckConstraint("semester IN (1, 2)", name="semester"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    semester: Mapped[int] = mapped_column(SmallInteger)
    regular_tenths: Mapped[list[int] | None] = mapped_column(JSON)
    midterm_tenths: Mapped[int | None] = mapped_column(SmallInteger)
    final_tenths: Mapped[int | None] = mapped_column(SmallInteger)
    regular_ratings: Mapped[list[str] | None] = mapped_column(JSON)
    midterm_rating: Mapped[str | None] = mapped_column(String(8))
    final_rating: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SubjectRetest(Base):
    """A secondary student's summer re-test result in one subject (kiểm tra lại)."""

    __tablename__ = "subject_retests"
    __table_args__ = (UniqueConstraint("student_id", "school_year_id", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    score_tenths: Mapped[int | None] = mapped_column(SmallInteger)
    rating: Mapped[str | None] = mapped_column(String(8))


class StudentYearRecord(Base):
    """What a student's year holds besides subjects: conduct, absences, comments."""

    __tablename__ = "student_year_records"
    __table_args__ = (UniqueConstraint("student_id", "school_year_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    conduct_first: Mapped[str | None] = mapped_column(String(8), doc="rèn luyện học kì I")
    conduct_second: Mapped[str | None] = mapped_column(String(8), doc="rèn luyện học kì II")
    summer_training: Mapped[str | None] = mapped_column(String(8), doc="rèn luyện trong hè")
    half_days_absent: Mapped[int | None] = mapped_column(SmallInteger)
    homeroom_comment: Mapped[str | None] = mapped_column(Text)
    principal_approval: Mapped[str | None] = mapped_column(Text, doc="phê duyệt của hiệu trưởng")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class PrimarySubjectAssessment(Base):
    """A primary pupil's level and test score in one subject at one period (Circular 27/2020)."""

    __tablename__ = "primary_subject_assessments"
    __table_args__ = (UniqueConstraint("student_id", "school_year_id", "subject_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    period: Mapped[str] = mapped_column(String(12), doc="MID_1, END_1, MID_2 or END_YEAR")
    completion: Mapped[str | None] = mapped_column(String(12), doc="WELL / DONE / NOT_DONE")
    test_score: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)


class PrimaryTraitAssessment(Base):
    """A primary pupil's level in one quality or competency at one period."""

    __tablename__ = "primary_trait_assessments"
    __table_args__ = (UniqueConstraint("student_id", "school_year_id", "trait", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    trait: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(12), doc="END_1 or END_YEAR")
    level: Mapped[str] = mapped_column(String(16), doc="GOOD / PASS / NEEDS_EFFORT")


class Transcript(Base):
    """One version of one student's transcript for one school year (học bạ).

    The rendered documents are stored as generated (and, later, as signed): what
    was signed is what is kept. ``is_current`` marks the newest version; a
    correction adds a version that ``replaces`` the one before.
    """

    __tablename__ = "transcripts"
    __table_args__ = (
        UniqueConstraint("student_id", "school_year_id", "version"),
        Index("ix_transcripts_school_year_state", "school_id", "school_year_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(String(36), unique=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    version: Mapped[int] = mapped_column(SmallInteger, default=1)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("transcripts.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(24), default="DRAFT")
    learning_result: Mapped[str | None] = mapped_column(String(16))
    conduct_result: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    award: Mapped[str | None] = mapped_column(String(16))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    change_version: Mapped[int | None] = mapped_column(
        BigInteger, index=True, doc="Set when published or superseded (the change feed)"
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class TranscriptEvent(Base):
    """What happened to a transcript: generated, locked, signed, corrected, issued a copy…"""

    __tablename__ = "transcript_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    client_id: Mapped[str] = mapped_column(String(64))
    person: Mapped[str | None] = mapped_column(
        String(12), doc="The personal ID of the person the program acted for."
    )
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class SigningRequest(Base):
    """One request to a signer's provider: one phone confirmation for several transcripts.

    The provider transaction (``transaction``, plain JSON) is kept so the request
    can be polled and finished after a restart; what each transcript needs to be
    finished is in its :class:`SigningRequestItem`.
    """

    __tablename__ = "signing_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("signing_certificates.id"))
    provider: Mapped[SigningProvider] = mapped_column(_provider())
    transaction: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]


class SigningRequestItem(Base):
    """One transcript in a signing request, with its documents prepared for the signature.

    At most one pending item per transcript and role (a partial unique index), so
    nothing can be sent to two phones at once and signed twice.
    """

    __tablename__ = "signing_request_items"
    __table_args__ = (
        Index(
            "uq_signing_items_pending",
            "transcript_id",
            "role",
            unique=True,
            postgresql_where=text("state = 'PENDING'"),
            sqlite_where=text("state = 'PENDING'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("signing_requests.id", ondelete="CASCADE"), index=True
    )
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    position: Mapped[int] = mapped_column(SmallInteger)
    #: The transcript XML the signature was prepared over; a changed transcript is not signed.
    source_sha256: Mapped[str] = mapped_column(String(64))
    prepared_xml: Mapped[bytes] = mapped_column(LargeBinary)
    prepared_pdf: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    error_code: Mapped[str | None] = mapped_column(String(40))


class Job(Base):
    """A long piece of work run by the Dramatiq workers: its state lives here, not in Redis.

    The broker only carries messages; every message names a job (and a part of it),
    and the worker reads what to do from these rows. A message delivered twice, or
    lost with a restarted Redis, therefore changes nothing: the rows say what is
    done, and the watchdog (:class:`hub.jobs.actors.Watchdog`) sends again what a stalled
    job still needs. ``state`` is a :class:`hub.jobs.core.JobState`, whatever the kind.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_kind_state", "kind", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="RUNNING")
    #: Why the job is paused or failed: a stable code and its Vietnamese message.
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Where an incremental job (national sync) has got to.
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    finished_at: Mapped[datetime | None]


class SigningBatchItem(Base):
    """One transcript of a bulk signing batch, and how far it got.

    QUEUED → WAITING (sent to the provider; ``request_id`` names the signing request)
    → SIGNED, or RETURNED (back to ready, with the reason: rejected on the phone, not
    confirmed in time …), FAILED (cannot be signed by this batch) or CANCELLED.
    """

    __tablename__ = "signing_batch_items"
    __table_args__ = (
        UniqueConstraint("job_id", "transcript_id"),
        Index("ix_signing_batch_items_job_chunk", "job_id", "chunk"),
        Index("ix_signing_batch_items_job_state", "job_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"), index=True)
    chunk: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="QUEUED")
    request_id: Mapped[str | None] = mapped_column(String(36), index=True)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SyncDeadLetter(Base):
    """An item a national system refused during a sync run, kept for staff to put right.

    ``target`` is the system (SECTOR_DATABASE, TRANSCRIPT_STORE), ``entity`` and
    ``entity_id`` the hub's row (a student, a transcript version), ``item_version``
    the version sent (the student's change version, the transcript's version).
    ``resolved_at`` is set when a later run gets the same row accepted.
    """

    __tablename__ = "sync_dead_letters"
    __table_args__ = (
        UniqueConstraint("job_id", "target", "entity_id", "item_version"),
        Index("ix_sync_dead_letters_open", "target", "entity_id", "resolved_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(24))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    natural_key: Mapped[str | None] = mapped_column(String(64))
    item_version: Mapped[int] = mapped_column(BigInteger)
    school_id: Mapped[int | None] = mapped_column(Integer, index=True)
    batch_key: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    resolved_at: Mapped[datetime | None]


class ProviderMigrationItem(Base):
    """One staff member in a signing-provider migration, and how far they got.

    PENDING → STARTING (the target credential being found or enrolled, the test
    signature sent) → TESTING (waiting for the phone) → PROVEN (the test signature
    verified) → SWITCHED (the new certificate is the default, the old one the
    fallback) → CONFIRMED (the fallback dropped) or ROLLED_BACK; or SKIPPED (nothing
    to do, as planned), FAILED (the reason says why) or CANCELLED (rolled back first).
    ``undo`` keeps what the switch changed, so a rollback puts exactly that back.
    """

    __tablename__ = "provider_migration_items"
    __table_args__ = (
        UniqueConstraint("job_id", "staff_id"),
        Index("ix_provider_migration_items_job_state", "job_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    #: What the plan said would happen: SWITCH, ENROL, NEEDS_ENROLMENT or SKIP.
    planned: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    old_certificate_id: Mapped[int | None] = mapped_column(ForeignKey("signing_certificates.id"))
    new_certificate_id: Mapped[int | None] = mapped_column(ForeignKey("signing_certificates.id"))
    #: The test signature: the target credential, its certificate, the provider transaction.
    test: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    undo: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ProviderMigrationStep(Base):
    """The audit trail of a signing-provider migration: every step, by whom, and when.

    ``actor`` is the API client that asked (start, pause, resume, confirm, rollback;
    the plan's entries are written at the start) or ``worker`` for the steps the jobs
    took; ``detail`` holds what the step saw (the credential found, the transaction
    sent, the certificates switched).
    """

    __tablename__ = "provider_migration_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("provider_migration_items.id", ondelete="CASCADE")
    )
    staff_id: Mapped[int | None] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=func.now())


# --- People (issue 11): sign-in, sessions, programs acting for a person, consent ---


class DepartmentOfficer(Base):
    """A person an operator granted a department role (cán bộ Sở, or of a district
    office), by personal ID."""

    __tablename__ = "department_officers"
    id: Mapped[int] = mapped_column(primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    #: A district office's officer (Phòng GDĐT) reaches that district's schools only;
    #: None: the whole department (migration 0017).
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AdmissionOfficer(Base):
    """A person an operator made an officer of an admission service (cán bộ tuyển sinh),
    by personal ID: on the hub's pages they read what that service (an API client of
    kind ADMISSION) reads, under the families' consents given to it (migration 0018)."""

    __tablename__ = "admission_officers"
    id: Mapped[int] = mapped_column(primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.client_id"))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """A sign-in started at ``GET /login``, until the identity provider calls back once.

    Only hashes of ``state`` are kept; the PKCE verifier and nonce are needed to finish.
    """

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str | None] = mapped_column(String(64))
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    return_to: Mapped[str] = mapped_column(String(500), default="/")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in person's session; the cookie holds a random token, this row its hash."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    personal_id: Mapped[str] = mapped_column(String(12), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(32))
    account_level: Mapped[int | None] = mapped_column(SmallInteger)
    csrf_token: Mapped[str] = mapped_column(String(64))
    #: What RP-initiated logout needs at the provider (the ID token as ``id_token_hint``).
    logout_hint: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthorizationCode(Base):
    """An authorization code a person approved for an app (RFC 6749 §4.1, PKCE RFC 7636)."""

    __tablename__ = "oauth_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    personal_id: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(Base):
    """A refresh token of an app acting for a person; rotated on every use.

    Tokens of one approval share a ``family``: a used token presented again revokes
    the whole family (RFC 9700 §4.14.2).
    """

    __tablename__ = "oauth_refresh_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    personal_id: Mapped[str] = mapped_column(String(12), index=True)
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Consent(Base):
    """A pupil's family's consent for one recipient to read named documents for one purpose.

    Law 91/2025/QH15 and Decree 356/2025: specific, informed, withdrawable; for a child
    the legal representative gives it, and a child of 7 or more agrees too
    (``pupil_agreed_at``). ``text_version`` is the wording shown (hub.domain.consent).
    """

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_student_recipient", "student_id", "recipient"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(64), doc="The admission client's client_id.")
    purpose: Mapped[str] = mapped_column(String(200))
    #: What may be read: {"schoolYears": ["2025-2026", …]} (transcripts of those years).
    documents: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    text_version: Mapped[str] = mapped_column(String(16))
    given_by: Mapped[str] = mapped_column(String(12), doc="The guardian's personal ID.")
    pupil_agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(12))


class ProviderStatusChange(Base):
    """A signing provider's status changed (UP, DEGRADED, DOWN), as a health check saw it.

    ``sequence`` counts a provider's changes: the API process whose insert takes the
    next number is the one that recorded the change (and tells the people who sign
    with that provider); another process seeing the same change loses on the unique
    constraint (migration 0016).
    """

    __tablename__ = "provider_status_changes"
    __table_args__ = (UniqueConstraint("provider", "sequence"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[SigningProvider] = mapped_column(_provider())
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str | None] = mapped_column(String(500))


#: A tally's row id: 64-bit on PostgreSQL (a season adds millions of deltas), SQLite's
#: own row id there.
_TALLY_ID = BigInteger().with_variant(Integer, "sqlite")


class SigningTally(Base):
    """The current versions of the transcripts, counted by school and state: the signing
    season's progress without counting two million rows (``hub.db.tallies``; one
    school's classes are counted from its own transcripts).

    Rows are deltas (``n`` is +k or −k) written by the database's own triggers on
    ``transcripts`` in the transaction that changes them (migration 0019); a figure is
    the sum of its rows, and compaction folds them into one row per key.
    """

    __tablename__ = "signing_tallies"
    __table_args__ = (Index("ix_signing_tallies_year_school", "school_year_id", "school_id"),)
    id: Mapped[int] = mapped_column(_TALLY_ID, primary_key=True)
    school_id: Mapped[int] = mapped_column(Integer)
    school_year_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(24))
    n: Mapped[int] = mapped_column(Integer)


class ResultTally(Base):
    """The current versions of the transcripts, counted by school, grade and the year's
    results the grading rules gave them (learning, conduct, promotion): the learning
    results report (``hub.db.tallies``; deltas as in :class:`SigningTally`)."""

    __tablename__ = "result_tallies"
    __table_args__ = (Index("ix_result_tallies_year_school", "school_year_id", "school_id"),)
    id: Mapped[int] = mapped_column(_TALLY_ID, primary_key=True)
    school_id: Mapped[int] = mapped_column(Integer)
    school_year_id: Mapped[int] = mapped_column(Integer)
    grade: Mapped[int] = mapped_column(SmallInteger)
    learning_result: Mapped[str | None] = mapped_column(String(16))
    conduct_result: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer)


class PupilTally(Base):
    """The pupils of each school, counted by whether they have a personal ID and what the
    population database said of it: pupils without a verified ID (``hub.db.tallies``;
    deltas as in :class:`SigningTally`)."""

    __tablename__ = "pupil_tallies"
    __table_args__ = (Index("ix_pupil_tallies_school", "school_id"),)
    id: Mapped[int] = mapped_column(_TALLY_ID, primary_key=True)
    school_id: Mapped[int] = mapped_column(Integer)
    has_personal_id: Mapped[bool] = mapped_column(Boolean)
    identity_status: Mapped[IdentityStatus] = mapped_column(
        _enum(IdentityStatus, "identity_status")
    )
    n: Mapped[int] = mapped_column(Integer)


class SpreadsheetImport(Base):
    """A spreadsheet a school or an office uploaded (issue 14), and the file it got back.

    Its IMPORT :class:`Job` writes the rows part by part (:class:`SpreadsheetImportPart`);
    ``running_key`` (kind, the file's digest, who sent it) is set while the job runs, so
    the same bytes sent again by the same caller meanwhile find that job instead of
    starting a second one (migration 0020).
    """

    __tablename__ = "spreadsheet_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    layout: Mapped[str] = mapped_column(String(32))
    file_format: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    running_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    upload: Mapped[bytes] = mapped_column(LargeBinary)
    result: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SpreadsheetImportPart(Base):
    """Up to one write's rows of an import: their cells as read, then, once ``written``,
    each row's verdict ([row number, status, errors, warnings])."""

    __tablename__ = "spreadsheet_import_parts"
    __table_args__ = (UniqueConstraint("import_id", "part"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("spreadsheet_imports.id", ondelete="CASCADE"))
    part: Mapped[int] = mapped_column(Integer)
    cells: Mapped[list[Any]] = mapped_column(JSON)
    written: Mapped[bool] = mapped_column(Boolean, default=False)
    verdicts: Mapped[list[Any] | None] = mapped_column(JSON)
