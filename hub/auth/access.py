"""Who may read and write what: the hub's single authorisation layer.

An API client's organisation scope (the whole department, some district offices,
or some schools) becomes a set of school ids when its token is checked; every
query of every resolver passes through :func:`restrict`, which turns that set into
SQL, in the manner of Ed-Fi's relationship-based authorisation. A row outside the
caller's schools is simply not there for it: asking for another school's student
returns nothing rather than an error that would leak the student's existence.

OAuth2 scopes decide which kinds of record a client may touch at all
(:func:`read_scope_for`); organisation decides which rows. An admission service
reads a pupil's transcripts only under the family's consent (issue 11): for it the
condition of a transcript row adds :func:`hub.db.queries.consent_in_force`.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, exists, false, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from hub.db.models import (
    AccessLog,
    District,
    Enrolment,
    Guardian,
    GuardianLink,
    School,
    SchoolClass,
    SchoolYear,
    SigningCertificate,
    Staff,
    StaffAssignment,
    Student,
    Subject,
    Tombstone,
    Transcript,
    TranscriptEvent,
)
from hub.db.queries import consent_in_force
from hub.domain.enums import ClientKind, OrgLevel
from hub.domain.lifecycle import TranscriptState
from hub.domain.people import Person
from hub.domain.problems import Code, HubError

S = TypeVar("S", bound=Select[*tuple[Any, ...]])

SCOPES = {
    "students:read": "đọc hồ sơ học sinh và cha mẹ học sinh",
    "students:write": "ghi hồ sơ học sinh và cha mẹ học sinh",
    "staff:read": "đọc hồ sơ cán bộ, giáo viên",
    "staff:write": "ghi hồ sơ cán bộ, giáo viên",
    "certificates:read": "đọc chứng thư số",
    "reports:read": "xem báo cáo tổng hợp",
    "changes:read": "đọc nguồn thay đổi để đồng bộ",
    "personal-ids:read": "xem đầy đủ mã định danh cá nhân",
    "contacts:read": "xem đầy đủ số điện thoại, email liên hệ",
    "audit:read": "xem nhật ký truy cập hồ sơ học sinh",
    "assessments:read": "đọc điểm số, đánh giá của học sinh",
    "assessments:write": "ghi điểm số, đánh giá của học sinh",
    "transcripts:read": "xem, tải học bạ",
    "transcripts:write": "lập, khoá điểm, điều chỉnh học bạ",
    "transcripts:sign": "gửi yêu cầu ký số học bạ cho người ký",
    "sync:run": "đồng bộ dữ liệu lên hệ thống quốc gia, xem kết quả đồng bộ (cấp Sở)",
    "schema:read": "tra cứu cấu trúc API (introspection) ở môi trường vận hành",
}


@dataclass(frozen=True)
class Caller:
    """The authenticated client behind a request, with its reach resolved to schools.

    ``person`` is the signed-in person a program acts for (a person-bound token or a
    browser session), None for a program acting on its own (client credentials).
    A person-bound caller's reach is the client's reach narrowed to the person's own
    (:func:`hub.auth.people.bind`). ``kind`` is the client's kind (None where a caller
    is made for the hub's own work): an admission service reads under consent.
    """

    client_id: str
    scopes: frozenset[str]
    org_level: OrgLevel
    school_ids: frozenset[int] | None  # None: the whole department
    person: Person | None = None
    kind: ClientKind | None = None

    @property
    def reads_under_consent(self) -> bool:
        """Whether the caller reads pupils' transcripts only under a consent for it."""
        return self.kind is ClientKind.ADMISSION

    @property
    def personal_id(self) -> str | None:
        """The personal ID of the person the program acts for (for the audit)."""
        return None if self.person is None else self.person.personal_id

    @property
    def department_wide(self) -> bool:
        return self.school_ids is None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise HubError(Code.FORBIDDEN, scope=scope)

    def may_write_school(self, school_id: int | None) -> bool:
        """Whether this caller may write rows of ``school_id`` (None: of no school, the
        department's alone, e.g. a pupil between schools)."""
        return self.school_ids is None or school_id in self.school_ids


#: The states in which a family may have a copy of a pupil's transcript: every signature
#: is on it (the school's seal), so what they keep is the finished record.
FAMILY_COPY_STATES = frozenset({TranscriptState.SEALED.value, TranscriptState.PUBLISHED.value})


def family_may_copy(person: Person | None, *, student_id: int, state: str) -> bool:
    """Whether ``person`` may have a copy of the pupil ``student_id``'s transcript in
    ``state`` without any program's scope: the pupil themself, or their legal
    representative whose link the hub verified (Law 91/2025: the data subject's right
    to their own data, exercised for a child by the representative), once it is
    finished (:data:`FAMILY_COPY_STATES`)."""
    if person is None or state not in FAMILY_COPY_STATES:
        return False
    return person.speaks_for(student_id)


