"""The vendor write API: per-row verdicts, idempotency, and nothing half-written."""

import pytest
from sqlalchemy import func, select

from hub.db import models
from hub.domain.enums import IdentityStatus, OrgLevel, Sex
from hub.domain.personal_id import compose
from tests.helpers import client_token, data, error_codes, gql

UPSERT_STUDENTS = """mutation($rows: [StudentInput!]!) { upsertStudents(rows: $rows) {
    created updated unchanged rejected
    rows { index key status id errors { code message field } warnings { code field } } } }"""
UPSERT_STAFF = """mutation($rows: [StaffInput!]!) { upsertStaff(rows: $rows) {
    created updated unchanged rejected rows { status errors { code } warnings { code } } } }"""
UPSERT_LINKS = """mutation($rows: [GuardianLinkInput!]!) { upsertGuardianLinks(rows: $rows) {
    created updated unchanged deleted rejected rows { status errors { code } } } }"""


@pytest.fixture(scope="module")
async def vendor_w(db, world, http):
    return await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["W"].code])


def student(serial: int, world, **changes):  # type: ignore[no-untyped-def]
    row = {
        "personalId": compose("001", 2012, Sex.FEMALE, 500_000 + serial),
        "ministryCode": f"HSW{serial:05d}",
        "fullName": "Đỗ Thị Hồng Nhung",
        "birthDate": "2012-04-30",
        "sex": "FEMALE",
        "ethnicity": "Tày",
        "schoolCode": world.schools["W"].code,
        "className": "7A1",
    }
    return row | changes


async def test_bad_rows_get_codes_and_good_rows_land(http, world, vendor_w):
    rows = [
        student(1, world),
        student(2, world, personalId="00120012345"),  # 11 digits
        student(3, world, schoolCode="NO-SUCH-SCHOOL"),
        student(4, world, birthDate="2010-04-30"),  # ID says 2012
        student(5, world, className="9Z9"),
        student(6, world, fullName="   "),
        student(7, world),
    ]
    result = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": rows}))["upsertStudents"]
    codes = [[e["code"] for e in row["errors"]] for row in result["rows"]]
    assert codes == [
        [],
        ["PERSONAL_ID_FORMAT"],
        ["SCHOOL_NOT_FOUND"],
        ["PERSONAL_ID_BIRTH_YEAR_MISMATCH"],
        ["CLASS_NOT_FOUND"],
        ["NAME_REQUIRED"],
        [],
    ]
    assert (result["created"], result["rejected"]) == (2, 5)
    assert result["rows"][3]["errors"][0]["message"].startswith("Năm sinh 2010 không khớp")
    assert all(r["id"] for r in result["rows"] if r["status"] == "CREATED")


async def test_upsert_is_idempotent_by_personal_id(db, http, world, vendor_w):
    rows = [student(10, world), student(11, world)]
    first = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": rows}))["upsertStudents"]
    again = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": rows}))["upsertStudents"]
    assert (first["created"], again["created"], again["unchanged"]) == (2, 0, 2)
    assert [r["id"] for r in first["rows"]] == [r["id"] for r in again["rows"]]
    renamed = [student(10, world, fullName="Đỗ Thị Hồng Nhung B")]
    changed = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": renamed}))["upsertStudents"]
    assert changed["updated"] == 1
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(models.Student)
            .where(models.Student.personal_id == rows[0]["personalId"])
        )
    assert count == 1


async def test_sex_mismatch_is_kept_and_flagged_for_review(http, world, vendor_w):
    row = student(20, world, sex="MALE")  # the ID says female
    result = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": [row]}))["upsertStudents"]
    assert result["rows"][0]["status"] == "CREATED"
    assert result["rows"][0]["warnings"] == [{"code": "PERSONAL_ID_SEX_MISMATCH", "field": "sex"}]


async def test_duplicates_within_a_batch_are_rejected(http, world, vendor_w):
    rows = [student(30, world), student(30, world, ministryCode="HSW99999")]
    result = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": rows}))["upsertStudents"]
    assert [r["status"] for r in result["rows"]] == ["CREATED", "REJECTED"]
    assert result["rows"][1]["errors"][0]["code"] == "DUPLICATE_IN_BATCH"


async def test_batch_over_one_thousand_rows_is_refused_whole(http, world, vendor_w):
    rows = [student(40, world)] * 1001
    result = await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": rows})
    assert error_codes(result) == ["BATCH_TOO_LARGE"]


async def test_a_full_batch_of_one_thousand_lands(db, http, world, vendor_w):
    rows = [student(1000 + i, world, className=None) for i in range(1000)]
    result = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": rows}))["upsertStudents"]
    assert result["created"] == 1000


async def test_student_without_personal_id_gets_one_later(http, world, vendor_w):
    row = student(50, world, personalId=None)
    first = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": [row]}))["upsertStudents"]
    assert first["rows"][0]["status"] == "CREATED"
    later = student(50, world)
    second = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": [later]}))["upsertStudents"]
    assert second["rows"][0]["status"] == "UPDATED"
    assert second["rows"][0]["id"] == first["rows"][0]["id"]


