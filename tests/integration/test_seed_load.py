"""Seeding a migrated database: counts, change counter, sequences, the demo pupil.

Runs on the database of ``HUB_TEST_DATABASE_URL``: SQLite in a temporary file
by default; for a PostgreSQL URL a throwaway database ``hub_test_seed_<random>``
is created next to the named one and dropped afterwards (the named database
itself is never touched).
"""

import os
import secrets
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from hub.db.engine import Database
from hub.db.migrate import upgrade
from hub.db.models import ChangeCounter, Enrolment, School, Student
from hub.seed.generate import TABLES, TRACKED, Size, plan
from hub.seed.load import SeedError, seed

pytestmark = pytest.mark.integration

AS_OF = date(2025, 11, 20)


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    url = os.environ.get("HUB_TEST_DATABASE_URL", "")
    parsed = make_url(url) if url else None
    if parsed is None or parsed.get_backend_name() != "postgresql":
        yield f"sqlite+aiosqlite:///{tmp_path / 'seed.sqlite3'}"
        return
    name = f"hub_test_seed_{secrets.token_hex(4)}"
    maintenance = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    async with await psycopg.AsyncConnection.connect(maintenance, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        async with await psycopg.AsyncConnection.connect(maintenance, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await upgrade(database.engine)
    try:
        yield database
    finally:
        await database.dispose()


async def _count(db: Database, table: str) -> int:
    async with db.engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def test_seed_school_size(db: Database) -> None:
    seen: dict[str, int] = {}
    report = await seed(
        db, size="school", seed=2025, as_of=AS_OF, progress=lambda t, n: seen.__setitem__(t, n)
    )
    expected = plan(Size.SCHOOL, seed=2025, as_of=AS_OF)

    for table in TABLES:
        assert await _count(db, table) == report.rows[table], table
    assert report.rows["schools"] == 3
    assert report.rows["students"] == report.rows["enrolments"] == expected.students
    assert report.rows["staff"] == expected.staff
    assert report.rows["classes"] == sum(len(s.classes) for s in expected.schools)
    assert seen == {table: n for table, n in report.rows.items() if n}
    assert report.total_rows == sum(report.rows.values())
    assert report.rows_per_second > 0

    async with db.sessions() as session:
        counter = await session.get(ChangeCounter, 1)
        assert counter is not None
        assert counter.value == report.last_change_version
        assert counter.value == sum(report.rows[table] for table in TRACKED)
        highest = 0
        for table in TRACKED:
            top = (await session.execute(text(f"SELECT max(change_version) FROM {table}"))).scalar()
            highest = max(highest, top or 0)
        assert highest == counter.value

        an = (
            await session.scalars(select(Student).where(Student.full_name == "Nguyễn Văn An"))
        ).all()
        assert an
        assert an[0].search_name == "nguyen van an"
        found = await session.scalars(
            select(Student.id).where(Student.search_name.contains("nguyen van an"))
        )
        assert an[0].id in found.all()
        current = await session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.school_year_id == 2)
        )
        assert current == expected.students

    # The change feed and the id sequences carry on after the seed.
    async with db.unit_of_work() as session:
        newcomer = Student(
            full_name="Trần Thị Bình", search_name="tran thi binh", school_id=1, needs_review=False
        )
        session.add(newcomer)
    assert newcomer.id == report.rows["students"] + 1
    assert newcomer.change_version == report.last_change_version + 1


async def test_seed_refuses_a_database_that_has_schools(db: Database) -> None:
    await seed(db, size="school", seed=1, as_of=AS_OF)
    with pytest.raises(SeedError, match="already holds 3 schools"):
        await seed(db, size="school", seed=2, as_of=AS_OF)
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(School)) == 3


async def test_index_rebuild_restores_every_index_and_constraint(db: Database) -> None:
    if db.dialect != "postgresql":
        # SQLite is loaded with batched inserts and never drops an index.
        report = await seed(db, size="school", seed=2025, as_of=AS_OF, rebuild_indexes=True)
        assert report.rebuilt_indexes is False
        return
    catalogue = text(
        """
        SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL
        SELECT 'constraint ' || conname || ': ' || pg_get_constraintdef(oid) || ' '
               || convalidated::text
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        ORDER BY 1
        """
    )
    async with db.engine.connect() as conn:
        before = (await conn.execute(catalogue)).scalars().all()
    report = await seed(db, size="school", seed=2025, as_of=AS_OF, rebuild_indexes=True)
    assert report.rebuilt_indexes
    async with db.engine.connect() as conn:
        after = (await conn.execute(catalogue)).scalars().all()
    assert after == before
    assert any("search_words" in line for line in after)
