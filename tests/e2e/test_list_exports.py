"""Every list of the API as a file (issue 14): ``GET /exports/lists/{name}.csv|xlsx``.

Each list exports in both formats with the rows the GraphQL connection gives for the
same filter and caller; a school's client gets its school's rows only, a client
without the list's scope 403, nobody 401; personal IDs and phones are masked unless
the client's scopes unmask them; every person in a file is in the access log; a bad
filter is 400 with a stable code. The tests read the shared world, filtered to its
schools so that no other module's people are read; what they add is their own: API
clients, a district office's officer, and a school in the writers' district (tests/people.py)
whose pupil has a draft transcript.
"""

import csv
import io
import uuid
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import quote

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from strawberry.relay import GlobalID

from hub.db import models
from hub.domain.enums import (
    CertificateStatus,
    GuardianRelation,
    IdentityStatus,
    OrgLevel,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)
from hub.domain.lifecycle import TranscriptState
from hub.schema.records import RecordQueries
from hub.web import i18n
from hub.web.exports import Cell, csv_stream, xlsx_stream
from hub.web.lists import LISTS, list_routes
from tests.helpers import ALL_SCOPES, client_token, data, gql, register, token_for, visiting
from tests.people import People, new_district_officer, people_school
from tests.world import World

VI = i18n.catalogue("vi")
EN = i18n.catalogue("en")
#: The scopes of a client that reads everything but sees personal IDs and contacts masked.
MASKED_SCOPES = [s for s in ALL_SCOPES if s not in ("personal-ids:read", "contacts:read")]


def school_id(world: World, letter: str) -> str:
    return str(GlobalID("School", str(world.schools[letter].id)))


@pytest.fixture(scope="module")
async def department(db, world, http) -> str:  # type: ignore[no-untyped-def]
    return await client_token(db, http, org=OrgLevel.DEPARTMENT)


@pytest.fixture(scope="module")
async def people(db, world) -> People:  # type: ignore[no-untyped-def]
    """A school of its own in the writers' district, its pupil with a draft transcript."""
    found = await people_school(db, code="LEX")
    async with db.unit_of_work() as session:
        school_class = await session.get(models.SchoolClass, found.class_id)
        assert school_class is not None
        session.add(
            models.Transcript(
                document_id=str(uuid.uuid4()),
                student_id=found.student_id,
                school_year_id=school_class.school_year_id,
                school_id=found.school_id,
                class_id=found.class_id,
                state="DRAFT",
                learning_result="Tốt",
                xml=b"<transcript/>",
                pdf=b"%PDF-1.7",
                xml_sha256="0" * 64,
            )
        )
    return found


@pytest.fixture(scope="module")
async def masked(db, world, http) -> str:  # type: ignore[no-untyped-def]
    return await client_token(db, http, org=OrgLevel.DEPARTMENT, scopes=MASKED_SCOPES)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    sheet = workbook.worksheets[0]
    return [
        ["" if cell is None else str(cell) for cell in row]
        for row in sheet.iter_rows(values_only=True)
    ]


async def export(
    http: httpx.AsyncClient, token: str | None, listed: str, kind: str = "csv", **filters: str
) -> httpx.Response:
    return await http.get(
        f"/exports/lists/{listed}.{kind}",
        params=filters,
        headers=bearer(token) if token else {},
    )


#: Each list: its filter input's type (None: no filter) and the node field the file's
#: second column shows, row for row ("id": none to compare but the ids).
CASES: dict[str, tuple[str | None, str]] = {
    "districts": (None, "code"),
    "schools": ("SchoolFilter", "moetCode"),
    "classes": ("ClassFilter", "name"),
    "students": ("StudentFilter", "personalId"),
    "staff": ("StaffFilter", "personalId"),
    "certificates": ("CertificateFilter", "id"),
    "transcripts": ("TranscriptFilter", "documentId"),
}


def filters_for(name: str, world: World) -> dict[str, str]:
    if name == "districts":
        return {}
    if name == "schools":
        return {"districtId": str(GlobalID("District", str(world.districts["LB"])))}
    return {"schoolId": school_id(world, "A")}


async def connection(
    http: httpx.AsyncClient, token: str, name: str, filters: dict[str, str]
) -> list[tuple[str, Any]]:
    """(id, the compared field) of every node of the root list ``name`` for the filter."""
    filter_type, value = CASES[name]
    if filter_type is None:
        query = f"{{ list: {name}(first: 500) {{ totalCount nodes {{ id {value} }} }} }}"
        variables = None
    else:
        query = (
            f"query($f: {filter_type}) {{ list: {name}(first: 500, filter: $f) "
            f"{{ totalCount nodes {{ id {value} }} }} }}"
        )
        variables = {"f": filters}
    found = data(await gql(http, token, query, variables))["list"]
    assert found["totalCount"] == len(found["nodes"])
    return [(node["id"], node[value]) for node in found["nodes"]]


