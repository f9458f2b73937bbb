"""Writes within reach, one personal-data policy, every read audited, the feed complete.

Each test reproduces a finding of the data-protection review (issue 9) against a
province of its own (see conftest.py): a careless or hostile single-school vendor
app must not change or learn another school's people.
"""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from strawberry.relay import GlobalID

from hub.db import models
from hub.domain.enums import OrgLevel, Sex
from hub.domain.personal_id import compose
from tests.helpers import ALL_SCOPES, client_token, data, error_codes, gql

STAFF = """mutation($r: [StaffInput!]!) {
  upsertStaff(rows: $r) { rows { status id errors { code field } warnings { code field } } }
}"""
END = """mutation($r: [AssignmentEndInput!]!) {
  endStaffAssignments(rows: $r) { rows { status errors { code } } }
}"""
LINKS = """mutation($r: [GuardianLinkInput!]!) {
  upsertGuardianLinks(rows: $r) { rows { status errors { code field } warnings { code field } } }
}"""
STUDENTS = """mutation($r: [StudentInput!]!) {
  upsertStudents(rows: $r) { rows { status errors { code field } } }
}"""
WITHDRAW = """mutation($r: [StudentWithdrawalInput!]!) {
  withdrawStudents(rows: $r) { rows { status errors { code } } }
}"""
FEED = """query($since: Int!) { changes(since: $since, first: 500) {
  nextSince changes { entity operation naturalKey } } }"""


@pytest.fixture(scope="module")
async def vendor_w(own):
    return await client_token(
        own.db, own.http, org=OrgLevel.SCHOOL, schools=[own.world.schools["W"].code]
    )


@pytest.fixture(scope="module")
async def department(own):
    return await client_token(own.db, own.http, org=OrgLevel.DEPARTMENT)


async def _staff(own, staff_id: int) -> models.Staff:
    async with own.db.unit_of_work() as session:
        return await session.scalar(
            select(models.Staff)
            .where(models.Staff.id == staff_id)
            .options(selectinload(models.Staff.assignments))
        )


def _row(person: models.Staff, school: str, **changes: object) -> dict[str, object]:
    row = {
        "personalId": person.personal_id,
        "fullName": person.full_name,
        "birthDate": person.birth_date.isoformat() if person.birth_date else None,
        "sex": person.sex.value if person.sex else None,
        "assignments": [{"schoolCode": school, "roles": ["TEACHER"]}],
    }
    return row | changes


async def test_another_schools_staff_cannot_be_taken_over_by_personal_id(own, vendor_w):
    """Finding: upsertStaff with another school's principal's ID → UPDATED, name overwritten."""
    target = await _staff(own, own.world.schools["A"].staff[0])
    w = own.world.schools["W"].code
    hostile = {
        "personalId": target.personal_id,
        "fullName": "Kẻ Mạo Danh",
        "assignments": [{"schoolCode": w, "roles": ["TEACHER"]}],
    }
    rows = data(await gql(own.http, vendor_w, STAFF, {"r": [hostile]}))["upsertStaff"]["rows"]
    assert rows == [
        {
            "status": "REJECTED",
            "id": None,
            "errors": [{"code": "IDENTITY_MISMATCH", "field": "personalId"}],
            "warnings": [],
        }
    ]
    after = await _staff(own, target.id)
    assert (after.full_name, after.birth_date, after.sex) == (
        target.full_name,
        target.birth_date,
        target.sex,
    )
    assert {a.school_id for a in after.assignments} == {own.world.schools["A"].id}
    # The person stays invisible to the vendor.
    seen = data(await gql(own.http, vendor_w, "{ staff(first: 500) { nodes { fullName } } }"))
    assert target.full_name not in {n["fullName"] for n in seen["staff"]["nodes"]}


