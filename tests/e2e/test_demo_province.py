"""The demo province answers the example queries `hub demo` prints."""

import httpx
import pytest
from sqlalchemy import select

from hub.adapters.signing.simulator import SimulatorServer, free_port
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.db.migrate import upgrade
from hub.demo.identity import demo_people, start_identity
from hub.demo.queries import EXAMPLE_QUERIES as DEMO_QUERIES
from hub.domain.enums import OrgLevel, SchoolLevel
from hub.seed.load import seed
from hub.web.app import create_app
from tests.helpers import client_token, data, gql


@pytest.fixture(scope="module")
async def province(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("demo")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'demo.sqlite3'}",
        token_key_file=tmp / "key.pem",
        vneid_key_file=tmp / "vneid.pem",
        public_url="http://demo.test",
    )
    db = Database(settings.database_url)
    await upgrade(db.engine)
    await seed(db, size="demo", seed=2025)
    yield settings, db
    await db.dispose()


@pytest.fixture(scope="module")
async def demo(province):  # type: ignore[no-untyped-def]
    settings, db = province
    app = create_app(settings, db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://demo.test"
    ) as http:
        token = await client_token(db, http, org=OrgLevel.DEPARTMENT)
        yield http, token


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


async def test_the_people_hub_demo_prints_sign_in_with_their_roles(province) -> None:  # type: ignore[no-untyped-def]
    """What `hub demo` prints under "Đăng nhập": each person picks their name at the
    simulated VNeID or provincial SSO and `/me` shows the role the table names."""
    settings, db = province
    async with db.sessions() as session:
        school_code = await session.scalar(
            select(models.School.moet_code)
            .join(models.SchoolClass, models.SchoolClass.school_id == models.School.id)
            .where(models.School.level == SchoolLevel.LOWER_SECONDARY)
            .order_by(models.School.id)
        )
    port = free_port("127.0.0.1")
    served = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    people = await demo_people(served, school_code)
    assert [p.role.split()[0] for p in people] == ["Giáo", "Hiệu", "Cha", "Học", "Cán", "Tuyển"]
    identity = start_identity(served, people)
    server = SimulatorServer(
        create_app(served.model_copy(update=identity.settings)), port=port
    ).start()
    try:
        for provider, sso in (("vneid", identity.vneid), ("oidc", identity.oidc)):
            for person in people:
                async with httpx.AsyncClient(base_url=server.url, timeout=15) as browser:
                    start = await browser.get(f"/login?provider={provider}")
                    sso.next_login(person.personal_id)
                    async with httpx.AsyncClient() as at_sso:
                        back = await at_sso.get(start.headers["location"])
                    answer = await browser.get(back.headers["location"])
                    me = (await browser.get("/me")).json()
                    admission = await browser.get("/admission")
                assert answer.status_code == 303, (provider, person, answer.text)
                if person.role.startswith("Học sinh"):
                    assert me["roles"]["pupil"] is True, me
                    continue
                if person.role.startswith("Tuyển sinh"):
                    assert admission.status_code == 200, (provider, person, admission.text)
                    continue
                roles = me["roles"]
                held = {
                    "Giáo": bool(roles["homeroomClasses"]),
                    "Hiệu": bool(roles["principalOf"]),
                    "Cha": bool(me["guardianships"]),
                    "Cán": roles["departmentOfficer"],
                }
                assert held[person.role.split()[0]], (provider, person, me)
    finally:
        server.stop()
        identity.stop()
