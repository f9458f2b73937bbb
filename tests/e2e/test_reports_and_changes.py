"""The coverage report and the change feed."""

import pytest

from hub.domain.enums import OrgLevel, Sex
from hub.domain.personal_id import compose
from tests.helpers import client_token, data, gql


@pytest.fixture(scope="module")
async def department(db, world, http):
    return await client_token(db, http, org=OrgLevel.DEPARTMENT)


COVERAGE = """query($by: [CoverageDimension!]!) { certificateCoverage(groupBy: $by) {
    rows { level ownership district { code } staffTotal withValidCertificate ratio }
    total { staffTotal withValidCertificate } } }"""


async def test_coverage_by_district_counts_staff_once_per_group(http, world, department):
    report = data(await gql(http, department, COVERAGE, {"by": ["DISTRICT"]}))[
        "certificateCoverage"
    ]
    lb = next(r for r in report["rows"] if r["district"]["code"] == "LB")
    assert lb["staffTotal"] == 10  # five per school in A and B
    assert lb["withValidCertificate"] == 6
    assert lb["ratio"] == 0.6


async def test_coverage_by_level_puts_directly_managed_schools_in_their_own_row(
    http, world, department
):
    report = data(await gql(http, department, COVERAGE, {"by": ["LEVEL", "OWNERSHIP"]}))
    rows = {(r["level"], r["ownership"]): r for r in report["certificateCoverage"]["rows"]}
    assert rows[("DIRECTLY_MANAGED", "PUBLIC")]["staffTotal"] == 5
    assert rows[("PRIMARY", "PUBLIC")]["withValidCertificate"] == 3
    assert rows[("LOWER_SECONDARY", "PRIVATE")]["staffTotal"] == 5


async def test_coverage_for_a_district_client_covers_its_district_only(db, http, world):
    token = await client_token(db, http, org=OrgLevel.DISTRICT, districts=["LB"])
    report = data(await gql(http, token, COVERAGE, {"by": ["DISTRICT"]}))["certificateCoverage"]
    assert [r["district"]["code"] for r in report["rows"]] == ["LB"]


FEED = """query($since: Int!, $first: Int) { changes(since: $since, first: $first) {
    nextSince hasMore changes { version entity operation naturalKey
      node { __typename ... on Student { fullName } } } } }"""


async def _head_of_feed(http, token: str) -> int:  # type: ignore[no-untyped-def]
    """The version after everything already in the caller's feed (other tests write to W)."""
    since, more = 0, True
    while more:
        page = data(await gql(http, token, FEED, {"since": since, "first": 500}))["changes"]
        since, more = page["nextSince"], page["hasMore"]
    return since


async def test_change_feed_reports_upserts_and_tombstones_in_order(db, http, world):
    vendor = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["W"].code])
    since = await _head_of_feed(http, vendor)
    personal_id = compose("001", 2013, Sex.MALE, 999_001)
    row = {
        "personalId": personal_id,
        "fullName": "Phan Minh Khôi",
        "birthDate": "2013-01-02",
        "sex": "MALE",
        "schoolCode": world.schools["W"].code,
    }
    link = {
        "studentPersonalId": personal_id,
        "relation": "FATHER",
        "guardian": {"fullName": "Phan Văn Hùng", "phone": "0987000111"},
    }
    students = "mutation($r: [StudentInput!]!) { upsertStudents(rows: $r) { created } }"
    links = (
        "mutation($r: [GuardianLinkInput!]!) { upsertGuardianLinks(rows: $r) { created deleted } }"
    )
    data(await gql(http, vendor, students, {"r": [row]}))
    data(await gql(http, vendor, links, {"r": [link]}))
    data(await gql(http, vendor, links, {"r": [link | {"remove": True}]}))
    feed = data(await gql(http, vendor, FEED, {"since": since}))["changes"]
    kinds = [(c["entity"], c["operation"]) for c in feed["changes"]]
    assert kinds == [("student", "UPSERT"), ("guardianLink", "DELETE")]
    versions = [c["version"] for c in feed["changes"]]
    assert versions == sorted(versions) and versions[0] > since
    assert feed["changes"][0]["naturalKey"]["personalId"] == personal_id
    assert feed["changes"][0]["node"] == {"__typename": "Student", "fullName": "Phan Minh Khôi"}
    assert feed["changes"][1]["naturalKey"] == {
        "studentPersonalId": personal_id,
        "guardianPersonalId": None,
        "guardianPhone": "0987000111",
    }
    assert feed["changes"][1]["node"] is None
    assert (
        data(await gql(http, vendor, FEED, {"since": feed["nextSince"]}))["changes"]["changes"]
        == []
    )


async def test_change_feed_pages_and_stays_inside_the_callers_schools(db, http, world):
    vendor_b = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["B"].code])
    first = data(await gql(http, vendor_b, FEED, {"since": 0, "first": 5}))["changes"]
    assert first["hasMore"] and len(first["changes"]) == 5
    rest = data(await gql(http, vendor_b, FEED, {"since": first["nextSince"], "first": 500}))
    everything = first["changes"] + rest["changes"]["changes"]
    students = [c for c in everything if c["entity"] == "student"]
    assert len(students) == len(world.schools["B"].students)
    assert not any(
        c["naturalKey"].get("personalId") in world.schools["A"].student_personal_ids
        for c in everything
    )