async def test_a_shared_teacher_is_attached_with_the_identity_on_record_but_not_rewritten(
    own, vendor_w
):
    target = await _staff(own, own.world.schools["A"].staff[1])
    w = own.world.schools["W"].code
    same = _row(target, w, fullName=target.full_name.upper(), phone="0900000001")
    rows = data(await gql(own.http, vendor_w, STAFF, {"r": [same]}))["upsertStaff"]["rows"]
    assert rows[0]["status"] == "UPDATED" and rows[0]["errors"] == []
    after = await _staff(own, target.id)
    assert after.full_name == target.full_name  # kept as the other school knows it
    assert {a.school_id for a in after.assignments} == {
        own.world.schools["A"].id,
        own.world.schools["W"].id,
    }
    # Identity fields of a person attached elsewhere are not the vendor's to change.
    other_sex = "FEMALE" if target.sex is Sex.MALE else "MALE"
    rows = data(await gql(own.http, vendor_w, STAFF, {"r": [_row(target, w, sex=other_sex)]}))
    assert rows["upsertStaff"]["rows"][0]["errors"] == [
        {"code": "IDENTITY_HELD_ELSEWHERE", "field": "sex"}
    ]
    # A phone on record is kept, with a warning.
    async with own.db.unit_of_work() as session:
        person = await session.get(models.Staff, target.id)
        person.phone = "0911111111"
    rows = data(await gql(own.http, vendor_w, STAFF, {"r": [_row(target, w, phone="0922222222")]}))
    assert rows["upsertStaff"]["rows"][0]["warnings"] == [
        {"code": "IDENTITY_HELD_ELSEWHERE", "field": "phone"}
    ]
    assert (await _staff(own, target.id)).phone == "0911111111"


async def test_the_department_may_correct_a_shared_persons_identity(own, department):
    target = await _staff(own, own.world.schools["A"].staff[2])
    a = own.world.schools["A"].code
    rows = data(
        await gql(own.http, department, STAFF, {"r": [_row(target, a, fullName="Tên Đã Sửa")]})
    )["upsertStaff"]["rows"]
    assert rows[0]["status"] == "UPDATED", rows
    assert (await _staff(own, target.id)).full_name == "Tên Đã Sửa"


async def test_a_vendor_ends_its_own_assignments_only(own, vendor_w, department):
    """Finding: an assignment added at the vendor's school could not be removed."""
    target = await _staff(own, own.world.schools["A"].staff[3])
    w, a = own.world.schools["W"].code, own.world.schools["A"].code
    since = data(await gql(own.http, vendor_w, FEED, {"since": 0}))["changes"]["nextSince"]
    assert data(await gql(own.http, vendor_w, STAFF, {"r": [_row(target, w)]}))
    ended = data(
        await gql(
            own.http, vendor_w, END, {"r": [{"personalId": target.personal_id, "schoolCode": w}]}
        )
    )
    assert ended["endStaffAssignments"]["rows"] == [{"status": "DELETED", "errors": []}]
    elsewhere = data(
        await gql(
            own.http, vendor_w, END, {"r": [{"personalId": target.personal_id, "schoolCode": a}]}
        )
    )
    assert elsewhere["endStaffAssignments"]["rows"] == [
        {"status": "REJECTED", "errors": [{"code": "ASSIGNMENT_NOT_FOUND"}]}
    ]
    after = await _staff(own, target.id)
    assert {x.school_id for x in after.assignments} == {own.world.schools["A"].id}
    # W's change feed says the teacher left, with the natural key.
    feed = data(await gql(own.http, vendor_w, FEED, {"since": since}))["changes"]["changes"]
    assert {
        "entity": "staff",
        "operation": "LEFT",
        "naturalKey": {"personalId": target.personal_id},
    } in feed


