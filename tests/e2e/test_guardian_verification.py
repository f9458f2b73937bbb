"""Guardians verified, not asserted (issue 11): through the API, with the population
database simulated on loopback.

A vendor's ``verified: true`` verifies nothing; ``verifyGuardianLinks`` asks the
population database; ``recordGuardianCheck`` records a school officer's in-person check
and needs a person-bound caller who may make it. Only then does the guardian act for the
child (:func:`hub.auth.people.load_person`).
"""

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from strawberry.relay import GlobalID

from hub.adapters.national.simulator import FarSideFaults
from hub.adapters.population.simulator import PopulationSimulator
from hub.adapters.signing.simulator import SimulatorServer
from hub.auth.people import load_person
from hub.auth.tokens import TokenIssuer, load_signing_key
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import GuardianCheck, OrgLevel, Ownership, SchoolLevel, Sex, StaffRole
from hub.domain.personal_id import compose
from hub.web.app import create_app
from tests.helpers import ALL_SCOPES, data, error_codes, gql, register, token_for
from tests.world import World, writers_district

_serial = itertools.count(900_001)

LINKS = """mutation($rows: [GuardianLinkInput!]!) { upsertGuardianLinks(rows: $rows) {
    rows { status errors { code } } } }"""
GUARDIANS = """query($id: ID!) { node(id: $id) { ... on Student {
    guardians { id relation verified verifiedBy verifiedAt guardian { fullName } } } } }"""
VERIFY = """mutation($ids: [ID!]!) { verifyGuardianLinks(studentIds: $ids) {
    studentId result code message link { id relation verified verifiedBy verifiedAt } } }"""
CHECK = """mutation($id: ID!, $papers: String!, $note: String) {
    recordGuardianCheck(linkId: $id, papers: $papers, note: $note) {
        id verified verifiedBy verifiedAt } }"""


def _pid(year: int, sex: Sex) -> str:
    return compose("079", year, sex, next(_serial))


@dataclass
class School:
    id: int
    code: str
    class_id: int
    principal: str  # personal IDs
    homeroom_teacher: str
    subject_teacher: str


@dataclass
class Family:
    student_id: int
    student_gid: str
    student_personal_id: str
    father: str
    mother: str


@pytest.fixture(scope="module")
def population() -> Iterator[tuple[PopulationSimulator, SimulatorServer]]:
    simulator = PopulationSimulator()
    server = SimulatorServer(simulator.app()).start()
    yield simulator, server
    server.stop()


@pytest.fixture(scope="module")
async def api(
    settings: Settings, db: Database, population: tuple[PopulationSimulator, SimulatorServer]
) -> AsyncIterator[httpx.AsyncClient]:
    """The hub with the population database configured (the shared app has none)."""
    configured = settings.model_copy(update={"population_url": population[1].url})
    transport = httpx.ASGITransport(app=create_app(configured, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture(scope="module")
async def school(db: Database, world: World) -> School:
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department))
        district = await writers_district(session)
        row = models.School(
            department_id=department.id,
            district_id=district.id,
            moet_code="01GHIGIAMHO",
            name="Trường THCS Thử Giám Hộ",
            level=SchoolLevel.LOWER_SECONDARY,
            ownership=Ownership.PUBLIC,
        )
        session.add(row)
        await session.flush()

        def staff(name: str, role: StaffRole) -> models.Staff:
            return models.Staff(
                personal_id=_pid(1980, Sex.FEMALE),
                full_name=name,
                search_name=name.lower(),
                assignments=[models.StaffAssignment(school_id=row.id, role=role)],
            )

        principal = staff("Trần Văn Hiệu", StaffRole.PRINCIPAL)
        homeroom = staff("Lê Thị Chủ Nhiệm", StaffRole.HOMEROOM)
        subject = staff("Phạm Văn Bộ Môn", StaffRole.TEACHER)
        session.add_all([principal, homeroom, subject])
        await session.flush()
        school_class = models.SchoolClass(
            school_id=row.id,
            school_year_id=world.current_year_id,
            name="7A1",
            grade=7,
            homeroom_teacher_id=homeroom.id,
        )
        session.add(school_class)
        await session.flush()
        return School(
            id=row.id,
            code=row.moet_code,
            class_id=school_class.id,
            principal=principal.personal_id,
            homeroom_teacher=homeroom.personal_id,
            subject_teacher=subject.personal_id,
        )


@pytest.fixture(scope="module")
async def vendor(db: Database, api: httpx.AsyncClient, school: School) -> str:
    return await token_for(api, *await register(db, org=OrgLevel.SCHOOL, schools=[school.code]))


@pytest.fixture(scope="module")
def issuer(settings: Settings) -> TokenIssuer:
    """Mints person-bound tokens as the hub's authorization-code grant would."""
    return TokenIssuer(load_signing_key(settings), issuer=settings.issuer, lifetime_seconds=600)


