"""The national sync's actor: a thin shell around :func:`hub.jobs.sync.run`.

The far sides' clients come with the process's :class:`~hub.jobs.actors.Runtime`:
a :class:`SyncRuntime` carries them (tests, ``hub demo``); otherwise they are built
once from the settings (:meth:`~hub.jobs.sync.SyncServices.from_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq

from hub.jobs import sync
from hub.jobs.actors import PLACEHOLDER, Runtime, runtime, send
from hub.jobs.sync import SyncServices

SYNC_QUEUE = "sync"


@dataclass
class SyncRuntime(Runtime):
    """A :class:`~hub.jobs.actors.Runtime` with the national systems' clients."""

    sync: SyncServices | None = None


def sync_services() -> SyncServices:
    """This process's clients of the national systems."""
    current = runtime()
    services: SyncServices | None = getattr(current, "sync", None)
    if services is None:
        services = SyncServices.from_settings(current.settings)
        if services is None:
            raise RuntimeError(
                "the national systems' URLs are not set (HUB_NATIONAL_SECTOR_URL, "
                "HUB_NATIONAL_STORE_URL, HUB_POPULATION_URL)"
            )
        current.sync = services  # type: ignore[attr-defined]
    return services


@dramatiq.actor(broker=PLACEHOLDER, queue_name=SYNC_QUEUE, actor_name=sync.ACTOR)
async def national_sync(job_id: str) -> None:
    send(await sync.run(runtime().db, sync_services(), job_id=job_id))
