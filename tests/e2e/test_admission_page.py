"""The admission officer's pages (issue 12, part 6): an officer of an admission service
looks up a pupil's transcript with the receipt number of the family's consent and the
pupil's personal ID, sees it verified, downloads the signed PDF and XML; every read is
logged against the pupil with the consent's purpose. Nothing shows without a consent
in force for that very service, and each refusal says why with its stable code.

The transcript is real: rendered as the hub renders it and signed by the demo PKI's
homeroom teacher, principal and school seal of a school made here. Sessions are made
directly in the session store, as the sign-in callback would; the operator's grant is
:func:`hub.auth.people.grant_admission_officer`, as ``hub people grant --admission``.
"""

import dataclasses
import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import lxml.html
import pytest
from sqlalchemy import select
from strawberry.relay import GlobalID

from hub.adapters.identity.base import Identity
from hub.adapters.signing.pki import GOV, DemoPKI
from hub.adapters.signing.registry import SigningProviders
from hub.auth.clients import create_client
from hub.auth.people import (
    WEB_CLIENT_ID,
    OfficerError,
    grant_admission_officer,
    revoke_admission_officer,
    session_caller,
)
from hub.auth.sessions import CSRF_HEADER
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.documents import samples
from hub.documents.content import Student
from hub.domain import consent as rule
from hub.domain.enums import ClientKind, OrgLevel, StaffRole
from hub.domain.people import AdmissionService, Person, SchoolRole
from hub.signing.service import SigningServices
from hub.signing.trust import TrustStore
from hub.transcripts.service import render as render_documents
from hub.web.app import create_app
from tests.helpers import Visitor, signed_in_visitor
from tests.people import People, new_personal_id, people_school
from tests.signing_support import SIGNED_AT, sign_all
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "Cổng tuyển sinh lớp 10 Thử Nghiệm"
OTHER_SERVICE = "Trường THPT Chuyên Thử Nghiệm"
PURPOSE = "Xét tuyển vào lớp 10 năm học 2026-2027"
OFFICER_NAME = "Phan Văn Tuyển Sinh"


@dataclasses.dataclass
class SharedSchool:
    """A school whose pupil has a sealed transcript, two admission services, an officer of
    each, and the earlier year's transcript no consent here names."""

    people: People
    year: str
    document_id: str
    pdf: bytes
    xml: bytes
    earlier_document_id: str
    service: str  # the admission service's client id
    other_service: str
    officer: str  # personal IDs
    other_officer: str
    #: Another pupil of the school, with no consent at all.
    other_pupil: str


