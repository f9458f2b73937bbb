"""What every resolver of one request shares: caller, read session, loaders, audit."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Executable, insert, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.types import Info

from hub.auth.access import Caller
from hub.config import Settings
from hub.db.engine import Database
from hub.db.models import AccessLog
from hub.db.queries import consents_in_force
from hub.domain.problems import Code, HubError


class Reader:
    """The request's read connection (Core, no ORM session: reads need rows only).

    Strawberry resolves sibling fields concurrently, and a connection serves one
    statement at a time; the lock serialises them. The connection is opened on
    first use and also carries the request's access-log write at the end.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self._engine.connect()
            if self._engine.dialect.name == "postgresql":
                # Reads need no transaction of their own (READ COMMITTED takes a snapshot
                # per statement either way) and the access log is one statement: no
                # BEGIN/COMMIT round trips.
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
        return self._connection

    async def rows(self, statement: Executable, parameters: Any = None) -> Sequence[Any]:
        return await asyncio.shield(self._rows(statement, parameters))

    async def scalar(self, statement: Executable) -> Any:
        return await asyncio.shield(self._scalar(statement))

    async def write_driver_sql(self, sql: str, parameters: dict[str, Any]) -> Sequence[Any]:
        """Execute compiled SQL text that writes (a data-modifying CTE), commit, answer its
        rows (the compiled path, :mod:`hub.fastpath`)."""
        return await asyncio.shield(self._write_driver_sql(sql, parameters))

    async def write(self, statement: Executable, parameters: Any) -> None:
        """Execute a write on the request's connection and commit it."""
        await asyncio.shield(self._write(statement, parameters))

    # A statement, once sent, runs to its end even when the resolver that asked for it
    # is cancelled (graphql-core cancels a failed field's siblings): cut off mid-way, it
    # would leave the connection unusable and the request's access log unwritten.
    async def _rows(self, statement: Executable, parameters: Any) -> Sequence[Any]:
        async with self._lock:
            return (await (await self._open()).execute(statement, parameters)).all()

    async def _scalar(self, statement: Executable) -> Any:
        async with self._lock:
            return (await (await self._open()).execute(statement)).scalar()

    async def _write_driver_sql(self, sql: str, parameters: dict[str, Any]) -> Sequence[Any]:
        async with self._lock:
            connection = await self._open()
            rows = (await connection.exec_driver_sql(sql, parameters)).all()
            await connection.commit()
            return rows

    async def _write(self, statement: Executable, parameters: Any) -> None:
        async with self._lock:
            connection = await self._open()
            await connection.execute(statement, parameters)
            await connection.commit()

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def dialect_object(self) -> Dialect:
        return self._engine.dialect

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


@dataclass
class AccessRecorder:
    """Collects the people whose data a request read, written once when it ends.

    RULES.md §6 and Law 91/2025: every read of a person's data is logged against
    that person — who (the client, and the person it acted for), what of the person
    (``item``: their record, a transcript, …), for what purpose, and under which
    consent an admission service read. Node types record themselves when they are
    built from a row (``from_row``), so no read path can forget it.
    """

    reads: dict[tuple[str, int, str], None] = field(default_factory=dict)
    #: Transcripts read, by (student id, school year id): an admission service reads
    #: each under a consent, which its log entry names.
    transcripts: dict[tuple[int, int], None] = field(default_factory=dict)
    #: The (entity, id, item) entries the last flush wrote (compared with the compiled
    #: path's in its check mode, :mod:`hub.fastpath`).
    written: list[tuple[str, int, str]] = field(default_factory=list)

    def read(self, entity: str, entity_id: int, item: str = "record") -> None:
        """Note that the request read ``item`` of the person ``entity`` ``entity_id``."""
        self.reads[(entity, entity_id, item)] = None

    def read_transcript(self, student_id: int, school_year_id: int) -> None:
        """Note that the request read the pupil's transcript of a school year."""
        self.transcripts[(student_id, school_year_id)] = None

    async def flush(self, reader: Reader, *, caller: Caller, purpose: str | None) -> None:
        if not self.reads and not self.transcripts:
            return
        entries: dict[tuple[str, int, str, int | None], None] = {
            (entity, entity_id, item, None): None for entity, entity_id, item in self.reads
        }
        consents = (
            await _consents_read_under(reader, caller, list(self.transcripts))
            if caller.reads_under_consent and self.transcripts
            else {}
        )
        for pair in self.transcripts:
            entries[("student", pair[0], "transcript", consents.get(pair))] = None
        self.reads.clear()
        self.transcripts.clear()
        self.written = [(entity, key, item) for entity, key, item, _ in entries]
        person = caller.personal_id
        if reader.dialect == "postgresql":
            # One statement of constant text (so prepared once) whatever the row count.
            await reader.write(
                _UNNEST_ACCESS_LOG,
                {
                    "client_id": caller.client_id,
                    "person": person,
                    "purpose": purpose,
                    "entities": [entry[0] for entry in entries],
                    "ids": [entry[1] for entry in entries],
                    "items": [entry[2] for entry in entries],
                    "consents": [entry[3] for entry in entries],
                },
            )
            return
        rows = [
            {
                "client_id": caller.client_id,
                "person": person,
                "action": "read",
                "entity": entity,
                "entity_id": entity_id,
                "item": item,
                "purpose": purpose,
                "consent_id": consent_id,
            }
            for entity, entity_id, item, consent_id in entries
        ]
        await reader.write(insert(AccessLog), rows)


