"""The Dramatiq broker: Redis when ``HUB_REDIS_URL`` is set, in-process otherwise.

The broker carries messages only; a job's state is in the database
(:class:`~hub.db.models.Job`). Delivery is at least once: a message may come
twice (a worker killed before acknowledging it) or not at all (Redis restarted
without persistence), which the steps and the watchdog are built for.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from dramatiq.middleware.asyncio import AsyncIO

from hub.config import Settings

#: A step that fails (a dropped database connection, a provider answering 5xx) is
#: retried soon and for a long while: the steps are idempotent.
RETRIES = Retries(min_backoff=500, max_backoff=30_000, max_retries=200)


def make_broker(settings: Settings) -> dramatiq.Broker:
    middleware = [
        AgeLimit(),
        TimeLimit(time_limit=10 * 60 * 1000),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        RETRIES,
        AsyncIO(),
    ]
    if settings.redis_url:
        return RedisBroker(
            url=settings.redis_url,
            namespace=settings.jobs_namespace,
            middleware=middleware,
            heartbeat_timeout=settings.jobs_heartbeat_ms,
            # Look for dead workers' messages often: a few Redis calls per fetch.
            maintenance_chance=0.05,
        )
    return StubBroker(middleware=middleware)
