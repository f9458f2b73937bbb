"""The change feed streamed: ``GET /changes?since=N&limit=M`` for systems that follow the
province's records (a vendor's school app, the national sync's peers).

The GraphQL ``changes`` query serves a page of at most 500 changes with the fields a
client selects; a system catching up on millions of changes reads them here instead,
as newline-delimited JSON (``application/x-ndjson``) written while it is sent: one line
per change, exactly the items GraphQL answers to :data:`hub.fastpath.feed.FEED_QUERY`
(``version``, ``entity``, ``operation``, ``naturalKey`` and the ``node`` with every
field), oldest first, then one last line ``{"nextSince": N, "hasMore": bool}``.
``hasMore`` is true when ``limit`` cut the stream; ask again from ``nextSince``. A
stream that ends without its last line was cut short (the connection, a restart):
every line carries its ``version``, so ask again from the last one received.

Who may read: an API client with a bearer token and ``changes:read``, the kinds of
record its scopes allow, the rows in its reach, personal IDs and contacts masked
without their scopes — the GraphQL feed's rules (:func:`hub.resolvers.changes.
changes_since`), and every node read is in the access log before its line is sent.

On PostgreSQL a chunk of :data:`CHUNK` changes is one statement that builds the lines
and writes their access log (:mod:`hub.fastpath.feed`); the next chunk is read while
one is sent. Elsewhere (SQLite, admission services, ``HUB_GRAPHQL_FASTPATH=off``) the
chunks are GraphQL pages of that query. ``HUB_GRAPHQL_FASTPATH=check`` (the tests)
reads every chunk both ways and fails the stream when they differ.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from hub.auth.access import Caller
from hub.domain.problems import Code, HubError
from hub.fastpath.feed import FEED_QUERY, compiled_feed
from hub.fastpath.sql import caller_values
from hub.resolvers.context import Reader
from hub.schema.api import schema
from hub.web.exports import PURPOSE_LIMIT, bearer, problem_response
from hub.web.services import HubServices, purpose_of

log = structlog.get_logger(__name__)

MEDIA = "application/x-ndjson"
#: Changes a compiled statement reads at a time.
CHUNK = 5_000
#: Changes a stream sends when the request names no ``limit``, and at most.
LIMIT_DEFAULT = 100_000
LIMIT_MAX = 1_000_000
#: The purpose logged with every read when the client names none (``X-Hub-Purpose``).
PURPOSE = "ChangeStream"


@dataclass(frozen=True)
class Chunk:
    """Changes after a version: their lines (JSON, newline-separated), how many, the
    last one's version, and (check mode) the access-log entries written for them."""

    lines: bytes
    count: int
    last: int | None
    written: list[tuple[str, int, str]] | None = None


class Source(Protocol):
    size: int

    async def read(self, since: int, size: int) -> Chunk: ...

    async def close(self) -> None: ...


class Compiled:
    """Chunks read by the compiled statement, on the stream's own read connection."""

    def __init__(self, hub: HubServices, caller: Caller, purpose: str, *, check: bool) -> None:
        self.size = CHUNK
        self.engine = hub.db.engine
        self.statement = compiled_feed(caller, self.engine.dialect, check=check)
        self.values = caller_values(caller, purpose)
        self.check = check
        self.reader = Reader(self.engine)

    async def read(self, since: int, size: int) -> Chunk:
        values = {"since": since, "size": size, **self.values}
        sql, parameters = self.statement.sql, self.statement.parameters([], values)
        if not self.check:  # the chunk's log commits with the statement
            ((lines, last, count),) = await self.reader.write_driver_sql(sql, parameters)
            return Chunk((lines or "").encode(), count, last)
        # Check mode: the ordinary path writes the log, this statement's is rolled back.
        async with self.engine.connect() as connection:
            row: Sequence[Any] = (await connection.exec_driver_sql(sql, parameters)).one()
            await connection.rollback()
        written = [] if row[3] is None else [tuple(e) for e in orjson.loads(row[3])]
        return Chunk((row[0] or "").encode(), row[2], row[1], written)

    async def close(self) -> None:
        await self.reader.close()


