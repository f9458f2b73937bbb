"""Load a generated province into an empty, migrated database, fast.

PostgreSQL gets ``COPY … FROM STDIN``, fed by a producer thread that generates
the next batch of rows while the writer streams the current one with psycopg's
``write_row``. Its C row formatter measured as fast as formatting COPY text in
Python in the producer (district size: 2.2–2.5 s either way), and it adapts and
escapes every value properly, so the data needs no promises about tabs or
backslashes. Python is the bottleneck; moving the producer into a process of
its own was measured too and gained nothing, so the simpler thread stays. Everything happens in one
transaction: a failed seed leaves the database as empty as it found it.

The PostgreSQL load also drops the loaded tables' secondary indexes, unique
constraints and foreign keys first and rebuilds them at the end, inside the
same transaction: building a B-tree or trigram index once is several times
cheaper than maintaining it row by row, and a foreign key validated by one join
beats one trigger call per inserted row. Measured, this more than halves the
province load; below :data:`REBUILD_THRESHOLD` pupils it is not worth it.

SQLite (the embedded demo) gets ``executemany`` INSERTs through SQLAlchemy Core
in chunks: the demo province takes about 0.2 s. Anything past the district size
belongs on PostgreSQL.
"""

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db.engine import Database
from hub.db.models import Base, ChangeCounter, School, Student
from hub.seed.generate import (
    DEFAULT_SEED,
    JSON_COLUMNS,
    TABLES,
    TRACKED,
    Chunk,
    Plan,
    Row,
    Size,
    as_dicts,
    chunks,
    plan,
)

Progress = Callable[[str, int], None]

#: Rebuild indexes and foreign keys around the load from this many pupils on.
#: Measured on a 2-core machine (bench/seed_province.py): school size (438 pupils)
#: 0.07 s with indexes kept vs 0.10 s rebuilt; demo (2,736) 0.26 s vs 0.21 s;
#: district (55,000) 4.5 s vs 2.5 s; province (2.3 million) 189 s vs 82 s.
REBUILD_THRESHOLD = 1_000
#: Rows per batch handed from the producer to the writer (all tables together);
#: one COPY statement per table per batch.
BATCH_ROWS = 100_000
SQLITE_BATCH_ROWS = 20_000


class SeedError(RuntimeError):
    """The database cannot be seeded (e.g. it is not empty)."""


@dataclass
class SeedReport:
    """What a seed wrote and how fast.

    ``table_seconds`` is the time spent sending each table to the database.
    On PostgreSQL generation runs alongside in the producer thread, so it is
    not counted there, while waits for the interpreter lock the producer holds
    are. Index rebuilding, sequence resets and ``ANALYZE`` are in
    ``finish_seconds`` (step by step in ``finish_steps``); ``seconds`` is the
    wall clock of the whole seed, and what ``rows_per_second`` divides by.
    """

    size: str
    seed: int
    dialect: str
    rows: dict[str, int] = field(default_factory=dict)
    table_seconds: dict[str, float] = field(default_factory=dict)
    finish_seconds: float = 0.0
    seconds: float = 0.0
    rebuilt_indexes: bool = False
    last_change_version: int = 0
    #: Each statement after the COPYs that took a noticeable time, with its seconds.
    finish_steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0

    def table_rows_per_second(self, table: str) -> float:
        seconds = self.table_seconds.get(table, 0.0)
        return self.rows.get(table, 0) / seconds if seconds else 0.0


