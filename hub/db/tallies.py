"""The counts the department's reports read, kept by the database (migration 0019).

Each tally table holds deltas: a trigger on the source table writes ``+k`` or ``−k``
for the keys a statement changed, in that statement's transaction. A count is the sum
of its key's rows — and, sums being sums, so is any coarser count: a district's
pupils without a verified ID is ``sum(n)`` over its schools' rows, whatever deltas are
not folded yet. So a report reads a few hundred thousand rows at most instead of two
million, and is never behind the rows it counts.

- :data:`TALLIES`: each tally's table and :func:`recount`, the same counts made from
  the source rows the slow way (the tests and ``hub reports check`` compare the two);
- :func:`compact`: fold the deltas into one row per key, by the jobs' watchdog when
  enough have piled up (:func:`compact_when_due`) and by ``hub reports compact``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import models
from hub.db.engine import Database

log = structlog.get_logger(__name__)

#: Deltas written since the last compaction that make the watchdog compact again.
COMPACT_AFTER = 20_000

Tally = type[models.SigningTally] | type[models.ResultTally] | type[models.PupilTally]


@dataclass(frozen=True)
class Counted:
    """A tally: its model and its keys' columns."""

    model: Tally
    keys: tuple[str, ...]

    @property
    def table(self) -> str:
        return self.model.__tablename__

    def columns(self) -> list[Any]:
        return [getattr(self.model, key) for key in self.keys]


SIGNING = Counted(models.SigningTally, ("school_id", "school_year_id", "state"))
RESULTS = Counted(
    models.ResultTally,
    ("school_id", "school_year_id", "grade", "learning_result", "conduct_result", "outcome"),
)
PUPILS = Counted(models.PupilTally, ("school_id", "has_personal_id", "identity_status"))
TALLIES: tuple[Counted, ...] = (SIGNING, RESULTS, PUPILS)


def counts(tally: Counted) -> Select[Any]:
    """The tally as it stands: one row per key with its count (zero counts left out)."""
    columns = tally.columns()
    total = func.sum(tally.model.n)
    return select(*columns, total.label("n")).group_by(*columns).having(total != 0)


def recount(tally: Counted) -> Select[Any]:
    """What :func:`counts` must equal, counted from the source rows (slow at province size)."""
    transcript, student = models.Transcript, models.Student
    keys: Sequence[Any]
    statement: Any
    if tally is SIGNING:
        keys = (transcript.school_id, transcript.school_year_id, transcript.state)
        statement = select(*keys, func.count()).where(transcript.is_current.is_(True))
    elif tally is RESULTS:
        keys = (
            transcript.school_id,
            transcript.school_year_id,
            models.SchoolClass.grade,
            transcript.learning_result,
            transcript.conduct_result,
            transcript.outcome,
        )
        statement = (
            select(*keys, func.count())
            .join(models.SchoolClass, models.SchoolClass.id == transcript.class_id)
            .where(transcript.is_current.is_(True))
        )
    else:
        keys = (
            student.school_id,
            student.personal_id.is_not(None),
            student.identity_status,
        )
        statement = select(*keys, func.count()).where(student.school_id.is_not(None))
    return statement.group_by(*keys)


async def compact(session: AsyncSession, tally: Counted) -> int:
    """Fold the tally's rows into one per key (zero counts dropped); the rows left.

    On PostgreSQL one statement deletes the rows it sees and writes their sums, so a
    delta another transaction commits meanwhile is either folded or left as it is,
    never lost nor counted twice; SQLite has one writer at a time.
    """
    keys = ", ".join(tally.keys)
    table = tally.table
    upto = await session.scalar(select(func.max(tally.model.id)))
    if upto is None:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text(
                f"WITH gone AS (DELETE FROM {table} WHERE id <= :upto RETURNING {keys}, n) "
                f"INSERT INTO {table} ({keys}, n) SELECT {keys}, sum(n) FROM gone "
                f"GROUP BY {keys} HAVING sum(n) <> 0"
            ),
            {"upto": upto},
        )
    else:
        await session.execute(
            text(
                f"INSERT INTO {table} ({keys}, n) SELECT {keys}, sum(n) FROM {table} "
                f"WHERE id <= :upto GROUP BY {keys} HAVING sum(n) <> 0"
            ),
            {"upto": upto},
        )
        await session.execute(text(f"DELETE FROM {table} WHERE id <= :upto"), {"upto": upto})
    left = await session.scalar(select(func.count()).select_from(tally.model))
    return int(left or 0)


#: The highest row id each tally had right after this process last compacted it.
_compacted: dict[tuple[str, str], int] = {}


async def compact_when_due(db: Database) -> None:
    """Compact each tally that gained :data:`COMPACT_AFTER` deltas since this process last
    looked: the watchdog's tick, in every worker. The first look counts the rows beyond
    one per key instead, so a worker's start compacts only a tally that needs it (every
    worker starting at once would each rewrite every tally otherwise)."""
    for tally in TALLIES:
        mark = (db.url, tally.table)
        async with db.unit_of_work() as session:
            newest = await session.scalar(select(func.max(tally.model.id))) or 0
            if mark in _compacted:
                due = newest - _compacted[mark] >= COMPACT_AFTER
            else:
                due = await _surplus(session, tally) >= COMPACT_AFTER
            if not due:
                _compacted.setdefault(mark, newest)
                continue
            rows = await compact(session, tally)
            _compacted[mark] = await session.scalar(select(func.max(tally.model.id))) or 0
        log.info("tallies.compacted", table=tally.table, rows=rows)


async def _surplus(session: AsyncSession, tally: Counted) -> int:
    """How many of the tally's rows a compaction would fold away (rows beyond one per key)."""
    rows = await session.scalar(select(func.count()).select_from(tally.model)) or 0
    columns = tally.columns()
    keys = select(*columns).group_by(*columns).subquery()
    return int(rows) - int(await session.scalar(select(func.count()).select_from(keys)) or 0)


async def differences(session: AsyncSession, tally: Counted) -> list[tuple[Any, ...]]:
    """Keys whose tally differs from a recount, with both counts (none when all agree)."""
    kept = {tuple(row[:-1]): int(row[-1]) for row in await session.execute(counts(tally))}
    counted = {tuple(row[:-1]): int(row[-1]) for row in await session.execute(recount(tally))}
    return [
        (*key, kept.get(key, 0), counted.get(key, 0))
        for key in sorted(kept.keys() | counted.keys(), key=repr)
        if kept.get(key, 0) != counted.get(key, 0)
    ]
