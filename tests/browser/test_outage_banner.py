"""A signing provider goes down while a teacher has a page open: the banner appears by
itself within 10 s (``static/outage.js``), and goes when the provider is back.

The outage is seen and recorded by another process's health check (here, the test's
own :class:`~hub.signing.outages.Outages` on the demo's adapters), as with several API
processes: the served hub learns of it from the shared history alone. The test has its
own school and starts from no recorded change.
"""

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete

from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import SigningProvider
from hub.signing.outages import Outages
from tests import signing_support as support
from tests.browser.conftest import Hub, Offline
from tests.schools import SigningSchool, signing_school

demo = support.demo
_schools = itertools.count(1)
BCY = SigningProvider.BCY


@pytest.fixture
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    """The test's own school: its homeroom teacher signs at Ban Cơ yếu."""
    return await signing_school(
        db,
        demo,
        code=f"01OUTBR{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[BCY],
        principal_provider=SigningProvider.CSC,
        per_class=1,
    )


@pytest.fixture
async def outages(db: Database, demo: DemoSigning, school: SigningSchool) -> AsyncIterator[Outages]:
    """A health check of the demo's providers, from no recorded change (the seal's
    provider has a token to answer for once the school is enrolled)."""

    async def forget() -> None:
        async with db.unit_of_work() as session:
            await session.execute(delete(models.ProviderStatusChange))

    await forget()
    try:
        yield Outages(db=db, providers=demo.signing.providers, mailer=None)
    finally:
        server = demo.simulations[BCY].server
        assert server is not None
        if not server.running:
            server.start()
        await forget()


async def test_the_banner_appears_on_an_open_page_and_goes(
    served_hub: Hub,
    offline: Offline,
    school: SigningSchool,
    db: Database,
    demo: DemoSigning,
    outages: Outages,
) -> None:
    await offline.sign_in(served_hub, db, school.teachers[0])
    page = offline.page
    await page.goto(f"{served_hub.url}/sign")
    banner = page.locator("#outage-banner")
    assert await banner.is_hidden()

    demo.simulations[BCY].stop()
    assert [c.provider for c in await outages.check()] == [BCY]
    await banner.wait_for(state="visible", timeout=10_000)
    text = await banner.inner_text()
    assert f"Hệ thống ký số {BCY.label} đang gián đoạn từ" in text
    assert "Không cần ký lại." in text
    await offline.screenshots("outage-banner")

    server = demo.simulations[BCY].server
    assert server is not None
    server.start()
    await outages.check()
    await banner.wait_for(state="hidden", timeout=10_000)
    assert offline.aborted == []
    assert offline.console_errors == []
