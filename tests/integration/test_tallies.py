"""The report tallies (migration 0019, hub.db.tallies) equal a recount from the rows after
every kind of write, on PostgreSQL (statement triggers over transition tables) and on
SQLite (row triggers), and compaction changes no count."""

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, func, insert, select, text, update

from hub.config import Settings
from hub.db import models, tallies
from hub.db.engine import Database
from hub.db.migrate import alembic_config, upgrade
from hub.domain.enums import IdentityStatus, Ownership, SchoolLevel
from tests.conftest import database_of_its_own, settings_of_its_own


@pytest.fixture(params=["postgresql", "sqlite"])
async def database(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'tallies.sqlite3'}")
        await upgrade(database.engine)
        yield database
        await database.dispose()
        return
    if not settings.database_url.startswith("postgresql"):
        pytest.fail("set HUB_TEST_DATABASE_URL: the tallies' PostgreSQL triggers need testing")
    async for database in database_of_its_own(settings_of_its_own(settings, tmp_path)):
        yield database


async def agree(db: Database) -> dict[str, int]:
    """Assert every tally equals its recount; the counted rows by tally."""
    totals = {}
    async with db.unit_of_work() as session:
        for tally in tallies.TALLIES:
            assert await tallies.differences(session, tally) == [], tally.table
            kept = await session.execute(tallies.counts(tally))
            totals[tally.table] = sum(row.n for row in kept)
    return totals


async def province(db: Database) -> tuple[list[int], list[int], int]:
    """Two schools with a class of grade 6 and one of grade 7 each: (schools, classes, year)."""
    async with db.unit_of_work() as session:
        department = models.Department(code="01", name="Sở")
        session.add(department)
        await session.flush()
        district = models.District(department_id=department.id, code="D1", name="Quận 1")
        year = models.SchoolYear(
            code="2025-2026", starts_on=date(2025, 9, 5), ends_on=date(2026, 5, 31)
        )
        session.add_all([district, year])
        await session.flush()
        schools = [
            models.School(
                department_id=department.id,
                district_id=district.id,
                moet_code=f"T{n}",
                name=f"Trường {n}",
                level=SchoolLevel.LOWER_SECONDARY,
                ownership=Ownership.PUBLIC,
            )
            for n in (1, 2)
        ]
        session.add_all(schools)
        await session.flush()
        classes = [
            models.SchoolClass(
                school_id=school.id, school_year_id=year.id, name=f"{grade}A", grade=grade
            )
            for school in schools
            for grade in (6, 7)
        ]
        session.add_all(classes)
        await session.flush()
        return [s.id for s in schools], [c.id for c in classes], year.id


def student_row(n: int, school_id: int | None, *, personal_id: bool = True) -> dict[str, object]:
    return {
        "personal_id": f"0012{n:08d}" if personal_id else None,
        "full_name": f"Học Sinh {n}",
        "search_name": f"hoc sinh {n}",
        "school_id": school_id,
        "identity_status": IdentityStatus.UNVERIFIED,
    }


async def test_tallies_follow_every_write(database: Database) -> None:
    schools, classes, year = await province(database)
    async with database.unit_of_work() as session:
        # Many rows in one statement (a COPY or INSERT … SELECT counts per key once).
        await session.execute(
            insert(models.Student),
            [student_row(n, schools[n % 2], personal_id=n % 5 != 0) for n in range(1, 101)],
        )
    assert (await agree(database))["pupil_tallies"] == 100
    async with database.unit_of_work() as session:
        ids = list(await session.scalars(select(models.Student.id).order_by(models.Student.id)))
        await session.execute(
            update(models.Student)
            .where(models.Student.id.in_(ids[:30]))
            .values(identity_status=IdentityStatus.VERIFIED)
        )
        await session.execute(
            update(models.Student).where(models.Student.id == ids[30]).values(school_id=None)
        )
        await session.execute(
            update(models.Student)
            .where(models.Student.id == ids[4])
            .values(personal_id="001299999999")
        )
        # A write that leaves every counted column alone.
        await session.execute(
            update(models.Student).where(models.Student.id == ids[5]).values(full_name="Đổi Tên")
        )
    assert (await agree(database))["pupil_tallies"] == 99

    def transcript(student_id: int, n: int, **values: object) -> dict[str, object]:
        return {
            "document_id": str(uuid.uuid4()),
            "student_id": student_id,
            "school_year_id": year,
            "school_id": schools[n % 2],
            "class_id": classes[(n % 2) * 2 + n % 3 % 2],
            "state": "DRAFT",
            "learning_result": ("GOOD", "FAIR", "PASS", None)[n % 4],
            "conduct_result": ("GOOD", "FAIR")[n % 2],
            "outcome": ("PROMOTED", "RETEST", "PROMOTED")[n % 3],
            "xml": b"",
            "pdf": b"",
            "xml_sha256": "",
            **values,
        }

    async with database.unit_of_work() as session:
        await session.execute(
            insert(models.Transcript), [transcript(i, n) for n, i in enumerate(ids[:60])]
        )
    assert (await agree(database))["signing_tallies"] == 60
    async with database.unit_of_work() as session:
        rows = list(await session.scalars(select(models.Transcript).order_by(models.Transcript.id)))
        for step, row in enumerate(rows[:40]):
            row.state = ("READY", "SIGNED_BY_HOMEROOM", "SEALED")[step % 3]
        rows[41].pdf = b"%PDF- signed"  # not counted
        # A correction: the old version stops being current, a new one replaces it.
        rows[42].is_current = False
        await session.flush()
        session.add(
            models.Transcript(
                **{
                    **transcript(rows[42].student_id, 7, learning_result="FAIL"),
                    "version": 2,
                    "replaces_id": rows[42].id,
                }
            )
        )
    totals = await agree(database)
    assert totals["signing_tallies"] == totals["result_tallies"] == 60
    async with database.unit_of_work() as session:
        await session.execute(delete(models.Transcript).where(models.Transcript.id == rows[0].id))
        await session.execute(
            update(models.Transcript)
            .where(models.Transcript.id.in_([r.id for r in rows[10:20]]))
            .values(outcome="RETAINED", state="PUBLISHED")
        )
    assert (await agree(database))["result_tallies"] == 59

    async with database.unit_of_work() as session:
        before = {t.table: list(await session.execute(tallies.counts(t))) for t in tallies.TALLIES}
        for tally in tallies.TALLIES:
            left = await tallies.compact(session, tally)
            assert left == len(before[tally.table])
            after = list(await session.execute(tallies.counts(tally)))
            assert sorted(map(repr, after)) == sorted(map(repr, before[tally.table]))
        # Compacting what is compact changes nothing.
        rows_before = await session.scalar(select(func.count()).select_from(models.SigningTally))
        await tallies.compact(session, tallies.SIGNING)
        assert (
            await session.scalar(select(func.count()).select_from(models.SigningTally))
            == rows_before
        )
    # Deltas written after a compaction add to the folded rows.
    async with database.unit_of_work() as session:
        await session.execute(
            update(models.Transcript)
            .where(models.Transcript.id == rows[1].id)
            .values(state="SIGNED_BY_PRINCIPAL")
        )
    await agree(database)