async def seed(
    db: Database,
    *,
    size: str = "demo",
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    as_of: date | None = None,
    rebuild_indexes: bool | None = None,
) -> SeedReport:
    """Generate the province of ``size`` and write it into ``db``.

    The database must be migrated and empty of schools and students; anything
    else raises :class:`SeedError` before a row is written. ``progress(table,
    rows_done)`` is called after every batch of a table (from the event loop,
    so it must not block). ``as_of`` dates the certificates (default: today);
    ``rebuild_indexes`` forces or forbids dropping indexes during a PostgreSQL
    load (default: only from :data:`REBUILD_THRESHOLD` pupils on).
    """
    started = time.perf_counter()
    province = plan(Size(size), seed=seed, as_of=as_of)
    report = SeedReport(size=str(Size(size)), seed=seed, dialect=db.dialect)
    report.rows = dict.fromkeys(TABLES, 0)
    report.table_seconds = dict.fromkeys(TABLES, 0.0)
    async with db.engine.begin() as conn:
        await _require_empty(conn)
        if db.dialect == "postgresql":
            rebuild = (
                province.students >= REBUILD_THRESHOLD
                if rebuild_indexes is None
                else rebuild_indexes
            )
            await _load_postgresql(conn, province, report, progress, rebuild=rebuild)
        else:
            await _load_generic(conn, province, report, progress)
        report.last_change_version = sum(report.rows[table] for table in TRACKED)
        await _set_change_counter(conn, report.last_change_version)
        if db.dialect == "postgresql":
            await _reset_sequences_and_analyze(conn, report)
    report.seconds = time.perf_counter() - started
    return report


async def _require_empty(conn: AsyncConnection) -> None:
    schools = (await conn.execute(select(func.count()).select_from(School))).scalar_one()
    students = (await conn.execute(select(func.count()).select_from(Student))).scalar_one()
    if schools or students:
        raise SeedError(
            f"the database already holds {schools} schools and {students} students; "
            "seed only an empty, freshly migrated database"
        )


async def _set_change_counter(conn: AsyncConnection, value: int) -> None:
    """Hand out versions after the seeded ones: the change feed starts where the seed ended."""
    result = await conn.execute(
        update(ChangeCounter).where(ChangeCounter.id == 1).values(value=value)
    )
    if result.rowcount == 0:
        await conn.execute(insert(ChangeCounter).values(id=1, value=value))


# ---------------------------------------------------------------------------------------------
# SQLite (and any other dialect): executemany through SQLAlchemy Core


async def _load_generic(
    conn: AsyncConnection, province: Plan, report: SeedReport, progress: Progress | None
) -> None:
    buffers: dict[str, list[Row]] = {table: [] for table in TABLES}
    pending = 0

    async def flush() -> None:
        for table, rows in buffers.items():
            if not rows:
                continue
            began = time.perf_counter()
            await conn.execute(insert(Base.metadata.tables[table]), as_dicts(table, rows))
            report.table_seconds[table] += time.perf_counter() - began
            report.rows[table] += len(rows)
            rows.clear()
            if progress:
                progress(table, report.rows[table])

    for chunk in chunks(province):
        for table, rows in chunk.items():
            buffers[table].extend(rows)
            pending += len(rows)
        if pending >= SQLITE_BATCH_ROWS:
            await flush()
            pending = 0
    await flush()


# ---------------------------------------------------------------------------------------------
# PostgreSQL: COPY fed by a producer thread

Batch = list[tuple[str, list[Row]]]  # (table, rows), tables in load order
_DONE = object()


def _batches(chunk_stream: Iterator[Chunk], batch_rows: int) -> Iterator[Batch]:
    buffers: dict[str, list[Row]] = {table: [] for table in TABLES}
    pending = 0

    def cut() -> Batch:
        batch = [(table, rows) for table, rows in buffers.items() if rows]
        for table, _ in batch:
            buffers[table] = []
        return batch

    for chunk in chunk_stream:
        for table, rows in chunk.items():
            buffers[table].extend(rows)
            pending += len(rows)
        if pending >= batch_rows:
            yield cut()
            pending = 0
    if pending:
        yield cut()


class _Producer(threading.Thread):
    """Generates batches of rows ahead of the writer, a bounded queue apart."""

    def __init__(self, province: Plan, batch_rows: int, depth: int = 3) -> None:
        super().__init__(name="seed-producer", daemon=True)
        self.province = province
        self.batch_rows = batch_rows
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.stopping = threading.Event()

    def _put(self, item: Any) -> bool:
        """Queue ``item`` unless the writer has gone away; False if it has."""
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            for batch in _batches(chunks(self.province), self.batch_rows):
                if not self._put(batch):
                    return
            self._put(_DONE)
        except BaseException as error:  # handed to the writer, which re-raises it
            self._put(error)

    async def batches(self) -> AsyncIterator[Batch]:
        """The batches in order; re-raises whatever stopped the producer."""
        while True:
            item = await asyncio.to_thread(self.queue.get)
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.to_thread(self.join)