async def person_token(
    db: Database, issuer: TokenIssuer, personal_id: str, *, org: OrgLevel, schools: list[str]
) -> str:
    """A token of a new app acting for the person ``personal_id``."""
    client_id, _ = await register(db, org=org, schools=schools)
    token, _ = issuer.issue(client_id, frozenset(ALL_SCOPES), person=personal_id)
    return token


async def family(
    db: Database, api: httpx.AsyncClient, vendor: str, school: School, **vendor_says: Any
) -> Family:
    """A pupil of the school's class with a father and a mother, as a vendor sends them."""
    personal_id = _pid(2013, Sex.FEMALE)
    async with db.unit_of_work() as session:
        student = models.Student(
            personal_id=personal_id,
            full_name="Nguyễn Thị Con",
            search_name="nguyen thi con",
            sex=Sex.FEMALE,
            school_id=school.id,
        )
        session.add(student)
        await session.flush()
        session.add(
            models.Enrolment(
                student_id=student.id,
                class_id=school.class_id,
                school_year_id=await session.scalar(
                    select(models.SchoolClass.school_year_id).where(
                        models.SchoolClass.id == school.class_id
                    )
                ),
            )
        )
        student_id = student.id
    father, mother = _pid(1982, Sex.MALE), _pid(1984, Sex.FEMALE)
    rows = [
        {
            "studentPersonalId": personal_id,
            "guardian": {"personalId": father, "fullName": "Nguyễn Văn Cha"},
            "relation": "FATHER",
            **vendor_says,
        },
        {
            "studentPersonalId": personal_id,
            "guardian": {"personalId": mother, "fullName": "Trần Thị Mẹ"},
            "relation": "MOTHER",
            **vendor_says,
        },
    ]
    written = data(await gql(api, vendor, LINKS, {"rows": rows}))["upsertGuardianLinks"]
    assert [r["status"] for r in written["rows"]] == ["CREATED", "CREATED"], written
    return Family(
        student_id=student_id,
        student_gid=_gid("Student", student_id),
        student_personal_id=personal_id,
        father=father,
        mother=mother,
    )


def _gid(type_name: str, key: int) -> str:
    return str(GlobalID(type_name, str(key)))


async def links_of(api: httpx.AsyncClient, token: str, family: Family) -> dict[str, Any]:
    """The family's links as the API shows them, by relation."""
    node = data(await gql(api, token, GUARDIANS, {"id": family.student_gid}))["node"]
    return {link["relation"]: link for link in node["guardians"]}


async def link_row(db: Database, family: Family, guardian: str) -> models.GuardianLink:
    async with db.sessions() as session:
        return await session.scalar(
            select(models.GuardianLink)
            .join(models.Guardian, models.Guardian.id == models.GuardianLink.guardian_id)
            .where(
                models.GuardianLink.student_id == family.student_id,
                models.Guardian.personal_id == guardian,
            )
        )


async def children_of(db: Database, personal_id: str) -> set[int]:
    async with db.sessions() as session:
        return {child.student_id for child in (await load_person(session, personal_id)).children}


async def test_a_vendors_verified_flag_verifies_nothing(db, api, vendor, school):
    family_ = await family(db, api, vendor, school, verified=True)
    links = await links_of(api, vendor, family_)
    assert [links[r]["verified"] for r in ("FATHER", "MOTHER")] == [False, False]
    assert links["FATHER"]["verifiedBy"] is None and links["FATHER"]["verifiedAt"] is None
    assert (await link_row(db, family_, family_.father)).verified is False
    assert family_.student_id not in await children_of(db, family_.father)
    # Sent again with the flag, the link stays as it was.
    again = [
        {
            "studentPersonalId": family_.student_personal_id,
            "guardian": {"personalId": family_.father, "fullName": "Nguyễn Văn Cha"},
            "relation": "FATHER",
            "verified": True,
        }
    ]
    written = data(await gql(api, vendor, LINKS, {"rows": again}))["upsertGuardianLinks"]
    assert written["rows"][0]["status"] == "UNCHANGED"


