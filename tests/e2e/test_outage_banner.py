"""A signing provider goes down and the people who sign with it are told (issue 12,
part 3), through the ASGI app with every provider's simulator on loopback and a mail
catcher (aiosmtpd) standing in for the department's mail server.

Ban Cơ yếu's server stops; one health check records the change, the teacher whose
certificate is there sees the banner on a page and in the banner's JSON, and gets a
mail; her colleague at Viettel MySign sees nothing. When the server is back the
banner goes and a second mail says so.
"""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from hub.adapters.identity.base import Identity
from hub.adapters.mail.simulator import MailCatcher
from hub.adapters.signing.base import HealthStatus
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import SigningProvider
from hub.web.app import create_app
from tests import signing_support as support
from tests.schools import SigningSchool, signing_school

pytestmark = pytest.mark.in_order

demo = support.demo
BCY = SigningProvider.BCY
BANNER = f"Hệ thống ký số {BCY.label} đang gián đoạn từ"


@pytest.fixture(scope="module")
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    school = await signing_school(
        db,
        demo,
        code="01OUTAGE",
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
                .values(email=f"giao.vien.{n}@outage.edu.vn")
            )
    return school


@pytest.fixture(scope="module")
def mails() -> Iterator[MailCatcher]:
    catcher = MailCatcher().start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
async def hub(
    settings: Settings, db: Database, demo: DemoSigning, mails: MailCatcher
) -> AsyncIterator[Any]:
    async def forget() -> None:
        async with db.unit_of_work() as session:
            await session.execute(delete(models.ProviderStatusChange))

    await forget()
    yield create_app(settings.model_copy(update=mails.settings), db, signing=demo.signing)
    await forget()


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


@pytest.fixture(scope="module")
async def teacher_at_bcy(hub: Any, school: SigningSchool) -> AsyncIterator[httpx.AsyncClient]:
    async with await browser(hub, school.teachers[0]) as client:
        yield client


@pytest.fixture(scope="module")
async def teacher_at_mysign(hub: Any, school: SigningSchool) -> AsyncIterator[httpx.AsyncClient]:
    async with await browser(hub, school.teachers[1]) as client:
        yield client


async def banner_json(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/status/banner")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    lines: list[str] = response.json()["lines"]
    return lines


async def test_all_up_no_banner_and_nothing_recorded(
    hub: Any, db: Database, teacher_at_bcy: httpx.AsyncClient
) -> None:
    assert await hub.state.hub.outages.check() == []
    page = await teacher_at_bcy.get("/sign")
    assert page.status_code == 200
    assert BANNER not in page.text
    assert 'id="outage-banner"' in page.text and "/static/outage.js" in page.text
    assert await banner_json(teacher_at_bcy) == []


async def test_the_banner_endpoint_needs_a_session(hub: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hub), base_url="http://hub.test"
    ) as anonymous:
        assert (await anonymous.get("/status/banner")).status_code == 401
        assert "outage-banner" not in (await anonymous.get("/login")).text


async def test_a_provider_down_is_recorded_once(
    hub: Any, db: Database, demo: DemoSigning, school: SigningSchool, mails: MailCatcher
) -> None:
    demo.simulations[BCY].stop()
    [change] = await hub.state.hub.outages.check()
    assert (change.provider, change.before, change.after) == (BCY, None, HealthStatus.DOWN)
    assert await hub.state.hub.outages.check() == []  # still down: no new change
    async with db.sessions() as session:
        rows = (await session.scalars(select(models.ProviderStatusChange))).all()
    assert [(r.provider, r.sequence, r.status) for r in rows] == [(BCY, 1, "DOWN")]


async def test_the_teacher_at_that_provider_sees_the_banner(
    teacher_at_bcy: httpx.AsyncClient,
) -> None:
    page = await teacher_at_bcy.get("/sign")
    assert BANNER in page.text
    assert "Không cần ký lại." in page.text
    [line] = await banner_json(teacher_at_bcy)
    assert line.startswith(BANNER) and "các lô ký đang tạm dừng" in line


async def test_a_teacher_at_another_provider_does_not(
    teacher_at_mysign: httpx.AsyncClient,
) -> None:
    assert BANNER not in (await teacher_at_mysign.get("/sign")).text
    assert await banner_json(teacher_at_mysign) == []


async def test_the_teacher_at_that_provider_was_mailed_once(mails: MailCatcher) -> None:
    [mail] = mails.mails
    assert mail.recipients == ("giao.vien.0@outage.edu.vn",)
    assert mail.subject == f"[Học bạ số] Hệ thống ký số {BCY.label} đang gián đoạn"
    assert "không cần ký lại" in mail.body


async def test_back_up_the_banner_goes_and_a_mail_says_so(
    hub: Any,
    demo: DemoSigning,
    teacher_at_bcy: httpx.AsyncClient,
    mails: MailCatcher,
) -> None:
    server = demo.simulations[BCY].server
    assert server is not None
    server.start()
    [change] = await hub.state.hub.outages.check()
    assert (change.before, change.after) == (HealthStatus.DOWN, HealthStatus.UP)
    assert BANNER not in (await teacher_at_bcy.get("/sign")).text
    assert await banner_json(teacher_at_bcy) == []
    _down, back = mails.mails
    assert back.recipients == ("giao.vien.0@outage.edu.vn",)
    assert back.subject == f"[Học bạ số] Hệ thống ký số {BCY.label} đã hoạt động lại"


async def test_the_caught_mails_page_is_the_demo_s_only(
    settings: Settings, db: Database, mails: MailCatcher
) -> None:
    demo_app = create_app(settings, db, mails=mails)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=demo_app), base_url="http://hub.test"
    ) as client:
        page = await client.get("/demo/mails")
        assert page.status_code == 200
        assert "đã hoạt động lại" in page.text and "giao.vien.0@outage.edu.vn" in page.text
    production = settings.model_copy(update={"mode": "production"})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(production, db, mails=mails)),
        base_url="http://hub.test",
    ) as client:
        assert (await client.get("/demo/mails")).status_code == 404
