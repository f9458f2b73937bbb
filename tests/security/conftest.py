"""A province of its own for the security tests that write.

They attach people across schools, withdraw pupils and move them: on the shared
test world those writes would change the figures other tests assert, so this
package's writing tests get a fresh database (SQLite file, or a PostgreSQL database
of its own in CI) with the same small province.
"""

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from hub.config import Settings
from hub.db.engine import Database
from hub.db.migrate import upgrade
from hub.web.app import create_app
from tests.conftest import _drop_database, _run_admin
from tests.world import World, build_world


@dataclass
class Province:
    """A database, the app over it and the province in it."""

    db: Database
    app: Starlette
    http: httpx.AsyncClient
    world: World
    settings: Settings


def _fresh_url(tmp: Path) -> tuple[str, str | None]:
    base = os.environ.get("HUB_TEST_DATABASE_URL")
    if not base:
        return f"sqlite+aiosqlite:///{tmp / 'own.sqlite3'}", None
    name = f"hub_own_{secrets.token_hex(4)}"
    return make_url(base).set(database=name).render_as_string(False), base


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Province]:
    tmp = tmp_path_factory.mktemp("own")
    url, maintenance = _fresh_url(tmp)
    name = make_url(url).database
    if maintenance:
        await _run_admin(maintenance, f'CREATE DATABASE "{name}"')
    db = Database(url)
    await upgrade(db.engine)
    world = await build_world(db)
    settings = Settings(
        database_url=url, token_key_file=tmp / "key.pem", public_url="http://hub.test"
    )
    app = create_app(settings, db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as http:
        yield Province(db=db, app=app, http=http, world=world, settings=settings)
    await db.dispose()
    if maintenance and name:
        await _drop_database(maintenance, name)
