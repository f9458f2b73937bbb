"""The streamed change feed (``GET /changes``): the GraphQL feed's items as NDJSON.

The tests' settings run the stream in check mode: on PostgreSQL every chunk is read by
the compiled statement and by GraphQL, and a difference in lines or access log breaks
the stream (no last line), so each test here also compares both paths.
"""

import json
import uuid
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from hub.config import Mode
from hub.db.models import AccessLog, Transcript
from hub.domain.enums import OrgLevel, Sex
from hub.domain.personal_id import compose
from hub.fastpath.feed import FEED_QUERY
from hub.web.app import create_app
from tests.helpers import ALL_SCOPES, client_token, data, gql


@pytest.fixture(scope="module")
async def department(db, world, http):
    return await client_token(db, http, org=OrgLevel.DEPARTMENT)


async def _stream(http, token: str | None, **params: Any) -> tuple[list[dict], dict]:  # type: ignore[no-untyped-def]
    """The stream's change lines and its last line."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.get("/changes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert lines and "nextSince" in lines[-1], "the stream was cut short"
    return lines[:-1], lines[-1]


async def _graphql_feed(http, token: str, since: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """Every change after ``since`` as GraphQL pages it."""
    found: list[dict] = []
    more = True
    while more:
        variables = {"since": since, "first": 500}
        page = data(await gql(http, token, FEED_QUERY, variables))["changes"]
        found += page["changes"]
        since, more = page["nextSince"], page["hasMore"]
    return found


async def test_the_stream_is_the_graphql_feed_line_for_line(http, department):
    changes, last = await _stream(http, department, since=0)
    assert changes == await _graphql_feed(http, department, 0)
    assert {c["entity"] for c in changes} >= {"student", "staff", "guardianLink", "certificate"}
    versions = [c["version"] for c in changes]
    assert versions == sorted(set(versions))
    assert last == {"nextSince": versions[-1], "hasMore": False}
    student = next(c for c in changes if c["entity"] == "student")
    assert set(student["node"]) >= {"__typename", "id", "personalId", "fullName", "birthDate"}
    assert student["node"]["personalId"] == student["naturalKey"]["personalId"]
    assert student["node"]["personalId"].isdigit()  # personal-ids:read


async def test_limit_cuts_the_stream_and_next_since_continues_it(http, department):
    everything, _ = await _stream(http, department, since=0)
    first, last = await _stream(http, department, since=0, limit=3)
    assert first == everything[:3]
    assert last == {"nextSince": everything[2]["version"], "hasMore": True}
    rest, last = await _stream(http, department, since=last["nextSince"])
    assert first + rest == everything
    assert last["hasMore"] is False
    after, last = await _stream(http, department, since=last["nextSince"])
    assert after == [] and last["nextSince"] == everything[-1]["version"]


async def test_personal_ids_and_phones_are_masked_without_their_scopes(db, http, world):
    scopes = [s for s in ALL_SCOPES if s not in ("personal-ids:read", "contacts:read")]
    token = await client_token(db, http, org=OrgLevel.DEPARTMENT, scopes=scopes)
    changes, _ = await _stream(http, token, since=0)
    assert changes == await _graphql_feed(http, token, 0)
    students = [c for c in changes if c["entity"] == "student" and c["node"]["personalId"]]
    assert students and all(c["naturalKey"]["personalId"].startswith("••••••••") for c in students)
    assert all(c["node"]["personalId"] == c["naturalKey"]["personalId"] for c in students)
    staff = [c for c in changes if c["entity"] == "staff" and c["node"]["personalId"]]
    assert staff and all(c["node"]["personalId"].startswith("••••••••") for c in staff)


async def test_deletions_and_departures_are_streamed_with_masked_keys(db, http, world):
    scopes = [s for s in ALL_SCOPES if s != "contacts:read"]
    school = world.schools["W"].code
    vendor = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[school], scopes=scopes)
    _, head = await _stream(http, vendor, since=0)
    personal_id = compose("001", 2013, Sex.MALE, 999_101)
    row = {
        "personalId": personal_id,
        "fullName": "Đỗ Gia Bảo",
        "birthDate": "2013-05-06",
        "sex": "MALE",
        "schoolCode": school,
    }
    mother = {
        "studentPersonalId": personal_id,
        "relation": "MOTHER",
        "guardian": {"fullName": "Lê Thị Hạnh", "phone": "0912345678"},
    }
    father = {
        "studentPersonalId": personal_id,
        "relation": "FATHER",
        "guardian": {"fullName": "Đỗ Văn Nam", "phone": "0987654321"},
    }
    students = "mutation($r: [StudentInput!]!) { upsertStudents(rows: $r) { created } }"
    links = "mutation($r: [GuardianLinkInput!]!) { upsertGuardianLinks(rows: $r) { created } }"
    data(await gql(http, vendor, students, {"r": [row]}))
    data(await gql(http, vendor, links, {"r": [mother, father]}))
    data(await gql(http, vendor, links, {"r": [father | {"remove": True}]}))
    changes, last = await _stream(http, vendor, since=head["nextSince"])
    assert [(c["entity"], c["operation"]) for c in changes] == [
        ("student", "UPSERT"),
        ("guardianLink", "UPSERT"),  # the mother's link; the father's is gone
        ("guardianLink", "DELETE"),
    ]
    assert changes[1]["node"]["fullName"] == "Đỗ Gia Bảo"  # a link's node is its pupil
    assert changes[1]["naturalKey"]["guardianPhone"] == "•••••••678"
    assert changes[2]["naturalKey"] == {
        "studentPersonalId": personal_id,
        "guardianPersonalId": None,
        "guardianPhone": "•••••••321",
    }
    assert changes[2]["node"] is None
    assert last == {"nextSince": changes[-1]["version"], "hasMore": False}


async def test_a_school_client_streams_its_own_schools_only(db, http, world):
    vendor = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["B"].code])
    changes, _ = await _stream(http, vendor, since=0)
    assert changes == await _graphql_feed(http, vendor, 0)
    keys = {c["naturalKey"].get("personalId") for c in changes if c["entity"] == "student"}
    assert keys >= set(world.schools["B"].student_personal_ids)
    assert not keys & set(world.schools["A"].student_personal_ids)


async def test_every_node_streamed_is_in_the_access_log_with_the_purpose(db, http, world):
    token = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["A"].code])
    headers = {"Authorization": f"Bearer {token}", "X-Hub-Purpose": "dong-bo-so-lien-lac"}
    response = await http.get("/changes", params={"since": 0}, headers=headers)
    changes = [orjson.loads(line) for line in response.content.splitlines()][:-1]
    pupils = {c["node"]["id"] for c in changes if c["entity"] == "student"}
    assert pupils
    async with db.sessions() as session:
        logged = await session.scalar(
            select(func.count(func.distinct(AccessLog.entity_id))).where(
                AccessLog.purpose == "dong-bo-so-lien-lac",
                AccessLog.entity == "student",
                AccessLog.item == "record",
            )
        )
    assert logged == len(pupils)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"since": "-1"}, 400, "INVALID_ARGUMENT"),
        ({"since": "abc"}, 400, "INVALID_ARGUMENT"),
        ({"limit": "0"}, 400, "INVALID_ARGUMENT"),
        ({"limit": "1000001"}, 400, "INVALID_ARGUMENT"),
    ],
)
async def test_bad_arguments_are_refused_with_a_code(http, department, params, status, code):
    headers = {"Authorization": f"Bearer {department}"}
    response = await http.get("/changes", params=params, headers=headers)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["message"] and body["messageEn"]


async def test_callers_without_a_token_or_the_scope_are_refused(db, http, world):
    assert (await http.get("/changes")).status_code == 401
    token = await client_token(db, http, org=OrgLevel.DEPARTMENT, scopes=["students:read"])
    response = await http.get("/changes", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


async def test_a_published_transcript_is_streamed_with_its_node(db, http, world):
    school = next(s for s in world.schools.values() if s.students and s.classes)
    vendor = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[school.code])
    _, head = await _stream(http, vendor, since=0)
    document_id = str(uuid.uuid4())
    async with db.unit_of_work() as session:
        transcript = Transcript(
            document_id=document_id,
            student_id=school.students[0],
            school_year_id=world.current_year_id,
            school_id=school.id,
            class_id=school.classes[0],
            state="SEALED",
            learning_result="GOOD",
            xml=b"<x/>",
            pdf=b"%PDF",
            xml_sha256="0" * 64,
        )
        session.add(transcript)
    try:
        async with db.unit_of_work() as session:
            (await session.get(Transcript, transcript.id)).state = "PUBLISHED"  # type: ignore[union-attr]
        changes, _ = await _stream(http, vendor, since=head["nextSince"])
        (change,) = [c for c in changes if c["entity"] == "transcript"]
        assert change["operation"] == "UPSERT"
        assert change["naturalKey"]["documentId"] == document_id
        assert change["naturalKey"]["version"] == 1
        node = change["node"]
        assert node["__typename"] == "Transcript"
        assert (node["documentId"], node["state"], node["learningResult"]) == (
            document_id,
            "PUBLISHED",
            "GOOD",
        )
        assert node["createdAt"].endswith("+00:00")
    finally:  # a published transcript locks its pupil's marks for other tests
        async with db.unit_of_work() as session:
            await session.delete(await session.get(Transcript, transcript.id))


async def test_the_ordinary_path_streams_under_trusted_documents_in_production(
    settings, app, db, world, department, tmp_path
):
    """Production serving registered documents only: the stream's own GraphQL pages are
    the hub's document, not the client's, and still run (here with the compiled path
    off, as on SQLite or for an admission service)."""
    documents = tmp_path / "trusted.json"
    documents.write_text(json.dumps({"0" * 64: "query Me { me { clientId } }"}))
    strict = settings.model_copy(
        update={
            "mode": Mode.PRODUCTION,
            "graphql_trusted_documents_file": documents,
            "graphql_fastpath": "off",
        }
    )
    transport = httpx.ASGITransport(app=create_app(strict, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        changes, last = await _stream(http, department, since=0, limit=300)
        assert len(changes) == 300 and last["hasMore"] is True
        refused = await gql(http, department, FEED_QUERY.replace("hasMore", ""), {"since": 0})
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["OPERATION_NOT_TRUSTED"]
