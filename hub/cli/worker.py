"""``hub worker``: the Dramatiq workers that run the jobs."""

from typing import Annotated

import typer

from hub.cli.common import console
from hub.config import get_settings

#: Messages a worker process works on at once. Each process runs its jobs' steps on one
#: event loop: a thread holds a step, and the steps' waits (providers, the TSA, the
#: database) overlap on the loop, so a few slots keep one core busy and more only make
#: more chunks share it. On 2 cores with the simulators, 8 threads cost 9.2–9.5 ms
#: of worker CPU a signature at 124 signatures/s, 4 threads 8.1–8.2 ms at 135–138/s
#: (``bench/bulk_signing.py --pupils 3000 --threads``, runs alternated).
THREADS = 4


def worker(
    processes: Annotated[int, typer.Option("--processes", "-p", help="worker processes")] = 2,
    threads: Annotated[int, typer.Option("--threads", "-t", help="threads per process")] = THREADS,
) -> None:
    """Run Dramatiq workers (signing is CPU-bound: scale with processes)."""
    import os
    import sys

    if not get_settings().redis_url:
        console.print("[red]HUB_REDIS_URL is not set: `hub demo` runs its jobs in-process.[/]")
        raise typer.Exit(2)
    command = [sys.executable, "-m", "dramatiq", "hub.jobs.entry:broker"]
    os.execv(sys.executable, [*command, "--processes", str(processes), "--threads", str(threads)])
