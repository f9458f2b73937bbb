"""The async engine, its session factory, and per-request SQL statement counting."""

import select
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from psycopg import pq
from sqlalchemy import Executable, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.db import changes  # noqa: F401  (registers the change-version hooks)


@dataclass
class StatementCounter:
    """How many SQL statements the current unit of work sent."""

    count: int = 0


current_statements: ContextVar[StatementCounter | None] = ContextVar(
    "current_statements", default=None
)


def _count_statement(*_: Any) -> None:
    counter = current_statements.get()
    if counter is not None:
        counter.count += 1


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: A pooled connection idle longer than this is pinged before use (pre-ping).
PING_AFTER_IDLE_SECONDS = 5.0


def _has_news(dbapi_connection: Any) -> bool:
    """Whether the server sent something to a connection that sits idle in the pool: a
    terminated backend says so (and closes the socket) at once. No round trip; True
    when it cannot tell."""
    try:
        fileno = dbapi_connection.driver_connection.fileno()
        readable, _, _ = select.select([fileno], [], [], 0)
    except Exception:
        return True
    return bool(readable)


def _ping_when_needed(engine: AsyncEngine) -> None:
    """SQLAlchemy's pre-ping, but only for a connection that sat idle in the pool for a
    while or to which the server sent something while idle (it was terminated): one
    that was in use a moment ago and has heard nothing is alive, and a ping per checkout
    is a round trip per request. A dead connection is replaced, as with
    ``pool_pre_ping``."""

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        recent = idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS
        if recent and not _has_news(dbapi_connection):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError() from error
        if not alive:
            raise exc.DisconnectionError()

    event.listen(engine.sync_engine.pool, "checkin", checkin)
    event.listen(engine.sync_engine.pool, "checkout", checkout)


#: The execution option :func:`binary_rows` sets.
BINARY_ROWS = "hub_binary_rows"

E = TypeVar("E", bound=Executable)


def binary_rows(statement: E) -> E:
    """``statement`` with its rows sent by PostgreSQL in binary format: for a query that
    reads documents (``bytea``). As text, PostgreSQL writes each byte as two hex digits
    and psycopg reads them back: twice the bytes on the socket and ~0.3 ms of the
    client's CPU (more of the server's) a 130 KB transcript; in binary, neither
    (``bench``: 20 transcripts read in 4.6 ms of CPU instead of 10.8 ms). Every column
    type the hub maps reads the same either way; SQLite ignores the option."""
    return statement.execution_options(**{BINARY_ROWS: True})


def _rows_as_asked(
    _connection: Any, cursor: Any, _statement: Any, _parameters: Any, context: Any, _many: Any
) -> None:
    """Ask for binary rows where the statement says :func:`binary_rows`. SQLAlchemy makes
    a cursor per statement, so the format is this statement's only; its psycopg cursor
    is the adapter's ``_cursor`` (tests/integration/test_binary_rows.py watches that)."""
    if context is not None and context.execution_options.get(BINARY_ROWS):
        cursor._cursor.format = pq.Format.BINARY


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for PostgreSQL (psycopg 3) or SQLite (aiosqlite)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "postgresql":
        kwargs |= {"pool_size": 10, "max_overflow": 10}
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        _ping_when_needed(engine)
        event.listen(engine.sync_engine, "before_cursor_execute", _rows_as_asked)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


class Database:
    """The engine and a session factory; one per process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection on which each statement is its own transaction: for a single
        statement that needs no transaction around it, one round trip to the database
        instead of three (BEGIN, the statement, COMMIT)."""
        async with self.engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def dispose(self) -> None:
        await self.engine.dispose()
