"""Change versions for the change feed (the lesson of Ed-Fi's change queries).

Every insert or update of a tracked row (students, staff, guardian links,
certificates) takes the next value of one monotonic counter; every delete leaves
a tombstone with the row's natural key. Downstream systems ask for "everything
after version N".

The counter is a single row updated inside the writing transaction, not a
database sequence: a sequence hands out numbers in call order, so a reader could
see version 11 committed while 10 is still in flight and skip 10 forever. The
row lock makes versions follow commit order, at the cost of serialising writers
for the short moment between their flush and their commit.
"""

import json
from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from hub.db.models import (
    ChangeCounter,
    Guardian,
    GuardianLink,
    SigningCertificate,
    Staff,
    StaffAssignment,
    Student,
    Tombstone,
    Tracked,
    Transcript,
)

#: What a change did: the row was written; (a tombstone's ``operation``) the row is gone,
#: or the record left the school the tombstone names.
UPSERTED = "upserted"
DELETED = "deleted"
LEFT = "left"
#: Transcript states downstream systems follow (a superseded version is followed too).
_FOLLOWED_TRANSCRIPT_STATES = frozenset({"PUBLISHED"})


def reserve_versions(session: Session, count: int) -> int:
    """Reserve ``count`` change versions; return the first one."""
    last = session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + count)
        .returning(ChangeCounter.value)
    ).scalar_one()
    return last - count + 1


#: The natural key of each tracked entity read from its own row: (the key's name in the
#: change feed, the row's column). A guardian link's and a transcript's keys take
#: columns of other rows (:func:`guardian_link_key`, :func:`transcript_key`).
NATURAL_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "student": (("personalId", "personal_id"), ("ministryCode", "moet_code")),
    "staff": (("personalId", "personal_id"),),
    "certificate": (("issuer", "issuer_dn"), ("serialNumber", "serial_number")),
}


def natural_key(entity: str, row: Any) -> dict[str, Any]:
    """The natural key of ``row`` (an ORM object or a Core row) of a tracked ``entity``."""
    return {name: getattr(row, column) for name, column in NATURAL_KEYS[entity]}


def student_key(row: Student) -> dict[str, Any]:
    return natural_key("student", row)


def staff_key(row: Staff) -> dict[str, Any]:
    return natural_key("staff", row)


def guardian_link_key(
    student_personal_id: str | None, guardian_personal_id: str | None, guardian_phone: str | None
) -> dict[str, Any]:
    return {
        "studentPersonalId": student_personal_id,
        "guardianPersonalId": guardian_personal_id,
        "guardianPhone": guardian_phone,
    }


def certificate_key(row: SigningCertificate) -> dict[str, Any]:
    return natural_key("certificate", row)


def _tombstone_of(row: Any, session: Session) -> tuple[str, dict[str, Any], list[int | None]]:
    """The entity name, natural key and owning schools of a deleted tracked row."""
    if isinstance(row, Student):
        return "student", student_key(row), [row.school_id]
    if isinstance(row, Staff):
        assigned: list[int | None] = [*sorted({a.school_id for a in row.assignments})]
        return "staff", staff_key(row), assigned or [None]
    if isinstance(row, GuardianLink):
        student = session.get(Student, row.student_id)
        guardian = session.get(Guardian, row.guardian_id)
        key = guardian_link_key(
            student.personal_id if student else None,
            guardian.personal_id if guardian else None,
            guardian.phone if guardian else None,
        )
        return "guardianLink", key, [student.school_id if student else None]
    if isinstance(row, SigningCertificate):
        schools: list[int | None] = [row.school_id]
        if row.staff_id is not None:
            schools = list(
                session.scalars(
                    select(StaffAssignment.school_id)
                    .where(StaffAssignment.staff_id == row.staff_id)
                    .distinct()
                )
            ) or [None]
        return "certificate", certificate_key(row), schools
    raise TypeError(f"not a tracked row: {row!r}")


