"""Transcripts from a vendor-written gradebook: generate, lock, issue, sign, correct."""

import pytest
from sqlalchemy import select, update
from strawberry.relay import GlobalID

from hub.db import models
from hub.documents.xml.transcript import parse_xml, validate_xml
from hub.domain.enums import OrgLevel
from hub.domain.grading.secondary import regular_assessment_count
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.seed.catalogue import subjects_for_grade
from hub.transcripts import service
from tests.helpers import client_token, data, error_codes, gql, register, token_for

#: Steps of one story (generate, lock, sign and correct one class's transcripts):
#: in random order too they run in the order written (tests/conftest.py).
pytestmark = pytest.mark.in_order

SECONDARY = """mutation($rows: [SecondaryAssessmentInput!]!) {
  upsertSecondaryAssessments(rows: $rows) { created updated rejected rows { errors { code } } } }"""
YEAR = """mutation($rows: [YearRecordInput!]!) { upsertYearRecords(rows: $rows) { rejected } }"""
GENERATE = """mutation($c: ID!) { generateTranscripts(classId: $c) {
  generated regenerated unchanged
  skipped { code message student { ministryCode } }
  transcripts { id documentId version state learningResult conductResult outcome award
                student { personalId } schoolClass { name } xmlUrl pdfUrl } } }"""
READY = "mutation($id: ID!) { markTranscriptReady(id: $id) { state stateLabel waitingFor } }"
CORRECT = """mutation($id: ID!, $reason: String!, $rows: [SecondaryAssessmentInput!]) {
  correctTranscript(id: $id, reason: $reason, secondaryAssessments: $rows) {
    transcript { id version state isCurrent correctionReason learningResult
                 history { version state isCurrent } events { event detail } }
    changes { updated rejected } } }"""


def full_gradebook(personal_id: str, grade: int, score: str = "8.5") -> list[dict]:
    rows = []
    for subject in subjects_for_grade(grade):
        for semester in (1, 2):
            row = {
                "studentPersonalId": personal_id,
                "subjectCode": subject.code,
                "semester": semester,
            }
            if subject.comment_only:
                row |= {
                    "regularRatings": ["PASS", "PASS"],
                    "midtermRating": "PASS",
                    "finalRating": "PASS",
                }
            else:
                count = regular_assessment_count(subject.periods[grade])
                row |= {"regular": [score] * count, "midterm": score, "final": score}
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
async def office(db, world, http):
    """Long Biên's district tool: writes gradebooks and transcripts of schools A and B."""
    client_id, secret = await register(db, org=OrgLevel.DISTRICT, districts=["LB"])
    return await token_for(http, client_id, secret)


@pytest.fixture(scope="module")
async def eighth_grade(db, world, http, office):
    """Class 8A1 of school A with one pupil's complete gradebook."""
    class_id = world.schools["A"].classes[2]
    async with db.sessions() as session:
        pupils = list(
            await session.scalars(
                select(models.Student.personal_id)
                .join(models.Enrolment, models.Enrolment.student_id == models.Student.id)
                .where(models.Enrolment.class_id == class_id)
                .order_by(models.Student.id)
            )
        )
    pupil = pupils[0]
    written = data(await gql(http, office, SECONDARY, {"rows": full_gradebook(pupil, 8)}))
    assert written["upsertSecondaryAssessments"]["rejected"] == 0
    year = [
        {
            "studentPersonalId": pupil,
            "conductFirst": "GOOD",
            "conductSecond": "GOOD",
            "halfDaysAbsent": 2,
            "homeroomComment": "Chăm ngoan, học tốt.",
            "principalApproval": "Đồng ý với nhận xét của giáo viên chủ nhiệm.",
        }
    ]
    assert data(await gql(http, office, YEAR, {"rows": year}))["upsertYearRecords"]["rejected"] == 0
    return str(GlobalID("SchoolClass", str(class_id))), pupil, len(pupils)


async def test_generation_computes_results_and_documents(db, http, office, eighth_grade):
    class_id, pupil, size = eighth_grade
    result = data(await gql(http, office, GENERATE, {"c": class_id}))["generateTranscripts"]
    assert (result["generated"], result["skipped"]) == (size, [])
    mine = next(t for t in result["transcripts"] if t["student"]["personalId"] == pupil)
    assert mine["state"] == "DRAFT" and mine["version"] == 1
    assert (mine["learningResult"], mine["conductResult"], mine["outcome"]) == (
        "GOOD",
        "GOOD",
        "PROMOTED",
    )
    assert mine["award"] == "GOOD"  # all 8.5: Giỏi, not Xuất sắc (needs six ≥ 9.0)
    others = [t for t in result["transcripts"] if t["student"]["personalId"] != pupil]
    assert all(t["learningResult"] is None for t in others)  # their gradebooks are empty
    async with db.sessions() as session:
        stored = await session.scalar(
            select(models.Transcript).where(models.Transcript.document_id == mine["documentId"])
        )
    validate_xml(stored.xml)
    content = parse_xml(stored.xml)
    assert content.student.personal_id == pupil and content.grade == 8
    assert content.homeroom_comment == "Chăm ngoan, học tốt."
    assert content.principal_approval == "Đồng ý với nhận xét của giáo viên chủ nhiệm."
    assert content.homeroom_teacher and content.principal
    toan = next(s for s in content.secondary.subjects if s.code == "TOAN")
    assert str(toan.year) == "8.5"
    assert stored.pdf.startswith(b"%PDF")
    again = data(await gql(http, office, GENERATE, {"c": class_id}))["generateTranscripts"]
    assert (again["generated"], again["regenerated"], again["unchanged"]) == (0, 0, size)


