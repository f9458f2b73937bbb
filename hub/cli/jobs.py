"""What the job commands share: the operator, sending work, following a job.

With ``HUB_REDIS_URL`` set, work goes to the broker (``hub worker`` processes do
it) and the command follows it; without, the command runs an in-process worker
for its own length, as ``hub demo`` does. The commands act as the department's
operator (the ``cli`` client, whole province).
"""

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import typer

from hub.cli.common import console, database, run
from hub.cli.progress import Step, follow
from hub.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.auth.access import Caller
    from hub.db import models

#: How far a job is: (done, total, what to show), read in the job's session.
Measure = Callable[["AsyncSession", "models.Job"], Awaitable[tuple[int, int, str]]]


def operator() -> "Caller":
    """The department's operator at the console: every scope, the whole province."""
    from hub.auth.access import SCOPES, Caller
    from hub.domain.enums import OrgLevel

    return Caller(
        client_id="cli", scopes=frozenset(SCOPES), org_level=OrgLevel.DEPARTMENT, school_ids=None
    )


def signing_services(settings: Settings) -> Any:
    """The configured signing providers; exits 2 when there are none."""
    from hub.signing.setup import signing_services as configured

    services = configured(settings)
    if services is None:
        console.print("[red]HUB_SIGNING_PROVIDERS_FILE is not set: no provider to ask.[/]")
        raise typer.Exit(2)
    return services


async def load_job(settings: Settings, job_id: str) -> "models.Job":
    from sqlalchemy import select

    from hub.db import models

    async with database(settings) as db, db.unit_of_work() as session:
        job = await session.scalar(select(models.Job).where(models.Job.job_id == job_id))
        if job is None:
            raise typer.BadParameter(f"no job {job_id}")
        return job


@contextlib.contextmanager
def sending(settings: Settings) -> Iterator[Callable[[list[Any]], None]]:
    """Send to the Redis broker's workers, or run a worker here while the command runs."""
    import dramatiq

    from hub.jobs import actors

    if settings.redis_url:
        actors.configure(settings)
        yield actors.send
        return
    runtime = actors.worker_runtime(settings)
    if runtime.signing is None:
        console.print("[red]HUB_SIGNING_PROVIDERS_FILE is not set: no provider to ask.[/]")
        raise typer.Exit(2)
    worker = dramatiq.Worker(actors.configure(settings, runtime), worker_threads=2)
    worker.start()
    try:
        yield actors.send
    finally:
        worker.stop()


def follow_job(
    settings: Settings,
    job_id: str,
    measure: Measure,
    *,
    done: tuple[str, ...],
    interval: float = 1.0,
) -> None:
    """A progress bar over ``job_id`` until its state is one of ``done``."""
    from sqlalchemy import select

    from hub.db import models

    async def look() -> Step:
        async with database(settings) as db, db.unit_of_work() as session:
            job = await session.scalar(select(models.Job).where(models.Job.job_id == job_id))
            if job is None:
                raise typer.BadParameter(f"no job {job_id}")
            completed, total, detail = await measure(session, job)
            return Step(completed, total, detail, finished=job.state in done)

    follow(job_id[:8], lambda: run(look()), interval=interval)


#: Starts a job in the command's session: the job row and the work to send.
Start = Callable[["AsyncSession"], Awaitable[tuple["models.Job", list[Any]]]]


def run_job(
    settings: Settings, start: Start, measure: Measure, *, label: str, follow_it: bool
) -> "models.Job":
    """Start a job as the operator, send its work (:func:`sending`), say its id after
    ``label``, follow it until COMPLETED when ``follow_it``, and read it back."""

    async def started() -> tuple[str, list[Any]]:
        async with database(settings) as db, db.unit_of_work() as session:
            job, work = await start(session)
            return job.job_id, work

    with sending(settings) as send:
        job_id, work = run(started())
        send(work)
        console.print(f"{label} [bold]{job_id}[/]")
        if follow_it:
            follow_job(settings, job_id, measure, done=("COMPLETED",))
    return run(load_job(settings, job_id))
