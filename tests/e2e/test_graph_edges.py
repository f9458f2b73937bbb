"""The graph downward (issue 14): District → schools → classes → students and staff,
School → staff, transcripts, certificates, Student → transcripts, enrolment history,
guardians as nodes; backward paging; lookups by natural key. Each edge is the root
list's query restricted to its parent: authorised, masked and logged the same way.

The module builds a province corner of its own (two districts, three schools), so its
counts do not depend on what other modules add to the session's database.
"""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from strawberry.relay import GlobalID

from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import (
    CertificateStatus,
    ClientKind,
    GuardianRelation,
    IdentityStatus,
    OrgLevel,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)
from hub.domain.personal_id import compose
from hub.domain.text import fold
from tests.helpers import ALL_SCOPES, client_token, data, error_codes, gql
from tests.helpers import register as register_client

NOW = datetime.now(UTC)
_PROVINCE = "096"  # a province no other module's people come from


@dataclass
class Corner:
    """What the module built, by name."""

    districts: dict[str, int] = field(default_factory=dict)
    schools: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    classes: dict[str, list[int]] = field(default_factory=dict)  # school → current classes
    students: dict[str, list[int]] = field(default_factory=dict)  # school → students
    personal_ids: dict[int, str] = field(default_factory=dict)  # student → personal ID
    guardians: dict[str, list[int]] = field(default_factory=dict)  # school → guardians
    staff: dict[str, list[int]] = field(default_factory=dict)  # school → staff assigned
    transcripts: dict[str, list[str]] = field(default_factory=dict)  # school → document ids
    shared_teacher: int = 0
    past_year: str = "2023-2024"


def gid(type_name: str, key: int) -> str:
    return str(GlobalID(type_name, str(key)))