async def test_another_schools_guardian_is_neither_renamed_nor_linked_without_identity(
    own, vendor_w, department
):
    """Finding: upsertGuardianLinks linked another school's guardian and renamed them."""
    w = own.world.schools["W"].code
    pupil = compose("001", 2013, Sex.FEMALE, 990_001)
    parent_id = compose("001", 1985, Sex.MALE, 990_002)
    async with own.db.unit_of_work() as session:
        school_c = own.world.schools["C"].id
        child = await session.scalar(
            select(models.Student).where(models.Student.school_id == school_c).limit(1)
        )
        guardian = models.Guardian(
            personal_id=parent_id, full_name="Trần Văn Cha", phone="0933333333"
        )
        session.add(guardian)
        await session.flush()
        session.add(
            models.GuardianLink(student_id=child.id, guardian_id=guardian.id, relation="FATHER")
        )
    student = {
        "personalId": pupil,
        "fullName": "Trần Thị Con",
        "birthDate": "2013-04-05",
        "sex": "FEMALE",
        "schoolCode": w,
    }
    data(await gql(own.http, vendor_w, STUDENTS, {"r": [student]}))
    link = {
        "studentPersonalId": pupil,
        "relation": "FATHER",
        "guardian": {"personalId": parent_id, "fullName": "Tên Khác Hẳn", "phone": "0944444444"},
    }
    rows = data(await gql(own.http, vendor_w, LINKS, {"r": [link]}))["upsertGuardianLinks"]["rows"]
    assert rows[0]["errors"] == [{"code": "IDENTITY_MISMATCH", "field": "guardian"}]
    # With the identity on record the link is made, the name and phone stay.
    link["guardian"]["fullName"] = "trần văn cha"
    rows = data(await gql(own.http, vendor_w, LINKS, {"r": [link]}))["upsertGuardianLinks"]["rows"]
    assert rows[0]["status"] == "CREATED", rows
    assert rows[0]["warnings"] == [{"code": "IDENTITY_HELD_ELSEWHERE", "field": "guardian.phone"}]
    async with own.db.unit_of_work() as session:
        kept = await session.scalar(
            select(models.Guardian).where(models.Guardian.personal_id == parent_id)
        )
        assert (kept.full_name, kept.phone) == ("Trần Văn Cha", "0933333333")


