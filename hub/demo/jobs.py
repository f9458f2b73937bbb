"""The demo's jobs: an in-process broker and worker (no Redis), enrolling at the simulators."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.config import VAR_DIR, Settings

if TYPE_CHECKING:
    from hub.jobs.core import Enrolment


def start_in_process_jobs(settings: Settings, suite: Any) -> Callable[[list[Any]], None]:
    """Configure the in-process broker, start a worker on it, and return its ``send``.

    The worker reaches the simulated providers through the providers file the demo
    suite writes, has its own event loop (so its own database engine and provider
    clients), and enrols people at the simulators when a provider migration needs it.
    """
    import dataclasses

    import dramatiq

    from hub.jobs import actors

    environment = suite.worker_environment(VAR_DIR / "demo-signing" / "worker")
    worker_settings = settings.model_copy(
        update={
            "redis_url": None,
            "signing_providers_file": Path(environment["HUB_SIGNING_PROVIDERS_FILE"]),
            "tsa_url": environment["HUB_TSA_URL"],
        }
    )
    runtime = dataclasses.replace(
        actors.worker_runtime(worker_settings),
        enrolment=simulator_enrolment(suite),
    )
    assert runtime.signing is not None
    dramatiq.Worker(actors.configure(worker_settings, runtime), worker_threads=2).start()
    return actors.send


def simulator_enrolment(suite: Any) -> "Enrolment":
    """Enrolment at the demo simulators (``DemoSigning.enrol_person``), for migrations.

    Real providers enrol people through their own registration (an identity check
    in person or by VNeID), which the hub cannot do; the demo can.
    """
    from hub.jobs.core import EnrolmentRequest

    async def enrol(request: EnrolmentRequest) -> None:
        await suite.enrol_person(
            provider=request.provider,
            personal_id=request.personal_id,
            full_name=request.full_name,
            organisation=request.organisation,
        )

    return enrol
