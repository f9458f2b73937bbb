"""Who verifies a guardian link, and which links the population database can answer about
(hub.domain.guardians)."""

from hub.domain.enums import GuardianRelation, RelationshipAnswer, StaffRole
from hub.domain.guardians import (
    InPersonOnly,
    LinkCheck,
    in_person_checker_role,
    outcome_of,
    population_cannot_check,
)
from hub.domain.people import HomeroomClass, Person, SchoolRole

SCHOOL, OTHER_SCHOOL, CLASS, OTHER_CLASS = 10, 20, 100, 101


def staff(*roles: tuple[int, StaffRole], principal_of=(), homeroom=()) -> Person:  # type: ignore[no-untyped-def]
    return Person(
        personal_id="001080000001",
        full_name="Cán Bộ",
        staff_id=1,
        schools=tuple(SchoolRole(school, "Trường", role) for school, role in roles),
        principal_of=frozenset(principal_of),
        homeroom_classes=tuple(HomeroomClass(c, "7A1", SCHOOL, "Trường") for c in homeroom),
    )


def role(person: Person, school_id: int | None = SCHOOL, class_id: int | None = CLASS):  # type: ignore[no-untyped-def]
    return in_person_checker_role(person, school_id=school_id, class_id=class_id)


def test_the_principal_a_vice_principal_and_the_homeroom_teacher_of_the_class_may_check():
    assert role(staff((SCHOOL, StaffRole.PRINCIPAL), principal_of={SCHOOL})) is StaffRole.PRINCIPAL
    assert role(staff((SCHOOL, StaffRole.VICE_PRINCIPAL))) is StaffRole.VICE_PRINCIPAL
    homeroom = staff((SCHOOL, StaffRole.HOMEROOM), homeroom={CLASS})
    assert role(homeroom) is StaffRole.HOMEROOM


def test_others_may_not():
    # A principal record that is not the school's principal (a newer one was recorded).
    assert role(staff((SCHOOL, StaffRole.PRINCIPAL))) is None
    assert role(staff((SCHOOL, StaffRole.TEACHER), (SCHOOL, StaffRole.STAFF))) is None
    # A homeroom teacher of another class, or a HOMEROOM assignment without the class.
    assert role(staff((SCHOOL, StaffRole.HOMEROOM), homeroom={OTHER_CLASS})) is None
    assert role(staff((SCHOOL, StaffRole.HOMEROOM))) is None
    # Leadership of another school; a pupil of no school or no class this year.
    assert (
        role(staff((OTHER_SCHOOL, StaffRole.VICE_PRINCIPAL), principal_of={OTHER_SCHOOL})) is None
    )
    assert role(staff((SCHOOL, StaffRole.VICE_PRINCIPAL)), school_id=None) is None
    assert role(staff((SCHOOL, StaffRole.HOMEROOM), homeroom={CLASS}), class_id=None) is None
    assert role(Person(personal_id="001080000002", full_name="Phụ Huynh")) is None


def test_the_population_database_answers_by_two_personal_ids_and_a_relation_it_records():
    ids = {"student_personal_id": "001213000001", "guardian_personal_id": "001085000001"}
    for relation in (GuardianRelation.FATHER, GuardianRelation.MOTHER, GuardianRelation.GUARDIAN):
        assert population_cannot_check(**ids, relation=relation) is None
    assert (
        population_cannot_check(**ids, relation=GuardianRelation.OTHER)
        is InPersonOnly.RELATION_NOT_RECORDED
    )
    assert (
        population_cannot_check(
            student_personal_id="001213000001",
            guardian_personal_id=None,
            relation=GuardianRelation.FATHER,
        )
        is InPersonOnly.GUARDIAN_WITHOUT_PERSONAL_ID
    )
    assert (
        population_cannot_check(
            student_personal_id=None,
            guardian_personal_id="001085000001",
            relation=GuardianRelation.FATHER,
        )
        is InPersonOnly.PUPIL_WITHOUT_PERSONAL_ID
    )


def test_only_a_match_verifies():
    assert [outcome_of(a).verified for a in RelationshipAnswer] == [True, False, False, False]
    assert outcome_of(RelationshipAnswer.UNREACHABLE) is LinkCheck.UNREACHABLE
