"""Consent for admission reads, and an audit that names the person (issue 11, parts 4–5).

A family of the module's own school: a guardian whose links to two pupils were checked
in person, a pupil under 7 (the guardian's consent alone counts) and one of 12 (who
agrees too, signed in as themself), a parent whose link is not verified, a teacher, and
two admission services. Each pupil has a transcript of this year and of last year.
Every test gives its own consents, so the tests run in any order.
"""

import asyncio
import itertools
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select
from strawberry.relay import GlobalID

from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.db.queries import consents_in_force
from hub.domain import consent as rule
from hub.domain.enums import (
    ClientKind,
    GuardianCheck,
    GuardianRelation,
    OrgLevel,
    Ownership,
    SchoolLevel,
    Sex,
    StaffRole,
)
from hub.domain.personal_id import compose
from hub.domain.text import fold
from hub.web.app import create_app
from hub.web.consents import consent_routes
from tests.helpers import data, error_codes, gql, register, token_for
from tests.world import World, writers_district

SCHOOL_CODE = "01DONGY"
_serial = itertools.count(770_001)
TODAY = rule.day_in_vietnam(datetime.now(UTC))
UNTIL = (TODAY + timedelta(days=90)).isoformat()
PURPOSE = "Xét tuyển vào lớp 10 năm học 2026-2027"

GIVE = """mutation($s: ID!, $r: String!, $p: String!, $y: [String!]!, $u: Date!, $v: String!) {
  giveConsent(studentId: $s, recipientClientId: $r, purpose: $p, schoolYears: $y,
              validUntil: $u, textVersion: $v) {
    id status pupilAgreementRequired givenByMe givenByPersonalId schoolYears lastDay
    receiptJsonUrl receiptPdfUrl } }"""
AGREE = "mutation($id: ID!) { agreeToConsent(consentId: $id) { id status pupilAgreedAt } }"
REVOKE = "mutation($id: ID!) { revokeConsent(consentId: $id) { id status revokedAt } }"
TRANSCRIPTS = """query($s: ID!, $y: String) {
  transcripts(filter: {studentId: $s, schoolYear: $y}) { nodes { documentId } } }"""
READS = """query($s: ID!) { me { person { childReads(studentId: $s, first: 50) {
  totalCount nodes { at action clientId program personFullName personalId purpose item
                     consentId consentPurpose } } } } }"""


def _pid(year: int, sex: Sex = Sex.MALE) -> str:
    return compose("048", year, sex, next(_serial))


@dataclass
class Family:
    student_ids: dict[str, int]  # young, older
    documents: dict[tuple[str, str], str]  # (pupil, school year) → document id
    personal_ids: dict[str, str]  # guardian, unverified, older, teacher
    teacher_name: str
    admission: tuple[str, str]  # client id, secret
    other_admission: tuple[str, str]
    app_client: str  # the family's app: person-bound tokens are minted for it
    vendor_client: str  # the school's app, acting for the teacher


@pytest.fixture(scope="module")
def consent_app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    """The hub with the receipt routes (hub.web.consents) mounted."""
    app = create_app(settings, db)
    app.router.routes.extend(consent_routes(app.state.hub))
    return app


@pytest.fixture(scope="module")
async def web(consent_app) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=consent_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


def _transcript(student_id: int, year_id: int, class_id: int, school_id: int) -> models.Transcript:
    return models.Transcript(
        document_id=str(uuid.uuid4()),
        student_id=student_id,
        school_year_id=year_id,
        school_id=school_id,
        class_id=class_id,
        state="PUBLISHED",
        xml=b"<hocBa/>",
        pdf=b"%PDF-1.7 consent test",
        xml_sha256="0" * 64,
    )


