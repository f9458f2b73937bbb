"""An officer of the Sở moves a school's staff to the Government CA in a real browser: plans
it with the form, starts it, watches it move while the test signatures wait on the phones
(the page's script follows it, no reload by hand), and rolls it back.

The hub is served on loopback with the demo's simulators and a Dramatiq worker in this
process. Each page is photographed on a desktop and on a 390 px phone (var/screenshots/).
"""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from hub.adapters.signing.simulator import Phone, PhoneAnswer, SimState
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import SigningProvider
from hub.jobs.core import JobRuntime
from hub.signing.setup import signing_services
from hub.web.app import create_app
from tests import signing_support as support
from tests.browser.conftest import Hub, Offline, serving
from tests.people import People, people_school
from tests.schools import SigningSchool, signing_school

BCY, MYSIGN, SMARTCA = SigningProvider.BCY, SigningProvider.MYSIGN, SigningProvider.SMARTCA
#: How long the page may take to follow the worker (the script asks every 2 s).
FOLLOW_MS = 30_000

demo = support.demo


@pytest.fixture(scope="module")
async def people(db: Database, world: Any) -> People:
    return await people_school(db, code="BMG")


@pytest.fixture(scope="module")
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    """Two MySign teachers (the first already holds a Government CA credential), one at
    SmartCA, a MySign principal."""
    found = await signing_school(
        db,
        demo,
        code="01MGBROW",
        school_year_id=world.current_year_id,
        teacher_providers=[MYSIGN, MYSIGN, SMARTCA],
        principal_provider=MYSIGN,
        per_class=0,
    )
    first = found.teachers[0]
    async with db.sessions() as session:
        name = await session.scalar(
            select(models.Staff.full_name).where(models.Staff.personal_id == first)
        )
    demo.back_offices[BCY].enrol(first, full_name=name or "?", personal_id=first)
    return found


@pytest.fixture(scope="module")
def runtime(settings: Settings, demo: DemoSigning, tmp_path_factory: Any) -> JobRuntime:
    return support.enrolling_runtime(settings, demo, tmp_path_factory.mktemp("migration-worker"))


@pytest.fixture(scope="module")
async def worker(runtime: JobRuntime) -> AsyncIterator[dramatiq.Worker]:
    async with support.running_worker(runtime) as started:
        yield started


@pytest.fixture(scope="module")
def migrating_hub(
    settings: Settings,
    demo: DemoSigning,
    runtime: JobRuntime,
    worker: dramatiq.Worker,
    tmp_path_factory: Any,
) -> Iterator[Hub]:
    """The hub served on loopback, asking the simulators (with adapters of its own, made for
    the server's event loop) and sending the migration's work to the worker."""
    from hub.jobs.actors import send

    environment = demo.worker_environment(tmp_path_factory.mktemp("served"))

    def make(served: Settings) -> Any:
        return create_app(
            served, signing=signing_services(served), send_jobs=send, enrolment=runtime.enrolment
        )

    with serving(
        make,
        settings,
        signing_providers_file=Path(environment["HUB_SIGNING_PROVIDERS_FILE"]),
        tsa_url=environment["HUB_TSA_URL"],
    ) as hub:
        yield hub


@pytest.fixture
def phones_wait(demo: DemoSigning) -> Iterator[Any]:
    """The Government CA's signers do not answer until the test approves by hand."""
    office = demo.back_offices[BCY]
    office.phone = Phone(answer=PhoneAnswer.IGNORE)
    yield office
    office.phone = Phone(confirm_delay=0.2)


async def test_the_officer_plans_starts_follows_and_rolls_back(
    migrating_hub: Hub,
    offline: Offline,
    school: SigningSchool,
    people: People,
    db: Database,
    phones_wait: Any,
) -> None:
    await offline.sign_in(migrating_hub, db, people.officer)
    page = offline.page

    await page.goto(f"{migrating_hub.url}/dashboard/migrations")
    await page.select_option("#from", "MYSIGN")
    await page.select_option("#to", "BCY")
    await page.fill("#school", school.code)
    await offline.screenshots("migrations-list")
    await page.get_by_role("button", name="Lập kế hoạch (chạy thử)").click()

    await page.wait_for_url("**/dashboard/migrations/plan?**")
    assert await page.locator("#plan tbody tr").count() == 4
    assert await page.locator('#plan tbody tr[data-action="SKIP"]').count() == 1
    await offline.screenshots("migration-plan")
    await page.get_by_role("button", name="Bắt đầu chuyển 3 người").click()

    # The test signatures wait on the phones: the page shows them waiting, by itself.
    await page.wait_for_url("**/dashboard/migrations/*?done=started")
    status = page.locator("#migration")
    assert await status.get_attribute("data-state") == "RUNNING"
    await expect(page.locator('[data-count="testing"]')).to_have_text("3", timeout=FOLLOW_MS)
    assert await page.locator("#migration-progress-text").inner_text() == "Đã xong 1/4 người"
    await offline.screenshots("migration-running")

    for transaction in list(phones_wait.transactions.values()):
        mover = transaction.credential.user_id in (*school.teachers[:2], school.principal)
        if mover and transaction.state is SimState.PENDING:
            phones_wait.approve(transaction.transaction_id)
    # The script sees everyone done and loads the page again: the new state's buttons.
    await page.wait_for_selector('#migration[data-state="SWITCHED"]', timeout=FOLLOW_MS)
    bar = page.locator("#migration-progress")
    assert await bar.evaluate("b => b.value / b.max") == 1
    assert await page.locator("#migration-progress-text").inner_text() == "Đã xong 4/4 người"
    assert await page.locator('[data-count="switched"]').inner_text() == "3"
    assert await page.get_by_role("button", name="Xác nhận chuyển hẳn").is_visible()
    await offline.screenshots("migration-switched")

    await page.locator("form.control-rollback input[type=checkbox]").check()
    await page.get_by_role("button", name="Hoàn tác").click()
    await page.wait_for_url("**?done=rolled_back")
    assert await status.get_attribute("data-state") == "ROLLED_BACK"
    assert await page.locator("#migration-state").inner_text() == "Đã hoàn tác"
    assert await page.locator('[data-count="rolled_back"]').inner_text() == "3"
    assert await page.locator(".migration-controls").count() == 0
    states = await page.locator("#people tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.state).sort()"
    )
    assert states == ["ROLLED_BACK", "ROLLED_BACK", "ROLLED_BACK", "SKIPPED"]
    await offline.screenshots("migration-rolled-back")

    await page.goto(f"{migrating_hub.url}/dashboard/migrations")
    assert await page.locator("#migrations tbody tr").count() >= 1
    await offline.screenshots("migrations-list-after")
    assert offline.aborted == []
    assert offline.console_errors == []
