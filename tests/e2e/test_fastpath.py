"""The compiled path (hub.fastpath): the same answers and access log as the ordinary path.

The tests' settings set ``graphql_fastpath`` to ``check``: every query of the whole
suite that the compiled path can answer is answered by both paths, and the request
fails (500) unless the data and the access-log entries are equal. This module makes
sure that switch is on, that the compiled path really answers the shapes it claims
(aliases, fragments, variables, edges, cursors, masking, reach), that it leaves the rest
to the ordinary path, and that, switched on for real, it writes the access log itself.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from strawberry.relay import GlobalID

from hub.db import models
from hub.domain.enums import OrgLevel
from hub.fastpath.run import FastPath
from hub.web.app import create_app
from tests.helpers import client_token, data, error_codes, gql


@pytest.fixture(scope="module")
async def department(db, world, http):  # type: ignore[no-untyped-def]
    return await client_token(db, http, org=OrgLevel.DEPARTMENT)


@pytest.fixture(scope="module")
async def masked(db, world, http):  # type: ignore[no-untyped-def]
    """A school-scoped client without personal-ids:read or contacts:read."""
    scopes = ["students:read", "staff:read", "certificates:read"]
    code = world.schools["A"].code
    return await client_token(db, http, org=OrgLevel.SCHOOL, schools=[code], scopes=scopes)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether the compiled path answered each request (True) or left it (False)."""
    seen: list[bool] = []
    original = FastPath.answer

    async def counting(self: FastPath, *args: Any, **kwargs: Any) -> Any:
        answer = await original(self, *args, **kwargs)
        seen.append(answer is not None)
        return answer

    monkeypatch.setattr(FastPath, "answer", counting)
    yield seen


def school(world: Any, name: str = "A") -> str:
    return str(GlobalID("School", str(world.schools[name].id)))


#: Shapes the compiled path answers; each is compared with the ordinary path (check mode).
SUPPORTED = [
    """query Page($school: ID!) { students(first: 100, filter: {schoolId: $school}) {
      nodes { id fullName personalId birthDate
        school { name moetCode }
        currentClass { name grade homeroomTeacher { fullName
          certificates { serialNumber validTo status } } } } } }""",
    """query($school: ID!, $n: Int) { a: students(first: $n, filter: {schoolId: $school}) {
      totalCount __typename pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor __typename node { ...S } } }
      b: staff(first: 7) { nodes { fullName personalId email phone sex birthDate
        certificates { id subject issuer validFrom validTo provider credentialId } } }
      __typename }
    fragment S on Student { id ministryCode needsReview identityStatus identityVerifiedAt
      sex ethnicity ... on Student { school { id level ownership directlyManaged
        district { id code name } } } }""",
    """{ schools(first: 3) { totalCount nodes { id name moetCode district { name } } }
       classes(first: 5) { nodes { id name grade school { name }
         homeroomTeacher { id fullName } } }
       certificates(first: 4) { nodes { serialNumber status staff { fullName }
         school { name } } } districts { nodes { id code name } } }""",
    """query($school: ID!) { students(first: 2, filter: {schoolId: $school, grade: 7}) {
      nodes { fullName currentClass { name school { name } } } } }""",
    """query($school: ID!) { empty: students(first: 5, filter: {schoolId: $school,
      name: "không có ai tên này"}) { totalCount nodes { id } pageInfo { startCursor
      endCursor hasNextPage } edges { cursor } } }""",
]


@pytest.mark.parametrize("query", SUPPORTED)
async def test_the_compiled_path_answers_as_the_ordinary_path(
    http, world, department, masked, answered, query, settings
):  # type: ignore[no-untyped-def]
    # Check mode: both paths answered, and compare() found them equal.
    assert settings.graphql_fastpath == "check"
    for token in (department, masked):
        found = await gql(http, token, query, {"school": school(world), "n": 3})
        data(found)
    assert answered == [True, True]


#: Shapes left to the ordinary path (answered once, as before).
UNSUPPORTED = [
    "{ students(first: 2) { nodes { guardians { relation } } } }",
    "{ students(first: 2) { nodes { fullName @include(if: true) } } }",
    "{ staff(first: 2) { nodes { hasValidCertificate assignments { role } } } }",
    "{ me { clientId } students(first: 1) { totalCount } }",
    "{ schools(first: 1) { nodes { classes(first: 1) { nodes { name } } } } }",
    "query($a: String) { students(first: 1, last: 2, after: $a) { totalCount } }",
    '{ students(first: 1, after: "bm90LWEtY3Vyc29y") { totalCount } }',
    "{ students(first: 0) { totalCount } }",
    '{ node(id: "U2Nob29sOjE=") { id } }',
]