async def test_the_population_database_verifies_a_matching_link_only(
    db, api, vendor, school, population
):
    simulator, _ = population
    family_ = await family(db, api, vendor, school)
    simulator.add_relationship(family_.student_personal_id, family_.father, "FATHER")
    # The mother is a citizen, recorded as the child's guardian, not as her mother.
    simulator.add_relationship(family_.student_personal_id, family_.mother, "GUARDIAN")
    before = await link_row(db, family_, family_.father)
    assert family_.student_id not in await children_of(db, family_.father)

    answers = data(await gql(api, vendor, VERIFY, {"ids": [family_.student_gid]}))
    by_relation = {a["link"]["relation"]: a for a in answers["verifyGuardianLinks"]}
    father, mother = by_relation["FATHER"], by_relation["MOTHER"]
    assert (father["result"], father["code"], father["link"]["verified"]) == (
        "VERIFIED",
        None,
        True,
    )
    assert father["link"]["verifiedBy"] == "POPULATION" and father["link"]["verifiedAt"]
    assert (mother["result"], mother["code"], mother["link"]["verified"]) == (
        "MISMATCHED",
        "GUARDIAN_NOT_VERIFIED",
        False,
    )
    assert mother["message"].startswith("Quan hệ cha mẹ/người giám hộ")
    assert father["studentId"] == family_.student_gid

    row = await link_row(db, family_, family_.father)
    assert (row.verified, row.verified_by) == (True, GuardianCheck.POPULATION)
    assert row.verification["answer"] == "MATCHED"
    assert row.change_version > before.change_version
    assert (await link_row(db, family_, family_.mother)).verification["answer"] == "MISMATCHED"
    assert family_.student_id in await children_of(db, family_.father)
    assert family_.student_id not in await children_of(db, family_.mother)
    async with db.sessions() as session:
        logged = await session.scalar(
            select(models.AccessLog).where(
                models.AccessLog.entity == "student",
                models.AccessLog.entity_id == family_.student_id,
                models.AccessLog.action == "write",
            )
        )
    assert logged is not None and logged.item == "guardians"

    # A vendor changing the verified relation undoes the verification.
    changed = [
        {
            "studentPersonalId": family_.student_personal_id,
            "guardian": {"personalId": family_.father, "fullName": "Nguyễn Văn Cha"},
            "relation": "GUARDIAN",
        }
    ]
    written = data(await gql(api, vendor, LINKS, {"rows": changed}))["upsertGuardianLinks"]
    assert written["rows"][0]["status"] == "UPDATED"
    row = await link_row(db, family_, family_.father)
    assert (row.verified, row.verified_by, row.verification["cleared"]) == (
        False,
        None,
        "RELATION_CHANGED",
    )
    assert family_.student_id not in await children_of(db, family_.father)


async def test_unknown_citizens_and_links_it_cannot_answer(db, api, vendor, school, population):
    family_ = await family(db, api, vendor, school)  # nobody seeded: neither is a citizen
    no_id = [
        {
            "studentPersonalId": family_.student_personal_id,
            "guardian": {"fullName": "Bà Ngoại", "phone": "0912000111"},
            "relation": "OTHER",
        }
    ]
    data(await gql(api, vendor, LINKS, {"rows": no_id}))
    answers = data(await gql(api, vendor, VERIFY, {"ids": [family_.student_gid]}))
    results = {
        a["link"]["relation"]: (a["result"], a["code"]) for a in answers["verifyGuardianLinks"]
    }
    assert results == {
        "FATHER": ("UNKNOWN", "GUARDIAN_NOT_VERIFIED"),
        "MOTHER": ("UNKNOWN", "GUARDIAN_NOT_VERIFIED"),
        "OTHER": ("IN_PERSON_ONLY", "GUARDIAN_NOT_VERIFIED"),
    }


async def test_unreachable_leaves_links_unverified_and_says_so(db, api, vendor, school, population):
    simulator, _ = population
    family_ = await family(db, api, vendor, school)
    simulator.add_relationship(family_.student_personal_id, family_.father, "FATHER")
    simulator.faults = FarSideFaults(server_error=503)
    try:
        answers = data(await gql(api, vendor, VERIFY, {"ids": [family_.student_gid]}))
    finally:
        simulator.faults = FarSideFaults()
    assert {(a["result"], a["code"]) for a in answers["verifyGuardianLinks"]} == {
        ("UNREACHABLE", "POPULATION_UNAVAILABLE")
    }
    row = await link_row(db, family_, family_.father)
    assert (row.verified, row.verification["answer"]) == (False, "UNREACHABLE")
    # Asked again once the database answers.
    again = data(await gql(api, vendor, VERIFY, {"ids": [family_.student_gid]}))
    results = {a["link"]["relation"]: a["result"] for a in again["verifyGuardianLinks"]}
    assert results == {"FATHER": "VERIFIED", "MOTHER": "UNKNOWN"}


async def test_verifying_needs_students_write_and_the_pupils_school(db, api, vendor, school, world):
    family_ = await family(db, api, vendor, school)
    reader = await token_for(
        api,
        *await register(db, org=OrgLevel.SCHOOL, schools=[school.code], scopes=["students:read"]),
    )
    assert error_codes(await gql(api, reader, VERIFY, {"ids": [family_.student_gid]})) == [
        "FORBIDDEN"
    ]
    elsewhere = await token_for(
        api, *await register(db, org=OrgLevel.SCHOOL, schools=[world.schools["B"].code])
    )
    answers = data(await gql(api, elsewhere, VERIFY, {"ids": [family_.student_gid]}))
    assert answers["verifyGuardianLinks"] == []