@pytest.fixture(scope="module")
async def family(db: Database, world: World) -> Family:
    async with db.unit_of_work() as session:
        district = await writers_district(session)
        department_id = await session.scalar(select(models.Department.id).limit(1))
        school = models.School(
            department_id=department_id,
            district_id=district.id,
            moet_code=SCHOOL_CODE,
            name="Trường Liên cấp Đồng Ý",
            level=SchoolLevel.LOWER_SECONDARY,
            ownership=Ownership.PUBLIC,
            directly_managed=False,
        )
        last = await session.scalar(
            select(models.SchoolYear).where(models.SchoolYear.code == "2024-2025")
        )
        if last is None:
            last = models.SchoolYear(
                code="2024-2025", starts_on=date(2024, 9, 5), ends_on=date(2025, 5, 31)
            )
        session.add_all([school, last])
        await session.flush()
        teacher_name = "Lê Thị Đọc Hồ Sơ"
        teacher = models.Staff(
            personal_id=_pid(1985, Sex.FEMALE),
            full_name=teacher_name,
            search_name=fold(teacher_name),
            assignments=[models.StaffAssignment(school_id=school.id, role=StaffRole.TEACHER)],
        )
        session.add(teacher)
        # Six today (turning seven in a month), and twelve.
        young_birth = rule.years_before(TODAY, 7) + timedelta(days=30)
        pupils = {
            "young": models.Student(
                personal_id=_pid(young_birth.year, Sex.FEMALE),
                full_name="Nguyễn Thị Bé",
                search_name=fold("Nguyễn Thị Bé"),
                birth_date=young_birth,
                sex=Sex.FEMALE,
                school_id=school.id,
            ),
            "older": models.Student(
                personal_id=_pid(TODAY.year - 12),
                full_name="Nguyễn Văn Lớn",
                search_name=fold("Nguyễn Văn Lớn"),
                birth_date=rule.years_before(TODAY, 12),
                sex=Sex.MALE,
                school_id=school.id,
            ),
        }
        session.add_all(pupils.values())
        guardian = models.Guardian(personal_id=_pid(1984), full_name="Nguyễn Văn Cha")
        unverified = models.Guardian(personal_id=_pid(1986, Sex.FEMALE), full_name="Trần Thị Mẹ")
        session.add_all([guardian, unverified])
        await session.flush()
        for pupil in pupils.values():
            session.add(
                models.GuardianLink(
                    student_id=pupil.id,
                    guardian_id=guardian.id,
                    relation=GuardianRelation.FATHER,
                    verified=True,
                    verified_by=GuardianCheck.IN_PERSON,
                    verified_at=datetime.now(UTC),
                )
            )
        session.add(
            models.GuardianLink(
                student_id=pupils["young"].id,
                guardian_id=unverified.id,
                relation=GuardianRelation.MOTHER,
                verified=False,
            )
        )
        documents: dict[tuple[str, str], str] = {}
        for year in (last, await session.get(models.SchoolYear, world.current_year_id)):
            assert year is not None
            school_class = models.SchoolClass(
                school_id=school.id, school_year_id=year.id, name=f"DY{year.code[:4]}", grade=8
            )
            session.add(school_class)
            await session.flush()
            for name, pupil in pupils.items():
                transcript = _transcript(pupil.id, year.id, school_class.id, school.id)
                session.add(transcript)
                documents[(name, year.code)] = transcript.document_id
        await session.flush()
        family = Family(
            student_ids={name: pupil.id for name, pupil in pupils.items()},
            documents=documents,
            personal_ids={
                "guardian": guardian.personal_id or "",
                "unverified": unverified.personal_id or "",
                "older": pupils["older"].personal_id or "",
                "teacher": teacher.personal_id,
                "stranger": _pid(1990),
            },
            teacher_name=teacher_name,
            admission=("", ""),
            other_admission=("", ""),
            app_client="",
            vendor_client="",
        )
    admission_scopes = ["transcripts:read", "personal-ids:read"]
    family.admission = await register(
        db, org=OrgLevel.DEPARTMENT, scopes=admission_scopes, kind=ClientKind.ADMISSION
    )
    family.other_admission = await register(
        db, org=OrgLevel.DEPARTMENT, scopes=admission_scopes, kind=ClientKind.ADMISSION
    )
    family.app_client = (await register(db, org=OrgLevel.DEPARTMENT, scopes=["students:read"]))[0]
    family.vendor_client = (
        await register(
            db,
            org=OrgLevel.SCHOOL,
            schools=[SCHOOL_CODE],
            scopes=["students:read", "transcripts:read", "personal-ids:read", "audit:read"],
        )
    )[0]
    return family


def _person_token(consent_app, client_id: str, personal_id: str, scopes: str = "students:read"):  # type: ignore[no-untyped-def]
    token, _ = consent_app.state.hub.tokens.issue(
        client_id, frozenset(scopes.split()), person=personal_id
    )
    return token


def _student(family: Family, name: str) -> str:
    return str(GlobalID("Student", str(family.student_ids[name])))


