"""The floor the hub is measured against: a bare strawberry app serving a page from memory.

Same strawberry, same uvicorn, same parser and validation caches, and the same
GraphQL types for the same 100 items — Relay global IDs, enums, dates — so the
JSON it returns is byte-for-byte the hub's. Only the hub's own work is missing:
no database, no authorisation, no access log.
"""

import json
import os
from datetime import date, datetime
from pathlib import Path

import strawberry
from strawberry import relay
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

from hub.domain.enums import CertificateStatus

Status = strawberry.enum(CertificateStatus)


@strawberry.type
class Certificate:
    serial_number: str
    valid_to: datetime
    status: Status


@strawberry.type
class Teacher:
    full_name: str
    certificates: list[Certificate]


@strawberry.type
class SchoolClass:
    name: str
    grade: int
    homeroom_teacher: Teacher | None


@strawberry.type
class School:
    name: str
    moet_code: str


@strawberry.type
class Student(relay.Node):
    id: relay.NodeID[int]
    full_name: str
    personal_id: str | None
    birth_date: date | None
    school: School
    current_class: SchoolClass | None


@strawberry.type
class StudentPage:
    nodes: list[Student]


def _teacher(teacher: dict | None) -> Teacher | None:  # type: ignore[type-arg]
    if teacher is None:
        return None
    return Teacher(
        full_name=teacher["fullName"],
        certificates=[
            Certificate(
                serial_number=c["serialNumber"],
                valid_to=datetime.fromisoformat(c["validTo"]),
                status=CertificateStatus(c["status"]),
            )
            for c in teacher["certificates"]
        ],
    )


def _student(node: dict) -> Student:  # type: ignore[type-arg]
    klass = node["currentClass"]
    return Student(
        id=int(relay.GlobalID.from_id(node["id"]).node_id),
        full_name=node["fullName"],
        personal_id=node["personalId"],
        birth_date=node["birthDate"] and date.fromisoformat(node["birthDate"]),
        school=School(name=node["school"]["name"], moet_code=node["school"]["moetCode"]),
        current_class=klass
        and SchoolClass(
            name=klass["name"],
            grade=klass["grade"],
            homeroom_teacher=_teacher(klass["homeroomTeacher"]),
        ),
    )


def create_app() -> GraphQL:
    nodes = json.loads(Path(os.environ["BARE_DATA"]).read_text())
    students = [_student(node) for node in nodes]

    @strawberry.type
    class Query:
        @strawberry.field
        async def students(self, first: int = 50) -> StudentPage:
            return StudentPage(nodes=students[:first])

    schema = strawberry.Schema(
        query=Query,
        extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
    )
    return GraphQL(schema, graphql_ide=None)
