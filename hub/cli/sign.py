"""``hub sign``: follow a bulk signing batch."""

from typing import Annotated

import typer

from hub.cli.common import database, run
from hub.cli.progress import Step, follow
from hub.config import get_settings

app = typer.Typer(help="Bulk signing batches.", no_args_is_help=True)


@app.command("watch")
def sign_watch(
    batch: Annotated[str, typer.Argument(help="the batch id (jobId)")],
    interval: Annotated[float, typer.Option(help="seconds between looks")] = 1.0,
) -> None:
    """Follow a signing batch with a progress bar until it ends."""
    from sqlalchemy import select

    from hub.db.models import Job
    from hub.jobs import signing as batches

    settings = get_settings()

    async def look() -> Step:
        async with database(settings) as db, db.unit_of_work() as session:
            job = await session.scalar(select(Job).where(Job.job_id == batch))
            if job is None:
                raise typer.BadParameter(f"no batch {batch}")
            progress = await batches.progress(session, job)
        counts = progress.counts
        done = counts["SIGNED"] + counts["RETURNED"] + counts["FAILED"] + counts["CANCELLED"]
        waiting = ", ".join(
            f"{r.provider.value} {r.transaction['transaction_id'][:8]}"
            for r in progress.waiting_for[:3]
        )
        detail = (
            f"{job.state} · ký {counts['SIGNED']} · trả lại {counts['RETURNED']} · "
            f"lỗi {counts['FAILED']}"
            + (f" · chờ xác nhận: {waiting}" if waiting else "")
            + (f" · {job.reason}" if job.reason else "")
        )
        return Step(done, job.total, detail, finished=job.state in ("COMPLETED", "CANCELLED"))

    follow("ký số", lambda: run(look()), interval=interval)
