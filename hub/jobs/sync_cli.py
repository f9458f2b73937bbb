"""``hub sync national``: start a national sync run and follow it with a progress bar.

With ``HUB_REDIS_URL`` set the run goes to the workers and this command watches it;
without, the command runs it here, in this process, slice after slice (waiting out
a far side's back-off as a worker would).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from hub.auth.access import Caller
from hub.config import Settings, get_settings
from hub.db.engine import Database
from hub.db.models import Job
from hub.domain.enums import OrgLevel
from hub.jobs import sync

console = Console()
#: The command acts on the server with the operator's authority: department-wide.
CLI_CALLER = Caller("hub-cli", frozenset({sync.SCOPE}), OrgLevel.DEPARTMENT, None)
FINAL = (sync.RunState.COMPLETED.value, sync.RunState.FAILED.value, sync.RunState.CANCELLED.value)


def sync_national_command(
    phase: Annotated[
        list[sync.Phase] | None,
        typer.Option("--phase", help="only these parts (repeatable); default: all three"),
    ] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="follow this run instead of starting one")
    ] = None,
    interval: Annotated[float, typer.Option(help="seconds between looks")] = 1.0,
) -> None:
    """Sync with the national systems: identity checks, student records, sealed transcripts."""
    settings = get_settings()
    asyncio.run(_main(settings, phases=phase or list(sync.Phase), run_id=run, interval=interval))


async def _main(
    settings: Settings, *, phases: list[sync.Phase], run_id: str | None, interval: float
) -> None:
    db = Database(settings.database_url)
    try:
        inline = run_id is None and not settings.redis_url
        if run_id is None:
            options = sync.SyncOptions(slice_seconds=interval) if inline else None
            async with db.unit_of_work() as session:
                job, work = await sync.start_sync(
                    session, caller=CLI_CALLER, phases=phases, options=options
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
    db: Database, settings: Settings, run_id: str, *, inline: bool, interval: float
) -> None:
    services = sync.SyncServices.from_settings(settings) if inline else None
    if inline and services is None:
        console.print("[red]Chưa cấu hình địa chỉ các hệ thống quốc gia (HUB_NATIONAL_…).[/]")
        raise typer.Exit(2)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("đồng bộ", total=None, detail="")
        wake_at = 0.0
        try:
            while True:
                if services is not None and time.monotonic() >= wake_at:
                    work = await sync.run(db, services, job_id=run_id)
                    wake_at = time.monotonic() + (work[0].delay_seconds if work else 0.0)
                job = await _look(db, run_id)
                _show(bar, task, job)
                if job.state in FINAL:
                    break
                await asyncio.sleep(interval if services is None else min(interval, 0.2))
        finally:
            if services is not None:
                await services.aclose()
    _summary(job)
    if job.state != sync.RunState.COMPLETED.value:
        raise typer.Exit(1)


async def _look(db: Database, run_id: str) -> Job:
    async with db.sessions() as session:
        job = await session.scalar(select(Job).where(Job.job_id == run_id, Job.kind == sync.KIND))
    if job is None:
        raise typer.BadParameter(f"không có lượt đồng bộ {run_id}")
    return job


def _show(bar: Progress, task: TaskID, job: Job) -> None:
    checkpoint = job.checkpoint
    students, transcripts = checkpoint["students"], checkpoint["transcripts"]
    progress = sync.progress(job)
    detail = (
        f"{job.state} · {checkpoint['phase']} · danh tính {checkpoint['identity']['checked']} · "
        f"hồ sơ {students['sent']} · học bạ {transcripts['sent']}"
        + (f" · {job.reason}" if job.reason else "")
    )
    bar.update(task, total=progress.total, completed=progress.done, detail=detail)


def _summary(job: Job) -> None:
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