def transcript_key(row: Any, student_personal_id: str | None) -> dict[str, Any]:
    """A transcript row's (ORM object or Core row) natural key in the change feed."""
    return {
        "documentId": row.document_id,
        "version": row.version,
        "studentPersonalId": student_personal_id,
    }


def _old_value(row: Any, attribute: str) -> Any:
    """The value ``attribute`` had when ``row`` was loaded (its current one if unchanged)."""
    history = inspect(row).attrs[attribute].history
    return history.deleted[0] if history.deleted else getattr(row, attribute)


def _departures(session: Session) -> list[tuple[str, dict[str, Any], int]]:
    """Records leaving a school in this flush: (entity, natural key, the school left).

    A pupil whose school changes (a move, a withdrawal) and a staff member whose last
    assignment at a school ends leave that school; its change feed must say so even
    though the record itself lives on (elsewhere, or nowhere for now).
    """
    found: list[tuple[str, dict[str, Any], int]] = []
    for row in session.dirty:
        if isinstance(row, Student) and session.is_modified(row):
            before = _old_value(row, "school_id")
            if before is not None and before != row.school_id:
                found.append(("student", student_key(row), before))
    ended: dict[Staff, set[int]] = {}
    for row in session.deleted:
        if isinstance(row, StaffAssignment) and row.staff is not None:
            ended.setdefault(row.staff, set()).add(row.school_id)
    for row in session.dirty:
        if isinstance(row, Staff):
            removed = inspect(row).attrs["assignments"].history.deleted
            ended.setdefault(row, set()).update(a.school_id for a in removed)
    for staff, schools in ended.items():
        if staff in session.deleted:
            continue
        remaining = {a.school_id for a in staff.assignments if a not in session.deleted}
        found += [("staff", staff_key(staff), s) for s in sorted(schools - remaining)]
    return found


def _followed_transcripts(session: Session) -> list[Transcript]:
    """Transcripts that were just published or superseded by a correction."""
    found = []
    for row in session.dirty:
        if isinstance(row, Transcript) and session.is_modified(row):
            published = (
                row.state in _FOLLOWED_TRANSCRIPT_STATES
                and _old_value(row, "state") not in _FOLLOWED_TRANSCRIPT_STATES
            )
            superseded = not row.is_current and _old_value(row, "is_current")
            if published or superseded:
                found.append(row)
    return found


@event.listens_for(Session, "before_flush")
def _stamp_change_versions(session: Session, _context: Any, _instances: Any) -> None:
    changed: list[Tracked] = [row for row in session.new if isinstance(row, Tracked)]
    changed += [
        row for row in session.dirty if isinstance(row, Tracked) and session.is_modified(row)
    ]
    departures = _departures(session)
    transcripts = _followed_transcripts(session)
    # A staff member's assignments are part of what downstream systems see of them.
    for row in (*session.new, *session.deleted):
        if (
            isinstance(row, StaffAssignment)
            and row.staff is not None
            and row.staff not in changed
            and row.staff not in session.deleted
        ):
            changed.append(row.staff)
    deleted = [row for row in session.deleted if isinstance(row, Tracked)]
    if not changed and not deleted and not departures and not transcripts:
        return
    version = reserve_versions(
        session, len(changed) + len(deleted) + len(departures) + len(transcripts)
    )
    for row in changed:
        row.change_version = version
        version += 1
    for row in deleted:
        entity, key, schools = _tombstone_of(row, session)
        encoded = json.dumps(key, ensure_ascii=False, sort_keys=True)
        for school_id in schools:
            session.add(
                Tombstone(
                    change_version=version,
                    entity=entity,
                    natural_key=encoded,
                    school_id=school_id,
                    operation=DELETED,
                )
            )
        version += 1
    for entity, key, school_id in departures:
        session.add(
            Tombstone(
                change_version=version,
                entity=entity,
                natural_key=json.dumps(key, ensure_ascii=False, sort_keys=True),
                school_id=school_id,
                operation=LEFT,
            )
        )
        version += 1
    for transcript in transcripts:
        transcript.change_version = version
        version += 1
