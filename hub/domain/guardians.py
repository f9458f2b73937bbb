"""Guardians verified, not asserted (issue 11): who acts for a child, and who may say so.

A parent or guardian exercises a child's rights over the child's personal data (Law
91/2025/QH15, Decree 356/2025; RULES.md §6), so the hub lets a guardian act for a
pupil only once the guardian ↔ pupil link is verified — and only two things verify
it (:class:`~hub.domain.enums.GuardianCheck`):

- the population database (C06) records that relationship between the two personal
  IDs (IDENTITY.md: the link comes from school records verified against the population
  database, not from the login);
- a school officer saw the family's papers (birth certificate, the court's or the
  commune's decision appointing a guardian, …) and recorded the check in person.

A vendor's flag never does: a vendor app's word is an assertion, not a verification.
"""

from enum import StrEnum

from hub.domain.enums import GuardianRelation, RelationshipAnswer, StaffRole
from hub.domain.people import Person

#: The population database's name for each relation it records; OTHER (a relative or
#: carer who is no legal guardian) is recorded nowhere there.
POPULATION_RELATION: dict[GuardianRelation, str] = {
    GuardianRelation.FATHER: "FATHER",
    GuardianRelation.MOTHER: "MOTHER",
    GuardianRelation.GUARDIAN: "GUARDIAN",
}


class LinkCheck(StrEnum):
    """What asking to verify one guardian link came to."""

    VERIFIED = "VERIFIED"  # the population database confirmed it (or an officer had)
    MISMATCHED = "MISMATCHED"  # both people are citizens; that relation is not recorded
    UNKNOWN = "UNKNOWN"  # one of the two personal IDs is no citizen's
    UNREACHABLE = "UNREACHABLE"  # no answer: unchanged, asked again later
    IN_PERSON_ONLY = "IN_PERSON_ONLY"  # the population database cannot answer it

    @property
    def verified(self) -> bool:
        return self is LinkCheck.VERIFIED


class InPersonOnly(StrEnum):
    """Why a link can be verified in person only (recorded as ``inPersonOnly``)."""

    GUARDIAN_WITHOUT_PERSONAL_ID = "GUARDIAN_WITHOUT_PERSONAL_ID"
    PUPIL_WITHOUT_PERSONAL_ID = "PUPIL_WITHOUT_PERSONAL_ID"
    RELATION_NOT_RECORDED = "RELATION_NOT_RECORDED"


def population_cannot_check(
    *,
    student_personal_id: str | None,
    guardian_personal_id: str | None,
    relation: GuardianRelation,
) -> InPersonOnly | None:
    """Why the population database cannot answer about this link, or None when it can:
    it is asked by the two personal IDs and a relation it records."""
    if not guardian_personal_id:
        return InPersonOnly.GUARDIAN_WITHOUT_PERSONAL_ID
    if not student_personal_id:
        return InPersonOnly.PUPIL_WITHOUT_PERSONAL_ID
    if relation not in POPULATION_RELATION:
        return InPersonOnly.RELATION_NOT_RECORDED
    return None


_OUTCOMES = {
    RelationshipAnswer.MATCHED: LinkCheck.VERIFIED,
    RelationshipAnswer.MISMATCHED: LinkCheck.MISMATCHED,
    RelationshipAnswer.UNKNOWN: LinkCheck.UNKNOWN,
    RelationshipAnswer.UNREACHABLE: LinkCheck.UNREACHABLE,
}


def outcome_of(answer: RelationshipAnswer) -> LinkCheck:
    """The population database's answer about a link as the check's outcome."""
    return _OUTCOMES[answer]


def in_person_checker_role(
    person: Person, *, school_id: int | None, class_id: int | None
) -> StaffRole | None:
    """In which capacity ``person`` may record checking a pupil's guardian in person, or
    None when they may not.

    **[assumed]** No text names the officer; the hub asks for one who answers for the
    pupil's records at the pupil's school: its principal (hiệu trưởng, by
    :func:`hub.domain.roles.principal_of`, read into :attr:`Person.principal_of`), a
    vice-principal (phó hiệu trưởng) assigned there, or the homeroom teacher (giáo
    viên chủ nhiệm) the record of the pupil's class names this year — the one who
    meets the family and takes the enrolment papers. A subject teacher or another
    staff member may not, nor a program acting on its own (it has no person to answer
    for the check), nor anyone for a pupil who belongs to no school.
    """
    if school_id is None:
        return None
    if school_id in person.principal_of:
        return StaffRole.PRINCIPAL
    if any(r.school_id == school_id and r.role is StaffRole.VICE_PRINCIPAL for r in person.schools):
        return StaffRole.VICE_PRINCIPAL
    if class_id is not None and any(
        c.class_id == class_id and c.school_id == school_id for c in person.homeroom_classes
    ):
        return StaffRole.HOMEROOM
    return None