async def build_shared_school(
    db: Database, pki: DemoPKI, world: World, *, code: str, base_url: str
) -> SharedSchool:
    """Make :class:`SharedSchool` ``code…``; the transcript's QR code points at
    ``base_url``'s ``/verify/{documentId}``."""
    people = await people_school(db, code=code)
    async with db.unit_of_work() as session:
        school = await session.get(models.School, people.school_id)
        year = await session.get(models.SchoolYear, world.current_year_id)
        pupil = await session.get(models.Student, people.student_id)
        assert school is not None and year is not None and pupil is not None
        earlier = await session.scalar(
            select(models.SchoolYear).where(models.SchoolYear.code == "2024-2025")
        )
        if earlier is None:
            earlier = models.SchoolYear(
                code="2024-2025", starts_on=date(2024, 9, 5), ends_on=date(2025, 5, 31)
            )
            session.add(earlier)
            await session.flush()
        school_name, school_code, year_code = school.name, school.moet_code, year.code
        other = models.Student(
            personal_id=new_personal_id(2012),
            full_name="Trần Thị Không Đồng Ý",
            search_name="tran thi khong dong y",
            birth_date=date(2012, 9, 1),
            school_id=school.id,
        )
        session.add(other)
        document_id = str(uuid.uuid4())
        content = dataclasses.replace(
            samples.secondary(4),
            document_id=document_id,
            verification_url=f"{base_url}/verify/{document_id}",
            school_year=year_code,
            grade=6,
            class_name="6A9",
            school=dataclasses.replace(samples.SCHOOL, moet_code=school_code, name=school_name),
            student=Student(
                personal_id=pupil.personal_id or "",
                ministry_code=None,
                full_name=pupil.full_name,
                birth_date=pupil.birth_date,
                sex=pupil.sex,
                ethnicity="Kinh",
            ),
            homeroom_teacher=people.names[people.teacher],
            principal=people.names[people.principal],
        )
        signers = [
            pki.issue_person(
                GOV,
                full_name=people.names[people.teacher],
                personal_id=people.teacher,
                organisation=school_name,
            ),
            pki.issue_person(
                GOV,
                full_name=people.names[people.principal],
                personal_id=people.principal,
                organisation=school_name,
            ),
            pki.issue_seal(GOV, school_name=school_name, school_code=school_code),
        ]
        xml, pdf = await render_documents(content)
        xml = await sign_all(xml, signers, pki.timestamper, signed_at=SIGNED_AT)
        pdf = await sign_all(pdf, signers, pki.timestamper, signed_at=SIGNED_AT)
        earlier_document_id = str(uuid.uuid4())
        for found_id, year_id in ((document_id, year.id), (earlier_document_id, earlier.id)):
            session.add(
                models.Transcript(
                    document_id=found_id,
                    student_id=people.student_id,
                    school_year_id=year_id,
                    school_id=people.school_id,
                    class_id=people.class_id,
                    state="SEALED",
                    xml=xml,
                    pdf=pdf,
                    xml_sha256=hashlib.sha256(xml).hexdigest(),
                )
            )
        services = []
        for name in (SERVICE, OTHER_SERVICE):
            client = await create_client(
                session,
                name=name,
                kind=ClientKind.ADMISSION,
                scopes=["transcripts:read", "personal-ids:read"],
                org_level=OrgLevel.DEPARTMENT,
            )
            services.append(client.client_id)
        officers = [new_personal_id(1984), new_personal_id(1979)]
        for officer, service in zip(officers, services, strict=True):
            await grant_admission_officer(
                session,
                personal_id=officer,
                full_name=OFFICER_NAME,
                client_id=service,
                granted_by="test",
            )
        await session.flush()
        other_pupil = other.personal_id or ""
    return SharedSchool(
        people=people,
        year=year_code,
        document_id=document_id,
        pdf=pdf,
        xml=xml,
        earlier_document_id=earlier_document_id,
        service=services[0],
        other_service=services[1],
        officer=officers[0],
        other_officer=officers[1],
        other_pupil=other_pupil,
    )


async def consent_for(
    db: Database,
    shared: SharedSchool,
    *,
    recipient: str | None = None,
    agreed: bool = True,
    revoked: bool = False,
    days: int = 60,
    starts_in: int = 0,
) -> int:
    """A consent of the pupil's mother for ``recipient`` (the school's first service) and
    the current school year, as ``/family`` records one; its receipt number."""
    now = datetime.now(UTC)
    today = rule.day_in_vietnam(now)
    async with db.unit_of_work() as session:
        given = models.Consent(
            student_id=shared.people.student_id,
            recipient=recipient or shared.service,
            purpose=PURPOSE,
            documents={"schoolYears": [shared.year]},
            valid_from=rule.period_start(today + timedelta(days=starts_in))
            if starts_in
            else now - timedelta(days=max(0, -days) + 1),
            valid_until=rule.period_end(today + timedelta(days=days)),
            text_version=rule.TEXT_VERSION,
            given_by=shared.people.guardian,
            pupil_agreed_at=now - timedelta(minutes=1) if agreed else None,
            revoked_at=now - timedelta(seconds=1) if revoked else None,
            revoked_by=shared.people.guardian if revoked else None,
        )
        session.add(given)
        await session.flush()
        return given.id


@pytest.fixture(scope="module")
def trust(pki: DemoPKI) -> TrustStore:
    return TrustStore(pki.roots)


