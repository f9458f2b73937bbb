"""A 10,000-row students file imported as one job through the real broker (Redis) and a
worker in this process, its progress read over HTTP while it runs; then the same file
again, every row unchanged. In a database of its own: it adds 10,000 pupils.
"""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import OrgLevel, SchoolLevel, Sex
from hub.domain.personal_id import compose
from hub.jobs.actors import send
from hub.jobs.core import JobRuntime
from hub.web.app import create_app
from tests.conftest import database_of_its_own, settings_of_its_own
from tests.helpers import client_token
from tests.signing_support import jobs_settings, running_worker
from tests.spreadsheets import results_of, school_of_its_own, upload, xlsx_from_template
from tests.world import build_world

ROWS = 10_000
SCHOOL = "01IMPBIG"


@pytest.fixture(scope="module")
def settings(settings, tmp_path_factory) -> Settings:  # type: ignore[no-untyped-def]
    return settings_of_its_own(settings, tmp_path_factory.mktemp("import-job"))


@pytest.fixture(scope="module")
async def db(settings: Settings) -> AsyncIterator[Database]:
    async for database in database_of_its_own(settings):
        yield database


@pytest.fixture(scope="module")
async def school(db: Database) -> dict[str, int]:
    await build_world(db)
    return await school_of_its_own(db, SCHOOL, level=SchoolLevel.LOWER_SECONDARY, classes={})


@pytest.fixture
async def worker(settings: Settings, school) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    worker_settings = jobs_settings(settings)
    runtime = JobRuntime(settings=worker_settings, db=Database(worker_settings.database_url))
    async with running_worker(runtime) as started:
        yield started


@pytest.fixture
async def http(settings: Settings, db: Database, worker) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = create_app(settings, db, send_jobs=send)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client


def big_file() -> tuple[bytes, list[str]]:
    ids = [
        compose("001", 2012, Sex.FEMALE if n % 2 else Sex.MALE, 700_000 + n) for n in range(ROWS)
    ]
    rows = [
        [pid, None, f"Học Sinh Số {n}", "15/08/2012", "Nữ" if n % 2 else "Nam", None, SCHOOL, None]
        for n, pid in enumerate(ids)
    ]
    return xlsx_from_template("students", rows), ids


async def followed(http: httpx.AsyncClient, token: str, job_id: str) -> tuple[dict, list[int]]:  # type: ignore[type-arg]
    """The job's progress until it ends, and the rows done at each look."""
    seen: list[int] = []
    for _ in range(1800):
        got = (
            await http.get(f"/imports/{job_id}", headers={"Authorization": f"Bearer {token}"})
        ).json()
        seen.append(got["done"])
        if got["state"] != "RUNNING":
            return got, seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"the import did not end: {got}")


async def test_ten_thousand_rows_are_one_job_with_progress(http, db, worker):  # type: ignore[no-untyped-def]
    token = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[SCHOOL])
    body, ids = big_file()
    sent = await upload(http, token, "students", body, "ca-truong.xlsx")
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["jobId"]
    again = await upload(http, token, "students", body, "ca-truong.xlsx")
    assert again.json() == {"jobId": job_id, "started": False}
    ended, seen = await followed(http, token, job_id)
    assert ended["state"] == "COMPLETED" and ended["resultReady"]
    assert (ended["total"], ended["done"], ended["created"], ended["rejected"]) == (
        ROWS,
        ROWS,
        ROWS,
        0,
    )
    assert seen == sorted(seen)  # progress only moves forward, and shows midway
    assert any(0 < done < ROWS for done in seen), seen
    async with db.sessions() as session:
        stored = await session.scalar(
            select(func.count()).where(models.Student.personal_id.in_(ids))
        )
        jobs = await session.scalar(
            select(func.count()).select_from(models.Job).where(models.Job.kind == "IMPORT")
        )
    assert (stored, jobs) == (ROWS, 1)
    result = await http.get(
        f"/imports/{job_id}/result", headers={"Authorization": f"Bearer {token}"}
    )
    said = results_of(result.content)
    assert len(said) == ROWS and set(said.values()) == {"Tạo mới"}

    second = await upload(http, token, "students", body, "ca-truong.xlsx")
    assert second.status_code == 202
    ended, _ = await followed(http, token, second.json()["jobId"])
    assert (ended["unchanged"], ended["created"], ended["updated"]) == (ROWS, 0, 0)
