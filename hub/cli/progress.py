"""The one progress bar of the ``hub`` commands, and the loop that follows a job with it.

Every bar looks the same: what is being done, the bar, how far (``done/total``,
or a running count when the total is unknown), an optional line of detail and
the time taken. :func:`follow` and :func:`follow_async` poll a job until it ends.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn

from hub.cli.common import console


@dataclass(frozen=True)
class Step:
    """How far a job is at one look."""

    completed: int
    total: int | None
    detail: str = ""
    finished: bool = False


def progress_bar(*, totals: bool = True, detail: bool = False) -> Progress:
    """A rich ``Progress`` in the hub's layout; add tasks with ``detail=""`` if ``detail``."""
    columns: list[ProgressColumn] = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}" if totals else "{task.completed:,}"),
    ]
    if detail:
        columns.append(TextColumn("{task.fields[detail]}"))
    columns.append(TimeElapsedColumn())
    return Progress(*columns, console=console)


def follow(description: str, look: Callable[[], Step], *, interval: float) -> Step:
    """Show ``look()`` every ``interval`` seconds until a step says it is finished."""
    with progress_bar(detail=True) as bar:
        task = bar.add_task(description, total=None, detail="")
        while True:
            step = look()
            bar.update(task, completed=step.completed, total=step.total, detail=step.detail)
            if step.finished:
                return step
            time.sleep(interval)


async def follow_async(
    description: str, look: Callable[[], Awaitable[Step]], *, interval: float
) -> Step:
    """:func:`follow` inside a running event loop."""
    with progress_bar(detail=True) as bar:
        task = bar.add_task(description, total=None, detail="")
        while True:
            step = await look()
            bar.update(task, completed=step.completed, total=step.total, detail=step.detail)
            if step.finished:
                return step
            await asyncio.sleep(interval)