@pytest.fixture(scope="module")
def admission_app(settings: Settings, db: Database, trust: TrustStore):  # type: ignore[no-untyped-def]
    """The hub with verification configured (a trust store; no signing provider)."""
    signing = SigningServices(providers=SigningProviders({}), trust=trust, timestamper=None)
    return create_app(settings.model_copy(update={"clients_poll_seconds": 0}), db, signing=signing)


@pytest.fixture(scope="module")
async def shared(db: Database, pki: DemoPKI, world: World) -> SharedSchool:
    return await build_shared_school(db, pki, world, code="ADM", base_url="http://hub.test")


@pytest.fixture
async def officer(admission_app, shared: SharedSchool) -> AsyncIterator[Visitor]:  # type: ignore[no-untyped-def]
    visitor = await signed_in_visitor(admission_app, shared.officer, OFFICER_NAME)
    async with visitor.web:
        yield visitor


async def look_up(visitor: Visitor, receipt: object, pupil: str) -> httpx.Response:
    return await visitor.web.post(
        "/admission",
        data={"csrf_token": visitor.csrf, "receipt": str(receipt), "pupil": pupil},
    )


def page(response: httpx.Response) -> lxml.html.HtmlElement:
    assert response.headers["content-type"].startswith("text/html"), response.text[:500]
    return lxml.html.fromstring(response.text)


def words(document: lxml.html.HtmlElement, selector: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in document.cssselect(selector)]


async def reads_of(db: Database, shared: SharedSchool, consent_id: int) -> list[models.AccessLog]:
    async with db.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(models.AccessLog)
                    .where(
                        models.AccessLog.entity == "student",
                        models.AccessLog.entity_id == shared.people.student_id,
                        models.AccessLog.consent_id == consent_id,
                    )
                    .order_by(models.AccessLog.id)
                )
            ).all()
        )


def transcript_path(consent_id: int, document_id: str, kind: str = "") -> str:
    return f"/admission/consents/{consent_id}/transcripts/{document_id}{kind}"


# --- Looking up and reading ---------------------------------------------------------


async def test_the_officer_finds_the_shared_transcript_and_sees_it_verified(
    officer: Visitor, shared: SharedSchool, db: Database
) -> None:
    form = page(await officer.web.get("/admission"))
    assert form.get("lang") == "vi"
    assert words(form, "h1") == ["Tra cứu học bạ được chia sẻ"]
    assert SERVICE in form.text_content()
    assert {field.get("name") for field in form.cssselect("form input")} >= {
        "receipt",
        "pupil",
        "csrf_token",
    }
    for field in form.cssselect("form input:not([type=hidden])"):
        assert form.cssselect(f'label[for="{field.get("id")}"]')
    # Readable without JavaScript: the only script is the outage banner's, from /static.
    assert [script.get("src") for script in form.cssselect("script")] == ["/static/outage.js"]

    receipt = await consent_for(db, shared)
    found = await look_up(officer, receipt, shared.people.pupil)
    assert found.status_code == 200, found.text
    assert found.headers["cache-control"] == "no-store"
    listing = page(found)
    pupil_name = shared.people.names[shared.people.pupil]
    assert pupil_name in words(listing, "h1")[0]
    assert f"Sự đồng ý số {receipt}" in listing.text_content() and PURPOSE in found.text
    links = [a.get("href") for a in listing.cssselect(".shared a")]
    assert transcript_path(receipt, shared.document_id) in links
    # Only the school year the consent names: the earlier year's transcript is not there.
    assert not any(shared.earlier_document_id in (link or "") for link in links)

    shown = await officer.web.get(transcript_path(receipt, shared.document_id))
    assert shown.status_code == 200, shown.text
    html = page(shown)
    assert words(html, ".verdict-word") == ["Hợp lệ"]
    assert len(html.cssselect(".signers li")) == 3
    facts = dict(zip(words(html, "dt"), words(html, "dd"), strict=True))
    assert facts["Họ và tên học sinh:"] == pupil_name
    # The service may see personal IDs in full (its scope): the transcript prints it.
    assert facts["Số định danh cá nhân:"] == shared.people.pupil
    assert words(html, "tbody th") == [s.name for s in samples.secondary(4).secondary.subjects]
    downloads = [a.get("href") for a in html.cssselect(".downloads a")]
    assert downloads == [
        transcript_path(receipt, shared.document_id, ".pdf"),
        transcript_path(receipt, shared.document_id, ".xml"),
    ]

    logged = await reads_of(db, shared, receipt)
    assert [entry.item for entry in logged] == ["record", "transcript"]
    assert {entry.client_id for entry in logged} == {shared.service}
    assert {entry.person for entry in logged} == {shared.officer}
    assert {entry.purpose for entry in logged} == {PURPOSE}