async def _give(
    web: httpx.AsyncClient,
    token: str,
    family: Family,
    *,
    pupil: str = "young",
    recipient: str | None = None,
    years: list[str] | None = None,
) -> dict:
    result = await gql(
        web,
        token,
        GIVE,
        {
            "s": _student(family, pupil),
            "r": recipient or family.admission[0],
            "p": PURPOSE,
            "y": years or ["2025-2026"],
            "u": UNTIL,
            "v": rule.TEXT_VERSION,
        },
    )
    return data(result)["giveConsent"]


async def _download(
    web: httpx.AsyncClient, token: str, document_id: str, kind: str = "pdf"
) -> httpx.Response:
    return await web.get(
        f"/transcripts/{document_id}.{kind}",
        headers={"Authorization": f"Bearer {token}", "X-Hub-Purpose": quote(PURPOSE)},
    )


@pytest.fixture
def guardian(consent_app, family: Family) -> str:  # type: ignore[no-untyped-def]
    return _person_token(consent_app, family.app_client, family.personal_ids["guardian"])


async def _admission_token(web: httpx.AsyncClient, family: Family, other: bool = False) -> str:
    return await token_for(web, *(family.other_admission if other else family.admission))


async def test_the_guardian_reads_the_text_gives_consent_and_the_admission_service_reads(
    web: httpx.AsyncClient, family: Family, guardian: str, db: Database
) -> None:
    shown = data(
        await gql(
            web,
            guardian,
            """query($r: String!, $p: String!, $u: Date!) {
              consentText(recipientClientId: $r, purpose: $p, schoolYears: ["2025-2026"],
                          validUntil: $u) { version text } }""",
            {"r": family.admission[0], "p": PURPOSE, "u": UNTIL},
        )
    )["consentText"]
    assert shown["version"] == rule.TEXT_VERSION
    assert PURPOSE in shown["text"] and "2025-2026" in shown["text"]
    assert "Sở GDĐT Thử nghiệm" in shown["text"]
    given = await _give(web, guardian, family)
    assert given["status"] == "ACTIVE"
    assert given["pupilAgreementRequired"] is False  # under 7
    assert given["givenByMe"] is True
    assert given["givenByPersonalId"].endswith(family.personal_ids["guardian"][-4:])
    assert family.personal_ids["guardian"] not in given["givenByPersonalId"]

    admission = await _admission_token(web, family)
    listed = data(
        await gql(web, admission, TRANSCRIPTS, {"s": _student(family, "young"), "y": "2025-2026"})
    )["transcripts"]["nodes"]
    assert listed == [{"documentId": family.documents[("young", "2025-2026")]}]
    response = await _download(web, admission, family.documents[("young", "2025-2026")])
    assert response.status_code == 200, response.text
    consent_id = int(GlobalID.from_id(given["id"]).node_id)
    async with db.sessions() as session:
        logged = (
            await session.scalars(
                select(models.AccessLog).where(
                    models.AccessLog.entity == "student",
                    models.AccessLog.entity_id == family.student_ids["young"],
                    models.AccessLog.client_id == family.admission[0],
                )
            )
        ).all()
    assert all(entry.consent_id is not None for entry in logged)  # never without one
    under = [entry for entry in logged if entry.consent_id == consent_id]
    assert sorted(entry.item or "" for entry in under) == ["document-pdf", "transcript"]
    assert [entry.purpose for entry in under if entry.item == "document-pdf"] == [PURPOSE]
    assert {entry.person for entry in under} == {None}  # the service acted on its own