async def test_a_pupil_who_leaves_shows_in_the_schools_feed_and_can_be_taken_by_the_next(
    own, vendor_w, department
):
    """Finding: a pupil moving from school A to B left A's change feed silent."""
    w, d = own.world.schools["W"].code, own.world.schools["D"].code
    pupil = compose("001", 2012, Sex.MALE, 990_010)
    row = {
        "personalId": pupil,
        "fullName": "Lê Văn Chuyển",
        "birthDate": "2012-02-02",
        "sex": "MALE",
        "schoolCode": w,
    }
    data(await gql(own.http, vendor_w, STUDENTS, {"r": [row]}))
    since = data(await gql(own.http, vendor_w, FEED, {"since": 0}))["changes"]["nextSince"]
    # The department moves the pupil to D: W hears of it.
    data(await gql(own.http, department, STUDENTS, {"r": [row | {"schoolCode": d}]}))
    feed = data(await gql(own.http, vendor_w, FEED, {"since": since}))["changes"]
    assert {
        "entity": "student",
        "operation": "LEFT",
        "naturalKey": {"personalId": pupil, "ministryCode": None},
    } in feed["changes"]
    # Back at W (department), then W withdraws the pupil itself.
    data(await gql(own.http, department, STUDENTS, {"r": [row]}))
    withdrawn = data(await gql(own.http, vendor_w, WITHDRAW, {"r": [{"personalId": pupil}]}))
    assert withdrawn["withdrawStudents"]["rows"] == [{"status": "DELETED", "errors": []}]
    feed = data(await gql(own.http, vendor_w, FEED, {"since": feed["nextSince"]}))["changes"]
    assert [c["operation"] for c in feed["changes"] if c["entity"] == "student"][-1] == "LEFT"
    # Another school takes the pupil only with the identity on record.
    vendor_d = await client_token(own.db, own.http, org=OrgLevel.SCHOOL, schools=[d])
    wrong = row | {"schoolCode": d, "fullName": "Người Khác"}
    rows = data(await gql(own.http, vendor_d, STUDENTS, {"r": [wrong]}))["upsertStudents"]["rows"]
    assert rows[0]["errors"] == [{"code": "IDENTITY_MISMATCH", "field": "personalId"}]
    rows = data(await gql(own.http, vendor_d, STUDENTS, {"r": [row | {"schoolCode": d}]}))
    assert rows["upsertStudents"]["rows"][0]["status"] == "UPDATED"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Nguyễn\x00Văn A", "TEXT_CONTROL_CHARACTERS"),
        ("Nguyễn\x07Văn A", "TEXT_CONTROL_CHARACTERS"),
        ("\x1b[31mNguyễn Văn A", "TEXT_CONTROL_CHARACTERS"),
        ("Nguyễn\u202eVăn A", "TEXT_CONTROL_CHARACTERS"),
        ("\u200b\u200b\u200b", "TEXT_INVISIBLE"),
        ("A" * 10_246, "TEXT_TOO_LONG"),
    ],
)
async def test_bad_text_is_refused_with_a_stable_code(own, vendor_w, name, code):
    """Finding: NUL, BEL/ANSI, zero-width-only and 10,246-character names were stored."""
    w = own.world.schools["W"].code
    row = {
        "personalId": compose("001", 2013, Sex.MALE, 990_100),
        "fullName": name,
        "birthDate": "2013-01-01",
        "sex": "MALE",
        "schoolCode": w,
    }
    staff = {
        "personalId": compose("001", 1980, Sex.MALE, 990_101),
        "fullName": name,
        "assignments": [{"schoolCode": w, "roles": ["TEACHER"]}],
    }
    if "\x00" in name:
        # No text anywhere may hold a NUL: the whole request is refused before it runs.
        for mutation, rows in ((STUDENTS, [row]), (STAFF, [staff])):
            refused = await gql(own.http, vendor_w, mutation, {"r": rows})
            assert error_codes(refused) == [code] and refused["data"] is None
        return
    rows = data(await gql(own.http, vendor_w, STUDENTS, {"r": [row]}))["upsertStudents"]["rows"]
    assert rows[0]["status"] == "REJECTED"
    assert [e["code"] for e in rows[0]["errors"]] == [code]
    rows = data(await gql(own.http, vendor_w, STAFF, {"r": [staff]}))["upsertStaff"]["rows"]
    assert [e["code"] for e in rows[0]["errors"]] == [code]


async def test_masked_fields_stay_masked_on_every_path(own, department):
    """Finding: Transcript.results and the change feed's naturalKey carried full IDs and phones."""
    narrow_scopes = [s for s in ALL_SCOPES if s not in ("personal-ids:read", "contacts:read")]
    narrow = await client_token(own.db, own.http, org=OrgLevel.DEPARTMENT, scopes=narrow_scopes)
    ids = own.world.schools["A"].student_personal_ids
    feed = data(await gql(own.http, narrow, FEED, {"since": 0}))["changes"]["changes"]
    keys = [c["naturalKey"] for c in feed]
    text = repr(keys)
    assert not any(pid in text for pid in ids)
    assert any(k.get("personalId", "") and k["personalId"].startswith("•") for k in keys)
    phones = data(
        await gql(
            own.http,
            narrow,
            "{ students(first: 100) { nodes { guardians { guardian { phone personalId } } } } }",
        )
    )
    shown = [g["guardian"] for n in phones["students"]["nodes"] for g in n["guardians"]]
    assert shown and all((g["phone"] or "•").startswith("•") for g in shown)


async def test_staff_certificate_subjects_hide_personal_ids(own):
    narrow = await client_token(
        own.db, own.http, org=OrgLevel.DEPARTMENT, scopes=["staff:read", "certificates:read"]
    )
    async with own.db.unit_of_work() as session:
        certificate = await session.get(models.SigningCertificate, 1)
        certificate.subject_dn = "CN=Nguyễn Văn A, UID=CCCD:001080012345"
    result = data(await gql(own.http, narrow, "{ certificates(first: 500) { nodes { subject } } }"))
    subjects = [n["subject"] for n in result["certificates"]["nodes"]]
    assert "CN=Nguyễn Văn A, UID=CCCD:••••••••2345" in subjects


