"""Test fixtures shared by the integration and end-to-end tests.

The database comes from ``HUB_TEST_DATABASE_URL`` (CI points it at PostgreSQL);
without it the tests use a SQLite file. On PostgreSQL each test session works in
a database of its own, created here and dropped afterwards.
"""

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.simulator import SimulatorServer, free_port
from hub.config import Settings
from hub.db.engine import Database
from hub.db.migrate import upgrade
from hub.web.app import create_app
from tests.helpers import Visitor, visiting
from tests.people import People
from tests.world import World, build_world


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    """The random order's seed at the end of the run, even under ``-q`` (``make test``)."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"Random order: run it again with --randomly-seed={seed}")


def _database_urls(tmp: Path) -> tuple[str, str | None, str | None]:
    """(url to use, maintenance url, database name to drop afterwards)."""
    base = os.environ.get("HUB_TEST_DATABASE_URL")
    if not base:
        return f"sqlite+aiosqlite:///{tmp / 'hub-test.sqlite3'}", None, None
    url = make_url(base)
    name = f"hub_test_{secrets.token_hex(4)}"
    return url.set(database=name).render_as_string(False), base, name


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    tmp = tmp_path_factory.mktemp("hub")
    url, maintenance, name = _database_urls(tmp)
    # The dashboard counts at every request: tests read figures right after changing
    # them (tests/unit/test_figures.py covers figures kept for a while). Archive runs
    # start when a test starts one (tests/e2e/test_archive_job.py), not by the watchdog.
    yield Settings(
        database_url=url,
        token_key_file=tmp / "key.pem",
        public_url="http://hub.test",
        dashboard_refresh_seconds=0,
        # Every query the compiled GraphQL path takes is answered by both paths, which
        # must agree (hub.fastpath; tests/e2e/test_fastpath.py).
        graphql_fastpath="check",
        archive_hours=0,
    )
    if maintenance and name:
        import asyncio

        asyncio.run(_drop_database(maintenance, name))


async def _run_admin(maintenance: str, statement: str) -> None:
    engine = create_async_engine(maintenance, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


async def _drop_database(maintenance: str, name: str) -> None:
    await _run_admin(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        maintenance = os.environ["HUB_TEST_DATABASE_URL"]
        await _run_admin(maintenance, f'CREATE DATABASE "{url.database}"')
    database = Database(settings.database_url)
    await upgrade(database.engine)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def world(db: Database) -> World:
    return await build_world(db)


def settings_of_its_own(settings: Settings, tmp: Path) -> Settings:
    """``settings`` with a database of its own, for a module whose jobs read every row
    of a kind (a certificate refresh, an archive run): the schools it builds would
    change what other modules assert about the shared world, and theirs its counts."""
    url, _, _ = _database_urls(tmp)
    return settings.model_copy(update={"database_url": url})


async def database_of_its_own(settings: Settings) -> AsyncIterator[Database]:
    """The database of :func:`settings_of_its_own`, created, migrated, dropped after."""
    maintenance, name = os.environ.get("HUB_TEST_DATABASE_URL"), make_url(settings.database_url)
    if maintenance:
        await _run_admin(maintenance, f'CREATE DATABASE "{name.database}"')
    database = Database(settings.database_url)
    await upgrade(database.engine)
    yield database
    await database.dispose()
    if maintenance and name.database:
        await _drop_database(maintenance, name.database)


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db)


@pytest.fixture
async def officer(app, people: People) -> AsyncIterator[Visitor]:  # type: ignore[no-untyped-def]
    """A browser signed in at ``app`` as the department officer of the module's
    ``people`` (the module defines that fixture, its school's code its own)."""
    async with visiting(app, people.officer, people.names[people.officer]) as visitor:
        yield visitor


@pytest.fixture(scope="session")
async def http(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture(scope="session")
def pki() -> Iterator[DemoPKI]:
    """The demo PKI, its CRL/OCSP/TSA served over real HTTP on loopback."""
    port = free_port("127.0.0.1")
    demo_pki = DemoPKI.create(f"http://127.0.0.1:{port}")
    with SimulatorServer(demo_pki.app(), port=port):
        yield demo_pki
