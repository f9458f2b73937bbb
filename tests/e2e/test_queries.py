"""Reading the province: pages, filters, search, and the N+1-free guarantee."""

import pytest
from prometheus_client import REGISTRY
from strawberry.relay import GlobalID

from hub.domain.enums import OrgLevel
from tests.helpers import client_token, data, error_codes, gql

PAGE = """query($first: Int!, $school: ID!) {
  students(first: $first, filter: {schoolId: $school}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id fullName personalId birthDate
      school { name moetCode district { name } }
      currentClass { name grade homeroomTeacher { fullName certificates { serialNumber isValid } } }
      guardians { relation verified guardian { fullName phone } }
    } }
  }
}"""


@pytest.fixture(scope="module")
async def department(db, world, http):
    return await client_token(db, http, org=OrgLevel.DEPARTMENT)


def _statements() -> float:
    return (
        REGISTRY.get_sample_value("hub_sql_statements_per_request_sum", {"path": "/graphql"}) or 0
    )


async def _statements_for(http, token, variables, query=PAGE) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    before = _statements()
    result = data(await gql(http, token, query, variables))
    return _statements() - before, result


async def _fewest_statements_for(http, token, variables, query=PAGE) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    """What a query costs with the caller's caches warm: the fewest statements of three
    tries. A cached caller that lapses (30 s) or is forgotten (another module's client or
    person changed, heard by NOTIFY at any moment) adds its own reads to one request,
    never takes any away; the slower the machine, the likelier that falls in a test."""
    tries = [await _statements_for(http, token, variables, query) for _ in range(3)]
    return min(tries, key=lambda measured: measured[0])


async def test_a_page_of_100_costs_the_same_statements_as_a_page_of_10(http, world, department):
    school = str(GlobalID("School", str(world.schools["A"].id)))
    await _statements_for(http, department, {"first": 10, "school": school})  # warm caches
    small, small_page = await _fewest_statements_for(
        http, department, {"first": 10, "school": school}
    )
    large, large_page = await _fewest_statements_for(
        http, department, {"first": 100, "school": school}
    )
    assert len(small_page["students"]["edges"]) == 10
    assert len(large_page["students"]["edges"]) == 100
    nested = large_page["students"]["edges"][99]["node"]
    assert nested["currentClass"]["homeroomTeacher"]["certificates"]
    assert nested["guardians"] and nested["school"]["district"]["name"] == "Long Biên"
    assert small == large, f"{small} statements for a page of 10, {large} for 100"
    assert large <= 10


#: Every edge below a node, and every lookup, each with what it selects below it: the
#: parents' page size is ``$outer``, every nested page's ``$inner``.
EDGES = {
    "down to pupils": """query($outer: Int!, $inner: Int!) {
      schools(first: $outer) { nodes { classes(first: $inner) { totalCount nodes { name
        students(first: $inner) { totalCount pageInfo { hasNextPage } nodes { fullName
          transcripts(first: $inner) { totalCount nodes { documentId } }
          enrolments { schoolYear { code } schoolClass { name } }
          guardians { guardian { id fullName } } } } } } } } }""",
    "school staff, transcripts, certificates": """query($outer: Int!, $inner: Int!) {
      districts(first: $outer) { nodes { schools(first: $inner) { totalCount nodes { name } } } }
      schools(first: $outer) { nodes {
        staff(first: $inner) { totalCount nodes { fullName assignments { role }
          certificates { serialNumber } } }
        transcripts(first: $inner) { totalCount nodes { documentId student { fullName } } }
        certificates(first: $inner) { totalCount nodes { serialNumber staff { fullName } } }
      } } }""",
    # The root page ends before the largest id, the nested ones start after the smallest:
    # both flags read the far side of a cursor. LB's two schools have classes and pupils.
    "backward, from a cursor": """query($outer: Int!, $inner: Int!, $lb: ID!) {
      schools(last: $outer, before: "YWZ0ZXI6MjE0NzQ4MzY0Nw==", filter: {districtId: $lb}) {
        pageInfo { hasNextPage } nodes { classes(last: $inner) { pageInfo { hasPreviousPage }
          nodes { students(first: $inner, after: "YWZ0ZXI6MQ==") {
            pageInfo { hasPreviousPage } nodes { id } } } } } } }""",
    "lookups": """query($outer: Int!, $inner: Int!, $pid: String!, $code: String!) {
      studentByPersonalId(personalId: $pid) { fullName guardians { guardian { id } }
        enrolments { schoolClass { name } } transcripts(first: $inner) { totalCount } }
      transcriptByDocumentId(documentId: "no-such-document") { id }
      schoolByCode(moetCode: $code) { classes(first: $outer) { nodes {
        students(first: $inner) { nodes { fullName guardians { guardian { fullName } } } }
      } } } }""",
}