async def test_staff_upsert_replaces_assignments_at_the_vendors_school(http, world, vendor_w):
    person = {
        "personalId": compose("001", 1988, Sex.MALE, 777_001),
        "fullName": "Ngô Đức Thắng",
        "birthDate": "1988-07-12",
        "sex": "MALE",
        "assignments": [{"schoolCode": world.schools["W"].code, "roles": ["TEACHER", "HOMEROOM"]}],
    }
    created = data(await gql(http, vendor_w, UPSERT_STAFF, {"rows": [person]}))["upsertStaff"]
    assert created["created"] == 1
    person["assignments"] = [{"schoolCode": world.schools["W"].code, "roles": ["TEACHER"]}]
    updated = data(await gql(http, vendor_w, UPSERT_STAFF, {"rows": [person]}))["upsertStaff"]
    assert updated["updated"] == 1
    same = data(await gql(http, vendor_w, UPSERT_STAFF, {"rows": [person]}))["upsertStaff"]
    assert same["unchanged"] == 1
    roles = data(
        await gql(
            http,
            vendor_w,
            'query { staff(filter: {name: "ngo duc thang"}) { nodes { assignments { role } } } }',
        )
    )["staff"]["nodes"][0]["assignments"]
    assert roles == [{"role": "TEACHER"}]
    foreign = person | {
        "assignments": [{"schoolCode": world.schools["A"].code, "roles": ["TEACHER"]}]
    }
    refused = data(await gql(http, vendor_w, UPSERT_STAFF, {"rows": [foreign]}))["upsertStaff"]
    assert refused["rows"][0]["errors"] == [{"code": "SCHOOL_NOT_FOUND"}]


async def test_guardian_links_create_update_and_remove(http, world, vendor_w):
    row = student(60, world)
    data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": [row]}))
    link = {
        "studentPersonalId": row["personalId"],
        "relation": "MOTHER",
        "verified": False,
        "guardian": {
            "fullName": "Đỗ Thị Mai",
            "phone": "0912345678",
            "personalId": compose("001", 1984, Sex.FEMALE, 888_001),
        },
    }
    created = data(await gql(http, vendor_w, UPSERT_LINKS, {"rows": [link]}))["upsertGuardianLinks"]
    assert created["created"] == 1
    # A vendor's verified flag is ignored (issue 11: only the hub verifies a link).
    flagged = data(await gql(http, vendor_w, UPSERT_LINKS, {"rows": [link | {"verified": True}]}))[
        "upsertGuardianLinks"
    ]
    assert flagged["unchanged"] == 1
    updated = data(
        await gql(http, vendor_w, UPSERT_LINKS, {"rows": [link | {"relation": "GUARDIAN"}]})
    )["upsertGuardianLinks"]
    assert updated["updated"] == 1
    removed = data(await gql(http, vendor_w, UPSERT_LINKS, {"rows": [link | {"remove": True}]}))[
        "upsertGuardianLinks"
    ]
    assert removed["deleted"] == 1
    bad = {
        "studentPersonalId": row["personalId"],
        "relation": "FATHER",
        "guardian": {"fullName": "Không Có Gì"},
    }
    refused = data(await gql(http, vendor_w, UPSERT_LINKS, {"rows": [bad]}))["upsertGuardianLinks"]
    assert refused["rows"][0]["errors"] == [{"code": "GUARDIAN_IDENTITY_REQUIRED"}]


async def test_concurrent_batches_with_the_same_new_student_never_duplicate_it(
    db, http, world, vendor_w
):
    """Two apps send the same new pupil at once: one creates, the other finds it.

    Whichever flush loses the race hits the unique personal ID; the batch is
    retried row by row in savepoints, so its other rows still land.
    """
    import asyncio

    shared = student(70, world)
    first = [shared, student(71, world)]
    second = [shared, student(72, world)]
    results = await asyncio.gather(
        gql(http, vendor_w, UPSERT_STUDENTS, {"rows": first}),
        gql(http, vendor_w, UPSERT_STUDENTS, {"rows": second}),
    )
    outcomes = [data(result)["upsertStudents"] for result in results]
    assert all(o["rejected"] == 0 for o in outcomes)
    assert sorted(o["rows"][0]["status"] for o in outcomes) in (
        ["CREATED", "UNCHANGED"],
        ["CREATED", "UPDATED"],
    )
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(models.Student)
            .where(
                models.Student.personal_id.in_(
                    [shared["personalId"], first[1]["personalId"], second[1]["personalId"]]
                )
            )
        )
    assert count == 3


async def test_a_changed_identity_must_be_verified_again(db, http, world, vendor_w):
    row = student(80, world)
    created = data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": [row]}))["upsertStudents"]
    assert created["created"] == 1

    async def status() -> IdentityStatus:
        async with db.sessions() as session:
            found = await session.scalar(
                select(models.Student.identity_status).where(
                    models.Student.personal_id == row["personalId"]
                )
            )
        assert found is not None
        return found

    async def verified() -> None:  # as the population check of a national sync leaves it
        async with db.unit_of_work() as session:
            record = await session.scalar(
                select(models.Student).where(models.Student.personal_id == row["personalId"])
            )
            assert record is not None
            record.identity_status = IdentityStatus.VERIFIED

    await verified()
    moved = student(80, world, ethnicity="Kinh")  # not an identity field
    data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": [moved]}))
    assert await status() is IdentityStatus.VERIFIED
    renamed = student(80, world, ethnicity="Kinh", fullName="Đỗ Thị Hồng Nhung C")
    data(await gql(http, vendor_w, UPSERT_STUDENTS, {"rows": [renamed]}))
    assert await status() is IdentityStatus.UNVERIFIED
