"""Who holds a signing role for a transcript, decided from the school's records (RULES.md §4).

A transcript is signed by the homeroom teacher of its class (giáo viên chủ nhiệm),
then the principal of its school (hiệu trưởng), then the school's organisation seal
(con dấu). Each function here decides one of them from candidate records already
read; its SQL twin in :mod:`hub.db.roles` decides the same in the database.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from hub.domain.certificates import CertificateRecord, signing_certificate
from hub.domain.enums import StaffRole


class ClassRecord(Protocol):
    """What the homeroom rule reads of a class (a row of ``classes``)."""

    @property
    def homeroom_teacher_id(self) -> int | None: ...


class AssignmentRecord(Protocol):
    """What the principal rule reads of a staff assignment (a row of ``staff_assignments``)."""

    @property
    def id(self) -> int: ...
    @property
    def staff_id(self) -> int: ...
    @property
    def school_id(self) -> int: ...
    @property
    def role(self) -> StaffRole: ...


def homeroom_teacher_of(school_class: ClassRecord) -> int | None:
    """The staff id of the class's homeroom teacher (giáo viên chủ nhiệm), or None.

    The class record names its homeroom teacher; that person, and only that person,
    signs the class's transcripts first. A HOMEROOM staff assignment says only that
    someone is a homeroom teacher somewhere in the school, not of which class, so it
    never decides. Who signed earlier transcripts is history, not the role: the
    verification of a signed document accepts them through the signing requests.

    SQL twin: :func:`hub.db.roles.homeroom_teacher_id`.
    """
    return school_class.homeroom_teacher_id


def principal_of(school_id: int, assignments: Iterable[AssignmentRecord]) -> int | None:
    """The staff id of the principal (hiệu trưởng) of the school, or None when it has none.

    The principal is whoever holds a PRINCIPAL assignment at the school. The records
    carry no dates (an assignment is in force until the vendor ends it, and ending it
    deletes it), so the assignments in force are the ones on record now. When a school
    has two principal records — a new principal was recorded before the old one's
    assignment was ended — the one recorded last (the highest assignment id) is the
    principal: a vendor adds the newcomer while the departing principal's record
    lingers, never the other way round. The decision is the same on every path that
    needs the principal: signing, bulk signing, drafting, verification and the demo.

    SQL twin: :func:`hub.db.roles.is_principal_record`.
    """
    records = [a for a in assignments if a.school_id == school_id and a.role is StaffRole.PRINCIPAL]
    latest = max(records, key=lambda a: a.id, default=None)
    return latest.staff_id if latest else None


class SealCandidate(CertificateRecord, Protocol):
    """A certificate with its owning school (None for a staff member's own certificate)."""

    @property
    def school_id(self) -> int | None: ...


def seal_certificate_of(
    school_id: int, certificates: Iterable[SealCandidate], at: datetime
) -> SealCandidate | None:
    """The school's organisation seal (con dấu / chữ ký số của trường) at ``at``.

    The seal is a certificate the school itself owns (not any staff member's), kept
    on the school's hardware token; of the school's certificates, the one it signs
    with at ``at`` (:func:`hub.domain.certificates.signing_certificate`: valid and not
    retired, preferred first, then valid longest).

    SQL twin: :func:`hub.db.queries.signing_certificate_id` on the school's certificates
    (the one the signing service joins).
    """
    return signing_certificate((c for c in certificates if c.school_id == school_id), at)
