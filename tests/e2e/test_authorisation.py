"""A vendor client sees and writes only its own schools' rows (Ed-Fi style)."""

from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from strawberry.relay import GlobalID

from hub.db.models import AccessLog
from hub.domain.enums import OrgLevel
from tests.helpers import client_token, data, error_codes, gql, register, token_for

STUDENT_IDS = "{ students(first: 500) { totalCount nodes { id personalId school { moetCode } } } }"


@pytest.fixture(scope="module")
async def vendor_a(db, world, http):
    return await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["A"].code])


@pytest.fixture(scope="module")
async def district_lb(db, world, http):
    return await client_token(db, http, org=OrgLevel.DISTRICT, districts=["LB"])


async def test_vendor_lists_only_its_school(http, world, vendor_a):
    result = data(await gql(http, vendor_a, STUDENT_IDS))["students"]
    assert result["totalCount"] == len(world.schools["A"].students)
    assert {n["school"]["moetCode"] for n in result["nodes"]} == {world.schools["A"].code}


async def test_district_client_sees_its_district_schools(http, world, district_lb):
    result = data(await gql(http, district_lb, STUDENT_IDS))["students"]
    expected = len(world.schools["A"].students) + len(world.schools["B"].students)
    assert result["totalCount"] == expected
    schools = data(await gql(http, district_lb, "{ schools { nodes { moetCode } } }"))["schools"]
    assert {n["moetCode"] for n in schools["nodes"]} == {
        world.schools["A"].code,
        world.schools["B"].code,
    }


async def test_other_schools_student_by_node_id_is_simply_absent(http, world, vendor_a):
    other = str(GlobalID("Student", str(world.schools["C"].students[0])))
    mine = str(GlobalID("Student", str(world.schools["A"].students[0])))
    query = "query($id: ID!) { node(id: $id) { id ... on Student { fullName } } }"
    assert data(await gql(http, vendor_a, query, {"id": other}))["node"] is None
    assert data(await gql(http, vendor_a, query, {"id": mine}))["node"]["id"] == mine


async def test_filtering_by_another_school_returns_nothing(http, world, vendor_a):
    school_c = str(GlobalID("School", str(world.schools["C"].id)))
    query = "query($s: ID!) { students(filter: {schoolId: $s}) { totalCount nodes { id } } }"
    result = data(await gql(http, vendor_a, query, {"s": school_c}))["students"]
    assert result == {"totalCount": 0, "nodes": []}


async def test_lists_below_a_node_keep_the_clients_reach(http, world, vendor_a, district_lb):
    """A downward edge is the root list restricted to its parent: the same reach."""
    query = """{ districts(first: 10) { nodes { code schools(first: 5) { nodes { moetCode
        classes(first: 10) { nodes { students(first: 1) { totalCount } } } } } } } }"""
    districts = data(await gql(http, vendor_a, query))["districts"]["nodes"]
    assert [d["code"] for d in districts] == ["LB"]  # C's district is not there at all
    (school,) = districts[0]["schools"]["nodes"]
    assert school["moetCode"] == world.schools["A"].code
    pupils = sum(c["students"]["totalCount"] for c in school["classes"]["nodes"])
    assert pupils == len(world.schools["A"].students)
    lb = data(await gql(http, district_lb, query))["districts"]["nodes"]
    assert {s["moetCode"] for d in lb for s in d["schools"]["nodes"]} == {
        world.schools["A"].code,
        world.schools["B"].code,
    }


async def test_lookups_by_natural_key_keep_the_clients_reach(http, world, vendor_a):
    query = """query($p: String!, $c: String!) { studentByPersonalId(personalId: $p) { id }
        schoolByCode(moetCode: $c) { id } }"""
    theirs = {"p": world.schools["C"].student_personal_ids[0], "c": world.schools["C"].code}
    assert data(await gql(http, vendor_a, query, theirs)) == {
        "studentByPersonalId": None,
        "schoolByCode": None,
    }
    mine = {"p": world.schools["A"].student_personal_ids[0], "c": world.schools["A"].code}
    found = data(await gql(http, vendor_a, query, mine))
    assert found["studentByPersonalId"] is not None and found["schoolByCode"] is not None


async def test_staff_and_certificates_are_limited_too(http, world, vendor_a):
    staff = data(await gql(http, vendor_a, "{ staff { totalCount } }"))["staff"]
    assert staff["totalCount"] == len(world.schools["A"].staff)
    certificates = data(await gql(http, vendor_a, "{ certificates { totalCount } }"))
    assert certificates["certificates"]["totalCount"] == 7  # six personal + the seal


async def test_vendor_cannot_write_another_schools_student(http, world, vendor_a):
    mutation = """mutation($rows: [StudentInput!]!) { upsertStudents(rows: $rows) {
        rejected rows { status errors { code } } } }"""
    row = {
        "personalId": "001209000001",
        "fullName": "Trần Văn Bình",
        "birthDate": "2009-02-03",
        "sex": "MALE",
        "schoolCode": world.schools["C"].code,
    }
    result = data(await gql(http, vendor_a, mutation, {"rows": [row]}))["upsertStudents"]
    assert result["rows"][0]["errors"] == [{"code": "SCHOOL_NOT_FOUND"}]