async def _build(db: Database) -> Corner:
    corner = Corner()
    serial = iter(range(1, 100_000))
    suffix = uuid.uuid4().hex[:6].upper()
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department).order_by(models.Department.id))
        assert department is not None
        current = await session.scalar(
            select(models.SchoolYear).where(models.SchoolYear.is_current)
        )
        assert current is not None
        past = await session.scalar(
            select(models.SchoolYear).where(models.SchoolYear.code == corner.past_year)
        )
        if past is None:
            past = models.SchoolYear(
                code=corner.past_year,
                starts_on=date(2023, 9, 5),
                ends_on=date(2024, 5, 31),
                is_current=False,
            )
            session.add(past)
        for code, name in [("GE1", "Phòng GDĐT Đồ Thị Một"), ("GE2", "Phòng GDĐT Đồ Thị Hai")]:
            district = models.District(
                department_id=department.id, code=f"{code}{suffix}", name=name
            )
            session.add(district)
            await session.flush()
            corner.districts[code] = district.id
        staff_by_school: dict[str, list[models.Staff]] = {}
        for letter, district in [("G1", "GE1"), ("G2", "GE1"), ("G3", "GE2")]:
            school = models.School(
                department_id=department.id,
                district_id=corner.districts[district],
                moet_code=f"{letter}{suffix}",
                name=f"Trường THCS Đồ Thị {letter}",
                level=SchoolLevel.LOWER_SECONDARY,
                ownership=Ownership.PUBLIC,
            )
            session.add(school)
            await session.flush()
            corner.schools[letter] = school.id
            corner.codes[letter] = school.moet_code
            session.add(_certificate(f"{letter}{suffix}-seal", school_id=school.id))
            teachers = []
            for t in range(3):
                name = f"Giáo Viên {letter} {t}"
                teacher = models.Staff(
                    personal_id=compose(_PROVINCE, 1980, Sex.FEMALE, next(serial)),
                    full_name=name,
                    search_name=fold(name),
                    sex=Sex.FEMALE,
                )
                teacher.assignments.append(
                    models.StaffAssignment(school_id=school.id, role=StaffRole.TEACHER)
                )
                session.add(teacher)
                teachers.append(teacher)
            await session.flush()
            for teacher in teachers:
                session.add(_certificate(f"{teacher.id}-{suffix}", staff_id=teacher.id))
            staff_by_school[letter] = teachers
        # A teacher of G1 also teaches at G2, and is G1's homeroom teacher too (two roles:
        # still one row under G1).
        shared = staff_by_school["G1"][0]
        corner.shared_teacher = shared.id
        session.add_all(
            [
                models.StaffAssignment(staff_id=shared.id, school_id=corner.schools["G2"],
                                       role=StaffRole.TEACHER),
                models.StaffAssignment(staff_id=shared.id, school_id=corner.schools["G1"],
                                       role=StaffRole.HOMEROOM),
            ]
        )  # fmt: skip
        corner.staff = {
            letter: [t.id for t in teachers] for letter, teachers in staff_by_school.items()
        }
        corner.staff["G2"].append(shared.id)
        for letter, school_id in corner.schools.items():
            classes = [
                models.SchoolClass(
                    school_id=school_id,
                    school_year_id=current.id,
                    name=f"{grade}A{c + 1}",
                    grade=grade,
                    homeroom_teacher_id=staff_by_school[letter][c].id,
                )
                for c, grade in enumerate([6, 7, 8])
            ]
            earlier = models.SchoolClass(
                school_id=school_id, school_year_id=past.id, name="6A9", grade=6
            )
            session.add_all([*classes, earlier])
            await session.flush()
            corner.classes[letter] = [c.id for c in classes]
            corner.students[letter] = []
            corner.guardians[letter] = []
            corner.transcripts[letter] = []
            for c, school_class in enumerate(classes):
                for s in range(4):
                    name = f"Học Sinh {letter} {c}{s}"
                    personal_id = compose(_PROVINCE, 2012, Sex.MALE, next(serial))
                    student = models.Student(
                        personal_id=personal_id,
                        full_name=name,
                        search_name=fold(name),
                        sex=Sex.MALE,
                        school_id=school_id,
                        identity_status=IdentityStatus.VERIFIED,
                    )
                    guardian = models.Guardian(
                        personal_id=compose(_PROVINCE, 1985, Sex.FEMALE, next(serial)),
                        full_name=f"Phụ Huynh {letter} {c}{s}",
                        phone=f"0912{c}{s}0000",
                    )
                    session.add_all([student, guardian])
                    await session.flush()
                    corner.students[letter].append(student.id)
                    corner.personal_ids[student.id] = personal_id
                    corner.guardians[letter].append(guardian.id)
                    session.add_all(
                        [
                            models.Enrolment(
                                student_id=student.id,
                                class_id=school_class.id,
                                school_year_id=current.id,
                            ),
                            models.GuardianLink(
                                student_id=student.id,
                                guardian_id=guardian.id,
                                relation=GuardianRelation.MOTHER,
                            ),
                        ]
                    )
                    if school_class.grade == 8:  # two years of history
                        session.add(
                            models.Enrolment(
                                student_id=student.id, class_id=earlier.id, school_year_id=past.id
                            )
                        )
                    if school_class.grade == 6:  # a transcript this year
                        document_id = str(uuid.uuid4())
                        xml = f"<transcript id='{document_id}'/>".encode()
                        session.add(
                            models.Transcript(
                                document_id=document_id,
                                student_id=student.id,
                                school_year_id=current.id,
                                school_id=school_id,
                                class_id=school_class.id,
                                xml=xml,
                                pdf=b"%PDF-1.7",
                                xml_sha256=hashlib.sha256(xml).hexdigest(),
                            )
                        )
                        corner.transcripts[letter].append(document_id)
        await session.flush()
    return corner


def _certificate(
    credential: str, *, staff_id: int | None = None, school_id: int | None = None
) -> models.SigningCertificate:
    return models.SigningCertificate(
        staff_id=staff_id,
        school_id=school_id,
        provider=SigningProvider.BCY,
        credential_id=credential,
        serial_number=credential.replace("-", "").upper(),
        subject_dn=f"CN={credential}",
        issuer_dn="CN=Test CA",
        valid_from=NOW - timedelta(days=10),
        valid_to=NOW + timedelta(days=300),
        status=CertificateStatus.ACTIVE,
    )


