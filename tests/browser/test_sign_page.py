"""The signing page in a real browser: the homeroom teacher, the principal and whoever
applies the school's seal each press once and watch the progress reach 100 %; the
sealed transcript then verifies with its three signatures.

Each test has a school of its own and a hub served for it (its providers file names
the school's seal token, so it is written after the school is enrolled); the earlier
signatures a test needs are given through the hub's API, as the signers' app would.
Every page is looked at a desktop's width and a phone's (``var/screenshots/``).
"""

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import OrgLevel, SigningProvider
from hub.signing.setup import signing_services
from hub.web.app import create_app
from tests import signing_support as support
from tests.browser.conftest import Hub, Offline, serving
from tests.helpers import register, token_for
from tests.schools import SigningSchool, signing_school

demo = support.demo
_schools = itertools.count(1)


@pytest.fixture
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    """The test's own school: one class of four ready transcripts, its teacher at MySign,
    the principal at a CSC server, the seal on a SoftHSM2 token."""
    return await signing_school(
        db,
        demo,
        code=f"01SIGNBR{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.MYSIGN],
        principal_provider=SigningProvider.CSC,
        per_class=4,
    )


@pytest.fixture
def signing_hub(
    settings: Settings, demo: DemoSigning, school: SigningSchool, tmp_path: Path
) -> Iterator[Hub]:
    """The hub served on loopback, signing through the simulators (its own adapters, made
    for the server's event loop from the providers file the demo writes, which names the
    test's school's seal token) and trusting the demo roots."""
    environment = demo.worker_environment(tmp_path / "served")
    with serving(
        lambda served: create_app(served, signing=signing_services(served)),
        settings,
        signing_providers_file=Path(environment["HUB_SIGNING_PROVIDERS_FILE"]),
        tsa_url=environment["HUB_TSA_URL"],
        trust_roots=[Path(p) for p in json.loads(environment["HUB_TRUST_ROOTS"])],
    ) as hub:
        yield hub