async def test_a_revoked_consent_stops_the_next_read_and_reveals_nothing(
    web: httpx.AsyncClient, family: Family, guardian: str
) -> None:
    given = await _give(web, guardian, family, pupil="young")
    admission = await _admission_token(web, family)
    document = family.documents[("young", "2025-2026")]
    assert (await _download(web, admission, document, "xml")).status_code == 200
    revoked = data(await gql(web, guardian, REVOKE, {"id": given["id"]}))["revokeConsent"]
    assert revoked["status"] == "REVOKED" and revoked["revokedAt"]
    # Other consents of the family for this recipient would still count: revoke them too.
    for other in data(await gql(web, guardian, "{ me { person { consents { id status } } } }"))[
        "me"
    ]["person"]["consents"]:
        if other["status"] != "REVOKED":
            data(await gql(web, guardian, REVOKE, {"id": other["id"]}))
    refused = await _download(web, admission, document, "xml")
    unknown = await _download(web, admission, str(uuid.uuid4()), "xml")
    assert refused.status_code == unknown.status_code == 403
    assert refused.json() == unknown.json()
    assert refused.json()["code"] == "CONSENT_REQUIRED"
    assert "Nguyễn" not in refused.text and document not in refused.text
    listed = await gql(web, admission, TRANSCRIPTS, {"s": _student(family, "young"), "y": None})
    nobody = await gql(web, admission, TRANSCRIPTS, {"s": "U3R1ZGVudDo5OTk5OTk5", "y": None})
    assert error_codes(listed) == error_codes(nobody) == ["CONSENT_REQUIRED"]
    assert listed["data"] == nobody["data"] and listed["data"] is None
    # Revoking twice changes nothing.
    again = data(await gql(web, guardian, REVOKE, {"id": given["id"]}))["revokeConsent"]
    assert again["revokedAt"] == revoked["revokedAt"]


async def test_a_consent_counts_only_for_its_recipient_and_school_years(
    web: httpx.AsyncClient, family: Family, db: Database
) -> None:
    # A guardian of their own for this test: another pupil's family, consents made here.
    older = family.student_ids["older"]
    async with db.unit_of_work() as session:
        consent = models.Consent(
            student_id=older,
            recipient=family.other_admission[0],
            purpose=PURPOSE,
            documents={"schoolYears": ["2024-2025"]},
            valid_from=datetime.now(UTC) - timedelta(days=1),
            valid_until=datetime.now(UTC) + timedelta(days=10),
            text_version=rule.TEXT_VERSION,
            given_by=family.personal_ids["guardian"],
            pupil_agreed_at=datetime.now(UTC) - timedelta(hours=1),
        )
        session.add(consent)
    admission = await _admission_token(web, family)
    other = await _admission_token(web, family, other=True)
    last_year = family.documents[("older", "2024-2025")]
    this_year = family.documents[("older", "2025-2026")]
    assert (await _download(web, admission, last_year)).json()["code"] == "CONSENT_REQUIRED"
    assert (await _download(web, other, this_year)).json()["code"] == "CONSENT_REQUIRED"
    assert (await _download(web, other, last_year)).status_code == 200
    both = await gql(web, other, TRANSCRIPTS, {"s": _student(family, "older"), "y": "2024-2025"})
    assert data(both)["transcripts"]["nodes"] == [{"documentId": last_year}]
    async with db.unit_of_work() as session:
        (await session.get(models.Consent, consent.id)).revoked_at = datetime.now(UTC)


async def test_an_expired_consent_does_not_count(
    web: httpx.AsyncClient, family: Family, db: Database
) -> None:
    async with db.unit_of_work() as session:
        session.add(
            models.Consent(
                student_id=family.student_ids["young"],
                recipient=family.other_admission[0],
                purpose=PURPOSE,
                documents={"schoolYears": ["2024-2025"]},
                valid_from=datetime.now(UTC) - timedelta(days=30),
                valid_until=datetime.now(UTC) - timedelta(seconds=1),
                text_version=rule.TEXT_VERSION,
                given_by=family.personal_ids["guardian"],
            )
        )
    other = await _admission_token(web, family, other=True)
    refused = await _download(web, other, family.documents[("young", "2024-2025")])
    assert refused.status_code == 403 and refused.json()["code"] == "CONSENT_REQUIRED"


async def test_a_pupil_of_seven_or_more_agrees_before_the_consent_counts(
    web: httpx.AsyncClient, consent_app, family: Family, guardian: str, db: Database
) -> None:  # type: ignore[no-untyped-def]
    given = await _give(web, guardian, family, pupil="older", years=["2025-2026"])
    assert given["status"] == "AWAITING_PUPIL" and given["pupilAgreementRequired"] is True
    admission = await _admission_token(web, family)
    document = family.documents[("older", "2025-2026")]
    assert (await _download(web, admission, document)).json()["code"] == "CONSENT_REQUIRED"
    # The guardian cannot agree in the pupil's place.
    assert error_codes(await gql(web, guardian, AGREE, {"id": given["id"]})) == [
        "CONSENT_NOT_FOUND"
    ]
    pupil = _person_token(consent_app, family.app_client, family.personal_ids["older"])
    mine = data(await gql(web, pupil, "{ me { person { roles { pupil } consents { id } } } }"))
    assert mine["me"]["person"]["roles"]["pupil"] is True
    assert given["id"] in [c["id"] for c in mine["me"]["person"]["consents"]]
    agreed = data(await gql(web, pupil, AGREE, {"id": given["id"]}))["agreeToConsent"]
    assert agreed["status"] == "ACTIVE" and agreed["pupilAgreedAt"]
    assert (await _download(web, admission, document)).status_code == 200
    # The pupil may withdraw it too.
    assert (
        data(await gql(web, pupil, REVOKE, {"id": given["id"]}))["revokeConsent"]["status"]
        == "REVOKED"
    )
    assert (await _download(web, admission, document)).json()["code"] == "CONSENT_REQUIRED"