@pytest.mark.parametrize("name", list(CASES))
async def test_each_list_exports_in_both_formats_the_rows_of_its_connection(
    http, world, department, name
):  # type: ignore[no-untyped-def]
    filters = filters_for(name, world)
    _, value = CASES[name]
    expected = await connection(http, department, name, filters)
    as_csv = csv_rows(await export(http, department, name, "csv", **filters))
    as_xlsx = xlsx_rows(await export(http, department, name, "xlsx", **filters))
    assert as_csv == as_xlsx
    assert as_csv[0][0] == VI["exports.column.id"]
    assert [row[0] for row in as_csv[1:]] == [key for key, _ in expected]
    if value != "id":
        assert [row[1] for row in as_csv[1:]] == [v or "" for _, v in expected]
    if name in ("students", "staff", "classes", "schools"):
        assert len(as_csv) > 1


async def test_a_pupils_row_reads_as_people_read_it(http, world, department):  # type: ignore[no-untyped-def]
    rows = csv_rows(await export(http, department, "students", schoolId=school_id(world, "B")))
    header, first = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[:4] == [
        VI["exports.column.id"],
        VI["exports.column.personal_id"],
        VI["exports.column.ministry_code"],
        VI["exports.column.full_name"],
    ]
    day, month, year = first[VI["exports.column.birth_date"]].split("/")
    assert len(day) == 2 and len(month) == 2 and len(year) == 4
    assert first[VI["exports.column.sex"]] in (VI["exports.sex.MALE"], VI["exports.sex.FEMALE"])
    assert first[VI["exports.column.identity_status"]] in (
        VI["exports.identity.VERIFIED"],
        VI["exports.identity.UNVERIFIED"],
    )
    assert first[VI["exports.column.school"]] == "Trường Tiểu học Ngọc Thụy"
    assert first[VI["exports.column.class"]].endswith("A1")
    english = await http.get(
        "/exports/lists/students.csv",
        params={"schoolId": school_id(world, "B"), "lang": "en"},
        headers=bearer(department),
    )
    assert csv_rows(english)[0][:4] == [
        EN["exports.column.id"],
        EN["exports.column.personal_id"],
        EN["exports.column.ministry_code"],
        EN["exports.column.full_name"],
    ]


async def test_guardians_export_every_link_of_the_pupils_the_filter_finds(http, world, department):  # type: ignore[no-untyped-def]
    query = """query($filter: StudentFilter) {
      students(filter: $filter, first: 50) { nodes { id guardians {
        relation verified guardian { id fullName personalId phone } } } }
    }"""
    filters = {"schoolId": school_id(world, "B")}
    students = data(await gql(http, department, query, {"filter": filters}))["students"]["nodes"]
    expected = [
        [student["id"], link["guardian"]["id"], link["guardian"]["fullName"]]
        for student in students
        for link in student["guardians"]
    ]
    rows = xlsx_rows(await export(http, department, "guardians", "xlsx", **filters))
    assert [[row[0], row[3], row[4]] for row in rows[1:]] == expected
    assert {row[5] for row in rows[1:]} == {
        VI["exports.relation.FATHER"],
        VI["exports.relation.MOTHER"],
    }


async def test_a_school_client_gets_its_schools_rows_only(db, http, world):  # type: ignore[no-untyped-def]
    token = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["B"].code])
    rows = csv_rows(await export(http, token, "students"))
    ids = {int(GlobalID.from_id(row[0]).node_id) for row in rows[1:]}
    assert ids == set(world.schools["B"].students)
    # Another school's filter finds nothing, as in the API: absent, not forbidden.
    assert csv_rows(await export(http, token, "students", schoolId=school_id(world, "A")))[1:] == []
    schools = csv_rows(await export(http, token, "schools", "csv"))
    assert [row[1] for row in schools[1:]] == [world.schools["B"].code]


async def test_without_the_scope_403_without_a_token_401(db, http, world):  # type: ignore[no-untyped-def]
    staff_only = await client_token(db, http, org=OrgLevel.DEPARTMENT, scopes=["staff:read"])
    refused = await export(http, staff_only, "students", "xlsx")
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    assert refused.headers["content-type"].startswith("application/json")
    school_b = school_id(world, "B")
    assert (await export(http, staff_only, "staff", schoolId=school_b)).status_code == 200
    for token in (None, "not-a-token"):
        missing = await export(http, token, "students")
        assert missing.status_code == 401
        assert missing.json()["code"] == "UNAUTHENTICATED"


