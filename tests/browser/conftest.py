"""Real-browser tests: Debian's chromium, driven by Playwright, on a hub served on loopback.

No browser is downloaded (``make test`` installs the ``chromium`` package). Every page
is cut off from everything but the hub: a request to any other host is aborted and
recorded in :attr:`Offline.aborted`, so a test can assert that nothing left loopback.
Screenshots go to ``var/screenshots/`` (not in git), of a desktop's width and of a
phone's (:meth:`Offline.screenshots`, which also checks that the page fits the phone).
"""

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Route,
    ViewportSize,
    async_playwright,
)

from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.registry import SigningProviders
from hub.adapters.signing.simulator import SimulatorServer, free_port
from hub.auth.sessions import SessionStore
from hub.config import Settings
from hub.db.engine import Database
from hub.signing.service import SigningServices
from hub.signing.trust import TrustStore
from hub.web.app import create_app
from tests.helpers import signed_in_session

CHROMIUM = "/usr/bin/chromium"
LOOPBACK = frozenset({"127.0.0.1", "localhost"})
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
#: The viewports pages are looked at in: a desktop's, and a phone's 390 CSS pixels.
DESKTOP: ViewportSize = {"width": 1400, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass
class Hub:
    url: str
    settings: Settings


@contextmanager
def serving(
    make_app: Callable[[Settings], Any],
    settings: Settings,
    *,
    port: int | None = None,
    **update: Any,
) -> Iterator[Hub]:
    """The app ``make_app`` makes of ``settings`` (with ``update``, and its public address
    the served one) served by uvicorn on 127.0.0.1 (on ``port``, or a free one) until the
    block ends."""
    port = port or free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    served = settings.model_copy(update={"public_url": url, **update})
    server = SimulatorServer(make_app(served), port=port).start()
    try:
        yield Hub(url, served)
    finally:
        server.stop()


def verifying(pki: DemoPKI) -> SigningServices:
    """Signing services that sign nothing and verify against the demo PKI's roots."""
    return SigningServices(
        providers=SigningProviders({}), trust=TrustStore(pki.roots), timestamper=None
    )


@pytest.fixture(scope="module")
def port() -> int:
    """A free port on 127.0.0.1 for a module's own hub, known before it is served (the
    QR code of a transcript the module makes names it)."""
    return free_port("127.0.0.1")


@pytest.fixture(scope="session")
def served_hub(settings: Settings, db: object) -> Iterator[Hub]:
    """The hub (demo mode, the test database) served by uvicorn on 127.0.0.1."""
    with serving(create_app, settings) as hub:
        yield hub


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium, headless; host names other than localhost do not resolve."""
    assert shutil.which(CHROMIUM), "chromium is missing: run `make test` (it installs it)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
        )
        yield launched
        await launched.close()


@dataclass
class Offline:
    """A page that reaches loopback only, with what it tried to reach elsewhere."""

    page: Page
    aborted: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def screenshots(self, name: str) -> list[Path]:
        """The page at a desktop's width (``name``-desktop) and a phone's (``name``-phone),
        back at the desktop's after; at the phone's nothing may stick out sideways (a
        wide table scrolls in its own box, not the page)."""
        desktop = await self.screenshot(f"{name}-desktop")
        await self.page.set_viewport_size(PHONE)
        try:
            overflow = await self.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} is {overflow}px wider than a phone"
            phone = await self.screenshot(f"{name}-phone")
        finally:
            await self.page.set_viewport_size(DESKTOP)
        return [desktop, phone]

    async def sign_in(self, hub: "Hub", db: Database, personal_id: str) -> None:
        """The page's browser signed in as ``personal_id``: a session made as the
        sign-in callback makes one, its cookie in the browser."""
        sessions = SessionStore(db, hub.settings)
        token, _ = await signed_in_session(sessions, personal_id, "?")
        await self.page.context.add_cookies(
            [{"name": sessions.cookie_name, "value": token, "url": hub.url}]
        )


@asynccontextmanager
async def offline_page(browser: Browser, **options: Any) -> AsyncIterator[Offline]:
    """A fresh browser context (``options`` for it, on a desktop's viewport) and page
    whose network ends at 127.0.0.1, closed after the block."""
    context = await browser.new_context(**{"viewport": DESKTOP, **options})
    page = await context.new_page()
    watched = Offline(page)

    async def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            await route.continue_()
        else:
            watched.aborted.append(route.request.url)
            await route.abort("internetdisconnected")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.console_errors.append(message.text)

    def on_page_error(error: Error) -> None:
        watched.console_errors.append(f"{error.name}: {error.message}")

    await context.route("**/*", loopback_only)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    try:
        yield watched
    finally:
        await context.close()


@pytest.fixture
async def offline(browser: Browser) -> AsyncIterator[Offline]:
    """A fresh browser context and page whose network ends at 127.0.0.1."""
    async with offline_page(browser) as watched:
        yield watched
