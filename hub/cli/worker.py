"""``hub worker``: the Dramatiq workers that run the jobs."""

from typing import Annotated

import typer

from hub.cli.common import console
from hub.config import get_settings


def worker(
    processes: Annotated[int, typer.Option("--processes", "-p", help="worker processes")] = 2,
    threads: Annotated[int, typer.Option("--threads", "-t", help="threads per process")] = 4,
) -> None:
    """Run Dramatiq workers (signing is CPU-bound: scale with processes)."""
    import os
    import sys

    if not get_settings().redis_url:
        console.print("[red]HUB_REDIS_URL is not set: `hub demo` runs its jobs in-process.[/]")
        raise typer.Exit(2)
    command = [sys.executable, "-m", "dramatiq", "hub.jobs.entry:broker"]
    os.execv(sys.executable, [*command, "--processes", str(processes), "--threads", str(threads)])
