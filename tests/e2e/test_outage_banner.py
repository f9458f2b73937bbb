"""A signing provider goes down and the people who sign with it are told (issue 12,
part 3), through the ASGI app with every provider's simulator on loopback and a mail
catcher (aiosmtpd) standing in for the department's mail server.

Ban Cơ yếu's server stops; one health check records the change, the teacher whose
certificate is there sees the banner on a page and in the banner's JSON, and gets a
mail; her colleague at Viettel MySign sees nothing. When the server is back the
banner goes and a second mail says so. Whoever applies a school's seal hears of the
seal's provider.

Each test has its own school (its teachers' mails at an address of its own), its own
app and mail catcher, and starts from no recorded change; a test that needs the
provider down stops it itself (:func:`bcy_down`), and the server is started again
after every test.
"""

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from hub.adapters.identity.base import Identity
from hub.adapters.mail.simulator import CaughtMail, MailCatcher
from hub.adapters.signing.base import HealthStatus
from hub.auth.people import load_person
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import SigningProvider, StaffRole
from hub.signing.outages import StatusChange, people_signing_with, providers_of
from hub.web.app import create_app
from tests import signing_support as support
from tests.schools import SigningSchool, signing_school

demo = support.demo
_schools = itertools.count(1)
BCY = SigningProvider.BCY
BANNER = f"Hệ thống ký số {BCY.label} đang gián đoạn từ"


def email_of(school: SigningSchool, n: int) -> str:
    """The mail address of the school's n-th homeroom teacher."""
    return f"giao.vien.{n}@{school.code.lower()}.edu.vn"


@pytest.fixture
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    """The test's own school: a teacher at Ban Cơ yếu, one at MySign, both with a mail."""
    school = await signing_school(
        db,
        demo,
        code=f"01OUTAGE{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[BCY, SigningProvider.MYSIGN],
        principal_provider=SigningProvider.CSC,
        per_class=1,
    )
    async with db.unit_of_work() as session:
        for n, personal_id in enumerate(school.teachers):
            await session.execute(
                update(models.Staff)
                .where(models.Staff.personal_id == personal_id)
                .values(email=email_of(school, n))
            )
    return school


@pytest.fixture
def mails() -> Iterator[MailCatcher]:
    catcher = MailCatcher().start()
    yield catcher
    catcher.stop()


async def forget_changes(db: Database) -> None:
    async with db.unit_of_work() as session:
        await session.execute(delete(models.ProviderStatusChange))


@pytest.fixture
async def hub(
    settings: Settings, db: Database, demo: DemoSigning, mails: MailCatcher, school: SigningSchool
) -> AsyncIterator[Any]:
    """The test's app, mailing to its catcher, every provider up and no change recorded
    (the seal's provider has a token to answer for once the school is enrolled)."""
    await forget_changes(db)
    try:
        yield create_app(settings.model_copy(update=mails.settings), db, signing=demo.signing)
    finally:
        server = demo.simulations[BCY].server
        assert server is not None
        if not server.running:
            server.start()
        await forget_changes(db)


async def bcy_down(hub: Any, demo: DemoSigning) -> StatusChange:
    """Ban Cơ yếu's server stopped and the change recorded by one health check."""
    demo.simulations[BCY].stop()
    [change] = await hub.state.hub.outages.check()
    return change


async def browser(app: Any, personal_id: str) -> httpx.AsyncClient:
    identity = Identity(
        provider="vneid", subject=personal_id, personal_id=personal_id, full_name="?"
    )
    token = await app.state.hub.sessions.create(identity, "?")
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://hub.test",
        cookies={app.state.hub.sessions.cookie_name: token},
    )


@pytest.fixture
async def teacher_at_bcy(hub: Any, school: SigningSchool) -> AsyncIterator[httpx.AsyncClient]:
    async with await browser(hub, school.teachers[0]) as client:
        yield client


@pytest.fixture
async def teacher_at_mysign(hub: Any, school: SigningSchool) -> AsyncIterator[httpx.AsyncClient]:
    async with await browser(hub, school.teachers[1]) as client:
        yield client


async def banner_json(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/status/banner")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    lines: list[str] = response.json()["lines"]
    return lines


def mails_to(mails: MailCatcher, address: str) -> list[CaughtMail]:
    """What the catcher received for ``address`` alone (other tests' schools sign at
    Ban Cơ yếu too, and are told as well)."""
    return [mail for mail in mails.mails if mail.recipients == (address,)]


async def test_all_up_no_banner_and_nothing_recorded(
    hub: Any, db: Database, teacher_at_bcy: httpx.AsyncClient
) -> None:
    assert await hub.state.hub.outages.check() == []
    page = await teacher_at_bcy.get("/sign")
    assert page.status_code == 200
    assert BANNER not in page.text
    assert 'id="outage-banner"' in page.text and "/static/outage.js" in page.text
    assert await banner_json(teacher_at_bcy) == []
    async with db.sessions() as session:
        assert (await session.scalars(select(models.ProviderStatusChange))).all() == []


async def test_the_banner_endpoint_needs_a_session(hub: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hub), base_url="http://hub.test"
    ) as anonymous:
        assert (await anonymous.get("/status/banner")).status_code == 401
        assert "outage-banner" not in (await anonymous.get("/login")).text


