"""``hub migrate-provider plan|start|status|pause|resume|rollback|confirm``.

Moves staff to another signing provider: a test signature at the new one, then
the switch, the old certificate kept as a fallback until confirmed.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from hub.cli.common import console, database, run
from hub.cli.jobs import follow_job, operator, sending, signing_services
from hub.config import Settings, get_settings
from hub.domain.enums import SigningProvider

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.db import models
    from hub.db.engine import Database

app = typer.Typer(help="Chuyển cán bộ sang nhà cung cấp chữ ký số khác.", no_args_is_help=True)

Provider = Annotated[SigningProvider, typer.Option(case_sensitive=False)]
FromProvider = Annotated[SigningProvider, typer.Option("--from", case_sensitive=False)]
SchoolCode = Annotated[str | None, typer.Option("--school", help="mã trường (Bộ GDĐT)")]
DistrictCode = Annotated[str | None, typer.Option("--district", help="mã phòng GDĐT")]

#: The states a migration stops being followed at.
MIGRATION_ENDS = ("SWITCHED", "CONFIRMED", "ROLLED_BACK")


@app.command("plan")
def migrate_provider_plan(
    from_provider: FromProvider,
    to: Provider,
    school: SchoolCode = None,
    district: DistrictCode = None,
) -> None:
    """Dry run: each staff member, their certificate, their account at the target, the action."""
    from hub.jobs.migration import Action

    plan = run(_plan(get_settings(), from_provider, to, school, district))
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


@app.command("start")
def migrate_provider_start(
    from_provider: FromProvider,
    to: Provider,
    school: SchoolCode = None,
    district: DistrictCode = None,
    follow: Annotated[bool, typer.Option(help="follow the migration until it ends")] = True,
) -> None:
    """Plan again and run it: test signature, switch, old certificate kept as fallback."""
    from hub.jobs import migration

    settings = get_settings()

    async def start() -> tuple[str, list[Any]]:
        async with _planning(settings, from_provider, to, school, district) as (db, plan):
            return await migration.plan_and_start(db, **plan)

    with sending(settings) as send:
        job_id, work = run(start())
        send(work)
        console.print(f"Đợt chuyển [bold]{job_id}[/]")
        if follow:
            follow_job(settings, job_id, _migration_progress, done=MIGRATION_ENDS)
    migrate_provider_status(job_id)


@app.command("status")
def migrate_provider_status(
    job_id: Annotated[str, typer.Argument(help="the migration's jobId")],
) -> None:
    """Where a migration stands, person by person."""
    from hub.jobs import migration

    async def look() -> tuple["models.Job", list["migration.Mover"]]:
        async with database(get_settings()) as db, db.unit_of_work() as session:
            job = await migration.load(session, caller=operator(), job_id=job_id)
            return job, await migration.movers(session, job)

    job, people = run(look())
    console.print(
        f"[bold]{job.job_id}[/] {job.params['from']} → {job.params['to']}: {job.state}"
        + (f" · {job.reason}" if job.reason else "")
    )
    table = Table("Cán bộ", "Kế hoạch", "Trạng thái", "Lý do")
    for person in people:
        item = person.item
        table.add_row(person.full_name, item.planned, item.state, item.reason or "")
    console.print(table)


def _control(name: str, job_id: str) -> None:
    from hub.jobs import migration

    settings = get_settings()

    async def act() -> list[Any]:
        async with database(settings) as db, db.unit_of_work() as session:
            if name == "resume":
                return await migration.resume(session, caller=operator(), job_id=job_id)
            await getattr(migration, name)(session, caller=operator(), job_id=job_id)
            return []

    with sending(settings) as send:
        send(run(act()))
        if name == "resume":
            follow_job(settings, job_id, _migration_progress, done=MIGRATION_ENDS)
    migrate_provider_status(job_id)


@app.command("rollback")
def migrate_provider_rollback(job_id: str) -> None:
    """Put everyone switched back on their old certificate."""
    _control("rollback", job_id)


@app.command("confirm")
def migrate_provider_confirm(job_id: str) -> None:
    """Keep the new provider: the old certificates are retired."""
    _control("confirm", job_id)


@app.command("pause")
def migrate_provider_pause(job_id: str) -> None:
    """Start and switch nobody more until resumed."""
    _control("pause", job_id)


@app.command("resume")
def migrate_provider_resume(job_id: str) -> None:
    """Go on with a paused migration."""
    _control("resume", job_id)


async def _migration_progress(session: "AsyncSession", job: "models.Job") -> tuple[int, int, str]:
    from hub.jobs import migration

    found = await migration.progress(session, job)
    state = migration.ItemState
    detail = (
        f"{job.state} · đã chuyển {found.of(state.SWITCHED)} · "
        f"chờ ký thử {found.of(state.TESTING)} · lỗi {found.of(state.FAILED)}"
        + (f" · {job.reason}" if job.reason else "")
    )
    return found.finished, job.total, detail


async def _scope(
    db: "Database", school: str | None, district: str | None
) -> tuple[int | None, int | None]:
    """The ids of the school and the district named by their codes."""
    from sqlalchemy import select

    from hub.db import models

    async with db.unit_of_work() as session:
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
    return school_id, district_id


async def _plan(
    settings: Settings,
    from_provider: SigningProvider,
    to: SigningProvider,
    school: str | None,
    district: str | None,
) -> Any:
    from hub.jobs import migration

    async with (
        _planning(settings, from_provider, to, school, district) as (db, plan),
        db.unit_of_work() as session,
    ):
        return await migration.plan_provider_migration(session, **plan)


@asynccontextmanager
async def _planning(
    settings: Settings,
    from_provider: SigningProvider,
    to: SigningProvider,
    school: str | None,
    district: str | None,
) -> AsyncIterator[tuple["Database", dict[str, Any]]]:
    """The database and what a migration is planned with at the console: the operator,
    the configured providers (closed after), the providers and the school or district
    named by their codes."""
    async with database(settings) as db:
        school_id, district_id = await _scope(db, school, district)
        signing = signing_services(settings)
        try:
            yield (
                db,
                {
                    "caller": operator(),
                    "signing": signing,
                    "from_provider": from_provider,
                    "to_provider": to,
                    "school_id": school_id,
                    "district_id": district_id,
                    "can_enrol": False,  # the console enrols nobody; only the demo's simulators can
                },
            )
        finally:
            await signing.providers.aclose()
