"""The teachers' and principals' signing page (issue 12, part 2), through the ASGI app
with every provider's simulator on loopback.

A homeroom teacher signs in (a browser session), sees her own class's transcripts
waiting for her, signs them all with one confirmation on the phone and watches the
status reach SIGNED; a refusal on the phone comes back as a stable code with what to
do next in plain Vietnamese. The principal then signs the same transcripts.
"""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hub.adapters.identity.base import Identity
from hub.adapters.signing.simulator import Phone, PhoneAnswer
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import SigningProvider
from hub.web import i18n
from hub.web.app import create_app
from tests import signing_support as support
from tests.schools import SigningSchool, signing_school

pytestmark = pytest.mark.in_order

SCHOOL_CODE = "01SIGNPG"
demo = support.demo


@pytest.fixture(scope="module")
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    return await signing_school(
        db,
        demo,
        code=SCHOOL_CODE,
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.MYSIGN, SigningProvider.BCY],
        principal_provider=SigningProvider.CSC,
        per_class=3,
    )


@dataclasses.dataclass
class Browser:
    """A person's browser: the client with their session cookie, and its csrf token."""

    client: httpx.AsyncClient
    csrf: str


@pytest.fixture(scope="module")
async def hub(settings: Settings, db: Database, demo: DemoSigning) -> AsyncIterator[Any]:
    app = create_app(settings, db, signing=demo.signing)
    yield app


async def signed_in(app: Any, personal_id: str) -> Browser:
    """A session for ``personal_id`` as the sign-in callback creates it."""
    services = app.state.hub
    identity = Identity(
        provider="vneid", subject=personal_id, personal_id=personal_id, full_name="?"
    )
    token = await services.sessions.create(identity, "?")
    current = await services.sessions.current(token)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://hub.test",
        cookies={services.sessions.cookie_name: token},
    )
    return Browser(client, current.csrf_token)


@pytest.fixture(scope="module")
async def teacher(hub: Any, school: SigningSchool) -> AsyncIterator[Browser]:
    browser = await signed_in(hub, school.teachers[0])
    yield browser
    await browser.client.aclose()


@pytest.fixture(scope="module")
async def other_teacher(hub: Any, school: SigningSchool) -> AsyncIterator[Browser]:
    browser = await signed_in(hub, school.teachers[1])
    yield browser
    await browser.client.aclose()


@pytest.fixture(scope="module")
async def principal(hub: Any, school: SigningSchool) -> AsyncIterator[Browser]:
    browser = await signed_in(hub, school.principal)
    yield browser
    await browser.client.aclose()


async def pupils_of(db: Database, transcript_ids: list[int]) -> set[str]:
    async with db.sessions() as session:
        return set(
            await session.scalars(
                select(models.Student.full_name)
                .join(models.Transcript, models.Transcript.student_id == models.Student.id)
                .where(models.Transcript.id.in_(transcript_ids))
            )
        )


async def requests_of(db: Database, school: SigningSchool) -> int:
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(models.SigningRequest)
            .where(models.SigningRequest.school_id == school.id)
        )
        return int(count or 0)