async def test_a_provider_down_is_recorded_once(hub: Any, db: Database, demo: DemoSigning) -> None:
    change = await bcy_down(hub, demo)
    assert (change.provider, change.before, change.after) == (BCY, None, HealthStatus.DOWN)
    assert await hub.state.hub.outages.check() == []  # still down: no new change
    async with db.sessions() as session:
        rows = (await session.scalars(select(models.ProviderStatusChange))).all()
    assert [(r.provider, r.sequence, r.status) for r in rows] == [(BCY, 1, "DOWN")]


async def test_the_teacher_at_that_provider_sees_the_banner(
    hub: Any, demo: DemoSigning, teacher_at_bcy: httpx.AsyncClient
) -> None:
    await bcy_down(hub, demo)
    page = await teacher_at_bcy.get("/sign")
    assert BANNER in page.text
    assert "Không cần ký lại." in page.text
    [line] = await banner_json(teacher_at_bcy)
    assert line.startswith(BANNER) and "các lô ký đang tạm dừng" in line


async def test_a_teacher_at_another_provider_does_not(
    hub: Any, demo: DemoSigning, teacher_at_mysign: httpx.AsyncClient
) -> None:
    await bcy_down(hub, demo)
    assert BANNER not in (await teacher_at_mysign.get("/sign")).text
    assert await banner_json(teacher_at_mysign) == []


async def test_the_teacher_at_that_provider_is_mailed_once(
    hub: Any, demo: DemoSigning, school: SigningSchool, mails: MailCatcher
) -> None:
    await bcy_down(hub, demo)
    assert await hub.state.hub.outages.check() == []  # still down: no second mail
    [mail] = mails_to(mails, email_of(school, 0))
    assert mail.subject == f"[Học bạ số] Hệ thống ký số {BCY.label} đang gián đoạn"
    assert "không cần ký lại" in mail.body
    assert mails_to(mails, email_of(school, 1)) == []  # her colleague signs at MySign


async def test_back_up_the_banner_goes_and_a_mail_says_so(
    hub: Any,
    demo: DemoSigning,
    school: SigningSchool,
    teacher_at_bcy: httpx.AsyncClient,
    mails: MailCatcher,
) -> None:
    await bcy_down(hub, demo)
    assert BANNER in (await teacher_at_bcy.get("/sign")).text
    server = demo.simulations[BCY].server
    assert server is not None
    server.start()
    [change] = await hub.state.hub.outages.check()
    assert (change.before, change.after) == (HealthStatus.DOWN, HealthStatus.UP)
    assert BANNER not in (await teacher_at_bcy.get("/sign")).text
    assert await banner_json(teacher_at_bcy) == []
    _down, back = mails_to(mails, email_of(school, 0))
    assert back.subject == f"[Học bạ số] Hệ thống ký số {BCY.label} đã hoạt động lại"


async def test_the_caught_mails_page_is_the_demo_s_only(
    settings: Settings,
    db: Database,
    hub: Any,
    demo: DemoSigning,
    school: SigningSchool,
    mails: MailCatcher,
) -> None:
    await bcy_down(hub, demo)
    demo_app = create_app(settings, db, mails=mails)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=demo_app), base_url="http://hub.test"
    ) as client:
        page = await client.get("/demo/mails")
        assert page.status_code == 200
        assert "đang gián đoạn" in page.text and email_of(school, 0) in page.text
    production = settings.model_copy(update={"mode": "production"})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(production, db, mails=mails)),
        base_url="http://hub.test",
    ) as client:
        assert (await client.get("/demo/mails")).status_code == 404


async def test_whoever_applies_the_seal_hears_of_the_seal_s_provider(
    db: Database, school: SigningSchool
) -> None:
    """The principal applies the school's seal (:func:`hub.signing.service.seal_keeper_id`):
    the seal's provider is theirs to hear of, and moves with the principal's role."""
    principal_email = f"hieu.truong@{school.code.lower()}.edu.vn"
    async with db.unit_of_work() as session:
        await session.execute(
            update(models.Staff)
            .where(models.Staff.personal_id == school.principal)
            .values(email=principal_email)
        )
    async with db.sessions() as session:
        principal = await load_person(session, school.principal)
        teacher = await load_person(session, school.teachers[1])
        assert await providers_of(session, principal) == {
            SigningProvider.CSC,
            SigningProvider.PKCS11,
        }
        assert await providers_of(session, teacher) == {SigningProvider.MYSIGN}
        told = await people_signing_with(session, SigningProvider.PKCS11)
    assert (principal_email, principal.full_name) in told
    assert all(email != email_of(school, 1) for email, _ in told)

    async with db.unit_of_work() as session:
        newcomer = await session.scalar(
            select(models.Staff.id).where(models.Staff.personal_id == school.teachers[1])
        )
        session.add(
            models.StaffAssignment(school_id=school.id, staff_id=newcomer, role=StaffRole.PRINCIPAL)
        )
    async with db.sessions() as session:
        principal = await load_person(session, school.principal)
        teacher = await load_person(session, school.teachers[1])
        assert await providers_of(session, principal) == {SigningProvider.CSC}
        assert await providers_of(session, teacher) == {
            SigningProvider.MYSIGN,
            SigningProvider.PKCS11,
        }
        told = await people_signing_with(session, SigningProvider.PKCS11)
    assert (email_of(school, 1), teacher.full_name) in told
    assert all(email != principal_email for email, _ in told)