@pytest.fixture(scope="module")
async def corner(db, world) -> Corner:  # type: ignore[no-untyped-def]
    return await _build(db)


@pytest.fixture(scope="module")
async def department(db, world, http):  # type: ignore[no-untyped-def]
    return await client_token(db, http, org=OrgLevel.DEPARTMENT)


@pytest.fixture(scope="module")
async def vendor_g1(db, corner, http):  # type: ignore[no-untyped-def]
    """A vendor app of school G1 that does not hold ``personal-ids:read``."""
    scopes = [s for s in ALL_SCOPES if s != "personal-ids:read"]
    return await client_token(
        db, http, org=OrgLevel.SCHOOL, schools=[corner.codes["G1"]], scopes=scopes
    )


DISTRICT_TREE = """query($d: ID!) { node(id: $d) { ... on District { code
  schools(first: 10) { totalCount nodes { moetCode
    classes { totalCount nodes { name grade
      students(first: 2) { totalCount pageInfo { hasNextPage hasPreviousPage }
        nodes { fullName } } } }
    staff { totalCount nodes { id } }
    transcripts { totalCount nodes { documentId student { fullName } } }
    certificates { totalCount nodes { serialNumber } } } } } } }"""


async def test_a_district_reads_down_to_its_pupils(http, db, corner, department):
    tree = data(
        await gql(http, department, DISTRICT_TREE, {"d": gid("District", corner.districts["GE1"])})
    )["node"]
    schools = tree["schools"]
    assert schools["totalCount"] == 2
    assert [s["moetCode"] for s in schools["nodes"]] == [corner.codes["G1"], corner.codes["G2"]]
    g1, g2 = schools["nodes"]
    assert g1["classes"]["totalCount"] == 3  # the current year's only
    assert [c["name"] for c in g1["classes"]["nodes"]] == ["6A1", "7A2", "8A3"]
    for school_class in g1["classes"]["nodes"]:
        pupils = school_class["students"]
        assert pupils["totalCount"] == 4 and len(pupils["nodes"]) == 2
        assert pupils["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    # The shared teacher is staff of both schools, once each though G1 gave two roles.
    assert g1["staff"]["totalCount"] == 3 and g2["staff"]["totalCount"] == 4
    assert gid("Staff", corner.shared_teacher) in {n["id"] for n in g2["staff"]["nodes"]}
    assert g1["transcripts"]["totalCount"] == 4
    assert {n["documentId"] for n in g1["transcripts"]["nodes"]} == set(corner.transcripts["G1"])
    # The seal and the personal certificates of everyone assigned there.
    assert g1["certificates"]["totalCount"] == 1 + 3
    assert g2["certificates"]["totalCount"] == 1 + 4
    # Read only through the nested lists, and logged against each pupil all the same.
    async with db.unit_of_work() as session:
        logged = set(
            await session.execute(
                select(models.AccessLog.entity_id, models.AccessLog.item).where(
                    models.AccessLog.entity == "student",
                    models.AccessLog.entity_id.in_(corner.students["G1"][3:6]),
                )
            )
        )
    pupil, transcribed = corner.students["G1"][5], corner.students["G1"][3]
    assert (pupil, "record") in logged and (transcribed, "transcript") in logged


async def test_nested_filters_are_the_root_lists_filters(http, corner, department):
    query = """query($s: ID!) { node(id: $s) { ... on School {
        classes(filter: {grade: 7}) { nodes { name } }
        earlier: classes(filter: {schoolYear: "2023-2024"}) { nodes { name } }
        staff(filter: {role: HOMEROOM}) { nodes { id } }
        certificates(filter: {isSeal: true}) { totalCount } } } }"""
    school = data(await gql(http, department, query, {"s": gid("School", corner.schools["G1"])}))
    found = school["node"]
    assert found["classes"]["nodes"] == [{"name": "7A2"}]
    assert found["earlier"]["nodes"] == [{"name": "6A9"}]
    assert found["staff"]["nodes"] == [{"id": gid("Staff", corner.shared_teacher)}]
    assert found["certificates"]["totalCount"] == 1
    pupils = """query($c: ID!) { node(id: $c) { ... on SchoolClass {
        students(filter: {name: "hoc sinh g1 1"}) { totalCount } } } }"""
    klass = gid("SchoolClass", corner.classes["G1"][1])
    assert data(await gql(http, department, pupils, {"c": klass}))["node"]["students"] == {
        "totalCount": 4
    }


async def test_a_pupil_reads_their_transcripts_history_and_guardians(http, corner, department):
    query = """query($a: ID!, $b: ID!) { a: node(id: $a) { ...pupil } b: node(id: $b) { ...pupil } }
      fragment pupil on Student { transcripts { totalCount nodes { documentId } }
        enrolments { schoolYear { code isCurrent } schoolClass { name } }
        guardians { guardian { id fullName } } }"""
    sixth, eighth = corner.students["G1"][0], corner.students["G1"][8]
    found = data(
        await gql(
            http, department, query, {"a": gid("Student", sixth), "b": gid("Student", eighth)}
        )
    )
    assert found["a"]["transcripts"]["totalCount"] == 1
    assert found["b"]["transcripts"] == {"totalCount": 0, "nodes": []}
    assert found["b"]["enrolments"] == [
        {"schoolYear": {"code": "2023-2024", "isCurrent": False}, "schoolClass": {"name": "6A9"}},
        {"schoolYear": {"code": "2025-2026", "isCurrent": True}, "schoolClass": {"name": "8A3"}},
    ]
    guardian = found["a"]["guardians"][0]["guardian"]
    assert guardian["id"] == gid("Guardian", corner.guardians["G1"][0])


async def test_a_guardian_is_a_node(http, db, corner, department, vendor_g1):
    mine = gid("Guardian", corner.guardians["G1"][0])
    other = gid("Guardian", corner.guardians["G3"][0])
    query = """query($id: ID!) { node(id: $id) { __typename id
        ... on Guardian { fullName personalId phone } } }"""
    found = data(await gql(http, vendor_g1, query, {"id": mine}))["node"]
    assert found["__typename"] == "Guardian" and found["fullName"] == "Phụ Huynh G1 00"
    assert found["personalId"].startswith("*") or "•" in found["personalId"]  # masked
    assert data(await gql(http, vendor_g1, query, {"id": other}))["node"] is None
    async with db.unit_of_work() as session:
        logged = await session.scalars(
            select(models.AccessLog.entity_id).where(
                models.AccessLog.entity == "guardian",
                models.AccessLog.entity_id == corner.guardians["G1"][0],
            )
        )
        assert list(logged)
    staff_only = await client_token(
        db, http, org=OrgLevel.DEPARTMENT, scopes=["staff:read", "certificates:read"]
    )
    assert error_codes(await gql(http, staff_only, query, {"id": mine})) == ["FORBIDDEN"]


async def test_paging_backward_walks_the_same_list_in_reverse(http, corner, department):
    query = """query($s: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      node(id: $s) { ... on School { staff(first: $first, after: $after, last: $last,
        before: $before) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { id } } } } }"""
    school = gid("School", corner.schools["G2"])

    async def page(**arguments: object) -> dict:  # type: ignore[type-arg]
        found = data(await gql(http, department, query, {"s": school, **arguments}))
        return found["node"]["staff"]

    forward, after = [], None
    while True:
        found = await page(first=1, after=after)
        assert found["pageInfo"]["hasPreviousPage"] is (after is not None)
        forward += [n["id"] for n in found["nodes"]]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    backward, before = [], None
    while True:
        found = await page(last=1, before=before)
        assert found["pageInfo"]["hasNextPage"] is (before is not None)
        backward = [n["id"] for n in found["nodes"]] + backward
        if not found["pageInfo"]["hasPreviousPage"]:
            break
        before = found["pageInfo"]["startCursor"]
    assert forward == backward and len(forward) == 4
    last_two = await page(last=2)
    assert [n["id"] for n in last_two["nodes"]] == forward[2:]
    assert last_two["pageInfo"]["hasPreviousPage"] and not last_two["pageInfo"]["hasNextPage"]


async def test_root_lists_page_backward_too(http, corner, department):
    query = """query($d: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      schools(filter: {districtId: $d}, first: $first, after: $after, last: $last,
        before: $before) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { moetCode } } }"""
    district = gid("District", corner.districts["GE1"])
    tail = data(await gql(http, department, query, {"d": district, "last": 1}))["schools"]
    assert tail["nodes"] == [{"moetCode": corner.codes["G2"]}]
    assert tail["pageInfo"]["hasPreviousPage"] and not tail["pageInfo"]["hasNextPage"]
    before = tail["pageInfo"]["startCursor"]
    head = data(await gql(http, department, query, {"d": district, "last": 5, "before": before}))[
        "schools"
    ]
    assert head["nodes"] == [{"moetCode": corner.codes["G1"]}]
    assert head["pageInfo"] == {
        "hasNextPage": True,  # G2 is after the cursor
        "hasPreviousPage": False,
        "startCursor": head["pageInfo"]["startCursor"],
        "endCursor": head["pageInfo"]["startCursor"],
    }
    after = head["pageInfo"]["endCursor"]
    rest = data(await gql(http, department, query, {"d": district, "first": 5, "after": after}))[
        "schools"
    ]
    assert rest["nodes"] == [{"moetCode": corner.codes["G2"]}]
    assert rest["pageInfo"]["hasPreviousPage"] and not rest["pageInfo"]["hasNextPage"]


async def test_paging_arguments_are_refused_with_a_code(http, corner, department):
    both = await gql(http, department, "{ schools(first: 2, last: 2) { totalCount } }")
    assert error_codes(both) == ["INVALID_ARGUMENT"]
    assert "không dùng cả hai" in both["errors"][0]["message"]
    too_many = await gql(
        http, department, "{ districts { nodes { schools(last: 501) { totalCount } } } }"
    )
    assert error_codes(too_many) == ["INVALID_ARGUMENT"]
    assert "last" in too_many["errors"][0]["message"]
    cursor = await gql(http, department, '{ schools(last: 1, before: "x") { totalCount } }')
    assert error_codes(cursor) == ["INVALID_ID"]


async def test_a_school_vendor_sees_only_its_school_below_a_district(http, corner, vendor_g1):
    tree = data(
        await gql(http, vendor_g1, DISTRICT_TREE, {"d": gid("District", corner.districts["GE1"])})
    )["node"]
    assert [s["moetCode"] for s in tree["schools"]["nodes"]] == [corner.codes["G1"]]
    assert tree["schools"]["totalCount"] == 1
    other = data(
        await gql(http, vendor_g1, DISTRICT_TREE, {"d": gid("District", corner.districts["GE2"])})
    )
    assert other["node"] is None


async def test_a_nested_list_needs_the_scope_of_its_rows(http, db, corner):
    schools_only = await client_token(
        db, http, org=OrgLevel.DEPARTMENT, scopes=["staff:read", "certificates:read"]
    )
    query = """query($s: ID!) { node(id: $s) { ... on School { classes { nodes {
        students { totalCount } } } } } }"""
    found = await gql(http, schools_only, query, {"s": gid("School", corner.schools["G1"])})
    assert set(error_codes(found)) == {"FORBIDDEN"}
    assert all("Traceback" not in e["message"] for e in found["errors"])


async def test_lookups_by_natural_key(http, db, corner, department, vendor_g1):
    pupil = corner.students["G1"][0]
    personal_id = corner.personal_ids[pupil]
    query = """query($p: String!, $d: String!, $c: String!) {
      studentByPersonalId(personalId: $p) { id personalId school { moetCode } }
      transcriptByDocumentId(documentId: $d) { documentId student { id } }
      schoolByCode(moetCode: $c) { id name } }"""
    mine = {"p": personal_id, "d": corner.transcripts["G1"][0], "c": corner.codes["G1"]}
    found = data(await gql(http, department, query, mine))
    assert found["studentByPersonalId"] == {
        "id": gid("Student", pupil),
        "personalId": personal_id,  # the department's client holds personal-ids:read
        "school": {"moetCode": corner.codes["G1"]},
    }
    assert found["transcriptByDocumentId"]["student"]["id"] == gid("Student", pupil)
    assert found["schoolByCode"]["id"] == gid("School", corner.schools["G1"])
    masked = data(await gql(http, vendor_g1, query, mine))["studentByPersonalId"]
    assert masked["personalId"] != personal_id and masked["personalId"].endswith(personal_id[-4:])
    theirs = {
        "p": corner.personal_ids[corner.students["G3"][0]],
        "d": corner.transcripts["G3"][0],
        "c": corner.codes["G3"],
    }
    assert data(await gql(http, vendor_g1, query, theirs)) == {
        "studentByPersonalId": None,
        "transcriptByDocumentId": None,
        "schoolByCode": None,
    }
    async with db.unit_of_work() as session:
        logged = await session.scalars(
            select(models.AccessLog.item).where(
                models.AccessLog.entity == "student", models.AccessLog.entity_id == pupil
            )
        )
        assert {"record", "transcript"} <= set(logged)


async def test_a_malformed_personal_id_is_refused_in_vietnamese(http, department):
    found = await gql(http, department, '{ studentByPersonalId(personalId: "12ab") { id } }')
    assert error_codes(found) == ["INVALID_ARGUMENT"]
    assert "12 chữ số" in found["errors"][0]["message"]


async def test_an_admission_service_finds_no_transcript_without_consent(http, db, corner):
    admission = await client_token(
        db,
        http,
        org=OrgLevel.DEPARTMENT,
        kind=ClientKind.ADMISSION,
        scopes=["transcripts:read", "students:read"],
    )
    query = "query($d: String!) { transcriptByDocumentId(documentId: $d) { id } }"
    found = await gql(http, admission, query, {"d": corner.transcripts["G1"][0]})
    assert error_codes(found) == ["CONSENT_REQUIRED"]


async def test_who_read_me_pages_backward_too(http, app, db, corner, department):
    """``childReads`` lists the newest first: ``last``/``before`` walks toward the newest."""
    pupil = corner.students["G3"][11]
    for _ in range(5):  # five reads of the pupil's record, five entries of the log
        found = await gql(
            http,
            department,
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": gid("Student", pupil)},
        )
        assert data(found)["node"] is not None
    client_id, _ = await register_client(db, org=OrgLevel.SCHOOL, schools=[corner.codes["G3"]])
    token, _ = app.state.hub.tokens.issue(
        client_id, frozenset({"students:read"}), person=corner.personal_ids[pupil]
    )
    query = """query($s: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      me { person { childReads(studentId: $s, first: $first, after: $after, last: $last,
        before: $before) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor
        endCursor } edges { cursor } } } } }"""

    async def page(**arguments: object) -> dict:  # type: ignore[type-arg]
        found = await gql(http, token, query, {"s": gid("Student", pupil), **arguments})
        return data(found)["me"]["person"]["childReads"]

    forward, after = [], None
    while True:
        found = await page(first=2, after=after)
        assert found["pageInfo"]["hasPreviousPage"] is (after is not None)
        forward += [edge["cursor"] for edge in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    backward, before = [], None
    while True:
        found = await page(last=2, before=before)
        assert found["pageInfo"]["hasNextPage"] is (before is not None)
        backward = [edge["cursor"] for edge in found["edges"]] + backward
        if not found["pageInfo"]["hasPreviousPage"]:
            break
        before = found["pageInfo"]["startCursor"]
    assert forward == backward and len(forward) == found["totalCount"] >= 5
