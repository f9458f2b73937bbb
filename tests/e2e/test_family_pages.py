"""The family's pages (issue 12, part 5): a verified mother sees her daughter's
transcripts, who read them and her consents; she gives a consent after reading its
text and ticking the box herself, her daughter (12) agrees with "Em đồng ý", the
admission service reads under it, and withdrawing it stops the next read at once.

Sessions are made directly in the session store (as the sign-in callback would), so the
pages are tested without the identity provider.
"""

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from hub.auth.clients import create_client
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain import consent as rule
from hub.domain.enums import ClientKind, OrgLevel
from hub.web.app import create_app
from tests.helpers import Visitor, signed_in_visitor, token_for
from tests.people import People, people_school
from tests.world import World

ADMISSION_NAME = "Cổng tuyển sinh lớp 10 Thử Nghiệm"
PURPOSE = "Xét tuyển vào lớp 10 năm học 2026-2027"
UNTIL = (rule.day_in_vietnam(datetime.now(UTC)) + timedelta(days=60)).isoformat()


@dataclass
class Family:
    people: People
    document_id: str
    school_year: str
    admission: tuple[str, str]


@pytest.fixture(scope="module")
def family_app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db)


@pytest.fixture(scope="module")
async def family(db: Database, world: World) -> Family:
    people = await people_school(db, code="FAM")
    async with db.unit_of_work() as session:
        year = await session.get(models.SchoolYear, world.current_year_id)
        assert year is not None
        transcript = models.Transcript(
            document_id=str(uuid.uuid4()),
            student_id=people.student_id,
            school_year_id=year.id,
            school_id=people.school_id,
            class_id=people.class_id,
            state="PUBLISHED",
            xml=b"<hocBa/>",
            pdf=b"%PDF-1.7 family test",
            xml_sha256="0" * 64,
        )
        session.add(transcript)
        client = await create_client(
            session,
            name=ADMISSION_NAME,
            kind=ClientKind.ADMISSION,
            scopes=["transcripts:read", "personal-ids:read"],
            org_level=OrgLevel.DEPARTMENT,
            school_codes=[],
            district_codes=[],
        )
        admission = (client.client_id, client.client_secret)
        return Family(people, transcript.document_id, year.code, admission)


@pytest.fixture
async def mother(family_app, family: Family) -> AsyncIterator[Visitor]:  # type: ignore[no-untyped-def]
    people = family.people
    visitor = await signed_in_visitor(family_app, people.guardian, people.names[people.guardian])
    async with visitor.web:
        yield visitor


@pytest.fixture
async def pupil(family_app, family: Family) -> AsyncIterator[Visitor]:  # type: ignore[no-untyped-def]
    people = family.people
    visitor = await signed_in_visitor(family_app, people.pupil, people.names[people.pupil])
    async with visitor.web:
        yield visitor


@pytest.fixture
async def program(family_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=family_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


def _give_form(visitor: Visitor, family: Family, **changes: str) -> dict[str, object]:
    return {
        "csrf_token": visitor.csrf,
        "student": str(family.people.student_id),
        "recipient": family.admission[0],
        "purpose": PURPOSE,
        "years": [family.school_year],
        "until": UNTIL,
        "text_version": rule.TEXT_VERSION,
    } | changes


async def _consents(db: Database, student_id: int) -> int:
    async with db.sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(models.Consent)
                .where(models.Consent.student_id == student_id)
            )
            or 0
        )


async def _admission_copy(program: httpx.AsyncClient, family: Family) -> httpx.Response:
    token = await token_for(program, *family.admission)
    return await program.get(
        f"/transcripts/{family.document_id}.pdf",
        headers={"Authorization": f"Bearer {token}", "X-Hub-Purpose": quote(PURPOSE)},
    )


async def test_the_mother_sees_her_daughter_her_transcript_and_the_admission_services(
    mother: Visitor, family: Family
) -> None:
    page = await mother.web.get("/family")
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert family.people.names[family.people.pupil] in html
    assert "Ai đã đọc hồ sơ" in html and "Sự đồng ý đã cho" in html
    assert f'href="/transcripts/{family.document_id}.pdf"' in html
    assert "Đã gửi kho học bạ số" in html
    assert f'<option value="{family.admission[0]}"' in html and ADMISSION_NAME in html
    # Readable without JavaScript: the only script is the outage banner's, from /static.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/outage.js" defer>']

    english = await mother.web.get("/family?lang=en")
    assert english.status_code == 200
    assert "Who read the record" in english.text and "Consents given" in english.text
    assert '<html lang="en">' in english.text


async def test_the_mother_downloads_her_daughters_finished_transcript(
    mother: Visitor, family: Family
) -> None:
    response = await mother.web.get(f"/transcripts/{family.document_id}.pdf")
    assert response.status_code == 200, response.text
    assert response.content == b"%PDF-1.7 family test"
    other = await mother.web.get(f"/transcripts/{uuid.uuid4()}.pdf")
    assert other.status_code == 403  # no scope of her own: nothing else is hers


