"""A family shares a transcript with an admission service, in a real browser, and takes
it back: the mother gives the consent on ``/family`` after reading its text and ticking
the box herself, her daughter (13) agrees with "Em đồng ý"; the service's admission
officer then finds the transcript on ``/admission`` with the receipt number and the
pupil's personal ID, sees it verified and downloads the signed PDF. The mother
withdraws the consent and the officer's next look is refused, saying so.

Each person's browser is signed in as the sign-in callback would sign them in
(:meth:`Offline.sign_in`); the school, its sealed transcript and the service are the
module's own (:func:`tests.e2e.test_admission_page.build_shared_school`).
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from hub.adapters.signing.pki import DemoPKI
from hub.config import Settings
from hub.db.engine import Database
from hub.domain import consent as rule
from hub.web.app import create_app
from tests.browser.conftest import Hub, Offline, serving, verifying
from tests.e2e.test_admission_page import PURPOSE, SERVICE, SharedSchool, build_shared_school


@pytest.fixture(scope="module")
async def shared(db: Database, pki: DemoPKI, world: Any, port: int) -> SharedSchool:
    return await build_shared_school(
        db, pki, world, code="CONBR", base_url=f"http://127.0.0.1:{port}"
    )


@pytest.fixture(scope="module")
def consent_hub(settings: Settings, pki: DemoPKI, port: int, shared: SharedSchool) -> Iterator[Hub]:
    """The hub served on loopback, verifying against the demo PKI's roots; people's roles
    are read again at every request (no second's delay after a change)."""
    make = partial(create_app, signing=verifying(pki))
    with serving(make, settings, port=port, clients_poll_seconds=0) as hub:
        yield hub


async def as_person(offline: Offline, hub: Hub, db: Database, personal_id: str) -> Page:
    """The browser, signed out of whoever it was and signed in as ``personal_id``."""
    await offline.page.context.clear_cookies()
    await offline.sign_in(hub, db, personal_id)
    return offline.page


async def consent_rows(page: Page) -> dict[str, str]:
    """The consents listed on the family page: row id → its status, as shown."""
    rows = {}
    for row in await page.locator('tr[id^="consent-"]').all():
        row_id = await row.get_attribute("id") or ""
        rows[row_id] = (await row.locator(".consent-status").inner_text()).strip()
    return rows


async def look_up(page: Page, hub: Hub, receipt: str, pupil: str) -> None:
    await page.goto(f"{hub.url}/admission")
    await page.get_by_label("Số biên nhận sự đồng ý").fill(receipt)
    await page.get_by_label("Số định danh cá nhân của học sinh").fill(pupil)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Tra cứu").click()


async def test_a_consent_given_read_under_and_withdrawn(
    consent_hub: Hub, offline: Offline, shared: SharedSchool, db: Database, tmp_path: Path
) -> None:
    people = shared.people
    student = people.student_id
    until = rule.day_in_vietnam(datetime.now(UTC)) + timedelta(days=60)

    # The mother gives the consent: the text first, then the box she ticks herself.
    page = await as_person(offline, consent_hub, db, people.guardian)
    await page.goto(f"{consent_hub.url}/family")
    before = await consent_rows(page)
    await page.locator(f"#recipient-{student}").select_option(shared.service)
    await page.locator(f"#purpose-{student}").fill(PURPOSE)
    await page.locator(f'#pupil-{student} input[name="years"][value="{shared.year}"]').check()
    await page.locator(f"#until-{student}").fill(until.isoformat())
    await offline.screenshots("family-consent-form")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Xem nội dung đồng ý").click()
    text = await page.locator(".consent-text").inner_text()
    assert SERVICE in text and PURPOSE in text and shared.year in text
    tick = page.get_by_label("Tôi đã đọc và đồng ý", exact=False)
    assert not await tick.is_checked()
    await offline.screenshots("family-consent-text")
    await tick.check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Ghi nhận sự đồng ý").click()
    after = await consent_rows(page)
    [row_id] = set(after) - set(before)
    receipt = row_id.removeprefix("consent-")
    assert after[row_id] == "Chờ học sinh xác nhận đồng ý"  # she is 13: she agrees too
    listed = await page.locator(f"#{row_id}").inner_text()
    assert SERVICE in listed and PURPOSE in listed
    await offline.screenshots("family-consent-listed")

    # Not in force before the pupil agrees: the officer is told so, and nothing shows.
    page = await as_person(offline, consent_hub, db, shared.officer)
    await look_up(page, consent_hub, receipt, people.pupil)
    error = await page.locator("#admission-error").inner_text()
    assert "CONSENT_PENDING" in error and "học sinh chưa xác nhận" in error
    assert people.names[people.pupil] not in await page.content()
    await offline.screenshots("admission-refused-pending")

    page = await as_person(offline, consent_hub, db, people.pupil)
    await page.goto(f"{consent_hub.url}/family")
    async with page.expect_navigation():
        await page.locator(f"#{row_id}").get_by_role("button", name="Em đồng ý").click()
    assert (await consent_rows(page))[row_id] == "Đang có hiệu lực"

    # In force: the officer finds the transcript, sees it verified and downloads it.
    page = await as_person(offline, consent_hub, db, shared.officer)
    await page.goto(f"{consent_hub.url}/admission")
    await offline.screenshots("admission-form")
    await look_up(page, consent_hub, receipt, people.pupil)
    assert people.names[people.pupil] in await page.locator("h1").inner_text()
    assert f"Sự đồng ý số {receipt}" in await page.locator("#consent").inner_text()
    await offline.screenshots("admission-pupil")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Xem và kiểm tra").click()
    transcript_url = page.url
    assert (await page.locator(".verdict-word").inner_text()).strip() == "Hợp lệ"
    assert await page.locator(".signers li").count() == 3
    content = await page.locator("#content").locator("xpath=..").inner_text()
    assert people.names[people.pupil] in content and shared.year in content
    await offline.screenshots("admission-transcript")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Tải bản PDF").click()
    download = await downloading.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.suffix == ".pdf" and saved.read_bytes() == shared.pdf

    # The mother withdraws it; the page says so at once.
    page = await as_person(offline, consent_hub, db, people.guardian)
    await page.goto(f"{consent_hub.url}/family")
    async with page.expect_navigation():
        await page.locator(f"#{row_id}").get_by_role("button", name="Rút lại").click()
    assert (await consent_rows(page))[row_id] == "Đã rút lại"
    reads = await page.locator(f"#pupil-{student} table.reads").inner_text()
    assert SERVICE in reads and f"số {receipt}" in reads  # who read, under which consent
    await offline.screenshots("family-consent-withdrawn")

    # The officer's next look is refused, saying why.
    page = await as_person(offline, consent_hub, db, shared.officer)
    await page.goto(transcript_url)
    refusal = await page.locator("main").inner_text()
    assert "CONSENT_REVOKED" in refusal and "Gia đình đã rút lại sự đồng ý số" in refusal
    assert people.names[people.pupil] not in await page.content()
    await offline.screenshots("admission-refused-withdrawn")
    await look_up(page, consent_hub, receipt, people.pupil)
    assert "CONSENT_REVOKED" in await page.locator("#admission-error").inner_text()
    assert offline.aborted == []
    # The refusals answer 403, which the browser's console notes; no script failed.
    refusals = "the server responded with a status of 403"
    assert [e for e in offline.console_errors if refusals not in e] == []