async def test_a_changed_score_regenerates_only_that_draft(http, office, eighth_grade):
    class_id, pupil, size = eighth_grade
    change = {
        "studentPersonalId": pupil,
        "subjectCode": "TOAN",
        "semester": 2,
        "regular": ["9", "9", "9", "9"],
        "midterm": "9",
        "final": "9",
    }
    data(await gql(http, office, SECONDARY, {"rows": [change]}))
    result = data(await gql(http, office, GENERATE, {"c": class_id}))["generateTranscripts"]
    assert (result["regenerated"], result["unchanged"]) == (1, size - 1)


async def _transcript_id(db, personal_id: str) -> int:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        return await session.scalar(
            select(models.Transcript.id)
            .join(models.Student, models.Student.id == models.Transcript.student_id)
            .where(models.Student.personal_id == personal_id, models.Transcript.is_current)
        )


async def test_ready_locks_the_gradebook_and_copies_are_logged(
    db, world, http, office, eighth_grade
):
    class_id, pupil, _ = eighth_grade
    data(await gql(http, office, GENERATE, {"c": class_id}))
    transcript = await _transcript_id(db, pupil)
    gid = str(GlobalID("Transcript", str(transcript)))
    ready = data(await gql(http, office, READY, {"id": gid}))["markTranscriptReady"]
    assert ready == {
        "state": "READY",
        "stateLabel": "Đã khoá điểm, chờ ký",
        "waitingFor": "HOMEROOM_TEACHER",
    }
    change = {
        "studentPersonalId": pupil,
        "subjectCode": "TOAN",
        "semester": 1,
        "regular": ["5", "5", "5", "5"],
        "midterm": "5",
        "final": "5",
    }
    locked = data(await gql(http, office, SECONDARY, {"rows": [change]}))
    assert locked["upsertSecondaryAssessments"]["rows"][0]["errors"] == [
        {"code": "TRANSCRIPT_LOCKED"}
    ]
    again = await gql(http, office, READY, {"id": gid})
    assert error_codes(again) == ["TRANSCRIPT_STATE"]

    async with db.sessions() as session:
        document_id = (await session.get(models.Transcript, transcript)).document_id
    headers = {"Authorization": f"Bearer {office}"}
    xml = await http.get(f"/transcripts/{document_id}.xml", headers=headers)
    pdf = await http.get(f"/transcripts/{document_id}.pdf", headers=headers)
    assert xml.status_code == pdf.status_code == 200
    assert xml.headers["content-type"] == "application/xml"
    validate_xml(xml.content)
    assert pdf.content.startswith(b"%PDF")
    assert (await http.get(f"/transcripts/{document_id}.pdf")).status_code == 401
    stranger = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["C"].code])
    denied = await http.get(
        f"/transcripts/{document_id}.pdf", headers={"Authorization": f"Bearer {stranger}"}
    )
    assert denied.status_code == 404 and denied.json()["code"] == "TRANSCRIPT_NOT_FOUND"
    async with db.sessions() as session:
        issued = list(
            await session.scalars(
                select(models.TranscriptEvent.detail)
                .where(
                    models.TranscriptEvent.transcript_id == transcript,
                    models.TranscriptEvent.event == "ISSUED",
                )
                .order_by(models.TranscriptEvent.id)
            )
        )
    assert issued == ["xml", "pdf"]