async def test_a_consent_is_given_after_the_text_agreed_read_under_and_withdrawn(
    mother: Visitor, pupil: Visitor, program: httpx.AsyncClient, family: Family, db: Database
) -> None:
    student_id = family.people.student_id
    before = await _consents(db, student_id)
    # The text first, exactly as the rule writes it, with a box nobody ticked.
    preview = await mother.web.get(
        "/family/consents/new",
        params={
            "student": str(student_id),
            "recipient": family.admission[0],
            "purpose": PURPOSE,
            "years": family.school_year,
            "until": UNTIL,
        },
    )
    assert preview.status_code == 200, preview.text
    assert f"phiên bản {rule.TEXT_VERSION}" in preview.text
    assert "GIẤY ĐỒNG Ý CUNG CẤP DỮ LIỆU CÁ NHÂN CỦA HỌC SINH" in preview.text
    assert PURPOSE in preview.text and ADMISSION_NAME in preview.text
    tick = re.search(r'<input type="checkbox" name="agree"[^>]*>', preview.text)
    assert tick is not None and "checked" not in tick.group(0)

    # No tick: the text again with an error, nothing stored.
    untick = await mother.web.post("/family/consents", data=_give_form(mother, family))
    assert untick.status_code == 400
    assert 'id="missing-tick"' in untick.text and "GIẤY ĐỒNG Ý" in untick.text
    # No anti-forgery token: refused, nothing stored.
    forged = _give_form(mother, family, agree="yes")
    del forged["csrf_token"]
    assert (await mother.web.post("/family/consents", data=forged)).status_code == 403
    assert await _consents(db, student_id) == before

    given = await mother.web.post("/family/consents", data=_give_form(mother, family, agree="yes"))
    assert given.status_code == 303 and given.headers["location"].startswith("/family")
    assert await _consents(db, student_id) == before + 1
    async with db.sessions() as session:
        consent_id = await session.scalar(
            select(func.max(models.Consent.id)).where(models.Consent.student_id == student_id)
        )
    page = (await mother.web.get("/family")).text
    assert f'id="consent-{consent_id}"' in page
    assert "Chờ học sinh xác nhận đồng ý" in page  # she is 12: she agrees too
    assert f"/me/consents/{consent_id}.pdf" in page and f"/me/consents/{consent_id}.json" in page
    assert (await _admission_copy(program, family)).json()["code"] == "CONSENT_REQUIRED"

    # The pupil, signed in as herself, agrees.
    own = (await pupil.web.get("/family")).text
    assert f'action="/family/consents/{consent_id}/agree"' in own and "Em đồng ý" in own
    agreed = await pupil.web.post(
        f"/family/consents/{consent_id}/agree", data={"csrf_token": pupil.csrf}
    )
    assert agreed.status_code == 303

    read = await _admission_copy(program, family)
    assert read.status_code == 200, read.text
    page = (await mother.web.get("/family")).text
    assert "Đang có hiệu lực" in page
    assert ADMISSION_NAME in page and PURPOSE in page
    assert f"số {consent_id}" in page  # the read names the consent it was made under

    # Withdrawn: the next read is refused at once.
    assert (
        await mother.web.post(f"/family/consents/{consent_id}/revoke", data={})
    ).status_code == 403
    revoked = await mother.web.post(
        f"/family/consents/{consent_id}/revoke", data={"csrf_token": mother.csrf}
    )
    assert revoked.status_code == 303
    refused = await _admission_copy(program, family)
    assert refused.status_code == 403 and refused.json()["code"] == "CONSENT_REQUIRED"
    page = (await mother.web.get("/family?lang=en")).text
    assert "Withdrawn" in page


async def test_the_form_comes_back_with_the_reason_when_the_terms_cannot_be_given(
    mother: Visitor, family: Family, db: Database
) -> None:
    before = await _consents(db, family.people.student_id)
    too_long = (rule.day_in_vietnam(datetime.now(UTC)) + timedelta(days=400)).isoformat()
    answer = await mother.web.get(
        "/family/consents/new",
        params={
            "student": str(family.people.student_id),
            "recipient": family.admission[0],
            "purpose": PURPOSE,
            "years": family.school_year,
            "until": too_long,
        },
    )
    assert answer.status_code == 400
    assert 'id="family-error"' in answer.text and "tối đa 1 năm" in answer.text
    assert f'value="{PURPOSE}"' in answer.text  # what she wrote is kept
    assert await _consents(db, family.people.student_id) == before


async def test_the_unverified_stepfather_and_strangers_have_no_page(  # type: ignore[no-untyped-def]
    family_app, program: httpx.AsyncClient, family: Family
) -> None:
    people = family.people
    stepfather = await signed_in_visitor(
        family_app, people.unverified_guardian, people.names[people.unverified_guardian]
    )
    async with stepfather.web:
        page = await stepfather.web.get("/family")
        assert page.status_code == 403 and "PERSON_UNKNOWN" in page.text
        copy = await stepfather.web.get(f"/transcripts/{family.document_id}.pdf")
        assert copy.status_code == 401
    nobody = await program.get("/family")
    assert nobody.status_code == 303 and nobody.headers["location"] == "/login?next=%2Ffamily"


async def test_an_app_acting_for_the_mother_needs_the_scope_to_read_transcripts(
    db: Database, family_app, family: Family
) -> None:  # type: ignore[no-untyped-def]
    """The family's own copy is for the hub's pages, or an app the mother let read
    transcripts; an app holding only other scopes for her gets none."""
    issuer = family_app.state.hub.tokens
    async with db.unit_of_work() as session:
        client = await create_client(
            session,
            name="Ứng dụng liên lạc gia đình",
            kind=ClientKind.VENDOR,
            scopes=["students:read", "transcripts:read"],
            org_level=OrgLevel.DEPARTMENT,
        )
    transport = httpx.ASGITransport(app=family_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as app:
        for scopes, status in [({"students:read"}, 403), ({"transcripts:read"}, 200)]:
            token, _ = issuer.issue(
                client.client_id, frozenset(scopes), person=family.people.guardian
            )
            copy = await app.get(
                f"/transcripts/{family.document_id}.pdf",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert copy.status_code == status, (scopes, copy.text)
