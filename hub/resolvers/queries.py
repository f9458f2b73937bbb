"""The SQL behind each list query's filters (authorisation is added by ``paginate``).

``where`` is the list's filter input (``hub.schema.filters``, ``TranscriptFilter``),
read by attribute, or None.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnClause, Select, and_, exists, func, literal_column, select, true
from strawberry import relay

from hub.db import models
from hub.db.queries import certificate_valid_at
from hub.domain.problems import Code, HubError
from hub.domain.text import fold
from hub.resolvers.ids import database_key, key_max_of

#: The text-search configuration of the name index: no stemming, no stop words.
SIMPLE: ColumnClause[Any] = literal_column("'simple'::regconfig")


def node_key(global_id: relay.GlobalID, type_name: str) -> int:
    """The database id inside a global ID of the expected type.

    Another type's ID is INVALID_ARGUMENT; a key that is not digits in the column's
    range is INVALID_ID (:func:`hub.resolvers.ids.database_key`).
    """
    if global_id.type_name != type_name:
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail=f"cần ID của {type_name}",
            details_en={"detail": f"an ID of {type_name} is expected"},
        )
    return database_key(global_id.node_id, key_max_of(type_name), shown=str(global_id))


def name_matches(column: Any, text: str, dialect: str) -> Any:
    """The name holds every word of ``text``, the last one possibly unfinished.

    Diacritic-insensitive: "nguyen van an" finds "Nguyễn Văn An" and "Nguyễn Văn
    Anh", not "Nguyễn Văn Giang". On PostgreSQL a full-text query over the stored
    ``search_words`` tsvector and its GIN index (migration 0002); elsewhere LIKE.
    """
    words = ["".join(c for c in word if c.isalnum()) for word in fold(text).split()]
    words = [word for word in words if word]
    if not words:
        return true()
    if dialect == "postgresql":
        query = " & ".join([*words[:-1], f"{words[-1]}:*"])
        stored: ColumnClause[Any] = literal_column(f"{column.class_.__tablename__}.search_words")
        return stored.bool_op("@@")(func.to_tsquery(SIMPLE, query))
    padded = " " + column + " "
    return and_(
        *(padded.contains(f" {word} ", autoescape=True) for word in words[:-1]),
        padded.contains(f" {words[-1]}", autoescape=True),
    )


def schools(where: Any) -> Select[Any]:
    statement = select(models.School)
    if where is None:
        return statement
    if where.district_id is not None:
        statement = statement.where(
            models.School.district_id == node_key(where.district_id, "District")
        )
    if where.level is not None:
        statement = statement.where(models.School.level == where.level)
    if where.ownership is not None:
        statement = statement.where(models.School.ownership == where.ownership)
    if where.directly_managed is not None:
        statement = statement.where(models.School.directly_managed == where.directly_managed)
    if where.name:
        statement = statement.where(
            *(models.School.name.ilike(f"%{w}%") for w in where.name.split())
        )
    return statement


def classes(where: Any) -> Select[Any]:
    statement = select(models.SchoolClass).join(
        models.SchoolYear, models.SchoolYear.id == models.SchoolClass.school_year_id
    )
    if where is not None and where.school_year:
        statement = statement.where(models.SchoolYear.code == where.school_year)
    else:
        statement = statement.where(models.SchoolYear.is_current)
    if where is None:
        return statement
    if where.school_id is not None:
        statement = statement.where(
            models.SchoolClass.school_id == node_key(where.school_id, "School")
        )
    if where.grade is not None:
        statement = statement.where(models.SchoolClass.grade == where.grade)
    return statement


def _current_enrolments() -> Select[Any]:
    return (
        select(models.Enrolment.student_id)
        .join(models.SchoolClass, models.SchoolClass.id == models.Enrolment.class_id)
        .join(models.SchoolYear, models.SchoolYear.id == models.Enrolment.school_year_id)
        .where(models.SchoolYear.is_current)
    )


def students(where: Any, dialect: str) -> Select[Any]:
    statement = select(models.Student)
    if where is None:
        return statement
    student = models.Student
    if where.school_id is not None:
        statement = statement.where(student.school_id == node_key(where.school_id, "School"))
    if where.class_id is not None:
        class_id = node_key(where.class_id, "SchoolClass")
        statement = statement.where(
            student.id.in_(
                select(models.Enrolment.student_id).where(models.Enrolment.class_id == class_id)
            )
        )
    if where.grade is not None:
        statement = statement.where(
            student.id.in_(_current_enrolments().where(models.SchoolClass.grade == where.grade))
        )
    if where.identity_status is not None:
        statement = statement.where(student.identity_status == where.identity_status)
    if where.name:
        statement = statement.where(name_matches(student.search_name, where.name, dialect))
    if where.has_personal_id is not None:
        statement = statement.where(
            student.personal_id.is_not(None)
            if where.has_personal_id
            else student.personal_id.is_(None)
        )
    return statement


def _has_valid_certificate(at: datetime) -> Any:
    return exists().where(
        models.SigningCertificate.staff_id == models.Staff.id, certificate_valid_at(at)
    )


def staff(where: Any, dialect: str) -> Select[Any]:
    statement = select(models.Staff)
    if where is None:
        return statement
    if where.school_id is not None or where.role is not None:
        assignment = select(models.StaffAssignment.staff_id)
        if where.school_id is not None:
            assignment = assignment.where(
                models.StaffAssignment.school_id == node_key(where.school_id, "School")
            )
        if where.role is not None:
            assignment = assignment.where(models.StaffAssignment.role == where.role)
        statement = statement.where(models.Staff.id.in_(assignment))
    if where.has_valid_certificate is not None:
        valid = _has_valid_certificate(datetime.now(UTC))
        statement = statement.where(valid if where.has_valid_certificate else ~valid)
    if where.name:
        statement = statement.where(name_matches(models.Staff.search_name, where.name, dialect))
    return statement


def _instant(value: datetime, field: str) -> datetime:
    """A filter's date-time in UTC; one without a zone is taken as UTC (not server time)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as error:  # beyond year 1–9999 once in UTC
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail=f"{field} nằm ngoài khoảng thời gian hợp lệ",
            details_en={"detail": f"{field} is outside the valid range of dates"},
        ) from error


