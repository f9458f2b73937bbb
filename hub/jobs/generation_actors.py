"""The actor drafting a school's transcripts, class by class (:mod:`hub.jobs.generation`)."""

from __future__ import annotations

import dramatiq

from hub.jobs import generation
from hub.jobs.actors import PLACEHOLDER, STALLED_WORK, runtime, send

TRANSCRIPTS_QUEUE = "transcripts"


@dramatiq.actor(broker=PLACEHOLDER, queue_name=TRANSCRIPTS_QUEUE)
async def generate_class(job_id: str, index: int) -> None:
    send(await generation.generate_class(runtime().db, job_id=job_id, index=index))


STALLED_WORK.append(generation.stalled_work)