@pytest.fixture
async def api(signing_hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    """The served hub's API, as the school's app calls it."""
    async with httpx.AsyncClient(base_url=signing_hub.url) as client:
        yield client


async def signed_by(
    api: httpx.AsyncClient, db: Database, school: SigningSchool, *roles: str
) -> None:
    """The school's transcripts signed by ``roles`` in turn through the hub's API, as the
    school's app asks for them (in demo mode an app may name the signer)."""
    token = await token_for(api, *await register(db, org=OrgLevel.SCHOOL, schools=[school.code]))
    signers = {"HOMEROOM_TEACHER": school.teachers[0], "PRINCIPAL": school.principal}
    for role in roles:
        result = await support.sign_through_hub(
            api, token, school.all_transcripts, role, signers[role]
        )
        assert result["state"] == "SIGNED", result


async def until_done(offline: Offline) -> None:
    """The request page once its script has seen the request finish, signed."""
    await offline.page.wait_for_url("**/sign/requests/**")
    await offline.page.wait_for_selector('#sign-request[data-state="SIGNED"]', timeout=20_000)
    bar = offline.page.locator("#sign-progress")
    assert await bar.evaluate("b => b.value / b.max") == 1
    assert await offline.page.locator("#sign-checklist").is_hidden()
    assert await offline.page.locator("#sign-failures").is_hidden()


async def test_the_teacher_signs_her_class_and_sees_100_percent(
    signing_hub: Hub, offline: Offline, school: SigningSchool, db: Database
) -> None:
    page = offline.page
    await offline.sign_in(signing_hub, db, school.teachers[0])
    await page.goto(f"{signing_hub.url}/sign")
    assert await page.locator("table.sign-table tbody tr").count() == 4
    await offline.screenshots("sign-teacher-list")

    await page.get_by_role("link", name="Xem trước").first.click()
    await page.wait_for_url("**/sign/preview/**")
    assert await page.get_by_role("heading", name="Xem trước học bạ").is_visible()
    await offline.screenshots("sign-preview")
    await page.get_by_role("link", name="Về danh sách học bạ chờ ký").click()

    await page.get_by_role("button", name="Ký tất cả (4 học bạ)").click()
    await page.wait_for_url("**/sign/requests/**")
    await offline.screenshots("sign-teacher-request")
    await until_done(offline)
    assert "Đã ký 4/4 học bạ" in await page.locator("#sign-progress-text").inner_text()
    await offline.screenshots("sign-teacher-done")
    assert offline.aborted == []
    assert offline.console_errors == []


async def test_the_principal_signs_what_the_teacher_signed_and_sees_100_percent(
    signing_hub: Hub, offline: Offline, school: SigningSchool, db: Database, api: httpx.AsyncClient
) -> None:
    await signed_by(api, db, school, "HOMEROOM_TEACHER")
    page = offline.page
    await offline.sign_in(signing_hub, db, school.principal)
    await page.goto(f"{signing_hub.url}/sign")
    group = page.locator('section.sign-group[data-role="PRINCIPAL"]')
    assert await group.locator("tbody tr").count() == 4
    assert await page.locator('section.sign-group[data-role="SCHOOL_SEAL"]').count() == 0
    await offline.screenshots("sign-principal-list")

    await group.get_by_role("button", name="Ký tất cả (4 học bạ)").click()
    await page.wait_for_url("**/sign/requests/**")
    await offline.screenshots("sign-principal-request")
    await until_done(offline)
    assert "Đã ký 4/4 học bạ" in await page.locator("#sign-progress-text").inner_text()
    await offline.screenshots("sign-principal-done")
    assert offline.aborted == []
    assert offline.console_errors == []


async def test_whoever_holds_the_seal_seals_and_the_transcript_verifies(
    signing_hub: Hub,
    offline: Offline,
    school: SigningSchool,
    db: Database,
    demo: DemoSigning,
    api: httpx.AsyncClient,
) -> None:
    await signed_by(api, db, school, "HOMEROOM_TEACHER", "PRINCIPAL")
    page = offline.page
    await offline.sign_in(signing_hub, db, school.principal)  # who applies the seal
    await page.goto(f"{signing_hub.url}/sign")
    group = page.locator('section.sign-group[data-role="SCHOOL_SEAL"]')
    assert await group.locator("tbody tr").count() == 4
    assert "không cần xác nhận trên điện thoại" in await group.inner_text()
    await offline.screenshots("sign-seal-list")

    # The timestamp service is away when the button is pressed: the page says so and
    # what happens next, then finishes by itself once the service is back.
    demo.pki_server.stop()
    try:
        await group.get_by_role("button", name="Đóng dấu tất cả (4 học bạ)").click()
        await page.wait_for_url("**/sign/requests/**")
        trouble = page.locator("#sign-trouble")
        assert "Dịch vụ dấu thời gian đang tạm thời không trả lời" in await trouble.inner_text()
        checklist = await page.locator("#sign-checklist").inner_text()
        assert "không hỏi xác nhận trên điện thoại" in checklist
        await offline.screenshots("sign-seal-waiting")
    finally:
        demo.pki_server.start()
    await until_done(offline)
    assert await page.locator("#sign-trouble").is_hidden()
    assert "Đã đóng dấu 4/4 học bạ" in await page.locator("#sign-progress-text").inner_text()
    assert await page.locator("h1").inner_text() == "Đóng dấu học bạ"
    await offline.screenshots("sign-seal-done")

    async with db.sessions() as session:
        transcript = await session.get(models.Transcript, school.all_transcripts[0])
        assert transcript is not None and transcript.state == "SEALED"
    await page.goto(f"{signing_hub.url}/verify/{transcript.document_id}")
    assert await page.locator("#verdict").inner_text() == "Hợp lệ"
    signers = page.locator("ol.signers > li")
    assert await signers.count() == 3
    roles = [text.split(":")[0] for text in await signers.all_inner_texts()]
    assert roles == ["Giáo viên chủ nhiệm", "Hiệu trưởng", "Con dấu của trường"]
    await offline.screenshots("verify-sealed")
    assert offline.aborted == []
    assert offline.console_errors == []