async def test_only_a_verified_guardian_gives_consent(
    web: httpx.AsyncClient, consent_app, family: Family
) -> None:  # type: ignore[no-untyped-def]
    variables = {
        "s": _student(family, "young"),
        "r": family.admission[0],
        "p": PURPOSE,
        "y": ["2025-2026"],
        "u": UNTIL,
        "v": rule.TEXT_VERSION,
    }
    for who in ("unverified", "stranger", "teacher"):
        token = _person_token(consent_app, family.app_client, family.personal_ids[who])
        assert error_codes(await gql(web, token, GIVE, variables)) == ["GUARDIAN_NOT_VERIFIED"]
        nobody = variables | {"s": str(GlobalID("Student", "9999999"))}
        assert error_codes(await gql(web, token, GIVE, nobody)) == ["GUARDIAN_NOT_VERIFIED"]
    guardian = _person_token(consent_app, family.app_client, family.personal_ids["guardian"])
    stale = variables | {"v": "2020-01"}
    assert error_codes(await gql(web, guardian, GIVE, stale)) == ["CONSENT_INVALID"]
    vendor = variables | {"r": family.app_client}  # not an admission service
    assert error_codes(await gql(web, guardian, GIVE, vendor)) == ["CONSENT_INVALID"]
    too_long = variables | {"u": (TODAY + timedelta(days=400)).isoformat()}
    assert error_codes(await gql(web, guardian, GIVE, too_long)) == ["CONSENT_INVALID"]
    program = await token_for(web, *family.admission)
    assert error_codes(await gql(web, program, GIVE, variables)) == ["SESSION_REQUIRED"]
    assert error_codes(await gql(web, program, "{ me { person { fullName } } }")) == [
        "SESSION_REQUIRED"
    ]


async def test_the_guardian_sees_who_read_the_child_and_under_which_consent(
    web: httpx.AsyncClient, consent_app, family: Family, guardian: str, db: Database
) -> None:  # type: ignore[no-untyped-def]
    given = await _give(web, guardian, family, pupil="young", years=["2024-2025"])
    admission = await _admission_token(web, family)
    assert (await _download(web, admission, family.documents[("young", "2024-2025")])).is_success
    # The teacher reads the pupil's record through the school's app: the audit names her.
    teacher = _person_token(consent_app, family.vendor_client, family.personal_ids["teacher"])
    found = data(
        await gql(
            web,
            teacher,
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": _student(family, "young")},
        )
    )
    assert found["node"] is not None
    async with db.sessions() as session:
        by_teacher = await session.scalar(
            select(models.AccessLog.person).where(
                models.AccessLog.client_id == family.vendor_client,
                models.AccessLog.entity_id == family.student_ids["young"],
            )
        )
    assert by_teacher == family.personal_ids["teacher"]

    reads = data(await gql(web, guardian, READS, {"s": _student(family, "young")}))
    nodes = reads["me"]["person"]["childReads"]["nodes"]
    assert reads["me"]["person"]["childReads"]["totalCount"] >= 2
    under_consent = [n for n in nodes if n["consentId"] == given["id"]]
    assert under_consent and all(n["clientId"] == family.admission[0] for n in under_consent)
    assert under_consent[0]["program"] == "test client"
    assert under_consent[0]["purpose"] == PURPOSE and under_consent[0]["consentPurpose"] == PURPOSE
    by_staff = [n for n in nodes if n["clientId"] == family.vendor_client]
    assert by_staff[0]["personFullName"] == family.teacher_name
    assert by_staff[0]["personalId"].endswith(family.personal_ids["teacher"][-4:])
    assert family.personal_ids["teacher"] not in str(reads)
    assert nodes == sorted(nodes, key=lambda n: n["at"], reverse=True)
    # The pupil themself sees the same; anyone else an empty list, not an error.
    stranger = _person_token(consent_app, family.app_client, family.personal_ids["unverified"])
    empty = data(await gql(web, stranger, READS, {"s": _student(family, "young")}))
    assert empty["me"]["person"]["childReads"] == {"totalCount": 0, "nodes": []}
    nobody = data(await gql(web, stranger, READS, {"s": str(GlobalID("Student", "9999999"))}))
    assert nobody == empty
    data(await gql(web, guardian, REVOKE, {"id": given["id"]}))


