"""``hub certificates refresh``: ask every provider about every recorded certificate."""

from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import console
from hub.cli.jobs import operator, run_job
from hub.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.db import models

app = typer.Typer(help="Chứng thư số (signing certificates).", no_args_is_help=True)


@app.command("refresh")
def certificates_refresh(
    follow: Annotated[bool, typer.Option(help="follow the run until it ends")] = True,
) -> None:
    """Ask every provider for the status and expiry of every recorded certificate."""
    from hub.jobs import certificates as refresh

    job = run_job(
        get_settings(),
        lambda session: refresh.start_refresh(session, client_id=operator().client_id),
        _refresh_progress,
        label="Lần cập nhật",
        follow_it=follow,
    )
    found = refresh.summary(job)
    console.print(
        f"{job.state}: kiểm tra {found.checked}/{job.total} · cập nhật {found.updated} · "
        f"gia hạn {found.renewed} · thu hồi/tạm dừng {found.no_longer_valid} · "
        f"sắp hết hạn {found.expiring_count} · lỗi {found.problem_count}"
    )
    for certificate_id, provider, code, message in found.problems[:20]:
        console.print(f"  #{certificate_id} {provider} {code}: {message}")


async def _refresh_progress(_session: "AsyncSession", job: "models.Job") -> tuple[int, int, str]:
    from hub.jobs import certificates as refresh

    found = refresh.summary(job)
    detail = f"{job.state} · sắp hết hạn {found.expiring_count} · lỗi {found.problem_count}"
    return found.batches_done, found.batches, detail
