"""Throttling failed client authentications at ``/oauth/token``.

Attempts are counted per client id and per source address in fixed windows
(``token_failure_window_seconds``); once a count reaches its limit
(``token_failures_per_client``, ``token_failures_per_address``) every attempt
for that client id or from that address is answered 429 until the window ends —
the right secret included, so guessing cannot go on at a slower pace. A
successful authentication resets the client id's count (not the address's: one
valid client must not buy an address new guesses at others).

Where the counts live: in the database (table ``token_failures``), not Redis and
not in process memory. Every API process already shares the database, while Redis
is optional (the demo and small deployments run without it) and process memory
would give each of N processes its own N-fold allowance. The token endpoint is
called about once per client per token lifetime, so one small upsert per attempt
costs nothing noticeable, and the counts survive restarts. Each attempt is
counted *before* the secret is checked (one atomic ``INSERT … ON CONFLICT DO
UPDATE … RETURNING``), so a burst of parallel guesses cannot slip past the limit
between a check and a write; a success takes its count back.

The address is the ASGI client address: behind a reverse proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` set to the proxy so it is the caller's.
"""

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, case, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.db.engine import Database
from hub.db.models import TokenFailure

CLIENT, ADDRESS = "client", "address"


@dataclass(frozen=True)
class Limits:
    per_client: int = 10
    per_address: int = 30
    window_seconds: int = 900


def _subject(value: str) -> str:
    """Stored as given when short, else hashed (client ids are what anyone sends)."""
    if len(value) <= 64:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:57]


class TokenThrottle:
    """Counts attempts in the database shared by every API process."""

    def __init__(
        self, db: Database, limits: Limits, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.limits = limits
        self.clock = clock
        self._swept_at = float("-inf")

    async def attempt(self, client_id: str, address: str) -> int | None:
        """Count an attempt; the seconds to wait if it must be refused, else None."""
        now = self.clock()
        window = self.limits.window_seconds
        cutoff = now - window
        table = TokenFailure.__table__
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        counted = insert(TokenFailure).values(
            [
                {"kind": kind, "subject": _subject(value), "failures": 1, "window_started_at": now}
                for kind, value in ((CLIENT, client_id), (ADDRESS, address))
            ]
        )
        expired = table.c.window_started_at < cutoff
        statement = counted.on_conflict_do_update(
            index_elements=[table.c.kind, table.c.subject],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_started_at": case((expired, now), else_=table.c.window_started_at),
            },
        ).returning(table.c.kind, table.c.failures, table.c.window_started_at)
        async with self.db.unit_of_work() as session:
            rows = (await session.execute(statement)).all()
            if now - self._swept_at > window / 10:
                self._swept_at = now
                await session.execute(delete(TokenFailure).where(expired))
        wait: int | None = None
        for kind, failures, started in rows:
            limit = self.limits.per_client if kind == CLIENT else self.limits.per_address
            if failures > limit:
                seconds = max(1, math.ceil(started + window - now))
                wait = max(wait or 0, seconds)
        return wait

    async def succeeded(self, client_id: str, address: str) -> None:
        """The attempt was right: the client id starts afresh, the address gets it back."""
        async with self.db.unit_of_work() as session:
            await session.execute(
                delete(TokenFailure).where(
                    TokenFailure.kind == CLIENT, TokenFailure.subject == _subject(client_id)
                )
            )
            await session.execute(
                update(TokenFailure)
                .where(
                    TokenFailure.kind == ADDRESS,
                    TokenFailure.subject == _subject(address),
                    TokenFailure.failures > 0,
                )
                .values(failures=TokenFailure.failures - 1)
            )

    async def reset(self, *, client_id: str | None = None, address: str | None = None) -> None:
        """Forget the counts of a client id or an address (operators, tests)."""
        conditions = []
        if client_id is not None:
            conditions.append(
                and_(TokenFailure.kind == CLIENT, TokenFailure.subject == _subject(client_id))
            )
        if address is not None:
            conditions.append(
                and_(TokenFailure.kind == ADDRESS, TokenFailure.subject == _subject(address))
            )
        if conditions:
            async with self.db.unit_of_work() as session:
                await session.execute(delete(TokenFailure).where(or_(*conditions)))