async def test_the_audit_names_the_person_a_program_acts_for(
    web: httpx.AsyncClient, consent_app, family: Family, db: Database
) -> None:  # type: ignore[no-untyped-def]
    teacher = _person_token(
        consent_app,
        family.vendor_client,
        family.personal_ids["teacher"],
        "students:read transcripts:read personal-ids:read audit:read",
    )
    document = family.documents[("older", "2025-2026")]
    assert (await _download(web, teacher, document, "xml")).status_code == 200
    async with db.sessions() as session:
        event = await session.scalar(
            select(models.TranscriptEvent)
            .join(models.Transcript, models.Transcript.id == models.TranscriptEvent.transcript_id)
            .where(
                models.Transcript.document_id == document,
                models.TranscriptEvent.client_id == family.vendor_client,
            )
        )
        copied = await session.scalar(
            select(models.AccessLog).where(
                models.AccessLog.client_id == family.vendor_client,
                models.AccessLog.item == "document-xml",
            )
        )
    assert event is not None and event.person == family.personal_ids["teacher"]
    assert copied is not None and copied.person == family.personal_ids["teacher"]
    assert copied.consent_id is None  # a school's own staff read without one
    # The log shows the person, masked unless the app may see personal IDs.
    log = """query($s: ID!) { studentAccessLog(studentId: $s, first: 100) {
      nodes { clientId personalId item } } }"""
    shown = data(await gql(web, teacher, log, {"s": _student(family, "older")}))
    mine = [n for n in shown["studentAccessLog"]["nodes"] if n["clientId"] == family.vendor_client]
    assert {
        "clientId": family.vendor_client,
        "personalId": family.personal_ids["teacher"],
        "item": "document-xml",
    } in mine


async def test_me_names_the_person_their_children_and_roles(
    web: httpx.AsyncClient, consent_app, family: Family, guardian: str
) -> None:  # type: ignore[no-untyped-def]
    me = data(
        await gql(
            web,
            guardian,
            """{ me { clientId person { fullName personalId
                 roles { schools { schoolName role } departmentOfficer pupil }
                 children { studentId fullName relation } } } }""",
        )
    )["me"]
    assert me["clientId"] == family.app_client
    person = me["person"]
    assert person["fullName"] == "Nguyễn Văn Cha"
    assert person["personalId"] == "••••••••" + family.personal_ids["guardian"][-4:]
    assert {c["fullName"] for c in person["children"]} == {"Nguyễn Thị Bé", "Nguyễn Văn Lớn"}
    assert person["roles"] == {"schools": [], "departmentOfficer": False, "pupil": False}
    teacher = _person_token(consent_app, family.vendor_client, family.personal_ids["teacher"])
    roles = data(
        await gql(
            web,
            teacher,
            "{ me { person { roles { schools { schoolName role } } children { fullName } } } }",
        )
    )
    assert roles["me"]["person"]["roles"]["schools"] == [
        {"schoolName": "Trường Liên cấp Đồng Ý", "role": "TEACHER"}
    ]
    assert roles["me"]["person"]["children"] == []  # no unverified child shown


