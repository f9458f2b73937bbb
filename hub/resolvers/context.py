"""What every resolver of one request shares: caller, read session, loaders, audit."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.auth.access import Caller
from hub.config import Settings
from hub.db.engine import Database
from hub.db.models import AccessLog
from hub.domain.problems import Code, HubError


class Reader:
    """The request's read-only session.

    Strawberry resolves sibling fields concurrently, and an AsyncSession allows
    one operation at a time; the lock serialises them (they would share one
    connection anyway).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessions()
        return self._session

    async def scalars(self, statement: Executable) -> list[Any]:
        async with self._lock:
            return list((await self.session.scalars(statement)).all())

    async def rows(self, statement: Executable) -> Sequence[Any]:
        async with self._lock:
            return (await self.session.execute(statement)).all()

    async def scalar(self, statement: Executable) -> Any:
        async with self._lock:
            return await self.session.scalar(statement)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@dataclass
class AccessRecorder:
    """Collects the personal records a request read, written once when it ends.

    RULES.md §6: every read of a student's record is logged with who, which
    client, what and for what purpose.
    """

    reads: dict[tuple[str, int], None] = field(default_factory=dict)

    def read(self, entity: str, ids: Sequence[int]) -> None:
        for entity_id in ids:
            self.reads[(entity, entity_id)] = None

    async def flush(self, db: Database, *, client_id: str, purpose: str | None) -> None:
        if not self.reads:
            return
        rows = [
            {
                "client_id": client_id,
                "action": "read",
                "entity": entity,
                "entity_id": entity_id,
                "purpose": purpose,
            }
            for entity, entity_id in self.reads
        ]
        self.reads.clear()
        async with db.unit_of_work() as session:
            await session.execute(insert(AccessLog), rows)


@dataclass
class Context:
    """``info.context`` of every resolver."""

    db: Database
    settings: Settings
    reader: Reader
    caller_or_none: Caller | None
    audit: AccessRecorder = field(default_factory=AccessRecorder)
    loaders: Any = None

    @property
    def caller(self) -> Caller:
        if self.caller_or_none is None:
            raise HubError(Code.UNAUTHENTICATED)
        return self.caller_or_none