async def test_the_download_is_the_signed_pdf_and_xml_and_is_logged(
    officer: Visitor, shared: SharedSchool, db: Database
) -> None:
    receipt = await consent_for(db, shared)
    pdf = await officer.web.get(transcript_path(receipt, shared.document_id, ".pdf"))
    assert pdf.status_code == 200, pdf.text
    assert pdf.content == shared.pdf
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store"
    assert pdf.headers["content-disposition"].startswith("attachment")
    xml = await officer.web.get(transcript_path(receipt, shared.document_id, ".xml"))
    assert xml.status_code == 200 and xml.content == shared.xml
    logged = await reads_of(db, shared, receipt)
    assert [entry.item for entry in logged] == ["document-pdf", "document-xml"]
    assert {(entry.client_id, entry.person, entry.purpose) for entry in logged} == {
        (shared.service, shared.officer, PURPOSE)
    }
    async with db.sessions() as session:
        issued = await session.scalar(
            select(models.TranscriptEvent.id)
            .join(models.Transcript, models.Transcript.id == models.TranscriptEvent.transcript_id)
            .where(
                models.Transcript.document_id == shared.document_id,
                models.TranscriptEvent.client_id == shared.service,
            )
            .limit(1)
        )
    assert issued is not None  # the transcript's own history names the copy too


async def test_a_year_the_consent_does_not_name_stays_closed(
    officer: Visitor, shared: SharedSchool, db: Database
) -> None:
    receipt = await consent_for(db, shared)
    for path in (
        transcript_path(receipt, shared.earlier_document_id),
        transcript_path(receipt, shared.earlier_document_id, ".pdf"),
        transcript_path(receipt, str(uuid.uuid4())),
    ):
        refused = await officer.web.get(path)
        assert refused.status_code == 403, path
        assert "CONSENT_REQUIRED" in refused.text
    assert await reads_of(db, shared, receipt) == []


# --- Refusals -------------------------------------------------------------------------


async def test_each_consent_not_in_force_is_refused_with_its_reason(
    officer: Visitor, shared: SharedSchool, db: Database
) -> None:
    cases = [
        (await consent_for(db, shared, revoked=True), "CONSENT_REVOKED", "đã rút lại"),
        (await consent_for(db, shared, days=-2), "CONSENT_EXPIRED", "đã hết thời hạn"),
        (await consent_for(db, shared, agreed=False), "CONSENT_PENDING", "chưa xác nhận"),
        (await consent_for(db, shared, starts_in=3), "CONSENT_PENDING", "có hiệu lực từ ngày"),
    ]
    for receipt, code, words_said in cases:
        refused = await look_up(officer, receipt, shared.people.pupil)
        assert refused.status_code == 403, (code, refused.text)
        html = page(refused)
        error = words(html, "#admission-error")[0]
        assert code in error and words_said in error and f"số {receipt}" in error, error
        assert shared.people.names[shared.people.pupil] not in refused.text
        # The page a bookmarked transcript link opens says the same.
        again = await officer.web.get(transcript_path(receipt, shared.document_id))
        assert again.status_code == 403 and code in again.text
        assert await reads_of(db, shared, receipt) == []
    english = await officer.web.post(
        "/admission?lang=en",
        data={
            "csrf_token": officer.csrf,
            "receipt": str(cases[0][0]),
            "pupil": shared.people.pupil,
        },
    )
    assert "The family withdrew consent no." in english.text


