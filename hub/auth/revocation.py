"""Hearing at once, in every API process, that a client was disabled, deleted or rotated.

On PostgreSQL each API process keeps one psycopg connection that ``LISTEN``s on
:data:`hub.auth.clients.CHANNEL`; the functions of :mod:`hub.auth.clients` (and so
the ``hub clients`` commands) ``NOTIFY`` it, with the client id, in the transaction
that makes the change, so the notification arrives when the change is committed and
the process forgets the client's cached caller before its next request.

While the connection is down the cache polls the ``api_clients_revision`` counter
instead (as on SQLite) and, once reconnected, it is emptied: notifications sent in
between are lost, so nothing cached before may be trusted.
"""

import asyncio
import contextlib

import psycopg
import structlog
from sqlalchemy.engine import make_url

from hub.auth.clients import CHANNEL, CallerCache

log = structlog.get_logger()

#: The payload of a change to who holds which role: every cached person is forgotten.
EVERYONE = "*"
#: How long to wait for a notification before checking the connection is alive.
PING_SECONDS = 30.0


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://…`` as a plain libpq connection URI."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen_for_client_changes(
    database_url: str, cache: CallerCache, *, retry_seconds: float = 1.0
) -> None:
    """Run until cancelled: keep ``cache`` in step with client changes (PostgreSQL)."""
    conninfo = libpq_url(database_url)
    while True:
        try:
            connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            async with connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                cache.clear()
                cache.listening = True
                log.info("clients.listening", channel=CHANNEL)
                while True:
                    async for notification in connection.notifies(timeout=PING_SECONDS):
                        if notification.payload == EVERYONE:
                            cache.clear()  # roles changed (migration 0015)
                        else:
                            cache.forget(notification.payload)
                    await asyncio.wait_for(connection.execute("SELECT 1"), timeout=5)
        except asyncio.CancelledError:
            cache.stop_listening()
            raise
        except Exception as error:
            cache.stop_listening()
            log.warning("clients.listen_failed", error=str(error), retry_seconds=retry_seconds)
        await asyncio.sleep(retry_seconds)


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
