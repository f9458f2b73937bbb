"""The Dramatiq actor of the certificate refresh (:mod:`hub.jobs.certificates`)."""

from __future__ import annotations

from datetime import timedelta

import dramatiq

from hub.db.engine import Database
from hub.jobs import certificates
from hub.jobs.actors import PLACEHOLDER, STALLED_WORK, runtime, send
from hub.jobs.signing import Next
from hub.signing.service import SigningServices

CERTIFICATES_QUEUE = "certificates"


def signing() -> SigningServices:
    """This worker's signing providers, which the refresh and the migrations ask."""
    services = runtime().signing
    if services is None:
        raise RuntimeError("HUB_SIGNING_PROVIDERS_FILE is not set: no signing provider to ask")
    return services


@dramatiq.actor(broker=PLACEHOLDER, queue_name=CERTIFICATES_QUEUE)
async def refresh_certificates(job_id: str, batch: int) -> None:
    send(await certificates.refresh_batch(runtime().db, signing(), job_id=job_id, batch=batch))


async def refresh_when_due(db: Database, *, stall_seconds: float) -> list[Next]:
    """Start a refresh when one is due (:func:`~hub.jobs.certificates.refresh_if_due`), on a
    worker that can ask the providers: a worker that only syncs starts none."""
    rt = runtime()
    hours = rt.settings.certificate_refresh_hours
    if rt.signing is None or hours <= 0:
        return []
    return await certificates.refresh_if_due(
        db, stall_seconds=stall_seconds, interval=timedelta(hours=hours)
    )


# Registered here, where the worker's runtime is known (hub.jobs.actors, which this module
# imports, cannot import it): every worker's watchdog calls it every few seconds.
STALLED_WORK.append(refresh_when_due)
