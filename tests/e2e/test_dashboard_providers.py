"""The dashboard's signing providers (issue 12, part 4): each provider's status now and
since when, its outages over the last days with how long each lasted, the status
changes page by page, and the same figures in CSV and XLSX; a teacher is turned away.

The history is written by the health check's own recorder
(:func:`hub.signing.outages.record`), with the moments each check saw. The status
changes are one table for the whole department, so each test clears it before and after
(as the outage banner's story does) and serves the pages from an app of this module's
own, whose cached statuses no other module reads.
"""

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import delete

from hub.adapters.signing.base import Health, HealthStatus
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import SigningProvider
from hub.signing.outages import record, vietnam_time
from hub.web import i18n
from hub.web.app import create_app
from tests.helpers import Visitor, visiting
from tests.pages import table
from tests.people import People, people_school
from tests.world import World

VI = i18n.catalogue("vi")
BCY, SMARTCA = SigningProvider.BCY, SigningProvider.SMARTCA
MYSIGN, CSC, TOKEN = SigningProvider.MYSIGN, SigningProvider.CSC, SigningProvider.PKCS11
UP, DEGRADED, DOWN = HealthStatus.UP, HealthStatus.DEGRADED, HealthStatus.DOWN


@pytest.fixture(scope="module")
def hub(settings: Settings, db: Database) -> Iterator[Any]:
    yield create_app(settings, db)


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="DPR")


@pytest.fixture
async def officer(hub: Any, people: People) -> AsyncIterator[Visitor]:
    async with visiting(hub, people.officer, people.names[people.officer]) as visitor:
        yield visitor


async def forget(db: Database) -> None:
    async with db.unit_of_work() as session:
        await session.execute(delete(models.ProviderStatusChange))


@pytest.fixture
async def cleared(db: Database) -> AsyncIterator[None]:
    """No status change recorded before the test, none left after it."""
    await forget(db)
    yield
    await forget(db)


async def checks(db: Database, *seen: tuple[SigningProvider, HealthStatus, datetime]) -> None:
    """The health check saw each provider's status at each moment, one check at a time."""
    for provider, status, at in seen:
        error = None if status is UP else "không trả lời"
        await record(db, [Health(provider, status, None, error, at)])


@pytest.fixture
async def history(db: Database, cleared: None) -> datetime:
    """Ban Cơ yếu down, then slow, then up again, five days ago (one outage, 3 hours);
    MySign slow for half an hour 40 days ago; CSC down from 35 days ago until 29 days
    ago; SmartCA down since two hours ago. The moment it was written."""
    now = datetime.now(UTC)
    bcy = now - timedelta(days=5)
    await checks(
        db,
        (MYSIGN, DEGRADED, now - timedelta(days=40)),
        (MYSIGN, UP, now - timedelta(days=40, minutes=-30)),
        (CSC, DOWN, now - timedelta(days=35)),
        (CSC, UP, now - timedelta(days=29, seconds=-30)),
        (BCY, DOWN, bcy),
        (BCY, DEGRADED, bcy + timedelta(hours=1)),
        (BCY, UP, bcy + timedelta(hours=3)),
        (SMARTCA, DOWN, now - timedelta(hours=2, seconds=30)),
    )
    return now


def status(value: HealthStatus) -> str:
    return VI[f"dashboard.providers.status.{value.value}"]


async def test_each_provider_s_status_now_and_its_outages_with_their_length(
    officer: Visitor, history: datetime
) -> None:
    page = await officer.web.get("/dashboard/providers")
    assert page.status_code == 200
    bcy_back = history - timedelta(days=5) + timedelta(hours=3)
    smartca_down = history - timedelta(hours=2, seconds=30)
    # In the registry's order; only providers seen (this app has none configured).
    assert table(page.text, "status") == [
        [BCY.label, status(UP), vietnam_time(bcy_back), "1", "3 giờ 0 phút"],
        [SMARTCA.label, status(DOWN), vietnam_time(smartca_down), "1", "2 giờ 0 phút"],
        [
            MYSIGN.label,
            status(UP),
            vietnam_time(history - timedelta(days=40, minutes=-30)),
            "0",
            "0 phút",
        ],
        [
            CSC.label,
            status(UP),
            vietnam_time(history - timedelta(days=29, seconds=-30)),
            "1",
            "1 ngày 0 giờ",
        ],
    ]
    # Newest first; CSC's outage began before the 30 days but ended within them.
    assert table(page.text, "outages") == [
        [
            SMARTCA.label,
            status(DOWN),
            vietnam_time(smartca_down),
            VI["dashboard.providers.still_going"],
            "2 giờ 0 phút",
        ],
        [
            BCY.label,
            status(DOWN),
            vietnam_time(history - timedelta(days=5)),
            vietnam_time(bcy_back),
            "3 giờ 0 phút",
        ],
        [
            CSC.label,
            status(DOWN),
            vietnam_time(history - timedelta(days=35)),
            vietnam_time(history - timedelta(days=29, seconds=-30)),
            "6 ngày 0 giờ",
        ],
    ]
    changes = table(page.text, "changes")
    assert [row[:2] for row in changes] == [
        [SMARTCA.label, status(DOWN)],
        [BCY.label, status(UP)],
        [BCY.label, status(DEGRADED)],
        [BCY.label, status(DOWN)],
        [CSC.label, status(UP)],
    ]
    assert changes[0][3] == VI["dashboard.providers.until_now"]
    assert changes[2][4] == "2 giờ 0 phút" and changes[3][4] == "1 giờ 0 phút"
    assert "không trả lời" not in page.text  # a provider's own words stay in the log


