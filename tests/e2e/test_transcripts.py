"""Transcripts from a vendor-written gradebook: generate, lock, issue, sign, correct.

Every test works on a class of its own (:func:`fresh_class`) in the module's school,
and takes it through the story's earlier steps itself (:func:`drafted`, :func:`locked`).
"""

import itertools
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select, update
from strawberry.relay import GlobalID

from hub.auth.client_reach import load_caller
from hub.db import models
from hub.db.engine import Database
from hub.documents.xml.transcript import parse_xml, validate_xml
from hub.domain.enums import IdentityStatus, OrgLevel, Ownership, SchoolLevel, Sex, StaffRole
from hub.domain.grading.secondary import regular_assessment_count
from hub.domain.lifecycle import TranscriptState
from hub.domain.personal_id import compose
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.domain.text import fold
from hub.seed.catalogue import subjects_for_grade
from hub.transcripts import service
from tests.helpers import ALL_SCOPES, client_token, data, error_codes, gql, register, token_for
from tests.world import WRITERS_DISTRICT, World, writers_district

SCHOOL_CODE = "01HOCBA"
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

#: Serial numbers of the personal IDs given here (apart from the shared world's, and
#: the signing schools' of tests/schools.py), and of the classes.
_serial = itertools.count(800_000)
_class_number = itertools.count(1)


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


def _staff(name: str, school_id: int, role: StaffRole) -> models.Staff:
    return models.Staff(
        personal_id=compose("001", 1980, Sex.FEMALE, next(_serial)),
        full_name=name,
        search_name=fold(name),
        assignments=[models.StaffAssignment(school_id=school_id, role=role)],
    )


@dataclass
class FreshClass:
    """A class made for one test: its global id, and its pupils' personal IDs and
    ministry codes in the order made."""

    id: str
    personal_ids: list[str | None]
    ministry_codes: list[str]


async def fresh_class(
    db: Database, world: World, school_id: int, *, pupils: int = 3, numbered: bool = True
) -> FreshClass:
    """A new grade-8 class of the module's school with its homeroom teacher and ``pupils``
    pupils, none with any score; unless ``numbered``, the last has no personal ID."""
    number = next(_class_number)
    async with db.unit_of_work() as session:
        teacher = _staff(f"Phạm Thị Chủ Nhiệm {number}", school_id, StaffRole.HOMEROOM)
        session.add(teacher)
        await session.flush()
        school_class = models.SchoolClass(
            school_id=school_id,
            school_year_id=world.current_year_id,
            name=f"8A{number}",
            grade=8,
            homeroom_teacher_id=teacher.id,
        )
        session.add(school_class)
        await session.flush()
        made = FreshClass(str(GlobalID("SchoolClass", str(school_class.id))), [], [])
        for n in range(pupils):
            sex = Sex.FEMALE if n % 2 else Sex.MALE
            serial = next(_serial)
            personal_id = compose("001", 2011, sex, serial)
            if not numbered and n == pupils - 1:
                personal_id = None
            name = f"Trần {'Thị' if n % 2 else 'Văn'} Học {serial}"
            student = models.Student(
                personal_id=personal_id,
                moet_code=f"HS{SCHOOL_CODE}{serial}",
                full_name=name,
                search_name=fold(name),
                birth_date=date(2011, 1 + n % 12, 1 + n % 28),
                sex=sex,
                ethnicity="Kinh",
                school_id=school_id,
                identity_status=IdentityStatus.VERIFIED,
            )
            session.add(student)
            await session.flush()
            session.add(
                models.Enrolment(
                    student_id=student.id,
                    class_id=school_class.id,
                    school_year_id=world.current_year_id,
                )
            )
            made.personal_ids.append(personal_id)
            made.ministry_codes.append(student.moet_code)
    return made


@pytest.fixture(scope="module")
async def school(db, world) -> int:
    """A lower-secondary school of the writers' district (tests/world.py), with its principal."""
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department).order_by(models.Department.id))
        district = await writers_district(session)
        row = models.School(
            department_id=department.id,
            district_id=district.id,
            moet_code=SCHOOL_CODE,
            name="Trường THCS Học Bạ Thử",
            level=SchoolLevel.LOWER_SECONDARY,
            ownership=Ownership.PUBLIC,
        )
        session.add(row)
        await session.flush()
        session.add(_staff("Lê Thị Hiệu Trưởng", row.id, StaffRole.PRINCIPAL))
        return row.id


@pytest.fixture(scope="module")
async def office_client(db, school) -> tuple[str, str]:
    """The writers' district's tool: writes the module's school's gradebooks and transcripts."""
    return await register(db, org=OrgLevel.DISTRICT, districts=[WRITERS_DISTRICT])


@pytest.fixture(scope="module")
async def office(http, office_client) -> str:
    return await token_for(http, *office_client)


@pytest.fixture
async def eighth_grade(db, world, http, office, school) -> tuple[str, str, int]:
    """A fresh class 8A… with one pupil's complete gradebook: (class id, pupil, size)."""
    made = await fresh_class(db, world, school)
    pupil = made.personal_ids[0]
    assert pupil is not None
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
    return made.id, pupil, len(made.personal_ids)


