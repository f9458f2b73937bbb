"""A homeroom teacher signs her class in a real browser: one press, the progress to 100 %."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.adapters.identity.base import Identity
from hub.adapters.signing.simulator import SimulatorServer, free_port
from hub.auth.sessions import SessionStore
from hub.config import Settings
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import SigningProvider
from hub.signing.setup import signing_services
from hub.web.app import create_app
from tests import signing_support as support
from tests.browser.conftest import Hub, Offline
from tests.schools import SigningSchool, signing_school

demo = support.demo


@pytest.fixture(scope="module")
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    return await signing_school(
        db,
        demo,
        code="01SIGNBR",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.MYSIGN],
        principal_provider=SigningProvider.CSC,
        per_class=4,
    )


@pytest.fixture(scope="module")
def signing_hub(
    settings: Settings, demo: DemoSigning, school: SigningSchool, tmp_path_factory: Any
) -> Iterator[Hub]:
    """The hub served on loopback, signing through the simulators (its own adapters,
    made for the server's event loop from the providers file the demo writes)."""
    environment = demo.worker_environment(tmp_path_factory.mktemp("served"))
    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    served = settings.model_copy(
        update={
            "public_url": url,
            "signing_providers_file": Path(environment["HUB_SIGNING_PROVIDERS_FILE"]),
            "tsa_url": environment["HUB_TSA_URL"],
        }
    )
    server = SimulatorServer(create_app(served, signing=signing_services(served)), port=port)
    server.start()
    try:
        yield Hub(url, served)
    finally:
        server.stop()


async def test_the_teacher_signs_her_class_and_sees_100_percent(
    signing_hub: Hub, offline: Offline, school: SigningSchool, db: Database
) -> None:
    sessions = SessionStore(db, signing_hub.settings)
    teacher = school.teachers[0]
    token = await sessions.create(
        Identity(provider="vneid", subject=teacher, personal_id=teacher, full_name="?"), "?"
    )
    page = offline.page
    await page.context.add_cookies(
        [{"name": sessions.cookie_name, "value": token, "url": signing_hub.url}]
    )
    await page.goto(f"{signing_hub.url}/sign")
    assert await page.locator("table.sign-table tbody tr").count() == 4
    await offline.screenshot("sign-list")
    await page.get_by_role("button", name="Ký tất cả (4 học bạ)").click()
    await page.wait_for_url("**/sign/requests/**")
    await page.wait_for_selector('#sign-request[data-state="SIGNED"]', timeout=20_000)
    bar = page.locator("#sign-progress")
    assert await bar.evaluate("b => b.value / b.max") == 1
    assert await page.locator("#sign-checklist").is_hidden()
    assert "Đã ký 4/4 học bạ" in await page.locator("#sign-progress-text").inner_text()
    await offline.screenshot("sign-done")
    assert offline.aborted == []
    assert offline.console_errors == []