async def test_receipts_as_json_and_pdf(
    web: httpx.AsyncClient, consent_app, family: Family, guardian: str
) -> None:  # type: ignore[no-untyped-def]
    given = await _give(web, guardian, family, pupil="older", years=["2024-2025", "2025-2026"])
    path = given["receiptJsonUrl"].removeprefix("http://hub.test")
    assert path.startswith("/me/consents/") and path.endswith(".json")
    headers = {"Authorization": f"Bearer {guardian}"}
    receipt = await web.get(path, headers=headers)
    assert receipt.status_code == 200, receipt.text
    body = receipt.json()
    assert body["purpose"] == PURPOSE
    assert body["recipient"]["clientId"] == family.admission[0]
    assert body["documents"] == {"schoolYears": ["2024-2025", "2025-2026"]}
    assert body["text"]["version"] == rule.TEXT_VERSION and PURPOSE in body["text"]["content"]
    assert body["givenBy"].endswith(family.personal_ids["guardian"][-4:])
    assert family.personal_ids["guardian"] not in receipt.text
    assert body["pupilAgreement"] == {"required": True, "agreedAt": None}
    assert body["revoked"] is None and body["status"] == "AWAITING_PUPIL"
    assert body["period"]["lastDay"] == UNTIL

    pdf = await web.get(path.replace(".json", ".pdf"), headers=headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert shutil.which("pdftotext"), "poppler-utils is missing: run `make system-deps`"
    extracted = await asyncio.to_thread(
        subprocess.run,
        ["pdftotext", "-enc", "UTF-8", "-", "-"],
        input=pdf.content,
        capture_output=True,
        check=True,
    )
    shown = " ".join(extracted.stdout.decode().split())
    assert PURPOSE in shown
    assert "BIÊN NHẬN SỰ ĐỒNG Ý" in shown

    # The pupil has it too; someone else, or a program on its own, does not.
    pupil = _person_token(consent_app, family.app_client, family.personal_ids["older"])
    assert (await web.get(path, headers={"Authorization": f"Bearer {pupil}"})).status_code == 200
    stranger = _person_token(consent_app, family.app_client, family.personal_ids["unverified"])
    refused = await web.get(path, headers={"Authorization": f"Bearer {stranger}"})
    missing = await web.get(
        "/me/consents/99999999.json", headers={"Authorization": f"Bearer {stranger}"}
    )
    assert refused.status_code == missing.status_code == 404
    assert refused.json() == missing.json() and refused.json()["code"] == "CONSENT_NOT_FOUND"
    program = await token_for(web, *family.admission)
    alone = await web.get(path, headers={"Authorization": f"Bearer {program}"})
    assert alone.status_code == 401 and alone.json()["code"] == "SESSION_REQUIRED"
    assert (await web.get(path)).status_code == 401
    data(await gql(web, guardian, REVOKE, {"id": given["id"]}))
    revoked = (await web.get(path, headers=headers)).json()
    assert revoked["status"] == "REVOKED" and revoked["revoked"]["at"]


async def test_the_sql_twin_agrees_with_the_rule(db: Database, family: Family) -> None:
    """consents_in_force (SQL) and is_valid (Python) on the same rows at several instants."""
    recipient = f"twin-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    hour, day = timedelta(hours=1), timedelta(days=1)
    shapes = [
        {},
        {"revoked_at": now - hour},
        {"revoked_at": now + hour},
        {"valid_from": now + hour},
        {"valid_until": now - hour},
        {"pupil_agreed_at": now - hour},
        {"pupil_agreed_at": now + hour},
        {"documents": {"schoolYears": ["2024-2025", "2025-2026"]}},
        {"documents": {}},
    ]
    async with db.unit_of_work() as session:
        rows = []
        for shape in shapes:
            for pupil in ("young", "older"):
                values = {
                    "student_id": family.student_ids[pupil],
                    "recipient": recipient,
                    "purpose": "twin",
                    "documents": {"schoolYears": ["2025-2026"]},
                    "valid_from": now - day,
                    "valid_until": now + day,
                    "text_version": rule.TEXT_VERSION,
                    "given_by": family.personal_ids["guardian"],
                } | shape
                rows.append(models.Consent(**values))
        session.add_all(rows)
    async with db.sessions() as session:
        years = dict(
            (await session.execute(select(models.SchoolYear.id, models.SchoolYear.code))).all()
        )
        births = dict(
            (
                await session.execute(
                    select(models.Student.id, models.Student.birth_date).where(
                        models.Student.id.in_(family.student_ids.values())
                    )
                )
            ).all()
        )
        for at in (now - 2 * hour, now, now + 2 * hour, now + 2 * day):
            found = consents_in_force(recipient, at).subquery()
            in_sql = set((await session.execute(select(found))).all())
            in_python = {
                (row.id, row.student_id, year_id)
                for row in rows
                for year_id, code in years.items()
                if rule.is_valid(
                    row,
                    recipient=recipient,
                    school_year=code,
                    at=at,
                    birth_date=births[row.student_id],
                )
            }
            assert in_sql == in_python, at
            assert in_python or at > now + day
