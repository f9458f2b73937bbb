"""The floor the hub is measured against: a bare strawberry app serving a page from memory.

Same strawberry, same uvicorn, same parser and validation caches, same response
shape as the hub's students page — only no database, no authorisation, no audit.
"""

import json
import os
from pathlib import Path

import strawberry
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.type
class Certificate:
    serial_number: str
    valid_to: str
    status: str


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
class Student:
    id: strawberry.ID
    full_name: str
    personal_id: str | None
    birth_date: str | None
    school: School
    current_class: SchoolClass | None


@strawberry.type
class StudentPage:
    nodes: list[Student]


def _student(node: dict) -> Student:  # type: ignore[type-arg]
    klass = node["currentClass"]
    teacher = klass and klass["homeroomTeacher"]
    return Student(
        id=node["id"],
        full_name=node["fullName"],
        personal_id=node["personalId"],
        birth_date=node["birthDate"],
        school=School(name=node["school"]["name"], moet_code=node["school"]["moetCode"]),
        current_class=klass
        and SchoolClass(
            name=klass["name"],
            grade=klass["grade"],
            homeroom_teacher=teacher
            and Teacher(
                full_name=teacher["fullName"],
                certificates=[
                    Certificate(
                        serial_number=c["serialNumber"], valid_to=c["validTo"], status=c["status"]
                    )
                    for c in teacher["certificates"]
                ],
            ),
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