async def sign_all(browser: Browser, role: str, school: SigningSchool) -> str:
    """Press "sign all": the request page's address."""
    answer = await browser.client.post(
        "/sign", data={"csrf_token": browser.csrf, "role": role, "school_id": str(school.id)}
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/sign/requests/")
    return location


async def until_finished(browser: Browser, page: str) -> dict[str, Any]:
    """The status the page's script polls, until the phone has answered."""
    for _ in range(100):
        answer = await browser.client.get(f"{page}/status")
        assert answer.status_code == 200, answer.text
        status: dict[str, Any] = answer.json()
        if not status["pending"]:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError("the phone never answered")


async def test_the_teacher_sees_only_her_class_waiting(
    teacher: Browser, principal: Browser, school: SigningSchool, db: Database
) -> None:
    page = await teacher.client.get("/sign")
    assert page.status_code == 200
    listed = {int(link.split('"')[0]) for link in page.text.split('href="/sign/preview/')[1:]}
    assert listed == set(school.transcripts[school.class_ids[0]])
    assert all(name in page.text for name in await pupils_of(db, list(listed)))
    assert "Ký tất cả (3 học bạ)" in page.text
    # Nothing waits for the principal before the teachers have signed.
    assert (
        i18n.translate("vi", "sign.nothing_waiting") in (await principal.client.get("/sign")).text
    )


async def test_without_a_session_the_page_sends_to_sign_in(hub: Any) -> None:
    transport = httpx.ASGITransport(app=hub)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as anonymous:
        answer = await anonymous.get("/sign")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


async def test_the_preview_shows_the_pupil_and_the_content(
    teacher: Browser, other_teacher: Browser, school: SigningSchool, db: Database
) -> None:
    transcript_id = school.transcripts[school.class_ids[0]][0]
    page = await teacher.client.get(f"/sign/preview/{transcript_id}")
    assert page.status_code == 200
    assert (await pupils_of(db, [transcript_id])).pop() in page.text
    assert i18n.translate("vi", "verify.content.subjects") in page.text
    # A staff session may not download the file (it carries the full personal ID):
    # the page does not offer a link the download route would refuse.
    assert 'href="/transcripts/' not in page.text


async def test_signing_without_the_csrf_token_is_refused(
    teacher: Browser, school: SigningSchool, db: Database
) -> None:
    before = await requests_of(db, school)
    answer = await teacher.client.post(
        "/sign", data={"role": "HOMEROOM_TEACHER", "school_id": str(school.id)}
    )
    assert answer.status_code == 403
    assert "CSRF_FAILED" in answer.text
    wrong = await teacher.client.post(
        "/sign",
        data={"csrf_token": "forged", "role": "HOMEROOM_TEACHER", "school_id": str(school.id)},
    )
    assert wrong.status_code == 403
    assert await requests_of(db, school) == before


async def test_a_refusal_on_the_phone_says_why_and_what_to_do(
    other_teacher: Browser, school: SigningSchool, demo: DemoSigning
) -> None:
    demo.set_phone(Phone(PhoneAnswer.REJECT, 0.2))
    try:
        page = await sign_all(other_teacher, "HOMEROOM_TEACHER", school)
        status = await until_finished(other_teacher, page)
    finally:
        demo.set_phone(Phone(confirm_delay=0.2))
    assert status["state"] == "REJECTED"
    assert status["signed"] == 0 and status["total"] == 3
    plain = i18n.translate("vi", "sign.reason.rejected")
    assert [f["code"] for f in status["failures"]] == ["SIGNER_REJECTED"] * 3
    assert all(f["message"] == plain for f in status["failures"])
    shown = await other_teacher.client.get(page)
    assert "SIGNER_REJECTED" in shown.text and plain in shown.text
    # Still waiting for her: she can press "sign all" again.
    assert "Ký tất cả (3 học bạ)" in (await other_teacher.client.get("/sign")).text


async def test_sign_all_is_one_request_and_reaches_signed(
    teacher: Browser, school: SigningSchool, db: Database
) -> None:
    before = await requests_of(db, school)
    page = await sign_all(teacher, "HOMEROOM_TEACHER", school)
    assert await requests_of(db, school) == before + 1
    pending = await teacher.client.get(page)
    assert pending.status_code == 200
    assert i18n.translate("vi", "sign.checklist.open_app") in pending.text
    assert '<script src="/static/sign.js"' in pending.text
    status = await until_finished(teacher, page)
    assert status["state"] == "SIGNED"
    assert status["signed"] == status["total"] == 3
    assert status["failures"] == []
    async with db.sessions() as session:
        states = set(
            await session.scalars(
                select(models.Transcript.state).where(
                    models.Transcript.id.in_(school.transcripts[school.class_ids[0]])
                )
            )
        )
    assert states == {"SIGNED_BY_HOMEROOM"}
    assert i18n.translate("vi", "sign.nothing_waiting") in (await teacher.client.get("/sign")).text


async def test_another_persons_request_is_not_shown(
    teacher: Browser, other_teacher: Browser, school: SigningSchool, db: Database
) -> None:
    async with db.sessions() as session:
        request_id = await session.scalar(
            select(models.SigningRequest.request_id).where(
                models.SigningRequest.school_id == school.id,
                models.SigningRequest.state == "SIGNED",
            )
        )
    answer = await other_teacher.client.get(f"/sign/requests/{request_id}/status")
    assert answer.status_code == 404


async def test_the_principal_signs_what_the_teacher_signed(
    principal: Browser, school: SigningSchool, db: Database
) -> None:
    page = await principal.client.get("/sign")
    assert "Ký tất cả (3 học bạ)" in page.text
    listed = {int(link.split('"')[0]) for link in page.text.split('href="/sign/preview/')[1:]}
    assert listed == set(school.transcripts[school.class_ids[0]])
    status = await until_finished(principal, await sign_all(principal, "PRINCIPAL", school))
    assert status["state"] == "SIGNED" and status["signed"] == 3
