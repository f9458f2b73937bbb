"""The async engine, its session factory, and per-request SQL statement counting."""

import select
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
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


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for PostgreSQL (psycopg 3) or SQLite (aiosqlite)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "postgresql":
        kwargs |= {"pool_size": 10, "max_overflow": 10}
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        _ping_when_needed(engine)
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

    async def dispose(self) -> None:
        await self.engine.dispose()
