"""``hub certificates refresh`` and ``hub migrate-provider plan|start|status|…``.

With ``HUB_REDIS_URL`` set, the commands send the work to the broker (``hub
worker`` processes do it) and follow it; without it they run an in-process
worker for the length of the command, as ``hub demo`` does. The commands act as
the department's operator (the ``cli`` client, whole province).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.access import SCOPES, Caller
from hub.config import Settings, get_settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import OrgLevel, SigningProvider

console = Console()

certificates_app = typer.Typer(help="Chứng thư số (signing certificates).", no_args_is_help=True)
migrate_provider_app = typer.Typer(
    help="Chuyển cán bộ sang nhà cung cấp chữ ký số khác.", no_args_is_help=True
)

#: The department's operator at the console.
OPERATOR = Caller(
    client_id="cli",
    scopes=frozenset(SCOPES),
    org_level=OrgLevel.DEPARTMENT,
    school_ids=None,
)

Provider = Annotated[SigningProvider, typer.Option(case_sensitive=False)]
SchoolCode = Annotated[str | None, typer.Option("--school", help="mã trường (Bộ GDĐT)")]
DistrictCode = Annotated[str | None, typer.Option("--district", help="mã phòng GDĐT")]


#: How far a job is: (done, total, what to show), read in the job's session.
Measure = Callable[[AsyncSession, models.Job], Awaitable[tuple[int, int, str]]]


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# --- certificate refresh -----------------------------------------------------------------------


@certificates_app.command("refresh")
def certificates_refresh(
    follow: Annotated[bool, typer.Option(help="follow the run until it ends")] = True,
) -> None:
    """Ask every provider for the status and expiry of every recorded certificate."""
    from hub.jobs import certificates as refresh

    settings = get_settings()

    async def start() -> tuple[str, list[Any]]:
        async with _database(settings) as db, db.unit_of_work() as session:
            job, work = await refresh.start_refresh(session, client_id=OPERATOR.client_id)
            return job.job_id, work

    with _jobs(settings) as send:
        job_id, work = _run(start())
        send(work)
        console.print(f"Lần cập nhật [bold]{job_id}[/]")
        if follow:
            _follow(settings, job_id, _refresh_progress, done=("COMPLETED",))
    job = _run(_load_job(settings, job_id))
    found = refresh.summary(job)
    console.print(
        f"{job.state}: kiểm tra {found.checked}/{job.total} · cập nhật {found.updated} · "
        f"gia hạn {found.renewed} · thu hồi/tạm dừng {found.no_longer_valid} · "
        f"sắp hết hạn {found.expiring_count} · lỗi {found.problem_count}"
    )
    for certificate_id, provider, code, message in found.problems[:20]:
        console.print(f"  #{certificate_id} {provider} {code}: {message}")


async def _refresh_progress(_session: AsyncSession, job: models.Job) -> tuple[int, int, str]:
    from hub.jobs import certificates as refresh

    found = refresh.summary(job)
    detail = f"{job.state} · sắp hết hạn {found.expiring_count} · lỗi {found.problem_count}"
    return found.batches_done, found.batches, detail


# --- provider migration ------------------------------------------------------------------------


@migrate_provider_app.command("plan")
def migrate_provider_plan(
    from_provider: Annotated[SigningProvider, typer.Option("--from", case_sensitive=False)],
    to: Provider,
    school: SchoolCode = None,
    district: DistrictCode = None,
) -> None:
    """Dry run: each staff member, their certificate, their account at the target, the action."""
    from hub.jobs.migration import Action

    plan = _run(_plan(get_settings(), from_provider, to, school, district))
    table = Table("Cán bộ", "Chứng thư hiện tại", "Tài khoản mới", "Việc sẽ làm", "Lý do")
    for teacher in plan.teachers:
        current = teacher.current
        table.add_row(
            teacher.full_name,
            f"{current.provider.value} {current.serial_number[:12]}" if current else "—",
            "có" if teacher.target_account else "không",
            teacher.action.value,
            teacher.reason or "",
        )
    console.print(table)
    console.print(", ".join(f"{action.value} {plan.count(action)}" for action in Action))


@migrate_provider_app.command("start")
def migrate_provider_start(
    from_provider: Annotated[SigningProvider, typer.Option("--from", case_sensitive=False)],
    to: Provider,
    school: SchoolCode = None,
    district: DistrictCode = None,
    follow: Annotated[bool, typer.Option(help="follow the migration until it ends")] = True,
) -> None:
    """Plan again and run it: test signature, switch, old certificate kept as fallback."""
    from hub.jobs import migration

    settings = get_settings()

    async def start() -> tuple[str, list[Any]]:
        plan = await _plan(settings, from_provider, to, school, district)
        async with _database(settings) as db, db.unit_of_work() as session:
            job, work = await migration.start_provider_migration(
                session, caller=OPERATOR, plan=plan
            )
            return job.job_id, work

    with _jobs(settings) as send:
        job_id, work = _run(start())
        send(work)
        console.print(f"Đợt chuyển [bold]{job_id}[/]")
        if follow:
            _follow(settings, job_id, _migration_progress, done=_MIGRATION_ENDS)
    migrate_provider_status(job_id)


@migrate_provider_app.command("status")
def migrate_provider_status(
    job_id: Annotated[str, typer.Argument(help="the migration's jobId")],
) -> None:
    """Where a migration stands, person by person."""
    from hub.jobs import migration

    async def look() -> tuple[models.Job, list[tuple[str, models.ProviderMigrationItem]]]:
        async with _database(get_settings()) as db, db.unit_of_work() as session:
            job = await migration.load(session, caller=OPERATOR, job_id=job_id)
            rows = await session.execute(
                select(models.Staff.full_name, models.ProviderMigrationItem)
                .join(models.Staff, models.Staff.id == models.ProviderMigrationItem.staff_id)
                .where(models.ProviderMigrationItem.job_id == job.id)
                .order_by(models.ProviderMigrationItem.id)
            )
            return job, [(name, item) for name, item in rows.all()]

    job, items = _run(look())
    console.print(
        f"[bold]{job.job_id}[/] {job.params['from']} → {job.params['to']}: {job.state}"
        + (f" · {job.reason}" if job.reason else "")
    )
    table = Table("Cán bộ", "Kế hoạch", "Trạng thái", "Lý do")
    for name, item in items:
        table.add_row(name, item.planned, item.state, item.reason or "")
    console.print(table)


def _control(name: str, job_id: str) -> None:
    from hub.jobs import migration

    settings = get_settings()

    async def act() -> list[Any]:
        async with _database(settings) as db, db.unit_of_work() as session:
            if name == "resume":
                return await migration.resume(session, caller=OPERATOR, job_id=job_id)
            await getattr(migration, name)(session, caller=OPERATOR, job_id=job_id)
            return []

    with _jobs(settings) as send:
        send(_run(act()))
        if name == "resume":
            _follow(settings, job_id, _migration_progress, done=_MIGRATION_ENDS)
    migrate_provider_status(job_id)


@migrate_provider_app.command("rollback")
def migrate_provider_rollback(job_id: str) -> None:
    """Put everyone switched back on their old certificate."""
    _control("rollback", job_id)


@migrate_provider_app.command("confirm")
def migrate_provider_confirm(job_id: str) -> None:
    """Keep the new provider: the old certificates are retired."""
    _control("confirm", job_id)


@migrate_provider_app.command("pause")
def migrate_provider_pause(job_id: str) -> None:
    """Start and switch nobody more until resumed."""
    _control("pause", job_id)


@migrate_provider_app.command("resume")
def migrate_provider_resume(job_id: str) -> None:
    """Go on with a paused migration."""
    _control("resume", job_id)


_MIGRATION_ENDS = ("SWITCHED", "CONFIRMED", "ROLLED_BACK")


async def _migration_progress(session: AsyncSession, job: models.Job) -> tuple[int, int, str]:
    from hub.jobs import migration

    counts = (await migration.progress(session, job)).counts
    finished = sum(
        counts.get(s, 0)
        for s in ("SWITCHED", "CONFIRMED", "ROLLED_BACK", "SKIPPED", "FAILED", "CANCELLED")
    )
    detail = (
        f"{job.state} · đã chuyển {counts.get('SWITCHED', 0)} · "
        f"chờ ký thử {counts.get('TESTING', 0)} · lỗi {counts.get('FAILED', 0)}"
        + (f" · {job.reason}" if job.reason else "")
    )
    return finished, job.total, detail


# --- helpers -----------------------------------------------------------------------------------


async def _plan(
    settings: Settings,
    from_provider: SigningProvider,
    to: SigningProvider,
    school: str | None,
    district: str | None,
) -> Any:
    from hub.jobs import migration
    from hub.jobs.migration_actors import enrolment

    async with _database(settings) as db, db.unit_of_work() as session:
        school_id = district_id = None
        if school:
            school_id = await session.scalar(
                select(models.School.id).where(models.School.moet_code == school)
            )
            if school_id is None:
                raise typer.BadParameter(f"không có trường {school}")
        if district:
            district_id = await session.scalar(
                select(models.District.id).where(models.District.code == district)
            )
            if district_id is None:
                raise typer.BadParameter(f"không có phòng GDĐT {district}")
        signing = _signing(settings)
        try:
            return await migration.plan_provider_migration(
                session,
                caller=OPERATOR,
                signing=signing,
                from_provider=from_provider,
                to_provider=to,
                school_id=school_id,
                district_id=district_id,
                can_enrol=enrolment() is not None,
            )
        finally:
            await signing.providers.aclose()


def _signing(settings: Settings) -> Any:
    from hub.signing.setup import signing_services

    services = signing_services(settings)
    if services is None:
        console.print("[red]HUB_SIGNING_PROVIDERS_FILE is not set: no provider to ask.[/]")
        raise typer.Exit(2)
    return services


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> Any:
    db = Database(settings.database_url)
    try:
        yield db
    finally:
        await db.dispose()


async def _load_job(settings: Settings, job_id: str) -> models.Job:
    async with _database(settings) as db, db.unit_of_work() as session:
        job = await session.scalar(select(models.Job).where(models.Job.job_id == job_id))
        if job is None:
            raise typer.BadParameter(f"no job {job_id}")
        return job


async def _look(settings: Settings, job_id: str, measure: Measure) -> tuple[str, int, int, str]:
    async with _database(settings) as db, db.unit_of_work() as session:
        job = await session.scalar(select(models.Job).where(models.Job.job_id == job_id))
        if job is None:
            raise typer.BadParameter(f"no job {job_id}")
        return (job.state, *await measure(session, job))


@contextlib.contextmanager
def _jobs(settings: Settings) -> Iterator[Callable[[list[Any]], None]]:
    """Send to the Redis broker's workers, or run a worker here while the command runs."""
    import dramatiq

    from hub.jobs import actors

    broker = actors.configure(settings)
    if settings.redis_url:
        yield actors.send
        return
    services = _signing(settings)
    actors.set_runtime(actors.Runtime(settings, Database(settings.database_url), services))
    worker = dramatiq.Worker(broker, worker_threads=2)
    worker.start()
    try:
        yield actors.send
    finally:
        worker.stop()


def _follow(
    settings: Settings,
    job_id: str,
    measure: Measure,
    *,
    done: tuple[str, ...],
    interval: float = 1.0,
) -> None:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(job_id[:8], total=None, detail="")
        while True:
            state, completed, total, detail = _run(_look(settings, job_id, measure))
            bar.update(task, total=total, completed=completed, detail=detail)
            if state in done:
                break
            time.sleep(interval)