async def _load_postgresql(
    conn: AsyncConnection,
    province: Plan,
    report: SeedReport,
    progress: Progress | None,
    *,
    rebuild: bool,
) -> None:
    raw = await conn.get_raw_connection()
    pg: Any = raw.driver_connection  # psycopg.AsyncConnection, inside conn's transaction
    report.rebuilt_indexes = rebuild
    async with pg.cursor() as cursor:
        await cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        await cursor.execute("SET LOCAL synchronous_commit = off")
        dropped: list[str] = []
        if rebuild:
            dropped = await _drop_secondary_structures(cursor)

        producer = _Producer(province, BATCH_ROWS)
        producer.start()
        try:
            async for batch in producer.batches():
                for table, rows in batch:
                    began = time.perf_counter()
                    columns = ", ".join(TABLES[table])
                    as_json = _json_positions(table)
                    async with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            await copy.write_row(_with_json(row, as_json) if as_json else row)
                    report.table_seconds[table] += time.perf_counter() - began
                    report.rows[table] += len(rows)
                    if progress:
                        progress(table, report.rows[table])
        finally:
            await producer.stop()

        for statement in dropped:
            began = time.perf_counter()
            await cursor.execute(statement)
            _note(report, statement, time.perf_counter() - began)


def _json_positions(table: str) -> tuple[int, ...]:
    return tuple(TABLES[table].index(column) for column in JSON_COLUMNS.get(table, ()))


def _with_json(row: Row, positions: tuple[int, ...]) -> Row:
    """``row`` with its JSON columns wrapped, so COPY sends JSON text, not a PostgreSQL array."""
    values = list(row)
    for index in positions:
        if values[index] is not None:
            values[index] = Json(values[index])
    return tuple(values)


async def _drop_secondary_structures(cursor: Any) -> list[str]:
    """Drop the loaded tables' secondary indexes, unique constraints and foreign keys.

    Returns the statements that recreate them, in a valid order (indexes and
    unique constraints before the foreign keys that may lean on them). Their
    definitions are read from the catalogue, so indexes added by later
    migrations are handled without changes here. Primary keys stay: ids arrive
    in ascending order, so their B-trees only ever append.
    """
    tables = list(TABLES)
    await cursor.execute(
        """
        SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.contype = 'f'
          AND (c.conrelid::regclass::text = ANY(%(t)s) OR c.confrelid::regclass::text = ANY(%(t)s))
        ORDER BY c.conname
        """,
        {"t": tables},
    )
    foreign_keys = await cursor.fetchall()
    await cursor.execute(
        """
        SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%(t)s)
        ORDER BY c.conname
        """,
        {"t": tables},
    )
    uniques = await cursor.fetchall()
    await cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%(t)s)
          AND NOT i.indisprimary
          AND NOT EXISTS (
              SELECT 1 FROM pg_constraint c
              WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
          )
        ORDER BY 1
        """,
        {"t": tables},
    )
    indexes = await cursor.fetchall()

    for name, table, _ in foreign_keys:
        await cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, table, _ in uniques:
        await cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        await cursor.execute(f"DROP INDEX {name}")

    return (
        [definition for _, definition in indexes]
        + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {d}' for name, table, d in uniques]
        + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {d}' for name, table, d in foreign_keys]
    )


async def _reset_sequences_and_analyze(conn: AsyncConnection, report: SeedReport) -> None:
    """Point each id sequence past the seeded ids, then refresh the planner's statistics."""
    began = time.perf_counter()
    for table, columns in TABLES.items():
        if "id" not in columns:
            continue
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce(max(id), 0) + 1, false) FROM {table}"
            )
        )
    _note(report, "setval(…) for every id sequence", time.perf_counter() - began)
    began = time.perf_counter()
    await conn.execute(text(f"ANALYZE {', '.join(TABLES)}"))
    _note(report, "ANALYZE", time.perf_counter() - began)


def _note(report: SeedReport, step: str, seconds: float) -> None:
    report.finish_seconds += seconds
    report.finish_steps.append((step, seconds))