async def test_every_read_of_a_person_is_audited_against_that_person(own):
    """A staff member's record and certificates, read through any path, are logged."""
    staff_id = own.world.schools["B"].staff[0]
    reader = await client_token(own.db, own.http, org=OrgLevel.DEPARTMENT)
    query = """query($id: ID!) {
      node(id: $id) { ... on Staff { fullName certificates { serialNumber } } }
    }"""
    headers = {"X-Hub-Purpose": "kiem-tra"}
    response = await own.http.post(
        "/graphql",
        json={"query": query, "variables": {"id": str(GlobalID("Staff", str(staff_id)))}},
        headers={"Authorization": f"Bearer {reader}", **headers},
    )
    assert response.status_code == 200 and not response.json().get("errors")
    async with own.db.unit_of_work() as session:
        entries = (
            await session.execute(
                select(models.AccessLog.item, models.AccessLog.purpose).where(
                    models.AccessLog.entity == "staff",
                    models.AccessLog.entity_id == staff_id,
                    models.AccessLog.purpose == "kiem-tra",
                )
            )
        ).all()
    assert set(entries) == {("record", "kiem-tra"), ("certificate", "kiem-tra")}


def test_personal_ids_are_masked_the_same_way_everywhere():
    from hub.domain.personal_data import Kind, present

    assert present(frozenset(), Kind.PERSONAL_ID, "001212345678") == "••••••••5678"
    assert (
        present(frozenset({"personal-ids:read"}), Kind.PERSONAL_ID, "001212345678")
        == "001212345678"
    )
    assert present(frozenset(), Kind.PHONE, "0912 345 678") == "•••••••678"
    assert present(frozenset(), Kind.EMAIL, "lan@truong.edu.vn") == "l•••@truong.edu.vn"
    document = {
        "student": {"personal_id": "001212345678", "name": "A"},
        "rows": [{"phone": "0912345678"}],
    }
    assert present(frozenset(), Kind.DOCUMENT, document) == {
        "student": {"personal_id": "••••••••5678", "name": "A"},
        "rows": [{"phone": "•••••••678"}],
    }


_samples = iter(range(100, 10_000))


async def _transcript(own, *, state: str) -> tuple[models.Transcript, str]:
    """A rendered transcript of a new pupil of school B; returns it and the pupil's ID."""
    import dataclasses
    import hashlib
    import uuid

    from hub.documents import samples
    from hub.transcripts import service as transcripts

    document_id = str(uuid.uuid4())
    content = dataclasses.replace(
        samples.secondary(next(_samples)),
        document_id=document_id,
        verification_url="http://hub.test/v",
    )
    school = own.world.schools["B"]
    async with own.db.unit_of_work() as session:
        student = models.Student(
            personal_id=content.student.personal_id,
            full_name=content.student.full_name,
            search_name=content.student.full_name.lower(),
            birth_date=content.student.birth_date,
            sex=content.student.sex,
            school_id=school.id,
        )
        session.add(student)
        await session.flush()
        xml, pdf = await transcripts.render(content)
        transcript = models.Transcript(
            document_id=document_id,
            student_id=student.id,
            school_year_id=own.world.current_year_id,
            school_id=school.id,
            class_id=school.classes[0],
            state=state,
            xml=xml,
            pdf=pdf,
            xml_sha256=hashlib.sha256(xml).hexdigest(),
        )
        session.add(transcript)
        await session.flush()
    return transcript, content.student.personal_id


async def _log(own, student_id: int, purpose: str) -> set[tuple[str | None, str | None]]:
    async with own.db.unit_of_work() as session:
        rows = await session.execute(
            select(models.AccessLog.item, models.AccessLog.purpose).where(
                models.AccessLog.entity == "student",
                models.AccessLog.entity_id == student_id,
                models.AccessLog.purpose == purpose,
            )
        )
        return set(rows.all())


