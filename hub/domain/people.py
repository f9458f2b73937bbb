"""A person who signs in, and the roles the hub's records give them (issue 11).

The hub never takes a role from the identity provider or from an app: it matches the
signed-in person to its own records by the 12-digit personal ID and reads the roles
there — a staff assignment at a school, the homeroom class a class record names, the
principal by :func:`hub.domain.roles.principal_of`, a department role an operator
granted, a guardianship whose link the hub verified, a pupil's own record. Roles are
read again on every request, so a teacher moved to another school stops acting for
the old one at once.
"""

from dataclasses import dataclass
from datetime import date

from hub.domain.enums import GuardianRelation, StaffRole


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
class Person:
    """A signed-in person as the hub's records describe them."""

    personal_id: str
    full_name: str
    staff_id: int | None = None
    schools: tuple[SchoolRole, ...] = ()
    homeroom_classes: tuple[HomeroomClass, ...] = ()
    principal_of: frozenset[int] = frozenset()
    department_officer: bool = False
    guardian_id: int | None = None
    children: tuple[Child, ...] = ()
    student_id: int | None = None  # the person is a pupil

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
        )

    def represents(self, student_id: int) -> bool:
        """Whether the person is the verified legal representative of the pupil."""
        return student_id in self.child_ids