async def test_the_shared_world_agrees(db: Database) -> None:
    """Whatever the other tests wrote before this one ran (random order), the tallies of
    the shared database agree with its rows."""
    await agree(db)


async def test_the_migration_counts_what_is_there_and_goes_back(database: Database) -> None:
    """Rows written before the tallies existed are counted when migration 0019 runs;
    going back below it removes its triggers and tables, and up again counts afresh."""
    schools, _, _ = await province(database)
    async with database.unit_of_work() as session:
        await session.execute(
            insert(models.Student), [student_row(n, schools[0]) for n in range(200, 230)]
        )

    def move(revision: str, *, down: bool = False) -> Any:
        def run(connection: Any) -> None:
            config = alembic_config(connection)
            (command.downgrade if down else command.upgrade)(config, revision)

        return run

    async with database.engine.begin() as connection:
        await connection.run_sync(move("0018", down=True))
    async with database.unit_of_work() as session:
        # No trigger counts these: the migration must.
        await session.execute(
            insert(models.Student), [student_row(n, schools[1]) for n in range(230, 240)]
        )
    async with database.engine.begin() as connection:
        await connection.run_sync(move("head"))
    assert (await agree(database))["pupil_tallies"] == 40


def test_hub_db_tallies_says_whether_the_counts_agree(tmp_path: Path) -> None:
    """``hub db tallies`` recounts every tally: agreeing counts exit 0, a count written
    behind the triggers' back is named and exits 1."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    env = os.environ | {"HUB_DATABASE_URL": url}

    def hub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    assert hub("db", "upgrade").returncode == 0
    agreed = hub("db", "tallies", "--compact")
    assert agreed.returncode == 0, agreed.stderr
    assert "pupil_tallies: every count agrees" in agreed.stdout
    with sqlite3.connect(tmp_path / "cli.sqlite3") as connection:
        connection.execute(
            "INSERT INTO pupil_tallies (school_id, has_personal_id, identity_status, n) "
            "VALUES (7, 1, 'VERIFIED', 3)"
        )
    wrong = hub("db", "tallies")
    assert wrong.returncode == 1
    assert "pupil_tallies: 1 counts differ" in wrong.stdout
    assert "kept 3, counted 0" in wrong.stdout


async def test_a_truncate_empties_the_tallies_of_what_it_emptied(database: Database) -> None:
    """An operator's TRUNCATE (PostgreSQL) or DELETE of every row leaves no count behind."""
    schools, _, _ = await province(database)
    async with database.unit_of_work() as session:
        await session.execute(
            insert(models.Student), [student_row(n, schools[0]) for n in range(300, 305)]
        )
    assert (await agree(database))["pupil_tallies"] == 5
    async with database.unit_of_work() as session:
        if database.dialect == "postgresql":
            await session.execute(text("TRUNCATE students CASCADE"))
        else:
            await session.execute(delete(models.Student))
    assert (await agree(database))["pupil_tallies"] == 0


async def test_the_watchdog_compacts_only_a_tally_that_needs_it(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's first look leaves a compact tally alone and folds one whose deltas
    outnumber its keys by COMPACT_AFTER; later looks count the deltas since."""
    monkeypatch.setattr(tallies, "COMPACT_AFTER", 5)
    monkeypatch.setattr(tallies, "_compacted", {})
    schools, _, _ = await province(database)

    async def rows() -> int:
        async with database.unit_of_work() as session:
            found = await session.scalar(select(func.count()).select_from(models.PupilTally))
            return int(found or 0)

    async with database.unit_of_work() as session:
        for n in range(400, 403):  # three deltas of one key: two to fold, under 5
            await session.execute(insert(models.Student), [student_row(n, schools[0])])
    await tallies.compact_when_due(database)
    assert await rows() == 3  # the first look left it alone
    async with database.unit_of_work() as session:
        for n in range(403, 410):  # seven more deltas since that look
            await session.execute(insert(models.Student), [student_row(n, schools[0])])
    assert await rows() == 10
    await tallies.compact_when_due(database)
    assert await rows() == 1
    assert (await agree(database))["pupil_tallies"] == 10