def read_scope_for(model: type) -> str | None:
    """The OAuth2 scope needed to read rows of ``model`` (None: any client)."""
    if model in (Student, Enrolment, Guardian, GuardianLink):
        return "students:read"
    if model in (Staff, StaffAssignment):
        return "staff:read"
    if model is SigningCertificate:
        return "certificates:read"
    if model is Tombstone:
        return "changes:read"
    if model is AccessLog:
        return "audit:read"
    if model in (Transcript, TranscriptEvent):
        return "transcripts:read"
    return None


def visible(model: type, caller: Caller) -> ColumnElement[bool] | None:
    """The SQL condition under which ``caller`` may see a row of ``model``.

    None means no condition (department-wide callers, or reference data). A
    transcript is visible to an admission service only while a consent for it covers
    the transcript's pupil and school year.
    """
    condition = visible_in(model, caller.school_ids)
    consent = consented(model, caller)
    if consent is None:
        return condition
    return consent if condition is None else condition & consent


def consented(model: type, caller: Caller) -> ColumnElement[bool] | None:
    """The consent condition on rows of ``model`` for ``caller``, None where none applies:
    an admission service sees a transcript only while a consent for it, in force now,
    covers the transcript's pupil and school year (Law 91/2025; IDENTITY.md)."""
    if model is not Transcript or not caller.reads_under_consent:
        return None
    return consent_in_force(
        caller.client_id,
        datetime.now(UTC),
        student_id=Transcript.student_id,
        school_year_id=Transcript.school_year_id,
    )


def visible_in(model: type, school_ids: frozenset[int] | None) -> ColumnElement[bool] | None:
    """The SQL condition for a row of ``model`` to belong to one of ``school_ids``.

    ``None`` for ``school_ids`` is the whole department. Depends on nothing but
    the school set, so statements built with it can be reused for every caller
    with the same reach.
    """
    if school_ids is None or model in (SchoolYear, Subject):
        return None
    if not school_ids:
        return false()
    ids = sorted(school_ids)
    if model is School:
        return School.id.in_(ids)
    if model is District:
        return District.id.in_(select(School.district_id).where(School.id.in_(ids)))
    if model is SchoolClass:
        return SchoolClass.school_id.in_(ids)
    if model is Student:
        return Student.school_id.in_(ids)
    if model is Enrolment:
        return Enrolment.class_id.in_(select(SchoolClass.id).where(SchoolClass.school_id.in_(ids)))
    if model is StaffAssignment:
        return StaffAssignment.school_id.in_(ids)
    if model is Tombstone:
        return Tombstone.school_id.in_(ids)
    if model is Transcript:
        return Transcript.school_id.in_(ids)
    if model is TranscriptEvent:
        return TranscriptEvent.transcript_id.in_(
            select(Transcript.id).where(Transcript.school_id.in_(ids))
        )
    if model is AccessLog:
        return AccessLog.entity_id.in_(select(Student.id).where(Student.school_id.in_(ids))) & (
            AccessLog.entity == "student"
        )
    # Subqueries use aliases so they never correlate with the same table joined
    # into the statement being restricted.
    assignment = aliased(StaffAssignment)
    student = aliased(Student)
    link = aliased(GuardianLink)
    if model is Staff:
        return exists().where(assignment.staff_id == Staff.id, assignment.school_id.in_(ids))
    if model is GuardianLink:
        return exists().where(student.id == GuardianLink.student_id, student.school_id.in_(ids))
    if model is Guardian:
        return exists().where(
            link.guardian_id == Guardian.id,
            student.id == link.student_id,
            student.school_id.in_(ids),
        )
    if model is SigningCertificate:
        return or_(
            SigningCertificate.school_id.in_(ids),
            exists().where(
                assignment.staff_id == SigningCertificate.staff_id,
                assignment.school_id.in_(ids),
            ),
        )
    raise TypeError(f"no authorisation rule for {model.__name__}")


def require_read(model: type, caller: Caller) -> None:
    """Raise FORBIDDEN when ``caller`` lacks the scope to read rows of ``model``."""
    scope = read_scope_for(model)
    if scope is not None:
        caller.require(scope)


def restrict_to(statement: S, model: type, school_ids: frozenset[int] | None) -> S:
    """Limit ``statement`` over ``model`` to rows of ``school_ids`` (no scope check)."""
    condition = visible_in(model, school_ids)
    return statement if condition is None else statement.where(condition)


def restrict(statement: S, model: type, caller: Caller) -> S:
    """Limit ``statement`` over ``model`` to the rows ``caller`` may read.

    Raises FORBIDDEN when the caller lacks the scope for that kind of record.
    """
    require_read(model, caller)
    condition = visible(model, caller)
    return statement if condition is None else statement.where(condition)
