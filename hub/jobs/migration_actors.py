"""The Dramatiq actors of signing-provider migrations (:mod:`hub.jobs.migration`).

Enrolling someone at a provider is not part of any provider's signing API: a
process that can (``hub demo``, the tests — see
:func:`hub.jobs.migration.simulator_enrolment`) gives its enrolment to
:func:`set_enrolment`; without one, people with no credential at the target are
left for staff (NEEDS_ENROLMENT).
"""

from __future__ import annotations

import dramatiq

from hub.jobs import migration
from hub.jobs.actors import PLACEHOLDER, runtime, send
from hub.jobs.certificate_actors import CERTIFICATES_QUEUE, signing

_enrolment: migration.Enrolment | None = None


def set_enrolment(enrolment: migration.Enrolment | None) -> None:
    """How this process enrols people at a provider (None: it cannot)."""
    global _enrolment
    _enrolment = enrolment


def enrolment() -> migration.Enrolment | None:
    return _enrolment


@dramatiq.actor(broker=PLACEHOLDER, queue_name=CERTIFICATES_QUEUE)
async def migrate_teacher(job_id: str, item_id: int) -> None:
    rt = runtime()
    send(
        await migration.migrate_teacher(
            rt.db,
            signing(),
            job_id=job_id,
            item_id=item_id,
            enrol=_enrolment,
            poll_seconds=rt.settings.jobs_poll_seconds,
        )
    )


@dramatiq.actor(broker=PLACEHOLDER, queue_name=CERTIFICATES_QUEUE)
async def poll_test_signature(job_id: str, item_id: int) -> None:
    rt = runtime()
    send(
        await migration.poll_test_signature(
            rt.db,
            signing(),
            job_id=job_id,
            item_id=item_id,
            poll_seconds=rt.settings.jobs_poll_seconds,
        )
    )


@dramatiq.actor(broker=PLACEHOLDER, queue_name=CERTIFICATES_QUEUE)
async def resume_migration_if_healthy(job_id: str) -> None:
    rt = runtime()
    send(
        await migration.resume_if_healthy(
            rt.db, signing(), job_id=job_id, poll_seconds=rt.settings.jobs_poll_seconds
        )
    )