@pytest.mark.parametrize("query", UNSUPPORTED)
async def test_the_rest_is_left_to_the_ordinary_path(http, department, answered, query):  # type: ignore[no-untyped-def]
    await gql(http, department, query, {"a": "YWZ0ZXI6Mw=="})
    assert answered == [False]


async def test_errors_come_from_the_ordinary_path(http, db, world, answered):  # type: ignore[no-untyped-def]
    no_certificates = await client_token(
        db, http, org=OrgLevel.DEPARTMENT, scopes=["students:read", "staff:read"]
    )
    query = "{ staff(first: 2) { nodes { fullName certificates { serialNumber } } } }"
    assert error_codes(await gql(http, no_certificates, query)) == ["FORBIDDEN"]
    wrong_id = '{ students(first: 2, filter: {schoolId: "U3R1ZGVudDox"}) { totalCount } }'
    assert error_codes(await gql(http, no_certificates, wrong_id)) == ["INVALID_ARGUMENT"]
    assert answered == [False, False]


async def test_switched_on_it_writes_the_access_log_itself(
    http, db, world, department, answered, monkeypatch, settings
):  # type: ignore[no-untyped-def]
    query = """query($school: ID!) { students(first: 3, filter: {schoolId: $school}) {
      nodes { id currentClass { homeroomTeacher { certificates { serialNumber } } } } } }"""
    expected = data(await gql(http, department, query, {"school": school(world)}))
    monkeypatch.setattr(settings, "graphql_fastpath", "on")
    log = models.AccessLog
    async with db.sessions() as session:
        before = await session.scalar(select(func.coalesce(func.max(log.id), 0)))
    assert data(await gql(http, department, query, {"school": school(world)})) == expected
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(log.entity, log.entity_id, log.item, log.purpose).where(log.id > before)
            )
        ).all()
    ids = [int(GlobalID.from_id(n["id"]).node_id) for n in expected["students"]["nodes"]]
    assert {r.entity_id for r in rows if r.entity == "student"} == set(ids)
    assert any(r.item == "certificate" for r in rows)
    assert answered == [True, True]
    monkeypatch.setattr(settings, "graphql_fastpath", "off")
    assert data(await gql(http, department, query, {"school": school(world)})) == expected
    assert answered == [True, True]  # off: not even tried


def test_the_switch(settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.graphql_fastpath == "check"


async def test_a_cached_statement_takes_each_requests_values(http, world, department, answered):  # type: ignore[no-untyped-def]
    """One statement per query shape: the second and later requests run the cached SQL
    with their own variables (compared with the ordinary path each time)."""
    query = """query($school: ID!, $n: Int, $grade: Int) {
      students(first: $n, filter: {schoolId: $school, grade: $grade}) {
        totalCount nodes { id fullName currentClass { name } } } }"""
    seen = []
    for name, first, grade in [("A", 3, None), ("B", 3, None), ("A", 5, 7), ("C", 5, 7)]:
        found = data(
            await gql(
                http, department, query, {"school": school(world, name), "n": first, "grade": grade}
            )
        )
        seen.append(found["students"]["totalCount"])
    assert answered == [True] * 4
    assert seen[0] != seen[1]


async def test_the_time_budget_holds_on_the_compiled_path(
    settings, db, world, department, answered, monkeypatch
):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "graphql_fastpath", "on")
    hasty = settings.model_copy(update={"graphql_timeout_seconds": 0.000001})
    transport = httpx.ASGITransport(app=create_app(hasty, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        query = "{ students(first: 100) { totalCount nodes { id } } }"
        result = await gql(http, department, query)
    assert error_codes(result) == ["QUERY_TIMEOUT"]
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["messageEn"]


async def test_pages_walked_with_cursors_both_ways(http, world, department, answered):  # type: ignore[no-untyped-def]
    """Keyset paging (first/after, last/before) with the page-info flags, compared with
    the ordinary path at every step."""
    forward = """query($s: ID!, $after: String) { students(first: 40, after: $after,
      filter: {schoolId: $s}) { pageInfo { hasNextPage hasPreviousPage startCursor
      endCursor } edges { cursor node { id } } } }"""
    backward = """query($s: ID!, $before: String) { students(last: 40, before: $before,
      filter: {schoolId: $s}) { pageInfo { hasNextPage hasPreviousPage startCursor
      endCursor } nodes { id } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = data(await gql(http, department, forward, {"s": school(world), "after": after}))
        connection = page["students"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == len(world.schools["A"].students)
    back: list[str] = []
    before = None
    while True:
        page = data(await gql(http, department, backward, {"s": school(world), "before": before}))
        connection = page["students"]
        back = [node["id"] for node in connection["nodes"]] + back
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert back == seen
    assert all(answered) and len(answered) >= 6