async def test_signed_transcripts_are_immutable_and_corrections_keep_history(
    db, http, office, eighth_grade
):
    _, pupil, _ = eighth_grade
    transcript_id = await _transcript_id(db, pupil)
    async with db.unit_of_work() as session:
        from hub.auth.clients import load_caller
        from tests.helpers import ALL_SCOPES

        client = await session.scalar(select(models.ApiClient).order_by(models.ApiClient.id.desc()))
        caller = await load_caller(session, client.client_id, frozenset(ALL_SCOPES))
        transcript = await session.get(models.Transcript, transcript_id)
        if transcript.state == "DRAFT":
            transcript.state = "READY"
        with pytest.raises(Exception, match="chưa thể ký"):
            await service.record_signature(
                session,
                caller=caller,
                transcript=transcript,
                role=SignerRole.PRINCIPAL,
                signed_xml=transcript.xml,
                signed_pdf=transcript.pdf,
                signer="Hiệu trưởng",
            )
        # The signing engine hands over the signed documents; here they are the
        # unsigned ones, since only the order and the bookkeeping are under test.
        for role in SIGNING_ORDER:
            await service.record_signature(
                session,
                caller=caller,
                transcript=transcript,
                role=role,
                signed_xml=transcript.xml,
                signed_pdf=transcript.pdf,
                signer=role.label,
            )
        assert transcript.state == "SEALED"
    gid = str(GlobalID("Transcript", str(transcript_id)))
    no_reason = await gql(http, office, CORRECT, {"id": gid, "reason": "  "})
    assert error_codes(no_reason) == ["CORRECTION_REASON_REQUIRED"]
    fix = [
        {
            "studentPersonalId": pupil,
            "subjectCode": "NGU_VAN",
            "semester": 2,
            "regular": ["9.5"] * 4,
            "midterm": "9.5",
            "final": "9.5",
        }
    ]
    corrected = data(
        await gql(
            http,
            office,
            CORRECT,
            {"id": gid, "reason": "Nhập nhầm điểm Ngữ văn học kì II", "rows": fix},
        )
    )
    result = corrected["correctTranscript"]
    assert result["changes"] == {"updated": 1, "rejected": 0}
    new = result["transcript"]
    assert (new["version"], new["state"], new["isCurrent"]) == (2, "DRAFT", True)
    assert new["history"] == [
        {"version": 1, "state": "SEALED", "isCurrent": False},
        {"version": 2, "state": "DRAFT", "isCurrent": True},
    ]
    assert [e["event"] for e in new["events"]][:2] == ["CORRECTED", "REGENERATED"]
    async with db.sessions() as session:
        old = await session.get(models.Transcript, transcript_id)
        fresh = await session.scalar(
            select(models.Transcript).where(models.Transcript.replaces_id == transcript_id)
        )
    content = parse_xml(fresh.xml)
    assert content.version == 2 and content.replaces == old.document_id
    assert content.correction_reason == "Nhập nhầm điểm Ngữ văn học kì II"
    assert parse_xml(old.xml).version == 1  # the signed version is kept as it was
    twice = await gql(http, office, CORRECT, {"id": gid, "reason": "lại"})
    assert error_codes(twice) == ["TRANSCRIPT_STATE"]
    draft = await gql(http, office, CORRECT, {"id": new["id"], "reason": "sửa bản nháp"})
    assert error_codes(draft) == ["TRANSCRIPT_STATE"]


async def test_students_without_personal_id_cannot_have_a_transcript_signed(
    db, world, http, office
):
    ninth = str(GlobalID("SchoolClass", str(world.schools["A"].classes[3])))
    result = data(await gql(http, office, GENERATE, {"c": ninth}))["generateTranscripts"]
    assert [(s["code"], s["student"]["ministryCode"]) for s in result["skipped"]] == [
        ("PERSONAL_ID_MISSING", "HSA00007")
    ]
    # A draft whose student has since lost the number cannot be locked either.
    someone = result["transcripts"][0]
    async with db.unit_of_work() as session:
        transcript = await session.get(
            models.Transcript, int(GlobalID.from_id(someone["id"]).node_id)
        )
        student_id = transcript.student_id
        personal_id = await session.scalar(
            select(models.Student.personal_id).where(models.Student.id == student_id)
        )
        await session.execute(
            update(models.Student).where(models.Student.id == student_id).values(personal_id=None)
        )
    try:
        refused = await gql(http, office, READY, {"id": someone["id"]})
        assert error_codes(refused) == ["PERSONAL_ID_MISSING"]
        assert "chưa có mã định danh" in refused["errors"][0]["message"]
    finally:  # school A's pupils are the shared world's: give the number back
        async with db.unit_of_work() as session:
            await session.execute(
                update(models.Student)
                .where(models.Student.id == student_id)
                .values(personal_id=personal_id)
            )


async def test_transcripts_list_filters_by_state_and_school(db, world, http, office, eighth_grade):
    query = """query($s: ID!, $state: TranscriptState) {
      transcripts(filter: {schoolId: $s, state: $state}) { totalCount nodes { state } } }"""
    school = str(GlobalID("School", str(world.schools["A"].id)))
    drafts = data(await gql(http, office, query, {"s": school, "state": "DRAFT"}))
    assert drafts["transcripts"]["totalCount"] > 0
    assert {n["state"] for n in drafts["transcripts"]["nodes"]} == {"DRAFT"}
    stranger = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["C"].code])
    hidden = data(await gql(http, stranger, query, {"s": school, "state": None}))
    assert hidden["transcripts"]["totalCount"] == 0