async def test_a_longer_window_and_one_provider(officer: Visitor, history: datetime) -> None:
    page = (await officer.web.get("/dashboard/providers?days=90")).text
    outages = table(page, "outages")
    assert [row[0] for row in outages] == [SMARTCA.label, BCY.label, CSC.label, MYSIGN.label]
    assert outages[-1][1:] == [
        status(DEGRADED),
        vietnam_time(history - timedelta(days=40)),
        vietnam_time(history - timedelta(days=40, minutes=-30)),
        "30 phút",
    ]
    only = (await officer.web.get("/dashboard/providers?provider=BCY")).text
    assert [row[0] for row in table(only, "status")] == [BCY.label]
    assert {row[0] for row in table(only, "changes")} == {BCY.label}
    for wrong in ("days=12", "provider=NOPE", "page=0", "format=pdf"):
        assert (await officer.web.get(f"/dashboard/providers?{wrong}")).status_code == 400


async def test_the_changes_come_a_page_at_a_time(
    officer: Visitor, db: Database, cleared: None
) -> None:
    start = datetime.now(UTC) - timedelta(days=3)
    flaps = [
        (TOKEN, DOWN if n % 2 == 0 else UP, start + timedelta(minutes=10 * n)) for n in range(56)
    ]
    await checks(db, *flaps)
    first = (await officer.web.get("/dashboard/providers")).text
    assert len(table(first, "changes")) == 50
    assert table(first, "status")[0][3] == "28"  # 28 outages of ten minutes each
    assert 'href="/dashboard/providers?days=30&amp;page=2#changes-title"' in first
    second = (await officer.web.get("/dashboard/providers?days=30&page=2")).text
    assert len(table(second, "changes")) == 6
    oldest = table(second, "changes")[-1]
    assert oldest[:3] == [TOKEN.label, status(DOWN), vietnam_time(start)]
    assert oldest[4] == "10 phút"
    exported = await officer.web.get("/dashboard/providers?format=csv&table=changes")
    assert len(list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))) == 57


async def test_the_exports_hold_the_page_s_figures(officer: Visitor, history: datetime) -> None:
    page = (await officer.web.get("/dashboard/providers")).text
    exported = await officer.web.get("/dashboard/providers?format=csv&table=status")
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert lines[0][0] == VI["dashboard.providers.column.provider"]
    assert [line[:5] for line in lines[1:]] == table(page, "status")
    assert [line[5] for line in lines[1:]] == ["180", "120", "0", "1440"]

    workbook = openpyxl.load_workbook(
        io.BytesIO((await officer.web.get("/dashboard/providers?format=xlsx")).content)
    )
    outages = workbook[VI["dashboard.providers.sheet.outages"]]
    values = [list(row) for row in outages.iter_rows(min_row=2, values_only=True)]
    assert [row[:5] for row in values] == table(page, "outages")
    assert [row[5] for row in values] == [120, 180, 6 * 24 * 60]
    changes = workbook[VI["dashboard.providers.sheet.changes"]]
    assert changes.max_row - 1 == len(table(page, "changes"))


async def test_a_teacher_is_turned_away(hub: Any, people: People) -> None:
    async with visiting(hub, people.teacher, people.names[people.teacher]) as teacher:
        for address in ("/dashboard/providers", "/dashboard/providers?format=csv"):
            refused = await teacher.web.get(address)
            assert refused.status_code == 403 and "FORBIDDEN" in refused.text


async def test_with_no_change_ever_recorded_the_page_says_so(
    officer: Visitor, cleared: None
) -> None:
    """A hub whose health check has not run yet (a fresh install) still shows the page."""
    page = await officer.web.get("/dashboard/providers")
    assert page.status_code == 200, page.text
    exported = await officer.web.get("/dashboard/providers?format=xlsx")
    assert exported.status_code == 200