async def drafted(http, office: str, class_id: str) -> dict:
    """The class's transcripts generated (the story's first step): the mutation's answer."""
    return data(await gql(http, office, GENERATE, {"c": class_id}))["generateTranscripts"]


async def locked(db, http, office: str, class_id: str, pupil: str) -> int:
    """The pupil's transcript drafted and marked ready (its scores locked): its id."""
    await drafted(http, office, class_id)
    transcript = await _transcript_id(db, pupil)
    gid = str(GlobalID("Transcript", str(transcript)))
    ready = data(await gql(http, office, READY, {"id": gid}))["markTranscriptReady"]
    assert ready["state"] == "READY"
    return transcript


async def _transcript_id(db, personal_id: str) -> int:
    async with db.sessions() as session:
        return await session.scalar(
            select(models.Transcript.id)
            .join(models.Student, models.Student.id == models.Transcript.student_id)
            .where(models.Student.personal_id == personal_id, models.Transcript.is_current)
        )


async def test_generation_computes_results_and_documents(db, http, office, eighth_grade):
    class_id, pupil, size = eighth_grade
    result = await drafted(http, office, class_id)
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
    again = await drafted(http, office, class_id)
    assert (again["generated"], again["regenerated"], again["unchanged"]) == (0, 0, size)


async def test_a_changed_score_regenerates_only_that_draft(http, office, eighth_grade):
    class_id, pupil, size = eighth_grade
    await drafted(http, office, class_id)
    change = {
        "studentPersonalId": pupil,
        "subjectCode": "TOAN",
        "semester": 2,
        "regular": ["9", "9", "9", "9"],
        "midterm": "9",
        "final": "9",
    }
    data(await gql(http, office, SECONDARY, {"rows": [change]}))
    result = await drafted(http, office, class_id)
    assert (result["regenerated"], result["unchanged"]) == (1, size - 1)


async def test_ready_locks_the_gradebook_and_copies_are_logged(
    db, world, http, office, eighth_grade
):
    class_id, pupil, _ = eighth_grade
    await drafted(http, office, class_id)
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
    db, http, office, office_client, eighth_grade
):
    class_id, pupil, _ = eighth_grade
    transcript_id = await locked(db, http, office, class_id, pupil)
    async with db.unit_of_work() as session:
        caller = await load_caller(session, office_client[0], frozenset(ALL_SCOPES))
        transcript = await session.get(models.Transcript, transcript_id)
        xml, pdf = transcript.xml, transcript.pdf

        async def record(role: SignerRole, signer: str) -> None:
            await service.record_signatures(
                session,
                caller=caller,
                role=role,
                signed=[service.Signed(transcript_id, TranscriptState(transcript.state), xml, pdf)],
                signer=signer,
            )

        with pytest.raises(Exception, match="chưa thể ký"):
            await record(SignerRole.PRINCIPAL, "Hiệu trưởng")
        # The signing engine hands over the signed documents; here they are the
        # unsigned ones, since only the order and the bookkeeping are under test.
        for role in SIGNING_ORDER:
            await record(role, role.label)
        assert transcript.state == "SEALED"
        await session.refresh(transcript)
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
    db, world, http, office, school
):
    school_class = await fresh_class(db, world, school, numbered=False)
    result = await drafted(http, office, school_class.id)
    assert [(s["code"], s["student"]["ministryCode"]) for s in result["skipped"]] == [
        ("PERSONAL_ID_MISSING", school_class.ministry_codes[-1])
    ]
    # A draft whose student has since lost the number cannot be locked either.
    someone = result["transcripts"][0]
    async with db.unit_of_work() as session:
        transcript = await session.get(
            models.Transcript, int(GlobalID.from_id(someone["id"]).node_id)
        )
        await session.execute(
            update(models.Student)
            .where(models.Student.id == transcript.student_id)
            .values(personal_id=None)
        )
    refused = await gql(http, office, READY, {"id": someone["id"]})
    assert error_codes(refused) == ["PERSONAL_ID_MISSING"]
    assert "chưa có mã định danh" in refused["errors"][0]["message"]


async def test_transcripts_list_filters_by_state_and_school(
    db, world, http, office, school, eighth_grade
):
    class_id, pupil, _ = eighth_grade
    await locked(db, http, office, class_id, pupil)  # one ready among the class's drafts
    query = """query($s: ID!, $state: TranscriptState) {
      transcripts(filter: {schoolId: $s, state: $state}) { totalCount nodes { state } } }"""
    school_id = str(GlobalID("School", str(school)))
    drafts = data(await gql(http, office, query, {"s": school_id, "state": "DRAFT"}))
    assert drafts["transcripts"]["totalCount"] > 0
    assert {n["state"] for n in drafts["transcripts"]["nodes"]} == {"DRAFT"}
    stranger = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[world.schools["C"].code])
    hidden = data(await gql(http, stranger, query, {"s": school_id, "state": None}))
    assert hidden["transcripts"]["totalCount"] == 0