async def _consents_read_under(
    reader: Reader, caller: Caller, pairs: list[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    """The consent each (student, school year) transcript was read under: the latest
    given of those in force (the same rule that let the rows through)."""
    found = consents_in_force(caller.client_id, datetime.now(UTC)).subquery()
    rows = await reader.rows(
        select(found.c.consent_id, found.c.student_id, found.c.school_year_id)
        .where(found.c.student_id.in_(sorted({student for student, _ in pairs})))
        .order_by(found.c.consent_id)
    )
    wanted = set(pairs)
    return {
        (row.student_id, row.school_year_id): row.consent_id
        for row in rows
        if (row.student_id, row.school_year_id) in wanted
    }


_UNNEST_ACCESS_LOG = text(
    "INSERT INTO access_log "
    "(client_id, person, action, entity, entity_id, item, purpose, consent_id) "
    "SELECT :client_id, :person, 'read', entity, entity_id, item, :purpose, consent_id "
    "FROM unnest(CAST(:entities AS varchar[]), CAST(:ids AS integer[]), "
    "CAST(:items AS varchar[]), CAST(:consents AS integer[])) "
    "AS t(entity, entity_id, item, consent_id)"
)


@dataclass
class Context:
    """``info.context`` of every resolver."""

    db: Database
    settings: Settings
    reader: Reader
    caller_or_none: Caller | None
    audit: AccessRecorder = field(default_factory=AccessRecorder)
    loaders: Any = None
    purpose: str | None = None  # what the client says it reads for (X-Hub-Purpose)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))  # one "now" per request
    #: Signing providers and trust store; None where signing is not configured.
    signing: Any = None
    #: Sends job messages (``hub.jobs.actors.send``); None where no broker is configured.
    send_jobs: Any = None
    #: How the workers enrol people at a signing provider (``hub.jobs.core.Enrolment``);
    #: None where they cannot (only the demo's simulators can).
    enrolment: Any = None

    @property
    def caller(self) -> Caller:
        if self.caller_or_none is None:
            raise HubError(Code.UNAUTHENTICATED)
        return self.caller_or_none

    def require_signing(self) -> Any:
        """The signing services (``hub.signing.service.SigningServices``), or
        PROVIDER_UNAVAILABLE where this server has none configured."""
        if self.signing is None:
            raise HubError(
                Code.PROVIDER_UNAVAILABLE, provider="ký số", detail="signing is not configured"
            )
        return self.signing

    def send_work(self, work: Sequence[Any]) -> None:
        """Send the messages a job's start or resume asked for (``hub.jobs.core.Next``)
        through this server's broker; INVALID_ARGUMENT where it runs no background jobs."""
        if self.send_jobs is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="máy chủ này không chạy công việc nền")
        self.send_jobs(work)


def context_of(info: Info) -> Context:
    """The request's :class:`Context` (``info.context``), typed."""
    return info.context
