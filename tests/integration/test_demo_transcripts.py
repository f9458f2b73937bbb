"""``hub demo`` readies transcripts drafted from the seeded gradebook, seal or no seal."""

import pytest
from sqlalchemy import select
from strawberry.relay import GlobalID

from hub.adapters.signing.pkcs11.simulator import SoftHSMUnavailable
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.db.migrate import upgrade
from hub.demo.transcripts import READY_COUNT, enrol_and_ready
from hub.seed.load import seed


class NoSealHere:
    """A demo suite on a machine without SoftHSM2: people enrol, the seal fails."""

    def __init__(self) -> None:
        self.enrolled: list[int] = []

    async def enrol_school(self, session, school_id: int) -> int:  # type: ignore[no-untyped-def]
        self.enrolled.append(school_id)
        raise SoftHSMUnavailable("SoftHSM2 is not installed")


@pytest.fixture
async def province(tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
        token_key_file=tmp_path / "key.pem",
        public_url="http://demo.test",
    )
    db = Database(settings.database_url)
    await upgrade(db.engine)
    await seed(db, size="school", seed=2025)
    async with db.sessions() as session:
        code = await session.scalar(
            select(models.School.moet_code).where(models.School.level == "LOWER_SECONDARY")
        )
    yield settings, db, code
    await db.dispose()


async def test_the_ready_transcripts_carry_the_years_results(province):  # type: ignore[no-untyped-def]
    settings, db, code = province
    suite = NoSealHere()
    ready = await enrol_and_ready(settings, suite, code, seal=False)
    assert ready is not None and len(ready.ids) == READY_COUNT
    assert suite.enrolled and ready.teacher_personal_id and ready.principal_personal_id
    ids = [int(GlobalID.from_id(i).node_id) for i in ready.ids]
    async with db.sessions() as session:
        rows = list(
            await session.scalars(select(models.Transcript).where(models.Transcript.id.in_(ids)))
        )
    assert {t.state for t in rows} == {"READY"}
    assert all(t.learning_result is not None for t in rows)


async def test_a_missing_seal_token_is_an_error_when_the_seal_was_expected(province):  # type: ignore[no-untyped-def]
    settings, _, code = province
    with pytest.raises(SoftHSMUnavailable):
        await enrol_and_ready(settings, NoSealHere(), code, seal=True)
