"""``hub transcripts``: draft a school's transcripts (học bạ) from its gradebook; keep the
sealed ones verifiable for decades (``hub transcripts archive``)."""

from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import console, database, run
from hub.cli.progress import progress_bar
from hub.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.db import models
    from hub.transcripts.service import GenerationReport

app = typer.Typer(help="Transcripts (học bạ).", no_args_is_help=True)


@app.command("generate")
def transcripts_generate(
    school: Annotated[str, typer.Option(help="School ministry code")],
    year: Annotated[str | None, typer.Option(help="School year, e.g. 2025-2026")] = None,
    class_name: Annotated[str | None, typer.Option("--class", help="Only this class")] = None,
) -> None:
    """Draft (or refresh the drafts of) a school's transcripts from its gradebook."""
    from datetime import date

    from sqlalchemy import select

    from hub.auth.access import Caller
    from hub.db.models import School, SchoolClass
    from hub.domain.enums import OrgLevel
    from hub.transcripts.service import generate
    from hub.transcripts.service import school_year as find_school_year

    settings = get_settings()
    operator = Caller(
        client_id="cli",
        scopes=frozenset({"transcripts:write"}),
        org_level=OrgLevel.DEPARTMENT,
        school_ids=None,
    )

    async def go() -> "GenerationReport":
        async with database(settings) as db, db.unit_of_work() as session:
            found = await session.scalar(select(School).where(School.moet_code == school))
            if found is None:
                raise typer.BadParameter(f"no school with ministry code {school}")
            school_year = await find_school_year(session, code=year)
            classes = select(SchoolClass.id).where(
                SchoolClass.school_id == found.id, SchoolClass.school_year_id == school_year.id
            )
            if class_name:
                classes = classes.where(SchoolClass.name == class_name)
            class_ids = list(await session.scalars(classes))
            with progress_bar() as bar:
                task = bar.add_task(f"{found.name} {school_year.code}", total=None)
                return await generate(
                    session,
                    caller=operator,
                    school_year=school_year,
                    class_ids=class_ids,
                    base_url=settings.issuer,
                    today=date.today(),
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )

    report = run(go())
    console.print(
        f"[green]{report.generated} generated, {report.regenerated} refreshed, "
        f"{report.unchanged} unchanged[/], {len(report.skipped)} skipped"
    )
    for skipped in report.skipped:
        console.print(f"  {skipped.student.full_name}: {skipped.problem.message}")


@app.command("archive")
def transcripts_archive(
    follow: Annotated[bool, typer.Option(help="follow the run until it ends")] = True,
) -> None:
    """Make every sealed transcript long-term (PAdES/XAdES LTA) and renew archive
    timestamps whose TSA certificate ends within a year; workers do it daily
    (HUB_ARCHIVE_HOURS)."""
    from hub.cli.jobs import operator, run_job
    from hub.jobs import archive

    job = run_job(
        get_settings(),
        lambda session: archive.start(session, client_id=operator().client_id),
        _archive_progress,
        label="Lần lưu trữ",
        follow_it=follow,
    )
    found = job.checkpoint or {}
    console.print(
        f"{job.state}: kiểm tra {found.get('checked', 0)}/{job.total} · "
        f"thêm dấu thời gian lưu trữ {found.get('extended', 0)} · "
        f"chưa làm được {found.get('problem_count', 0)}"
    )


async def _archive_progress(_session: "AsyncSession", job: "models.Job") -> tuple[int, int, str]:
    found = job.checkpoint or {}
    batches = len(job.params.get("batches", []))
    detail = f"{job.state} · chưa làm được {found.get('problem_count', 0)}"
    return len(found.get("done", [])), batches, detail