def certificates(where: Any) -> Select[Any]:
    certificate = models.SigningCertificate
    statement = select(certificate)
    if where is None:
        return statement
    if where.provider is not None:
        statement = statement.where(certificate.provider == where.provider)
    if where.status is not None:
        statement = statement.where(certificate.status == where.status)
    if where.expiring_before is not None:
        statement = statement.where(
            certificate.valid_to < _instant(where.expiring_before, "expiringBefore"),
            certificate.valid_to >= datetime.now(UTC),
        )
    if where.is_seal is not None:
        statement = statement.where(
            certificate.school_id.is_not(None)
            if where.is_seal
            else certificate.staff_id.is_not(None)
        )
    if where.school_id is not None:
        school_id = node_key(where.school_id, "School")
        statement = statement.where(
            (certificate.school_id == school_id)
            | certificate.staff_id.in_(
                select(models.StaffAssignment.staff_id).where(
                    models.StaffAssignment.school_id == school_id
                )
            )
        )
    return statement


def transcripts(where: Any) -> Select[Any]:
    """Transcripts by school, class, student, year (default: current) and state."""
    transcript = models.Transcript
    statement = select(transcript).join(
        models.SchoolYear, models.SchoolYear.id == transcript.school_year_id
    )
    year = where.school_year if where is not None else None
    statement = statement.where(
        models.SchoolYear.code == year if year else models.SchoolYear.is_current
    )
    if where is None or where.current_only:
        statement = statement.where(transcript.is_current)
    if where is None:
        return statement
    if where.school_id is not None:
        statement = statement.where(transcript.school_id == node_key(where.school_id, "School"))
    if where.class_id is not None:
        statement = statement.where(transcript.class_id == node_key(where.class_id, "SchoolClass"))
    if where.student_id is not None:
        statement = statement.where(transcript.student_id == node_key(where.student_id, "Student"))
    if where.state is not None:
        statement = statement.where(transcript.state == where.state.value)
    return statement