@pytest.mark.parametrize("name", list(EDGES))
async def test_edges_and_lookups_cost_the_same_statements_at_any_page_size(
    http, world, department, name
):
    query = EDGES[name]
    school = world.schools["A"]
    given = {
        "pid": school.student_personal_ids[0],
        "code": school.code,
        "lb": str(GlobalID("District", str(world.districts["LB"]))),
    }
    variables = {key: value for key, value in given.items() if f"${key}:" in query}

    def sizes(outer: int, inner: int) -> dict:  # type: ignore[type-arg]
        return {**variables, "outer": outer, "inner": inner}

    await _statements_for(http, department, sizes(1, 2), query)  # warm caches
    small, _ = await _fewest_statements_for(http, department, sizes(1, 2), query)
    large, found = await _fewest_statements_for(http, department, sizes(3, 4), query)
    assert small == large, f"{name}: {small} statements for small pages, {large} for large"
    assert large <= 15  # a page, a count and a cursor check per edge, one per relation
    if name == "down to pupils":
        pupils = found["schools"]["nodes"][0]["classes"]["nodes"][0]["students"]["nodes"]
        assert len(pupils) == 4 and pupils[0]["guardians"]


async def test_keyset_pages_walk_the_whole_list_once(http, world, department):
    school = str(GlobalID("School", str(world.schools["A"].id)))
    query = """query($after: String, $school: ID!) { students(first: 50, after: $after,
        filter: {schoolId: $school}) { pageInfo { hasNextPage endCursor } nodes { id } } }"""
    seen, after = [], None
    while True:
        page = data(await gql(http, department, query, {"after": after, "school": school}))
        seen += [n["id"] for n in page["students"]["nodes"]]
        if not page["students"]["pageInfo"]["hasNextPage"]:
            break
        after = page["students"]["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == len(world.schools["A"].students)


async def test_page_size_is_capped(http, world, department):
    result = await gql(http, department, "{ students(first: 501) { totalCount } }")
    assert error_codes(result) == ["INVALID_ARGUMENT"]
    result = await gql(http, department, '{ students(after: "garbage") { totalCount } }')
    assert error_codes(result) == ["INVALID_ID"]  # a cursor is an id (issue "Guard the data")


async def test_name_search_ignores_diacritics(http, world, department):
    found = data(
        await gql(
            http, department, '{ students(filter: {name: "nguyen van an"}) { nodes { fullName } } }'
        )
    )["students"]["nodes"]
    assert found and all(n["fullName"].startswith("Nguyễn Văn An") for n in found)
    upper = data(
        await gql(http, department, '{ students(filter: {name: "NGUYỄN an"}) { totalCount } }')
    )["students"]["totalCount"]
    assert upper >= len(found)


async def test_name_search_matches_whole_words_and_a_last_unfinished_word(http, world, department):
    async def count(name: str) -> int:
        result = await gql(
            http,
            department,
            "query($n: String!) { students(filter: {name: $n}) { totalCount } }",
            {"n": name},
        )
        return data(result)["students"]["totalCount"]

    full = await count("nguyen van an")
    assert full > 0
    assert await count("Nguyễn Văn A") >= full  # still typing the given name
    assert await count("van an") >= full  # words from the middle
    assert await count("guyen van an") == 0  # not the start of a word
    assert await count("nguye van an") == 0  # only the last word may be unfinished


async def test_student_filters(http, world, department):
    school = str(GlobalID("School", str(world.schools["A"].id)))
    klass = str(GlobalID("SchoolClass", str(world.schools["A"].classes[1])))
    by_grade = data(
        await gql(
            http,
            department,
            "query($s: ID!) { students(filter: {schoolId: $s, grade: 7}) { totalCount } }",
            {"s": school},
        )
    )
    by_class = data(
        await gql(
            http,
            department,
            "query($c: ID!) { students(filter: {classId: $c}) { totalCount } }",
            {"c": klass},
        )
    )
    assert by_grade["students"]["totalCount"] == by_class["students"]["totalCount"] == 30
    unverified = data(
        await gql(
            http,
            department,
            "query($s: ID!) { students(filter: {schoolId: $s, identityStatus: UNVERIFIED}) { "
            "totalCount } }",
            {"s": school},
        )
    )
    assert unverified["students"]["totalCount"] == 24
    without = data(
        await gql(
            http,
            department,
            "query($s: ID!) { studentsWithoutPersonalId(schoolId: $s) { totalCount nodes { "
            "ministryCode } } }",
            {"s": school},
        )
    )
    assert without["studentsWithoutPersonalId"]["nodes"] == [{"ministryCode": "HSA00007"}]


async def test_school_filters(http, world, department):
    lb = str(GlobalID("District", str(world.districts["LB"])))
    in_lb = data(
        await gql(
            http,
            department,
            "query($d: ID!) { schools(filter: {districtId: $d}) { totalCount } }",
            {"d": lb},
        )
    )
    assert in_lb["schools"]["totalCount"] == 2
    private = data(
        await gql(
            http, department, "{ schools(filter: {ownership: PRIVATE}) { nodes { moetCode } } }"
        )
    )
    # Other modules add schools of their own to the session's database: of the world's
    # schools, C alone is private and B alone primary.
    ours = {school.code for school in world.schools.values()}

    def of_the_world(found: dict) -> list[dict]:  # type: ignore[type-arg]
        return [node for node in found["schools"]["nodes"] if node["moetCode"] in ours]

    assert of_the_world(private) == [{"moetCode": world.schools["C"].code}]
    primary = data(
        await gql(http, department, "{ schools(filter: {level: PRIMARY}) { nodes { moetCode } } }")
    )
    assert of_the_world(primary) == [{"moetCode": world.schools["B"].code}]


async def test_staff_filters(http, world, department):
    school = str(GlobalID("School", str(world.schools["B"].id)))
    valid = data(
        await gql(
            http,
            department,
            "query($s: ID!) { staff(filter: {schoolId: $s, hasValidCertificate: true}) { "
            "totalCount } }",
            {"s": school},
        )
    )
    assert valid["staff"]["totalCount"] == world.schools["B"].staff_with_valid_certificate
    principals = data(
        await gql(
            http,
            department,
            "query($s: ID!) { staff(filter: {schoolId: $s, role: PRINCIPAL}) { nodes { fullName "
            "} } }",
            {"s": school},
        )
    )
    assert len(principals["staff"]["nodes"]) == 1
    without = data(
        await gql(
            http,
            department,
            "query($s: ID!) { staffWithoutValidCertificate(schoolId: $s) { totalCount } }",
            {"s": school},
        )
    )
    assert without["staffWithoutValidCertificate"]["totalCount"] == 2


async def test_certificate_filters(http, world, department):
    school = str(GlobalID("School", str(world.schools["B"].id)))
    soon = data(
        await gql(
            http,
            department,
            """query($s: ID!) { certificates(filter: {schoolId: $s,
        expiringBefore: "2100-01-01T00:00:00Z", status: ACTIVE, provider: BCY}) { totalCount } }""",
            {"s": school},
        )
    )
    assert soon["certificates"]["totalCount"] == 4  # valid ones not yet expired
    revoked = data(
        await gql(
            http,
            department,
            "query($s: ID!) { certificates(filter: {schoolId: $s, status: REVOKED}) { nodes { "
            "isValid } } }",
            {"s": school},
        )
    )
    assert revoked["certificates"]["nodes"] == [{"isValid": False}]
    seals = data(
        await gql(
            http,
            department,
            "{ certificates(filter: {isSeal: true}, first: 500) { nodes { school { moetCode } "
            "provider } } }",
        )
    )
    # Every school of the world has its seal; schools other tests build bring their own.
    codes = [n["school"]["moetCode"] for n in seals["certificates"]["nodes"]]
    assert sorted(c for c in codes if c in {s.code for s in world.schools.values()}) == sorted(
        s.code for s in world.schools.values()
    )
    month = data(
        await gql(
            http,
            department,
            "query($s: ID!) { certificates(filter: {schoolId: $s}) { nodes { expiresSoon } } }",
            {"s": school},
        )
    )
    assert sum(n["expiresSoon"] for n in month["certificates"]["nodes"]) == 2


async def test_node_resolves_each_type(http, world, department):
    for type_name, key in [
        ("School", world.schools["A"].id),
        ("Staff", world.schools["A"].staff[0]),
        ("SchoolClass", world.schools["A"].classes[0]),
        ("District", world.districts["LB"]),
    ]:
        gid = str(GlobalID(type_name, str(key)))
        node = data(
            await gql(
                http, department, "query($id: ID!) { node(id: $id) { id __typename } }", {"id": gid}
            )
        )
        assert node["node"] == {"id": gid, "__typename": type_name}