async def test_transcript_results_and_history_are_masked_and_audited(own):
    """Finding: Transcript.results carried the full ID; results and history were not audited."""
    transcript, personal_id = await _transcript(own, state="READY")
    narrow_scopes = [s for s in ALL_SCOPES if s != "personal-ids:read"]
    narrow = await client_token(own.db, own.http, org=OrgLevel.DEPARTMENT, scopes=narrow_scopes)
    query = """query($id: ID!) { node(id: $id) { ... on Transcript {
        results history { documentId } } } }"""
    response = await own.http.post(
        "/graphql",
        json={"query": query, "variables": {"id": str(GlobalID("Transcript", str(transcript.id)))}},
        headers={"Authorization": f"Bearer {narrow}", "X-Hub-Purpose": "xem-hoc-ba"},
    )
    body = response.text
    assert response.status_code == 200 and '"errors"' not in body
    assert personal_id not in body and personal_id[-4:] in body
    assert await _log(own, transcript.student_id, "xem-hoc-ba") == {("transcript", "xem-hoc-ba")}


async def test_downloads_need_the_personal_id_scope_and_log_the_purpose(own):
    """Finding: downloads ignored X-Hub-Purpose; a signed file cannot be masked."""
    transcript, _ = await _transcript(own, state="READY")
    narrow_scopes = [s for s in ALL_SCOPES if s != "personal-ids:read"]
    narrow = await client_token(own.db, own.http, org=OrgLevel.DEPARTMENT, scopes=narrow_scopes)
    full = await client_token(own.db, own.http, org=OrgLevel.DEPARTMENT)
    url = f"/transcripts/{transcript.document_id}.pdf"
    refused = await own.http.get(url, headers={"Authorization": f"Bearer {narrow}"})
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    given = await own.http.get(
        url, headers={"Authorization": f"Bearer {full}", "X-Hub-Purpose": "tuyen-sinh"}
    )
    assert given.status_code == 200 and given.content.startswith(b"%PDF")
    assert await _log(own, transcript.student_id, "tuyen-sinh") == {("document-pdf", "tuyen-sinh")}


async def test_published_and_superseded_transcripts_appear_in_the_feed(own, department):
    """Finding: transcripts never appeared in the change feed."""
    transcript, personal_id = await _transcript(own, state="SEALED")
    since = data(await gql(own.http, department, FEED, {"since": 0}))["changes"]["nextSince"]
    async with own.db.unit_of_work() as session:
        (await session.get(models.Transcript, transcript.id)).state = "PUBLISHED"
    feed = data(await gql(own.http, department, FEED, {"since": since}))["changes"]
    assert feed["changes"] == [
        {
            "entity": "transcript",
            "operation": "UPSERT",
            "naturalKey": {
                "documentId": transcript.document_id,
                "version": 1,
                "studentPersonalId": personal_id,
            },
        }
    ]
    async with own.db.unit_of_work() as session:
        (await session.get(models.Transcript, transcript.id)).is_current = False
    later = data(await gql(own.http, department, FEED, {"since": feed["nextSince"]}))["changes"]
    assert [c["entity"] for c in later["changes"]] == ["transcript"]


async def test_a_failing_field_does_not_cut_off_its_siblings_reads_or_their_audit(own):
    """Fuzzing found: a failing non-null field cancels its siblings mid-SQL, which broke the
    request's connection (INTERNAL_ERROR) and lost the access log of what was read."""
    reader = await client_token(own.db, own.http, org=OrgLevel.DEPARTMENT)
    query = """{ a: students(first: 400) { totalCount nodes { fullName guardians { verified } } }
      transcriptGeneration(jobId: "khong-co") { finishedAt } }"""
    for _ in range(10):
        response = await own.http.post(
            "/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {reader}", "X-Hub-Purpose": "song-song"},
        )
        codes = [e["extensions"]["code"] for e in response.json()["errors"]]
        assert "INTERNAL_ERROR" not in codes, response.text
