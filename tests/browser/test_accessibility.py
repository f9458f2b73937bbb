"""Every page against WCAG 2.1 A and AA, as Deque's axe-core (not ours) checks them.

axe-core is installed from the npm registry by ``make test``
(``tests/foreign/axe``) and injected into each page in Debian's chromium; the page
must have no violation of the rules tagged wcag2a, wcag2aa, wcag21a and wcag21aa —
labels, names, contrast, landmarks, language, headings — at a desktop's width and a
phone's.
"""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from hub.db import models
from hub.db.engine import Database
from tests.browser.conftest import PHONE, Hub, Offline, offline_page
from tests.people import People, people_school

AXE = Path(__file__).resolve().parents[1] / "foreign" / "axe" / "node_modules" / "axe-core"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

#: Who opens which page (None: no sign-in).
PAGES: list[tuple[str | None, str]] = [
    (None, "/login"),
    (None, "/verify"),
    (None, "/verify/00000000-0000-4000-8000-000000000000"),  # a page saying why not
    ("teacher", "/sign"),
    ("principal", "/sign"),
    ("guardian", "/family"),
    ("officer", "/dashboard"),
    ("officer", "/dashboard/coverage?district={district}"),
    ("officer", "/dashboard/staff?school={school}"),
    ("officer", "/dashboard/signing"),
    ("officer", "/dashboard/providers"),
    ("officer", "/dashboard/migrations"),
    ("officer", "/dashboard/batches"),
    ("officer", "/dashboard/sync"),
    ("officer", "/dashboard/pupils"),
    ("officer", "/dashboard/pupils/district?district={district}"),
    ("officer", "/dashboard/results"),
    ("officer", "/dashboard/results?district={district}"),
    ("officer", "/dashboard/imports"),
]


@pytest.fixture(scope="module")
async def people(db: Database, world: Any) -> People:
    return await people_school(db, code="A11Y")


@pytest.fixture(scope="module")
async def district(db: Database, people: People) -> int:
    async with db.sessions() as session:
        found = await session.scalar(
            select(models.School.district_id).where(models.School.id == people.school_id)
        )
    assert found is not None
    return found


@pytest.fixture
async def checked(browser: Browser) -> AsyncIterator[Offline]:
    """A page on loopback only, whose content-security policy lets the test inject
    axe-core (the pages' own policy allows no script but the hub's)."""
    assert (AXE / "axe.min.js").is_file(), "axe-core is missing: run `make test`"
    async with offline_page(browser, bypass_csp=True) as watched:
        yield watched


async def violations(offline: Offline) -> list[str]:
    await offline.page.add_script_tag(path=str(AXE / "axe.min.js"))
    found = await offline.page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; "));
        }""",
        TAGS,
    )
    return list(found)


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{w or 'anyone'} {p}" for w, p in PAGES])
async def test_the_page_meets_wcag_2_1_aa(  # type: ignore[no-untyped-def]
    checked: Offline, served_hub: Hub, db: Database, people: People, district: int, who, path
) -> None:
    if who is not None:
        await checked.sign_in(served_hub, db, getattr(people, who))
    address = served_hub.url + path.format(district=district, school=people.school_id)
    response = await checked.page.goto(address)
    assert response is not None and "<main" in await response.text(), path
    assert not await violations(checked), (path, "desktop")
    await checked.page.set_viewport_size(PHONE)
    assert not await violations(checked), (path, "phone")
    assert checked.aborted == []


async def test_the_check_finds_what_it_looks_for(checked: Offline, served_hub: Hub) -> None:
    """An image without a text and grey on grey, planted in a page, are caught."""
    await checked.page.goto(served_hub.url + "/verify")
    await checked.page.evaluate(
        """() => {
            const main = document.querySelector("main");
            main.insertAdjacentHTML("beforeend",
                '<img src="/static/hub.css"><p style="color:#bbb;background:#ccc">mờ</p>');
        }"""
    )
    found = " ".join(await violations(checked))
    assert "image-alt" in found and "color-contrast" in found, found