async def test_personal_ids_and_phones_are_masked_unless_the_scopes_unmask_them(
    http, world, department, masked
):  # type: ignore[no-untyped-def]
    school = school_id(world, "B")
    full = csv_rows(await export(http, department, "students", schoolId=school))
    hidden = csv_rows(await export(http, masked, "students", schoolId=school))
    assert sorted(row[1] for row in full[1:]) == sorted(world.schools["B"].student_personal_ids)
    for shown, masked_row in zip(full[1:], hidden[1:], strict=True):
        assert masked_row[0] == shown[0]
        assert masked_row[1] == "••••••••" + shown[1][-4:]
    links = csv_rows(await export(http, masked, "guardians", schoolId=school))
    for row in links[1:]:
        assert row[7].startswith("••••••••") and len(row[7]) == 12
        assert row[8].startswith("•")
    staff = csv_rows(await export(http, masked, "staff", schoolId=school))
    assert all(row[1].startswith("••••••••") for row in staff[1:])
    # The same masks as the API's for the same caller.
    query = "query($f: StaffFilter) { staff(filter: $f) { nodes { id personalId email phone } } }"
    nodes = data(await gql(http, masked, query, {"f": {"schoolId": school}}))["staff"]["nodes"]
    assert [[row[0], row[1]] for row in staff[1:]] == [[n["id"], n["personalId"]] for n in nodes]


