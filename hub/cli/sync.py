"""``hub sync national``: start a national sync run and follow it with a progress bar.

With ``HUB_REDIS_URL`` set the run goes to the workers and this command watches it;
without, the command runs it here, in this process, slice after slice (waiting out
a far side's back-off as a worker would).
"""

import time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import console, run
from hub.cli.progress import Step, follow_async
from hub.config import Settings, get_settings

if TYPE_CHECKING:
    from hub.auth.access import Caller
    from hub.db.engine import Database
    from hub.db.models import Job
    from hub.jobs.sync import Phase

app = typer.Typer(help="National databases: sector DB, transcript store.", no_args_is_help=True)


class PhaseChoice(StrEnum):
    """The parts of a run, as ``hub.jobs.sync.Phase`` names them.

    Named again here so that ``hub --help`` and ``hub verify`` start without loading
    the sync machinery; a test holds the two equal.
    """

    IDENTITY = "IDENTITY"
    STUDENTS = "STUDENTS"
    TRANSCRIPTS = "TRANSCRIPTS"


@app.command("national")
def sync_national(
    phase: Annotated[
        list[PhaseChoice] | None,
        typer.Option("--phase", help="only these parts (repeatable); default: all three"),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="follow this run instead of starting one")
    ] = None,
    interval: Annotated[float, typer.Option(help="seconds between looks")] = 1.0,
) -> None:
    """Sync with the national systems: identity checks, student records, sealed transcripts."""
    from hub.jobs import sync

    phases = [sync.Phase(p.value) for p in phase] if phase else list(sync.Phase)
    run(_main(get_settings(), phases=phases, run_id=run_id, interval=interval))


def _caller() -> "Caller":
    """The command acts on the server with the operator's authority: department-wide."""
    from hub.auth.access import Caller
    from hub.domain.enums import OrgLevel
    from hub.jobs import sync

    return Caller("hub-cli", frozenset({sync.SCOPE}), OrgLevel.DEPARTMENT, None)


async def _main(
    settings: Settings, *, phases: list["Phase"], run_id: str | None, interval: float
) -> None:
    from hub.db.engine import Database
    from hub.jobs import sync

    db = Database(settings.database_url)
    try:
        inline = run_id is None and not settings.redis_url
        if run_id is None:
            options = sync.SyncOptions(slice_seconds=interval) if inline else None
            async with db.unit_of_work() as session:
                job, work = await sync.start_sync(
                    session, caller=_caller(), phases=phases, options=options
                )
                run_id = job.job_id
            console.print(f"Lượt đồng bộ [bold]{run_id}[/]")
            if not inline:
                from hub.jobs.actors import configure, send

                configure(settings)
                send(work)
        await _follow(db, settings, run_id, inline=inline, interval=interval)
    finally:
        await db.dispose()


async def _follow(
    db: "Database", settings: Settings, run_id: str, *, inline: bool, interval: float
) -> None:
    from hub.jobs import sync
    from hub.jobs.core import JobState

    final = (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)
    services = sync.SyncServices.from_settings(settings) if inline else None
    if inline and services is None:
        console.print("[red]Chưa cấu hình địa chỉ các hệ thống quốc gia (HUB_NATIONAL_…).[/]")
        raise typer.Exit(2)
    wake_at = 0.0
    last: list[Job] = []

    async def look() -> Step:
        nonlocal wake_at
        if services is not None and time.monotonic() >= wake_at:
            work = await sync.run(db, services, job_id=run_id)
            wake_at = time.monotonic() + (work[0].delay_seconds if work else 0.0)
        job = await _look(db, run_id)
        last[:] = [job]
        return _step(job, finished=job.state in final)

    try:
        await follow_async(
            "đồng bộ", look, interval=interval if services is None else min(interval, 0.2)
        )
    finally:
        if services is not None:
            await services.aclose()
    job = last[0]
    _summary(job)
    if job.state != JobState.COMPLETED.value:
        raise typer.Exit(1)


async def _look(db: "Database", run_id: str) -> "Job":
    from sqlalchemy import select

    from hub.db.models import Job
    from hub.jobs import sync

    async with db.sessions() as session:
        job = await session.scalar(select(Job).where(Job.job_id == run_id, Job.kind == sync.KIND))
    if job is None:
        raise typer.BadParameter(f"không có lượt đồng bộ {run_id}")
    return job


def _step(job: "Job", *, finished: bool) -> Step:
    from hub.jobs import sync

    checkpoint = job.checkpoint
    students, transcripts = checkpoint["students"], checkpoint["transcripts"]
    progress = sync.progress(job)
    detail = (
        f"{job.state} · {checkpoint['phase']} · danh tính {checkpoint['identity']['checked']} · "
        f"hồ sơ {students['sent']} · học bạ {transcripts['sent']}"
        + (f" · {job.reason}" if job.reason else "")
    )
    return Step(progress.done, progress.total, detail, finished=finished)


def _summary(job: "Job") -> None:
    checkpoint = job.checkpoint
    identity, students = checkpoint["identity"], checkpoint["students"]
    transcripts = checkpoint["transcripts"]
    fields = ", ".join(f"{name} {count}" for name, count in identity["by_field"].items())
    console.print(
        f"[bold]{job.state}[/] {job.reason or ''}\n"
        f"  Xác thực danh tính: {identity['checked']} học sinh — khớp {identity['verified']}, "
        f"lệch {identity['mismatched']}{f' ({fields})' if fields else ''}, "
        f"không có trong CSDL dân cư {identity['unknown']}\n"
        f"  CSDL ngành: gửi {students['sent']}, nhận {students['accepted']}, "
        f"từ chối {students['rejected']}\n"
        f"  Kho học bạ số: gửi {transcripts['sent']}, đã công bố {transcripts['published']}, "
        f"từ chối {transcripts['rejected']}"
    )
    if students["rejected"] or transcripts["rejected"]:
        console.print(f'  Xem các bản ghi bị từ chối: syncDeadLetters(runId: "{job.job_id}")')
