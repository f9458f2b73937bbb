"""The demo province answers the example queries `hub demo` prints."""

import httpx
import pytest

from hub.config import Settings
from hub.db.engine import Database
from hub.db.migrate import upgrade
from hub.demo.queries import EXAMPLE_QUERIES as DEMO_QUERIES
from hub.domain.enums import OrgLevel
from hub.seed.load import seed
from hub.web.app import create_app
from tests.helpers import client_token, data, gql


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("demo")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'demo.sqlite3'}",
        token_key_file=tmp / "key.pem",
        public_url="http://demo.test",
    )
    db = Database(settings.database_url)
    await upgrade(db.engine)
    await seed(db, size="demo", seed=2025)
    app = create_app(settings, db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://demo.test"
    ) as http:
        token = await client_token(db, http, org=OrgLevel.DEPARTMENT)
        yield http, token
    await db.dispose()


@pytest.mark.parametrize("title", list(DEMO_QUERIES))
async def test_every_printed_example_query_works(demo, title):  # type: ignore[no-untyped-def]
    http, token = demo
    result = data(await gql(http, token, DEMO_QUERIES[title]))
    assert result


async def test_the_demo_finds_nguyen_van_an_and_looks_like_the_seeds(demo):  # type: ignore[no-untyped-def]
    http, token = demo
    found = data(await gql(http, token, DEMO_QUERIES["Diacritic-insensitive search"]))
    assert "Nguyễn Văn An" in [n["fullName"] for n in found["students"]["nodes"]]
    coverage = data(
        await gql(http, token, DEMO_QUERIES["Signature coverage like the Hà Nội table (seed 003)"])
    )["certificateCoverage"]
    public = [
        r
        for r in coverage["rows"]
        if r["ownership"] == "PUBLIC" and r["level"] != "DIRECTLY_MANAGED"
    ]
    private = [r for r in coverage["rows"] if r["ownership"] == "PRIVATE"]
    public_ratio = sum(r["withValidCertificate"] for r in public) / sum(
        r["staffTotal"] for r in public
    )
    private_ratio = sum(r["withValidCertificate"] for r in private) / sum(
        r["staffTotal"] for r in private
    )
    assert 0.55 <= public_ratio <= 0.80
    assert 0.10 <= private_ratio <= 0.40