async def test_nothing_is_said_of_the_pupil_without_this_services_consent(
    officer: Visitor, shared: SharedSchool, db: Database
) -> None:
    mine = await consent_for(db, shared)
    theirs = await consent_for(db, shared, recipient=shared.other_service)
    cases = [
        (theirs, shared.people.pupil),  # another service's consent
        (mine, shared.other_pupil),  # the right number, another pupil
        (mine, new_personal_id(2011)),  # nobody
        (2**31 - 1, shared.people.pupil),  # no such receipt
    ]
    answers = set()
    for receipt, pupil in cases:
        refused = await look_up(officer, receipt, pupil)
        assert refused.status_code == 403
        error = words(page(refused), "#admission-error")[0]
        assert "CONSENT_REQUIRED" in error
        assert shared.people.names[shared.people.pupil] not in refused.text
        answers.add(error)
    assert len(answers) == 1  # the same words whatever the cause
    refused = await officer.web.get(transcript_path(theirs, shared.document_id))
    assert refused.status_code == 403 and "CONSENT_REQUIRED" in refused.text
    assert await reads_of(db, shared, theirs) == []


async def test_malformed_lookups_come_back_with_the_form(
    officer: Visitor, shared: SharedSchool
) -> None:
    for receipt, pupil, code in [
        ("12a", shared.people.pupil, "INVALID_ARGUMENT"),
        ("99999999999", shared.people.pupil, "INVALID_ARGUMENT"),
        ("12", "0012", "PERSONAL_ID_FORMAT"),
    ]:
        answer = await look_up(officer, receipt, pupil)
        assert answer.status_code == 400 and code in answer.text
        assert page(answer).cssselect('form[action="/admission"]')
    forged = await officer.web.post("/admission", data={"receipt": "1", "pupil": "0" * 12})
    assert forged.status_code == 403 and "CSRF_FAILED" in forged.text