async def test_the_principal_checks_in_person(db, api, vendor, school, issuer):
    family_ = await family(db, api, vendor, school)
    link_id = (await links_of(api, vendor, family_))["MOTHER"]["id"]
    principal = await person_token(
        db, issuer, school.principal, org=OrgLevel.SCHOOL, schools=[school.code]
    )
    assert family_.student_id not in await children_of(db, family_.mother)
    checked = data(
        await gql(
            api,
            principal,
            CHECK,
            {"id": link_id, "papers": "Giấy khai sinh số 123/2013", "note": "Mẹ mang bản chính"},
        )
    )["recordGuardianCheck"]
    assert (checked["id"], checked["verified"], checked["verifiedBy"]) == (
        link_id,
        True,
        "IN_PERSON",
    )
    row = await link_row(db, family_, family_.mother)
    assert row.verification["papers"] == "Giấy khai sinh số 123/2013"
    assert row.verification["role"] == "PRINCIPAL"
    assert family_.student_id in await children_of(db, family_.mother)
    async with db.sessions() as session:
        logged = await session.scalar(
            select(models.AccessLog).where(
                models.AccessLog.entity == "student",
                models.AccessLog.entity_id == family_.student_id,
                models.AccessLog.person == school.principal,
            )
        )
    assert logged is not None and logged.action == "write"
    # Checked in person, the link is not asked about again.
    answers = data(await gql(api, vendor, VERIFY, {"ids": [family_.student_gid]}))
    results = {a["link"]["relation"]: a["result"] for a in answers["verifyGuardianLinks"]}
    assert results["MOTHER"] == "VERIFIED"
    # A vendor renaming the guardian undoes the check: it was of the person so named.
    renamed = [
        {
            "studentPersonalId": family_.student_personal_id,
            "guardian": {"personalId": family_.mother, "fullName": "Trần Thị Khác"},
            "relation": "MOTHER",
        }
    ]
    written = data(await gql(api, vendor, LINKS, {"rows": renamed}))["upsertGuardianLinks"]
    assert written["rows"][0]["status"] == "UPDATED"
    row = await link_row(db, family_, family_.mother)
    assert (row.verified, row.verification["cleared"]) == (False, "GUARDIAN_RENAMED")
    assert family_.student_id not in await children_of(db, family_.mother)


async def test_the_homeroom_teacher_checks_and_a_subject_teacher_may_not(
    db, api, vendor, school, issuer
):
    family_ = await family(db, api, vendor, school)
    link_id = (await links_of(api, vendor, family_))["FATHER"]["id"]
    variables = {"id": link_id, "papers": "Giấy khai sinh số 7/2013"}
    subject = await person_token(
        db, issuer, school.subject_teacher, org=OrgLevel.SCHOOL, schools=[school.code]
    )
    assert error_codes(await gql(api, subject, CHECK, variables)) == ["FORBIDDEN"]
    homeroom = await person_token(
        db, issuer, school.homeroom_teacher, org=OrgLevel.SCHOOL, schools=[school.code]
    )
    checked = data(await gql(api, homeroom, CHECK, variables))["recordGuardianCheck"]
    assert checked["verified"] is True
    assert (await link_row(db, family_, family_.father)).verification["role"] == "HOMEROOM"


async def test_no_in_person_check_without_a_person_or_from_another_school(
    db, api, vendor, school, issuer, world
):
    family_ = await family(db, api, vendor, school)
    link_id = (await links_of(api, vendor, family_))["FATHER"]["id"]
    variables = {"id": link_id, "papers": "Giấy khai sinh số 8/2013"}
    result = await gql(api, vendor, CHECK, variables)  # a program on its own
    assert error_codes(result) == ["FORBIDDEN"] and result["data"] is None
    async with db.sessions() as session:
        other_principal = await session.scalar(
            select(models.Staff.personal_id).where(models.Staff.id == world.schools["A"].staff[0])
        )
    # The principal of another school, through a department-wide app: out of reach.
    outsider = await person_token(db, issuer, other_principal, org=OrgLevel.DEPARTMENT, schools=[])
    assert error_codes(await gql(api, outsider, CHECK, variables)) == ["GUARDIAN_LINK_NOT_FOUND"]
    bad = await gql(api, outsider, CHECK, {**variables, "id": _gid("Student", 1)})
    assert error_codes(bad) == ["INVALID_ARGUMENT"]
    row = await link_row(db, family_, family_.father)
    assert row.verified is False
    assert family_.student_id not in await children_of(db, family_.father)
