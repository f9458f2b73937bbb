"""What the compiled path knows of the schema: which node types and fields it can answer
in SQL, from which columns, masked how, and how each relation is reached.

Anything not listed here is answered by the ordinary path (graphql-core and the
resolvers). The table mirrors the node types of :mod:`hub.schema.nodes` field for field:
the compiled path's answers are compared with the ordinary path's on the test suite's
queries (the check mode of :mod:`hub.fastpath`).
"""

from dataclasses import dataclass
from typing import Any

from hub.db import models
from hub.domain.personal_data import Kind

#: How a scalar is shown: as stored, a Relay global ID, a date, a UTC datetime, or masked.
PLAIN = "plain"
GLOBAL_ID = "id"
DATE = "date"
DATETIME = "datetime"


@dataclass(frozen=True)
class Scalar:
    column: str
    show: str | Kind = PLAIN


@dataclass(frozen=True)
class Relation:
    """A relation field: ``to`` is the GraphQL type reached.

    ``via`` says how: ``("fk", column)`` a to-one by the parent's foreign key;
    ``("owner", column)`` a to-many of the child rows whose ``column`` is the parent's id;
    ``("current_class",)`` the class of the pupil's enrolment in the current year.
    """

    to: str
    via: tuple[str, ...]
    many: bool = False
    scope: str | None = None
    #: the order of a to-many list: (column, descending)
    order: tuple[str, bool] | None = None


@dataclass(frozen=True)
class NodeShape:
    model: type
    scalars: dict[str, Scalar]
    relations: dict[str, Relation]
    #: (entity, column, item) access-log entries a row of this type is read under,
    #: as its ``from_row`` records them (None column value: no entry)
    audit: tuple[tuple[str, str, str], ...] = ()


NODES: dict[str, NodeShape] = {
    "District": NodeShape(
        models.District,
        {"id": Scalar("id", GLOBAL_ID), "code": Scalar("code"), "name": Scalar("name")},
        {},
    ),
    "School": NodeShape(
        models.School,
        {
            "id": Scalar("id", GLOBAL_ID),
            "moetCode": Scalar("moet_code"),
            "name": Scalar("name"),
            "level": Scalar("level"),
            "ownership": Scalar("ownership"),
            "directlyManaged": Scalar("directly_managed"),
        },
        {"district": Relation("District", ("fk", "district_id"))},
    ),
    "SchoolClass": NodeShape(
        models.SchoolClass,
        {"id": Scalar("id", GLOBAL_ID), "name": Scalar("name"), "grade": Scalar("grade")},
        {
            "school": Relation("School", ("fk", "school_id")),
            "homeroomTeacher": Relation("Staff", ("fk", "homeroom_teacher_id")),
        },
    ),
    "Student": NodeShape(
        models.Student,
        {
            "id": Scalar("id", GLOBAL_ID),
            "personalId": Scalar("personal_id", Kind.PERSONAL_ID),
            "ministryCode": Scalar("moet_code"),
            "fullName": Scalar("full_name"),
            "birthDate": Scalar("birth_date", DATE),
            "sex": Scalar("sex"),
            "ethnicity": Scalar("ethnicity"),
            "identityStatus": Scalar("identity_status"),
            "identityVerifiedAt": Scalar("identity_verified_at", DATETIME),
            "needsReview": Scalar("needs_review"),
        },
        {
            "school": Relation("School", ("fk", "school_id")),
            "currentClass": Relation("SchoolClass", ("current_class",)),
        },
        audit=(("student", "id", "record"),),
    ),
    "Staff": NodeShape(
        models.Staff,
        {
            "id": Scalar("id", GLOBAL_ID),
            "personalId": Scalar("personal_id", Kind.PERSONAL_ID),
            "fullName": Scalar("full_name"),
            "birthDate": Scalar("birth_date", DATE),
            "sex": Scalar("sex"),
            "email": Scalar("email", Kind.EMAIL),
            "phone": Scalar("phone", Kind.PHONE),
        },
        {
            "certificates": Relation(
                "Certificate",
                ("owner", "staff_id"),
                many=True,
                scope="certificates:read",
                order=("valid_to", True),
            ),
        },
        audit=(("staff", "id", "record"),),
    ),
    "Certificate": NodeShape(
        models.SigningCertificate,
        {
            "id": Scalar("id", GLOBAL_ID),
            "provider": Scalar("provider"),
            "credentialId": Scalar("credential_id"),
            "serialNumber": Scalar("serial_number"),
            "subject": Scalar("subject_dn", Kind.CERTIFICATE_SUBJECT),
            "issuer": Scalar("issuer_dn"),
            "validFrom": Scalar("valid_from", DATETIME),
            "validTo": Scalar("valid_to", DATETIME),
            "status": Scalar("status"),
        },
        {
            "staff": Relation("Staff", ("fk", "staff_id")),
            "school": Relation("School", ("fk", "school_id")),
        },
        audit=(("staff", "staff_id", "certificate"),),
    ),
    # Reached only as a change's node (:mod:`hub.fastpath.feed`), not from a root list.
    "Transcript": NodeShape(
        models.Transcript,
        {
            "id": Scalar("id", GLOBAL_ID),
            "documentId": Scalar("document_id"),
            "version": Scalar("version"),
            "state": Scalar("state"),
            "isCurrent": Scalar("is_current"),
            "correctionReason": Scalar("correction_reason"),
            "learningResult": Scalar("learning_result"),
            "conductResult": Scalar("conduct_result"),
            "outcome": Scalar("outcome"),
            "award": Scalar("award"),
            "createdAt": Scalar("created_at", DATETIME),
            "updatedAt": Scalar("updated_at", DATETIME),
        },
        {},
        audit=(("student", "student_id", "transcript"),),
    ),
}


@dataclass(frozen=True)
class Root:
    """A root list: its node type and how its filtered statement is built."""

    node: str
    connection: str
    statement: Any  # (filter, dialect) -> Select


def _roots() -> dict[str, Root]:
    from sqlalchemy import select

    from hub.resolvers import queries

    return {
        "districts": Root("District", "DistrictConnection", lambda f, d: select(models.District)),
        "schools": Root("School", "SchoolConnection", lambda f, d: queries.schools(f)),
        "classes": Root("SchoolClass", "SchoolClassConnection", lambda f, d: queries.classes(f)),
        "students": Root("Student", "StudentConnection", queries.students),
        "staff": Root("Staff", "StaffConnection", queries.staff),
        "certificates": Root(
            "Certificate", "CertificateConnection", lambda f, d: queries.certificates(f)
        ),
    }


ROOTS: dict[str, Root] = _roots()