async def test_only_an_admission_officer_has_the_page(
    admission_app, shared: SharedSchool, db: Database
) -> None:  # type: ignore[no-untyped-def]
    receipt = await consent_for(db, shared)
    people = shared.people
    for personal_id, code in [
        (people.guardian, "ADMISSION_OFFICER_REQUIRED"),
        (people.officer, "ADMISSION_OFFICER_REQUIRED"),  # the department's officer
        (people.stranger, "PERSON_UNKNOWN"),
    ]:
        visitor = await signed_in_visitor(admission_app, personal_id, "?")
        async with visitor.web:
            for path in ("/admission", transcript_path(receipt, shared.document_id, ".pdf")):
                refused = await visitor.web.get(path)
                assert refused.status_code == 403, (personal_id, path)
                assert code in refused.text and '<html lang="vi">' in refused.text
    # The other service's officer: this service's consent is not theirs.
    other = await signed_in_visitor(admission_app, shared.other_officer, OFFICER_NAME)
    async with other.web:
        refused = await look_up(other, receipt, people.pupil)
        assert refused.status_code == 403 and "CONSENT_REQUIRED" in refused.text
    transport = httpx.ASGITransport(app=admission_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as nobody:
        sent = await nobody.get("/admission")
    assert sent.status_code == 303 and sent.headers["location"] == "/login?next=%2Fadmission"
    assert await reads_of(db, shared, receipt) == []


async def test_a_withdrawal_stops_the_next_read_at_once(
    officer: Visitor, shared: SharedSchool, db: Database
) -> None:
    receipt = await consent_for(db, shared)
    path = transcript_path(receipt, shared.document_id)
    assert (await officer.web.get(path)).status_code == 200
    async with db.unit_of_work() as session:
        given = await session.get(models.Consent, receipt)
        assert given is not None
        given.revoked_at, given.revoked_by = datetime.now(UTC), shared.people.guardian
    for address in (path, f"{path}.pdf"):
        refused = await officer.web.get(address)
        assert refused.status_code == 403 and "CONSENT_REVOKED" in refused.text
    assert [entry.item for entry in await reads_of(db, shared, receipt)] == ["transcript"]


# --- The role: granted by an operator, read as the service --------------------------


async def test_the_officers_session_reads_as_the_service_under_consent(
    officer: Visitor, shared: SharedSchool, db: Database
) -> None:
    """The browser session of an officer with no other role is their service's caller:
    the API answers it exactly as the service, consent check included."""
    query = {
        "query": """query($s: ID!) { transcripts(filter: {studentId: $s}) {
            nodes { documentId } } }""",
        "variables": {"s": str(GlobalID("Student", str(shared.people.student_id)))},
    }
    headers = {CSRF_HEADER: officer.csrf}
    receipt = await consent_for(db, shared)
    answer = (await officer.web.post("/graphql", json=query, headers=headers)).json()
    assert answer["data"]["transcripts"]["nodes"] == [{"documentId": shared.document_id}]
    copy = await officer.web.get(f"/transcripts/{shared.document_id}.pdf")
    assert copy.status_code == 200 and copy.content == shared.pdf
    async with db.unit_of_work() as session:
        for given in (
            await session.scalars(
                select(models.Consent).where(
                    models.Consent.student_id == shared.people.student_id,
                    models.Consent.recipient == shared.service,
                    models.Consent.revoked_at.is_(None),
                )
            )
        ).all():
            given.revoked_at, given.revoked_by = datetime.now(UTC), shared.people.guardian
    refused = (await officer.web.post("/graphql", json=query, headers=headers)).json()
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["CONSENT_REQUIRED"]
    denied = await officer.web.get(f"/transcripts/{shared.document_id}.pdf")
    assert denied.status_code == 403 and denied.json()["code"] == "CONSENT_REQUIRED"
    assert {entry.person for entry in await reads_of(db, shared, receipt)} == {shared.officer}


async def test_revoking_the_role_closes_the_page_at_once(
    admission_app, shared: SharedSchool, db: Database
) -> None:  # type: ignore[no-untyped-def]
    officer = new_personal_id(1988)
    async with db.unit_of_work() as session:
        await grant_admission_officer(
            session,
            personal_id=officer,
            full_name=OFFICER_NAME,
            client_id=shared.service,
            granted_by="test",
        )
    visitor = await signed_in_visitor(admission_app, officer, OFFICER_NAME)
    async with visitor.web:
        assert (await visitor.web.get("/admission")).status_code == 200
        async with db.unit_of_work() as session:
            assert await revoke_admission_officer(session, personal_id=officer)
            assert not await revoke_admission_officer(session, personal_id=officer)
        refused = await visitor.web.get("/admission")
        assert refused.status_code == 403 and "PERSON_UNKNOWN" in refused.text
        async with db.unit_of_work() as session:
            await grant_admission_officer(
                session,
                personal_id=officer,
                full_name=OFFICER_NAME,
                client_id=shared.service,
                granted_by="test",
            )
        assert (await visitor.web.get("/admission")).status_code == 200
        # A disabled service takes its officers' reads with it.
        async with db.unit_of_work() as session:
            client = await session.scalar(
                select(models.ApiClient).where(models.ApiClient.client_id == shared.service)
            )
            assert client is not None
            client.disabled = True
        try:
            assert (await visitor.web.get("/admission")).status_code == 403
        finally:
            async with db.unit_of_work() as session:
                client = await session.scalar(
                    select(models.ApiClient).where(models.ApiClient.client_id == shared.service)
                )
                assert client is not None
                client.disabled = False


async def test_an_officer_signed_in_below_the_staff_account_level_is_turned_away(
    admission_app, shared: SharedSchool
) -> None:  # type: ignore[no-untyped-def]
    store = admission_app.state.hub.sessions
    token = await store.create(
        Identity("vneid", "s", shared.officer, OFFICER_NAME, account_level=1), OFFICER_NAME
    )
    transport = httpx.ASGITransport(app=admission_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub.test", cookies={store.cookie_name: token}
    ) as web:
        refused = await web.get("/admission")
    assert refused.status_code == 403 and "ACCOUNT_LEVEL_TOO_LOW" in refused.text


async def test_a_teacher_who_also_admits_reads_as_the_service_on_the_page(
    admission_app, shared: SharedSchool, db: Database
) -> None:  # type: ignore[no-untyped-def]
    teacher = shared.people.teacher
    async with db.unit_of_work() as session:
        await grant_admission_officer(
            session,
            personal_id=teacher,
            full_name=shared.people.names[teacher],
            client_id=shared.service,
            granted_by="test",
        )
    try:
        receipt = await consent_for(db, shared)
        visitor = await signed_in_visitor(admission_app, teacher, "?")
        async with visitor.web:
            found = await look_up(visitor, receipt, shared.people.pupil)
            assert found.status_code == 200, found.text
            # Her own session stays hers: the school's pages, not the service's reads.
            me = (await visitor.web.get("/me")).json()
            assert me["roles"]["homeroomClasses"]
        [entry] = await reads_of(db, shared, receipt)
        assert (entry.client_id, entry.person) == (shared.service, teacher)
    finally:
        async with db.unit_of_work() as session:
            await revoke_admission_officer(session, personal_id=teacher)


async def test_only_an_admission_service_can_have_officers(
    db: Database, shared: SharedSchool
) -> None:
    async with db.unit_of_work() as session:
        vendor = await create_client(
            session,
            name="Phần mềm trường",
            kind=ClientKind.VENDOR,
            scopes=["transcripts:read"],
            org_level=OrgLevel.DEPARTMENT,
        )
        for client_id in (vendor.client_id, "no-such-client"):
            with pytest.raises(OfficerError, match="no admission service"):
                await grant_admission_officer(
                    session,
                    personal_id=new_personal_id(1990),
                    full_name=OFFICER_NAME,
                    client_id=client_id,
                    granted_by="test",
                )
        with pytest.raises(OfficerError, match="12 digits"):
            await grant_admission_officer(
                session,
                personal_id="123",
                full_name=OFFICER_NAME,
                client_id=shared.service,
                granted_by="test",
            )


def test_a_teacher_who_also_admits_keeps_her_own_session() -> None:
    """The session reads as the service only for an officer with no other role; a
    teacher who admits keeps her school's reach, and ``/admission`` reads as the
    service for her."""
    service = AdmissionService(
        "svc", SERVICE, frozenset({"transcripts:read"}), OrgLevel.DEPARTMENT, None
    )
    officer = Person(personal_id="001184000001", full_name=OFFICER_NAME, admission=service)
    caller = session_caller(officer)
    assert caller.client_id == "svc" and caller.reads_under_consent
    assert caller.scopes == service.scopes and caller.person == officer
    teacher = dataclasses.replace(
        officer, staff_id=1, schools=(SchoolRole(1, "Trường THCS Một", StaffRole.TEACHER),)
    )
    own = session_caller(teacher)
    assert own.client_id == WEB_CLIENT_ID and not own.reads_under_consent
    assert own.school_ids == frozenset({1})


def test_the_operator_grants_lists_and_revokes_with_hub_people(
    settings: Settings, shared: SharedSchool
) -> None:
    env = os.environ | {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_TOKEN_KEY_FILE": str(settings.token_key_file),
        "COLUMNS": "200",
    }
    person = new_personal_id(1986)

    def hub(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", "people", *arguments],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    granted = hub("grant", person, "--name", OFFICER_NAME, "--admission", shared.service)
    assert granted.returncode == 0, granted.stderr
    assert "officer of the admission service" in granted.stdout
    listed = hub("list")
    assert listed.returncode == 0 and "Admission officers" in listed.stdout
    assert person[-4:] in listed.stdout and person not in listed.stdout  # masked
    both = hub("grant", person, "--name", OFFICER_NAME, "--admission", "x", "--district", "y")
    assert both.returncode == 2
    assert hub("revoke", person, "--admission").returncode == 0
    again = hub("revoke", person, "--admission")
    assert again.returncode == 1 and "admission officer" in again.stdout
    unknown = hub("grant", person, "--name", OFFICER_NAME, "--admission", "nobody")
    assert unknown.returncode == 2 and "no admission service" in unknown.stdout