async def test_vendor_cannot_take_over_a_student_of_another_school(http, world, vendor_a):
    mutation = """mutation($rows: [StudentInput!]!) { upsertStudents(rows: $rows) {
        rows { status errors { code } } } }"""
    taken = world.schools["C"].student_personal_ids[0]
    row = {
        "personalId": taken,
        "fullName": "Ai Đó",
        "birthDate": f"20{taken[4:6]}-01-01",
        "sex": "MALE" if int(taken[3]) % 2 == 0 else "FEMALE",
        "schoolCode": world.schools["A"].code,
    }
    result = data(await gql(http, vendor_a, mutation, {"rows": [row]}))["upsertStudents"]
    assert result["rows"][0]["errors"] == [{"code": "STUDENT_ENROLLED_ELSEWHERE"}]


async def test_vendor_cannot_link_guardians_to_another_schools_student(http, world, vendor_a):
    mutation = """mutation($rows: [GuardianLinkInput!]!) { upsertGuardianLinks(rows: $rows) {
        rows { status errors { code } } } }"""
    row = {
        "studentPersonalId": world.schools["C"].student_personal_ids[0],
        "guardian": {"fullName": "Người Lạ", "phone": "0900000000"},
        "relation": "GUARDIAN",
    }
    result = data(await gql(http, vendor_a, mutation, {"rows": [row]}))["upsertGuardianLinks"]
    assert result["rows"][0]["errors"] == [{"code": "STUDENT_NOT_FOUND"}]


async def test_missing_scope_is_refused_with_a_stable_code(db, http, world):
    token = await client_token(
        db, http, org=OrgLevel.SCHOOL, schools=[world.schools["A"].code], scopes=["staff:read"]
    )
    result = await gql(http, token, "{ students { totalCount } }")
    assert error_codes(result) == ["FORBIDDEN"]


async def test_no_token_means_unauthenticated(http, world):
    assert error_codes(await gql(http, None, "{ students { totalCount } }")) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(http, "not-a-token", "{ me { clientId } }")) == ["UNAUTHENTICATED"]


async def test_personal_ids_are_masked_without_the_scope(db, http, world):
    token = await client_token(
        db, http, org=OrgLevel.SCHOOL, schools=[world.schools["A"].code], scopes=["students:read"]
    )
    nodes = data(await gql(http, token, "{ students(first: 5) { nodes { personalId } } }"))
    for node in nodes["students"]["nodes"]:
        if node["personalId"] is not None:
            assert node["personalId"].startswith("••••••••")


async def test_every_student_read_is_logged(db, http, world):
    client_id, secret = await register(
        db, org=OrgLevel.SCHOOL, schools=[world.schools["B"].code], scopes=["students:read"]
    )
    token = await token_for(http, client_id, secret)
    data(await gql(http, token, "query Roster { students(first: 4) { nodes { fullName } } }"))
    purpose = {"Authorization": f"Bearer {token}", "X-Hub-Purpose": quote("tuyển sinh lớp 6")}
    await http.post(
        "/graphql", headers=purpose, json={"query": "{ students(first: 1) { nodes { id } } }"}
    )
    async with db.sessions() as session:
        rows = await session.execute(
            select(AccessLog.entity, AccessLog.purpose, func.count())
            .where(AccessLog.client_id == client_id)
            .group_by(AccessLog.entity, AccessLog.purpose)
        )
        logged = sorted(tuple(row) for row in rows)
    assert logged == [("student", "Roster", 4), ("student", "tuyển sinh lớp 6", 1)]


async def test_who_read_a_students_record_is_visible_with_audit_read(db, http, world):
    reader_id, reader_secret = await register(
        db, org=OrgLevel.SCHOOL, schools=[world.schools["B"].code], scopes=["students:read"]
    )
    reader = await token_for(http, reader_id, reader_secret)
    student = str(GlobalID("Student", str(world.schools["B"].students[0])))
    query = "query($id: ID!) { node(id: $id) { ... on Student { fullName } } }"
    data(await gql(http, reader, query, {"id": student}))
    auditor = await client_token(
        db, http, org=OrgLevel.SCHOOL, schools=[world.schools["B"].code], scopes=["audit:read"]
    )
    log = """query($id: ID!) { studentAccessLog(studentId: $id, first: 500) {
        nodes { clientId action purpose at } } }"""
    entries = data(await gql(http, auditor, log, {"id": student}))["studentAccessLog"]["nodes"]
    assert {"clientId": reader_id, "action": "read"}.items() <= next(
        e for e in entries if e["clientId"] == reader_id
    ).items()
    other_school = str(GlobalID("Student", str(world.schools["C"].students[0])))
    hidden = data(await gql(http, auditor, log, {"id": other_school}))["studentAccessLog"]
    assert hidden["nodes"] == []
    refused = await gql(http, reader, log, {"id": student})
    assert error_codes(refused) == ["FORBIDDEN"]
