"""A person who signs in, and the roles the hub's records give them (issue 11).

The hub never takes a role from the identity provider or from an app: it matches the
signed-in person to its own records by the 12-digit personal ID and reads the roles
there — a staff assignment at a school, the homeroom class a class record names, the
principal by :func:`hub.domain.roles.principal_of`, a department role an operator
granted, an admission service's officer an operator named, a guardianship whose link
the hub verified, a pupil's own record. Roles are read again on every request, so a
teacher moved to another school stops acting for the old one at once.
"""

from dataclasses import dataclass
from datetime import date

from hub.domain.enums import GuardianRelation, OrgLevel, StaffRole


@dataclass(frozen=True)
class SchoolRole:
    """A staff assignment: ``role`` at ``school_id``."""

    school_id: int
    school_name: str
    role: StaffRole


@dataclass(frozen=True)
class HomeroomClass:
    """A class whose record names the person as its homeroom teacher (GVCN)."""

    class_id: int
    class_name: str
    school_id: int
    school_name: str


@dataclass(frozen=True)
class Child:
    """A pupil the person is the verified legal representative of."""

    student_id: int
    full_name: str
    birth_date: date | None
    school_id: int | None
    relation: GuardianRelation


@dataclass(frozen=True)
class AdmissionService:
    """The admission service (dịch vụ tuyển sinh: an API client of kind ADMISSION) a
    person is an officer of, as the client's own caller has it when the person's roles
    are read: what it may read (``scopes``) and where (``school_ids``; None: the whole
    department), and only ever under the families' consents given to ``client_id``."""

    client_id: str
    name: str
    scopes: frozenset[str]
    org_level: OrgLevel
    school_ids: frozenset[int] | None


@dataclass(frozen=True)
class Person:
    """A signed-in person as the hub's records describe them."""

    personal_id: str
    full_name: str
    staff_id: int | None = None
    schools: tuple[SchoolRole, ...] = ()
    homeroom_classes: tuple[HomeroomClass, ...] = ()
    principal_of: frozenset[int] = frozenset()
    department_officer: bool = False
    #: An officer of a district office (Phòng GDĐT): the district and its schools,
    #: which bound the officer's reach; None for the whole department's officers.
    office_district_id: int | None = None
    office_school_ids: frozenset[int] = frozenset()
    guardian_id: int | None = None
    children: tuple[Child, ...] = ()
    student_id: int | None = None  # the person is a pupil
    #: The admission service an operator made the person an officer of (cán bộ tuyển
    #: sinh); None when they are none, or the service is disabled or deleted.
    admission: AdmissionService | None = None

    @classmethod
    def recorded(cls, personal_id: str) -> "Person":
        """The person a job recorded it acts for, by their personal ID alone: whom its
        steps act for and the audit names. Their roles are not read (a sign-in's
        :func:`hub.auth.people.load_person` is ~8 queries): a step that depends on one
        asks the records itself, as a bulk signing chunk asks whether they still hold
        the role it is signed for."""
        return cls(personal_id=personal_id, full_name="")

    @property
    def staff_school_ids(self) -> frozenset[int]:
        """The schools the person works at (any assignment)."""
        return frozenset(role.school_id for role in self.schools)

    @property
    def child_ids(self) -> frozenset[int]:
        return frozenset(child.student_id for child in self.children)

    @property
    def is_staff(self) -> bool:
        return self.staff_id is not None and bool(self.schools)

    @property
    def known(self) -> bool:
        """Whether the records give the person any role at all."""
        return (
            self.is_staff
            or self.department_officer
            or bool(self.children)
            or self.student_id is not None
            or self.admission is not None
        )

    @property
    def acts_for_an_organisation(self) -> bool:
        """Whether the person reads others' records for a school, the department or an
        admission service: they sign in at the staff account level
        (``Settings.staff_min_account_level``)."""
        return self.is_staff or self.department_officer or self.admission is not None

    def represents(self, student_id: int) -> bool:
        """Whether the person is the verified legal representative of the pupil."""
        return student_id in self.child_ids

    def speaks_for(self, student_id: int) -> bool:
        """Whether the person is the pupil themself or their verified legal representative:
        who exercises the data subject's rights over the pupil's record (Law 91/2025)."""
        return self.student_id == student_id or self.represents(student_id)