async def test_every_person_in_a_file_is_in_the_access_log(db, http, world):  # type: ignore[no-untyped-def]
    client_id, secret = await register(db, org=OrgLevel.DEPARTMENT)
    token = await token_for(http, client_id, secret)
    purpose = "Đối soát danh sách học sinh"
    response = await http.get(
        "/exports/lists/guardians.xlsx",
        params={"schoolId": school_id(world, "B")},
        headers={**bearer(token), "X-Hub-Purpose": quote(purpose)},
    )
    rows = xlsx_rows(response)
    log = models.AccessLog
    async with db.sessions() as session:
        entries = (
            await session.execute(
                select(log.entity, log.entity_id, log.item, log.purpose).where(
                    log.client_id == client_id
                )
            )
        ).all()
    students = {e.entity_id for e in entries if e.entity == "student"}
    guardians = {e.entity_id for e in entries if e.entity == "guardian"}
    assert students == set(world.schools["B"].students)
    assert guardians == {int(GlobalID.from_id(row[3]).node_id) for row in rows[1:]}
    assert {e.item for e in entries} == {"record"}
    assert {e.purpose for e in entries} == {purpose}
    # One entry per person, as a GraphQL read writes them.
    assert len(entries) == len(students) + len(guardians)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("students", {"nameLike": "An"}),
        ("students", {"hasPersonalId": "maybe"}),
        ("students", {"grade": "six"}),
        ("students", {"identityStatus": "ALMOST"}),
        ("students", {"schoolId": "not-an-id"}),
        ("classes", {"schoolId": "RGlzdHJpY3Q6MQ=="}),  # a District's ID where a School's goes
        ("districts", {"name": "x"}),
        ("certificates", {"expiringBefore": "soon"}),
    ],
)
async def test_a_bad_filter_is_400_with_a_stable_code(http, department, name, params):  # type: ignore[no-untyped-def]
    response = await export(http, department, name, "xlsx", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_ARGUMENT"
    assert body["message"].startswith("Tham số không hợp lệ")
    assert "Traceback" not in response.text and "Error" not in body["message"]


async def test_an_unknown_list_or_format_is_404(http, department):  # type: ignore[no-untyped-def]
    for path in ("/exports/lists/secrets.csv", "/exports/lists/students.pdf"):
        response = await http.get(path, headers=bearer(department))
        assert response.status_code == 404
        assert response.json()["code"] == "INVALID_ARGUMENT"


async def test_big_lists_are_read_in_chunks_and_capped(app, http, db, world, department):  # type: ignore[no-untyped-def]
    """The same export with chunks of 7 rows gives the same file; over the cap it is
    refused before anything is read."""
    hub = app.state.hub
    small = Starlette(routes=list_routes(hub, row_limit=500, chunk_size=7))
    capped = Starlette(routes=list_routes(hub, row_limit=50, chunk_size=7))
    filters = {"schoolId": school_id(world, "A")}
    whole = csv_rows(await export(http, department, "students", **filters))
    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        assert csv_rows(await export(client, department, "students", **filters)) == whole
        assert xlsx_rows(await export(client, department, "guardians", "xlsx", **filters))[1:]
    assert len(whole) - 1 == len(world.schools["A"].students) > 50
    transport = httpx.ASGITransport(app=capped)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        refused = await export(client, department, "students", "xlsx", **filters)
    assert refused.status_code == 400
    assert refused.json()["code"] == "EXPORT_TOO_LARGE"
    assert "50" in refused.json()["message"]


async def test_an_officer_exports_their_districts_lists_and_no_one_else_with_a_session(
    app, db, world, people
):  # type: ignore[no-untyped-def]
    officer, name = await new_district_officer(
        db, district_code="LB", full_name="Phạm Văn Cán Bộ Phòng", born=1978
    )
    lb = {world.schools["A"].id, world.schools["B"].id}
    async with db.sessions() as session:
        in_reach = await session.scalar(
            select(func.count()).where(models.Student.school_id.in_(sorted(lb)))
        )
    async with visiting(app, officer, name) as visitor:
        rows = xlsx_rows(await visitor.web.get("/exports/lists/students.xlsx"))
        assert len(rows) - 1 == in_reach
        assert {row[8] for row in rows[1:]} <= {
            "Trường THCS Gia Thụy",
            "Trường Tiểu học Ngọc Thụy",
        }
        # masked: an officer's session holds no personal-ids:read
        assert all(row[1].startswith("••••") for row in rows[1:] if row[1])
    log = models.AccessLog
    async with db.sessions() as session:
        read = set(
            await session.scalars(
                select(log.entity_id).where(log.person == officer, log.entity == "student")
            )
        )
    assert read == {int(GlobalID.from_id(row[0]).node_id) for row in rows[1:]}
    async with visiting(app, people.teacher, people.names[people.teacher]) as teacher:
        refused = await teacher.web.get("/exports/lists/students.csv")
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"


async def test_transcripts_export_with_their_state_and_pupil_and_are_logged_as_read(
    db, http, people
):  # type: ignore[no-untyped-def]
    client_id, secret = await register(db, org=OrgLevel.DEPARTMENT)
    token = await token_for(http, client_id, secret)
    school = str(GlobalID("School", str(people.school_id)))
    query = """query($f: TranscriptFilter) {
      transcripts(filter: $f) { nodes { id documentId student { fullName } } } }"""
    nodes = data(await gql(http, token, query, {"f": {"schoolId": school}}))["transcripts"]
    rows = xlsx_rows(await export(http, token, "transcripts", "xlsx", schoolId=school))
    assert [[row[0], row[1]] for row in rows[1:]] == [
        [node["id"], node["documentId"]] for node in nodes["nodes"]
    ]
    (row,) = rows[1:]
    assert row[3] == VI["exports.state.DRAFT"]
    assert row[4] == people.names[people.pupil]
    assert row[5] == "6A9"
    log = models.AccessLog
    async with db.sessions() as session:
        items = set(
            (
                await session.execute(
                    select(log.entity, log.entity_id, log.item).where(log.client_id == client_id)
                )
            ).all()
        )
    # Read twice (the API, then the file): logged the same way both times.
    assert items == {
        ("student", people.student_id, "transcript"),
        ("student", people.student_id, "record"),
    }


def test_every_root_list_of_records_exports_and_labels_match_the_domain() -> None:
    connections = {
        field.name
        for field in RecordQueries.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if "Connection" in str(field.type)
    }
    assert connections <= set(LISTS)
    for state in TranscriptState:
        assert VI[f"exports.state.{state.value}"] == state.label
    for provider in SigningProvider:
        assert VI[f"exports.provider.{provider.value}"] == provider.label
    for group, vocabulary in {
        "level": SchoolLevel,
        "ownership": Ownership,
        "sex": Sex,
        "identity": IdentityStatus,
        "role": StaffRole,
        "relation": GuardianRelation,
        "certificate": CertificateStatus,
    }.items():
        for member in vocabulary:
            assert VI[f"exports.{group}.{member.value}"] and EN[f"exports.{group}.{member.value}"]


async def _rows_of(*chunks: list[list[Cell]]) -> AsyncGenerator[list[list[Cell]], None]:
    for chunk in chunks:
        yield chunk


async def test_text_that_looks_like_a_formula_stays_text() -> None:
    rows: list[list[Cell]] = [['=HYPERLINK("http://x")', "-1+2", 7, "An"]]
    body = b"".join([piece async for piece in csv_stream(["a", "b", "c", "d"], _rows_of(rows))])
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1] == [
        '\'=HYPERLINK("http://x")',
        "'-1+2",
        "7",
        "An",
    ]
    body = b"".join(
        [piece async for piece in xlsx_stream("s", ["a", "b", "c", "d"], _rows_of(rows))]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    cells = next(iter(sheet.iter_rows(min_row=2)))
    assert [cell.value for cell in cells] == ['=HYPERLINK("http://x")', "-1+2", 7, "An"]
    assert cells[0].data_type == "s"