class Ordinary:
    """Chunks read as GraphQL pages of :data:`FEED_QUERY` (the resolvers' own path)."""

    def __init__(self, hub: HubServices, caller: Caller, purpose: str) -> None:
        self.hub = hub
        self.caller = caller
        self.purpose = purpose
        self.size = hub.settings.page_size_max

    async def read(self, since: int, size: int) -> Chunk:
        ctx = self.hub.context(self.caller, self.purpose)
        result = await schema.execute(
            FEED_QUERY,
            variable_values={"since": since, "first": size},
            context_value=ctx,
            operation_name=PURPOSE,
        )
        if result.errors or result.data is None:
            codes = [(e.extensions or {}).get("code") for e in result.errors or ()]
            raise RuntimeError(f"the change feed page failed: {codes}")
        changes = result.data["changes"]["changes"]
        lines = b"\n".join(orjson.dumps(change) for change in changes)
        last = changes[-1]["version"] if changes else None
        return Chunk(lines, len(changes), last, list(ctx.audit.written))

    async def close(self) -> None:
        return None


class Checked:
    """Check mode: every chunk read both ways; the ordinary path's is sent."""

    def __init__(self, compiled: Compiled, ordinary: Ordinary) -> None:
        self.compiled, self.ordinary = compiled, ordinary
        self.size = ordinary.size

    async def read(self, since: int, size: int) -> Chunk:
        fast = await self.compiled.read(since, size)
        slow = await self.ordinary.read(since, size)
        if _parsed(fast.lines) != _parsed(slow.lines):
            raise AssertionError(
                f"compiled feed answered {fast.lines!r}, ordinary path {slow.lines!r}"
            )
        if sorted(fast.written or ()) != sorted(slow.written or ()):
            raise AssertionError(
                f"compiled feed logged {fast.written!r}, ordinary path {slow.written!r}"
            )
        return slow

    async def close(self) -> None:
        await self.compiled.close()


def _parsed(lines: bytes) -> list[Any]:
    return [orjson.loads(line) for line in lines.split(b"\n") if line]


def source_for(hub: HubServices, caller: Caller, purpose: str) -> Source:
    """Where the stream's chunks come from (see the module's text)."""
    mode = hub.settings.graphql_fastpath
    compilable = hub.db.dialect == "postgresql" and not caller.reads_under_consent
    if not compilable or mode == "off":
        return Ordinary(hub, caller, purpose)
    if mode == "check":
        return Checked(Compiled(hub, caller, purpose, check=True), Ordinary(hub, caller, purpose))
    return Compiled(hub, caller, purpose, check=False)


async def stream(source: Source, since: int, limit: int) -> AsyncIterator[bytes]:
    """The lines of up to ``limit`` changes after ``since``, then the last line; the
    next chunk is read while one is sent."""
    sent, cursor, more = 0, since, False
    pending = asyncio.ensure_future(source.read(cursor, min(source.size, limit)))
    try:
        while True:
            asked = min(source.size, limit - sent)
            chunk = await pending
            sent += chunk.count
            if chunk.last is not None:
                cursor = chunk.last
            done = chunk.count < asked or sent >= limit
            more = sent >= limit and chunk.count == asked
            if not done:
                pending = asyncio.ensure_future(source.read(cursor, min(source.size, limit - sent)))
            if chunk.count:
                yield chunk.lines + b"\n"
            if done:
                break
        yield orjson.dumps({"nextSince": cursor, "hasMore": more}) + b"\n"
    except Exception:
        log.exception("changes.stream_failed", since=since, sent=sent)
        raise
    finally:
        # A client gone mid-way: the chunk being read runs to its end (its access log
        # written: a read logged and not sent, never one sent and not logged).
        if not pending.done():
            await asyncio.wait([pending])
        await source.close()


def _argument(request: Request, name: str, default: int, most: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0 or (most is not None and not 1 <= value <= most):
        bound = "từ 0" if most is None else f"từ 1 đến {most:,}".replace(",", ".")
        bound_en = "0 or more" if most is None else f"1 to {most:,}"
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail=f"{name} phải là số nguyên {bound}",
            details_en={"detail": f"{name} must be an integer, {bound_en}"},
        )
    return value


def change_routes(hub: HubServices) -> list[Route]:
    """The streamed change feed, for :func:`hub.web.app.create_app`."""

    async def changes(request: Request) -> Response:
        try:
            since = _argument(request, "since", 0)
            limit = _argument(request, "limit", LIMIT_DEFAULT, LIMIT_MAX)
            caller = await hub.caller_for(request) if bearer(request) else None
            if caller is None:
                raise HubError(Code.UNAUTHENTICATED)
            caller.require("changes:read")
        except HubError as error:
            return problem_response(error.problem)
        purpose = (purpose_of(request) or PURPOSE)[:PURPOSE_LIMIT]
        body = stream(source_for(hub, caller, purpose), since, limit)
        return StreamingResponse(body, media_type=MEDIA, headers={"Cache-Control": "no-store"})

    return [Route("/changes", changes, methods=["GET"])]
